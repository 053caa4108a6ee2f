//! Emitters: a [`Plan`] as another engine's configuration.
//!
//! One file per target: [`oci`] (an OCI runtime bundle's `config.json`),
//! [`systemd`] (a `.service` unit), [`lxc`] (an LXC container config) and
//! [`k8s`] (a Kubernetes Pod manifest). Emitters know only the plan: they
//! never reach into lowering or validation.
//!
//! What a target cannot express is never dropped silently: it becomes a
//! warning ([`Diagnostic`] with code [`UNSUPPORTED`]) that names the setting
//! and the target. What a target cannot run at all (an OCI bundle without a
//! root filesystem) is an [`EmitError`].

pub mod convert;
pub mod k8s;
pub mod lxc;
pub mod oci;
pub mod systemd;

use std::path::{Path, PathBuf};

use sbx_plan::{IdOrName, Plan};

use crate::diagnostic::Diagnostic;

/// Code of the warning for a setting a target cannot express.
pub const UNSUPPORTED: &str = "sbx::emit::unsupported";
/// Code of the warning for a setting a target expresses only approximately.
pub const APPROXIMATE: &str = "sbx::emit::approximate";

/// The engines sbx can emit a configuration for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmitTarget {
    /// An OCI runtime bundle (crun, runc, youki; containerd underneath).
    Oci,
    /// A systemd `.service` unit.
    Systemd,
    /// An LXC container config.
    Lxc,
    /// A Kubernetes Pod manifest.
    K8s,
}

impl EmitTarget {
    pub const ALL: [EmitTarget; 4] = [
        EmitTarget::Oci,
        EmitTarget::Systemd,
        EmitTarget::Lxc,
        EmitTarget::K8s,
    ];

    /// The name used on the command line (`--target oci`).
    pub fn name(self) -> &'static str {
        match self {
            EmitTarget::Oci => "oci",
            EmitTarget::Systemd => "systemd",
            EmitTarget::Lxc => "lxc",
            EmitTarget::K8s => "k8s",
        }
    }

    /// The name used in diagnostics ("an OCI bundle").
    pub fn describe(self) -> &'static str {
        match self {
            EmitTarget::Oci => "an OCI bundle",
            EmitTarget::Systemd => "a systemd unit",
            EmitTarget::Lxc => "an LXC config",
            EmitTarget::K8s => "a Kubernetes Pod",
        }
    }
}

/// The cgroup version whose file names a target should use where it has to
/// choose (LXC's `lxc.cgroup2.*` or `lxc.cgroup.*`; OCI's
/// `linux.resources.unified`, which only cgroup v2 hosts accept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CgroupVersion {
    V1,
    /// The default: most hosts today are cgroup v2 only.
    #[default]
    V2,
}

/// How to emit.
#[derive(Debug, Clone, Default)]
pub struct EmitOptions {
    /// See [`CgroupVersion`].
    pub cgroup: CgroupVersion,
}

/// One file of the emitted configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmittedFile {
    /// Relative to the output: `config.json` in an OCI bundle; the unit,
    /// config or manifest name for the other targets.
    pub path: PathBuf,
    pub contents: String,
}

/// The result of [`emit`]: the files and what they could not express.
#[derive(Debug, Clone)]
pub struct Emitted {
    pub files: Vec<EmittedFile>,
    /// Empty directories to create beside the files (relative): the OCI
    /// bundle's `rootfs/` mount point for `from = "host"`.
    pub directories: Vec<PathBuf>,
    /// Warnings only; an error is an [`EmitError`].
    pub warnings: Vec<Diagnostic>,
}

/// Why a plan could not be emitted for a target at all.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("{what} cannot be emitted as {}: {why}", target.describe())]
    Unsupported {
        target: EmitTarget,
        what: String,
        why: String,
    },
    #[error("user `{name}` is not in `{file}`")]
    UnknownUser { name: String, file: PathBuf },
    #[error("group `{name}` is not in `{file}`")]
    UnknownGroup { name: String, file: PathBuf },
    #[error("cannot read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl EmitError {
    /// A help line for the person who ran `sbx emit`.
    pub fn help(&self) -> Option<&'static str> {
        match self {
            EmitError::Unsupported { .. } => None,
            EmitError::UnknownUser { .. } | EmitError::UnknownGroup { .. } => {
                Some("give a numeric id (`user = \"1000:1000\"`) or add the name to the rootfs")
            }
            EmitError::Read { .. } => None,
        }
    }
}

/// Emits `plan` for `target`.
pub fn emit(plan: &Plan, target: EmitTarget, options: &EmitOptions) -> Result<Emitted, EmitError> {
    let mut warnings = Warnings::new(plan, target);
    let directories = match (target, &plan.rootfs) {
        (EmitTarget::Oci, sbx_plan::Rootfs::Host) => {
            vec![PathBuf::from(oci::HOST_ROOT_MOUNT_POINT)]
        }
        _ => Vec::new(),
    };
    let files = match target {
        EmitTarget::Oci => oci::emit(plan, options, &mut warnings)?,
        EmitTarget::Systemd => systemd::emit(plan, options, &mut warnings)?,
        EmitTarget::Lxc => lxc::emit(plan, options, &mut warnings)?,
        EmitTarget::K8s => k8s::emit(plan, options, &mut warnings)?,
    };
    Ok(Emitted {
        files,
        directories,
        warnings: warnings.into_diagnostics(),
    })
}

/// Collects the warnings of one emission, each naming the setting (as the
/// profile spells it) and the target, and where the profile set it.
pub(crate) struct Warnings<'p> {
    plan: &'p Plan,
    target: EmitTarget,
    list: Vec<Diagnostic>,
}

impl<'p> Warnings<'p> {
    fn new(plan: &'p Plan, target: EmitTarget) -> Self {
        Warnings {
            plan,
            target,
            list: Vec::new(),
        }
    }

    /// `setting` cannot be expressed by the target and is left out.
    /// `plan_key` is the setting's path in the plan (for its location),
    /// `detail` says what happens instead.
    pub(crate) fn unsupported(&mut self, setting: &str, plan_key: &str, detail: &str) {
        let message = format!(
            "`{setting}` cannot be expressed in {}: left out",
            self.target.describe()
        );
        self.push(UNSUPPORTED, message, plan_key, detail);
    }

    /// `setting` is expressed, but not exactly as the plan says.
    pub(crate) fn approximate(&mut self, setting: &str, plan_key: &str, detail: &str) {
        let message = format!(
            "`{setting}` is only approximated in {}",
            self.target.describe()
        );
        self.push(APPROXIMATE, message, plan_key, detail);
    }

    fn push(&mut self, code: &str, message: String, plan_key: &str, detail: &str) {
        let location = self
            .source_of(plan_key)
            .map(|s| format!(" (set at {}:{}:{})", s.file, s.line, s.column))
            .unwrap_or_default();
        let help = format!("{detail}{location}");
        let diagnostic = Diagnostic::warning(code, message).with_help(help);
        if !self.list.contains(&diagnostic) {
            self.list.push(diagnostic);
        }
    }

    /// Where the profile set `plan_key`: the key itself, else its first
    /// entry (`idmap` → `idmap.uid`), else its nearest parent
    /// (`capabilities.ambient` → `capabilities`).
    fn source_of(&self, plan_key: &str) -> Option<&sbx_plan::SourceLocation> {
        let sources = &self.plan.sources;
        if let Some(s) = sources.get(plan_key) {
            return Some(s);
        }
        let prefix = format!("{plan_key}.");
        if let Some((_, s)) = sources.iter().find(|(k, _)| k.starts_with(&prefix)) {
            return Some(s);
        }
        let mut key = plan_key;
        while let Some((parent, _)) = key.rsplit_once('.') {
            if let Some(s) = sources.get(parent) {
                return Some(s);
            }
            key = parent;
        }
        None
    }

    fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.list
    }
}

/// A user as numbers, resolved against `<root>/etc/passwd` and
/// `<root>/etc/group` where the plan gives names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NumericUser {
    pub uid: u32,
    pub gid: u32,
}

/// Resolves the plan's user to numbers in the rootfs at `root`. A user
/// given without a group gets its primary group from /etc/passwd, or its
/// own id as gid when it is numeric and not listed (as runc does).
pub(crate) fn resolve_user(plan: &Plan, root: &Path) -> Result<NumericUser, EmitError> {
    let passwd_path = root.join("etc/passwd");
    let passwd = read_optional(&passwd_path)?;
    let entry = |user: &IdOrName| -> Option<(u32, u32)> {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() < 4 {
                return None;
            }
            let uid = fields[2].parse().ok()?;
            let gid = fields[3].parse().ok()?;
            let matches = match user {
                IdOrName::Id(id) => *id == uid,
                IdOrName::Name(name) => name == fields[0],
            };
            matches.then_some((uid, gid))
        })
    };
    let (uid, primary) = match &plan.process.user.user {
        IdOrName::Id(id) => (*id, entry(&IdOrName::Id(*id)).map_or(*id, |e| e.1)),
        IdOrName::Name(name) => {
            entry(&IdOrName::Name(name.clone())).ok_or_else(|| EmitError::UnknownUser {
                name: name.clone(),
                file: passwd_path.clone(),
            })?
        }
    };
    let gid = match &plan.process.user.group {
        None => primary,
        Some(group) => resolve_group(group, root)?,
    };
    Ok(NumericUser { uid, gid })
}

/// Resolves a group to its id in `<root>/etc/group`.
pub(crate) fn resolve_group(group: &IdOrName, root: &Path) -> Result<u32, EmitError> {
    match group {
        IdOrName::Id(id) => Ok(*id),
        IdOrName::Name(name) => {
            let path = root.join("etc/group");
            let text = read_optional(&path)?;
            text.lines()
                .find_map(|line| {
                    let fields: Vec<&str> = line.split(':').collect();
                    (fields.len() >= 3 && fields[0] == name)
                        .then(|| fields[2].parse().ok())
                        .flatten()
                })
                .ok_or_else(|| EmitError::UnknownGroup {
                    name: name.clone(),
                    file: path,
                })
        }
    }
}

/// A missing file reads as empty: a rootfs without /etc/passwd simply
/// knows no names.
fn read_optional(path: &Path) -> Result<String, EmitError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(EmitError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The user as the profile wrote it (`1000`, `app:staff`), for messages.
pub(crate) fn user_text(plan: &Plan) -> String {
    let name = |v: &IdOrName| match v {
        IdOrName::Id(id) => id.to_string(),
        IdOrName::Name(n) => n.clone(),
    };
    match &plan.process.user.group {
        Some(g) => format!("{}:{}", name(&plan.process.user.user), name(g)),
        None => name(&plan.process.user.user),
    }
}

/// True when the workload runs as uid 0 (by number or as `root`).
pub(crate) fn runs_as_root(plan: &Plan) -> bool {
    match &plan.process.user.user {
        IdOrName::Id(id) => *id == 0,
        IdOrName::Name(n) => n == "root",
    }
}

/// The capability name without `CAP_`, lowercase (LXC, systemd accept
/// this; systemd also takes the `CAP_` form).
pub(crate) fn short_cap(name: &str) -> String {
    name.strip_prefix("CAP_")
        .unwrap_or(name)
        .to_ascii_lowercase()
}

/// A mount option as mount(8) spells it.
pub(crate) fn mount_option_name(o: sbx_plan::MountOption) -> &'static str {
    use sbx_plan::MountOption;
    match o {
        MountOption::Ro => "ro",
        MountOption::Nosuid => "nosuid",
        MountOption::Nodev => "nodev",
        MountOption::Noexec => "noexec",
        MountOption::Rbind => "rbind",
    }
}
