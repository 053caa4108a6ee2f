//! The plan as an LXC container config with the current key names (LXC
//! 3.0 and later; tested with liblxc 5.0). Limits go to `lxc.cgroup2.*` by default
//! and to `lxc.cgroup.*` with [`CgroupVersion::V1`], converted by
//! systemd's formulas (the convention LXC users share), taking the value
//! that systemd's formula reads back as the plan's weight.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sbx_plan::{
    Limit, MacvlanMode, MountKind, MountOption, Namespace, NetKind, Network, Plan, Rootfs,
};

use super::{convert, CgroupVersion, EmitError, EmitOptions, EmitTarget, EmittedFile, Warnings};

pub(crate) fn emit(
    plan: &Plan,
    options: &EmitOptions,
    warnings: &mut Warnings<'_>,
) -> Result<Vec<EmittedFile>, EmitError> {
    let contents = config(plan, options, warnings)?;
    let name = plan.name.clone().unwrap_or_else(|| "sbx".into());
    Ok(vec![EmittedFile {
        path: PathBuf::from(format!("{name}.conf")),
        contents,
    }])
}

/// Collects `key = value` lines.
struct Config(String);

impl Config {
    fn set(&mut self, key: &str, value: impl std::fmt::Display) {
        let _ = writeln!(self.0, "{key} = {value}");
    }

    fn comment(&mut self, text: &str) {
        let _ = writeln!(self.0, "\n# {text}");
    }
}

/// A path in an `lxc.mount.entry` line (fstab syntax: octal escapes for
/// whitespace and backslash).
fn fstab_path(path: &str) -> String {
    let mut out = String::new();
    for c in path.chars() {
        match c {
            ' ' => out.push_str("\\040"),
            '\t' => out.push_str("\\011"),
            '\n' => out.push_str("\\012"),
            '\\' => out.push_str("\\134"),
            c => out.push(c),
        }
    }
    out
}

/// A destination relative to the container's root, as LXC wants it.
fn relative(path: &str) -> String {
    fstab_path(path.trim_start_matches('/'))
}

/// One word of `lxc.init.cmd`: LXC splits on blanks and honours single and
/// double quotes (without escapes). `None` when the word holds both quotes
/// or a line break (a config value ends at the end of its line).
fn init_word(word: &str) -> Option<String> {
    if word.contains(['\n', '\r']) {
        return None;
    }
    let plain = !word.is_empty()
        && !word
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '"');
    if plain {
        Some(word.to_string())
    } else if !word.contains('\'') {
        Some(format!("'{word}'"))
    } else if !word.contains('"') {
        Some(format!("\"{word}\""))
    } else {
        None
    }
}

/// Paths under /proc and /sys that are directories wherever they exist.
const KERNEL_DIRECTORIES: [&str; 7] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/scsi",
    "/proc/bus",
    "/proc/fs",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

fn limit_text(l: Limit, unlimited: &str) -> String {
    l.value()
        .map_or_else(|| unlimited.to_string(), |v| v.to_string())
}

fn config(
    plan: &Plan,
    options: &EmitOptions,
    warnings: &mut Warnings<'_>,
) -> Result<String, EmitError> {
    let mut c = Config(String::from(
        "# LXC config emitted by sbx (current keys, LXC >= 3.0)\n",
    ));
    let root_dir: PathBuf =
        match &plan.rootfs {
            Rootfs::Host => PathBuf::from("/"),
            Rootfs::Directory { path } => PathBuf::from(path),
            Rootfs::OciLayout { path, .. } => return Err(EmitError::Unsupported {
                target: EmitTarget::Lxc,
                what: format!("`from = \"oci:{path}\"`"),
                why: "LXC needs a rootfs directory (create the container with the `oci` template, \
                      or unpack the layout and use `from` with the directory)"
                    .into(),
            }),
            Rootfs::Image { name } => return Err(EmitError::Unsupported {
                target: EmitTarget::Lxc,
                what: format!("`from = \"{name}\"`"),
                why:
                    "LXC needs a rootfs directory (export the image to a directory and use `from` \
                      with its path)"
                        .into(),
            }),
        };

    c.comment("identity and root filesystem");
    match &plan.hostname {
        Some(hostname) if plan.namespaces.contains(&Namespace::Uts) => {
            c.set("lxc.uts.name", hostname)
        }
        Some(_) => warnings.unsupported(
            "hostname",
            "hostname",
            "LXC sets `lxc.uts.name` only in a new UTS namespace; add `uts` to `namespaces`",
        ),
        None => {}
    }
    if plan.domainname.is_some() {
        warnings.unsupported("domainname", "domainname", "LXC has no domain name key");
    }
    c.set("lxc.rootfs.path", format!("dir:{}", root_dir.display()));
    if plan.security.rootfs_readonly {
        c.set("lxc.rootfs.options", "ro");
    }
    c.set("lxc.autodev", 1);
    c.set("lxc.mount.auto", "proc:mixed sys:ro cgroup:ro");

    process(plan, &root_dir, &mut c, warnings)?;
    security(plan, &root_dir, &mut c, warnings);
    mounts(plan, &mut c);
    namespaces(plan, &mut c, warnings);
    network(plan, &mut c, warnings);
    cgroup(plan, options.cgroup, &mut c, warnings);

    if plan.console.tty > 0 || plan.console.pts.is_some() {
        c.comment("console");
        c.set("lxc.tty.max", plan.console.tty);
        if let Some(pts) = plan.console.pts {
            c.set("lxc.pty.max", pts);
        }
    }
    if !plan.expose.is_empty() {
        warnings.unsupported(
            "expose",
            "expose",
            "LXC publishes no ports; forward them on the host (nftables, a proxy device)",
        );
    }
    if !plan.labels.is_empty() {
        warnings.unsupported("labels", "labels", "an LXC config has no labels");
    }
    if !plan.build.is_empty() {
        warnings.unsupported(
            "build",
            "build",
            "LXC runs a prepared rootfs; run the build steps before emitting",
        );
    }
    Ok(c.0)
}

fn process(
    plan: &Plan,
    root_dir: &Path,
    c: &mut Config,
    warnings: &mut Warnings<'_>,
) -> Result<(), EmitError> {
    let p = &plan.process;
    c.comment("process");
    if p.args.is_empty() {
        warnings.unsupported(
            "cmd",
            "process.args",
            "the profile has no `cmd` or `entrypoint`: give the command to `lxc-execute -- CMD`",
        );
    } else {
        let words: Option<Vec<String>> = p.args.iter().map(|a| init_word(a)).collect();
        match words {
            Some(words) => {
                // lxc-execute runs `execute.cmd` under its own init (as sbx
                // apply does); lxc-start runs `init.cmd` as PID 1.
                c.set("lxc.execute.cmd", words.join(" "));
                c.set("lxc.init.cmd", words.join(" "));
            }
            None => warnings.unsupported(
                "cmd",
                "process.args",
                "an argument holds both quote characters or a line break, which \
                 `lxc.execute.cmd` cannot say; give the command to `lxc-execute -- CMD`",
            ),
        }
    }
    let user = super::resolve_user(plan, root_dir)?;
    c.set("lxc.init.uid", user.uid);
    c.set("lxc.init.gid", user.gid);
    if !p.groups.is_empty() {
        let groups: Vec<String> = p
            .groups
            .iter()
            .map(|g| super::resolve_group(g, root_dir).map(|id| id.to_string()))
            .collect::<Result<_, _>>()?;
        c.set("lxc.init.groups", groups.join(","));
    }
    c.set("lxc.init.cwd", &p.cwd);
    for var in &p.env {
        if var.value.contains(['\n', '\r']) {
            warnings.unsupported(
                &format!("env.{}", var.name),
                "process.env",
                "an `lxc.environment` value ends at the end of its line",
            );
        } else {
            c.set("lxc.environment", format!("{}={}", var.name, var.value));
        }
    }
    for r in &p.rlimits {
        c.set(
            &format!("lxc.prlimit.{}", r.resource),
            format!(
                "{}:{}",
                limit_text(r.soft, "unlimited"),
                limit_text(r.hard, "unlimited")
            ),
        );
    }
    c.set("lxc.signal.stop", &p.stop_signal);
    if p.umask.is_some() {
        warnings.unsupported(
            "umask",
            "process.umask",
            "LXC has no umask key; set it in the command (`sh -c 'umask 027; exec ...'`)",
        );
    }
    if p.terminal {
        warnings.unsupported(
            "terminal",
            "process.terminal",
            "LXC gives the workload the terminal of `lxc-execute` or the console; no per-process key",
        );
    }
    Ok(())
}

fn security(plan: &Plan, root_dir: &Path, c: &mut Config, warnings: &mut Warnings<'_>) {
    c.comment("capabilities and privileges");
    let caps = &plan.capabilities;
    if caps.bounding.is_empty() {
        c.set("lxc.cap.keep", "none");
    } else {
        let names: Vec<String> = caps.bounding.iter().map(|n| super::short_cap(n)).collect();
        c.set("lxc.cap.keep", names.join(" "));
    }
    if !caps.ambient.is_empty() {
        warnings.unsupported(
            "capabilities.ambient",
            "capabilities.ambient",
            "LXC sets the bounding set only; a non-root workload keeps no capabilities across exec",
        );
    }
    if super::runs_as_root(plan)
        && (caps.effective != caps.bounding || caps.permitted != caps.bounding)
    {
        warnings.approximate(
            "capabilities",
            "capabilities",
            "a root workload under LXC has the whole bounding set as effective and permitted",
        );
    }
    c.set(
        "lxc.no_new_privs",
        u8::from(plan.security.no_new_privileges),
    );

    // `proc:mixed` and `sys:ro` already make these read-only.
    let covered = |p: &str| p == "/proc/sys" || p == "/proc/sysrq-trigger" || p.starts_with("/sys");
    let host_side = |p: &str| {
        if p.starts_with("/proc/") || p.starts_with("/sys/") {
            PathBuf::from(p)
        } else {
            root_dir.join(p.trim_start_matches('/'))
        }
    };
    for path in &plan.security.readonly_paths {
        if covered(path) {
            continue;
        }
        c.set(
            "lxc.mount.entry",
            format!(
                "{} {} none bind,ro,optional 0 0",
                fstab_path(&host_side(path).to_string_lossy()),
                relative(path)
            ),
        );
    }
    for path in &plan.security.masked_paths {
        // As the OCI runtimes mask: an empty read-only tmpfs over a
        // directory, /dev/null over anything else. The runtimes look at
        // the path when they start; LXC needs to know now, so known kernel
        // directories count as directories even where this host lacks them.
        if KERNEL_DIRECTORIES.contains(&path.as_str()) || host_side(path).is_dir() {
            c.set(
                "lxc.mount.entry",
                format!("tmpfs {} tmpfs ro,optional 0 0", relative(path)),
            );
        } else {
            c.set(
                "lxc.mount.entry",
                format!("/dev/null {} none bind,optional 0 0", relative(path)),
            );
        }
    }
}

fn mounts(plan: &Plan, c: &mut Config) {
    if plan.mounts.is_empty() && plan.volumes.is_empty() && plan.rootfs != Rootfs::Host {
        return;
    }
    c.comment("mounts");
    if plan.rootfs == Rootfs::Host {
        c.set(
            "lxc.mount.entry",
            "tmpfs tmp tmpfs nosuid,nodev,mode=1777,create=dir 0 0",
        );
        c.set(
            "lxc.mount.entry",
            "tmpfs run tmpfs nosuid,nodev,mode=755,create=dir 0 0",
        );
    }
    for m in &plan.mounts {
        let mut options: Vec<String> = Vec::new();
        let (source, fstype) = match m.kind {
            MountKind::Bind => {
                let source = m.source.clone().unwrap_or_default();
                options.push(if m.options.contains(&MountOption::Rbind) {
                    "rbind".into()
                } else {
                    "bind".into()
                });
                (fstab_path(&source), "none")
            }
            MountKind::Tmpfs => ("tmpfs".into(), "tmpfs"),
            MountKind::Proc => ("proc".into(), "proc"),
            MountKind::Sysfs => ("sysfs".into(), "sysfs"),
            MountKind::Devpts => {
                options.extend(["newinstance", "ptmxmode=0666", "mode=0620"].map(String::from));
                ("devpts".into(), "devpts")
            }
        };
        options.extend(
            m.options
                .iter()
                .filter(|o| **o != MountOption::Rbind)
                .map(|o| super::mount_option_name(*o).to_string()),
        );
        if let Some(size) = m.size {
            options.push(format!("size={size}"));
        }
        let is_file = m.kind == MountKind::Bind
            && m.source.as_deref().is_some_and(|s| Path::new(s).is_file());
        options.push(if is_file { "create=file" } else { "create=dir" }.into());
        c.set(
            "lxc.mount.entry",
            format!(
                "{source} {} {fstype} {} 0 0",
                relative(&m.destination),
                options.join(",")
            ),
        );
    }
    for path in &plan.volumes {
        c.set(
            "lxc.mount.entry",
            format!(
                "tmpfs {} tmpfs nosuid,nodev,mode=755,create=dir 0 0",
                relative(path)
            ),
        );
    }
}

fn namespaces(plan: &Plan, c: &mut Config, warnings: &mut Warnings<'_>) {
    let has = |ns| plan.namespaces.contains(&ns);
    // LXC creates these unless kept; `net` follows the network section
    // (type `none` shares the host's).
    let keep: Vec<&str> = [
        Namespace::Uts,
        Namespace::Ipc,
        Namespace::Pid,
        Namespace::Cgroup,
    ]
    .into_iter()
    .filter(|ns| !has(*ns))
    .map(Namespace::name)
    .collect();
    if !has(Namespace::Mount) {
        warnings.unsupported(
            "namespaces (no mount)",
            "namespaces",
            "LXC always creates a mount namespace",
        );
    }
    if has(Namespace::Time) {
        warnings.unsupported(
            "namespaces (time)",
            "namespaces",
            "LXC creates a time namespace only for `lxc.time.offset.*`, which sbx has no key for",
        );
    }
    if !keep.is_empty() || has(Namespace::User) || !plan.idmap.uid.is_empty() {
        c.comment("namespaces");
    }
    if !keep.is_empty() {
        c.set("lxc.namespace.keep", keep.join(" "));
    }
    if has(Namespace::User) {
        if plan.idmap.uid.is_empty() || plan.idmap.gid.is_empty() {
            warnings.unsupported(
                "namespaces (user)",
                "namespaces",
                "LXC creates a user namespace only with `lxc.idmap` ranges; add an `idmap` block",
            );
        }
        for (kind, ranges) in [("u", &plan.idmap.uid), ("g", &plan.idmap.gid)] {
            for r in ranges {
                c.set(
                    "lxc.idmap",
                    format!("{kind} {} {} {}", r.inside, r.outside, r.count),
                );
            }
        }
    } else if !plan.idmap.uid.is_empty() || !plan.idmap.gid.is_empty() {
        warnings.unsupported(
            "idmap",
            "idmap",
            "`lxc.idmap` would create a user namespace, which the profile's `namespaces` leaves out",
        );
    }
}

fn network(plan: &Plan, c: &mut Config, warnings: &mut Warnings<'_>) {
    c.comment("network");
    match &plan.network {
        Network::None => c.set("lxc.net.0.type", "empty"),
        Network::Host => c.set("lxc.net.0.type", "none"),
        Network::Interfaces { interfaces } => {
            for (i, n) in interfaces.iter().enumerate() {
                let key = |k: &str| format!("lxc.net.{i}.{k}");
                let kind = match n.kind {
                    NetKind::Veth => "veth",
                    NetKind::Macvlan => "macvlan",
                    NetKind::Vlan => "vlan",
                    NetKind::Phys => "phys",
                    NetKind::Empty => "empty",
                };
                c.set(&key("type"), kind);
                if n.kind == NetKind::Empty {
                    continue;
                }
                c.set(&key("name"), &n.name);
                if let Some(link) = &n.link {
                    c.set(&key("link"), link);
                }
                if n.create_bridge {
                    warnings.approximate(
                        &format!("net \"{}\".create_bridge", n.name),
                        &format!("network.interfaces.{i}.create_bridge"),
                        "LXC does not create the bridge: create it before starting the container",
                    );
                }
                if let Some(mode) = n.macvlan_mode {
                    let mode = match mode {
                        MacvlanMode::Bridge => "bridge",
                        MacvlanMode::Vepa => "vepa",
                        MacvlanMode::Private => "private",
                        MacvlanMode::Passthru => "passthru",
                    };
                    c.set(&key("macvlan.mode"), mode);
                }
                if let Some(id) = n.vlan_id {
                    c.set(&key("vlan.id"), id);
                }
                if let Some(hwaddr) = &n.hwaddr {
                    c.set(&key("hwaddr"), hwaddr);
                }
                if let Some(mtu) = n.mtu {
                    c.set(&key("mtu"), mtu);
                }
                for address in &n.addresses {
                    let family = if address.contains(':') {
                        "ipv6"
                    } else {
                        "ipv4"
                    };
                    c.set(&key(&format!("{family}.address")), address);
                }
                for gateway in &n.gateways {
                    let family = if gateway.contains(':') {
                        "ipv6"
                    } else {
                        "ipv4"
                    };
                    c.set(&key(&format!("{family}.gateway")), gateway);
                }
                if n.up {
                    c.set(&key("flags"), "up");
                }
            }
        }
    }
}

fn cgroup(plan: &Plan, version: CgroupVersion, c: &mut Config, warnings: &mut Warnings<'_>) {
    let l = &plan.limits;
    if *l == sbx_plan::CgroupLimits::default() {
        return;
    }
    match version {
        CgroupVersion::V2 => {
            c.comment("resource limits (cgroup v2)");
            let mut set = |file: &str, value: String| c.set(&format!("lxc.cgroup2.{file}"), value);
            if let Some(v) = l.memory_max {
                set("memory.max", limit_text(v, "max"));
            }
            if let Some(v) = l.memory_high {
                set("memory.high", limit_text(v, "max"));
            }
            if let Some(v) = l.memory_swap_max {
                set("memory.swap.max", limit_text(v, "max"));
            }
            if let Some(w) = l.cpu_weight {
                set("cpu.weight", w.to_string());
            }
            if let Some(q) = l.cpu_quota {
                set("cpu.max", format!("{} {}", q.quota_us, q.period_us));
            }
            if let Some(cpus) = &l.cpuset_cpus {
                set("cpuset.cpus", cpus.clone());
            }
            if let Some(mems) = &l.cpuset_mems {
                set("cpuset.mems", mems.clone());
            }
            if let Some(w) = l.io_weight {
                set("io.weight", w.to_string());
            }
            if let Some(v) = l.pids_max {
                set("pids.max", limit_text(v, "max"));
            }
        }
        CgroupVersion::V1 => {
            c.comment("resource limits (cgroup v1, weights converted as systemd does)");
            let mut lines: Vec<(&str, String)> = Vec::new();
            if let Some(v) = l.memory_max {
                lines.push(("memory.limit_in_bytes", limit_text(v, "-1")));
            }
            if let Some(v) = l.memory_high {
                lines.push(("memory.soft_limit_in_bytes", limit_text(v, "-1")));
                warnings.approximate(
                    "limits.memory.high",
                    "limits.memory_high",
                    "cgroup v1 has no throttling limit: `memory.soft_limit_in_bytes` only guides \
                     reclaim under pressure",
                );
            }
            if let Some(swap) = l.memory_swap_max {
                // v1 counts memory plus swap.
                match (l.memory_max.and_then(Limit::value), swap.value()) {
                    (_, None) => lines.push(("memory.memsw.limit_in_bytes", "-1".into())),
                    (Some(mem), Some(swap)) => lines.push((
                        "memory.memsw.limit_in_bytes",
                        mem.saturating_add(swap).to_string(),
                    )),
                    (None, Some(_)) => warnings.unsupported(
                        "limits.memory.swap.max",
                        "limits.memory_swap_max",
                        "cgroup v1 limits memory plus swap, which needs a `memory.max` to add to",
                    ),
                }
            }
            if let Some(w) = l.cpu_weight {
                lines.push((
                    "cpu.shares",
                    convert::shares_for_systemd_weight(w).to_string(),
                ));
            }
            if let Some(q) = l.cpu_quota {
                lines.push(("cpu.cfs_quota_us", q.quota_us.to_string()));
                lines.push(("cpu.cfs_period_us", q.period_us.to_string()));
            }
            if let Some(cpus) = &l.cpuset_cpus {
                lines.push(("cpuset.cpus", cpus.clone()));
            }
            if let Some(mems) = &l.cpuset_mems {
                lines.push(("cpuset.mems", mems.clone()));
            }
            if let Some(w) = l.io_weight {
                // Kernels since 5.0 have no `blkio.weight`; the v1 weight is
                // BFQ's, converted as systemd and `sbx apply` convert it.
                lines.push((
                    "blkio.bfq.weight",
                    convert::systemd_io_to_bfq(w).to_string(),
                ));
            }
            if let Some(v) = l.pids_max {
                lines.push(("pids.max", limit_text(v, "max")));
            }
            for (file, value) in lines {
                c.set(&format!("lxc.cgroup.{file}"), value);
            }
        }
    }
}
