//! Every `sbx::parse::*` code: when it is reported, its exact span, and
//! that it comes with a label and a help line in user terms.

mod common;

use common::*;

fn check(src: &str, code: &str, covered: &str) -> sbx_grammar::SyntaxError {
    let (e, text) = single_error(src);
    assert_eq!(e.code, code, "{src:?}: {e:#?}");
    assert_eq!(text, covered, "{src:?}: span of {e:#?}");
    assert!(!e.label.is_empty());
    assert!(
        !e.message.contains("Rule") && !e.message.ends_with('.'),
        "{}",
        e.message
    );
    assert!(
        e.message.starts_with(|c: char| !c.is_uppercase()),
        "{}",
        e.message
    );
    e
}

#[test]
fn bad_escape() {
    let e = check(r#"x = "a\qb""#, "sbx::parse::bad-escape", r"\q");
    assert!(e.help.unwrap().contains(r"\\"));
    check(
        "x = \"\"\"\n  a\\x\n  \"\"\"",
        "sbx::parse::bad-escape",
        r"\x",
    );
    check(
        "x = [\"ok\", \"\\\"]",
        "sbx::parse::unclosed-string",
        "\"\\\"]",
    );
    check(
        "x = [\"ok\", \"\\\"]\ny = 2\n",
        "sbx::parse::newline-in-string",
        "\"\\\"]",
    );
}

#[test]
fn bad_unicode_escape() {
    check(
        r#"x = "\u{110000}""#,
        "sbx::parse::bad-unicode-escape",
        r"\u{110000}",
    );
    check(
        r#"x = "\u{d800}""#,
        "sbx::parse::bad-unicode-escape",
        r"\u{d800}",
    );
    check(r#"x = "\u{}""#, "sbx::parse::bad-unicode-escape", r"\u{}");
    check(
        r#"x = "\u{1234567}""#,
        "sbx::parse::bad-unicode-escape",
        r"\u{1234567}",
    );
    check(r#"x = "\u41""#, "sbx::parse::bad-unicode-escape", r"\u");
    check(r#"x = "\u{41""#, "sbx::parse::bad-unicode-escape", r"\u{41");
}

#[test]
fn newline_in_string() {
    let e = check(
        "x = \"abc\ny = 1\n",
        "sbx::parse::newline-in-string",
        "\"abc",
    );
    assert!(e.help.unwrap().contains("\"\"\""));
}

#[test]
fn unclosed_string() {
    check("x = \"abc", "sbx::parse::unclosed-string", "\"abc");
    check(
        "x = \"\"\"\n  abc\n",
        "sbx::parse::unclosed-string",
        "\"\"\"",
    );
}

#[test]
fn leading_zero() {
    let e = check("umask = 022", "sbx::parse::leading-zero", "022");
    assert!(e.help.unwrap().contains("`0o22`"));
    check("x = [1, 00]", "sbx::parse::leading-zero", "00");
    check("x = 08080/tcp", "sbx::parse::leading-zero", "08080");
}

#[test]
fn integer_overflow() {
    check(
        "x = 99999999999999999999",
        "sbx::parse::integer-overflow",
        "99999999999999999999",
    );
    check(
        "x = 18446744073709551616",
        "sbx::parse::integer-overflow",
        "18446744073709551616",
    );
    check(
        "x = 0x10000000000000000",
        "sbx::parse::integer-overflow",
        "0x10000000000000000",
    );
    check(
        "x = 0o7777777777777777777777",
        "sbx::parse::integer-overflow",
        "0o7777777777777777777777",
    );
    check(
        "x = 99999999999999999999/tcp",
        "sbx::parse::integer-overflow",
        "99999999999999999999",
    );
}

#[test]
fn size_not_whole_bytes_or_too_large() {
    check("x = 1.0001K", "sbx::parse::size-fraction", "1.0001K");
    check("x = 0.3K", "sbx::parse::size-fraction", "0.3K");
    check("x = 16777216T", "sbx::parse::size-overflow", "16777216T");
    check(
        "x = 99999999999999999999999G",
        "sbx::parse::size-overflow",
        "99999999999999999999999G",
    );
    // The largest whole size still parses.
    parse_ok("x = 16777215T");
}

#[test]
fn duration_not_whole_microseconds_or_too_long() {
    check("x = 1.5us", "sbx::parse::duration-fraction", "1.5us");
    check(
        "x = 0.0000001s",
        "sbx::parse::duration-fraction",
        "0.0000001s",
    );
    check(
        "x = 99999999999h",
        "sbx::parse::duration-overflow",
        "99999999999h",
    );
}

#[test]
fn bad_value() {
    for (src, covered, help) in [
        ("x = 1.5", "1.5", "unit"),
        ("x = 1k", "1k", "case-sensitive"),
        ("x = 5m", "5m", "min"),
        ("x = 80/sctp", "80/sctp", "/udp"),
        ("x = /var/lib", "/var/lib", "\"/var/lib\""),
        ("x = -1", "-1", "unsigned"),
        ("x = eth0.10", "eth0.10", "\"eth0.10\""),
        ("x = 1.2.3", "1.2.3", ""),
        ("x = [a, b@c]", "b@c", "\"b@c\""),
        ("x = 0x", "0x", ""),
        ("x = 0o8", "0o8", ""),
    ] {
        let e = check(src, "sbx::parse::bad-value", covered);
        assert!(e.help.unwrap().contains(help), "{src}");
    }
}

#[test]
fn include_placement() {
    check(
        "name = \"x\"\ninclude \"a.sbx\"",
        "sbx::parse::include-not-first",
        "include \"a.sbx\"",
    );
    check(
        "b {\n  include \"a.sbx\"\n}",
        "sbx::parse::include-in-block",
        "include \"a.sbx\"",
    );
    let e = check(
        "include = \"a.sbx\"",
        "sbx::parse::include-syntax",
        "include",
    );
    assert!(e.help.unwrap().contains("include \"PATH\""));
}

#[test]
fn too_deep() {
    let src = format!("x = {}", "[".repeat(10_000));
    let e = check(&src, "sbx::parse::too-deep", "[");
    assert_eq!(e.span.start, 4 + sbx_grammar::MAX_NESTING_DEPTH);
}

#[test]
fn syntax_errors_name_what_was_expected() {
    let e = check("foo bar baz", "sbx::parse::syntax", "baz");
    assert_eq!(e.message, "expected `{`, found `baz`");
    let e = check("foo\n= 1", "sbx::parse::syntax", "");
    assert_eq!(
        e.message,
        "expected `=` or `{` after key `foo`, found the end of the line"
    );
    assert!(e.help.unwrap().contains("same line"));
    let e = check("foo : 1", "sbx::parse::syntax", ":");
    assert_eq!(e.message, "expected `=` or `{` after key `foo`, found `:`");
    let e = check("x =\n", "sbx::parse::syntax", "");
    assert_eq!(e.message, "expected a value, found the end of the line");
    let e = check("x = 1 2", "sbx::parse::syntax", "2");
    assert_eq!(e.message, "expected the end of the statement, found `2`");
    let e = check("x = [1 2]", "sbx::parse::syntax", "2");
    assert!(
        e.message.starts_with("expected `]` or `,`"),
        "{}",
        e.message
    );
    let e = check("x = {a 1}", "sbx::parse::syntax", "1");
    assert!(e.message.contains("`=`"), "{}", e.message);
    let e = check("net eth0.10 {}", "sbx::parse::syntax", ".");
    assert!(e.help.unwrap().contains("quoted"));
    let e = check("lxc.net.0.link = \"br0\"", "sbx::parse::syntax", "0");
    assert_eq!(e.message, "expected a key, found `0`");
    let e = check("a. = 1", "sbx::parse::syntax", " ");
    assert_eq!(e.message, "expected a key, found a space");
    let e = check("= 1", "sbx::parse::syntax", "=");
    assert_eq!(e.message, "expected a key, found `=`");
    let e = check("a { b = 1 } c = 2", "sbx::parse::syntax", "c");
    assert_eq!(e.message, "expected the end of the statement, found `c`");
}

#[test]
fn unclosed_brackets_point_at_the_opening() {
    let e = check("x = [1, 2", "sbx::parse::unclosed", "[");
    assert_eq!(e.message, "unclosed `[`");
    assert_eq!(e.span.start, 4);
    check("limits {\n  a = 1\n", "sbx::parse::unclosed", "{");
    check("x = { a = 1,\n", "sbx::parse::unclosed", "{");
    let e = check("a {\n  b {\n    c = 1\n}\n", "sbx::parse::unclosed", "{");
    assert_eq!(e.span.start, 2, "the outer block is the one left open");
}

#[test]
fn unexpected_close() {
    let e = check("}", "sbx::parse::unexpected-close", "}");
    assert_eq!(e.message, "unexpected `}`");
    check("x = 1\n]\n", "sbx::parse::unexpected-close", "]");
}

#[test]
fn lexical_errors_are_all_collected() {
    let src = "a = 012\nb = 99999999999999999999\nc = \"\\q\"\nd {\n  e = 1.5us\n  f = 0.3K\n}\n";
    let errors = parse_err(src);
    let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
    assert_eq!(
        codes,
        [
            "sbx::parse::leading-zero",
            "sbx::parse::integer-overflow",
            "sbx::parse::bad-escape",
            "sbx::parse::duration-fraction",
            "sbx::parse::size-fraction"
        ]
    );
}

#[test]
fn parsing_resumes_at_the_next_top_level_line() {
    let src = "a = 012\nb = = 1\nc = 0.3K\nd {\n  e = \n}\nf = 2\ng h i\n";
    let errors = parse_err(src);
    let found: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.code, &src[e.span.start..e.span.end]))
        .collect();
    assert_eq!(
        found,
        [
            ("sbx::parse::leading-zero", "012"),
            ("sbx::parse::syntax", "="),
            ("sbx::parse::size-fraction", "0.3K"),
            ("sbx::parse::syntax", ""),
            ("sbx::parse::syntax", "i"),
        ]
    );
}

#[test]
fn garbage_gives_errors_not_panics() {
    for src in [
        "\0\0\0",
        "\u{1}\u{2}x = 1",
        "🦀 = 1",
        "x = 🦀",
        "\"",
        "\"\"\"",
        "\\",
        "x = \"\\",
        "x = \"\\u{",
        "[",
        "]]]]",
        "{{{{",
        "x = [,]",
        "x = {,}",
        "a.b. = 1",
        ".a = 1",
        "a..b = 1",
    ] {
        let errors = parse_err(src);
        for e in errors {
            assert!(
                e.span.start <= e.span.end && e.span.end <= src.len(),
                "{src:?}: {e:?}"
            );
            assert!(src.is_char_boundary(e.span.start) && src.is_char_boundary(e.span.end));
            assert!(!e.message.contains("Rule::"), "{}", e.message);
        }
    }
}

#[test]
fn every_code_has_an_example_and_is_documented() {
    let examples = [
        ("x = 1 2", "sbx::parse::syntax"),
        ("x = [1", "sbx::parse::unclosed"),
        ("}", "sbx::parse::unexpected-close"),
        (
            "x = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            "sbx::parse::too-deep",
        ),
        (r#"x = "\q""#, "sbx::parse::bad-escape"),
        (r#"x = "\u{d800}""#, "sbx::parse::bad-unicode-escape"),
        ("x = \"a\n", "sbx::parse::newline-in-string"),
        ("x = \"a", "sbx::parse::unclosed-string"),
        ("x = 022", "sbx::parse::leading-zero"),
        ("x = 99999999999999999999", "sbx::parse::integer-overflow"),
        ("x = 1.0001K", "sbx::parse::size-fraction"),
        ("x = 16777216T", "sbx::parse::size-overflow"),
        ("x = 1.5us", "sbx::parse::duration-fraction"),
        ("x = 99999999999h", "sbx::parse::duration-overflow"),
        ("x = 1.5", "sbx::parse::bad-value"),
        ("x = 1\ninclude \"a\"", "sbx::parse::include-not-first"),
        ("b { include \"a\" }", "sbx::parse::include-in-block"),
        ("include = \"a\"", "sbx::parse::include-syntax"),
    ];
    let docs = include_str!("../../docs/grammar.md");
    for code in sbx_grammar::ERROR_CODES {
        assert!(
            docs.contains(&format!("`{code}`")),
            "{code} is not documented"
        );
        let (src, _) = examples
            .iter()
            .find(|(_, c)| c == code)
            .unwrap_or_else(|| panic!("no example for {code}"));
        let errors = parse_err(src);
        assert!(
            errors.iter().any(|e| e.code == *code),
            "{src:?} gives {errors:?}, not {code}"
        );
    }
    assert_eq!(examples.len(), sbx_grammar::ERROR_CODES.len());
}
