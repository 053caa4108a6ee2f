//! Lints: warnings about profiles that are valid but risky or odd. Each
//! lint is one file with one `check` function that reads the finished
//! [`Plan`] and the [`SpanTable`] (plan path to profile text) and returns
//! its warnings. A new lint is a new file plus one line in [`LINTS`].
//!
//! After the checks, [`finish`] applies `# sbx: allow(CODE) reason`
//! comments ([`suppress`]) and then the level of each lint (its default,
//! or what `sbx check --allow/--warn/--deny` says, [`Levels`]).

pub(crate) mod dangerous_cap;
pub(crate) mod droppable_cap;
mod host_namespace;
mod host_network;
mod masked_paths;
mod no_limit;
mod no_new_privileges;
pub(crate) mod redundant;
pub(crate) mod root_without_userns;
pub(crate) mod sensitive_mount;
pub mod suppress;
mod weight_conversion;
mod writable_rootfs;

use std::collections::BTreeMap;

use sbx_grammar::ast::Span;
use sbx_plan::Plan;

use crate::diagnostic::{Diagnostic, Severity, SourceMap};
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

    /// A place that stands for the whole profile, for lints about something
    /// the profile does not say: its `name`, else its command, else its
    /// `from`.
    pub fn profile_span(&self) -> Option<Span> {
        self.span(&["name", "process.args", "rootfs", "hostname"])
    }
}

/// How a lint's findings are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Not reported.
    Allow,
    /// A warning (an error under `--deny warnings`).
    Warn,
    /// An error: the profile fails the check and gets no plan.
    Deny,
}

/// A lint: its code and its check.
pub struct Lint {
    /// `sbx::lint::<name>`.
    pub code: &'static str,
    /// One line: what it warns about.
    pub summary: &'static str,
    /// One line: what to do about it (SARIF's rule help, docs/lints.md).
    pub help: &'static str,
    /// The level when neither the command line nor a comment says.
    pub default: Level,
    pub check: fn(&LintContext) -> Vec<Diagnostic>,
}

/// A check for lints whose findings are made elsewhere (during include
/// resolution, or by the suppression pass): they are in [`LINTS`] for their
/// code, help and level only.
fn elsewhere(_: &LintContext) -> Vec<Diagnostic> {
    Vec::new()
}

/// Every lint, in the order their warnings are reported.
pub const LINTS: &[Lint] = &[
    dangerous_cap::LINT,
    droppable_cap::LINT,
    host_network::LINT,
    host_namespace::LINT,
    no_new_privileges::LINT,
    masked_paths::LINT,
    sensitive_mount::LINT,
    redundant::LINT,
    no_limit::MEMORY,
    no_limit::PIDS,
    root_without_userns::LINT,
    writable_rootfs::LINT,
    weight_conversion::LINT,
    suppress::UNUSED,
    suppress::WITHOUT_REASON,
];

/// The group name that stands for every lint on the command line.
pub const ALL: &str = "sbx::lint::all";

/// The lint with this code.
pub fn find(code: &str) -> Option<&'static Lint> {
    LINTS.iter().find(|l| l.code == code)
}

/// Runs every lint on a plan that compiled without errors.
pub fn run(plan: &Plan, spans: &SpanTable) -> Vec<Diagnostic> {
    let cx = LintContext { plan, spans };
    LINTS.iter().flat_map(|lint| (lint.check)(&cx)).collect()
}

/// Lint levels set on the command line, over the lints' defaults. A code
/// named on its own wins over [`ALL`]; a code given two levels gets the
/// stricter one.
#[derive(Debug, Clone, Default)]
pub struct Levels {
    all: Option<Level>,
    codes: BTreeMap<&'static str, Level>,
}

impl Levels {
    /// Sets the level of a lint code or of [`ALL`]; an unknown name is an
    /// error message naming the nearest code.
    pub fn set(&mut self, name: &str, level: Level) -> Result<(), String> {
        if name == ALL {
            self.all = Some(self.all.map_or(level, |l| l.max(level)));
            return Ok(());
        }
        let Some(lint) = find(name) else {
            let mut known: Vec<&str> = LINTS.iter().map(|l| l.code).collect();
            known.push(ALL);
            let prefixed = format!("sbx::lint::{name}");
            let hint = known
                .iter()
                .find(|k| **k == prefixed)
                .copied()
                .or_else(|| crate::suggest::did_you_mean(name, known.iter().copied()))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_else(|| "; docs/lints.md lists the codes".to_string());
            return Err(format!("`{name}` is not a lint code{hint}"));
        };
        let entry = self.codes.entry(lint.code).or_insert(level);
        *entry = (*entry).max(level);
        Ok(())
    }

    /// The level of a lint code.
    pub fn level(&self, lint: &Lint) -> Level {
        self.codes
            .get(lint.code)
            .copied()
            .or(self.all)
            .unwrap_or(lint.default)
    }
}

/// Applies suppression comments, then lint levels, to every `sbx::lint::`
/// diagnostic of one compilation (other diagnostics are left alone).
pub fn finish(diagnostics: &mut Vec<Diagnostic>, sources: &SourceMap, levels: &Levels) {
    suppress::apply(diagnostics, sources);
    diagnostics.retain_mut(|d| {
        let Some(lint) = find(&d.code) else {
            return true;
        };
        match levels.level(lint) {
            Level::Allow => false,
            Level::Warn => {
                d.severity = Severity::Warning;
                true
            }
            Level::Deny => {
                d.severity = Severity::Error;
                true
            }
        }
    });
}
