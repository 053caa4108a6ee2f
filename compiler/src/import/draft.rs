//! The profile being assembled by the importers, before it becomes a syntax
//! tree.
//!
//! Every importer writes into one [`Draft`]; several inputs are merged by
//! writing them into the same draft in command-line order (the merge rule is
//! in `docs/convert.md`). A setting remembers the foreign text it came from
//! and the notes (original value, formula used) that become comments.

use sbx_grammar::ast::{
    Assignment, Block, Comment, DecimalLit, File, IntegerLit, Key, Label, MapEntry, PortLit,
    Protocol, Radix, SizeLit, SizeUnit, Span, Spanned, Statement, StatementKind, StringLit, Trivia,
    Value, ValueKind,
};

use crate::diagnostic::Diagnostic;

/// One setting and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub value: Value,
    /// The foreign text it was read from.
    pub span: Span,
    /// Which input (position on the command line) set it.
    pub input: usize,
    /// Comments printed with it: the original value, the formula used.
    pub notes: Vec<String>,
    /// A foreign format's default rather than something its file says:
    /// any explicit value replaces it without a merge warning.
    pub weak: bool,
}

/// Ordered `key = value` settings of one block (or of the top level, or of a
/// map such as `env`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields {
    pub items: Vec<(String, Entry)>,
}

impl Fields {
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.items.iter().find(|(k, _)| k == key).map(|(_, e)| e)
    }

    pub fn remove(&mut self, key: &str) -> Option<Entry> {
        let i = self.items.iter().position(|(k, _)| k == key)?;
        Some(self.items.remove(i).1)
    }

    /// Sets `key`; a value from another input that differs is overridden
    /// with a warning (the later input wins), a value from the same input is
    /// overridden silently (the foreign format's own last-one-wins rule).
    pub fn set(&mut self, key: &str, entry: Entry, merge: &mut MergeLog) {
        if let Some((_, old)) = self.items.iter_mut().find(|(k, _)| k == key) {
            let mut entry = entry;
            if !old.weak
                && old.input != entry.input
                && !same_value(&old.value.kind, &entry.value.kind)
            {
                merge.overridden(key, old, &entry);
                entry.notes.push(format!(
                    "overrides {} from {}",
                    render_value(&old.value),
                    merge.input_name(old.input)
                ));
            }
            *old = entry;
        } else {
            self.items.push((key.to_string(), entry));
        }
    }

    /// Appends `item` to the list at `key` (created if missing), skipping an
    /// item already present: lists from several inputs are united.
    pub fn append(&mut self, key: &str, item: Value, span: Span, input: usize) {
        if let Some((_, e)) = self.items.iter_mut().find(|(k, _)| k == key) {
            if let ValueKind::List(items) = &mut e.value.kind {
                if !items.iter().any(|v| same_value(&v.kind, &item.kind)) {
                    items.push(item);
                }
                return;
            }
        }
        self.items.push((
            key.to_string(),
            Entry {
                value: Value::synthetic(ValueKind::List(vec![item])),
                span,
                input,
                notes: Vec::new(),
                weak: false,
            },
        ));
    }

    /// Empties the list at `key` (a foreign "empty value resets the list").
    pub fn clear(&mut self, key: &str) {
        self.remove(key);
    }

    /// Adds a note to the setting at `key`, if present.
    pub fn note(&mut self, key: &str, note: impl Into<String>) {
        if let Some((_, e)) = self.items.iter_mut().find(|(k, _)| k == key) {
            e.notes.push(note.into());
        }
    }
}

/// Records conflicts between inputs while merging.
#[derive(Debug, Default)]
pub(crate) struct MergeLog {
    pub input_names: Vec<String>,
    pub diagnostics: Vec<Diagnostic>,
}

impl MergeLog {
    pub fn input_name(&self, input: usize) -> String {
        self.input_names
            .get(input)
            .cloned()
            .unwrap_or_else(|| format!("input {}", input + 1))
    }

    fn overridden(&mut self, key: &str, old: &Entry, new: &Entry) {
        let message = format!(
            "`{key}` is set by `{}` and by `{}`: the later input wins",
            self.input_name(old.input),
            self.input_name(new.input)
        );
        self.diagnostics.push(
            Diagnostic::warning("sbx::convert::merge-conflict", message)
                .with_label(new.span, "this value is kept")
                .with_help(format!(
                    "the value {} from `{}` is dropped; reorder the inputs to keep it",
                    render_value(&old.value),
                    self.input_name(old.input)
                )),
        );
    }
}

/// What the capability settings of one input mean.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CapPolicy {
    /// sbx's default set minus these.
    DefaultMinus(Vec<String>),
    /// Exactly these (drop all, add these).
    Exactly(Vec<String>),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Capabilities {
    pub policy: Option<(CapPolicy, Span, usize)>,
    pub ambient: Vec<String>,
    pub notes: Vec<String>,
}

impl Capabilities {
    /// Combines the capability policy of one more input: both restrictions
    /// apply, so the result is the smaller set.
    pub fn restrict(&mut self, policy: CapPolicy, span: Span, input: usize) {
        let combined = match (self.policy.take(), policy) {
            (None, p) => p,
            (Some((CapPolicy::DefaultMinus(a), _, _)), CapPolicy::DefaultMinus(b)) => {
                CapPolicy::DefaultMinus(union(a, b))
            }
            (Some((CapPolicy::Exactly(a), _, _)), CapPolicy::Exactly(b)) => {
                CapPolicy::Exactly(a.into_iter().filter(|c| b.contains(c)).collect())
            }
            (Some((CapPolicy::Exactly(a), _, _)), CapPolicy::DefaultMinus(d))
            | (Some((CapPolicy::DefaultMinus(d), _, _)), CapPolicy::Exactly(a)) => {
                CapPolicy::Exactly(a.into_iter().filter(|c| !d.contains(c)).collect())
            }
        };
        self.policy = Some((combined, span, input));
    }
}

fn union(mut a: Vec<String>, b: Vec<String>) -> Vec<String> {
    for c in b {
        if !a.contains(&c) {
            a.push(c);
        }
    }
    a
}

/// A labelled block (`mount "PATH"`, `net "IFNAME"`) being assembled.
#[derive(Debug, Clone)]
pub(crate) struct LabelledBlock {
    pub label: String,
    pub fields: Fields,
    pub notes: Vec<String>,
}

/// One step of `build { }`.
#[derive(Debug, Clone)]
pub(crate) struct BuildStep {
    /// `run`, `copy` or `arg`.
    pub key: &'static str,
    pub entry: Entry,
}

/// The profile being assembled.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    /// Comments printed at the top of the profile.
    pub header: Vec<String>,
    pub top: Fields,
    pub env: Fields,
    pub labels: Fields,
    pub build: Vec<BuildStep>,
    pub limits: Fields,
    pub rlimits: Fields,
    pub capabilities: Capabilities,
    pub security: Fields,
    pub mounts: Vec<LabelledBlock>,
    pub nets: Vec<LabelledBlock>,
    pub idmap: Fields,
    pub console: Fields,
    /// Comments printed at the end: what was not translated.
    pub footer: Vec<String>,
    pub merge: MergeLog,
}

/// How many capabilities there are (the compiler's list, by kernel number).
pub(crate) const CAPABILITY_COUNT: usize = crate::capability::COUNT;

/// The sbx spelling (lowercase, no `CAP_`) of capability number `n`.
pub(crate) fn capability_by_number(n: usize) -> String {
    crate::capability::bare(n).to_ascii_lowercase()
}

/// The sbx spelling of a capability name (`CAP_SYS_ADMIN`, `sys_admin`),
/// if it is one.
pub(crate) fn capability_name(text: &str) -> Option<String> {
    crate::capability::number(text).map(capability_by_number)
}

impl Draft {
    pub fn new(input_names: Vec<String>) -> Self {
        Draft {
            merge: MergeLog {
                input_names,
                diagnostics: Vec::new(),
            },
            ..Draft::default()
        }
    }

    /// The labelled block `label` of `blocks`, created if missing.
    pub fn block<'a>(blocks: &'a mut Vec<LabelledBlock>, label: &str) -> &'a mut LabelledBlock {
        let i = match blocks.iter().position(|b| b.label == label) {
            Some(i) => i,
            None => {
                blocks.push(LabelledBlock {
                    label: label.to_string(),
                    fields: Fields::default(),
                    notes: Vec::new(),
                });
                blocks.len() - 1
            }
        };
        &mut blocks[i]
    }

    /// Turns the draft into a syntax tree ready for the printer.
    pub fn into_file(mut self) -> File {
        let mut body: Vec<Statement> = Vec::new();
        let mut group_start = true;
        let push = |body: &mut Vec<Statement>, mut s: Statement, group_start: &mut bool| {
            if *group_start && !body.is_empty() {
                s.trivia.blank_line_before = true;
            }
            *group_start = false;
            body.push(s);
        };

        const HEAD: &[&str] = &["name", "from", "hostname", "domainname"];
        const WORKLOAD: &[&str] = &[
            "user",
            "groups",
            "umask",
            "workdir",
            "volume",
            "entrypoint",
            "cmd",
            "stop_signal",
            "terminal",
            "expose",
        ];
        const ISOLATION: &[&str] = &["network", "namespaces"];

        for key in HEAD {
            if let Some(e) = self.top.remove(key) {
                push(&mut body, assignment(key, e), &mut group_start);
            }
        }
        group_start = true;
        if !self.build.is_empty() {
            let steps = self
                .build
                .drain(..)
                .map(|s| assignment(s.key, s.entry))
                .collect();
            push(
                &mut body,
                block("build", None, steps, Vec::new()),
                &mut group_start,
            );
        }
        group_start = true;
        if let Some(s) = map_statement("env", &self.env) {
            push(&mut body, s, &mut group_start);
        }
        for key in WORKLOAD {
            if let Some(e) = self.top.remove(key) {
                push(&mut body, assignment(key, e), &mut group_start);
            }
        }
        if let Some(s) = map_statement("labels", &self.labels) {
            push(&mut body, s, &mut group_start);
        }
        group_start = true;
        if !self.idmap.items.is_empty() && self.top.get("namespaces").is_none() {
            let host_network = self
                .top
                .get("network")
                .is_some_and(|e| matches!(&e.value.kind, ValueKind::Word(w) if w == "host"));
            let mut names = vec!["mount", "uts", "ipc", "pid"];
            if !host_network {
                names.push("net");
            }
            names.extend(["cgroup", "user"]);
            let mut e = entry(
                list(names.iter().map(|n| word(n)).collect()),
                Span::synthetic(),
                0,
            );
            e.notes
                .push("the default namespaces plus `user`, which `idmap` needs".to_string());
            self.top.set("namespaces", e, &mut self.merge);
        }
        // A format's default network gives way to the interfaces another
        // input configures.
        if !self.nets.is_empty() && self.top.get("network").is_some_and(|e| e.weak) {
            self.top.remove("network");
        }
        for key in ISOLATION {
            if let Some(e) = self.top.remove(key) {
                push(&mut body, assignment(key, e), &mut group_start);
            }
        }
        // Anything else an importer set, in the order it was set.
        for (key, e) in std::mem::take(&mut self.top.items) {
            push(&mut body, assignment(&key, e), &mut group_start);
        }

        // Limits in the order LANGUAGE.md lists them, whatever the order
        // of the foreign file.
        const LIMIT_ORDER: &[&str] = &[
            "memory.max",
            "memory.high",
            "memory.swap.max",
            "cpu.weight",
            "cpu.quota",
            "cpu.period",
            "cpuset.cpus",
            "cpuset.mems",
            "io.weight",
            "pids.max",
        ];
        self.limits.items.sort_by_key(|(k, _)| {
            LIMIT_ORDER
                .iter()
                .position(|o| o == k)
                .unwrap_or(LIMIT_ORDER.len())
        });
        let fields_blocks: [(&str, Fields); 2] = [
            ("limits", std::mem::take(&mut self.limits)),
            ("rlimits", std::mem::take(&mut self.rlimits)),
        ];
        for (name, fields) in fields_blocks {
            if !fields.items.is_empty() {
                group_start = true;
                push(
                    &mut body,
                    fields_block(name, None, fields, Vec::new()),
                    &mut group_start,
                );
            }
        }
        if let Some(s) = self.capabilities_statement() {
            group_start = true;
            push(&mut body, s, &mut group_start);
        }
        if !self.security.items.is_empty() {
            group_start = true;
            let fields = std::mem::take(&mut self.security);
            push(
                &mut body,
                fields_block("security", None, fields, Vec::new()),
                &mut group_start,
            );
        }
        for (name, blocks) in [
            ("mount", std::mem::take(&mut self.mounts)),
            ("net", std::mem::take(&mut self.nets)),
        ] {
            for b in blocks {
                group_start = true;
                push(
                    &mut body,
                    fields_block(name, Some(&b.label), b.fields, b.notes),
                    &mut group_start,
                );
            }
        }
        for (name, fields) in [
            ("idmap", std::mem::take(&mut self.idmap)),
            ("console", std::mem::take(&mut self.console)),
        ] {
            if !fields.items.is_empty() {
                group_start = true;
                push(
                    &mut body,
                    fields_block(name, None, fields, Vec::new()),
                    &mut group_start,
                );
            }
        }

        let header: Vec<Comment> = self
            .header
            .iter()
            .flat_map(|t| wrap(t))
            .map(|t| comment(&t))
            .collect();
        let mut footer: Vec<Comment> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        self.footer.retain(|line| seen.insert(line.clone()));
        if !self.footer.is_empty() {
            footer.push(comment(""));
            footer.extend(
                self.footer
                    .iter()
                    .flat_map(|t| wrap(t))
                    .map(|t| comment(&t)),
            );
        }
        let mut file = File {
            source: Span::SYNTHETIC_SOURCE,
            includes: Vec::new(),
            body,
            trailing_comments: Vec::new(),
        };
        match file.body.first_mut() {
            Some(first) => {
                let mut leading = header;
                leading.append(&mut first.trivia.leading);
                first.trivia.leading = leading;
                file.trailing_comments = footer;
            }
            None => {
                let mut all = header;
                all.extend(footer);
                file.trailing_comments = all;
            }
        }
        file
    }

    fn capabilities_statement(&mut self) -> Option<Statement> {
        let caps = std::mem::take(&mut self.capabilities);
        if caps.policy.is_none() && caps.ambient.is_empty() {
            return None;
        }
        let mut fields = Fields::default();
        let mut log = MergeLog::default();
        let span = Span::synthetic();
        let words = |names: &[String]| {
            Value::synthetic(ValueKind::List(names.iter().map(|n| word(n)).collect()))
        };
        let mut effective: Vec<String> = crate::capability::DEFAULT_SET
            .iter()
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let mut add: Vec<String> = Vec::new();
        match &caps.policy {
            Some((CapPolicy::DefaultMinus(drop), _, input)) => {
                effective.retain(|c| !drop.contains(c));
                if !drop.is_empty() {
                    fields.set("drop", entry(words(drop), span, *input), &mut log);
                }
            }
            Some((CapPolicy::Exactly(keep), _, input)) => {
                effective = keep.clone();
                fields.set("drop", entry(word("all"), span, *input), &mut log);
                add = keep.clone();
            }
            None => {}
        }
        // An ambient capability must be in the bounding set; the foreign
        // formats start from every capability, so a capability the source
        // raised into the ambient set is one it had.
        let mut raised = Vec::new();
        for c in &caps.ambient {
            if !effective.contains(c) && !add.contains(c) {
                add.push(c.clone());
                raised.push(c.clone());
            }
        }
        if !add.is_empty() {
            let mut e = entry(words(&add), span, 0);
            if !raised.is_empty() {
                e.notes.push(format!(
                    "{} added to the set because the source raises it into the ambient set",
                    raised.join(", ")
                ));
            }
            fields.set("add", e, &mut log);
        }
        if !caps.ambient.is_empty() {
            fields.set("ambient", entry(words(&caps.ambient), span, 0), &mut log);
        }
        if fields.items.is_empty() {
            return None;
        }
        Some(fields_block("capabilities", None, fields, caps.notes))
    }
}

/// Whether sbx accepts `text` as a user or group name or id (the
/// compiler's rule: digits, or letters, digits, `_ . -`, not starting with
/// `-`, an optional final `$`).
pub(crate) fn valid_user_part(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && text
            .trim_end_matches('$')
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// A `user` value for `user[:group]`, if sbx accepts both parts.
pub(crate) fn user_value(user: &str, group: Option<&str>) -> Option<Value> {
    if !valid_user_part(user) || group.is_some_and(|g| !valid_user_part(g)) {
        return None;
    }
    Some(match group {
        Some(g) => string(&format!("{user}:{g}")),
        None => match user.parse::<u64>() {
            Ok(n) if n <= u64::from(u32::MAX) => integer(n),
            _ => string(user),
        },
    })
}

/// `text` as a hostname sbx accepts (labels of letters, digits and inner
/// `-`, at most 64 bytes): `None` if it already is one, else the nearest
/// valid name (`migrate_test` -> `migrate-test`), empty if there is none.
pub(crate) fn hostname_fix(text: &str) -> Option<String> {
    let valid = |t: &str| {
        !t.is_empty()
            && t.len() <= 64
            && t.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
    };
    if valid(text) {
        return None;
    }
    let labels: Vec<String> = text
        .split('.')
        .map(|l| {
            let mapped: String = l
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let trimmed = mapped.trim_matches('-');
            trimmed
                .chars()
                .take(63)
                .collect::<String>()
                .trim_end_matches('-')
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .collect();
    let mut fixed = labels.join(".");
    while fixed.len() > 64 {
        fixed.pop();
        fixed = fixed.trim_end_matches(['-', '.']).to_string();
    }
    Some(fixed)
}

/// A CPU or memory-node list the compiler takes (`0-3,8`): numbers and
/// ascending ranges separated by commas.
pub(crate) fn valid_cpu_list(text: &str) -> bool {
    let number = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    !text.is_empty()
        && text.split(',').all(|part| match part.split_once('-') {
            Some((a, b)) => matches!((number(a), number(b)), (Some(a), Some(b)) if a <= b),
            None => number(part).is_some(),
        })
}

/// `[soft, hard]` or one value, when soft is at most hard (`infinity` is
/// the largest); `None` when soft is above hard.
pub(crate) fn rlimit_pair(soft: Value, hard: Value) -> Option<Value> {
    let n = |v: &Value| match &v.kind {
        ValueKind::Integer(i) => Some(i.value),
        ValueKind::Size(s) => Some(s.bytes),
        _ => None,
    };
    match (n(&soft), n(&hard)) {
        (Some(s), Some(h)) if s > h => None,
        (None, Some(_)) => None,
        _ => Some(list(vec![soft, hard])),
    }
}

/// Do two values mean the same (spans ignored)?
fn same_value(a: &ValueKind, b: &ValueKind) -> bool {
    match (a, b) {
        (ValueKind::List(x), ValueKind::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(&a.kind, &b.kind))
        }
        (ValueKind::Map(x), ValueKind::Map(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|(a, b)| {
                    a.key.node == b.key.node && same_value(&a.value.kind, &b.value.kind)
                })
        }
        _ => a == b,
    }
}

/// A short rendering of a value for notes and messages.
pub(crate) fn render_value(v: &Value) -> String {
    match &v.kind {
        ValueKind::String(s) => format!("{:?}", s.value),
        ValueKind::Integer(i) => match i.radix {
            Radix::Octal => format!("0o{:o}", i.value),
            Radix::Hex => format!("0x{:x}", i.value),
            Radix::Decimal => i.value.to_string(),
        },
        ValueKind::Size(s) => format!("{}{}", s.number.text, s.unit.suffix()),
        ValueKind::Percent(p) => format!("{}%", p.text),
        ValueKind::Duration(d) => format!("{}{}", d.number.text, d.unit.suffix()),
        ValueKind::Bool(b) => b.word.clone(),
        ValueKind::Word(w) | ValueKind::Address(w) => w.clone(),
        ValueKind::Port(p) => format!(
            "{}/{}",
            p.number,
            if p.protocol == Protocol::Tcp {
                "tcp"
            } else {
                "udp"
            }
        ),
        ValueKind::List(items) => {
            let parts: Vec<String> = items.iter().map(render_value).collect();
            format!("[{}]", parts.join(", "))
        }
        ValueKind::Map(entries) => {
            let parts: Vec<String> = entries
                .iter()
                .map(|e| format!("{} = {}", e.key.node, render_value(&e.value)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
    }
}

pub(crate) fn entry(value: Value, span: Span, input: usize) -> Entry {
    Entry {
        value,
        span,
        input,
        notes: Vec::new(),
        weak: false,
    }
}

/// A comment line; control characters (a newline would end the comment)
/// become spaces.
pub(crate) fn comment(text: &str) -> Comment {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.trim_end();
    Comment {
        text: if clean.is_empty() {
            String::new()
        } else {
            format!(" {clean}")
        },
        span: Span::synthetic(),
    }
}

/// Splits a long note into comment lines of at most about 96 characters,
/// continuation lines indented. A leading `what (place):` stays whole on
/// the first line, so that a comment always starts with what it is.
fn wrap(text: &str) -> Vec<String> {
    const WIDTH: usize = 96;
    let (head, rest) = match text.find("): ") {
        Some(p) if text[..p].contains(" (") => (&text[..p + 2], &text[p + 3..]),
        _ => ("", text),
    };
    let mut lines = Vec::new();
    let mut current = head.to_string();
    for word in rest.split(' ') {
        if !current.trim().is_empty() && current.chars().count() + 1 + word.chars().count() > WIDTH
        {
            lines.push(std::mem::take(&mut current));
            current.push_str("  ");
        }
        if !current.is_empty() && !current.ends_with("  ") {
            current.push(' ');
        }
        current.push_str(word);
    }
    lines.push(current);
    lines
}

fn trivia(notes: &[String]) -> Trivia {
    let mut t = Trivia::default();
    match notes {
        [] => {}
        [one] if one.chars().count() <= 90 => t.trailing = Some(comment(one)),
        many => {
            t.leading = many
                .iter()
                .flat_map(|n| wrap(n))
                .map(|n| comment(&n))
                .collect()
        }
    }
    t
}

fn assignment(key: &str, e: Entry) -> Statement {
    Statement {
        kind: StatementKind::Assignment(Assignment {
            key: Key::synthetic(key),
            value: e.value,
        }),
        span: Span::synthetic(),
        trivia: trivia(&e.notes),
    }
}

fn block(key: &str, label: Option<&str>, body: Vec<Statement>, notes: Vec<String>) -> Statement {
    Statement {
        kind: StatementKind::Block(Block {
            key: Key::synthetic(key),
            label: label.map(|l| Label {
                name: l.to_string(),
                quoted: !is_ident(l),
                span: Span::synthetic(),
            }),
            body,
            trailing_comments: Vec::new(),
        }),
        span: Span::synthetic(),
        trivia: Trivia {
            leading: notes
                .iter()
                .flat_map(|n| wrap(n))
                .map(|n| comment(&n))
                .collect(),
            ..Trivia::default()
        },
    }
}

fn fields_block(key: &str, label: Option<&str>, fields: Fields, notes: Vec<String>) -> Statement {
    let body = fields
        .items
        .into_iter()
        .map(|(k, e)| assignment(&k, e))
        .collect();
    block(key, label, body, notes)
}

fn map_statement(key: &str, fields: &Fields) -> Option<Statement> {
    if fields.items.is_empty() {
        return None;
    }
    let mut notes = Vec::new();
    let entries = fields
        .items
        .iter()
        .map(|(k, e)| {
            for n in &e.notes {
                notes.push(format!("{k}: {n}"));
            }
            MapEntry {
                key: Spanned::new(k.clone(), Span::synthetic()),
                quoted_key: !is_ident(k),
                value: e.value.clone(),
            }
        })
        .collect();
    let mut s = assignment(
        key,
        Entry {
            value: Value::synthetic(ValueKind::Map(entries)),
            span: Span::synthetic(),
            input: 0,
            notes: Vec::new(),
            weak: false,
        },
    );
    s.trivia.leading = notes.iter().map(|n| comment(n)).collect();
    Some(s)
}

/// `[A-Za-z_][A-Za-z0-9_-]*`: may be written bare.
pub(crate) fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub(crate) fn string(s: &str) -> Value {
    Value::synthetic(ValueKind::String(StringLit {
        value: s.to_string(),
        multiline: s.contains('\n'),
    }))
}

pub(crate) fn word(w: &str) -> Value {
    Value::synthetic(ValueKind::Word(w.to_string()))
}

pub(crate) fn integer(n: u64) -> Value {
    Value::synthetic(ValueKind::Integer(IntegerLit {
        value: n,
        radix: Radix::Decimal,
    }))
}

pub(crate) fn octal(n: u64) -> Value {
    Value::synthetic(ValueKind::Integer(IntegerLit {
        value: n,
        radix: Radix::Octal,
    }))
}

pub(crate) fn boolean(b: bool) -> Value {
    Value::synthetic(ValueKind::Bool(sbx_grammar::ast::BoolLit {
        value: b,
        word: if b { "true" } else { "false" }.to_string(),
    }))
}

pub(crate) fn list(items: Vec<Value>) -> Value {
    Value::synthetic(ValueKind::List(items))
}

pub(crate) fn strings(items: &[String]) -> Value {
    list(items.iter().map(|s| string(s)).collect())
}

/// A size in bytes, written with the largest binary unit that divides it.
pub(crate) fn size(bytes: u64) -> Value {
    let unit = [SizeUnit::T, SizeUnit::G, SizeUnit::M, SizeUnit::K]
        .into_iter()
        .find(|u| bytes != 0 && bytes.is_multiple_of(u.multiplier()))
        .unwrap_or(SizeUnit::Bytes);
    Value::synthetic(ValueKind::Size(SizeLit {
        number: DecimalLit {
            text: (bytes / unit.multiplier()).to_string(),
        },
        unit,
        bytes,
    }))
}

/// A percentage from a decimal text such as `25` or `12.5`.
pub(crate) fn percent(text: &str) -> Value {
    Value::synthetic(ValueKind::Percent(DecimalLit {
        text: text.to_string(),
    }))
}

/// A duration in microseconds, written with the largest unit that divides
/// it.
pub(crate) fn duration(micros: u64) -> Value {
    use sbx_grammar::ast::{DurationLit, DurationUnit};
    let unit = [
        DurationUnit::H,
        DurationUnit::Min,
        DurationUnit::S,
        DurationUnit::Ms,
    ]
    .into_iter()
    .find(|u| micros != 0 && micros.is_multiple_of(u.micros()))
    .unwrap_or(DurationUnit::Us);
    Value::synthetic(ValueKind::Duration(DurationLit {
        number: DecimalLit {
            text: (micros / unit.micros()).to_string(),
        },
        unit,
        micros,
    }))
}

pub(crate) fn port(number: u64, protocol: Protocol) -> Value {
    Value::synthetic(ValueKind::Port(PortLit { number, protocol }))
}

/// `a / b * 100` as a decimal text with at most 4 fraction digits (rounded
/// up, so that a quota never falls below what was asked), and whether it
/// was exact.
pub(crate) fn ratio_percent(a: u64, b: u64) -> (String, bool) {
    if b == 0 {
        return ("0".to_string(), false);
    }
    let scaled = (a as u128) * 100 * 10_000;
    let exact = scaled.is_multiple_of(b as u128);
    let whole = scaled / b as u128 + u128::from(!exact);
    let int = whole / 10_000;
    let frac = whole % 10_000;
    let text = if frac == 0 {
        int.to_string()
    } else {
        format!("{int}.{:04}", frac)
            .trim_end_matches('0')
            .to_string()
    };
    (text, exact)
}

/// Parses a size with an optional binary suffix (`K M G T`, case-insensitive,
/// an optional trailing `B`/`iB`), as systemd, LXC and the kernel's
/// `memparse` read them. `None` if it is not one.
pub(crate) fn parse_binary_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits_end = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, suffix) = t.split_at(digits_end);
    if number.is_empty() {
        return None;
    }
    let suffix = suffix.trim().to_ascii_uppercase();
    let suffix = suffix
        .strip_suffix("IB")
        .or_else(|| suffix.strip_suffix('B'))
        .unwrap_or(&suffix);
    let multiplier: u64 = match suffix {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        "P" => 1 << 50,
        "E" => 1 << 60,
        _ => return None,
    };
    DecimalLit {
        text: number.to_string(),
    }
    .scaled_exact(multiplier)
    .or_else(|| {
        DecimalLit {
            text: number.to_string(),
        }
        .scaled_floor(multiplier, 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_pick_the_largest_exact_unit() {
        assert_eq!(render_value(&size(1 << 30)), "1G");
        assert_eq!(render_value(&size(640 << 20)), "640M");
        assert_eq!(render_value(&size(1000)), "1000");
        assert_eq!(parse_binary_size("512M"), Some(512 << 20));
        assert_eq!(parse_binary_size("1.5G"), Some(3 << 29));
        assert_eq!(parse_binary_size("50M"), Some(50 << 20));
        assert_eq!(parse_binary_size("12x"), None);
    }

    #[test]
    fn percent_ratio() {
        assert_eq!(ratio_percent(25_000, 100_000), ("25".to_string(), true));
        assert_eq!(ratio_percent(1, 3), ("33.3334".to_string(), false));
        assert_eq!(ratio_percent(150_000, 100_000), ("150".to_string(), true));
    }

    #[test]
    fn capability_policies_combine_to_the_smaller_set() {
        let mut caps = Capabilities::default();
        let s = Span::synthetic();
        caps.restrict(
            CapPolicy::Exactly(vec!["chown".into(), "kill".into()]),
            s,
            0,
        );
        caps.restrict(CapPolicy::DefaultMinus(vec!["kill".into()]), s, 1);
        assert_eq!(
            caps.policy.map(|p| p.0),
            Some(CapPolicy::Exactly(vec!["chown".into()]))
        );
    }
}
