//! Statements, blocks, labels, separators, comments, includes, spans, and
//! the limits (nesting depth, size) of LANGUAGE.md's syntactic core.

mod common;

use common::*;
use sbx_grammar::ast::*;
use sbx_grammar::MAX_NESTING_DEPTH;

const SEED: &str = include_str!("data/seed.sbx");

const CORE: &str = r#"# comment to end of line
include "base/hardened.sbx"      # path relative to this file; merged first, this file overrides
name     = "mysql"                # assignment: key = value
hostname = "toto"
limits {                          # block
    memory.max = 1G               # dotted keys are plain keys
}
net "eth0" {                      # labelled block; label quoted or bare
    type = veth
}
console { tty = 4; pts = 1024 }   # ';' separates statements on one line
"#;

fn keys(body: &[Statement]) -> Vec<String> {
    body.iter()
        .map(|s| match &s.kind {
            StatementKind::Assignment(a) => a.key.dotted(),
            StatementKind::Block(b) => match &b.label {
                Some(l) => format!("{} {}", b.key.dotted(), l.name),
                None => format!("{} {{}}", b.key.dotted()),
            },
        })
        .collect()
}

fn block(s: &Statement) -> &Block {
    match &s.kind {
        StatementKind::Block(b) => b,
        other => panic!("not a block: {other:?}"),
    }
}

fn assignment(s: &Statement) -> &Assignment {
    match &s.kind {
        StatementKind::Assignment(a) => a,
        other => panic!("not an assignment: {other:?}"),
    }
}

#[test]
fn the_seed_example_parses() {
    let file = parse_ok(SEED);
    assert!(file.includes.is_empty());
    assert_eq!(
        keys(&file.body),
        [
            "name",
            "from",
            "hostname",
            "build {}",
            "env",
            "volume",
            "entrypoint",
            "cmd",
            "expose",
            "limits {}",
            "capabilities {}",
            "net eth0",
            "console {}"
        ]
    );
    assert_eq!(
        keys(&block(&file.body[3]).body),
        ["run", "run", "copy"],
        "repeatable keys keep their order"
    );
    assert_eq!(
        keys(&block(&file.body[9]).body),
        ["cpu.weight", "memory.max", "io.weight"]
    );
    assert_eq!(keys(&block(&file.body[12]).body), ["tty", "pts"]);
    let hwaddr = assignment(&block(&file.body[11]).body[2]);
    assert_eq!(
        hwaddr.value.kind,
        ValueKind::Address("00:16:3e:c6:0e:04".into())
    );
}

#[test]
fn the_core_example_parses_with_its_comments() {
    let file = parse_ok(CORE);
    assert_eq!(file.includes.len(), 1);
    assert_eq!(file.includes[0].path.node, "base/hardened.sbx");
    assert_eq!(
        text_of(CORE, file.includes[0].path.span),
        "\"base/hardened.sbx\""
    );
    assert_eq!(
        text_of(CORE, file.includes[0].span),
        "include \"base/hardened.sbx\""
    );
    assert_eq!(
        file.includes[0].trivia.leading[0].text,
        " comment to end of line"
    );
    assert_eq!(
        file.includes[0].trivia.trailing.as_ref().unwrap().text,
        " path relative to this file; merged first, this file overrides"
    );
    assert_eq!(
        keys(&file.body),
        ["name", "hostname", "limits {}", "net eth0", "console {}"]
    );
    let limits = &file.body[2];
    assert_eq!(limits.trivia.trailing.as_ref().unwrap().text, " block");
    assert_eq!(
        block(limits).body[0].trivia.trailing.as_ref().unwrap().text,
        " dotted keys are plain keys"
    );
    let console = &file.body[4];
    assert_eq!(
        console.trivia.trailing.as_ref().unwrap().text,
        " ';' separates statements on one line"
    );
    assert_eq!(all_comments(&file).len(), 7, "no comment lost");
}

#[test]
fn statement_and_key_spans() {
    let src = "  memory.max = 1G\nnet \"eth0\" {\n  up = true\n}\n";
    let file = parse_ok(src);
    let s = &file.body[0];
    assert_eq!(text_of(src, s.span), "memory.max = 1G");
    let a = assignment(s);
    assert_eq!(text_of(src, a.key.span), "memory.max");
    let parts: Vec<&str> = a.key.parts.iter().map(|p| text_of(src, p.span)).collect();
    assert_eq!(parts, ["memory", "max"]);
    assert_eq!(text_of(src, a.value.span), "1G");
    let net = &file.body[1];
    assert_eq!(text_of(src, net.span), "net \"eth0\" {\n  up = true\n}");
    let b = block(net);
    let label = b.label.as_ref().unwrap();
    assert_eq!(text_of(src, label.span), "\"eth0\"");
    assert!(label.quoted);
    assert_eq!(text_of(src, b.body[0].span), "up = true");
    assert_eq!(file.source, SourceId(7));
    assert_eq!(s.span.source, SourceId(7));
}

#[test]
fn labels_bare_or_quoted() {
    let file = parse_ok("net eth0 {}\nmount \"/data\" { type = bind }\nnet \"eth0.10\" {}\n");
    let labels: Vec<(String, bool)> = file
        .body
        .iter()
        .map(|s| {
            let l = block(s).label.clone().unwrap();
            (l.name, l.quoted)
        })
        .collect();
    assert_eq!(
        labels,
        [
            ("eth0".to_string(), false),
            ("/data".to_string(), true),
            ("eth0.10".to_string(), true)
        ]
    );
}

#[test]
fn statements_end_at_newline_semicolon_brace_or_end_of_file() {
    let file = parse_ok("a = 1; b = 2;; ;\nc { d = 3; e = 4 }\nf = 5");
    assert_eq!(keys(&file.body), ["a", "b", "c {}", "f"]);
    assert_eq!(keys(&block(&file.body[2]).body), ["d", "e"]);
    // Empty statements and blank lines anywhere.
    let file = parse_ok("\n\n;\n  \n\t\nx {\n\n;\n}\n\n");
    assert_eq!(keys(&file.body), ["x {}"]);
    // Empty input, only comments.
    assert!(parse_ok("").body.is_empty());
    let file = parse_ok("# only\n# comments");
    assert_eq!(file.trailing_comments.len(), 2);
    // CRLF line endings and a byte order mark.
    let file = parse_ok("\u{feff}a = 1\r\nb {\r\n  c = \"x\"\r\n}\r\n");
    assert_eq!(keys(&file.body), ["a", "b {}"]);
}

#[test]
fn nested_blocks() {
    let file = parse_ok("a {\n  b \"x\" {\n    c { d = 1 }\n  }\n}");
    let a = block(&file.body[0]);
    let b = block(&a.body[0]);
    let c = block(&b.body[0]);
    assert_eq!(keys(&c.body), ["d"]);
}

#[test]
fn includes_come_first_at_top_level() {
    let file =
        parse_ok("# top\ninclude \"a.sbx\"\n\ninclude \"../b.sbx\"; include \"c\"\nname = \"x\"\n");
    let paths: Vec<&str> = file.includes.iter().map(|i| i.path.node.as_str()).collect();
    assert_eq!(paths, ["a.sbx", "../b.sbx", "c"]);
    assert_eq!(keys(&file.body), ["name"]);
    // `include` is also a plain word where it is not the keyword.
    let file = parse_ok("x = include\nincluded = 1");
    assert_eq!(keys(&file.body), ["x", "included"]);
}

#[test]
fn comments_attach_to_the_statements_around_them() {
    let src = "\
# header

# about a
a = 1  # on a

# about b
# more about b
b {  # on b's brace
    # about c
    c = 2
    # end of b
}  # after b's brace
d = [  # inside d
    1,
]
# end of file
";
    let file = parse_ok(src);
    let a = &file.body[0];
    assert_eq!(
        a.trivia
            .leading
            .iter()
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>(),
        [" header", " about a"]
    );
    assert_eq!(a.trivia.trailing.as_ref().unwrap().text, " on a");
    assert!(
        !a.trivia.blank_line_before,
        "a blank line between comments only"
    );
    let b = &file.body[1];
    assert!(b.trivia.blank_line_before);
    assert_eq!(b.trivia.leading.len(), 2);
    assert_eq!(b.trivia.trailing.as_ref().unwrap().text, " on b's brace");
    let bb = block(b);
    assert_eq!(bb.body[0].trivia.leading[0].text, " about c");
    assert_eq!(
        bb.trailing_comments
            .iter()
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>(),
        [" end of b", " after b's brace"]
    );
    let d = &file.body[2];
    assert_eq!(
        d.trivia.leading[0].text, " inside d",
        "moved above the statement"
    );
    assert_eq!(file.trailing_comments[0].text, " end of file");
    assert_eq!(all_comments(&file).len(), 11);
    // Comment spans cover `#` and the text, not trailing blanks.
    let c = &file.body[0].trivia.trailing.as_ref().unwrap();
    assert_eq!(text_of(src, c.span), "# on a");
}

#[test]
fn a_header_comment_set_apart_keeps_its_blank_line() {
    let file = parse_ok("# header\n\nname = \"x\"\n");
    assert!(file.body[0].trivia.blank_line_before);
    let file = parse_ok("# header\nname = \"x\"\n");
    assert!(!file.body[0].trivia.blank_line_before);
    let file = parse_ok("\n\nname = \"x\"\n");
    assert!(!file.body[0].trivia.blank_line_before);
}

#[test]
fn blank_lines_are_recorded_once() {
    let file = parse_ok("a = 1\n\n\n\nb = 2\nc = 3\nd {\n\n  e = 1\n\n  f = 2\n}\n");
    let blank: Vec<bool> = file
        .body
        .iter()
        .map(|s| s.trivia.blank_line_before)
        .collect();
    assert_eq!(blank, [false, true, false, false]);
    let d = block(&file.body[3]);
    let blank: Vec<bool> = d.body.iter().map(|s| s.trivia.blank_line_before).collect();
    assert_eq!(blank, [false, true]);
}

fn nested(open: &str, close: &str, depth: usize) -> String {
    format!("x = {}{}", open.repeat(depth), close.repeat(depth))
}

#[test]
fn nesting_up_to_the_limit_parses() {
    parse_ok(&nested("[", "]", MAX_NESTING_DEPTH));
    let mut blocks = String::new();
    for _ in 0..MAX_NESTING_DEPTH {
        blocks.push_str("a {\n");
    }
    for _ in 0..MAX_NESTING_DEPTH {
        blocks.push_str("}\n");
    }
    parse_ok(&blocks);
}

#[test]
fn deep_nesting_is_reported_not_overflowed() {
    for (src, offset) in [
        (nested("[", "]", 10_000), 4 + MAX_NESTING_DEPTH),
        (nested("[", "", 10_000), 4 + MAX_NESTING_DEPTH),
        (
            "x = ".to_string() + &"{ a = ".repeat(10_000),
            4 + 6 * MAX_NESTING_DEPTH,
        ),
        ("a {\n".repeat(10_000), 4 * MAX_NESTING_DEPTH + 2),
        ("[{".repeat(50_000), MAX_NESTING_DEPTH),
    ] {
        let (e, text) = single_error(&src);
        assert_eq!(e.code, "sbx::parse::too-deep");
        assert_eq!(e.span.start, offset);
        assert!(text == "[" || text == "{");
    }
}

#[test]
fn a_generated_100000_line_profile_parses() {
    let mut src = String::new();
    let mut expected = 0;
    // Nine lines a round.
    while expected * 9 < 100_000 {
        src.push_str(&format!(
            "# block {expected}\nnet \"eth{expected}\" {{\n    type    = veth\n    address = [10.0.3.2/24, fe80::1/64]\n    mtu     = 1500\n}}\nenv_{expected} = {{ A = \"b\", C = 1G }}\nlimit_{expected} = 10ms\n\n"
        ));
        expected += 1;
    }
    let file = parse_ok(&src);
    assert_eq!(file.body.len(), expected * 3);
    let last = file.body.last().unwrap();
    assert_eq!(
        &src[last.span.start..last.span.end],
        format!("limit_{} = 10ms", expected - 1)
    );
}
