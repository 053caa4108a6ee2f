//! The side table from plan paths to the profile text they came from.

use std::collections::BTreeMap;

use sbx_grammar::ast::Span;
use sbx_plan::SourceLocation;

use crate::diagnostic::SourceMap;

/// Plan path (`limits.memory_max`, `mounts.0`, `network.interfaces.1.link`)
/// to the span of the profile text it came from. Besides plan paths, the
/// table holds `capabilities.added.CAP_X` (the place a capability was
/// added) for lints.
#[derive(Debug, Clone, Default)]
pub struct SpanTable {
    entries: BTreeMap<String, Span>,
}

impl SpanTable {
    pub fn insert(&mut self, path: impl Into<String>, span: Span) {
        if !span.is_synthetic() {
            self.entries.insert(path.into(), span);
        }
    }

    pub fn get(&self, path: &str) -> Option<Span> {
        self.entries.get(path).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, Span)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// The table as plan [`SourceLocation`]s.
    pub fn locations(&self, sources: &SourceMap) -> BTreeMap<String, SourceLocation> {
        self.entries
            .iter()
            .filter_map(|(path, span)| {
                let file = sources.get(span.source)?;
                let (line, column) = file.line_column(span.start);
                Some((
                    path.clone(),
                    SourceLocation {
                        file: file.name.clone(),
                        line: line as u32,
                        column: column as u32,
                    },
                ))
            })
            .collect()
    }
}
