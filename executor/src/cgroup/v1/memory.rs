//! v1 `memory`: `memory.limit_in_bytes`, and the swap limit through
//! `memory.memsw.limit_in_bytes` (memory plus swap), so that a host with
//! swap kills at the limit instead of swapping.

use sbx_plan::{CgroupLimits, Limit};

use crate::cgroup::convert::{memory_readback, v1_memory_unlimited};
use crate::cgroup::fs::{CgroupDir, Readback};
use crate::cgroup::CgroupError;

const LAYOUT: &str = "cgroup v1";
pub(super) const LIMIT: &str = "memory.limit_in_bytes";
pub(super) const MEMSW: &str = "memory.memsw.limit_in_bytes";
pub(super) const SWAPPINESS: &str = "memory.swappiness";

/// The limits v1 cannot express at all.
pub(super) fn check_without(limits: &CgroupLimits) -> Result<(), CgroupError> {
    if limits.memory_high.is_some() {
        return Err(CgroupError::NotExpressible {
            key: "memory_high",
            layout: LAYOUT,
            why: "v1 has no `memory.high` (`memory.soft_limit_in_bytes` only reclaims under host-wide pressure and never throttles); remove it, or run on a cgroup v2 host".into(),
        });
    }
    if let (None | Some(Limit::Max(_)), Some(Limit::Value(_))) =
        (limits.memory_max, limits.memory_swap_max)
    {
        return Err(CgroupError::NotExpressible {
            key: "memory_swap_max",
            layout: LAYOUT,
            why: "v1 limits swap only together with memory (`memory.memsw.limit_in_bytes` is memory plus swap); set `memory_max` too".into(),
        });
    }
    Ok(())
}

/// [`check_without`], and a swap limit needs swap accounting (the parent
/// shows `memory.memsw.limit_in_bytes`).
pub(super) fn check(limits: &CgroupLimits, parent: &CgroupDir) -> Result<(), CgroupError> {
    check_without(limits)?;
    if let Some(Limit::Value(swap)) = limits.memory_swap_max {
        if swap > 0 && !parent.has(MEMSW) {
            return Err(no_swap_accounting());
        }
    }
    Ok(())
}

fn no_swap_accounting() -> CgroupError {
    CgroupError::NotExpressible {
        key: "memory_swap_max",
        layout: LAYOUT,
        why: "this kernel does not account swap (`memory.memsw.limit_in_bytes` is missing; boot with `swapaccount=1`)".into(),
    }
}

/// Writes a byte limit (`-1` for none) and checks the page-rounded value.
fn set_bytes(dir: &CgroupDir, file: &str, limit: Limit, page_size: u64) -> Result<(), CgroupError> {
    match limit {
        Limit::Value(bytes) => dir.set(
            file,
            &bytes.to_string(),
            Readback::Exact(memory_readback(bytes, page_size).to_string()),
        ),
        Limit::Max(_) => dir.set(
            file,
            "-1",
            Readback::Exact(v1_memory_unlimited(page_size).to_string()),
        ),
    }
}

/// `memory_max` -> `memory.limit_in_bytes`, then the swap limit:
/// `memory.memsw.limit_in_bytes` = max + swap, = max when `memory_swap_max`
/// is unset (no swap), unlimited for `memory_swap_max = max`. Without swap
/// accounting, "no swap" is `memory.swappiness` 0 (the cgroup's own reclaim
/// then never swaps) and a swap allowance is refused.
pub(super) fn apply(
    dir: &CgroupDir,
    limits: &CgroupLimits,
    page_size: u64,
) -> Result<(), CgroupError> {
    check_without(limits)?;
    let Some(max) = limits.memory_max else {
        return Ok(());
    };
    // The limit first: memsw must never be below it, and both start unlimited.
    set_bytes(dir, LIMIT, max, page_size)?;
    let memsw = match (max, limits.memory_swap_max) {
        (Limit::Max(_), None) => return Ok(()),
        (_, Some(Limit::Max(_))) => Limit::MAX,
        (Limit::Value(bytes), None) => Limit::Value(bytes),
        (Limit::Value(bytes), Some(Limit::Value(swap))) => Limit::Value(bytes.saturating_add(swap)),
        (Limit::Max(_), Some(Limit::Value(_))) => return check_without(limits),
    };
    if dir.has(MEMSW) {
        return set_bytes(dir, MEMSW, memsw, page_size);
    }
    match (memsw, limits.memory_swap_max) {
        (Limit::Max(_), _) => Ok(()),
        (_, None | Some(Limit::Value(0))) => dir.set(SWAPPINESS, "0", Readback::Exact("0".into())),
        _ => Err(no_swap_accounting()),
    }
}

/// `memory.max_usage_in_bytes`.
pub(super) fn peak(dir: &CgroupDir) -> Result<Option<u64>, CgroupError> {
    let file = "memory.max_usage_in_bytes";
    dir.has(file).then(|| dir.read_u64(file)).transpose()
}

/// `memory.oom_control` `oom_kill` (Linux 4.13 and later).
pub(super) fn oom_kills(dir: &CgroupDir) -> Result<Option<u64>, CgroupError> {
    let file = "memory.oom_control";
    if !dir.has(file) {
        return Ok(None);
    }
    dir.read_keyed(file, "oom_kill")
}
