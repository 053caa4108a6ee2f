//! Every value form of LANGUAGE.md's table, and the choices where forms
//! overlap ("Precise rules").

mod common;

use common::*;
use sbx_grammar::ast::*;

fn int(value: u64, radix: Radix) -> ValueKind {
    ValueKind::Integer(IntegerLit { value, radix })
}

fn size(text: &str, unit: SizeUnit, bytes: u64) -> ValueKind {
    ValueKind::Size(SizeLit {
        number: DecimalLit {
            text: text.to_string(),
        },
        unit,
        bytes,
    })
}

fn duration(text: &str, unit: DurationUnit, micros: u64) -> ValueKind {
    ValueKind::Duration(DurationLit {
        number: DecimalLit {
            text: text.to_string(),
        },
        unit,
        micros,
    })
}

fn string(value: &str, multiline: bool) -> ValueKind {
    ValueKind::String(StringLit {
        value: value.to_string(),
        multiline,
    })
}

fn word(w: &str) -> ValueKind {
    ValueKind::Word(w.to_string())
}

fn address(a: &str) -> ValueKind {
    ValueKind::Address(a.to_string())
}

#[test]
fn strings_decode_every_escape() {
    assert_eq!(kind(r#""a\tb""#), string("a\tb", false));
    assert_eq!(kind(r#""café""#), string("café", false));
    assert_eq!(
        kind(r#""q\" b\\ n\n t\t""#),
        string("q\" b\\ n\n t\t", false)
    );
    assert_eq!(kind(r#""\u{e9}\u{1F600}\u{0}""#), string("é😀\0", false));
    assert_eq!(kind(r#""""#), string("", false));
    assert_eq!(
        kind(r##""# not a comment""##),
        string("# not a comment", false)
    );
    assert_eq!(kind(r#""[{;,""#), string("[{;,", false));
}

#[test]
fn multiline_strings_strip_common_indentation() {
    let src = "x = \"\"\"\n    apt-get update\n      && apt-get install\n    \"\"\"";
    assert_eq!(
        kind(&src[4..]),
        string("apt-get update\n  && apt-get install", true)
    );
    // The closing line's indentation counts toward the common indentation.
    assert_eq!(
        kind("\"\"\"\n    a\n      b\n  \"\"\""),
        string("  a\n    b", true)
    );
    // Blank lines inside are kept, and do not count toward the indentation.
    assert_eq!(kind("\"\"\"\n  a\n\n  b\n  \"\"\""), string("a\n\nb", true));
    // On one line.
    assert_eq!(
        kind(r#""""one "line" here""""#),
        string(r#"one "line" here"#, true)
    );
    // Escapes apply, after the indentation is stripped.
    assert_eq!(
        kind("\"\"\"\n  \\tx \\\"\"\"\\\"\n  \"\"\""),
        string("\tx \"\"\"\"", true)
    );
    // `#` and brackets are text.
    assert_eq!(kind("\"\"\"\n  # [ {\n  \"\"\""), string("# [ {", true));
    // A CRLF file gives LF newlines.
    assert_eq!(
        kind("\"\"\"\r\n  a\r\n  b\r\n  \"\"\""),
        string("a\nb", true)
    );
}

#[test]
fn integers_keep_their_radix() {
    assert_eq!(kind("42"), int(42, Radix::Decimal));
    assert_eq!(kind("0"), int(0, Radix::Decimal));
    assert_eq!(kind("0o022"), int(0o22, Radix::Octal));
    assert_eq!(kind("0x1f"), int(0x1f, Radix::Hex));
    assert_eq!(kind("0xFF"), int(255, Radix::Hex));
    assert_eq!(kind("18446744073709551615"), int(u64::MAX, Radix::Decimal));
    assert_eq!(kind("0xffffffffffffffff"), int(u64::MAX, Radix::Hex));
}

#[test]
fn sizes_are_binary_and_case_sensitive() {
    assert_eq!(kind("512K"), size("512", SizeUnit::K, 512 << 10));
    assert_eq!(kind("64M"), size("64", SizeUnit::M, 64 << 20));
    assert_eq!(kind("1G"), size("1", SizeUnit::G, 1 << 30));
    assert_eq!(kind("1.5G"), size("1.5", SizeUnit::G, 3 << 29));
    assert_eq!(kind("2T"), size("2", SizeUnit::T, 2 << 40));
    assert_eq!(kind("1KiB"), size("1", SizeUnit::KiB, 1024));
    assert_eq!(kind("1MiB"), size("1", SizeUnit::MiB, 1 << 20));
    assert_eq!(kind("1GiB"), size("1", SizeUnit::GiB, 1 << 30));
    assert_eq!(kind("3TiB"), size("3", SizeUnit::TiB, 3 << 40));
    assert_eq!(kind("0.5K"), size("0.5", SizeUnit::K, 512));
    assert_eq!(kind("1.000G"), size("1.000", SizeUnit::G, 1 << 30));
    // `max` and `infinity` are words; the compiler gives them meaning.
    assert_eq!(kind("max"), word("max"));
    assert_eq!(kind("infinity"), word("infinity"));
}

#[test]
fn percentages_keep_their_text() {
    let p = |t: &str| {
        ValueKind::Percent(DecimalLit {
            text: t.to_string(),
        })
    };
    assert_eq!(kind("50%"), p("50"));
    assert_eq!(kind("200%"), p("200"));
    assert_eq!(kind("12.5%"), p("12.5"));
}

#[test]
fn durations_have_one_unit() {
    assert_eq!(kind("100ms"), duration("100", DurationUnit::Ms, 100_000));
    assert_eq!(kind("10s"), duration("10", DurationUnit::S, 10_000_000));
    assert_eq!(kind("5min"), duration("5", DurationUnit::Min, 300_000_000));
    assert_eq!(kind("1h"), duration("1", DurationUnit::H, 3_600_000_000));
    assert_eq!(kind("20us"), duration("20", DurationUnit::Us, 20));
    assert_eq!(kind("1.5s"), duration("1.5", DurationUnit::S, 1_500_000));
}

#[test]
fn booleans_keep_their_word() {
    for (w, v) in [
        ("true", true),
        ("false", false),
        ("yes", true),
        ("no", false),
        ("on", true),
        ("off", false),
    ] {
        assert_eq!(
            kind(w),
            ValueKind::Bool(BoolLit {
                value: v,
                word: w.to_string()
            })
        );
    }
    // Only the lowercase words are booleans.
    assert_eq!(kind("True"), word("True"));
    assert_eq!(kind("yesterday"), word("yesterday"));
}

#[test]
fn bare_words_cover_enum_members() {
    for w in [
        "veth",
        "sys_admin",
        "CAP_SYS_ADMIN",
        "net_bind_service",
        "max",
        "SIGTERM",
        "_private",
        "a-b",
        "mount",
        "K",
        "G",
        "ms",
        "deadbeef",
        "all",
    ] {
        assert_eq!(kind(w), word(w), "{w}");
    }
}

#[test]
fn addresses_bare() {
    for a in [
        "10.0.3.2/24",
        "10.0.3.1",
        "0.0.0.0/0",
        "255.255.255.255",
        "fe80::1/64",
        "fe80::1",
        "::",
        "::1",
        "::/0",
        "2001:db8::/32",
        "2001:0db8:0000:0000:0000:ff00:0042:8329",
        "::ffff:10.0.0.1",
        "00:16:3e:c6:0e:04",
        "AA:BB:CC:DD:EE:FF",
    ] {
        assert_eq!(kind(a), address(a), "{a}");
    }
    // Quoted addresses are strings; the compiler accepts both.
    assert_eq!(kind(r#""10.0.0.1""#), string("10.0.0.1", false));
}

#[test]
fn ports() {
    assert_eq!(
        kind("8080/tcp"),
        ValueKind::Port(PortLit {
            number: 8080,
            protocol: Protocol::Tcp
        })
    );
    assert_eq!(
        kind("53/udp"),
        ValueKind::Port(PortLit {
            number: 53,
            protocol: Protocol::Udp
        })
    );
    // A plain N is an integer, even where a port is meant.
    assert_eq!(kind("3306"), int(3306, Radix::Decimal));
}

#[test]
fn lists_allow_newlines_comments_and_a_trailing_comma() {
    let expected = ValueKind::List(vec![
        Value::synthetic(word("mount")),
        Value::synthetic(word("uts")),
        Value::synthetic(word("pid")),
    ]);
    for text in [
        "[mount, uts, pid]",
        "[mount,uts,pid,]",
        "[\n    mount,\n    uts,\n    pid,\n]",
        "[ # the namespaces\n  mount, # first\n\n  uts\n  , pid\n  # last\n]",
    ] {
        let v = value(text);
        assert_eq!(strip_value(&v).kind, expected, "{text}");
    }
    assert_eq!(kind("[]"), ValueKind::List(vec![]));
    assert_eq!(kind("[\n]"), ValueKind::List(vec![]));
    // Nested lists (idmap, rlimits).
    let nested = value("[[0, 100000, 65536], [1, 2, 3]]");
    let ValueKind::List(outer) = nested.kind else {
        panic!()
    };
    assert_eq!(outer.len(), 2);
    assert!(matches!(&outer[0].kind, ValueKind::List(inner) if inner.len() == 3));
}

#[test]
fn maps_take_idents_and_quoted_keys() {
    let v = value("{ MYSQL_MAJOR = \"5.7\", TZ = \"UTC\",\n \"org.label\" = 1, }");
    let ValueKind::Map(entries) = v.kind else {
        panic!("not a map")
    };
    let keys: Vec<(&str, bool)> = entries
        .iter()
        .map(|e| (e.key.node.as_str(), e.quoted_key))
        .collect();
    assert_eq!(
        keys,
        [("MYSQL_MAJOR", false), ("TZ", false), ("org.label", true)]
    );
    assert_eq!(entries[0].value.kind, string("5.7", false));
    assert_eq!(kind("{}"), ValueKind::Map(vec![]));
    // Newlines may surround `=` inside a map.
    let v = value("{\n  A\n  =\n  1\n}");
    assert!(matches!(v.kind, ValueKind::Map(e) if e.len() == 1));
    // Duplicate map keys parse; the compiler reports them.
    let v = value("{ A = 1, A = 2 }");
    assert!(matches!(v.kind, ValueKind::Map(e) if e.len() == 2));
}

#[test]
fn overlapping_forms_resolve_as_the_precise_rules_say() {
    // size vs word vs integer
    assert!(matches!(kind("1G"), ValueKind::Size(_)));
    assert!(matches!(kind("G1"), ValueKind::Word(_)));
    // duration vs address
    assert!(matches!(kind("10s"), ValueKind::Duration(_)));
    assert!(matches!(kind("10.0.0.1"), ValueKind::Address(_)));
    // `1M` is a size, `1ms` and `1min` durations
    assert!(matches!(kind("1M"), ValueKind::Size(_)));
    assert!(matches!(kind("1ms"), ValueKind::Duration(_)));
    assert!(matches!(kind("1min"), ValueKind::Duration(_)));
    // a MAC is not a list of numbers
    assert_eq!(kind("00:16:3e:c6:0e:04"), address("00:16:3e:c6:0e:04"));
    // port vs integer
    assert!(matches!(kind("8080/tcp"), ValueKind::Port(_)));
    // octal and hex are integers, not words
    assert_eq!(kind("0o022"), int(0o22, Radix::Octal));
    assert_eq!(kind("0x1f"), int(31, Radix::Hex));
    // booleans are not words, words starting with a boolean are
    assert!(matches!(kind("on"), ValueKind::Bool(_)));
    assert_eq!(kind("one"), word("one"));
    assert_eq!(kind("no_new"), word("no_new"));
}

#[test]
fn value_spans_cover_the_value_text() {
    let src = "x = [ 1G , \"a b\", {K = 10s} ]  # c";
    let file = parse_ok(src);
    let StatementKind::Assignment(a) = &file.body[0].kind else {
        panic!()
    };
    assert_eq!(text_of(src, a.value.span), "[ 1G , \"a b\", {K = 10s} ]");
    let ValueKind::List(items) = &a.value.kind else {
        panic!()
    };
    let texts: Vec<&str> = items.iter().map(|v| text_of(src, v.span)).collect();
    assert_eq!(texts, ["1G", "\"a b\"", "{K = 10s}"]);
    let ValueKind::Map(entries) = &items[2].kind else {
        panic!()
    };
    assert_eq!(text_of(src, entries[0].key.span), "K");
    assert_eq!(text_of(src, entries[0].value.span), "10s");
    assert!(items.iter().all(|v| v.span.source == SourceId(7)));
}
