//! `sbx`: one declarative language for Linux sandboxes.

mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = commands::Cli::parse();
    commands::run(cli)
}
