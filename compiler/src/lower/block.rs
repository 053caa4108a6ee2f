//! The keys of one block, indexed: unknown, misplaced and foreign keys are
//! reported here, as are a block written where a value belongs and the
//! other way round.

use sbx_grammar::ast::{Block, Key, Statement, StatementKind, Value};

use super::Lowerer;
use crate::include::origin_phrase;
use crate::vocabulary::{self, KeySpec, Shape};
use crate::{foreign, suggest};

/// One `key = value` of a known key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field<'s> {
    pub key: &'s Key,
    pub value: &'s Value,
    pub spec: &'static KeySpec,
}

impl Field<'_> {
    /// The key as written (`memory.max`).
    pub fn name(&self) -> &'static str {
        self.spec.key
    }
}

/// The known statements of one block, in order.
pub(crate) struct Fields<'s> {
    entries: Vec<(&'static KeySpec, &'s Statement)>,
}

impl<'s> Fields<'s> {
    /// The one assignment of `key`, if given.
    pub fn get(&self, key: &str) -> Option<Field<'s>> {
        self.all(key).next()
    }

    /// Every assignment of `key`, in order (repeatable keys).
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = Field<'s>> + 'a {
        self.entries
            .iter()
            .filter(move |(spec, _)| spec.key == key)
            .filter_map(|(spec, s)| match &s.kind {
                StatementKind::Assignment(a) => Some(Field {
                    key: &a.key,
                    value: &a.value,
                    spec,
                }),
                StatementKind::Block(_) => None,
            })
    }

    /// Every assignment, in order.
    pub fn assignments<'a>(&'a self) -> impl Iterator<Item = Field<'s>> + 'a {
        self.entries.iter().filter_map(|(spec, s)| match &s.kind {
            StatementKind::Assignment(a) => Some(Field {
                key: &a.key,
                value: &a.value,
                spec,
            }),
            StatementKind::Block(_) => None,
        })
    }

    /// Every block of `key`, in order.
    pub fn blocks<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'s Block> + 'a {
        self.entries
            .iter()
            .filter(move |(spec, _)| spec.key == key)
            .filter_map(|(_, s)| match &s.kind {
                StatementKind::Block(b) => Some(b),
                StatementKind::Assignment(_) => None,
            })
    }

    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(spec, _)| spec.key == key)
    }
}

impl Lowerer {
    /// Indexes the statements of `block` (`None` = top level), reporting
    /// every key that is not one of its vocabulary.
    pub(crate) fn fields<'s>(&mut self, block: Option<&str>, body: &'s [Statement]) -> Fields<'s> {
        let specs = match block {
            None => vocabulary::TOP,
            Some(b) => vocabulary::block_keys(b).unwrap_or(&[]),
        };
        let mut entries = Vec::with_capacity(body.len());
        for statement in body {
            let (key, is_block, label) = match &statement.kind {
                StatementKind::Assignment(a) => (&a.key, false, None),
                StatementKind::Block(b) => (&b.key, true, b.label.as_ref()),
            };
            let dotted = crate::include::key_text(key);
            let Some(spec) = specs.iter().find(|s| s.key == dotted) else {
                self.unknown_key(block, key, &dotted, specs);
                continue;
            };
            match (spec.shape, is_block) {
                (Shape::Value | Shape::Repeatable, false) => {}
                (Shape::Block, true) => {
                    if let Some(label) = label {
                        self.error(
                            "sbx::key::unexpected-label",
                            format!("the `{dotted}` block takes no label"),
                            label.span,
                            "remove this label",
                            format!("write `{}`", spec.example),
                        );
                        continue;
                    }
                }
                (Shape::LabelledBlock, true) => {
                    if label.is_none() {
                        let what = if dotted == "net" {
                            "the interface name"
                        } else {
                            "the path inside the sandbox"
                        };
                        self.error(
                            "sbx::key::missing-label",
                            format!("a `{dotted}` block needs a label: {what}"),
                            key.span,
                            "label missing after this key",
                            format!("write `{}`", spec.example),
                        );
                        continue;
                    }
                }
                (Shape::Value | Shape::Repeatable, true) => {
                    self.error(
                        "sbx::key::expected-value",
                        format!("`{dotted}` takes a value, not a block"),
                        statement.span,
                        "a block",
                        format!("write `{}`", spec.example),
                    );
                    continue;
                }
                (Shape::Block | Shape::LabelledBlock, false) => {
                    self.error(
                        "sbx::key::expected-block",
                        format!("`{dotted}` is a block, not a value"),
                        statement.span,
                        "an assignment",
                        format!("write `{}`", spec.example),
                    );
                    continue;
                }
            }
            entries.push((spec, statement));
        }
        Fields { entries }
    }

    fn unknown_key(
        &mut self,
        block: Option<&str>,
        key: &Key,
        dotted: &str,
        specs: &'static [KeySpec],
    ) {
        let place = match block {
            None => "at the top level".to_string(),
            Some(b) => format!("in the `{b}` block"),
        };
        if let Some(found) = foreign::lookup(dotted) {
            self.error(
                "sbx::key::foreign",
                format!(
                    "`{dotted}` is {}, not an sbx key",
                    origin_phrase(found.origin)
                ),
                key.span,
                format!("{} spelling", found.origin),
                foreign::help(found),
            );
            return;
        }
        let homes = native_elsewhere(block, dotted);
        if let [(home, spec)] = homes[..] {
            let help = match home {
                None => format!("move `{}` to the top level", spec.example),
                Some(b) => format!("write `{b} {{ {} }}`", spec.example),
            };
            let home_text = match home {
                None => "at the top level".to_string(),
                Some(b) => format!("in the `{b}` block"),
            };
            self.error(
                "sbx::key::misplaced",
                format!("`{dotted}` belongs {home_text}, not {place}"),
                key.span,
                "misplaced key",
                help,
            );
            return;
        }
        if !homes.is_empty() {
            let names: Vec<String> = homes
                .iter()
                .filter_map(|(b, _)| b.map(|b| format!("`{b}`")))
                .collect();
            self.error(
                "sbx::key::misplaced",
                format!(
                    "`{dotted}` belongs in a {} block, not {place}",
                    names.join(" or ")
                ),
                key.span,
                "misplaced key",
                format!(
                    "write it inside the block it configures, such as `{}`",
                    vocabulary::TOP
                        .iter()
                        .find(|s| Some(s.key) == homes[0].0)
                        .map_or("", |s| s.example)
                ),
            );
            return;
        }
        let help = match suggest::did_you_mean(dotted, specs.iter().map(|s| s.key)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => {
                let names: Vec<String> = specs.iter().map(|s| format!("`{}`", s.key)).collect();
                format!("the keys {place} are {}", names.join(", "))
            }
        };
        self.error(
            "sbx::key::unknown",
            format!("unknown key `{dotted}` {place}"),
            key.span,
            "unknown key",
            help,
        );
    }
}

/// The blocks (`None` = top level) where `key` is a native key, other
/// than `current`.
fn native_elsewhere(
    current: Option<&str>,
    key: &str,
) -> Vec<(Option<&'static str>, &'static KeySpec)> {
    let mut homes = Vec::new();
    if current.is_some() {
        if let Some(spec) = vocabulary::spec(None, key) {
            homes.push((None, spec));
        }
    }
    homes.extend(
        vocabulary::blocks()
            .filter(|b| Some(*b) != current)
            .filter_map(|b| vocabulary::spec(Some(b), key).map(|spec| (Some(b), spec))),
    );
    homes
}
