//! Golden snapshots of every emitter on hand-built plans and on every
//! profile in `profiles/`: the emitted files and the warnings, so that a
//! change in what a target gets (or loses) shows up in review.

mod emit_support;

use sbx_compiler::emit::{self, CgroupVersion, EmitOptions, EmitTarget};
use sbx_plan::Plan;

/// The files (each under a header) and then the warnings, as text.
fn render(plan: &Plan, target: EmitTarget, options: &EmitOptions) -> String {
    match emit::emit(plan, target, options) {
        Err(e) => format!("error: {e}\n"),
        Ok(emitted) => {
            let mut out = String::new();
            for file in &emitted.files {
                out.push_str(&format!(
                    "=== {} ===\n{}",
                    file.path.display(),
                    file.contents
                ));
            }
            for dir in &emitted.directories {
                out.push_str(&format!("=== {}/ (empty directory) ===\n", dir.display()));
            }
            out.push_str("=== warnings ===\n");
            for w in &emitted.warnings {
                out.push_str(&format!(
                    "{}: {}\n  help: {}\n",
                    w.code,
                    w.message,
                    w.help.as_deref().unwrap_or("")
                ));
            }
            out
        }
    }
}

#[test]
fn hand_built_plans_on_every_target() {
    for (name, plan) in emit_support::all() {
        for target in EmitTarget::ALL {
            let text = render(&plan, target, &EmitOptions::default());
            insta::assert_snapshot!(format!("{name}.{}", target.name()), text);
        }
    }
}

#[test]
fn hand_built_plans_on_cgroup_v1() {
    let v1 = EmitOptions {
        cgroup: CgroupVersion::V1,
    };
    for (name, plan) in emit_support::all() {
        for target in [EmitTarget::Oci, EmitTarget::Lxc] {
            let text = render(&plan, target, &v1);
            insta::assert_snapshot!(format!("{name}.{}.v1", target.name()), text);
        }
    }
}
