//! The `limits` block through the real `sbx apply`, as root, on this
//! machine's cgroups: the workload prints its own /proc/self/cgroup and
//! waits on stdin, the test reads the limits from the cgroup files from
//! outside while it runs, then lets it end and checks that no cgroup of
//! the sandbox is left in any hierarchy. The OOM killer at memory_max is
//! reported (exit 137 and a line naming memory.max), a fork loop stops at
//! pids_max, `--stats` prints the accounting, a limit the host cannot apply
//! stops the start.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use sbx_executor::cgroup::CgroupLayout;
use sbx_plan::{
    Capabilities, CgroupLimits, Console, CpuQuota, EnvVar, IdOrName, Limit, Namespace, Network,
    Plan, Process, Rootfs, Security, UserSpec, PLAN_VERSION,
};

fn sbx() -> &'static str {
    env!("CARGO_BIN_EXE_sbx")
}

fn plan(args: &[&str], limits: CgroupLimits) -> Plan {
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
fn plan_file(plan: &Plan) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    file.write_all(plan.to_json_pretty().as_bytes()).unwrap();
    file
}

fn apply(plan: &Plan, extra: &[&str]) -> Output {
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
struct Running {
    child: Child,
    stdout: BufReader<std::process::ChildStdout>,
    _plan: tempfile::NamedTempFile,
}

impl Running {
    fn start(plan: &Plan) -> Running {
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
    fn lines_until(&mut self, marker: &str) -> Vec<String> {
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
    fn finish(mut self) -> Output {
        self.child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        self.child.wait_with_output().unwrap()
    }
}

fn dummy() -> Child {
    Command::new("/bin/true").spawn().unwrap()
}

/// The directories of the cgroups in a /proc/PID/cgroup text that live in
/// a mounted v1 hierarchy: (controllers, directory).
fn dirs_from(membership: &[String]) -> Vec<(String, PathBuf)> {
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

fn dir_of(dirs: &[(String, PathBuf)], controller: &str) -> PathBuf {
    dirs.iter()
        .find(|(c, _)| c.split(',').any(|c| c == controller))
        .unwrap_or_else(|| panic!("no `{controller}` cgroup in {dirs:?}"))
        .1
        .clone()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

/// The sandbox's cgroup name: the last component of its `pids` cgroup.
fn sandbox_name(dirs: &[(String, PathBuf)]) -> String {
    let name = dir_of(dirs, "pids")
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(name.starts_with("sbx-"), "not a sandbox cgroup: {name}");
    name
}

/// Every directory called `name` in any mounted hierarchy.
fn leftovers(name: &str) -> Vec<PathBuf> {
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

fn on_v1_host(test: &str) -> bool {
    if !support::privileged(test) {
        return false;
    }
    if CgroupLayout::detect()
        .unwrap()
        .v1_hierarchy("memory")
        .is_none()
    {
        support::skip_missing(test, "this host has no cgroup v1 memory hierarchy");
        return false;
    }
    true
}

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
    // The sandbox's init and perl hold two of the eight.
    assert!(failed >= 14, "only {failed} of 20 forks failed");
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
