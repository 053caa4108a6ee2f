//! `sbx fmt`: rewrites in place, keeps comments, is idempotent; `--check`
//! lists what would change and exits 1; `--stdout` prints; a syntax error
//! leaves the file untouched and exits 1. Idempotence is also checked on
//! every profile of `profiles/` and every `.sbx` fixture.

mod convert_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sbx(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sbx"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run sbx")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const MESSY: &str = "# a web server\nname=\"web\"   # trailing\nhostname =   \"web\"\nlimits{memory.max=512M;cpu.weight=100}\n\n\n\ncapabilities { drop = [ mac_admin,mac_override ] }\n";

#[test]
fn rewrites_in_place_keeping_comments_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("web.sbx");
    std::fs::write(&file, MESSY).expect("write");
    let out = sbx(dir.path(), &["fmt", "web.sbx"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let formatted = std::fs::read_to_string(&file).expect("read");
    assert_ne!(formatted, MESSY);
    assert!(formatted.contains("# a web server"), "{formatted}");
    assert!(formatted.contains("# trailing"), "{formatted}");
    assert!(formatted.contains("limits {\n"), "{formatted}");
    assert!(!formatted.contains("\n\n\n"), "{formatted}");
    // A second run changes nothing, and --check agrees.
    let out = sbx(dir.path(), &["fmt", "web.sbx"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&file).expect("read"), formatted);
    let out = sbx(dir.path(), &["fmt", "--check", "web.sbx"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(out.stdout.is_empty());
    // The formatted profile means the same: it passes check.
    let check = sbx(dir.path(), &["check", "web.sbx"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
}

#[test]
fn check_lists_files_that_would_change_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("messy.sbx"), MESSY).expect("write");
    std::fs::write(dir.path().join("clean.sbx"), "name = \"clean\"\n").expect("write");
    let out = sbx(dir.path(), &["fmt", "--check", "messy.sbx", "clean.sbx"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "messy.sbx\n");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("messy.sbx")).expect("read"),
        MESSY
    );
}

#[test]
fn stdout_prints_without_rewriting() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("messy.sbx"), MESSY).expect("write");
    let out = sbx(dir.path(), &["fmt", "--stdout", "messy.sbx"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        convert_support::value_of(&text(&out.stdout), "name").as_deref(),
        Some("\"web\"")
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("messy.sbx")).expect("read"),
        MESSY
    );
}

#[test]
fn stdin_is_formatted_to_stdout() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sbx"))
        .args(["fmt", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(MESSY.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    let printed = text(&out.stdout);
    assert!(printed.contains("limits {\n"), "{printed}");
    assert_eq!(
        convert_support::reformat("x", &printed).as_deref(),
        Ok(printed.as_str())
    );
}

#[test]
fn a_directory_formats_every_profile_under_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    std::fs::write(dir.path().join("sub/a.sbx"), MESSY).expect("write");
    std::fs::write(dir.path().join("sub/notes.txt"), "not a profile {").expect("write");
    let out = sbx(dir.path(), &["fmt", "--check", "."]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("a.sbx"));
    assert!(!text(&out.stdout).contains("notes.txt"));
}

#[test]
fn a_syntax_error_exits_1_and_leaves_the_file_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = "name = \"web\"\nlimits {\n    memory.max = \n";
    std::fs::write(dir.path().join("broken.sbx"), broken).expect("write");
    let out = sbx(dir.path(), &["fmt", "broken.sbx"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("broken.sbx"), "{stderr}");
    assert!(stderr.contains("left untouched"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("broken.sbx")).expect("read"),
        broken
    );
    let out = sbx(dir.path(), &["fmt", "missing.sbx"]);
    assert_eq!(out.status.code(), Some(2));
}

fn sbx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            sbx_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "sbx") {
            out.push(p);
        }
    }
}

/// `fmt` is idempotent on every shipped profile and every `.sbx` fixture
/// that parses (fixtures of syntax errors cannot be formatted).
#[test]
fn fmt_is_idempotent_on_every_profile_and_fixture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sbx_files(&root.join("profiles"), &mut files);
    sbx_files(&root.join("tests/fixtures"), &mut files);
    files.sort();
    let mut failures = Vec::new();
    let mut formatted = 0;
    for file in &files {
        let name = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        let Ok(source) = std::fs::read_to_string(file) else {
            continue;
        };
        let Ok(once) = convert_support::reformat(&name, &source) else {
            continue;
        };
        formatted += 1;
        match convert_support::reformat(&name, &once) {
            Ok(twice) if twice == once => {}
            Ok(twice) => failures.push(format!("{name}:\n--- once\n{once}\n--- twice\n{twice}")),
            Err(e) => failures.push(format!(
                "{name}: the formatted text does not parse: {e}\n{once}"
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "fmt is not idempotent on:\n{}",
        failures.join("\n")
    );
    eprintln!(
        "fmt idempotent on {formatted} of {} .sbx files",
        files.len()
    );
}
