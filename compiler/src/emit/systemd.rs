//! The plan as a systemd `.service` unit: exec, sandboxing and
//! resource-control directives with their cgroup v2 names (systemd >= 252).
//!
//! Weights are written as the plan holds them (`CPUWeight=`, `IOWeight=`
//! are v2 weights); on a v1 host systemd converts them itself with its own
//! linear formulas (MAPPING.md).

use std::fmt::Write as _;
use std::path::PathBuf;

use sbx_plan::{IdOrName, Limit, MountKind, MountOption, Namespace, Network, Plan, Rootfs};

use super::{EmitError, EmitOptions, EmitTarget, EmittedFile, Warnings};

pub(crate) fn emit(
    plan: &Plan,
    _options: &EmitOptions,
    warnings: &mut Warnings<'_>,
) -> Result<Vec<EmittedFile>, EmitError> {
    let name = plan.name.clone().unwrap_or_else(|| "sbx".into());
    let contents = unit(plan, warnings)?;
    Ok(vec![EmittedFile {
        path: PathBuf::from(format!("{name}.service")),
        contents,
    }])
}

/// Escapes `%` (specifiers) for any directive value.
fn specifiers(text: &str) -> String {
    text.replace('%', "%%")
}

/// One word of a command line as `ExecStart=` splits it: safe words as they
/// are, others in double quotes with C escapes; `%` and `$` doubled (they
/// start specifiers and variable expansion).
pub fn quote_exec_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_/.:,=+@-".contains(c));
    let word = specifiers(word).replace('$', "$$");
    if safe {
        return word;
    }
    let mut out = String::from("\"");
    for c in word.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A value in double quotes with C escapes and doubled `%`, as
/// `Environment=` and path lists take it.
fn quote_value(text: &str) -> String {
    let mut out = String::from("\"");
    for c in specifiers(text).chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A path in a space-separated path list: quoted only when needed.
fn path_word(path: &str) -> String {
    if path
        .chars()
        .any(|c| c.is_whitespace() || c == '"' || c == '\\')
    {
        quote_value(path)
    } else {
        specifiers(path)
    }
}

fn limit_text(l: Limit) -> String {
    l.value()
        .map_or_else(|| "infinity".to_string(), |v| v.to_string())
}

fn id_text(v: &IdOrName) -> String {
    match v {
        IdOrName::Id(id) => id.to_string(),
        IdOrName::Name(n) => n.clone(),
    }
}

/// The systemd directive of an rlimit resource (`nofile` → `LimitNOFILE`).
fn rlimit_directive(resource: &str) -> Option<&'static str> {
    Some(match resource {
        "as" => "LimitAS",
        "core" => "LimitCORE",
        "cpu" => "LimitCPU",
        "data" => "LimitDATA",
        "fsize" => "LimitFSIZE",
        "locks" => "LimitLOCKS",
        "memlock" => "LimitMEMLOCK",
        "msgqueue" => "LimitMSGQUEUE",
        "nice" => "LimitNICE",
        "nofile" => "LimitNOFILE",
        "nproc" => "LimitNPROC",
        "rss" => "LimitRSS",
        "rtprio" => "LimitRTPRIO",
        "rttime" => "LimitRTTIME",
        "sigpending" => "LimitSIGPENDING",
        "stack" => "LimitSTACK",
        _ => return None,
    })
}

fn unit(plan: &Plan, warnings: &mut Warnings<'_>) -> Result<String, EmitError> {
    let mut s = String::new();
    let line = |s: &mut String, key: &str, value: &str| {
        let _ = writeln!(s, "{key}={value}");
    };
    s.push_str("[Unit]\n");
    let description = match &plan.name {
        Some(name) => format!("sbx sandbox {name}"),
        None => "sbx sandbox".to_string(),
    };
    line(&mut s, "Description", &specifiers(&description));
    s.push_str("\n[Service]\n");
    line(&mut s, "Type", "exec");

    let p = &plan.process;
    if p.args.is_empty() {
        return Err(EmitError::Unsupported {
            target: EmitTarget::Systemd,
            what: "a profile without `cmd` or `entrypoint`".into(),
            why: "a service needs `ExecStart=`".into(),
        });
    }
    let exec: Vec<String> = p.args.iter().map(|a| quote_exec_word(a)).collect();
    line(&mut s, "ExecStart", &exec.join(" "));
    for var in &p.env {
        line(
            &mut s,
            "Environment",
            &quote_value(&format!("{}={}", var.name, var.value)),
        );
    }
    line(&mut s, "User", &specifiers(&id_text(&p.user.user)));
    if let Some(group) = &p.user.group {
        line(&mut s, "Group", &specifiers(&id_text(group)));
    }
    if !p.groups.is_empty() {
        let groups: Vec<String> = p.groups.iter().map(|g| specifiers(&id_text(g))).collect();
        line(&mut s, "SupplementaryGroups", &groups.join(" "));
    }
    line(&mut s, "WorkingDirectory", &specifiers(&p.cwd));
    if let Some(umask) = p.umask {
        line(&mut s, "UMask", &format!("{umask:04o}"));
    }
    for r in &p.rlimits {
        match rlimit_directive(&r.resource) {
            Some(directive) => line(
                &mut s,
                directive,
                &format!("{}:{}", limit_text(r.soft), limit_text(r.hard)),
            ),
            None => warnings.unsupported(
                &format!("rlimits.{}", r.resource),
                &format!("process.rlimits.{}", r.resource),
                "systemd has no `Limit*=` directive for it",
            ),
        }
    }
    line(&mut s, "KillSignal", &p.stop_signal);
    if p.terminal {
        warnings.unsupported(
            "terminal",
            "process.terminal",
            "a service gets a terminal only with `StandardInput=tty` and a `TTYPath=` of the host",
        );
    }

    // Capabilities: systemd sets the bounding and ambient sets; it derives
    // the others from them and the user.
    let caps = &plan.capabilities;
    let names = |set: &[String]| set.join(" ");
    line(&mut s, "CapabilityBoundingSet", &names(&caps.bounding));
    if !caps.ambient.is_empty() {
        line(&mut s, "AmbientCapabilities", &names(&caps.ambient));
    }
    let derived = if super::runs_as_root(plan) {
        &caps.bounding
    } else {
        &caps.ambient
    };
    if &caps.effective != derived || &caps.permitted != derived {
        warnings.approximate(
            "capabilities",
            "capabilities",
            &format!(
                "systemd gives user `{}` the {} set as effective and permitted capabilities",
                super::user_text(plan),
                if super::runs_as_root(plan) {
                    "bounding"
                } else {
                    "ambient"
                }
            ),
        );
    }
    // `PrivateDevices=yes` (the minimal /dev below) takes these two out of
    // the bounding set.
    for cap in ["CAP_MKNOD", "CAP_SYS_RAWIO"] {
        if caps.bounding.iter().any(|c| c == cap) {
            warnings.approximate(
                &format!("capabilities ({cap})"),
                "capabilities",
                "`PrivateDevices=yes`, which gives the minimal /dev, drops it from the bounding set",
            );
        }
    }
    line(
        &mut s,
        "NoNewPrivileges",
        if plan.security.no_new_privileges {
            "yes"
        } else {
            "no"
        },
    );

    // Root filesystem and the standard mounts.
    match &plan.rootfs {
        Rootfs::Host => {
            if plan.security.rootfs_readonly {
                line(&mut s, "ProtectSystem", "strict");
            }
            // A plan mount or volume at /tmp or /run replaces the default.
            let planned = |path: &str| {
                plan.mounts.iter().any(|m| m.destination == path)
                    || plan.volumes.iter().any(|v| v == path)
            };
            if !planned("/tmp") {
                line(&mut s, "PrivateTmp", "yes");
            }
            if !planned("/run") {
                line(&mut s, "TemporaryFileSystem", "/run");
            }
            line(&mut s, "PrivateDevices", "yes");
            line(&mut s, "ReadOnlyPaths", "/sys");
        }
        Rootfs::Directory { path } => {
            line(&mut s, "RootDirectory", &path_word(path));
            line(&mut s, "MountAPIVFS", "yes");
            line(&mut s, "PrivateDevices", "yes");
            if plan.security.rootfs_readonly {
                line(&mut s, "ProtectSystem", "strict");
            }
        }
        Rootfs::OciLayout { path, .. } => {
            return Err(EmitError::Unsupported {
                target: EmitTarget::Systemd,
                what: format!("`from = \"oci:{path}\"`"),
                why: "a unit runs a root directory, not an image layout (unpack it and use `from` \
                      with the directory)"
                    .into(),
            })
        }
        Rootfs::Image { name } => {
            return Err(EmitError::Unsupported {
                target: EmitTarget::Systemd,
                what: format!("`from = \"{name}\"`"),
                why: "a unit runs a root directory, not an image (export it to a directory and \
                      use `from` with its path)"
                    .into(),
            })
        }
    }
    for path in &plan.security.readonly_paths {
        line(&mut s, "ReadOnlyPaths", &format!("-{}", path_word(path)));
    }
    for path in &plan.security.masked_paths {
        line(
            &mut s,
            "InaccessiblePaths",
            &format!("-{}", path_word(path)),
        );
    }
    mounts(plan, &mut s, warnings);
    namespaces(plan, &mut s, warnings);
    resources(plan, &mut s, warnings);
    engine_only(plan, warnings);
    Ok(s)
}

fn mounts(plan: &Plan, s: &mut String, warnings: &mut Warnings<'_>) {
    for (i, m) in plan.mounts.iter().enumerate() {
        let key = format!("mounts.{i}");
        let setting = format!("mount \"{}\"", m.destination);
        match m.kind {
            MountKind::Bind => {
                let source = m.source.clone().unwrap_or_default();
                let ro = m.options.contains(&MountOption::Ro);
                let mut value = format!("{source}:{}", m.destination);
                if !m.options.contains(&MountOption::Rbind) {
                    value.push_str(":norbind");
                }
                // The whole `SRC:DST[:OPTIONS]` entry is one word.
                let value = path_word(&value);
                let directive = if ro { "BindReadOnlyPaths" } else { "BindPaths" };
                let _ = writeln!(s, "{directive}={value}");
                if m.options.iter().any(|o| {
                    matches!(
                        o,
                        MountOption::Nosuid | MountOption::Nodev | MountOption::Noexec
                    )
                }) {
                    warnings.approximate(
                        &setting,
                        &key,
                        "systemd's `BindPaths=` takes no nosuid/nodev/noexec per path; use \
                         `NoExecPaths=` or `ProtectSystem=` around it",
                    );
                }
            }
            MountKind::Tmpfs => {
                let mut options: Vec<String> = m
                    .options
                    .iter()
                    .filter(|o| **o != MountOption::Rbind)
                    .map(|o| super::mount_option_name(*o).to_string())
                    .collect();
                if let Some(size) = m.size {
                    options.push(format!("size={size}"));
                }
                let value = if options.is_empty() {
                    path_word(&m.destination)
                } else {
                    format!("{}:{}", path_word(&m.destination), options.join(","))
                };
                let _ = writeln!(s, "TemporaryFileSystem={value}");
            }
            MountKind::Proc | MountKind::Sysfs | MountKind::Devpts => {
                let standard = matches!(
                    (m.kind, m.destination.as_str()),
                    (MountKind::Proc, "/proc")
                        | (MountKind::Sysfs, "/sys")
                        | (MountKind::Devpts, "/dev/pts")
                );
                if !standard {
                    warnings.unsupported(
                        &setting,
                        &key,
                        "systemd mounts proc, sysfs and devpts only at their standard places",
                    );
                }
            }
        }
    }
    for path in &plan.volumes {
        let _ = writeln!(s, "TemporaryFileSystem={}:mode=0755", path_word(path));
    }
}

fn namespaces(plan: &Plan, s: &mut String, warnings: &mut Warnings<'_>) {
    let has = |ns| plan.namespaces.contains(&ns);
    let mut line = |key: &str, value: &str| {
        let _ = writeln!(s, "{key}={value}");
    };
    match &plan.network {
        Network::Host => {}
        Network::None => line("PrivateNetwork", "yes"),
        Network::Interfaces { interfaces } => {
            line("PrivateNetwork", "yes");
            for (i, interface) in interfaces.iter().enumerate() {
                warnings.unsupported(
                    &format!("net \"{}\"", interface.name),
                    &format!("network.interfaces.{i}"),
                    "a unit gets a network namespace with loopback only; move interfaces in with \
                     `NetworkNamespacePath=` of a prepared namespace",
                );
            }
        }
    }
    if has(Namespace::Uts) {
        line("ProtectHostname", "yes");
    }
    if has(Namespace::Ipc) {
        line("PrivateIPC", "yes");
    }
    if has(Namespace::User) {
        line("PrivateUsers", "yes");
        if !plan.idmap.uid.is_empty() || !plan.idmap.gid.is_empty() {
            warnings.approximate(
                "idmap",
                "idmap",
                "`PrivateUsers=yes` maps root and the unit's user only, not the given ranges",
            );
        }
    }
    if has(Namespace::Pid) {
        warnings.unsupported(
            "namespaces (pid)",
            "namespaces",
            "systemd before 257 has no PID namespace for a service (`PrivatePIDs=` is new in 257)",
        );
    }
    for (ns, why) in [
        (
            Namespace::Cgroup,
            "a unit has no cgroup namespace directive",
        ),
        (Namespace::Time, "a unit has no time namespace directive"),
    ] {
        if has(ns) {
            warnings.unsupported(&format!("namespaces ({})", ns.name()), "namespaces", why);
        }
    }
    if let Some(_hostname) = &plan.hostname {
        warnings.unsupported(
            "hostname",
            "hostname",
            "a unit cannot set its own hostname; `ProtectHostname=yes` keeps the host's",
        );
    }
    if plan.domainname.is_some() {
        warnings.unsupported(
            "domainname",
            "domainname",
            "a unit cannot set a domain name",
        );
    }
}

fn resources(plan: &Plan, s: &mut String, warnings: &mut Warnings<'_>) {
    let l = &plan.limits;
    let mut line = |key: &str, value: &str| {
        let _ = writeln!(s, "{key}={value}");
    };
    if let Some(v) = l.memory_max {
        line("MemoryMax", &limit_text(v));
    }
    if let Some(v) = l.memory_high {
        line("MemoryHigh", &limit_text(v));
    }
    if let Some(v) = l.memory_swap_max {
        line("MemorySwapMax", &limit_text(v));
    }
    if let Some(w) = l.cpu_weight {
        line("CPUWeight", &w.to_string());
    }
    if let Some(q) = l.cpu_quota {
        let (percent, exact) = super::convert::quota_percent(q.quota_us, q.period_us);
        line("CPUQuota", &percent);
        if q.period_us != 100_000 {
            line("CPUQuotaPeriodSec", &format!("{}us", q.period_us));
        }
        if !exact {
            warnings.approximate(
                "limits.cpu.quota",
                "limits.cpu_quota",
                &format!(
                    "`CPUQuota=` takes a percentage with two decimals: {} µs per {} µs becomes {percent}",
                    q.quota_us, q.period_us
                ),
            );
        }
    }
    if let Some(cpus) = &l.cpuset_cpus {
        line("AllowedCPUs", cpus);
    }
    if let Some(mems) = &l.cpuset_mems {
        line("AllowedMemoryNodes", mems);
    }
    if let Some(w) = l.io_weight {
        line("IOWeight", &w.to_string());
    }
    if let Some(v) = l.pids_max {
        line("TasksMax", &limit_text(v));
    }
}

fn engine_only(plan: &Plan, warnings: &mut Warnings<'_>) {
    if !plan.expose.is_empty() {
        warnings.unsupported(
            "expose",
            "expose",
            "a unit publishes no ports; use a `.socket` unit or the firewall",
        );
    }
    if !plan.labels.is_empty() {
        warnings.unsupported("labels", "labels", "a unit has no labels");
    }
    if !plan.build.is_empty() {
        warnings.unsupported(
            "build",
            "build",
            "a unit runs a prepared root; run the build steps before emitting",
        );
    }
    if plan.console.tty > 0 || plan.console.pts.is_some() {
        warnings.unsupported(
            "console",
            "console",
            "a unit creates no ttys and sets no pty maximum",
        );
    }
}
