//! v1 `blkio`: the io weight goes to `blkio.bfq.weight` (systemd's BFQ
//! mapping of the plan's v2 weight). `blkio.weight`, where cgroups-rs
//! writes, is gone since Linux 5.0; the bfq file exists only when the bfq
//! scheduler is in the kernel, and only disks using bfq honour it.

use sbx_plan::CgroupLimits;

use crate::cgroup::convert::io_weight_to_bfq_weight;
use crate::cgroup::fs::{CgroupDir, Readback};
use crate::cgroup::CgroupError;

pub(super) const BFQ_WEIGHT: &str = "blkio.bfq.weight";

fn no_bfq() -> CgroupError {
    CgroupError::NotExpressible {
        key: "io_weight",
        layout: "cgroup v1",
        why: format!(
            "`{BFQ_WEIGHT}` is missing: the bfq io scheduler is not in this kernel (and `blkio.weight` is gone since Linux 5.0); load bfq (`modprobe bfq`) or remove `io_weight`"
        ),
    }
}

/// The hierarchy's root has no `blkio.bfq.weight`; any other parent shows
/// whether bfq is there.
pub(super) fn check(
    limits: &CgroupLimits,
    parent: &CgroupDir,
    parent_is_root: bool,
) -> Result<(), CgroupError> {
    if limits.io_weight.is_some() && !parent_is_root && !parent.has(BFQ_WEIGHT) {
        return Err(no_bfq());
    }
    Ok(())
}

/// The bfq weight; whether the disks use bfq is a warning of preflight.
pub(super) fn apply(dir: &CgroupDir, limits: &CgroupLimits) -> Result<(), CgroupError> {
    let Some(weight) = limits.io_weight else {
        return Ok(());
    };
    if !dir.has(BFQ_WEIGHT) {
        return Err(no_bfq());
    }
    let bfq = io_weight_to_bfq_weight(weight);
    dir.set(BFQ_WEIGHT, &bfq.to_string(), Readback::Weight(bfq))
}
