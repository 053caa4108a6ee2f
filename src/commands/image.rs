//! `sbx image import|ls|rm`: the local image store; and the image rootfs
//! of `sbx apply` (`--store`, `--keep`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sbx_executor::image::{self, RootfsMount, Store};
use sbx_plan::{Plan, Rootfs};

/// sbx's status when it failed itself (as Docker's).
const EXIT_FAILED: u8 = sbx_executor::apply::EXIT_SBX_FAILED;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ImageCommand,
    /// The image store (default: `$SBX_STORE`, `/var/lib/sbx` as root,
    /// `$XDG_DATA_HOME/sbx` otherwise)
    #[arg(long, value_name = "DIR", global = true)]
    pub store: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum ImageCommand {
    /// Import an OCI image layout directory or a `docker save` archive
    Import {
        /// The OCI image layout directory or the `docker save` tar
        #[arg(value_name = "PATH")]
        path: PathBuf,
        /// The name to give it (default: the name the input gives it)
        #[arg(long, value_name = "NAME")]
        tag: Option<String>,
        /// Which image of the input: its `org.opencontainers.image.ref.name`
        /// (OCI) or its repo tag (docker)
        #[arg(long, value_name = "REF")]
        select: Option<String>,
    },
    /// List the images in the store
    Ls,
    /// Remove an image, and the layers no other image uses
    Rm {
        #[arg(value_name = "NAME")]
        name: String,
    },
}

/// The options `sbx apply` takes for an image rootfs.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RootfsArgs {
    /// The image store (default: `$SBX_STORE`, `/var/lib/sbx` as root,
    /// `$XDG_DATA_HOME/sbx` otherwise)
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Keep the sandbox's writable layer (the overlay's upper dir) after it ends
    #[arg(long)]
    pub keep: bool,
}

pub fn run(args: Args) -> ExitCode {
    let store = match Store::open(args.store.as_deref()) {
        Ok(store) => store,
        Err(e) => return fail(&e),
    };
    match args.command {
        ImageCommand::Import { path, tag, select } => {
            match image::import(&store, &path, select.as_deref(), tag.as_deref()) {
                Ok(record) => {
                    println!(
                        "imported `{}` ({} layers)",
                        record.name,
                        record.layers.len()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        ImageCommand::Ls => match store.images() {
            Ok(images) => {
                println!("{:<40} {:>6}  SOURCE", "NAME", "LAYERS");
                for record in images {
                    println!(
                        "{:<40} {:>6}  {}",
                        record.name,
                        record.layers.len(),
                        record.source
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        ImageCommand::Rm { name } => match store.remove(&name) {
            Ok(removed) => {
                println!("removed `{name}` ({} unused layers removed)", removed.len());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
    }
}

fn fail(error: &image::ImageError) -> ExitCode {
    eprintln!("sbx: {error}");
    ExitCode::from(EXIT_FAILED)
}

/// For `sbx apply`: when `from` is an image, mounts its overlay rootfs,
/// fills in what the profile leaves to the image (command, env, workdir)
/// and points the plan at the merged directory. The returned guard unmounts
/// it when dropped (on every return of the caller).
/// A profile with `build` steps runs on what `sbx build` made of them.
pub fn prepare_apply(
    plan: &mut Plan,
    file: &Path,
    args: &RootfsArgs,
) -> Result<Option<RootfsMount>, ExitCode> {
    if matches!(plan.rootfs, Rootfs::Host | Rootfs::Directory { .. }) {
        if !plan.build.is_empty() {
            // Fail closed: running without the build's result would be a
            // silent downgrade.
            eprintln!(
                "sbx: `{}` has `build` steps but `from` is not an image, so they cannot be built\n  help: set `from` to an image name or `oci:PATH[:TAG]`, then run `sbx build {}`",
                file.display(),
                file.display()
            );
            return Err(ExitCode::from(EXIT_FAILED));
        }
        return Ok(None);
    }
    let store = Store::open(args.store.as_deref()).map_err(|e| fail(&e))?;
    let mount = image::mount_rootfs(plan, &store, &profile_dir(file), args.keep)
        .map_err(|e| fail(&e))?
        .expect("an image rootfs is mounted");
    image::resolve_process(plan, &mount.image);
    plan.rootfs = Rootfs::Directory {
        path: mount.merged.to_string_lossy().into_owned(),
    };
    if args.keep {
        eprintln!(
            "sbx: the sandbox's writable layer stays in `{}`",
            mount.upper.display()
        );
    }
    Ok(Some(mount))
}

/// The directory a profile's relative paths are relative to.
pub fn profile_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
