//! `sbx::lint::root-without-userns`: the workload runs as uid 0 and there
//! is no user namespace, so its root is the host's root (held back only by
//! capabilities, seccomp and the mounts). Allowed by default: images whose
//! entrypoint starts as root and drops privileges are common.

use sbx_plan::{IdOrName, Namespace};

use super::{Level, Lint, LintContext};
use crate::Diagnostic;

pub(super) const LINT: Lint = Lint {
    code: "sbx::lint::root-without-userns",
    summary: "the workload runs as root without a user namespace",
    help: "set `user` to an unprivileged id, or add `user` to `namespaces` with an `idmap`",
    default: Level::Allow,
    check,
};

/// Whether a user spec names uid 0.
pub(crate) fn is_root(user: &IdOrName) -> bool {
    matches!(user, IdOrName::Id(0)) || matches!(user, IdOrName::Name(n) if n == "root")
}

fn check(cx: &LintContext) -> Vec<Diagnostic> {
    if !is_root(&cx.plan.process.user.user) || cx.plan.namespaces.contains(&Namespace::User) {
        return Vec::new();
    }
    let Some(span) = cx.span(&["process.user"]).or(cx.profile_span()) else {
        return Vec::new();
    };
    vec![Diagnostic::warning(
        LINT.code,
        "the workload runs as root without a user namespace",
    )
    .with_label(span, "uid 0 is the host's root")
    .with_help(
        "set `user = \"1000:1000\"` (or another unprivileged id), or add `user` to `namespaces` with an `idmap` so that root in the sandbox is nobody on the host",
    )]
}
