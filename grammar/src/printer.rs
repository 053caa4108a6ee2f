//! Placeholder: the canonical printer is being written.
use crate::ast::File;

/// Prints a tree as canonical `.sbx` text, comments kept.
pub fn print(file: &File) -> String {
    let _ = file;
    String::new()
}
