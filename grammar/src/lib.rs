//! The `.sbx` profile grammar: a pest parser that builds the spanned syntax
//! tree of [`ast`], and the printer that turns a tree back into canonical
//! text (`sbx fmt`, `sbx convert`).
//!
//! This crate knows the syntax only, never what a key means.

pub mod ast;
mod error;
mod parser;
pub mod printer;

pub use error::SyntaxError;
pub use parser::{parse, parse_recovering, ERROR_CODES, MAX_NESTING_DEPTH};
