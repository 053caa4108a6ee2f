//! The plan as a Kubernetes Pod manifest (YAML, core/v1): one container
//! with its command, environment, securityContext and resource limits.
//!
//! Capabilities are written as `drop: [ALL]` plus `add:` the plan's full
//! bounding set, so the result does not depend on the container runtime's
//! default set (containerd and CRI-O differ). See docs/emit.md.

use std::path::PathBuf;

use sbx_plan::{
    IdOrName, Limit, MountKind, MountOption, Namespace, Network, Plan, Protocol, Rootfs,
};
use serde_json::{json, Map, Value};

use super::{EmitError, EmitOptions, EmittedFile, Warnings};

/// The masked and read-only paths every CRI runtime applies with
/// `procMount: Default` (containerd's defaults).
const RUNTIME_MASKED: [&str; 11] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];
const RUNTIME_READONLY: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

pub(crate) fn emit(
    plan: &Plan,
    _options: &EmitOptions,
    warnings: &mut Warnings<'_>,
) -> Result<Vec<EmittedFile>, EmitError> {
    let pod = pod(plan, warnings);
    let contents = serde_saphyr::to_string(&pod).map_err(|e| EmitError::Unsupported {
        target: super::EmitTarget::K8s,
        what: "the Pod".into(),
        why: e.to_string(),
    })?;
    let name = dns_label(plan.name.as_deref().unwrap_or("sbx"));
    Ok(vec![EmittedFile {
        path: PathBuf::from(format!("{name}.yaml")),
        contents,
    }])
}

/// A name made into an RFC 1123 label: lowercase alphanumerics and `-`, at
/// most 63 characters, alphanumeric at both ends.
fn dns_label(name: &str) -> String {
    let mapped: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63)
        .collect();
    let trimmed = mapped.trim_matches('-');
    if trimmed.is_empty() {
        "sbx".to_string()
    } else {
        trimmed.to_string()
    }
}

/// A Kubernetes label value: at most 63 characters of `[A-Za-z0-9-_.]`,
/// alphanumeric at both ends, or empty.
fn valid_label_value(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// A label key: an optional DNS-subdomain prefix and `/`, then a name like
/// a label value (not empty).
fn valid_label_key(k: &str) -> bool {
    let name = k.rsplit_once('/').map_or(k, |(prefix, name)| {
        if prefix.is_empty() || prefix.len() > 253 {
            return "";
        }
        name
    });
    !name.is_empty() && valid_label_value(name)
}

/// Bytes as a Kubernetes quantity: binary suffixes when exact.
fn quantity_bytes(bytes: u64) -> String {
    for (suffix, unit) in [
        ("Ti", 1u64 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ] {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    bytes.to_string()
}

fn pod(plan: &Plan, warnings: &mut Warnings<'_>) -> Value {
    let name = dns_label(plan.name.as_deref().unwrap_or("sbx"));
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(name));
    let mut labels = Map::new();
    let mut annotations = Map::new();
    for (k, v) in &plan.labels {
        if valid_label_key(k) && valid_label_value(v) {
            labels.insert(k.clone(), json!(v));
        } else {
            annotations.insert(k.clone(), json!(v));
            warnings.approximate(
                &format!("labels.{k}"),
                "labels",
                "not a valid Kubernetes label: written as an annotation",
            );
        }
    }
    if !labels.is_empty() {
        metadata.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), Value::Object(annotations));
    }

    let mut spec = Map::new();
    spec.insert("restartPolicy".into(), json!("Never"));
    let mut container = Map::new();
    container.insert("name".into(), json!(name));

    match &plan.rootfs {
        Rootfs::Image { name } => {
            container.insert("image".into(), json!(name));
        }
        Rootfs::OciLayout { path, .. } => warnings.unsupported(
            "from",
            "rootfs",
            &format!(
                "a Pod runs an image from a registry, not the layout `{path}`: push it and set \
                 `image` in the manifest"
            ),
        ),
        Rootfs::Host | Rootfs::Directory { .. } => warnings.unsupported(
            "from",
            "rootfs",
            "a Pod needs an image (the host's root or a rootfs directory cannot be scheduled): \
             build one from the rootfs and set `image` in the manifest",
        ),
    }

    process(plan, &mut spec, &mut container, warnings);
    namespaces(plan, &mut spec, warnings);
    container.insert("securityContext".into(), security_context(plan, warnings));
    if let Some(resources) = resources(plan, warnings) {
        container.insert("resources".into(), resources);
    }
    volumes(plan, &mut spec, &mut container, warnings);

    if !plan.expose.is_empty() {
        let ports: Vec<Value> = plan
            .expose
            .iter()
            .map(|p| {
                let protocol = match p.protocol {
                    Protocol::Tcp => "TCP",
                    Protocol::Udp => "UDP",
                };
                json!({"containerPort": p.port, "protocol": protocol})
            })
            .collect();
        container.insert("ports".into(), Value::Array(ports));
    }
    if !plan.build.is_empty() {
        warnings.unsupported(
            "build",
            "build",
            "a Pod runs a built image; run the build steps into the image",
        );
    }
    if plan.console.tty > 0 || plan.console.pts.is_some() {
        warnings.unsupported(
            "console",
            "console",
            "a Pod creates no ttys beyond `tty: true`",
        );
    }

    spec.insert("containers".into(), json!([Value::Object(container)]));
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": Value::Object(metadata),
        "spec": Value::Object(spec),
    })
}

fn process(
    plan: &Plan,
    spec: &mut Map<String, Value>,
    container: &mut Map<String, Value>,
    warnings: &mut Warnings<'_>,
) {
    let p = &plan.process;
    if p.args.is_empty() {
        warnings.unsupported(
            "cmd",
            "process.args",
            "the profile has no `cmd` or `entrypoint`: the image's own command runs",
        );
    } else {
        // `command` replaces the image's entrypoint and cmd, as the plan's
        // args are both.
        container.insert("command".into(), json!(p.args));
    }
    let env: Vec<Value> = super::oci::environment(plan)
        .into_iter()
        .map(|kv| {
            let (name, value) = kv.split_once('=').unwrap_or((&kv, ""));
            json!({"name": name, "value": value})
        })
        .collect();
    if !env.is_empty() {
        container.insert("env".into(), Value::Array(env));
    }
    container.insert("workingDir".into(), json!(p.cwd));
    if p.terminal {
        container.insert("tty".into(), json!(true));
        container.insert("stdin".into(), json!(true));
    }
    for r in &p.rlimits {
        warnings.unsupported(
            &format!("rlimits.{}", r.resource),
            &format!("process.rlimits.{}", r.resource),
            "a Pod has no rlimits: the container runtime's defaults apply",
        );
    }
    if p.umask.is_some() {
        warnings.unsupported("umask", "process.umask", "a Pod has no umask setting");
    }
    if p.stop_signal != "SIGTERM" {
        warnings.unsupported(
            "stop_signal",
            "process.stop_signal",
            "the kubelet stops containers with SIGTERM (or the image's STOPSIGNAL)",
        );
    }
    let mut groups = Vec::new();
    for g in &p.groups {
        match g {
            IdOrName::Id(id) => groups.push(json!(id)),
            IdOrName::Name(n) => warnings.unsupported(
                &format!("groups ({n})"),
                "process.groups",
                "Kubernetes takes supplementary groups as numbers",
            ),
        }
    }
    if !groups.is_empty() {
        spec.insert(
            "securityContext".into(),
            json!({"supplementalGroups": groups}),
        );
    }
}

fn namespaces(plan: &Plan, spec: &mut Map<String, Value>, warnings: &mut Warnings<'_>) {
    let has = |ns| plan.namespaces.contains(&ns);
    match &plan.network {
        Network::Host => {
            spec.insert("hostNetwork".into(), json!(true));
        }
        Network::None => warnings.approximate(
            "network",
            "network",
            "a Pod always gets the cluster network; deny its traffic with a NetworkPolicy",
        ),
        Network::Interfaces { interfaces } => {
            for (i, n) in interfaces.iter().enumerate() {
                warnings.unsupported(
                    &format!("net \"{}\"", n.name),
                    &format!("network.interfaces.{i}"),
                    "a Pod's interfaces come from the cluster's CNI plugin (Multus for more)",
                );
            }
        }
    }
    if !has(Namespace::Pid) {
        spec.insert("hostPID".into(), json!(true));
    }
    if !has(Namespace::Ipc) {
        spec.insert("hostIPC".into(), json!(true));
    }
    if !has(Namespace::Uts) && plan.network != Network::Host {
        warnings.unsupported(
            "namespaces (no uts)",
            "namespaces",
            "a Pod shares the host's UTS namespace only with `hostNetwork`",
        );
    }
    if let Some(hostname) = &plan.hostname {
        let label = dns_label(hostname);
        if &label != hostname {
            warnings.approximate(
                "hostname",
                "hostname",
                &format!("a Pod's hostname is an RFC 1123 label: `{label}`"),
            );
        }
        spec.insert("hostname".into(), json!(label));
    }
    if plan.domainname.is_some() {
        warnings.unsupported(
            "domainname",
            "domainname",
            "a Pod's domain comes from `subdomain` and the cluster DNS",
        );
    }
    if has(Namespace::User) {
        spec.insert("hostUsers".into(), json!(false));
        if !plan.idmap.uid.is_empty() || !plan.idmap.gid.is_empty() {
            warnings.approximate(
                "idmap",
                "idmap",
                "the kubelet picks the user namespace's ranges itself",
            );
        }
    }
    if !has(Namespace::Mount) {
        warnings.unsupported(
            "namespaces (no mount)",
            "namespaces",
            "a container always has its own mount namespace",
        );
    }
    if !has(Namespace::Cgroup) {
        warnings.unsupported(
            "namespaces (no cgroup)",
            "namespaces",
            "the container runtime decides the cgroup namespace (private on cgroup v2 hosts)",
        );
    }
    if has(Namespace::Time) {
        warnings.unsupported(
            "namespaces (time)",
            "namespaces",
            "a Pod has no time namespace",
        );
    }
}

fn security_context(plan: &Plan, warnings: &mut Warnings<'_>) -> Value {
    let caps = &plan.capabilities;
    let add: Vec<String> = caps
        .bounding
        .iter()
        .map(|c| c.strip_prefix("CAP_").unwrap_or(c).to_string())
        .collect();
    let mut sc = Map::new();
    sc.insert("privileged".into(), json!(false));
    sc.insert(
        "allowPrivilegeEscalation".into(),
        json!(!plan.security.no_new_privileges),
    );
    sc.insert(
        "readOnlyRootFilesystem".into(),
        json!(plan.security.rootfs_readonly),
    );
    let mut capabilities = Map::new();
    capabilities.insert("drop".into(), json!(["ALL"]));
    if !add.is_empty() {
        capabilities.insert("add".into(), json!(add));
    }
    sc.insert("capabilities".into(), Value::Object(capabilities));
    if !caps.ambient.is_empty() {
        warnings.unsupported(
            "capabilities.ambient",
            "capabilities.ambient",
            "Kubernetes sets no ambient capabilities: a non-root container keeps none across exec",
        );
    }
    match &plan.process.user.user {
        IdOrName::Id(uid) => {
            sc.insert("runAsUser".into(), json!(uid));
        }
        IdOrName::Name(name) => warnings.unsupported(
            &format!("user ({name})"),
            "process.user",
            "Kubernetes takes `runAsUser` as a number; the image's USER applies",
        ),
    }
    match &plan.process.user.group {
        Some(IdOrName::Id(gid)) => {
            sc.insert("runAsGroup".into(), json!(gid));
        }
        Some(IdOrName::Name(name)) => warnings.unsupported(
            &format!("user (group {name})"),
            "process.user",
            "Kubernetes takes `runAsGroup` as a number",
        ),
        None => {}
    }
    for path in &plan.security.masked_paths {
        if !RUNTIME_MASKED.contains(&path.as_str()) {
            warnings.unsupported(
                &format!("security.masked_paths ({path})"),
                "security.masked_paths",
                "a Pod gets the container runtime's masked paths only",
            );
        }
    }
    for path in &plan.security.readonly_paths {
        if !RUNTIME_READONLY.contains(&path.as_str()) {
            warnings.unsupported(
                &format!("security.readonly_paths ({path})"),
                "security.readonly_paths",
                "a Pod gets the container runtime's read-only paths only",
            );
        }
    }
    Value::Object(sc)
}

fn resources(plan: &Plan, warnings: &mut Warnings<'_>) -> Option<Value> {
    let l = &plan.limits;
    let mut limits = Map::new();
    if let Some(Limit::Value(bytes)) = l.memory_max {
        limits.insert("memory".into(), json!(quantity_bytes(bytes)));
    }
    if let Some(q) = l.cpu_quota {
        let scaled = q.quota_us as u128 * 1000;
        let period = q.period_us.max(1) as u128;
        let millis = scaled.div_ceil(period);
        if !scaled.is_multiple_of(period) || q.period_us != 100_000 {
            warnings.approximate(
                "limits.cpu.quota",
                "limits.cpu_quota",
                &format!(
                    "the kubelet sets a 100 ms period: {} µs per {} µs becomes {millis}m",
                    q.quota_us, q.period_us
                ),
            );
        }
        let text = if millis.is_multiple_of(1000) {
            (millis / 1000).to_string()
        } else {
            format!("{millis}m")
        };
        limits.insert("cpu".into(), json!(text));
    }
    let unsupported: [(&str, &str, bool, &str); 6] = [
        (
            "limits.memory.high",
            "limits.memory_high",
            l.memory_high.is_some(),
            "a Pod has no throttling memory limit",
        ),
        (
            "limits.memory.swap.max",
            "limits.memory_swap_max",
            // No swap is what the kubelet gives by default (`NoSwap`).
            l.memory_swap_max.is_some_and(|s| s != Limit::Value(0)),
            "swap is set per node (`memorySwap.swapBehavior`); a Pod gets none by default",
        ),
        (
            "limits.cpu.weight",
            "limits.cpu_weight",
            l.cpu_weight.is_some(),
            "the kubelet derives the CPU weight from `requests.cpu`",
        ),
        (
            "limits.cpuset.cpus",
            "limits.cpuset_cpus",
            l.cpuset_cpus.is_some() || l.cpuset_mems.is_some(),
            "CPU sets come from the kubelet's CPU manager",
        ),
        (
            "limits.io.weight",
            "limits.io_weight",
            l.io_weight.is_some(),
            "a Pod has no IO weight",
        ),
        (
            "limits.pids.max",
            "limits.pids_max",
            l.pids_max.is_some(),
            "the PID limit is per node (`podPidsLimit`)",
        ),
    ];
    for (setting, key, set, why) in unsupported {
        if set {
            warnings.unsupported(setting, key, why);
        }
    }
    (!limits.is_empty()).then(|| json!({"limits": Value::Object(limits)}))
}

fn volumes(
    plan: &Plan,
    spec: &mut Map<String, Value>,
    container: &mut Map<String, Value>,
    warnings: &mut Warnings<'_>,
) {
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    for (i, m) in plan.mounts.iter().enumerate() {
        let name = format!("mount-{i}");
        let ro = m.options.contains(&MountOption::Ro);
        let source = match m.kind {
            MountKind::Bind => {
                if m.options.iter().any(|o| {
                    matches!(
                        o,
                        MountOption::Nosuid | MountOption::Nodev | MountOption::Noexec
                    )
                }) {
                    warnings.approximate(
                        &format!("mount \"{}\"", m.destination),
                        &format!("mounts.{i}"),
                        "a `hostPath` volume takes no nosuid/nodev/noexec",
                    );
                }
                json!({"hostPath": {"path": m.source.clone().unwrap_or_default()}})
            }
            MountKind::Tmpfs => {
                let mut empty_dir = Map::new();
                empty_dir.insert("medium".into(), json!("Memory"));
                if let Some(size) = m.size {
                    empty_dir.insert("sizeLimit".into(), json!(quantity_bytes(size)));
                }
                json!({"emptyDir": Value::Object(empty_dir)})
            }
            MountKind::Proc | MountKind::Sysfs | MountKind::Devpts => {
                warnings.unsupported(
                    &format!("mount \"{}\"", m.destination),
                    &format!("mounts.{i}"),
                    "the container runtime mounts proc, sysfs and devpts itself",
                );
                continue;
            }
        };
        let mut volume = source.as_object().cloned().unwrap_or_default();
        volume.insert("name".into(), json!(name));
        volumes.push(Value::Object(volume));
        let mut mount = json!({"name": name, "mountPath": m.destination});
        if ro {
            mount["readOnly"] = json!(true);
        }
        mounts.push(mount);
    }
    for (i, path) in plan.volumes.iter().enumerate() {
        let name = format!("volume-{i}");
        volumes.push(json!({"name": name, "emptyDir": {}}));
        mounts.push(json!({"name": name, "mountPath": path}));
    }
    if !volumes.is_empty() {
        spec.insert("volumes".into(), Value::Array(volumes));
        container.insert("volumeMounts".into(), Value::Array(mounts));
    }
}
