//! `sbx fmt FILE...`: rewrites profiles in canonical form, comments kept,
//! as `gofmt -w` and `rustfmt` do.
//!
//! A directory stands for every `*.sbx` file under it, `-` for stdin
//! (formatted to stdout). `--check` changes
//! nothing and lists the files that would change (for CI); `--stdout`
//! prints the formatted text instead of rewriting. A file with a syntax
//! error is reported and left untouched.
//!
//! Exit status: 0 when every file is (now) formatted, 1 when a file has a
//! syntax error or (`--check`) would change, 2 for a usage error or a file
//! that cannot be read or written.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sbx_compiler::{Diagnostic, SourceFile, SourceMap};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Profiles (or directories of `*.sbx` profiles) to format; `-` formats
    /// stdin to stdout
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Change nothing; list the files that are not formatted and exit 1 if any
    #[arg(long)]
    pub check: bool,
    /// Print the formatted text instead of rewriting the files
    #[arg(long, conflicts_with = "check")]
    pub stdout: bool,
}

/// What formatting one text gives.
pub enum Formatted {
    /// The canonical text.
    Text(String),
    /// Syntax errors, and the sources they point into.
    Errors(Vec<Diagnostic>, SourceMap),
}

/// Formats one profile text (the library entry `fmt` and the tests share).
pub fn format_text(name: &str, text: &str) -> Formatted {
    let mut sources = SourceMap::new();
    let id = sources.add(SourceFile::new(None, name, text));
    match sbx_grammar::parse(id, text) {
        Ok(file) => Formatted::Text(sbx_grammar::printer::print(&file)),
        Err(errors) => {
            let diagnostics = errors
                .into_iter()
                .map(|e| {
                    let mut d = Diagnostic::error(e.code, e.message).with_label(e.span, e.label);
                    d.help = e.help;
                    d
                })
                .collect();
            Formatted::Errors(diagnostics, sources)
        }
    }
}

pub fn run(args: Args) -> ExitCode {
    let mut files = Vec::new();
    for path in &args.files {
        if path.is_dir() {
            collect(path, &mut files);
        } else {
            files.push(path.clone());
        }
    }
    let color = std::io::stderr().is_terminal();
    let mut status = 0u8;
    for path in files {
        let stdin = path.as_os_str() == "-";
        let name = if stdin {
            "<stdin>".to_string()
        } else {
            path.display().to_string()
        };
        let read = if stdin {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map(|_| bytes)
        } else {
            std::fs::read(&path)
        };
        let bytes = match read {
            Ok(b) => b,
            Err(e) => {
                eprintln!("sbx: cannot read `{name}`: {e}");
                status = status.max(super::EXIT_USAGE);
                continue;
            }
        };
        let Ok(text) = String::from_utf8(bytes) else {
            eprintln!("sbx: `{name}` is not UTF-8 text: left untouched");
            status = status.max(1);
            continue;
        };
        let formatted = match format_text(&name, &text) {
            Formatted::Text(t) => t,
            Formatted::Errors(diagnostics, sources) => {
                for d in &diagnostics {
                    eprint!("{}", d.render(&sources, color));
                }
                eprintln!("sbx: `{name}` has syntax errors: left untouched");
                status = status.max(1);
                continue;
            }
        };
        // stdin is formatted to stdout, as `rustfmt` and `gofmt` do.
        if args.stdout || (stdin && !args.check) {
            print!("{formatted}");
            continue;
        }
        if formatted == text {
            continue;
        }
        if args.check {
            println!("{name}");
            status = status.max(1);
            continue;
        }
        if let Err(e) = write_atomically(&path, &formatted) {
            eprintln!("sbx: cannot write `{name}`: {e}");
            status = status.max(super::EXIT_USAGE);
        }
    }
    let _ = std::io::stdout().flush();
    ExitCode::from(status)
}

/// Every `*.sbx` under `dir`, sorted.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        out.push(dir.to_path_buf());
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "sbx") {
            out.push(p);
        }
    }
}

/// Writes through a temporary file in the same directory and a rename, so
/// that an interrupted `fmt` never leaves half a profile. The permissions
/// of the original are kept.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.sbx-fmt-{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
