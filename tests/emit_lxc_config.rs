//! liblxc reads the emitted configs without error: `lxc-info -P DIR -n
//! NAME` loads `DIR/NAME/config` with the library's own parser (an unknown
//! key or a bad value makes it fail) without starting anything. Skips
//! visibly where LXC is missing (apt package `lxc`).

mod emit_support;
mod support;

use std::path::Path;
use std::process::Command;

use sbx_compiler::emit::{self, CgroupVersion, EmitOptions, EmitTarget};

/// `Ok` when liblxc loads `config` as the config of a container.
fn load(dir: &Path, config: &str) -> Result<(), String> {
    let name = "sbx-emit-check";
    std::fs::create_dir_all(dir.join(name)).map_err(|e| e.to_string())?;
    std::fs::write(dir.join(name).join("config"), config).map_err(|e| e.to_string())?;
    let out = Command::new("lxc-info")
        .arg("-P")
        .arg(dir)
        .args(["-n", name, "--state"])
        .output()
        .map_err(|e| format!("cannot run lxc-info: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.success() && stdout.contains("STOPPED") {
        Ok(())
    } else {
        Err(format!(
            "{}: {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn available(test: &str) -> bool {
    let ok = Command::new("lxc-info").arg("--version").output().is_ok();
    if !ok {
        support::skip_missing(test, "`lxc-info` is not installed (apt-get install lxc)");
    }
    ok
}

#[test]
fn every_emitted_config_is_read_by_liblxc() {
    if !available("every_emitted_config_is_read_by_liblxc") {
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut checked = 0;
    for cgroup in [CgroupVersion::V2, CgroupVersion::V1] {
        let options = EmitOptions { cgroup };
        for (name, plan) in emit_support::all_with_profiles() {
            let Ok(emitted) = emit::emit(&plan, EmitTarget::Lxc, &options) else {
                continue;
            };
            for file in &emitted.files {
                if let Err(e) = load(dir.path(), &file.contents) {
                    panic!("{name} ({cgroup:?}): {e}\n{}", file.contents);
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 6, "only {checked} configs were loaded");
}

#[test]
fn liblxc_as_used_here_rejects_a_bad_config() {
    if !available("liblxc_as_used_here_rejects_a_bad_config") {
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let plan = emit_support::minimal_host();
    let emitted = emit::emit(&plan, EmitTarget::Lxc, &EmitOptions::default()).expect("emits");
    let good = &emitted.files[0].contents;
    assert_eq!(load(dir.path(), good), Ok(()));
    for bad_line in [
        "lxc.utsname = legacy",
        "lxc.net.0.type = wormhole",
        "lxc.no_new_privs = maybe",
    ] {
        let bad = format!("{good}{bad_line}\n");
        assert!(load(dir.path(), &bad).is_err(), "`{bad_line}` is rejected");
    }
}
