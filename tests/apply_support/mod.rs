//! Shared by the `sbx apply` end-to-end tests: plans, running the real
//! binary, the probe's report, and the host's state before and after.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sbx_plan::{
    Capabilities, CgroupLimits, Console, IdOrName, Limit, Namespace, Network, Plan, Process,
    Rlimit, Rootfs, Security, UserSpec, PLAN_VERSION,
};
use serde_json::Value;

pub const SBX: &str = env!("CARGO_BIN_EXE_sbx");
pub const PROBE: &str = env!("CARGO_BIN_EXE_sbx-probe");

/// podman's default set: what the compiler gives a profile that says
/// nothing about capabilities.
pub const DEFAULT_CAPS: [&str; 11] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A plan as the compiler makes it for `from = "host"` with the default
/// namespaces, `network = none`, the default capabilities, nofile 1024.
/// `name` names the sandbox (and its host-side objects).
pub fn host_plan(name: &str, args: &[&str]) -> Plan {
    let caps = strings(&DEFAULT_CAPS);
    Plan {
        version: PLAN_VERSION,
        name: Some(name.into()),
        rootfs: Rootfs::Host,
        process: Process {
            args: strings(args),
            env: vec![],
            user: UserSpec {
                user: IdOrName::Id(0),
                group: None,
            },
            groups: vec![],
            cwd: "/".into(),
            umask: None,
            rlimits: vec![Rlimit {
                resource: "nofile".into(),
                soft: Limit::Value(1024),
                hard: Limit::Value(1024),
            }],
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
            Namespace::Cgroup,
        ],
        network: Network::None,
        limits: CgroupLimits::default(),
        capabilities: Capabilities {
            bounding: caps.clone(),
            effective: caps.clone(),
            permitted: caps,
            inheritable: vec![],
            ambient: vec![],
        },
        security: Security {
            no_new_privileges: true,
            readonly_paths: vec![],
            masked_paths: vec![],
            rootfs_readonly: false,
        },
        mounts: vec![],
        volumes: vec![],
        idmap: Default::default(),
        console: Console::default(),
        build: vec![],
        expose: vec![],
        labels: Default::default(),
        sources: Default::default(),
    }
}

/// A plan file in a directory of its own, readable by every user (the
/// rootless tests run sbx as nobody).
pub struct PlanFile {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn write_plan(plan: &Plan) -> PlanFile {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("plan.json");
    std::fs::write(&path, plan.to_json_pretty()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    PlanFile { dir, path }
}

/// `sbx apply [OPTIONS] PLAN`, run to its end.
pub fn apply(plan: &Plan, options: &[&str]) -> Output {
    let file = write_plan(plan);
    apply_file(&file.path, options)
}

pub fn apply_file(path: &Path, options: &[&str]) -> Output {
    Command::new(SBX)
        .arg("apply")
        .args(options)
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("sbx runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs the probe as the plan's workload and returns its report.
pub fn probe(plan: &Plan, checks: &[&str]) -> Value {
    let mut plan = plan.clone();
    plan.process.args = std::iter::once(PROBE)
        .chain(checks.iter().copied())
        .map(str::to_string)
        .collect();
    let output = apply(&plan, &[]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "sbx apply failed\nstdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "the probe's report is not JSON ({e}): {}\nstderr: {}",
            text(&output.stdout),
            text(&output.stderr)
        )
    })
}

/// A report's list of strings.
pub fn names(value: &Value) -> Vec<String> {
    let mut out: Vec<String> = value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

pub fn sorted(items: &[&str]) -> Vec<String> {
    let mut out = strings(items);
    out.sort();
    out
}

/// This test process's namespace of `kind` (`/proc/self/ns/KIND`).
pub fn host_namespace(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// What of the host a sandbox could leave behind.
#[derive(Debug, PartialEq, Eq)]
pub struct HostState {
    /// `/proc/self/mountinfo`, the host's mount table as this test sees it.
    pub mounts: Vec<String>,
    /// Interface names (`ip -o link`, or /sys/class/net).
    pub links: Vec<String>,
    /// cgroup directories whose name holds `sbx-NAME-`.
    pub cgroups: Vec<PathBuf>,
    /// Processes whose command line holds the marker.
    pub processes: Vec<String>,
}

/// The host's state, for the sandbox named `name` and workload processes
/// whose command line holds `marker`.
pub fn host_state(name: &str, marker: &str) -> HostState {
    let mut mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    mounts.sort();
    let mut links: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    links.sort();
    let mut cgroups = Vec::new();
    find_dirs(
        Path::new("/sys/fs/cgroup"),
        &format!("sbx-{name}-"),
        4,
        &mut cgroups,
    );
    HostState {
        mounts,
        links,
        cgroups,
        processes: processes_with(marker),
    }
}

fn find_dirs(dir: &Path, needle: &str, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue;
        }
        if entry.file_name().to_string_lossy().contains(needle) {
            out.push(path.clone());
        }
        if depth > 0 {
            find_dirs(&path, needle, depth - 1, out);
        }
    }
}

/// `PID cmdline` of every process whose command line holds `marker`.
pub fn processes_with(marker: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.parse::<u32>().is_err() {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(marker) {
            out.push(format!("{name} {cmdline}"));
        }
    }
    out
}
