//! LXC container configs (`lxc.*` keys, legacy pre-3.0 names and current
//! ones) as a profile.
//!
//! The file is read as LXC reads it: one `key = value` a line, `#` lines are
//! comments, surrounding quotes of a value are removed, an empty value
//! clears a list key. Legacy keys are renamed first (MAPPING.md, from
//! `lxc-update-config`), then each current key is translated. `lxc.include`
//! is followed when the file exists.

use std::path::{Component, Path, PathBuf};

use sbx_grammar::ast::{Span, Value, ValueKind};

use super::draft::{
    boolean, capability_name, entry, integer, list, percent, ratio_percent, size, string, strings,
    word, CapPolicy, Draft,
};
use super::{lines_with_offsets, normalize_signal, shorten, Ctx};
use crate::diagnostic::{SourceFile, SourceMap};
use crate::suggest::did_you_mean;

/// Includes deeper than this are not followed (LXC itself recurses without
/// a limit; a cycle would never end).
const MAX_INCLUDE_DEPTH: usize = 16;

/// Every current key LXC knows (LXC 5), for did-you-mean.
const KNOWN_KEYS: &[&str] = &[
    "lxc.arch",
    "lxc.apparmor.profile",
    "lxc.apparmor.allow_incomplete",
    "lxc.apparmor.allow_nesting",
    "lxc.apparmor.raw",
    "lxc.autodev",
    "lxc.autodev.tmpfs.size",
    "lxc.cap.drop",
    "lxc.cap.keep",
    "lxc.cgroup",
    "lxc.cgroup2",
    "lxc.cgroup.dir",
    "lxc.cgroup.dir.container",
    "lxc.cgroup.dir.monitor",
    "lxc.cgroup.relative",
    "lxc.console.buffer.size",
    "lxc.console.logfile",
    "lxc.console.path",
    "lxc.console.rotate",
    "lxc.console.size",
    "lxc.environment",
    "lxc.ephemeral",
    "lxc.execute.cmd",
    "lxc.group",
    "lxc.hook.autodev",
    "lxc.hook.clone",
    "lxc.hook.destroy",
    "lxc.hook.mount",
    "lxc.hook.post-stop",
    "lxc.hook.pre-mount",
    "lxc.hook.pre-start",
    "lxc.hook.start",
    "lxc.hook.start-host",
    "lxc.hook.stop",
    "lxc.hook.version",
    "lxc.idmap",
    "lxc.include",
    "lxc.init.cmd",
    "lxc.init.cwd",
    "lxc.init.gid",
    "lxc.init.groups",
    "lxc.init.uid",
    "lxc.keyring.session",
    "lxc.log.file",
    "lxc.log.level",
    "lxc.log.syslog",
    "lxc.monitor.unshare",
    "lxc.monitor.signal.pdeath",
    "lxc.mount.auto",
    "lxc.mount.entry",
    "lxc.mount.fstab",
    "lxc.namespace.clone",
    "lxc.namespace.keep",
    "lxc.net",
    "lxc.no_new_privs",
    "lxc.pty.max",
    "lxc.rootfs.managed",
    "lxc.rootfs.mount",
    "lxc.rootfs.options",
    "lxc.rootfs.path",
    "lxc.sched.core",
    "lxc.seccomp.allow_nesting",
    "lxc.seccomp.notify.cookie",
    "lxc.seccomp.notify.proxy",
    "lxc.seccomp.profile",
    "lxc.selinux.context",
    "lxc.selinux.context.keyring",
    "lxc.signal.halt",
    "lxc.signal.reboot",
    "lxc.signal.stop",
    "lxc.start.auto",
    "lxc.start.delay",
    "lxc.start.order",
    "lxc.tty.dir",
    "lxc.tty.max",
    "lxc.uts.name",
    // Legacy names (renamed in LXC 2.1, removed in 3.0).
    "lxc.utsname",
    "lxc.id_map",
    "lxc.rootfs",
    "lxc.rootfs.backend",
    "lxc.tty",
    "lxc.pts",
    "lxc.devttydir",
    "lxc.mount",
    "lxc.aa_profile",
    "lxc.aa_allow_incomplete",
    "lxc.se_context",
    "lxc.seccomp",
    "lxc.console",
    "lxc.haltsignal",
    "lxc.rebootsignal",
    "lxc.stopsignal",
    "lxc.loglevel",
    "lxc.logfile",
    "lxc.syslog",
    "lxc.init_cmd",
    "lxc.init_uid",
    "lxc.init_gid",
    "lxc.pivotdir",
    "lxc.kmsg",
    "lxc.network",
];

/// The keys of one interface (`lxc.net.N.KEY`).
const NET_KEYS: &[&str] = &[
    "type",
    "flags",
    "link",
    "name",
    "hwaddr",
    "mtu",
    "ipv4.address",
    "ipv4.gateway",
    "ipv6.address",
    "ipv6.gateway",
    "macvlan.mode",
    "vlan.id",
    "veth.pair",
    "veth.mode",
    "veth.ipv4.route",
    "veth.ipv6.route",
    "veth.vlan.id",
    "veth.vlan.tagged.id",
    "ipvlan.mode",
    "ipvlan.isolation",
    "script.up",
    "script.down",
    "l2proxy",
];

/// Legacy key -> current key, `lxc-update-config`'s table (MAPPING.md).
fn current_name(key: &str) -> Option<&'static str> {
    Some(match key {
        "lxc.utsname" => "lxc.uts.name",
        "lxc.id_map" => "lxc.idmap",
        "lxc.rootfs" => "lxc.rootfs.path",
        "lxc.tty" => "lxc.tty.max",
        "lxc.pts" => "lxc.pty.max",
        "lxc.devttydir" => "lxc.tty.dir",
        "lxc.mount" => "lxc.mount.fstab",
        "lxc.aa_profile" => "lxc.apparmor.profile",
        "lxc.aa_allow_incomplete" => "lxc.apparmor.allow_incomplete",
        "lxc.se_context" => "lxc.selinux.context",
        "lxc.seccomp" => "lxc.seccomp.profile",
        "lxc.console" => "lxc.console.path",
        "lxc.haltsignal" => "lxc.signal.halt",
        "lxc.rebootsignal" => "lxc.signal.reboot",
        "lxc.stopsignal" => "lxc.signal.stop",
        "lxc.loglevel" => "lxc.log.level",
        "lxc.logfile" => "lxc.log.file",
        "lxc.syslog" => "lxc.log.syslog",
        "lxc.init_cmd" => "lxc.init.cmd",
        "lxc.init_uid" => "lxc.init.uid",
        "lxc.init_gid" => "lxc.init.gid",
        "lxc.network" => "lxc.net",
        _ => return None,
    })
}

/// One `key = value` line of the config or of a file it includes.
struct Line {
    /// The key as written.
    key: String,
    value: String,
    /// The whole line.
    span: Span,
    key_span: Span,
    value_span: Span,
    /// `file:line`, for comments.
    place: String,
    /// The line as written.
    raw: String,
}

/// One interface being assembled from `lxc.net.N.*` (or legacy
/// `lxc.network.*`) lines. Each field keeps the index of its line.
#[derive(Default)]
struct NetConfig {
    index: u64,
    first_line: usize,
    kind: Option<(String, usize)>,
    up: Option<(bool, usize)>,
    link: Option<(String, usize)>,
    name: Option<(String, usize)>,
    hwaddr: Option<(String, usize)>,
    mtu: Option<(String, usize)>,
    ipv4: Vec<(String, usize)>,
    ipv6: Vec<(String, usize)>,
    gateway4: Option<(String, usize)>,
    gateway6: Option<(String, usize)>,
    macvlan_mode: Option<(String, usize)>,
    vlan_id: Option<(String, usize)>,
}

#[derive(Default)]
struct State {
    nets: Vec<NetConfig>,
    /// The interface legacy `lxc.network.*` keys apply to.
    legacy_net: Option<usize>,
    cap_drop: Vec<(String, usize)>,
    cap_keep: Option<(Vec<String>, usize)>,
    rootfs: Option<(String, usize)>,
    backend: Option<(String, usize)>,
    uid: Option<(String, usize)>,
    gid: Option<(String, usize)>,
    has_cmd: bool,
    /// cgroup v1 values that need another one to be translated.
    memsw: Option<(u64, usize)>,
    cfs_quota: Option<(i64, usize)>,
    cfs_period: Option<(u64, usize)>,
}

pub(super) fn import(
    ctx: &mut Ctx,
    draft: &mut Draft,
    path: Option<&Path>,
    sources: &mut SourceMap,
) {
    let mut lines = Vec::new();
    let mut visited = Vec::new();
    if let Some(p) = path {
        visited.push(p.canonicalize().unwrap_or_else(|_| p.to_path_buf()));
    }
    let text = ctx.text;
    let mut syntax_ok = true;
    read(
        ctx,
        text,
        path,
        sources,
        0,
        &mut visited,
        &mut lines,
        draft,
        &mut syntax_ok,
    );
    if !syntax_ok {
        return;
    }
    let mut state = State::default();
    for i in 0..lines.len() {
        apply(ctx, draft, &mut state, &lines, i);
    }
    finish(ctx, draft, state, &lines);
}

/// Reads one file's lines into `lines`, following `lxc.include`.
#[allow(clippy::too_many_arguments)]
fn read(
    ctx: &mut Ctx,
    text: &str,
    path: Option<&Path>,
    sources: &mut SourceMap,
    depth: usize,
    visited: &mut Vec<PathBuf>,
    lines: &mut Vec<Line>,
    draft: &mut Draft,
    syntax_ok: &mut bool,
) {
    for (start, raw) in lines_with_offsets(text) {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let line_span = ctx.span(start, start + raw.len());
        let Some(eq) = raw.find('=') else {
            ctx.error(
                "sbx::convert::lxc-syntax",
                line_span,
                format!(
                    "`{}` is not an LXC `key = value` line",
                    shorten(raw.trim(), 60)
                ),
                "no `=` on this line",
                "LXC config lines are `lxc.key = value`; comments start with `#`",
            );
            *syntax_ok = false;
            continue;
        };
        let key = raw[..eq].trim().to_string();
        let key_start = start + (raw.len() - raw.trim_start().len());
        let key_span = ctx.span(key_start, key_start + key.len());
        let after = &raw[eq + 1..];
        let lead = after.len() - after.trim_start().len();
        let mut value = after.trim().to_string();
        let mut value_start = start + eq + 1 + lead;
        if value.len() >= 2
            && (value.starts_with('"') || value.starts_with('\''))
            && value.ends_with(&value[..1])
        {
            value = value[1..value.len() - 1].to_string();
            value_start += 1;
        }
        let value_span = ctx.span(value_start, value_start + value.len());
        let line = Line {
            key,
            value,
            span: line_span,
            key_span,
            value_span,
            place: ctx.place(line_span),
            raw: raw.trim().to_string(),
        };
        if let Some(placeholder) = autoconf_placeholder(&line.value) {
            ctx.warn(
                "sbx::convert::placeholder",
                line.value_span,
                format!("`{placeholder}` is an autoconf placeholder, not a value"),
                "not substituted",
                "this file is a template (`.in`); convert the file `configure` generates from it, or replace the placeholder",
            );
            ctx.footer.push(format!(
                "placeholder ({}): {placeholder} is not substituted",
                line.place
            ));
        }
        if line.key == "lxc.include" {
            include(
                ctx, &line, path, sources, depth, visited, lines, draft, syntax_ok,
            );
            continue;
        }
        if (line.key == "lxc.mount.fstab" || line.key == "lxc.mount")
            && fstab(ctx, &line, path, sources, lines, draft)
        {
            continue;
        }
        lines.push(line);
    }
}

#[allow(clippy::too_many_arguments)]
fn include(
    ctx: &mut Ctx,
    line: &Line,
    from: Option<&Path>,
    sources: &mut SourceMap,
    depth: usize,
    visited: &mut Vec<PathBuf>,
    lines: &mut Vec<Line>,
    draft: &mut Draft,
    syntax_ok: &mut bool,
) {
    if line.value.is_empty() {
        return;
    }
    let target = Path::new(&line.value);
    let resolved = if target.is_absolute() {
        target.to_path_buf()
    } else {
        from.and_then(Path::parent)
            .map(|dir| dir.join(target))
            .unwrap_or_else(|| target.to_path_buf())
    };
    let not_followed = |ctx: &mut Ctx, reason: &str| {
        ctx.footer.push(format!(
            "not followed ({}): {} -- {reason}",
            line.place, line.raw
        ));
        ctx.warn(
            "sbx::convert::include",
            line.value_span,
            format!("`lxc.include` of `{}` is not followed: {reason}", line.value),
            "not followed",
            "convert with the included file present, or give it as another input; the line is kept as a comment",
        );
    };
    if autoconf_placeholder(&line.value).is_some() {
        not_followed(ctx, "the path holds an autoconf placeholder");
        return;
    }
    if depth >= MAX_INCLUDE_DEPTH {
        not_followed(ctx, "includes are nested too deeply (a cycle?)");
        return;
    }
    let files: Vec<PathBuf> = if resolved.is_dir() {
        let mut confs: Vec<PathBuf> = std::fs::read_dir(&resolved)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "conf") && p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        confs.sort();
        if confs.is_empty() {
            draft
                .header
                .push(format!("{}: {} (no *.conf inside)", line.place, line.raw));
        }
        confs
    } else if resolved.is_file() {
        vec![resolved.clone()]
    } else {
        if resolved.exists() {
            not_followed(ctx, "it is not a regular file or a directory");
        } else {
            not_followed(ctx, "the file does not exist here");
        }
        return;
    };
    for file in files {
        let canonical = file.canonicalize().unwrap_or_else(|_| file.clone());
        if visited.contains(&canonical) {
            not_followed(ctx, "the file includes itself (a cycle)");
            continue;
        }
        let text = match std::fs::read(&file) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(_) => {
                    not_followed(ctx, "the file is not text");
                    continue;
                }
            },
            Err(e) => {
                not_followed(ctx, &format!("it cannot be read ({e})"));
                continue;
            }
        };
        // Shown as the user would write it: relative includes relative to
        // the including file's name, so that messages do not depend on
        // where the files were read from.
        let shown = if target.is_absolute() {
            file.clone()
        } else {
            let base = from.and_then(Path::parent).unwrap_or(Path::new(""));
            let rel = file.strip_prefix(base).unwrap_or(&file);
            Path::new(&ctx.name)
                .parent()
                .unwrap_or(Path::new(""))
                .join(rel)
        };
        let name = lexical(&shown);
        draft
            .header
            .push(format!("{}: {} (followed: {name})", line.place, line.raw));
        let id = sources.add(SourceFile::new(
            Some(file.clone()),
            name.clone(),
            text.clone(),
        ));
        let mut child = Ctx::new(id, &text, ctx.input, &name);
        visited.push(canonical);
        read(
            &mut child,
            &text,
            Some(&file),
            sources,
            depth + 1,
            visited,
            lines,
            draft,
            syntax_ok,
        );
        visited.pop();
        ctx.absorb(child);
    }
}

/// Splits a command as LXC's `lxc_string_split_quoted` does: at whitespace
/// outside `'...'` and `"..."`, quotes removed.
fn split_quoted(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => current.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            None => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

/// Reads the fstab file of `lxc.mount.fstab` (an absolute path, or one
/// relative to the config) as `lxc.mount.entry` lines diagnosed in that
/// file. False when it cannot be read: the line is then reported as not
/// translated.
fn fstab(
    ctx: &mut Ctx,
    line: &Line,
    from: Option<&Path>,
    sources: &mut SourceMap,
    lines: &mut Vec<Line>,
    draft: &mut Draft,
) -> bool {
    if line.value.is_empty() || autoconf_placeholder(&line.value).is_some() {
        return false;
    }
    let target = Path::new(&line.value);
    let resolved = if target.is_absolute() {
        target.to_path_buf()
    } else {
        match from.and_then(Path::parent) {
            Some(dir) => dir.join(target),
            None => return false,
        }
    };
    // Only a regular file: a device or a FIFO would never end.
    if !resolved.is_file() {
        return false;
    }
    let Ok(text) = std::fs::read(&resolved).map(String::from_utf8) else {
        return false;
    };
    let Ok(text) = text else { return false };
    let name = if target.is_absolute() {
        resolved.display().to_string()
    } else {
        lexical(
            &Path::new(&ctx.name)
                .parent()
                .unwrap_or(Path::new(""))
                .join(target),
        )
    };
    draft
        .header
        .push(format!("{}: {} (followed: {name})", line.place, line.raw));
    let id = sources.add(SourceFile::new(Some(resolved), name.clone(), text.clone()));
    let child = Ctx::new(id, &text, ctx.input, &name);
    for (start, raw) in lines_with_offsets(&text) {
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let lead = raw.len() - raw.trim_start().len();
        let span = child.span(start + lead, start + lead + t.len());
        lines.push(Line {
            key: "lxc.mount.entry".to_string(),
            value: t.to_string(),
            span,
            key_span: span,
            value_span: span,
            place: child.place(span),
            raw: t.to_string(),
        });
    }
    ctx.absorb(child);
    true
}

/// `a/../b/./c` -> `b/c`, without touching the file system.
fn lexical(path: &Path) -> String {
    let mut parts: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(parts.last(), Some(Component::Normal(_))) => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.iter().collect::<PathBuf>().display().to_string()
}

/// The first `@NAME@` autoconf placeholder in a value.
fn autoconf_placeholder(value: &str) -> Option<&str> {
    let bytes = value.as_bytes();
    let mut i = 0;
    while let Some(off) = value[i..].find('@') {
        let start = i + off;
        let rest = &value[start + 1..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len > 0 && bytes.get(start + 1 + len) == Some(&b'@') {
            return Some(&value[start..start + len + 2]);
        }
        i = start + 1;
    }
    None
}

/// A warning plus a footer comment for a line of this config (or of an
/// included file: the line carries its own place and text).
fn untranslated(ctx: &mut Ctx, line: &Line, what: &str, reason: &str) {
    ctx.footer.push(format!(
        "not translated ({}): {} -- {reason}",
        line.place,
        shorten(&line.raw, 100)
    ));
    ctx.warn(
        "sbx::convert::untranslated",
        line.span,
        format!("`{what}` is not translated"),
        "not translated",
        format!("{reason}; the line is kept as a comment at the end of the profile"),
    );
}

fn set_top(
    ctx: &Ctx,
    draft: &mut Draft,
    key: &str,
    value: Value,
    line: &Line,
    note: Option<String>,
) {
    let mut e = entry(value, line.span, ctx.input);
    e.notes.extend(note);
    draft.top.set(key, e, &mut draft.merge);
}

fn apply(ctx: &mut Ctx, draft: &mut Draft, state: &mut State, lines: &[Line], i: usize) {
    let line = &lines[i];
    let original = line.key.as_str();
    let value = line.value.as_str();

    // Legacy `lxc.network.*`: a new interface at each `lxc.network.type`,
    // every other key applies to the last one (LXC < 3.0 index rules).
    if let Some(rest) = original.strip_prefix("lxc.network.") {
        let rest = match rest {
            "ipv4" => "ipv4.address",
            "ipv6" => "ipv6.address",
            other => other,
        };
        if rest == "type" {
            let index = state.nets.iter().map(|n| n.index + 1).max().unwrap_or(0);
            state.nets.push(NetConfig {
                index,
                first_line: i,
                ..NetConfig::default()
            });
            state.legacy_net = Some(state.nets.len() - 1);
        }
        match state.legacy_net {
            Some(n) => net_key(ctx, state, n, rest, lines, i),
            None => untranslated(
                ctx,
                line,
                original,
                "LXC needs `lxc.network.type` before the other `lxc.network.*` keys of an interface",
            ),
        }
        return;
    }

    let renamed_limit = original
        .strip_prefix("lxc.limit.")
        .map(|r| format!("lxc.prlimit.{r}"));
    let key = current_name(original)
        .or(renamed_limit.as_deref())
        .unwrap_or(original);
    match key {
        "lxc.uts.name" => {
            if value.is_empty() {
                draft.top.remove("hostname");
            } else {
                match super::draft::hostname_fix(value) {
                    None => set_top(ctx, draft, "hostname", string(value), line, None),
                    Some(fixed) if !fixed.is_empty() => {
                        ctx.lossy(
                            line.value_span,
                            format!("`{value}` is not a hostname sbx accepts"),
                            format!("a hostname is letters, digits, inner `-` and `.`; it is written as `{fixed}`"),
                        );
                        set_top(ctx, draft, "hostname", string(&fixed), line, Some(format!("{}: {} (not a valid hostname)", line.place, line.raw)));
                    }
                    Some(_) => untranslated(ctx, line, key, "the name has no letter or digit to make a hostname of"),
                }
            }
        }
        "lxc.rootfs.path" => state.rootfs = (!value.is_empty()).then(|| (value.to_string(), i)),
        "lxc.rootfs.backend" => state.backend = Some((value.to_string(), i)),
        "lxc.tty.max" | "lxc.pty.max" => {
            let field = if key == "lxc.tty.max" { "tty" } else { "pts" };
            if value.is_empty() {
                draft.console.remove(field);
            } else {
                match value.parse::<u64>() {
                    Ok(n) if field == "tty" && n > 63 => {
                        untranslated(ctx, line, key, "sbx creates at most 63 ttys")
                    }
                    Ok(n) if field == "pts" && (n == 0 || n > u64::from(u32::MAX)) => {
                        untranslated(ctx, line, key, "the pts count is not in 1-4294967295")
                    }
                    Ok(n) => draft.console.set(
                        field,
                        entry(integer(n), line.span, ctx.input),
                        &mut draft.merge,
                    ),
                    Err(_) => untranslated(ctx, line, key, "the value is not a count"),
                }
            }
        }
        "lxc.cap.drop" => {
            if value.is_empty() {
                state.cap_drop.clear();
            }
            for name in value.split_whitespace() {
                match capability(ctx, line, name) {
                    Some(c) => state.cap_drop.push((c, i)),
                    None => continue,
                }
            }
        }
        "lxc.cap.keep" => {
            if value.is_empty() {
                state.cap_keep = None;
            }
            for name in value.split_whitespace() {
                let (keep, _) = state.cap_keep.get_or_insert_with(|| (Vec::new(), i));
                if name == "none" {
                    keep.clear();
                    continue;
                }
                if let Some(c) = capability(ctx, line, name) {
                    let (keep, at) = state.cap_keep.get_or_insert_with(|| (Vec::new(), i));
                    if !keep.contains(&c) {
                        keep.push(c);
                    }
                    *at = i;
                }
            }
        }
        "lxc.idmap" => idmap(ctx, draft, line),
        "lxc.mount.entry" => {
            if value.is_empty() {
                draft.mounts.clear();
            } else {
                mount_entry(ctx, draft, line);
            }
        }
        "lxc.mount.auto" => mount_auto(ctx, draft, line),
        "lxc.environment" => {
            if value.is_empty() {
                draft.env.items.clear();
            } else if let Some((k, v)) = value
                .split_once('=')
                .filter(|(k, v)| !k.trim().is_empty() && !v.contains('\0'))
            {
                let k = k.trim();
                draft
                    .env
                    .set(k, entry(string(v), line.span, ctx.input), &mut draft.merge);
            } else {
                untranslated(
                    ctx,
                    line,
                    key,
                    "a name alone passes the host's value of that variable, which sbx does not read",
                );
            }
        }
        "lxc.init.cmd" | "lxc.execute.cmd" => {
            if value.is_empty() {
                draft.top.remove("cmd");
                state.has_cmd = false;
            } else {
                let words = split_quoted(value);
                if words.first().is_none_or(|w| w.is_empty()) {
                    untranslated(ctx, line, key, "the program name is empty");
                } else {
                    set_top(ctx, draft, "cmd", strings(&words), line, None);
                    state.has_cmd = true;
                }
            }
        }
        "lxc.init.uid" => state.uid = (!value.is_empty()).then(|| (value.to_string(), i)),
        "lxc.init.gid" => state.gid = (!value.is_empty()).then(|| (value.to_string(), i)),
        "lxc.init.cwd" => {
            if value.starts_with('/') {
                set_top(ctx, draft, "workdir", string(&clean_path(value)), line, None);
            } else if value.is_empty() {
                draft.top.remove("workdir");
            } else {
                untranslated(ctx, line, key, "the directory is not an absolute path");
            }
        }
        "lxc.init.groups" => {
            for g in value.split([',', ' ']).filter(|g| !g.is_empty()) {
                match super::draft::user_value(g, None) {
                    Some(v) => draft.top.append("groups", v, line.span, ctx.input),
                    None => ctx.lossy(
                        line.span,
                        format!("group `{g}` is not a name or id sbx takes"),
                        "it is left out",
                    ),
                }
            }
        }
        "lxc.no_new_privs" => match value {
            "1" | "0" => {
                let on = value == "1";
                draft.security.set(
                    "no_new_privileges",
                    entry(boolean(on), line.span, ctx.input),
                    &mut draft.merge,
                );
            }
            _ => untranslated(ctx, line, key, "the value is not `0` or `1`"),
        },
        "lxc.signal.stop" => match normalize_signal(value) {
            Some(sig) => set_top(ctx, draft, "stop_signal", word(&sig), line, None),
            None => untranslated(ctx, line, key, "the signal is not one sbx can name"),
        },
        "lxc.net" => {
            if value.is_empty() {
                state.nets.clear();
                state.legacy_net = None;
            } else {
                untranslated(ctx, line, key, "only an empty `lxc.net` (clear all interfaces) has a meaning");
            }
        }
        "lxc.cgroup" | "lxc.cgroup2" if value.is_empty() => {
            draft.limits.items.clear();
            state.memsw = None;
            state.cfs_quota = None;
            state.cfs_period = None;
        }
        "lxc.pivotdir" | "lxc.kmsg" => {
            untranslated(ctx, line, original, "LXC 3.0 removed this key; LXC ignores it")
        }
        "lxc.mount.fstab" => untranslated(
            ctx,
            line,
            key,
            "the fstab file cannot be read here; convert with it present, or write its entries as `lxc.mount.entry` lines",
        ),
        _ => {
            if let Some(rest) = key.strip_prefix("lxc.net.") {
                let (index, sub) = rest.split_once('.').unwrap_or((rest, ""));
                match index.parse::<u64>() {
                    Ok(index) if !sub.is_empty() => {
                        let n = match state.nets.iter().position(|n| n.index == index) {
                            Some(n) => n,
                            None => {
                                state.nets.push(NetConfig {
                                    index,
                                    first_line: i,
                                    ..NetConfig::default()
                                });
                                state.nets.len() - 1
                            }
                        };
                        net_key(ctx, state, n, sub, lines, i);
                    }
                    _ => unknown_key(ctx, line),
                }
            } else if let Some(resource) = key.strip_prefix("lxc.prlimit.") {
                prlimit(ctx, draft, line, resource);
            } else if let Some(file) = key.strip_prefix("lxc.cgroup2.") {
                cgroup2(ctx, draft, line, file);
            } else if let Some(file) = key.strip_prefix("lxc.cgroup.") {
                cgroup1(ctx, draft, state, line, file, i);
            } else if let Some(reason) = untranslated_reason(key) {
                untranslated(ctx, line, key, reason);
            } else {
                unknown_key(ctx, line);
            }
        }
    }
}

/// Why a known key has no sbx equivalent.
fn untranslated_reason(key: &str) -> Option<&'static str> {
    let family = |prefix: &str| key == prefix || key.starts_with(&format!("{prefix}."));
    Some(if family("lxc.apparmor") {
        "sbx has no AppArmor setting"
    } else if family("lxc.selinux") {
        "sbx has no SELinux setting"
    } else if family("lxc.seccomp") {
        "sbx has no seccomp profile setting yet"
    } else if family("lxc.hook") {
        "sbx runs no hooks"
    } else if family("lxc.start") || key == "lxc.group" {
        "autostart is the host's service manager's job, not the sandbox's"
    } else if family("lxc.log") || family("lxc.monitor") {
        "logging and the monitor are LXC's own"
    } else if family("lxc.console") {
        "sbx has no console path or console log setting"
    } else if key == "lxc.tty.dir" {
        "sbx creates the ttys in `/dev` itself"
    } else if key == "lxc.arch" {
        "sbx runs the host's architecture (no personality setting)"
    } else if family("lxc.autodev") {
        "sbx populates `/dev` itself"
    } else if key == "lxc.rootfs.options"
        || key == "lxc.rootfs.mount"
        || key == "lxc.rootfs.managed"
    {
        "sbx uses the rootfs directory as it is"
    } else if family("lxc.signal") {
        "sbx has only a stop signal"
    } else if family("lxc.namespace") {
        "sbx sets namespaces with `namespaces`, which this key does not map onto exactly"
    } else if family("lxc.sysctl") || family("lxc.proc") {
        "sbx has no sysctl or /proc setting"
    } else if family("lxc.keyring")
        || family("lxc.sched")
        || family("lxc.time")
        || family("lxc.ephemeral")
    {
        "sbx has no such setting"
    } else {
        return None;
    })
}

fn unknown_key(ctx: &mut Ctx, line: &Line) {
    let suggestion = did_you_mean(&line.key, KNOWN_KEYS.iter().copied()).or_else(|| {
        // `lxc.net.0.linc` -> the interface key table.
        let (prefix, sub) = line.key.rsplit_once('.')?;
        if !prefix.starts_with("lxc.net.") {
            return None;
        }
        did_you_mean(sub, NET_KEYS.iter().copied())
    });
    let help = match suggestion {
        Some(s) if s.starts_with("lxc.") => format!("did you mean `{s}`?"),
        Some(s) => {
            let prefix = line.key.rsplit_once('.').map(|(p, _)| p).unwrap_or("");
            format!("did you mean `{prefix}.{s}`?")
        }
        None => "see lxc.container.conf(5) for the keys LXC knows".to_string(),
    };
    ctx.footer.push(format!(
        "unknown key ({}): {}",
        line.place,
        shorten(&line.raw, 100)
    ));
    let span = line.key_span;
    ctx.warn(
        "sbx::convert::unknown-key",
        span,
        format!("unknown LXC key `{}`", line.key),
        "not an LXC key",
        format!("{help} (the line is kept as a comment at the end of the profile)"),
    );
}

fn capability(ctx: &mut Ctx, line: &Line, name: &str) -> Option<String> {
    match capability_name(name) {
        Some(c) => Some(c),
        None => {
            let help = match crate::capability::suggestion(name) {
                Some(s) => format!("did you mean `{s}`? it is left out of the profile"),
                None => "it is left out of the profile".to_string(),
            };
            ctx.lossy(
                line.value_span,
                format!("unknown capability `{name}`"),
                help,
            );
            ctx.footer.push(format!(
                "left out ({}): unknown capability `{name}`",
                line.place
            ));
            None
        }
    }
}

/// The `[inside, outside, count]` ranges the profile maps so far for `key`
/// (`uid` or `gid`).
fn id_ranges(draft: &Draft, key: &str) -> Vec<[u64; 3]> {
    let Some(ValueKind::List(ranges)) = draft.idmap.get(key).map(|e| &e.value.kind) else {
        return Vec::new();
    };
    ranges
        .iter()
        .filter_map(|r| match &r.kind {
            ValueKind::List(t) => {
                let v: Vec<u64> = t
                    .iter()
                    .filter_map(|x| match &x.kind {
                        ValueKind::Integer(i) => Some(i.value),
                        _ => None,
                    })
                    .collect();
                <[u64; 3]>::try_from(v).ok()
            }
            _ => None,
        })
        .collect()
}

fn idmap(ctx: &mut Ctx, draft: &mut Draft, line: &Line) {
    if line.value.is_empty() {
        draft.idmap.items.clear();
        return;
    }
    let parts: Vec<&str> = line.value.split_whitespace().collect();
    let numbers: Option<Vec<u64>> = parts
        .get(1..)
        .and_then(|p| p.iter().map(|n| n.parse().ok()).collect());
    match (parts.first().copied(), numbers) {
        (Some(kind @ ("u" | "g" | "b")), Some(n)) if n.len() == 3 => {
            let (inside, outside, count) = (n[0], n[1], n[2]);
            let end = u64::from(u32::MAX) + 1;
            let fits = |start: u64| start.checked_add(count).is_some_and(|e| e <= end);
            if count == 0 || !fits(inside) || !fits(outside) {
                untranslated(
                    ctx,
                    line,
                    &line.key,
                    "an id range has a count of at least 1 and ends at or below 4294967296",
                );
                return;
            }
            let keys: &[&str] = match kind {
                "u" => &["uid"],
                "g" => &["gid"],
                _ => &["uid", "gid"],
            };
            // The kernel refuses overlapping ranges.
            let overlaps = |a: u64, b: u64, m: u64| a < b + m && b < a + count;
            for k in keys {
                let clash = id_ranges(draft, k)
                    .iter()
                    .any(|&[i, o, m]| overlaps(inside, i, m) || overlaps(outside, o, m));
                if clash {
                    untranslated(
                        ctx,
                        line,
                        &line.key,
                        "the range overlaps an earlier one, which the kernel refuses",
                    );
                    return;
                }
            }
            let triple = list(n.iter().map(|&x| integer(x)).collect());
            for k in keys {
                draft.idmap.append(k, triple.clone(), line.span, ctx.input);
            }
        }
        _ => untranslated(
            ctx,
            line,
            &line.key,
            "an id map is `u|g|b CONTAINER-ID HOST-ID COUNT`",
        ),
    }
}

/// `/a/./b/../c/` -> `/a/c`, absolute, `..` resolved lexically (as the
/// kernel resolves it inside the container's root, symlinks aside).
fn clean_path(path: &str) -> String {
    let mut out = PathBuf::from("/");
    for c in Path::new(path).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out.display().to_string()
}

/// Octal escapes of fstab (`\040` for a space).
fn fstab_unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = |b: &u8| (b'0'..=b'7').contains(b);
        if bytes[i] == b'\\' && i + 4 <= bytes.len() && bytes[i + 1..i + 4].iter().all(octal) {
            let v = bytes[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
            if let Ok(b) = u8::try_from(v) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mount_entry(ctx: &mut Ctx, draft: &mut Draft, line: &Line) {
    let fields: Vec<String> = line.value.split_whitespace().map(fstab_unescape).collect();
    if fields.len() < 4 {
        untranslated(
            ctx,
            line,
            "lxc.mount.entry",
            "an entry is `SOURCE TARGET TYPE OPTIONS [DUMP PASS]` (fstab format)",
        );
        return;
    }
    let (source, target, fstype, options) = (&fields[0], &fields[1], &fields[2], &fields[3]);
    // LXC mounts relative to the container's rootfs, also for absolute targets.
    let target = clean_path(target);
    let mut kind = match fstype.as_str() {
        "proc" => Some("proc"),
        "sysfs" => Some("sysfs"),
        "tmpfs" => Some("tmpfs"),
        "devpts" => Some("devpts"),
        _ => None,
    };
    let mut opts: Vec<&str> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    let mut size_bytes = None;
    for opt in options.split(',').filter(|o| !o.is_empty()) {
        match opt {
            "bind" => kind = kind.or(Some("bind")),
            "rbind" => {
                kind = kind.or(Some("bind"));
                opts.push("rbind");
            }
            "ro" | "nosuid" | "nodev" | "noexec" => opts.push(opt),
            "rw" | "defaults" | "suid" | "dev" | "exec" => {}
            "create=dir" | "create=file" => notes.push(format!(
                "{opt}: LXC creates the mount point if missing; sbx needs it to exist"
            )),
            "optional" => notes
                .push("optional: LXC skips this mount if it fails; sbx fails instead".to_string()),
            o if o.starts_with("size=") => match parse_kernel_size(&o[5..]) {
                Some(b) => size_bytes = Some(b),
                None => dropped.push(o.to_string()),
            },
            o => dropped.push(o.to_string()),
        }
    }
    let Some(kind) = kind else {
        untranslated(
            ctx,
            line,
            "lxc.mount.entry",
            &format!("sbx mounts only bind, tmpfs, proc, sysfs and devpts, not `{fstype}`"),
        );
        return;
    };
    if kind == "bind" && !source.starts_with('/') {
        untranslated(
            ctx,
            line,
            "lxc.mount.entry",
            "the source of a bind mount is not an absolute host path",
        );
        return;
    }
    if kind != "bind" {
        opts.retain(|o| *o != "rbind");
    }
    if !dropped.is_empty() {
        let text = dropped.join(",");
        ctx.lossy(
            line.value_span,
            format!("mount options `{text}` of `{target}` are not translated"),
            "sbx mount options are ro, nosuid, nodev, noexec and rbind; the mount is kept without them",
        );
        notes.push(format!("options not translated: {text}"));
    }
    if !notes.is_empty() && dropped.is_empty() {
        ctx.lossy(
            line.value_span,
            format!("mount `{target}` behaves differently in sbx"),
            notes.join("; "),
        );
    }
    let mut block_notes = vec![format!("{}: {}", line.place, shorten(&line.raw, 100))];
    block_notes.extend(notes);
    if draft.mounts.iter().any(|b| b.label == target) {
        block_notes.push("replaces an earlier mount of the same path".to_string());
        draft.mounts.retain(|b| b.label != target);
    }
    let b = Draft::block(&mut draft.mounts, &target);
    b.notes = block_notes;
    let merge = &mut draft.merge;
    b.fields
        .set("type", entry(word(kind), line.span, ctx.input), merge);
    if kind == "bind" {
        b.fields.set(
            "source",
            entry(string(&clean_path(source)), line.span, ctx.input),
            merge,
        );
    }
    if !opts.is_empty() {
        opts.dedup();
        b.fields.set(
            "options",
            entry(
                list(opts.iter().map(|o| word(o)).collect()),
                line.span,
                ctx.input,
            ),
            merge,
        );
    }
    if let (Some(bytes), "tmpfs") = (size_bytes, kind) {
        b.fields
            .set("size", entry(size(bytes), line.span, ctx.input), merge);
    }
}

/// A size as the kernel's `memparse` reads a mount option (`8m`, `1G`); a
/// share of RAM (`50%`) depends on the host and is not one.
fn parse_kernel_size(text: &str) -> Option<u64> {
    if text.ends_with('%') {
        return None;
    }
    super::draft::parse_binary_size(text)
}

fn mount_auto(ctx: &mut Ctx, draft: &mut Draft, line: &Line) {
    if line.value.is_empty() {
        for path in ["/proc", "/sys"] {
            draft.mounts.retain(|b| b.label != path);
        }
        return;
    }
    for item in line.value.split_whitespace() {
        let (what, mode) = item.split_once(':').unwrap_or((item, ""));
        let (path, kind, ro, note) = match (what, mode) {
            ("proc", "rw") => ("/proc", "proc", false, None),
            ("proc", "mixed" | "") => (
                "/proc",
                "proc",
                false,
                Some("proc:mixed: /proc/sys and /proc/sysrq-trigger read-only (security.readonly_paths)"),
            ),
            ("sys", "rw") => ("/sys", "sysfs", false, None),
            ("sys", "ro") => ("/sys", "sysfs", true, None),
            ("sys", "mixed" | "") => (
                "/sys",
                "sysfs",
                true,
                Some("sys:mixed: read-only; LXC leaves /sys/devices/virtual/net writable, sbx does not"),
            ),
            _ => {
                ctx.footer.push(format!(
                    "not translated ({}): lxc.mount.auto item `{item}` -- sbx sets up cgroup and shared mounts itself",
                    line.place
                ));
                ctx.warn(
                    "sbx::convert::untranslated",
                    line.value_span,
                    format!("`lxc.mount.auto` item `{item}` is not translated"),
                    "not translated",
                    "sbx has no automatic cgroup or shared mounts; the item is kept as a comment at the end of the profile",
                );
                continue;
            }
        };
        draft.mounts.retain(|b| b.label != path);
        let b = Draft::block(&mut draft.mounts, path);
        b.notes = vec![format!("{}: lxc.mount.auto = {item}", line.place)];
        if let Some(n) = note {
            b.notes.push(n.to_string());
        }
        b.fields.set(
            "type",
            entry(word(kind), line.span, ctx.input),
            &mut draft.merge,
        );
        if ro {
            b.fields.set(
                "options",
                entry(list(vec![word("ro")]), line.span, ctx.input),
                &mut draft.merge,
            );
        }
        if what == "proc" && mode != "rw" {
            for p in ["/proc/sys", "/proc/sysrq-trigger"] {
                draft
                    .security
                    .append("readonly_paths", string(p), line.span, ctx.input);
            }
        }
    }
}

const RLIMIT_RESOURCES: &[&str] = &[
    "as",
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

fn prlimit(ctx: &mut Ctx, draft: &mut Draft, line: &Line, resource: &str) {
    let resource = resource.to_ascii_lowercase();
    if !RLIMIT_RESOURCES.contains(&resource.as_str()) {
        unknown_key(ctx, line);
        return;
    }
    if line.value.is_empty() {
        draft.rlimits.remove(&resource);
        return;
    }
    let one = |v: &str| -> Option<Value> {
        match v {
            "unlimited" | "infinity" => Some(word("infinity")),
            n => n.parse::<u64>().ok().map(integer),
        }
    };
    let value = match line.value.split_once(':') {
        Some((soft, hard)) => match (one(soft), one(hard)) {
            (Some(s), Some(h)) => super::draft::rlimit_pair(s, h),
            _ => None,
        },
        None => one(&line.value),
    };
    match value {
        Some(v) => draft
            .rlimits
            .set(&resource, entry(v, line.span, ctx.input), &mut draft.merge),
        None => untranslated(
            ctx,
            line,
            &line.key,
            "a limit is `N`, `SOFT:HARD` (soft at most hard) or `unlimited`",
        ),
    }
}

/// `max`, `-1` or a byte count with an optional K/M/G suffix.
fn memory_value(text: &str) -> Option<Value> {
    match text {
        "max" | "-1" => Some(word("max")),
        t => super::draft::parse_binary_size(t).map(size),
    }
}

fn set_limit(
    ctx: &Ctx,
    draft: &mut Draft,
    line: &Line,
    key: &str,
    value: Value,
    note: Option<String>,
) {
    let mut e = entry(value, line.span, ctx.input);
    e.notes.extend(note);
    draft.limits.set(key, e, &mut draft.merge);
}

/// OCI runtimes' current `cpu.shares` -> `cpu.weight` conversion (crun,
/// runc >= 1.3.2, MAPPING.md): a quadratic in log space through
/// (2, 1), (1024, 100) and (262144, 10000).
pub(crate) fn oci_shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    if shares <= 2 {
        return 1;
    }
    if shares >= 262_144 {
        return 10_000;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    10f64.powf(exponent).ceil() as u64
}

/// OCI runtimes' `blkio.weight` -> `io.weight` (MAPPING.md).
pub(crate) fn oci_blkio_to_io(blkio: u64) -> u64 {
    1 + (blkio.saturating_sub(10)) * 9999 / 990
}

fn cgroup1(ctx: &mut Ctx, draft: &mut Draft, state: &mut State, line: &Line, file: &str, i: usize) {
    let v = line.value.trim();
    if v.is_empty() {
        let key = match file {
            "memory.limit_in_bytes" => "memory.max",
            "memory.soft_limit_in_bytes" => "memory.high",
            "cpu.shares" => "cpu.weight",
            "cpuset.cpus" => "cpuset.cpus",
            "cpuset.mems" => "cpuset.mems",
            "blkio.weight" => "io.weight",
            "pids.max" => "pids.max",
            "memory.memsw.limit_in_bytes" => {
                state.memsw = None;
                return;
            }
            "cpu.cfs_quota_us" | "cpu.cfs_period_us" => {
                state.cfs_quota = None;
                state.cfs_period = None;
                draft.limits.remove("cpu.quota");
                draft.limits.remove("cpu.period");
                return;
            }
            _ => {
                untranslated(
                    ctx,
                    line,
                    &line.key,
                    "it clears a cgroup setting sbx does not translate",
                );
                return;
            }
        };
        draft.limits.remove(key);
        return;
    }
    let original = format!("lxc.cgroup.{file}={v}");
    match file {
        "memory.limit_in_bytes" => match memory_value(v) {
            Some(val) => set_limit(
                ctx,
                draft,
                line,
                "memory.max",
                val,
                Some(format!("{original} (cgroup v1)")),
            ),
            None => untranslated(ctx, line, &line.key, "the value is not a size"),
        },
        "memory.soft_limit_in_bytes" => match memory_value(v) {
            Some(val) => set_limit(
                ctx,
                draft,
                line,
                "memory.high",
                val,
                Some(format!("{original}: the v1 soft limit is v2 memory.high")),
            ),
            None => untranslated(ctx, line, &line.key, "the value is not a size"),
        },
        "memory.memsw.limit_in_bytes" => match v {
            "-1" | "max" => state.memsw = Some((u64::MAX, i)),
            _ => match super::draft::parse_binary_size(v) {
                Some(b) => state.memsw = Some((b, i)),
                None => untranslated(ctx, line, &line.key, "the value is not a size"),
            },
        },
        "cpu.shares" => match v.parse::<u64>() {
            Ok(shares) => {
                let w = oci_shares_to_weight(shares).max(1);
                set_limit(
                    ctx,
                    draft,
                    line,
                    "cpu.weight",
                    integer(w),
                    Some(format!(
                        "cpu.shares={shares} -> cpu.weight {w} (OCI runtimes: ceil(10^((l^2+125l)/612-7/34)), l=log2(shares))"
                    )),
                );
            }
            Err(_) => untranslated(ctx, line, &line.key, "the value is not a number"),
        },
        "cpu.cfs_quota_us" => match v.parse::<i64>() {
            Ok(q) => state.cfs_quota = Some((q, i)),
            Err(_) => untranslated(ctx, line, &line.key, "the value is not a number"),
        },
        "cpu.cfs_period_us" => match v.parse::<u64>() {
            Ok(p) => state.cfs_period = Some((p, i)),
            Err(_) => untranslated(ctx, line, &line.key, "the value is not a number"),
        },
        "cpuset.cpus" | "cpuset.mems" if !super::draft::valid_cpu_list(v) => untranslated(
            ctx,
            line,
            &line.key,
            "the value is not a list of numbers and ranges such as `0-3,8`",
        ),
        "cpuset.cpus" | "cpuset.mems" => set_limit(ctx, draft, line, file, string(v), None),
        "blkio.weight" => match v.parse::<u64>() {
            Ok(b) if (10..=1000).contains(&b) => {
                let io = oci_blkio_to_io(b);
                set_limit(
                    ctx,
                    draft,
                    line,
                    "io.weight",
                    integer(io),
                    Some(format!(
                        "blkio.weight={b} -> io.weight {io} (OCI runtimes: 1 + (blkio-10)*9999/990)"
                    )),
                );
            }
            _ => untranslated(ctx, line, &line.key, "the weight is not in 10-1000"),
        },
        "pids.max" => match v {
            "max" | "-1" => set_limit(ctx, draft, line, "pids.max", word("max"), None),
            n => match n.parse::<u64>() {
                Ok(n) if n >= 1 => set_limit(ctx, draft, line, "pids.max", integer(n), None),
                _ => untranslated(ctx, line, &line.key, "the value is not a count"),
            },
        },
        f if f.starts_with("devices.") => untranslated(
            ctx,
            line,
            &line.key,
            "sbx has no device cgroup rules (it gives the sandbox a minimal /dev)",
        ),
        _ => untranslated(
            ctx,
            line,
            &line.key,
            "sbx has no limit for this cgroup file",
        ),
    }
}

fn cgroup2(ctx: &mut Ctx, draft: &mut Draft, line: &Line, file: &str) {
    let v = line.value.trim();
    let same = [
        "memory.max",
        "memory.high",
        "memory.swap.max",
        "cpu.weight",
        "cpuset.cpus",
        "cpuset.mems",
        "io.weight",
        "pids.max",
    ];
    if v.is_empty() {
        if same.contains(&file) {
            draft.limits.remove(file);
        } else if file == "cpu.max" {
            draft.limits.remove("cpu.quota");
            draft.limits.remove("cpu.period");
        } else {
            untranslated(
                ctx,
                line,
                &line.key,
                "it clears a cgroup setting sbx does not translate",
            );
        }
        return;
    }
    match file {
        "memory.max" | "memory.high" | "memory.swap.max" => match memory_value(v) {
            Some(val) => set_limit(ctx, draft, line, file, val, None),
            None => untranslated(ctx, line, &line.key, "the value is not a size"),
        },
        "cpu.weight" => match v.parse::<u64>() {
            Ok(w) if (1..=10_000).contains(&w) => {
                set_limit(ctx, draft, line, file, integer(w), None)
            }
            _ => untranslated(ctx, line, &line.key, "the weight is not in 1-10000"),
        },
        "io.weight" => {
            let w = v.strip_prefix("default").map(str::trim).unwrap_or(v);
            match w.parse::<u64>() {
                Ok(w) if (1..=10_000).contains(&w) => {
                    set_limit(ctx, draft, line, file, integer(w), None)
                }
                _ => untranslated(
                    ctx,
                    line,
                    &line.key,
                    "only a default weight in 1-10000 is translated, not per-device weights",
                ),
            }
        }
        "cpuset.cpus" | "cpuset.mems" if !super::draft::valid_cpu_list(v) => untranslated(
            ctx,
            line,
            &line.key,
            "the value is not a list of numbers and ranges such as `0-3,8`",
        ),
        "cpuset.cpus" | "cpuset.mems" => set_limit(ctx, draft, line, file, string(v), None),
        "pids.max" => match v {
            "max" => set_limit(ctx, draft, line, file, word("max"), None),
            n => match n.parse::<u64>() {
                Ok(n) if n >= 1 => set_limit(ctx, draft, line, file, integer(n), None),
                _ => untranslated(ctx, line, &line.key, "the value is not a count"),
            },
        },
        "cpu.max" => {
            let mut parts = v.split_whitespace();
            let quota = parts.next().unwrap_or("max");
            let period = parts.next().map(str::parse::<u64>);
            let period = match period {
                None => 100_000,
                Some(Ok(p)) if (1_000..=1_000_000).contains(&p) => p,
                Some(_) => {
                    untranslated(ctx, line, &line.key, "the period is not in 1000-1000000 us");
                    return;
                }
            };
            if quota == "max" {
                draft.limits.remove("cpu.quota");
            } else {
                match quota.parse::<u64>() {
                    Ok(q) if q >= 1000 => {
                        let (pct, exact) = ratio_percent(q, period);
                        set_limit(
                            ctx,
                            draft,
                            line,
                            "cpu.quota",
                            percent(&pct),
                            Some(format!(
                                "cpu.max=\"{v}\" -> {pct}% (quota/period*100{})",
                                if exact { "" } else { ", rounded up" }
                            )),
                        );
                    }
                    _ => {
                        untranslated(
                            ctx,
                            line,
                            &line.key,
                            "the quota is not a number of microseconds",
                        );
                        return;
                    }
                }
            }
            if period != 100_000 {
                set_limit(
                    ctx,
                    draft,
                    line,
                    "cpu.period",
                    super::draft::duration(period),
                    None,
                );
            }
        }
        f if f.starts_with("devices.") => untranslated(
            ctx,
            line,
            &line.key,
            "sbx has no device rules (it gives the sandbox a minimal /dev)",
        ),
        _ => untranslated(
            ctx,
            line,
            &line.key,
            "sbx has no limit for this cgroup file",
        ),
    }
}

fn net_key(ctx: &mut Ctx, state: &mut State, n: usize, sub: &str, lines: &[Line], i: usize) {
    let line = &lines[i];
    let v = line.value.trim().to_string();
    let net = &mut state.nets[n];
    let slot = |s: &mut Option<(String, usize)>| {
        *s = (!v.is_empty()).then(|| (v.clone(), i));
    };
    match sub {
        "type" => {
            if net.kind.is_some() && !v.is_empty() {
                ctx.lossy(
                    line.span,
                    format!("`{}` sets the type of interface {} again", line.key, net.index),
                    "LXC overwrites the interface: its later keys change the same interface; write a new index (`lxc.net.1.type`) for a second interface",
                );
            }
            slot(&mut net.kind);
        }
        "flags" => net.up = Some((v == "up", i)),
        "link" => slot(&mut net.link),
        "name" => slot(&mut net.name),
        "hwaddr" => slot(&mut net.hwaddr),
        "mtu" => slot(&mut net.mtu),
        "ipv4.address" => {
            if v.is_empty() {
                net.ipv4.clear();
            } else {
                net.ipv4.push((v, i));
            }
        }
        "ipv6.address" => {
            if v.is_empty() {
                net.ipv6.clear();
            } else {
                net.ipv6.push((v, i));
            }
        }
        "ipv4.gateway" => slot(&mut net.gateway4),
        "ipv6.gateway" => slot(&mut net.gateway6),
        "macvlan.mode" => slot(&mut net.macvlan_mode),
        "vlan.id" => slot(&mut net.vlan_id),
        _ if NET_KEYS.contains(&sub) => {
            untranslated(ctx, line, &line.key, "sbx has no such interface setting")
        }
        _ => unknown_key(ctx, line),
    }
}

/// LXC's default prefix for an IPv4 address written without one
/// (`config_ip_prefix`: the address class).
fn ipv4_class_prefix(address: &str) -> u8 {
    let first: u8 = address
        .split('.')
        .next()
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    match first {
        0..=127 => 8,
        128..=191 => 16,
        _ => 24,
    }
}

fn finish(ctx: &mut Ctx, draft: &mut Draft, state: State, lines: &[Line]) {
    // rootfs
    if let Some((path, i)) = &state.rootfs {
        let line = &lines[*i];
        let (backend, dir) = match path.split_once(':') {
            Some((b, rest)) if !path.starts_with('/') => (b.to_string(), rest.to_string()),
            _ => (
                state
                    .backend
                    .as_ref()
                    .map(|(b, _)| b.clone())
                    .unwrap_or_else(|| "dir".to_string()),
                path.clone(),
            ),
        };
        if backend == "dir" && dir.starts_with('/') {
            set_top(ctx, draft, "from", string(&clean_path(&dir)), line, None);
        } else {
            untranslated(
                ctx,
                line,
                &line.key,
                &format!("sbx takes a rootfs directory, not a `{backend}` storage backend"),
            );
        }
    }
    if let (Some((_, i)), None) = (&state.backend, &state.rootfs) {
        untranslated(
            ctx,
            &lines[*i],
            "lxc.rootfs.backend",
            "there is no `lxc.rootfs` for it",
        );
    }
    if let (Some((_, i)), false, None) = (&state.rootfs, state.has_cmd, draft.top.get("cmd")) {
        set_top(
            ctx,
            draft,
            "cmd",
            strings(&["/sbin/init".to_string()]),
            &lines[*i],
            Some("LXC boots /sbin/init when lxc.init.cmd is not set".to_string()),
        );
    }

    // LXC takes an absolute mount target inside the rootfs's own path as
    // that place in the container.
    if let Some((path, _)) = &state.rootfs {
        let dir = path
            .split_once(':')
            .map(|(_, d)| d)
            .filter(|_| !path.starts_with('/'))
            .unwrap_or(path);
        let root = clean_path(dir);
        for b in draft.mounts.iter_mut() {
            if let Some(inside) = b.label.strip_prefix(&format!("{root}/")) {
                b.notes
                    .push(format!("the target is inside the rootfs {root}"));
                b.label = format!("/{inside}");
            }
        }
    }

    // user
    match (&state.uid, &state.gid) {
        (None, None) => {}
        (u, g) => {
            let at = u.as_ref().or(g.as_ref()).map(|(_, i)| *i).unwrap_or(0);
            let uid = u.as_ref().map(|(v, _)| v.as_str()).unwrap_or("0");
            // A numeric id outside the user namespace's map cannot be
            // switched to: LXC fails at start, sbx refuses the profile.
            let unmapped = [
                ("uid", Some(uid)),
                ("gid", g.as_ref().map(|(g, _)| g.as_str())),
            ]
            .into_iter()
            .find_map(|(key, id)| {
                let id: u64 = id?.parse().ok()?;
                let ranges = id_ranges(draft, key);
                let covered = ranges.iter().any(|&[i, _, m]| id >= i && id < i + m);
                (!ranges.is_empty() && !covered).then_some((key, id))
            });
            if let Some((key, id)) = unmapped {
                untranslated(
                    ctx,
                    &lines[at],
                    &lines[at].key,
                    &format!("{key} {id} is not mapped by `lxc.idmap`, so the sandbox could not switch to it"),
                );
            } else {
                match super::draft::user_value(uid, g.as_ref().map(|(g, _)| g.as_str())) {
                    Some(value) => set_top(ctx, draft, "user", value, &lines[at], None),
                    None => untranslated(
                        ctx,
                        &lines[at],
                        &lines[at].key,
                        "the user or group is not a name or id sbx accepts",
                    ),
                }
            }
        }
    }

    // capabilities
    match (&state.cap_keep, state.cap_drop.is_empty()) {
        (Some((keep, i)), drop_empty) => {
            if !drop_empty {
                ctx.lossy(
                    lines[*i].span,
                    "both `lxc.cap.keep` and `lxc.cap.drop` are set",
                    "LXC refuses this combination; the profile keeps only the `lxc.cap.keep` capabilities",
                );
            }
            draft.capabilities.restrict(
                CapPolicy::Exactly(keep.clone()),
                lines[*i].span,
                ctx.input,
            );
            draft.capabilities.notes.push(format!(
                "{}: lxc.cap.keep: only these capabilities (drop = all + add)",
                lines[*i].place
            ));
        }
        (None, false) => {
            let mut drop: Vec<String> = Vec::new();
            for (c, _) in &state.cap_drop {
                if !drop.contains(c) {
                    drop.push(c.clone());
                }
            }
            let at = state.cap_drop[0].1;
            draft
                .capabilities
                .restrict(CapPolicy::DefaultMinus(drop), lines[at].span, ctx.input);
            draft.capabilities.notes.push(
                "lxc.cap.drop: LXC starts from every capability, sbx from its default set"
                    .to_string(),
            );
        }
        (None, true) => {}
    }

    // cgroup v1 values that combine
    if let Some((memsw, i)) = state.memsw {
        let line = &lines[i];
        let limit = draft
            .limits
            .get("memory.max")
            .and_then(|e| match &e.value.kind {
                sbx_grammar::ast::ValueKind::Size(s) => Some(s.bytes),
                _ => None,
            });
        match (memsw, limit) {
            (u64::MAX, _) => set_limit(
                ctx,
                draft,
                line,
                "memory.swap.max",
                word("max"),
                Some("memory.memsw.limit_in_bytes=-1: swap unlimited".to_string()),
            ),
            (m, Some(l)) if m >= l => set_limit(
                ctx,
                draft,
                line,
                "memory.swap.max",
                size(m - l),
                Some(format!(
                    "memsw {} - memory {} = swap {} (v1 counts memory+swap, v2 swap only)",
                    super::draft::render_value(&size(m)),
                    super::draft::render_value(&size(l)),
                    super::draft::render_value(&size(m - l)),
                )),
            ),
            _ => untranslated(
                ctx,
                line,
                &line.key,
                "v1 counts memory plus swap: without a memory limit at most as large, the swap alone is unknown",
            ),
        }
    }
    match (state.cfs_quota, state.cfs_period) {
        (Some((q, i)), _) if (1..1000).contains(&q) => untranslated(
            ctx,
            &lines[i],
            "lxc.cgroup.cpu.cfs_quota_us",
            "a quota below 1000 us is below the kernel's 1 ms minimum",
        ),
        (Some((q, i)), period) if q > 0 => {
            let p = period.map(|(p, _)| p).unwrap_or(100_000);
            let (pct, exact) = ratio_percent(q as u64, p.max(1));
            set_limit(
                ctx,
                draft,
                &lines[i],
                "cpu.quota",
                percent(&pct),
                Some(format!(
                    "cfs_quota_us={q} / cfs_period_us={p} -> {pct}% (quota/period*100{})",
                    if exact { "" } else { ", rounded up" }
                )),
            );
            if p != 100_000 {
                if (1_000..=1_000_000).contains(&p) {
                    let at = period.map(|(_, i)| i).unwrap_or(i);
                    set_limit(
                        ctx,
                        draft,
                        &lines[at],
                        "cpu.period",
                        super::draft::duration(p),
                        None,
                    );
                } else {
                    untranslated(
                        ctx,
                        &lines[i],
                        "lxc.cgroup.cpu.cfs_period_us",
                        "the period is not in 1000-1000000 us",
                    );
                }
            }
        }
        (Some((_, i)), period) => {
            // -1: no quota; the period alone has no effect.
            let line = &lines[i];
            draft.footer.push(format!(
                "{}: {} -- no quota (unlimited), nothing to set",
                line.place, line.raw
            ));
            if let Some((_, pi)) = period {
                let pl = &lines[pi];
                draft.footer.push(format!(
                    "{}: {} -- a period without a quota has no effect",
                    pl.place, pl.raw
                ));
            }
        }
        (None, Some((_, i))) => untranslated(
            ctx,
            &lines[i],
            "lxc.cgroup.cpu.cfs_period_us",
            "a period without a quota has no effect",
        ),
        (None, None) => {}
    }

    // interfaces
    let mut nets = state.nets;
    nets.sort_by_key(|n| n.index);
    for net in &nets {
        if net.kind.is_none() {
            let line = &lines[net.first_line];
            untranslated(
                ctx,
                line,
                &line.key,
                &format!("interface {} has no `type`", net.index),
            );
        }
    }
    let real: Vec<&NetConfig> = nets.iter().filter(|n| n.kind.is_some()).collect();
    let kind_of = |n: &NetConfig| n.kind.as_ref().map(|(k, _)| k.clone()).unwrap_or_default();
    let devices = real
        .iter()
        .filter(|n| !matches!(kind_of(n).as_str(), "none" | "empty"))
        .count();
    let mut default_names = 0;
    for net in real {
        let (kind, ki) = net.kind.as_ref().expect("filtered");
        let kline = &lines[*ki];
        match kind.as_str() {
            "none" if devices > 0 => {
                untranslated(
                    ctx,
                    kline,
                    &kline.key,
                    "`none` (the host's network) cannot be combined with other interfaces; LXC refuses it too",
                );
                continue;
            }
            "none" => {
                set_top(
                    ctx,
                    draft,
                    "network",
                    word("host"),
                    kline,
                    Some(format!(
                        "{}: {} (share the host's network)",
                        kline.place, kline.raw
                    )),
                );
                continue;
            }
            "empty" if devices > 0 => {
                draft.footer.push(format!(
                    "{}: {} -- an empty interface adds nothing next to the others",
                    kline.place, kline.raw
                ));
                continue;
            }
            "empty" => {
                set_top(
                    ctx,
                    draft,
                    "network",
                    word("none"),
                    kline,
                    Some(format!("{}: {} (loopback only)", kline.place, kline.raw)),
                );
                continue;
            }
            "veth" | "macvlan" | "vlan" | "phys" => {}
            other => {
                untranslated(
                    ctx,
                    kline,
                    &kline.key,
                    &format!("sbx has no `{other}` interfaces (veth, macvlan, vlan, phys)"),
                );
                continue;
            }
        }
        let mut notes = vec![format!(
            "{}: {} (interface {})",
            kline.place, kline.raw, net.index
        )];
        // The parent device: required for all but veth.
        let link = match &net.link {
            Some((l, i)) if ifname_problem(l).is_some() => {
                untranslated(
                    ctx,
                    &lines[*i],
                    &lines[*i].key,
                    "the link is not a valid interface name",
                );
                None
            }
            other => other.clone(),
        };
        if kind != "veth" && link.is_none() {
            untranslated(
                ctx,
                kline,
                &kline.key,
                &format!(
                    "a {kind} interface needs a valid `link` (the host device); LXC needs it too"
                ),
            );
            continue;
        }
        let vlan_id = match (&net.vlan_id, kind.as_str()) {
            (Some((id, i)), "vlan") => match id.parse::<u64>() {
                Ok(n) if (1..=4094).contains(&n) => Some((n, *i)),
                _ => {
                    untranslated(ctx, &lines[*i], &lines[*i].key, "a VLAN id is 1-4094");
                    None
                }
            },
            (Some((_, i)), _) => {
                untranslated(
                    ctx,
                    &lines[*i],
                    &lines[*i].key,
                    "a VLAN id is for a vlan interface",
                );
                None
            }
            (None, _) => None,
        };
        if kind == "vlan" && vlan_id.is_none() {
            untranslated(
                ctx,
                kline,
                &kline.key,
                "a vlan interface needs `vlan.id`; LXC needs it too",
            );
            continue;
        }
        let label = match (&net.name, kind.as_str(), &link) {
            (Some((n, _)), _, _) if ifname_problem(n).is_none() => n.clone(),
            (named, k, l) => {
                if let Some((n, i)) = named {
                    ctx.lossy(
                        lines[*i].span,
                        format!("`{n}` is not a valid interface name"),
                        "an interface name is 1 to 15 bytes without `/`, `:` or spaces; the interface gets a default name",
                    );
                }
                match (k, l) {
                    ("phys", Some((link, _))) => {
                        notes.push("no lxc.net name: a phys device keeps its name".to_string());
                        link.clone()
                    }
                    _ => {
                        let name = loop {
                            let candidate = format!("eth{default_names}");
                            default_names += 1;
                            if !draft.nets.iter().any(|b| b.label == candidate) {
                                break candidate;
                            }
                        };
                        notes.push(format!("no lxc.net name: LXC names it eth%d ({name})"));
                        name
                    }
                }
            }
        };
        if draft.nets.iter().any(|b| b.label == label) {
            ctx.lossy(
                kline.span,
                format!("a second interface is named `{label}`"),
                "the later interface replaces the earlier one in the profile",
            );
            draft.nets.retain(|b| b.label != label);
        }
        let input = ctx.input;
        let at = |i: usize| lines[i].span;
        let mut fields = super::draft::Fields::default();
        let merge = &mut draft.merge;
        fields.set("type", entry(word(kind), kline.span, input), merge);
        if let Some((link, i)) = &link {
            fields.set("link", entry(string(link), at(*i), input), merge);
        }
        if let Some((mode, i)) = &net.macvlan_mode {
            if kind == "macvlan"
                && ["bridge", "vepa", "private", "passthru"].contains(&mode.as_str())
            {
                fields.set("mode", entry(word(mode), at(*i), input), merge);
            } else {
                untranslated(
                    ctx,
                    &lines[*i],
                    &lines[*i].key,
                    "a macvlan mode is bridge, vepa, private or passthru, for a macvlan interface",
                );
            }
        }
        if let Some((n, i)) = vlan_id {
            fields.set("vlan", entry(integer(n), at(i), input), merge);
        }
        if let Some((hw, i)) = &net.hwaddr {
            match crate::address::parse_mac(hw) {
                Ok(mac) => fields.set("hwaddr", entry(string(&mac), at(*i), input), merge),
                Err(e) => {
                    let why = if hw.contains('x') {
                        "LXC fills the `x` digits at random; sbx needs a full address".to_string()
                    } else {
                        format!("not a usable MAC address: {e}")
                    };
                    untranslated(ctx, &lines[*i], &lines[*i].key, &why);
                }
            }
        }
        let mut addresses = Vec::new();
        let mut cidrs = Vec::new();
        let mut address_notes = Vec::new();
        for (a, i) in net.ipv4.iter().chain(net.ipv6.iter()) {
            let mut words = a.split_whitespace();
            let addr = words.next().unwrap_or("");
            let mut note = None;
            if words.next().is_some() {
                note = Some(format!(
                    "{}: the broadcast address is left to the kernel",
                    lines[*i].place
                ));
            }
            let full = if addr.contains('/') {
                addr.to_string()
            } else if addr.contains(':') {
                note = Some(format!("{addr}: LXC's default prefix /64"));
                format!("{addr}/64")
            } else {
                let p = ipv4_class_prefix(addr);
                note = Some(format!(
                    "{addr}: LXC's default prefix /{p} (the address class)"
                ));
                format!("{addr}/{p}")
            };
            match crate::address::parse_cidr(&full) {
                Ok(cidr) => {
                    cidrs.push(cidr);
                    addresses.push(string(&full));
                    address_notes.extend(note);
                }
                Err(e) => untranslated(
                    ctx,
                    &lines[*i],
                    &lines[*i].key,
                    &format!("not an address: {e}"),
                ),
            }
        }
        if !addresses.is_empty() {
            let mut e = entry(list(addresses), kline.span, input);
            e.notes = address_notes;
            fields.set("address", e, &mut draft.merge);
        }
        // One IPv4 and one IPv6 gateway, each inside an address's subnet.
        let mut gateways = Vec::new();
        for (g, i) in net.gateway4.iter().chain(net.gateway6.iter()) {
            let ip = match crate::address::parse_ip(g) {
                Ok(ip) => ip,
                Err(_) => {
                    let why = if g == "auto" || g == "dev" {
                        "sbx needs the gateway's address"
                    } else {
                        "the gateway is not an IP address"
                    };
                    untranslated(ctx, &lines[*i], &lines[*i].key, why);
                    continue;
                }
            };
            if !cidrs.iter().any(|c| in_subnet(c, ip)) {
                untranslated(
                    ctx,
                    &lines[*i],
                    &lines[*i].key,
                    "sbx needs the gateway inside the subnet of one of the interface's addresses",
                );
                continue;
            }
            gateways.push(string(g));
        }
        match gateways.len() {
            0 => {}
            1 => fields.set(
                "gateway",
                entry(gateways.remove(0), kline.span, input),
                &mut draft.merge,
            ),
            _ => fields.set(
                "gateway",
                entry(list(gateways), kline.span, input),
                &mut draft.merge,
            ),
        }
        if let Some((mtu, i)) = &net.mtu {
            match mtu.parse::<u64>() {
                Ok(m) if (68..=65535).contains(&m) => {
                    fields.set("mtu", entry(integer(m), at(*i), input), &mut draft.merge)
                }
                _ => untranslated(ctx, &lines[*i], &lines[*i].key, "an MTU is 68-65535"),
            }
        }
        if let Some((true, i)) = net.up {
            fields.set("up", entry(boolean(true), at(i), input), &mut draft.merge);
        }
        let b = Draft::block(&mut draft.nets, &label);
        b.notes = notes;
        b.fields = fields;
    }
}

/// Why `name` cannot be a Linux interface name, if it cannot (the
/// compiler's rule: 1 to 15 bytes, no `/`, `:`, space; not `.` or `..`).
fn ifname_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 15 || name == "." || name == ".." {
        Some("length")
    } else if name.contains(|c: char| c == '/' || c == ':' || c.is_whitespace() || c.is_control()) {
        Some("characters")
    } else {
        None
    }
}

/// Whether `ip` is inside `cidr`'s subnet.
fn in_subnet(cidr: &crate::address::Cidr, ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match (cidr.ip, ip) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let bits = u32::from(cidr.prefix.min(32));
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let bits = u32::from(cidr.prefix.min(128));
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_weight_matches_mapping_table() {
        let table = [
            (2, 1),
            (100, 17),
            (256, 35),
            (512, 59),
            (1024, 100),
            (2048, 174),
            (4096, 303),
            (65536, 3023),
            (262_144, 10_000),
        ];
        for (shares, weight) in table {
            assert_eq!(oci_shares_to_weight(shares), weight, "shares {shares}");
        }
        assert_eq!(oci_blkio_to_io(10), 1);
        assert_eq!(oci_blkio_to_io(100), 910);
        assert_eq!(oci_blkio_to_io(500), 4950);
        assert_eq!(oci_blkio_to_io(1000), 10_000);
    }

    #[test]
    fn init_cmd_words_keep_quoted_spaces() {
        assert_eq!(
            split_quoted("/bin/sh -c 'echo a  b' \"x y\"z"),
            vec!["/bin/sh", "-c", "echo a  b", "x yz"]
        );
    }

    #[test]
    fn placeholders_and_paths() {
        assert_eq!(autoconf_placeholder("@LXCHOOKDIR@/x"), Some("@LXCHOOKDIR@"));
        assert_eq!(autoconf_placeholder("user@example.com"), None);
        assert_eq!(clean_path("sys/fs/./fuse/"), "/sys/fs/fuse");
        assert_eq!(fstab_unescape("a\\040b"), "a b");
        assert_eq!(ipv4_class_prefix("10.2.3.4"), 8);
        assert_eq!(ipv4_class_prefix("192.168.1.2"), 24);
    }
}
