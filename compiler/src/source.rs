//! Reading profile text: bytes to a [`SourceFile`], refusing what is not
//! text (invalid UTF-8, binary data) with a diagnostic instead of a panic.

use std::path::PathBuf;

use sbx_grammar::ast::{SourceId, Span};

use crate::diagnostic::{Diagnostic, SourceFile, SourceMap};

/// Adds `bytes` to `sources`. Returns the id when the bytes are profile
/// text; otherwise pushes a diagnostic (pointing into the file as far as it
/// is readable) and returns `None`.
pub(crate) fn load(
    sources: &mut SourceMap,
    path: Option<PathBuf>,
    name: String,
    bytes: Vec<u8>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<SourceId> {
    match String::from_utf8(bytes) {
        Ok(text) => {
            let Some(at) = text.find('\0') else {
                return Some(sources.add(SourceFile::new(path, name, text)));
            };
            let id = sources.add(SourceFile::new(path, name.clone(), printable(&text)));
            diagnostics.push(
                Diagnostic::error(
                    "sbx::source::binary",
                    format!("`{name}` is not a profile: it contains binary data"),
                )
                .with_label(Span::new(id, at, at + 1), "a NUL byte")
                .with_help("a profile is UTF-8 text; check that the right file is given"),
            );
            None
        }
        Err(err) => {
            let valid = err.utf8_error().valid_up_to();
            let bad_len = err.utf8_error().error_len().unwrap_or(1);
            // The lossy text is identical up to the first bad byte, which
            // becomes U+FFFD (3 bytes): label that character.
            let lossy = printable(&String::from_utf8_lossy(err.as_bytes()));
            let id = sources.add(SourceFile::new(path, name.clone(), lossy));
            diagnostics.push(
                Diagnostic::error("sbx::source::utf8", format!("`{name}` is not valid UTF-8"))
                    .with_label(
                        Span::new(id, valid, valid + '\u{FFFD}'.len_utf8()),
                        format!(
                            "{bad_len} invalid byte{} here",
                            if bad_len == 1 { "" } else { "s" }
                        ),
                    )
                    .with_help("save the profile as UTF-8 text"),
            );
            None
        }
    }
}

/// The text with ASCII control characters (but tab, newline and carriage
/// return) shown as `?`, one byte for one byte so that offsets stay valid:
/// a snippet of a binary file must not drive the user's terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r') {
                '?'
            } else {
                c
            }
        })
        .collect()
}
