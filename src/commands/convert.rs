//! `sbx convert`. Placeholder.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(args: Args) -> ExitCode {
    let _ = args;
    eprintln!("sbx: `convert` is not implemented yet");
    ExitCode::from(super::EXIT_USAGE)
}
