//! The overlayfs rootfs of a sandbox: the image's layers as lower dirs, a
//! per-sandbox upper dir, mounted in sbx's own (the host's) mount namespace
//! before the sandbox is cloned, so that the rest of apply sees a plain
//! directory rootfs. Each step is journalled: unmounting and removing the
//! upper dir (unless kept) is the journal's undo.

use std::fs;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags};
use sbx_plan::{EnvVar, Plan, Rootfs};

use super::store::{owner_alive, remove_any, unique_name, ImageRecord, Store};
use super::{import, ImageError};
use crate::journal::{ApplyJournal, UndoFailure};

/// The longest option string the kernel takes for one mount (a page).
const MOUNT_DATA_MAX: usize = 4095;
/// Marks a sandbox dir kept with `--keep`, which stale cleanup leaves alone.
const KEEP_MARKER: &str = "kept";
/// Lists the layers a sandbox dir mounts, so that `image rm` keeps them.
const LAYERS_FILE: &str = "layers";

/// A mounted image rootfs and the journal that undoes it. Dropping it
/// without [`RootfsMount::finish`] undoes it too (every early return of the
/// caller), reporting undo failures on stderr.
pub struct RootfsMount {
    journal: Option<ApplyJournal>,
    /// The merged directory: the sandbox's rootfs.
    pub merged: PathBuf,
    /// The per-sandbox writable layer.
    pub upper: PathBuf,
    /// The image it was made from.
    pub image: ImageRecord,
}

impl RootfsMount {
    /// Unmounts and removes what was made (the upper dir stays when kept).
    pub fn finish(mut self) -> Vec<UndoFailure> {
        self.journal
            .take()
            .map(ApplyJournal::unwind)
            .unwrap_or_default()
    }
}

impl Drop for RootfsMount {
    fn drop(&mut self) {
        if let Some(journal) = self.journal.take() {
            for failure in journal.unwind() {
                eprintln!("sbx: teardown: {failure}");
            }
        }
    }
}

/// The image a rootfs names: `Image` from the store, `OciLayout` imported
/// into the store first (as `oci:PATH[:TAG]`; layers already there are not
/// unpacked again). `None` for `host` and a directory.
pub fn resolve_image(rootfs: &Rootfs, store: &Store) -> Result<Option<ImageRecord>, ImageError> {
    match rootfs {
        Rootfs::Host | Rootfs::Directory { .. } => Ok(None),
        Rootfs::Image { name } => store.image(name).map(Some),
        Rootfs::OciLayout { path, tag } => {
            let canonical = fs::canonicalize(path).map_err(|e| {
                ImageError::io(format!("`from = \"oci:{path}\"`: cannot read `{path}`"), e)
            })?;
            let name = match tag {
                Some(tag) => format!("oci:{}:{tag}", canonical.display()),
                None => format!("oci:{}", canonical.display()),
            };
            import(store, &canonical, tag.as_deref(), Some(&name)).map(Some)
        }
    }
}

/// For an image rootfs: mounts an overlay of the image with a fresh upper
/// dir and returns it; the caller substitutes `Rootfs::Directory` with
/// [`RootfsMount::merged`]. `None` for `host` and a directory rootfs.
/// With `keep`, the upper dir stays after teardown (its path is in
/// [`RootfsMount::upper`]).
///
/// A plan with `build` steps runs on the image `sbx build` made of them
/// (looked up by the steps' cache keys, with `context` as the build
/// context): an error says to build first when it is not in the cache.
pub fn mount_rootfs(
    plan: &Plan,
    store: &Store,
    context: &Path,
    keep: bool,
) -> Result<Option<RootfsMount>, ImageError> {
    let image = if plan.build.is_empty() {
        resolve_image(&plan.rootfs, store)?
    } else {
        Some(super::build::built_image(plan, store, context)?)
    };
    let Some(image) = image else {
        return Ok(None);
    };
    let mut journal = ApplyJournal::new();
    match mount_layers(store, &image.layers, keep, &mut journal) {
        Ok((merged, upper)) => Ok(Some(RootfsMount {
            journal: Some(journal),
            merged,
            upper,
            image,
        })),
        Err(e) => {
            for failure in journal.unwind() {
                eprintln!("sbx: teardown: {failure}");
            }
            Err(e)
        }
    }
}

/// Creates `sandboxes/ID/{upper,work,merged}` and mounts the overlay of
/// `layers` (bottom first) at `merged`; each step is in `journal`.
pub(crate) fn mount_layers(
    store: &Store,
    layers: &[String],
    keep: bool,
    journal: &mut ApplyJournal,
) -> Result<(PathBuf, PathBuf), ImageError> {
    if !super::is_root() {
        return Err(ImageError::Unsupported {
            problem: "an image rootfs is an overlayfs mount, which needs root".into(),
            help: "run sbx as root, or unpack the image into a directory and use `from = \"/path/to/rootfs\"`".into(),
        });
    }
    // Under the store lock until the layers are listed in the sandbox dir,
    // so that a concurrent `image rm` cannot remove them in between.
    let lock = store.lock()?;
    if let Some(missing) = layers.iter().find(|l| !store.has_layer(l)) {
        return Err(ImageError::refused(
            store.root().display().to_string(),
            format!("layer `{missing}` is missing from the store (import the image again)"),
        ));
    }
    let dir = store.root().join("sandboxes").join(unique_name("sandbox"));
    fs::create_dir(&dir)
        .map_err(|e| ImageError::io(format!("cannot create `{}`", dir.display()), e))?;
    {
        let dir = dir.clone();
        journal.record(format!("create {}", dir.display()), move || {
            if keep {
                let _ = fs::write(dir.join(KEEP_MARKER), "");
                for sub in ["work", "merged", "empty"] {
                    remove_any(&dir.join(sub)).map_err(|e| e.to_string())?;
                }
                Ok(())
            } else {
                remove_any(&dir).map_err(|e| format!("cannot remove `{}`: {e}", dir.display()))
            }
        });
    }
    let top_first: Vec<&String> = layers.iter().rev().collect();
    let listed: String = top_first.iter().map(|l| format!("{l}\n")).collect();
    fs::write(dir.join(LAYERS_FILE), listed)
        .map_err(|e| ImageError::io(format!("cannot write in `{}`", dir.display()), e))?;
    drop(lock);
    let (upper, work, merged) = (dir.join("upper"), dir.join("work"), dir.join("merged"));
    for sub in [&upper, &work, &merged] {
        fs::create_dir(sub)
            .map_err(|e| ImageError::io(format!("cannot create `{}`", sub.display()), e))?;
    }
    let mut lowers: Vec<PathBuf> = top_first.iter().map(|l| store.layer_dir(l)).collect();
    if lowers.is_empty() {
        let empty = dir.join("empty");
        fs::create_dir(&empty)
            .map_err(|e| ImageError::io(format!("cannot create `{}`", empty.display()), e))?;
        lowers.push(empty);
    }
    mount_overlay(&lowers, &upper, &work, &merged)?;
    {
        let merged = merged.clone();
        journal.record(
            format!("mount overlay at {}", merged.display()),
            move || unmount(&merged),
        );
    }
    Ok((merged, upper))
}

fn mount_overlay(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    merged: &Path,
) -> Result<(), ImageError> {
    let mut paths: Vec<&Path> = lowers.iter().map(PathBuf::as_path).collect();
    paths.extend([upper, work]);
    if let Some(bad) = paths.iter().find(|p| {
        let s = p.to_string_lossy();
        s.contains(':') || s.contains(',') || s.contains('\\')
    }) {
        return Err(ImageError::Unsupported {
            problem: format!("the image store path `{}` has a `:`, `,` or `\\`, which overlayfs options cannot hold", bad.display()),
            help: "use a store path without them (`--store DIR`)".into(),
        });
    }
    let lowerdir = lowers
        .iter()
        .map(|p| p.to_string_lossy())
        .collect::<Vec<_>>()
        .join(":");
    let data = format!(
        "lowerdir={lowerdir},upperdir={},workdir={}",
        upper.display(),
        work.display()
    );
    if data.len() > MOUNT_DATA_MAX {
        return Err(ImageError::Unsupported {
            problem: format!("the image has {} layers, too many for one overlayfs mount option string ({} bytes, at most {MOUNT_DATA_MAX})", lowers.len(), data.len()),
            help: "use a shorter store path (`--store DIR`) or an image with fewer layers".into(),
        });
    }
    nix::mount::mount(
        Some("overlay"),
        merged,
        Some("overlay"),
        MsFlags::empty(),
        Some(data.as_str()),
    )
    .map_err(|e| {
        ImageError::Mount(format!(
            "cannot mount the overlay rootfs at `{}`: {}{}",
            merged.display(),
            e.desc().to_lowercase(),
            if e == nix::errno::Errno::EINVAL {
                " (is the store on a filesystem overlayfs accepts as upper, not overlayfs itself?)"
            } else {
                ""
            }
        ))
    })
}

/// Unmounts `path`, lazily when it is still busy.
pub(crate) fn unmount(path: &Path) -> Result<(), String> {
    match nix::mount::umount2(path, MntFlags::empty()) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EBUSY) => nix::mount::umount2(path, MntFlags::MNT_DETACH)
            .map_err(|e| format!("cannot unmount `{}`: {}", path.display(), e.desc())),
        Err(nix::errno::Errno::EINVAL) if !is_mount_point(path) => Ok(()),
        Err(e) => Err(format!("cannot unmount `{}`: {}", path.display(), e.desc())),
    }
}

fn mount_points() -> Vec<PathBuf> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|p| {
            PathBuf::from(
                p.replace("\\040", " ")
                    .replace("\\011", "\t")
                    .replace("\\012", "\n")
                    .replace("\\134", "\\"),
            )
        })
        .collect()
}

fn is_mount_point(path: &Path) -> bool {
    mount_points().iter().any(|p| p == path)
}

/// Lazily unmounts every mount at or below `dir` (what a killed sbx left).
pub(crate) fn unmount_below(dir: &Path) {
    let mut below: Vec<PathBuf> = mount_points()
        .into_iter()
        .filter(|p| p.starts_with(dir))
        .collect();
    below.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for path in below {
        let _ = nix::mount::umount2(&path, MntFlags::MNT_DETACH);
    }
}

/// Removes the sandbox dirs of sbx processes that are gone (killed before
/// teardown), unless kept.
pub(crate) fn remove_stale_sandboxes(store: &Store) {
    let Ok(entries) = fs::read_dir(store.root().join("sandboxes")) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if owner_alive(&entry.file_name().to_string_lossy()) || path.join(KEEP_MARKER).exists() {
            continue;
        }
        unmount_below(&path);
        let _ = remove_any(&path);
    }
}

/// The layers that running (or kept) sandboxes use.
pub(crate) fn layers_in_use(store: &Store) -> Vec<String> {
    let Ok(entries) = fs::read_dir(store.root().join("sandboxes")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if owner_alive(&entry.file_name().to_string_lossy()) || path.join(KEEP_MARKER).exists() {
            if let Ok(text) = fs::read_to_string(path.join(LAYERS_FILE)) {
                out.extend(text.lines().map(str::to_string));
            }
        }
    }
    out
}

/// Applies the image's config where the profile is silent: the image's
/// `Entrypoint` + `Cmd` when the plan has no command, its `Env` under the
/// profile's own variables (above the compiler's defaults), its
/// `WorkingDir` when the plan's is the default `/`. The image's `User` is
/// not used: the sandbox runs as the profile's user (docs/images.md).
pub fn resolve_process(plan: &mut Plan, image: &ImageRecord) {
    let config = &image.config;
    if plan.process.args.is_empty() {
        plan.process.args = config
            .entrypoint
            .iter()
            .flatten()
            .chain(config.cmd.iter().flatten())
            .cloned()
            .collect();
    }
    if let Some(env) = &config.env {
        // A variable without a source is the compiler's default (PATH):
        // the image's own value wins over it, the profile's over both.
        let mut defaults = Vec::new();
        let mut own = Vec::new();
        for (i, var) in plan.process.env.iter().enumerate() {
            if plan.sources.contains_key(&format!("process.env.{i}")) {
                own.push(var.clone());
            } else {
                defaults.push(var.clone());
            }
        }
        let mut merged: Vec<EnvVar> = defaults;
        for entry in env {
            let (name, value) = entry.split_once('=').unwrap_or((entry, ""));
            merged.retain(|v| v.name != name);
            merged.push(EnvVar {
                name: name.into(),
                value: value.into(),
            });
        }
        for var in own {
            merged.retain(|v| v.name != var.name);
            merged.push(var);
        }
        plan.process.env = merged;
    }
    if plan.process.cwd == "/" {
        if let Some(dir) = config.working_dir.as_ref().filter(|d| d.starts_with('/')) {
            plan.process.cwd = dir.clone();
        }
    }
}
