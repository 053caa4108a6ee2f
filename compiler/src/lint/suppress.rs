//! Suppression comments: `# sbx: allow(CODE) reason` on the line of the
//! offending statement, or on a line of its own right above it (other
//! comment lines and blank lines may come between), allows that lint
//! there. Several codes are separated by commas. A suppression without a
//! reason still applies but warns (`sbx::lint::suppression-without-reason`);
//! one that allows nothing warns (`sbx::lint::unused-suppression`).
//!
//! Comments are found in the source text rather than in the AST: the
//! merged statements lose which comment was where, and the text is what
//! the user sees. The scan knows strings (`"..."` with escapes and
//! `"""..."""`), so a `#` inside a string is not a comment.

use sbx_grammar::ast::{SourceId, Span};

use super::{Level, Lint};
use crate::diagnostic::{Diagnostic, SourceFile, SourceMap};

pub(crate) const UNUSED: Lint = Lint {
    code: "sbx::lint::unused-suppression",
    summary: "a `# sbx: allow(...)` comment allows nothing",
    help: "remove the comment, or move it onto the line it is meant for",
    default: Level::Warn,
    check: super::elsewhere,
};

pub(crate) const WITHOUT_REASON: Lint = Lint {
    code: "sbx::lint::suppression-without-reason",
    summary: "a `# sbx: allow(...)` comment gives no reason",
    help: "say why after the parentheses: `# sbx: allow(CODE) the reason`",
    default: Level::Warn,
    check: super::elsewhere,
};

/// One `# sbx: ...` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// The whole comment, `#` included.
    pub span: Span,
    /// The 1-based line whose diagnostics it allows.
    pub target_line: usize,
    /// The codes in `allow(...)`, empty when the comment cannot be read.
    pub codes: Vec<String>,
    /// The text after `)`, trimmed; `None` when empty.
    pub reason: Option<String>,
    /// False when the comment starts with `sbx:` but is not
    /// `allow(CODE, ...) reason`.
    pub well_formed: bool,
}

/// Every comment of `text`: its byte range (from `#` to the end of line).
fn comments(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' if text[i..].starts_with("\"\"\"") => {
                i = text[i + 3..]
                    .find("\"\"\"")
                    .map_or(bytes.len(), |j| i + 3 + j + 3);
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'#' => {
                let end = text[i..].find('\n').map_or(bytes.len(), |j| i + j);
                out.push((i, end));
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

/// Every suppression comment of one source.
pub fn parse(id: SourceId, file: &SourceFile) -> Vec<Suppression> {
    let text = &file.text;
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = Vec::new();
    for (start, end) in comments(text) {
        let body = text[start + 1..end].trim();
        let Some(directive) = body.strip_prefix("sbx:") else {
            continue;
        };
        let (line, _) = file.line_column(start);
        let own_line = text[..start]
            .rsplit('\n')
            .next()
            .is_some_and(|before| before.trim().is_empty());
        let target_line = if own_line {
            // The next line that is not blank and not only a comment.
            (line + 1..=lines.len())
                .find(|&n| {
                    let l = lines[n - 1].trim();
                    !l.is_empty() && !l.starts_with('#')
                })
                .unwrap_or(line + 1)
        } else {
            line
        };
        let (codes, reason, well_formed) = match read_allow(directive.trim()) {
            Some((codes, reason)) => (codes, reason, true),
            None => (Vec::new(), None, false),
        };
        out.push(Suppression {
            span: Span {
                source: id,
                start,
                end,
            },
            target_line,
            codes,
            reason,
            well_formed,
        });
    }
    out
}

/// `allow(A, B) reason` as its codes and reason.
fn read_allow(directive: &str) -> Option<(Vec<String>, Option<String>)> {
    let rest = directive.strip_prefix("allow")?.trim_start();
    let rest = rest.strip_prefix('(')?;
    let close = rest.find(')')?;
    let codes: Vec<String> = rest[..close]
        .split(',')
        .map(|c| c.trim().to_string())
        .collect();
    if codes.iter().any(String::is_empty) {
        return None;
    }
    let reason = rest[close + 1..].trim();
    Some((codes, (!reason.is_empty()).then(|| reason.to_string())))
}

/// Removes every lint diagnostic a suppression comment allows, and adds
/// the warnings about the suppressions themselves.
pub(crate) fn apply(diagnostics: &mut Vec<Diagnostic>, sources: &SourceMap) {
    let mut suppressions: Vec<(Suppression, Vec<bool>)> = sources
        .iter()
        .flat_map(|(id, file)| parse(id, file))
        .map(|s| {
            let used = vec![false; s.codes.len()];
            (s, used)
        })
        .collect();
    if suppressions.is_empty() {
        return;
    }
    let own = [UNUSED.code, WITHOUT_REASON.code];
    diagnostics.retain(|d| {
        if !d.code.starts_with("sbx::lint::") || own.contains(&d.code.as_str()) {
            return true;
        }
        let Some(span) = d.primary_span() else {
            return true;
        };
        let Some(file) = sources.get(span.source) else {
            return true;
        };
        let (line, _) = file.line_column(span.start);
        let mut allowed = false;
        for (s, used) in &mut suppressions {
            if s.span.source != span.source || s.target_line != line {
                continue;
            }
            for (code, used) in s.codes.iter().zip(used.iter_mut()) {
                if *code == d.code {
                    *used = true;
                    allowed = true;
                }
            }
        }
        !allowed
    });
    for (s, used) in suppressions {
        if !s.well_formed {
            diagnostics.push(
                Diagnostic::warning(UNUSED.code, "this `# sbx:` comment is not a suppression")
                    .with_label(s.span, "not `allow(CODE) reason`")
                    .with_help("write `# sbx: allow(sbx::lint::CODE) the reason`"),
            );
            continue;
        }
        for (code, used) in s.codes.iter().zip(used) {
            if super::find(code).is_none() {
                let known = super::LINTS.iter().map(|l| l.code);
                let help = match crate::suggest::did_you_mean(code, known) {
                    Some(k) => format!("did you mean `{k}`?"),
                    None => "docs/lints.md lists the lint codes".to_string(),
                };
                diagnostics.push(
                    Diagnostic::warning(UNUSED.code, format!("`{code}` is not a lint code"))
                        .with_label(s.span, "allows nothing")
                        .with_help(help),
                );
            } else if !used {
                diagnostics.push(
                    Diagnostic::warning(
                        UNUSED.code,
                        format!("`{code}` is allowed here but does not fire"),
                    )
                    .with_label(s.span, "allows nothing")
                    .with_help(UNUSED.help),
                );
            }
        }
        if s.reason.is_none() {
            diagnostics.push(
                Diagnostic::warning(WITHOUT_REASON.code, "this suppression gives no reason")
                    .with_label(s.span, "no reason")
                    .with_help(WITHOUT_REASON.help),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Vec<Suppression> {
        parse(SourceId(0), &SourceFile::new(None, "t.sbx", text))
    }

    #[test]
    fn same_line_and_line_above() {
        let s = parsed(
            "a = 1 # sbx: allow(sbx::lint::x) why\n# sbx: allow(sbx::lint::y, sbx::lint::z)\n\n# other\nb = 2\n",
        );
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].target_line, 1);
        assert_eq!(s[0].codes, ["sbx::lint::x"]);
        assert_eq!(s[0].reason.as_deref(), Some("why"));
        assert_eq!(s[1].target_line, 5);
        assert_eq!(s[1].codes, ["sbx::lint::y", "sbx::lint::z"]);
        assert_eq!(s[1].reason, None);
    }

    #[test]
    fn a_hash_in_a_string_is_not_a_comment() {
        let s =
            parsed("a = \"# sbx: allow(sbx::lint::x) no\"\nb = \"\"\"\n# sbx: allow(x)\n\"\"\"\n");
        assert!(s.is_empty(), "{s:?}");
    }

    proptest::proptest! {
        /// Any text, quotes, escapes and multi-byte characters among it:
        /// no panic, and every suppression is inside the text.
        #[test]
        fn never_panics(parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "# sbx: allow(", "#sbx:", "\"", "\"\"\"", "\\", "\n", ")", ",", "é",
                "sbx::lint::host-network", " why", "a = ", "[", "]",
            ]),
            0..40,
        )) {
            let text = parts.concat();
            let file = SourceFile::new(None, "t.sbx", text.clone());
            for s in parse(SourceId(0), &file) {
                proptest::prop_assert!(s.span.end <= text.len());
                proptest::prop_assert!(text[s.span.start..s.span.end].starts_with('#'));
            }
        }
    }

    #[test]
    fn malformed_directive() {
        let s = parsed("# sbx: allow sbx::lint::x\n# sbx: allow()\n");
        assert_eq!(s.len(), 2);
        assert!(s.iter().all(|s| !s.well_formed));
    }
}
