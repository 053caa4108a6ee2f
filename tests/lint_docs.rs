//! docs/lints.md and docs/score.md say what the code does: every lint has
//! its row (with its default level), every score item its weight.

use sbx_compiler::lint::{Level, LINTS};
use sbx_compiler::score::WEIGHTS;

#[test]
fn every_lint_is_in_the_table_with_its_level() {
    let doc = std::fs::read_to_string("docs/lints.md").unwrap();
    for lint in LINTS {
        let level = match lint.default {
            Level::Allow => "allow",
            Level::Warn => "warn",
            Level::Deny => "deny",
        };
        let row = format!("| `{}` | {level} |", lint.code);
        assert!(doc.contains(&row), "docs/lints.md has no row `{row}`");
    }
}

#[test]
fn every_weight_is_documented() {
    let doc = std::fs::read_to_string("docs/score.md").unwrap();
    let total: u32 = WEIGHTS.iter().map(|(_, w)| w).sum();
    assert!(
        doc.contains(&format!("Σ weight = {total}")),
        "total {total}"
    );
    for (id, weight) in WEIGHTS {
        let row = format!("| `{id}` | {weight} |");
        assert!(doc.contains(&row), "docs/score.md has no row `{row}`");
    }
}
