//! `sbx convert FILE...`: LXC configs, systemd units and Dockerfiles as one
//! formatted profile.
//!
//! The format of each file is detected from its name, then its content
//! (`--from` forces one for every file). Several files are merged into one
//! profile in the order given (the rule is in `docs/convert.md`).
//!
//! Exit status: 0 when a profile was written (warnings allowed: each is
//! also a comment in the profile), 1 when an input is not of its format
//! (binary data, a unit without `[Service]`, an unterminated heredoc, ...)
//! or the profile written does not pass `sbx check` (a converter bug,
//! reported), 2 for a usage error or a file that cannot be read or written.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use sbx_compiler::import::{self, Format, Input};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum From {
    /// LXC container config (`lxc.*` keys)
    Lxc,
    /// systemd unit (`[Service]`, or a `[Slice]`'s resource settings)
    Systemd,
    /// Dockerfile or Containerfile
    Dockerfile,
}

impl From {
    fn format(self) -> Format {
        match self {
            From::Lxc => Format::Lxc,
            From::Systemd => Format::Systemd,
            From::Dockerfile => Format::Dockerfile,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Foreign files to convert, merged in this order (`-` reads stdin)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Read every file as this format instead of detecting it
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub from: Option<From>,
    /// Write the profile to FILE instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let mut inputs = Vec::new();
    for path in &args.files {
        let (name, bytes) = if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
                eprintln!("sbx: cannot read stdin: {e}");
                return ExitCode::from(super::EXIT_USAGE);
            }
            ("<stdin>".to_string(), bytes)
        } else {
            match std::fs::read(path) {
                Ok(b) => (path.display().to_string(), b),
                Err(e) => {
                    eprintln!("sbx: cannot read `{}`: {e}", path.display());
                    return ExitCode::from(super::EXIT_USAGE);
                }
            }
        };
        let format = match args
            .from
            .map(From::format)
            .or_else(|| import::detect(&name, &bytes))
        {
            Some(f) => f,
            None => {
                eprintln!(
                    "sbx: cannot tell the format of `{name}` from its name or content\n  help: give it with `--from lxc`, `--from systemd` or `--from dockerfile`"
                );
                return ExitCode::from(super::EXIT_USAGE);
            }
        };
        let mut input = Input::new(name, bytes, format);
        if path.as_os_str() != "-" {
            input = input.with_path(path);
        }
        inputs.push(input);
    }

    let conversion = import::convert(&inputs);
    let color = std::io::stderr().is_terminal();
    let mut stderr = std::io::stderr().lock();
    for d in &conversion.diagnostics {
        let _ = write!(stderr, "{}", d.render(&conversion.sources, color));
    }
    let Some(profile) = &conversion.profile else {
        let errors = conversion
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .count();
        let _ = writeln!(
            stderr,
            "sbx: no profile written: {errors} error{} in the input",
            if errors == 1 { "" } else { "s" }
        );
        return ExitCode::from(1);
    };
    let warnings = conversion.diagnostics.len();
    if warnings > 0 {
        let _ = writeln!(
            stderr,
            "sbx: {warnings} warning{}: each is also a comment in the profile",
            if warnings == 1 { "" } else { "s" }
        );
    }
    drop(stderr);
    let text = sbx_grammar::printer::print(profile);
    // The profile must pass `sbx check`; if it does not, that is a bug of
    // the converter, reported rather than hidden.
    let check = sbx_compiler::compile_source("converted profile", &text);
    let check_failed = check.has_errors();
    if check_failed {
        let mut stderr = std::io::stderr().lock();
        for d in check.diagnostics.iter().filter(|d| d.is_error()) {
            let _ = write!(stderr, "{}", d.render(&check.sources, color));
        }
        let _ = writeln!(
            stderr,
            "sbx: the converted profile does not pass `sbx check` (a bug in `sbx convert`): fix the lines above by hand"
        );
    }
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &text) {
                eprintln!("sbx: cannot write `{}`: {e}", path.display());
                return ExitCode::from(super::EXIT_USAGE);
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            if out
                .write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .is_err()
            {
                return ExitCode::from(super::EXIT_USAGE);
            }
        }
    }
    if check_failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
