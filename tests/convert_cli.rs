//! `sbx convert` end to end: exit codes (0 with warnings, 1 for input that
//! is not of its format, 2 for usage and unreadable files), `-o`, `--from`,
//! stdin, warnings rendered with the foreign file as source.

mod convert_support;

use std::process::{Command, Output};

use convert_support::{fixtures, value_of};

fn sbx(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sbx"))
        .args(args)
        .current_dir(fixtures())
        .output()
        .expect("run sbx")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn converts_with_warnings_and_exit_0() {
    let out = sbx(&["convert", "lxc/legacy.conf"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let profile = text(&out.stdout);
    assert_eq!(
        value_of(&profile, "hostname").as_deref(),
        Some("\"web01\""),
        "{profile}"
    );
    let stderr = text(&out.stderr);
    // The warning quotes the foreign file at the right line.
    assert!(stderr.contains("lxc/legacy.conf:9"), "{stderr}");
    assert!(stderr.contains("lxc.aa_profile"), "{stderr}");
    assert!(
        stderr.contains("warnings: each is also a comment in the profile"),
        "{stderr}"
    );
}

#[test]
fn bad_input_exits_1_and_writes_nothing() {
    for file in [
        "bad/app.socket",
        "bad/unterminated.Dockerfile",
        "bad/not-a-unit.service",
    ] {
        let out = sbx(&["convert", file]);
        assert_eq!(out.status.code(), Some(1), "{file}: {}", text(&out.stderr));
        assert!(out.stdout.is_empty(), "{file}");
        assert!(
            text(&out.stderr).contains(file),
            "{file}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn binary_data_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("blob.service");
    std::fs::write(&path, [0x7f, b'E', b'L', b'F', 0, 0, 0xff]).expect("write");
    let out = sbx(&["convert", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("binary data"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = sbx(&["convert", "does/not/exist.conf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot read"),
        "{}",
        text(&out.stderr)
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "just some prose\n").expect("write");
    let out = sbx(&["convert", notes.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--from"),
        "{}",
        text(&out.stderr)
    );
    let out = sbx(&["convert", "lxc/legacy.conf", "--from", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
    let out = sbx(&["convert"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn from_forces_the_format_and_output_writes_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("build-recipe");
    std::fs::write(&src, "FROM alpine:3.20\nCMD [\"sh\"]\n").expect("write");
    let out_file = dir.path().join("out.sbx");
    let out = sbx(&[
        "convert",
        src.to_str().expect("utf-8"),
        "--from",
        "dockerfile",
        "-o",
        out_file.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let written = std::fs::read_to_string(&out_file).expect("written");
    assert_eq!(
        value_of(&written, "from").as_deref(),
        Some("\"alpine:3.20\""),
        "{written}"
    );
    assert_eq!(
        value_of(&written, "cmd").as_deref(),
        Some("[\"sh\"]"),
        "{written}"
    );
    // The written profile passes `sbx check`.
    let check = sbx(&["check", out_file.to_str().expect("utf-8")]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
}

#[test]
fn reads_stdin() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sbx"))
        .args(["convert", "--from", "lxc", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"lxc.uts.name = piped\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        value_of(&text(&out.stdout), "hostname").as_deref(),
        Some("\"piped\"")
    );
}

#[test]
fn merges_several_inputs() {
    let out = sbx(&[
        "convert",
        "merge/app.Dockerfile",
        "merge/app.service",
        "merge/net.conf",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let profile = text(&out.stdout);
    assert!(profile.contains("net eth0"), "{profile}");
    assert_eq!(
        value_of(&profile, "memory.max").as_deref(),
        Some("512M"),
        "{profile}"
    );
    assert_eq!(
        value_of(&profile, "from").as_deref(),
        Some("\"python:3.12-slim\""),
        "{profile}"
    );
    // The LXC interface replaces the systemd default of the host's network.
    assert_eq!(value_of(&profile, "network"), None, "{profile}");
}
