//! `sbx::lint::no-memory-limit` and `sbx::lint::no-pids-limit`: nothing
//! stops the workload from taking the host's memory or forking without
//! end. Allowed by default: the profile says nothing, so there is nothing
//! to point at but the profile, and the exposure score counts it anyway.

use sbx_plan::Limit;

use super::{Level, Lint, LintContext};
use crate::Diagnostic;

pub(super) const MEMORY: Lint = Lint {
    code: "sbx::lint::no-memory-limit",
    summary: "the sandbox has no memory limit",
    help: "set `limits { memory.max = SIZE }`",
    default: Level::Allow,
    check: memory,
};

pub(super) const PIDS: Lint = Lint {
    code: "sbx::lint::no-pids-limit",
    summary: "the sandbox has no process limit",
    help: "set `limits { pids.max = N }`",
    default: Level::Allow,
    check: pids,
};

/// A limit that is absent or `max`.
fn unlimited(limit: Option<Limit>) -> bool {
    limit.and_then(Limit::value).is_none()
}

fn memory(cx: &LintContext) -> Vec<Diagnostic> {
    if !unlimited(cx.plan.limits.memory_max) {
        return Vec::new();
    }
    let Some(span) = cx.span(&["limits.memory_max"]).or(cx.profile_span()) else {
        return Vec::new();
    };
    vec![Diagnostic::warning(MEMORY.code, "the sandbox has no memory limit")
        .with_label(span, "memory unlimited")
        .with_help("the workload can take the host's memory and wake the OOM killer on the host; set `limits { memory.max = SIZE }`")]
}

fn pids(cx: &LintContext) -> Vec<Diagnostic> {
    if !unlimited(cx.plan.limits.pids_max) {
        return Vec::new();
    }
    let Some(span) = cx.span(&["limits.pids_max"]).or(cx.profile_span()) else {
        return Vec::new();
    };
    vec![Diagnostic::warning(PIDS.code, "the sandbox has no process limit")
        .with_label(span, "processes unlimited")
        .with_help("a fork bomb in the sandbox exhausts the host's pids; set `limits { pids.max = N }`")]
}
