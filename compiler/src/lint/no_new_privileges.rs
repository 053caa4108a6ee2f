//! `sbx::lint::no-new-privileges-off`: `no_new_privileges = false` lets a
//! setuid binary or file capabilities raise the workload's privileges.

use super::{Level, Lint, LintContext};
use crate::Diagnostic;

pub(super) const LINT: Lint = Lint {
    code: "sbx::lint::no-new-privileges-off",
    summary: "`no_new_privileges` is off: setuid binaries can raise privileges",
    help: "remove `no_new_privileges = false` (the default is true)",
    default: Level::Warn,
    check,
};

fn check(cx: &LintContext) -> Vec<Diagnostic> {
    if cx.plan.security.no_new_privileges {
        return Vec::new();
    }
    let Some(span) = cx.span(&["security.no_new_privileges"]) else {
        return Vec::new();
    };
    vec![Diagnostic::warning(LINT.code, "`no_new_privileges` is off")
        .with_label(
            span,
            "setuid binaries and file capabilities raise privileges again",
        )
        .with_help(
            "remove `no_new_privileges = false` unless the workload must run setuid programs such as `sudo`",
        )]
}
