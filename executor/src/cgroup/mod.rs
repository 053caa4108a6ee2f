//! The sandbox's cgroup: created before the workload starts, with every
//! limit of the plan written and read back, and removed (after killing what
//! remains) at teardown or rollback.
//!
//! The host's layout (cgroup v2 unified, hybrid, v1) is detected from
//! `/proc/self/mountinfo`; a v1 backend ([`v1`]) or a v2 backend ([`v2`])
//! then does the work behind [`backend::CgroupBackend`], one file per
//! controller. All file access goes through [`fs::CgroupFs`], so the unit
//! tests run the same code against a fake cgroupfs in a temporary
//! directory. docs/cgroups.md describes the mapping and what fails closed.
//!
//! The apply sequence uses it so:
//!
//! ```text
//! SandboxCgroup::preflight(&plan.limits, &options)?;          // no side effects
//! let cgroup = SandboxCgroup::create(name, &plan.limits, &options)?;
//! for warning in cgroup.warnings() { eprintln!("sbx: warning: {warning}") }
//! cgroup.attach(child_pid)?;                                   // before the child execs
//! ... wait for the workload ...
//! let oom = cgroup.oom_killed()?;  let stats = cgroup.stats()?;  // before destroy
//! cgroup.destroy()?;                                           // also the rollback
//! ```

mod backend;
pub mod convert;
pub mod fs;
pub mod layout;
mod pids;
mod v1;
mod v2;

#[cfg(test)]
mod fake;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sbx_plan::CgroupLimits;

use backend::CgroupBackend;
use fs::{CgroupFs, HostCgroupFs};
pub use layout::{CgroupLayout, LayoutKind};

/// Why a cgroup could not be set up, read or removed. Every variant names
/// the plan key or the cgroup file concerned.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// Kept for callers written against the placeholder; never returned.
    #[error("cgroup limits are not supported by this build of sbx yet")]
    Unsupported,
    #[error("no cgroup filesystem is mounted on this host (none in /proc/self/mountinfo)")]
    NoCgroupFs,
    #[error("cannot read `{file}`: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{file}` holds `{text}`, which is not what the kernel writes there")]
    Unreadable { file: String, text: String },
    #[error("the kernel refused `{value}` for `{file}`: {source}")]
    Write {
        file: String,
        value: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`{file}` reads back `{read}` after sbx wrote `{written}`, so the limit is not in force"
    )]
    Mismatch {
        file: String,
        written: String,
        read: String,
    },
    #[error("`{file}` does not exist: this kernel does not offer it")]
    FileMissing { file: String },
    #[error("`{key}` needs the `{controller}` cgroup controller, which {why}")]
    ControllerMissing {
        key: &'static str,
        controller: &'static str,
        why: String,
    },
    #[error("`{key}` cannot be applied on {layout}: {why}")]
    NotExpressible {
        key: &'static str,
        layout: &'static str,
        why: String,
    },
    #[error("`{key}` is `{value}`, but {expected}")]
    InvalidValue {
        key: &'static str,
        value: String,
        expected: String,
    },
    #[error("the cgroup parent `{path}` does not exist (create it, or choose another with `--cgroup-parent`)")]
    ParentMissing { path: String },
    #[error("sbx's own cgroup is not visible under `{mount}` (a bind-mounted subtree?); choose a parent with `--cgroup-parent`")]
    OwnCgroupHidden { mount: String },
    #[error("cannot enable {controllers} in `{parent}`: it holds processes, and cgroup v2 allows controllers only for cgroups without them (choose an empty parent with `--cgroup-parent`)")]
    InternalProcesses { parent: String, controllers: String },
    #[error("`{name}` is not a usable cgroup name: {why}")]
    InvalidName { name: String, why: &'static str },
    #[error("the cgroup `{path}` already exists (another sandbox with the same name?)")]
    Exists { path: String },
    #[error("cannot create the cgroup `{path}`: {source}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("process {pid} does not show in `{file}` after being moved there")]
    NotAttached { pid: i32, file: String },
    #[error("cannot kill process {pid} of the sandbox: {source}")]
    Kill {
        pid: i32,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` still holds processes {pids:?} after repeated SIGKILL")]
    NotEmpty { path: String, pids: Vec<i32> },
    #[error("the sandbox's cgroup was only partly removed: {}", .failures.join("; "))]
    PartlyRemoved { failures: Vec<String> },
    #[error("{cause}; undoing the cgroup also failed: {}", .failures.join("; "))]
    RollbackFailed {
        cause: Box<CgroupError>,
        failures: Vec<String>,
    },
}

/// Something applied, but perhaps not to the effect the user expects (the
/// CLI prints it; it does not stop the start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupWarning {
    /// The plan key concerned (`io_weight`).
    pub key: &'static str,
    pub message: String,
}

impl fmt::Display for CgroupWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.key, self.message)
    }
}

/// Where to create the sandbox's cgroup.
#[derive(Debug, Clone, Default)]
pub struct CgroupOptions {
    /// `--cgroup-parent`: a path relative to each hierarchy's root; the
    /// caller's own cgroup when absent.
    pub parent: Option<PathBuf>,
}

/// What a cgroup accounted, read after the workload exited (and before
/// [`SandboxCgroup::destroy`]). `None`: this host does not account it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupStats {
    /// `memory.peak` (v2) or `memory.max_usage_in_bytes` (v1).
    pub memory_peak_bytes: Option<u64>,
    /// `cpu.stat` `usage_usec` (v2) or `cpuacct.usage` (v1, ns / 1000).
    pub cpu_usage_us: Option<u64>,
    /// The most tasks alive at once (`pids.peak`), or `pids.current` on
    /// kernels without `pids.peak`.
    pub tasks: Option<u64>,
    /// Processes the OOM killer killed in the cgroup (`memory.events`
    /// `oom_kill` on v2, `memory.oom_control` `oom_kill` on v1).
    pub oom_kills: Option<u64>,
}

/// Which cgroup version a sandbox's cgroup uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    /// One hierarchy per controller (legacy and hybrid hosts).
    V1,
    /// The unified hierarchy.
    V2,
}

/// Where the backends find the host: the real one, or a fake for tests.
#[derive(Debug, Clone)]
pub struct CgroupHost {
    pub fs: Arc<dyn CgroupFs>,
    /// The kernel keeps memory limits in whole pages.
    pub page_size: u64,
    /// `/sys/block`: the io schedulers of the disks, for the bfq warning.
    pub block_dir: PathBuf,
    /// `/proc/swaps`: whether the host swaps at all.
    pub swaps_file: PathBuf,
    /// How many times teardown looks at a cgroup that is emptying (10 ms
    /// apart) before it reports it stuck.
    pub empty_attempts: u32,
}

impl CgroupHost {
    /// This machine.
    pub fn real() -> CgroupHost {
        let page_size = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .map(|p| p as u64)
            .unwrap_or(4096);
        CgroupHost {
            fs: Arc::new(HostCgroupFs),
            page_size,
            block_dir: PathBuf::from("/sys/block"),
            swaps_file: PathBuf::from("/proc/swaps"),
            empty_attempts: 500,
        }
    }
}

/// A controller the sandbox may join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Controller {
    Cpuset,
    Memory,
    Cpu,
    Cpuacct,
    Io,
    Pids,
}

impl Controller {
    pub(crate) fn v1_name(self) -> &'static str {
        match self {
            Controller::Cpuset => "cpuset",
            Controller::Memory => "memory",
            Controller::Cpu => "cpu",
            Controller::Cpuacct => "cpuacct",
            Controller::Io => "blkio",
            Controller::Pids => "pids",
        }
    }

    /// `None` for cpuacct, whose accounting is part of v2's core.
    pub(crate) fn v2_name(self) -> Option<&'static str> {
        match self {
            Controller::Cpuset => Some("cpuset"),
            Controller::Memory => Some("memory"),
            Controller::Cpu => Some("cpu"),
            Controller::Cpuacct => None,
            Controller::Io => Some("io"),
            Controller::Pids => Some("pids"),
        }
    }
}

/// Every limit the plan sets, as (controller, plan key), in plan order.
pub(crate) fn requested(limits: &CgroupLimits) -> Vec<(Controller, &'static str)> {
    let mut out = Vec::new();
    let mut add = |set: bool, controller, key| {
        if set {
            out.push((controller, key));
        }
    };
    add(
        limits.memory_max.is_some(),
        Controller::Memory,
        "memory_max",
    );
    add(
        limits.memory_high.is_some(),
        Controller::Memory,
        "memory_high",
    );
    add(
        limits.memory_swap_max.is_some(),
        Controller::Memory,
        "memory_swap_max",
    );
    add(limits.cpu_weight.is_some(), Controller::Cpu, "cpu_weight");
    add(limits.cpu_quota.is_some(), Controller::Cpu, "cpu_quota");
    add(
        limits.cpuset_cpus.is_some(),
        Controller::Cpuset,
        "cpuset_cpus",
    );
    add(
        limits.cpuset_mems.is_some(),
        Controller::Cpuset,
        "cpuset_mems",
    );
    add(limits.io_weight.is_some(), Controller::Io, "io_weight");
    add(limits.pids_max.is_some(), Controller::Pids, "pids_max");
    out
}

/// The values a cgroup of either version refuses, checked before anything
/// is created.
pub(crate) fn check_values(limits: &CgroupLimits) -> Result<(), CgroupError> {
    use convert::*;
    for (key, weight) in [
        ("cpu_weight", limits.cpu_weight),
        ("io_weight", limits.io_weight),
    ] {
        if let Some(weight) = weight {
            if !(WEIGHT_MIN..=WEIGHT_MAX).contains(&weight) {
                return Err(CgroupError::InvalidValue {
                    key,
                    value: weight.to_string(),
                    expected: format!("a weight runs from {WEIGHT_MIN} to {WEIGHT_MAX}"),
                });
            }
        }
    }
    if let Some(quota) = limits.cpu_quota {
        if !(CPU_PERIOD_MIN_US..=CPU_PERIOD_MAX_US).contains(&quota.period_us) {
            return Err(CgroupError::InvalidValue {
                key: "cpu_quota",
                value: format!("{} µs per {} µs", quota.quota_us, quota.period_us),
                expected: "the period must be 1 ms to 1 s (1000 to 1000000 µs)".into(),
            });
        }
        if quota.quota_us < CPU_QUOTA_MIN_US {
            return Err(CgroupError::InvalidValue {
                key: "cpu_quota",
                value: format!("{} µs per {} µs", quota.quota_us, quota.period_us),
                expected: "the kernel needs a quota of at least 1 ms (1000 µs) per period".into(),
            });
        }
    }
    for (key, list) in [
        ("cpuset_cpus", &limits.cpuset_cpus),
        ("cpuset_mems", &limits.cpuset_mems),
    ] {
        if let Some(list) = list {
            match convert::parse_list(list) {
                Ok(set) if !set.is_empty() => {}
                Ok(_) => {
                    return Err(CgroupError::InvalidValue {
                        key,
                        value: list.clone(),
                        expected: "an empty list would leave the sandbox nowhere to run".into(),
                    })
                }
                Err(why) => {
                    return Err(CgroupError::InvalidValue {
                        key,
                        value: list.clone(),
                        expected: format!("{why} (write a list such as `0-3,8`)"),
                    })
                }
            }
        }
    }
    Ok(())
}

/// A cgroup name is one path component of the sandbox's choosing.
fn check_name(name: &str) -> Result<(), CgroupError> {
    let why = if name.is_empty() {
        Some("it is empty")
    } else if name == "." || name == ".." {
        Some("it names a directory that exists already")
    } else if name.contains('/') || name.contains('\0') || name.contains('\n') {
        Some("it may not contain `/`, newlines or NUL")
    } else if name.len() > 255 {
        Some("it is longer than 255 bytes")
    } else {
        None
    };
    match why {
        Some(why) => Err(CgroupError::InvalidName {
            name: name.to_string(),
            why,
        }),
        None => Ok(()),
    }
}

/// The sandbox's own cgroup, in every hierarchy it needs.
#[derive(Debug)]
pub struct SandboxCgroup {
    backend: Box<dyn CgroupBackend>,
    host: CgroupHost,
    warnings: Vec<CgroupWarning>,
}

impl SandboxCgroup {
    /// Checks, without side effects, that every limit can be applied here:
    /// the layout is detected, each limit has its controller (delegated, on
    /// v2), the parent exists, and each value is one the files accept.
    pub fn preflight(limits: &CgroupLimits, options: &CgroupOptions) -> Result<(), CgroupError> {
        let layout = CgroupLayout::detect()?;
        SandboxCgroup::preflight_in(&CgroupHost::real(), &layout, limits, options)
    }

    /// [`SandboxCgroup::preflight`] on a given host and layout.
    pub fn preflight_in(
        host: &CgroupHost,
        layout: &CgroupLayout,
        limits: &CgroupLimits,
        options: &CgroupOptions,
    ) -> Result<(), CgroupError> {
        backend_for(host, layout, limits, options).map(|_| ())
    }

    /// [`SandboxCgroup::preflight`], returning what does not stop the start
    /// but may surprise (an io weight on disks that ignore it), for the CLI
    /// to print before the sandbox starts. [`SandboxCgroup::warnings`] has
    /// these and the ones found while creating.
    pub fn preflight_warnings(
        limits: &CgroupLimits,
        options: &CgroupOptions,
    ) -> Result<Vec<CgroupWarning>, CgroupError> {
        let layout = CgroupLayout::detect()?;
        let host = CgroupHost::real();
        let backend = backend_for(&host, &layout, limits, options)?;
        Ok(plan_warnings(&host, backend.version(), limits))
    }

    /// Creates the cgroup named `name` (under the caller's own cgroup, or
    /// `options.parent`), writes every limit and reads each back. On any
    /// failure, what was created is removed before the error returns.
    pub fn create(
        name: &str,
        limits: &CgroupLimits,
        options: &CgroupOptions,
    ) -> Result<SandboxCgroup, CgroupError> {
        let layout = CgroupLayout::detect()?;
        SandboxCgroup::create_in(CgroupHost::real(), &layout, name, limits, options)
    }

    /// [`SandboxCgroup::create`] on a given host and layout.
    pub fn create_in(
        host: CgroupHost,
        layout: &CgroupLayout,
        name: &str,
        limits: &CgroupLimits,
        options: &CgroupOptions,
    ) -> Result<SandboxCgroup, CgroupError> {
        check_name(name)?;
        let mut backend = backend_for(&host, layout, limits, options)?;
        let mut warnings = plan_warnings(&host, backend.version(), limits);
        warnings.extend(backend.create(name, limits)?);
        Ok(SandboxCgroup {
            backend,
            host,
            warnings,
        })
    }

    /// Moves process `pid` (all its threads) into the cgroup, in every
    /// hierarchy, and checks that it shows there.
    pub fn attach(&self, pid: i32) -> Result<(), CgroupError> {
        for dir in self.backend.dirs() {
            dir.write("cgroup.procs", &pid.to_string())?;
            if !dir.procs()?.contains(&pid) {
                return Err(CgroupError::NotAttached {
                    pid,
                    file: dir.file("cgroup.procs").display().to_string(),
                });
            }
        }
        Ok(())
    }

    /// What the cgroup accounted; read it after the workload exited and
    /// before [`SandboxCgroup::destroy`].
    pub fn stats(&self) -> Result<CgroupStats, CgroupError> {
        self.backend.stats()
    }

    /// Whether the OOM killer killed a process of the sandbox (the cgroup's
    /// memory limit was hit). `false` when the host does not report it.
    pub fn oom_killed(&self) -> Result<bool, CgroupError> {
        Ok(self.backend.stats()?.oom_kills.unwrap_or(0) > 0)
    }

    /// Limits applied whose effect depends on the host (the CLI prints them).
    pub fn warnings(&self) -> &[CgroupWarning] {
        &self.warnings
    }

    pub fn version(&self) -> CgroupVersion {
        self.backend.version()
    }

    /// The cgroup's directory in each hierarchy, in creation order.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.backend
            .dirs()
            .iter()
            .map(|d| d.path().to_path_buf())
            .collect()
    }

    /// The pids in the cgroup (all hierarchies).
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        backend::pids(self.backend.dirs())
    }

    /// Kills what remains, waits until empty, removes it from every
    /// hierarchy (newest first). Every directory is tried even after a
    /// failure; a cgroup left half-removed is an error naming what is left.
    pub fn destroy(self) -> Result<(), CgroupError> {
        let mut failures = Vec::new();
        if let Err(error) = backend::kill_until_empty(self.backend.as_ref(), &self.host) {
            failures.push(error.to_string());
        }
        failures.extend(backend::remove_dirs(self.backend.dirs(), &self.host));
        if failures.is_empty() {
            Ok(())
        } else {
            Err(CgroupError::PartlyRemoved { failures })
        }
    }
}

/// The backend for the layout, with its placement decided and every limit
/// checked (no side effects).
fn backend_for(
    host: &CgroupHost,
    layout: &CgroupLayout,
    limits: &CgroupLimits,
    options: &CgroupOptions,
) -> Result<Box<dyn CgroupBackend>, CgroupError> {
    check_values(limits)?;
    match layout.kind {
        LayoutKind::Unified => Ok(Box::new(v2::V2Cgroup::plan(host, layout, limits, options)?)),
        LayoutKind::Hybrid | LayoutKind::Legacy => {
            Ok(Box::new(v1::V1Cgroup::plan(host, layout, limits, options)?))
        }
    }
}

/// The parent directory: `--cgroup-parent` under the mount, else the
/// caller's own cgroup.
pub(crate) fn parent_dir(
    mount_point: &Path,
    mount_root: &str,
    own_dir: Option<&Path>,
    options: &CgroupOptions,
) -> Result<PathBuf, CgroupError> {
    match &options.parent {
        Some(parent) => layout::dir_for(mount_point, mount_root, parent).ok_or_else(|| {
            CgroupError::ParentMissing {
                path: parent.display().to_string(),
            }
        }),
        None => own_dir
            .map(Path::to_path_buf)
            .ok_or_else(|| CgroupError::OwnCgroupHidden {
                mount: mount_point.display().to_string(),
            }),
    }
}

/// The block devices whose active io scheduler is not bfq (`io_weight`
/// only takes effect under bfq, or under v2's io.cost when enabled).
pub(crate) fn non_bfq_devices(host: &CgroupHost) -> Vec<(String, String)> {
    let Ok(names) = host.fs.list(&host.block_dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in names {
        let dev = host.block_dir.join(&name);
        // Unused loop devices and the like have no size and do no io.
        let size = host.fs.read(&dev.join("size")).ok();
        if size.as_deref().map(str::trim) == Some("0") {
            continue;
        }
        let Ok(schedulers) = host.fs.read(&dev.join("queue/scheduler")) else {
            continue;
        };
        let active = schedulers
            .split_whitespace()
            .find(|s| s.starts_with('['))
            .map(|s| s.trim_matches(|c| c == '[' || c == ']').to_string());
        if let Some(active) = active {
            if active != "bfq" {
                out.push((name, active));
            }
        }
    }
    out
}

/// The warnings known before anything is created.
fn plan_warnings(
    host: &CgroupHost,
    version: CgroupVersion,
    limits: &CgroupLimits,
) -> Vec<CgroupWarning> {
    let extra = match version {
        CgroupVersion::V1 => "",
        CgroupVersion::V2 => " (or with io.cost enabled)",
    };
    limits
        .io_weight
        .and_then(|_| io_weight_warning(host, extra))
        .into_iter()
        .collect()
}

/// The warning for `io_weight` on hosts whose disks do not use bfq.
fn io_weight_warning(host: &CgroupHost, extra: &str) -> Option<CgroupWarning> {
    let devices = non_bfq_devices(host);
    if devices.is_empty() {
        return None;
    }
    let list = devices
        .iter()
        .map(|(dev, sched)| format!("`{dev}` uses `{sched}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(CgroupWarning {
        key: "io_weight",
        message: format!(
            "the weight is set, but takes effect only on disks using the bfq io scheduler{extra}: {list} (`echo bfq > /sys/block/DEV/queue/scheduler`)"
        ),
    })
}

/// Whether the host has swap in use (`/proc/swaps` lists a device).
pub(crate) fn host_swaps(host: &CgroupHost) -> bool {
    host.fs
        .read(&host.swaps_file)
        .map(|text| text.lines().skip(1).any(|l| !l.trim().is_empty()))
        .unwrap_or(false)
}

/// The controller names of a set, for messages.
pub(crate) fn names(set: &BTreeSet<&str>) -> String {
    set.iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
