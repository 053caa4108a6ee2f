//! The plan as an OCI runtime bundle's `config.json` (runtime-spec 1.0.2,
//! through the oci-spec crate), for crun, runc and youki.
//!
//! Where the plan is silent the config follows `runc spec`: the same
//! default mounts, a default-deny device cgroup (the runtimes add the
//! standard devices themselves). Weights use the conventions of the OCI
//! runtimes: see [`super::convert`] and docs/emit.md.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use oci_spec::runtime::{
    Capability, LinuxBlockIoBuilder, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxCpuBuilder,
    LinuxDeviceCgroupBuilder, LinuxIdMappingBuilder, LinuxMemoryBuilder, LinuxNamespaceBuilder,
    LinuxNamespaceType, LinuxPidsBuilder, LinuxResourcesBuilder, Mount as OciMount, MountBuilder,
    PosixRlimitBuilder, PosixRlimitType, ProcessBuilder, RootBuilder, Spec, SpecBuilder,
    UserBuilder,
};
use sbx_plan::{IdRange, Limit, Mount, MountKind, MountOption, Namespace, Network, Plan, Rootfs};

use super::{convert, EmitError, EmitOptions, EmitTarget, EmittedFile, Warnings};
use crate::emit::CgroupVersion;

/// The runtime-spec version written to `ociVersion`.
pub const OCI_VERSION: &str = "1.0.2";

/// The name of the file inside the bundle.
pub const CONFIG_FILE: &str = "config.json";

/// For `from = "host"`: the bundle's empty directory that is `root.path`;
/// the host's `/` is bound over it as the first mount. (A `root.path` of
/// `/` itself cannot work: the runtimes' pivot_root finds the new root on
/// the current root's mount and fails with EBUSY.)
pub const HOST_ROOT_MOUNT_POINT: &str = "rootfs";

pub(crate) fn emit(
    plan: &Plan,
    options: &EmitOptions,
    warnings: &mut Warnings<'_>,
) -> Result<Vec<EmittedFile>, EmitError> {
    let spec = spec(plan, options, warnings)?;
    let value = canonical_json(&spec)?;
    let mut contents =
        serde_json::to_string_pretty(&value).expect("a JSON value always serialises");
    contents.push('\n');
    Ok(vec![EmittedFile {
        path: PathBuf::from(CONFIG_FILE),
        contents,
    }])
}

fn spec_error(e: oci_spec::OciSpecError) -> EmitError {
    EmitError::Unsupported {
        target: EmitTarget::Oci,
        what: "the plan".into(),
        why: e.to_string(),
    }
}

/// Builds the OCI config of `plan`.
pub(crate) fn spec(
    plan: &Plan,
    options: &EmitOptions,
    warnings: &mut Warnings<'_>,
) -> Result<Spec, EmitError> {
    let (root_dir, root_path) = match &plan.rootfs {
        Rootfs::Host => (PathBuf::from("/"), PathBuf::from(HOST_ROOT_MOUNT_POINT)),
        Rootfs::Directory { path } => (PathBuf::from(path), PathBuf::from(path)),
        Rootfs::OciLayout { path, .. } => {
            return Err(EmitError::Unsupported {
                target: EmitTarget::Oci,
                what: format!("`from = \"oci:{path}\"`"),
                why: "unpacking an OCI image layout into a bundle is not supported yet (unpack it \
                      with `umoci unpack` and use `from` with the rootfs directory)"
                    .into(),
            })
        }
        Rootfs::Image { name } => {
            return Err(EmitError::Unsupported {
                target: EmitTarget::Oci,
                what: format!("`from = \"{name}\"`"),
                why: "images are not supported yet: a bundle needs a root filesystem directory \
                      (export the image to a directory and use `from` with its path)"
                    .into(),
            })
        }
    };

    let root = RootBuilder::default()
        .path(root_path)
        .readonly(plan.security.rootfs_readonly)
        .build()
        .map_err(spec_error)?;

    let builder = SpecBuilder::default()
        .version(OCI_VERSION)
        .root(root)
        .process(process(plan, &root_dir, warnings)?)
        .mounts(mounts(plan))
        .linux(linux(plan, options, warnings)?);

    // The builder fills what is not set from `Spec::default()` (hostname
    // "youki", empty annotations): set every optional field explicitly.
    let mut hostname = None;
    let mut domainname = None;
    let uts = plan.namespaces.contains(&Namespace::Uts);
    if let Some(name) = &plan.hostname {
        if uts {
            hostname = Some(name.clone());
        } else {
            warnings.unsupported(
                "hostname",
                "hostname",
                "OCI runtimes set a hostname only in a new UTS namespace; add `uts` to `namespaces`",
            );
        }
    }
    if let Some(name) = &plan.domainname {
        if uts {
            domainname = Some(name.clone());
        } else {
            warnings.unsupported(
                "domainname",
                "domainname",
                "OCI runtimes set a domain name only in a new UTS namespace; add `uts` to `namespaces`",
            );
        }
    }
    let annotations: Option<HashMap<String, String>> = (!plan.labels.is_empty()).then(|| {
        plan.labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    });

    engine_only_settings(plan, warnings);
    let mut spec = builder.build().map_err(spec_error)?;
    spec.set_hostname(hostname);
    spec.set_domainname(domainname);
    spec.set_annotations(annotations);
    Ok(spec)
}

/// Settings that belong to the engine above the runtime, not to a bundle.
fn engine_only_settings(plan: &Plan, warnings: &mut Warnings<'_>) {
    if !plan.expose.is_empty() {
        warnings.unsupported(
            "expose",
            "expose",
            "an OCI bundle has no published ports; publish them in the engine that runs it",
        );
    }
    if !plan.build.is_empty() {
        warnings.unsupported(
            "build",
            "build",
            "a bundle runs a prepared root filesystem; run the build steps before emitting",
        );
    }
    if plan.process.stop_signal != "SIGTERM" {
        warnings.unsupported(
            "stop_signal",
            "process.stop_signal",
            &format!(
                "a bundle has no stop signal; stop it with `crun kill ID {}`",
                plan.process.stop_signal
            ),
        );
    }
    if plan.console.tty > 0 {
        warnings.unsupported(
            "console.tty",
            "console.tty",
            "OCI runtimes create no ttys beyond the process's terminal (`terminal = true`)",
        );
    }
}

fn process(
    plan: &Plan,
    root_dir: &std::path::Path,
    warnings: &mut Warnings<'_>,
) -> Result<oci_spec::runtime::Process, EmitError> {
    let p = &plan.process;
    let user = super::resolve_user(plan, root_dir)?;
    let additional: Vec<u32> = p
        .groups
        .iter()
        .map(|g| super::resolve_group(g, root_dir))
        .collect::<Result<_, _>>()?;
    let mut user_builder = UserBuilder::default().uid(user.uid).gid(user.gid);
    if let Some(umask) = p.umask {
        user_builder = user_builder.umask(umask);
    }
    if !additional.is_empty() {
        user_builder = user_builder.additional_gids(additional);
    }

    let mut builder = ProcessBuilder::default()
        .terminal(p.terminal)
        .user(user_builder.build().map_err(spec_error)?)
        .env(environment(plan))
        .cwd(p.cwd.clone())
        .no_new_privileges(plan.security.no_new_privileges)
        .capabilities(capabilities(plan, warnings)?)
        .rlimits(rlimits(plan, warnings)?);
    if p.args.is_empty() {
        warnings.unsupported(
            "cmd",
            "process.args",
            "the profile has no `cmd` or `entrypoint`: set `process.args` in config.json before running",
        );
    } else {
        builder = builder.args(p.args.clone());
    }
    let mut process = builder.build().map_err(spec_error)?;
    if p.args.is_empty() {
        // Not `Process::default()`'s `sh`.
        process.set_args(None);
    }
    Ok(process)
}

/// `NAME=value` in the order given; a later value for a name replaces the
/// earlier one in place (execve would keep both, and getenv finds the first).
pub(crate) fn environment(plan: &Plan) -> Vec<String> {
    let mut order: Vec<&str> = Vec::new();
    let mut values: HashMap<&str, &str> = HashMap::new();
    for var in &plan.process.env {
        if values.insert(&var.name, &var.value).is_none() {
            order.push(&var.name);
        }
    }
    order
        .into_iter()
        .map(|name| format!("{name}={}", values[name]))
        .collect()
}

fn capabilities(
    plan: &Plan,
    warnings: &mut Warnings<'_>,
) -> Result<oci_spec::runtime::LinuxCapabilities, EmitError> {
    let mut set = |names: &[String]| -> oci_spec::runtime::Capabilities {
        names
            .iter()
            .filter_map(|name| {
                match serde_json::from_value::<Capability>(serde_json::Value::from(name.as_str())) {
                    Ok(cap) => Some(cap),
                    Err(_) => {
                        warnings.unsupported(
                            &format!("capabilities ({name})"),
                            "capabilities",
                            "the OCI spec library does not know this capability",
                        );
                        None
                    }
                }
            })
            .collect()
    };
    let c = &plan.capabilities;
    let (bounding, effective, permitted, inheritable, ambient) = (
        set(&c.bounding),
        set(&c.effective),
        set(&c.permitted),
        set(&c.inheritable),
        set(&c.ambient),
    );
    LinuxCapabilitiesBuilder::default()
        .bounding(bounding)
        .effective(effective)
        .permitted(permitted)
        .inheritable(inheritable)
        .ambient(ambient)
        .build()
        .map_err(spec_error)
}

fn rlimits(
    plan: &Plan,
    warnings: &mut Warnings<'_>,
) -> Result<Vec<oci_spec::runtime::PosixRlimit>, EmitError> {
    let value = |l: Limit| l.value().unwrap_or(u64::MAX);
    let mut out = Vec::new();
    for r in &plan.process.rlimits {
        let name = format!("RLIMIT_{}", r.resource.to_ascii_uppercase());
        let Ok(typ) = serde_json::from_value::<PosixRlimitType>(serde_json::Value::from(name))
        else {
            warnings.unsupported(
                &format!("rlimits.{}", r.resource),
                &format!("process.rlimits.{}", r.resource),
                "the OCI spec has no such rlimit",
            );
            continue;
        };
        out.push(
            PosixRlimitBuilder::default()
                .typ(typ)
                .soft(value(r.soft))
                .hard(value(r.hard))
                .build()
                .map_err(spec_error)?,
        );
    }
    Ok(out)
}

fn mount(destination: &str, typ: &str, source: &str, options: &[&str]) -> OciMount {
    MountBuilder::default()
        .destination(destination)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .build()
        .expect("a mount without id mappings always builds")
}

/// runc's default mounts (`runc spec`), the host rootfs's tmpfs /tmp and
/// /run, then the plan's mounts and volumes. A plan mount replaces a
/// default one at the same destination.
fn mounts(plan: &Plan) -> Vec<OciMount> {
    let devpts_max = plan.console.pts.map(|n| format!("max={n}"));
    let mut devpts = vec![
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620",
        "gid=5",
    ];
    if let Some(max) = &devpts_max {
        devpts.push(max);
    }
    let mut defaults = Vec::new();
    if plan.rootfs == Rootfs::Host {
        // The host's `/`, recursively, over the bundle's empty `rootfs/`.
        // `/.` because crun refuses the destination `/`; `rro` (recursive
        // read-only, mount_setattr) because crun ignores a plain `ro` on
        // this mount. crun 1.8 applies `rro` after the later mounts, so
        // /tmp and /run end up read-only there too: more closed, not less.
        let options: &[&str] = if plan.security.rootfs_readonly {
            &["rbind", "ro", "rro"]
        } else {
            &["rbind"]
        };
        defaults.push(mount("/.", "bind", "/", options));
    }
    defaults.extend([
        mount("/proc", "proc", "proc", &[]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount("/dev/pts", "devpts", "devpts", &devpts),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
    ]);
    if plan.namespaces.contains(&Namespace::Net) {
        defaults.push(mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        ));
    } else {
        // The kernel refuses a new sysfs outside a new network namespace;
        // runc's rootless spec binds the host's instead.
        defaults.push(mount(
            "/sys",
            "none",
            "/sys",
            &["rbind", "nosuid", "noexec", "nodev", "ro"],
        ));
    }
    defaults.push(mount(
        "/sys/fs/cgroup",
        "cgroup",
        "cgroup",
        &["nosuid", "noexec", "nodev", "relatime", "ro"],
    ));
    if plan.rootfs == Rootfs::Host {
        defaults.push(mount(
            "/tmp",
            "tmpfs",
            "tmpfs",
            &["nosuid", "nodev", "mode=1777"],
        ));
        defaults.push(mount(
            "/run",
            "tmpfs",
            "tmpfs",
            &["nosuid", "nodev", "mode=755"],
        ));
    }

    let planned: BTreeSet<&str> = plan
        .mounts
        .iter()
        .map(|m| m.destination.as_str())
        .chain(plan.volumes.iter().map(String::as_str))
        .collect();
    let mut out: Vec<OciMount> = defaults
        .into_iter()
        .filter(|m| !planned.contains(m.destination().to_str().unwrap_or_default()))
        .collect();
    out.extend(plan.mounts.iter().map(plan_mount));
    out.extend(
        plan.volumes
            .iter()
            .map(|path| mount(path, "tmpfs", "tmpfs", &["nosuid", "nodev", "mode=755"])),
    );
    out
}

fn plan_mount(m: &Mount) -> OciMount {
    let mut options: Vec<String> = Vec::new();
    let (typ, source) = match m.kind {
        MountKind::Bind => {
            if !m.options.contains(&MountOption::Rbind) {
                options.push("bind".into());
            }
            ("bind", m.source.clone().unwrap_or_default())
        }
        MountKind::Tmpfs => ("tmpfs", "tmpfs".into()),
        MountKind::Proc => ("proc", "proc".into()),
        MountKind::Sysfs => ("sysfs", "sysfs".into()),
        MountKind::Devpts => {
            options.extend(["newinstance", "ptmxmode=0666", "mode=0620"].map(String::from));
            ("devpts", "devpts".into())
        }
    };
    options.extend(
        m.options
            .iter()
            .map(|o| super::mount_option_name(*o).to_string()),
    );
    if let Some(size) = m.size {
        options.push(format!("size={size}"));
    }
    MountBuilder::default()
        .destination(m.destination.clone())
        .typ(typ)
        .source(source)
        .options(options)
        .build()
        .expect("a mount without id mappings always builds")
}

fn namespace_type(ns: Namespace) -> LinuxNamespaceType {
    match ns {
        Namespace::Mount => LinuxNamespaceType::Mount,
        Namespace::Uts => LinuxNamespaceType::Uts,
        Namespace::Ipc => LinuxNamespaceType::Ipc,
        Namespace::Pid => LinuxNamespaceType::Pid,
        Namespace::Net => LinuxNamespaceType::Network,
        Namespace::User => LinuxNamespaceType::User,
        Namespace::Cgroup => LinuxNamespaceType::Cgroup,
        Namespace::Time => LinuxNamespaceType::Time,
    }
}

fn id_mappings(ranges: &[IdRange]) -> Result<Vec<oci_spec::runtime::LinuxIdMapping>, EmitError> {
    ranges
        .iter()
        .map(|r| {
            LinuxIdMappingBuilder::default()
                .container_id(r.inside)
                .host_id(r.outside)
                .size(r.count)
                .build()
                .map_err(spec_error)
        })
        .collect()
}

fn linux(
    plan: &Plan,
    options: &EmitOptions,
    warnings: &mut Warnings<'_>,
) -> Result<oci_spec::runtime::Linux, EmitError> {
    let namespaces = plan
        .namespaces
        .iter()
        .map(|ns| {
            LinuxNamespaceBuilder::default()
                .typ(namespace_type(*ns))
                .build()
                .map_err(spec_error)
        })
        .collect::<Result<Vec<_>, _>>()?;

    if let Network::Interfaces { interfaces } = &plan.network {
        for (i, interface) in interfaces.iter().enumerate() {
            warnings.unsupported(
                &format!("net \"{}\"", interface.name),
                &format!("network.interfaces.{i}"),
                "an OCI config gives a network namespace, not its interfaces; create them with a \
                 CNI plugin or a hook",
            );
        }
    }

    let mut builder = LinuxBuilder::default()
        .namespaces(namespaces)
        .masked_paths(plan.security.masked_paths.clone())
        .readonly_paths(plan.security.readonly_paths.clone())
        .resources(resources(plan, options, warnings)?);

    if plan.namespaces.contains(&Namespace::User) {
        if plan.idmap.uid.is_empty() || plan.idmap.gid.is_empty() {
            warnings.unsupported(
                "namespaces (user)",
                "namespaces",
                "an OCI runtime needs explicit uid and gid mappings for a user namespace; add an \
                 `idmap` block",
            );
        }
        builder = builder
            .uid_mappings(id_mappings(&plan.idmap.uid)?)
            .gid_mappings(id_mappings(&plan.idmap.gid)?);
    } else if !plan.idmap.uid.is_empty() || !plan.idmap.gid.is_empty() {
        warnings.unsupported(
            "idmap",
            "idmap",
            "id mappings need a user namespace; add `user` to `namespaces`",
        );
    }
    builder.build().map_err(spec_error)
}

fn limit_i64(l: Limit) -> i64 {
    l.value()
        .map_or(-1, |v| i64::try_from(v).unwrap_or(i64::MAX))
}

fn resources(
    plan: &Plan,
    options: &EmitOptions,
    warnings: &mut Warnings<'_>,
) -> Result<oci_spec::runtime::LinuxResources, EmitError> {
    let l = &plan.limits;
    let deny_all = LinuxDeviceCgroupBuilder::default()
        .allow(false)
        .access("rwm")
        .build()
        .map_err(spec_error)?;
    let mut builder = LinuxResourcesBuilder::default().devices(vec![deny_all]);
    let mut unified: HashMap<String, String> = HashMap::new();

    // Memory: OCI `swap` is memory plus swap (the v1 memsw file).
    let mut memory = LinuxMemoryBuilder::default();
    let mut any_memory = false;
    if let Some(max) = l.memory_max {
        memory = memory.limit(limit_i64(max));
        any_memory = true;
    }
    if let Some(swap) = l.memory_swap_max {
        match (l.memory_max.and_then(Limit::value), swap.value()) {
            (_, None) => {
                memory = memory.swap(-1);
                any_memory = true;
            }
            (Some(mem), Some(swap)) => {
                memory = memory.swap(i64::try_from(mem.saturating_add(swap)).unwrap_or(i64::MAX));
                any_memory = true;
            }
            (None, Some(_)) => warnings.unsupported(
                "limits.memory.swap.max",
                "limits.memory_swap_max",
                "OCI's `memory.swap` counts memory plus swap, so it needs a `memory.max` to add to",
            ),
        }
    }
    if any_memory {
        builder = builder.memory(memory.build().map_err(spec_error)?);
    }
    if let Some(high) = l.memory_high {
        match options.cgroup {
            CgroupVersion::V2 => {
                let text = high.value().map_or("max".to_string(), |v| v.to_string());
                unified.insert("memory.high".into(), text);
            }
            CgroupVersion::V1 => warnings.unsupported(
                "limits.memory.high",
                "limits.memory_high",
                "OCI's `linux.resources` has no memory.high; with `--cgroup v2` it goes to \
                 `linux.resources.unified`",
            ),
        }
    }

    let mut cpu = LinuxCpuBuilder::default();
    let mut any_cpu = false;
    if let Some(weight) = l.cpu_weight {
        cpu = cpu.shares(convert::oci_shares_for_weight(weight));
        any_cpu = true;
    }
    if let Some(q) = l.cpu_quota {
        cpu = cpu
            .quota(i64::try_from(q.quota_us).unwrap_or(i64::MAX))
            .period(q.period_us);
        any_cpu = true;
    }
    if let Some(cpus) = &l.cpuset_cpus {
        cpu = cpu.cpus(cpus.clone());
        any_cpu = true;
    }
    if let Some(mems) = &l.cpuset_mems {
        cpu = cpu.mems(mems.clone());
        any_cpu = true;
    }
    if any_cpu {
        builder = builder.cpu(cpu.build().map_err(spec_error)?);
    }

    if let Some(pids) = l.pids_max {
        builder = builder.pids(
            LinuxPidsBuilder::default()
                .limit(limit_i64(pids))
                .build()
                .map_err(spec_error)?,
        );
    }

    if let Some(io) = l.io_weight {
        let blkio = convert::oci_blkio_for_io(io);
        let back = convert::oci_blkio_to_io(blkio);
        if back != io {
            warnings.approximate(
                "limits.io.weight",
                "limits.io_weight",
                &format!(
                    "OCI's `blockIO.weight` is a v1 weight (10-1000): io.weight {io} becomes \
                     blockIO.weight {blkio}, which the runtimes convert to io.weight {back}"
                ),
            );
        }
        builder = builder.block_io(
            LinuxBlockIoBuilder::default()
                .weight(blkio as u16)
                .build()
                .map_err(spec_error)?,
        );
    }
    if !unified.is_empty() {
        builder = builder.unified(unified);
    }
    builder.build().map_err(spec_error)
}

/// The spec as JSON with a stable order: oci-spec keeps capabilities in
/// hash sets and annotations in hash maps, whose order changes per run.
fn canonical_json(spec: &Spec) -> Result<serde_json::Value, EmitError> {
    let mut value = serde_json::to_value(spec).map_err(|e| spec_error(e.into()))?;
    if let Some(caps) = value
        .pointer_mut("/process/capabilities")
        .and_then(|c| c.as_object_mut())
    {
        for set in caps.values_mut() {
            if let Some(list) = set.as_array_mut() {
                list.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
    }
    for pointer in ["/annotations", "/linux/resources/unified"] {
        if let Some(map) = value.pointer_mut(pointer).and_then(|m| m.as_object_mut()) {
            let mut entries: Vec<_> = std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            map.extend(entries);
        }
    }
    Ok(value)
}
