use crate::ast::Span;

/// A problem found while parsing: the text is not a well-formed profile.
///
/// `code` is stable (`sbx::parse::...`), `message` is lowercase without a
/// final period, `label` is the short text shown at the span and `help`
/// says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    pub code: &'static str,
    pub message: String,
    pub span: Span,
    pub label: String,
    pub help: Option<String>,
}
