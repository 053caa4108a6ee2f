//! Foreign spellings: keys of systemd units, LXC configs and Dockerfiles
//! that people write in a profile out of habit, and the sbx key that says
//! the same. One table, used by validation (an unknown key that is a
//! foreign one gets a help naming the native key) and by the parse-error
//! mapping (a Dockerfile line such as `CMD ["x"]` does not even parse).

/// One foreign key and its sbx equivalent.
#[derive(Debug, Clone, Copy)]
pub struct ForeignKey {
    /// As the foreign format writes it; `N` stands for an index
    /// (`lxc.net.N.type` matches `lxc.net.0.type`).
    pub foreign: &'static str,
    /// `systemd`, `LXC`, `Dockerfile`.
    pub origin: &'static str,
    /// The sbx statement that says the same, or `None` when sbx has no
    /// equivalent.
    pub native: Option<&'static str>,
}

const fn key(foreign: &'static str, origin: &'static str, native: &'static str) -> ForeignKey {
    ForeignKey {
        foreign,
        origin,
        native: Some(native),
    }
}

const fn none(foreign: &'static str, origin: &'static str) -> ForeignKey {
    ForeignKey {
        foreign,
        origin,
        native: None,
    }
}

const SD: &str = "systemd";
const LXC: &str = "LXC";
const DF: &str = "Dockerfile";

/// The table.
pub const FOREIGN_KEYS: &[ForeignKey] = &[
    // systemd [Service] and resource-control keys.
    key("ExecStart", SD, "cmd = [\"/usr/bin/app\", \"--flag\"]"),
    key("User", SD, "user = \"app\""),
    key("Group", SD, "user = \"app:app\""),
    key("SupplementaryGroups", SD, "groups = [\"audio\"]"),
    key("WorkingDirectory", SD, "workdir = \"/srv\""),
    key("RootDirectory", SD, "from = \"/srv/rootfs\""),
    key("Environment", SD, "env = { TZ = \"UTC\" }"),
    key("UMask", SD, "umask = 0o022"),
    key("KillSignal", SD, "stop_signal = SIGTERM"),
    key(
        "NoNewPrivileges",
        SD,
        "security { no_new_privileges = true }",
    ),
    key(
        "ReadOnlyPaths",
        SD,
        "security { readonly_paths = [\"/etc\"] }",
    ),
    key(
        "InaccessiblePaths",
        SD,
        "security { masked_paths = [\"/proc/kcore\"] }",
    ),
    key(
        "BindPaths",
        SD,
        "mount \"/data\" { type = bind; source = \"/srv/data\" }",
    ),
    key(
        "BindReadOnlyPaths",
        SD,
        "mount \"/data\" { type = bind; source = \"/srv/data\"; options = [ro] }",
    ),
    key("TemporaryFileSystem", SD, "mount \"/tmp\" { type = tmpfs }"),
    key(
        "CapabilityBoundingSet",
        SD,
        "capabilities { drop = all; add = [net_bind_service] }",
    ),
    key(
        "AmbientCapabilities",
        SD,
        "capabilities { ambient = [net_bind_service] }",
    ),
    key("PrivateNetwork", SD, "network = none"),
    key(
        "PrivateUsers",
        SD,
        "namespaces = [mount, uts, ipc, pid, net, cgroup, user]",
    ),
    key("MemoryMax", SD, "limits { memory.max = 1G }"),
    key("MemoryLimit", SD, "limits { memory.max = 1G }"),
    key("MemoryHigh", SD, "limits { memory.high = 768M }"),
    key("MemorySwapMax", SD, "limits { memory.swap.max = 0 }"),
    key("CPUWeight", SD, "limits { cpu.weight = 100 }"),
    key(
        "CPUShares",
        SD,
        "limits { cpu.weight = 100 }   # CPUShares * 100 / 1024",
    ),
    key("CPUQuota", SD, "limits { cpu.quota = 50% }"),
    key("CPUQuotaPeriodSec", SD, "limits { cpu.period = 100ms }"),
    key("AllowedCPUs", SD, "limits { cpuset.cpus = \"0-3\" }"),
    key("AllowedMemoryNodes", SD, "limits { cpuset.mems = \"0\" }"),
    key("IOWeight", SD, "limits { io.weight = 100 }"),
    key(
        "BlockIOWeight",
        SD,
        "limits { io.weight = 100 }   # BlockIOWeight * 100 / 500",
    ),
    key("TasksMax", SD, "limits { pids.max = 256 }"),
    key("LimitNOFILE", SD, "rlimits { nofile = [1024, 4096] }"),
    key("LimitNPROC", SD, "rlimits { nproc = 512 }"),
    key("LimitCORE", SD, "rlimits { core = 0 }"),
    key("LimitMEMLOCK", SD, "rlimits { memlock = 64K }"),
    key("LimitSTACK", SD, "rlimits { stack = 8M }"),
    key("LimitAS", SD, "rlimits { as = 4G }"),
    key("LimitCPU", SD, "rlimits { cpu = 60s }"),
    // LXC, current and legacy names.
    key("lxc.uts.name", LXC, "hostname = \"web\""),
    key("lxc.utsname", LXC, "hostname = \"web\""),
    key("lxc.rootfs.path", LXC, "from = \"/var/lib/lxc/web/rootfs\""),
    key("lxc.rootfs", LXC, "from = \"/var/lib/lxc/web/rootfs\""),
    key("lxc.init.cmd", LXC, "cmd = [\"/sbin/init\"]"),
    key("lxc.init_cmd", LXC, "cmd = [\"/sbin/init\"]"),
    key("lxc.execute.cmd", LXC, "cmd = [\"/usr/bin/app\"]"),
    key("lxc.init.uid", LXC, "user = 1000"),
    key("lxc.init.gid", LXC, "user = \"1000:1000\""),
    key("lxc.init.cwd", LXC, "workdir = \"/srv\""),
    key("lxc.environment", LXC, "env = { TZ = \"UTC\" }"),
    key("lxc.signal.stop", LXC, "stop_signal = SIGTERM"),
    key("lxc.stopsignal", LXC, "stop_signal = SIGTERM"),
    key("lxc.cap.drop", LXC, "capabilities { drop = [sys_module] }"),
    key(
        "lxc.cap.keep",
        LXC,
        "capabilities { drop = all; add = [chown, setuid] }",
    ),
    key("lxc.idmap", LXC, "idmap { uid = [[0, 100000, 65536]] }"),
    key("lxc.id_map", LXC, "idmap { uid = [[0, 100000, 65536]] }"),
    key("lxc.tty.max", LXC, "console { tty = 4 }"),
    key("lxc.tty", LXC, "console { tty = 4 }"),
    key("lxc.pty.max", LXC, "console { pts = 1024 }"),
    key("lxc.pts", LXC, "console { pts = 1024 }"),
    key(
        "lxc.mount.entry",
        LXC,
        "mount \"/data\" { type = bind; source = \"/srv/data\" }",
    ),
    key("lxc.mount.auto", LXC, "mount \"/proc\" { type = proc }"),
    key("lxc.include", LXC, "include \"base/hardened.sbx\""),
    key(
        "lxc.namespace.clone",
        LXC,
        "namespaces = [mount, uts, ipc, pid, net, cgroup]",
    ),
    key("lxc.cgroup2.memory.max", LXC, "limits { memory.max = 1G }"),
    key(
        "lxc.cgroup.memory.limit_in_bytes",
        LXC,
        "limits { memory.max = 1G }",
    ),
    key(
        "lxc.cgroup2.memory.high",
        LXC,
        "limits { memory.high = 768M }",
    ),
    key(
        "lxc.cgroup.memory.soft_limit_in_bytes",
        LXC,
        "limits { memory.high = 768M }",
    ),
    key(
        "lxc.cgroup2.memory.swap.max",
        LXC,
        "limits { memory.swap.max = 0 }",
    ),
    key(
        "lxc.cgroup.memory.memsw.limit_in_bytes",
        LXC,
        "limits { memory.swap.max = 0 }   # swap alone, without memory",
    ),
    key("lxc.cgroup2.cpu.weight", LXC, "limits { cpu.weight = 100 }"),
    key(
        "lxc.cgroup.cpu.shares",
        LXC,
        "limits { cpu.weight = 100 }   # shares * 100 / 1024",
    ),
    key(
        "lxc.cgroup2.cpu.max",
        LXC,
        "limits { cpu.quota = 50%; cpu.period = 100ms }",
    ),
    key(
        "lxc.cgroup.cpu.cfs_quota_us",
        LXC,
        "limits { cpu.quota = 50% }",
    ),
    key(
        "lxc.cgroup.cpu.cfs_period_us",
        LXC,
        "limits { cpu.period = 100ms }",
    ),
    key(
        "lxc.cgroup2.cpuset.cpus",
        LXC,
        "limits { cpuset.cpus = \"0-3\" }",
    ),
    key(
        "lxc.cgroup.cpuset.cpus",
        LXC,
        "limits { cpuset.cpus = \"0-3\" }",
    ),
    key(
        "lxc.cgroup2.cpuset.mems",
        LXC,
        "limits { cpuset.mems = \"0\" }",
    ),
    key(
        "lxc.cgroup.cpuset.mems",
        LXC,
        "limits { cpuset.mems = \"0\" }",
    ),
    key("lxc.cgroup2.io.weight", LXC, "limits { io.weight = 100 }"),
    key(
        "lxc.cgroup.blkio.weight",
        LXC,
        "limits { io.weight = 100 }   # blkio * 100 / 500",
    ),
    key("lxc.cgroup2.pids.max", LXC, "limits { pids.max = 256 }"),
    key("lxc.cgroup.pids.max", LXC, "limits { pids.max = 256 }"),
    key(
        "lxc.prlimit.nofile",
        LXC,
        "rlimits { nofile = [1024, 4096] }",
    ),
    key("lxc.prlimit.nproc", LXC, "rlimits { nproc = 512 }"),
    key("lxc.limit.nofile", LXC, "rlimits { nofile = [1024, 4096] }"),
    key("lxc.net.N.type", LXC, "net \"eth0\" { type = veth }"),
    key(
        "lxc.net.N.name",
        LXC,
        "net \"eth0\" { ... }   # the label is the name",
    ),
    key("lxc.net.N.link", LXC, "net \"eth0\" { link = \"br0\" }"),
    key("lxc.net.N.flags", LXC, "net \"eth0\" { up = true }"),
    key(
        "lxc.net.N.hwaddr",
        LXC,
        "net \"eth0\" { hwaddr = 00:16:3e:c6:0e:04 }",
    ),
    key("lxc.net.N.mtu", LXC, "net \"eth0\" { mtu = 1500 }"),
    key(
        "lxc.net.N.ipv4.address",
        LXC,
        "net \"eth0\" { address = [10.0.3.2/24] }",
    ),
    key(
        "lxc.net.N.ipv6.address",
        LXC,
        "net \"eth0\" { address = [fd00::2/64] }",
    ),
    key(
        "lxc.net.N.ipv4.gateway",
        LXC,
        "net \"eth0\" { gateway = 10.0.3.1 }",
    ),
    key(
        "lxc.net.N.ipv6.gateway",
        LXC,
        "net \"eth0\" { gateway = fd00::1 }",
    ),
    key(
        "lxc.net.N.macvlan.mode",
        LXC,
        "net \"eth0\" { type = macvlan; mode = bridge }",
    ),
    key(
        "lxc.net.N.vlan.id",
        LXC,
        "net \"eth0\" { type = vlan; vlan = 10 }",
    ),
    key("lxc.network.type", LXC, "net \"eth0\" { type = veth }"),
    key(
        "lxc.network.name",
        LXC,
        "net \"eth0\" { ... }   # the label is the name",
    ),
    key("lxc.network.link", LXC, "net \"eth0\" { link = \"br0\" }"),
    key("lxc.network.flags", LXC, "net \"eth0\" { up = true }"),
    key(
        "lxc.network.hwaddr",
        LXC,
        "net \"eth0\" { hwaddr = 00:16:3e:c6:0e:04 }",
    ),
    key("lxc.network.mtu", LXC, "net \"eth0\" { mtu = 1500 }"),
    key(
        "lxc.network.ipv4",
        LXC,
        "net \"eth0\" { address = [10.0.3.2/24] }",
    ),
    key(
        "lxc.network.ipv6",
        LXC,
        "net \"eth0\" { address = [fd00::2/64] }",
    ),
    key(
        "lxc.network.ipv4.gateway",
        LXC,
        "net \"eth0\" { gateway = 10.0.3.1 }",
    ),
    none("lxc.apparmor.profile", LXC),
    none("lxc.aa_profile", LXC),
    none("lxc.selinux.context", LXC),
    none("lxc.seccomp.profile", LXC),
    none("lxc.seccomp", LXC),
    none("lxc.arch", LXC),
    none("lxc.log.level", LXC),
    none("lxc.log.file", LXC),
    none("lxc.start.auto", LXC),
    // Dockerfile instructions (case-insensitive in a Dockerfile).
    key("CMD", DF, "cmd = [\"mysqld\"]"),
    key("ENTRYPOINT", DF, "entrypoint = [\"/entrypoint.sh\"]"),
    key("ENV", DF, "env = { TZ = \"UTC\" }"),
    key("WORKDIR", DF, "workdir = \"/srv\""),
    key("USER", DF, "user = \"app\""),
    key("EXPOSE", DF, "expose = [3306]"),
    key("VOLUME", DF, "volume = [\"/var/lib/mysql\"]"),
    key("LABEL", DF, "labels = { maintainer = \"ops@example.org\" }"),
    key(
        "MAINTAINER",
        DF,
        "labels = { maintainer = \"ops@example.org\" }",
    ),
    key("STOPSIGNAL", DF, "stop_signal = SIGQUIT"),
    key("FROM", DF, "from = \"debian:bookworm\""),
    key("RUN", DF, "build { run = \"apt-get update\" }"),
    key(
        "COPY",
        DF,
        "build { copy = [\"app.conf\", \"/etc/app.conf\"] }",
    ),
    key(
        "ADD",
        DF,
        "build { copy = [\"app.conf\", \"/etc/app.conf\"] }",
    ),
    key("ARG", DF, "build { arg = \"VERSION=1.2\" }"),
    none("HEALTHCHECK", DF),
    none("SHELL", DF),
    none("ONBUILD", DF),
];

/// The foreign key written `key`, if it is one. systemd and LXC names
/// match exactly; Dockerfile instructions in any case (`Cmd`, `CMD`). The
/// caller first makes sure `key` is not a native key (`cmd` is).
pub fn lookup(key: &str) -> Option<&'static ForeignKey> {
    let normalised = normalise_indices(key);
    FOREIGN_KEYS
        .iter()
        .find(|f| f.foreign == normalised)
        .or_else(|| {
            FOREIGN_KEYS
                .iter()
                .find(|f| f.origin == DF && f.foreign.eq_ignore_ascii_case(key))
        })
}

/// `lxc.net.0.type` -> `lxc.net.N.type`.
fn normalise_indices(key: &str) -> String {
    key.split('.')
        .map(|part| {
            if !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()) {
                "N"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The help line for a foreign key.
pub fn help(found: &ForeignKey) -> String {
    match found.native {
        Some(native) => format!("in sbx write `{native}`"),
        None => format!(
            "sbx has no equivalent of {} `{}`; remove it",
            found.origin, found.foreign
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_origin() {
        assert_eq!(lookup("MemoryMax").unwrap().origin, "systemd");
        assert_eq!(lookup("lxc.uts.name").unwrap().origin, "LXC");
        assert_eq!(lookup("lxc.net.0.type").unwrap().foreign, "lxc.net.N.type");
        assert_eq!(lookup("CMD").unwrap().origin, "Dockerfile");
        assert_eq!(lookup("Workdir").unwrap().foreign, "WORKDIR");
        assert!(lookup("memorymax").is_none());
        assert!(lookup("hostname").is_none());
    }

    #[test]
    fn every_native_statement_names_a_known_key() {
        for f in FOREIGN_KEYS {
            let Some(native) = f.native else { continue };
            let first = native.split([' ', '=']).next().unwrap();
            assert!(
                crate::vocabulary::spec(None, first).is_some() || first == "include",
                "{} maps to unknown `{first}`",
                f.foreign
            );
        }
    }
}
