//! Placeholder: the pest parser is being written.
use crate::ast::{File, SourceId};
use crate::SyntaxError;

/// The deepest nesting of blocks, lists and maps the parser accepts.
pub const MAX_NESTING_DEPTH: usize = 64;

/// Parses one source text. Returns the tree when there was no error; every
/// error found otherwise (at least one).
pub fn parse(source: SourceId, text: &str) -> Result<File, Vec<SyntaxError>> {
    let _ = text;
    Ok(File {
        source,
        ..File::default()
    })
}
