//! `sbx::lint::dangerous-cap`: a capability that gives the workload a way
//! out of the sandbox, or power over the whole host, is kept.

use super::{Lint, LintContext};
use crate::Diagnostic;

pub(super) const LINT: Lint = Lint {
    code: "sbx::lint::dangerous-cap",
    summary: "a capability that can break out of the sandbox or control the host is kept",
    help: "drop it unless the workload cannot run without it",
    default: super::Level::Warn,
    check,
};

/// Capabilities that defeat isolation, with why.
pub(crate) const DANGEROUS: &[(&str, &str)] = &[
    (
        "CAP_SYS_ADMIN",
        "mount, namespaces, BPF and much more: close to full root",
    ),
    (
        "CAP_SYS_MODULE",
        "loads kernel modules: runs code in the kernel",
    ),
    ("CAP_SYS_PTRACE", "traces and injects into other processes"),
    ("CAP_SYS_RAWIO", "raw I/O ports and devices"),
    ("CAP_SYS_BOOT", "reboots the host and loads new kernels"),
    ("CAP_SYS_TIME", "sets the host's clock"),
    (
        "CAP_DAC_READ_SEARCH",
        "opens files by handle: the classic container escape",
    ),
    (
        "CAP_NET_ADMIN",
        "reconfigures network interfaces, routes and firewalls",
    ),
    ("CAP_MAC_ADMIN", "changes the LSM policy"),
    ("CAP_MAC_OVERRIDE", "overrides the LSM policy"),
    ("CAP_BPF", "loads BPF programs"),
    ("CAP_PERFMON", "reads kernel memory through perf events"),
    (
        "CAP_LINUX_IMMUTABLE",
        "changes immutable and append-only files",
    ),
    ("CAP_SYSLOG", "reads kernel addresses from the kernel log"),
    ("CAP_AUDIT_CONTROL", "changes the audit rules"),
    (
        "CAP_CHECKPOINT_RESTORE",
        "restores processes with chosen ids",
    ),
];

fn check(cx: &LintContext) -> Vec<crate::Diagnostic> {
    let mut out = Vec::new();
    for cap in &cx.plan.capabilities.bounding {
        let Some((_, why)) = DANGEROUS.iter().find(|(name, _)| name == cap) else {
            continue;
        };
        let added = format!("capabilities.added.{cap}");
        let Some(span) = cx.span(&[&added, "capabilities"]) else {
            continue;
        };
        out.push(
            Diagnostic::warning(LINT.code, format!("the workload keeps `{cap}`"))
                .with_label(span, *why)
                .with_help(format!(
                    "keep it only if the workload cannot run without it; a sandbox with `{cap}` is much weaker"
                )),
        );
    }
    out
}
