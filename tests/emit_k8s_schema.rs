//! The emitted Pod manifests (hand-built plans and every shipped profile) validate against the Kubernetes v1.37 Pod
//! schema (strict: unknown fields are errors), vendored under
//! tests/schemas/ (see its README for where it comes from).

mod emit_support;

use sbx_compiler::emit::{self, EmitOptions, EmitTarget};
use serde_json::Value;

const SCHEMA: &str = include_str!("schemas/k8s-pod-v1.37-strict.json");

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SCHEMA).expect("the vendored schema is JSON");
    jsonschema::validator_for(&schema).expect("the vendored schema compiles")
}

/// The schema's complaints about a manifest, one per line.
fn problems(validator: &jsonschema::Validator, yaml: &str) -> Vec<String> {
    let manifest: Value = serde_saphyr::from_str(yaml).expect("the manifest is YAML");
    validator
        .iter_errors(&manifest)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn every_emitted_pod_validates_against_the_pod_schema() {
    let validator = validator();
    let mut checked = 0;
    for (name, plan) in emit_support::all_with_profiles() {
        let emitted = emit::emit(&plan, EmitTarget::K8s, &EmitOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for file in &emitted.files {
            let problems = problems(&validator, &file.contents);
            assert!(
                problems.is_empty(),
                "{name}: the Pod does not validate:\n{}\n{}",
                problems.join("\n"),
                file.contents
            );
            checked += 1;
        }
    }
    assert_eq!(checked, emit_support::all_with_profiles().len());
}

#[test]
fn the_schema_rejects_what_a_cluster_would_reject() {
    let validator = validator();
    let valid = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: a\n    image: busybox\n";
    assert!(
        problems(&validator, valid).is_empty(),
        "a minimal Pod is valid"
    );
    for (bad, why) in [
        (
            valid.replace(
                "image: busybox",
                "image: busybox\n    securityContext: {allowPrivilegeEscalaton: false}",
            ),
            "a misspelt field",
        ),
        (
            valid.replace(
                "name: a\n    image",
                "name: a\n    workingDir: 3\n    image",
            ),
            "a number for a string",
        ),
        (
            valid.replace("kind: Pod", "kind: Pod\nspec2: {}"),
            "an unknown top-level field",
        ),
    ] {
        assert!(
            !problems(&validator, &bad).is_empty(),
            "{why} is rejected:\n{bad}"
        );
    }
}
