//! The v2 backend against the fake cgroupfs: every file written, read
//! back, refused, missing; controller delegation and the no-internal-process
//! rule; teardown through `cgroup.kill`.

use std::path::Path;
use std::sync::Arc;

use sbx_plan::{CgroupLimits, CpuQuota, Limit};

use crate::cgroup::fake::{FakeCgroupFs, FakeVersion};
use crate::cgroup::{CgroupError, CgroupOptions, CgroupVersion, SandboxCgroup};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_string()
}

fn all_limits() -> CgroupLimits {
    CgroupLimits {
        memory_max: Some(Limit::Value(64 << 20)),
        memory_high: Some(Limit::Value(48 << 20)),
        memory_swap_max: Some(Limit::Value(100_000_000)),
        cpu_weight: Some(200),
        cpu_quota: Some(CpuQuota {
            quota_us: 50_000,
            period_us: 100_000,
        }),
        cpuset_cpus: Some("0-1".into()),
        cpuset_mems: Some("0".into()),
        io_weight: Some(500),
        pids_max: Some(Limit::Value(32)),
    }
}

fn create_with(
    fake: &Arc<FakeCgroupFs>,
    own: &str,
    limits: &CgroupLimits,
    options: &CgroupOptions,
) -> Result<SandboxCgroup, CgroupError> {
    let layout = fake.layout(own);
    SandboxCgroup::create_in(fake.host(), &layout, "sbx-t", limits, options)
}

fn create(
    fake: &Arc<FakeCgroupFs>,
    own: &str,
    limits: &CgroupLimits,
) -> Result<SandboxCgroup, CgroupError> {
    create_with(fake, own, limits, &CgroupOptions::default())
}

#[test]
fn every_v2_file_is_written_and_reads_back() {
    let fake = FakeCgroupFs::new(FakeVersion::V2);
    let cgroup = create(&fake, "", &all_limits()).unwrap();
    assert_eq!(cgroup.version(), CgroupVersion::V2);
    let root = fake.root().join("unified");
    // The root enabled exactly what the limits need.
    assert_eq!(
        read(&root.join("cgroup.subtree_control")),
        "cpu cpuset io memory pids"
    );
    let at = |f: &str| read(&root.join("sbx-t").join(f));
    assert_eq!(at("memory.max"), (64u64 << 20).to_string());
    assert_eq!(at("memory.high"), (48u64 << 20).to_string());
    assert_eq!(
        at("memory.swap.max"),
        "99999744",
        "swap alone, page-rounded"
    );
    assert_eq!(at("cpu.weight"), "200", "the plan's weight as is");
    assert_eq!(at("cpu.max"), "50000 100000");
    assert_eq!(at("cpuset.cpus"), "0,1");
    assert_eq!(at("cpuset.mems"), "0");
    assert_eq!(at("io.weight"), "default 500");
    assert_eq!(at("io.bfq.weight"), "default 136");
    assert_eq!(at("pids.max"), "32");
    assert_eq!(cgroup.paths(), [root.join("sbx-t")]);
    assert_eq!(cgroup.warnings().len(), 1);
    cgroup.destroy().unwrap();
}

#[test]
fn memory_max_without_a_swap_limit_means_no_swap() {
    let fake = FakeCgroupFs::new(FakeVersion::V2);
    let limits = CgroupLimits {
        memory_max: Some(Limit::Value(100_000_000)),
        ..CgroupLimits::default()
    };
    let cgroup = create(&fake, "", &limits).unwrap();
    let dir = fake.root().join("unified/sbx-t");
    assert_eq!(read(&dir.join("memory.max")), "99999744");
    assert_eq!(read(&dir.join("memory.swap.max")), "0");
    cgroup.destroy().unwrap();

    let limits = CgroupLimits {
        memory_max: Some(Limit::MAX),
        memory_swap_max: Some(Limit::MAX),
        ..CgroupLimits::default()
    };
    let cgroup = create(&fake, "", &limits).unwrap();
    assert_eq!(read(&dir.join("memory.max")), "max");
    assert_eq!(read(&dir.join("memory.swap.max")), "max");
    cgroup.destroy().unwrap();
}

#[test]
fn without_swap_accounting() {
    let fake = FakeCgroupFs::new(FakeVersion::V2);
    fake.without_file("memory.swap.max");
    let error = create(&fake, "", &all_limits()).unwrap_err();
    assert!(
        matches!(
            error,
            CgroupError::NotExpressible {
                key: "memory_swap_max",
                ..
            }
        ),
        "{error}"
    );
    assert!(fake.all_dirs().iter().all(|d| !d.ends_with("sbx-t")));

    // Not asked for: fine on a host without swap, a warning on one with.
    let limits = CgroupLimits {
        memory_max: Some(Limit::Value(64 << 20)),
        ..CgroupLimits::default()
    };
    let cgroup = create(&fake, "", &limits).unwrap();
    assert!(cgroup.warnings().is_empty());
    cgroup.destroy().unwrap();
    fake.set(
        &fake.root().join("swaps"),
        "Filename Type Size Used Priority\n/dev/zram0 partition 1000 0 100\n",
    );
    let cgroup = create(&fake, "", &limits).unwrap();
    assert_eq!(cgroup.warnings().len(), 1);
    assert!(cgroup.warnings()[0].to_string().contains("may swap"));
    cgroup.destroy().unwrap();
}

#[test]
fn every_v2_file_detects_a_silent_failure() {
    for file in [
        "memory.max",
        "memory.high",
        "memory.swap.max",
        "cpu.weight",
        "cpu.max",
        "cpuset.cpus",
        "cpuset.mems",
        "io.weight",
        "io.bfq.weight",
        "pids.max",
    ] {
        let fake = FakeCgroupFs::new(FakeVersion::V2);
        fake.keeps(file, "7");
        let error = create(&fake, "", &all_limits()).unwrap_err();
        assert!(
            matches!(&error, CgroupError::Mismatch { file: f, read, .. } if f.ends_with(file) && read == "7"),
            "{file}: {error}"
        );
        assert!(
            fake.all_dirs().iter().all(|d| !d.ends_with("sbx-t")),
            "{file}"
        );
    }
}

#[test]
fn subtree_control_that_does_not_take_is_an_error() {
    let fake = FakeCgroupFs::new(FakeVersion::V2);
    fake.keeps("cgroup.subtree_control", "cpu");
    let error = create(&fake, "", &all_limits()).unwrap_err();
    assert!(
        matches!(&error, CgroupError::Mismatch { file, .. } if file.ends_with("cgroup.subtree_control")),
        "{error}"
    );
    assert!(!fake.root().join("unified/sbx-t").exists());
}

#[test]
fn a_controller_the_parent_does_not_offer_is_refused_before_any_change() {
    let fake = FakeCgroupFs::new(FakeVersion::V2);
    fake.set(&fake.root().join("unified/cgroup.controllers"), "cpu pids");
    let error = create(&fake, "", &all_limits()).unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(
            error,
            CgroupError::ControllerMissing {
                controller: "memory",
                key: "memory_max",
                ..
            }
        ),
        "{text}"
    );
    assert!(text.contains("cgroup.controllers: `cpu`, `pids`"), "{text}");
    assert!(fake.calls().is_empty());
}

#[test]
fn io_weight_needs_io_cost_or_bfq() {
    let fake = FakeCgroupFs::new(FakeVersion::V2);
    fake.without_file("io.weight");
    fake.without_file("io.bfq.weight");
    let limits = CgroupLimits {
        io_weight: Some(100),
        ..CgroupLimits::default()
    };
    let error = create(&fake, "", &limits).unwrap_err();
    assert!(
        matches!(
            error,
            CgroupError::NotExpressible {
                key: "io_weight",
                ..
            }
        ),
        "{error}"
    );
    assert!(!fake.root().join("unified/sbx-t").exists());
}

#[test]
fn a_caller_cgroup_with_processes_puts_the_sandbox_beside_it() {
    let fake = FakeCgroupFs::new(FakeVersion::V2);
    let session = fake.root().join("unified/user.slice/session-1.scope");
    let layout = fake.layout("user.slice/session-1.scope");
    fake.add_process(&session, 999);
    let limits = CgroupLimits {
        memory_max: Some(Limit::Value(64 << 20)),
        ..CgroupLimits::default()
    };
    let cgroup = SandboxCgroup::create_in(
        fake.host(),
        &layout,
        "sbx-t",
        &limits,
        &CgroupOptions::default(),
    )
    .unwrap();
    assert_eq!(
        cgroup.paths(),
        [fake.root().join("unified/user.slice/sbx-t")]
    );
    // Nothing was written to the caller's cgroup.
    assert!(fake.calls().iter().all(|c| !c.contains("session-1.scope")));
    cgroup.destroy().unwrap();

    // Without limits it nests under the caller's own cgroup.
    let cgroup = SandboxCgroup::create_in(
        fake.host(),
        &layout,
        "sbx-t",
        &CgroupLimits::default(),
        &CgroupOptions::default(),
    )
    .unwrap();
    assert_eq!(cgroup.paths(), [session.join("sbx-t")]);
    cgroup.destroy().unwrap();

    // A parent given by the user that holds processes: fail closed.
    let options = CgroupOptions {
        parent: Some("user.slice/session-1.scope".into()),
    };
    let error =
        SandboxCgroup::create_in(fake.host(), &layout, "sbx-t", &limits, &options).unwrap_err();
    assert!(
        matches!(error, CgroupError::InternalProcesses { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("`memory`"), "{error}");
}

#[test]
fn the_root_may_hold_processes_and_still_enable_controllers() {
    let fake = FakeCgroupFs::new(FakeVersion::V2);
    fake.add_process(&fake.root().join("unified"), 1);
    let cgroup = create(&fake, "", &all_limits()).unwrap();
    assert_eq!(cgroup.paths(), [fake.root().join("unified/sbx-t")]);
    cgroup.destroy().unwrap();
}

#[test]
fn teardown_uses_cgroup_kill_then_removes() {
    let fake = FakeCgroupFs::new(FakeVersion::V2);
    let cgroup = create(&fake, "", &all_limits()).unwrap();
    cgroup.attach(300).unwrap();
    fake.add_process(&fake.root().join("unified/sbx-t"), 301);
    let before = fake.calls().len();
    cgroup.destroy().unwrap();
    assert_eq!(
        fake.calls()[before..],
        ["write unified/sbx-t/cgroup.kill=1", "rmdir unified/sbx-t"]
    );
}

#[test]
fn without_cgroup_kill_every_pid_gets_sigkill() {
    let fake = FakeCgroupFs::new(FakeVersion::V2);
    fake.without_file("cgroup.kill");
    let cgroup = create(&fake, "", &CgroupLimits::default()).unwrap();
    cgroup.attach(300).unwrap();
    let before = fake.calls().len();
    cgroup.destroy().unwrap();
    assert_eq!(fake.calls()[before..], ["kill 300", "rmdir unified/sbx-t"]);
}

#[test]
fn a_cgroup_that_will_not_empty_is_reported_and_still_removal_is_tried() {
    let fake = FakeCgroupFs::new(FakeVersion::V2);
    let cgroup = create(&fake, "", &CgroupLimits::default()).unwrap();
    cgroup.attach(300).unwrap();
    // A kernel where the kill does not take: cgroup.procs keeps the pid.
    fake.keeps("cgroup.kill", "");
    fake.busy("sbx-t");
    let error = cgroup.destroy().unwrap_err();
    let text = error.to_string();
    match &error {
        CgroupError::PartlyRemoved { failures } => {
            assert_eq!(failures.len(), 2, "{failures:?}");
            assert!(
                failures[0].contains("still holds processes [300]"),
                "{text}"
            );
            assert!(failures[1].contains("cannot remove"), "{text}");
        }
        other => panic!("expected PartlyRemoved, got {other}"),
    }
}

#[test]
fn stats_and_oom_are_read_from_v2_files() {
    let fake = FakeCgroupFs::new(FakeVersion::V2);
    let cgroup = create(&fake, "", &all_limits()).unwrap();
    let dir = fake.root().join("unified/sbx-t");
    fake.set(&dir.join("memory.peak"), "1234\n");
    fake.set(
        &dir.join("cpu.stat"),
        "usage_usec 5000\nuser_usec 4000\nsystem_usec 1000\n",
    );
    fake.set(&dir.join("pids.peak"), "3\n");
    fake.set(
        &dir.join("memory.events"),
        "low 0\nhigh 0\nmax 9\noom 1\noom_kill 2\n",
    );
    let stats = cgroup.stats().unwrap();
    assert_eq!(stats.memory_peak_bytes, Some(1234));
    assert_eq!(stats.cpu_usage_us, Some(5000));
    assert_eq!(stats.tasks, Some(3));
    assert_eq!(stats.oom_kills, Some(2));
    assert!(cgroup.oom_killed().unwrap());
    cgroup.destroy().unwrap();

    // Without memory and pids controllers only the cpu time is known.
    let fake = FakeCgroupFs::new(FakeVersion::V2);
    let cgroup = create(&fake, "", &CgroupLimits::default()).unwrap();
    let stats = cgroup.stats().unwrap();
    assert_eq!(stats.cpu_usage_us, Some(0));
    assert_eq!(
        (stats.memory_peak_bytes, stats.tasks, stats.oom_kills),
        (None, None, None)
    );
    assert!(!cgroup.oom_killed().unwrap());
    cgroup.destroy().unwrap();
}
