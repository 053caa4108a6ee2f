//! `sbx::lint::droppable-cap`: the workload keeps a capability from the
//! list Docker and runc users are told to drop (MKNOD, NET_RAW,
//! SYS_RESOURCE), which sbx's default set already leaves out. The other
//! capabilities of that list (SYS_ADMIN, SYS_MODULE, SYS_RAWIO, SYS_TIME,
//! SYS_PTRACE, BPF, DAC_READ_SEARCH) can break out of the sandbox: they are
//! `sbx::lint::dangerous-cap`'s, so that one capability never warns twice.

use super::{Level, Lint, LintContext};
use crate::Diagnostic;

pub(super) const LINT: Lint = Lint {
    code: "sbx::lint::droppable-cap",
    summary: "a capability few workloads need and Docker's hardening guides drop is kept",
    help: "drop it: remove it from `capabilities.add`",
    default: Level::Warn,
    check,
};

/// Capabilities most workloads never use, with what they allow.
pub(crate) const DROPPABLE: &[(&str, &str)] = &[
    ("CAP_MKNOD", "creates device nodes"),
    (
        "CAP_NET_RAW",
        "opens raw sockets: forges packets, spoofs ARP and DNS on a shared bridge",
    ),
    ("CAP_SYS_RESOURCE", "overrides resource limits and quotas"),
];

/// What a workload that seems to need the capability can do instead.
fn instead(cap: &str) -> &'static str {
    match cap {
        "CAP_NET_RAW" => {
            "; `ping` works without it where the kernel's `net.ipv4.ping_group_range` allows the sandbox's group"
        }
        "CAP_MKNOD" => "; a device the workload needs is better bound in with a `mount` block",
        _ => "",
    }
}

fn check(cx: &LintContext) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for cap in &cx.plan.capabilities.bounding {
        let Some((_, why)) = DROPPABLE.iter().find(|(name, _)| name == cap) else {
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
                    "few workloads need `{cap}`: remove it from `add` unless this one does{}",
                    instead(cap)
                )),
        );
    }
    out
}
