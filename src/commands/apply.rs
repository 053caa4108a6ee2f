//! `sbx apply FILE [-- CMD...]`: runs the workload of a profile (or of a
//! plan in JSON) in its sandbox, in the foreground, and ends with its exit
//! status.
//!
//! Exit status, as Docker's: the workload's own; 128+N when signal N killed
//! it; 125 when sbx failed before the workload started (the profile does not
//! compile, preflight refused, a step failed: everything done was undone);
//! 126 when the command cannot be executed; 127 when it is not found.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sbx_executor::cgroup::{CgroupOptions, CgroupStats, SandboxCgroup};
use sbx_executor::{ApplyError, ApplyOptions};
use sbx_plan::Plan;

/// Docker's status when the runtime itself failed before the workload.
const EXIT_SBX_FAILED: u8 = sbx_executor::apply::EXIT_SBX_FAILED;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A profile (`*.sbx`), or a plan as `sbx plan` prints it (`*.json`)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Print each step with its duration
    #[arg(short, long)]
    pub verbose: bool,
    /// Print the ordered steps without doing them
    #[arg(long)]
    pub dry_run: bool,
    /// Give the workload a terminal (as `terminal = true`)
    #[arg(long)]
    pub tty: bool,
    /// Create the sandbox's cgroup under this one (relative to each
    /// hierarchy's root) instead of under sbx's own
    #[arg(long, value_name = "PATH")]
    pub cgroup_parent: Option<PathBuf>,
    /// Print what the sandbox's cgroup accounted after the workload exits
    #[arg(long)]
    pub stats: bool,
    /// `--store`, `--keep`: the image rootfs (`from` an image)
    #[command(flatten)]
    pub image: super::image::RootfsArgs,
    /// The command to run instead of the profile's `entrypoint` and `cmd`
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

pub fn run(args: Args) -> ExitCode {
    let mut plan = match load(&args.file) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    if !args.command.is_empty() {
        // The plan holds entrypoint and cmd joined: the command given
        // replaces both.
        plan.process.args = args.command.clone();
    }
    // An image rootfs: its overlay is mounted here and unmounted when
    // `_rootfs` drops, on every return below.
    let _rootfs = match super::image::prepare_apply(&mut plan, &args.file, &args.image) {
        Ok(mount) => mount,
        Err(code) => return code,
    };
    if plan.process.args.is_empty() {
        eprintln!(
            "sbx: `{}` has no command to run (a profile without `cmd` or `entrypoint` is a fragment)\n  help: give one after `--`: `sbx apply {} -- /bin/sh`",
            args.file.display(),
            args.file.display()
        );
        return ExitCode::from(EXIT_SBX_FAILED);
    }
    if args.tty {
        plan.process.terminal = true;
    }
    let options = ApplyOptions {
        cgroup: CgroupOptions {
            parent: args.cgroup_parent.clone(),
        },
        verbose: args.verbose,
        // Always read: the OOM report below needs it; printed with --stats.
        stats: true,
    };
    let launch = match sbx_executor::preflight(&plan, &options) {
        Ok(launch) => launch,
        Err(e) => return failed(&e),
    };
    // Limits that apply but may not take effect (an io weight on disks
    // that ignore it): said before the workload starts.
    if let Ok(warnings) = SandboxCgroup::preflight_warnings(&plan.limits, &options.cgroup) {
        for warning in warnings {
            eprintln!("sbx: warning: {warning}");
        }
    }
    if args.dry_run {
        for step in sbx_executor::dry_run(&plan, &launch) {
            println!("{step}");
        }
        return ExitCode::SUCCESS;
    }
    let verbose = args.verbose;
    let report = move |step: &str, micros: u64| {
        if verbose {
            eprintln!("sbx: {step} ({}.{:03} ms)", micros / 1000, micros % 1000);
        }
    };
    match sbx_executor::apply(&plan, &launch, &options, &report) {
        Ok(outcome) => {
            if let Some(Ok(stats)) = &outcome.stats {
                if let Some(line) = describe_oom(&plan, stats) {
                    eprintln!("sbx: {line}");
                }
            }
            if let Some(stats) = outcome.stats.as_ref().filter(|_| args.stats) {
                match stats {
                    Ok(stats) => eprintln!("sbx: {}", describe_stats(stats)),
                    Err(e) => eprintln!("sbx: no cgroup statistics: {e}"),
                }
            }
            for failure in &outcome.undo_failures {
                eprintln!("sbx: teardown: {failure}");
            }
            ExitCode::from(outcome.exit_code())
        }
        Err(e) => failed(&e),
    }
}

fn failed(error: &ApplyError) -> ExitCode {
    match error {
        ApplyError::Preflight { problems } => {
            eprintln!(
                "sbx: the sandbox cannot be applied here ({} problem{}); nothing was changed",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            for problem in problems {
                eprintln!("{problem}");
            }
        }
        ApplyError::Step { .. } => {
            eprintln!("sbx: {error}");
            eprintln!("sbx: every change made before the failure was undone");
        }
    }
    ExitCode::from(error.exit_code())
}

/// The line that says the OOM killer ended processes of the sandbox (the
/// workload's status is then 137 when it was the one killed).
fn describe_oom(plan: &Plan, stats: &CgroupStats) -> Option<String> {
    let kills = stats.oom_kills.filter(|&n| n > 0)?;
    let what = if kills == 1 {
        "a process".to_string()
    } else {
        format!("{kills} processes")
    };
    Some(match plan.limits.memory_max.and_then(|l| l.value()) {
        Some(bytes) => format!(
            "the OOM killer killed {what} of the sandbox: it reached its memory limit (`memory_max`, memory.max = {bytes} bytes)"
        ),
        None => format!(
            "the OOM killer killed {what} of the sandbox: it reached the memory.max of a cgroup above it"
        ),
    })
}

fn describe_stats(stats: &CgroupStats) -> String {
    let show = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    format!(
        "cgroup: memory peak {} bytes, cpu {} us, tasks {}, oom kills {}",
        show(stats.memory_peak_bytes),
        show(stats.cpu_usage_us),
        show(stats.tasks),
        show(stats.oom_kills)
    )
}

/// The plan of FILE: a JSON plan as is, a profile compiled (its diagnostics
/// printed; errors stop here).
fn load(path: &Path) -> Result<Plan, ExitCode> {
    if path.extension().is_some_and(|e| e == "json") {
        let text = std::fs::read_to_string(path).map_err(|e| {
            eprintln!("sbx: cannot read `{}`: {e}", path.display());
            ExitCode::from(EXIT_SBX_FAILED)
        })?;
        return Plan::from_json(&text).map_err(|e| {
            eprintln!("sbx: `{}`: {e}", path.display());
            ExitCode::from(EXIT_SBX_FAILED)
        });
    }
    if let Err(e) = std::fs::metadata(path) {
        eprintln!("sbx: cannot read `{}`: {e}", path.display());
        return Err(ExitCode::from(EXIT_SBX_FAILED));
    }
    let compilation = sbx_compiler::compile_file(path);
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    for diagnostic in &compilation.diagnostics {
        eprintln!("{}", diagnostic.render(&compilation.sources, color));
    }
    match compilation.plan {
        Some(plan) if !compilation.has_errors() => Ok(plan),
        _ => Err(ExitCode::from(EXIT_SBX_FAILED)),
    }
}
