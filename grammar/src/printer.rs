//! The canonical printer: turns a tree (parsed or built by an importer) back
//! into `.sbx` text that parses to the same tree.
//!
//! Canonical form (documented in `docs/grammar.md`): 4-space indentation,
//! one statement per line, `key = value`, `=` aligned in runs of consecutive
//! one-line assignments, literals as written (radix, units, boolean word),
//! lists and maps on one line when they fit in [`MAX_WIDTH`] columns and
//! otherwise one item per line with a trailing comma, `"""` for strings with
//! newlines, labels quoted only when they are not a bare ident, comments and
//! single blank lines kept.

use crate::ast::{
    Block, Comment, DecimalLit, DurationLit, File, Key, Label, MapEntry, Protocol, Radix, SizeLit,
    SizeUnit, Statement, StatementKind, Trivia, Value, ValueKind,
};
use crate::parser::parse_standalone_value;

/// Lists and maps longer than this (counting indentation) are printed one
/// item per line.
pub const MAX_WIDTH: usize = 80;

const INDENT: &str = "    ";

/// Prints a tree as canonical `.sbx` text, comments kept.
pub fn print(file: &File) -> String {
    let mut out = String::new();
    let mut lines: Vec<Line> = Vec::new();
    for include in &file.includes {
        lines.push(Line {
            trivia: &include.trivia,
            content: Content::Text(format!("include {}", quote(&include.path.node))),
        });
    }
    for statement in &file.body {
        lines.push(statement_line(statement));
    }
    print_body(&mut out, &lines, 0, true);
    print_comments(&mut out, &file.trailing_comments, 0);
    out
}

/// Prints a single value in canonical form (for messages and importers).
pub fn print_value(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0, 0);
    out
}

/// Whether `text` is an ident (`[A-Za-z_][A-Za-z0-9_-]*`), so that it can be
/// a key part, a bare label or a bare map key.
pub fn is_ident(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// One statement of a body, ready to print.
struct Line<'a> {
    trivia: &'a Trivia,
    content: Content<'a>,
}

enum Content<'a> {
    /// `include "..."`.
    Text(String),
    Assignment {
        key: String,
        value: &'a Value,
    },
    Block(&'a Block),
}

fn statement_line(statement: &Statement) -> Line<'_> {
    Line {
        trivia: &statement.trivia,
        content: match &statement.kind {
            StatementKind::Assignment(a) => Content::Assignment {
                key: key_text(&a.key),
                value: &a.value,
            },
            StatementKind::Block(b) => Content::Block(b),
        },
    }
}

fn key_text(key: &Key) -> String {
    key.dotted()
}

fn print_body(out: &mut String, lines: &[Line<'_>], depth: usize, is_file: bool) {
    let indent = INDENT.repeat(depth);
    // Alignment runs: consecutive one-line assignments with no blank line
    // between them share the column of `=` and of trailing comments.
    let one_line: Vec<Option<String>> = lines
        .iter()
        .map(|line| match &line.content {
            Content::Assignment { key, value } => {
                single_line_value(value, indent.len() + key.chars().count() + 3)
            }
            _ => None,
        })
        .collect();
    let mut key_width = vec![0; lines.len()];
    let mut comment_column = vec![0; lines.len()];
    let mut start = 0;
    while start < lines.len() {
        let mut end = start;
        while end < lines.len()
            && one_line[end].is_some()
            && (end == start || !lines[end].trivia.blank_line_before)
        {
            end += 1;
        }
        if end == start {
            start += 1;
            continue;
        }
        let width = lines[start..end]
            .iter()
            .map(|l| match &l.content {
                Content::Assignment { key, .. } => key.chars().count(),
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        let column = (start..end)
            .filter(|&i| lines[i].trivia.trailing.is_some())
            .map(|i| width + 3 + one_line[i].as_deref().map_or(0, |v| v.chars().count()))
            .max()
            .unwrap_or(0);
        for i in start..end {
            key_width[i] = width;
            comment_column[i] = column;
        }
        start = end;
    }

    for (index, line) in lines.iter().enumerate() {
        let trivia = line.trivia;
        if index == 0 && is_file {
            print_comments(out, &trivia.leading, depth);
            if trivia.blank_line_before && !trivia.leading.is_empty() {
                out.push('\n');
            }
        } else {
            if index > 0 && trivia.blank_line_before {
                out.push('\n');
            }
            print_comments(out, &trivia.leading, depth);
        }
        out.push_str(&indent);
        let line_start = out.len();
        match &line.content {
            Content::Text(text) => {
                out.push_str(text);
                push_trailing(out, trivia.trailing.as_ref(), None);
            }
            Content::Assignment { key, value } => {
                out.push_str(key);
                if let Some(text) = &one_line[index] {
                    let pad = key_width[index].saturating_sub(key.chars().count());
                    out.push_str(&" ".repeat(pad));
                    out.push_str(" = ");
                    out.push_str(text);
                    let written = out[line_start..].chars().count();
                    push_trailing(
                        out,
                        trivia.trailing.as_ref(),
                        Some((written, comment_column[index])),
                    );
                } else {
                    out.push_str(" = ");
                    let column = out[line_start..].chars().count() + depth * INDENT.len();
                    write_value(out, value, depth, column);
                    push_trailing(out, trivia.trailing.as_ref(), None);
                }
            }
            Content::Block(block) => write_block(out, block, trivia, depth),
        }
        out.push('\n');
    }
}

/// Appends `  # comment`, aligned to `column` when given.
fn push_trailing(out: &mut String, comment: Option<&Comment>, align: Option<(usize, usize)>) {
    let Some(comment) = comment else { return };
    let pad = match align {
        Some((written, column)) if column > written => column - written + 2,
        _ => 2,
    };
    out.push_str(&" ".repeat(pad));
    out.push('#');
    out.push_str(comment_text(&comment.text).trim_end());
}

/// A comment's text on one line (an importer's comment may hold newlines).
fn comment_text(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

fn print_comments(out: &mut String, comments: &[Comment], depth: usize) {
    for comment in comments {
        for line in comment.text.split('\n') {
            out.push_str(&INDENT.repeat(depth));
            out.push('#');
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
}

fn write_block(out: &mut String, block: &Block, trivia: &Trivia, depth: usize) {
    out.push_str(&key_text(&block.key));
    if let Some(label) = &block.label {
        out.push(' ');
        out.push_str(&label_text(label));
    }
    if block.body.is_empty() && block.trailing_comments.is_empty() {
        out.push_str(" {}");
        push_trailing(out, trivia.trailing.as_ref(), None);
        return;
    }
    out.push_str(" {");
    push_trailing(out, trivia.trailing.as_ref(), None);
    out.push('\n');
    let lines: Vec<Line<'_>> = block.body.iter().map(statement_line).collect();
    print_body(out, &lines, depth + 1, false);
    print_comments(out, &block.trailing_comments, depth + 1);
    out.push_str(&INDENT.repeat(depth));
    out.push('}');
}

fn label_text(label: &Label) -> String {
    if is_ident(&label.name) {
        label.name.clone()
    } else {
        quote(&label.name)
    }
}

fn map_key_text(entry: &MapEntry) -> String {
    if is_ident(&entry.key.node) {
        entry.key.node.clone()
    } else {
        quote(&entry.key.node)
    }
}

/// The value on one line, if it has no multi-line string and (for lists
/// and maps) fits in [`MAX_WIDTH`] when it starts at `column`. A long
/// scalar stays on one line: there is nowhere to break it.
fn single_line_value(value: &Value, column: usize) -> Option<String> {
    let text = flat_value(value)?;
    let fits = column + text.chars().count() <= MAX_WIDTH;
    let breakable = matches!(value.kind, ValueKind::List(_) | ValueKind::Map(_));
    (fits || !breakable).then_some(text)
}

/// The value on one line, or `None` when it contains a multi-line string.
fn flat_value(value: &Value) -> Option<String> {
    Some(match &value.kind {
        ValueKind::String(s) if s.value.contains('\n') => return None,
        ValueKind::List(items) => {
            let items: Option<Vec<String>> = items.iter().map(flat_value).collect();
            format!("[{}]", items?.join(", "))
        }
        ValueKind::Map(entries) if entries.is_empty() => "{}".to_string(),
        ValueKind::Map(entries) => {
            let entries: Option<Vec<String>> = entries
                .iter()
                .map(|e| Some(format!("{} = {}", map_key_text(e), flat_value(&e.value)?)))
                .collect();
            format!("{{ {} }}", entries?.join(", "))
        }
        _ => scalar_text(value),
    })
}

/// Writes a value that starts at `column` on a line indented `depth` levels.
fn write_value(out: &mut String, value: &Value, depth: usize, column: usize) {
    if let Some(text) = single_line_value(value, column) {
        out.push_str(&text);
        return;
    }
    let inner = INDENT.repeat(depth + 1);
    match &value.kind {
        ValueKind::List(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("[\n");
            for item in items {
                out.push_str(&inner);
                write_value(out, item, depth + 1, inner.len());
                out.push_str(",\n");
            }
            out.push_str(&INDENT.repeat(depth));
            out.push(']');
        }
        ValueKind::Map(entries) => {
            if entries.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push_str("{\n");
            for entry in entries {
                out.push_str(&inner);
                let key = map_key_text(entry);
                out.push_str(&key);
                out.push_str(" = ");
                write_value(out, &entry.value, depth + 1, inner.len() + key.len() + 3);
                out.push_str(",\n");
            }
            out.push_str(&INDENT.repeat(depth));
            out.push('}');
        }
        ValueKind::String(s) if s.value.contains('\n') => {
            write_multiline_string(out, &s.value, depth + 1)
        }
        _ => out.push_str(&scalar_text(value)),
    }
}

/// `"""`, a newline, each line indented one level deeper than the
/// statement, and the closing quotes on a line of their own at that same
/// indentation (so the dedent rule strips exactly the added indentation).
fn write_multiline_string(out: &mut String, value: &str, depth: usize) {
    let indent = INDENT.repeat(depth);
    out.push_str("\"\"\"\n");
    for line in value.split('\n') {
        if !line.is_empty() {
            out.push_str(&indent);
            out.push_str(&escape_multiline(line));
        }
        out.push('\n');
    }
    out.push_str(&indent);
    out.push_str("\"\"\"");
}

/// Escapes one line of a `"""` string: backslashes, every third quote of a
/// run (so that no `"""` appears), and control characters other than tab.
fn escape_multiline(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut quotes = 0;
    for c in line.chars() {
        if c == '"' {
            quotes += 1;
            if quotes % 3 == 0 {
                out.push_str("\\\"");
            } else {
                out.push('"');
            }
            continue;
        }
        quotes = 0;
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push('\t'),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A string in `"..."` with every character that needs it escaped.
pub(crate) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_decimal(text: &str) -> bool {
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

fn scalar_text(value: &Value) -> String {
    match &value.kind {
        ValueKind::String(s) => quote(&s.value),
        ValueKind::Integer(i) => match i.radix {
            Radix::Decimal => i.value.to_string(),
            Radix::Octal => format!("0o{:03o}", i.value),
            Radix::Hex => format!("0x{:x}", i.value),
        },
        ValueKind::Size(size) => size_text(size),
        ValueKind::Percent(p) => {
            if is_decimal(&p.text) {
                format!("{}%", p.text)
            } else {
                "0%".to_string()
            }
        }
        ValueKind::Duration(d) => duration_text(d),
        ValueKind::Bool(b) => {
            let word_matches = match b.word.as_str() {
                "true" | "yes" | "on" => b.value,
                "false" | "no" | "off" => !b.value,
                _ => false,
            };
            if word_matches {
                b.word.clone()
            } else {
                b.value.to_string()
            }
        }
        ValueKind::Word(word) => match parse_standalone_value(word) {
            Some(ValueKind::Word(w)) if &w == word => w,
            // Not a bare word (`true`, `1G`, text with spaces): quote it.
            _ => quote(word),
        },
        ValueKind::Address(address) => match parse_standalone_value(address) {
            Some(ValueKind::Address(a)) if &a == address => a,
            _ => quote(address),
        },
        ValueKind::Port(port) => format!(
            "{}/{}",
            port.number,
            match port.protocol {
                Protocol::Tcp => "tcp",
                Protocol::Udp => "udp",
            }
        ),
        ValueKind::List(_) | ValueKind::Map(_) => flat_value(value).unwrap_or_default(),
    }
}

/// A size as written; a size in bytes (or with an unusable number) in the
/// largest unit that divides it exactly, or as a plain integer (bytes).
fn size_text(size: &SizeLit) -> String {
    if size.unit != SizeUnit::Bytes && is_decimal(&size.number.text) {
        return format!("{}{}", size.number.text, size.unit.suffix());
    }
    let bytes = if size.unit == SizeUnit::Bytes && is_decimal(&size.number.text) {
        DecimalLit {
            text: size.number.text.clone(),
        }
        .scaled_exact(1)
        .unwrap_or(size.bytes)
    } else {
        size.bytes
    };
    for unit in [SizeUnit::T, SizeUnit::G, SizeUnit::M, SizeUnit::K] {
        if bytes != 0 && bytes % unit.multiplier() == 0 {
            return format!("{}{}", bytes / unit.multiplier(), unit.suffix());
        }
    }
    bytes.to_string()
}

fn duration_text(duration: &DurationLit) -> String {
    if is_decimal(&duration.number.text) {
        format!("{}{}", duration.number.text, duration.unit.suffix())
    } else {
        format!("{}us", duration.micros)
    }
}
