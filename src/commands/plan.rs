//! `sbx plan FILE`: the validated plan the executor applies, as JSON or
//! YAML; `sbx plan --schema`: the plan's JSON schema.
//!
//! Exit status: 0 with the plan on stdout, 1 when the profile has an error
//! (diagnostics on stderr), 2 for a usage error or an unreadable FILE.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use super::check::{readable, render};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Yaml,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The profile
    #[arg(value_name = "FILE", required_unless_present = "schema")]
    pub file: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Print the JSON schema of plans instead
    #[arg(long, conflicts_with = "file")]
    pub schema: bool,
}

pub fn run(args: Args) -> ExitCode {
    if args.schema {
        let schema = sbx_plan::json_schema();
        return print(match args.format {
            Format::Json => serde_json::to_string_pretty(&schema).map_err(|e| e.to_string()),
            Format::Yaml => serde_saphyr::to_string(&schema).map_err(|e| e.to_string()),
        });
    }
    let path = args.file.expect("clap requires FILE without --schema");
    if let Err(reason) = readable(&path) {
        eprintln!("sbx: cannot read `{}`: {reason}", path.display());
        return ExitCode::from(super::EXIT_USAGE);
    }
    let compilation = sbx_compiler::compile_file(&path);
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    for d in &compilation.diagnostics {
        eprintln!("{}", render(d, &compilation, color, &path));
    }
    let Some(plan) = compilation.plan else {
        let errors = compilation
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .count();
        let warnings = compilation.diagnostics.len() - errors;
        eprintln!(
            "{}",
            super::check::summary(errors, warnings, &path.display().to_string())
        );
        return ExitCode::from(1);
    };
    print(match args.format {
        Format::Json => Ok(plan.to_json_pretty()),
        Format::Yaml => serde_saphyr::to_string(&plan).map_err(|e| e.to_string()),
    })
}

fn print(text: Result<String, String>) -> ExitCode {
    match text {
        Ok(text) => {
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sbx: cannot serialise the plan: {e}");
            ExitCode::from(1)
        }
    }
}
