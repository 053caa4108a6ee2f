//! `sbx emit` end to end: the real binary on plan files in a temp dir, its
//! outputs and exit codes (0 emitted, 1 the profile cannot be emitted, 2
//! usage).

mod emit_support;

use std::path::Path;
use std::process::{Command, Output};

use sbx_plan::Plan;

fn sbx(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sbx"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("sbx runs")
}

fn write_plan(dir: &Path, name: &str, plan: &Plan) -> String {
    let file = format!("{name}.json");
    std::fs::write(dir.join(&file), plan.to_json_pretty()).expect("write the plan");
    file
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

#[test]
fn oci_writes_a_bundle_directory() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let plan = write_plan(dir.path(), "host", &emit_support::minimal_host());
    let out = sbx(
        &["emit", "--target", "oci", "-o", "bundle", &plan],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("bundle/config.json")).expect("config.json"),
    )
    .expect("config.json is JSON");
    assert_eq!(config["ociVersion"], "1.0.2");
    assert_eq!(config["process"]["args"][0], "/bin/true");
    assert_eq!(config["root"]["path"], "rootfs");
    assert!(
        dir.path().join("bundle/rootfs").is_dir(),
        "the host root's mount point"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout");
}

#[test]
fn text_targets_print_to_stdout_or_write_the_file() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let plan = write_plan(dir.path(), "full", &emit_support::full_directory());
    let out = sbx(&["emit", "--target", "systemd", &plan], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let unit = text(&out.stdout);
    assert!(unit.contains("\nExecStart=/usr/bin/httpd "), "{unit}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("sbx::emit::unsupported"),
        "warnings on stderr: {stderr}"
    );
    assert!(
        stderr.contains("`expose` cannot be expressed in a systemd unit"),
        "{stderr}"
    );

    let out = sbx(
        &[
            "emit", "--target", "lxc", "--cgroup", "v1", "-o", "web.conf", &plan,
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let config = std::fs::read_to_string(dir.path().join("web.conf")).expect("web.conf");
    assert!(
        config.contains("lxc.cgroup.memory.limit_in_bytes = 536870912"),
        "{config}"
    );

    let out = sbx(&["emit", "--target", "k8s", &plan], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("apiVersion: v1\nkind: Pod\n"));
}

#[test]
fn what_a_target_cannot_run_exits_1() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let plan = write_plan(dir.path(), "mysql", &emit_support::image_mysql());
    let out = sbx(
        &["emit", "--target", "oci", "-o", "bundle", &plan],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot be emitted as an OCI bundle"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("bundle").exists(), "no half bundle");

    std::fs::write(dir.path().join("bad.json"), "{\"version\": 1}").expect("write");
    let out = sbx(&["emit", "--target", "systemd", "bad.json"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let plan = write_plan(dir.path(), "host", &emit_support::minimal_host());
    for args in [
        vec!["emit", "--target", "oci", plan.as_str()],
        vec!["emit", "--target", "docker", plan.as_str()],
        vec!["emit", "--target", "systemd", "missing.sbx"],
        vec!["emit", plan.as_str()],
    ] {
        let out = sbx(&args, dir.path());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn profiles_compile_first_and_their_errors_exit_1() {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        dir.path().join("ok.sbx"),
        "name = \"ok\"\ncmd = [\"/bin/true\"]\nlimits { memory.max = 64M }\n",
    )
    .expect("write");
    let out = sbx(&["emit", "--target", "lxc", "ok.sbx"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("lxc.cgroup2.memory.max = 67108864\n"));

    std::fs::write(
        dir.path().join("bad.sbx"),
        "cmd = [\"/bin/true\"]\nlimits { memory.max = banana }\n",
    )
    .expect("write");
    let out = sbx(&["emit", "--target", "systemd", "bad.sbx"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        out.stdout.is_empty(),
        "nothing emitted for a profile with an error"
    );
    assert!(
        text(&out.stderr).contains("memory.max"),
        "{}",
        text(&out.stderr)
    );
}
