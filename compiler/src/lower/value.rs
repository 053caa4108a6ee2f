//! Typed reading of values: each getter returns the value when it has the
//! expected form, and otherwise reports `expected X, found Y` with an
//! example and returns `None`.

use std::collections::HashSet;

use sbx_grammar::ast::{MapEntry, Value, ValueKind};

use super::{Field, Lowerer};
use crate::suggest;

impl Lowerer {
    /// `expected X, found Y` on `value` (the field's value or an item of it).
    pub(crate) fn type_error(&mut self, field: &Field, value: &Value, expected: &str) {
        let help = match &value.kind {
            ValueKind::Word(w) | ValueKind::Address(w) if expected.contains("string") => {
                format!("quote it: `\"{w}\"`")
            }
            ValueKind::String(s) if expected.contains("word") => {
                format!("write it without quotes: `{}`", s.value)
            }
            _ => format!("for example `{}`", field.spec.example),
        };
        self.error(
            "sbx::value::type",
            format!(
                "`{}` expects {expected}, found {}",
                field.name(),
                value.describe()
            ),
            value.span,
            format!("{} here", value.describe()),
            help,
        );
    }

    /// A range error on a value: `code` names the area (`sbx::limits::range`).
    pub(crate) fn range_error(
        &mut self,
        code: &str,
        field: &Field,
        value: &Value,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        let _ = field;
        self.error(code, message, value.span, "out of range", help);
    }

    pub(crate) fn string(&mut self, field: &Field) -> Option<String> {
        self.string_item(field, field.value, "a string")
    }

    pub(crate) fn string_item(
        &mut self,
        field: &Field,
        value: &Value,
        expected: &str,
    ) -> Option<String> {
        match &value.kind {
            ValueKind::String(s) => Some(s.value.clone()),
            _ => {
                self.type_error(field, value, expected);
                None
            }
        }
    }

    pub(crate) fn integer(&mut self, field: &Field) -> Option<u64> {
        self.integer_item(field, field.value, "an integer")
    }

    pub(crate) fn integer_item(
        &mut self,
        field: &Field,
        value: &Value,
        expected: &str,
    ) -> Option<u64> {
        match &value.kind {
            ValueKind::Integer(i) => Some(i.value),
            _ => {
                self.type_error(field, value, expected);
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, field: &Field) -> Option<bool> {
        match &field.value.kind {
            ValueKind::Bool(b) => Some(b.value),
            _ => {
                self.type_error(field, field.value, "a boolean (`true` or `false`)");
                None
            }
        }
    }

    /// A list; `expected` describes the whole (`a list of strings`).
    pub(crate) fn list<'v>(&mut self, field: &Field<'v>, expected: &str) -> Option<&'v [Value]> {
        match &field.value.kind {
            ValueKind::List(items) => Some(items),
            _ => {
                self.type_error(field, field.value, expected);
                None
            }
        }
    }

    /// A list of strings, each with its value.
    pub(crate) fn string_list<'v>(
        &mut self,
        field: &Field<'v>,
    ) -> Option<Vec<(String, &'v Value)>> {
        let items = self.list(field, "a list of strings")?;
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            match self.string_item(field, item, "a list of strings") {
                Some(s) => out.push((s, item)),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A map whose values are strings; duplicate keys are reported.
    pub(crate) fn string_map(
        &mut self,
        field: &Field,
    ) -> Option<Vec<(String, String, MapEntryRef)>> {
        let ValueKind::Map(entries) = &field.value.kind else {
            self.type_error(field, field.value, "a map of strings");
            return None;
        };
        if !self.unique_map_keys(field, entries) {
            return None;
        }
        let mut out = Vec::with_capacity(entries.len());
        let mut ok = true;
        for entry in entries {
            match self.string_item(field, &entry.value, "a map of strings") {
                Some(v) => out.push((
                    entry.key.node.clone(),
                    v,
                    MapEntryRef {
                        key_span: entry.key.span,
                    },
                )),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Reports map keys given twice; true when all are unique.
    pub(crate) fn unique_map_keys(&mut self, field: &Field, entries: &[MapEntry]) -> bool {
        let mut seen = HashSet::with_capacity(entries.len());
        let mut ok = true;
        for entry in entries {
            if !seen.insert(entry.key.node.as_str()) {
                let first = entries
                    .iter()
                    .find(|e| e.key.node == entry.key.node)
                    .expect("seen before");
                self.push(
                    crate::Diagnostic::error(
                        "sbx::value::duplicate-map-key",
                        format!(
                            "the map of `{}` has the key `{}` twice",
                            field.name(),
                            entry.key.node
                        ),
                    )
                    .with_label(entry.key.span, "given again here")
                    .with_label(first.key.span, "first given here")
                    .with_help("keys of a map are unique; remove one"),
                );
                ok = false;
            }
        }
        ok
    }

    /// A bare word that must be one of `members`. `what` names the kind of
    /// member in messages (`network type`).
    pub(crate) fn word<'m>(
        &mut self,
        field: &Field,
        value: &Value,
        members: &[&'m str],
        code: &str,
        what: &str,
    ) -> Option<&'m str> {
        let ValueKind::Word(w) = &value.kind else {
            self.type_error(
                field,
                value,
                &format!("a bare word ({})", quoted_list(members)),
            );
            return None;
        };
        if let Some(m) = members.iter().find(|m| **m == w.as_str()) {
            return Some(m);
        }
        let help = match suggest::did_you_mean(w, members.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("write one of {}", quoted_list(members)),
        };
        self.error(
            code,
            format!("unknown {what} `{w}`"),
            value.span,
            format!("not a {what}"),
            help,
        );
        None
    }
}

/// The span of a map entry's key, kept for the span table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MapEntryRef {
    pub key_span: sbx_grammar::ast::Span,
}

/// "`a`, `b` or `c`"
pub(crate) fn quoted_list(members: &[&str]) -> String {
    let quoted: Vec<String> = members.iter().map(|m| format!("`{m}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}
