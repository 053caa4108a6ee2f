//! One file per subcommand; this module only dispatches.

mod apply;
mod build;
mod check;
mod convert;
mod emit;
mod fmt;
mod image;
mod plan;

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
pub enum Command {
    /// Report every problem of one or more profiles
    Check(check::Args),
    /// Print the validated plan of a profile
    Plan(plan::Args),
    /// Launch the workload of a profile (or plan) in its sandbox
    Apply(apply::Args),
    /// Convert LXC configs, systemd units and Dockerfiles to a profile
    Convert(convert::Args),
    /// Format profiles canonically
    Fmt(fmt::Args),
    /// Emit a profile as an OCI bundle, a systemd unit, an LXC config or a Kubernetes Pod
    Emit(emit::Args),
    /// Run a profile's `build` steps with a layer cache and store the image
    Build(build::Args),
    /// Manage the local image store (import, ls, rm)
    Image(image::Args),
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Emit(args) => emit::run(args),
        Command::Build(args) => build::run(args),
        Command::Image(args) => image::run(args),
    }
}

/// Exit code for a usage error or an unreadable argument (as clap uses).
pub const EXIT_USAGE: u8 = 2;
