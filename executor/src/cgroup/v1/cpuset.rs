//! v1 `cpuset`: a new child starts with empty `cpuset.cpus` and
//! `cpuset.mems`, and no task can join it until both are set (ENOSPC), so
//! the parent's are copied first, then the requested ones written.

use sbx_plan::CgroupLimits;

use crate::cgroup::fs::{CgroupDir, Readback};
use crate::cgroup::CgroupError;

pub(super) const CPUS: &str = "cpuset.cpus";
pub(super) const MEMS: &str = "cpuset.mems";

pub(super) fn copy_from_parent(parent: &CgroupDir, dir: &CgroupDir) -> Result<(), CgroupError> {
    for file in [CPUS, MEMS] {
        let value = parent.read(file)?;
        let value = value.trim();
        if value.is_empty() {
            return Err(CgroupError::Unreadable {
                file: parent.file(file).display().to_string(),
                text: "(empty: no task could run there)".into(),
            });
        }
        dir.set(file, value, Readback::List)?;
    }
    Ok(())
}

pub(super) fn apply(dir: &CgroupDir, limits: &CgroupLimits) -> Result<(), CgroupError> {
    if let Some(cpus) = &limits.cpuset_cpus {
        dir.set(CPUS, cpus, Readback::List)?;
    }
    if let Some(mems) = &limits.cpuset_mems {
        dir.set(MEMS, mems, Readback::List)?;
    }
    Ok(())
}
