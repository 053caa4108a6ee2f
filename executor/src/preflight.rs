//! Preflight: every check that can be made before anything is touched, and
//! the plan resolved into the exact values the apply sequence uses.
//!
//! Nothing here has a side effect: it reads `/proc`, `/sys` and the rootfs's
//! `/etc`. Every problem found is reported at once, each naming the plan
//! setting, its profile line when the plan knows it, and the fix.

use std::ffi::CString;
use std::fmt;
use std::path::{Path, PathBuf};

use sbx_plan::{Limit, Namespace, Network, Plan, Rootfs};

use crate::capability::{
    capability_name, capability_number, kernel_last_capability, CapabilitySet, ProcessCapabilities,
    CAP_SETGID, CAP_SETPCAP, CAP_SETUID, CAP_SYS_ADMIN, CAP_SYS_RESOURCE,
};
use crate::identity::{self, Identity};
use crate::sys::{CloneFlags, Resource};

/// One reason the plan cannot be applied here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreflightProblem {
    /// The plan setting, by its path in the plan (`capabilities.bounding`).
    pub setting: String,
    /// Where the profile set it (`web.sbx:7:1`), when the plan says.
    pub location: Option<String>,
    pub message: String,
    /// What to change so that it applies.
    pub fix: String,
}

impl fmt::Display for PreflightProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        write!(
            f,
            "`{}`: {}\n  help: {}",
            self.setting, self.message, self.fix
        )
    }
}

/// The user namespace's mappings, as written to `/proc/PID/{uid,gid}_map`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNamespace {
    pub uid_map: String,
    pub gid_map: String,
    /// Unprivileged callers must write `deny` to `setgroups` before the
    /// gid map (user_namespaces(7)).
    pub deny_setgroups: bool,
}

/// The workload's capability sets, as bit masks, ready for the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadCapabilities {
    /// What stays in the bounding set; every other known capability is
    /// dropped from it.
    pub bounding: CapabilitySet,
    pub effective: CapabilitySet,
    pub permitted: CapabilitySet,
    pub inheritable: CapabilitySet,
    pub ambient: CapabilitySet,
    /// The kernel's highest capability number.
    pub last: u32,
}

/// One resource limit, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceLimit {
    pub name: &'static str,
    pub resource: Resource,
    /// `u64::MAX` for no limit.
    pub soft: u64,
    pub hard: u64,
}

/// The plan resolved into what the apply sequence does: the result of a
/// successful preflight.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The namespaces created with the sandbox process itself.
    pub clone_namespaces: CloneFlags,
    /// Created by the init after the parent joined it to its cgroup, so
    /// that the cgroup namespace's root is the sandbox's own cgroup.
    pub unshare_cgroup: bool,
    /// Created by the init before it forks the workload (a new time
    /// namespace applies to children only).
    pub unshare_time: bool,
    pub user_namespace: Option<UserNamespace>,
    /// True when sbx runs without root and relies on a user namespace.
    pub rootless: bool,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub identity: Identity,
    pub capabilities: WorkloadCapabilities,
    pub no_new_privileges: bool,
    pub rlimits: Vec<ResourceLimit>,
    pub umask: Option<u32>,
    pub cwd: String,
    pub args: Vec<CString>,
    /// `NAME=value`, in order, the plan's entries deduplicated (the last
    /// one wins), plus `PATH` and `HOME` when the plan has none.
    pub env: Vec<CString>,
    /// The signal sent to the workload when sbx is asked to stop (SIGTERM).
    pub stop_signal: i32,
    /// Whether the limits need a cgroup.
    pub has_limits: bool,
    /// Whether the workload gets a terminal (a pty).
    pub terminal: bool,
}

impl Launch {
    pub fn creates(&self, flag: CloneFlags) -> bool {
        self.clone_namespaces.contains(flag)
    }

    /// The `PATH` of the workload's environment.
    pub fn path_variable(&self) -> String {
        self.env
            .iter()
            .filter_map(|e| e.to_str().ok())
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH)
            .to_string()
    }
}

/// The `PATH` a workload gets when the plan sets none (Docker's).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What preflight reads from the host, gathered once (tests substitute it).
#[derive(Debug, Clone)]
pub struct HostFacts {
    pub euid: u32,
    pub egid: u32,
    pub capabilities: ProcessCapabilities,
    pub last_capability: u32,
    /// Namespace kinds this kernel offers (`/proc/self/ns/*`).
    pub namespaces: Vec<Namespace>,
    /// Whether an unprivileged user may create a user namespace.
    pub unprivileged_userns: Result<(), String>,
    /// Current hard limits, by resource name.
    pub hard_limits: Vec<(&'static str, u64)>,
}

impl HostFacts {
    /// Reads the facts of this machine and process.
    pub fn read() -> Result<HostFacts, String> {
        let namespaces = Namespace::ALL
            .into_iter()
            .filter(|ns| Path::new("/proc/self/ns").join(proc_ns_name(*ns)).exists())
            .collect();
        let hard_limits = RLIMITS
            .iter()
            .filter_map(|(name, resource)| {
                nix::sys::resource::getrlimit(*resource)
                    .ok()
                    .map(|(_, hard)| (*name, hard))
            })
            .collect();
        Ok(HostFacts {
            euid: nix::unistd::geteuid().as_raw(),
            egid: nix::unistd::getegid().as_raw(),
            capabilities: ProcessCapabilities::current()?,
            last_capability: kernel_last_capability()?,
            namespaces,
            unprivileged_userns: unprivileged_userns(),
            hard_limits,
        })
    }
}

/// The name of a namespace's file in `/proc/PID/ns/`.
pub fn proc_ns_name(ns: Namespace) -> &'static str {
    match ns {
        Namespace::Mount => "mnt",
        other => other.name(),
    }
}

fn unprivileged_userns() -> Result<(), String> {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return Err("`kernel.unprivileged_userns_clone` is 0".into());
    }
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return Err("`user.max_user_namespaces` is 0".into());
    }
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return Err("`kernel.apparmor_restrict_unprivileged_userns` is 1".into());
    }
    Ok(())
}

/// The resource names a plan may use, with the kernel's resource.
pub const RLIMITS: [(&str, Resource); 16] = [
    ("as", Resource::RLIMIT_AS),
    ("core", Resource::RLIMIT_CORE),
    ("cpu", Resource::RLIMIT_CPU),
    ("data", Resource::RLIMIT_DATA),
    ("fsize", Resource::RLIMIT_FSIZE),
    ("locks", Resource::RLIMIT_LOCKS),
    ("memlock", Resource::RLIMIT_MEMLOCK),
    ("msgqueue", Resource::RLIMIT_MSGQUEUE),
    ("nice", Resource::RLIMIT_NICE),
    ("nofile", Resource::RLIMIT_NOFILE),
    ("nproc", Resource::RLIMIT_NPROC),
    ("rss", Resource::RLIMIT_RSS),
    ("rtprio", Resource::RLIMIT_RTPRIO),
    ("rttime", Resource::RLIMIT_RTTIME),
    ("sigpending", Resource::RLIMIT_SIGPENDING),
    ("stack", Resource::RLIMIT_STACK),
];

/// The signals sbx knows by name, with their numbers.
pub fn signal_number(name: &str) -> Option<i32> {
    let upper = name.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    nix::sys::signal::Signal::iterator()
        .find(|s| s.as_str().strip_prefix("SIG") == Some(name))
        .map(|s| s as i32)
}

/// The directory that will be the sandbox's `/` (`None` for rootfs kinds
/// that the rootfs module materialises itself).
pub fn rootfs_directory(rootfs: &Rootfs) -> Option<PathBuf> {
    match rootfs {
        Rootfs::Host => Some(PathBuf::from("/")),
        Rootfs::Directory { path } => Some(PathBuf::from(path)),
        Rootfs::OciLayout { .. } | Rootfs::Image { .. } => None,
    }
}

struct Problems<'a> {
    plan: &'a Plan,
    list: Vec<PreflightProblem>,
}

impl Problems<'_> {
    fn add(&mut self, setting: &str, message: impl Into<String>, fix: impl Into<String>) {
        self.add_at(setting, None, message, fix)
    }

    /// As `add`, looking up the profile line of `precise` first (the
    /// compiler's key for one entry, `capabilities.added.CAP_X`).
    fn add_at(
        &mut self,
        setting: &str,
        precise: Option<&str>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        if let Some(s) = precise.and_then(|k| self.plan.sources.get(k)) {
            let location = Some(format!("{}:{}:{}", s.file, s.line, s.column));
            self.list.push(PreflightProblem {
                setting: setting.to_string(),
                location,
                message: message.into(),
                fix: fix.into(),
            });
            return;
        }
        // The side table may know the setting or only its parent
        // (`capabilities` for `capabilities.bounding`).
        let mut key = setting;
        let location = loop {
            if let Some(s) = self.plan.sources.get(key) {
                break Some(format!("{}:{}:{}", s.file, s.line, s.column));
            }
            match key.rsplit_once('.') {
                Some((parent, _)) => key = parent,
                None => break None,
            }
        };
        self.list.push(PreflightProblem {
            setting: setting.to_string(),
            location,
            message: message.into(),
            fix: fix.into(),
        });
    }
}

fn clone_flag(ns: Namespace) -> CloneFlags {
    match ns {
        Namespace::Mount => CloneFlags::CLONE_NEWNS,
        Namespace::Uts => CloneFlags::CLONE_NEWUTS,
        Namespace::Ipc => CloneFlags::CLONE_NEWIPC,
        Namespace::Pid => CloneFlags::CLONE_NEWPID,
        Namespace::Net => CloneFlags::CLONE_NEWNET,
        Namespace::User => CloneFlags::CLONE_NEWUSER,
        Namespace::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        Namespace::Time => CloneFlags::empty(),
    }
}

/// Checks the plan against this machine and resolves it; every problem
/// found is returned at once.
pub fn check(plan: &Plan, host: &HostFacts) -> Result<Launch, Vec<PreflightProblem>> {
    let mut p = Problems {
        plan,
        list: Vec::new(),
    };

    if plan.process.args.is_empty() {
        p.add(
            "process.args",
            "the plan has no command to run",
            "give one after `--` (`sbx apply FILE -- /bin/sh`), or set `cmd` in the profile",
        );
    }

    // Namespaces: the kernel must offer each one asked for.
    let rootless = host.euid != 0;
    let mut namespaces = plan.namespaces.clone();
    if rootless && !namespaces.contains(&Namespace::User) {
        // As an ordinary user every other namespace needs a user namespace
        // of its own: sbx adds one, mapping the caller to root.
        namespaces.push(Namespace::User);
    }
    for ns in &namespaces {
        if !host.namespaces.contains(ns) {
            p.add(
                "namespaces",
                format!(
                    "this kernel has no {} namespace (`/proc/self/ns/{}` is missing)",
                    ns.name(),
                    proc_ns_name(*ns)
                ),
                format!(
                    "remove `{}` from `namespaces`, or run on a kernel built with it",
                    ns.name()
                ),
            );
        }
    }
    let has = |ns: Namespace| namespaces.contains(&ns);
    match (&plan.network, has(Namespace::Net)) {
        (Network::Host, true) => p.add(
            "network",
            "`network = host` shares the host's network namespace, but `namespaces` asks for a new one",
            "remove `net` from `namespaces`, or drop `network = host`",
        ),
        (Network::None | Network::Interfaces { .. }, false) => p.add(
            "network",
            "a private network needs a network namespace",
            "add `net` to `namespaces`, or set `network = host`",
        ),
        _ => {}
    }
    for (setting, value) in [
        ("hostname", &plan.hostname),
        ("domainname", &plan.domainname),
    ] {
        if let Some(value) = value {
            if !has(Namespace::Uts) {
                p.add(
                    setting,
                    format!(
                        "setting the {setting} without a uts namespace would change the host's"
                    ),
                    "add `uts` to `namespaces`",
                );
            }
            if value.len() > 64 {
                p.add(
                    setting,
                    format!(
                        "`{value}` is {} bytes long, the kernel allows 64",
                        value.len()
                    ),
                    format!("use a shorter {setting}"),
                );
            }
        }
    }
    let mut clone_namespaces = CloneFlags::empty();
    for ns in &namespaces {
        if !matches!(ns, Namespace::Cgroup | Namespace::Time) {
            clone_namespaces |= clone_flag(*ns);
        }
    }

    // Identity, resolved in the rootfs's /etc.
    let identity = match rootfs_directory(&plan.rootfs) {
        Some(root) => match identity::resolve(&plan.process, &root) {
            Ok(identity) => Some(identity),
            Err(e) => {
                p.add(
                    "process.user",
                    e.to_string(),
                    "add it to the rootfs's `/etc/passwd` or `/etc/group`, or give a numeric id",
                );
                None
            }
        },
        // The rootfs preflight reports kinds it cannot build; names need
        // the rootfs's /etc, ids do not.
        None => {
            let id = |spec: &sbx_plan::IdOrName| match spec {
                sbx_plan::IdOrName::Id(id) => Some(*id),
                sbx_plan::IdOrName::Name(_) => None,
            };
            let process = &plan.process;
            let groups: Option<Vec<u32>> = process.groups.iter().map(id).collect();
            match (
                id(&process.user.user),
                process.user.group.as_ref().map(id),
                groups,
            ) {
                (Some(uid), None | Some(Some(_)), Some(groups)) => Some(Identity {
                    uid,
                    gid: process.user.group.as_ref().and_then(id).unwrap_or(0),
                    groups,
                    home: "/".into(),
                }),
                _ => {
                    p.add(
                        "process.user",
                        "user and group names are resolved in the rootfs's `/etc`, which this rootfs kind does not give before it is built",
                        "give numeric ids",
                    );
                    None
                }
            }
        }
    };

    // The user namespace and its mappings.
    let user_namespace = if has(Namespace::User) {
        let (uid_map, gid_map) = if plan.idmap.uid.is_empty() && plan.idmap.gid.is_empty() {
            // The automatic mapping: the caller becomes root inside.
            (
                format!("0 {} 1\n", host.euid),
                format!("0 {} 1\n", host.egid),
            )
        } else {
            let text = |ranges: &[sbx_plan::IdRange]| {
                ranges
                    .iter()
                    .map(|r| format!("{} {} {}\n", r.inside, r.outside, r.count))
                    .collect::<String>()
            };
            (text(&plan.idmap.uid), text(&plan.idmap.gid))
        };
        if rootless {
            if let Err(reason) = &host.unprivileged_userns {
                p.add(
                    "namespaces",
                    format!("an ordinary user cannot create a user namespace here: {reason}"),
                    "run sbx as root, or let unprivileged users create user namespaces",
                );
            }
            let own = |ranges: &[sbx_plan::IdRange], id: u32| {
                ranges.is_empty()
                    || (ranges.len() == 1 && ranges[0].outside == id && ranges[0].count == 1)
            };
            if !own(&plan.idmap.uid, host.euid) || !own(&plan.idmap.gid, host.egid) {
                p.add(
                    "idmap",
                    format!(
                        "an ordinary user can map only its own uid {} and gid {}, once each",
                        host.euid, host.egid
                    ),
                    "run sbx as root for this idmap, or remove `idmap` to map yourself to root",
                );
            }
        }
        let mapped = |map: &str, id: u32| {
            map.lines().any(|l| {
                let v: Vec<u64> = l.split(' ').filter_map(|n| n.parse().ok()).collect();
                v.len() == 3 && (id as u64) >= v[0] && (id as u64) < v[0] + v[2]
            })
        };
        if let Some(identity) = &identity {
            if !mapped(&uid_map, identity.uid) {
                p.add(
                    "process.user",
                    format!("uid {} is not mapped in the user namespace", identity.uid),
                    "map it in `idmap { uid = ... }`, or run as a mapped user",
                );
            }
            if !mapped(&gid_map, identity.gid) {
                p.add(
                    "process.user",
                    format!("gid {} is not mapped in the user namespace", identity.gid),
                    "map it in `idmap { gid = ... }`, or choose a mapped group",
                );
            }
            if rootless && !plan.process.groups.is_empty() {
                p.add(
                    "process.groups",
                    "an ordinary user's user namespace cannot set supplementary groups (setgroups is denied)",
                    "remove `groups`, or run sbx as root",
                );
            }
            for gid in &identity.groups {
                if !rootless && !mapped(&gid_map, *gid) {
                    p.add(
                        "process.groups",
                        format!("group {gid} is not mapped in the user namespace"),
                        "map it in `idmap { gid = ... }`, or remove it from `groups`",
                    );
                }
            }
        }
        Some(UserNamespace {
            uid_map,
            gid_map,
            deny_setgroups: rootless,
        })
    } else {
        None
    };

    // Capabilities: names the kernel knows, and only what this process
    // can give (a new user namespace starts with a full set of its own).
    let last = host.last_capability;
    let mut set_of = |setting: &str, names: &[String]| {
        let mut set = CapabilitySet::EMPTY;
        for name in names {
            match capability_number(name) {
                Some(n) if n <= last => set = set.with(n),
                Some(_) => p.add(
                    setting,
                    format!(
                        "this kernel does not know `{name}` (its last capability is {})",
                        capability_name(last)
                    ),
                    format!("remove `{name}`, or run on a newer kernel"),
                ),
                None => p.add(
                    setting,
                    format!("`{name}` is not a capability name"),
                    "use canonical names such as `CAP_NET_BIND_SERVICE`",
                ),
            }
        }
        set
    };
    let caps = &plan.capabilities;
    let bounding = set_of("capabilities.bounding", &caps.bounding);
    let effective = set_of("capabilities.effective", &caps.effective);
    let permitted = set_of("capabilities.permitted", &caps.permitted);
    let inheritable = set_of("capabilities.inheritable", &caps.inheritable);
    let mut ambient = set_of("capabilities.ambient", &caps.ambient);
    for (setting, set) in [
        ("capabilities.effective", effective),
        ("capabilities.permitted", permitted),
        ("capabilities.inheritable", inheritable),
        ("capabilities.ambient", ambient),
    ] {
        let outside = set.difference(bounding);
        if !outside.is_empty() {
            p.add(
                setting,
                format!("{} not in the bounding set", outside.names().join(", ")),
                "add them to the bounding set, or remove them",
            );
        }
    }
    if !effective.difference(permitted).is_empty() {
        p.add(
            "capabilities.effective",
            format!(
                "{} effective but not permitted",
                effective.difference(permitted).names().join(", ")
            ),
            "add them to the permitted set",
        );
    }
    if user_namespace.is_none() {
        let host_caps = host.capabilities;
        let available = host_caps.bounding.intersection(host_caps.permitted);
        let wanted = bounding
            .union(effective)
            .union(permitted)
            .union(inheritable)
            .union(ambient);
        for name in wanted.difference(available).names() {
            p.add_at(
                "capabilities",
                Some(&format!("capabilities.added.{name}")),
                format!(
                    "sbx itself does not hold {name} (this host's bounding set or sbx's permitted set lacks it), so it cannot give it to the workload"
                ),
                "drop it from the profile, or run sbx where it has it",
            );
        }
        for (needed, why) in [
            (CAP_SYS_ADMIN, "to create namespaces and mount"),
            (CAP_SETPCAP, "to drop capabilities from the bounding set"),
            (CAP_SETUID, "to change the workload's uid"),
            (CAP_SETGID, "to change the workload's gid and groups"),
        ] {
            if !host_caps.effective.contains(needed) {
                p.add(
                    "capabilities",
                    format!("sbx needs {} {why}", capability_name(needed)),
                    "run sbx as root with its capabilities, or as an ordinary user (with a user namespace)",
                );
            }
        }
    }
    // A non-root workload keeps capabilities across exec only through the
    // ambient set (which needs them inheritable too): raise its permitted
    // set there unless the plan names the ambient set itself.
    let non_root = identity.as_ref().is_some_and(|i| i.uid != 0);
    let mut inheritable = inheritable;
    if non_root {
        if ambient.is_empty() {
            ambient = permitted;
        }
        inheritable = inheritable.union(ambient);
    }
    if !ambient.difference(permitted).is_empty() {
        p.add(
            "capabilities.ambient",
            format!(
                "{} ambient but not permitted",
                ambient.difference(permitted).names().join(", ")
            ),
            "add them to the permitted set",
        );
    }

    // Resource limits.
    let can_raise =
        user_namespace.is_none() && host.capabilities.effective.contains(CAP_SYS_RESOURCE);
    let mut rlimits = Vec::new();
    for (i, r) in plan.process.rlimits.iter().enumerate() {
        let setting = format!("process.rlimits.{i}");
        let Some((name, resource)) = RLIMITS.iter().find(|(n, _)| *n == r.resource) else {
            p.add(
                &setting,
                format!("`{}` is not a resource limit", r.resource),
                format!(
                    "use one of {}",
                    RLIMITS.map(|(n, _)| format!("`{n}`")).join(", ")
                ),
            );
            continue;
        };
        let value = |l: Limit| l.value().unwrap_or(u64::MAX);
        let (soft, hard) = (value(r.soft), value(r.hard));
        if soft > hard {
            p.add(
                &setting,
                format!("`{name}`: the soft limit is above the hard limit"),
                "make the soft limit at most the hard one",
            );
        }
        let current = host
            .hard_limits
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, h)| *h);
        if let Some(current) = current {
            if hard > current && !can_raise {
                let shown = |v: u64| {
                    if v == u64::MAX {
                        "unlimited".to_string()
                    } else {
                        v.to_string()
                    }
                };
                p.add(
                    &setting,
                    format!(
                        "`{name}`: raising the hard limit to {} above sbx's own {} needs CAP_SYS_RESOURCE, which sbx does not have here",
                        shown(hard),
                        shown(current)
                    ),
                    format!("ask for at most {}", shown(current)),
                );
            }
        }
        rlimits.push(ResourceLimit {
            name,
            resource: *resource,
            soft,
            hard,
        });
    }

    // The process.
    let to_cstring = |setting: &str, s: &str, p: &mut Problems| match CString::new(s) {
        Ok(c) => Some(c),
        Err(_) => {
            p.add(
                setting,
                format!("`{}` holds a NUL byte", s.escape_debug()),
                "remove it",
            );
            None
        }
    };
    let args: Vec<CString> = plan
        .process
        .args
        .iter()
        .filter_map(|a| to_cstring("process.args", a, &mut p))
        .collect();
    let mut env_pairs: Vec<(String, String)> = Vec::new();
    for var in &plan.process.env {
        if var.name.is_empty() || var.name.contains('=') {
            p.add(
                "process.env",
                format!("`{}` is not a variable name", var.name),
                "use a name without `=`",
            );
            continue;
        }
        env_pairs.retain(|(n, _)| *n != var.name);
        env_pairs.push((var.name.clone(), var.value.clone()));
    }
    if !env_pairs.iter().any(|(n, _)| n == "PATH") {
        env_pairs.push(("PATH".into(), DEFAULT_PATH.into()));
    }
    if let Some(identity) = &identity {
        if !env_pairs.iter().any(|(n, _)| n == "HOME") {
            env_pairs.push(("HOME".into(), identity.home.clone()));
        }
    }
    let env = env_pairs
        .iter()
        .filter_map(|(n, v)| to_cstring("process.env", &format!("{n}={v}"), &mut p))
        .collect();
    if !plan.process.cwd.starts_with('/') {
        p.add(
            "process.cwd",
            format!("`{}` is not an absolute path", plan.process.cwd),
            "give `workdir` as an absolute path",
        );
    }
    if let Some(mask) = plan.process.umask {
        if mask > 0o777 {
            p.add(
                "process.umask",
                format!("`{mask:#o}` is not a umask"),
                "give at most `0o777`",
            );
        }
    }
    let stop_signal = match signal_number(&plan.process.stop_signal) {
        Some(n) => n,
        None => {
            p.add(
                "process.stop_signal",
                format!("`{}` is not a signal name", plan.process.stop_signal),
                "use a name such as `SIGTERM`",
            );
            libc::SIGTERM
        }
    };

    if !p.list.is_empty() {
        return Err(p.list);
    }
    Ok(Launch {
        clone_namespaces,
        unshare_cgroup: has(Namespace::Cgroup),
        unshare_time: has(Namespace::Time),
        user_namespace,
        rootless,
        hostname: plan.hostname.clone(),
        domainname: plan.domainname.clone(),
        identity: identity.unwrap_or(Identity {
            uid: 0,
            gid: 0,
            groups: Vec::new(),
            home: "/".into(),
        }),
        capabilities: WorkloadCapabilities {
            bounding,
            effective,
            permitted,
            inheritable,
            ambient,
            last,
        },
        no_new_privileges: plan.security.no_new_privileges,
        rlimits,
        umask: plan.process.umask,
        cwd: plan.process.cwd.clone(),
        args,
        env,
        stop_signal,
        has_limits: plan.limits != sbx_plan::CgroupLimits::default(),
        terminal: plan.process.terminal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{host_plan, root_host, user_host};
    use sbx_plan::{IdRange, Rlimit, SourceLocation};

    fn problems(plan: &Plan, host: &HostFacts) -> Vec<PreflightProblem> {
        check(plan, host).expect_err("preflight refuses")
    }

    #[test]
    fn a_capability_the_host_cannot_give_is_refused_with_its_profile_line() {
        let mut plan = host_plan();
        plan.capabilities.bounding.push("CAP_SYS_RESOURCE".into());
        plan.sources.insert(
            "capabilities".into(),
            SourceLocation {
                file: "web.sbx".into(),
                line: 7,
                column: 1,
            },
        );
        let found = problems(&plan, &root_host());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].setting, "capabilities");
        assert_eq!(found[0].location.as_deref(), Some("web.sbx:7:1"));
        assert!(found[0].message.contains("CAP_SYS_RESOURCE"));
        assert!(found[0]
            .to_string()
            .starts_with("web.sbx:7:1: `capabilities`:"));
        // The compiler's key for the entry itself is preferred.
        plan.sources.insert(
            "capabilities.added.CAP_SYS_RESOURCE".into(),
            SourceLocation {
                file: "web.sbx".into(),
                line: 8,
                column: 12,
            },
        );
        let found = problems(&plan, &root_host());
        assert_eq!(found[0].location.as_deref(), Some("web.sbx:8:12"));
    }

    #[test]
    fn unknown_capability_names_and_numbers_beyond_the_kernel_are_refused() {
        let mut plan = host_plan();
        plan.capabilities.bounding.push("CAP_FLY".into());
        plan.capabilities
            .bounding
            .push("CAP_CHECKPOINT_RESTORE".into());
        let mut host = root_host();
        host.last_capability = 39;
        let found = problems(&plan, &host);
        let messages: Vec<&str> = found.iter().map(|p| p.message.as_str()).collect();
        assert!(messages
            .iter()
            .any(|m| m.contains("`CAP_FLY` is not a capability")));
        assert!(messages
            .iter()
            .any(|m| m.contains("does not know `CAP_CHECKPOINT_RESTORE`")));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut plan = host_plan();
        plan.namespaces.retain(|ns| *ns != Namespace::Uts);
        plan.process.stop_signal = "SIGNOPE".into();
        plan.process.cwd = "relative".into();
        let found = problems(&plan, &root_host());
        let settings: Vec<&str> = found.iter().map(|p| p.setting.as_str()).collect();
        assert_eq!(
            settings,
            vec![
                "hostname",
                "domainname",
                "process.cwd",
                "process.stop_signal"
            ]
        );
    }

    #[test]
    fn an_ordinary_user_gets_a_user_namespace_and_only_its_own_mapping() {
        let plan = host_plan();
        let launch = check(&plan, &user_host()).unwrap();
        assert!(launch.rootless);
        assert!(launch.creates(CloneFlags::CLONE_NEWUSER));
        let userns = launch.user_namespace.unwrap();
        assert_eq!(userns.uid_map, "0 1000 1\n");
        assert!(userns.deny_setgroups);

        let mut plan = host_plan();
        plan.idmap.uid = vec![IdRange {
            inside: 0,
            outside: 100000,
            count: 65536,
        }];
        let found = problems(&plan, &user_host());
        assert!(found.iter().any(|p| p.setting == "idmap"), "{found:#?}");

        let mut host = user_host();
        host.unprivileged_userns = Err("`user.max_user_namespaces` is 0".into());
        let found = problems(&host_plan(), &host);
        assert!(found[0].message.contains("max_user_namespaces"));
    }

    #[test]
    fn a_workload_user_outside_the_idmap_is_refused() {
        let mut plan = host_plan();
        plan.namespaces.push(Namespace::User);
        plan.process.user.user = sbx_plan::IdOrName::Id(1000);
        let found = problems(&plan, &root_host());
        assert!(found[0].message.contains("uid 1000 is not mapped"));
    }

    #[test]
    fn raising_a_hard_limit_without_cap_sys_resource_is_refused() {
        let mut plan = host_plan();
        plan.process.rlimits = vec![Rlimit {
            resource: "nofile".into(),
            soft: Limit::Value(1024),
            hard: Limit::Value(1 << 20),
        }];
        let found = problems(&plan, &root_host());
        assert_eq!(found[0].setting, "process.rlimits.0");
        assert!(found[0].message.contains("CAP_SYS_RESOURCE"));
        assert_eq!(found[0].fix, "ask for at most 4096");
        plan.process.rlimits[0].resource = "nofiles".into();
        assert!(problems(&plan, &root_host())[0]
            .message
            .contains("not a resource limit"));
    }

    #[test]
    fn network_and_namespaces_must_agree() {
        let mut plan = host_plan();
        plan.network = Network::Host;
        assert_eq!(problems(&plan, &root_host())[0].setting, "network");
        plan.namespaces.retain(|ns| *ns != Namespace::Net);
        assert!(check(&plan, &root_host()).is_ok());
        plan.network = Network::None;
        assert_eq!(problems(&plan, &root_host())[0].setting, "network");
    }

    #[test]
    fn a_namespace_the_kernel_lacks_is_refused() {
        let mut host = root_host();
        host.namespaces.retain(|ns| *ns != Namespace::Cgroup);
        let found = problems(&host_plan(), &host);
        assert!(found[0].message.contains("no cgroup namespace"));
    }

    #[test]
    fn signal_names_resolve() {
        assert_eq!(signal_number("SIGTERM"), Some(libc::SIGTERM));
        assert_eq!(signal_number("sigusr1"), Some(libc::SIGUSR1));
        assert_eq!(signal_number("KILL"), Some(libc::SIGKILL));
        assert_eq!(signal_number("SIGNOPE"), None);
    }
}
