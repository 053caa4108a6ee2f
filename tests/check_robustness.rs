//! Random and mutated profiles never make the compiler panic: every input
//! gives a plan or diagnostics. Bounded (256 cases each) so CI stays fast.

use proptest::prelude::*;

const SEED: &str = include_str!("../profiles/mysql.sbx");

/// Every value form and key, for mutations that stay close to real text.
const FRAGMENTS: &[&str] = &[
    "=",
    "{",
    "}",
    "[",
    "]",
    ",",
    ";",
    "\n",
    "\"",
    "\"\"\"",
    "#",
    "0o777",
    "0x1f",
    "1.5G",
    "50%",
    "100ms",
    "max",
    "all",
    "true",
    "10.0.3.2/24",
    "fe80::1/64",
    "00:16:3e:c6:0e:04",
    "8080/tcp",
    "net \"eth0\" {",
    "mount \"/x\" {",
    "limits {",
    "include \"x.sbx\"",
    "cmd = []",
    "user = 0",
    "type = vlan",
    "capabilities { add = [sys_admin] }",
    "network = host",
    "namespaces = [user]",
    "idmap { uid = [[0, 1, 2]] }",
    "\u{0}",
    "\u{feff}",
    "é",
    "\\u{110000}",
    "99999999999999999999",
];

fn compile(text: &str) {
    let c = sbx_compiler::compile_source("fuzz.sbx", text);
    assert_eq!(c.plan.is_some(), !c.has_errors());
    for d in &c.diagnostics {
        assert!(d.code.starts_with("sbx::"), "{}", d.code);
        // Rendering and JSON must not panic either.
        let _ = d.render(&c.sources, false);
        let _ = d.to_json(&c.sources);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        compile(&text);
    }

    #[test]
    fn mutated_seed_never_panics(
        edits in prop::collection::vec((0usize..2000, 0usize..40, 0usize..FRAGMENTS.len()), 1..6)
    ) {
        let mut text = SEED.to_string();
        for (at, cut, fragment) in edits {
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) { at -= 1; }
            let mut end = (at + cut).min(text.len());
            while !text.is_char_boundary(end) { end += 1; }
            text.replace_range(at..end, FRAGMENTS[fragment]);
        }
        compile(&text);
    }
}
