//! The canonical printer: exact output for known input, round trips
//! (parse -> print -> parse gives the same tree), idempotence, comments
//! kept, and trees built by a program (synthetic spans) printed correctly.

mod common;

use common::*;
use sbx_grammar::ast::*;
use sbx_grammar::printer::{print, print_value};

const SEED: &str = include_str!("data/seed.sbx");

const SEED_CANONICAL: &str = r#"name     = "mysql"
from     = "debian:wheezy"
hostname = "toto"

build {
    run  = "groupadd -r mysql && useradd -r -g mysql mysql"
    run  = "apt-get update && apt-get install -y perl"
    copy = ["docker-entrypoint.sh", "/entrypoint.sh"]
}
env        = { MYSQL_MAJOR = "5.7" }
volume     = ["/var/lib/mysql"]
entrypoint = ["/entrypoint.sh"]
cmd        = ["mysqld", "--datadir=/var/lib/mysql"]
expose     = [3306]

limits {  # systemd: CPUShares=1500 MemoryLimit=1G BlockIOWeight=500
    cpu.weight = 146  # CPUShares=1500 as systemd converts it: 1500 * 100 / 1024
    memory.max = 1G
    io.weight  = 100  # BlockIOWeight=500 as systemd converts it: 500 * 100 / 500
}

capabilities {
    drop = [mac_admin, mac_override]
}

net eth0 {
    type   = veth
    link   = "tap0"
    hwaddr = 00:16:3e:c6:0e:04
    up     = true
}

console {
    tty = 4
    pts = 1024
}
"#;

/// Sources that exercise every construct; each must round-trip.
const SOURCES: &[&str] = &[
    SEED,
    "",
    "# only a comment\n",
    "# header\n\ninclude \"a.sbx\"  # why\ninclude \"b c.sbx\"\n\nname = \"x\"\n# the end\n",
    "a=1;b=2;c{d=3}\n\n\n\ne = [\n# inside\n1,2,\n]\n",
    "s = \"tab\\there \\\"q\\\" back\\\\slash \\u{1F600} \\u{7}\"\n",
    "run = \"\"\"\n    set -e\n      echo \"a\" \"\"\\\" '\\t'\n\n    done\n    \"\"\"\n",
    "x = \"\"\"one line\"\"\"\n",
    "sizes = [512K, 1.5G, 1GiB, 2T, 0.5K, 1.000M]\ntimes = [20us, 100ms, 10s, 5min, 1h, 1.5s]\npct = [50%, 12.5%]\n",
    "ints = [0, 42, 0o022, 0o7, 0x1f, 0xFF, 18446744073709551615]\n",
    "b = [true, false, yes, no, on, off]\nw = [veth, CAP_SYS_ADMIN, max, a-b, _x]\n",
    "a = [10.0.3.2/24, fe80::1/64, ::, ::ffff:10.0.0.1, 00:16:3e:c6:0e:04]\np = [8080/tcp, 53/udp]\n",
    "env = { A = \"1\", \"weird key\" = \"v\", _b = [1, 2], m = { n = {} } }\nempty = []\n",
    "cmd = [\"a-very-long-argument-number-one\", \"a-very-long-argument-number-two\", \"three\"]\n",
    "env = { ALPHA_VARIABLE = \"the first value\", BETA_VARIABLE = \"the second value\", G = 1 }\n",
    "net \"eth0.10\" { type = vlan; vlan = 10 }\nmount \"/data\" {}\nnet eth1 {}  # c\n",
    "a {\n  b {\n    c {\n      d = [[1, 2], [3, [4, [5]]]]\n    }\n  }\n}\n",
    "limits {  # header\n  # lead\n  x = 1  # t1\n  yy = 2\n\n  zzz = 3  # t3\n  # tail\n}  # after\n",
    "idmap { uid = [[0, 100000, 65536]]; gid = [[0, 100000, 65536]] }\n",
    "list = [\"\"\"\n    multi\n    line\n    \"\"\", \"x\"]  # trailing\n",
];

#[test]
fn the_seed_prints_canonically() {
    let printed = print(&parse_ok(SEED));
    assert_eq!(printed, SEED_CANONICAL);
}

#[test]
fn canonical_text_prints_as_itself() {
    assert_eq!(print(&parse_ok(SEED_CANONICAL)), SEED_CANONICAL);
}

#[test]
fn round_trip_keeps_the_tree() {
    for src in SOURCES {
        let first = parse_ok(src);
        let printed = print(&first);
        let second = match sbx_grammar::parse(SourceId(7), &printed) {
            Ok(f) => f,
            Err(e) => panic!("printed text does not parse:\n{printed}\n{e:#?}"),
        };
        assert_eq!(
            strip(&second),
            strip(&first),
            "{src:?} printed as\n{printed}"
        );
    }
}

#[test]
fn printing_is_idempotent() {
    for src in SOURCES {
        let once = print(&parse_ok(src));
        let twice = print(&parse_ok(&once));
        assert_eq!(twice, once, "{src:?}");
    }
}

#[test]
fn comments_are_kept() {
    for src in SOURCES {
        let first = parse_ok(src);
        let second = parse_ok(&print(&first));
        let mut a = all_comments(&first);
        let mut b = all_comments(&second);
        a.sort();
        b.sort();
        assert_eq!(a, b, "{src:?}");
    }
}

#[test]
fn layout_rules() {
    let src = "a=1\nbbb=2\n\ncc=3\nd {}\nee=4\nlist=[\n1]\n";
    assert_eq!(
        print(&parse_ok(src)),
        "a   = 1\nbbb = 2\n\ncc = 3\nd {}\nee   = 4\nlist = [1]\n"
    );
    // Long lists and maps: one item per line, trailing comma.
    let src = "cmd = [\"a-very-long-argument-number-one\", \"a-very-long-argument-number-two\", \"three\"]";
    assert_eq!(
        print(&parse_ok(src)),
        "cmd = [\n    \"a-very-long-argument-number-one\",\n    \"a-very-long-argument-number-two\",\n    \"three\",\n]\n"
    );
    // Trailing comments aligned within a run.
    let src = "a = 1 # one\nlonger = 22 # two\n";
    assert_eq!(
        print(&parse_ok(src)),
        "a      = 1   # one\nlonger = 22  # two\n"
    );
    // A header comment set apart keeps its blank line.
    assert_eq!(print(&parse_ok("# h\n\n\na = 1")), "# h\n\na = 1\n");
    // A trailing comment on a multi-line value goes after its end.
    let src = "x = [\"a-very-long-argument-number-one\", \"a-very-long-argument-number-two\"] # c";
    assert!(print(&parse_ok(src)).ends_with("]  # c\n"));
}

fn synthetic_statement(kind: StatementKind) -> Statement {
    Statement {
        kind,
        span: Span::synthetic(),
        trivia: Trivia::default(),
    }
}

fn assign(key: &str, kind: ValueKind) -> Statement {
    synthetic_statement(StatementKind::Assignment(Assignment {
        key: Key::synthetic(key),
        value: Value::synthetic(kind),
    }))
}

fn comment(text: &str) -> Comment {
    Comment {
        text: text.to_string(),
        span: Span::synthetic(),
    }
}

#[test]
fn synthetic_trees_print_and_parse_back() {
    let mut net = synthetic_statement(StatementKind::Block(Block {
        key: Key::synthetic("net"),
        label: Some(Label {
            name: "eth0.10".into(),
            quoted: false, // the printer quotes it anyway: it is no ident
            span: Span::synthetic(),
        }),
        body: vec![
            assign("type", ValueKind::Word("vlan".into())),
            assign(
                "address",
                ValueKind::List(vec![Value::synthetic(ValueKind::Address(
                    "10.0.3.2/24".into(),
                ))]),
            ),
        ],
        trailing_comments: vec![comment(" end of net")],
    }));
    net.trivia.leading = vec![comment(" from lxc.net.0"), comment(" two\n lines")];
    net.trivia.blank_line_before = true;
    let mut memory = assign(
        "limits.memory.max",
        ValueKind::Size(SizeLit {
            number: DecimalLit {
                text: "1073741824".into(),
            },
            unit: SizeUnit::Bytes,
            bytes: 1 << 30,
        }),
    );
    memory.trivia.trailing = Some(comment(" MemoryMax=1G"));
    let file = File {
        source: Span::SYNTHETIC_SOURCE,
        includes: vec![Include {
            path: Spanned::new("base.sbx".into(), Span::synthetic()),
            span: Span::synthetic(),
            trivia: Trivia::default(),
        }],
        body: vec![
            assign(
                "name",
                ValueKind::String(StringLit {
                    value: "web \"1\"".into(),
                    multiline: false,
                }),
            ),
            assign("stop_signal", ValueKind::Word("SIGTERM".into())),
            memory,
            assign(
                "env",
                ValueKind::Map(vec![MapEntry {
                    key: Spanned::new("A B".into(), Span::synthetic()),
                    quoted_key: false,
                    value: Value::synthetic(ValueKind::String(StringLit {
                        value: "x".into(),
                        multiline: false,
                    })),
                }]),
            ),
            net,
        ],
        trailing_comments: vec![comment(" converted by sbx")],
    };
    let printed = print(&file);
    assert_eq!(
        printed,
        r#"include "base.sbx"
name              = "web \"1\""
stop_signal       = SIGTERM
limits.memory.max = 1G  # MemoryMax=1G
env               = { "A B" = "x" }

# from lxc.net.0
# two
# lines
net "eth0.10" {
    type    = vlan
    address = [10.0.3.2/24]
    # end of net
}
# converted by sbx
"#
    );
    let parsed = parse_ok(&printed);
    assert_eq!(print(&parsed), printed);
}

#[test]
fn values_that_cannot_be_bare_are_quoted() {
    let p = |kind: ValueKind| print_value(&Value::synthetic(kind));
    assert_eq!(p(ValueKind::Word("true".into())), "\"true\"");
    assert_eq!(p(ValueKind::Word("1G".into())), "\"1G\"");
    assert_eq!(p(ValueKind::Word("two words".into())), "\"two words\"");
    assert_eq!(p(ValueKind::Word("".into())), "\"\"");
    assert_eq!(p(ValueKind::Word("veth".into())), "veth");
    assert_eq!(p(ValueKind::Address("fe80::1".into())), "fe80::1");
    assert_eq!(
        p(ValueKind::Address("not an address".into())),
        "\"not an address\""
    );
    assert_eq!(
        p(ValueKind::Bool(BoolLit {
            value: true,
            word: "no".into()
        })),
        "true",
        "a word that contradicts the value is not kept"
    );
    assert_eq!(
        p(ValueKind::Integer(IntegerLit {
            value: 0o22,
            radix: Radix::Octal
        })),
        "0o022"
    );
    assert_eq!(
        p(ValueKind::Size(SizeLit {
            number: DecimalLit {
                text: "1000".into()
            },
            unit: SizeUnit::Bytes,
            bytes: 1000
        })),
        "1000"
    );
    assert_eq!(
        p(ValueKind::String(StringLit {
            value: "\r\u{0}é".into(),
            multiline: false
        })),
        "\"\\u{d}\\u{0}é\""
    );
}
