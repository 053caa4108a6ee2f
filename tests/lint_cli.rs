//! `sbx check` lint levels and the exposure score through the real
//! binary: `--allow`, `--warn`, `--deny CODE`, `--deny warnings`, unknown
//! codes, `--score` (human and JSON) and `--max-exposure`.

use std::process::{Command, Output};

fn sbx(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sbx"))
        .arg("check")
        .args(args)
        .output()
        .expect("sbx runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const HOST: &str = "tests/fixtures/lint/host-network/fires.sbx";
const NO_PIDS: &str = "tests/fixtures/lint/no-pids-limit/fires.sbx";

#[test]
fn a_warning_alone_passes() {
    let out = sbx(&[HOST]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("sbx::lint::host-network"));
}

#[test]
fn deny_code_fails() {
    let out = sbx(&["--deny", "sbx::lint::host-network", HOST]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("1 error in"), "{}", stdout(&out));
}

#[test]
fn deny_warnings_still_fails_on_any_warning() {
    assert_eq!(sbx(&["--deny", "warnings", HOST]).status.code(), Some(1));
    assert_eq!(
        sbx(&["--deny", "warnings", "profiles/hello.sbx"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn allow_silences_and_warn_turns_on() {
    let out = sbx(&[
        "--deny",
        "warnings",
        "--allow",
        "sbx::lint::host-network",
        HOST,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(!stdout(&out).contains("sbx::lint::host-network"));

    assert!(!stdout(&sbx(&[NO_PIDS])).contains("sbx::lint::no-pids-limit"));
    let out = sbx(&["--warn", "sbx::lint::no-pids-limit", NO_PIDS]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("sbx::lint::no-pids-limit"));
    let out = sbx(&["--deny", "sbx::lint::all", NO_PIDS]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn an_unknown_code_is_a_usage_error() {
    let out = sbx(&["--allow", "host-network", HOST]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("did you mean `sbx::lint::host-network`"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn score_human_and_json() {
    let out = sbx(&["--score", "profiles/untrusted.sbx", "profiles/mysql.sbx"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("profiles/untrusted.sbx: exposure 0.0 of 10 (safe)"),
        "{text}"
    );
    assert!(
        text.contains("profiles/mysql.sbx: exposure 3.7 of 10 (ok)"),
        "{text}"
    );
    assert!(text.contains("root, and the host's root"), "{text}");

    let out = sbx(&["--score", "--format", "json", "profiles/mysql.sbx"]);
    let line = stdout(&out);
    let v: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON line");
    assert_eq!(v["file"], "profiles/mysql.sbx");
    assert_eq!(v["exposure"], 3.7);
    assert_eq!(v["items"].as_array().unwrap().len(), 17);
}

#[test]
fn max_exposure_fails_above_the_threshold() {
    let out = sbx(&[
        "--max-exposure",
        "3",
        "profiles/untrusted.sbx",
        "profiles/mysql.sbx",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("profiles/mysql.sbx: exposure above the maximum of 3.0"),
        "{text}"
    );
    assert!(!text.contains("untrusted.sbx: exposure above"), "{text}");
    let out = sbx(&["--max-exposure", "3.7", "profiles/mysql.sbx"]);
    assert_eq!(out.status.code(), Some(0), "at the threshold passes");
    assert_eq!(sbx(&["--max-exposure", "11", HOST]).status.code(), Some(2));
}

#[test]
fn min_score_points_at_max_exposure() {
    let out = sbx(&["--min-score", "3", HOST]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("use `--max-exposure N`"), "{err}");
}
