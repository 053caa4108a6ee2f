//! Paths inside the sandbox, resolved on the host side while the new root
//! is being built.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use crate::sys::{Errno, Sys, SysResult};

/// How many symlinks a resolution follows before giving up, as the kernel's
/// own limit for a path walk.
const MAX_LINKS: u32 = 40;

/// Resolves `path` (absolute, as the sandbox will see it) to the host path
/// under `root` that it will be, following symlinks as if `root` were `/`:
/// an absolute link starts again at `root`, and `..` never climbs above it.
/// So a rootfs whose `/var` links to `/` cannot make sbx mount over the
/// host's own directories. Missing components are kept as written (they are
/// created as mount points).
pub(super) fn resolve_in_root(root: &Path, path: &str) -> SysResult<PathBuf> {
    let mut pending: VecDeque<OsString> = components(Path::new(path)).collect();
    let mut resolved = PathBuf::new();
    let mut links = 0;
    while let Some(name) = pending.pop_front() {
        if name == ".." {
            resolved.pop();
            continue;
        }
        let candidate = root.join(&resolved).join(&name);
        let is_link = std::fs::symlink_metadata(&candidate)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        if !is_link {
            resolved.push(&name);
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return Err(Errno::ELOOP);
        }
        let target = std::fs::read_link(&candidate).map_err(io_errno)?;
        if target.is_absolute() {
            resolved.clear();
        }
        for part in components(&target).collect::<Vec<_>>().into_iter().rev() {
            pending.push_front(part);
        }
    }
    Ok(root.join(resolved))
}

/// The names of a path's components, `..` kept, `/` and `.` dropped.
fn components(path: &Path) -> impl Iterator<Item = OsString> + '_ {
    path.components().filter_map(|c| match c {
        Component::Normal(name) => Some(name.to_os_string()),
        Component::ParentDir => Some(OsString::from("..")),
        Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
    })
}

/// What a mount point must be: a directory, or a file for a bind mount of a
/// file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MountPoint {
    Directory,
    File,
}

/// Creates the mount point `target` (already resolved, under `root`) and
/// its missing parents, unless it exists. Parents are created as 0755
/// directories, as runc and crun do.
pub(super) fn ensure_mount_point<S: Sys + ?Sized>(
    sys: &S,
    root: &Path,
    target: &Path,
    kind: MountPoint,
) -> SysResult<()> {
    if std::fs::symlink_metadata(target).is_ok() {
        return Ok(());
    }
    let inside = target.strip_prefix(root).unwrap_or(target);
    let mut parent = root.to_path_buf();
    let names: Vec<_> = inside.components().collect();
    for name in &names[..names.len().saturating_sub(1)] {
        parent.push(name);
        if std::fs::symlink_metadata(&parent).is_err() {
            tolerate_exists(sys.mkdir(&parent, 0o755))?;
        }
    }
    match kind {
        MountPoint::Directory => tolerate_exists(sys.mkdir(target, 0o755)),
        MountPoint::File => sys.create_file(target, 0o644),
    }
}

fn tolerate_exists(result: SysResult<()>) -> SysResult<()> {
    match result {
        Err(Errno::EEXIST) => Ok(()),
        other => other,
    }
}

pub(super) fn io_errno(error: std::io::Error) -> Errno {
    error
        .raw_os_error()
        .map(Errno::from_raw)
        .unwrap_or(Errno::EIO)
}
