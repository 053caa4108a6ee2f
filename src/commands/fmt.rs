//! `sbx fmt`. Placeholder.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(args: Args) -> ExitCode {
    let _ = args;
    eprintln!("sbx: `fmt` is not implemented yet");
    ExitCode::from(super::EXIT_USAGE)
}
