//! The sbx compiler: a staged pipeline from profile text to a validated
//! [`sbx_plan::Plan`]: parse, resolve includes, lower (units, defaults),
//! validate, lint. Every problem found is a [`Diagnostic`]; a plan is only
//! produced when there is no error.

pub mod diagnostic;
pub mod emit;
pub mod import;
pub mod suggest;

pub use diagnostic::{Diagnostic, Label, Severity, SourceFile, SourceMap};

use std::path::Path;

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
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Compiles the profile at `path`, following its includes.
pub fn compile_file(path: &Path) -> Compilation {
    let _ = path;
    unimplemented!("being written")
}

/// Compiles profile text that has no file of its own; includes resolve
/// relative to the current directory.
pub fn compile_source(name: &str, text: &str) -> Compilation {
    let _ = (name, text);
    unimplemented!("being written")
}
