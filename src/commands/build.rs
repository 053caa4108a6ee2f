//! `sbx build PROFILE`: runs the profile's `build` steps on its `from`
//! image with a layer cache and tags the result (docs/images.md).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use sbx_executor::image::{self, BuildOptions, Store};
use sbx_executor::ApplyOptions;

const EXIT_FAILED: u8 = sbx_executor::apply::EXIT_SBX_FAILED;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The profile (`*.sbx`)
    #[arg(value_name = "PROFILE")]
    pub file: PathBuf,
    /// Where `copy` sources are found (default: the profile's folder)
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,
    /// Run every step again, even those whose layer is cached
    #[arg(long)]
    pub no_cache: bool,
    /// The name of the result (default: the profile's `name`)
    #[arg(long, value_name = "NAME")]
    pub tag: Option<String>,
    /// A value for an `arg` of the build block
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
    /// The image store (default: `$SBX_STORE`, `/var/lib/sbx` as root,
    /// `$XDG_DATA_HOME/sbx` otherwise)
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let mut build_args = BTreeMap::new();
    for arg in &args.build_args {
        match arg.split_once('=') {
            Some((name, value)) => {
                build_args.insert(name.to_string(), value.to_string());
            }
            None => {
                eprintln!("sbx: `--build-arg {arg}`: expected `NAME=VALUE`");
                return ExitCode::from(super::EXIT_USAGE);
            }
        }
    }
    let compilation = sbx_compiler::compile_file(&args.file);
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    for diagnostic in &compilation.diagnostics {
        eprintln!("{}", diagnostic.render(&compilation.sources, color));
    }
    let plan = match compilation.plan {
        Some(plan) if !compilation.has_errors() => plan,
        _ => return ExitCode::from(EXIT_FAILED),
    };
    let store = match Store::open(args.store.as_deref()) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("sbx: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let options = BuildOptions {
        context: args
            .context
            .clone()
            .unwrap_or_else(|| super::image::profile_dir(&args.file)),
        no_cache: args.no_cache,
        tag: args.tag.clone(),
        args: build_args,
        apply: ApplyOptions::default(),
    };
    let total = plan.build.len();
    let report = |step: &image::StepOutcome| {
        let state = match (&step.layer, step.cached) {
            (None, _) => "",
            (Some(_), true) => " (cached)",
            (Some(_), false) => " (done)",
        };
        eprintln!("sbx: step {}/{total}: {}{state}", step.index, step.what);
    };
    match image::build(&plan, &store, &options, &report) {
        Ok(outcome) => {
            println!(
                "built `{}` ({} layers)",
                outcome.image.name,
                outcome.image.layers.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sbx: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
