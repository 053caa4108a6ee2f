//! The emitted configurations run for real with `sbx-probe` as the workload
//! in a busybox rootfs: the OCI bundle under `runc run` and `crun run`, the
//! LXC config under `lxc-execute`. What the probe sees from inside is what
//! the plan says: hostname, capability sets,
//! NoNewPrivs, rlimits, masked and read-only paths, a read-only root, and
//! the memory and pids limits read back from the container's cgroup.
//!
//! The same plan under `sbx apply` gives the same report as under runc and crun
//! (`oci_bundle_and_sbx_apply_agree`): the emitted bundle means what the
//! profile means.
//!
//! Root only (runtimes need it); skips visibly when a runtime is not
//! installed (scripts/test installs both).

mod emit_support;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use sbx_compiler::emit::{self, EmitOptions, EmitTarget};
use sbx_plan::{Limit, Plan, Rlimit, Rootfs};
use serde_json::Value;
use support::rootfs::Rootfs as TestRootfs;

const CAPS: [&str; 6] = [
    "CAP_CHOWN",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];
const MEMORY_MAX: u64 = 64 << 20;
const PIDS_MAX: u64 = 32;

/// The probe, then the cgroup's memory and pids limits as the container
/// sees them (v1 layout here, v2 elsewhere).
const SCRIPT: &str = "/sbx-probe --read /proc/timer_list --read /proc/keys \
     --read /sys/firmware/memmap/0/type --write /proc/sys/kernel/domainname \
     --write /probe-was-here; \
     cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; \
     cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max";

fn probe_plan(rootfs: &Path) -> Plan {
    let mut plan = emit_support::minimal_host();
    plan.name = Some("emit-probe".into());
    plan.rootfs = Rootfs::Directory {
        path: rootfs.display().to_string(),
    };
    plan.hostname = Some("emit-probe".into());
    plan.process.args = vec!["/bin/sh".into(), "-c".into(), SCRIPT.into()];
    plan.process.rlimits = vec![Rlimit {
        resource: "nofile".into(),
        soft: Limit::Value(512),
        hard: Limit::Value(1024),
    }];
    plan.capabilities = emit_support::root_caps(&CAPS);
    plan.limits.memory_max = Some(Limit::Value(MEMORY_MAX));
    plan.limits.pids_max = Some(Limit::Value(PIDS_MAX));
    plan
}

/// What one run printed: the probe's report and the two cgroup values.
struct Observed {
    report: Value,
    memory_max: String,
    pids_max: String,
}

fn parse(stdout: &str) -> Observed {
    let mut lines = stdout.lines().filter(|l| !l.trim().is_empty());
    let report: Value = serde_json::from_str(lines.next().expect("the probe printed a line"))
        .unwrap_or_else(|e| panic!("the probe's output is JSON ({e}): {stdout}"));
    let memory_max = lines.next().unwrap_or_default().trim().to_string();
    let pids_max = lines.next().unwrap_or_default().trim().to_string();
    Observed {
        report,
        memory_max,
        pids_max,
    }
}

fn names(v: &Value) -> Vec<String> {
    let mut list: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("a list of names, not {v}"))
        .iter()
        .map(|n| n.as_str().unwrap_or_default().to_string())
        .collect();
    list.sort();
    list
}

fn check(plan: &Plan, observed: &Observed, runtime: &str) {
    check_report(plan, &observed.report, runtime);
    assert_eq!(
        observed.memory_max,
        MEMORY_MAX.to_string(),
        "{runtime}: memory limit read back from the cgroup"
    );
    assert_eq!(
        observed.pids_max,
        PIDS_MAX.to_string(),
        "{runtime}: pids limit read back from the cgroup"
    );
}

/// What the probe's report must say for `plan`.
fn check_report(plan: &Plan, r: &Value, runtime: &str) {
    assert_eq!(r["hostname"], "emit-probe", "{runtime}: hostname");
    let caps = &r["capabilities"];
    for (set, expected) in [
        ("bounding", &plan.capabilities.bounding),
        ("effective", &plan.capabilities.effective),
        ("permitted", &plan.capabilities.permitted),
        ("inheritable", &plan.capabilities.inheritable),
        ("ambient", &plan.capabilities.ambient),
    ] {
        let mut expected = expected.clone();
        expected.sort();
        assert_eq!(names(&caps[set]), expected, "{runtime}: {set} capabilities");
    }
    assert_eq!(r["no_new_privs"], true, "{runtime}: NoNewPrivs");
    assert_eq!(
        r["rlimits"]["nofile"]["soft"], 512,
        "{runtime}: nofile soft"
    );
    assert_eq!(
        r["rlimits"]["nofile"]["hard"], 1024,
        "{runtime}: nofile hard"
    );
    assert_eq!(r["uid"], 0, "{runtime}: uid");

    let checks = r["checks"]
        .as_array()
        .expect("the probe reports its checks");
    let find = |check: &str, target: &str| {
        checks
            .iter()
            .find(|c| c["check"] == check && c["target"] == target)
            .unwrap_or_else(|| panic!("{runtime}: no {check} check of {target}"))
            .clone()
    };
    // Masked files read as /dev/null (empty), masked directories as an
    // empty tmpfs; checked where the host's own copy has content, so that
    // an unmasked path would fail the test.
    let host_bytes = |p: &str| std::fs::read(p).map(|b| b.len()).unwrap_or(0);
    for masked in ["/proc/timer_list", "/proc/keys"] {
        if host_bytes(masked) == 0 {
            continue;
        }
        let c = find("read", masked);
        assert_eq!(c["ok"], true, "{runtime}: {masked}: {c}");
        assert_eq!(
            c["detail"]["bytes"], 0,
            "{runtime}: {masked} is masked: {c}"
        );
    }
    if host_bytes("/sys/firmware/memmap/0/type") > 0 {
        let c = find("read", "/sys/firmware/memmap/0/type");
        assert_eq!(c["ok"], false, "{runtime}: /sys/firmware is masked: {c}");
    }
    let c = find("write", "/proc/sys/kernel/domainname");
    assert_eq!(c["ok"], false, "{runtime}: /proc/sys is read-only: {c}");
    let c = find("write", "/probe-was-here");
    assert_eq!(c["ok"], false, "{runtime}: the root is read-only: {c}");
}

/// Builds the rootfs and the bundle; `None` when this machine cannot.
fn prepare(test: &str, runtime: &str) -> Option<(TestRootfs, tempfile::TempDir, Plan)> {
    if !support::privileged(test) {
        return None;
    }
    if Command::new(runtime).arg("--version").output().is_err() {
        support::skip_missing(
            test,
            &format!("`{runtime}` is not installed (apt-get install {runtime})"),
        );
        return None;
    }
    let probe = PathBuf::from(env!("CARGO_BIN_EXE_sbx-probe"));
    let rootfs = match TestRootfs::busybox().and_then(|r| r.with_binary(&probe, "/sbx-probe")) {
        Ok(rootfs) => rootfs,
        Err(why) => {
            support::skip_missing(test, &why);
            return None;
        }
    };
    let plan = probe_plan(rootfs.path());
    let emitted =
        emit::emit(&plan, EmitTarget::Oci, &EmitOptions::default()).expect("the probe plan emits");
    let bundle = tempfile::Builder::new()
        .prefix("sbx-bundle-")
        .tempdir()
        .expect("a temp dir");
    for file in &emitted.files {
        std::fs::write(bundle.path().join(&file.path), &file.contents).expect("write the bundle");
    }
    Some((rootfs, bundle, plan))
}

/// `RUNTIME run` of the bundle. crun 1.8 refuses a hybrid cgroup layout
/// (KERNEL-NOTES): there it runs in a private mount namespace without the
/// cgroup2 mount.
fn runtime_run(runtime: &str, state: &Path, bundle: &Path, id: &str) -> Command {
    let hybrid =
        Path::new("/sys/fs/cgroup/unified").is_dir() && Path::new("/sys/fs/cgroup/memory").is_dir();
    let mut command = if runtime == "crun" && hybrid {
        let mut c = Command::new("unshare");
        c.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "umount /sys/fs/cgroup/unified && exec crun --root '{}' run --bundle '{}' '{id}'",
                state.display(),
                bundle.display()
            ));
        c
    } else {
        let mut c = Command::new(runtime);
        c.arg("--root")
            .arg(state)
            .args(["run", "--bundle"])
            .arg(bundle)
            .arg(id);
        c
    };
    command.current_dir(bundle);
    command
}

fn container_id(runtime: &str) -> String {
    format!("sbx-emit-{runtime}-{}", std::process::id())
}

fn run(mut command: Command, runtime: &str) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot start {runtime}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{runtime} failed ({}):\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn oci_bundle_runs_under_runc_as_the_plan_says() {
    let test = "oci_bundle_runs_under_runc_as_the_plan_says";
    let Some((_rootfs, bundle, plan)) = prepare(test, "runc") else {
        return;
    };
    let state = tempfile::tempdir().expect("a temp dir");
    let command = runtime_run("runc", state.path(), bundle.path(), &container_id("runc"));
    let stdout = run(command, "runc");
    check(&plan, &parse(&stdout), "runc");
}

#[test]
fn oci_bundle_runs_under_crun_as_the_plan_says() {
    let test = "oci_bundle_runs_under_crun_as_the_plan_says";
    let Some((_rootfs, bundle, plan)) = prepare(test, "crun") else {
        return;
    };
    let state = tempfile::tempdir().expect("a temp dir");
    let command = runtime_run("crun", state.path(), bundle.path(), &container_id("crun"));
    let stdout = run(command, "crun");
    check(&plan, &parse(&stdout), "crun");
}

/// The probe, then the memory limit of the cgroup the workload is in, read
/// through a read-only bind of the host's hierarchy at /host-cgroup (sbx
/// apply mounts no cgroupfs; without a cgroup namespace /proc/self/cgroup
/// names the host path).
const SCRIPT_HOST_CGROUP: &str = "/sbx-probe --read /proc/timer_list --read /proc/keys \
     --read /sys/firmware/memmap/0/type --write /proc/sys/kernel/domainname \
     --write /probe-was-here; \
     p=$(sed -n 's/^[0-9]*:memory:\\(.*\\)$/\\1/p' /proc/self/cgroup); \
     if [ -n \"$p\" ]; then cat /host-cgroup$p/memory.limit_in_bytes; \
     else p=$(sed -n 's/^0::\\(.*\\)$/\\1/p' /proc/self/cgroup); cat /host-cgroup$p/memory.max; fi";

/// The fields of the probe's report that must agree between two engines
/// running the same plan (not pids, inode numbers or the mount table, which
/// differ by engine: runc adds /dev/mqueue and a cgroupfs).
fn comparable(report: &Value) -> Value {
    let mut caps = report["capabilities"].clone();
    for set in [
        "bounding",
        "effective",
        "permitted",
        "inheritable",
        "ambient",
    ] {
        caps[set] = Value::from(names(&caps[set]));
    }
    let checks: Vec<Value> = report["checks"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|c| serde_json::json!({"check": c["check"], "target": c["target"], "ok": c["ok"], "bytes": c["detail"]["bytes"]}))
                .collect()
        })
        .unwrap_or_default();
    serde_json::json!({
        "hostname": report["hostname"],
        "uid": report["uid"],
        "gid": report["gid"],
        "groups": report["groups"],
        "cwd": report["cwd"],
        "umask": report["umask"],
        "capabilities": caps,
        "no_new_privs": report["no_new_privs"],
        "rlimits": report["rlimits"],
        "namespaces": report["namespaces"].as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()),
        "checks": checks,
    })
}

#[test]
fn oci_bundle_and_sbx_apply_agree() {
    let test = "oci_bundle_and_sbx_apply_agree";
    let Some((rootfs, _bundle, _plan)) = prepare(test, "runc") else {
        return;
    };
    let mut plan = probe_plan(rootfs.path());
    plan.process.args[2] = SCRIPT_HOST_CGROUP.into();
    plan.namespaces
        .retain(|ns| *ns != sbx_plan::Namespace::Cgroup);
    let hierarchy = if Path::new("/sys/fs/cgroup/memory").is_dir() {
        "/sys/fs/cgroup/memory"
    } else {
        "/sys/fs/cgroup"
    };
    plan.mounts.push(sbx_plan::Mount {
        destination: "/host-cgroup".into(),
        kind: sbx_plan::MountKind::Bind,
        source: Some(hierarchy.into()),
        options: vec![sbx_plan::MountOption::Rbind, sbx_plan::MountOption::Ro],
        size: None,
    });

    // Under sbx apply, from the plan as JSON.
    let dir = tempfile::tempdir().expect("a temp dir");
    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, plan.to_json_pretty()).expect("write the plan");
    let mut apply = Command::new(env!("CARGO_BIN_EXE_sbx"));
    apply.arg("apply").arg(&plan_file);
    let applied = parse(&run(apply, "sbx apply"));

    // Under runc and crun, from the emitted bundle.
    let emitted = emit::emit(&plan, EmitTarget::Oci, &EmitOptions::default()).expect("emits");
    let bundle = dir.path().join("bundle");
    std::fs::create_dir(&bundle).expect("mkdir");
    std::fs::write(
        bundle.join(&emitted.files[0].path),
        &emitted.files[0].contents,
    )
    .expect("write the bundle");
    for runtime in ["runc", "crun"] {
        if Command::new(runtime).arg("--version").output().is_err() {
            support::skip_missing(
                test,
                &format!("`{runtime}` is not installed (apt-get install {runtime})"),
            );
            continue;
        }
        let state = dir.path().join(format!("{runtime}-state"));
        let id = format!("{}-apply", container_id(runtime));
        let ran = parse(&run(runtime_run(runtime, &state, &bundle, &id), runtime));
        assert_eq!(
            comparable(&ran.report),
            comparable(&applied.report),
            "{runtime} (left) and sbx apply (right) see the same sandbox"
        );
        assert_eq!(
            ran.memory_max,
            MEMORY_MAX.to_string(),
            "{runtime}: memory limit"
        );
    }
    assert_eq!(
        applied.memory_max,
        MEMORY_MAX.to_string(),
        "sbx apply: memory limit"
    );
    // And both are what the plan says.
    check_report(&plan, &applied.report, "sbx apply");
}

/// `from = "host"`: the bundle's root is the host's `/`, read-only, with a
/// fresh /proc, /dev and /sys and tmpfs /tmp and /run (docs/emit.md).
/// runc only: crun 1.8 resolves mount targets in the bundle's empty
/// `rootfs/` underneath the host bind and cannot run such a bundle.
#[test]
fn host_rootfs_bundle_runs_under_runc() {
    let test = "host_rootfs_bundle_runs_under_runc";
    if !support::privileged(test) {
        return;
    }
    if Command::new("runc").arg("--version").output().is_err() {
        support::skip_missing(test, "`runc` is not installed (apt-get install runc)");
        return;
    }
    host_rootfs_bundle_runs_under("runc");
}

fn host_rootfs_bundle_runs_under(runtime: &str) {
    let probe = env!("CARGO_BIN_EXE_sbx-probe");
    let mut plan = emit_support::minimal_host();
    plan.hostname = Some("emit-host".into());
    let outside = format!("/var/tmp/sbx-emit-host-{runtime}-{}", std::process::id());
    plan.process.args = vec![
        probe.into(),
        "--write".into(),
        outside.clone(),
        "--write".into(),
        "/tmp/inside".into(),
        "--write".into(),
        "/run/inside".into(),
    ];
    plan.capabilities = emit_support::root_caps(&CAPS);
    let emitted = emit::emit(&plan, EmitTarget::Oci, &EmitOptions::default()).expect("emits");
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        dir.path().join(&emitted.files[0].path),
        &emitted.files[0].contents,
    )
    .expect("write the bundle");
    for sub in &emitted.directories {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
    }
    let id = format!("{}-host", container_id(runtime));
    let command = runtime_run(runtime, &dir.path().join("state"), dir.path(), &id);
    let report = parse(&run(command, runtime)).report;
    assert_eq!(report["hostname"], "emit-host", "{runtime}");
    assert_eq!(
        names(&report["capabilities"]["bounding"]),
        CAPS.to_vec(),
        "{runtime}"
    );
    let checks = report["checks"].as_array().expect("checks");
    let ok = |target: &str| {
        checks
            .iter()
            .find(|c| c["target"] == target)
            .map(|c| c["ok"].clone())
    };
    assert_eq!(
        ok(&outside),
        Some(Value::Bool(false)),
        "{runtime}: the host's / is read-only"
    );
    assert!(
        !Path::new(&outside).exists(),
        "{runtime}: nothing written on the host"
    );
    assert!(
        !Path::new("/tmp/inside").exists(),
        "{runtime}: /tmp is the sandbox's own"
    );
    assert!(
        !Path::new("/run/inside").exists(),
        "{runtime}: /run is the sandbox's own"
    );
    assert_eq!(
        ok("/tmp/inside"),
        Some(Value::Bool(true)),
        "{runtime}: /tmp is a writable tmpfs"
    );
    assert_eq!(
        ok("/run/inside"),
        Some(Value::Bool(true)),
        "{runtime}: /run is a writable tmpfs"
    );
}

/// The emitted LXC config runs under `lxc-execute` (its `lxc.execute.cmd`),
/// and the probe sees what the plan says, limits included (cgroup v1 keys
/// on a v1 or hybrid host, v2 keys on a v2 host).
#[test]
fn lxc_config_runs_under_lxc_execute_as_the_plan_says() {
    let test = "lxc_config_runs_under_lxc_execute_as_the_plan_says";
    if !support::privileged(test) {
        return;
    }
    if Command::new("lxc-execute")
        .arg("--version")
        .output()
        .is_err()
    {
        support::skip_missing(test, "`lxc-execute` is not installed (apt-get install lxc)");
        return;
    }
    let probe = PathBuf::from(env!("CARGO_BIN_EXE_sbx-probe"));
    let rootfs = match TestRootfs::busybox().and_then(|r| r.with_binary(&probe, "/sbx-probe")) {
        Ok(rootfs) => rootfs,
        Err(why) => {
            support::skip_missing(test, &why);
            return;
        }
    };
    let plan = probe_plan(rootfs.path());
    let cgroup = if Path::new("/sys/fs/cgroup/memory").is_dir() {
        emit::CgroupVersion::V1
    } else {
        emit::CgroupVersion::V2
    };
    let emitted = emit::emit(&plan, EmitTarget::Lxc, &EmitOptions { cgroup }).expect("emits");
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = dir.path().join("probe.conf");
    std::fs::write(&config, &emitted.files[0].contents).expect("write the config");
    let mut command = Command::new("timeout");
    command
        .args(["60", "lxc-execute", "-n"])
        .arg(format!("sbx-emit-lxc-{}", std::process::id()))
        .arg("-P")
        .arg(dir.path())
        .arg("-f")
        .arg(&config);
    let pivots_before = lxc_pivots();
    let stdout = run(command, "lxc-execute");
    // LXC's monitor leaves an empty `lxc.pivot` cgroup in each hierarchy:
    // remove those this run created, so nothing is left on the host.
    for pivot in lxc_pivots() {
        if !pivots_before.contains(&pivot) {
            let _ = std::fs::remove_dir(&pivot);
        }
    }
    check(&plan, &parse(&stdout), "lxc-execute");
}

/// Every `lxc.pivot` cgroup directory under /sys/fs/cgroup (v1 hierarchies
/// and the v2 root).
fn lxc_pivots() -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    let mut found = Vec::new();
    if root.join("lxc.pivot").is_dir() {
        found.push(root.join("lxc.pivot"));
    }
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let pivot = entry.path().join("lxc.pivot");
        if pivot.is_dir() {
            found.push(pivot);
        }
    }
    found
}

/// The shipped `profiles/hello.sbx` (the host's root, read-only), through
/// the real CLI: `sbx emit --target oci` then `runc run`, and `sbx emit
/// --target lxc` then `lxc-execute`, print what `sbx apply` prints.
#[test]
fn hello_profile_prints_the_same_under_runc_and_sbx_apply() {
    let test = "hello_profile_prints_the_same_under_runc_and_sbx_apply";
    if !support::privileged(test) {
        return;
    }
    if Command::new("runc").arg("--version").output().is_err() {
        support::skip_missing(test, "`runc` is not installed (apt-get install runc)");
        return;
    }
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/hello.sbx");
    let dir = tempfile::tempdir().expect("a temp dir");
    let bundle = dir.path().join("bundle");
    let mut emit = Command::new(env!("CARGO_BIN_EXE_sbx"));
    emit.args(["emit", "--target", "oci", "-o"])
        .arg(&bundle)
        .arg(&profile);
    run(emit, "sbx emit");
    let id = format!("{}-hello", container_id("runc"));
    let ran = run(
        runtime_run("runc", &dir.path().join("state"), &bundle, &id),
        "runc",
    );
    let mut apply = Command::new(env!("CARGO_BIN_EXE_sbx"));
    apply.arg("apply").arg(&profile);
    let applied = run(apply, "sbx apply");
    assert!(ran.starts_with("hello from sbx\n"), "{ran}");
    assert_eq!(ran, applied, "runc (left) and sbx apply (right)");

    // And through `sbx emit --target lxc` and lxc-execute.
    if Command::new("lxc-execute")
        .arg("--version")
        .output()
        .is_err()
    {
        support::skip_missing(test, "`lxc-execute` is not installed (apt-get install lxc)");
        return;
    }
    let config = dir.path().join("hello.conf");
    let cgroup = if Path::new("/sys/fs/cgroup/memory").is_dir() {
        "v1"
    } else {
        "v2"
    };
    let mut emit = Command::new(env!("CARGO_BIN_EXE_sbx"));
    emit.args(["emit", "--target", "lxc", "--cgroup", cgroup, "-o"])
        .arg(&config)
        .arg(&profile);
    run(emit, "sbx emit");
    let mut lxc = Command::new("timeout");
    lxc.args(["60", "lxc-execute", "-n"])
        .arg(format!("sbx-emit-hello-{}", std::process::id()))
        .arg("-P")
        .arg(dir.path())
        .arg("-f")
        .arg(&config);
    let pivots_before = lxc_pivots();
    let executed = run(lxc, "lxc-execute");
    for pivot in lxc_pivots() {
        if !pivots_before.contains(&pivot) {
            let _ = std::fs::remove_dir(&pivot);
        }
    }
    assert_eq!(
        executed, applied,
        "lxc-execute (left) and sbx apply (right)"
    );
}
