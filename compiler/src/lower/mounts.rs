//! `mount "PATH" { }` blocks.

use std::collections::HashSet;

use sbx_grammar::ast::ValueKind;
use sbx_plan::{Mount, MountKind, MountOption};

use super::{Fields, Lowerer};

pub(crate) fn mounts(l: &mut Lowerer, top: &Fields) -> Vec<Mount> {
    let mut out = Vec::new();
    for block in top.blocks("mount") {
        let Some(label) = &block.label else { continue };
        let fields = l.fields(Some("mount"), &block.body);
        let destination = label.name.clone();
        let mut ok = l.sandbox_path("mount point", &destination, label.span);
        let source = fields.get("source");
        let kind = match fields.get("type") {
            Some(f) => {
                let w = l.word(
                    &f,
                    f.value,
                    &["bind", "tmpfs", "proc", "sysfs", "devpts"],
                    "sbx::mount::type",
                    "mount type",
                );
                match w {
                    Some("bind") => MountKind::Bind,
                    Some("tmpfs") => MountKind::Tmpfs,
                    Some("proc") => MountKind::Proc,
                    Some("sysfs") => MountKind::Sysfs,
                    Some("devpts") => MountKind::Devpts,
                    _ => continue,
                }
            }
            // A source says what it is: a bind mount, as `BindPaths=`.
            None if source.is_some() => MountKind::Bind,
            None => {
                l.error(
                    "sbx::mount::missing-type",
                    format!("mount `{destination}` has no `type`"),
                    label.span,
                    "no type",
                    "add `type = tmpfs`, or `source = \"/host/path\"` for a bind mount",
                );
                continue;
            }
        };
        let source = match (kind, source) {
            (MountKind::Bind, Some(f)) => match l.string(&f) {
                Some(s) if s.starts_with('/') => Some(s),
                Some(s) => {
                    l.error(
                        "sbx::path::relative",
                        format!("bind source `{s}` is not an absolute path"),
                        f.value.span,
                        "relative path",
                        "write the host path from the root, such as `\"/srv/data\"`",
                    );
                    ok = false;
                    None
                }
                None => {
                    ok = false;
                    None
                }
            },
            (MountKind::Bind, None) => {
                l.error(
                    "sbx::mount::needs-source",
                    format!("bind mount `{destination}` has no `source`"),
                    label.span,
                    "no source",
                    "add `source = \"/host/path\"`",
                );
                ok = false;
                None
            }
            (_, Some(f)) => {
                l.error(
                    "sbx::mount::key-for-type",
                    "`source` applies only to bind mounts",
                    f.key.span,
                    "not for this type",
                    "remove `source`, or write `type = bind`",
                );
                ok = false;
                None
            }
            (_, None) => None,
        };
        let mut options = Vec::new();
        if let Some(f) = fields.get("options") {
            if let Some(items) = l.list(&f, "a list of mount options") {
                let mut seen = HashSet::new();
                for item in items {
                    let Some(w) = l.word(
                        &f,
                        item,
                        &["ro", "nosuid", "nodev", "noexec", "rbind"],
                        "sbx::mount::option",
                        "mount option",
                    ) else {
                        ok = false;
                        continue;
                    };
                    if w == "rbind" && kind != MountKind::Bind {
                        l.error(
                            "sbx::mount::key-for-type",
                            "`rbind` applies only to bind mounts",
                            item.span,
                            "not for this type",
                            "remove `rbind`, or write `type = bind`",
                        );
                        ok = false;
                        continue;
                    }
                    if !seen.insert(w) {
                        continue;
                    }
                    options.push(match w {
                        "ro" => MountOption::Ro,
                        "nosuid" => MountOption::Nosuid,
                        "nodev" => MountOption::Nodev,
                        "noexec" => MountOption::Noexec,
                        _ => MountOption::Rbind,
                    });
                }
            }
        }
        let size = match fields.get("size") {
            Some(f) if kind == MountKind::Tmpfs => match &f.value.kind {
                ValueKind::Size(s) if s.bytes > 0 => Some(s.bytes),
                ValueKind::Integer(i) if i.value > 0 => Some(i.value),
                ValueKind::Size(_) | ValueKind::Integer(_) => {
                    l.range_error(
                        "sbx::mount::range",
                        &f,
                        f.value,
                        "a tmpfs of 0 bytes holds nothing",
                        "give a size such as `64M`, or remove `size` for the kernel's default (half the RAM)",
                    );
                    ok = false;
                    None
                }
                _ => {
                    l.type_error(&f, f.value, "a size");
                    ok = false;
                    None
                }
            },
            Some(f) => {
                l.error(
                    "sbx::mount::key-for-type",
                    "`size` applies only to tmpfs mounts",
                    f.key.span,
                    "not for this type",
                    "remove `size`, or write `type = tmpfs`",
                );
                ok = false;
                None
            }
            None => None,
        };
        if ok {
            l.spans.insert(format!("mounts.{}", out.len()), label.span);
            out.push(Mount {
                destination,
                kind,
                source,
                options,
                size,
            });
        }
    }
    out
}

/// A path is either a volume or a mount point, once: two sources for one
/// path would leave it to the order of mounting which one the workload
/// sees.
pub(crate) fn check_volumes(l: &mut Lowerer, mounts: &[Mount], volumes: &[String]) {
    let mut seen: HashSet<&str> = mounts.iter().map(|m| m.destination.as_str()).collect();
    for (i, volume) in volumes.iter().enumerate() {
        let Some(span) = l.spans.get(&format!("volumes.{i}")) else {
            continue;
        };
        if seen.insert(volume.as_str()) {
            continue;
        }
        match mounts.iter().position(|m| m.destination == *volume) {
            Some(m) => {
                let mut d = crate::Diagnostic::error(
                    "sbx::mount::conflict",
                    format!("`{volume}` is both a volume and a mount point"),
                )
                .with_label(span, "a volume here");
                if let Some(mount) = l.spans.get(&format!("mounts.{m}")) {
                    d = d.with_label(mount, "and a mount point here");
                }
                l.push(d.with_help(
                    "keep one: a `mount` block to bring host data in, or `volume` for a fresh writable directory",
                ));
            }
            None => l.error(
                "sbx::mount::conflict",
                format!("volume `{volume}` is listed twice"),
                span,
                "given again here",
                "remove one of them",
            ),
        }
    }
}
