//! `sbx::lint::masked-paths-removed`: a `masked_paths` list that leaves out
//! some of runc's defaults, which hide kernel interfaces (`/proc/kcore`,
//! `/proc/keys`, `/sys/firmware`, ...) from the workload.

use super::{Level, Lint, LintContext};
use crate::lower::DEFAULT_MASKED_PATHS;
use crate::Diagnostic;

pub(super) const LINT: Lint = Lint {
    code: "sbx::lint::masked-paths-removed",
    summary: "`masked_paths` leaves out some of runc's default masked paths",
    help: "keep every default in `masked_paths` and add to it",
    default: Level::Warn,
    check,
};

fn check(cx: &LintContext) -> Vec<Diagnostic> {
    let missing: Vec<&str> = DEFAULT_MASKED_PATHS
        .iter()
        .copied()
        .filter(|p| !cx.plan.security.masked_paths.iter().any(|m| m == p))
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    let Some(span) = cx.span(&["security.masked_paths"]) else {
        return Vec::new();
    };
    let list = missing
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ");
    vec![Diagnostic::warning(
        LINT.code,
        format!("`masked_paths` unmasks {list}"),
    )
    .with_label(span, "replaces the default list")
    .with_help(format!(
        "a `masked_paths` list replaces the defaults: add {list} back unless the workload reads them"
    ))]
}
