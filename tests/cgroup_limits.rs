//! The cgroup backends on this machine's real cgroups, as root, driven
//! directly through `SandboxCgroup` with a workload forked by the test:
//! limits in force (read from outside through the workload's own
//! /proc/PID/cgroup, and their effect from inside), the OOM killer at
//! memory_max, a fork loop stopped at pids_max, and nothing left behind.
//! `cgroup_apply.rs` does the same through `sbx apply`.

mod cgroup_support;
mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use cgroup_support::{dir_of, dirs_from, leftovers, on_v1_host, read};
use sbx_executor::cgroup::{CgroupOptions, CgroupVersion, SandboxCgroup};
use sbx_plan::{CgroupLimits, CpuQuota, Limit};

/// Destroys the cgroup even when an assertion fails first, so that a
/// failing test leaves nothing behind; `destroy` is the checked way.
struct Cleanup(Option<SandboxCgroup>);

impl Cleanup {
    fn destroy(mut self) -> Result<(), sbx_executor::cgroup::CgroupError> {
        self.0.take().unwrap().destroy()
    }
}

impl std::ops::Deref for Cleanup {
    type Target = SandboxCgroup;
    fn deref(&self) -> &SandboxCgroup {
        self.0.as_ref().unwrap()
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(cgroup) = self.0.take() {
            let _ = cgroup.destroy();
        }
    }
}

const SIGKILL: i32 = 9;

/// The workload's cgroup directories, from its own /proc/PID/cgroup.
fn cgroup_dirs_of(pid: i32) -> Vec<(String, PathBuf)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    dirs_from(&text.lines().map(str::to_string).collect::<Vec<_>>())
}

fn unique(test: &str) -> String {
    format!("sbx-test-{test}-{}", std::process::id())
}

/// A shell running `script` once released: it waits on stdin first, so
/// that the test can attach it to the cgroup before it does anything.
struct Workload {
    child: Child,
}

impl Workload {
    fn held(script: &str) -> Workload {
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("read _ && {script}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("/bin/sh starts");
        Workload { child }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn release(&mut self) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
    }

    /// The next line the workload prints.
    fn line(&mut self) -> String {
        let mut line = String::new();
        BufReader::new(self.child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        line.trim().to_string()
    }
}

#[test]
fn limits_are_in_force_while_the_workload_runs() {
    if !on_v1_host("limits_are_in_force_while_the_workload_runs") {
        return;
    }
    let name = unique("running");
    let limits = CgroupLimits {
        memory_max: Some(Limit::Value(96 << 20)),
        memory_swap_max: Some(Limit::Value(32 << 20)),
        cpu_weight: Some(200),
        cpu_quota: Some(CpuQuota {
            quota_us: 50_000,
            period_us: 100_000,
        }),
        cpuset_cpus: Some("0".into()),
        cpuset_mems: Some("0".into()),
        io_weight: Some(500),
        pids_max: Some(Limit::Value(64)),
        memory_high: None,
    };
    let cgroup = Cleanup(Some(
        SandboxCgroup::create(&name, &limits, &CgroupOptions::default()).unwrap(),
    ));
    assert_eq!(cgroup.version(), CgroupVersion::V1);
    let mut workload = Workload::held("echo running && exec sleep 60");
    cgroup.attach(workload.pid()).unwrap();
    workload.release();
    assert_eq!(workload.line(), "running");

    // From outside, through the workload's own membership.
    let dirs = cgroup_dirs_of(workload.pid());
    let cpu = dir_of(&dirs, "cpu");
    assert!(cpu.ends_with(&name), "{}", cpu.display());
    assert_eq!(read(&cpu.join("cpu.shares")), "2048");
    assert_eq!(read(&cpu.join("cpu.cfs_period_us")), "100000");
    assert_eq!(read(&cpu.join("cpu.cfs_quota_us")), "50000");
    let cpuset = dir_of(&dirs, "cpuset");
    assert_eq!(read(&cpuset.join("cpuset.cpus")), "0");
    assert_eq!(read(&cpuset.join("cpuset.mems")), "0");
    assert_eq!(
        read(&dir_of(&dirs, "blkio").join("blkio.bfq.weight")),
        "136"
    );
    assert_eq!(read(&dir_of(&dirs, "pids").join("pids.max")), "64");
    let memory = dir_of(&dirs, "memory");
    // Nested under this process's own memory cgroup.
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let own_memory = own
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|(_, p)| p.to_string()))
        .unwrap();
    assert!(
        memory
            .to_string_lossy()
            .contains(own_memory.trim_end_matches('/')),
        "{} is not under {own_memory}",
        memory.display()
    );
    assert_eq!(
        read(&memory.join("memory.limit_in_bytes")),
        (96u64 << 20).to_string()
    );
    assert_eq!(
        read(&memory.join("memory.memsw.limit_in_bytes")),
        (128u64 << 20).to_string()
    );
    assert!(dir_of(&dirs, "cpuacct").ends_with(&name));
    // And from inside: the kernel confines the workload to cpu 0.
    let status = std::fs::read_to_string(format!("/proc/{}/status", workload.pid())).unwrap();
    let allowed = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(allowed, "0");
    // io_weight on a disk without bfq is applied with a warning.
    for warning in cgroup.warnings() {
        eprintln!("warning: {warning}");
    }

    cgroup.destroy().unwrap();
    let status = workload.child.wait().unwrap();
    assert_eq!(status.signal(), Some(SIGKILL), "{status:?}");
    assert_eq!(leftovers(&name), Vec::<PathBuf>::new());
}

#[test]
fn a_workload_past_memory_max_is_oom_killed_and_reported() {
    if !on_v1_host("a_workload_past_memory_max_is_oom_killed_and_reported") {
        return;
    }
    let name = unique("oom");
    let limits = CgroupLimits {
        memory_max: Some(Limit::Value(32 << 20)),
        ..CgroupLimits::default()
    };
    let cgroup = Cleanup(Some(
        SandboxCgroup::create(&name, &limits, &CgroupOptions::default()).unwrap(),
    ));
    // dd fills a 128 MiB buffer from /dev/zero: every page is touched.
    let mut workload = Workload::held("exec dd if=/dev/zero of=/dev/null bs=128M count=1");
    cgroup.attach(workload.pid()).unwrap();
    assert!(!cgroup.oom_killed().unwrap());
    workload.release();
    let status = workload.child.wait().unwrap();
    assert_eq!(status.signal(), Some(SIGKILL), "{status:?}");
    assert!(cgroup.oom_killed().unwrap());
    let stats = cgroup.stats().unwrap();
    assert_eq!(stats.oom_kills, Some(1));
    let peak = stats.memory_peak_bytes.unwrap();
    assert!(peak > (16 << 20) && peak <= (32 << 20), "peak {peak}");
    assert!(stats.cpu_usage_us.unwrap() > 0);
    cgroup.destroy().unwrap();
    assert_eq!(leftovers(&name), Vec::<PathBuf>::new());
}

#[test]
fn a_fork_loop_stops_at_pids_max() {
    if !on_v1_host("a_fork_loop_stops_at_pids_max") {
        return;
    }
    let name = unique("pids");
    let limits = CgroupLimits {
        pids_max: Some(Limit::Value(8)),
        ..CgroupLimits::default()
    };
    let cgroup = Cleanup(Some(
        SandboxCgroup::create(&name, &limits, &CgroupOptions::default()).unwrap(),
    ));
    // perl counts its own failed forks (a shell gives up at the first).
    let mut workload = Workload::held(
        "exec perl -e '$| = 1; my $failed = 0; for (1..20) { my $p = fork; if (!defined $p) { $failed++ } elsif ($p == 0) { sleep 60; exit 0 } } print \"forked \", 20 - $failed, \" failed $failed\\n\"; sleep 60'",
    );
    cgroup.attach(workload.pid()).unwrap();
    workload.release();
    assert_eq!(
        workload.line(),
        "forked 7 failed 13",
        "perl and 7 children make 8"
    );
    let pids = dir_of(&cgroup_dirs_of(workload.pid()), "pids");
    let current: u64 = read(&pids.join("pids.current")).parse().unwrap();
    assert_eq!(current, 8);
    let events = read(&pids.join("pids.events"));
    let refused: u64 = events
        .lines()
        .find_map(|l| l.strip_prefix("max "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(refused, 13, "forks refused at the limit: {events}");
    assert_eq!(cgroup.stats().unwrap().tasks, Some(8));
    cgroup.destroy().unwrap();
    let _ = workload.child.wait();
    assert_eq!(leftovers(&name), Vec::<PathBuf>::new());
}

#[test]
fn a_limit_this_host_cannot_apply_fails_closed_with_nothing_left() {
    if !on_v1_host("a_limit_this_host_cannot_apply_fails_closed_with_nothing_left") {
        return;
    }
    let name = unique("refused");
    // memory.high has no v1 equivalent: refused at preflight.
    let high = CgroupLimits {
        memory_high: Some(Limit::Value(32 << 20)),
        ..CgroupLimits::default()
    };
    let error = SandboxCgroup::preflight(&high, &CgroupOptions::default()).unwrap_err();
    assert!(error.to_string().contains("`memory_high`"), "{error}");
    // A cpuset the kernel refuses (no such cpu): fails after some
    // hierarchies were made, and they are removed.
    let cpus = CgroupLimits {
        cpuset_cpus: Some("4000".into()),
        ..CgroupLimits::default()
    };
    let error = SandboxCgroup::create(&name, &cpus, &CgroupOptions::default()).unwrap_err();
    assert!(error.to_string().contains("cpuset.cpus"), "{error}");
    assert!(error.to_string().contains("4000"), "{error}");
    assert_eq!(leftovers(&name), Vec::<PathBuf>::new());
}

#[test]
fn a_half_removed_cgroup_is_reported_not_ignored() {
    if !on_v1_host("a_half_removed_cgroup_is_reported_not_ignored") {
        return;
    }
    let name = unique("half");
    let cgroup =
        SandboxCgroup::create(&name, &CgroupLimits::default(), &CgroupOptions::default()).unwrap();
    let paths = cgroup.paths();
    let memory = paths
        .iter()
        .find(|p| p.starts_with("/sys/fs/cgroup/memory"))
        .expect("the memory hierarchy is joined for accounting")
        .clone();
    // A child cgroup made by someone else keeps the memory one busy.
    let intruder = memory.join("intruder");
    std::fs::create_dir(&intruder).unwrap();
    let error = cgroup.destroy().unwrap_err();
    let text = error.to_string();
    assert!(text.contains("only partly removed"), "{text}");
    assert!(text.contains(&memory.display().to_string()), "{text}");
    // Every other hierarchy was still removed; only the busy one is left.
    assert_eq!(leftovers(&name), vec![memory.clone()]);
    std::fs::remove_dir(&intruder).unwrap();
    std::fs::remove_dir(&memory).unwrap();
    assert_eq!(leftovers(&name), Vec::<PathBuf>::new());
}
