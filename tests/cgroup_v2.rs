//! The cgroup v2 backend for real, on a host whose controllers are on v1:
//! in a private mount namespace, cgroup2 is mounted over /sys/fs/cgroup, so
//! that the layout detected is "unified". Only the controllers the v2
//! hierarchy has here (hugetlb) exist there, so this proves the plumbing:
//! detect, create, attach, read back what exists, refuse a limit whose
//! controller is missing (fail closed, nothing left), kill, remove; then
//! the same through the real `sbx apply`.
//!
//! The outer test re-runs this test binary under
//! `unshare --mount --propagation private`, with the inner test selected;
//! the inner one is `#[ignore]`d so that a plain run never mounts anything
//! in the host's own mount namespace.

mod cgroup_support;
mod support;

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cgroup_support::{apply, plan};
use sbx_executor::cgroup::{
    CgroupError, CgroupLayout, CgroupOptions, CgroupVersion, LayoutKind, SandboxCgroup,
};
use sbx_plan::{CgroupLimits, Limit};

/// Destroys the cgroup even when an assertion fails first, so that a
/// failing test leaves nothing behind; `destroy` is the checked way.
struct Cleanup(Option<SandboxCgroup>);

impl Cleanup {
    fn destroy(mut self) -> Result<(), sbx_executor::cgroup::CgroupError> {
        self.0.take().unwrap().destroy()
    }
}

impl std::ops::Deref for Cleanup {
    type Target = SandboxCgroup;
    fn deref(&self) -> &SandboxCgroup {
        self.0.as_ref().unwrap()
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(cgroup) = self.0.take() {
            let _ = cgroup.destroy();
        }
    }
}

const INNER: &str = "v2_plumbing_inside_the_private_namespace";

#[test]
fn v2_plumbing_in_a_private_mount_namespace() {
    if !support::privileged("v2_plumbing_in_a_private_mount_namespace") {
        return;
    }
    let output = Command::new("unshare")
        .args(["--mount", "--propagation", "private"])
        .arg(std::env::current_exe().unwrap())
        .args([
            INNER,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(OUTER_NAMESPACE, mount_namespace())
        .output()
        .expect("unshare (util-linux) runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "inner test failed:\n{stdout}\n{stderr}"
    );
}

/// Tells the inner test the outer test's mount namespace.
const OUTER_NAMESPACE: &str = "SBX_TEST_OUTER_MOUNT_NAMESPACE";

fn mount_namespace() -> PathBuf {
    std::fs::read_link("/proc/self/ns/mnt").unwrap()
}

#[test]
#[ignore = "run by v2_plumbing_in_a_private_mount_namespace, in a private mount namespace"]
fn v2_plumbing_inside_the_private_namespace() {
    let outer = std::env::var_os(OUTER_NAMESPACE).map(PathBuf::from);
    assert!(
        outer.is_some() && outer != Some(mount_namespace()),
        "this test mounts over /sys/fs/cgroup: run it only through v2_plumbing_in_a_private_mount_namespace"
    );
    nix::mount::mount(
        Some("cgroup2"),
        "/sys/fs/cgroup",
        Some("cgroup2"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .expect("mount cgroup2 over /sys/fs/cgroup");

    let layout = CgroupLayout::detect().unwrap();
    assert_eq!(layout.kind, LayoutKind::Unified, "{layout:?}");
    assert!(layout.v1.is_empty(), "the v1 mounts are hidden: {layout:?}");
    let mount = layout.v2.as_ref().unwrap().mount_point.clone();
    assert_eq!(mount, Path::new("/sys/fs/cgroup"));
    let offered = std::fs::read_to_string(mount.join("cgroup.controllers")).unwrap();
    assert!(
        !offered.split_whitespace().any(|c| c == "memory"),
        "memory is a v1 controller on this host: {offered}"
    );

    let name = format!("sbx-test-v2-{}", std::process::id());
    // A memory limit cannot be applied: refused before any change.
    let memory = CgroupLimits {
        memory_max: Some(Limit::Value(64 << 20)),
        ..CgroupLimits::default()
    };
    let error = SandboxCgroup::preflight(&memory, &CgroupOptions::default()).unwrap_err();
    assert!(
        matches!(
            error,
            CgroupError::ControllerMissing {
                controller: "memory",
                key: "memory_max",
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("cgroup.controllers"), "{error}");
    let error = SandboxCgroup::create(&name, &memory, &CgroupOptions::default()).unwrap_err();
    assert!(
        matches!(error, CgroupError::ControllerMissing { .. }),
        "{error}"
    );
    assert!(!mount.join(&name).exists());

    // Without limits: create, attach, account, kill, remove.
    let cgroup =
        SandboxCgroup::create(&name, &CgroupLimits::default(), &CgroupOptions::default()).unwrap();
    let cgroup = Cleanup(Some(cgroup));
    assert_eq!(cgroup.version(), CgroupVersion::V2);
    let dir = mount.join(&name);
    assert_eq!(cgroup.paths(), std::slice::from_ref(&dir));
    let mut workload = Command::new("/bin/sh")
        .args(["-c", "read _ && exec sleep 60"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = workload.id() as i32;
    cgroup.attach(pid).unwrap();
    workload.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    let membership = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(
        membership.lines().any(|l| l == format!("0::/{name}")),
        "{membership}"
    );
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap();
    assert_eq!(procs.trim(), pid.to_string());
    let stats = cgroup.stats().unwrap();
    assert!(stats.cpu_usage_us.is_some(), "cpu.stat is core in v2");
    assert_eq!(stats.memory_peak_bytes, None, "no memory controller here");
    assert!(!cgroup.oom_killed().unwrap());

    let kill_file = dir.join("cgroup.kill").exists();
    cgroup.destroy().unwrap();
    let status = workload.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "{status:?} (cgroup.kill: {kill_file})"
    );
    assert!(!dir.exists(), "{} is left", dir.display());

    // The real `sbx apply` on this unified layout: its own cgroup, found by
    // the workload in its /proc/self/cgroup, accounted, then removed.
    let output = apply(
        &plan(&["/bin/cat", "/proc/self/cgroup"], CgroupLimits::default()),
        &["--stats"],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let sandbox = stdout
        .lines()
        .find_map(|l| l.strip_prefix("0::/"))
        .unwrap_or_else(|| panic!("no v2 line in {stdout}"));
    assert!(sandbox.starts_with("sbx-"), "{stdout}");
    assert!(!mount.join(sandbox).exists(), "{sandbox} is left");
    let stats = stderr
        .lines()
        .find(|l| l.starts_with("sbx: cgroup: "))
        .unwrap_or_else(|| panic!("no stats in {stderr}"));
    assert!(
        stats.contains("memory peak - bytes"),
        "no memory controller: {stats}"
    );
    assert!(!stats.contains("cpu - us"), "cpu.stat is read: {stats}");
    // And a limit it cannot apply here stops the start, changing nothing.
    let before: Vec<_> = std::fs::read_dir(&mount)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    let output = apply(&plan(&["/bin/true"], memory), &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("`memory_max`") && stderr.contains("cgroup.controllers"),
        "{stderr}"
    );
    let after: Vec<_> = std::fs::read_dir(&mount)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(before, after);
}
