//! `sbx::lint::host-network`: the sandbox shares the host's network
//! namespace.

use sbx_plan::Network;

use super::{Lint, LintContext};
use crate::Diagnostic;

pub(super) const LINT: Lint = Lint {
    code: "sbx::lint::host-network",
    summary: "the sandbox shares the host's network",
    help: "use `net` blocks, or the default `network = none`, unless the workload needs the host's network",
    default: super::Level::Warn,
    check,
};

fn check(cx: &LintContext) -> Vec<Diagnostic> {
    if cx.plan.network != Network::Host {
        return Vec::new();
    }
    let Some(span) = cx.span(&["network", "namespaces"]) else {
        return Vec::new();
    };
    vec![Diagnostic::warning(
        LINT.code,
        "the sandbox shares the host's network",
    )
    .with_label(span, "host network")
    .with_help(
        "the workload can reach every host service bound to localhost and every interface; \
         use `net` blocks (or the default `network = none`) unless it needs the host's network",
    )]
}
