//! systemd units as a profile: the execution, sandboxing and resource
//! settings of `[Service]` (or the resource settings of a `[Slice]`).
//!
//! The unit is read as systemd reads it: `[Section]` headers, `Key=Value`
//! lines, `#` and `;` comment lines, a `\` at the end of a line continues it
//! (comment lines inside are skipped), an empty assignment resets a list.
//! Specifiers (`%n`, `%i`, ...) are resolved where the unit file says what
//! they are; `ExecStart=` follows systemd's quoting and `$VAR` rules.

use std::path::Path;

use sbx_grammar::ast::{Span, Value};

use super::draft::{
    boolean, duration, entry, integer, octal, parse_binary_size, percent, size, string, strings,
    word, CapPolicy, Draft, CAPABILITY_COUNT,
};
use super::{lines_with_offsets, normalize_signal, shorten, Ctx};
use crate::suggest::did_you_mean;

/// One logical `Key=Value` line (continuations joined).
#[derive(Debug, Clone)]
struct Assignment {
    section: String,
    key: String,
    value: String,
    /// The key.
    key_span: Span,
    /// The whole logical line.
    span: Span,
    /// Offset of the value in the source.
    value_start: usize,
}

/// What the unit's file name says.
#[derive(Debug, Default)]
struct UnitName {
    /// `postgresql@14-main.service`.
    full: String,
    /// `postgresql`.
    prefix: String,
    /// `14-main`; `Some("")` for a template (`postgresql@.service`).
    instance: Option<String>,
    /// `service`, `slice`, ... (empty when the name has no unit suffix).
    suffix: String,
}

impl UnitName {
    fn from_path(name: &str) -> UnitName {
        let file = Path::new(name)
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default();
        let (stem, suffix) = match file.rsplit_once('.') {
            Some((s, x)) if UNIT_SUFFIXES.contains(&x) => (s.to_string(), x.to_string()),
            _ => (file.clone(), String::new()),
        };
        let (prefix, instance) = match stem.split_once('@') {
            Some((p, i)) => (p.to_string(), Some(i.to_string())),
            None => (stem.clone(), None),
        };
        UnitName {
            full: file,
            prefix,
            instance,
            suffix,
        }
    }

    fn is_template(&self) -> bool {
        self.instance.as_deref() == Some("")
    }
}

const UNIT_SUFFIXES: &[&str] = &[
    "service",
    "socket",
    "device",
    "mount",
    "automount",
    "swap",
    "target",
    "path",
    "timer",
    "slice",
    "scope",
];

/// `unit_name_unescape`: `-` is `/`, `\xNN` is a byte.
fn unescape_name(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'-' {
            out.push(b'/');
        } else if b[i] == b'\\' && i + 3 < b.len() && b[i + 1] == b'x' {
            if let Some(v) = s
                .get(i + 2..i + 4)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
            out.push(b[i]);
        } else {
            out.push(b[i]);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Keys of `[Service]` (and the exec/resource-control keys it shares) that
/// systemd knows, for did-you-mean; those translated are matched first.
const KNOWN_SERVICE_KEYS: &[&str] = &[
    "Type",
    "ExitType",
    "RemainAfterExit",
    "GuessMainPID",
    "PIDFile",
    "BusName",
    "ExecStart",
    "ExecStartPre",
    "ExecStartPost",
    "ExecCondition",
    "ExecReload",
    "ExecStop",
    "ExecStopPost",
    "RestartSec",
    "RestartSteps",
    "RestartMaxDelaySec",
    "TimeoutStartSec",
    "TimeoutStopSec",
    "TimeoutAbortSec",
    "TimeoutSec",
    "TimeoutStartFailureMode",
    "TimeoutStopFailureMode",
    "RuntimeMaxSec",
    "RuntimeRandomizedExtraSec",
    "WatchdogSec",
    "Restart",
    "RestartMode",
    "SuccessExitStatus",
    "RestartPreventExitStatus",
    "RestartForceExitStatus",
    "RootDirectoryStartOnly",
    "NonBlocking",
    "NotifyAccess",
    "Sockets",
    "FileDescriptorStoreMax",
    "FileDescriptorStorePreserve",
    "USBFunctionDescriptors",
    "USBFunctionStrings",
    "OOMPolicy",
    "OpenFile",
    "ReloadSignal",
    "PermissionsStartOnly",
    "StartLimitInterval",
    "StartLimitBurst",
    "StartLimitIntervalSec",
    // exec
    "WorkingDirectory",
    "RootDirectory",
    "RootImage",
    "RootImageOptions",
    "RootEphemeral",
    "RootHash",
    "RootHashSignature",
    "RootVerity",
    "MountAPIVFS",
    "ProtectProc",
    "ProcSubset",
    "BindPaths",
    "BindReadOnlyPaths",
    "MountImages",
    "ExtensionImages",
    "ExtensionDirectories",
    "User",
    "Group",
    "DynamicUser",
    "SupplementaryGroups",
    "SetLoginEnvironment",
    "PAMName",
    "CapabilityBoundingSet",
    "AmbientCapabilities",
    "NoNewPrivileges",
    "SecureBits",
    "SELinuxContext",
    "AppArmorProfile",
    "SmackProcessLabel",
    "LimitCPU",
    "LimitFSIZE",
    "LimitDATA",
    "LimitSTACK",
    "LimitCORE",
    "LimitRSS",
    "LimitNOFILE",
    "LimitAS",
    "LimitNPROC",
    "LimitMEMLOCK",
    "LimitLOCKS",
    "LimitSIGPENDING",
    "LimitMSGQUEUE",
    "LimitNICE",
    "LimitRTPRIO",
    "LimitRTTIME",
    "UMask",
    "CoredumpFilter",
    "KeyringMode",
    "OOMScoreAdjust",
    "TimerSlackNSec",
    "Personality",
    "IgnoreSIGPIPE",
    "Nice",
    "CPUSchedulingPolicy",
    "CPUSchedulingPriority",
    "CPUSchedulingResetOnFork",
    "CPUAffinity",
    "NUMAPolicy",
    "NUMAMask",
    "IOSchedulingClass",
    "IOSchedulingPriority",
    "ProtectSystem",
    "ProtectHome",
    "RuntimeDirectory",
    "StateDirectory",
    "CacheDirectory",
    "LogsDirectory",
    "ConfigurationDirectory",
    "RuntimeDirectoryMode",
    "StateDirectoryMode",
    "CacheDirectoryMode",
    "LogsDirectoryMode",
    "ConfigurationDirectoryMode",
    "RuntimeDirectoryPreserve",
    "TimeoutCleanSec",
    "ReadWritePaths",
    "ReadOnlyPaths",
    "InaccessiblePaths",
    "ExecPaths",
    "NoExecPaths",
    "ReadWriteDirectories",
    "ReadOnlyDirectories",
    "InaccessibleDirectories",
    "TemporaryFileSystem",
    "PrivateTmp",
    "PrivateDevices",
    "PrivateNetwork",
    "NetworkNamespacePath",
    "PrivateIPC",
    "IPCNamespacePath",
    "MemoryKSM",
    "PrivatePIDs",
    "PrivateUsers",
    "ProtectHostname",
    "ProtectClock",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectControlGroups",
    "RestrictAddressFamilies",
    "RestrictFileSystems",
    "RestrictNamespaces",
    "LockPersonality",
    "MemoryDenyWriteExecute",
    "RestrictRealtime",
    "RestrictSUIDSGID",
    "RemoveIPC",
    "PrivateMounts",
    "MountFlags",
    "SystemCallFilter",
    "SystemCallErrorNumber",
    "SystemCallArchitectures",
    "SystemCallLog",
    "Environment",
    "EnvironmentFile",
    "PassEnvironment",
    "UnsetEnvironment",
    "StandardInput",
    "StandardOutput",
    "StandardError",
    "StandardInputText",
    "StandardInputData",
    "LogLevelMax",
    "LogExtraFields",
    "LogRateLimitIntervalSec",
    "LogRateLimitBurst",
    "LogFilterPatterns",
    "LogNamespace",
    "SyslogIdentifier",
    "SyslogFacility",
    "SyslogLevel",
    "SyslogLevelPrefix",
    "TTYPath",
    "TTYReset",
    "TTYVHangup",
    "TTYRows",
    "TTYColumns",
    "TTYVTDisallocate",
    "LoadCredential",
    "LoadCredentialEncrypted",
    "ImportCredential",
    "SetCredential",
    "SetCredentialEncrypted",
    "UtmpIdentifier",
    "UtmpMode",
    // kill
    "KillMode",
    "KillSignal",
    "RestartKillSignal",
    "SendSIGHUP",
    "SendSIGKILL",
    "FinalKillSignal",
    "WatchdogSignal",
    // resource control
    "CPUAccounting",
    "CPUWeight",
    "StartupCPUWeight",
    "CPUQuota",
    "CPUQuotaPeriodSec",
    "AllowedCPUs",
    "StartupAllowedCPUs",
    "MemoryAccounting",
    "MemoryMin",
    "MemoryLow",
    "StartupMemoryLow",
    "DefaultStartupMemoryLow",
    "MemoryHigh",
    "StartupMemoryHigh",
    "MemoryMax",
    "StartupMemoryMax",
    "MemorySwapMax",
    "StartupMemorySwapMax",
    "MemoryZSwapMax",
    "StartupMemoryZSwapMax",
    "MemoryZSwapWriteback",
    "AllowedMemoryNodes",
    "StartupAllowedMemoryNodes",
    "TasksAccounting",
    "TasksMax",
    "IOAccounting",
    "IOWeight",
    "StartupIOWeight",
    "IODeviceWeight",
    "IOReadBandwidthMax",
    "IOWriteBandwidthMax",
    "IOReadIOPSMax",
    "IOWriteIOPSMax",
    "IODeviceLatencyTargetSec",
    "IPAccounting",
    "IPAddressAllow",
    "IPAddressDeny",
    "SocketBindAllow",
    "SocketBindDeny",
    "RestrictNetworkInterfaces",
    "NFTSet",
    "IPIngressFilterPath",
    "IPEgressFilterPath",
    "BPFProgram",
    "DeviceAllow",
    "DevicePolicy",
    "Slice",
    "Delegate",
    "DelegateSubgroup",
    "DisableControllers",
    "ManagedOOMSwap",
    "ManagedOOMMemoryPressure",
    "ManagedOOMMemoryPressureLimit",
    "ManagedOOMMemoryPressureDurationSec",
    "ManagedOOMPreference",
    "MemoryPressureWatch",
    "MemoryPressureThresholdSec",
    "CoredumpReceive",
    "CPUShares",
    "StartupCPUShares",
    "MemoryLimit",
    "BlockIOAccounting",
    "BlockIOWeight",
    "StartupBlockIOWeight",
    "BlockIODeviceWeight",
    "BlockIOReadBandwidth",
    "BlockIOWriteBandwidth",
];

/// Why a known key has no sbx equivalent (families of keys).
fn untranslated_reason(key: &str) -> &'static str {
    match key {
        "Type" | "ExitType" | "RemainAfterExit" | "GuessMainPID" | "PIDFile" | "BusName"
        | "NotifyAccess" | "Sockets" | "FileDescriptorStoreMax" | "FileDescriptorStorePreserve"
        | "OOMPolicy" | "PermissionsStartOnly" | "RootDirectoryStartOnly" | "NonBlocking"
        | "ReloadSignal" | "OpenFile" => "how systemd supervises the service has no sandbox equivalent",
        k if k.starts_with("Restart") || k.starts_with("Timeout") || k.starts_with("StartLimit")
            || k.starts_with("Runtime") && k.ends_with("Sec")
            || k == "WatchdogSec" || k == "SuccessExitStatus" => {
            "restart and timeout policy is the service manager's, not the sandbox's"
        }
        "ExecStartPre" | "ExecStartPost" | "ExecCondition" | "ExecReload" | "ExecStop"
        | "ExecStopPost" => "sbx runs one workload command; run this one separately",
        k if k.starts_with("Standard") || k.starts_with("Log") || k.starts_with("Syslog")
            || k.starts_with("TTY") || k.starts_with("Utmp") => {
            "sbx does not redirect output or logging; the workload's stdio is sbx's"
        }
        k if k.ends_with("Directory") || k.ends_with("DirectoryMode")
            || k == "RuntimeDirectoryPreserve" || k == "TimeoutCleanSec" => {
            "sbx does not create state, cache, log or runtime directories; bind-mount them with `mount`"
        }
        "SystemCallFilter" | "SystemCallErrorNumber" | "SystemCallArchitectures" | "SystemCallLog"
        | "RestrictAddressFamilies" | "RestrictNamespaces" | "LockPersonality"
        | "MemoryDenyWriteExecute" | "RestrictRealtime" | "RestrictSUIDSGID" | "RestrictFileSystems"
        | "Personality" => "sbx has no seccomp filter setting yet",
        "DeviceAllow" | "DevicePolicy" => "sbx has no device rules; it gives the sandbox a minimal /dev",
        k if k.starts_with("IPAddress") || k.starts_with("SocketBind") || k.starts_with("IPIngress")
            || k.starts_with("IPEgress") || k == "RestrictNetworkInterfaces" || k == "NFTSet"
            || k == "IPAccounting" => "sbx has no firewall setting",
        "Nice" | "CPUSchedulingPolicy" | "CPUSchedulingPriority" | "CPUSchedulingResetOnFork"
        | "IOSchedulingClass" | "IOSchedulingPriority" | "CPUAffinity" | "NUMAPolicy" | "NUMAMask"
        | "OOMScoreAdjust" | "TimerSlackNSec" | "CoredumpFilter" => {
            "sbx has no scheduling or OOM-score setting"
        }
        "Slice" | "Delegate" | "DelegateSubgroup" | "DisableControllers" => {
            "sbx creates its own cgroup; the slice and delegation are the service manager's"
        }
        k if k.ends_with("Accounting") => "sbx accounts every controller it limits",
        "KillMode" | "SendSIGHUP" | "SendSIGKILL" | "FinalKillSignal" | "RestartKillSignal"
        | "WatchdogSignal" => "sbx signals the sandbox's init with `stop_signal` only",
        "DynamicUser" => "sbx allocates no user; set `user` to an existing one",
        "PAMName" | "SetLoginEnvironment" | "KeyringMode" => "sbx opens no PAM or keyring session",
        k if k.starts_with("LoadCredential") || k.starts_with("SetCredential")
            || k == "ImportCredential" => "sbx has no credentials; bind-mount secrets with `mount`",
        "SecureBits" | "SELinuxContext" | "AppArmorProfile" | "SmackProcessLabel" => {
            "sbx has no securebits or LSM label setting"
        }
        "PrivateUsers" => "sbx maps users with `idmap`, which needs explicit ranges",
        "PrivateIPC" | "IPCNamespacePath" | "NetworkNamespacePath" | "PrivatePIDs" | "RemoveIPC"
        | "PrivateMounts" | "MountFlags" | "MountAPIVFS" => {
            "sbx gives every sandbox its own mount, IPC and PID namespaces"
        }
        "ProtectProc" | "ProcSubset" => "sbx has no hidepid setting for /proc",
        "RootImage" | "RootImageOptions" | "RootEphemeral" | "RootHash" | "RootHashSignature"
        | "RootVerity" | "MountImages" | "ExtensionImages" | "ExtensionDirectories" => {
            "sbx takes a root directory or an OCI image, not a disk image"
        }
        "PassEnvironment" | "UnsetEnvironment" => "sbx does not pass the host's environment",
        "ExecPaths" | "NoExecPaths" => "sbx has no per-path noexec setting; use a mount with `noexec`",
        "IgnoreSIGPIPE" => "sbx leaves SIGPIPE at its default",
        _ => "sbx has no equivalent setting",
    }
}

/// Settings found in `[Service]` or `[Slice]`, resolved after reading all
/// (an assignment later in the file may change the meaning of an earlier
/// one: `User=` for `%u`, `CPUWeight=` over `CPUShares=`).
#[derive(Default)]
struct Found {
    exec_start: Vec<Assignment>,
    user: Option<Assignment>,
    group: Option<Assignment>,
    environment: Vec<(String, String, Span)>,
    bounding: Option<(u64, Span)>,
    ambient: Option<(u64, Span)>,
    cpu_weight: Option<(Value, Span, String)>,
    cpu_shares: Option<(Value, Span, String)>,
    io_weight: Option<(Value, Span, String)>,
    blkio_weight: Option<(Value, Span, String)>,
    memory_max: Option<(Value, Span, String)>,
    memory_limit: Option<(Value, Span, String)>,
    protect_system: Option<(String, Span)>,
    /// `CPUQuota=`: the percentage as written and the CPU time per second.
    cpu_quota: Option<(String, u64, Assignment)>,
    cpu_quota_period: Option<(u64, Assignment)>,
    read_write: Vec<(String, Span)>,
    is_oneshot: bool,
}

pub(super) fn import(ctx: &mut Ctx, draft: &mut Draft, path: Option<&Path>, has_dockerfile: bool) {
    let unit = UnitName::from_path(
        path.map(|p| p.to_string_lossy().to_string())
            .as_deref()
            .unwrap_or(&ctx.name),
    );
    let Some(assignments) = parse(ctx) else {
        return;
    };

    let has_service = assignments.iter().any(|a| a.section == "Service");
    let sections: Vec<(String, Span)> = section_headers(ctx);
    let has_service_header = sections.iter().any(|(s, _)| s == "Service");
    let has_slice_header = sections.iter().any(|(s, _)| s == "Slice");
    let main = if has_service || has_service_header {
        "Service"
    } else if has_slice_header {
        "Slice"
    } else {
        let at = sections
            .iter()
            .find(|(s, _)| s != "Unit" && s != "Install")
            .or(sections.first())
            .map(|(_, sp)| *sp)
            .unwrap_or_else(|| ctx.span(0, ctx.text.len().min(1)));
        let kind = if unit.suffix.is_empty() {
            "this unit".to_string()
        } else {
            format!("a .{} unit", unit.suffix)
        };
        ctx.error(
            "sbx::convert::no-service",
            at,
            format!("`{}` has no `[Service]` section: {kind} runs no workload", ctx.name),
            "no [Service] in this unit",
            "convert the .service unit this one starts or belongs to; a .slice's resource settings convert too",
        );
        return;
    };

    if main == "Slice" {
        draft.header.push(format!(
            "{}: a slice: only its resource settings; every service in the slice shares these limits",
            ctx.name
        ));
    }
    // The unit's name is a sandbox name only when the input has a file
    // name; `@` and other characters sbx does not take become `-`.
    if path.is_some() && !unit.prefix.is_empty() {
        let raw = match unit.instance.as_deref() {
            Some(i) if !i.is_empty() => {
                format!("{}-{}", unit.prefix, unescape_name(i).trim_matches('/'))
            }
            _ => unit.prefix.clone(),
        };
        let name: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .take(64)
            .collect();
        let name = name.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
        if !name.is_empty() {
            let mut e = entry(string(name), Span::synthetic(), ctx.input);
            e.notes.push(format!("unit {}", unit.full));
            draft.top.set("name", e, &mut draft.merge);
        }
    }
    if main == "Service" {
        // systemd's defaults where sbx's would break a service (LANGUAGE.md
        // defaults: no network, read-only host root).
        if draft.top.get("network").is_none() {
            let mut e = entry(word("host"), Span::synthetic(), ctx.input);
            e.notes.push(
                "systemd services share the host's network unless PrivateNetwork=yes".to_string(),
            );
            e.weak = true;
            draft.top.set("network", e, &mut draft.merge);
        }
        draft.header.push(
            "a systemd service sees the host's processes, /dev and every capability, and may write the host's /, \
             unless its unit restricts them; sbx keeps its own defaults there (own PID/IPC/UTS namespaces, \
             minimal /dev, default capability set, the host's / read-only: writable paths need `mount` blocks)"
                .to_string(),
        );
    }

    let mut found = Found::default();
    // First the settings others depend on.
    for a in assignments.iter().filter(|a| a.section == main) {
        match a.key.as_str() {
            "User" => found.user = (!a.value.is_empty()).then(|| a.clone()),
            "Group" => found.group = (!a.value.is_empty()).then(|| a.clone()),
            "Type" => found.is_oneshot = a.value == "oneshot",
            _ => {}
        }
    }
    let spec = Specifiers {
        unit: &unit,
        user: found.user.as_ref().map(|a| a.value.clone()),
        group: found.group.as_ref().map(|a| a.value.clone()),
    };

    for a in &assignments {
        match a.section.as_str() {
            "Unit" => match a.key.as_str() {
                "Description" | "Documentation" => {
                    draft.header.push(format!("{}: {}", a.key, a.value));
                }
                _ => untranslated(
                    ctx,
                    a,
                    "dependencies, ordering and conditions are the service manager's, not the sandbox's",
                ),
            },
            "Install" => untranslated(ctx, a, "enabling a unit is the service manager's job"),
            s if s == main => service_key(ctx, draft, &mut found, &spec, a, main),
            _ => untranslated(ctx, a, "this section is not translated"),
        }
    }

    finish(ctx, draft, found, &spec, has_dockerfile, main);
}

/// Every `[Section]` header with its span.
fn section_headers(ctx: &Ctx) -> Vec<(String, Span)> {
    lines_with_offsets(ctx.text)
        .into_iter()
        .filter_map(|(start, line)| {
            let t = line.trim();
            let name = t.strip_prefix('[')?.strip_suffix(']')?;
            let lead = line.len() - line.trim_start().len();
            Some((
                name.to_string(),
                ctx.span(start + lead, start + lead + t.len()),
            ))
        })
        .collect()
}

/// The logical `Key=Value` lines, with their sections. `None` when the text
/// is not a unit file at all.
fn parse(ctx: &mut Ctx) -> Option<Vec<Assignment>> {
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    let lines = lines_with_offsets(ctx.text);
    let mut i = 0;
    let mut meaningful = 0;
    while i < lines.len() {
        let (start, raw) = lines[i];
        i += 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        meaningful += 1;
        let lead = raw.len() - raw.trim_start().len();
        if t.starts_with('[') {
            match t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                Some(name) if !name.is_empty() => section = Some(name.to_string()),
                _ => {
                    ctx.error(
                        "sbx::convert::systemd-syntax",
                        ctx.span(start + lead, start + raw.len()),
                        format!("`{}` is not a section header", shorten(t, 60)),
                        "unterminated section header",
                        "a section header is `[Name]` on a line of its own",
                    );
                    return None;
                }
            }
            continue;
        }
        // Join continuation lines: a trailing `\` becomes a space.
        let mut text = String::new();
        let mut end = start + raw.len();
        let mut current = raw.trim_end();
        loop {
            match current.strip_suffix('\\') {
                Some(body) => {
                    text.push_str(body);
                    text.push(' ');
                    // Comment lines inside a continuation are skipped.
                    let mut next = None;
                    while i < lines.len() {
                        let (s, l) = lines[i];
                        i += 1;
                        let lt = l.trim_start();
                        if lt.starts_with('#') || lt.starts_with(';') {
                            continue;
                        }
                        next = Some((s, l));
                        break;
                    }
                    match next {
                        Some((s, l)) => {
                            end = s + l.len();
                            current = l.trim_end();
                        }
                        None => break,
                    }
                }
                None => {
                    text.push_str(current);
                    break;
                }
            }
        }
        let span = ctx.span(start + lead, end);
        let joined = text.trim_start();
        let Some(eq) = joined.find('=') else {
            ctx.warn(
                "sbx::convert::systemd-syntax",
                span,
                format!("`{}` has no `=`", shorten(joined, 60)),
                "no `=`",
                "systemd ignores this line too; settings are `Key=Value`",
            );
            ctx.footer.push(format!(
                "ignored ({}): {} -- no `=`",
                ctx.place(span),
                shorten(joined, 100)
            ));
            continue;
        };
        let key = joined[..eq].trim().to_string();
        let value = joined[eq + 1..].trim().to_string();
        let Some(section) = section.clone() else {
            ctx.warn(
                "sbx::convert::systemd-syntax",
                span,
                format!("`{key}=` is outside any section"),
                "before the first [Section]",
                "systemd ignores assignments before the first section header",
            );
            ctx.footer.push(format!(
                "ignored ({}): {key}= -- before the first section",
                ctx.place(span)
            ));
            continue;
        };
        let key_start = start + lead;
        let value_start = (start + lead + eq + 1).min(end);
        out.push(Assignment {
            section,
            key_span: ctx.span(key_start, key_start + key.len()),
            key,
            value,
            span,
            value_start,
        });
    }
    if meaningful == 0 {
        ctx.error(
            "sbx::convert::no-service",
            ctx.span(0, ctx.text.len().min(1)),
            format!("`{}` is empty: no `[Service]` section", ctx.name),
            "nothing here",
            "give the unit file itself",
        );
        return None;
    }
    Some(out)
}

fn untranslated(ctx: &mut Ctx, a: &Assignment, reason: &str) {
    ctx.footer.push(format!(
        "not translated ({}): {}={} -- {reason}",
        ctx.place(a.span),
        a.key,
        shorten(&a.value, 80)
    ));
    ctx.warn(
        "sbx::convert::untranslated",
        a.span,
        format!("`{}=` is not translated", a.key),
        "not translated",
        format!("{reason}; the line is kept as a comment at the end of the profile"),
    );
}

/// What the unit file says the specifiers are.
struct Specifiers<'a> {
    unit: &'a UnitName,
    user: Option<String>,
    group: Option<String>,
}

impl Specifiers<'_> {
    fn resolve(&self, c: char) -> Option<String> {
        let u = self.unit;
        let instance = u.instance.clone().filter(|i| !i.is_empty());
        let user_is_root = matches!(self.user.as_deref(), None | Some("root") | Some("0"));
        Some(match c {
            '%' => "%".to_string(),
            'n' if !u.full.is_empty() && !u.is_template() => u.full.clone(),
            'N' if !u.full.is_empty() && !u.is_template() => match u.full.rsplit_once('.') {
                Some((s, _)) if !u.suffix.is_empty() => s.to_string(),
                _ => u.full.clone(),
            },
            'p' if !u.prefix.is_empty() => u.prefix.clone(),
            'P' if !u.prefix.is_empty() => unescape_name(&u.prefix),
            // A unit that is not a template has an empty instance.
            'i' if u.instance.is_none() => String::new(),
            'I' if u.instance.is_none() => String::new(),
            'i' => instance?,
            'I' => unescape_name(&instance?),
            'j' if !u.prefix.is_empty() => u.prefix.rsplit('-').next().unwrap_or("").to_string(),
            'J' if !u.prefix.is_empty() => unescape_name(u.prefix.rsplit('-').next().unwrap_or("")),
            'f' => match &instance {
                Some(i) => format!("/{}", unescape_name(i)),
                None if !u.prefix.is_empty() => format!("/{}", unescape_name(&u.prefix)),
                None => return None,
            },
            't' => "/run".into(),
            'S' => "/var/lib".into(),
            'C' => "/var/cache".into(),
            'L' => "/var/log".into(),
            'E' => "/etc".into(),
            'T' => "/tmp".into(),
            'V' => "/var/tmp".into(),
            'd' if !u.full.is_empty() && !u.is_template() => format!("/run/credentials/{}", u.full),
            'u' => self.user.clone().unwrap_or_else(|| "root".into()),
            'U' => match self.user.as_deref() {
                None | Some("root") => "0".into(),
                Some(n) if n.parse::<u32>().is_ok() => n.to_string(),
                _ => return None,
            },
            'g' => self
                .group
                .clone()
                .or_else(|| user_is_root.then(|| "root".into()))?,
            'G' => match self.group.as_deref() {
                Some(n) if n.parse::<u32>().is_ok() => n.to_string(),
                Some("root") => "0".into(),
                None if user_is_root => "0".into(),
                _ => return None,
            },
            'h' if user_is_root => "/root".into(),
            's' if user_is_root => "/bin/sh".into(),
            _ => return None,
        })
    }

    /// Resolves the specifiers of `text`; those that cannot be are kept as
    /// written, with a warning.
    fn expand(&self, ctx: &mut Ctx, text: &str, value_start: usize) -> String {
        let mut out = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let Some(&(_, s)) = chars.peek() else {
                out.push('%');
                continue;
            };
            chars.next();
            match self.resolve(s) {
                Some(v) => out.push_str(&v),
                None => {
                    out.push('%');
                    out.push(s);
                    let span = ctx.span(value_start + i, value_start + i + 1 + s.len_utf8());
                    let why = match s {
                        'i' | 'I' | 'n' | 'N' | 'f' | 'd' if self.unit.is_template() => {
                            "the unit is a template and the file name gives no instance (convert `name@INSTANCE.service`)"
                        }
                        'U' | 'G' | 'h' | 's' | 'g' => "it depends on the user database of the host that runs the unit",
                        'H' | 'l' | 'q' | 'b' | 'm' | 'v' | 'a' | 'A' | 'B' | 'M' | 'o' | 'w' | 'W' => {
                            "it depends on the host that runs the unit"
                        }
                        _ => "sbx does not know its value",
                    };
                    ctx.warn(
                        "sbx::convert::specifier",
                        span,
                        format!("specifier `%{s}` cannot be resolved"),
                        "kept as written",
                        format!("{why}; replace it in the profile"),
                    );
                    ctx.footer.push(format!(
                        "unresolved specifier ({}): %{s} -- {why}",
                        ctx.place(span)
                    ));
                }
            }
        }
        out
    }
}

/// One C escape after a backslash (`\n`, `\x41`, `\101`, `\u00e9`); the
/// number of bytes consumed, or `None` if it is not one.
fn c_unescape(rest: &str) -> Option<(String, usize)> {
    let mut it = rest.chars();
    let c = it.next()?;
    let simple = match c {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        '\\' => Some('\\'),
        '"' => Some('"'),
        '\'' => Some('\''),
        's' => Some(' '),
        _ => None,
    };
    if let Some(s) = simple {
        return Some((s.to_string(), 1));
    }
    let hex = |n: usize, skip: usize| -> Option<(String, usize)> {
        let digits = rest.get(skip..skip + n)?;
        let v = u32::from_str_radix(digits, 16).ok()?;
        Some((char::from_u32(v)?.to_string(), skip + n))
    };
    match c {
        'x' => hex(2, 1),
        'u' => hex(4, 1),
        'U' => hex(8, 1),
        '0'..='7' => {
            let digits = rest.get(..3)?;
            let v = u32::from_str_radix(digits, 8).ok()?;
            Some((char::from_u32(v)?.to_string(), 3))
        }
        _ => None,
    }
}

/// Splits a value into words as systemd's `extract_first_word` does with
/// unquoting and C unescaping: whitespace separates, `"..."` and `'...'`
/// may appear anywhere in a word. Returns the words and whether a quote was
/// left open.
fn split_words(text: &str) -> (Vec<String>, bool) {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < text.len() {
        let c = text[i..].chars().next().expect("in bounds");
        let len = c.len_utf8();
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (_, '\\') => {
                in_word = true;
                match c_unescape(&text[i + 1..]) {
                    Some((s, used)) => {
                        current.push_str(&s);
                        i += 1 + used;
                        continue;
                    }
                    None => {
                        // Relaxed: an unknown escape stays as written.
                        current.push('\\');
                    }
                }
            }
            (_, c) => {
                in_word = true;
                current.push(c);
            }
        }
        i += len;
    }
    if in_word {
        words.push(current);
    }
    (words, quote.is_some())
}

/// Quotes a word for `/bin/sh`.
pub(crate) fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./=:,+@%-".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// A capability list as systemd reads it: `~` inverts, an empty value
/// resets, the first assignment replaces the initial set, later ones add
/// (or, inverted, remove) (`config_parse_capability_set`).
fn capability_assignment(
    ctx: &mut Ctx,
    a: &Assignment,
    current: &mut Option<(u64, Span)>,
    initial: u64,
) {
    let all = (1u64 << CAPABILITY_COUNT) - 1;
    let (invert, rest) = match a.value.strip_prefix('~') {
        Some(r) => (true, r),
        None => (false, a.value.as_str()),
    };
    let mut sum = 0u64;
    for name in rest.split_whitespace() {
        match crate::capability::number(name) {
            Some(bit) => sum |= 1 << bit,
            None => {
                let help = match crate::capability::suggestion(name) {
                    Some(s) => format!("did you mean `{s}`? it is left out"),
                    None => "it is left out".to_string(),
                };
                ctx.lossy(a.span, format!("unknown capability `{name}`"), help);
            }
        }
    }
    let set = current.map(|(s, _)| s).unwrap_or(initial);
    let new = if sum == 0 || set == initial {
        if invert {
            !sum & all
        } else {
            sum
        }
    } else if invert {
        set & !sum
    } else {
        set | sum
    };
    *current = Some((new, a.span));
}

fn mask_names(mask: u64) -> Vec<String> {
    (0..CAPABILITY_COUNT)
        .filter(|i| mask & (1 << i) != 0)
        .map(super::draft::capability_by_number)
        .collect()
}

/// A path list (`ReadOnlyPaths=`): words, `-` (ignore if missing) and `+`
/// (relative to the root directory) prefixes noted.
fn path_list(ctx: &mut Ctx, spec: &Specifiers, a: &Assignment) -> Vec<(String, Option<String>)> {
    let expanded = spec.expand(ctx, &a.value, a.value_start);
    let (words, _) = split_words(&expanded);
    let mut out = Vec::new();
    for w in words {
        let mut note = None;
        let mut p = w.as_str();
        loop {
            if let Some(r) = p.strip_prefix('-') {
                note = Some(format!(
                    "{w}: `-` ignores a missing path in systemd; sbx needs it to exist"
                ));
                p = r;
            } else if let Some(r) = p.strip_prefix('+') {
                p = r;
            } else {
                break;
            }
        }
        if !p.starts_with('/') {
            ctx.lossy(
                a.span,
                format!("`{p}` in `{}=` is not an absolute path", a.key),
                "it is left out",
            );
            continue;
        }
        out.push((clean(p), note));
    }
    out
}

fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// A size with systemd's base-1024 suffixes, `infinity`, or a percentage.
enum SizeSetting {
    Bytes(u64),
    Infinity,
    Percent,
}

fn parse_size_setting(v: &str) -> Option<SizeSetting> {
    if v == "infinity" {
        return Some(SizeSetting::Infinity);
    }
    if let Some(p) = v.strip_suffix('%') {
        return p.parse::<f64>().ok().map(|_| SizeSetting::Percent);
    }
    parse_binary_size(v).map(SizeSetting::Bytes)
}

/// A systemd time span (`5min`, `1h 30s`, `100ms`) in microseconds;
/// `default_unit` applies to a bare number.
fn parse_timespan(v: &str, default_unit: u64) -> Option<u64> {
    let v = v.trim();
    if let Ok(n) = v.parse::<u64>() {
        return n.checked_mul(default_unit);
    }
    let mut total: u64 = 0;
    let mut rest = v;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let num_end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_end);
        if num.is_empty() {
            return None;
        }
        let tail = tail.trim_start();
        let unit_end = tail
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(tail.len());
        let (unit, after) = tail.split_at(unit_end);
        let mult: u64 = match unit {
            "us" | "usec" | "µs" => 1,
            "ms" | "msec" => 1_000,
            "" | "s" | "sec" | "second" | "seconds" => 1_000_000,
            "m" | "min" | "minute" | "minutes" => 60_000_000,
            "h" | "hr" | "hour" | "hours" => 3_600_000_000,
            "d" | "day" | "days" => 86_400_000_000,
            "w" | "week" | "weeks" => 604_800_000_000,
            _ => return None,
        };
        let part = sbx_grammar::ast::DecimalLit {
            text: num.to_string(),
        }
        .scaled_floor(mult, 1)?;
        total = total.checked_add(part)?;
        rest = after;
    }
    Some(total)
}

fn set_top(
    ctx: &Ctx,
    draft: &mut Draft,
    key: &str,
    value: Value,
    span: Span,
    note: Option<String>,
) {
    let mut e = entry(value, span, ctx.input);
    e.notes.extend(note);
    draft.top.set(key, e, &mut draft.merge);
}

fn set_in(
    fields: &mut super::draft::Fields,
    merge: &mut super::draft::MergeLog,
    ctx: &Ctx,
    key: &str,
    value: Value,
    span: Span,
    note: Option<String>,
) {
    let mut e = entry(value, span, ctx.input);
    e.notes.extend(note);
    fields.set(key, e, merge);
}

fn service_key(
    ctx: &mut Ctx,
    draft: &mut Draft,
    found: &mut Found,
    spec: &Specifiers,
    a: &Assignment,
    main: &str,
) {
    let v = a.value.as_str();
    let key = a.key.as_str();
    let is_resource = matches!(
        key,
        "MemoryMax"
            | "MemoryLimit"
            | "MemoryHigh"
            | "MemorySwapMax"
            | "CPUWeight"
            | "CPUShares"
            | "CPUQuota"
            | "CPUQuotaPeriodSec"
            | "IOWeight"
            | "BlockIOWeight"
            | "TasksMax"
            | "AllowedCPUs"
            | "AllowedMemoryNodes"
    );
    if main == "Slice" && !is_resource {
        if KNOWN_SERVICE_KEYS.contains(&key) {
            untranslated(ctx, a, untranslated_reason(key));
        } else {
            unknown_key(ctx, a);
        }
        return;
    }
    let bad_value =
        |ctx: &mut Ctx, what: &str| untranslated(ctx, a, &format!("the value is not {what}"));
    match key {
        "ExecStart" => {
            if v.is_empty() {
                found.exec_start.clear();
            } else {
                found.exec_start.push(a.clone());
            }
        }
        "User" | "Group" | "Type" => {
            if key == "Type" && v == "forking" {
                untranslated(
                    ctx,
                    a,
                    "the program forks into the background, and a sandbox ends when its main process exits; run the program in the foreground",
                );
            } else if key == "Type" && !matches!(v, "simple" | "exec" | "oneshot" | "") {
                untranslated(ctx, a, untranslated_reason(key));
            }
        }
        "WorkingDirectory" => {
            let expanded = spec.expand(ctx, v, a.value_start);
            let (dir, missing_ok) = match expanded.strip_prefix('-') {
                Some(d) => (d.to_string(), true),
                None => (expanded.clone(), false),
            };
            if dir == "~" && spec.resolve('h').is_none() {
                untranslated(
                    ctx,
                    a,
                    "`~` is the home directory of the unit's user, which depends on the host",
                );
                return;
            }
            let dir = if dir == "~" {
                spec.resolve('h').unwrap_or(dir)
            } else {
                dir
            };
            if dir.is_empty() {
                draft.top.remove("workdir");
            } else if dir.starts_with('/') {
                let note = missing_ok
                    .then(|| "`-`: systemd ignores a missing directory; sbx needs it".to_string());
                set_top(ctx, draft, "workdir", string(&clean(&dir)), a.span, note);
            } else {
                untranslated(ctx, a, "the directory is not an absolute path");
            }
        }
        "Environment" => {
            if v.is_empty() {
                draft.env.items.retain(|(_, e)| e.input != ctx.input);
                found.environment.clear();
                return;
            }
            let expanded = spec.expand(ctx, v, a.value_start);
            let (words, _) = split_words(&expanded);
            for w in words {
                match w.split_once('=') {
                    Some((k, val))
                        if !k.is_empty()
                            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                    {
                        set_in(
                            &mut draft.env,
                            &mut draft.merge,
                            ctx,
                            k,
                            string(val),
                            a.span,
                            None,
                        );
                        found.environment.retain(|(n, _, _)| n != k);
                        found
                            .environment
                            .push((k.to_string(), val.to_string(), a.span));
                    }
                    _ => ctx.lossy(
                        a.span,
                        format!("`{}` is not a `NAME=value` assignment", shorten(&w, 40)),
                        "systemd ignores it too",
                    ),
                }
            }
        }
        "RootDirectory" => {
            let dir = spec.expand(ctx, v, a.value_start);
            if dir.is_empty() {
                draft.top.remove("from");
            } else if dir.starts_with('/') {
                set_top(ctx, draft, "from", string(&clean(&dir)), a.span, None);
            } else {
                untranslated(ctx, a, "the directory is not an absolute path");
            }
        }
        "EnvironmentFile" => untranslated(
            ctx,
            a,
            "sbx does not read environment files; copy the variables into `env`",
        ),
        "SupplementaryGroups" => {
            if v.is_empty() {
                draft.top.remove("groups");
                return;
            }
            let expanded = spec.expand(ctx, v, a.value_start);
            for g in expanded.split_whitespace() {
                match super::draft::user_value(g, None) {
                    Some(value) => draft.top.append("groups", value, a.span, ctx.input),
                    None => ctx.lossy(
                        a.span,
                        format!("group `{g}` is not a name or id sbx takes"),
                        "it is left out",
                    ),
                }
            }
        }
        "UMask" => match u64::from_str_radix(v, 8) {
            Ok(m) if m <= 0o777 => set_top(ctx, draft, "umask", octal(m), a.span, None),
            _ => bad_value(ctx, "an octal mask"),
        },
        "KillSignal" => match normalize_signal(v) {
            Some(s) => set_top(ctx, draft, "stop_signal", word(&s), a.span, None),
            None => bad_value(ctx, "a signal sbx can name"),
        },
        "NoNewPrivileges" => match parse_bool(v) {
            Some(b) => set_in(
                &mut draft.security,
                &mut draft.merge,
                ctx,
                "no_new_privileges",
                boolean(b),
                a.span,
                None,
            ),
            None => bad_value(ctx, "a boolean"),
        },
        "PrivateNetwork" => match parse_bool(v) {
            Some(b) => set_top(
                ctx,
                draft,
                "network",
                word(if b { "none" } else { "host" }),
                a.span,
                Some(format!("PrivateNetwork={v}")),
            ),
            None => bad_value(ctx, "a boolean"),
        },
        "PrivateTmp" => match parse_bool(v).or((v == "disconnected").then_some(true)) {
            Some(true) => {
                for p in ["/tmp", "/var/tmp"] {
                    let b = Draft::block(&mut draft.mounts, p);
                    b.notes = vec![format!("PrivateTmp={v}: a private, empty {p}")];
                    b.fields.set(
                        "type",
                        entry(word("tmpfs"), a.span, ctx.input),
                        &mut draft.merge,
                    );
                }
            }
            Some(false) => {}
            None => bad_value(ctx, "a boolean"),
        },
        "PrivateDevices" => match parse_bool(v) {
            Some(_) => {
                draft.header.push(format!(
                    "PrivateDevices={v}: sbx always gives the sandbox a minimal /dev"
                ));
            }
            None => bad_value(ctx, "a boolean"),
        },
        "ProtectSystem" => {
            let level = match parse_bool(v) {
                Some(true) => "yes",
                Some(false) => "no",
                None => v,
            };
            if matches!(level, "yes" | "no" | "full" | "strict") {
                found.protect_system = Some((level.to_string(), a.span));
            } else {
                bad_value(ctx, "yes, no, full or strict");
            }
        }
        "ProtectHome" => {
            let level = match parse_bool(v) {
                Some(true) => "yes",
                Some(false) => "no",
                None => v,
            };
            let homes = ["/home", "/root", "/run/user"];
            match level {
                "no" => {}
                "yes" | "read-only" => {
                    let key = if level == "yes" {
                        "masked_paths"
                    } else {
                        "readonly_paths"
                    };
                    for h in homes {
                        draft.security.append(key, string(h), a.span, ctx.input);
                    }
                    draft.security.note(key, format!("ProtectHome={v}"));
                }
                "tmpfs" => {
                    for h in homes {
                        let b = Draft::block(&mut draft.mounts, h);
                        b.notes = vec!["ProtectHome=tmpfs: an empty read-only tmpfs".to_string()];
                        b.fields.set(
                            "type",
                            entry(word("tmpfs"), a.span, ctx.input),
                            &mut draft.merge,
                        );
                        b.fields.set(
                            "options",
                            entry(super::draft::list(vec![word("ro")]), a.span, ctx.input),
                            &mut draft.merge,
                        );
                    }
                }
                _ => bad_value(ctx, "yes, no, read-only or tmpfs"),
            }
        }
        "ReadOnlyPaths"
        | "ReadOnlyDirectories"
        | "InaccessiblePaths"
        | "InaccessibleDirectories" => {
            let target = if key.starts_with("ReadOnly") {
                "readonly_paths"
            } else {
                "masked_paths"
            };
            if v.is_empty() {
                draft.security.clear(target);
                return;
            }
            for (p, note) in path_list(ctx, spec, a) {
                draft.security.append(target, string(&p), a.span, ctx.input);
                if let Some(n) = note {
                    draft.security.note(target, n);
                }
            }
        }
        "ReadWritePaths" | "ReadWriteDirectories" => {
            if v.is_empty() {
                found.read_write.clear();
                return;
            }
            for (p, _) in path_list(ctx, spec, a) {
                found.read_write.push((p, a.span));
            }
        }
        "BindPaths" | "BindReadOnlyPaths" => {
            if v.is_empty() {
                return;
            }
            let expanded = spec.expand(ctx, v, a.value_start);
            let (words, _) = split_words(&expanded);
            for w in words {
                let (w, optional) = match w.strip_prefix('-') {
                    Some(r) => (r.to_string(), true),
                    None => (w, false),
                };
                let mut parts = w.splitn(3, ':');
                let src = parts.next().unwrap_or("").to_string();
                let dst = parts
                    .next()
                    .filter(|d| !d.is_empty())
                    .unwrap_or(&src)
                    .to_string();
                let opts = parts.next().unwrap_or("rbind");
                if !src.starts_with('/') || !dst.starts_with('/') {
                    ctx.lossy(
                        a.span,
                        format!("`{w}` in `{key}=` is not an absolute path"),
                        "it is left out",
                    );
                    continue;
                }
                let dst = clean(&dst);
                let mut options = Vec::new();
                if opts != "norbind" {
                    options.push(word("rbind"));
                }
                if key == "BindReadOnlyPaths" {
                    options.push(word("ro"));
                }
                let b = Draft::block(&mut draft.mounts, &dst);
                b.notes = vec![format!("{key}={}", shorten(&w, 80))];
                if optional {
                    b.notes
                        .push("`-`: systemd skips a missing source; sbx needs it".to_string());
                }
                b.fields.set(
                    "type",
                    entry(word("bind"), a.span, ctx.input),
                    &mut draft.merge,
                );
                b.fields.set(
                    "source",
                    entry(string(&clean(&src)), a.span, ctx.input),
                    &mut draft.merge,
                );
                b.fields.set(
                    "options",
                    entry(super::draft::list(options), a.span, ctx.input),
                    &mut draft.merge,
                );
            }
        }
        "TemporaryFileSystem" => {
            let expanded = spec.expand(ctx, v, a.value_start);
            let (words, _) = split_words(&expanded);
            for w in words {
                let (path, opts) = w.split_once(':').unwrap_or((&w, ""));
                if !path.starts_with('/') {
                    ctx.lossy(
                        a.span,
                        format!("`{path}` is not an absolute path"),
                        "it is left out",
                    );
                    continue;
                }
                let mut options = Vec::new();
                let mut dropped = Vec::new();
                let mut tmpfs_size = None;
                for o in opts.split(',').filter(|o| !o.is_empty()) {
                    match o {
                        "ro" | "nosuid" | "nodev" | "noexec" => options.push(word(o)),
                        "rw" => {}
                        other => match other.strip_prefix("size=").and_then(parse_binary_size) {
                            Some(b) if b > 0 => tmpfs_size = Some(b),
                            _ => dropped.push(other.to_string()),
                        },
                    }
                }
                let b = Draft::block(&mut draft.mounts, &clean(path));
                b.notes = vec![format!("TemporaryFileSystem={w}")];
                if !dropped.is_empty() {
                    b.notes
                        .push(format!("options not translated: {}", dropped.join(",")));
                    ctx.lossy(
                        a.span,
                        format!("tmpfs options `{}` are not translated", dropped.join(",")),
                        "sbx mount options are ro, nosuid, nodev and noexec",
                    );
                }
                b.fields.set(
                    "type",
                    entry(word("tmpfs"), a.span, ctx.input),
                    &mut draft.merge,
                );
                if !options.is_empty() {
                    b.fields.set(
                        "options",
                        entry(super::draft::list(options), a.span, ctx.input),
                        &mut draft.merge,
                    );
                }
                if let Some(bytes) = tmpfs_size {
                    b.fields.set(
                        "size",
                        entry(size(bytes), a.span, ctx.input),
                        &mut draft.merge,
                    );
                }
            }
        }
        "ProtectKernelTunables" | "ProtectControlGroups" => match parse_bool(v) {
            Some(true) => {
                let paths: &[&str] = if key == "ProtectKernelTunables" {
                    &["/proc/sys", "/proc/sysrq-trigger", "/sys"]
                } else {
                    &["/sys/fs/cgroup"]
                };
                for p in paths {
                    draft
                        .security
                        .append("readonly_paths", string(p), a.span, ctx.input);
                }
                draft.security.note("readonly_paths", format!("{key}=yes"));
            }
            Some(false) => {}
            None => bad_value(ctx, "a boolean"),
        },
        "ProtectKernelModules" | "ProtectClock" | "ProtectKernelLogs" | "ProtectHostname" => {
            match parse_bool(v) {
                Some(true) => {
                    let why = match key {
                        "ProtectHostname" => "sbx gives the sandbox its own UTS namespace",
                        "ProtectKernelModules" => "sbx's default capability set has no sys_module",
                        "ProtectClock" => "sbx's default capability set has no sys_time",
                        _ => "sbx's default capability set has no syslog",
                    };
                    draft.header.push(format!("{key}=yes: {why}"));
                }
                Some(false) => {}
                None => bad_value(ctx, "a boolean"),
            }
        }
        "CapabilityBoundingSet" => {
            let all = (1u64 << CAPABILITY_COUNT) - 1;
            capability_assignment(ctx, a, &mut found.bounding, all);
        }
        "AmbientCapabilities" => capability_assignment(ctx, a, &mut found.ambient, 0),
        k if k.starts_with("Limit") => rlimit(ctx, draft, a),
        "MemoryMax" | "MemoryLimit" | "MemoryHigh" | "MemorySwapMax" => {
            let target = match key {
                "MemoryHigh" => "memory.high",
                "MemorySwapMax" => "memory.swap.max",
                _ => "memory.max",
            };
            if v.is_empty() {
                draft.limits.remove(target);
                return;
            }
            let value = match parse_size_setting(v) {
                Some(SizeSetting::Bytes(b)) => size(b),
                Some(SizeSetting::Infinity) => word("max"),
                Some(SizeSetting::Percent) => {
                    untranslated(
                        ctx,
                        a,
                        "a share of the host's RAM depends on the host; write a size",
                    );
                    return;
                }
                None => {
                    bad_value(ctx, "a size");
                    return;
                }
            };
            let slot = match key {
                "MemoryMax" => Some(&mut found.memory_max),
                "MemoryLimit" => Some(&mut found.memory_limit),
                _ => None,
            };
            match slot {
                Some(s) => *s = Some((value, a.span, format!("{key}={v}"))),
                None => set_in(
                    &mut draft.limits,
                    &mut draft.merge,
                    ctx,
                    target,
                    value,
                    a.span,
                    None,
                ),
            }
        }
        "CPUWeight" | "IOWeight" => match v.parse::<u64>() {
            Ok(w) if (1..=10_000).contains(&w) => {
                let slot = if key == "CPUWeight" {
                    &mut found.cpu_weight
                } else {
                    &mut found.io_weight
                };
                *slot = Some((integer(w), a.span, format!("{key}={v}")));
            }
            _ if v == "idle" => untranslated(ctx, a, "sbx has no idle CPU weight (cpu.idle)"),
            _ if v.is_empty() => {}
            _ => bad_value(ctx, "a weight in 1-10000"),
        },
        "CPUShares" => match v.parse::<u64>() {
            Ok(s) if (2..=262_144).contains(&s) => {
                let w = (s * 100 / 1024).clamp(1, 10_000);
                found.cpu_shares = Some((
                    integer(w),
                    a.span,
                    format!("CPUShares={s} -> cpu.weight {w} (systemd: shares*100/1024)"),
                ));
            }
            _ if v.is_empty() => found.cpu_shares = None,
            _ => bad_value(ctx, "a share in 2-262144"),
        },
        "BlockIOWeight" => match v.parse::<u64>() {
            Ok(b) if (10..=1000).contains(&b) => {
                let w = (b * 100 / 500).clamp(1, 10_000);
                found.blkio_weight = Some((
                    integer(w),
                    a.span,
                    format!("BlockIOWeight={b} -> io.weight {w} (systemd: blkio*100/500)"),
                ));
            }
            _ if v.is_empty() => found.blkio_weight = None,
            _ => bad_value(ctx, "a weight in 10-1000"),
        },
        "CPUQuota" => {
            if v.is_empty() {
                found.cpu_quota = None;
                return;
            }
            // CPU time per second of wall time, in microseconds.
            let per_second = v.strip_suffix('%').and_then(|p| {
                sbx_grammar::ast::DecimalLit {
                    text: p.to_string(),
                }
                .scaled_floor(10_000, 1)
            });
            match per_second {
                Some(us) if us > 0 => {
                    found.cpu_quota = Some((v.trim_end_matches('%').to_string(), us, a.clone()))
                }
                _ => bad_value(ctx, "a percentage above 0"),
            }
        }
        "CPUQuotaPeriodSec" => match parse_timespan(v, 1_000_000) {
            Some(us) => found.cpu_quota_period = Some((us, a.clone())),
            None if v.is_empty() => found.cpu_quota_period = None,
            None => bad_value(ctx, "a time span"),
        },
        "TasksMax" => {
            if v.is_empty() {
                draft.limits.remove("pids.max");
                return;
            }
            match v {
                "infinity" => set_in(
                    &mut draft.limits,
                    &mut draft.merge,
                    ctx,
                    "pids.max",
                    word("max"),
                    a.span,
                    None,
                ),
                n => match n.parse::<u64>() {
                    Ok(n) if n >= 1 => set_in(
                        &mut draft.limits,
                        &mut draft.merge,
                        ctx,
                        "pids.max",
                        integer(n),
                        a.span,
                        None,
                    ),
                    _ if n.ends_with('%') => untranslated(
                        ctx,
                        a,
                        "a share of the host's task limit depends on the host; write a count",
                    ),
                    _ => bad_value(ctx, "a count"),
                },
            }
        }
        "AllowedCPUs" | "AllowedMemoryNodes" => {
            let target = if key == "AllowedCPUs" {
                "cpuset.cpus"
            } else {
                "cpuset.mems"
            };
            if v.is_empty() {
                draft.limits.remove(target);
            } else {
                let list = v
                    .split([' ', ','])
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(",");
                if !super::draft::valid_cpu_list(&list) {
                    untranslated(
                        ctx,
                        a,
                        "the value is not a list of CPUs or ranges such as `0-3,8`",
                    );
                    return;
                }
                set_in(
                    &mut draft.limits,
                    &mut draft.merge,
                    ctx,
                    target,
                    string(&list),
                    a.span,
                    None,
                );
            }
        }
        k if KNOWN_SERVICE_KEYS.contains(&k) => untranslated(ctx, a, untranslated_reason(k)),
        _ => unknown_key(ctx, a),
    }
}

fn unknown_key(ctx: &mut Ctx, a: &Assignment) {
    let help = match did_you_mean(&a.key, KNOWN_SERVICE_KEYS.iter().copied()) {
        Some(s) => format!("did you mean `{s}=`?"),
        None => {
            "see systemd.exec(5), systemd.service(5) and systemd.resource-control(5)".to_string()
        }
    };
    ctx.footer.push(format!(
        "unknown setting ({}): {}={}",
        ctx.place(a.span),
        a.key,
        shorten(&a.value, 80)
    ));
    ctx.warn(
        "sbx::convert::unknown-key",
        a.key_span,
        format!("unknown systemd setting `{}=` in `[{}]`", a.key, a.section),
        "not a setting systemd knows here",
        format!("{help} (the line is kept as a comment at the end of the profile)"),
    );
}

fn rlimit(ctx: &mut Ctx, draft: &mut Draft, a: &Assignment) {
    let resource = a.key.trim_start_matches("Limit").to_ascii_lowercase();
    const BYTES: &[&str] = &[
        "fsize", "data", "stack", "core", "rss", "as", "memlock", "msgqueue",
    ];
    const KNOWN: &[&str] = &[
        "cpu",
        "fsize",
        "data",
        "stack",
        "core",
        "rss",
        "nofile",
        "as",
        "nproc",
        "memlock",
        "locks",
        "sigpending",
        "msgqueue",
        "nice",
        "rtprio",
        "rttime",
    ];
    if !KNOWN.contains(&resource.as_str()) {
        unknown_key(ctx, a);
        return;
    }
    if a.value.is_empty() {
        draft.rlimits.remove(&resource);
        return;
    }
    let one = |v: &str| -> Option<Value> {
        let v = v.trim();
        if v == "infinity" {
            return Some(word("infinity"));
        }
        match resource.as_str() {
            r if BYTES.contains(&r) => {
                parse_binary_size(v).map(|b| if b == 0 { integer(0) } else { size(b) })
            }
            "cpu" => parse_timespan(v, 1_000_000).map(|us| integer(us / 1_000_000)),
            "rttime" => parse_timespan(v, 1).map(integer),
            "nice" => {
                if v.starts_with('-') || v.starts_with('+') {
                    // A nice level: the rlimit is 20 - nice.
                    v.parse::<i64>()
                        .ok()
                        .filter(|n| (-20..=19).contains(n))
                        .map(|n| integer((20 - n) as u64))
                } else {
                    v.parse::<u64>().ok().map(integer)
                }
            }
            _ => v.parse::<u64>().ok().map(integer),
        }
    };
    let value = match a.value.split_once(':') {
        Some((s, h)) => match (one(s), one(h)) {
            (Some(s), Some(h)) => super::draft::rlimit_pair(s, h),
            _ => None,
        },
        None => one(&a.value),
    };
    match value {
        Some(v) => {
            let note = (resource == "nice" && a.value.starts_with(['-', '+']))
                .then(|| format!("{}={}: a nice level, rlimit = 20 - nice", a.key, a.value));
            set_in(
                &mut draft.rlimits,
                &mut draft.merge,
                ctx,
                &resource,
                v,
                a.span,
                note,
            )
        }
        None => untranslated(
            ctx,
            a,
            "a limit is `N`, `SOFT:HARD` (soft at most hard) or `infinity`",
        ),
    }
}

/// The command of one `ExecStart=` line: its prefixes and words.
struct ExecLine {
    ignore_failure: bool,
    words: Vec<String>,
    /// Words that are a `$NAME` to split, and `${NAME}` references.
    vars: Vec<String>,
    no_env: bool,
}

fn exec_line(ctx: &mut Ctx, spec: &Specifiers, a: &Assignment) -> Option<ExecLine> {
    let expanded = spec.expand(ctx, &a.value, a.value_start);
    let mut rest = expanded.as_str();
    let mut ignore_failure = false;
    let mut argv0 = false;
    let mut no_env = false;
    let mut privileged = Vec::new();
    loop {
        match rest.chars().next() {
            Some('-') => ignore_failure = true,
            Some('@') => argv0 = true,
            Some(':') => no_env = true,
            Some(c @ ('+' | '!' | '|')) => privileged.push(c),
            _ => break,
        }
        rest = &rest[1..];
    }
    if !privileged.is_empty() {
        let p: String = privileged.iter().collect();
        ctx.lossy(
            a.span,
            format!("the `{p}` prefix of `ExecStart=` is not translated"),
            "systemd runs this command with more privileges than the rest of the unit; sbx applies the whole profile to it",
        );
    }
    let (mut words, open) = split_words(rest);
    if open {
        ctx.lossy(
            a.span,
            "a quote in `ExecStart=` is not closed",
            "systemd refuses this line; the words are read as if it were closed",
        );
    }
    if words.first().is_none_or(|w| w.is_empty()) {
        untranslated(ctx, a, "the command is empty");
        return None;
    }
    if argv0 && words.len() >= 2 {
        let name = words.remove(1);
        ctx.lossy(
            a.span,
            format!("`@` sets argv[0] to `{name}`, which sbx cannot do"),
            "the program runs with its path as argv[0]",
        );
    }
    let mut vars = Vec::new();
    if !no_env {
        for w in &words {
            collect_vars(w, &mut vars);
        }
    }
    Some(ExecLine {
        ignore_failure,
        words,
        vars,
        no_env,
    })
}

/// The variables a word references: `$NAME` as the whole word, `${NAME}`
/// anywhere.
fn collect_vars(word: &str, out: &mut Vec<String>) {
    if let Some(name) = word.strip_prefix('$') {
        if !name.starts_with('{')
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            out.push(name.to_string());
            return;
        }
    }
    let mut rest = word;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
}

/// Substitutes variables in exec words as systemd does at start time.
fn substitute(words: &[String], env: &[(String, String, Span)], no_env: bool) -> Vec<String> {
    let lookup = |n: &str| {
        env.iter()
            .find(|(k, _, _)| k == n)
            .map(|(_, v, _)| v.clone())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for w in words {
        if no_env {
            out.push(w.clone());
            continue;
        }
        if let Some(name) = w.strip_prefix('$') {
            if !name.starts_with('{')
                && !name.starts_with('$')
                && !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                out.extend(lookup(name).split_whitespace().map(str::to_string));
                continue;
            }
        }
        let mut s = String::new();
        let mut rest = w.as_str();
        loop {
            match rest.find('$') {
                None => {
                    s.push_str(rest);
                    break;
                }
                Some(i) => {
                    s.push_str(&rest[..i]);
                    let after = &rest[i + 1..];
                    if let Some(a) = after.strip_prefix('$') {
                        s.push('$');
                        rest = a;
                    } else if let Some(a) = after.strip_prefix('{') {
                        match a.find('}') {
                            Some(end) => {
                                s.push_str(&lookup(&a[..end]));
                                rest = &a[end + 1..];
                            }
                            None => {
                                s.push('$');
                                rest = after;
                            }
                        }
                    } else {
                        s.push('$');
                        rest = after;
                    }
                }
            }
        }
        out.push(s);
    }
    out
}

/// An exec line as `/bin/sh` text, `$NAME` words left for the shell to
/// split and `${NAME}` kept as one word, as systemd would.
fn shell_command(words: &[String], no_env: bool) -> String {
    let mut parts = Vec::new();
    for w in words {
        if !no_env {
            if let Some(name) = w.strip_prefix('$') {
                if !name.starts_with('{')
                    && !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    parts.push(format!("${name}"));
                    continue;
                }
            }
            if w.contains("${") || w.contains("$$") {
                // Double quotes keep `${NAME}` one word; other `$`, `` ` ``,
                // `"` and `\` are escaped.
                let mut s = String::from("\"");
                let mut rest = w.as_str();
                while !rest.is_empty() {
                    if let Some(a) = rest.strip_prefix("$$") {
                        s.push_str("\\$");
                        rest = a;
                    } else if rest.starts_with("${") && rest.contains('}') {
                        let end = rest.find('}').expect("checked");
                        s.push_str(&rest[..=end]);
                        rest = &rest[end + 1..];
                    } else {
                        let c = rest.chars().next().expect("not empty");
                        if "$`\"\\".contains(c) {
                            s.push('\\');
                        }
                        s.push(c);
                        rest = &rest[c.len_utf8()..];
                    }
                }
                s.push('"');
                parts.push(s);
                continue;
            }
        }
        parts.push(shell_quote(w));
    }
    parts.join(" ")
}

fn finish(
    ctx: &mut Ctx,
    draft: &mut Draft,
    found: Found,
    spec: &Specifiers,
    has_dockerfile: bool,
    main: &str,
) {
    // user
    let user = found
        .user
        .as_ref()
        .map(|a| spec.expand(ctx, &a.value, a.value_start));
    let group = found
        .group
        .as_ref()
        .map(|a| spec.expand(ctx, &a.value, a.value_start));
    let span = found.user.as_ref().or(found.group.as_ref()).map(|a| a.span);
    match (user, group) {
        (None, None) => {}
        (u, g) => {
            let u = u.unwrap_or_else(|| "root".to_string());
            match super::draft::user_value(&u, g.as_deref()) {
                Some(value) => set_top(
                    ctx,
                    draft,
                    "user",
                    value,
                    span.unwrap_or_else(Span::synthetic),
                    None,
                ),
                None => {
                    let a = found
                        .user
                        .as_ref()
                        .or(found.group.as_ref())
                        .expect("one is set");
                    untranslated(ctx, a, "the user or group is not a name or id sbx accepts (an unresolved specifier?)");
                }
            }
        }
    }

    // ExecStart
    if main == "Service" {
        exec_start(ctx, draft, &found, spec, has_dockerfile);
    }

    // filesystem
    let strict = matches!(&found.protect_system, Some((l, _)) if l == "strict");
    match &found.protect_system {
        Some((level, span)) if level != "no" => {
            if strict {
                set_in(
                    &mut draft.security,
                    &mut draft.merge,
                    ctx,
                    "rootfs_readonly",
                    boolean(true),
                    *span,
                    Some("ProtectSystem=strict".to_string()),
                );
            } else {
                let mut paths = vec!["/usr", "/boot", "/efi"];
                if level == "full" {
                    paths.push("/etc");
                }
                for p in paths {
                    draft
                        .security
                        .append("readonly_paths", string(p), *span, ctx.input);
                }
                draft
                    .security
                    .note("readonly_paths", format!("ProtectSystem={level}"));
            }
        }
        _ => {}
    }
    for (p, span) in &found.read_write {
        let b = Draft::block(&mut draft.mounts, p);
        b.notes = vec![format!(
            "ReadWritePaths={p}: writable inside the read-only root"
        )];
        b.fields.set(
            "type",
            entry(word("bind"), *span, ctx.input),
            &mut draft.merge,
        );
        b.fields.set(
            "source",
            entry(string(p), *span, ctx.input),
            &mut draft.merge,
        );
    }

    // capabilities
    if let Some((mask, span)) = found.bounding {
        let all = (1u64 << CAPABILITY_COUNT) - 1;
        if mask != all {
            let missing = mask_names(all & !mask);
            let present = mask_names(mask);
            if present.len() >= missing.len() && !missing.is_empty() {
                draft
                    .capabilities
                    .restrict(CapPolicy::DefaultMinus(missing), span, ctx.input);
                draft.capabilities.notes.push(
                    "CapabilityBoundingSet=~...: systemd starts from every capability, sbx from its default set".to_string(),
                );
            } else {
                draft
                    .capabilities
                    .restrict(CapPolicy::Exactly(present), span, ctx.input);
                draft
                    .capabilities
                    .notes
                    .push("CapabilityBoundingSet: exactly these (drop = all + add)".to_string());
            }
        }
    }
    if let Some((mask, _)) = found.ambient {
        for c in mask_names(mask) {
            if !draft.capabilities.ambient.contains(&c) {
                draft.capabilities.ambient.push(c);
            }
        }
    }

    // CPU quota: systemd's period (100 ms by default, clamped to 1 ms-1 s)
    // is raised until the quota is at least 1 ms (`cgroup_cpu_adjust_period`).
    match (&found.cpu_quota, &found.cpu_quota_period) {
        (Some((pct, per_second, a)), period) => {
            let asked = period.as_ref().map(|(p, _)| *p).unwrap_or(100_000);
            let mut p = asked.clamp(1_000, 1_000_000);
            let mut notes = Vec::new();
            if p != asked {
                notes.push("CPUQuotaPeriodSec clamped to 1ms-1s as systemd does".to_string());
            }
            if per_second * p / 1_000_000 < 1_000 {
                let raised = (1_000u64 * 1_000_000).div_ceil(*per_second).min(1_000_000);
                notes.push(format!(
                    "period raised to {}us so that the quota is at least 1ms, as systemd does",
                    raised
                ));
                p = raised;
            }
            if per_second * p / 1_000_000 < 1_000 {
                untranslated(
                    ctx,
                    a,
                    "a quota below 1 ms per second is below what the kernel enforces",
                );
            } else {
                set_in(
                    &mut draft.limits,
                    &mut draft.merge,
                    ctx,
                    "cpu.quota",
                    percent(pct),
                    a.span,
                    None,
                );
                if p != 100_000 {
                    let span = period.as_ref().map(|(_, pa)| pa.span).unwrap_or(a.span);
                    let note = (!notes.is_empty()).then(|| notes.join("; "));
                    set_in(
                        &mut draft.limits,
                        &mut draft.merge,
                        ctx,
                        "cpu.period",
                        duration(p),
                        span,
                        note,
                    );
                }
            }
        }
        (None, Some((_, a))) => untranslated(ctx, a, "a period without `CPUQuota=` has no effect"),
        (None, None) => {}
    }

    // resource control: the v2 setting wins where both are given, as in systemd.
    let pick = |v2: Option<(Value, Span, String)>,
                v1: Option<(Value, Span, String)>,
                footer: &mut Vec<String>| {
        match (v2, v1) {
            (Some(a), Some(b)) => {
                footer.push(format!(
                    "{} -- ignored: the newer setting is given too",
                    b.2
                ));
                Some((a.0, a.1, None))
            }
            (Some(a), None) => Some((a.0, a.1, None)),
            (None, Some(b)) => Some((b.0, b.1, Some(b.2))),
            (None, None) => None,
        }
    };
    let mut footer = Vec::new();
    let memory_max = match (found.memory_max, found.memory_limit) {
        (Some(a), Some(b)) => {
            footer.push(format!("{} -- ignored: MemoryMax= is given too", b.2));
            Some((a.0, a.1, None))
        }
        (Some(a), None) => Some((a.0, a.1, None)),
        (None, Some(b)) => Some((
            b.0,
            b.1,
            Some(format!(
                "{} (systemd applies MemoryLimit= as MemoryMax=)",
                b.2
            )),
        )),
        (None, None) => None,
    };
    for (key, picked) in [
        ("memory.max", memory_max),
        (
            "cpu.weight",
            pick(found.cpu_weight, found.cpu_shares, &mut footer),
        ),
        (
            "io.weight",
            pick(found.io_weight, found.blkio_weight, &mut footer),
        ),
    ] {
        if let Some((value, span, note)) = picked {
            set_in(
                &mut draft.limits,
                &mut draft.merge,
                ctx,
                key,
                value,
                span,
                note,
            );
        }
    }
    for f in footer {
        ctx.footer.push(f);
    }
}

fn exec_start(
    ctx: &mut Ctx,
    draft: &mut Draft,
    found: &Found,
    spec: &Specifiers,
    has_dockerfile: bool,
) {
    let lines: Vec<(ExecLine, &Assignment)> = found
        .exec_start
        .iter()
        .filter_map(|a| exec_line(ctx, spec, a).map(|l| (l, a)))
        .collect();
    if lines.is_empty() {
        return;
    }
    if has_dockerfile {
        let runs_engine = lines.iter().any(|(l, _)| {
            let prog = l.words[0].rsplit('/').next().unwrap_or("");
            matches!(prog, "docker" | "podman" | "nerdctl")
                && l.words.iter().any(|w| w == "run" || w == "start")
        });
        if runs_engine {
            let (_, a) = &lines[0];
            ctx.footer.push(format!(
                "{}: ExecStart={} -- it starts the container; the Dockerfile's command is the workload",
                ctx.place(a.span),
                shorten(&a.value, 80)
            ));
            return;
        }
    }
    let known: Vec<&str> = found
        .environment
        .iter()
        .map(|(k, _, _)| k.as_str())
        .collect();
    let unknown: Vec<String> = lines
        .iter()
        .flat_map(|(l, _)| l.vars.iter())
        .filter(|v| !known.contains(&v.as_str()))
        .cloned()
        .collect();
    for (l, a) in &lines {
        for v in l.vars.iter().filter(|v| !known.contains(&v.as_str())) {
            let why = if v == "MAINPID" {
                "systemd sets `$MAINPID` only for the other Exec lines"
            } else {
                "it is not set by `Environment=`; it may come from `EnvironmentFile=` or the service manager"
            };
            ctx.lossy(
                a.span,
                format!("`${v}` in `ExecStart=` has no value in the profile"),
                format!(
                    "{why}; the command runs through /bin/sh so that a value set in `env` is used"
                ),
            );
        }
    }
    let span = lines
        .last()
        .map(|(_, a)| a.span)
        .unwrap_or_else(Span::synthetic);
    let single = lines.len() == 1;
    if !found.is_oneshot && !single {
        ctx.lossy(
            lines[1].1.span,
            "several `ExecStart=` lines outside `Type=oneshot`",
            "systemd refuses this unit; the profile runs them in order as a oneshot would",
        );
    }
    if single && unknown.is_empty() {
        let (l, a) = &lines[0];
        let words = substitute(&l.words, &found.environment, l.no_env);
        let mut notes = Vec::new();
        if !l.vars.is_empty() {
            notes.push(format!(
                "{} from Environment= substituted as systemd does",
                l.vars
                    .iter()
                    .map(|v| format!("${v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        if l.ignore_failure {
            notes.push(
                "`-`: systemd ignores this command's exit status; sbx returns it".to_string(),
            );
        }
        let mut e = entry(strings(&words), a.span, ctx.input);
        e.notes = notes;
        draft.top.set("cmd", e, &mut draft.merge);
        return;
    }
    // A shell script: several commands in order, or variables the shell fills.
    let parts: Vec<String> = lines
        .iter()
        .map(|(l, _)| {
            let words = if unknown.is_empty() {
                substitute(&l.words, &found.environment, l.no_env)
            } else {
                l.words.clone()
            };
            let cmd = shell_command(&words, l.no_env || unknown.is_empty());
            if l.ignore_failure {
                format!("{{ {cmd} || true; }}")
            } else {
                cmd
            }
        })
        .collect();
    let script = if single {
        format!("exec {}", parts[0])
    } else {
        parts.join(" && ")
    };
    let mut e = entry(string(&script), span, ctx.input);
    if !single {
        e.notes.push(format!(
            "{} ExecStart= lines run in order, stopping at the first failure (`-` lines may fail)",
            lines.len()
        ));
    }
    if !unknown.is_empty() {
        e.notes.push(
            "shell form: /bin/sh expands the variables at start, as systemd would".to_string(),
        );
    }
    draft.top.set("cmd", e, &mut draft.merge);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_follow_systemd_quoting() {
        let (w, open) = split_words(r#"/usr/bin/x --who="borg matic" 'a b'c \x41 "q\"q""#);
        assert!(!open);
        assert_eq!(
            w,
            vec!["/usr/bin/x", "--who=borg matic", "a bc", "A", "q\"q"]
        );
        let (_, open) = split_words("a 'b");
        assert!(open);
    }

    #[test]
    fn variables_substitute_like_systemd() {
        let env = vec![("A".to_string(), "x y".to_string(), Span::synthetic())];
        let words: Vec<String> = ["run", "$A", "${A}", "p$A", "$$A"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            substitute(&words, &env, false),
            vec!["run", "x", "y", "x y", "p$A", "$A"]
        );
        assert_eq!(
            shell_command(&words, false),
            "run $A \"${A}\" 'p$A' \"\\$A\""
        );
    }

    #[test]
    fn capability_sets_accumulate_and_invert() {
        let text = "[Service]\nCapabilityBoundingSet=~CAP_CHOWN\nCapabilityBoundingSet=~CAP_KILL\n";
        let mut ctx = Ctx::new(sbx_grammar::ast::SourceId(0), text, 0, "x.service");
        let assignments = parse(&mut ctx).expect("parses");
        let mut set = None;
        let all = (1u64 << CAPABILITY_COUNT) - 1;
        for a in &assignments {
            capability_assignment(&mut ctx, a, &mut set, all);
        }
        let names = mask_names(all & !set.expect("set").0);
        assert_eq!(names, vec!["chown", "kill"]);
        // Empty resets to no capabilities.
        let a = Assignment {
            value: String::new(),
            ..assignments[0].clone()
        };
        capability_assignment(&mut ctx, &a, &mut set, all);
        assert_eq!(set.map(|s| s.0), Some(0));
    }

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("5min", 1_000_000), Some(300_000_000));
        assert_eq!(parse_timespan("1h 30s", 1_000_000), Some(3_630_000_000));
        assert_eq!(parse_timespan("20", 1_000_000), Some(20_000_000));
        assert_eq!(parse_timespan("abc", 1), None);
    }
}
