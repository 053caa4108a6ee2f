//! Golden tests of the compiler: every `tests/fixtures/compile/ok/*.sbx`
//! compiles without errors (snapshot: the plan JSON), every `err/*.sbx`
//! has at least one error (snapshot: the diagnostics as `sbx check` renders
//! them, no colour), every `warn/*.sbx` compiles with at least one warning
//! and no error (snapshot: the warnings). A new case is a new file; the
//! `include/` folder holds files the cases include.

use std::path::Path;

use sbx_compiler::{compile_file, Compilation};

/// The fixture path relative to the package root (the tests' working
/// directory), so snapshots do not depend on the checkout's location.
fn relative(path: &Path) -> &Path {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .expect("fixtures live in the package")
}

fn rendered(compilation: &Compilation) -> String {
    compilation
        .diagnostics
        .iter()
        .map(|d| d.render(&compilation.sources, false))
        .collect::<Vec<_>>()
        .join("\n")
}

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_escape(env!("CARGO_MANIFEST_DIR")), "[ROOT]");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

#[test]
fn ok_cases_compile_to_their_plans() {
    settings().bind(|| {
        insta::glob!("fixtures/compile/ok", "*.sbx", |path| {
            let compilation = compile_file(relative(path));
            assert!(
                !compilation.has_errors(),
                "{} has errors:\n{}",
                path.display(),
                rendered(&compilation)
            );
            let plan = compilation.plan.expect("a plan without errors");
            insta::assert_snapshot!(plan.to_json_pretty());
        });
    });
}

#[test]
fn err_cases_report_their_errors() {
    settings().bind(|| {
        insta::glob!("fixtures/compile/err", "*.sbx", |path| {
            let compilation = compile_file(relative(path));
            assert!(
                compilation.has_errors(),
                "{} compiled without error",
                path.display()
            );
            assert!(compilation.plan.is_none(), "no plan when there are errors");
            insta::assert_snapshot!(rendered(&compilation));
        });
    });
}

#[test]
fn warn_cases_report_warnings_only() {
    settings().bind(|| {
        insta::glob!("fixtures/compile/warn", "*.sbx", |path| {
            let compilation = compile_file(relative(path));
            assert!(
                !compilation.has_errors(),
                "{} has errors:\n{}",
                path.display(),
                rendered(&compilation)
            );
            assert!(
                !compilation.diagnostics.is_empty(),
                "{} has no warning",
                path.display()
            );
            assert!(compilation.plan.is_some());
            insta::assert_snapshot!(rendered(&compilation));
        });
    });
}
