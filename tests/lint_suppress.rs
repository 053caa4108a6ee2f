//! Suppression comments: `# sbx: allow(CODE) reason` on the line or the
//! line above allows the lint there; without a reason it warns; one that
//! allows nothing warns; in an included file it applies to that file.

use std::path::Path;

use sbx_compiler::{compile_file, compile_source, Compilation};

fn codes(c: &Compilation) -> Vec<(&str, usize)> {
    c.diagnostics
        .iter()
        .map(|d| {
            let span = d.primary_span().expect("a place");
            let line = c
                .sources
                .get(span.source)
                .unwrap()
                .line_column(span.start)
                .0;
            (d.code.as_str(), line)
        })
        .collect()
}

#[test]
fn a_used_suppression_with_a_reason_is_silent() {
    let c = compile_source(
        "t.sbx",
        "cmd = [\"/bin/true\"]\n# sbx: allow(sbx::lint::host-network) it serves the host's DNS\nnetwork = host\n",
    );
    assert_eq!(codes(&c), []);
    assert!(c.plan.is_some());
}

#[test]
fn on_the_same_line() {
    let c = compile_source(
        "t.sbx",
        "cmd = [\"/bin/true\"]\nnetwork = host # sbx: allow(sbx::lint::host-network) DNS\n",
    );
    assert_eq!(codes(&c), []);
}

#[test]
fn a_suppression_allows_only_its_line() {
    // The comment is above `name`, not above `network`.
    let c = compile_source(
        "t.sbx",
        "cmd = [\"/bin/true\"]\n# sbx: allow(sbx::lint::host-network) DNS\nname = \"x\"\nnetwork = host\n",
    );
    assert_eq!(
        codes(&c),
        [
            ("sbx::lint::unused-suppression", 2),
            ("sbx::lint::host-network", 4)
        ]
    );
}

#[test]
fn a_trailing_suppression_does_not_reach_the_next_line() {
    let c = compile_source(
        "t.sbx",
        "cmd = [\"/bin/true\"] # sbx: allow(sbx::lint::host-network) DNS\nnetwork = host\n",
    );
    assert_eq!(
        codes(&c),
        [
            ("sbx::lint::unused-suppression", 1),
            ("sbx::lint::host-network", 2)
        ]
    );
}

#[test]
fn without_a_reason_it_applies_and_warns() {
    let c = compile_source(
        "t.sbx",
        "cmd = [\"/bin/true\"]\nnetwork = host # sbx: allow(sbx::lint::host-network)\n",
    );
    assert_eq!(codes(&c), [("sbx::lint::suppression-without-reason", 2)]);
}

#[test]
fn stacked_suppressions_and_several_codes() {
    let c = compile_source(
        "t.sbx",
        "cmd = [\"/bin/true\"]\n\
         # sbx: allow(sbx::lint::dangerous-cap, sbx::lint::droppable-cap) a network tool\n\
         # (it sets up interfaces)\n\
         capabilities { add = [net_admin, net_raw] }\n",
    );
    assert_eq!(codes(&c), []);
}

#[test]
fn unknown_and_malformed_suppressions_warn() {
    let c = compile_file(Path::new(
        "tests/fixtures/lint/unused-suppression/fires.sbx",
    ));
    assert_eq!(
        codes(&c),
        [
            ("sbx::lint::unused-suppression", 3),
            ("sbx::lint::unused-suppression", 5),
            ("sbx::lint::unused-suppression", 6),
        ]
    );
    let text: Vec<String> = c
        .diagnostics
        .iter()
        .map(|d| d.render(&c.sources, false))
        .collect();
    assert!(
        text[1].contains("did you mean `sbx::lint::host-network`"),
        "{}",
        text[1]
    );
}

#[test]
fn a_suppression_in_an_include_applies_there() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("base.sbx"),
        "# sbx: allow(sbx::lint::host-network) every agent reads the host's interfaces\nnetwork = host\n",
    )
    .unwrap();
    let profile = dir.path().join("agent.sbx");
    std::fs::write(&profile, "include \"base.sbx\"\ncmd = [\"/bin/true\"]\n").unwrap();
    let c = compile_file(&profile);
    assert_eq!(codes(&c), []);
    assert!(c.plan.is_some());
}

#[test]
fn errors_cannot_be_suppressed() {
    let c = compile_source(
        "t.sbx",
        "cmd = [\"/bin/true\"]\nlimits { pids.max = 0 } # sbx: allow(sbx::limits::range) no\n",
    );
    assert!(c.has_errors());
    assert!(codes(&c).contains(&("sbx::lint::unused-suppression", 2)));
}
