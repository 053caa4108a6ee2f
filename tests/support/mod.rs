//! Shared by the end-to-end tests.
#![allow(dead_code)]

pub mod rootfs;

/// True when the test may do privileged work (it runs as root). Otherwise
/// prints why the test is skipped, or fails when `SBX_REQUIRE_PRIVILEGED=1`
/// (CI), so that a skipped privileged test never passes unnoticed.
pub fn privileged(test: &str) -> bool {
    if is_root() {
        return true;
    }
    let reason = format!("skipped {test}: needs root (run the tests as root)");
    if std::env::var("SBX_REQUIRE_PRIVILEGED").as_deref() == Ok("1") {
        panic!("{reason}, and SBX_REQUIRE_PRIVILEGED=1 forbids skipping");
    }
    eprintln!("{reason}");
    false
}

/// Skips (or, with `SBX_REQUIRE_PRIVILEGED=1`, fails) for a missing feature
/// of this machine that is not about privilege: a tool or a kernel feature.
/// Use only where the issue allows a skip on this machine.
pub fn skip_missing(test: &str, what: &str) {
    eprintln!("skipped {test}: {what}");
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the effective uid of the process reading it.
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}
