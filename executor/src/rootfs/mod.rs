//! The sandbox's root filesystem: what the workload sees as `/`.
//!
//! Two entry points, called by the apply sequence:
//!
//! - [`preflight`] in the parent, before anything is changed: it reads the
//!   plan and the host's filesystem and refuses what cannot be built, with
//!   an error naming the setting, its profile line and the fix.
//! - [`prepare`] in the child, inside its new mount namespace,
//!   single-threaded, before the identity and capability steps and before
//!   exec: it makes every mount private, builds the new root (the host's `/`
//!   read-only, or a directory), mounts /proc, a minimal /dev, /sys, the
//!   profile's `mount` blocks and `volume`s, pivots into it, then applies
//!   the read-only and masked paths and `security.rootfs_readonly`.
//!
//! Every mount is made in the sandbox's own mount namespace, after `/` was
//! made recursively private, so nothing propagates to the host: the host's
//! mount table is the same before and after, whether the setup succeeds or
//! fails half-way (the namespace and all its mounts die with the child).
//! See docs/rootfs.md for what each kind of rootfs gives and why the steps
//! come in this order.

mod attrs;
mod dev;
mod path;
mod preflight;
mod setup;
#[cfg(test)]
mod tests;

use std::fmt;

use sbx_plan::Plan;

use crate::sys::{Errno, Sys};

/// Checks, without any side effect, that the plan's root filesystem and
/// mounts can be built: the mount namespace is requested, the rootfs kind is
/// supported and its directory exists, every mount and volume is well
/// formed, every bind source exists, and, for `from = "host"`, every mount
/// point exists on the read-only host (sbx never creates files there).
///
/// Run it in the parent before any change; [`prepare`] in the child then
/// does the work. A failure names the setting (with its profile line when
/// the plan's `sources` table has it) and the fix.
pub fn preflight(plan: &Plan) -> Result<(), RootfsError> {
    preflight::check(plan)
}

/// Builds the sandbox's root filesystem and makes it the process's `/`.
///
/// Call it in the child, right after it entered its new mount namespace (and
/// user namespace, once the id maps are written), single-threaded, before
/// hostname, identity, capabilities and exec, with the same plan that
/// passed [`preflight`]. Every call that changes kernel state goes through
/// `sys`; reads do not (symlinks, `statvfs`, and the `O_PATH` opens that pin
/// the host's sources). On return the current directory is the new `/`; the
/// workload's `cwd` is the caller's.
///
/// On error the mount namespace is left half-built: the caller reports the
/// error and exits, and the namespace dies with the child (nothing of it is
/// visible on the host).
pub fn prepare<S: Sys + ?Sized>(plan: &Plan, sys: &S) -> Result<(), RootfsError> {
    setup::prepare(plan, sys)
}

/// One step of [`prepare`], as the error names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `/` made recursively private, so that no mount propagates to the host.
    MakePrivate,
    /// The new root bound onto a mount point of its own.
    BindRoot,
    /// The fresh /proc.
    Proc,
    /// The minimal /dev (tmpfs, device nodes, /dev/pts, /dev/shm, links).
    Dev,
    /// /sys, read-only.
    Sysfs,
    /// A tmpfs the rootfs kind brings (`/tmp`, `/run` for the host's root).
    DefaultTmpfs(String),
    /// A `volume` path.
    Volume(String),
    /// A `mount` block: its index in the plan and its destination.
    Mount { index: usize, destination: String },
    /// `pivot_root` into the new root.
    PivotRoot,
    /// The old root unmounted (detached).
    DetachOldRoot,
    /// A `security.readonly_paths` entry.
    ReadonlyPath(String),
    /// A `security.masked_paths` entry.
    MaskedPath(String),
    /// `security.rootfs_readonly`.
    RootfsReadonly,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::MakePrivate => write!(f, "make mounts private"),
            Step::BindRoot => write!(f, "bind the root filesystem"),
            Step::Proc => write!(f, "mount /proc"),
            Step::Dev => write!(f, "build /dev"),
            Step::Sysfs => write!(f, "mount /sys"),
            Step::DefaultTmpfs(path) => write!(f, "mount tmpfs `{path}`"),
            Step::Volume(path) => write!(f, "volume `{path}`"),
            Step::Mount { index, destination } => write!(f, "mount {index} `{destination}`"),
            Step::PivotRoot => write!(f, "pivot_root into the new root"),
            Step::DetachOldRoot => write!(f, "detach the old root"),
            Step::ReadonlyPath(path) => write!(f, "read-only path `{path}`"),
            Step::MaskedPath(path) => write!(f, "masked path `{path}`"),
            Step::RootfsReadonly => write!(f, "make the root filesystem read-only"),
        }
    }
}

/// Why the root filesystem could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    /// A setting of the plan cannot be applied (found before any change).
    #[error("{problem} (setting `{setting}`{}); {help}", at(location))]
    Setting {
        /// The plan path of the setting (`rootfs`, `mounts.0`).
        setting: String,
        /// Its profile line (`web.sbx:7:1`), from the plan's side table.
        location: Option<String>,
        problem: String,
        /// What to do about it.
        help: String,
    },
    /// A kernel call of a step failed.
    #[error(transparent)]
    Step(Box<StepError>),
}

/// A kernel call of a step of [`prepare`] failed.
#[derive(Debug, thiserror::Error)]
#[error("rootfs: {step}: {}", self.detail())]
pub struct StepError {
    pub step: Step,
    /// The call that failed, with its paths (`bind `/src` onto `/data``).
    pub action: String,
    pub errno: Errno,
    /// The plan path of the setting the step applies, if any.
    pub setting: Option<String>,
    /// Its profile line (`web.sbx:7:1`), from the plan's side table.
    pub location: Option<String>,
    /// A likely fix, when the errno makes one clear.
    pub hint: Option<String>,
}

impl StepError {
    /// The message without the step (`bind `/src` onto `/data`: no such
    /// file or directory (setting `mounts.0`, web.sbx:7:1)`), for a caller
    /// that names the step itself.
    pub fn detail(&self) -> String {
        let hint = self
            .hint
            .as_deref()
            .map(|h| format!("; {h}"))
            .unwrap_or_default();
        let setting = self
            .setting
            .as_deref()
            .map(|s| format!(" (setting `{s}`{})", at(&self.location)))
            .unwrap_or_default();
        format!("{}: {}{hint}{setting}", self.action, describe(self.errno))
    }
}

impl RootfsError {
    /// The step that failed, for a kernel-call failure.
    pub fn step(&self) -> Option<&Step> {
        match self {
            RootfsError::Step(error) => Some(&error.step),
            RootfsError::Setting { .. } => None,
        }
    }
}

fn at(location: &Option<String>) -> String {
    location
        .as_deref()
        .map(|l| format!(", {l}"))
        .unwrap_or_default()
}

/// The errno as a lowercase phrase (`no such file or directory`).
fn describe(errno: Errno) -> String {
    lowercase_first(errno.desc())
}

/// `No such file` as `no such file`; an acronym (`I/O error`) stays as is.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if second.is_lowercase() => {
            first.to_lowercase().chain(text.chars().skip(1)).collect()
        }
        _ => text.to_string(),
    }
}

/// The profile line of the first of `keys` found in the plan's side table.
fn location_of(plan: &Plan, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|key| plan.sources.get(*key))
        .map(|s| format!("{}:{}:{}", s.file, s.line, s.column))
}
