//! v2 `memory`: `memory.max`, `memory.high`, `memory.swap.max` (swap
//! alone, as the plan has it). With `memory_max` set and no swap limit
//! given, `memory.swap.max` is 0, as on v1, so that a host with swap kills
//! at the limit instead of swapping.

use sbx_plan::{CgroupLimits, Limit};

use crate::cgroup::convert::memory_readback;
use crate::cgroup::fs::{CgroupDir, Readback};
use crate::cgroup::{host_swaps, CgroupError, CgroupHost, CgroupWarning};

pub(super) const SWAP_MAX: &str = "memory.swap.max";

fn set_bytes(dir: &CgroupDir, file: &str, limit: Limit, page_size: u64) -> Result<(), CgroupError> {
    match limit {
        Limit::Value(bytes) => dir.set(
            file,
            &bytes.to_string(),
            Readback::Exact(memory_readback(bytes, page_size).to_string()),
        ),
        Limit::Max(_) => dir.set(file, "max", Readback::Exact("max".into())),
    }
}

pub(super) fn apply(
    dir: &CgroupDir,
    limits: &CgroupLimits,
    host: &CgroupHost,
) -> Result<Vec<CgroupWarning>, CgroupError> {
    let page = host.page_size;
    if let Some(max) = limits.memory_max {
        set_bytes(dir, "memory.max", max, page)?;
    }
    if let Some(high) = limits.memory_high {
        set_bytes(dir, "memory.high", high, page)?;
    }
    let swap = match (limits.memory_swap_max, limits.memory_max) {
        (Some(swap), _) => swap,
        (None, Some(Limit::Value(_))) => Limit::Value(0),
        (None, _) => return Ok(Vec::new()),
    };
    if dir.has(SWAP_MAX) {
        set_bytes(dir, SWAP_MAX, swap, page)?;
        return Ok(Vec::new());
    }
    match (swap, limits.memory_swap_max) {
        // No swap accounting, so no swap limit: that is what `max` asks.
        (Limit::Max(_), _) => Ok(Vec::new()),
        (_, Some(_)) => Err(CgroupError::NotExpressible {
            key: "memory_swap_max",
            layout: "cgroup v2",
            why: format!("this kernel does not account swap (`{SWAP_MAX}` is missing; boot with `swapaccount=1`)"),
        }),
        // Not asked for, and v2 has no per-cgroup swappiness: say so when
        // it matters.
        (_, None) if host_swaps(host) => Ok(vec![CgroupWarning {
            key: "memory_max",
            message: format!("this host swaps and has no swap accounting (`{SWAP_MAX}` is missing): the sandbox may swap instead of being killed at the limit"),
        }]),
        (_, None) => Ok(Vec::new()),
    }
}

/// `memory.peak` (Linux 5.19).
pub(super) fn peak(dir: &CgroupDir) -> Result<Option<u64>, CgroupError> {
    let file = "memory.peak";
    dir.has(file).then(|| dir.read_u64(file)).transpose()
}

/// `memory.events` `oom_kill` (counts descendants too).
pub(super) fn oom_kills(dir: &CgroupDir) -> Result<Option<u64>, CgroupError> {
    let file = "memory.events";
    if !dir.has(file) {
        return Ok(None);
    }
    dir.read_keyed(file, "oom_kill")
}
