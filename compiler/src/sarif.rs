//! SARIF 2.1.0 output of `sbx check --format sarif`: one run whose
//! `tool.driver.rules` are every lint plus every other code that occurs,
//! and one result per diagnostic with the place as a physical location
//! (artifact URI relative to the working directory, 1-based lines and
//! columns counted in Unicode code points, as `run.columnKind` says).

use std::path::Path;

use serde_json::{json, Value};

use crate::diagnostic::{Diagnostic, Severity, SourceMap};
use crate::lint::LINTS;
use crate::score::Exposure;

/// The diagnostics of one profile, as `sbx check` produced them.
pub struct Checked<'a> {
    /// The FILE argument.
    pub path: &'a Path,
    pub diagnostics: &'a [Diagnostic],
    pub sources: &'a SourceMap,
    /// The exposure score, with `--score`.
    pub exposure: Option<&'a Exposure>,
}

/// The SARIF log of one `sbx check` run. `cwd` is the directory URIs are
/// made relative to.
pub fn log(checked: &[Checked], tool_version: &str, cwd: &Path) -> Value {
    let mut rules: Vec<Value> = LINTS
        .iter()
        .map(|l| {
            json!({
                "id": l.code,
                "shortDescription": { "text": l.summary },
                "help": { "text": l.help },
                "defaultConfiguration": { "level": match l.default {
                    crate::lint::Level::Allow => "none",
                    crate::lint::Level::Warn => "warning",
                    crate::lint::Level::Deny => "error",
                }},
            })
        })
        .collect();
    let mut ids: Vec<String> = LINTS.iter().map(|l| l.code.to_string()).collect();
    let mut results = Vec::new();
    let mut scores = serde_json::Map::new();
    for c in checked {
        for d in c.diagnostics {
            let index = match ids.iter().position(|id| *id == d.code) {
                Some(i) => i,
                None => {
                    // A compiler error: a rule of its own, described by its
                    // first message.
                    ids.push(d.code.clone());
                    rules.push(json!({
                        "id": d.code,
                        "shortDescription": { "text": d.message },
                    }));
                    ids.len() - 1
                }
            };
            results.push(result(d, index, c, cwd));
        }
        if let Some(e) = c.exposure {
            scores.insert(uri(c.path, cwd), e.to_json(&c.path.display().to_string()));
        }
    }
    let mut run = json!({
        "tool": { "driver": {
            "name": "sbx",
            "version": tool_version,
            "semanticVersion": tool_version,
            "rules": rules,
        }},
        "columnKind": "unicodeCodePoints",
        "results": results,
    });
    if !scores.is_empty() {
        run["properties"] = json!({ "exposure": scores });
    }
    json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [run],
    })
}

fn result(d: &Diagnostic, index: usize, c: &Checked, cwd: &Path) -> Value {
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let text = match &d.help {
        Some(help) => format!("{}\nhelp: {help}", d.message),
        None => d.message.clone(),
    };
    let place = d.primary_span().and_then(|span| {
        let file = c.sources.get(span.source)?;
        let (line, column) = file.line_column(span.start);
        let (end_line, end_column) = file.line_column(span.end);
        let path = file.path.as_deref().unwrap_or(Path::new(&file.name));
        Some(json!({
            "physicalLocation": {
                "artifactLocation": { "uri": uri(path, cwd) },
                "region": {
                    "startLine": line,
                    "startColumn": column,
                    "endLine": end_line,
                    "endColumn": end_column,
                },
            }
        }))
    });
    // A diagnostic without a place (an unreadable file) points at the file.
    let location = place.unwrap_or_else(
        || json!({ "physicalLocation": { "artifactLocation": { "uri": uri(c.path, cwd) } } }),
    );
    json!({
        "ruleId": d.code,
        "ruleIndex": index,
        "level": level,
        "message": { "text": text },
        "locations": [location],
    })
}

/// `path` as a URI reference: relative to `cwd` when below it, else an
/// absolute `file://` URI; characters outside RFC 3986's unreserved set and
/// `/` are percent-encoded.
fn uri(path: &Path, cwd: &Path) -> String {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let (prefix, rest) = match absolute.strip_prefix(cwd) {
        Ok(relative) => ("", relative.to_path_buf()),
        Err(_) => ("file://", absolute),
    };
    let mut out = String::from(prefix);
    for b in rest.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::uri;
    use std::path::Path;

    #[test]
    fn uris() {
        let cwd = Path::new("/work/repo");
        assert_eq!(uri(Path::new("profiles/a.sbx"), cwd), "profiles/a.sbx");
        assert_eq!(
            uri(Path::new("/work/repo/profiles/a b.sbx"), cwd),
            "profiles/a%20b.sbx"
        );
        assert_eq!(uri(Path::new("/etc/x.sbx"), cwd), "file:///etc/x.sbx");
    }
}
