//! The plan: what the executor applies, fully resolved.
//!
//! A plan is the contract between the compiler and the executor (and the
//! emitters). It is plain data: includes merged, defaults filled in, sizes in
//! bytes, times in microseconds, capabilities as full sets of canonical
//! names (`CAP_SYS_ADMIN`), limits cgroup-version-neutral. It has no spans
//! and does no I/O; [`Plan::sources`] maps plan entries back to profile
//! lines for diagnostics raised at apply time.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of the plan format this crate reads and writes.
pub const PLAN_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always [`PLAN_VERSION`]; a plan of another version is refused.
    pub version: u32,
    /// The sandbox's name, if the profile gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub rootfs: Rootfs,
    pub process: Process,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    /// The namespaces created for the sandbox (the rest are shared with the
    /// caller). Sorted, no duplicates.
    pub namespaces: Vec<Namespace>,
    pub network: Network,
    pub limits: CgroupLimits,
    pub capabilities: Capabilities,
    pub security: Security,
    /// Mounts in the order they are made, after the rootfs.
    #[serde(default)]
    pub mounts: Vec<Mount>,
    /// Paths that get a writable directory of their own per sandbox.
    #[serde(default)]
    pub volumes: Vec<String>,
    /// uid/gid mappings of the user namespace; empty when `user` is not in
    /// `namespaces` or when the executor picks the rootless mapping.
    #[serde(default)]
    pub idmap: IdMap,
    pub console: Console,
    /// Build steps, in order.
    #[serde(default)]
    pub build: Vec<BuildStep>,
    #[serde(default)]
    pub expose: Vec<Port>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Where each plan entry came from, keyed by its path in the plan
    /// (`limits.memory_max`, `mounts.0`, `network.interfaces.1.link`).
    #[serde(default)]
    pub sources: BTreeMap<String, SourceLocation>,
}

/// A place in a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceLocation {
    pub file: String,
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rootfs {
    /// The host's `/`, read-only, with a fresh /proc, a minimal /dev, tmpfs
    /// /tmp and /run, /sys read-only.
    Host,
    /// A directory holding a root filesystem (absolute path).
    Directory { path: String },
    /// An OCI image layout directory and an optional tag.
    OciLayout {
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<String>,
    },
    /// An image name in the local image store (`debian:bookworm`).
    Image { name: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Process {
    /// `entrypoint` followed by `cmd`, shell forms expanded to
    /// `["/bin/sh", "-c", ...]`. Empty when the profile has neither: such a
    /// profile is a fragment; `sbx apply` needs a command after `--`.
    pub args: Vec<String>,
    /// Environment, in the order given (later entries override earlier).
    #[serde(default)]
    pub env: Vec<EnvVar>,
    pub user: UserSpec,
    /// Supplementary groups, names or ids, resolved at apply time.
    #[serde(default)]
    pub groups: Vec<IdOrName>,
    /// Absolute; `/` when the profile says nothing.
    pub cwd: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub umask: Option<u32>,
    pub rlimits: Vec<Rlimit>,
    pub terminal: bool,
    /// A canonical signal name (`SIGTERM`).
    pub stop_signal: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

/// `user = ...`: resolved against the rootfs's /etc/passwd and /etc/group at
/// apply time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    pub user: IdOrName,
    /// The primary group; the user's own from /etc/passwd when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<IdOrName>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IdOrName {
    Id(u32),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rlimit {
    /// The lowercase resource name without `RLIMIT_` (`nofile`, `nproc`).
    pub resource: String,
    pub soft: Limit,
    pub hard: Limit,
}

/// A number, or no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Limit {
    Value(u64),
    /// Serialised as the string `"max"`.
    Max(MaxWord),
}

impl Limit {
    pub const MAX: Limit = Limit::Max(MaxWord::Max);

    /// The value, `None` for no limit.
    pub fn value(self) -> Option<u64> {
        match self {
            Limit::Value(v) => Some(v),
            Limit::Max(_) => None,
        }
    }
}

/// The word `max`, as it appears in a serialised [`Limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MaxWord {
    Max,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Namespace {
    Mount,
    Uts,
    Ipc,
    Pid,
    Net,
    User,
    Cgroup,
    Time,
}

impl Namespace {
    pub const ALL: [Namespace; 8] = [
        Namespace::Mount,
        Namespace::Uts,
        Namespace::Ipc,
        Namespace::Pid,
        Namespace::Net,
        Namespace::User,
        Namespace::Cgroup,
        Namespace::Time,
    ];

    /// The name used in profiles and in `/proc/PID/ns/`.
    pub fn name(self) -> &'static str {
        match self {
            Namespace::Mount => "mount",
            Namespace::Uts => "uts",
            Namespace::Ipc => "ipc",
            Namespace::Pid => "pid",
            Namespace::Net => "net",
            Namespace::User => "user",
            Namespace::Cgroup => "cgroup",
            Namespace::Time => "time",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Network {
    /// A new network namespace with only loopback, up.
    None,
    /// The host's network namespace, shared.
    Host,
    /// A new network namespace with loopback up and these interfaces.
    Interfaces { interfaces: Vec<NetInterface> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetInterface {
    /// The name inside the sandbox (at most 15 bytes).
    pub name: String,
    #[serde(rename = "type")]
    pub kind: NetKind,
    /// veth: the bridge the host end joins; macvlan, vlan: the parent
    /// interface; phys: the host interface moved in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// veth: create the bridge `link` if it does not exist (and remove it at
    /// teardown).
    #[serde(default)]
    pub create_bridge: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub macvlan_mode: Option<MacvlanMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan_id: Option<u16>,
    /// Lowercase, colon-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hwaddr: Option<String>,
    /// CIDR (`10.0.3.2/24`, `fd00::2/64`).
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Default routes: at most one IPv4 and one IPv6 address.
    #[serde(default)]
    pub gateways: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    pub up: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NetKind {
    Veth,
    Macvlan,
    Vlan,
    Phys,
    /// Only loopback, as LXC's `empty` type.
    Empty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MacvlanMode {
    Bridge,
    Vepa,
    Private,
    Passthru,
}

/// The canonical names of the capabilities of Linux 5.9 and later,
/// indexed by their kernel number: the spelling plan capability sets use.
pub const CAPABILITY_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Resource limits, cgroup-version-neutral (the executor maps them to v1 or
/// v2 files). `None` means the profile sets nothing: the cgroup keeps the
/// kernel's default.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CgroupLimits {
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_max: Option<Limit>,
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_high: Option<Limit>,
    /// Bytes of swap alone (v2 semantics; the executor adds memory_max for v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_swap_max: Option<Limit>,
    /// 1..=10000 (v2 semantics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_weight: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<CpuQuota>,
    /// A cpu list as the kernel writes it (`0-3,8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset_cpus: Option<String>,
    /// A memory node list (`0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset_mems: Option<String>,
    /// 1..=10000 (v2 semantics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_weight: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_max: Option<Limit>,
}

/// `cpu.max`: `quota_us` of CPU time per `period_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CpuQuota {
    pub quota_us: u64,
    pub period_us: u64,
}

/// Full capability sets, canonical names (`CAP_CHOWN`), sorted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    pub bounding: Vec<String>,
    pub effective: Vec<String>,
    pub permitted: Vec<String>,
    pub inheritable: Vec<String>,
    pub ambient: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Security {
    pub no_new_privileges: bool,
    pub readonly_paths: Vec<String>,
    pub masked_paths: Vec<String>,
    pub rootfs_readonly: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    /// Absolute path inside the sandbox.
    pub destination: String,
    #[serde(rename = "type")]
    pub kind: MountKind,
    /// bind: an absolute host path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default)]
    pub options: Vec<MountOption>,
    /// tmpfs: bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MountKind {
    Bind,
    Tmpfs,
    Proc,
    Sysfs,
    Devpts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MountOption {
    Ro,
    Nosuid,
    Nodev,
    Noexec,
    Rbind,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdMap {
    #[serde(default)]
    pub uid: Vec<IdRange>,
    #[serde(default)]
    pub gid: Vec<IdRange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdRange {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Console {
    /// Number of ttys to create.
    pub tty: u32,
    /// Maximum number of ptys (`devpts` `max=`); `None` for the kernel's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pts: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "step", rename_all = "snake_case", deny_unknown_fields)]
pub enum BuildStep {
    /// A shell script run with `/bin/sh -c`.
    Run { script: String },
    /// Sources relative to the build context, destination in the image.
    Copy {
        sources: Vec<String>,
        destination: String,
    },
    /// A build argument and its default.
    Arg {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Port {
    pub port: u16,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Tcp,
    Udp,
}

/// The JSON schema of [`Plan`], as printed by `sbx plan --schema`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Plan)).expect("a schema is always serialisable")
}

/// Why a serialised plan was refused.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("the plan is not valid JSON for this version of sbx: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the plan has version {found}, this sbx reads version {PLAN_VERSION}")]
    Version { found: u32 },
}

impl Plan {
    /// Reads a plan from JSON, refusing another version.
    pub fn from_json(text: &str) -> Result<Plan, PlanError> {
        let plan: Plan = serde_json::from_str(text)?;
        if plan.version != PLAN_VERSION {
            return Err(PlanError::Version {
                found: plan.version,
            });
        }
        Ok(plan)
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan is always serialisable")
    }
}
