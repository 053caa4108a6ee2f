//! Property tests: random and mutated input never panics, errors always
//! carry a valid span, and generated trees round-trip through the printer.
//! Case counts are bounded so the suite stays fast in CI; the fuzz target
//! in `fuzz/` explores further.

mod common;

use common::*;
use proptest::prelude::*;
use sbx_grammar::ast::*;
use sbx_grammar::parse;
use sbx_grammar::printer::print;

const SEED: &str = include_str!("data/seed.sbx");

/// Parses; on success prints, re-parses and checks the round trip; on
/// failure checks every error's span.
fn check_any(text: &str) -> Result<(), TestCaseError> {
    match parse(SourceId(1), text) {
        Ok(file) => {
            let printed = print(&file);
            let reparsed = parse(SourceId(1), &printed).map_err(|e| {
                TestCaseError::fail(format!("printed text does not parse: {printed:?}\n{e:#?}"))
            })?;
            prop_assert_eq!(strip(&reparsed), strip(&file), "printed: {:?}", printed);
            prop_assert_eq!(print(&reparsed), printed);
        }
        Err(errors) => {
            prop_assert!(!errors.is_empty());
            for e in errors {
                prop_assert!(e.span.start <= e.span.end && e.span.end <= text.len());
                prop_assert!(text.is_char_boundary(e.span.start));
                prop_assert!(text.is_char_boundary(e.span.end));
                prop_assert!(e.code.starts_with("sbx::parse::"));
                prop_assert!(!e.message.is_empty() && !e.message.contains("Rule"));
            }
        }
    }
    Ok(())
}

/// Fragments that make random input look like a profile.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\"".to_string()),
        Just("\"\"\"".to_string()),
        Just("\\".to_string()),
        Just("=".to_string()),
        Just(",".to_string()),
        Just(";".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just(" ".to_string()),
        Just("#".to_string()),
        Just(".".to_string()),
        Just(":".to_string()),
        Just("/".to_string()),
        Just("%".to_string()),
        Just("include".to_string()),
        Just("\\u{".to_string()),
        "[a-zA-Z_][a-zA-Z0-9_-]{0,6}",
        "[0-9]{1,22}",
        "[0-9]{1,4}(\\.[0-9]{1,4})?(K|M|G|T|KiB|us|ms|s|min|h|%|/tcp|/udp)",
        "0[xo][0-9a-f]{0,18}",
        "[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}(/[0-9]{1,3})?",
        "\"[^\"\\\\\n]{0,8}\"",
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

fn profile_like() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..60).prop_map(|parts| parts.concat())
}

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, String),
    Delete(usize, usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), fragment()).prop_map(|(at, s)| Mutation::Insert(at, s)),
        (any::<usize>(), 1usize..8).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<usize>(), 1usize..40).prop_map(|(at, n)| Mutation::Duplicate(at, n)),
    ]
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut text = text.to_string();
    for m in mutations {
        let len = text.len().max(1);
        match m {
            Mutation::Insert(at, s) => {
                let at = floor_boundary(&text, at % (len + 1));
                text.insert_str(at, s);
            }
            Mutation::Delete(at, n) => {
                let start = floor_boundary(&text, at % len);
                let end = floor_boundary(&text, start + n);
                text.replace_range(start..end, "");
            }
            Mutation::Duplicate(at, n) => {
                let start = floor_boundary(&text, at % len);
                let end = floor_boundary(&text, start + n);
                let copy = text[start..end].to_string();
                text.insert_str(end, &copy);
            }
        }
    }
    text
}

// ---------------------------------------------------------------------------
// Generated trees
// ---------------------------------------------------------------------------

const BOOL_WORDS: [&str; 6] = ["true", "false", "yes", "no", "on", "off"];

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_-]{0,8}"
}

fn word() -> impl Strategy<Value = String> {
    ident().prop_filter("not a boolean", |w| !BOOL_WORDS.contains(&w.as_str()))
}

fn decimal_text() -> impl Strategy<Value = String> {
    "[0-9]{1,4}(\\.[0-9]{1,3})?"
}

fn comment_text() -> impl Strategy<Value = String> {
    "( [a-zA-Z0-9#\"{}\\[\\],;=]{0,12})?".prop_map(|s| s.trim_end().to_string())
}

fn scalar() -> impl Strategy<Value = ValueKind> {
    prop_oneof![
        any::<String>().prop_map(|value| ValueKind::String(StringLit {
            multiline: value.contains('\n'),
            value
        })),
        "[a \"\\\\\n\t]{0,12}".prop_map(|value| ValueKind::String(StringLit {
            multiline: value.contains('\n'),
            value
        })),
        (any::<u64>(), 0..3u8).prop_map(|(value, r)| ValueKind::Integer(IntegerLit {
            value,
            radix: [Radix::Decimal, Radix::Octal, Radix::Hex][r as usize]
        })),
        (decimal_text(), 0..8usize).prop_filter_map("not whole bytes", |(text, u)| {
            let unit = [
                SizeUnit::K,
                SizeUnit::M,
                SizeUnit::G,
                SizeUnit::T,
                SizeUnit::KiB,
                SizeUnit::MiB,
                SizeUnit::GiB,
                SizeUnit::TiB,
            ][u];
            let number = DecimalLit { text };
            let bytes = number.scaled_exact(unit.multiplier())?;
            Some(ValueKind::Size(SizeLit {
                number,
                unit,
                bytes,
            }))
        }),
        (decimal_text(), 0..5usize).prop_filter_map("not whole microseconds", |(text, u)| {
            let unit = [
                DurationUnit::Us,
                DurationUnit::Ms,
                DurationUnit::S,
                DurationUnit::Min,
                DurationUnit::H,
            ][u];
            let number = DecimalLit { text };
            let micros = number.scaled_exact(unit.micros())?;
            Some(ValueKind::Duration(DurationLit {
                number,
                unit,
                micros,
            }))
        }),
        decimal_text().prop_map(|text| ValueKind::Percent(DecimalLit { text })),
        (0..6usize).prop_map(|i| ValueKind::Bool(BoolLit {
            value: i % 2 == 0,
            word: BOOL_WORDS[i].to_string()
        })),
        word().prop_map(ValueKind::Word),
        prop::sample::select(vec![
            "10.0.3.2/24",
            "fe80::1/64",
            "::",
            "00:16:3e:c6:0e:04",
            "::ffff:1.2.3.4"
        ])
        .prop_map(|a| ValueKind::Address(a.to_string())),
        (any::<u64>(), any::<bool>()).prop_map(|(number, udp)| ValueKind::Port(PortLit {
            number,
            protocol: if udp { Protocol::Udp } else { Protocol::Tcp }
        })),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar()
        .prop_map(Value::synthetic)
        .prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5)
                    .prop_map(|items| Value::synthetic(ValueKind::List(items))),
                prop::collection::vec((any::<String>(), inner), 0..4).prop_map(|entries| {
                    Value::synthetic(ValueKind::Map(
                        entries
                            .into_iter()
                            .map(|(key, value)| MapEntry {
                                key: Spanned::new(key, Span::synthetic()),
                                quoted_key: true,
                                value,
                            })
                            .collect(),
                    ))
                }),
            ]
        })
}

fn key() -> impl Strategy<Value = Key> {
    prop::collection::vec(ident(), 1..3).prop_map(|parts| Key::synthetic(&parts.join(".")))
}

fn trivia() -> impl Strategy<Value = Trivia> {
    (
        prop::collection::vec(comment_text(), 0..2),
        prop::option::of(comment_text()),
        any::<bool>(),
    )
        .prop_map(|(leading, trailing, blank_line_before)| Trivia {
            leading: leading
                .into_iter()
                .map(|text| Comment {
                    text,
                    span: Span::synthetic(),
                })
                .collect(),
            trailing: trailing.map(|text| Comment {
                text,
                span: Span::synthetic(),
            }),
            blank_line_before,
        })
}

fn comments() -> impl Strategy<Value = Vec<Comment>> {
    prop::collection::vec(comment_text(), 0..2).prop_map(|texts| {
        texts
            .into_iter()
            .map(|text| Comment {
                text,
                span: Span::synthetic(),
            })
            .collect()
    })
}

fn statement() -> impl Strategy<Value = Statement> {
    let assignment = (key(), value(), trivia()).prop_map(|(key, value, trivia)| Statement {
        kind: StatementKind::Assignment(Assignment { key, value }),
        span: Span::synthetic(),
        trivia,
    });
    assignment.prop_recursive(2, 12, 4, |inner| {
        (
            key(),
            prop::option::of(any::<String>()),
            prop::collection::vec(inner, 0..4),
            comments(),
            trivia(),
        )
            .prop_map(|(key, label, body, trailing_comments, trivia)| Statement {
                kind: StatementKind::Block(Block {
                    key,
                    label: label.map(|name| Label {
                        name,
                        quoted: true,
                        span: Span::synthetic(),
                    }),
                    body,
                    trailing_comments,
                }),
                span: Span::synthetic(),
                trivia,
            })
    })
}

fn file() -> impl Strategy<Value = File> {
    (
        prop::collection::vec((any::<String>(), trivia()), 0..3),
        prop::collection::vec(statement(), 0..6),
        comments(),
    )
        .prop_map(|(includes, body, trailing_comments)| File {
            source: Span::SYNTHETIC_SOURCE,
            includes: includes
                .into_iter()
                .map(|(path, trivia)| Include {
                    path: Spanned::new(path, Span::synthetic()),
                    span: Span::synthetic(),
                    trivia,
                })
                .collect(),
            body,
            trailing_comments,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_strings_never_panic(text in any::<String>()) {
        check_any(&text)?;
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check_any(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn profile_like_input_never_panics(text in profile_like()) {
        check_any(&text)?;
    }

    #[test]
    fn mutated_profiles_never_panic(mutations in prop::collection::vec(mutation(), 1..6)) {
        check_any(&apply(SEED, &mutations))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn generated_trees_round_trip(file in file()) {
        let printed = print(&file);
        let parsed = parse(SourceId(1), &printed).map_err(|e| {
            TestCaseError::fail(format!("printed text does not parse:\n{printed}\n{e:#?}"))
        })?;
        prop_assert_eq!(strip(&parsed), strip(&file), "printed:\n{}", printed);
        prop_assert_eq!(print(&parsed), printed);
        let mut before = all_comments_unsorted(&file);
        let mut after = all_comments(&parsed);
        before.sort();
        after.sort();
        prop_assert_eq!(before, after);
    }
}

/// Comment texts of a tree with synthetic spans (no source order).
fn all_comments_unsorted(file: &File) -> Vec<String> {
    fn trivia(t: &Trivia, out: &mut Vec<String>) {
        out.extend(t.leading.iter().map(|c| c.text.clone()));
        out.extend(t.trailing.iter().map(|c| c.text.clone()));
    }
    fn statements(body: &[Statement], out: &mut Vec<String>) {
        for s in body {
            trivia(&s.trivia, out);
            if let StatementKind::Block(b) = &s.kind {
                statements(&b.body, out);
                out.extend(b.trailing_comments.iter().map(|c| c.text.clone()));
            }
        }
    }
    let mut out = Vec::new();
    for i in &file.includes {
        trivia(&i.trivia, &mut out);
    }
    statements(&file.body, &mut out);
    out.extend(file.trailing_comments.iter().map(|c| c.text.clone()));
    out
}
