//! v2 `cpu`: `cpu.weight` as the plan has it, the quota as `cpu.max`
//! (`"$QUOTA $PERIOD"`), and the cpu time from `cpu.stat` (present even
//! without the controller).

use sbx_plan::CgroupLimits;

use crate::cgroup::fs::{CgroupDir, Readback};
use crate::cgroup::CgroupError;

pub(super) fn apply(dir: &CgroupDir, limits: &CgroupLimits) -> Result<(), CgroupError> {
    if let Some(weight) = limits.cpu_weight {
        let weight = weight.to_string();
        dir.set("cpu.weight", &weight, Readback::Exact(weight.clone()))?;
    }
    if let Some(quota) = limits.cpu_quota {
        let max = format!("{} {}", quota.quota_us, quota.period_us);
        dir.set("cpu.max", &max, Readback::Exact(max.clone()))?;
    }
    Ok(())
}

/// `cpu.stat` `usage_usec`.
pub(super) fn usage_us(dir: &CgroupDir) -> Result<Option<u64>, CgroupError> {
    let file = "cpu.stat";
    if !dir.has(file) {
        return Ok(None);
    }
    dir.read_keyed(file, "usage_usec")
}
