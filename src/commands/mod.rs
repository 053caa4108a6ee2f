//! One file per subcommand; this module only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// One declarative language for Linux sandboxes.
#[derive(Debug, Parser)]
#[command(name = "sbx", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {}
}
