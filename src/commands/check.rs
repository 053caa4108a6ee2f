//! `sbx check FILE...`: every problem of each profile, at once.
//!
//! Exit status: 0 when no profile has an error (warnings allowed, unless
//! `--deny warnings`), 1 when a profile has an error (a missing or cyclic
//! include, text that is not UTF-8 among them), 2 for a usage error or a
//! FILE argument that cannot be read. Lint levels (`--allow`, `--warn`,
//! `--deny CODE`), the exposure score (`--score`, `--max-exposure`) and
//! SARIF are described in docs/lints.md and docs/score.md.

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
    /// SARIF 2.1.0 for code scanning: one log, one run, for all the FILEs
    Sarif,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Profiles to check
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Make a lint an error, or `warnings`: every warning (repeatable)
    #[arg(long, value_name = "CODE")]
    pub deny: Vec<String>,
    /// Report a lint as a warning, also one allowed by default (repeatable)
    #[arg(long, value_name = "CODE")]
    pub warn: Vec<String>,
    /// Do not report a lint (repeatable)
    #[arg(long, value_name = "CODE")]
    pub allow: Vec<String>,
    /// Print each profile's exposure score (0.0 locked down to 10.0) and
    /// what adds to it
    #[arg(long)]
    pub score: bool,
    /// Fail (exit 1) when a profile's exposure score is above N; implies
    /// `--score`
    #[arg(long, value_name = "N")]
    pub max_exposure: Option<f64>,
    /// Not an option: the score is an exposure, so a minimum would read
    /// backwards; kept hidden to point at `--max-exposure` (docs/score.md).
    #[arg(long, value_name = "N", hide = true)]
    pub min_score: Option<String>,
}

/// The lint levels the command line sets, and whether `--deny warnings`
/// was given.
fn levels(args: &Args) -> Result<(sbx_compiler::lint::Levels, bool), String> {
    use sbx_compiler::lint::Level;
    let mut levels = sbx_compiler::lint::Levels::default();
    let mut deny_all = false;
    for (names, level) in [
        (&args.allow, Level::Allow),
        (&args.warn, Level::Warn),
        (&args.deny, Level::Deny),
    ] {
        for name in names {
            if level == Level::Deny && name == "warnings" {
                deny_all = true;
            } else {
                levels.set(name, level)?;
            }
        }
    }
    if args.min_score.is_some() {
        return Err(
            "there is no `--min-score`: the score is an exposure (0.0 locked down, 10.0 no isolation); use `--max-exposure N`"
                .to_string(),
        );
    }
    if let Some(n) = args.max_exposure {
        if !(0.0..=10.0).contains(&n) {
            return Err(format!(
                "`--max-exposure {n}` is out of range: scores go from 0.0 to 10.0"
            ));
        }
    }
    Ok((levels, deny_all))
}

pub fn run(args: Args) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let (levels, deny_all) = match levels(&args) {
        Ok(l) => l,
        Err(message) => {
            eprintln!("sbx: {message}");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    let scored = args.score || args.max_exposure.is_some();
    let mut checked = Vec::new();
    let mut unreadable = false;
    let mut failed = false;
    for path in &args.files {
        if let Err(reason) = readable(path) {
            eprintln!("sbx: cannot read `{}`: {reason}", path.display());
            unreadable = true;
            continue;
        }
        let mut compilation = sbx_compiler::compile_file_with(path, &levels);
        if deny_all {
            deny_warnings(&mut compilation.diagnostics);
        }
        let errors = compilation
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .count();
        let warnings = compilation.diagnostics.len() - errors;
        failed |= errors > 0;
        let exposure = scored
            .then(|| compilation.plan.as_ref().map(sbx_compiler::score::exposure))
            .flatten();
        let above = exposure
            .as_ref()
            .zip(args.max_exposure)
            .is_some_and(|(e, max)| e.score > max);
        failed |= above;
        let name = path.display().to_string();
        let printed = match args.format {
            Format::Human => print_human(&mut stdout, &compilation, color, path, errors, warnings)
                .and_then(|()| match &exposure {
                    Some(e) => write!(stdout, "{}", e.render(&name)),
                    None => Ok(()),
                })
                .and_then(|()| match args.max_exposure {
                    Some(max) if above => writeln!(
                        stdout,
                        "{name}: exposure above the maximum of {max:.1} (`--max-exposure`)"
                    ),
                    _ => Ok(()),
                }),
            Format::Json => {
                print_json(&mut stdout, &compilation, path).and_then(|()| match &exposure {
                    Some(e) => writeln!(stdout, "{}", e.to_json(&name)),
                    None => Ok(()),
                })
            }
            Format::Sarif => {
                checked.push((path.clone(), compilation, exposure));
                Ok(())
            }
        };
        if printed.is_err() {
            // stdout closed (a pipe to `head`): nothing more to say.
            break;
        }
    }
    if args.format == Format::Sarif {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let views: Vec<sbx_compiler::sarif::Checked> = checked
            .iter()
            .map(|(path, c, e)| sbx_compiler::sarif::Checked {
                path,
                diagnostics: &c.diagnostics,
                sources: &c.sources,
                exposure: e.as_ref(),
            })
            .collect();
        let log = sbx_compiler::sarif::log(&views, env!("CARGO_PKG_VERSION"), &cwd);
        // stdout closed: nothing more to say.
        let _ = writeln!(stdout, "{log:#}");
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
