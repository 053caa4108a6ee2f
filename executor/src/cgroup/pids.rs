//! `pids`, the same files in both versions: `pids.max`, and the task count
//! for `--stats`.

use sbx_plan::{CgroupLimits, Limit};

use crate::cgroup::fs::{CgroupDir, Readback};
use crate::cgroup::CgroupError;

/// `pids_max` -> `pids.max` (`max` for no limit).
pub(crate) fn apply(dir: &CgroupDir, limits: &CgroupLimits) -> Result<(), CgroupError> {
    if let Some(max) = limits.pids_max {
        let text = match max {
            Limit::Value(n) => n.to_string(),
            Limit::Max(_) => "max".to_string(),
        };
        dir.set("pids.max", &text, Readback::Exact(text.clone()))?;
    }
    Ok(())
}

/// `pids.peak` where the kernel has it (the most tasks at once), else
/// `pids.current`.
pub(crate) fn tasks(dir: &CgroupDir) -> Result<Option<u64>, CgroupError> {
    for file in ["pids.peak", "pids.current"] {
        if dir.has(file) {
            return dir.read_u64(file).map(Some);
        }
    }
    Ok(None)
}
