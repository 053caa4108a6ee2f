//! v1 `cpu`: `cpu.shares` from the plan's v2 weight (systemd's inverse
//! formula), and the CFS quota as `cpu.cfs_period_us` then
//! `cpu.cfs_quota_us`.

use sbx_plan::CgroupLimits;

use crate::cgroup::convert::cpu_weight_to_shares;
use crate::cgroup::fs::{CgroupDir, Readback};
use crate::cgroup::CgroupError;

pub(super) fn apply(dir: &CgroupDir, limits: &CgroupLimits) -> Result<(), CgroupError> {
    if let Some(weight) = limits.cpu_weight {
        let shares = cpu_weight_to_shares(weight).to_string();
        dir.set("cpu.shares", &shares, Readback::Exact(shares.clone()))?;
    }
    if let Some(quota) = limits.cpu_quota {
        // The period first: the kernel checks the quota against it.
        let period = quota.period_us.to_string();
        dir.set(
            "cpu.cfs_period_us",
            &period,
            Readback::Exact(period.clone()),
        )?;
        let quota = quota.quota_us.to_string();
        dir.set("cpu.cfs_quota_us", &quota, Readback::Exact(quota.clone()))?;
    }
    Ok(())
}
