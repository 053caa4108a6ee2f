//! `sbx::lint::writable-rootfs`: a directory or image rootfs is writable
//! (`rootfs_readonly` unset or false). Allowed by default: most images
//! expect to write somewhere, and the host's `/` is always read-only.

use sbx_plan::Rootfs;

use super::{Level, Lint, LintContext};
use crate::Diagnostic;

pub(super) const LINT: Lint = Lint {
    code: "sbx::lint::writable-rootfs",
    summary: "the rootfs is writable",
    help: "set `security { rootfs_readonly = true }` and give writable paths `mount` blocks or `volume`",
    default: Level::Allow,
    check,
};

fn check(cx: &LintContext) -> Vec<Diagnostic> {
    if cx.plan.security.rootfs_readonly || cx.plan.rootfs == Rootfs::Host {
        return Vec::new();
    }
    let Some(span) = cx
        .span(&["security.rootfs_readonly", "rootfs"])
        .or(cx.profile_span())
    else {
        return Vec::new();
    };
    vec![Diagnostic::warning(LINT.code, "the rootfs is writable")
        .with_label(span, "writable root")
        .with_help("the workload can replace its own binaries and libraries; set `security { rootfs_readonly = true }` and give the paths it writes `mount` blocks or `volume`")]
}
