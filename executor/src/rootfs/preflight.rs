//! Checks before anything is changed: every refusal names the setting, its
//! profile line and the fix.

use std::path::{Component, Path};

use sbx_plan::{MountKind, MountOption, Namespace, Plan, Rootfs};

use super::{location_of, RootfsError};

/// The largest `max=` a devpts instance accepts (the kernel's
/// NR_UNIX98_PTY_MAX).
const PTS_MAX: u32 = 1 << 20;

/// Places of the sandbox that are its own (tmpfs) with `from = "host"`: a
/// mount point below them can be created.
const HOST_WRITABLE: [&str; 3] = ["/tmp", "/run", "/dev"];

fn setting(plan: &Plan, key: &str, problem: String, help: impl Into<String>) -> RootfsError {
    RootfsError::Setting {
        location: location_of(plan, &[key]),
        setting: key.to_string(),
        problem,
        help: help.into(),
    }
}

pub(super) fn mount_namespace_missing(plan: &Plan) -> RootfsError {
    setting(
        plan,
        "namespaces",
        "the root filesystem needs a mount namespace of its own, and `namespaces` \
         does not list `mount`"
            .into(),
        "add `mount` to `namespaces`",
    )
}

pub(super) fn check(plan: &Plan) -> Result<(), RootfsError> {
    if !plan.namespaces.contains(&Namespace::Mount) {
        return Err(mount_namespace_missing(plan));
    }
    check_rootfs(plan)?;
    let host = matches!(plan.rootfs, Rootfs::Host);

    // Destinations the sandbox makes writable itself, where sbx may create
    // mount points even on the read-only host.
    let mut writable: Vec<&str> = if host { HOST_WRITABLE.to_vec() } else { vec![] };

    for (index, volume) in plan.volumes.iter().enumerate() {
        let key = volume_key(plan, index);
        check_sandbox_path(plan, &key, volume)?;
        if Path::new(volume) == Path::new("/") {
            return Err(setting(
                plan,
                &key,
                "a volume cannot replace the root `/`".into(),
                "give the directory that holds the data (`/var/lib/db`)",
            ));
        }
        if host {
            check_host_mount_point(plan, &key, volume, &writable)?;
        }
        writable.push(volume);
    }

    for (index, mount) in plan.mounts.iter().enumerate() {
        let key = format!("mounts.{index}");
        let destination = mount.destination.as_str();
        check_sandbox_path(plan, &key, destination)?;
        if destination == "/" {
            return Err(setting(
                plan,
                &key,
                "a mount cannot replace the root `/`".into(),
                "use `from` to choose the root filesystem",
            ));
        }
        match (mount.kind, &mount.source) {
            (MountKind::Bind, None) => {
                return Err(setting(
                    plan,
                    &key,
                    format!("the bind mount `{destination}` has no `source`"),
                    "add `source = \"/host/path\"`",
                ))
            }
            (MountKind::Bind, Some(source)) => {
                if !Path::new(source).is_absolute() {
                    return Err(setting(
                        plan,
                        &key,
                        format!("the bind source `{source}` is not an absolute path"),
                        "give the full host path, starting with `/`",
                    ));
                }
                if let Err(error) = std::fs::metadata(source) {
                    return Err(setting(
                        plan,
                        &key,
                        format!(
                            "the bind source `{source}` cannot be used: {}",
                            lowercase(&error.to_string())
                        ),
                        "create it on the host, or fix the path",
                    ));
                }
            }
            (kind, Some(source)) => {
                return Err(setting(
                    plan,
                    &key,
                    format!(
                    "`source = \"{source}\"` is only for bind mounts, and `{destination}` is {}",
                    kind_name(kind)
                ),
                    "remove `source`, or use `type = bind`",
                ))
            }
            (_, None) => {}
        }
        if mount.size.is_some() && mount.kind != MountKind::Tmpfs {
            return Err(setting(
                plan,
                &key,
                format!(
                    "`size` is only for tmpfs, and `{destination}` is {}",
                    kind_name(mount.kind)
                ),
                "remove `size`, or use `type = tmpfs`",
            ));
        }
        if mount.options.contains(&MountOption::Rbind) && mount.kind != MountKind::Bind {
            return Err(setting(
                plan,
                &key,
                format!(
                    "`rbind` is only for bind mounts, and `{destination}` is {}",
                    kind_name(mount.kind)
                ),
                "remove `rbind` from `options`",
            ));
        }
        if host {
            check_host_mount_point(plan, &key, destination, &writable)?;
        }
        if matches!(mount.kind, MountKind::Tmpfs) {
            writable.push(destination);
        }
    }

    for (key, paths) in [
        ("security.readonly_paths", &plan.security.readonly_paths),
        ("security.masked_paths", &plan.security.masked_paths),
    ] {
        for path in paths {
            check_sandbox_path(plan, key, path)?;
        }
    }
    if let Some(root) = plan
        .security
        .masked_paths
        .iter()
        .find(|p| Path::new(p) == Path::new("/"))
    {
        return Err(setting(
            plan,
            "security.masked_paths",
            format!("masking `{root}` would hide the whole root filesystem"),
            "remove `/` from `masked_paths`",
        ));
    }

    if let Some(pts) = plan.console.pts {
        if pts == 0 || pts > PTS_MAX {
            return Err(setting(
                plan,
                "console.pts",
                format!("`pts = {pts}` is out of range"),
                format!("give a number of ptys from 1 to {PTS_MAX}"),
            ));
        }
    }
    Ok(())
}

fn check_rootfs(plan: &Plan) -> Result<(), RootfsError> {
    let key = if plan.sources.contains_key("from") {
        "from"
    } else {
        "rootfs"
    };
    match &plan.rootfs {
        Rootfs::Host => {
            if !Path::new(super::setup::HOST_ROOT_STAGING).is_dir() {
                return Err(setting(
                    plan,
                    key,
                    "`from = \"host\"` needs the host's `/tmp` directory, and it is missing".into(),
                    "create `/tmp` on the host",
                ));
            }
            Ok(())
        }
        Rootfs::Directory { path } => {
            if !Path::new(path).is_absolute() {
                return Err(setting(
                    plan,
                    key,
                    format!("the rootfs `{path}` is not an absolute path"),
                    "give the full path of the rootfs directory, starting with `/`",
                ));
            }
            match std::fs::metadata(path) {
                Err(error) => Err(setting(
                    plan,
                    key,
                    format!(
                        "the rootfs `{path}` cannot be used: {}",
                        lowercase(&error.to_string())
                    ),
                    "create the directory (for example by unpacking an image into it), or fix the path",
                )),
                Ok(metadata) if !metadata.is_dir() => Err(setting(
                    plan,
                    key,
                    format!("the rootfs `{path}` is not a directory"),
                    "give a directory holding a root filesystem (`bin`, `etc`, ...)",
                )),
                Ok(_) if std::fs::canonicalize(path).is_ok_and(|p| p == Path::new("/")) => {
                    Err(setting(
                        plan,
                        key,
                        format!("the rootfs `{path}` is the host's own `/`, which would be writable"),
                        "use `from = \"host\"` (the host's `/` read-only)",
                    ))
                }
                Ok(_) => Ok(()),
            }
        }
        Rootfs::OciLayout { path, .. } => Err(setting(
            plan,
            key,
            format!("`from = \"oci:{path}\"`: the image is not mounted (an image rootfs is mounted before preflight)"),
            "run it with `sbx apply`, which mounts the image first, or call `image::mount_rootfs` before `preflight`",
        )),
        Rootfs::Image { name } => Err(setting(
            plan,
            key,
            format!("`from = \"{name}\"`: the image is not mounted (an image rootfs is mounted before preflight)"),
            "run it with `sbx apply`, which mounts the image first, or call `image::mount_rootfs` before `preflight`",
        )),
    }
}

/// A path inside the sandbox must be absolute and plain: no `..` that could
/// climb out of where it is meant to be.
fn check_sandbox_path(plan: &Plan, key: &str, path: &str) -> Result<(), RootfsError> {
    let as_path = Path::new(path);
    if !as_path.is_absolute() {
        return Err(setting(
            plan,
            key,
            format!("`{path}` is not an absolute path"),
            "give a path inside the sandbox starting with `/`",
        ));
    }
    if as_path.components().any(|c| c == Component::ParentDir) {
        return Err(setting(
            plan,
            key,
            format!("`{path}` contains `..`"),
            "give the path without `..`",
        ));
    }
    Ok(())
}

/// With `from = "host"`, a mount point must already exist on the host (its
/// `/` is read-only and sbx creates nothing there), unless it lies in a
/// place the sandbox makes writable itself.
fn check_host_mount_point(
    plan: &Plan,
    key: &str,
    destination: &str,
    writable: &[&str],
) -> Result<(), RootfsError> {
    let below_writable = writable
        .iter()
        .any(|w| Path::new(destination).starts_with(w) && Path::new(destination) != Path::new(w));
    if below_writable || writable.contains(&destination) || Path::new(destination).exists() {
        return Ok(());
    }
    Err(setting(
        plan,
        key,
        format!(
            "`{destination}` does not exist on the host, and with `from = \"host\"` the host's \
             `/` is read-only: sbx creates nothing on it"
        ),
        "create the directory on the host, or choose a path under `/tmp` or `/run`",
    ))
}

fn volume_key(plan: &Plan, index: usize) -> String {
    let indexed = format!("volumes.{index}");
    if plan.sources.contains_key(&indexed) || !plan.sources.contains_key("volumes") {
        indexed
    } else {
        "volumes".to_string()
    }
}

fn kind_name(kind: MountKind) -> &'static str {
    match kind {
        MountKind::Bind => "a bind mount",
        MountKind::Tmpfs => "a tmpfs",
        MountKind::Proc => "a proc mount",
        MountKind::Sysfs => "a sysfs mount",
        MountKind::Devpts => "a devpts mount",
    }
}

/// `No such file or directory (os error 2)` as `no such file or directory`.
fn lowercase(text: &str) -> String {
    super::lowercase_first(text.split(" (os error").next().unwrap_or(text))
}
