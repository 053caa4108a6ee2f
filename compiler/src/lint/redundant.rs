//! `sbx::lint::redundant-override`: the profile sets a key to the value an
//! included file already gives it. Allowed by default: restating a value
//! on purpose keeps a profile locked down when its base is loosened
//! (`profiles/untrusted.sbx` restates the base's `core = 0`); a team that
//! wants lean profiles turns it on with `--warn`. Include resolution calls [`check`] with
//! the included files' merged statements and the including file's own,
//! before it merges them; the level and suppressions apply as for every
//! lint.

use sbx_grammar::ast::{Statement, StatementKind, Value, ValueKind};

use super::{Level, Lint};
use crate::{vocabulary, Diagnostic};

pub(crate) const LINT: Lint = Lint {
    code: "sbx::lint::redundant-override",
    summary: "a key is set to the value an included file already gives it",
    help: "remove the line: the included file already says it",
    default: Level::Allow,
    check: super::elsewhere,
};

/// Warns about each assignment of `over` (the including file) that sets
/// what `base` (its includes, merged) already sets, in blocks recursively.
pub(crate) fn check(
    base: &[Statement],
    over: &[Statement],
    block: Option<(&str, String)>,
    out: &mut Vec<Diagnostic>,
) {
    let key_of_block = block.as_ref().map(|(k, _)| *k);
    for statement in over {
        match &statement.kind {
            StatementKind::Assignment(new) => {
                let key = new.key.dotted();
                if vocabulary::is_repeatable(key_of_block, &key) {
                    continue;
                }
                let old = base.iter().find_map(|s| match &s.kind {
                    StatementKind::Assignment(a) if a.key.dotted() == key => Some(a),
                    _ => None,
                });
                if let Some(old) = old.filter(|old| same(&old.value, &new.value)) {
                    let message = match &block {
                        Some((_, shown)) => format!(
                            "`{key}` in `{shown}` is set to the value an included file gives it"
                        ),
                        None => format!("`{key}` is set to the value an included file gives it"),
                    };
                    out.push(
                        Diagnostic::warning(LINT.code, message)
                        .with_label(new.key.span.to(new.value.span), "same value as included")
                        .with_label(old.value.span, "already set here")
                        .with_help("remove the line: the included file already says it, and a change there would not reach this profile"),
                    );
                }
            }
            StatementKind::Block(new) => {
                let label = new.label.as_ref().map(|l| &l.name);
                let old = base.iter().find_map(|s| match &s.kind {
                    StatementKind::Block(b)
                        if b.key.dotted() == new.key.dotted()
                            && b.label.as_ref().map(|l| &l.name) == label =>
                    {
                        Some(b)
                    }
                    _ => None,
                });
                if let Some(old) = old {
                    let key = new.key.dotted();
                    let shown = match label {
                        Some(l) => format!("{key} \"{l}\""),
                        None => key.clone(),
                    };
                    check(&old.body, &new.body, Some((&key, shown)), out);
                }
            }
        }
    }
}

/// Whether two values mean the same, whatever their spans (and, for
/// sizes, durations, integers and booleans, whatever their spelling).
fn same(a: &Value, b: &Value) -> bool {
    match (&a.kind, &b.kind) {
        (ValueKind::List(x), ValueKind::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (ValueKind::Map(x), ValueKind::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(a, b)| a.key.node == b.key.node && same(&a.value, &b.value))
        }
        (ValueKind::Size(x), ValueKind::Size(y)) => x.bytes == y.bytes,
        (ValueKind::Duration(x), ValueKind::Duration(y)) => x.micros == y.micros,
        (ValueKind::Integer(x), ValueKind::Integer(y)) => x.value == y.value,
        (ValueKind::Bool(x), ValueKind::Bool(y)) => x.value == y.value,
        (ValueKind::String(x), ValueKind::String(y)) => x.value == y.value,
        (x, y) => x == y,
    }
}
