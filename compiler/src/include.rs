//! Include resolution: every file is parsed, its includes resolved relative
//! to it (cycles and missing files reported), and the statements merged by
//! full dotted path: blocks recursively by key and label, assignments of
//! the including file replacing those of the included one (lists and maps
//! whole), repeatable keys (`build` steps) appended in order.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use sbx_grammar::ast::{File, Key, SourceId, Span, Statement, StatementKind};

use crate::diagnostic::{Diagnostic, SourceMap};
use crate::{foreign, source, vocabulary};

/// Resolves the includes of one profile into one statement list.
pub(crate) struct Resolver<'a> {
    pub sources: &'a mut SourceMap,
    pub diagnostics: &'a mut Vec<Diagnostic>,
    /// The files being resolved, outermost first: canonical path and the
    /// name shown to the user.
    stack: Vec<(PathBuf, String)>,
    /// Files already included: a file included again (a diamond of
    /// includes) is merged only where it was first included, so that its
    /// `build` steps do not run twice.
    done: HashSet<PathBuf>,
}

impl<'a> Resolver<'a> {
    pub fn new(sources: &'a mut SourceMap, diagnostics: &'a mut Vec<Diagnostic>) -> Self {
        Resolver {
            sources,
            diagnostics,
            stack: Vec::new(),
            done: HashSet::new(),
        }
    }

    /// Parses the source `id` (already loaded), whose includes resolve
    /// against `dir`, and returns its merged statements.
    pub fn resolve(&mut self, id: SourceId, dir: &Path) -> Vec<Statement> {
        let Some(file) = self.parse(id) else {
            return Vec::new();
        };
        check_duplicates(&file.body, None, self.diagnostics);
        let mut merged = Vec::new();
        for include in &file.includes {
            let body = self.include(dir, &include.path.node, include.path.span);
            merge(&mut merged, body, None);
        }
        crate::lint::redundant::check(&merged, &file.body, None, self.diagnostics);
        merge(&mut merged, file.body, None);
        merged
    }

    /// Enters the root file into the cycle detection.
    pub fn enter_root(&mut self, path: &Path, name: &str) {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        self.stack.push((canonical, name.to_string()));
    }

    fn parse(&mut self, id: SourceId) -> Option<File> {
        let text = &self.sources.get(id).expect("source was added").text;
        // A tree with errors only in its values is still resolved and
        // lowered, so that one run reports every problem (the compiler then
        // drops what later stages say at those values: `drop_cascades`).
        let (file, errors) = sbx_grammar::parse_recovering(id, text);
        for e in errors {
            let mut d = Diagnostic::error(e.code, e.message).with_label(e.span, e.label);
            d.help = foreign_help_for_line(text, e.span).or(e.help);
            self.diagnostics.push(d);
        }
        file
    }

    fn include(&mut self, dir: &Path, written: &str, span: Span) -> Vec<Statement> {
        let path = dir.join(written);
        let including = self
            .stack
            .last()
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        let name = display_name(&including, written, &path);
        let canonical = match path.canonicalize() {
            Ok(p) => p,
            Err(e) => {
                let (code, message, help) = if e.kind() == ErrorKind::NotFound {
                    (
                        "sbx::include::missing",
                        format!("included file `{name}` does not exist"),
                        "an include path is relative to the file that includes it".to_string(),
                    )
                } else {
                    (
                        "sbx::include::unreadable",
                        format!("cannot read included file `{name}`: {e}"),
                        "check the path and its permissions".to_string(),
                    )
                };
                self.diagnostics.push(
                    Diagnostic::error(code, message)
                        .with_label(span, "included here")
                        .with_help(help),
                );
                return Vec::new();
            }
        };
        if let Some(pos) = self.stack.iter().position(|(p, _)| *p == canonical) {
            let mut chain: Vec<String> = self.stack[pos..]
                .iter()
                .map(|(_, n)| format!("`{n}`"))
                .collect();
            chain.push(format!("`{}`", self.stack[pos].1));
            self.diagnostics.push(
                Diagnostic::error(
                    "sbx::include::cycle",
                    format!("include cycle: {}", chain.join(" includes ")),
                )
                .with_label(span, "this include closes the cycle")
                .with_help("remove one of the includes of the cycle"),
            );
            return Vec::new();
        }
        if !self.done.insert(canonical.clone()) {
            return Vec::new();
        }
        let bytes = match std::fs::read(&canonical) {
            Ok(b) => b,
            Err(e) => {
                let reason = if canonical.is_dir() {
                    "it is a directory".to_string()
                } else {
                    e.to_string()
                };
                self.diagnostics.push(
                    Diagnostic::error(
                        "sbx::include::unreadable",
                        format!("cannot read included file `{name}`: {reason}"),
                    )
                    .with_label(span, "included here")
                    .with_help("an include names a profile file"),
                );
                return Vec::new();
            }
        };
        let Some(id) = source::load(
            self.sources,
            Some(canonical.clone()),
            name.clone(),
            bytes,
            self.diagnostics,
        ) else {
            return Vec::new();
        };
        let child_dir = canonical
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        self.stack.push((canonical.clone(), name));
        let body = self.resolve(id, &child_dir);
        self.stack.pop();
        body
    }
}

/// The name an included file is shown under: relative to where the
/// including file was named, so diagnostics read `profiles/base/x.sbx`.
fn display_name(including: &str, written: &str, joined: &Path) -> String {
    if Path::new(written).is_absolute() {
        return written.to_string();
    }
    match Path::new(including).parent() {
        Some(parent) => lexical(&parent.join(written)),
        None => lexical(joined),
    }
}

/// `a/b/../c` as `a/c`, lexically; leading `..` are kept.
fn lexical(path: &Path) -> String {
    use std::path::Component;
    let mut parts: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match parts.last() {
                Some(Component::Normal(_)) => {
                    parts.pop();
                }
                Some(Component::RootDir) => {}
                _ => parts.push(c),
            },
            other => parts.push(other),
        }
    }
    let out: std::path::PathBuf = parts.iter().collect();
    out.display().to_string()
}

/// When a syntax error is on a line that starts with a foreign key (a
/// Dockerfile `CMD ["x"]`, a systemd `ExecStart=/bin/x`), the help names the
/// native key instead of the generic one.
fn foreign_help_for_line(text: &str, span: Span) -> Option<String> {
    let start = text[..span.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text[start..].trim_start();
    let word: String = line
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .collect();
    if word.is_empty() || vocabulary::spec(None, &word).is_some() || word == "include" {
        return None;
    }
    let found = foreign::lookup(&word)?;
    Some(format!(
        "`{}` is {}; {}",
        word,
        origin_phrase(found.origin),
        foreign::help(found)
    ))
}

/// "a systemd key", "an LXC key", "a Dockerfile instruction".
pub(crate) fn origin_phrase(origin: &str) -> &'static str {
    match origin {
        "systemd" => "a systemd key",
        "LXC" => "an LXC key",
        _ => "a Dockerfile instruction",
    }
}

type Identity = (String, Option<String>);

/// The key as written, without allocating for the common one-part key.
pub(crate) fn key_text(key: &Key) -> Cow<'_, str> {
    match key.parts.as_slice() {
        [one] => Cow::Borrowed(one.node.as_str()),
        _ => Cow::Owned(key.dotted()),
    }
}

/// [`identity`] borrowed from the statement.
fn identity_ref(statement: &Statement) -> (Cow<'_, str>, Option<&str>) {
    match &statement.kind {
        StatementKind::Assignment(a) => (key_text(&a.key), None),
        StatementKind::Block(b) => (key_text(&b.key), b.label.as_ref().map(|l| l.name.as_str())),
    }
}

fn identity(statement: &Statement) -> Identity {
    match &statement.kind {
        StatementKind::Assignment(a) => (a.key.dotted(), None),
        StatementKind::Block(b) => (b.key.dotted(), b.label.as_ref().map(|l| l.name.clone())),
    }
}

fn is_repeatable(block: Option<&str>, statement: &Statement) -> bool {
    match &statement.kind {
        StatementKind::Assignment(a) => vocabulary::is_repeatable(block, &key_text(&a.key)),
        StatementKind::Block(_) => false,
    }
}

/// Merges `over` (the including file) into `base` (what it includes).
pub(crate) fn merge(base: &mut Vec<Statement>, over: Vec<Statement>, block: Option<&str>) {
    if base.is_empty() {
        *base = over;
        return;
    }
    let mut index: HashMap<Identity, usize> = base
        .iter()
        .enumerate()
        .filter(|(_, s)| !is_repeatable(block, s))
        .map(|(i, s)| (identity(s), i))
        .collect();
    for statement in over {
        if is_repeatable(block, &statement) {
            base.push(statement);
            continue;
        }
        let id = identity(&statement);
        match index.get(&id) {
            Some(&i) => match (&mut base[i].kind, statement.kind) {
                (StatementKind::Block(old), StatementKind::Block(mut new)) => {
                    let key = new.key.dotted();
                    let old_body = std::mem::take(&mut old.body);
                    let mut merged = old_body;
                    merge(&mut merged, std::mem::take(&mut new.body), Some(&key));
                    new.body = merged;
                    base[i] = Statement {
                        kind: StatementKind::Block(new),
                        span: statement.span,
                        trivia: statement.trivia,
                    };
                }
                (_, kind) => {
                    base[i] = Statement {
                        kind,
                        span: statement.span,
                        trivia: statement.trivia,
                    };
                }
            },
            None => {
                index.insert(id, base.len());
                base.push(statement);
            }
        }
    }
}

/// A key given twice in one block of one file, or two blocks with the
/// same key and label.
fn check_duplicates(body: &[Statement], block: Option<&str>, diagnostics: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<(Cow<str>, Option<&str>), &Statement> =
        HashMap::with_capacity(body.len());
    for statement in body {
        if let StatementKind::Block(b) = &statement.kind {
            check_duplicates(&b.body, Some(&key_text(&b.key)), diagnostics);
        }
        if is_repeatable(block, statement) {
            continue;
        }
        let id = identity_ref(statement);
        if let Some(first) = seen.get(&id) {
            diagnostics.push(duplicate(first, statement, (&id.0, id.1)));
        } else {
            seen.insert(id, statement);
        }
    }
}

fn key_span(statement: &Statement) -> Span {
    match &statement.kind {
        StatementKind::Assignment(a) => a.key.span,
        StatementKind::Block(b) => b
            .label
            .as_ref()
            .map_or(b.key.span, |l| b.key.span.to(l.span)),
    }
}

fn duplicate(first: &Statement, again: &Statement, id: (&str, Option<&str>)) -> Diagnostic {
    let d = match (&id.1, &again.kind) {
        (Some(label), _) => Diagnostic::error(
            "sbx::key::duplicate-label",
            format!("two `{}` blocks are labelled `{}`", id.0, label),
        )
        .with_help(format!(
            "give each `{}` block its own label, or merge the two into one",
            id.0
        )),
        (None, StatementKind::Block(_)) => Diagnostic::error(
            "sbx::key::duplicate",
            format!("the `{}` block is given twice", id.0),
        )
        .with_help("merge the two blocks into one"),
        (None, StatementKind::Assignment(_)) => {
            Diagnostic::error("sbx::key::duplicate", format!("`{}` is given twice", id.0))
                .with_help("remove one of them")
        }
    };
    d.with_label(key_span(again), "given again here")
        .with_label(key_span(first), "first given here")
}
