//! Golden tests of every lint: `tests/fixtures/lint/<name>/fires.sbx`
//! raises `sbx::lint::<name>` (snapshot: its warnings as `sbx check`
//! renders them) and `quiet.sbx` beside it does not. Each case is compiled
//! with the lint at `warn`, so lints allowed by default are tested too; a
//! lint without both cases fails `every_lint_has_a_firing_and_a_quiet_case`.
//! `include/` holds files the cases include.

use std::path::{Path, PathBuf};

use sbx_compiler::lint::{Level, Levels, LINTS};
use sbx_compiler::{compile_file, compile_file_with, Compilation};

fn case(name: &str, file: &str) -> PathBuf {
    Path::new("tests/fixtures/lint").join(name).join(file)
}

fn name_of(code: &str) -> &str {
    code.strip_prefix("sbx::lint::").expect("a lint code")
}

fn compiled(code: &str, file: &str) -> Compilation {
    let mut levels = Levels::default();
    levels.set(code, Level::Warn).unwrap();
    let path = case(name_of(code), file);
    let c = compile_file_with(&path, &levels);
    let errors: Vec<String> = c
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.render(&c.sources, false))
        .collect();
    assert!(
        errors.is_empty(),
        "{} has errors:\n{}",
        path.display(),
        errors.join("\n")
    );
    c
}

fn rendered(c: &Compilation, code: &str) -> String {
    c.diagnostics
        .iter()
        .filter(|d| d.code == code)
        .map(|d| d.render(&c.sources, false))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_lint_has_a_firing_and_a_quiet_case() {
    for lint in LINTS {
        for file in ["fires.sbx", "quiet.sbx"] {
            let path = case(name_of(lint.code), file);
            assert!(path.is_file(), "`{}` has no {}", lint.code, path.display());
        }
        assert!(
            !lint.summary.is_empty() && !lint.help.is_empty(),
            "{}",
            lint.code
        );
    }
}

#[test]
fn firing_cases_fire() {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for lint in LINTS {
            let c = compiled(lint.code, "fires.sbx");
            let text = rendered(&c, lint.code);
            assert!(
                !text.is_empty(),
                "`{}` does not fire on its case",
                lint.code
            );
            insta::assert_snapshot!(format!("lint_fires__{}", name_of(lint.code)), text);
        }
    });
}

#[test]
fn quiet_cases_do_not_fire() {
    for lint in LINTS {
        let c = compiled(lint.code, "quiet.sbx");
        let text = rendered(&c, lint.code);
        assert!(
            text.is_empty(),
            "`{}` fires on its quiet case:\n{text}",
            lint.code
        );
        assert!(c.plan.is_some(), "{}", lint.code);
    }
}

/// A lint allowed by default is not reported without `--warn`, and one
/// that warns by default is.
#[test]
fn default_levels() {
    for lint in LINTS {
        let c = compile_file(&case(name_of(lint.code), "fires.sbx"));
        let fired = c.diagnostics.iter().any(|d| d.code == lint.code);
        assert_eq!(fired, lint.default != Level::Allow, "{}", lint.code);
    }
}

/// `--deny CODE` makes the lint an error and leaves no plan; `--allow`
/// removes it; a code named on its own wins over `sbx::lint::all`.
#[test]
fn levels_change_severity() {
    let path = case("host-network", "fires.sbx");
    let mut deny = Levels::default();
    deny.set("sbx::lint::host-network", Level::Deny).unwrap();
    let c = compile_file_with(&path, &deny);
    assert!(c
        .diagnostics
        .iter()
        .any(|d| d.code == "sbx::lint::host-network" && d.is_error()));
    assert!(c.plan.is_none());

    let mut allow = Levels::default();
    allow.set("sbx::lint::all", Level::Deny).unwrap();
    allow.set("sbx::lint::host-network", Level::Allow).unwrap();
    let c = compile_file_with(&path, &allow);
    assert!(c
        .diagnostics
        .iter()
        .all(|d| d.code != "sbx::lint::host-network"));
    // Every other lint is an error now: the default root user is one.
    assert!(c
        .diagnostics
        .iter()
        .any(|d| d.code == "sbx::lint::root-without-userns" && d.is_error()));
}

#[test]
fn unknown_codes_are_refused_with_a_suggestion() {
    let mut levels = Levels::default();
    let err = levels
        .set("sbx::lint::host-netwrok", Level::Allow)
        .unwrap_err();
    assert!(
        err.contains("did you mean `sbx::lint::host-network`"),
        "{err}"
    );
    let err = levels.set("host-network", Level::Allow).unwrap_err();
    assert!(
        err.contains("did you mean `sbx::lint::host-network`"),
        "{err}"
    );
    assert!(levels.set("sbx::parse::syntax", Level::Allow).is_err());
}
