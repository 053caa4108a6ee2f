//! The sbx compiler: a staged pipeline from profile text to a validated
//! [`sbx_plan::Plan`]: read, parse, resolve includes, lower (units,
//! defaults) and validate, lint. Every problem found is a [`Diagnostic`]; a
//! plan is only produced when there is no error.

pub mod address;
pub mod capability;
pub mod diagnostic;
pub mod emit;
pub mod foreign;
pub mod import;
mod include;
pub mod lint;
mod lower;
pub mod sarif;
pub mod score;
pub mod signal;
mod source;
pub mod spans;
pub mod suggest;
pub mod vocabulary;

pub use diagnostic::{Diagnostic, Label, Severity, SourceFile, SourceMap};
pub use spans::SpanTable;

use std::path::{Path, PathBuf};

use sbx_grammar::ast::{SourceId, Span};
use sbx_plan::Plan;

/// The outcome of compiling one profile.
#[derive(Debug)]
pub struct Compilation {
    /// Present when no diagnostic is an error.
    pub plan: Option<Plan>,
    /// Every problem found, errors and warnings, in source order.
    pub diagnostics: Vec<Diagnostic>,
    /// Every source read (the profile and its includes).
    pub sources: SourceMap,
    /// Plan path to the profile text it came from (also in
    /// `plan.sources` as file, line and column).
    pub spans: SpanTable,
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Compiles the profile at `path`, following its includes.
pub fn compile_file(path: &Path) -> Compilation {
    compile_file_with(path, &lint::Levels::default())
}

/// [`compile_file`] with lint levels other than the defaults (`sbx check
/// --allow/--warn/--deny`).
pub fn compile_file_with(path: &Path, levels: &lint::Levels) -> Compilation {
    let name = path.display().to_string();
    let mut sources = SourceMap::new();
    let mut diagnostics = Vec::new();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            diagnostics.push(
                Diagnostic::error(
                    "sbx::source::unreadable",
                    format!("cannot read `{name}`: {e}"),
                )
                .with_help("check the path and its permissions"),
            );
            return finish(None, diagnostics, sources, SpanTable::default());
        }
    };
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = absolute
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let id = source::load(
        &mut sources,
        Some(absolute.canonicalize().unwrap_or(absolute.clone())),
        name.clone(),
        bytes,
        &mut diagnostics,
    );
    compile_loaded(id, &absolute, &name, dir, sources, diagnostics, levels)
}

/// Compiles profile text that has no file of its own; includes and
/// relative `from` paths resolve relative to the current directory.
pub fn compile_source(name: &str, text: &str) -> Compilation {
    let mut sources = SourceMap::new();
    let mut diagnostics = Vec::new();
    let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let id = source::load(
        &mut sources,
        None,
        name.to_string(),
        text.as_bytes().to_vec(),
        &mut diagnostics,
    );
    compile_loaded(
        id,
        &dir.join(name),
        name,
        dir,
        sources,
        diagnostics,
        &lint::Levels::default(),
    )
}

fn compile_loaded(
    id: Option<SourceId>,
    path: &Path,
    name: &str,
    dir: PathBuf,
    mut sources: SourceMap,
    mut diagnostics: Vec<Diagnostic>,
    levels: &lint::Levels,
) -> Compilation {
    let Some(id) = id else {
        return finish(None, diagnostics, sources, SpanTable::default());
    };
    let body = {
        let mut resolver = include::Resolver::new(&mut sources, &mut diagnostics);
        resolver.enter_root(path, name);
        resolver.resolve(id, &dir)
    };
    if diagnostics.iter().any(Diagnostic::is_error) && body.is_empty() {
        // Nothing parsed: lowering would only add noise such as a missing
        // command.
        return finish(None, diagnostics, sources, SpanTable::default());
    }
    let mut lowerer = lower::Lowerer::new(dir);
    let mut plan = lowerer.lower(&body);
    diagnostics.append(&mut lowerer.diagnostics);
    let spans = lowerer.spans;
    // Lints run on the plan even when there are errors, so that one run
    // shows every problem; the plan itself is only handed out without.
    diagnostics.extend(lint::run(&plan, &spans));
    drop_cascades(&mut diagnostics);
    lint::finish(&mut diagnostics, &sources, levels);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return finish(None, diagnostics, sources, spans);
    }
    plan.sources = spans.locations(&sources);
    finish(Some(plan), diagnostics, sources, spans)
}

/// A value the parser refused stays in the tree as a stand-in, so that the
/// rest of the profile is still checked. What a later stage says at the
/// place of such a value is a consequence of the parse error, not a problem
/// of its own: it is dropped.
fn drop_cascades(diagnostics: &mut Vec<Diagnostic>) {
    let is_parse = |d: &Diagnostic| sbx_grammar::ERROR_CODES.contains(&d.code.as_str());
    let refused: Vec<Span> = diagnostics
        .iter()
        .filter(|d| is_parse(d))
        .filter_map(Diagnostic::primary_span)
        .collect();
    if refused.is_empty() {
        return;
    }
    let overlaps = |a: Span, b: Span| a.source == b.source && a.start <= b.end && b.start <= a.end;
    diagnostics.retain(|d| {
        is_parse(d)
            || d.primary_span()
                .is_none_or(|span| !refused.iter().any(|r| overlaps(span, *r)))
    });
}

fn finish(
    plan: Option<Plan>,
    mut diagnostics: Vec<Diagnostic>,
    sources: SourceMap,
    spans: SpanTable,
) -> Compilation {
    // Source order: by file (the profile first, includes in the order they
    // were read), then by position; diagnostics without a place first.
    diagnostics.sort_by_key(|d| d.primary_span().map(|s| (s.source, s.start)));
    Compilation {
        plan,
        diagnostics,
        sources,
        spans,
    }
}
