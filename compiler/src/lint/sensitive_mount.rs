//! `sbx::lint::sensitive-mount`: a bind mount of a host path that gives
//! the workload power over the host: `/`, `/proc`, `/sys`, `/dev`, `/etc`
//! and anything below them, and the container engines' sockets (or a
//! directory that holds one, such as `/run`).

use sbx_plan::{MountKind, MountOption};

use super::{Level, Lint, LintContext};
use crate::Diagnostic;

pub(super) const LINT: Lint = Lint {
    code: "sbx::lint::sensitive-mount",
    summary: "a bind mount exposes a sensitive host path",
    help: "bind only the directories the workload needs, read-only where it can",
    default: Level::Warn,
    check,
};

/// Host trees whose contents (or anything below) control the host.
const TREES: &[(&str, &str)] = &[
    ("/proc", "the host's processes and kernel settings"),
    ("/sys", "the host's kernel and device settings"),
    ("/dev", "the host's devices"),
    ("/etc", "the host's configuration, users and passwords"),
];

/// Sockets that are root on the host to whoever can connect, read-only
/// bind or not.
const SOCKETS: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/run/podman/podman.sock",
];

/// Why binding `source` is dangerous, if it is.
pub(crate) fn sensitive(source: &str) -> Option<String> {
    let path = source.trim_end_matches('/');
    if path.is_empty() {
        return Some("the host's whole filesystem".into());
    }
    let below = |tree: &str| path == tree || path.starts_with(&format!("{tree}/"));
    if let Some((_, why)) = TREES.iter().find(|(tree, _)| below(tree)) {
        return Some((*why).into());
    }
    if let Some(socket) = SOCKETS.iter().find(|s| below(s)) {
        return Some(format!("`{socket}` is root on the host, read-only or not"));
    }
    if let Some(socket) = SOCKETS.iter().find(|s| s.starts_with(&format!("{path}/"))) {
        return Some(format!(
            "holds `{socket}`, which is root on the host, read-only or not"
        ));
    }
    None
}

fn check(cx: &LintContext) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, mount) in cx.plan.mounts.iter().enumerate() {
        if mount.kind != MountKind::Bind {
            continue;
        }
        let Some(source) = &mount.source else {
            continue;
        };
        let Some(why) = sensitive(source) else {
            continue;
        };
        let Some(span) = cx.span(&[&format!("mounts.{i}")]) else {
            continue;
        };
        let ro = mount.options.contains(&MountOption::Ro);
        out.push(
            Diagnostic::warning(
                LINT.code,
                format!("bind mount of the host's `{source}`"),
            )
            .with_label(span, why)
            .with_help(if ro {
                "bind only the files the workload needs; read-only still shows them (and a socket stays writable)"
            } else {
                "bind only the files the workload needs, with `options = [ro]` where it only reads"
            }),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sensitive;

    #[test]
    fn sensitive_paths_and_below() {
        for p in [
            "/",
            "/proc",
            "/proc/sys/kernel",
            "/sys/",
            "/dev/kvm",
            "/etc",
            "/etc/shadow",
            "/var/run/docker.sock",
            "/run/docker.sock",
            "/run",
            "/var/run",
            "/var",
        ] {
            assert!(sensitive(p).is_some(), "{p}");
        }
        for p in [
            "/srv/www",
            "/etcetera",
            "/home/user",
            "/procfs",
            "/var/lib/app",
        ] {
            assert!(sensitive(p).is_none(), "{p}");
        }
    }
}
