//! Placeholder for the cgroup backends (v1 and v2): the interface the apply
//! sequence uses. Until the backends exist, any limit is refused (fail closed).

use std::path::PathBuf;

use sbx_plan::CgroupLimits;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroup limits are not supported by this build of sbx yet")]
    Unsupported,
}

/// Where to create the sandbox's cgroup.
#[derive(Debug, Clone, Default)]
pub struct CgroupOptions {
    /// `--cgroup-parent`: a path relative to each hierarchy's root; the
    /// caller's own cgroup when absent.
    pub parent: Option<PathBuf>,
}

/// What a cgroup accounted, read after the workload exited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupStats {
    pub memory_peak_bytes: Option<u64>,
    pub cpu_usage_us: Option<u64>,
    pub tasks: Option<u64>,
    pub oom_kills: Option<u64>,
}

/// The sandbox's own cgroup, in every hierarchy it needs.
#[derive(Debug)]
pub struct SandboxCgroup {
    _private: (),
}

impl SandboxCgroup {
    /// Checks, without side effects, that every limit can be applied here.
    pub fn preflight(limits: &CgroupLimits, options: &CgroupOptions) -> Result<(), CgroupError> {
        let _ = (limits, options);
        Err(CgroupError::Unsupported)
    }

    /// Creates the cgroup named `name`, writes every limit and reads each back.
    pub fn create(
        name: &str,
        limits: &CgroupLimits,
        options: &CgroupOptions,
    ) -> Result<SandboxCgroup, CgroupError> {
        let _ = (name, limits, options);
        Err(CgroupError::Unsupported)
    }

    /// Moves process `pid` (all its threads) into the cgroup.
    pub fn attach(&self, pid: i32) -> Result<(), CgroupError> {
        let _ = pid;
        Err(CgroupError::Unsupported)
    }

    pub fn stats(&self) -> Result<CgroupStats, CgroupError> {
        Err(CgroupError::Unsupported)
    }

    /// Kills what remains, waits until empty, removes it from every hierarchy.
    pub fn destroy(self) -> Result<(), CgroupError> {
        Err(CgroupError::Unsupported)
    }
}
