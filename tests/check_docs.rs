//! The reference docs cover what the compiler knows: every diagnostic code
//! it can emit is in docs/diagnostics.md, every key of the vocabulary in
//! docs/language.md.

use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Every `"sbx::..."` literal in the compiler's own stages (not the
/// importers, emitters or lints, which document their codes elsewhere).
fn compiler_codes(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "import" | "emit" | "lint") {
                compiler_codes(&path, out);
            }
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, _) in text.match_indices("\"sbx::") {
            let rest = &text[i + 1..];
            let end = rest.find('"').unwrap();
            let code = &rest[..end];
            if !code.contains('{') {
                out.push(code.to_string());
            }
        }
    }
}

#[test]
fn every_compiler_code_is_documented() {
    let docs = read("docs/diagnostics.md");
    let mut codes = Vec::new();
    compiler_codes(Path::new("compiler/src"), &mut codes);
    codes.extend([
        "sbx::uts::hostname".to_string(),
        "sbx::uts::domainname".to_string(),
    ]);
    codes.extend(sbx_grammar::ERROR_CODES.iter().map(|c| c.to_string()));
    codes.extend([
        "sbx::lint::dangerous-cap".into(),
        "sbx::lint::host-network".into(),
    ]);
    codes.sort();
    codes.dedup();
    assert!(codes.len() > 80, "{codes:?}");
    let missing: Vec<&String> = codes
        .iter()
        .filter(|c| !docs.contains(&format!("`{c}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in docs/diagnostics.md: {missing:?}"
    );
}

#[test]
fn every_key_is_documented() {
    use sbx_compiler::vocabulary;
    let docs = read("docs/language.md");
    let mut missing = Vec::new();
    for spec in vocabulary::TOP {
        if !docs.contains(&format!("`{}`", spec.key)) {
            missing.push(spec.key.to_string());
        }
    }
    for block in vocabulary::blocks() {
        for spec in vocabulary::block_keys(block).unwrap() {
            if !docs.contains(&format!("`{}`", spec.key)) && !docs.contains(spec.key) {
                missing.push(format!("{block}.{}", spec.key));
            }
        }
    }
    assert!(missing.is_empty(), "not in docs/language.md: {missing:?}");
}

#[test]
fn the_fragment_rule_is_written_down() {
    let docs = read("docs/language.md");
    assert!(docs.contains(
        "`sbx check` accepts it, the plan has empty `process.args`,\nand `sbx apply` refuses it unless a command is given after `--`"
    ));
}
