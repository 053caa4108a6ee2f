//! `sbx emit --target oci|systemd|lxc|k8s [-o PATH] PROFILE`: the profile
//! (or a plan `.json`) as another engine's configuration.
//!
//! `oci` writes a bundle directory (`config.json`, whose `root.path` points
//! at the rootfs); the others print to stdout or write `-o FILE`. What the
//! target cannot express is reported as warnings on stderr.
//!
//! Exit status: 0 when emitted (warnings allowed), 1 when the profile has an
//! error or cannot be emitted for the target, 2 for a usage error or an
//! unreadable PROFILE.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sbx_compiler::emit::{self, CgroupVersion, EmitOptions, EmitTarget};
use sbx_compiler::SourceMap;
use sbx_plan::Plan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// An OCI runtime bundle directory (crun, runc)
    Oci,
    /// A systemd .service unit
    Systemd,
    /// An LXC container config
    Lxc,
    /// A Kubernetes Pod manifest (YAML)
    K8s,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Cgroup {
    V1,
    V2,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to emit
    #[arg(long, value_enum)]
    pub target: Target,
    /// The bundle directory (oci, required) or the output file (default: stdout)
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// The cgroup version whose keys to use: LXC's `lxc.cgroup2.*` (v2) or
    /// `lxc.cgroup.*` (v1); OCI uses `linux.resources.unified` only with v2
    #[arg(long, value_enum, default_value_t = Cgroup::V2)]
    pub cgroup: Cgroup,
    /// The profile, or a plan as JSON (`*.json`)
    #[arg(value_name = "PROFILE")]
    pub profile: PathBuf,
}

pub fn run(args: Args) -> ExitCode {
    let target = match args.target {
        Target::Oci => EmitTarget::Oci,
        Target::Systemd => EmitTarget::Systemd,
        Target::Lxc => EmitTarget::Lxc,
        Target::K8s => EmitTarget::K8s,
    };
    if target == EmitTarget::Oci && args.output.is_none() {
        eprintln!("sbx: `--target oci` writes a bundle directory: give it with `-o DIR`");
        return ExitCode::from(super::EXIT_USAGE);
    }
    if let Err(e) = std::fs::File::open(&args.profile) {
        eprintln!("sbx: cannot read `{}`: {e}", args.profile.display());
        return ExitCode::from(super::EXIT_USAGE);
    }
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let Some(plan) = load_plan(&args.profile, color) else {
        return ExitCode::from(1);
    };
    let options = EmitOptions {
        cgroup: match args.cgroup {
            Cgroup::V1 => CgroupVersion::V1,
            Cgroup::V2 => CgroupVersion::V2,
        },
    };
    let emitted = match emit::emit(&plan, target, &options) {
        Ok(emitted) => emitted,
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(help) = e.help() {
                eprintln!("  help: {help}");
            }
            return ExitCode::from(1);
        }
    };
    let none = SourceMap::new();
    for warning in &emitted.warnings {
        eprintln!("{}", warning.render(&none, color));
    }
    match write(target, args.output.as_deref(), &emitted) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sbx: {e}");
            ExitCode::from(1)
        }
    }
}

/// The plan of a profile (diagnostics on stderr) or of a plan file.
fn load_plan(path: &Path, color: bool) -> Option<Plan> {
    if path.extension().is_some_and(|e| e == "json") {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("sbx: cannot read `{}`: {e}", path.display());
                return None;
            }
        };
        return match Plan::from_json(&text) {
            Ok(plan) => Some(plan),
            Err(e) => {
                eprintln!("sbx: `{}`: {e}", path.display());
                None
            }
        };
    }
    let compilation = sbx_compiler::compile_file(path);
    for d in &compilation.diagnostics {
        eprintln!("{}", d.render(&compilation.sources, color));
    }
    compilation.plan
}

fn write(target: EmitTarget, output: Option<&Path>, emitted: &emit::Emitted) -> Result<(), String> {
    let files = &emitted.files;
    match (target, output) {
        (EmitTarget::Oci, Some(dir)) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create the bundle `{}`: {e}", dir.display()))?;
            for sub in &emitted.directories {
                let path = dir.join(sub);
                std::fs::create_dir_all(&path)
                    .map_err(|e| format!("cannot create `{}`: {e}", path.display()))?;
            }
            for file in files {
                let path = dir.join(&file.path);
                std::fs::write(&path, &file.contents)
                    .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
            }
            Ok(())
        }
        (_, Some(path)) => {
            let contents: String = files.iter().map(|f| f.contents.as_str()).collect();
            std::fs::write(path, contents)
                .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
        }
        (_, None) => {
            for file in files {
                print!("{}", file.contents);
            }
            Ok(())
        }
    }
}
