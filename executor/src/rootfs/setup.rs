//! The child-side sequence that builds the root filesystem (crun's
//! `container_init_setup`, runc's `prepareRootfs` and `finalizeRootfs`).

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sbx_plan::{Mount, MountKind, MountOption, Namespace, Plan, Rootfs};

use crate::sys::{Errno, MntFlags, MountAttr, MsFlags, Sys, SysResult};

use super::attrs::set_attrs;
use super::dev::{self, HostDevices};
use super::path::{ensure_mount_point, io_errno, resolve_in_root, MountPoint};
use super::{location_of, RootfsError, Step, StepError};

/// Where the host's `/` is bound as the new root while it is being built.
/// Any directory of the host would do: the sandbox's own tmpfs later covers
/// `/tmp` inside the new root, and bind sources are opened before anything
/// is mounted, so nothing the sandbox needs is hidden by it.
pub(super) const HOST_ROOT_STAGING: &str = "/tmp";

/// A debug-build test hook: when set to the path of a FIFO, the child reads
/// it to its end after making mounts private and before opening any mount
/// source, so that an end-to-end test can change the host in between (a
/// bind source that vanishes between preflight and apply).
#[cfg(debug_assertions)]
pub const TEST_GATE_ENV: &str = "SBX_TEST_ROOTFS_GATE";

/// A failed kernel call inside a step: what was done, and the errno.
#[derive(Debug)]
pub(super) struct Failure {
    action: String,
    errno: Errno,
    hint: Option<String>,
}

impl Failure {
    pub(super) fn new(action: impl Into<String>, errno: Errno) -> Failure {
        Failure {
            action: action.into(),
            errno,
            hint: None,
        }
    }

    /// For `map_err`: the failure of `action`.
    pub(super) fn at(action: String) -> impl FnOnce(Errno) -> Failure {
        move |errno| Failure::new(action, errno)
    }

    fn with_hint(mut self, hint: impl Into<String>) -> Failure {
        self.hint = Some(hint.into());
        self
    }
}

/// A host path opened with `O_PATH` before the new root hides anything, and
/// mounted from `/proc/self/fd/N`: the mount gets exactly what was opened,
/// even if the path is covered (the host's `/tmp` under the sandbox's
/// tmpfs) or swapped afterwards.
pub(super) struct Pinned(File);

impl Pinned {
    pub(super) fn open(path: &Path) -> SysResult<Pinned> {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
            .open(path)
            .map(Pinned)
            .map_err(io_errno)
    }

    pub(super) fn proc_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.0.as_raw_fd()))
    }

    fn is_dir(&self) -> bool {
        self.0.metadata().map(|m| m.is_dir()).unwrap_or(false)
    }
}

pub(super) fn prepare<S: Sys + ?Sized>(plan: &Plan, sys: &S) -> Result<(), RootfsError> {
    let run = Runner { plan };
    // Without a mount namespace of its own, every mount below would change
    // the host's: refuse (preflight says so first, with the fix).
    if !plan.namespaces.contains(&Namespace::Mount) {
        return Err(super::preflight::mount_namespace_missing(plan));
    }

    // 1. Before anything else: a host whose `/` is shared (systemd mounts it
    //    so) would otherwise receive every mount made below.
    run.step(Step::MakePrivate, None, || {
        sys.mount(
            None,
            Path::new("/"),
            None,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None,
        )
        .map_err(Failure::at("make `/` recursively private".into()))
    })?;

    #[cfg(debug_assertions)]
    wait_at_test_gate();

    // 2. Open every host source while the host's tree is still fully
    //    visible: the new root may cover some of it (`/tmp`, `/dev`).
    let devices = run.step(Step::Dev, None, HostDevices::open)?;
    let host_sys = run.step(Step::Sysfs, None, || {
        Pinned::open(Path::new("/sys")).map_err(Failure::at("open `/sys`".into()))
    })?;
    let mut bind_sources = Vec::with_capacity(plan.mounts.len());
    for (index, mount) in plan.mounts.iter().enumerate() {
        let pinned = match (&mount.kind, &mount.source) {
            (MountKind::Bind, Some(source)) => {
                Some(run.step(mount_step(index, mount), None, || {
                    Pinned::open(Path::new(source)).map_err(|errno| {
                        Failure::new(format!("open bind source `{source}`"), errno).with_hint(
                            "the source was checked before the sandbox started: \
                             it must still exist when the mount is made",
                        )
                    })
                })?)
            }
            _ => None,
        };
        bind_sources.push(pinned);
    }

    // 3. The new root, a mount point of its own (pivot_root needs one).
    let host = matches!(plan.rootfs, Rootfs::Host);
    let root = run.step(Step::BindRoot, None, || bind_root(plan, sys))?;

    // 4. /proc before pivot_root: in a user namespace the kernel mounts a
    //    new proc only while a full proc is still visible (the old root's).
    run.step(Step::Proc, None, || {
        let target = root.join("proc");
        drop_host_copy(sys, host, &target)?;
        ensure_mount_point(sys, &root, &target, MountPoint::Directory)
            .map_err(Failure::at(format!("create `{}`", target.display())))?;
        sys.mount(
            Some(Path::new("proc")),
            &target,
            Some("proc"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None,
        )
        .map_err(Failure::at(format!("mount proc on `{}`", target.display())))
    })?;

    // 5. /dev, from the host's nodes opened above.
    run.step(Step::Dev, None, || {
        drop_host_copy(sys, host, &root.join("dev"))?;
        dev::build(sys, &root, &devices, plan.console.pts)
    })?;

    // 6. /sys read-only.
    run.step(Step::Sysfs, None, || {
        drop_host_copy(sys, host, &root.join("sys"))?;
        mount_sysfs(sys, &root, &host_sys)
    })?;

    // 7. The host's `/` is read-only: give the workload the writable
    //    scratch places programs expect.
    if host {
        for (path, mode) in [("/tmp", "mode=1777"), ("/run", "mode=755")] {
            run.step(Step::DefaultTmpfs(path.into()), None, || {
                drop_host_copy(sys, host, &root.join(&path[1..]))?;
                mount_tmpfs(sys, &root, path, MsFlags::empty(), mode)
            })?;
        }
    }

    // 8. Volumes before the `mount` blocks, so that a `mount` at or below a
    //    volume's path is what the workload sees there.
    for (index, volume) in plan.volumes.iter().enumerate() {
        let keys = [format!("volumes.{index}"), "volumes".to_string()];
        run.step(Step::Volume(volume.clone()), Some(&keys), || {
            mount_tmpfs(sys, &root, volume, MsFlags::empty(), "mode=755")
                .map_err(|f| read_only_host_hint(f, host))
        })?;
    }

    // 9. The profile's `mount` blocks, in the plan's order (a later mount
    //    may sit on an earlier one).
    for (index, mount) in plan.mounts.iter().enumerate() {
        let keys = [format!("mounts.{index}")];
        run.step(mount_step(index, mount), Some(&keys), || {
            user_mount(sys, &root, mount, bind_sources[index].as_ref(), plan)
                .map_err(|f| read_only_host_hint(f, host))
        })?;
    }
    // The host's files stay open no longer than needed.
    drop(bind_sources);
    drop(devices);
    drop(host_sys);

    // 10. pivot_root(".", ".") stacks the old root on the new one at `/`,
    //     with no directory for it inside the new root; the detached
    //     unmount then drops the whole host tree from the namespace (safe:
    //     every mount is private, nothing propagates).
    run.step(Step::PivotRoot, None, || {
        sys.chdir(&root)
            .map_err(Failure::at(format!("chdir to `{}`", root.display())))?;
        sys.pivot_root(Path::new("."), Path::new("."))
            .map_err(Failure::at(format!("pivot_root to `{}`", root.display())))
    })?;
    run.step(Step::DetachOldRoot, None, || {
        sys.umount2(Path::new("."), MntFlags::MNT_DETACH)
            .map_err(Failure::at("detach the old root".into()))?;
        sys.chdir(Path::new("/"))
            .map_err(Failure::at("chdir to `/`".into()))
    })?;

    // 11. Read-only and masked paths, after pivot_root: they name paths of
    //     the sandbox's final tree, including the /proc and /sys mounted
    //     above. Read-only first, then masked, as runc.
    let readonly_keys = ["security.readonly_paths".to_string()];
    for path in &plan.security.readonly_paths {
        run.step(
            Step::ReadonlyPath(path.clone()),
            Some(&readonly_keys),
            || readonly_path(sys, path),
        )?;
    }
    let masked_keys = ["security.masked_paths".to_string()];
    for path in &plan.security.masked_paths {
        run.step(Step::MaskedPath(path.clone()), Some(&masked_keys), || {
            masked_path(sys, path)
        })?;
    }

    // 12. Last: every mount point above had to be creatable in the rootfs.
    if plan.security.rootfs_readonly {
        let keys = ["security.rootfs_readonly".to_string()];
        run.step(Step::RootfsReadonly, Some(&keys), || {
            set_attrs(sys, Path::new("/"), false, MountAttr::RDONLY)
                .map_err(Failure::at("make `/` read-only".into()))
        })?;
    }
    Ok(())
}

/// Turns a step's [`Failure`] into a [`RootfsError`] naming the step and
/// the setting.
struct Runner<'a> {
    plan: &'a Plan,
}

impl Runner<'_> {
    fn step<T>(
        &self,
        step: Step,
        setting: Option<&[String]>,
        body: impl FnOnce() -> Result<T, Failure>,
    ) -> Result<T, RootfsError> {
        body().map_err(|failure| {
            let keys: Vec<String> = setting
                .map(<[String]>::to_vec)
                .or_else(|| default_setting(&step))
                .unwrap_or_default();
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            RootfsError::Step(Box::new(StepError {
                location: location_of(self.plan, &keys),
                setting: keys.first().map(|k| k.to_string()),
                step,
                action: failure.action,
                errno: failure.errno,
                hint: failure.hint,
            }))
        })
    }
}

fn default_setting(step: &Step) -> Option<Vec<String>> {
    match step {
        Step::BindRoot => Some(vec!["rootfs".into(), "from".into()]),
        Step::Mount { index, .. } => Some(vec![format!("mounts.{index}")]),
        _ => None,
    }
}

fn mount_step(index: usize, mount: &Mount) -> Step {
    Step::Mount {
        index,
        destination: mount.destination.clone(),
    }
}

/// On the host's root, drops the copy of the host's own mount (its /dev,
/// /proc, /sys, /tmp) that the recursive bind brought along, before the
/// sandbox's replacement is mounted there: the workload's mount table then
/// has no hidden host mount below its own. EINVAL means there is nothing to
/// drop: no mount there, or, in a user namespace, a copy the kernel locks
/// to its parent (it stays hidden and read-only below the new mount).
fn drop_host_copy<S: Sys + ?Sized>(sys: &S, host: bool, target: &Path) -> Result<(), Failure> {
    if !host {
        return Ok(());
    }
    match sys.umount2(target, MntFlags::MNT_DETACH) {
        Ok(()) | Err(Errno::EINVAL) => Ok(()),
        Err(errno) => Err(Failure::new(
            format!("unmount the host's copy at `{}`", target.display()),
            errno,
        )),
    }
}

/// Binds the new root onto a mount point of its own and returns where it is.
fn bind_root<S: Sys + ?Sized>(plan: &Plan, sys: &S) -> Result<PathBuf, Failure> {
    match &plan.rootfs {
        Rootfs::Host => {
            let root = PathBuf::from(HOST_ROOT_STAGING);
            sys.mount(
                Some(Path::new("/")),
                &root,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
            )
            .map_err(Failure::at(format!("bind `/` onto `{}`", root.display())))?;
            // Read-only at once and recursively (every mount of the host's
            // tree), before anything is mounted on it: the sandbox's own
            // mounts on top keep their own flags, and nothing below can
            // create a file on the host's disk.
            set_attrs(sys, &root, true, MountAttr::RDONLY)
                .map_err(Failure::at(format!("make `{}` read-only", root.display())))?;
            Ok(root)
        }
        Rootfs::Directory { path } => {
            let root = std::fs::canonicalize(path)
                .map_err(|e| Failure::new(format!("find the rootfs `{path}`"), io_errno(e)))?;
            sys.mount(
                Some(&root),
                &root,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
            )
            .map_err(Failure::at(format!(
                "bind `{}` onto itself",
                root.display()
            )))?;
            Ok(root)
        }
        Rootfs::OciLayout { .. } | Rootfs::Image { .. } => Err(Failure::new(
            "the image is not mounted (an image rootfs is mounted before preflight)",
            Errno::ENOTSUP,
        )),
    }
}

/// A fresh sysfs (it shows the sandbox's own network devices), read-only.
/// Where the kernel refuses one, the host's /sys is bound instead,
/// read-only too, as crun does: in a user namespace that does not own its
/// network namespace (EPERM), and, without a network namespace, on the
/// host's root, whose copy of /sys is the very superblock a new sysfs would
/// get (EBUSY: the kernel does not stack a filesystem on its own root).
fn mount_sysfs<S: Sys + ?Sized>(sys: &S, root: &Path, host_sys: &Pinned) -> Result<(), Failure> {
    let target = root.join("sys");
    ensure_mount_point(sys, root, &target, MountPoint::Directory)
        .map_err(Failure::at(format!("create `{}`", target.display())))?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let read_only = |recursive| {
        set_attrs(sys, &target, recursive, MountAttr::RDONLY).map_err(Failure::at(format!(
            "make `{}` read-only",
            target.display()
        )))
    };
    match sys.mount(
        Some(Path::new("sysfs")),
        &target,
        Some("sysfs"),
        flags,
        None,
    ) {
        Err(Errno::EPERM | Errno::EBUSY) => {
            sys.mount(
                Some(&host_sys.proc_path()),
                &target,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
            )
            .map_err(Failure::at(format!(
                "bind `/sys` onto `{}`",
                target.display()
            )))?;
            set_attrs(
                sys,
                &target,
                true,
                MountAttr::NOSUID | MountAttr::NODEV | MountAttr::NOEXEC,
            )
            .map_err(Failure::at(format!(
                "apply options to `{}`",
                target.display()
            )))?;
            read_only(true)
        }
        // Read-only as a second call: without a network namespace of its
        // own the sandbox shares the host's sysfs superblock, which is
        // read-write, and the kernel refuses to mount it read-only at once
        // (EBUSY); the flag on this mount alone is what is wanted anyway.
        Ok(()) => read_only(false),
        Err(errno) => Err(Failure::new(
            format!("mount sysfs on `{}`", target.display()),
            errno,
        )),
    }
}

fn mount_tmpfs<S: Sys + ?Sized>(
    sys: &S,
    root: &Path,
    path: &str,
    flags: MsFlags,
    data: &str,
) -> Result<(), Failure> {
    let target = resolve(root, path)?;
    ensure_mount_point(sys, root, &target, MountPoint::Directory)
        .map_err(Failure::at(format!("create mount point `{path}`")))?;
    sys.mount(
        Some(Path::new("tmpfs")),
        &target,
        Some("tmpfs"),
        flags | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(data),
    )
    .map_err(Failure::at(format!("mount tmpfs on `{path}`")))
}

fn resolve(root: &Path, path: &str) -> Result<PathBuf, Failure> {
    resolve_in_root(root, path).map_err(Failure::at(format!("resolve `{path}` in the rootfs")))
}

/// On the host's root, which is read-only, sbx cannot create a mount point.
fn read_only_host_hint(failure: Failure, host: bool) -> Failure {
    if host && failure.errno == Errno::EROFS {
        failure.with_hint(
            "with `from = \"host\"` the host's `/` is read-only and sbx creates \
             nothing on it: create the directory on the host, or mount under \
             `/tmp` or `/run`",
        )
    } else {
        failure
    }
}

fn user_mount<S: Sys + ?Sized>(
    sys: &S,
    root: &Path,
    mount: &Mount,
    source: Option<&Pinned>,
    plan: &Plan,
) -> Result<(), Failure> {
    let destination = mount.destination.as_str();
    let target = resolve(root, destination)?;
    let has = |option| mount.options.contains(&option);
    let point = match source {
        Some(pinned) if !pinned.is_dir() => MountPoint::File,
        _ => MountPoint::Directory,
    };
    ensure_mount_point(sys, root, &target, point)
        .map_err(Failure::at(format!("create mount point `{destination}`")))?;

    if mount.kind == MountKind::Bind {
        let pinned = source.ok_or_else(|| {
            Failure::new(
                format!("bind onto `{destination}` without a source"),
                Errno::EINVAL,
            )
        })?;
        let source_text = mount.source.as_deref().unwrap_or_default();
        let recursive = has(MountOption::Rbind);
        let mut flags = MsFlags::MS_BIND;
        if recursive {
            flags |= MsFlags::MS_REC;
        }
        sys.mount(Some(&pinned.proc_path()), &target, None, flags, None)
            .map_err(Failure::at(format!(
                "bind `{source_text}` onto `{destination}`"
            )))?;
        // A bind mount ignores ro/nosuid/nodev/noexec when it is made: they
        // take a second call (mount_setattr, the modern remount, which keeps
        // every other flag and covers the submounts of an rbind too).
        let mut attrs = MountAttr::NONE;
        for (option, attr) in [
            (MountOption::Ro, MountAttr::RDONLY),
            (MountOption::Nosuid, MountAttr::NOSUID),
            (MountOption::Nodev, MountAttr::NODEV),
            (MountOption::Noexec, MountAttr::NOEXEC),
        ] {
            if has(option) {
                attrs |= attr;
            }
        }
        if attrs != MountAttr::NONE {
            set_attrs(sys, &target, recursive, attrs)
                .map_err(Failure::at(format!("apply options to `{destination}`")))?;
        }
        return Ok(());
    }

    let mut flags = MsFlags::empty();
    for (option, flag) in [
        (MountOption::Ro, MsFlags::MS_RDONLY),
        (MountOption::Nosuid, MsFlags::MS_NOSUID),
        (MountOption::Nodev, MsFlags::MS_NODEV),
        (MountOption::Noexec, MsFlags::MS_NOEXEC),
    ] {
        if has(option) {
            flags |= flag;
        }
    }
    let (fstype, data) = match mount.kind {
        MountKind::Tmpfs => ("tmpfs", mount.size.map(|size| format!("size={size}"))),
        MountKind::Proc => ("proc", None),
        MountKind::Sysfs => ("sysfs", None),
        MountKind::Devpts => {
            return dev::mount_devpts(sys, &target, flags, plan.console.pts);
        }
        MountKind::Bind => unreachable!("handled above"),
    };
    // sysfs and proc may share a superblock that is mounted read-write
    // elsewhere (the host's, without a network or pid namespace of the
    // sandbox's own); the kernel refuses `ro` at mount time then (EBUSY),
    // so `ro` is applied to this mount alone, in a second call.
    let late_read_only = matches!(mount.kind, MountKind::Proc | MountKind::Sysfs)
        && flags.contains(MsFlags::MS_RDONLY);
    if late_read_only {
        flags.remove(MsFlags::MS_RDONLY);
    }
    sys.mount(
        Some(Path::new(fstype)),
        &target,
        Some(fstype),
        flags,
        data.as_deref(),
    )
    .map_err(Failure::at(format!("mount {fstype} on `{destination}`")))?;
    if late_read_only {
        set_attrs(sys, &target, false, MountAttr::RDONLY)
            .map_err(Failure::at(format!("make `{destination}` read-only")))?;
    }
    Ok(())
}

/// Binds a path onto itself and makes it (and its submounts) read-only.
/// A path the sandbox does not have is skipped, as runc does: the defaults
/// list paths that only some kernels have.
fn readonly_path<S: Sys + ?Sized>(sys: &S, path: &str) -> Result<(), Failure> {
    let target = resolve(Path::new("/"), path)?;
    if std::fs::symlink_metadata(&target).is_err() {
        return Ok(());
    }
    sys.mount(
        Some(&target),
        &target,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
    .map_err(Failure::at(format!("bind `{path}` onto itself")))?;
    set_attrs(sys, &target, true, MountAttr::RDONLY)
        .map_err(Failure::at(format!("make `{path}` read-only")))
}

/// Hides a path: /dev/null over a file, an empty read-only tmpfs over a
/// directory, as runc does. A missing path is skipped.
fn masked_path<S: Sys + ?Sized>(sys: &S, path: &str) -> Result<(), Failure> {
    let target = resolve(Path::new("/"), path)?;
    let Ok(metadata) = std::fs::metadata(&target) else {
        return Ok(());
    };
    if metadata.is_dir() {
        sys.mount(
            Some(Path::new("tmpfs")),
            &target,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            None,
        )
        .map_err(Failure::at(format!("mount an empty tmpfs on `{path}`")))
    } else {
        sys.mount(
            Some(Path::new("/dev/null")),
            &target,
            None,
            MsFlags::MS_BIND,
            None,
        )
        .map_err(Failure::at(format!("bind `/dev/null` onto `{path}`")))
    }
}

/// Blocks on the test gate FIFO, when the test hook is set.
#[cfg(debug_assertions)]
fn wait_at_test_gate() {
    use std::io::Read;
    if let Some(path) = std::env::var_os(TEST_GATE_ENV) {
        if let Ok(mut fifo) = File::open(path) {
            let mut sink = Vec::new();
            let _ = fifo.read_to_end(&mut sink);
        }
    }
}
