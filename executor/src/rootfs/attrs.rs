//! Per-mount attributes (read-only, nosuid, nodev, noexec) on one mount or
//! a tree of mounts.

use std::path::{Path, PathBuf};

use nix::sys::statvfs::{statvfs, FsFlags};

use crate::sys::{Errno, MountAttr, MsFlags, Sys, SysResult};

/// Sets `attrs` on the mount at `path`, and on every mount below it when
/// `recursive`.
///
/// `mount_setattr(2)` where the kernel has it (Linux 5.12 and later): one
/// call, which leaves every other attribute as it is. On older kernels
/// (ENOSYS) each mount is remounted (`MS_REMOUNT|MS_BIND`) with the flags it
/// already has plus the new ones: in a user namespace the kernel refuses a
/// remount that would clear a flag locked by the host (runc does the same).
pub(super) fn set_attrs<S: Sys + ?Sized>(
    sys: &S,
    path: &Path,
    recursive: bool,
    attrs: MountAttr,
) -> SysResult<()> {
    match sys.mount_setattr(path, recursive, attrs) {
        Err(Errno::ENOSYS) => remount_each(sys, path, recursive, attrs),
        other => other,
    }
}

fn remount_each<S: Sys + ?Sized>(
    sys: &S,
    path: &Path,
    recursive: bool,
    attrs: MountAttr,
) -> SysResult<()> {
    let mut points = vec![path.to_path_buf()];
    if recursive {
        points.extend(mounts_below(path));
    }
    let wanted = ms_flags(attrs);
    for point in points {
        let flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | current_flags(&point)? | wanted;
        sys.mount(None, &point, None, flags, None)?;
    }
    Ok(())
}

fn ms_flags(attrs: MountAttr) -> MsFlags {
    let mut flags = MsFlags::empty();
    for (attr, flag) in [
        (MountAttr::RDONLY, MsFlags::MS_RDONLY),
        (MountAttr::NOSUID, MsFlags::MS_NOSUID),
        (MountAttr::NODEV, MsFlags::MS_NODEV),
        (MountAttr::NOEXEC, MsFlags::MS_NOEXEC),
    ] {
        if attrs.0 & attr.0 != 0 {
            flags |= flag;
        }
    }
    flags
}

/// The per-mount flags the mount at `path` has now.
fn current_flags(path: &Path) -> SysResult<MsFlags> {
    let found = statvfs(path)?.flags();
    let mut flags = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if found.contains(fs) {
            flags |= ms;
        }
    }
    Ok(flags)
}

/// The mount points strictly below `path`, parents first, from
/// /proc/self/mountinfo.
fn mounts_below(path: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut found: Vec<PathBuf> = Vec::new();
    for line in text.lines() {
        let Some(point) = line.split(' ').nth(4).map(unescape) else {
            continue;
        };
        let point = PathBuf::from(point);
        if point != path && point.starts_with(path) && !found.contains(&point) {
            found.push(point);
        }
    }
    found.sort_by_key(|p| p.components().count());
    found
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            if let Ok(value) = u8::from_str_radix(&field[i + 1..i + 4], 8) {
                out.push(value);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::{LinuxSys, MntFlags};

    /// Set by the test below for its own re-run inside a private mount
    /// namespace.
    const INSIDE: &str = "SBX_TEST_INSIDE_MOUNT_NAMESPACE";

    /// The remount fallback, for real: a tmpfs with a tmpfs below it, both
    /// read-only afterwards, and their other flags kept. Runs itself again
    /// under util-linux `unshare --mount` so the host never sees a mount.
    #[test]
    fn remounting_a_tree_makes_every_mount_read_only() {
        if std::env::var_os(INSIDE).is_some() {
            let dir = tempfile::tempdir().unwrap();
            let top = dir.path();
            let sub = top.join("sub");
            let sys = LinuxSys;
            let tmpfs = Some(Path::new("tmpfs"));
            sys.mount(tmpfs, top, Some("tmpfs"), MsFlags::MS_NOSUID, None)
                .unwrap();
            std::fs::create_dir(&sub).unwrap();
            sys.mount(tmpfs, &sub, Some("tmpfs"), MsFlags::MS_NOEXEC, None)
                .unwrap();
            remount_each(&sys, top, true, MountAttr::RDONLY).unwrap();
            for (path, kept) in [(top, FsFlags::ST_NOSUID), (&sub, FsFlags::ST_NOEXEC)] {
                let error = std::fs::write(path.join("x"), "x").unwrap_err();
                assert_eq!(
                    error.raw_os_error(),
                    Some(libc::EROFS),
                    "{}",
                    path.display()
                );
                assert!(statvfs(path).unwrap().flags().contains(kept));
            }
            sys.umount2(top, MntFlags::MNT_DETACH).unwrap();
            return;
        }
        if !nix::unistd::geteuid().is_root() {
            assert_ne!(
                std::env::var("SBX_REQUIRE_PRIVILEGED").as_deref(),
                Ok("1"),
                "needs root, and SBX_REQUIRE_PRIVILEGED=1 forbids skipping"
            );
            eprintln!("skipped: needs root");
            return;
        }
        // Its output is kept out of this run's: the inner harness prints a
        // summary line of its own.
        let output = std::process::Command::new("unshare")
            .args(["--mount", "--propagation", "private"])
            .arg(std::env::current_exe().unwrap())
            .args([
                "rootfs::attrs::tests::remounting_a_tree_makes_every_mount_read_only",
                "--exact",
                "--test-threads=1",
            ])
            .env(INSIDE, "1")
            .output()
            .expect("util-linux unshare runs");
        assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape(r"/a\040b\011c"), "/a b\tc");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn attributes_map_to_remount_flags() {
        assert_eq!(
            ms_flags(MountAttr::RDONLY | MountAttr::NOEXEC),
            MsFlags::MS_RDONLY | MsFlags::MS_NOEXEC
        );
        assert_eq!(ms_flags(MountAttr::NONE), MsFlags::empty());
    }
}
