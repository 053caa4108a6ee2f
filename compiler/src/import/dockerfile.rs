//! Dockerfiles as a profile: the final stage's image, build steps and
//! runtime settings.
//!
//! The file is read as BuildKit reads it: parser directives (`# escape=`)
//! at the top, `#` comment lines, a trailing escape character continues a
//! line (comment and empty lines inside are skipped), heredocs after `RUN`,
//! `COPY` and `ADD`. Variables (`$VAR`, `${VAR}`, `${VAR:-default}`) are
//! substituted in the instructions Docker substitutes them in, from `ARG`
//! and `ENV`. A multi-stage build converts the final stage (with the stages
//! it is built `FROM`); the other stages are named in comments.

use sbx_grammar::ast::{Protocol, Span, Value};

use super::draft::{entry, integer, list, port, string, strings, word, BuildStep, Draft};
use super::systemd::shell_quote;
use super::{lines_with_offsets, normalize_signal, shorten, Ctx};
use crate::suggest::did_you_mean;

/// Every Dockerfile instruction.
pub(crate) const INSTRUCTIONS: &[&str] = &[
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
];

/// A heredoc after an instruction (`<<EOF` ... `EOF`).
#[derive(Debug, Clone)]
struct Heredoc {
    /// The terminating word.
    word: String,
    /// The lines between, each with its newline.
    body: String,
    /// The marker as written (`<<-"EOF"`).
    marker: String,
}

/// One instruction, continuation lines joined.
#[derive(Debug, Clone)]
struct Instruction {
    keyword: String,
    /// `--name=value` flags at the start of the arguments.
    flags: Vec<(String, String)>,
    /// The arguments after the flags, as written (continuations joined).
    args: String,
    heredocs: Vec<Heredoc>,
    span: Span,
}

/// What the stage being converted has set so far.
struct State {
    env: Vec<(String, String)>,
    args: Vec<(String, Option<String>)>,
    shell: Vec<String>,
    shell_set: bool,
    workdir: String,
    /// The escape character (`# escape=`).
    escape: char,
    /// The `USER` in effect, for the `RUN` steps that follow.
    user: Option<String>,
    cmd_set_in_stage: bool,
}

const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

pub(super) fn import(ctx: &mut Ctx, draft: &mut Draft) {
    let Some((instructions, escape)) = parse(ctx) else {
        return;
    };
    if instructions.is_empty() {
        ctx.error(
            "sbx::convert::not-dockerfile",
            ctx.span(0, ctx.text.len().min(1)),
            format!("`{}` has no instruction: it is not a Dockerfile", ctx.name),
            "no instruction here",
            "a Dockerfile starts with `FROM IMAGE` (after optional `ARG`s)",
        );
        return;
    }
    if !instructions
        .iter()
        .any(|i| INSTRUCTIONS.contains(&i.keyword.as_str()))
    {
        let at = instructions[0].span;
        ctx.error(
            "sbx::convert::not-dockerfile",
            at,
            format!(
                "`{}` has no Dockerfile instruction: it is not a Dockerfile",
                ctx.name
            ),
            "not an instruction",
            "a Dockerfile starts with `FROM IMAGE` (after optional `ARG`s)",
        );
        return;
    }

    // Stages: global ARGs, then one list of instructions per FROM.
    let mut global_args: Vec<(String, Option<String>)> = Vec::new();
    let mut stages: Vec<(Instruction, Vec<Instruction>)> = Vec::new();
    for ins in instructions {
        if !INSTRUCTIONS.contains(&ins.keyword.as_str()) {
            unknown_instruction(ctx, &ins);
            continue;
        }
        if ins.keyword == "FROM" {
            stages.push((ins, Vec::new()));
            continue;
        }
        match stages.last_mut() {
            Some((_, body)) => body.push(ins),
            None if ins.keyword == "ARG" => {
                let lexer = Lexer::new(escape, &[], &[]);
                for (name, value) in parse_pairs(&ins.args, lexer.escape, true) {
                    let value = value.map(|v| lexer.expand(&v).0);
                    global_args.retain(|(n, _)| n != &name);
                    global_args.push((name, value));
                }
            }
            None => {
                let (ctx_ref, ins_ref) = (&mut *ctx, &ins);
                ctx_ref.untranslated(
                    ins_ref.span,
                    &ins_ref.keyword,
                    "only `ARG` may come before the first `FROM`; Docker refuses this file",
                );
            }
        }
    }
    if stages.is_empty() {
        ctx.lossy(
            ctx.span(0, ctx.text.len().min(1)),
            "the Dockerfile has no `FROM`",
            "Docker refuses it; the profile keeps what the instructions say, on the host's root",
        );
    }

    // The final stage and the stages it is built FROM, oldest first.
    let names: Vec<Option<String>> = stages.iter().map(|(f, _)| stage_name(&f.args)).collect();
    let mut chain = Vec::new();
    if !stages.is_empty() {
        let mut i = stages.len() - 1;
        loop {
            chain.push(i);
            let base = first_word(&stages[i].0.args).to_ascii_lowercase();
            match names[..i]
                .iter()
                .rposition(|n| n.as_deref().map(str::to_ascii_lowercase) == Some(base.clone()))
            {
                Some(parent) => i = parent,
                None => break,
            }
        }
        chain.reverse();
    }
    for (i, (from, _)) in stages.iter().enumerate() {
        if chain.contains(&i) {
            continue;
        }
        let label = names[i]
            .clone()
            .map(|n| format!("`{n}`"))
            .unwrap_or_else(|| format!("#{}", i + 1));
        ctx.footer.push(format!(
            "build stage {label} ({}): FROM {} -- not converted: only the final stage becomes the profile",
            ctx.place(from.span),
            shorten(&from.args, 60)
        ));
        ctx.warn(
            "sbx::convert::stage",
            from.span,
            format!("build stage {label} is not converted"),
            "an earlier build stage",
            "sbx builds one image; files this stage builds reach the profile only through `COPY --from`, which is reported where it is used",
        );
    }

    let mut state = State {
        env: Vec::new(),
        args: Vec::new(),
        shell: DEFAULT_SHELL.iter().map(|s| s.to_string()).collect(),
        shell_set: false,
        workdir: "/".to_string(),
        escape,
        user: None,
        cmd_set_in_stage: false,
    };
    let mut cmd: Option<(Command, Span)> = None;
    let mut entrypoint: Option<(Command, Span)> = None;

    if stages.is_empty() {
        // No FROM: still translate what is there, as one anonymous stage.
        return;
    }
    for (position, &si) in chain.iter().enumerate() {
        let (from, body) = &stages[si];
        state.args.clear();
        state.cmd_set_in_stage = false;
        if position == 0 {
            from_instruction(ctx, draft, from, &global_args, escape);
        }
        let stage_names: Vec<String> = names
            .iter()
            .flatten()
            .map(|n| n.to_ascii_lowercase())
            .collect();
        for ins in body {
            instruction(
                ctx,
                draft,
                &mut state,
                ins,
                &stage_names,
                &mut cmd,
                &mut entrypoint,
            );
        }
    }

    // The image's environment, process and workdir.
    for (k, v) in &state.env {
        draft.env.set(
            k,
            entry(string(v), Span::synthetic(), ctx.input),
            &mut draft.merge,
        );
    }
    if state.workdir != "/" {
        let mut e = entry(string(&state.workdir), Span::synthetic(), ctx.input);
        e.notes.push("the final WORKDIR".to_string());
        draft.top.set("workdir", e, &mut draft.merge);
    }
    let shell_entrypoint = matches!(&entrypoint, Some((Command::Shell(_), _)));
    if let Some((c, span)) = &entrypoint {
        let words = match c {
            Command::Exec(w) => w.clone(),
            Command::Shell(text) => {
                let mut w = state.shell.clone();
                w.push(text.clone());
                w
            }
        };
        let mut e = entry(strings(&words), *span, ctx.input);
        if shell_entrypoint {
            e.notes
                .push("shell-form ENTRYPOINT: run through the shell".to_string());
        }
        if words.first().is_some_and(|p| p.is_empty()) {
            ctx.untranslated(*span, "ENTRYPOINT", "the program name is empty");
        } else if !words.is_empty() {
            draft.top.set("entrypoint", e, &mut draft.merge);
        }
    }
    if let Some((c, span)) = &cmd {
        if shell_entrypoint {
            ctx.lossy(
                *span,
                "`CMD` is ignored: the `ENTRYPOINT` is in shell form",
                "Docker passes CMD to a shell-form ENTRYPOINT where the shell ignores it; write ENTRYPOINT as JSON to use CMD",
            );
            ctx.footer.push(format!(
                "ignored ({}): CMD -- a shell-form ENTRYPOINT ignores CMD, as in Docker",
                ctx.place(*span)
            ));
        } else {
            let value = match c {
                Command::Exec(w) if w.first().is_some_and(|p| p.is_empty()) => {
                    ctx.untranslated(*span, "CMD", "the program name is empty");
                    None
                }
                Command::Exec(w) => (!w.is_empty()).then(|| strings(w)),
                Command::Shell(text) if text.trim().is_empty() => None,
                Command::Shell(text) if !state.shell_set && entrypoint.is_none() => {
                    Some(string(text))
                }
                Command::Shell(text) => {
                    let mut w = state.shell.clone();
                    w.push(text.clone());
                    Some(strings(&w))
                }
            };
            if let Some(v) = value {
                draft
                    .top
                    .set("cmd", entry(v, *span, ctx.input), &mut draft.merge);
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Command {
    Exec(Vec<String>),
    Shell(String),
}

/// The JSON (exec) form, if `args` is a JSON array of strings.
fn json_form(args: &str) -> Option<Vec<String>> {
    let t = args.trim();
    if !t.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(t).ok()
}

fn command(args: &str) -> Command {
    match json_form(args) {
        Some(w) => Command::Exec(w),
        None => Command::Shell(args.trim().to_string()),
    }
}

fn first_word(args: &str) -> &str {
    args.split_whitespace().next().unwrap_or("")
}

/// The name of a stage (`FROM image AS name`).
fn stage_name(args: &str) -> Option<String> {
    let words: Vec<&str> = args.split_whitespace().collect();
    match words.as_slice() {
        [_, kw, name, ..] if kw.eq_ignore_ascii_case("as") => Some(name.to_string()),
        _ => None,
    }
}

fn unknown_instruction(ctx: &mut Ctx, ins: &Instruction) {
    let help = match did_you_mean(&ins.keyword, INSTRUCTIONS.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => "Docker refuses an unknown instruction".to_string(),
    };
    ctx.footer.push(format!(
        "unknown instruction ({}): {} {}",
        ctx.place(ins.span),
        ins.keyword,
        shorten(&ins.args, 80)
    ));
    let start = ins.span.start;
    ctx.warn(
        "sbx::convert::unknown-key",
        ctx.span(start, start + ins.keyword.len()),
        format!("unknown instruction `{}`", ins.keyword),
        "not a Dockerfile instruction",
        format!("{help} (the line is kept as a comment at the end of the profile)"),
    );
}

/// Reads the file into instructions. `None` after an error.
fn parse(ctx: &mut Ctx) -> Option<(Vec<Instruction>, char)> {
    let lines = lines_with_offsets(ctx.text);
    let mut escape = '\\';
    let mut i = 0;
    // Parser directives: `# name=value` lines at the very top.
    while i < lines.len() {
        let t = lines[i].1.trim();
        let Some(body) = t.strip_prefix('#') else {
            break;
        };
        let Some((name, value)) = body.split_once('=') else {
            break;
        };
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) || name.contains(' ')
        {
            break;
        }
        let value = value.trim();
        if name.eq_ignore_ascii_case("escape") {
            match value {
                "\\" => escape = '\\',
                "`" => escape = '`',
                _ => {
                    let (start, raw) = lines[i];
                    ctx.lossy(
                        ctx.span(start, start + raw.len()),
                        format!("`{value}` is not an escape character Docker accepts"),
                        "the escape character is `\\` or `` ` ``; `\\` is used",
                    );
                }
            }
        }
        i += 1;
    }

    let mut out = Vec::new();
    while i < lines.len() {
        let (start, raw) = lines[i];
        i += 1;
        let t = raw.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut text = String::new();
        let mut end = start + raw.len();
        let mut current = raw.to_string();
        loop {
            let trimmed = current.trim_end_matches([' ', '\t']);
            match trimmed.strip_suffix(escape) {
                Some(body) => {
                    text.push_str(body);
                    // Comment and empty lines inside a continuation are skipped.
                    let mut next = None;
                    while i < lines.len() {
                        let (s, l) = lines[i];
                        i += 1;
                        let lt = l.trim_start();
                        if lt.starts_with('#') || lt.trim().is_empty() {
                            continue;
                        }
                        next = Some((s, l));
                        break;
                    }
                    match next {
                        Some((s, l)) => {
                            end = s + l.len();
                            current = l.to_string();
                        }
                        None => break,
                    }
                }
                None => {
                    text.push_str(&current);
                    break;
                }
            }
        }
        let text = text.trim().to_string();
        let (keyword, rest) = match text.find(char::is_whitespace) {
            Some(p) => (text[..p].to_string(), text[p..].trim_start().to_string()),
            None => (text.clone(), String::new()),
        };
        let keyword = keyword.to_ascii_uppercase();
        let lead = raw.len() - raw.trim_start().len();
        let mut span = ctx.span(start + lead, end);

        // Flags: `--name=value` words at the start.
        let mut flags = Vec::new();
        let mut args = rest.as_str();
        if matches!(
            keyword.as_str(),
            "FROM" | "RUN" | "COPY" | "ADD" | "HEALTHCHECK"
        ) {
            while let Some(r) = args.strip_prefix("--") {
                let w_end = r.find(char::is_whitespace).unwrap_or(r.len());
                let flag = &r[..w_end];
                let (n, v) = flag.split_once('=').unwrap_or((flag, ""));
                flags.push((n.to_string(), v.to_string()));
                args = r[w_end..].trim_start();
            }
        }
        let args = args.to_string();

        // Heredocs, for the instructions that take them.
        let mut heredocs = Vec::new();
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for (marker, word, strip_tabs) in heredoc_markers(&args) {
                let mut body = String::new();
                let mut closed = false;
                while i < lines.len() {
                    let (s, l) = lines[i];
                    i += 1;
                    end = s + l.len();
                    let candidate = if strip_tabs {
                        l.trim_start_matches('\t')
                    } else {
                        l
                    };
                    if candidate == word {
                        closed = true;
                        break;
                    }
                    body.push_str(if strip_tabs { candidate } else { l });
                    body.push('\n');
                }
                if !closed {
                    let at = text
                        .find(&marker)
                        .map(|o| start + lead + o)
                        .unwrap_or(start + lead);
                    ctx.error(
                        "sbx::convert::heredoc",
                        ctx.span(at, at + marker.len()),
                        format!("the heredoc `{marker}` is not terminated"),
                        "opened here",
                        format!("end it with a line holding only `{word}`"),
                    );
                    return None;
                }
                heredocs.push(Heredoc { word, body, marker });
            }
            span = ctx.span(span.start, end);
        }
        out.push(Instruction {
            keyword,
            flags,
            args,
            heredocs,
            span,
        });
    }
    Some((out, escape))
}

/// The heredoc markers of an instruction's arguments, outside quotes:
/// `(marker as written, terminating word, strip leading tabs)`.
fn heredoc_markers(args: &str) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    let b = args.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'\'' || c == b'"' => quote = Some(c),
            None if c == b'<' && b.get(i + 1) == Some(&b'<') && b.get(i + 2) != Some(&b'<') => {
                let start = i;
                let mut j = i + 2;
                let strip = b.get(j) == Some(&b'-');
                if strip {
                    j += 1;
                }
                let q = match b.get(j) {
                    Some(&q @ (b'\'' | b'"')) => {
                        j += 1;
                        Some(q)
                    }
                    _ => None,
                };
                let word_start = j;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'-')
                {
                    j += 1;
                }
                let word = &args[word_start..j];
                if let Some(q) = q {
                    if b.get(j) == Some(&q) {
                        j += 1;
                    }
                }
                if !word.is_empty() {
                    out.push((args[start..j].to_string(), word.to_string(), strip));
                }
                i = j;
                continue;
            }
            None => {}
        }
        i += 1;
    }
    out
}

/// BuildKit's word lexer: quotes, the escape character and `$` expansion.
struct Lexer<'v> {
    env: &'v [(String, String)],
    args: &'v [(String, Option<String>)],
    escape: char,
}

impl<'v> Lexer<'v> {
    fn new(
        escape: char,
        env: &'v [(String, String)],
        args: &'v [(String, Option<String>)],
    ) -> Self {
        Lexer { env, args, escape }
    }

    fn lookup(&self, name: &str) -> Option<String> {
        // ENV takes precedence over ARG, as in Docker.
        if let Some((_, v)) = self.env.iter().rev().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        self.args
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.clone())
    }

    /// Processes one word: quotes removed, escapes resolved, variables
    /// substituted. Returns the text and the variables that had no value.
    fn expand(&self, text: &str) -> (String, Vec<String>) {
        let mut out = String::new();
        let mut missing = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        let mut quote: Option<char> = None;
        while i < chars.len() {
            let c = chars[i];
            match (quote, c) {
                (None, '\'') | (None, '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (Some('\''), c) => out.push(c),
                (q, c) if c == self.escape => match chars.get(i + 1) {
                    Some(&n) if q.is_none() || matches!(n, '"' | '$') || n == self.escape => {
                        out.push(n);
                        i += 1;
                    }
                    Some(_) => out.push(c),
                    None => {}
                },
                (_, '$') => {
                    let (value, used) = self.variable(&chars[i + 1..], &mut missing);
                    out.push_str(&value);
                    i += used;
                }
                (_, c) => out.push(c),
            }
            i += 1;
        }
        (out, missing)
    }

    /// A `$` expansion starting right after the `$`: the value and how many
    /// characters it used.
    fn variable(&self, rest: &[char], missing: &mut Vec<String>) -> (String, usize) {
        let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
        match rest.first() {
            Some('{') => {
                let Some(close) = rest.iter().position(|&c| c == '}') else {
                    return ("$".to_string(), 0);
                };
                let inner: String = rest[1..close].iter().collect();
                let name_len = inner.find(|c: char| !is_name(c)).unwrap_or(inner.len());
                let (name, modifier) = inner.split_at(name_len);
                let value = self.lookup(name);
                let result = match modifier {
                    "" => value.unwrap_or_else(|| {
                        missing.push(name.to_string());
                        String::new()
                    }),
                    m => {
                        let (op, word) = if let Some(w) = m.strip_prefix(":-") {
                            (":-", w)
                        } else if let Some(w) = m.strip_prefix(":+") {
                            (":+", w)
                        } else if let Some(w) = m.strip_prefix(":?") {
                            (":?", w)
                        } else {
                            m.split_at(m.chars().next().map_or(0, char::len_utf8))
                        };
                        let word = self.expand(word).0;
                        match op {
                            ":-" => value.filter(|v| !v.is_empty()).unwrap_or(word),
                            "-" => value.unwrap_or(word),
                            ":+" => value
                                .filter(|v| !v.is_empty())
                                .map(|_| word)
                                .unwrap_or_default(),
                            "+" => value.map(|_| word).unwrap_or_default(),
                            _ => value.unwrap_or_else(|| {
                                missing.push(name.to_string());
                                String::new()
                            }),
                        }
                    }
                };
                (result, close + 1)
            }
            Some(&c) if is_name(c) && !c.is_ascii_digit() => {
                let len = rest.iter().position(|&c| !is_name(c)).unwrap_or(rest.len());
                let name: String = rest[..len].iter().collect();
                let value = self.lookup(&name).unwrap_or_else(|| {
                    missing.push(name.clone());
                    String::new()
                });
                (value, len)
            }
            _ => ("$".to_string(), 0),
        }
    }
}

/// `KEY=value KEY2="v 2"` pairs, or the legacy `KEY value` form when
/// `legacy` allows it (ENV, LABEL). Values are raw (the lexer expands them).
fn parse_pairs(args: &str, escape: char, legacy_allowed: bool) -> Vec<(String, Option<String>)> {
    let words = split_unquoted(args, escape);
    let Some(first) = words.first() else {
        return Vec::new();
    };
    if legacy_allowed && !first.contains('=') && words.len() > 1 {
        // `ENV key value with spaces`: the rest of the line is the value.
        let rest = args.trim_start()[first.len()..].trim().to_string();
        return vec![(first.clone(), Some(rest))];
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (w, None),
        })
        .collect()
}

/// Splits at whitespace outside quotes, keeping quotes and escapes in the
/// words (the lexer resolves them).
fn split_unquoted(text: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                current.push(c);
            }
            Some('"') if c == escape => {
                current.push(c);
                if let Some(n) = chars.next() {
                    current.push(n);
                }
            }
            Some(_) => current.push(c),
            None if c == escape => {
                current.push(c);
                if let Some(n) = chars.next() {
                    current.push(n);
                }
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                current.push(c);
            }
            None if c.is_whitespace() => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            None => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn warn_missing(ctx: &mut Ctx, span: Span, missing: &[String]) {
    for name in missing {
        ctx.lossy(
            span,
            format!("`${name}` has no value here"),
            format!("Docker substitutes an empty string; give `{name}` a default with `ARG {name}=...` or `ENV`"),
        );
    }
}

fn from_instruction(
    ctx: &mut Ctx,
    draft: &mut Draft,
    from: &Instruction,
    global_args: &[(String, Option<String>)],
    escape: char,
) {
    let lexer = Lexer::new(escape, &[], global_args);
    let raw = first_word(&from.args).to_string();
    let (image, missing) = lexer.expand(&raw);
    warn_missing(ctx, from.span, &missing);
    let mut notes = Vec::new();
    for (flag, value) in &from.flags {
        notes.push(format!(
            "FROM --{flag}={value}: sbx pulls for the host's platform"
        ));
        ctx.lossy(
            from.span,
            format!("`--{flag}` of `FROM` is not translated"),
            "sbx uses the image for the host's platform",
        );
    }
    // The compiler's rule for an image name.
    let valid_image = !image.starts_with(['-', ':', '/', '@', '.'])
        && image.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@' | '+')
        });
    if !image.is_empty() && !image.contains('$') && !valid_image {
        ctx.untranslated(
            from.span,
            "FROM",
            "the image name is not a valid image reference",
        );
        return;
    }
    if image.is_empty() || image.contains('$') {
        ctx.untranslated(
            from.span,
            "FROM",
            "the image name is empty once its variables are substituted; set `from` by hand",
        );
        return;
    }
    let lower = image.to_ascii_lowercase();
    if lower.contains("windows") || lower.contains("nanoserver") || lower.contains("servercore") {
        ctx.lossy(
            from.span,
            format!("`{image}` looks like a Windows image"),
            "sbx runs Linux sandboxes; the profile is kept but the image cannot run",
        );
    }
    if raw != image {
        notes.push(format!("FROM {raw}"));
    }
    if image == "scratch" {
        notes.push("scratch: an empty image".to_string());
    }
    let mut e = entry(string(&image), from.span, ctx.input);
    e.notes = notes;
    draft.top.set("from", e, &mut draft.merge);
}

fn build_step(
    draft: &mut Draft,
    key: &'static str,
    value: Value,
    span: Span,
    input: usize,
    notes: Vec<String>,
) {
    let mut e = entry(value, span, input);
    e.notes = notes;
    draft.build.push(BuildStep { key, entry: e });
}

/// `path` made absolute against `dir` and cleaned; a trailing `/` kept.
fn join_path(dir: &str, path: &str) -> String {
    let full = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{}", dir.trim_end_matches('/'), path)
    };
    let trailing = full.ends_with('/') && full.len() > 1;
    let mut parts: Vec<&str> = Vec::new();
    for c in full.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let mut out = format!("/{}", parts.join("/"));
    if trailing && out != "/" {
        out.push('/');
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn instruction(
    ctx: &mut Ctx,
    draft: &mut Draft,
    state: &mut State,
    ins: &Instruction,
    stage_names: &[String],
    cmd: &mut Option<(Command, Span)>,
    entrypoint: &mut Option<(Command, Span)>,
) {
    let input = ctx.input;
    let escape = state.escape;
    match ins.keyword.as_str() {
        "ARG" => {
            for (name, value) in parse_pairs(&ins.args, escape, false) {
                let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    ctx.untranslated(
                        ins.span,
                        "ARG",
                        &format!("`{}` is not a build argument name", shorten(&name, 40)),
                    );
                    continue;
                }
                let (value, missing) = match &value {
                    Some(v) => {
                        let lexer = Lexer::new(escape, &state.env, &state.args);
                        let (v, m) = lexer.expand(v);
                        (Some(v), m)
                    }
                    None => (None, Vec::new()),
                };
                warn_missing(ctx, ins.span, &missing);
                let text = match &value {
                    Some(v) => format!("{name}={v}"),
                    None => name.clone(),
                };
                state.args.retain(|(n, _)| n != &name);
                state.args.push((name, value));
                build_step(draft, "arg", string(&text), ins.span, input, Vec::new());
            }
        }
        "ENV" => {
            // Every value of one ENV sees the environment from before it
            // (`ENV a=1 b=$a` gives `b` the earlier `a`), as Docker does.
            let before = state.env.clone();
            for (name, value) in parse_pairs(&ins.args, escape, true) {
                if name.is_empty() || name.contains('\0') {
                    ctx.untranslated(ins.span, "ENV", "the variable has no valid name");
                    continue;
                }
                let Some(value) = value else {
                    ctx.lossy(
                        ins.span,
                        format!("`ENV {name}` has no value"),
                        "Docker refuses it; it is left out",
                    );
                    continue;
                };
                let lexer = Lexer::new(escape, &before, &state.args);
                let (v, missing) = lexer.expand(&value);
                warn_missing(ctx, ins.span, &missing);
                state.env.retain(|(n, _)| n != &name);
                state.env.push((name, v));
            }
        }
        "LABEL" | "MAINTAINER" => {
            let pairs = if ins.keyword == "MAINTAINER" {
                vec![("maintainer".to_string(), Some(ins.args.clone()))]
            } else {
                parse_pairs(&ins.args, escape, true)
            };
            for (name, value) in pairs {
                let lexer = Lexer::new(escape, &state.env, &state.args);
                let (key, _) = lexer.expand(&name);
                let (v, missing) = lexer.expand(value.as_deref().unwrap_or(""));
                warn_missing(ctx, ins.span, &missing);
                let mut e = entry(string(&v), ins.span, input);
                if ins.keyword == "MAINTAINER" {
                    e.notes
                        .push("MAINTAINER (deprecated) as the `maintainer` label".to_string());
                }
                draft.labels.set(&key, e, &mut draft.merge);
            }
        }
        "RUN" => run(ctx, draft, state, ins),
        "COPY" | "ADD" => copy(ctx, draft, state, ins, stage_names),
        "WORKDIR" => {
            let lexer = Lexer::new(escape, &state.env, &state.args);
            let (path, missing) = lexer.expand(ins.args.trim());
            warn_missing(ctx, ins.span, &missing);
            if path.starts_with('/') || !path.contains([':', '\\']) && !path.is_empty() {
                state.workdir = join_path(&state.workdir, &path);
                state.workdir = state.workdir.trim_end_matches('/').to_string();
                if state.workdir.is_empty() {
                    state.workdir = "/".to_string();
                }
            } else {
                ctx.untranslated(ins.span, "WORKDIR", "the directory is not a Linux path");
            }
        }
        "USER" => {
            let lexer = Lexer::new(escape, &state.env, &state.args);
            let (user, missing) = lexer.expand(ins.args.trim());
            warn_missing(ctx, ins.span, &missing);
            if user.is_empty() {
                return;
            }
            state.user = Some(user.clone()).filter(|u| u != "root" && u != "0");
            let (u, g) = match user.split_once(':') {
                Some((u, g)) => (u, Some(g)),
                None => (user.as_str(), None),
            };
            match super::draft::user_value(u, g) {
                Some(value) => {
                    draft
                        .top
                        .set("user", entry(value, ins.span, input), &mut draft.merge)
                }
                None => {
                    ctx.untranslated(ins.span, "USER", "the user is not a name or id sbx accepts")
                }
            }
        }
        "VOLUME" => {
            let lexer = Lexer::new(escape, &state.env, &state.args);
            let items = match json_form(&ins.args) {
                Some(w) => w,
                None => split_unquoted(&ins.args, escape),
            };
            for item in items {
                let (path, missing) = lexer.expand(&item);
                warn_missing(ctx, ins.span, &missing);
                if path.starts_with('/') {
                    draft
                        .top
                        .append("volume", string(&join_path("/", &path)), ins.span, input);
                } else {
                    ctx.lossy(
                        ins.span,
                        format!("volume `{path}` is not an absolute Linux path"),
                        "it is left out",
                    );
                    ctx.footer.push(format!(
                        "left out ({}): VOLUME {path} -- not an absolute Linux path",
                        ctx.place(ins.span)
                    ));
                }
            }
        }
        "EXPOSE" => {
            let lexer = Lexer::new(escape, &state.env, &state.args);
            for item in split_unquoted(&ins.args, escape) {
                let (p, missing) = lexer.expand(&item);
                warn_missing(ctx, ins.span, &missing);
                let (number, proto) = p.split_once('/').unwrap_or((&p, ""));
                let protocol = match proto.to_ascii_lowercase().as_str() {
                    "" => None,
                    "tcp" => Some(Protocol::Tcp),
                    "udp" => Some(Protocol::Udp),
                    _ => {
                        ctx.lossy(
                            ins.span,
                            format!("port `{p}` uses a protocol sbx cannot expose"),
                            "only tcp and udp; it is left out",
                        );
                        continue;
                    }
                };
                match number.parse::<u64>() {
                    Ok(n) if (1..=65535).contains(&n) => {
                        let v = match protocol {
                            None => integer(n),
                            Some(pr) => port(n, pr),
                        };
                        draft.top.append("expose", v, ins.span, input);
                    }
                    _ => {
                        ctx.lossy(
                            ins.span,
                            format!("`{p}` is not a single port"),
                            "sbx exposes single ports 1-65535; it is left out",
                        );
                        ctx.footer
                            .push(format!("left out ({}): EXPOSE {p}", ctx.place(ins.span)));
                    }
                }
            }
        }
        "STOPSIGNAL" => {
            let lexer = Lexer::new(escape, &state.env, &state.args);
            let (sig, _) = lexer.expand(ins.args.trim());
            match normalize_signal(&sig) {
                Some(s) => draft.top.set(
                    "stop_signal",
                    entry(word(&s), ins.span, input),
                    &mut draft.merge,
                ),
                None => {
                    ctx.untranslated(ins.span, "STOPSIGNAL", "the signal is not one sbx can name")
                }
            }
        }
        "CMD" | "ENTRYPOINT" => {
            let c = command(&ins.args);
            if ins.keyword == "CMD" {
                *cmd = Some((c, ins.span));
                state.cmd_set_in_stage = true;
            } else {
                *entrypoint = Some((c, ins.span));
                if !state.cmd_set_in_stage {
                    // Docker: an ENTRYPOINT resets a CMD inherited from the base.
                    *cmd = None;
                }
            }
        }
        "SHELL" => match json_form(&ins.args) {
            Some(w) if w.first().is_some_and(|p| !p.is_empty()) => {
                if w.first().is_some_and(|s| {
                    s.to_ascii_lowercase().contains("cmd")
                        || s.to_ascii_lowercase().contains("powershell")
                }) {
                    ctx.lossy(
                        ins.span,
                        "`SHELL` names a Windows shell",
                        "sbx runs Linux sandboxes; the shell is kept as written",
                    );
                }
                state.shell = w;
                state.shell_set = true;
            }
            _ => ctx.untranslated(
                ins.span,
                "SHELL",
                "SHELL takes a JSON array naming a program; Docker refuses this line",
            ),
        },
        "HEALTHCHECK" => ctx.untranslated(
            ins.span,
            "HEALTHCHECK",
            "sbx has no health checks; run the check from the host's supervisor",
        ),
        "ONBUILD" => ctx.untranslated(
            ins.span,
            "ONBUILD",
            "a trigger for images built FROM this one; it does nothing in this image",
        ),
        _ => unknown_instruction(ctx, ins),
    }
}

fn run(ctx: &mut Ctx, draft: &mut Draft, state: &State, ins: &Instruction) {
    let mut notes = Vec::new();
    for (flag, value) in &ins.flags {
        let text = if value.is_empty() {
            format!("--{flag}")
        } else {
            format!("--{flag}={value}")
        };
        notes.push(format!("RUN {text} not translated"));
        ctx.lossy(
            ins.span,
            format!("`RUN {}` is not translated", shorten(&text, 60)),
            "sbx build steps have no cache or secret mounts, network or security modes; the command is kept",
        );
    }
    let default_shell = !state.shell_set;
    let script = match (json_form(&ins.args), ins.heredocs.as_slice()) {
        (Some(words), _) => {
            notes.push("exec-form RUN written as a shell command".to_string());
            words
                .iter()
                .map(|w| shell_quote(w))
                .collect::<Vec<_>>()
                .join(" ")
        }
        (None, [only]) if ins.args.trim() == only.marker => {
            if only.body.starts_with("#!") {
                notes.push("the heredoc starts with #!: Docker runs it with that interpreter, sbx with the shell".to_string());
                ctx.lossy(
                    ins.span,
                    "a heredoc script with `#!` runs with the shell",
                    "Docker runs it with its interpreter; write the interpreter call in the step",
                );
            }
            only.body.trim_end_matches('\n').to_string()
        }
        (None, docs) => {
            let mut s = ins.args.clone();
            for d in docs {
                s.push('\n');
                s.push_str(&d.body);
                s.push_str(&d.word);
            }
            s
        }
    };
    if script.trim().is_empty() {
        ctx.untranslated(ins.span, "RUN", "the command is empty");
        return;
    }
    let script = if default_shell || json_form(&ins.args).is_some() {
        script
    } else {
        notes.push(format!("SHELL {}", state.shell.join(" ")));
        let mut words: Vec<String> = state.shell.iter().map(|w| shell_quote(w)).collect();
        words.push(shell_quote(&script));
        words.join(" ")
    };
    if state.workdir != "/" {
        notes.push(format!("Docker runs it in WORKDIR {}", state.workdir));
    }
    if let Some(user) = &state.user {
        notes.push(format!("Docker runs it as USER {user}"));
    }
    build_step(draft, "run", string(&script), ins.span, ctx.input, notes);
}

fn copy(
    ctx: &mut Ctx,
    draft: &mut Draft,
    state: &State,
    ins: &Instruction,
    stage_names: &[String],
) {
    let escape = state.escape;
    let mut notes = Vec::new();
    for (flag, value) in &ins.flags {
        match flag.as_str() {
            "from" => {
                let what = if stage_names.contains(&value.to_ascii_lowercase()) {
                    format!("build stage `{value}`")
                } else if value.parse::<usize>().is_ok() {
                    format!("build stage #{value} (counting from 0)")
                } else {
                    format!("image or context `{value}`")
                };
                ctx.untranslated(
                    ins.span,
                    &format!("{} --from={value}", ins.keyword),
                    &format!("it copies from {what}, which sbx does not build; copy the files in by hand"),
                );
                return;
            }
            "chown" | "chmod" => notes.push(format!(
                "--{flag}={value}: set the owner/mode in a later run step"
            )),
            _ => notes.push(format!(
                "--{flag}{}{value} not translated",
                if value.is_empty() { "" } else { "=" }
            )),
        }
    }
    let lexer = Lexer::new(escape, &state.env, &state.args);
    let words = match json_form(&ins.args) {
        Some(w) => w,
        None => split_unquoted(&ins.args, escape),
    };
    let mut paths = Vec::new();
    for w in &words {
        let (p, missing) = lexer.expand(w);
        warn_missing(ctx, ins.span, &missing);
        paths.push(p);
    }
    if !ins.heredocs.is_empty() {
        // `COPY <<EOF /dest`: a file written from inline text.
        let dest = paths.last().cloned().unwrap_or_default();
        for d in &ins.heredocs {
            let target = if dest.ends_with('/') {
                format!("{dest}{}", d.word)
            } else {
                dest.clone()
            };
            let target = join_path(&state.workdir, &target);
            let script = format!(
                "cat > {} <<'{}'\n{}{}",
                shell_quote(&target),
                d.word,
                d.body,
                d.word
            );
            let mut n = notes.clone();
            n.push(format!(
                "{} {} {}: inline file written by the shell",
                ins.keyword, d.marker, dest
            ));
            build_step(draft, "run", string(&script), ins.span, ctx.input, n);
        }
        return;
    }
    if paths.len() < 2 {
        ctx.untranslated(
            ins.span,
            &ins.keyword,
            "it needs a source and a destination",
        );
        return;
    }
    let dest = paths.pop().expect("two or more");
    if dest.contains(":\\") || dest.contains('\\') {
        ctx.untranslated(
            ins.span,
            &ins.keyword,
            "the destination is not a Linux path",
        );
        return;
    }
    let mut absolute = join_path(&state.workdir, &dest);
    // `.` and a trailing `/` name a directory: sources are copied into it.
    if (dest == "." || dest.ends_with('/') || dest.ends_with("/.")) && !absolute.ends_with('/') {
        absolute.push('/');
    }
    if !dest.starts_with('/') {
        notes.push(format!(
            "destination {dest} is relative to WORKDIR {}",
            state.workdir
        ));
    }
    if ins.keyword == "ADD" {
        let fetches = paths
            .iter()
            .any(|p| p.contains("://") || p.starts_with("git@"));
        let archives = paths.iter().any(|p| {
            [
                ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".txz", ".tar.zst",
            ]
            .iter()
            .any(|x| p.ends_with(x))
        });
        if fetches || archives {
            notes.push(
                "ADD downloads URLs and unpacks local archives; sbx copy does neither".to_string(),
            );
            ctx.lossy(
                ins.span,
                "`ADD` of a URL or an archive is copied as is",
                "sbx `copy` neither downloads nor unpacks; add a `run` step that does",
            );
        }
    }
    paths.push(absolute);
    build_step(
        draft,
        "copy",
        list(paths.iter().map(|p| string(p)).collect()),
        ins.span,
        ctx.input,
        notes,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexer_env() -> Vec<(String, String)> {
        vec![("A".into(), "x".into()), ("E".into(), String::new())]
    }

    #[test]
    fn substitution_follows_buildkit() {
        let env = lexer_env();
        let args = vec![("B".to_string(), Some("y".to_string()))];
        let l = Lexer::new('\\', &env, &args);
        assert_eq!(l.expand("$A-${B}").0, "x-y");
        assert_eq!(l.expand("${C:-def}").0, "def");
        assert_eq!(l.expand("${E:-def}").0, "def");
        assert_eq!(l.expand("${E-def}").0, "");
        assert_eq!(l.expand("${A:+set}").0, "set");
        assert_eq!(l.expand("'$A' \"$A\"").0, "$A x");
        assert_eq!(l.expand("a\\ b").0, "a b");
        assert_eq!(l.expand("\\$A").0, "$A");
        assert_eq!(l.expand("$C").1, vec!["C".to_string()]);
    }

    #[test]
    fn directives_only_at_the_very_top() {
        let id = sbx_grammar::ast::SourceId(0);
        let text = "# escape=`\nFROM a\nRUN x `\n  y\n";
        let mut ctx = Ctx::new(id, text, 0, "Dockerfile");
        let (ins, escape) = parse(&mut ctx).expect("parses");
        assert_eq!(escape, '`');
        assert_eq!(ins[1].args, "x   y");
        // After another comment, `# escape=` is a comment, not a directive.
        let text = "# hello\n# escape=`\nFROM a\n";
        let mut ctx = Ctx::new(id, text, 0, "Dockerfile");
        assert_eq!(parse(&mut ctx).expect("parses").1, '\\');
    }

    #[test]
    fn one_env_sees_the_environment_from_before_it() {
        let text = "FROM a\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n";
        let mut ctx = Ctx::new(sbx_grammar::ast::SourceId(0), text, 0, "Dockerfile");
        let mut draft = Draft::new(vec!["Dockerfile".into()]);
        import(&mut ctx, &mut draft);
        let value = |k: &str| match &draft.env.get(k).expect(k).value.kind {
            sbx_grammar::ast::ValueKind::String(s) => s.value.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(value("def"), "hello");
        assert_eq!(value("ghi"), "bye");
    }

    #[test]
    fn pairs_and_heredocs() {
        assert_eq!(
            parse_pairs("name=\"a b\" x=1", '\\', true),
            vec![
                ("name".into(), Some("\"a b\"".into())),
                ("x".into(), Some("1".into()))
            ]
        );
        assert_eq!(
            parse_pairs("name value here", '\\', true),
            vec![("name".into(), Some("value here".into()))]
        );
        let m = heredoc_markers("mkdir /x && cat <<'EOF' > /f && cat <<-X");
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].1, "EOF");
        assert!(m[1].2);
        assert!(heredoc_markers("echo '<<EOF'").is_empty());
        assert_eq!(join_path("/app", "sub/../x/"), "/app/x/");
        assert_eq!(join_path("/app", "/abs"), "/abs");
    }
}
