//! v2 `io`: the weight goes to `io.weight` (io.cost) as the plan has it,
//! and to `io.bfq.weight` by systemd's BFQ mapping, as systemd does: which
//! one a disk honours depends on its scheduler. At least one must exist.

use sbx_plan::CgroupLimits;

use crate::cgroup::convert::io_weight_to_bfq_weight;
use crate::cgroup::fs::{CgroupDir, Readback};
use crate::cgroup::CgroupError;

/// Whether the disks honour it is a warning of preflight.
pub(super) fn apply(dir: &CgroupDir, limits: &CgroupLimits) -> Result<(), CgroupError> {
    let Some(weight) = limits.io_weight else {
        return Ok(());
    };
    let (cost, bfq) = (dir.has("io.weight"), dir.has("io.bfq.weight"));
    if !cost && !bfq {
        return Err(CgroupError::NotExpressible {
            key: "io_weight",
            layout: "cgroup v2",
            why: "neither `io.weight` (io.cost) nor `io.bfq.weight` (the bfq scheduler) exists in this kernel".into(),
        });
    }
    if cost {
        dir.set("io.weight", &weight.to_string(), Readback::Weight(weight))?;
    }
    if bfq {
        let bfq = io_weight_to_bfq_weight(weight);
        dir.set("io.bfq.weight", &bfq.to_string(), Readback::Weight(bfq))?;
    }
    Ok(())
}
