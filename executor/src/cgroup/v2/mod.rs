//! cgroup v2: one directory in the unified hierarchy, with the controllers
//! its limits need enabled in the parent's `cgroup.subtree_control`.
//!
//! Placement and the no-internal-process rule: a v2 cgroup that holds
//! processes cannot enable controllers for its children (the hierarchy's
//! root excepted). sbx itself runs in its own cgroup, so by default:
//! - limits need no controller that is not already enabled there, or the
//!   caller's cgroup is the root: the sandbox nests under the caller's
//!   cgroup;
//! - otherwise the sandbox goes beside the caller's cgroup (under its
//!   parent), where the controllers the caller's cgroup offers are enabled
//!   by definition. runc's fs2 driver places relative paths the same way.
//!   Moving the caller's processes into a leaf instead would disturb
//!   processes sbx does not own.
//!
//! With `--cgroup-parent`, the parent is used as given; when it holds
//! processes and lacks a controller, the start fails (fail closed).
//! Controllers sbx enables in a parent stay enabled after the sandbox is
//! gone, as with systemd: another sandbox may be relying on them.

mod cpu;
mod cpuset;
mod io;
mod memory;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::io as stdio;
use std::path::{Path, PathBuf};

use sbx_plan::CgroupLimits;

use super::backend::{self, CgroupBackend};
use super::fs::CgroupDir;
use super::layout::CgroupLayout;
use super::{
    names, parent_dir, pids, requested, CgroupError, CgroupHost, CgroupOptions, CgroupStats,
    CgroupVersion, CgroupWarning,
};

#[derive(Debug)]
pub(crate) struct V2Cgroup {
    host: CgroupHost,
    parent: PathBuf,
    /// Controllers to enable in the parent's `cgroup.subtree_control`.
    enable: Vec<&'static str>,
    dirs: Vec<CgroupDir>,
}

/// The words of a space-separated cgroup file.
fn words(dir: &CgroupDir, file: &str) -> Result<BTreeSet<String>, CgroupError> {
    Ok(dir
        .read(file)?
        .split_whitespace()
        .map(str::to_string)
        .collect())
}

impl V2Cgroup {
    /// Decides where the cgroup goes and which controllers to enable;
    /// changes nothing.
    pub(crate) fn plan(
        host: &CgroupHost,
        layout: &CgroupLayout,
        limits: &CgroupLimits,
        options: &CgroupOptions,
    ) -> Result<V2Cgroup, CgroupError> {
        let hierarchy = layout.v2.as_ref().ok_or(CgroupError::NoCgroupFs)?;
        let mount = hierarchy.mount_point.as_path();
        let mut parent = parent_dir(
            mount,
            &hierarchy.mount_root,
            hierarchy.own_dir.as_deref(),
            options,
        )?;
        if !host.fs.exists(&parent) {
            return Err(CgroupError::ParentMissing {
                path: parent.display().to_string(),
            });
        }
        let dir = CgroupDir::new(host.fs.clone(), parent.clone());
        let available = words(&dir, "cgroup.controllers")?;
        let mut needed = BTreeSet::new();
        for (controller, key) in requested(limits) {
            let name = controller.v2_name().unwrap_or("cpu");
            if !available.contains(name) {
                let offered = available.iter().map(String::as_str).collect();
                return Err(CgroupError::ControllerMissing {
                    key,
                    controller: name,
                    why: format!(
                        "`{}` does not offer (its cgroup.controllers: {})",
                        parent.display(),
                        if available.is_empty() {
                            "none".to_string()
                        } else {
                            names(&offered)
                        }
                    ),
                });
            }
            needed.insert(name);
        }
        let mut enabled = words(&dir, "cgroup.subtree_control")?;
        let missing = |enabled: &BTreeSet<String>| -> Vec<&'static str> {
            needed
                .iter()
                .copied()
                .filter(|c| !enabled.contains(*c))
                .collect()
        };
        let holds_processes = |path: &Path, dir: &CgroupDir| -> Result<bool, CgroupError> {
            Ok(path != mount && !dir.procs()?.is_empty())
        };
        if !missing(&enabled).is_empty() && holds_processes(&parent, &dir)? {
            let beside = parent
                .parent()
                .filter(|_| options.parent.is_none())
                .map(Path::to_path_buf);
            let Some(beside) = beside else {
                return Err(CgroupError::InternalProcesses {
                    parent: parent.display().to_string(),
                    controllers: names(&missing(&enabled).into_iter().collect()),
                });
            };
            let up = CgroupDir::new(host.fs.clone(), beside.clone());
            enabled = words(&up, "cgroup.subtree_control")?;
            if !missing(&enabled).is_empty() && holds_processes(&beside, &up)? {
                return Err(CgroupError::InternalProcesses {
                    parent: beside.display().to_string(),
                    controllers: names(&missing(&enabled).into_iter().collect()),
                });
            }
            parent = beside;
        }
        Ok(V2Cgroup {
            host: host.clone(),
            enable: missing(&enabled),
            parent,
            dirs: Vec::new(),
        })
    }

    /// Enables the controllers in the parent and checks they read back.
    fn enable_controllers(&self) -> Result<(), CgroupError> {
        if self.enable.is_empty() {
            return Ok(());
        }
        let parent = CgroupDir::new(self.host.fs.clone(), self.parent.clone());
        let file = "cgroup.subtree_control";
        let value = self
            .enable
            .iter()
            .map(|c| format!("+{c}"))
            .collect::<Vec<_>>()
            .join(" ");
        parent.write(file, &value)?;
        let now = words(&parent, file)?;
        if self.enable.iter().any(|c| !now.contains(*c)) {
            return Err(CgroupError::Mismatch {
                file: parent.file(file).display().to_string(),
                written: value,
                read: now.into_iter().collect::<Vec<_>>().join(" "),
            });
        }
        Ok(())
    }

    fn fill(
        &self,
        dir: &CgroupDir,
        limits: &CgroupLimits,
    ) -> Result<Vec<CgroupWarning>, CgroupError> {
        let mut warnings = Vec::new();
        cpuset::apply(dir, limits)?;
        warnings.extend(memory::apply(dir, limits, &self.host)?);
        cpu::apply(dir, limits)?;
        io::apply(dir, limits)?;
        pids::apply(dir, limits)?;
        Ok(warnings)
    }
}

impl CgroupBackend for V2Cgroup {
    fn version(&self) -> CgroupVersion {
        CgroupVersion::V2
    }

    fn create(
        &mut self,
        name: &str,
        limits: &CgroupLimits,
    ) -> Result<Vec<CgroupWarning>, CgroupError> {
        self.enable_controllers()?;
        let path = self.parent.join(name);
        if let Err(source) = self.host.fs.mkdir(&path) {
            let path = path.display().to_string();
            return Err(if source.kind() == stdio::ErrorKind::AlreadyExists {
                CgroupError::Exists { path }
            } else {
                CgroupError::Create { path, source }
            });
        }
        let dir = CgroupDir::new(self.host.fs.clone(), path);
        self.dirs.push(dir.clone());
        self.fill(&dir, limits)
            .map_err(|cause| backend::rolled_back(cause, &self.dirs, &self.host))
    }

    fn dirs(&self) -> &[CgroupDir] {
        &self.dirs
    }

    /// `cgroup.kill` (Linux 5.14) kills every process at once, forks in
    /// flight included; older kernels get one SIGKILL per pid.
    fn kill(&self, pids: &[i32]) -> Result<(), CgroupError> {
        match self.dirs.first() {
            Some(dir) if dir.has("cgroup.kill") => dir.write("cgroup.kill", "1"),
            Some(_) => {
                for &pid in pids {
                    self.host
                        .fs
                        .kill(pid)
                        .map_err(|source| CgroupError::Kill { pid, source })?;
                }
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn stats(&self) -> Result<CgroupStats, CgroupError> {
        let Some(dir) = self.dirs.first() else {
            return Ok(CgroupStats::default());
        };
        Ok(CgroupStats {
            memory_peak_bytes: memory::peak(dir)?,
            cpu_usage_us: cpu::usage_us(dir)?,
            tasks: pids::tasks(dir)?,
            oom_kills: memory::oom_kills(dir)?,
        })
    }
}
