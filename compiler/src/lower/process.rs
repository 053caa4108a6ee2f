//! Top-level keys: name, rootfs, UTS names, the process (command,
//! environment, user, working directory, rlimits, signal), volumes, ports
//! and labels.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use sbx_grammar::ast::{Protocol as AstProtocol, Span, Value, ValueKind};
use sbx_plan::{EnvVar, IdOrName, Limit, Port, Process, Protocol, Rlimit, Rootfs, UserSpec};

use super::{Field, Fields, Lowerer};
use crate::signal;

/// Environment of a workload that does not set `PATH` (as Docker and runc).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub(crate) fn name(l: &mut Lowerer, top: &Fields) -> Option<String> {
    let field = top.get("name")?;
    let name = l.string(&field)?;
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid {
        l.error(
            "sbx::name::invalid",
            format!("`{name}` is not a valid sandbox name"),
            field.value.span,
            "invalid name",
            "a name is 1 to 64 letters, digits, `_`, `.` or `-`, starting with a letter or digit",
        );
        return None;
    }
    l.spans.insert("name", field.value.span);
    Some(name)
}

pub(crate) fn rootfs(l: &mut Lowerer, top: &Fields) -> Rootfs {
    let Some(field) = top.get("from") else {
        return Rootfs::Host;
    };
    l.spans.insert("rootfs", field.value.span);
    let Some(from) = l.string(&field) else {
        return Rootfs::Host;
    };
    if from == "host" {
        return Rootfs::Host;
    }
    if let Some(rest) = from.strip_prefix("oci:") {
        let (path, tag) = match rest.rsplit_once(':') {
            Some((p, t)) if !t.contains('/') && !p.is_empty() => (p, Some(t.to_string())),
            _ => (rest, None),
        };
        if path.is_empty() || tag.as_deref() == Some("") {
            l.error(
                "sbx::rootfs::invalid",
                format!("`{from}` names no OCI image layout"),
                field.value.span,
                "no path",
                "write `from = \"oci:PATH\"` or `from = \"oci:PATH:TAG\"`",
            );
            return Rootfs::Host;
        }
        return Rootfs::OciLayout {
            path: l.resolve(path),
            tag,
        };
    }
    if from.starts_with('/') || from.starts_with("./") || from.starts_with("../") {
        return Rootfs::Directory {
            path: l.resolve(&from),
        };
    }
    let valid_image = !from.is_empty()
        && !from.starts_with(['-', ':', '/', '@', '.'])
        && from.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@' | '+')
        });
    if !valid_image {
        l.error(
            "sbx::rootfs::invalid",
            format!("`{from}` is neither a directory path nor an image name"),
            field.value.span,
            "not a rootfs",
            "a directory starts with `/`, `./` or `../`; an image is a name such as `debian:bookworm`; `host` is the host's `/`",
        );
        return Rootfs::Host;
    }
    Rootfs::Image { name: from }
}

impl Lowerer {
    /// `path` relative to the profile's folder, absolute and without `.`
    /// or `..` components.
    pub(crate) fn resolve(&self, path: &str) -> String {
        normalise(&self.base_dir.join(path)).display().to_string()
    }

    /// Checks a path inside the sandbox: absolute, no `..`. `what` names it
    /// in the message.
    pub(crate) fn sandbox_path(&mut self, what: &str, text: &str, span: Span) -> bool {
        if !text.starts_with('/') {
            self.error(
                "sbx::path::relative",
                format!("{what} `{text}` is not an absolute path"),
                span,
                "relative path",
                format!(
                    "write it from the root: `/{}`",
                    text.trim_start_matches("./")
                ),
            );
            return false;
        }
        if Path::new(text)
            .components()
            .any(|c| c == Component::ParentDir)
        {
            self.error(
                "sbx::path::parent-dir",
                format!("{what} `{text}` contains `..`"),
                span,
                "`..` here",
                "write the path without `..`",
            );
            return false;
        }
        true
    }
}

/// Removes `.` and resolves `..` lexically.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `hostname` and `domainname`: at most 64 bytes, dot-separated labels of
/// letters, digits and `-`, not starting or ending with `-`.
pub(crate) fn hostname(l: &mut Lowerer, top: &Fields, key: &str) -> Option<String> {
    let field = top.get(key)?;
    let text = l.string(&field)?;
    let problem = if text.is_empty() {
        Some("it is empty".to_string())
    } else if text.len() > 64 {
        Some(format!(
            "it is {} bytes long, the kernel allows 64",
            text.len()
        ))
    } else {
        text.split('.')
            .find(|label| {
                label.is_empty()
                    || label.len() > 63
                    || label.starts_with('-')
                    || label.ends_with('-')
                    || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            .map(|label| {
                if label.is_empty() {
                    "it has an empty label (two dots in a row, or a dot at an end)".to_string()
                } else {
                    format!("the label `{label}` is not letters, digits and inner `-`")
                }
            })
    };
    if let Some(problem) = problem {
        l.error(
            &format!("sbx::uts::{key}"),
            format!("`{text}` is not a valid {key}: {problem}"),
            field.value.span,
            format!("invalid {key}"),
            format!("a {key} is at most 64 bytes of letters, digits, `-` and `.`, such as `web-1.example`"),
        );
        return None;
    }
    l.spans.insert(key, field.value.span);
    Some(text)
}

/// `entrypoint` then `cmd`; a string is the shell form.
fn command(l: &mut Lowerer, field: &Field) -> Option<(Vec<String>, bool)> {
    match &field.value.kind {
        ValueKind::String(s) => {
            if s.value.trim().is_empty() {
                l.error(
                    "sbx::process::empty-cmd",
                    format!("`{}` is empty", field.name()),
                    field.value.span,
                    "empty command",
                    format!(
                        "give the program to run, for example `{}`",
                        field.spec.example
                    ),
                );
                return None;
            }
            Some((
                vec!["/bin/sh".to_string(), "-c".to_string(), s.value.clone()],
                true,
            ))
        }
        ValueKind::List(_) => {
            let items = l.string_list(field)?;
            if items.is_empty() || items[0].0.is_empty() {
                l.error(
                    "sbx::process::empty-cmd",
                    format!("`{}` is empty", field.name()),
                    field.value.span,
                    if items.is_empty() {
                        "no program"
                    } else {
                        "empty program name"
                    },
                    format!(
                        "give the program to run, for example `{}`",
                        field.spec.example
                    ),
                );
                return None;
            }
            Some((items.into_iter().map(|(s, _)| s).collect(), false))
        }
        _ => {
            l.type_error(field, field.value, "a list of strings or a string");
            None
        }
    }
}

pub(crate) fn process(l: &mut Lowerer, top: &Fields) -> Process {
    let entrypoint = top.get("entrypoint").and_then(|f| {
        l.spans.insert("process.args", f.value.span);
        command(l, &f).map(|c| (c, f))
    });
    let cmd = top.get("cmd").and_then(|f| {
        if entrypoint.is_none() {
            l.spans.insert("process.args", f.value.span);
        }
        command(l, &f).map(|c| (c, f))
    });
    let mut args = Vec::new();
    if let Some(((ep, shell), ep_field)) = &entrypoint {
        if *shell {
            if let Some((_, cmd_field)) = &cmd {
                l.push(
                    crate::Diagnostic::error(
                        "sbx::process::shell-entrypoint-with-cmd",
                        "a shell-form `entrypoint` cannot take the arguments of `cmd`",
                    )
                    .with_label(ep_field.value.span, "shell form")
                    .with_label(cmd_field.key.span, "these arguments would be lost")
                    .with_help("write `entrypoint` as a list: `entrypoint = [\"/entrypoint.sh\"]`"),
                );
            }
        }
        args.extend(ep.iter().cloned());
    }
    if let Some(((c, _), _)) = cmd {
        args.extend(c);
    }

    let user = user(l, top);
    let groups = groups(l, top);
    let cwd = match top.get("workdir") {
        Some(f) => match l.string(&f) {
            Some(p) if l.sandbox_path("workdir", &p, f.value.span) => {
                l.spans.insert("process.cwd", f.value.span);
                p
            }
            _ => "/".to_string(),
        },
        None => "/".to_string(),
    };
    let umask = top.get("umask").and_then(|f| {
        let v = l.integer(&f)?;
        if v > 0o777 {
            l.range_error(
                "sbx::process::umask",
                &f,
                f.value,
                format!("umask `{v:#o}` is above `0o777`"),
                "a umask is an octal number of at most three digits, such as `0o022`",
            );
            return None;
        }
        l.spans.insert("process.umask", f.value.span);
        Some(v as u32)
    });
    let terminal = top
        .get("terminal")
        .and_then(|f| {
            l.spans.insert("process.terminal", f.value.span);
            l.boolean(&f)
        })
        .unwrap_or(false);
    let stop_signal = top
        .get("stop_signal")
        .and_then(|f| stop_signal(l, &f))
        .unwrap_or_else(|| "SIGTERM".to_string());
    let env = env(l, top, terminal);
    let rlimits = rlimits(l, top);

    Process {
        args,
        env,
        user,
        groups,
        cwd,
        umask,
        rlimits,
        terminal,
        stop_signal,
    }
}

fn stop_signal(l: &mut Lowerer, field: &Field) -> Option<String> {
    let name = match &field.value.kind {
        ValueKind::Word(w) => w.clone(),
        ValueKind::String(s) => s.value.clone(),
        _ => {
            l.type_error(field, field.value, "a signal name");
            return None;
        }
    };
    match signal::canonical(&name) {
        Some(s) => {
            l.spans.insert("process.stop_signal", field.value.span);
            Some(s)
        }
        None => {
            let help = match signal::suggestion(&name) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "write a signal name such as `SIGTERM`, `SIGQUIT` or `SIGINT`".to_string(),
            };
            l.error(
                "sbx::process::signal",
                format!("unknown signal `{name}`"),
                field.value.span,
                "not a signal",
                help,
            );
            None
        }
    }
}

fn env(l: &mut Lowerer, top: &Fields, terminal: bool) -> Vec<EnvVar> {
    let mut vars: Vec<EnvVar> = Vec::new();
    let given = top.get("env").and_then(|f| {
        let entries = l.string_map(&f)?;
        Some((f, entries))
    });
    let sets = |vars: &[(String, String, super::value::MapEntryRef)], name: &str| {
        vars.iter().any(|(k, _, _)| k == name)
    };
    let entries = given.as_ref().map(|(_, e)| e.as_slice()).unwrap_or(&[]);
    let sets_path = sets(entries, "PATH");
    let sets_term = sets(entries, "TERM");
    if !sets_path {
        vars.push(EnvVar {
            name: "PATH".into(),
            value: DEFAULT_PATH.into(),
        });
    }
    if let Some((field, entries)) = given {
        for (name, value, entry) in entries {
            let valid = !name.is_empty() && !name.contains(['=', '\0']);
            if !valid {
                let message = if name.is_empty() {
                    "an environment variable name is empty".to_string()
                } else {
                    format!("`{name}` is not a valid environment variable name")
                };
                l.error(
                    "sbx::process::env-name",
                    message,
                    entry.key_span,
                    "invalid name",
                    "a name is not empty and has no `=`, such as `TZ` or `MYSQL_MAJOR`",
                );
                continue;
            }
            if value.contains('\0') {
                l.error(
                    "sbx::process::env-value",
                    format!("the value of `{name}` contains a NUL character"),
                    field.value.span,
                    "NUL here",
                    "an environment value cannot contain `\\u{0}`",
                );
                continue;
            }
            l.spans
                .insert(format!("process.env.{}", vars.len()), entry.key_span);
            vars.push(EnvVar { name, value });
        }
    }
    if terminal && !sets_term {
        vars.push(EnvVar {
            name: "TERM".into(),
            value: "xterm".into(),
        });
    }
    vars
}

/// A user or group part: a number is an id, anything else a name.
fn id_or_name(text: &str) -> Result<IdOrName, String> {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        return text
            .parse::<u32>()
            .map(IdOrName::Id)
            .map_err(|_| format!("`{text}` is above the largest id, 4294967295"));
    }
    let valid = !text.is_empty()
        && !text.starts_with('-')
        && text
            .trim_end_matches('$')
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if valid {
        Ok(IdOrName::Name(text.to_string()))
    } else {
        Err(format!("`{text}` is not a user or group name"))
    }
}

fn user(l: &mut Lowerer, top: &Fields) -> UserSpec {
    let root = UserSpec {
        user: IdOrName::Id(0),
        group: None,
    };
    let Some(field) = top.get("user") else {
        return root;
    };
    let spec = match &field.value.kind {
        ValueKind::Integer(i) => u32::try_from(i.value)
            .map(|id| UserSpec {
                user: IdOrName::Id(id),
                group: None,
            })
            .map_err(|_| format!("`{}` is above the largest id, 4294967295", i.value)),
        ValueKind::String(s) => {
            let (u, g) = match s.value.split_once(':') {
                Some((u, g)) => (u, Some(g)),
                None => (s.value.as_str(), None),
            };
            id_or_name(u).and_then(|user| {
                Ok(UserSpec {
                    user,
                    group: g.map(id_or_name).transpose()?,
                })
            })
        }
        _ => {
            l.type_error(
                &field,
                field.value,
                "a user name or id (`\"app\"`, `1000`, `\"1000:1000\"`)",
            );
            return root;
        }
    };
    match spec {
        Ok(spec) => {
            l.spans.insert("process.user", field.value.span);
            spec
        }
        Err(problem) => {
            l.error(
                "sbx::process::user",
                format!("invalid `user`: {problem}"),
                field.value.span,
                "invalid user",
                "write `user = \"name\"`, `user = \"name:group\"`, `user = 1000` or `user = \"1000:1000\"`",
            );
            root
        }
    }
}

/// Root is uid 0 (or the name `root`), whatever the group.
pub(crate) fn is_root(user: &UserSpec) -> bool {
    match &user.user {
        IdOrName::Id(id) => *id == 0,
        IdOrName::Name(n) => n == "root",
    }
}

fn groups(l: &mut Lowerer, top: &Fields) -> Vec<IdOrName> {
    let Some(field) = top.get("groups") else {
        return Vec::new();
    };
    let Some(items) = l.list(&field, "a list of group names or ids") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let parsed = match &item.kind {
            ValueKind::Integer(i) => u32::try_from(i.value)
                .map(IdOrName::Id)
                .map_err(|_| format!("`{}` is above the largest id, 4294967295", i.value)),
            ValueKind::String(s) => id_or_name(&s.value),
            _ => {
                l.type_error(&field, item, "a list of group names or ids");
                continue;
            }
        };
        match parsed {
            Ok(g) => out.push(g),
            Err(problem) => l.error(
                "sbx::process::group",
                format!("invalid group in `groups`: {problem}"),
                item.span,
                "invalid group",
                "a group is a name such as `\"audio\"` or an id such as `44`",
            ),
        }
    }
    l.spans.insert("process.groups", field.value.span);
    out
}

/// Resources and whether a value is in bytes, seconds or microseconds.
fn rlimit_unit(resource: &str) -> &'static str {
    match resource {
        "as" | "core" | "data" | "fsize" | "memlock" | "msgqueue" | "rss" | "stack" => "bytes",
        "cpu" => "seconds",
        "rttime" => "microseconds",
        _ => "count",
    }
}

fn rlimit_value(l: &mut Lowerer, field: &Field, value: &Value) -> Option<Limit> {
    let unit = rlimit_unit(field.name());
    let expected = match unit {
        "bytes" => "a size, an integer or `max`",
        "seconds" | "microseconds" => "a duration, an integer or `max`",
        _ => "an integer or `max`",
    };
    match &value.kind {
        ValueKind::Integer(i) => Some(Limit::Value(i.value)),
        ValueKind::Word(w) if matches!(w.as_str(), "max" | "infinity" | "unlimited") => {
            Some(Limit::MAX)
        }
        ValueKind::Size(s) if unit == "bytes" => Some(Limit::Value(s.bytes)),
        ValueKind::Duration(d) if unit == "microseconds" => Some(Limit::Value(d.micros)),
        ValueKind::Duration(d) if unit == "seconds" => {
            if d.micros % 1_000_000 != 0 {
                l.range_error(
                    "sbx::rlimits::range",
                    field,
                    value,
                    "the `cpu` rlimit counts whole seconds",
                    "write a whole number of seconds, such as `60s`",
                );
                return None;
            }
            Some(Limit::Value(d.micros / 1_000_000))
        }
        _ => {
            l.type_error(field, value, expected);
            None
        }
    }
}

fn limit_le(a: Limit, b: Limit) -> bool {
    match (a.value(), b.value()) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(a), Some(b)) => a <= b,
    }
}

fn rlimits(l: &mut Lowerer, top: &Fields) -> Vec<Rlimit> {
    let mut out: BTreeMap<String, Rlimit> = BTreeMap::new();
    out.insert(
        "nofile".into(),
        Rlimit {
            resource: "nofile".into(),
            soft: Limit::Value(1024),
            hard: Limit::Value(1024),
        },
    );
    for block in top.blocks("rlimits") {
        let fields = l.fields(Some("rlimits"), &block.body);
        for field in fields.assignments() {
            let (soft, hard) = match &field.value.kind {
                ValueKind::List(items) => {
                    if items.len() != 2 {
                        l.error(
                            "sbx::rlimits::shape",
                            format!(
                                "`{}` takes one value or `[soft, hard]`, found a list of {}",
                                field.name(),
                                items.len()
                            ),
                            field.value.span,
                            "not two values",
                            format!("write `{}`", field.spec.example),
                        );
                        continue;
                    }
                    let soft = rlimit_value(l, &field, &items[0]);
                    let hard = rlimit_value(l, &field, &items[1]);
                    let (Some(soft), Some(hard)) = (soft, hard) else {
                        continue;
                    };
                    if !limit_le(soft, hard) {
                        l.error(
                            "sbx::rlimits::soft-above-hard",
                            format!(
                                "the soft limit of `{}` is above its hard limit",
                                field.name()
                            ),
                            field.value.span,
                            "soft > hard",
                            "the soft limit comes first and is at most the hard one: `[soft, hard]`",
                        );
                        continue;
                    }
                    (soft, hard)
                }
                _ => match rlimit_value(l, &field, field.value) {
                    Some(v) => (v, v),
                    None => continue,
                },
            };
            let resource = field.name().to_string();
            l.spans
                .insert(format!("process.rlimits.{resource}"), field.value.span);
            out.insert(
                resource.clone(),
                Rlimit {
                    resource,
                    soft,
                    hard,
                },
            );
        }
    }
    out.into_values().collect()
}

pub(crate) fn volumes(l: &mut Lowerer, top: &Fields) -> Vec<String> {
    let Some(field) = top.get("volume") else {
        return Vec::new();
    };
    let Some(items) = l.string_list(&field) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (path, value) in items {
        if l.sandbox_path("volume", &path, value.span) {
            l.spans.insert(format!("volumes.{}", out.len()), value.span);
            out.push(path);
        }
    }
    out
}

pub(crate) fn expose(l: &mut Lowerer, top: &Fields) -> Vec<Port> {
    let Some(field) = top.get("expose") else {
        return Vec::new();
    };
    let Some(items) = l.list(&field, "a list of ports") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let (number, protocol) = match &item.kind {
            ValueKind::Integer(i) => (i.value, Protocol::Tcp),
            ValueKind::Port(p) => (
                p.number,
                match p.protocol {
                    AstProtocol::Tcp => Protocol::Tcp,
                    AstProtocol::Udp => Protocol::Udp,
                },
            ),
            _ => {
                l.type_error(&field, item, "a list of ports (`80`, `53/udp`)");
                continue;
            }
        };
        if !(1..=65535).contains(&number) {
            l.range_error(
                "sbx::expose::range",
                &field,
                item,
                format!("port `{number}` is not in 1-65535"),
                "a port is a number from 1 to 65535",
            );
            continue;
        }
        l.spans.insert(format!("expose.{}", out.len()), item.span);
        out.push(Port {
            port: number as u16,
            protocol,
        });
    }
    out
}

pub(crate) fn labels(l: &mut Lowerer, top: &Fields) -> BTreeMap<String, String> {
    let Some(field) = top.get("labels") else {
        return BTreeMap::new();
    };
    let Some(entries) = l.string_map(&field) else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for (k, v, entry) in entries {
        l.spans.insert(format!("labels.{k}"), entry.key_span);
        out.insert(k, v);
    }
    out
}
