//! The `limits` block through the real `sbx apply`, as root, on this
//! machine's cgroups: the workload prints its own /proc/self/cgroup and
//! waits on stdin, the test reads the limits from the cgroup files from
//! outside while it runs, then lets it end and checks that no cgroup of
//! the sandbox is left in any hierarchy. The OOM killer at memory_max is
//! reported (exit 137 and a line naming memory.max), a fork loop stops at
//! pids_max, `--stats` prints the accounting, a limit the host cannot apply
//! stops the start.

mod cgroup_support;
mod support;

use std::path::PathBuf;

use cgroup_support::{
    apply, dir_of, dirs_from, leftovers, on_v1_host, plan, read, sandbox_name, Running,
};
use sbx_plan::{CgroupLimits, CpuQuota, Limit};

#[test]
fn apply_limits_read_back_from_outside_while_the_workload_runs() {
    if !on_v1_host("apply_limits_read_back_from_outside_while_the_workload_runs") {
        return;
    }
    let limits = CgroupLimits {
        memory_max: Some(Limit::Value(64 << 20)),
        cpu_weight: Some(50),
        cpu_quota: Some(CpuQuota {
            quota_us: 20_000,
            period_us: 100_000,
        }),
        cpuset_cpus: Some("1".into()),
        cpuset_mems: Some("0".into()),
        io_weight: Some(1000),
        pids_max: Some(Limit::Value(20)),
        ..CgroupLimits::default()
    };
    let script =
        "cat /proc/self/cgroup; grep Cpus_allowed_list /proc/self/status; echo ready; read _";
    let mut running = Running::start(&plan(&["/bin/sh", "-c", script], limits));
    let lines = running.lines_until("ready");
    let dirs = dirs_from(&lines);
    let name = sandbox_name(&dirs);
    let cpu = dir_of(&dirs, "cpu");
    assert_eq!(
        read(&cpu.join("cpu.shares")),
        "512",
        "weight 50 -> shares 512"
    );
    assert_eq!(read(&cpu.join("cpu.cfs_period_us")), "100000");
    assert_eq!(read(&cpu.join("cpu.cfs_quota_us")), "20000");
    let cpuset = dir_of(&dirs, "cpuset");
    assert_eq!(read(&cpuset.join("cpuset.cpus")), "1");
    assert_eq!(read(&cpuset.join("cpuset.mems")), "0");
    assert_eq!(
        read(&dir_of(&dirs, "blkio").join("blkio.bfq.weight")),
        "181",
        "io 1000 -> bfq 181"
    );
    assert_eq!(read(&dir_of(&dirs, "pids").join("pids.max")), "20");
    let memory = dir_of(&dirs, "memory");
    assert_eq!(
        read(&memory.join("memory.limit_in_bytes")),
        (64u64 << 20).to_string()
    );
    assert_eq!(
        read(&memory.join("memory.memsw.limit_in_bytes")),
        (64u64 << 20).to_string(),
        "no swap limit given: memory plus swap = memory"
    );
    assert!(dir_of(&dirs, "cpuacct").ends_with(&name));
    // The effect from inside: the workload may run on cpu 1 only.
    assert!(
        lines
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Cpus_allowed_list:", "1"]),
        "{lines:?}"
    );
    let output = running.finish();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // This disk uses mq-deadline: the io weight is applied with a warning.
    if std::fs::read_to_string("/sys/block/vda/queue/scheduler").is_ok_and(|s| !s.contains("[bfq]"))
    {
        assert!(stderr.contains("warning: `io_weight`"), "{stderr}");
    }
    assert_eq!(leftovers(&name), Vec::<PathBuf>::new());
}

#[test]
fn apply_reports_the_oom_killer_with_exit_137() {
    if !on_v1_host("apply_reports_the_oom_killer_with_exit_137") {
        return;
    }
    let limits = CgroupLimits {
        memory_max: Some(Limit::Value(32 << 20)),
        ..CgroupLimits::default()
    };
    // dd fills a 128 MiB buffer from /dev/zero: every page is touched.
    let output = apply(
        &plan(
            &[
                "/bin/dd",
                "if=/dev/zero",
                "of=/dev/null",
                "bs=128M",
                "count=1",
            ],
            limits,
        ),
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(137), "{stderr}");
    assert!(stderr.contains("OOM killer"), "{stderr}");
    assert!(stderr.contains("memory.max = 33554432 bytes"), "{stderr}");
    assert!(stderr.contains("`memory_max`"), "{stderr}");
}

#[test]
fn apply_stops_a_fork_loop_at_pids_max() {
    if !on_v1_host("apply_stops_a_fork_loop_at_pids_max") {
        return;
    }
    let limits = CgroupLimits {
        pids_max: Some(Limit::Value(8)),
        ..CgroupLimits::default()
    };
    // perl counts its own failed forks (a shell gives up at the first),
    // prints its cgroups, then waits.
    let script = "$| = 1; my $failed = 0; for (1..20) { my $p = fork; if (!defined $p) { $failed++ } elsif ($p == 0) { sleep 60; exit 0 } } open(my $f, '<', '/proc/self/cgroup'); print <$f>; print \"failed $failed\\nready\\n\"; <STDIN>;";
    let mut running = Running::start(&plan(&["/usr/bin/perl", "-e", script], limits));
    let lines = running.lines_until("ready");
    let failed: u64 = lines
        .iter()
        .find_map(|l| l.strip_prefix("failed "))
        .unwrap()
        .parse()
        .unwrap();
    let dirs = dirs_from(&lines);
    let name = sandbox_name(&dirs);
    let pids = dir_of(&dirs, "pids");
    assert_eq!(
        read(&pids.join("pids.current")),
        "8",
        "the limit is reached, not passed"
    );
    let events = read(&pids.join("pids.events"));
    assert_eq!(
        events.lines().find_map(|l| l.strip_prefix("max ")),
        Some(failed.to_string().as_str()),
        "every fork perl saw fail was refused by pids.max: {events}"
    );
    // The sandbox's init and perl hold two of the eight (more if the
    // sandbox's own processes ever grow): at least 12 of 20 forks fail.
    assert!(failed >= 12, "only {failed} of 20 forks failed");
    let output = running.finish();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(leftovers(&name), Vec::<PathBuf>::new());
}

#[test]
fn apply_stats_prints_what_the_cgroup_accounted() {
    if !on_v1_host("apply_stats_prints_what_the_cgroup_accounted") {
        return;
    }
    let output = apply(
        &plan(&["/bin/sh", "-c", "true"], CgroupLimits::default()),
        &["--stats"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("sbx: cgroup: memory peak "))
        .unwrap_or_else(|| panic!("no stats line: {stderr}"));
    // Every figure is a number read from the cgroup (none is `-`).
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().unwrap())
        .collect();
    assert_eq!(numbers.len(), 4, "{line}");
    let (peak, cpu, tasks, ooms) = (numbers[0], numbers[1], numbers[2], numbers[3]);
    assert!(peak > 0 && cpu > 0, "{line}");
    assert!(tasks >= 2, "the init and the shell at least: {line}");
    assert_eq!(ooms, 0, "{line}");
    // Without --stats, no such line.
    let output = apply(&plan(&["/bin/true"], CgroupLimits::default()), &[]);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("sbx: cgroup:"));
}

#[test]
fn apply_refuses_a_limit_this_host_cannot_apply() {
    if !on_v1_host("apply_refuses_a_limit_this_host_cannot_apply") {
        return;
    }
    let limits = CgroupLimits {
        memory_high: Some(Limit::Value(32 << 20)),
        ..CgroupLimits::default()
    };
    let output = apply(&plan(&["/bin/true"], limits), &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("`memory_high`"), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
}

#[test]
fn apply_nests_under_the_given_cgroup_parent() {
    if !on_v1_host("apply_nests_under_the_given_cgroup_parent") {
        return;
    }
    let parent = format!("sbx-test-parent-{}", std::process::id());
    let layout = sbx_executor::cgroup::CgroupLayout::detect().unwrap();
    // The parent must exist in every hierarchy the sandbox joins.
    let made: Vec<PathBuf> = layout
        .v1
        .iter()
        .map(|h| h.mount_point.join(&parent))
        .collect();
    for dir in &made {
        std::fs::create_dir(dir).unwrap();
        if dir.starts_with("/sys/fs/cgroup/cpuset") {
            for file in ["cpuset.cpus", "cpuset.mems"] {
                let value = std::fs::read_to_string(dir.parent().unwrap().join(file)).unwrap();
                std::fs::write(dir.join(file), value).unwrap();
            }
        }
    }
    let limits = CgroupLimits {
        pids_max: Some(Limit::Value(10)),
        cpuset_cpus: Some("0".into()),
        ..CgroupLimits::default()
    };
    let file = cgroup_support::plan_file(&plan(&["/bin/cat", "/proc/self/cgroup"], limits));
    let output = std::process::Command::new(cgroup_support::sbx())
        .args(["apply", "--cgroup-parent", &format!("/{parent}")])
        .arg(file.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result = std::panic::catch_unwind(|| {
        assert!(output.status.success(), "{output:?}");
        let lines: Vec<String> = stdout.lines().map(str::to_string).collect();
        let dirs = dirs_from(&lines);
        for controller in ["memory", "pids", "cpuset", "cpuacct"] {
            let dir = dir_of(&dirs, controller);
            assert_eq!(
                dir.parent().unwrap().file_name().unwrap().to_string_lossy(),
                parent,
                "{controller}: {}",
                dir.display()
            );
        }
        let name = sandbox_name(&dirs);
        assert_eq!(leftovers(&name), Vec::<PathBuf>::new());
    });
    for dir in made.iter().rev() {
        std::fs::remove_dir(dir).unwrap();
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    // A parent that does not exist stops the start.
    let output = apply(
        &plan(&["/bin/true"], CgroupLimits::default()),
        &["--cgroup-parent", "/sbx-test-no-such-parent"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("sbx-test-no-such-parent") && stderr.contains("does not exist"),
        "{stderr}"
    );
}
