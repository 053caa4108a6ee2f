//! Golden snapshots of every emitter on hand-built plans and on every
//! profile in `profiles/`: the emitted files and the warnings, so that a
//! change in what a target gets (or loses) shows up in review.

mod emit_support;

use sbx_compiler::emit::{self, CgroupVersion, EmitOptions, EmitTarget};
use std::path::Path;

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

/// Every profile in `profiles/`, compiled, on every target: a new profile
/// gets its snapshots (`cargo insta review` to accept them).
#[test]
fn shipped_profiles_on_every_target() {
    let profiles = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let any = std::fs::read_dir(&profiles)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "sbx"))
        })
        .unwrap_or(false);
    if !any {
        eprintln!("skipped shipped_profiles_on_every_target: no profiles/*.sbx yet");
        return;
    }
    insta::glob!("../profiles", "*.sbx", |path| {
        let compilation = sbx_compiler::compile_file(path);
        let plan = compilation.plan.unwrap_or_else(|| {
            panic!(
                "shipped profile `{}` does not compile: {:?}",
                path.display(),
                compilation.diagnostics
            )
        });
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        for target in EmitTarget::ALL {
            // Source locations name the profile by its absolute path: keep
            // the snapshot independent of where the repository is.
            let text = render(&plan, target, &EmitOptions::default())
                .replace(&format!("{}/", env!("CARGO_MANIFEST_DIR")), "");
            insta::assert_snapshot!(format!("profile-{stem}.{}", target.name()), text);
        }
    });
}
