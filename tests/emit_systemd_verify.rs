//! The emitted units pass `systemd-analyze verify` (systemd 252 here, no
//! systemd as PID 1 needed): exit 0 and not one complaint on stderr, since
//! verify only warns (exit 0) about an unknown or invalid directive.
//! Skips visibly where `systemd-analyze` is missing (apt package `systemd`).

mod emit_support;
mod support;

use std::path::Path;
use std::process::Command;

use sbx_compiler::emit::{self, EmitOptions, EmitTarget};
use sbx_plan::Rootfs;

/// `Ok` when verify accepts the unit file at `path` without a word.
fn verify(path: &Path) -> Result<(), String> {
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run systemd-analyze: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() && stderr.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {stderr}", out.status))
    }
}

fn available(test: &str) -> bool {
    let ok = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok();
    if !ok {
        support::skip_missing(
            test,
            "`systemd-analyze` is not installed (apt-get install systemd)",
        );
    }
    ok
}

#[test]
fn every_emitted_unit_passes_systemd_analyze_verify() {
    if !available("every_emitted_unit_passes_systemd_analyze_verify") {
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    // verify checks that ExecStart= and RootDirectory= exist on this machine.
    let rootfs = support::rootfs::Rootfs::busybox().ok();
    let mut checked = 0;
    for (name, mut plan) in emit_support::all_with_profiles() {
        plan.process.args = vec!["/bin/true".into()];
        if let Rootfs::Directory { path } = &mut plan.rootfs {
            match &rootfs {
                Some(r) => *path = r.path().display().to_string(),
                None => continue,
            }
        }
        let Ok(emitted) = emit::emit(&plan, EmitTarget::Systemd, &EmitOptions::default()) else {
            // Images: an error by design, covered by the snapshots.
            continue;
        };
        for file in &emitted.files {
            let path = dir.path().join(&file.path);
            std::fs::write(&path, &file.contents).expect("write the unit");
            if let Err(e) = verify(&path) {
                panic!("{name}: {e}\n{}", file.contents);
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} units were verified");
}

#[test]
fn verify_as_used_here_rejects_a_bad_directive() {
    if !available("verify_as_used_here_rejects_a_bad_directive") {
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let plan = emit_support::minimal_host();
    let emitted = emit::emit(&plan, EmitTarget::Systemd, &EmitOptions::default()).expect("emits");
    let good = dir.path().join("good.service");
    std::fs::write(&good, &emitted.files[0].contents).expect("write");
    assert_eq!(verify(&good), Ok(()));
    for bad_line in ["PrivatePIDs=yes", "CPUQuota=lots", "MemoryMax=1X"] {
        let bad = dir.path().join("bad.service");
        std::fs::write(&bad, format!("{}{bad_line}\n", emitted.files[0].contents)).expect("write");
        assert!(verify(&bad).is_err(), "`{bad_line}` is reported");
    }
}
