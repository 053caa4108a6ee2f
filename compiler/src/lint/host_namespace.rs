//! `sbx::lint::host-namespace`: the pid or mount namespace is shared with
//! the host (left out of an explicit `namespaces` list). A shared network
//! namespace is `sbx::lint::host-network`'s.

use sbx_plan::Namespace;

use super::{Level, Lint, LintContext};
use crate::Diagnostic;

pub(super) const LINT: Lint = Lint {
    code: "sbx::lint::host-namespace",
    summary: "the pid or mount namespace is shared with the host",
    help: "add `pid` and `mount` to `namespaces`",
    default: Level::Warn,
    check,
};

fn check(cx: &LintContext) -> Vec<Diagnostic> {
    let Some(span) = cx.span(&["namespaces"]) else {
        return Vec::new();
    };
    [
        (
            Namespace::Pid,
            "the workload sees and can signal every process of the host",
        ),
        (
            Namespace::Mount,
            "the workload shares the host's mount table: no own root, no private /tmp or /proc",
        ),
    ]
    .into_iter()
    .filter(|(ns, _)| !cx.plan.namespaces.contains(ns))
    .map(|(ns, why)| {
        Diagnostic::warning(
            LINT.code,
            format!("the `{}` namespace is shared with the host", ns.name()),
        )
        .with_label(span, why)
        .with_help(format!("add `{}` to `namespaces`", ns.name()))
    })
    .collect()
}
