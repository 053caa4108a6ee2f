//! Every shipped profile (`profiles/**/*.sbx`) checks clean: no error and
//! no warning (none of them is meant to warn).

use std::path::{Path, PathBuf};

fn profiles(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            profiles(&path, out);
        } else if path.extension().is_some_and(|e| e == "sbx") {
            out.push(path);
        }
    }
}

#[test]
fn shipped_profiles_check_clean() {
    let mut found = Vec::new();
    profiles(Path::new("profiles"), &mut found);
    found.sort();
    assert!(
        found.len() >= 8,
        "the library has at least eight profiles: {found:?}"
    );
    for path in &found {
        let c = sbx_compiler::compile_file(path);
        let rendered: Vec<String> = c
            .diagnostics
            .iter()
            .map(|d| d.render(&c.sources, false))
            .collect();
        assert!(
            c.diagnostics.is_empty(),
            "{} is not clean:\n{}",
            path.display(),
            rendered.join("\n")
        );
        assert!(c.plan.is_some());
    }
}

#[test]
fn hello_is_the_readme_profile() {
    let c = sbx_compiler::compile_file(Path::new("profiles/hello.sbx"));
    let plan = c.plan.expect("hello compiles");
    assert_eq!(plan.rootfs, sbx_plan::Rootfs::Host, "runs on any Linux");
    assert_eq!(plan.hostname.as_deref(), Some("hello"));
    assert_eq!(plan.process.args[0], "/bin/sh");
    assert!(plan.limits.memory_max.is_some() && plan.limits.pids_max.is_some());
    assert!(plan.capabilities.bounding.len() <= 4, "a small set");
}

#[test]
fn profiles_that_include_the_hardened_base_inherit_it() {
    for name in [
        "web-static",
        "build-sandbox",
        "untrusted",
        "service-bridged",
    ] {
        let path = PathBuf::from(format!("profiles/{name}.sbx"));
        let plan = sbx_compiler::compile_file(&path).plan.expect(name);
        assert!(plan.security.rootfs_readonly, "{name}");
        assert!(
            plan.process
                .rlimits
                .iter()
                .any(|r| r.resource == "core" && r.hard == sbx_plan::Limit::Value(0)),
            "{name}: no core dumps from the base"
        );
        assert!(
            plan.mounts.iter().any(|m| m.destination == "/tmp"),
            "{name}"
        );
    }
    let bridged = sbx_compiler::compile_file(Path::new("profiles/service-bridged.sbx"))
        .plan
        .unwrap();
    assert_eq!(bridged.capabilities.bounding, ["CAP_NET_BIND_SERVICE"]);
    assert_eq!(bridged.capabilities.ambient, ["CAP_NET_BIND_SERVICE"]);
}
