//! Shared by the cgroup tests: plans for `sbx apply` on the host's root,
//! `sbx apply` with the workload's stdin and stdout piped, the cgroup
//! directories named in a /proc/PID/cgroup text, and the search for
//! leftovers in every mounted hierarchy.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use sbx_executor::cgroup::CgroupLayout;
use sbx_plan::{
    Capabilities, CgroupLimits, Console, EnvVar, IdOrName, Namespace, Network, Plan, Process,
    Rootfs, Security, UserSpec, PLAN_VERSION,
};

pub fn sbx() -> &'static str {
    env!("CARGO_BIN_EXE_sbx")
}

pub fn plan(args: &[&str], limits: CgroupLimits) -> Plan {
    Plan {
        version: PLAN_VERSION,
        name: None,
        rootfs: Rootfs::Host,
        process: Process {
            args: args.iter().map(|a| a.to_string()).collect(),
            env: vec![EnvVar {
                name: "PATH".into(),
                value: "/usr/bin:/bin".into(),
            }],
            user: UserSpec {
                user: IdOrName::Id(0),
                group: None,
            },
            groups: vec![],
            cwd: "/".into(),
            umask: None,
            rlimits: vec![],
            terminal: false,
            stop_signal: "SIGTERM".into(),
        },
        hostname: None,
        domainname: None,
        namespaces: vec![
            Namespace::Mount,
            Namespace::Uts,
            Namespace::Ipc,
            Namespace::Pid,
            Namespace::Net,
        ],
        network: Network::None,
        limits,
        capabilities: Capabilities::default(),
        security: Security {
            no_new_privileges: true,
            readonly_paths: vec![],
            masked_paths: vec![],
            rootfs_readonly: false,
        },
        mounts: vec![],
        volumes: vec![],
        idmap: Default::default(),
        console: Console { tty: 0, pts: None },
        build: vec![],
        expose: vec![],
        labels: Default::default(),
        sources: Default::default(),
    }
}

/// The plan as a file, as `sbx plan` prints it.
pub fn plan_file(plan: &Plan) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    file.write_all(plan.to_json_pretty().as_bytes()).unwrap();
    file
}

pub fn apply(plan: &Plan, extra: &[&str]) -> Output {
    let file = plan_file(plan);
    Command::new(sbx())
        .arg("apply")
        .args(extra)
        .arg(file.path())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `sbx apply` with its stdin and stdout piped, for a workload that reports
/// and then waits for the test.
pub struct Running {
    child: Child,
    stdout: BufReader<std::process::ChildStdout>,
    _plan: tempfile::NamedTempFile,
}

impl Running {
    pub fn start(plan: &Plan) -> Running {
        let file = plan_file(plan);
        let mut child = Command::new(sbx())
            .arg("apply")
            .arg(file.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Running {
            child,
            stdout,
            _plan: file,
        }
    }

    /// The lines the workload prints up to `marker`.
    pub fn lines_until(&mut self, marker: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if self.stdout.read_line(&mut line).unwrap() == 0 {
                let output = std::mem::replace(&mut self.child, dummy()).wait_with_output();
                panic!("the workload ended before `{marker}`: {lines:?} {output:?}");
            }
            let line = line.trim_end().to_string();
            if line == marker {
                return lines;
            }
            lines.push(line);
        }
    }

    /// Lets the workload go on and waits for sbx.
    pub fn finish(mut self) -> Output {
        self.child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        self.child.wait_with_output().unwrap()
    }
}

pub fn dummy() -> Child {
    Command::new("/bin/true").spawn().unwrap()
}

/// The directories of the cgroups in a /proc/PID/cgroup text that live in
/// a mounted v1 hierarchy: (controllers, directory).
pub fn dirs_from(membership: &[String]) -> Vec<(String, PathBuf)> {
    let layout = CgroupLayout::detect().unwrap();
    membership
        .iter()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            let first = controllers.split(',').next()?;
            let h = layout.v1_hierarchy(first)?;
            Some((
                controllers.to_string(),
                h.mount_point.join(path.trim_start_matches('/')),
            ))
        })
        .collect()
}

pub fn dir_of(dirs: &[(String, PathBuf)], controller: &str) -> PathBuf {
    dirs.iter()
        .find(|(c, _)| c.split(',').any(|c| c == controller))
        .unwrap_or_else(|| panic!("no `{controller}` cgroup in {dirs:?}"))
        .1
        .clone()
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

/// The sandbox's cgroup name: the last component of its `pids` cgroup.
pub fn sandbox_name(dirs: &[(String, PathBuf)]) -> String {
    let name = dir_of(dirs, "pids")
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(name.starts_with("sbx-"), "not a sandbox cgroup: {name}");
    name
}

/// Every directory called `name` in any mounted hierarchy.
pub fn leftovers(name: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                if entry.file_name() == name {
                    out.push(entry.path());
                }
                walk(&entry.path(), name, out);
            }
        }
    }
    let layout = CgroupLayout::detect().unwrap();
    let mut out = Vec::new();
    for h in &layout.v1 {
        walk(&h.mount_point, name, &mut out);
    }
    if let Some(v2) = &layout.v2 {
        walk(&v2.mount_point, name, &mut out);
    }
    out
}

pub fn on_v1_host(test: &str) -> bool {
    if !crate::support::privileged(test) {
        return false;
    }
    if CgroupLayout::detect()
        .unwrap()
        .v1_hierarchy("memory")
        .is_none()
    {
        crate::support::skip_missing(test, "this host has no cgroup v1 memory hierarchy");
        return false;
    }
    true
}
