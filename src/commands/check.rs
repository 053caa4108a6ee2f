//! `sbx check FILE...`: every problem of each profile, at once.
//!
//! Exit status: 0 when no profile has an error (warnings allowed, unless
//! `--deny warnings`), 1 when a profile has an error (a missing or cyclic
//! include, text that is not UTF-8 among them), 2 for a usage error or a
//! FILE argument that cannot be read.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sbx_compiler::{Compilation, Diagnostic, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people: the place, a label, a help line, and a summary per file
    Human,
    /// For machines: one JSON object per diagnostic per line
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Denied {
    /// Every warning counts as an error
    Warnings,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Profiles to check
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Treat warnings as errors
    #[arg(long, value_enum, value_name = "WHAT")]
    pub deny: Option<Denied>,
}

pub fn run(args: Args) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut unreadable = false;
    let mut failed = false;
    for path in &args.files {
        if let Err(reason) = readable(path) {
            eprintln!("sbx: cannot read `{}`: {reason}", path.display());
            unreadable = true;
            continue;
        }
        let mut compilation = sbx_compiler::compile_file(path);
        if args.deny == Some(Denied::Warnings) {
            deny_warnings(&mut compilation.diagnostics);
        }
        let errors = compilation
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .count();
        let warnings = compilation.diagnostics.len() - errors;
        failed |= errors > 0;
        let printed = match args.format {
            Format::Human => print_human(&mut stdout, &compilation, color, path, errors, warnings),
            Format::Json => print_json(&mut stdout, &compilation, path),
        };
        if printed.is_err() {
            // stdout closed (a pipe to `head`): nothing more to say.
            break;
        }
    }
    if unreadable {
        ExitCode::from(super::EXIT_USAGE)
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// A FILE argument sbx can read: exists, is a file, may be opened.
pub(crate) fn readable(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.is_dir() {
        return Err("it is a directory".into());
    }
    std::fs::File::open(path)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// `--deny warnings`: a warning becomes an error, its code kept.
pub(crate) fn deny_warnings(diagnostics: &mut [Diagnostic]) {
    for d in diagnostics {
        d.severity = Severity::Error;
    }
}

fn print_human(
    out: &mut impl Write,
    compilation: &Compilation,
    color: bool,
    path: &Path,
    errors: usize,
    warnings: usize,
) -> std::io::Result<()> {
    for d in &compilation.diagnostics {
        write!(out, "{}", render(d, compilation, color, path))?;
        writeln!(out)?;
    }
    writeln!(
        out,
        "{}",
        summary(errors, warnings, &path.display().to_string())
    )
}

/// A diagnostic for people; one without a place names the file.
pub(crate) fn render(
    d: &Diagnostic,
    compilation: &Compilation,
    color: bool,
    path: &Path,
) -> String {
    if d.primary_span().is_some() {
        d.render(&compilation.sources, color)
    } else {
        let mut placed = d.clone();
        placed.message = format!("{}: {}", path.display(), d.message);
        placed.render(&compilation.sources, color)
    }
}

/// "2 errors, 1 warning in web.sbx", "no problems in web.sbx".
pub(crate) fn summary(errors: usize, warnings: usize, file: &str) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, 0) => format!("no problems in {file}"),
        (e, 0) => format!("{} in {file}", plural(e, "error")),
        (0, w) => format!("{} in {file}", plural(w, "warning")),
        (e, w) => format!("{}, {} in {file}", plural(e, "error"), plural(w, "warning")),
    }
}

fn print_json(out: &mut impl Write, compilation: &Compilation, path: &Path) -> std::io::Result<()> {
    for d in &compilation.diagnostics {
        let mut value = d.to_json(&compilation.sources);
        if value["file"].is_null() {
            value["file"] = serde_json::Value::from(path.display().to_string());
        }
        writeln!(out, "{value}")?;
    }
    Ok(())
}
