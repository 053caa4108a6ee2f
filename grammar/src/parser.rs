//! The parser: runs the pest grammar of `sbx.pest` and builds the spanned
//! tree of [`crate::ast`]. pest stays behind this module.
//!
//! Parsing happens in three steps:
//! 1. [`scan`]: one linear pass that tracks strings, comments and bracket
//!    nesting, so that nesting deeper than [`MAX_NESTING_DEPTH`] is reported
//!    before pest recurses, and so that syntax errors can name the unclosed
//!    bracket and parsing can resume at the next top-level line.
//! 2. pest, on the whole text (or, after a syntax error, on what follows it).
//! 3. The tree builder: turns pairs into AST nodes, attaches comments, and
//!    checks literals (escapes, overflow, whole bytes), collecting every
//!    lexical error instead of stopping at the first.

use pest::iterators::Pair;
use pest::Parser as _;

use crate::ast::{
    Assignment, Block, BoolLit, Comment, DecimalLit, DurationLit, DurationUnit, File, Include,
    IntegerLit, Key, Label, MapEntry, PortLit, Protocol, Radix, SizeLit, SizeUnit, SourceId, Span,
    Spanned, Statement, StatementKind, StringLit, Trivia, Value, ValueKind,
};
use crate::SyntaxError;

mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "sbx.pest"]
    pub struct SbxParser;
}

use grammar::{Rule, SbxParser};

/// The deepest nesting of blocks, lists and maps the parser accepts.
pub const MAX_NESTING_DEPTH: usize = 64;

/// At most this many syntax errors are reported for one file; after a
/// syntax error the rest of the file is re-parsed from the next top-level
/// line, and a long tail of garbage would otherwise give one error a line.
const MAX_SYNTAX_ERRORS: usize = 20;

/// Stable error codes, one per kind of problem (documented in
/// `docs/grammar.md`).
pub(crate) mod code {
    pub const SYNTAX: &str = "sbx::parse::syntax";
    pub const UNCLOSED: &str = "sbx::parse::unclosed";
    pub const UNEXPECTED_CLOSE: &str = "sbx::parse::unexpected-close";
    pub const TOO_DEEP: &str = "sbx::parse::too-deep";
    pub const BAD_ESCAPE: &str = "sbx::parse::bad-escape";
    pub const BAD_UNICODE_ESCAPE: &str = "sbx::parse::bad-unicode-escape";
    pub const NEWLINE_IN_STRING: &str = "sbx::parse::newline-in-string";
    pub const UNCLOSED_STRING: &str = "sbx::parse::unclosed-string";
    pub const LEADING_ZERO: &str = "sbx::parse::leading-zero";
    pub const INTEGER_OVERFLOW: &str = "sbx::parse::integer-overflow";
    pub const SIZE_FRACTION: &str = "sbx::parse::size-fraction";
    pub const SIZE_OVERFLOW: &str = "sbx::parse::size-overflow";
    pub const DURATION_FRACTION: &str = "sbx::parse::duration-fraction";
    pub const DURATION_OVERFLOW: &str = "sbx::parse::duration-overflow";
    pub const BAD_VALUE: &str = "sbx::parse::bad-value";
    pub const INCLUDE_NOT_FIRST: &str = "sbx::parse::include-not-first";
    pub const INCLUDE_IN_BLOCK: &str = "sbx::parse::include-in-block";
    pub const INCLUDE_SYNTAX: &str = "sbx::parse::include-syntax";
}

/// Every code a [`SyntaxError`] can carry (each is documented in
/// `docs/grammar.md`).
pub const ERROR_CODES: &[&str] = &[
    code::SYNTAX,
    code::UNCLOSED,
    code::UNEXPECTED_CLOSE,
    code::TOO_DEEP,
    code::BAD_ESCAPE,
    code::BAD_UNICODE_ESCAPE,
    code::NEWLINE_IN_STRING,
    code::UNCLOSED_STRING,
    code::LEADING_ZERO,
    code::INTEGER_OVERFLOW,
    code::SIZE_FRACTION,
    code::SIZE_OVERFLOW,
    code::DURATION_FRACTION,
    code::DURATION_OVERFLOW,
    code::BAD_VALUE,
    code::INCLUDE_NOT_FIRST,
    code::INCLUDE_IN_BLOCK,
    code::INCLUDE_SYNTAX,
];

/// Parses one source text. Returns the tree when there was no error; every
/// error found otherwise (at least one), in source order.
pub fn parse(source: SourceId, text: &str) -> Result<File, Vec<SyntaxError>> {
    match parse_recovering(source, text) {
        (Some(file), errors) if errors.is_empty() => Ok(file),
        (_, errors) => Err(errors),
    }
}

/// Parses one source text and returns every error found, with the tree
/// whenever the structure parsed (the errors are then only in values: a bad
/// escape, a leading zero, an overflow, a token that is no value). Such a
/// tree keeps a stand-in for each bad value, so that a caller can go on
/// checking the rest of the profile and report everything at once; it must
/// not report problems of its own at the spans of these errors.
pub fn parse_recovering(source: SourceId, text: &str) -> (Option<File>, Vec<SyntaxError>) {
    let scan = scan(text);
    if let Some(at) = scan.too_deep {
        let bracket = &text[at..at + 1];
        return (None, vec![SyntaxError {
            code: code::TOO_DEEP,
            message: format!("nesting is deeper than {MAX_NESTING_DEPTH} levels"),
            span: Span::new(source, at, at + 1),
            label: format!("this `{bracket}` opens level {}", MAX_NESTING_DEPTH + 1),
            help: Some(format!(
                "blocks, lists and maps nest at most {MAX_NESTING_DEPTH} deep; flatten the structure"
            )),
        }]);
    }

    match SbxParser::parse(Rule::file, text) {
        Ok(mut pairs) => {
            let file_pair = pairs.next().expect("the file rule always yields one pair");
            let mut builder = Builder::new(source, 0, true);
            let file = builder.file(file_pair);
            (Some(file), builder.finish())
        }
        Err(first) => (None, recover(source, text, &scan, first)),
    }
}

/// After the first syntax error: report it, collect lexical errors from the
/// well-formed text before it, and re-parse from the next top-level line to
/// find more.
fn recover(
    source: SourceId,
    text: &str,
    scan: &Scan,
    first: pest::error::Error<Rule>,
) -> Vec<SyntaxError> {
    let mut errors = Vec::new();
    let mut syntax_errors = 0;
    let mut segment_start = 0;
    let mut failure = Some(first);
    while let Some(error) = failure.take() {
        let at = segment_start + error_position(&error);
        errors.push(describe_syntax_error(
            source,
            text,
            scan,
            segment_start,
            at,
            &error,
        ));
        syntax_errors += 1;

        // The statements before the one that failed are well-formed: check
        // their literals too.
        let statement_start = scan
            .restart_points
            .iter()
            .rev()
            .copied()
            .find(|&p| p <= at)
            .unwrap_or(0)
            .max(segment_start);
        if statement_start > segment_start {
            if let Ok(mut pairs) =
                SbxParser::parse(Rule::file, &text[segment_start..statement_start])
            {
                let mut builder = Builder::new(source, segment_start, segment_start == 0);
                builder.file(pairs.next().expect("one file pair"));
                errors.extend(builder.errors);
            }
        }

        if syntax_errors >= MAX_SYNTAX_ERRORS {
            break;
        }
        let Some(next) = scan.restart_points.iter().copied().find(|&p| p > at) else {
            break;
        };
        segment_start = next;
        match SbxParser::parse(Rule::file, &text[next..]) {
            Ok(mut pairs) => {
                let mut builder = Builder::new(source, next, false);
                builder.file(pairs.next().expect("one file pair"));
                errors.extend(builder.errors);
            }
            Err(e) => failure = Some(e),
        }
    }
    errors.sort_by_key(|e| (e.span.start, e.span.end));
    errors
}

fn error_position(error: &pest::error::Error<Rule>) -> usize {
    match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((start, _)) => start,
    }
}

// ---------------------------------------------------------------------------
// The linear pre-scan
// ---------------------------------------------------------------------------

/// What one linear pass over the text found.
pub(crate) struct Scan {
    /// The byte offset of the first `[` or `{` that nests deeper than
    /// [`MAX_NESTING_DEPTH`].
    pub too_deep: Option<usize>,
    /// Starts of lines where parsing can resume after a syntax error: an
    /// ident at column 0, outside every string and bracket.
    pub restart_points: Vec<usize>,
    /// Every `[` and `{` with the offset where it closes (`None`: never).
    pub brackets: Vec<(usize, Option<usize>)>,
    /// `"` strings that reach the end of their line or of the file
    /// (start, end), and `"""` strings that reach the end of the file.
    pub unclosed_strings: Vec<(usize, usize)>,
}

/// Tracks strings, comments and brackets the way the grammar reads them,
/// in one pass. A `}` or `]` with nothing open is ignored (pest reports it).
pub(crate) fn scan(text: &str) -> Scan {
    let bytes = text.as_bytes();
    let mut open: Vec<usize> = Vec::new(); // indexes into `brackets`
    let mut brackets: Vec<(usize, Option<usize>)> = Vec::new();
    let mut restart_points = Vec::new();
    let mut too_deep = None;
    let mut unclosed_strings = Vec::new();
    let mut i = 0;
    let mut line_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if line_start {
            line_start = false;
            if open.is_empty() && (b.is_ascii_alphabetic() || b == b'_') {
                restart_points.push(i);
            }
        }
        match b {
            b'\n' => {
                line_start = true;
                i += 1;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                let start = i;
                i += 3;
                loop {
                    if i >= bytes.len() {
                        unclosed_strings.push((start, start + 3));
                        break;
                    }
                    if bytes[i] == b'\\' {
                        i += 2;
                    } else if bytes[i..].starts_with(b"\"\"\"") {
                        i += 3;
                        break;
                    } else {
                        i += 1;
                    }
                }
                i = i.min(bytes.len());
            }
            b'"' => {
                let start = i;
                i += 1;
                let mut closed = false;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' if i + 1 < bytes.len() && bytes[i + 1] != b'\n' => i += 2,
                        b'\\' => i += 1,
                        b'"' => {
                            i += 1;
                            closed = true;
                            break;
                        }
                        b'\n' => break,
                        _ => i += 1,
                    }
                }
                i = i.min(bytes.len());
                if !closed {
                    unclosed_strings.push((start, i));
                }
            }
            b'[' | b'{' => {
                if open.len() >= MAX_NESTING_DEPTH && too_deep.is_none() {
                    too_deep = Some(i);
                }
                open.push(brackets.len());
                brackets.push((i, None));
                i += 1;
            }
            b']' | b'}' => {
                if let Some(index) = open.pop() {
                    brackets[index].1 = Some(i);
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    Scan {
        too_deep,
        restart_points,
        brackets,
        unclosed_strings,
    }
}

// ---------------------------------------------------------------------------
// Syntax errors in user terms
// ---------------------------------------------------------------------------

/// What the user would call the thing a rule stands for.
fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::eq => "`=`",
        Rule::lbrace => "`{`",
        Rule::rbrace => "`}`",
        Rule::lbracket => "`[`",
        Rule::rbracket => "`]`",
        Rule::comma => "`,`",
        Rule::semi => "a newline or `;`",
        Rule::EOI => "the end of the file",
        Rule::include_stmt
        | Rule::kw_include
        | Rule::assignment
        | Rule::block
        | Rule::key
        | Rule::file => "a key",
        Rule::ident => "a name",
        Rule::map_entry => "a map key",
        Rule::string => "a quoted string",
        Rule::ml_string
        | Rule::list
        | Rule::map
        | Rule::ipv4
        | Rule::ipv6
        | Rule::number
        | Rule::word
        | Rule::bad_value => "a value",
        _ => return None,
    })
}

/// The token at `at`, as shown in a message.
fn found_at(text: &str, at: usize) -> (String, usize) {
    let rest = &text[at..];
    let Some(c) = rest.chars().next() else {
        return ("the end of the file".to_string(), 0);
    };
    if c == '\n' || (c == '\r' && rest[1..].starts_with('\n')) {
        return ("the end of the line".to_string(), 0);
    }
    if c.is_control() || c == '\u{feff}' {
        return (format!("the character U+{:04X}", c as u32), c.len_utf8());
    }
    let len = if c.is_ascii_alphanumeric() || c == '_' {
        rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len())
    } else {
        c.len_utf8()
    };
    (format!("`{}`", &rest[..len]), len)
}

/// The dotted key that ends right before `at` on the same line, if any.
fn key_before(text: &str, at: usize) -> Option<&str> {
    let before = text[..at].trim_end_matches([' ', '\t']);
    let start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
        .map(|i| i + 1)
        .unwrap_or(0);
    let key = &before[start..];
    let line_start = before[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let only_indent = before[line_start..start].trim().is_empty();
    (!key.is_empty()
        && only_indent
        && key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
    .then_some(key)
}

fn join_terms(terms: &[&str]) -> String {
    match terms {
        [] => "something else".to_string(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at].bytes().filter(|&b| b == b'\n').count() + 1
}

fn describe_syntax_error(
    source: SourceId,
    text: &str,
    scan: &Scan,
    segment_start: usize,
    at: usize,
    error: &pest::error::Error<Rule>,
) -> SyntaxError {
    let positives: Vec<Rule> = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let mut terms: Vec<&str> = Vec::new();
    for name in positives.iter().filter_map(|r| rule_name(*r)) {
        if !terms.contains(&name) {
            terms.push(name);
        }
    }
    let (found, found_len) = found_at(text, at);
    let span = Span::new(source, at, at + found_len);
    let at_end = at >= text.trim_end().len();

    // An unclosed string in the statement that failed is the likely cause:
    // it swallowed the rest of its line (or file).
    let statement_start = scan
        .restart_points
        .iter()
        .rev()
        .copied()
        .find(|&p| p <= at)
        .unwrap_or(0)
        .max(segment_start);
    if let Some(&(start, end)) = scan
        .unclosed_strings
        .iter()
        .rev()
        .find(|(start, _)| *start >= statement_start && *start < at.max(statement_start + 1))
    {
        let multiline = text[start..].starts_with("\"\"\"");
        let at_newline = text[end..].starts_with('\n');
        let (code, message, label, help) = if multiline {
            (
                code::UNCLOSED_STRING,
                "multi-line string is not closed",
                "this `\"\"\"` is never closed",
                "close it with `\"\"\"`",
            )
        } else if at_newline {
            (
                code::NEWLINE_IN_STRING,
                "string is not closed before the end of the line",
                "this string runs into a newline",
                "close it with `\"`; write `\\n` for a newline, or use `\"\"\"` for text over several lines",
            )
        } else {
            (
                code::UNCLOSED_STRING,
                "string is not closed",
                "this string reaches the end of the file",
                "close it with `\"`",
            )
        };
        return SyntaxError {
            code,
            message: message.to_string(),
            span: Span::new(source, start, end),
            label: label.to_string(),
            help: Some(help.to_string()),
        };
    }

    // A bracket opened in this segment, before `at`, still open at `at`.
    let innermost_open = scan
        .brackets
        .iter()
        .filter(|(open, close)| {
            *open >= segment_start && *open < at && close.is_none_or(|c| c >= at)
        })
        .map(|(open, _)| *open)
        .next_back();

    if at_end {
        if let Some(open) = innermost_open {
            let bracket = &text[open..open + 1];
            let closer = if bracket == "[" { "]" } else { "}" };
            return SyntaxError {
                code: code::UNCLOSED,
                message: format!("unclosed `{bracket}`"),
                span: Span::new(source, open, open + 1),
                label: format!("this `{bracket}` is never closed"),
                help: Some(format!("add `{closer}` to close it")),
            };
        }
    }

    let found_close = found == "`}`" || found == "`]`";
    if found_close && !terms.contains(&"`}`") && !terms.contains(&"`]`") {
        return SyntaxError {
            code: code::UNEXPECTED_CLOSE,
            message: format!("unexpected {found}"),
            span,
            label: "nothing open to close here".to_string(),
            help: Some(format!(
                "remove this {found} or the extra bracket before it"
            )),
        };
    }

    // `lxc.net.0.link`: a dotted key whose next part is no ident.
    if text[at..].starts_with('.') && key_before(text, at).is_some() {
        let part_at = at + 1;
        let (found, len) = match text[part_at..].chars().next() {
            Some(' ' | '\t') => ("a space".to_string(), 1),
            _ => found_at(text, part_at),
        };
        return SyntaxError {
            code: code::SYNTAX,
            message: format!("expected a key, found {found}"),
            span: Span::new(source, part_at, part_at + len),
            label: "expected a key".to_string(),
            help: Some(
                "each part of a dotted key starts with a letter or `_` (`memory.max`, not `net.0`)"
                    .to_string(),
            ),
        };
    }

    let expects_key_follow = terms.contains(&"`=`") && terms.contains(&"`{`");
    if expects_key_follow {
        if let Some(key) = key_before(text, at) {
            let help = if found == "the end of the line" {
                format!("`=` and the value, or a block's `{{`, go on the same line as the key: `{key} = ...` or `{key} {{`")
            } else if found == "`.`" || found.starts_with("`\"") {
                format!("a label other than a plain name is quoted: `{key} \"...\" {{`")
            } else {
                format!("write `{key} = value` for a setting or `{key} {{ ... }}` for a block")
            };
            return SyntaxError {
                code: code::SYNTAX,
                message: format!("expected `=` or `{{` after key `{key}`, found {found}"),
                span,
                label: "expected `=` or `{`".to_string(),
                help: Some(help),
            };
        }
    }

    if terms.contains(&"a value") && terms.len() == 1 {
        return SyntaxError {
            code: code::SYNTAX,
            message: format!("expected a value, found {found}"),
            span,
            label: "expected a value".to_string(),
            help: Some(
                "a value is a quoted string, a number, a size (`1G`), a duration (`10s`), a percentage, a boolean, a word, an address, a port, a list `[..]` or a map `{..}`, on the same line as `=`"
                    .to_string(),
            ),
        };
    }

    if terms.contains(&"a key") {
        let expected = if terms.contains(&"`}`") {
            "a key or `}`"
        } else {
            "a key"
        };
        return SyntaxError {
            code: code::SYNTAX,
            message: format!("expected {expected}, found {found}"),
            span,
            label: format!("expected {expected}"),
            help: Some(
                "a statement starts with a key: `name = \"web\"`, `limits { ... }`, `include \"PATH\"`"
                    .to_string(),
            ),
        };
    }

    if terms.contains(&"a newline or `;`") {
        return SyntaxError {
            code: code::SYNTAX,
            message: format!("expected the end of the statement, found {found}"),
            span,
            label: "expected a newline or `;` before this".to_string(),
            help: Some(
                "put one statement per line or separate statements with `;`; quote a value that contains spaces"
                    .to_string(),
            ),
        };
    }

    let mut help = None;
    if let Some(open) = innermost_open {
        let bracket = &text[open..open + 1];
        let line = line_of(text, open);
        if line != line_of(text, at) {
            help = Some(format!("the `{bracket}` on line {line} is still open here"));
        }
    }
    if help.is_none() && terms == ["`{`"] && found == "`.`" {
        help = Some("a label other than a plain name is quoted: `\"eth0.10\"`".to_string());
    }
    if help.is_none() && terms.contains(&"`,`") {
        help = Some("separate items with `,`".to_string());
    }
    let expected = join_terms(&terms);
    SyntaxError {
        code: code::SYNTAX,
        message: format!("expected {expected}, found {found}"),
        span,
        label: format!("expected {expected}"),
        help,
    }
}

// ---------------------------------------------------------------------------
// The tree builder
// ---------------------------------------------------------------------------

struct Builder {
    source: SourceId,
    /// Added to every pest offset (non-zero when re-parsing after an error).
    offset: usize,
    /// The text starts at the top of the file (includes may come first).
    at_file_start: bool,
    errors: Vec<SyntaxError>,
}

/// Who owns a comment that follows on the same line.
#[derive(Clone, Copy)]
enum LineOwner {
    /// The `{` of the enclosing block.
    BlockHeader,
    /// The statement at this index of the body being built.
    Statement(usize),
}

/// A body in the making: statements and includes in source order.
enum Item {
    Include(Include),
    Statement(Statement),
}

impl Item {
    fn trivia_mut(&mut self) -> &mut Trivia {
        match self {
            Item::Include(i) => &mut i.trivia,
            Item::Statement(s) => &mut s.trivia,
        }
    }
}

struct Body {
    items: Vec<Item>,
    trailing_comments: Vec<Comment>,
    header_trailing: Option<Comment>,
}

impl Builder {
    fn new(source: SourceId, offset: usize, at_file_start: bool) -> Self {
        Builder {
            source,
            offset,
            at_file_start,
            errors: Vec::new(),
        }
    }

    fn finish(mut self) -> Vec<SyntaxError> {
        self.errors.sort_by_key(|e| (e.span.start, e.span.end));
        self.errors
    }

    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        self.span_at(s.start(), s.end())
    }

    fn span_at(&self, start: usize, end: usize) -> Span {
        Span::new(self.source, self.offset + start, self.offset + end)
    }

    fn error(
        &mut self,
        code: &'static str,
        span: Span,
        message: String,
        label: &str,
        help: Option<String>,
    ) {
        self.errors.push(SyntaxError {
            code,
            message,
            span,
            label: label.to_string(),
            help,
        });
    }

    fn file(&mut self, pair: Pair<'_, Rule>) -> File {
        let body = self.body(pair.into_inner(), 0, false);
        let mut file = File {
            source: self.source,
            includes: Vec::new(),
            body: Vec::new(),
            trailing_comments: body.trailing_comments,
        };
        for item in body.items {
            match item {
                Item::Include(include) => {
                    if !file.body.is_empty() {
                        self.error(
                            code::INCLUDE_NOT_FIRST,
                            include.span,
                            "`include` after other statements".to_string(),
                            "this include comes after a statement",
                            Some("move every `include` to the top of the file, before other statements".to_string()),
                        );
                    }
                    file.includes.push(include);
                }
                Item::Statement(statement) => file.body.push(statement),
            }
        }
        file
    }

    /// Builds the statements of a file or a block from its pairs (the
    /// block's key, label and braces are skipped), attaching comments.
    /// `start` is where the body begins in the parsed text (after the
    /// block's `{`); newlines are found in the text between the pairs.
    fn body<'i>(
        &mut self,
        pairs: impl Iterator<Item = Pair<'i, Rule>>,
        start: usize,
        in_block: bool,
    ) -> Body {
        let mut items: Vec<Item> = Vec::new();
        let mut pending: Vec<Comment> = Vec::new();
        let mut header_trailing = None;
        // A blank line since the previous statement.
        let mut blank = false;
        // A blank line after the last pending comment (for the file's first
        // statement: a header comment set apart from it).
        let mut blank_after_comments = false;
        let mut owner = in_block.then_some(LineOwner::BlockHeader);
        let mut cursor = start;
        for pair in pairs {
            let rule = pair.as_rule();
            if !matches!(
                rule,
                Rule::semi | Rule::comment | Rule::include_stmt | Rule::assignment | Rule::block
            ) {
                continue; // EOI, braces
            }
            // Between two pairs there is only whitespace and newlines.
            let span = pair.as_span();
            let newlines = pair.get_input().as_bytes()[cursor..span.start()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            cursor = span.end();
            if newlines > 0 {
                owner = None;
            }
            if newlines > 1 {
                blank = true;
                blank_after_comments = !pending.is_empty();
            }
            match rule {
                Rule::semi => {}
                Rule::comment => {
                    let comment = self.comment(&pair);
                    match owner {
                        Some(LineOwner::BlockHeader) if header_trailing.is_none() => {
                            header_trailing = Some(comment)
                        }
                        Some(LineOwner::Statement(index)) => {
                            let item = &mut items[index];
                            if item.trivia_mut().trailing.is_none() {
                                item.trivia_mut().trailing = Some(comment);
                            } else if let Item::Statement(Statement {
                                kind: StatementKind::Block(block),
                                ..
                            }) = item
                            {
                                // `}  # c` after a block whose `{` already has one.
                                block.trailing_comments.push(comment);
                            } else {
                                pending.push(comment);
                            }
                        }
                        _ => {
                            pending.push(comment);
                            blank_after_comments = false;
                        }
                    }
                }
                _ => {
                    let mut moved = Vec::new();
                    let mut item = match pair.as_rule() {
                        Rule::include_stmt => {
                            let include = self.include(pair);
                            if in_block {
                                self.error(
                                    code::INCLUDE_IN_BLOCK,
                                    include.span,
                                    "`include` inside a block".to_string(),
                                    "include is only allowed at top level",
                                    Some("move this `include` to the top of the file".to_string()),
                                );
                            }
                            Item::Include(include)
                        }
                        Rule::assignment => Item::Statement(self.assignment(pair, &mut moved)),
                        _ => Item::Statement(self.block(pair)),
                    };
                    let first_of_file = !in_block && items.is_empty() && self.at_file_start;
                    let trivia = item.trivia_mut();
                    trivia.leading = std::mem::take(&mut pending);
                    trivia.leading.extend(moved);
                    trivia.blank_line_before = if first_of_file {
                        blank_after_comments && !trivia.leading.is_empty()
                    } else {
                        blank && !items.is_empty()
                    };
                    blank = false;
                    blank_after_comments = false;
                    items.push(item);
                    owner = Some(LineOwner::Statement(items.len() - 1));
                }
            }
        }
        Body {
            items,
            trailing_comments: pending,
            header_trailing,
        }
    }

    fn comment(&self, pair: &Pair<'_, Rule>) -> Comment {
        let text = pair.as_str();
        let text = text[1..].trim_end_matches([' ', '\t', '\r']);
        let span = self.span(pair);
        Comment {
            text: text.to_string(),
            span: Span::new(span.source, span.start, span.start + 1 + text.len()),
        }
    }

    fn include(&mut self, pair: Pair<'_, Rule>) -> Include {
        let span = self.span(&pair);
        let string = pair
            .into_inner()
            .find(|p| p.as_rule() == Rule::string)
            .expect("include has a string");
        let path_span = self.span(&string);
        let path = self.string(string);
        Include {
            path: Spanned::new(path, path_span),
            span,
            trivia: Trivia::default(),
        }
    }

    /// Splits a dotted key into its parts, each with its span.
    fn key(&self, pair: Pair<'_, Rule>) -> Key {
        let span = self.span(&pair);
        let start = pair.as_span().start();
        let mut parts = Vec::new();
        let mut offset = start;
        for part in pair.as_str().split('.') {
            parts.push(Spanned::new(
                part.to_string(),
                self.span_at(offset, offset + part.len()),
            ));
            offset += part.len() + 1;
        }
        Key { parts, span }
    }

    fn assignment(&mut self, pair: Pair<'_, Rule>, moved: &mut Vec<Comment>) -> Statement {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let key = self.key(inner.next().expect("assignment has a key"));
        let value_pair = inner.nth(1).expect("assignment has `=` and a value");
        let value = self.value(value_pair, moved);
        if key.parts.len() == 1 && key.parts[0].node == "include" {
            self.error(
                code::INCLUDE_SYNTAX,
                key.span,
                "`include` takes no `=`".to_string(),
                "include is a statement, not a key",
                Some("write `include \"PATH\"`".to_string()),
            );
        }
        Statement {
            kind: StatementKind::Assignment(Assignment { key, value }),
            span,
            trivia: Trivia::default(),
        }
    }

    fn block(&mut self, pair: Pair<'_, Rule>) -> Statement {
        let span = self.span(&pair);
        let mut inner = pair.into_inner().peekable();
        let key = self.key(inner.next().expect("block has a key"));
        let mut label = None;
        if let Some(token) = inner.next_if(|p| p.as_rule() != Rule::lbrace) {
            let span = self.span(&token);
            label = Some(match token.as_rule() {
                Rule::string => Label {
                    name: self.string(token),
                    quoted: true,
                    span,
                },
                _ => Label {
                    name: token.as_str().to_string(),
                    quoted: false,
                    span,
                },
            });
        }
        let lbrace = inner.next().expect("block has `{`");
        let body = self.body(inner, lbrace.as_span().end(), true);
        let mut statements = Vec::new();
        for item in body.items {
            match item {
                Item::Statement(s) => statements.push(s),
                // Reported in body(); dropped from the tree.
                Item::Include(_) => {}
            }
        }
        Statement {
            kind: StatementKind::Block(Block {
                key,
                label,
                body: statements,
                trailing_comments: body.trailing_comments,
            }),
            span,
            trivia: Trivia {
                trailing: body.header_trailing,
                ..Trivia::default()
            },
        }
    }

    /// Builds a value; comments found inside brackets go to `moved`.
    fn value(&mut self, token: Pair<'_, Rule>, moved: &mut Vec<Comment>) -> Value {
        let span = self.span(&token);
        let kind = match token.as_rule() {
            Rule::string => ValueKind::String(StringLit {
                value: self.string(token),
                multiline: false,
            }),
            Rule::ml_string => ValueKind::String(StringLit {
                value: self.ml_string(token),
                multiline: true,
            }),
            Rule::list => {
                let mut items = Vec::new();
                for p in token.into_inner() {
                    match p.as_rule() {
                        Rule::lbracket | Rule::rbracket | Rule::comma => {}
                        Rule::inner_comment => moved.push(self.comment(&p)),
                        _ => items.push(self.value(p, moved)),
                    }
                }
                ValueKind::List(items)
            }
            Rule::map => {
                let mut entries = Vec::new();
                for p in token.into_inner() {
                    match p.as_rule() {
                        Rule::map_entry => entries.push(self.map_entry(p, moved)),
                        Rule::inner_comment => moved.push(self.comment(&p)),
                        _ => {}
                    }
                }
                ValueKind::Map(entries)
            }
            Rule::ipv4 | Rule::ipv6 => ValueKind::Address(token.as_str().to_string()),
            Rule::number => self.number(token),
            Rule::word => match token.as_str() {
                word @ ("true" | "yes" | "on") => ValueKind::Bool(BoolLit {
                    value: true,
                    word: word.to_string(),
                }),
                word @ ("false" | "no" | "off") => ValueKind::Bool(BoolLit {
                    value: false,
                    word: word.to_string(),
                }),
                word => ValueKind::Word(word.to_string()),
            },
            _ => {
                let span = self.span(&token);
                self.bad_value(span, token.as_str());
                ValueKind::Word(token.as_str().to_string())
            }
        };
        Value::new(kind, span)
    }

    fn map_entry(&mut self, pair: Pair<'_, Rule>, moved: &mut Vec<Comment>) -> MapEntry {
        let mut inner = pair.into_inner();
        let key_token = inner.next().expect("map entry has a key");
        let span = self.span(&key_token);
        let (key, quoted_key) = match key_token.as_rule() {
            Rule::string => (Spanned::new(self.string(key_token), span), true),
            _ => (Spanned::new(key_token.as_str().to_string(), span), false),
        };
        let mut value = None;
        for p in inner {
            match p.as_rule() {
                Rule::eq => {}
                Rule::inner_comment => moved.push(self.comment(&p)),
                _ => value = Some(self.value(p, moved)),
            }
        }
        MapEntry {
            key,
            quoted_key,
            value: value.expect("map entry has a value"),
        }
    }

    fn bad_value(&mut self, span: Span, text: &str) {
        let help = if text.starts_with('-') && text[1..].starts_with(|c: char| c.is_ascii_digit()) {
            "numbers are unsigned".to_string()
        } else if text.starts_with(|c: char| c.is_ascii_digit()) {
            if text.contains('.')
                && text[text.find('.').unwrap_or(0)..]
                    .chars()
                    .all(|c| c == '.' || c.is_ascii_digit())
            {
                "a fraction needs a unit: a size (`1.5G`), a duration (`1.5s`) or a percentage (`1.5%`); quote it if it is text".to_string()
            } else {
                "sizes end in `K M G T KiB MiB GiB TiB`, durations in `us ms s min h`, ports in `/tcp` or `/udp` (case-sensitive); integers are decimal, `0o` octal or `0x` hex".to_string()
            }
        } else {
            format!(
                "quote text: `\"{}\"`",
                text.replace('\\', "\\\\").replace('"', "\\\"")
            )
        };
        self.error(
            code::BAD_VALUE,
            span,
            format!("`{text}` is not a valid value"),
            "not a string, number, size, duration, word, address or port",
            Some(help),
        );
    }

    /// An integer, size, duration, percentage or port: told apart by the
    /// suffix after the digits.
    /// An integer, size, duration, percentage or port: told apart by the
    /// suffix after the digits.
    fn number(&mut self, token: Pair<'_, Rule>) -> ValueKind {
        let span = self.span(&token);
        let text = token.as_str();
        for (prefix, radix, base) in [("0x", Radix::Hex, 16), ("0o", Radix::Octal, 8)] {
            if let Some(digits) = text.strip_prefix(prefix) {
                let value = u64::from_str_radix(digits, base).unwrap_or_else(|_| {
                    self.overflow(span, text);
                    0
                });
                return ValueKind::Integer(IntegerLit { value, radix });
            }
        }
        let digits_end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (digits, suffix) = text.split_at(digits_end);
        let has_fraction = digits.contains('.');
        let number = DecimalLit {
            text: digits.to_string(),
        };
        match suffix {
            "" | "/tcp" | "/udp" if has_fraction => {
                self.bad_value(span, text);
                ValueKind::Word(text.to_string())
            }
            "" => ValueKind::Integer(IntegerLit {
                value: self.decimal_u64(span, text),
                radix: Radix::Decimal,
            }),
            "/tcp" | "/udp" => {
                let digits_span = Span::new(span.source, span.start, span.start + digits.len());
                ValueKind::Port(PortLit {
                    number: self.decimal_u64(digits_span, digits),
                    protocol: if suffix == "/udp" {
                        Protocol::Udp
                    } else {
                        Protocol::Tcp
                    },
                })
            }
            "%" => ValueKind::Percent(number),
            "us" | "ms" | "s" | "min" | "h" => self.duration(span, text, number, suffix),
            _ => self.size(span, text, number, suffix),
        }
    }

    /// A decimal integer: no leading zero, fits in 64 bits.
    fn decimal_u64(&mut self, span: Span, text: &str) -> u64 {
        if text.len() > 1 && text.starts_with('0') {
            let trimmed = text.trim_start_matches('0');
            let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
            self.error(
                code::LEADING_ZERO,
                span,
                format!("decimal integer `{text}` has a leading `0`"),
                "leading zero",
                Some(format!(
                    "write `0o{trimmed}` for an octal number or `{trimmed}` for a decimal one"
                )),
            );
        }
        match text.parse::<u64>() {
            Ok(v) => v,
            Err(_) => {
                self.overflow(span, text);
                0
            }
        }
    }

    fn overflow(&mut self, span: Span, text: &str) {
        self.error(
            code::INTEGER_OVERFLOW,
            span,
            format!("integer `{text}` is too large"),
            "does not fit in 64 bits",
            Some(format!("the largest integer is {}", u64::MAX)),
        );
    }

    fn size(&mut self, span: Span, text: &str, number: DecimalLit, unit: &str) -> ValueKind {
        let unit = match unit {
            "K" => SizeUnit::K,
            "M" => SizeUnit::M,
            "G" => SizeUnit::G,
            "T" => SizeUnit::T,
            "KiB" => SizeUnit::KiB,
            "MiB" => SizeUnit::MiB,
            "GiB" => SizeUnit::GiB,
            _ => SizeUnit::TiB,
        };
        let bytes = match scaled_whole(&number, unit.multiplier()) {
            Some(bytes) => bytes,
            None => {
                if !whole_part_overflows(&number, unit.multiplier()) {
                    self.error(
                        code::SIZE_FRACTION,
                        span,
                        format!("size `{text}` is not a whole number of bytes"),
                        "fraction of a byte",
                        Some("use a smaller unit or fewer decimals".to_string()),
                    );
                } else {
                    self.error(
                        code::SIZE_OVERFLOW,
                        span,
                        format!("size `{text}` is too large"),
                        "does not fit in 64 bits",
                        Some("the largest size is 16777215T (just under 16 EiB)".to_string()),
                    );
                }
                0
            }
        };
        ValueKind::Size(SizeLit {
            number,
            unit,
            bytes,
        })
    }

    fn duration(&mut self, span: Span, text: &str, number: DecimalLit, unit: &str) -> ValueKind {
        let unit = match unit {
            "us" => DurationUnit::Us,
            "ms" => DurationUnit::Ms,
            "s" => DurationUnit::S,
            "min" => DurationUnit::Min,
            _ => DurationUnit::H,
        };
        let micros = match scaled_whole(&number, unit.micros()) {
            Some(micros) => micros,
            None => {
                if !whole_part_overflows(&number, unit.micros()) {
                    self.error(
                        code::DURATION_FRACTION,
                        span,
                        format!("duration `{text}` is not a whole number of microseconds"),
                        "fraction of a microsecond",
                        Some("use a smaller unit or fewer decimals".to_string()),
                    );
                } else {
                    self.error(
                        code::DURATION_OVERFLOW,
                        span,
                        format!("duration `{text}` is too long"),
                        "does not fit in 64 bits of microseconds",
                        Some("durations go up to about 584,000 years".to_string()),
                    );
                }
                0
            }
        };
        ValueKind::Duration(DurationLit {
            number,
            unit,
            micros,
        })
    }

    /// Decodes a `"..."` string, reporting bad escapes and a missing `"`.
    fn string(&mut self, token: Pair<'_, Rule>) -> String {
        let span = self.span(&token);
        let text = token.as_str();
        let closed = text.len() >= 2 && ends_with_unescaped(text, "\"");
        let raw = &text[1..text.len() - usize::from(closed)];
        if !closed {
            let at_newline = token.get_input()[token.as_span().end()..].starts_with('\n');
            if at_newline {
                self.error(
                    code::NEWLINE_IN_STRING,
                    span,
                    "string is not closed before the end of the line".to_string(),
                    "this string runs into a newline",
                    Some("close it with `\"`; write `\\n` for a newline, or use `\"\"\"` for text over several lines".to_string()),
                );
            } else {
                self.error(
                    code::UNCLOSED_STRING,
                    span,
                    "string is not closed".to_string(),
                    "this string reaches the end of the file",
                    Some("close it with `\"`".to_string()),
                );
            }
        }
        unescape(raw, Some((self, span.start + 1)))
    }

    /// Decodes a `"""..."""` string: escapes checked on the raw text, then
    /// the dedent rule, then escapes decoded.
    fn ml_string(&mut self, token: Pair<'_, Rule>) -> String {
        let span = self.span(&token);
        let text = token.as_str();
        let closed = text.len() >= 6 && ends_with_unescaped(text, "\"\"\"");
        let raw = &text[3..text.len() - if closed { 3 } else { 0 }];
        if !closed {
            self.error(
                code::UNCLOSED_STRING,
                Span::new(span.source, span.start, span.start + 3),
                "multi-line string is not closed".to_string(),
                "this `\"\"\"` is never closed",
                Some("close it with `\"\"\"`".to_string()),
            );
        }
        // Report escape errors with their exact spans.
        unescape(raw, Some((self, span.start + 3)));
        unescape(&dedent(raw), None)
    }
}

/// Whether `text` ends with `quote` that is not escaped (preceded by an even
/// number of backslashes).
fn ends_with_unescaped(text: &str, quote: &str) -> bool {
    let Some(before) = text.strip_suffix(quote) else {
        return false;
    };
    let backslashes = before.len() - before.trim_end_matches('\\').len();
    backslashes % 2 == 0
}

/// `number * multiplier` as a whole `u64`. Trailing zeros of the fraction
/// are dropped first, so that `1.000G` is as good as `1G`.
fn scaled_whole(number: &DecimalLit, multiplier: u64) -> Option<u64> {
    let (whole, frac) = number.parts();
    let frac = frac.trim_end_matches('0');
    let text = if frac.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{frac}")
    };
    DecimalLit { text }.scaled_exact(multiplier)
}

/// Whether the whole part alone of `number * multiplier` overflows `u64`:
/// then a failed [`scaled_whole`] is an overflow, otherwise a fraction.
fn whole_part_overflows(number: &DecimalLit, multiplier: u64) -> bool {
    let (whole, _) = number.parts();
    whole
        .parse::<u128>()
        .ok()
        .and_then(|w| w.checked_mul(multiplier as u128))
        .is_none_or(|v| v > u64::MAX as u128)
}

/// Decodes escapes. With `report`, bad escapes become errors at their
/// offset (`base` is the offset of `raw` in the source).
fn unescape(raw: &str, mut report: Option<(&mut Builder, usize)>) -> String {
    if !raw.contains('\\') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((_, 'u')) => {
                // \u{X}: 1 to 6 hex digits, a Unicode scalar value.
                let mut end = i + 2;
                let mut digits = String::new();
                let mut ok = false;
                if chars.peek().map(|&(_, c)| c) == Some('{') {
                    chars.next();
                    end += 1;
                    while let Some(&(j, c)) = chars.peek() {
                        if c.is_ascii_hexdigit() && digits.len() < 7 {
                            digits.push(c);
                            chars.next();
                            end = j + 1;
                        } else if c == '}' {
                            chars.next();
                            end = j + 1;
                            ok = !digits.is_empty() && digits.len() <= 6;
                            break;
                        } else {
                            break;
                        }
                    }
                }
                let decoded = if ok {
                    u32::from_str_radix(&digits, 16)
                        .ok()
                        .and_then(char::from_u32)
                } else {
                    None
                };
                match decoded {
                    Some(ch) => out.push(ch),
                    None => {
                        if let Some((builder, base)) = report.as_mut() {
                            let text = &raw[i..end];
                            builder.error(
                                code::BAD_UNICODE_ESCAPE,
                                Span::new(builder.source, *base + i, *base + end),
                                format!("invalid unicode escape `{text}`"),
                                "not a unicode scalar value",
                                Some("write `\\u{X}` with 1 to 6 hex digits naming a Unicode scalar value, such as `\\u{e9}`".to_string()),
                            );
                        }
                        out.push('\u{fffd}');
                    }
                }
            }
            other => {
                if let Some((builder, base)) = report.as_mut() {
                    let end = other.map(|(j, c)| j + c.len_utf8()).unwrap_or(raw.len());
                    let text = &raw[i..end];
                    let (message, label) = match other {
                        None | Some((_, '\n')) => (
                            "`\\` at the end of a line is not an escape".to_string(),
                            "nothing to escape",
                        ),
                        _ => (format!("unknown escape `{text}`"), "unknown escape"),
                    };
                    builder.error(
                        code::BAD_ESCAPE,
                        Span::new(builder.source, *base + i, *base + end),
                        message,
                        label,
                        Some("the escapes are `\\\"` `\\\\` `\\n` `\\t` `\\u{X}`; write `\\\\` for a backslash".to_string()),
                    );
                }
                if let Some((_, c)) = other {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// The dedent rule of `"""` strings, on the raw text (before escapes): the
/// newline right after the opening quotes is dropped; when the closing
/// quotes sit on a line of their own, that line's indentation counts toward
/// the common indentation and the line itself (with the newline before it)
/// is not part of the value. The common leading whitespace of the other
/// non-blank lines is stripped. Text on the opening line is kept as is and
/// does not count toward the indentation.
pub(crate) fn dedent(raw: &str) -> String {
    let normalized;
    let mut text = raw;
    if text.contains('\r') {
        normalized = text.replace("\r\n", "\n");
        text = &normalized;
    }
    let (text, first_on_opening_line) = match text.strip_prefix('\n') {
        Some(rest) => (rest, false),
        None => (text, true),
    };
    let mut lines: Vec<&str> = text.split('\n').collect();
    let is_blank = |l: &str| l.chars().all(|c| c == ' ' || c == '\t');
    let closing_line = if lines.len() > 1 && is_blank(lines[lines.len() - 1]) {
        lines.pop()
    } else {
        None
    };
    let indent_of = |l: &str| -> usize { l.len() - l.trim_start_matches([' ', '\t']).len() };
    let mut common: Option<&str> = closing_line;
    for (index, line) in lines.iter().enumerate() {
        if (index == 0 && first_on_opening_line) || is_blank(line) {
            continue;
        }
        let indent = &line[..indent_of(line)];
        common = Some(match common {
            None => indent,
            Some(c) => {
                let shared = c
                    .bytes()
                    .zip(indent.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                &c[..shared]
            }
        });
    }
    let common = common.unwrap_or("");
    let mut out = String::with_capacity(text.len());
    for (index, line) in lines.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        if index == 0 && first_on_opening_line {
            out.push_str(line);
        } else if let Some(rest) = line.strip_prefix(common) {
            out.push_str(rest);
        } else if is_blank(line) {
            // A blank line shorter than the indentation.
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Parses `text` as one value and returns its kind, if it is exactly one
/// valid value. The printer uses it to decide whether a word or an address
/// can be printed bare.
pub(crate) fn parse_standalone_value(text: &str) -> Option<ValueKind> {
    if text.contains(['\n', '#']) {
        return None;
    }
    let mut pairs = SbxParser::parse(Rule::standalone_value, text).ok()?;
    let value = pairs.next()?;
    let mut builder = Builder::new(SourceId(0), 0, false);
    let mut moved = Vec::new();
    let value = builder.value(value, &mut moved);
    (builder.errors.is_empty() && moved.is_empty()).then_some(value.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedent_strips_common_indentation_and_closing_line() {
        assert_eq!(dedent("\n    a\n      b\n    "), "a\n  b");
        assert_eq!(dedent("\n    a\n  "), "  a");
        assert_eq!(dedent("\n  a\n"), "  a");
        assert_eq!(dedent("abc"), "abc");
        assert_eq!(dedent("abc\n   def\n   "), "abc\ndef");
        assert_eq!(dedent("\n    a\n\n    b\n    "), "a\n\nb");
        assert_eq!(dedent("\n    a\n      \n    "), "a\n  ");
        assert_eq!(dedent("\r\n    a\r\n    "), "a");
    }

    #[test]
    fn scaled_whole_ignores_trailing_zeros() {
        let d = |t: &str| DecimalLit {
            text: t.to_string(),
        };
        assert_eq!(scaled_whole(&d("1.5"), 1024), Some(1536));
        assert_eq!(scaled_whole(&d("1.0001"), 1024), None);
        assert_eq!(
            scaled_whole(&d("1.00000000000000000000000000000000000000000"), 1024),
            Some(1024)
        );
        assert!(!whole_part_overflows(&d("0.5"), 1));
        assert!(whole_part_overflows(&d("16777216"), 1 << 40));
        assert!(!whole_part_overflows(&d("16777215"), 1 << 40));
    }

    #[test]
    fn scan_finds_restart_points_outside_brackets() {
        let s = scan("a = [\nb\n]\nc = 1\n  d = 2\n");
        assert_eq!(s.restart_points, vec![0, 10]);
        assert_eq!(s.brackets, vec![(4, Some(8))]);
    }

    #[test]
    fn scan_ignores_brackets_in_strings_and_comments() {
        let s = scan("a = \"[[\" # [[\nb = \"\"\"\n{{\n\"\"\"\n");
        assert!(s.brackets.is_empty());
    }
}
