//! The spanned syntax tree of one `.sbx` file.
//!
//! The tree says what was written, not what it means: a bare word is a
//! [`ValueKind::Word`] whether it names a capability, a namespace or `max`.
//! Meaning is the compiler's job. Every node carries the [`Span`] of the text
//! it was parsed from, so that every diagnostic can point at that text, also
//! across `include`.
//!
//! Trees built by an importer (`sbx convert`) have no source text of their
//! own; they use [`Span::synthetic`] or a span into the foreign file.

use std::fmt;

/// Identifies one source text (a profile file, an included file, or a foreign
/// file being converted) in the caller's source map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SourceId(pub u32);

/// A byte range in one source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub source: SourceId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// The source id used for nodes that no text was parsed for.
    pub const SYNTHETIC_SOURCE: SourceId = SourceId(u32::MAX);

    pub fn new(source: SourceId, start: usize, end: usize) -> Self {
        Span { source, start, end }
    }

    /// A span for a node built by a program rather than parsed.
    pub fn synthetic() -> Self {
        Span::new(Span::SYNTHETIC_SOURCE, 0, 0)
    }

    pub fn is_synthetic(&self) -> bool {
        self.source == Span::SYNTHETIC_SOURCE
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The smallest span covering both (same source assumed).
    pub fn to(&self, other: Span) -> Span {
        Span::new(
            self.source,
            self.start.min(other.start),
            self.end.max(other.end),
        )
    }
}

/// A value with the span it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

/// A comment, without its leading `#`, kept so that `sbx fmt` and
/// `sbx convert` can print it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The text after `#`, with the one space after `#` kept if present.
    pub text: String,
    pub span: Span,
}

/// Comments that belong to a statement: the full-line comments right above
/// it, and a comment on the same line after it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trivia {
    pub leading: Vec<Comment>,
    pub trailing: Option<Comment>,
    /// A blank line separated this statement from the previous one in the
    /// source; the printer keeps one blank line there.
    pub blank_line_before: bool,
}

/// One parsed `.sbx` file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub source: SourceId,
    /// `include "PATH"` statements, in order (they come before anything else).
    pub includes: Vec<Include>,
    pub body: Vec<Statement>,
    /// Comments after the last statement of the file.
    pub trailing_comments: Vec<Comment>,
}

/// `include "PATH"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Include {
    pub path: Spanned<String>,
    pub span: Span,
    pub trivia: Trivia,
}

/// A dotted key such as `memory.max`: `ident(.ident)*`.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The parts between the dots, each with its span.
    pub parts: Vec<Spanned<String>>,
    pub span: Span,
}

impl Key {
    /// The key as written, parts joined by `.`.
    pub fn dotted(&self) -> String {
        let parts: Vec<&str> = self.parts.iter().map(|p| p.node.as_str()).collect();
        parts.join(".")
    }

    /// A key built by a program; `text` is split at `.`.
    pub fn synthetic(text: &str) -> Key {
        Key {
            parts: text
                .split('.')
                .map(|p| Spanned::new(p.to_string(), Span::synthetic()))
                .collect(),
            span: Span::synthetic(),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.dotted())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub kind: StatementKind,
    /// The whole statement, key to value or to the closing `}`.
    pub span: Span,
    pub trivia: Trivia,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StatementKind {
    /// `key = value`
    Assignment(Assignment),
    /// `key { ... }` or `key "label" { ... }` or `key label { ... }`
    Block(Block),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub key: Key,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub key: Key,
    pub label: Option<Label>,
    pub body: Vec<Statement>,
    /// Comments after the last statement, before the closing `}`.
    pub trailing_comments: Vec<Comment>,
}

/// A block label: a bare ident or a quoted string.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub name: String,
    pub quoted: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

impl Value {
    pub fn new(kind: ValueKind, span: Span) -> Self {
        Value { kind, span }
    }

    /// A value built by a program.
    pub fn synthetic(kind: ValueKind) -> Self {
        Value::new(kind, Span::synthetic())
    }

    /// What kind of value this is, as a user would name it in a message
    /// ("a string", "a list", ...).
    pub fn describe(&self) -> &'static str {
        self.kind.describe()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// `"..."` or `"""..."""`, escapes resolved and (for `"""`) common
    /// indentation stripped.
    String(StringLit),
    /// `42`, `0o022`, `0x1f`: unsigned.
    Integer(IntegerLit),
    /// `512K`, `1.5G`, `1GiB`: always binary units.
    Size(SizeLit),
    /// `50%`, `12.5%`.
    Percent(DecimalLit),
    /// `100ms`, `10s`, `5min`, `1h`, `20us`.
    Duration(DurationLit),
    /// `true false yes no on off`.
    Bool(BoolLit),
    /// A bare word: `veth`, `sys_admin`, `CAP_SYS_ADMIN`, `max`.
    Word(String),
    /// A bare address: `10.0.3.2/24`, `fe80::1/64`, `00:16:3e:c6:0e:04`,
    /// `10.0.3.1`. Checked for meaning by the compiler, per key.
    Address(String),
    /// `8080/tcp`, `53/udp`.
    Port(PortLit),
    /// `[a, b, c]`.
    List(Vec<Value>),
    /// `{ KEY = value, "key" = value }`.
    Map(Vec<MapEntry>),
}

impl ValueKind {
    pub fn describe(&self) -> &'static str {
        match self {
            ValueKind::String(_) => "a string",
            ValueKind::Integer(_) => "an integer",
            ValueKind::Size(_) => "a size",
            ValueKind::Percent(_) => "a percentage",
            ValueKind::Duration(_) => "a duration",
            ValueKind::Bool(_) => "a boolean",
            ValueKind::Word(_) => "a bare word",
            ValueKind::Address(_) => "an address",
            ValueKind::Port(_) => "a port",
            ValueKind::List(_) => "a list",
            ValueKind::Map(_) => "a map",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StringLit {
    pub value: String,
    /// Written with `"""`.
    pub multiline: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Radix {
    Decimal,
    Octal,
    Hex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntegerLit {
    pub value: u64,
    /// How it was written, so that `fmt` keeps `0o022` as octal.
    pub radix: Radix,
}

/// A decimal number as written (`1.5`, `200`), kept exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecimalLit {
    /// The digits as written, for example `"1.5"` or `"200"`.
    pub text: String,
}

impl DecimalLit {
    /// The whole part and the fraction digits (`"1.5"` gives `(1, "5")`).
    pub fn parts(&self) -> (&str, &str) {
        match self.text.split_once('.') {
            Some((whole, frac)) => (whole, frac),
            None => (self.text.as_str(), ""),
        }
    }

    /// `self * multiplier`, if it is a whole number that fits in `u64`.
    /// `None` when the result has a fraction or overflows.
    pub fn scaled_exact(&self, multiplier: u64) -> Option<u64> {
        let (whole, frac) = self.parts();
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut scale: u128 = 1;
        let mut frac_value: u128 = 0;
        for c in frac.chars() {
            scale = scale.checked_mul(10)?;
            frac_value = frac_value.checked_mul(10)? + c.to_digit(10)? as u128;
        }
        let m = multiplier as u128;
        let total = whole
            .checked_mul(m)?
            .checked_add(frac_value.checked_mul(m)? / scale)?;
        if frac_value.checked_mul(m)? % scale != 0 {
            return None;
        }
        u64::try_from(total).ok()
    }

    /// `self * multiplier / divisor`, rounded down; `None` on overflow.
    pub fn scaled_floor(&self, multiplier: u64, divisor: u64) -> Option<u64> {
        let (whole, frac) = self.parts();
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut scale: u128 = 1;
        let mut frac_value: u128 = 0;
        for c in frac.chars() {
            scale = scale.checked_mul(10)?;
            frac_value = frac_value.checked_mul(10)? + c.to_digit(10)? as u128;
        }
        let numerator = (whole.checked_mul(scale)? + frac_value).checked_mul(multiplier as u128)?;
        let value = numerator / (scale.checked_mul(divisor as u128)?);
        u64::try_from(value).ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeUnit {
    /// A plain integer: bytes.
    Bytes,
    K,
    M,
    G,
    T,
    KiB,
    MiB,
    GiB,
    TiB,
}

impl SizeUnit {
    pub fn multiplier(self) -> u64 {
        match self {
            SizeUnit::Bytes => 1,
            SizeUnit::K | SizeUnit::KiB => 1 << 10,
            SizeUnit::M | SizeUnit::MiB => 1 << 20,
            SizeUnit::G | SizeUnit::GiB => 1 << 30,
            SizeUnit::T | SizeUnit::TiB => 1 << 40,
        }
    }

    pub fn suffix(self) -> &'static str {
        match self {
            SizeUnit::Bytes => "",
            SizeUnit::K => "K",
            SizeUnit::M => "M",
            SizeUnit::G => "G",
            SizeUnit::T => "T",
            SizeUnit::KiB => "KiB",
            SizeUnit::MiB => "MiB",
            SizeUnit::GiB => "GiB",
            SizeUnit::TiB => "TiB",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeLit {
    pub number: DecimalLit,
    pub unit: SizeUnit,
    /// The size in bytes. The parser rejects a size that is not a whole
    /// number of bytes or does not fit in 64 bits.
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUnit {
    Us,
    Ms,
    S,
    Min,
    H,
}

impl DurationUnit {
    pub fn micros(self) -> u64 {
        match self {
            DurationUnit::Us => 1,
            DurationUnit::Ms => 1_000,
            DurationUnit::S => 1_000_000,
            DurationUnit::Min => 60_000_000,
            DurationUnit::H => 3_600_000_000,
        }
    }

    pub fn suffix(self) -> &'static str {
        match self {
            DurationUnit::Us => "us",
            DurationUnit::Ms => "ms",
            DurationUnit::S => "s",
            DurationUnit::Min => "min",
            DurationUnit::H => "h",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationLit {
    pub number: DecimalLit,
    pub unit: DurationUnit,
    /// The duration in microseconds. The parser rejects a duration that is
    /// not a whole number of microseconds or does not fit in 64 bits.
    pub micros: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoolLit {
    pub value: bool,
    /// The word as written (`yes`, `on`, `true`, ...).
    pub word: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortLit {
    /// As written; the compiler checks the range 1-65535.
    pub number: u64,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MapEntry {
    pub key: Spanned<String>,
    /// The key was written quoted.
    pub quoted_key: bool,
    pub value: Value,
}
