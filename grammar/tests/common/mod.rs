//! Helpers shared by the grammar's integration tests.
#![allow(dead_code)]

use sbx_grammar::ast::*;
use sbx_grammar::{parse, SyntaxError};

/// Parses `src`, panicking with the errors if it does not parse.
pub fn parse_ok(src: &str) -> File {
    match parse(SourceId(7), src) {
        Ok(file) => file,
        Err(errors) => panic!("{src:?} should parse, got {errors:#?}"),
    }
}

/// Parses `src`, panicking if it parses.
pub fn parse_err(src: &str) -> Vec<SyntaxError> {
    match parse(SourceId(7), src) {
        Ok(file) => panic!("{src:?} should not parse, got {file:#?}"),
        Err(errors) => {
            assert!(!errors.is_empty());
            errors
        }
    }
}

/// The only error of `src`, with the text its span covers.
pub fn single_error(src: &str) -> (SyntaxError, String) {
    let errors = parse_err(src);
    assert_eq!(
        errors.len(),
        1,
        "{src:?}: expected one error, got {errors:#?}"
    );
    let e = errors.into_iter().next().unwrap();
    let text = src[e.span.start..e.span.end].to_string();
    (e, text)
}

/// The value of `x = <text>`.
pub fn value(text: &str) -> Value {
    let src = format!("x = {text}");
    let file = parse_ok(&src);
    match file.body.into_iter().next().map(|s| s.kind) {
        Some(StatementKind::Assignment(a)) => a.value,
        other => panic!("not an assignment: {other:?}"),
    }
}

pub fn kind(text: &str) -> ValueKind {
    value(text).kind
}

/// The text a span covers.
pub fn text_of(src: &str, span: Span) -> &str {
    &src[span.start..span.end]
}

/// A copy of the tree with every span made synthetic and every trivia
/// dropped, and with what the printer normalises normalised (the `"""`
/// flag follows the newline, labels and map keys are quoted only when they
/// must be): two trees that print the same compare equal.
pub fn strip(file: &File) -> File {
    File {
        source: SourceId(0),
        includes: file
            .includes
            .iter()
            .map(|i| Include {
                path: Spanned::new(i.path.node.clone(), Span::synthetic()),
                span: Span::synthetic(),
                trivia: Trivia::default(),
            })
            .collect(),
        body: file.body.iter().map(strip_statement).collect(),
        trailing_comments: Vec::new(),
    }
}

pub fn strip_key(key: &Key) -> Key {
    Key::synthetic(&key.dotted())
}

pub fn strip_statement(s: &Statement) -> Statement {
    let kind = match &s.kind {
        StatementKind::Assignment(a) => StatementKind::Assignment(Assignment {
            key: strip_key(&a.key),
            value: strip_value(&a.value),
        }),
        StatementKind::Block(b) => StatementKind::Block(Block {
            key: strip_key(&b.key),
            label: b.label.as_ref().map(|l| Label {
                name: l.name.clone(),
                quoted: !sbx_grammar::printer::is_ident(&l.name),
                span: Span::synthetic(),
            }),
            body: b.body.iter().map(strip_statement).collect(),
            trailing_comments: Vec::new(),
        }),
    };
    Statement {
        kind,
        span: Span::synthetic(),
        trivia: Trivia::default(),
    }
}

pub fn strip_value(v: &Value) -> Value {
    let kind = match &v.kind {
        ValueKind::String(s) => ValueKind::String(StringLit {
            value: s.value.clone(),
            multiline: s.value.contains('\n'),
        }),
        ValueKind::List(items) => ValueKind::List(items.iter().map(strip_value).collect()),
        ValueKind::Map(entries) => ValueKind::Map(
            entries
                .iter()
                .map(|e| MapEntry {
                    key: Spanned::new(e.key.node.clone(), Span::synthetic()),
                    quoted_key: !sbx_grammar::printer::is_ident(&e.key.node),
                    value: strip_value(&e.value),
                })
                .collect(),
        ),
        other => other.clone(),
    };
    Value::synthetic(kind)
}

/// Every comment text in the tree, in source order.
pub fn all_comments(file: &File) -> Vec<String> {
    fn trivia(t: &Trivia, out: &mut Vec<(usize, String)>) {
        for c in &t.leading {
            out.push((c.span.start, c.text.clone()));
        }
        if let Some(c) = &t.trailing {
            out.push((c.span.start, c.text.clone()));
        }
    }
    fn statements(body: &[Statement], out: &mut Vec<(usize, String)>) {
        for s in body {
            trivia(&s.trivia, out);
            if let StatementKind::Block(b) = &s.kind {
                statements(&b.body, out);
                for c in &b.trailing_comments {
                    out.push((c.span.start, c.text.clone()));
                }
            }
        }
    }
    let mut out = Vec::new();
    for i in &file.includes {
        trivia(&i.trivia, &mut out);
    }
    statements(&file.body, &mut out);
    for c in &file.trailing_comments {
        out.push((c.span.start, c.text.clone()));
    }
    out.sort();
    out.into_iter().map(|(_, t)| t).collect()
}
