//! `sbx check` and `sbx plan` through the real binary: exit codes, bad
//! input of every kind (never a panic), JSON output, `--deny warnings`, no
//! colour to a pipe.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sbx(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sbx"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("sbx runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes `bytes` to a new file in `dir` and returns its path.
fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Bad input: exit 1 with the expected diagnostic code, and never a panic.
fn assert_rejected(path: &Path, code: &str) {
    let out = sbx(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(code),
        "no `{code}` in:\n{}",
        stdout(&out)
    );
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let json = sbx(&["check", "--format", "json", path.to_str().unwrap()]);
    assert_eq!(json.status.code(), Some(1));
    assert!(stdout(&json).lines().any(|l| l.contains(code)));
}

#[test]
fn binary_garbage_is_a_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    // Deterministic pseudo-random bytes, NUL bytes and invalid UTF-8 among them.
    let mut x: u32 = 0x1234_5678;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect();
    let path = file(dir.path(), "garbage.sbx", &bytes);
    let out = sbx(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("sbx::source::"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no terminal escapes from the file"
    );
    assert!(!stderr(&out).contains("panicked"));

    let elf = file(dir.path(), "elf.sbx", b"\x7fELF\x02\x01\x01\0\0\0");
    assert_rejected(&elf, "sbx::source::binary");
}

#[test]
fn invalid_utf8_is_a_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        dir.path(),
        "latin1.sbx",
        b"name = \"caf\xe9\"\ncmd = [\"/bin/true\"]\n",
    );
    assert_rejected(&path, "sbx::source::utf8");
    let out = sbx(&["check", "--format", "json", path.to_str().unwrap()]);
    let line: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(line["line"], 1);
    assert_eq!(line["column"], 12);
}

#[test]
fn ten_thousand_nested_brackets_are_a_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("cmd = {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let path = file(dir.path(), "deep.sbx", text.as_bytes());
    assert_rejected(&path, "sbx::parse::too-deep");
    let blocks = format!("{}{}\n", "limits {\n".repeat(10_000), "}\n".repeat(10_000));
    let path = file(dir.path(), "deep-blocks.sbx", blocks.as_bytes());
    assert_rejected(&path, "sbx::parse::");
}

#[test]
fn a_twenty_digit_integer_is_a_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        dir.path(),
        "big.sbx",
        b"cmd = [\"/bin/true\"]\nlimits { pids.max = 99999999999999999999 }\n",
    );
    assert_rejected(&path, "sbx::parse::integer-overflow");
}

#[test]
fn a_bad_value_does_not_hide_the_other_problems() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        dir.path(),
        "mixed.sbx",
        b"hostnme = \"web\"\nlimits {\n    memory.max = 12Q\n    cpu.weight = 20000\n}\n",
    );
    let out = sbx(&["check", "--format", "json", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let codes: Vec<(String, u64)> = stdout(&out)
        .lines()
        .map(|l| {
            let d: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    // The refused value is reported once, by the parser: nothing else at
    // its line; the problems around it are still found.
    assert_eq!(
        codes,
        vec![
            ("sbx::key::unknown".to_string(), 1),
            ("sbx::parse::bad-value".to_string(), 3),
            ("sbx::limits::range".to_string(), 4),
        ]
    );
}

#[test]
fn an_unreadable_file_argument_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.sbx");
    let out = sbx(&["check", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
    let out = sbx(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "a directory is not a profile");
    let out = sbx(&["plan", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    // The readable one is still checked and reported.
    let good = file(dir.path(), "good.sbx", b"cmd = [\"/bin/true\"]\n");
    let out = sbx(&["check", good.to_str().unwrap(), missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("no problems in"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(sbx(&["check"]).status.code(), Some(2));
    assert_eq!(
        sbx(&["check", "--format", "xml", "x.sbx"]).status.code(),
        Some(2)
    );
    assert_eq!(
        sbx(&["check", "--deny", "errors", "x.sbx"]).status.code(),
        Some(2)
    );
}

#[test]
fn a_missing_or_cyclic_include_is_an_error_in_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let missing = file(
        dir.path(),
        "m.sbx",
        b"include \"nope.sbx\"\ncmd = [\"/bin/true\"]\n",
    );
    assert_rejected(&missing, "sbx::include::missing");
    file(dir.path(), "a.sbx", b"include \"b.sbx\"\n");
    file(dir.path(), "b.sbx", b"include \"a.sbx\"\n");
    let root = file(
        dir.path(),
        "root.sbx",
        b"include \"a.sbx\"\ncmd = [\"/bin/true\"]\n",
    );
    assert_rejected(&root, "sbx::include::cycle");
}

#[test]
fn exit_codes_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let clean = file(dir.path(), "clean.sbx", b"cmd = [\"/bin/true\"]\n");
    let out = sbx(&["check", clean.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).ends_with(&format!("no problems in {}\n", clean.display())));

    let warned = file(
        dir.path(),
        "warned.sbx",
        b"cmd = [\"/bin/true\"]\nnetwork = host\n",
    );
    let out = sbx(&["check", warned.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "warnings alone pass");
    assert!(stdout(&out).contains("sbx::lint::host-network"));
    assert!(stdout(&out).contains(&format!("1 warning in {}", warned.display())));
    let out = sbx(&["check", "--deny", "warnings", warned.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "--deny warnings makes them errors"
    );
    assert!(stdout(&out).contains(&format!("1 error in {}", warned.display())));

    let bad = file(
        dir.path(),
        "bad.sbx",
        b"cmd = []\nhostname = \"web_1\"\ncapabilities { add = [sys_admin] }\n",
    );
    let out = sbx(&["check", bad.to_str().unwrap(), clean.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("2 errors, 1 warning in {}", bad.display())),
        "{text}"
    );
    assert!(text.contains(&format!("no problems in {}", clean.display())));
}

#[test]
fn no_colour_to_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let bad = file(dir.path(), "bad.sbx", b"cmd = []\n");
    let out = sbx(&["check", bad.to_str().unwrap()]);
    assert!(!stdout(&out).contains('\u{1b}'), "{}", stdout(&out));
    let out = sbx(&["plan", bad.to_str().unwrap()]);
    assert!(!stderr(&out).contains('\u{1b}'));
}

#[test]
fn json_format_is_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = file(
        dir.path(),
        "bad.sbx",
        b"cmd = []\nMemoryMax = 1G\nnetwork = host\n",
    );
    let out = sbx(&["check", "--format", "json", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 3, "{}", stdout(&out));
    for l in &lines {
        for key in [
            "code", "severity", "message", "file", "line", "column", "help",
        ] {
            assert!(l.get(key).is_some(), "{key} missing in {l}");
        }
        assert_eq!(l["file"], bad.display().to_string());
    }
    let codes: Vec<&str> = lines.iter().map(|l| l["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "sbx::process::empty-cmd",
            "sbx::key::foreign",
            "sbx::lint::host-network"
        ]
    );
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["column"], 1);
    assert_eq!(lines[2]["severity"], "warning");
    assert!(lines[1]["help"].as_str().unwrap().contains("memory.max"));
}

#[test]
fn plan_prints_json_yaml_and_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let profile = file(
        dir.path(),
        "p.sbx",
        b"cmd = [\"/bin/true\"]\nlimits { memory.max = 1G; cpu.quota = 50% }\n",
    );
    let out = sbx(&["plan", profile.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan = sbx_plan::Plan::from_json(&stdout(&out)).expect("the plan reads back");
    assert_eq!(
        plan.limits.memory_max,
        Some(sbx_plan::Limit::Value(1 << 30))
    );
    assert_eq!(plan.limits.cpu_quota.unwrap().quota_us, 50_000);

    let out = sbx(&["plan", "--format", "yaml", profile.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("version: 1\n"), "{}", stdout(&out));
    assert!(stdout(&out).contains("memory_max: 1073741824"));

    let out = sbx(&["plan", "--schema"]);
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(schema, sbx_plan::json_schema());

    let bad = file(dir.path(), "bad.sbx", b"cmd = []\n");
    let out = sbx(&["plan", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).is_empty(),
        "no plan on stdout when there are errors"
    );
    assert!(stderr(&out).contains("sbx::process::empty-cmd"));
}

#[test]
fn a_fragment_checks_clean_and_plans_without_a_command() {
    let dir = tempfile::tempdir().unwrap();
    let fragment = file(dir.path(), "frag.sbx", b"limits { pids.max = 10 }\n");
    assert_eq!(
        sbx(&["check", fragment.to_str().unwrap()]).status.code(),
        Some(0)
    );
    let out = sbx(&["plan", fragment.to_str().unwrap()]);
    let plan = sbx_plan::Plan::from_json(&stdout(&out)).unwrap();
    assert!(plan.process.args.is_empty());
}
