//! `capabilities { }`: from the default set, `drop` then `add`, and the
//! full sets the executor installs.

use std::collections::BTreeSet;

use sbx_grammar::ast::{Span, ValueKind};
use sbx_plan::Capabilities;

use super::{Field, Fields, Lowerer};
use crate::capability;

pub(crate) fn capabilities(l: &mut Lowerer, top: &Fields, root: bool) -> Capabilities {
    let mut result: BTreeSet<usize> = capability::DEFAULT_SET
        .iter()
        .map(|c| capability::number(c).expect("default set is known"))
        .collect();
    let mut ambient: Vec<(usize, Span)> = Vec::new();
    let mut block_span = None;
    if let Some(block) = top.blocks("capabilities").next() {
        block_span = Some(block.key.span);
        let fields = l.fields(Some("capabilities"), &block.body);
        if let Some(f) = fields.get("drop") {
            match &f.value.kind {
                ValueKind::Word(w) if w == "all" => result.clear(),
                _ => {
                    for (n, _) in names(l, &f) {
                        result.remove(&n);
                    }
                }
            }
        }
        if let Some(f) = fields.get("add") {
            for (n, span) in names(l, &f) {
                result.insert(n);
                l.spans.insert(
                    format!("capabilities.added.{}", capability::canonical(n)),
                    span,
                );
            }
        }
        if let Some(f) = fields.get("ambient") {
            ambient = names(l, &f);
        }
    }
    for (n, span) in &ambient {
        if !result.contains(n) {
            l.error(
                "sbx::capabilities::ambient-not-kept",
                format!(
                    "ambient capability `{}` is not in the kept set",
                    capability::canonical(*n)
                ),
                *span,
                "not kept",
                format!(
                    "add it too: `add = [{}]`",
                    capability::bare(*n).to_ascii_lowercase()
                ),
            );
        }
    }
    if let Some(span) = block_span {
        l.spans.insert("capabilities", span);
    }
    let names = |set: &mut dyn Iterator<Item = usize>| -> Vec<String> {
        let mut v: Vec<String> = set.map(capability::canonical).collect();
        v.sort();
        v.dedup();
        v
    };
    let kept = names(&mut result.iter().copied());
    let ambient = names(&mut ambient.iter().map(|(n, _)| *n));
    if root {
        Capabilities {
            bounding: kept.clone(),
            effective: kept.clone(),
            permitted: kept,
            inheritable: ambient.clone(),
            ambient,
        }
    } else {
        Capabilities {
            bounding: kept,
            effective: ambient.clone(),
            permitted: ambient.clone(),
            inheritable: ambient.clone(),
            ambient,
        }
    }
}

/// A list of capability names; each unknown one is reported.
fn names(l: &mut Lowerer, f: &Field) -> Vec<(usize, Span)> {
    let expected = if f.name() == "drop" {
        "`all` or a list of capability names"
    } else {
        "a list of capability names"
    };
    let Some(items) = l.list(f, expected) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let name = match &item.kind {
            ValueKind::Word(w) => w,
            ValueKind::String(s) => &s.value,
            _ => {
                l.type_error(f, item, expected);
                continue;
            }
        };
        match capability::number(name) {
            Some(n) => out.push((n, item.span)),
            None => {
                let help = match capability::suggestion(name) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "capability names are those of capabilities(7), such as `net_bind_service` or `CAP_SYS_ADMIN`".to_string(),
                };
                l.error(
                    "sbx::capabilities::unknown",
                    format!("unknown capability `{name}`"),
                    item.span,
                    "not a Linux capability",
                    help,
                );
            }
        }
    }
    out
}
