//! End-to-end tests of the root filesystem: the real `sbx apply` runs
//! `sbx-probe` as the workload, and the probe reports from inside what the
//! sandbox sees (mounts from /proc/self/mountinfo, processes, the outcome of
//! reads, writes and listings). Root only.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sbx_plan::{
    Capabilities, CgroupLimits, Console, IdOrName, Mount, MountKind, MountOption, Namespace,
    Network, Plan, Process, Rootfs, Security, SourceLocation, UserSpec, PLAN_VERSION,
};
use serde_json::Value;

const EROFS: i64 = 30;
const ENOENT: i64 = 2;

fn probe() -> &'static str {
    env!("CARGO_BIN_EXE_sbx-probe")
}

/// A plan as the compiler makes one by default, running the probe with
/// `checks` as its arguments.
fn plan(rootfs: Rootfs, probe_path: &str, checks: &[&str]) -> Plan {
    let mut args = vec![probe_path.to_string()];
    args.extend(checks.iter().map(|c| c.to_string()));
    Plan {
        version: PLAN_VERSION,
        name: None,
        rootfs,
        process: Process {
            args,
            env: vec![],
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
        limits: CgroupLimits::default(),
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

fn host_plan(checks: &[&str]) -> Plan {
    plan(Rootfs::Host, probe(), checks)
}

/// Runs `sbx apply` on the plan (written to a file as `sbx plan` prints it).
fn apply(plan: &Plan) -> Output {
    apply_with(plan, |_| {})
}

fn apply_with(plan: &Plan, configure: impl FnOnce(&mut Command)) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    std::fs::write(&file, plan.to_json_pretty()).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_sbx"));
    command
        .arg("apply")
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    configure(&mut command);
    command.output().expect("sbx runs")
}

/// The probe's report, after checking that the sandbox ran it.
fn report(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "sbx apply failed ({:?}): {stderr}\n{stdout}",
        output.status
    );
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no report from the probe: {stdout}\n{stderr}"));
    serde_json::from_str(line).unwrap()
}

/// The mount the sandbox sees at `path` (the topmost one).
fn mount_at<'a>(report: &'a Value, path: &str) -> &'a Value {
    report["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["mount_point"] == path)
        .unwrap_or_else(|| panic!("no mount at {path}: {:#}", report["mounts"]))
}

fn has_option(mount: &Value, key: &str, option: &str) -> bool {
    mount[key]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o.as_str() == Some(option))
}

/// The outcome of the probe's check number `index`.
fn check(report: &Value, index: usize) -> &Value {
    &report["checks"][index]
}

fn errno(outcome: &Value) -> Option<i64> {
    assert_eq!(outcome["ok"], false, "expected a failure: {outcome}");
    outcome["errno"].as_i64()
}

fn succeeded(outcome: &Value) -> &Value {
    assert_eq!(outcome["ok"], true, "expected success: {outcome}");
    &outcome["detail"]
}

/// The host's mount table, without what other programs on this machine may
/// change meanwhile (network namespaces they pin under /run/netns).
fn host_mounts() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| !l.contains("/run/netns") && !l.contains(" nsfs "))
        .map(str::to_string)
        .collect()
}

/// A busybox-static rootfs with the probe copied in (with the shared
/// libraries `ldd` lists).
fn busybox_rootfs(test: &str) -> Option<support::rootfs::Rootfs> {
    match support::rootfs::Rootfs::busybox()
        .and_then(|r| r.with_binary(Path::new(probe()), "/sbx-probe"))
    {
        Ok(rootfs) => Some(rootfs),
        Err(why) => {
            // scripts/test installs busybox-static; CI must not skip.
            if std::env::var("SBX_REQUIRE_PRIVILEGED").as_deref() == Ok("1") {
                panic!("{test}: {why}");
            }
            support::skip_missing(test, &why);
            None
        }
    }
}

fn directory_plan(rootfs: &support::rootfs::Rootfs, checks: &[&str]) -> Plan {
    plan(
        Rootfs::Directory {
            path: rootfs.path().display().to_string(),
        },
        "/sbx-probe",
        checks,
    )
}

fn bind(destination: &str, source: &Path, options: &[MountOption]) -> Mount {
    Mount {
        destination: destination.into(),
        kind: MountKind::Bind,
        source: Some(source.display().to_string()),
        options: options.to_vec(),
        size: None,
    }
}

fn typed(destination: &str, kind: MountKind, options: &[MountOption]) -> Mount {
    Mount {
        destination: destination.into(),
        kind,
        source: None,
        options: options.to_vec(),
        size: None,
    }
}

#[test]
fn host_rootfs_is_read_only_with_a_writable_tmp_and_run() {
    if !support::privileged("host_rootfs_is_read_only_with_a_writable_tmp_and_run") {
        return;
    }
    let plan = host_plan(&[
        "--write",
        "/etc/sbx-must-not-exist",
        "--write",
        "/tmp/scratch",
        "--write",
        "/run/scratch",
        "--list",
        "/tmp",
    ]);
    let report = report(&apply(&plan));
    assert_eq!(errno(check(&report, 0)), Some(EROFS));
    assert!(!Path::new("/etc/sbx-must-not-exist").exists());
    succeeded(check(&report, 1));
    succeeded(check(&report, 2));
    // A fresh /tmp: nothing of the host's.
    assert_eq!(
        succeeded(check(&report, 3))["entries"],
        serde_json::json!(["scratch"])
    );

    let root = mount_at(&report, "/");
    assert!(has_option(root, "options", "ro"), "{root}");
    for place in ["/tmp", "/run"] {
        let mount = mount_at(&report, place);
        assert_eq!(mount["fstype"], "tmpfs");
        assert!(has_option(mount, "options", "rw"));
        assert!(has_option(mount, "options", "nosuid"));
        assert!(has_option(mount, "options", "nodev"));
    }
    // Every mount the host brought along is read-only too.
    for mount in report["mounts"].as_array().unwrap() {
        let point = mount["mount_point"].as_str().unwrap();
        let own = ["/proc", "/dev", "/tmp", "/run"]
            .iter()
            .any(|p| point == *p || point.starts_with(&format!("{p}/")));
        if !own {
            assert!(has_option(mount, "options", "ro"), "{mount}");
        }
    }
}

#[test]
fn fresh_proc_shows_only_the_sandbox_processes() {
    if !support::privileged("fresh_proc_shows_only_the_sandbox_processes") {
        return;
    }
    let report = report(&apply(&host_plan(&[])));
    let processes = report["processes"].as_array().unwrap();
    let pids: Vec<u64> = processes
        .iter()
        .map(|p| p["pid"].as_u64().unwrap())
        .collect();
    assert!(pids.contains(&1), "{processes:?}");
    assert!(
        pids.len() <= 3,
        "only the sandbox's init and workload: {processes:?}"
    );
    // This test's own process, on the host, is not there.
    let me = std::env::current_exe().unwrap().display().to_string();
    assert!(
        !processes.iter().any(|p| p["cmdline"][0] == me.as_str()),
        "{processes:?}"
    );
    assert!(processes.iter().any(|p| p["cmdline"][0] == probe()));
    let proc = mount_at(&report, "/proc");
    assert_eq!(proc["fstype"], "proc");
    for option in ["nosuid", "nodev", "noexec"] {
        assert!(has_option(proc, "options", option), "{proc}");
    }
}

#[test]
fn dev_is_minimal() {
    if !support::privileged("dev_is_minimal") {
        return;
    }
    let mut plan = host_plan(&[
        "--list",
        "/dev",
        "--read",
        "/dev/null",
        "--write",
        "/dev/null",
        "--read",
        "/dev/sda",
        "--write",
        "/dev/shm/x",
    ]);
    plan.console.pts = Some(16);
    let report = report(&apply(&plan));
    assert_eq!(
        succeeded(check(&report, 0))["entries"],
        serde_json::json!([
            "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout",
            "tty", "urandom", "zero"
        ])
    );
    assert_eq!(succeeded(check(&report, 1))["bytes"], 0);
    succeeded(check(&report, 2));
    assert_eq!(errno(check(&report, 3)), Some(ENOENT));
    succeeded(check(&report, 4));

    let dev = mount_at(&report, "/dev");
    assert_eq!(dev["fstype"], "tmpfs");
    let pts = mount_at(&report, "/dev/pts");
    assert_eq!(pts["fstype"], "devpts");
    assert!(has_option(pts, "super_options", "max=16"), "{pts}");
    assert!(has_option(pts, "super_options", "ptmxmode=666"), "{pts}");
    assert_eq!(mount_at(&report, "/dev/shm")["fstype"], "tmpfs");
}

#[test]
fn sys_is_read_only() {
    if !support::privileged("sys_is_read_only") {
        return;
    }
    let report = report(&apply(&host_plan(&[
        "--write",
        "/sys/kernel/uevent_helper",
    ])));
    assert_eq!(errno(check(&report, 0)), Some(EROFS));
    let sys = mount_at(&report, "/sys");
    assert_eq!(sys["fstype"], "sysfs");
    assert!(has_option(sys, "options", "ro"), "{sys}");
}

#[test]
fn directory_rootfs_from_busybox() {
    let test = "directory_rootfs_from_busybox";
    if !support::privileged(test) {
        return;
    }
    let Some(rootfs) = busybox_rootfs(test) else {
        return;
    };
    let mut plan = directory_plan(
        &rootfs,
        &[
            "--read",
            "/bin/busybox",
            "--read",
            "/etc/os-release",
            "--write",
            "/written",
            "--list",
            "/dev",
        ],
    );
    plan.volumes = vec!["/var/lib/db".into()];
    let report = report(&apply(&plan));
    succeeded(check(&report, 0));
    // The host's files are not there: only the rootfs.
    assert_eq!(errno(check(&report, 1)), Some(ENOENT));
    succeeded(check(&report, 2));
    assert!(
        rootfs.path().join("written").exists(),
        "the rootfs is writable"
    );
    assert!(succeeded(check(&report, 3))["entries"]
        .as_array()
        .unwrap()
        .contains(&"null".into()));
    let root = mount_at(&report, "/");
    let root_dir = std::fs::canonicalize(rootfs.path()).unwrap();
    assert_eq!(root["root"], root_dir.display().to_string());

    // busybox sh opens /dev/null for every background job.
    let mut shell = directory_plan(&rootfs, &[]);
    shell.process.args = vec![
        "/bin/sh".into(),
        "-c".into(),
        "true & wait; echo done > /var/lib/db/x; cat /var/lib/db/x".into(),
    ];
    shell.volumes = vec!["/var/lib/db".into()];
    let output = apply(&shell);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "done");
    // The volume is the sandbox's own: nothing written into the rootfs.
    assert!(!rootfs.path().join("var/lib/db/x").exists());
}

#[test]
fn bind_mounts_apply_ro_nosuid_nodev_noexec() {
    if !support::privileged("bind_mounts_apply_ro_nosuid_nodev_noexec") {
        return;
    }
    let source = tempfile::tempdir().unwrap();
    std::fs::write(source.path().join("file"), "hello").unwrap();
    let mut plan = host_plan(&[
        "--read",
        "/tmp/ro/file",
        "--write",
        "/tmp/ro/new",
        "--write",
        "/tmp/rw/new",
        "--read",
        "/tmp/one-file",
    ]);
    plan.mounts = vec![
        bind(
            "/tmp/ro",
            source.path(),
            &[MountOption::Ro, MountOption::Rbind],
        ),
        bind(
            "/tmp/rw",
            source.path(),
            &[MountOption::Nosuid, MountOption::Nodev, MountOption::Noexec],
        ),
        bind(
            "/tmp/one-file",
            &source.path().join("file"),
            &[MountOption::Ro],
        ),
    ];
    let report = report(&apply(&plan));
    assert_eq!(succeeded(check(&report, 0))["bytes"], 5);
    assert_eq!(errno(check(&report, 1)), Some(EROFS));
    succeeded(check(&report, 2));
    assert!(
        source.path().join("new").exists(),
        "the rw bind writes to the host"
    );
    assert!(!source
        .path()
        .join("new")
        .metadata()
        .unwrap()
        .permissions()
        .readonly());
    assert_eq!(succeeded(check(&report, 3))["bytes"], 5);

    assert!(has_option(mount_at(&report, "/tmp/ro"), "options", "ro"));
    let rw = mount_at(&report, "/tmp/rw");
    for option in ["rw", "nosuid", "nodev", "noexec"] {
        assert!(has_option(rw, "options", option), "{rw}");
    }
    assert!(has_option(
        mount_at(&report, "/tmp/one-file"),
        "options",
        "ro"
    ));
}

#[test]
fn tmpfs_proc_sysfs_and_devpts_mounts() {
    if !support::privileged("tmpfs_proc_sysfs_and_devpts_mounts") {
        return;
    }
    let mut plan = host_plan(&[
        "--write",
        "/tmp/small/x",
        "--write",
        "/tmp/sys/kernel/uevent_helper",
    ]);
    plan.console.pts = Some(8);
    plan.mounts = vec![
        Mount {
            size: Some(1 << 20),
            ..typed("/tmp/small", MountKind::Tmpfs, &[MountOption::Noexec])
        },
        typed("/tmp/proc", MountKind::Proc, &[MountOption::Nosuid]),
        typed("/tmp/sys", MountKind::Sysfs, &[MountOption::Ro]),
        typed("/tmp/pts", MountKind::Devpts, &[]),
    ];
    let report = report(&apply(&plan));
    succeeded(check(&report, 0));
    assert_eq!(errno(check(&report, 1)), Some(EROFS));

    let small = mount_at(&report, "/tmp/small");
    assert_eq!(small["fstype"], "tmpfs");
    assert!(has_option(small, "super_options", "size=1024k"), "{small}");
    assert!(has_option(small, "options", "noexec"), "{small}");
    let proc = mount_at(&report, "/tmp/proc");
    assert_eq!(proc["fstype"], "proc");
    assert!(has_option(proc, "options", "nosuid"));
    let sys = mount_at(&report, "/tmp/sys");
    assert_eq!(sys["fstype"], "sysfs");
    assert!(has_option(sys, "options", "ro"));
    let pts = mount_at(&report, "/tmp/pts");
    assert_eq!(pts["fstype"], "devpts");
    assert!(has_option(pts, "super_options", "max=8"), "{pts}");
}

#[test]
fn volumes_are_writable_tmpfs() {
    if !support::privileged("volumes_are_writable_tmpfs") {
        return;
    }
    let mut plan = host_plan(&["--write", "/tmp/data/x", "--write", "/srv/x"]);
    plan.volumes = vec!["/tmp/data".into()];
    if Path::new("/srv").is_dir() {
        plan.volumes.push("/srv".into());
    }
    let report = report(&apply(&plan));
    succeeded(check(&report, 0));
    let volume = mount_at(&report, "/tmp/data");
    assert_eq!(volume["fstype"], "tmpfs");
    assert!(has_option(volume, "options", "rw"));
    if Path::new("/srv").is_dir() {
        // A volume over a host directory: writable, the host's untouched.
        succeeded(check(&report, 1));
        assert!(!Path::new("/srv/x").exists());
    }
}

#[test]
fn masked_paths_are_empty_and_readonly_paths_read_only() {
    if !support::privileged("masked_paths_are_empty_and_readonly_paths_read_only") {
        return;
    }
    let mut plan = host_plan(&[
        "--read",
        "/proc/timer_list",
        "--list",
        "/sys/firmware",
        "--write",
        "/sys/firmware/x",
        "--write",
        "/proc/sys/kernel/domainname",
        "--read",
        "/proc/sys/kernel/ostype",
    ]);
    plan.security.masked_paths = vec![
        "/proc/timer_list".into(),
        "/sys/firmware".into(),
        "/proc/no-such-file".into(),
    ];
    plan.security.readonly_paths = vec!["/proc/sys".into()];
    let report = report(&apply(&plan));
    assert_eq!(succeeded(check(&report, 0))["bytes"], 0);
    assert_eq!(
        succeeded(check(&report, 1))["entries"],
        serde_json::json!([])
    );
    assert_eq!(errno(check(&report, 2)), Some(EROFS));
    assert_eq!(errno(check(&report, 3)), Some(EROFS));
    assert!(succeeded(check(&report, 4))["bytes"].as_u64().unwrap() > 0);
    assert!(has_option(mount_at(&report, "/proc/sys"), "options", "ro"));
    assert_eq!(mount_at(&report, "/sys/firmware")["fstype"], "tmpfs");
}

#[test]
fn rootfs_readonly_makes_the_directory_root_read_only() {
    let test = "rootfs_readonly_makes_the_directory_root_read_only";
    if !support::privileged(test) {
        return;
    }
    let Some(rootfs) = busybox_rootfs(test) else {
        return;
    };
    let mut plan = directory_plan(
        &rootfs,
        &[
            "--write",
            "/written",
            "--write",
            "/dev/shm/x",
            "--write",
            "/var/lib/db/x",
        ],
    );
    plan.security.rootfs_readonly = true;
    plan.volumes = vec!["/var/lib/db".into()];
    let report = report(&apply(&plan));
    assert_eq!(errno(check(&report, 0)), Some(EROFS));
    assert!(!rootfs.path().join("written").exists());
    succeeded(check(&report, 1));
    succeeded(check(&report, 2));
    assert!(has_option(mount_at(&report, "/"), "options", "ro"));
}

#[test]
fn a_missing_rootfs_exits_125_and_leaves_nothing() {
    if !support::privileged("a_missing_rootfs_exits_125_and_leaves_nothing") {
        return;
    }
    let before = host_mounts();
    let mut plan = plan(
        Rootfs::Directory {
            path: "/no/such/rootfs".into(),
        },
        "/sbx-probe",
        &[],
    );
    plan.sources.insert(
        "rootfs".into(),
        SourceLocation {
            file: "web.sbx".into(),
            line: 2,
            column: 1,
        },
    );
    let output = apply(&plan);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("/no/such/rootfs"), "{stderr}");
    assert!(stderr.contains("no such file or directory"), "{stderr}");
    assert!(stderr.contains("web.sbx:2:1"), "{stderr}");
    assert!(output.stdout.is_empty(), "the workload never ran");
    assert_eq!(host_mounts(), before);
}

#[test]
fn a_bind_source_that_vanishes_after_preflight_exits_125_and_leaves_nothing() {
    let test = "a_bind_source_that_vanishes_after_preflight_exits_125_and_leaves_nothing";
    if !support::privileged(test) {
        return;
    }
    if !cfg!(debug_assertions) {
        // The gate that lets the test act between preflight and the child's
        // mounts is compiled into debug builds only.
        support::skip_missing(test, "the rootfs test gate exists in debug builds only");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    std::fs::create_dir(&source).unwrap();
    let gate = dir.path().join("gate");
    nix::unistd::mkfifo(&gate, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();

    let mut plan = host_plan(&[]);
    plan.mounts = vec![bind("/tmp/data", &source, &[])];
    plan.sources.insert(
        "mounts.0".into(),
        SourceLocation {
            file: "web.sbx".into(),
            line: 7,
            column: 1,
        },
    );
    let before = host_mounts();
    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, plan.to_json_pretty()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sbx"))
        .arg("apply")
        .arg(&plan_file)
        .env("SBX_TEST_ROOTFS_GATE", &gate)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Preflight has passed once the sandbox waits at the gate (it opened
    // the FIFO for reading); then the source goes, and the gate opens.
    let writer = open_gate_for_writing(&gate, &mut child);
    std::fs::remove_dir(&source).unwrap();
    drop(writer);

    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("mount 0 `/tmp/data`"), "{stderr}");
    assert!(stderr.contains(&source.display().to_string()), "{stderr}");
    assert!(stderr.contains("no such file or directory"), "{stderr}");
    assert!(stderr.contains("web.sbx:7:1"), "{stderr}");
    assert!(output.stdout.is_empty(), "the workload never ran");
    assert_eq!(host_mounts(), before);
}

/// Opens the FIFO for writing once the sandbox has it open for reading
/// (ENXIO until then), failing if sbx exits first.
fn open_gate_for_writing(gate: &PathBuf, child: &mut std::process::Child) -> std::fs::File {
    use std::os::unix::fs::OpenOptionsExt;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(gate)
        {
            Ok(file) => return file,
            Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ENXIO as i32) => {}
            Err(e) => panic!("cannot open the gate: {e}"),
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            panic!("sbx exited ({status}) before reaching the gate: {stderr}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "sbx never reached the gate"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// This machine mounts `/` private, so a missing "make `/` private" step
/// would go unnoticed here; systemd hosts mount it shared. The sandbox runs
/// inside a mount namespace (util-linux `unshare`) whose `/` is shared, and
/// that namespace's mount table must be the same before and after.
#[test]
fn mounts_do_not_propagate_to_a_host_whose_root_is_shared() {
    let test = "mounts_do_not_propagate_to_a_host_whose_root_is_shared";
    if !support::privileged(test) {
        return;
    }
    let source = tempfile::tempdir().unwrap();
    let mut plan = host_plan(&["--write", "/tmp/data/x"]);
    plan.mounts = vec![bind("/tmp/data", source.path(), &[])];
    plan.volumes = vec!["/tmp/volume".into()];
    let dir = tempfile::tempdir().unwrap();
    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, plan.to_json_pretty()).unwrap();
    let script = r#"
        findmnt -n -o PROPAGATION / > "$1/propagation"
        cat /proc/self/mountinfo > "$1/before"
        "$2" apply "$3" > "$1/report" 2> "$1/stderr"
        echo $? > "$1/status"
        cat /proc/self/mountinfo > "$1/after"
    "#;
    let output = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "shared",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(dir.path())
        .arg(env!("CARGO_BIN_EXE_sbx"))
        .arg(&plan_file)
        .stdin(Stdio::null())
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) => {
            support::skip_missing(test, &format!("util-linux `unshare` cannot run: {e}"));
            return;
        }
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    assert_eq!(
        read("propagation").trim(),
        "shared",
        "the test's own set-up"
    );
    assert_eq!(read("before"), read("after"), "a mount propagated out");
    assert_eq!(read("status").trim(), "0", "{}", read("stderr"));
    let report: Value = serde_json::from_str(read("report").lines().last().unwrap()).unwrap();
    succeeded(check(&report, 0));
}

#[test]
fn rbind_ro_makes_the_submounts_read_only_too() {
    let test = "rbind_ro_makes_the_submounts_read_only_too";
    if !support::privileged(test) {
        return;
    }
    // The host's /dev has submounts (/dev/shm, /dev/pts) on every machine
    // this runs on: a source with a tree of mounts.
    if !std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some("/dev/shm"))
    {
        support::skip_missing(test, "the host's /dev/shm is not a mount");
        return;
    }
    let name = format!("sbx-rootfs-test-{}", std::process::id());
    let recursive_target = format!("/tmp/rdev/shm/{name}");
    let mut plan = host_plan(&["--write", &recursive_target, "--list", "/tmp/dev/shm"]);
    plan.mounts = vec![
        bind(
            "/tmp/rdev",
            Path::new("/dev"),
            &[MountOption::Rbind, MountOption::Ro],
        ),
        bind("/tmp/dev", Path::new("/dev"), &[MountOption::Ro]),
    ];
    let output = apply(&plan);
    let leaked = Path::new("/dev/shm").join(&name);
    let wrote_through = leaked.exists();
    let _ = std::fs::remove_file(&leaked);
    let report = report(&output);
    assert!(!wrote_through, "the rbind ro wrote to the host's /dev/shm");
    assert_eq!(errno(check(&report, 0)), Some(EROFS));
    let shm = mount_at(&report, "/tmp/rdev/shm");
    assert!(has_option(shm, "options", "ro"), "{shm}");
    // Without rbind, the submounts are not brought along.
    assert!(!report["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["mount_point"] == "/tmp/dev/shm"));
}

#[test]
fn host_rootfs_in_a_user_namespace() {
    let test = "host_rootfs_in_a_user_namespace";
    if !support::privileged(test) {
        return;
    }
    let range = sbx_plan::IdRange {
        inside: 0,
        outside: 100_000,
        count: 65_536,
    };
    // The sandbox's root is uid 100000 on the host: the probe must be where
    // any user can reach it (a build directory under /root is not), so a
    // copy is bound in, read-only.
    let reachable = tempfile::tempdir().unwrap();
    std::fs::set_permissions(reachable.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::copy(probe(), reachable.path().join("sbx-probe")).unwrap();
    // With its own network namespace the sandbox gets a fresh sysfs; with
    // the host's network the kernel refuses one, and the host's /sys is
    // bound read-only instead.
    for own_network in [true, false] {
        let mut plan = plan(
            Rootfs::Host,
            "/tmp/probe/sbx-probe",
            &[
                "--write",
                "/etc/sbx-must-not-exist",
                "--write",
                "/tmp/x",
                "--list",
                "/dev",
                "--write",
                "/sys/kernel/uevent_helper",
                "--read",
                "/dev/null",
            ],
        );
        plan.mounts = vec![bind("/tmp/probe", reachable.path(), &[MountOption::Ro])];
        plan.namespaces.push(Namespace::User);
        plan.namespaces.sort();
        if !own_network {
            plan.namespaces.retain(|n| *n != Namespace::Net);
            plan.network = Network::Host;
        }
        plan.idmap.uid = vec![range];
        plan.idmap.gid = vec![range];
        plan.console.pts = Some(4);
        let report = report(&apply(&plan));
        assert_eq!(report["uid_map"], serde_json::json!([[0, 100_000, 65_536]]));
        assert_eq!(errno(check(&report, 0)), Some(EROFS));
        succeeded(check(&report, 1));
        assert_eq!(
            succeeded(check(&report, 2))["entries"]
                .as_array()
                .unwrap()
                .len(),
            13,
            "{}",
            check(&report, 2)
        );
        assert_eq!(errno(check(&report, 3)), Some(EROFS));
        succeeded(check(&report, 4));
        let sys = mount_at(&report, "/sys");
        assert!(has_option(sys, "options", "ro"), "{sys}");
        let pts = mount_at(&report, "/dev/pts");
        assert!(has_option(pts, "super_options", "max=4"), "{pts}");
        assert!(has_option(mount_at(&report, "/"), "options", "ro"));
    }
}

#[test]
fn symlinks_in_a_directory_rootfs_cannot_reach_the_host() {
    let test = "symlinks_in_a_directory_rootfs_cannot_reach_the_host";
    if !support::privileged(test) {
        return;
    }
    let Some(rootfs) = busybox_rootfs(test) else {
        return;
    };
    // A link to `/`: followed as the host sees it, it would lead out of the
    // rootfs, to the host's own root.
    std::os::unix::fs::symlink("/", rootfs.path().join("escape")).unwrap();
    let name = format!("sbx-escape-{}", std::process::id());
    let volume = format!("/escape/{name}");
    let mut plan = directory_plan(&rootfs, &["--write", &format!("{volume}/x")]);
    plan.volumes = vec![volume];
    let output = apply(&plan);
    // Checked (and cleaned up) before anything else can fail.
    let on_host = Path::new("/").join(&name);
    let escaped = on_host.exists();
    let _ = std::fs::remove_dir(&on_host);
    assert!(!escaped, "a mount point was created on the host");
    let report = report(&output);
    succeeded(check(&report, 0));
    // The link was followed inside the rootfs.
    assert!(rootfs.path().join(&name).is_dir());
    assert_eq!(mount_at(&report, &format!("/{name}"))["fstype"], "tmpfs");
}
