//! `sbx::lint::weight-conversion`: `cpu.weight` or `io.weight` is set, and
//! the targets do not agree on what it becomes (MAPPING.md, "Conversion
//! formulas"): a cgroup v1 host gets systemd's formula, an OCI bundle
//! carries v1 units that runc 1.3.1 and older convert back linearly (and
//! newer runtimes with a quadratic). The message gives the numbers.
//! Allowed by default: it is about where the profile runs, not a risk.

use super::{Level, Lint, LintContext};
use crate::emit::convert;
use crate::Diagnostic;

pub(super) const LINT: Lint = Lint {
    code: "sbx::lint::weight-conversion",
    summary: "a cgroup weight whose value differs between cgroup v1, v2 and OCI runtimes",
    help: "check the converted values on the hosts and runtimes the profile targets",
    default: Level::Allow,
    check,
};

fn check(cx: &LintContext) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let (Some(w), Some(span)) = (cx.plan.limits.cpu_weight, cx.span(&["limits.cpu_weight"])) {
        let v1 = convert::systemd_weight_to_shares(w);
        let oci = convert::oci_shares_for_weight(w);
        let old = convert::oci_old_shares_to_weight(oci);
        out.push(
            Diagnostic::warning(
                LINT.code,
                format!("`cpu.weight = {w}` is converted differently per target"),
            )
            .with_label(
                span,
                format!("v1 host: `cpu.shares = {v1}`; OCI bundle: `cpu.shares = {oci}`, which runc 1.3.1 and older turn into `cpu.weight = {old}`"),
            )
            .with_help(
                "weights are relative to the sibling cgroups: check that they get weights through the same conversion, or use `cpu.quota` for a fixed share",
            ),
        );
    }
    if let (Some(w), Some(span)) = (cx.plan.limits.io_weight, cx.span(&["limits.io_weight"])) {
        let bfq = convert::systemd_io_to_bfq(w);
        let blkio = convert::oci_blkio_for_io(w);
        let back = convert::oci_blkio_to_io(blkio);
        if bfq == w && back == w {
            // Every target ends up with the profile's value.
            return out;
        }
        out.push(
            Diagnostic::warning(
                LINT.code,
                format!("`io.weight = {w}` is converted differently per target"),
            )
            .with_label(
                span,
                format!("v1 host: `blkio.bfq.weight = {bfq}`; OCI bundle: `blockIO.weight = {blkio}`, which runtimes turn into `io.weight = {back}`"),
            )
            .with_help(
                "io weights only act under the bfq scheduler (or io.cost): check the disks' scheduler and the siblings' weights",
            ),
        );
    }
    out
}
