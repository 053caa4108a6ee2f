//! The minimal /dev: what ordinary programs need and nothing of the host's
//! disks, consoles or kernel interfaces.

use std::path::Path;

use crate::sys::{MsFlags, Sys};

use super::setup::{Failure, Pinned};

/// The device nodes bound from the host, as runc's and crun's default
/// devices (the OCI runtime spec's list).
pub(super) const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// The links every /dev has (`/dev/fd` and the standard streams through
/// /proc, `ptmx` into this /dev/pts instance).
const LINKS: [(&str, &str); 5] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
];

/// The host's device nodes, opened before anything is mounted over the
/// host's /dev.
pub(super) struct HostDevices(Vec<(&'static str, Pinned)>);

impl HostDevices {
    pub(super) fn open() -> Result<HostDevices, Failure> {
        DEVICES
            .iter()
            .map(|name| {
                let path = Path::new("/dev").join(name);
                Pinned::open(&path)
                    .map(|pinned| (*name, pinned))
                    .map_err(|errno| Failure::new(format!("open `{}`", path.display()), errno))
            })
            .collect::<Result<_, _>>()
            .map(HostDevices)
    }
}

/// Mounts a tmpfs on `root`/dev and fills it.
pub(super) fn build<S: Sys + ?Sized>(
    sys: &S,
    root: &Path,
    devices: &HostDevices,
    pts_max: Option<u32>,
) -> Result<(), Failure> {
    let dev = root.join("dev");
    super::path::ensure_mount_point(sys, root, &dev, super::path::MountPoint::Directory)
        .map_err(|errno| Failure::new(format!("create `{}`", dev.display()), errno))?;
    // Not nodev: the device nodes live here. Size as runc's default /dev.
    sys.mount(
        Some(Path::new("tmpfs")),
        &dev,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )
    .map_err(Failure::at(format!("mount tmpfs on `{}`", dev.display())))?;

    // Bind mounts of the host's nodes rather than mknod: the same code
    // works as root and in a user namespace (where mknod is refused), as
    // bubblewrap and rootless runc do.
    for (name, pinned) in &devices.0 {
        let node = dev.join(name);
        sys.create_file(&node, 0o666)
            .map_err(Failure::at(format!("create `{}`", node.display())))?;
        sys.mount(
            Some(&pinned.proc_path()),
            &node,
            None,
            MsFlags::MS_BIND,
            None,
        )
        .map_err(Failure::at(format!(
            "bind `/dev/{name}` onto `{}`",
            node.display()
        )))?;
    }

    let pts = dev.join("pts");
    sys.mkdir(&pts, 0o755)
        .map_err(Failure::at(format!("create `{}`", pts.display())))?;
    mount_devpts(sys, &pts, MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC, pts_max)?;

    let shm = dev.join("shm");
    sys.mkdir(&shm, 0o1777)
        .map_err(Failure::at(format!("create `{}`", shm.display())))?;
    // 64 MiB as Docker's default /dev/shm.
    sys.mount(
        Some(Path::new("shm")),
        &shm,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )
    .map_err(Failure::at(format!("mount tmpfs on `{}`", shm.display())))?;

    for (name, target) in LINKS {
        let link = dev.join(name);
        sys.symlink(Path::new(target), &link)
            .map_err(Failure::at(format!(
                "link `{}` to `{target}`",
                link.display()
            )))?;
    }
    Ok(())
}

/// Mounts a new devpts instance (its own pty numbering, not the host's),
/// with `max=` from `console.pts`. gid 5 (`tty`) owns new ptys as on
/// every distribution; where gid 5 is not mapped (a user namespace without
/// it) the kernel refuses it with EINVAL and the mount is retried without,
/// as crun does.
pub(super) fn mount_devpts<S: Sys + ?Sized>(
    sys: &S,
    target: &Path,
    flags: MsFlags,
    max: Option<u32>,
) -> Result<(), Failure> {
    let max = max.map(|n| format!(",max={n}")).unwrap_or_default();
    let with_gid = format!("newinstance,ptmxmode=0666,mode=0620,gid=5{max}");
    let without_gid = format!("newinstance,ptmxmode=0666,mode=0620{max}");
    let action = || format!("mount devpts on `{}`", target.display());
    let devpts = Some(Path::new("devpts"));
    match sys.mount(devpts, target, Some("devpts"), flags, Some(&with_gid)) {
        Err(crate::sys::Errno::EINVAL) => sys
            .mount(devpts, target, Some("devpts"), flags, Some(&without_gid))
            .map_err(Failure::at(action())),
        other => other.map_err(Failure::at(action())),
    }
}
