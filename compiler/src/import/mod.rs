//! Importers: foreign configuration (LXC, systemd, Dockerfile) as a profile
//! syntax tree, for `sbx convert`.
//!
//! Each format is one file; this module detects the format of an input,
//! runs the importers over one shared [`draft::Draft`] (several inputs are
//! merged in command-line order, see `docs/convert.md`) and turns the draft
//! into a [`File`] that the grammar's printer prints.
//!
//! Diagnostics point into the foreign files: each input (and each file an
//! LXC config includes) is added to the [`SourceMap`] of the [`Conversion`].
//! What cannot be translated is a warning on the foreign line and a comment
//! in the profile; input that is not of its format is an error.

mod dockerfile;
mod draft;
mod lxc;
mod systemd;

use std::path::{Path, PathBuf};

use sbx_grammar::ast::{File, SourceId, Span};

use crate::diagnostic::{Diagnostic, SourceFile, SourceMap};

/// A foreign configuration format `sbx convert` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// An LXC container config (`lxc.*` keys, legacy and current).
    Lxc,
    /// A systemd unit (`.service`, or a `.slice` for its resource settings).
    Systemd,
    /// A Dockerfile (or Containerfile).
    Dockerfile,
}

impl Format {
    /// The name used by `--from`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Lxc => "lxc",
            Format::Systemd => "systemd",
            Format::Dockerfile => "dockerfile",
        }
    }

    /// Every format, in the order `--from` lists them.
    pub const ALL: [Format; 3] = [Format::Lxc, Format::Systemd, Format::Dockerfile];

    /// The format named `name` (`lxc`, `systemd`, `dockerfile`).
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Detects the format of a foreign file from its name, then from its
/// content. `None` when neither says (the caller asks for `--from`).
pub fn detect(name: &str, bytes: &[u8]) -> Option<Format> {
    let file = Path::new(name)
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| name.to_string());
    let lower = file.to_ascii_lowercase();
    if lower.contains("dockerfile") || lower.contains("containerfile") {
        return Some(Format::Dockerfile);
    }
    const UNIT_SUFFIXES: &[&str] = &[
        ".service", ".slice", ".socket", ".timer", ".scope", ".mount", ".path", ".target",
    ];
    if UNIT_SUFFIXES.iter().any(|s| lower.ends_with(s)) {
        return Some(Format::Systemd);
    }
    let text = String::from_utf8_lossy(bytes);
    detect_content(&text).or_else(|| {
        if lower.ends_with(".conf") || lower.ends_with(".conf.in") || lower == "config" {
            Some(Format::Lxc)
        } else {
            None
        }
    })
}

/// Detects the format from the first meaningful line of the content.
fn detect_content(text: &str) -> Option<Format> {
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if t.starts_with('[') && t.ends_with(']') {
            return Some(Format::Systemd);
        }
        if t.starts_with("lxc.") {
            return Some(Format::Lxc);
        }
        let first = t
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        if dockerfile::INSTRUCTIONS.contains(&first.as_str()) {
            return Some(Format::Dockerfile);
        }
        return None;
    }
    None
}

/// One foreign file to convert.
#[derive(Debug, Clone)]
pub struct Input {
    /// The path it was read from: LXC includes resolve relative to it, and a
    /// systemd unit's name (for `%n`, `%i`, ...) comes from it.
    pub path: Option<PathBuf>,
    /// The name shown in diagnostics.
    pub name: String,
    pub bytes: Vec<u8>,
    pub format: Format,
}

impl Input {
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>, format: Format) -> Self {
        Input {
            path: None,
            name: name.into(),
            bytes: bytes.into(),
            format,
        }
    }

    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }
}

/// The outcome of converting one or more foreign files.
#[derive(Debug)]
pub struct Conversion {
    /// The profile, present when no diagnostic is an error.
    pub profile: Option<File>,
    /// Warnings (what was not translated) and errors (input that is not of
    /// its format), pointing into the foreign files.
    pub diagnostics: Vec<Diagnostic>,
    /// Every foreign file read.
    pub sources: SourceMap,
}

impl Conversion {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Converts the inputs, in order, into one profile.
pub fn convert(inputs: &[Input]) -> Conversion {
    let mut sources = SourceMap::new();
    let mut diagnostics = Vec::new();
    let names = inputs.iter().map(|i| i.name.clone()).collect();
    let mut draft = draft::Draft::new(names);
    let has_dockerfile = inputs.iter().any(|i| i.format == Format::Dockerfile);

    for (index, input) in inputs.iter().enumerate() {
        let (text, binary_at) = decode(&input.bytes);
        let id = sources.add(SourceFile::new(
            input.path.clone(),
            input.name.clone(),
            text.clone(),
        ));
        let mut ctx = Ctx::new(id, &text, index, &input.name);
        if let Some(offset) = binary_at {
            ctx.error(
                "sbx::convert::binary",
                Span::new(id, offset, first_char_end(&text, offset)),
                format!(
                    "`{}` is binary data, not {}",
                    input.name,
                    describe(input.format)
                ),
                "not text",
                format!(
                    "give a {} as text, or the right `--from`",
                    describe(input.format)
                ),
            );
        } else {
            draft.header.push(format!(
                "converted by `sbx convert` from {} ({})",
                input.name, input.format
            ));
            match input.format {
                Format::Lxc => {
                    lxc::import(&mut ctx, &mut draft, input.path.as_deref(), &mut sources)
                }
                Format::Systemd => {
                    systemd::import(&mut ctx, &mut draft, input.path.as_deref(), has_dockerfile)
                }
                Format::Dockerfile => dockerfile::import(&mut ctx, &mut draft),
            }
        }
        diagnostics.append(&mut ctx.diagnostics);
        draft.footer.append(&mut ctx.footer);
    }
    diagnostics.append(&mut draft.merge.diagnostics);
    let failed = diagnostics.iter().any(Diagnostic::is_error);
    Conversion {
        profile: (!failed).then(|| draft.into_file()),
        diagnostics,
        sources,
    }
}

fn describe(format: Format) -> &'static str {
    match format {
        Format::Lxc => "an LXC config",
        Format::Systemd => "a systemd unit",
        Format::Dockerfile => "a Dockerfile",
    }
}

/// The text of a foreign file and, when it is binary (invalid UTF-8 or a
/// NUL byte), the offset of the first offending byte in that text.
fn decode(bytes: &[u8]) -> (String, Option<usize>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let nul = text.find('\0');
            (text.to_string(), nul)
        }
        Err(e) => {
            let valid = e.valid_up_to();
            (String::from_utf8_lossy(bytes).into_owned(), Some(valid))
        }
    }
}

/// What one importer works with while reading one foreign file.
pub(crate) struct Ctx<'a> {
    pub source: SourceId,
    pub text: &'a str,
    /// Position of the input on the command line (the merge order).
    pub input: usize,
    pub name: String,
    pub diagnostics: Vec<Diagnostic>,
    /// Comments for the end of the profile: what was not translated.
    pub footer: Vec<String>,
    /// Byte offsets of line starts, for line numbers.
    line_starts: Vec<usize>,
    /// Other files read for this input (LXC includes): their names and
    /// line starts, so that a place in them can be named too.
    others: Vec<(SourceId, String, Vec<usize>)>,
}

impl<'a> Ctx<'a> {
    pub fn new(source: SourceId, text: &'a str, input: usize, name: &str) -> Self {
        Ctx {
            source,
            text,
            input,
            name: name.to_string(),
            diagnostics: Vec::new(),
            footer: Vec::new(),
            line_starts: std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
            others: Vec::new(),
        }
    }

    pub fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.source, start, end.max(start))
    }

    /// 1-based line number of a byte offset of this file.
    pub fn line_of(&self, offset: usize) -> usize {
        line_number(&self.line_starts, offset.min(self.text.len()))
    }

    /// `name:line` of a span in this file or in a file it included, for
    /// comments in the profile.
    pub fn place(&self, span: Span) -> String {
        if span.source != self.source {
            if let Some((_, name, starts)) =
                self.others.iter().find(|(id, _, _)| *id == span.source)
            {
                return format!("{name}:{}", line_number(starts, span.start));
            }
        }
        format!("{}:{}", self.name, self.line_of(span.start))
    }

    /// Takes over what a context for an included file found: its
    /// diagnostics, comments and the places it knows.
    pub fn absorb(&mut self, mut child: Ctx) {
        self.diagnostics.append(&mut child.diagnostics);
        self.footer.append(&mut child.footer);
        self.others.append(&mut child.others);
        self.others
            .push((child.source, child.name, child.line_starts));
    }

    pub fn warn(
        &mut self,
        code: &str,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diagnostics.push(
            Diagnostic::warning(code, message)
                .with_label(span, label)
                .with_help(help),
        );
    }

    pub fn error(
        &mut self,
        code: &str,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diagnostics.push(
            Diagnostic::error(code, message)
                .with_label(span, label)
                .with_help(help),
        );
    }

    /// Something with no sbx equivalent: a warning on the foreign text and a
    /// comment at the end of the profile quoting it.
    pub fn untranslated(&mut self, span: Span, what: &str, reason: &str) {
        let text = self.text.get(span.start..span.end).unwrap_or("").trim();
        let quoted = shorten(text, 100);
        self.footer.push(format!(
            "not translated ({}): {quoted} -- {reason}",
            self.place(span)
        ));
        self.warn(
            "sbx::convert::untranslated",
            span,
            format!("`{what}` is not translated"),
            "not translated",
            format!("{reason}; the line is kept as a comment at the end of the profile"),
        );
    }

    /// Something translated only in part: a warning on the foreign text;
    /// the caller puts the note next to the setting in the profile.
    /// Something translated only in part: a warning on the foreign text and
    /// a comment at the end of the profile (the caller may also put a note
    /// next to the setting).
    pub fn lossy(&mut self, span: Span, message: impl Into<String>, help: impl Into<String>) {
        let message = message.into();
        self.footer.push(format!(
            "translated in part ({}): {}",
            self.place(span),
            message.replace('`', "")
        ));
        self.warn(
            "sbx::convert::lossy",
            span,
            message,
            "translated in part",
            help,
        );
    }
}

/// 1-based line number of `offset` given the offsets of line starts.
fn line_number(line_starts: &[usize], offset: usize) -> usize {
    match line_starts.binary_search(&offset) {
        Ok(i) => i + 1,
        Err(i) => i,
    }
}

/// The end of the character starting at `offset` (a NUL, or the U+FFFD
/// that stands for invalid bytes), so that a label never splits one.
fn first_char_end(text: &str, offset: usize) -> usize {
    text.get(offset..)
        .and_then(|rest| rest.chars().next())
        .map_or(offset, |c| offset + c.len_utf8())
}

/// `text` cut to at most `max` characters, with `...` when cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max).collect();
        format!("{cut}...")
    }
}

/// The lines of a text with the byte offset each starts at (line ends not
/// included; a `\r` before the `\n` is dropped).
pub(crate) fn lines_with_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        let body = body.strip_suffix('\r').unwrap_or(body);
        out.push((start, body));
        start += line.len();
    }
    out
}

/// Signal names by number (x86/arm generic numbering), for foreign files
/// that give a signal as a number.
pub(crate) fn signal_name(number: u64) -> Option<&'static str> {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    let i = usize::try_from(number).ok()?.checked_sub(1)?;
    NAMES.get(i).copied()
}

/// The sbx spelling of a signal given as a name (`SIGTERM`, `TERM`,
/// `sigterm`, as the compiler reads them) or a number (`15`); `None` if it
/// is neither.
pub(crate) fn normalize_signal(text: &str) -> Option<String> {
    let t = text.trim();
    if let Ok(n) = t.parse::<u64>() {
        return signal_name(n).map(str::to_string);
    }
    match t.to_ascii_uppercase().trim_start_matches("SIG") {
        "IOT" => Some("SIGABRT".to_string()),
        "POLL" => Some("SIGIO".to_string()),
        _ => crate::signal::canonical(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats_by_name_then_content() {
        assert_eq!(detect("nginx.service", b""), Some(Format::Systemd));
        assert_eq!(detect("x/Dockerfile.alpine", b""), Some(Format::Dockerfile));
        assert_eq!(detect("config", b"lxc.uts.name = a\n"), Some(Format::Lxc));
        assert_eq!(
            detect("unit.template", b"# c\n[Unit]\nA=b\n"),
            Some(Format::Systemd)
        );
        assert_eq!(detect("build", b"FROM debian\n"), Some(Format::Dockerfile));
        assert_eq!(detect("default.conf", b"\n"), Some(Format::Lxc));
        assert_eq!(detect("notes.txt", b"hello\n"), None);
    }

    #[test]
    fn line_numbers() {
        let ctx = Ctx::new(SourceId(0), "a\nbc\n\nd", 0, "x");
        assert_eq!(ctx.line_of(0), 1);
        assert_eq!(ctx.line_of(1), 1);
        assert_eq!(ctx.line_of(2), 2);
        assert_eq!(ctx.line_of(5), 3);
        assert_eq!(ctx.line_of(6), 4);
        assert_eq!(ctx.line_of(100), 4);
    }

    #[test]
    fn signals_by_name_or_number() {
        assert_eq!(normalize_signal("9").as_deref(), Some("SIGKILL"));
        assert_eq!(normalize_signal("quit").as_deref(), Some("SIGQUIT"));
        assert_eq!(normalize_signal("SIGTERM").as_deref(), Some("SIGTERM"));
        assert_eq!(normalize_signal("SIGFOO"), None);
    }
}
