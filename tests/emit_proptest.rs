//! Property tests: whatever strings a profile holds (quotes, `%`, `$`,
//! backslashes, newlines, non-ASCII), every emitter succeeds, each output
//! keeps its own syntax (one directive per line), and the structured
//! outputs give the strings back exactly.

mod emit_support;

use proptest::prelude::*;
use sbx_compiler::emit::{self, EmitOptions, EmitTarget};
use sbx_plan::{EnvVar, Plan};

const SCHEMA: &str = include_str!("schemas/k8s-pod-v1.37-strict.json");

fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 _./:=-]{0,12}",
        "[\"'%$\\\\ \\t\\n;#`{}é→]{1,8}",
        any::<String>().prop_map(|s| s.chars().filter(|c| *c != '\0').take(16).collect()),
    ]
}

fn plan_with(args: Vec<String>, env: Vec<(String, String)>) -> Plan {
    let mut plan = emit_support::full_directory();
    plan.process.args = args;
    plan.process.env = env
        .into_iter()
        .enumerate()
        .map(|(i, (name, value))| EnvVar {
            name: format!(
                "V{i}_{}",
                name.chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
            ),
            value,
        })
        .collect();
    plan
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn strings_survive_every_target(
        args in prop::collection::vec(nasty(), 1..4),
        env in prop::collection::vec((nasty(), nasty()), 0..4),
    ) {
        let plan = plan_with(args.clone(), env.clone());
        let options = EmitOptions::default();

        // OCI: JSON gives the args and env back exactly.
        let oci = emit::emit(&plan, EmitTarget::Oci, &options).expect("oci emits");
        let config: serde_json::Value = serde_json::from_str(&oci.files[0].contents).expect("JSON");
        prop_assert_eq!(&config["process"]["args"], &serde_json::json!(args));
        let env_back: Vec<String> = plan.process.env.iter().map(|v| format!("{}={}", v.name, v.value)).collect();
        let env_json: Vec<String> = config["process"]["env"].as_array().expect("env").iter()
            .map(|v| v.as_str().expect("string").to_string()).collect();
        prop_assert_eq!(env_json, env_back);

        // Kubernetes: YAML gives them back exactly, and the Pod validates.
        let k8s = emit::emit(&plan, EmitTarget::K8s, &options).expect("k8s emits");
        let pod: serde_json::Value = serde_saphyr::from_str(&k8s.files[0].contents).expect("YAML");
        prop_assert_eq!(&pod["spec"]["containers"][0]["command"], &serde_json::json!(args));
        for (i, var) in plan.process.env.iter().enumerate() {
            prop_assert_eq!(&pod["spec"]["containers"][0]["env"][i]["value"], &serde_json::json!(var.value));
        }
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).expect("schema");
        let validator = jsonschema::validator_for(&schema).expect("compiles");
        prop_assert!(validator.is_valid(&pod), "{}", k8s.files[0].contents);

        // systemd: every line is a section, a comment or a KEY=value
        // directive (a raw newline in a value would start a bogus line).
        let unit = emit::emit(&plan, EmitTarget::Systemd, &options).expect("systemd emits");
        for line in unit.files[0].contents.lines() {
            prop_assert!(
                line.is_empty() || line.starts_with('[') || line.split_once('=').is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric())),
                "bad unit line {:?}", line
            );
        }

        // LXC: every line is a comment or `lxc.KEY = value`.
        let lxc = emit::emit(&plan, EmitTarget::Lxc, &options).expect("lxc emits");
        for line in lxc.files[0].contents.lines() {
            prop_assert!(
                line.is_empty() || line.starts_with('#') || (line.starts_with("lxc.") && line.contains(" = ")),
                "bad config line {:?}", line
            );
        }
    }
}
