//! The keys a profile may use, block by block: what validation checks names
//! against, where did-you-mean looks, and the example each type error shows.

/// How a key is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `key = value`
    Value,
    /// `key = value`, allowed several times, order kept (`build` steps).
    Repeatable,
    /// `key { ... }`
    Block,
    /// `key "label" { ... }`, several allowed with distinct labels.
    LabelledBlock,
}

/// One key of the vocabulary.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    pub key: &'static str,
    pub shape: Shape,
    /// A correct statement, shown in the help of a type error.
    pub example: &'static str,
}

const fn value(key: &'static str, example: &'static str) -> KeySpec {
    KeySpec {
        key,
        shape: Shape::Value,
        example,
    }
}

const fn block(key: &'static str, shape: Shape, example: &'static str) -> KeySpec {
    KeySpec {
        key,
        shape,
        example,
    }
}

/// Keys at the top level of a profile.
pub const TOP: &[KeySpec] = &[
    value("name", "name = \"web\""),
    value("from", "from = \"host\""),
    value("hostname", "hostname = \"web\""),
    value("domainname", "domainname = \"example.org\""),
    value(
        "cmd",
        "cmd = [\"/usr/sbin/nginx\", \"-g\", \"daemon off;\"]",
    ),
    value("entrypoint", "entrypoint = [\"/entrypoint.sh\"]"),
    value("env", "env = { TZ = \"UTC\" }"),
    value("user", "user = \"1000:1000\""),
    value("workdir", "workdir = \"/srv\""),
    value("groups", "groups = [\"audio\", 44]"),
    value("umask", "umask = 0o022"),
    value("terminal", "terminal = true"),
    value("stop_signal", "stop_signal = SIGTERM"),
    value("labels", "labels = { maintainer = \"ops@example.org\" }"),
    value("volume", "volume = [\"/var/lib/mysql\"]"),
    value("expose", "expose = [80, 53/udp]"),
    value(
        "namespaces",
        "namespaces = [mount, uts, ipc, pid, net, cgroup]",
    ),
    value("network", "network = none"),
    block("limits", Shape::Block, "limits { memory.max = 512M }"),
    block("rlimits", Shape::Block, "rlimits { nofile = [1024, 4096] }"),
    block(
        "capabilities",
        Shape::Block,
        "capabilities { drop = all; add = [net_bind_service] }",
    ),
    block(
        "security",
        Shape::Block,
        "security { no_new_privileges = true }",
    ),
    block(
        "mount",
        Shape::LabelledBlock,
        "mount \"/data\" { type = bind; source = \"/srv/data\" }",
    ),
    block(
        "net",
        Shape::LabelledBlock,
        "net \"eth0\" { type = veth; link = \"br0\" }",
    ),
    block(
        "idmap",
        Shape::Block,
        "idmap { uid = [[0, 100000, 65536]] }",
    ),
    block("console", Shape::Block, "console { tty = 4; pts = 1024 }"),
    block("build", Shape::Block, "build { run = \"apt-get update\" }"),
];

pub const LIMITS: &[KeySpec] = &[
    value("memory.max", "memory.max = 512M"),
    value("memory.high", "memory.high = 384M"),
    value("memory.swap.max", "memory.swap.max = 0"),
    value("cpu.weight", "cpu.weight = 100"),
    value("cpu.quota", "cpu.quota = 50%"),
    value("cpu.period", "cpu.period = 100ms"),
    value("cpuset.cpus", "cpuset.cpus = \"0-3\""),
    value("cpuset.mems", "cpuset.mems = \"0\""),
    value("io.weight", "io.weight = 100"),
    value("pids.max", "pids.max = 256"),
];

/// `rlimits` keys: the resources of setrlimit(2), lowercase without `RLIMIT_`.
pub const RLIMITS: &[KeySpec] = &[
    value("as", "as = 4G"),
    value("core", "core = 0"),
    value("cpu", "cpu = 60s"),
    value("data", "data = 1G"),
    value("fsize", "fsize = 1G"),
    value("locks", "locks = 1024"),
    value("memlock", "memlock = 64K"),
    value("msgqueue", "msgqueue = 800K"),
    value("nice", "nice = 0"),
    value("nofile", "nofile = [1024, 4096]"),
    value("nproc", "nproc = 512"),
    value("rss", "rss = 1G"),
    value("rtprio", "rtprio = 0"),
    value("rttime", "rttime = 200ms"),
    value("sigpending", "sigpending = 1024"),
    value("stack", "stack = 8M"),
];

pub const CAPABILITIES: &[KeySpec] = &[
    value("drop", "drop = all"),
    value("add", "add = [net_bind_service]"),
    value("ambient", "ambient = [net_bind_service]"),
];

pub const SECURITY: &[KeySpec] = &[
    value("no_new_privileges", "no_new_privileges = true"),
    value("readonly_paths", "readonly_paths = [\"/proc/sys\"]"),
    value("masked_paths", "masked_paths = [\"/proc/kcore\"]"),
    value("rootfs_readonly", "rootfs_readonly = true"),
];

pub const MOUNT: &[KeySpec] = &[
    value("type", "type = bind"),
    value("source", "source = \"/srv/data\""),
    value("options", "options = [ro, nosuid, nodev]"),
    value("size", "size = 64M"),
];

pub const NET: &[KeySpec] = &[
    value("type", "type = veth"),
    value("link", "link = \"br0\""),
    value("create_bridge", "create_bridge = true"),
    value("mode", "mode = bridge"),
    value("vlan", "vlan = 10"),
    value("hwaddr", "hwaddr = 00:16:3e:c6:0e:04"),
    value("address", "address = [10.0.3.2/24]"),
    value("gateway", "gateway = 10.0.3.1"),
    value("mtu", "mtu = 1500"),
    value("up", "up = true"),
];

pub const IDMAP: &[KeySpec] = &[
    value("uid", "uid = [[0, 100000, 65536]]"),
    value("gid", "gid = [[0, 100000, 65536]]"),
];

pub const CONSOLE: &[KeySpec] = &[value("tty", "tty = 4"), value("pts", "pts = 1024")];

pub const BUILD: &[KeySpec] = &[
    KeySpec {
        key: "run",
        shape: Shape::Repeatable,
        example: "run = \"apt-get update\"",
    },
    KeySpec {
        key: "copy",
        shape: Shape::Repeatable,
        example: "copy = [\"app.conf\", \"/etc/app.conf\"]",
    },
    KeySpec {
        key: "arg",
        shape: Shape::Repeatable,
        example: "arg = \"VERSION=1.2\"",
    },
];

/// The keys of a top-level block.
pub fn block_keys(block: &str) -> Option<&'static [KeySpec]> {
    Some(match block {
        "limits" => LIMITS,
        "rlimits" => RLIMITS,
        "capabilities" => CAPABILITIES,
        "security" => SECURITY,
        "mount" => MOUNT,
        "net" => NET,
        "idmap" => IDMAP,
        "console" => CONSOLE,
        "build" => BUILD,
        _ => return None,
    })
}

/// Every block name, in the order of [`TOP`].
pub fn blocks() -> impl Iterator<Item = &'static str> {
    TOP.iter()
        .filter(|k| matches!(k.shape, Shape::Block | Shape::LabelledBlock))
        .map(|k| k.key)
}

/// The spec of `key` in `block` (`None` = top level).
pub fn spec(block: Option<&str>, key: &str) -> Option<&'static KeySpec> {
    let keys = match block {
        None => TOP,
        Some(b) => block_keys(b)?,
    };
    keys.iter().find(|k| k.key == key)
}

/// Whether `key` may be given several times in `block`.
pub fn is_repeatable(block: Option<&str>, key: &str) -> bool {
    spec(block, key).is_some_and(|s| s.shape == Shape::Repeatable)
}
