//! Diagnostics: every problem the compiler, an importer or a lint finds.
//!
//! A [`Diagnostic`] is plain data (code, severity, message, labelled spans,
//! help) over a [`SourceMap`]. Rendering for people goes through miette;
//! rendering for machines is [`Diagnostic::to_json`].

use std::path::{Path, PathBuf};

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use sbx_grammar::ast::{SourceId, Span};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A span and the short text shown under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code: `sbx::parse::...`, `sbx::limits::range`, `sbx::lint::...`.
    pub code: String,
    pub severity: Severity,
    /// Lowercase, no final period, user text in backticks.
    pub message: String,
    /// The first label is the primary place.
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            code: code.into(),
            severity: Severity::Error,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The primary span, if the diagnostic has one in a real source.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels
            .first()
            .map(|l| l.span)
            .filter(|s| !s.is_synthetic())
    }

    /// One machine-readable object: code, severity, message, file, line,
    /// column (1-based, characters), end_line, end_column, help.
    pub fn to_json(&self, sources: &SourceMap) -> serde_json::Value {
        let place = self.primary_span().and_then(|span| {
            let file = sources.get(span.source)?;
            let (line, column) = file.line_column(span.start);
            let (end_line, end_column) = file.line_column(span.end);
            Some((file.name.clone(), line, column, end_line, end_column))
        });
        let (file, line, column, end_line, end_column) = match place {
            Some((f, l, c, el, ec)) => (
                serde_json::Value::from(f),
                serde_json::Value::from(l),
                serde_json::Value::from(c),
                serde_json::Value::from(el),
                serde_json::Value::from(ec),
            ),
            None => Default::default(),
        };
        serde_json::json!({
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "file": file,
            "line": line,
            "column": column,
            "end_line": end_line,
            "end_column": end_column,
            "help": self.help,
        })
    }

    /// Renders for a person, as `sbx check` prints it.
    pub fn render(&self, sources: &SourceMap, color: bool) -> String {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
        let report = MietteView {
            diagnostic: self,
            source: self
                .primary_span()
                .and_then(|span| sources.get(span.source))
                .map(|f| NamedSource::new(f.name.clone(), f.text.clone())),
        };
        let mut out = String::new();
        handler
            .render_report(&mut out, &report)
            .expect("rendering to a String does not fail");
        out
    }
}

/// The view of a [`Diagnostic`] that miette renders. Labels in another
/// source than the primary one are left out of the snippet.
#[derive(Debug)]
struct MietteView<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<NamedSource<String>>,
}

impl std::fmt::Display for MietteView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for MietteView<'_> {}

impl miette::Diagnostic for MietteView<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(&self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        let primary = self.diagnostic.primary_span()?.source;
        Some(Box::new(
            self.diagnostic
                .labels
                .iter()
                .filter(move |l| l.span.source == primary)
                .map(|l| {
                    LabeledSpan::new_with_span(
                        Some(l.text.clone()),
                        SourceSpan::new(l.span.start.into(), l.span.len()),
                    )
                }),
        ))
    }
}

/// One source text known to the compiler.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path it was read from, if any.
    pub path: Option<PathBuf>,
    /// The name shown in diagnostics (the path as the user gave it).
    pub name: String,
    pub text: String,
    /// Byte offsets of line starts.
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: Option<PathBuf>, name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            path,
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let column = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        (line + 1, column + 1)
    }
}

/// Every source text of one compilation, addressed by [`SourceId`].
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> Self {
        SourceMap::default()
    }

    pub fn add(&mut self, file: SourceFile) -> SourceId {
        self.files.push(file);
        SourceId((self.files.len() - 1) as u32)
    }

    pub fn get(&self, id: SourceId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// The id of a file already read from `path`.
    pub fn find(&self, path: &Path) -> Option<SourceId> {
        self.files
            .iter()
            .position(|f| f.path.as_deref() == Some(path))
            .map(|i| SourceId(i as u32))
    }

    pub fn iter(&self) -> impl Iterator<Item = (SourceId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (SourceId(i as u32), f))
    }
}
