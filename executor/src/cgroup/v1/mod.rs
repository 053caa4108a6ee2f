//! cgroup v1: one directory per mounted hierarchy the sandbox joins (the
//! hierarchies its limits need, plus memory, cpuacct and pids for
//! accounting when mounted), each under the caller's own cgroup in that
//! hierarchy or under `--cgroup-parent`.

mod blkio;
mod cpu;
mod cpuacct;
mod cpuset;
mod memory;

#[cfg(test)]
mod tests;

use std::io;
use std::path::PathBuf;

use sbx_plan::CgroupLimits;

use super::backend::{self, CgroupBackend};
use super::fs::CgroupDir;
use super::layout::CgroupLayout;
use super::pids;
use super::{
    parent_dir, requested, CgroupError, CgroupHost, CgroupOptions, CgroupStats, CgroupVersion,
    CgroupWarning, Controller,
};

/// The controllers joined for accounting (stats, OOM, finding every
/// process at teardown) even without limits. Plain `cpu` accounts nothing
/// that `cpuacct` does not, and each hierarchy joined costs a migration at
/// attach (an RCU grace period on v1).
const ACCOUNTING: [Controller; 3] = [Controller::Memory, Controller::Cpuacct, Controller::Pids];

/// A hierarchy the sandbox joins.
#[derive(Debug, Clone)]
struct Member {
    controllers: Vec<String>,
    mount_point: PathBuf,
    parent: PathBuf,
}

impl Member {
    fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

#[derive(Debug)]
pub(crate) struct V1Cgroup {
    host: CgroupHost,
    members: Vec<Member>,
    /// Made by `create`, parallel to the first `dirs.len()` members.
    dirs: Vec<CgroupDir>,
}

impl V1Cgroup {
    /// Decides which hierarchies to join and where, and checks that every
    /// limit can be written there; changes nothing.
    pub(crate) fn plan(
        host: &CgroupHost,
        layout: &CgroupLayout,
        limits: &CgroupLimits,
        options: &CgroupOptions,
    ) -> Result<V1Cgroup, CgroupError> {
        let mut wanted: Vec<(Controller, Option<&'static str>)> = requested(limits)
            .into_iter()
            .map(|(c, key)| (c, Some(key)))
            .collect();
        wanted.extend(ACCOUNTING.iter().map(|&c| (c, None)));
        // A fixed order: cpuset first, then as `Controller` lists them.
        wanted.sort_by_key(|&(c, key)| (c, key.is_none()));

        let mut members: Vec<Member> = Vec::new();
        for (controller, key) in wanted {
            let name = controller.v1_name();
            let Some(hierarchy) = layout.v1_hierarchy(name) else {
                match key {
                    Some(key) => {
                        return Err(CgroupError::ControllerMissing {
                            key,
                            controller: name,
                            why: missing_why(host, layout, name),
                        })
                    }
                    None => continue,
                }
            };
            if members
                .iter()
                .any(|m| m.controllers == hierarchy.controllers)
            {
                continue;
            }
            let parent = match parent_dir(
                &hierarchy.mount_point,
                &hierarchy.mount_root,
                hierarchy.own_dir.as_deref(),
                options,
            ) {
                Ok(parent) => parent,
                // Accounting alone is not worth failing for.
                Err(_) if key.is_none() && options.parent.is_none() => continue,
                Err(error) => return Err(error),
            };
            if !host.fs.exists(&parent) {
                return Err(CgroupError::ParentMissing {
                    path: parent.display().to_string(),
                });
            }
            members.push(Member {
                controllers: hierarchy.controllers.clone(),
                mount_point: hierarchy.mount_point.clone(),
                parent,
            });
        }
        if members.is_empty() {
            // No hierarchy of ours is mounted: track the sandbox in any one,
            // so that teardown still finds every process.
            let Some(hierarchy) = layout.v1.first() else {
                return Err(CgroupError::NoCgroupFs);
            };
            let parent = parent_dir(
                &hierarchy.mount_point,
                &hierarchy.mount_root,
                hierarchy.own_dir.as_deref(),
                options,
            )?;
            members.push(Member {
                controllers: hierarchy.controllers.clone(),
                mount_point: hierarchy.mount_point.clone(),
                parent,
            });
        }

        let parent_of = |controller: &str| {
            members
                .iter()
                .find(|m| m.has(controller))
                .map(|m| (m, CgroupDir::new(host.fs.clone(), m.parent.clone())))
        };
        if let Some((_, parent)) = parent_of("memory") {
            memory::check(limits, &parent)?;
        } else {
            memory::check_without(limits)?;
        }
        if let Some((member, parent)) = parent_of("blkio") {
            blkio::check(limits, &parent, member.parent == member.mount_point)?;
        }
        Ok(V1Cgroup {
            host: host.clone(),
            members,
            dirs: Vec::new(),
        })
    }

    /// Writes the limits of one hierarchy's directory.
    fn fill(
        &self,
        member: &Member,
        dir: &CgroupDir,
        limits: &CgroupLimits,
    ) -> Result<(), CgroupError> {
        for controller in &member.controllers {
            match controller.as_str() {
                "cpuset" => {
                    let parent = CgroupDir::new(self.host.fs.clone(), member.parent.clone());
                    cpuset::copy_from_parent(&parent, dir)?;
                    cpuset::apply(dir, limits)?;
                }
                "memory" => memory::apply(dir, limits, self.host.page_size)?,
                "cpu" => cpu::apply(dir, limits)?,
                "blkio" => blkio::apply(dir, limits)?,
                "pids" => pids::apply(dir, limits)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn dir_with(&self, controller: &str) -> Option<&CgroupDir> {
        self.members
            .iter()
            .zip(&self.dirs)
            .find(|(m, _)| m.has(controller))
            .map(|(_, d)| d)
    }
}

impl CgroupBackend for V1Cgroup {
    fn version(&self) -> CgroupVersion {
        CgroupVersion::V1
    }

    fn create(
        &mut self,
        name: &str,
        limits: &CgroupLimits,
    ) -> Result<Vec<CgroupWarning>, CgroupError> {
        for member in self.members.clone() {
            let path = member.parent.join(name);
            if let Err(source) = self.host.fs.mkdir(&path) {
                let path = path.display().to_string();
                let cause = if source.kind() == io::ErrorKind::AlreadyExists {
                    CgroupError::Exists { path }
                } else {
                    CgroupError::Create { path, source }
                };
                return Err(backend::rolled_back(cause, &self.dirs, &self.host));
            }
            let dir = CgroupDir::new(self.host.fs.clone(), path);
            self.dirs.push(dir.clone());
            if let Err(cause) = self.fill(&member, &dir, limits) {
                return Err(backend::rolled_back(cause, &self.dirs, &self.host));
            }
        }
        // Every v1 warning is known at preflight.
        Ok(Vec::new())
    }

    fn dirs(&self) -> &[CgroupDir] {
        &self.dirs
    }

    fn stats(&self) -> Result<CgroupStats, CgroupError> {
        let mut stats = CgroupStats::default();
        if let Some(dir) = self.dir_with("memory") {
            stats.memory_peak_bytes = memory::peak(dir)?;
            stats.oom_kills = memory::oom_kills(dir)?;
        }
        if let Some(dir) = self.dir_with("cpuacct") {
            stats.cpu_usage_us = cpuacct::usage_us(dir)?;
        }
        if let Some(dir) = self.dir_with("pids") {
            stats.tasks = pids::tasks(dir)?;
        }
        Ok(stats)
    }
}

/// Why a v1 controller is not there, for the error.
fn missing_why(host: &CgroupHost, layout: &CgroupLayout, name: &str) -> String {
    if let Some(v2) = &layout.v2 {
        let controllers = host
            .fs
            .read(&v2.mount_point.join("cgroup.controllers"))
            .unwrap_or_default();
        if controllers.split_whitespace().any(|c| c == name) {
            return format!(
                "this hybrid host has on its cgroup2 hierarchy (`{}`) only; sbx sets limits in the v1 hierarchies here, so mount `{name}` as v1 or boot in unified mode",
                v2.mount_point.display()
            );
        }
    }
    "is not mounted on this host (no cgroup v1 hierarchy has it)".to_string()
}
