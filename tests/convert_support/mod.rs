//! Shared by the `convert_*` and `fmt_*` tests: converting fixtures through
//! the library, rendering diagnostics, checking and reformatting profiles.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sbx_compiler::import::{self, Conversion, Input};
use sbx_compiler::{Diagnostic, SourceFile, SourceMap};

/// `tests/fixtures/convert`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert")
}

/// The shared corpus of real foreign files, next to the repository.
pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// An input read from `path`, named `name` in diagnostics, format detected.
pub fn input(name: &str, path: &Path) -> Input {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let format =
        import::detect(name, &bytes).unwrap_or_else(|| panic!("no format detected for {name}"));
    Input::new(name, bytes, format).with_path(path)
}

/// Converts fixtures given relative to [`fixtures`].
pub fn convert_fixtures(names: &[&str]) -> Conversion {
    let inputs: Vec<Input> = names
        .iter()
        .map(|n| input(n, &fixtures().join(n)))
        .collect();
    import::convert(&inputs)
}

/// Every diagnostic rendered as `sbx convert` prints it, without color.
pub fn render(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    diagnostics
        .iter()
        .map(|d| d.render(sources, false))
        .collect()
}

/// The profile text of a successful conversion.
pub fn profile_text(conversion: &Conversion) -> String {
    let profile = conversion.profile.as_ref().unwrap_or_else(|| {
        panic!(
            "conversion failed:\n{}",
            render(&conversion.diagnostics, &conversion.sources)
        )
    });
    sbx_grammar::printer::print(profile)
}

/// Parses and prints `text` (what `sbx fmt` does); `Err` with the rendered
/// syntax errors.
pub fn reformat(name: &str, text: &str) -> Result<String, String> {
    let mut sources = SourceMap::new();
    let id = sources.add(SourceFile::new(None, name, text));
    match sbx_grammar::parse(id, text) {
        Ok(file) => Ok(sbx_grammar::printer::print(&file)),
        Err(errors) => Err(errors
            .iter()
            .map(|e| {
                format!(
                    "{}: {} at {}..{}",
                    e.code, e.message, e.span.start, e.span.end
                )
            })
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

/// The errors `sbx check` reports for a profile text, rendered; empty when
/// it passes.
pub fn check_errors(name: &str, text: &str) -> String {
    let compilation = sbx_compiler::compile_source(name, text);
    let errors: Vec<Diagnostic> = compilation
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    render(&errors, &compilation.sources)
}

/// The warnings whose foreign place (`FILE:LINE`) no comment of the
/// profile mentions: nothing may be dropped silently, so every warning has
/// its comment. Merge conflicts are noted next to the kept value instead.
pub fn uncommented_warnings(conversion: &Conversion, text: &str) -> Vec<String> {
    let comments: String = text
        .lines()
        .filter_map(|l| l.split_once('#').map(|(_, c)| c))
        .collect::<Vec<_>>()
        .join("\n");
    let mut missing = Vec::new();
    for d in &conversion.diagnostics {
        if d.is_error() || d.code == "sbx::convert::merge-conflict" {
            continue;
        }
        let Some(span) = d.primary_span() else {
            missing.push(format!("(no place): {}", d.message));
            continue;
        };
        let file = conversion.sources.get(span.source).expect("known source");
        let (line, _) = file.line_column(span.start);
        let place = format!("{}:{line}", file.name);
        if !comments.contains(&place) {
            missing.push(format!("{place}: {} ({})", d.message, d.code));
        }
    }
    missing
}

/// The value of the first `key = value` line of a printed profile (any
/// indentation and alignment; a trailing comment removed).
pub fn value_of(profile: &str, key: &str) -> Option<String> {
    profile.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix(key)?;
        let rest = rest.trim_start().strip_prefix('=')?;
        let value = match rest.find("  #") {
            Some(i) => &rest[..i],
            None => rest,
        };
        Some(value.trim().to_string())
    })
}
