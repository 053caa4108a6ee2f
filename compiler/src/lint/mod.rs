//! Lints: warnings about profiles that are valid but risky or odd. Each
//! lint is one file with one `check` function that reads the finished
//! [`Plan`] and the [`SpanTable`] (plan path to profile text) and returns
//! its warnings. A new lint is a new file plus one line in [`LINTS`].

mod dangerous_cap;
mod host_network;

use sbx_grammar::ast::Span;
use sbx_plan::Plan;

use crate::diagnostic::Diagnostic;
use crate::spans::SpanTable;

/// What a lint sees.
pub struct LintContext<'a> {
    pub plan: &'a Plan,
    pub spans: &'a SpanTable,
}

impl LintContext<'_> {
    /// The span of the first of `paths` the table knows.
    pub fn span(&self, paths: &[&str]) -> Option<Span> {
        paths.iter().find_map(|p| self.spans.get(p))
    }
}

/// A lint: its code and its check.
pub struct Lint {
    /// `sbx::lint::<name>`.
    pub code: &'static str,
    /// One line: what it warns about.
    pub summary: &'static str,
    pub check: fn(&LintContext) -> Vec<Diagnostic>,
}

/// Every lint, in the order their warnings are reported.
pub const LINTS: &[Lint] = &[dangerous_cap::LINT, host_network::LINT];

/// Runs every lint on a plan that compiled without errors.
pub fn run(plan: &Plan, spans: &SpanTable) -> Vec<Diagnostic> {
    let cx = LintContext { plan, spans };
    LINTS.iter().flat_map(|lint| (lint.check)(&cx)).collect()
}
