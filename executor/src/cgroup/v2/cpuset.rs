//! v2 `cpuset`: `cpuset.cpus` and `cpuset.mems`. Unlike v1, an empty
//! value inherits the parent's, so nothing is copied first.

use sbx_plan::CgroupLimits;

use crate::cgroup::fs::{CgroupDir, Readback};
use crate::cgroup::CgroupError;

pub(super) fn apply(dir: &CgroupDir, limits: &CgroupLimits) -> Result<(), CgroupError> {
    if let Some(cpus) = &limits.cpuset_cpus {
        dir.set("cpuset.cpus", cpus, Readback::List)?;
    }
    if let Some(mems) = &limits.cpuset_mems {
        dir.set("cpuset.mems", mems, Readback::List)?;
    }
    Ok(())
}
