//! `sbx check --format sarif` through the real binary: the log of every
//! shipped profile, of failing fixtures and of every lint's firing case
//! validates against the official SARIF 2.1.0 schema (vendored under
//! tests/schemas/, draft-04; see its README), and results point at the
//! exact place.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const SCHEMA: &str = include_str!("schemas/sarif-2.1.0.json");

/// The `language` pattern of the rtm.5 schema (twice) has a stray `]`
/// that ECMA-262 reads as a literal and Rust's regex engines refuse, so the
/// schema would not compile. It is replaced, in memory only, by what it
/// means (a language tag like `en` or `en-US`); sbx writes no `language`.
const BAD_PATTERN: &str = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
const FIXED_PATTERN: &str = r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#;

fn validator() -> jsonschema::Validator {
    assert_eq!(
        SCHEMA.matches(BAD_PATTERN).count(),
        2,
        "the vendored schema changed"
    );
    let text = SCHEMA.replace(BAD_PATTERN, FIXED_PATTERN);
    let schema: Value = serde_json::from_str(&text).expect("the vendored schema is JSON");
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .expect("the vendored schema compiles")
}

fn problems(validator: &jsonschema::Validator, log: &Value) -> Vec<String> {
    validator
        .iter_errors(log)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// Runs `sbx check --format sarif ARGS...` and returns the exit code and log.
fn sarif(args: &[&str]) -> (Option<i32>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_sbx"))
        .args(["check", "--format", "sarif"])
        .args(args)
        .output()
        .expect("sbx runs");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let log = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), log)
}

fn sbx_files(dir: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sbx"))
        .map(|p| p.display().to_string())
        .collect();
    out.sort();
    out
}

fn assert_valid(validator: &jsonschema::Validator, log: &Value, what: &str) {
    let problems = problems(validator, log);
    assert!(
        problems.is_empty(),
        "{what}: invalid SARIF:\n{}\n{log:#}",
        problems.join("\n")
    );
    let run = &log["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for r in run["results"].as_array().unwrap() {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index], r["ruleId"].as_str().unwrap(), "{what}");
    }
}

#[test]
fn every_shipped_profile_gives_valid_sarif() {
    let validator = validator();
    let profiles = sbx_files("profiles");
    assert!(profiles.len() >= 7);
    for p in &profiles {
        let (code, log) = sarif(&["--warn", "sbx::lint::all", "--score", p]);
        assert_eq!(code, Some(0), "{p}");
        assert_valid(&validator, &log, p);
        assert!(log["runs"][0]["properties"]["exposure"].is_object(), "{p}");
    }
    let all: Vec<&str> = profiles.iter().map(String::as_str).collect();
    let (_, log) = sarif(&all);
    assert_valid(&validator, &log, "all profiles");
}

#[test]
fn failing_fixtures_give_valid_sarif() {
    let validator = validator();
    let mut files = sbx_files("tests/fixtures/compile/err");
    for dir in std::fs::read_dir("tests/fixtures/lint").unwrap() {
        let fires = dir.unwrap().path().join("fires.sbx");
        if fires.is_file() {
            files.push(fires.display().to_string());
        }
    }
    let mut results = 0;
    for f in &files {
        let (code, log) = sarif(&["--deny", "warnings", "--warn", "sbx::lint::all", f]);
        assert_eq!(code, Some(1), "{f} fails");
        assert_valid(&validator, &log, f);
        let found = log["runs"][0]["results"].as_array().unwrap();
        assert!(!found.is_empty(), "{f}");
        assert!(found.iter().all(|r| r["level"] == "error"));
        results += found.len();
    }
    assert!(results > files.len());
}

#[test]
fn a_result_points_at_the_exact_place() {
    let (code, log) = sarif(&["tests/fixtures/lint/host-network/fires.sbx"]);
    assert_eq!(code, Some(0), "a warning does not fail");
    let results = log["runs"][0]["results"].as_array().unwrap();
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "sbx::lint::host-network")
        .expect("the lint fires");
    assert_eq!(r["level"], "warning");
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "tests/fixtures/lint/host-network/fires.sbx"
    );
    // `network = host`: line 3, `host` at columns 11 to 15 (end exclusive).
    assert_eq!(loc["region"]["startLine"], 3);
    assert_eq!(loc["region"]["startColumn"], 11);
    assert_eq!(loc["region"]["endLine"], 3);
    assert_eq!(loc["region"]["endColumn"], 15);
    let rule =
        &log["runs"][0]["tool"]["driver"]["rules"][r["ruleIndex"].as_u64().unwrap() as usize];
    assert!(rule["help"]["text"].as_str().unwrap().contains("net"));
    assert_eq!(log["runs"][0]["tool"]["driver"]["name"], "sbx");
}

#[test]
fn an_included_file_is_its_own_artifact() {
    let (_, log) = sarif(&[
        "--warn",
        "sbx::lint::redundant-override",
        "tests/fixtures/lint/redundant-override/fires.sbx",
    ]);
    let r = &log["runs"][0]["results"][0];
    assert_eq!(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "tests/fixtures/lint/redundant-override/fires.sbx"
    );
    assert!(Path::new("tests/fixtures/lint/include/base.sbx").is_file());
}

/// The schema is strict enough to catch a wrong log: the test can fail.
#[test]
fn the_schema_rejects_a_broken_log() {
    let validator = validator();
    let (_, mut log) = sarif(&["tests/fixtures/lint/host-network/fires.sbx"]);
    log["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!problems(&validator, &log).is_empty());
    let (_, mut log) = sarif(&["tests/fixtures/lint/host-network/fires.sbx"]);
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    assert!(!problems(&validator, &log).is_empty());
}
