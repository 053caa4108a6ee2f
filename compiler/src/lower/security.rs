//! `security { }`, `idmap { }` and `console { }`.

use sbx_grammar::ast::{Span, Value, ValueKind};
use sbx_plan::{Console, IdMap, IdOrName, IdRange, Namespace, Rootfs, Security, UserSpec};

use super::{Field, Fields, Lowerer};
use crate::Diagnostic;

/// runc's default masked paths (`runc spec`).
pub const DEFAULT_MASKED_PATHS: [&str; 10] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
];

/// runc's default read-only paths (`runc spec`).
pub const DEFAULT_READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

pub(crate) fn security(l: &mut Lowerer, top: &Fields, rootfs: &Rootfs) -> Security {
    let host = *rootfs == Rootfs::Host;
    let mut out = Security {
        no_new_privileges: true,
        readonly_paths: DEFAULT_READONLY_PATHS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        masked_paths: DEFAULT_MASKED_PATHS.iter().map(|s| s.to_string()).collect(),
        // The host's `/` is always shared read-only.
        rootfs_readonly: host,
    };
    let Some(block) = top.blocks("security").next() else {
        return out;
    };
    let fields = l.fields(Some("security"), &block.body);
    if let Some(f) = fields.get("no_new_privileges") {
        if let Some(v) = l.boolean(&f) {
            out.no_new_privileges = v;
            l.spans.insert("security.no_new_privileges", f.value.span);
        }
    }
    for (key, target) in [
        ("readonly_paths", &mut out.readonly_paths),
        ("masked_paths", &mut out.masked_paths),
    ] {
        let Some(f) = fields.get(key) else { continue };
        let Some(items) = l.string_list(&f) else {
            continue;
        };
        let what = if key == "readonly_paths" {
            "read-only path"
        } else {
            "masked path"
        };
        let mut paths = Vec::new();
        for (p, v) in items {
            if l.sandbox_path(what, &p, v.span) {
                paths.push(p);
            }
        }
        *target = paths;
        l.spans.insert(format!("security.{key}"), f.value.span);
    }
    if let Some(f) = fields.get("rootfs_readonly") {
        if let Some(v) = l.boolean(&f) {
            if host && !v {
                l.error(
                    "sbx::security::host-rootfs-writable",
                    "the host's `/` is always read-only in a sandbox",
                    f.value.span,
                    "cannot be writable",
                    "remove `rootfs_readonly = false`, or set `from` to a rootfs directory; mount writable paths with `mount` blocks",
                );
            } else {
                out.rootfs_readonly = v;
                l.spans.insert("security.rootfs_readonly", f.value.span);
            }
        }
    }
    out
}

pub(crate) fn idmap(l: &mut Lowerer, top: &Fields, namespaces: &[Namespace]) -> Option<IdMap> {
    let block = top.blocks("idmap").next()?;
    let fields = l.fields(Some("idmap"), &block.body);
    if !namespaces.contains(&Namespace::User) {
        l.error(
            "sbx::idmap::needs-user-namespace",
            "`idmap` maps ids of a user namespace, but `namespaces` has no `user`",
            block.key.span,
            "no user namespace",
            "add `user` to `namespaces`: `namespaces = [mount, uts, ipc, pid, net, cgroup, user]`",
        );
    }
    let mut out = IdMap::default();
    if let Some(f) = fields.get("uid") {
        out.uid = ranges(l, &f);
        l.spans.insert("idmap.uid", f.value.span);
    }
    if let Some(f) = fields.get("gid") {
        out.gid = ranges(l, &f);
        l.spans.insert("idmap.gid", f.value.span);
    }
    Some(out)
}

/// A numeric `user` (or group) must be mapped by `idmap`: the kernel
/// refuses to switch to an id the user namespace does not map.
///
/// Root by default (no `user`) is not checked here: LXC configs converted
/// by `sbx convert` carry such maps (libvirt's test corpus), and the
/// executor reports the unmapped root at apply time.
pub(crate) fn check_mapped(l: &mut Lowerer, map: &IdMap, user: &UserSpec) {
    let Some(span) = l.spans.get("process.user") else {
        return;
    };
    for (what, id, ranges) in [
        ("uid", Some(&user.user), &map.uid),
        ("gid", user.group.as_ref(), &map.gid),
    ] {
        let Some(IdOrName::Id(id)) = id else { continue };
        if ranges.is_empty() {
            continue;
        }
        let mapped = ranges.iter().any(|r| {
            u64::from(*id) >= u64::from(r.inside)
                && u64::from(*id) < u64::from(r.inside) + u64::from(r.count)
        });
        if !mapped {
            l.error(
                "sbx::idmap::user-unmapped",
                format!("{what} `{id}` of `user` is not mapped by `idmap`"),
                span,
                "not mapped",
                format!(
                    "add a `{what}` range whose inside ids cover {id}, such as `[0, 100000, 65536]`"
                ),
            );
        }
    }
}

fn ranges(l: &mut Lowerer, f: &Field) -> Vec<IdRange> {
    let expected = "a list of `[inside, outside, count]`";
    let Some(items) = l.list(f, expected) else {
        return Vec::new();
    };
    let mut out: Vec<(IdRange, Span)> = Vec::new();
    for item in items {
        let ValueKind::List(triple) = &item.kind else {
            l.type_error(f, item, expected);
            continue;
        };
        let numbers: Vec<Option<u64>> = triple.iter().map(|v| number(l, f, v)).collect();
        if triple.len() != 3 {
            l.error(
                "sbx::idmap::shape",
                format!("an id range has 3 numbers, found {}", triple.len()),
                item.span,
                "not `[inside, outside, count]`",
                format!("write `{}`", f.spec.example),
            );
            continue;
        }
        let [Some(inside), Some(outside), Some(count)] = numbers[..] else {
            continue;
        };
        let fits = |start: u64| start + count <= u64::from(u32::MAX) + 1;
        if count == 0 || !fits(inside) || !fits(outside) {
            l.error(
                "sbx::idmap::range",
                "an id range has a count of at least 1 and ends at or below 4294967296",
                item.span,
                "invalid range",
                "write `[inside, outside, count]`, such as `[0, 100000, 65536]`",
            );
            continue;
        }
        let range = IdRange {
            inside: inside as u32,
            outside: outside as u32,
            count: count as u32,
        };
        let overlaps = |a: u32, b: u32, n: u32, m: u32| {
            u64::from(a) < u64::from(b) + u64::from(m) && u64::from(b) < u64::from(a) + u64::from(n)
        };
        if let Some((other, span)) = out.iter().find(|(r, _)| {
            overlaps(r.inside, range.inside, r.count, range.count)
                || overlaps(r.outside, range.outside, r.count, range.count)
        }) {
            let side = if overlaps(other.inside, range.inside, other.count, range.count) {
                "inside"
            } else {
                "outside"
            };
            l.push(
                Diagnostic::error(
                    "sbx::idmap::overlap",
                    format!("two `{}` ranges overlap {side} the namespace", f.name()),
                )
                .with_label(item.span, "this range")
                .with_label(*span, "overlaps this one")
                .with_help("the kernel refuses overlapping ranges; make them disjoint"),
            );
            continue;
        }
        out.push((range, item.span));
    }
    out.into_iter().map(|(r, _)| r).collect()
}

fn number(l: &mut Lowerer, f: &Field, v: &Value) -> Option<u64> {
    match &v.kind {
        ValueKind::Integer(i) if i.value <= u64::from(u32::MAX) + 1 => Some(i.value),
        ValueKind::Integer(_) => {
            l.error(
                "sbx::idmap::range",
                "an id is at most 4294967295",
                v.span,
                "too large",
                "write `[inside, outside, count]`, such as `[0, 100000, 65536]`",
            );
            None
        }
        _ => {
            l.type_error(f, v, "a list of `[inside, outside, count]`");
            None
        }
    }
}

pub(crate) fn console(l: &mut Lowerer, top: &Fields) -> Option<Console> {
    let block = top.blocks("console").next()?;
    let fields = l.fields(Some("console"), &block.body);
    let mut out = Console { tty: 0, pts: None };
    if let Some(f) = fields.get("tty") {
        if let Some(v) = l.integer(&f) {
            if v > 63 {
                l.range_error(
                    "sbx::console::range",
                    &f,
                    f.value,
                    format!("`tty` of {v} is above 63"),
                    "Linux has at most 63 virtual terminals; LXC's default is 4",
                );
            } else {
                out.tty = v as u32;
                l.spans.insert("console.tty", f.value.span);
            }
        }
    }
    if let Some(f) = fields.get("pts") {
        if let Some(v) = l.integer(&f) {
            if v == 0 || v > u64::from(u32::MAX) {
                l.range_error(
                    "sbx::console::range",
                    &f,
                    f.value,
                    format!("`pts` of {v} is outside 1-4294967295"),
                    "`pts` is the most pseudo-terminals the sandbox may open, such as `1024`",
                );
            } else {
                out.pts = Some(v as u32);
                l.spans.insert("console.pts", f.value.span);
            }
        }
    }
    Some(out)
}
