//! The v1 backend against the fake cgroupfs: every file written, read
//! back, refused, missing; the cpuset copy order; teardown.

use std::path::Path;

use sbx_plan::{CgroupLimits, CpuQuota, Limit};

use crate::cgroup::fake::{FakeCgroupFs, FakeVersion};
use crate::cgroup::{CgroupError, CgroupOptions, CgroupVersion, SandboxCgroup};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_string()
}

fn all_limits() -> CgroupLimits {
    CgroupLimits {
        memory_max: Some(Limit::Value(64 << 20)),
        memory_swap_max: Some(Limit::Value(16 << 20)),
        cpu_weight: Some(200),
        cpu_quota: Some(CpuQuota {
            quota_us: 50_000,
            period_us: 100_000,
        }),
        cpuset_cpus: Some("0,1".into()),
        cpuset_mems: Some("0".into()),
        io_weight: Some(500),
        pids_max: Some(Limit::Value(32)),
        ..CgroupLimits::default()
    }
}

fn create(
    fake: &std::sync::Arc<FakeCgroupFs>,
    own: &str,
    limits: &CgroupLimits,
) -> Result<SandboxCgroup, CgroupError> {
    let layout = fake.layout(own);
    SandboxCgroup::create_in(
        fake.host(),
        &layout,
        "sbx-t",
        limits,
        &CgroupOptions::default(),
    )
}

#[test]
fn every_v1_file_is_written_and_reads_back() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    let cgroup = create(&fake, "", &all_limits()).unwrap();
    assert_eq!(cgroup.version(), CgroupVersion::V1);
    let root = fake.root();
    let at = |h: &str, f: &str| read(&root.join(h).join("sbx-t").join(f));
    assert_eq!(
        at("memory", "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    assert_eq!(
        at("memory", "memory.memsw.limit_in_bytes"),
        (80u64 << 20).to_string(),
        "memsw is memory plus swap"
    );
    assert_eq!(at("cpu", "cpu.shares"), "2048", "weight 200 -> shares 2048");
    assert_eq!(at("cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(at("cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(at("cpuset", "cpuset.cpus"), "0,1");
    assert_eq!(at("cpuset", "cpuset.mems"), "0");
    assert_eq!(at("blkio", "blkio.bfq.weight"), "136", "io 500 -> bfq 136");
    assert_eq!(at("pids", "pids.max"), "32");
    // Every hierarchy, cpuset first, accounting ones included.
    let paths: Vec<String> = cgroup
        .paths()
        .iter()
        .map(|p| p.strip_prefix(root).unwrap().display().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "cpuset/sbx-t",
            "memory/sbx-t",
            "cpu/sbx-t",
            "cpuacct/sbx-t",
            "blkio/sbx-t",
            "pids/sbx-t"
        ]
    );
    // The mq-deadline disk draws the bfq warning; the unused loop does not.
    let warnings: Vec<String> = cgroup.warnings().iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("`vda` uses `mq-deadline`"),
        "{}",
        warnings[0]
    );
    assert!(!warnings[0].contains("loop0"));
    cgroup.destroy().unwrap();
}

#[test]
fn memory_rounds_to_pages_and_max_is_minus_one() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    let limits = CgroupLimits {
        memory_max: Some(Limit::Value(100_000_000)),
        ..CgroupLimits::default()
    };
    let cgroup = create(&fake, "", &limits).unwrap();
    let dir = fake.root().join("memory/sbx-t");
    assert_eq!(read(&dir.join("memory.limit_in_bytes")), "99999744");
    // No swap limit asked: memsw = max, so the host cannot swap instead.
    assert_eq!(read(&dir.join("memory.memsw.limit_in_bytes")), "99999744");
    cgroup.destroy().unwrap();

    let limits = CgroupLimits {
        memory_max: Some(Limit::Value(64 << 20)),
        memory_swap_max: Some(Limit::MAX),
        ..CgroupLimits::default()
    };
    let cgroup = create(&fake, "", &limits).unwrap();
    assert!(fake
        .calls()
        .contains(&"write memory/sbx-t/memory.memsw.limit_in_bytes=-1".to_string()));
    cgroup.destroy().unwrap();
}

#[test]
fn limit_is_written_before_memsw() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    create(&fake, "", &all_limits()).unwrap().destroy().unwrap();
    let limit = fake
        .position("write memory/sbx-t/memory.limit_in_bytes")
        .unwrap();
    let memsw = fake.position("write memory/sbx-t/memory.memsw").unwrap();
    assert!(limit < memsw);
    let period = fake.position("write cpu/sbx-t/cpu.cfs_period_us").unwrap();
    let quota = fake.position("write cpu/sbx-t/cpu.cfs_quota_us").unwrap();
    assert!(period < quota, "the period goes first");
}

#[test]
fn without_swap_accounting_no_swap_is_swappiness_zero_and_a_swap_limit_fails() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    fake.without_file("memory.memsw.limit_in_bytes");
    let limits = CgroupLimits {
        memory_max: Some(Limit::Value(64 << 20)),
        ..CgroupLimits::default()
    };
    let cgroup = create(&fake, "", &limits).unwrap();
    assert_eq!(
        read(&fake.root().join("memory/sbx-t/memory.swappiness")),
        "0"
    );
    cgroup.destroy().unwrap();

    let before = fake.calls().len();
    let error = create(&fake, "", &all_limits()).unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(
            error,
            CgroupError::NotExpressible {
                key: "memory_swap_max",
                ..
            }
        ),
        "{text}"
    );
    assert!(text.contains("swapaccount=1"), "{text}");
    assert_eq!(
        fake.calls().len(),
        before,
        "refused at preflight, before any change"
    );
}

#[test]
fn v1_refuses_what_it_cannot_express() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    let high = CgroupLimits {
        memory_high: Some(Limit::Value(1 << 20)),
        ..CgroupLimits::default()
    };
    let error = create(&fake, "", &high).unwrap_err();
    assert!(
        matches!(
            error,
            CgroupError::NotExpressible {
                key: "memory_high",
                ..
            }
        ),
        "{error}"
    );
    let swap_alone = CgroupLimits {
        memory_swap_max: Some(Limit::Value(1 << 20)),
        ..CgroupLimits::default()
    };
    let error = create(&fake, "", &swap_alone).unwrap_err();
    assert!(
        error.to_string().contains("set `memory_max` too"),
        "{error}"
    );
    assert!(
        fake.calls().is_empty(),
        "refused before any change: {:?}",
        fake.calls()
    );
}

#[test]
fn a_value_that_does_not_read_back_is_an_error_naming_file_and_values() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    fake.keeps("cpu.shares", "1024");
    let error = create(&fake, "", &all_limits()).unwrap_err();
    match &error {
        CgroupError::Mismatch {
            file,
            written,
            read,
        } => {
            assert!(file.ends_with("cpu/sbx-t/cpu.shares"), "{file}");
            assert_eq!((written.as_str(), read.as_str()), ("2048", "1024"));
        }
        other => panic!("expected a mismatch, got {other}"),
    }
    assert!(error
        .to_string()
        .contains("reads back `1024` after sbx wrote `2048`"));
    // Rolled back: nothing of the sandbox is left.
    assert!(fake.all_dirs().iter().all(|d| !d.ends_with("sbx-t")));
}

#[test]
fn every_v1_file_detects_a_silent_failure() {
    for file in [
        "memory.limit_in_bytes",
        "memory.memsw.limit_in_bytes",
        "cpu.shares",
        "cpu.cfs_period_us",
        "cpu.cfs_quota_us",
        "cpuset.cpus",
        "cpuset.mems",
        "blkio.bfq.weight",
        "pids.max",
    ] {
        let fake = FakeCgroupFs::new(FakeVersion::V1);
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
fn a_value_the_kernel_refuses_fails_after_rollback() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    fake.refuses("cpu.cfs_quota_us", libc::EINVAL);
    let error = create(&fake, "", &all_limits()).unwrap_err();
    assert!(
        matches!(&error, CgroupError::Write { file, value, .. } if file.ends_with("cpu.cfs_quota_us") && value == "50000"),
        "{error}"
    );
    let calls = fake.calls();
    let removed: Vec<&String> = calls.iter().filter(|c| c.starts_with("rmdir")).collect();
    // cpuset, memory and cpu were made before the failure: removed newest first.
    assert_eq!(
        removed,
        [
            "rmdir cpu/sbx-t",
            "rmdir memory/sbx-t",
            "rmdir cpuset/sbx-t"
        ]
    );
    assert!(fake.all_dirs().iter().all(|d| !d.ends_with("sbx-t")));
}

#[test]
fn a_missing_controller_is_refused_before_any_change() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    fake.unmount("pids");
    let error = create(&fake, "", &all_limits()).unwrap_err();
    assert!(
        matches!(
            error,
            CgroupError::ControllerMissing {
                key: "pids_max",
                controller: "pids",
                ..
            }
        ),
        "{error}"
    );
    assert!(fake.calls().is_empty());
    // Without a pids limit, the same host is fine (pids was only for stats).
    let limits = CgroupLimits {
        pids_max: None,
        ..all_limits()
    };
    create(&fake, "", &limits).unwrap().destroy().unwrap();
}

#[test]
fn without_bfq_io_weight_fails_closed() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    fake.without_file("blkio.bfq.weight");
    let error = create(&fake, "", &all_limits()).unwrap_err();
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
    assert!(error.to_string().contains("bfq"), "{error}");
    assert!(fake.all_dirs().iter().all(|d| !d.ends_with("sbx-t")));
}

#[test]
fn cpuset_copies_the_parent_before_writing_and_before_attach() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    let cgroup = create(&fake, "", &all_limits()).unwrap();
    cgroup.attach(4242).unwrap();
    let calls = fake.calls();
    let copy_cpus = calls
        .iter()
        .position(|c| c == "write cpuset/sbx-t/cpuset.cpus=0-3")
        .unwrap();
    let copy_mems = calls
        .iter()
        .position(|c| c == "write cpuset/sbx-t/cpuset.mems=0")
        .unwrap();
    let want_cpus = calls
        .iter()
        .position(|c| c == "write cpuset/sbx-t/cpuset.cpus=0,1")
        .unwrap();
    let attach = calls
        .iter()
        .position(|c| c == "write cpuset/sbx-t/cgroup.procs=4242")
        .unwrap();
    assert!(
        copy_cpus < copy_mems && copy_mems < want_cpus && want_cpus < attach,
        "{calls:?}"
    );
    cgroup.destroy().unwrap();

    // Without a cpuset limit the copy still happens if cpuset is joined;
    // with no cpuset limit it is not joined at all.
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    let cgroup = create(&fake, "", &CgroupLimits::default()).unwrap();
    assert!(cgroup
        .paths()
        .iter()
        .all(|p| !p.starts_with(fake.root().join("cpuset"))));
    cgroup.destroy().unwrap();
}

#[test]
fn nests_under_the_callers_cgroup_or_the_given_parent() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    let layout = fake.layout("process_api/abc");
    fake.set(&fake.root().join("cpuset/process_api/abc/cpuset.cpus"), "1");
    fake.set(&fake.root().join("cpuset/process_api/abc/cpuset.mems"), "0");
    let limits = CgroupLimits {
        cpuset_cpus: Some("1".into()),
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
    for path in cgroup.paths() {
        assert!(
            path.ends_with("process_api/abc/sbx-t"),
            "{}",
            path.display()
        );
    }
    cgroup.destroy().unwrap();

    std::fs::create_dir_all(fake.root().join("memory/box")).unwrap();
    let options = CgroupOptions {
        parent: Some("/box".into()),
    };
    let error =
        SandboxCgroup::create_in(fake.host(), &layout, "sbx-t", &limits, &options).unwrap_err();
    assert!(
        matches!(error, CgroupError::ParentMissing { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("cpuset/box"), "{error}");
}

#[test]
fn attach_moves_into_every_hierarchy_and_checks() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    let cgroup = create(&fake, "", &all_limits()).unwrap();
    cgroup.attach(77).unwrap();
    for path in cgroup.paths() {
        assert_eq!(read(&path.join("cgroup.procs")), "77", "{}", path.display());
    }
    assert_eq!(cgroup.pids().unwrap(), vec![77]);
    cgroup.destroy().unwrap();
    // A kernel that accepts the pid but does not move it.
    fake.keeps("cgroup.procs", "");
    let other = create(&fake, "", &CgroupLimits::default()).unwrap();
    let error = other.attach(78).unwrap_err();
    assert!(
        matches!(error, CgroupError::NotAttached { pid: 78, .. }),
        "{error}"
    );
    other.destroy().unwrap();
}

#[test]
fn teardown_kills_waits_then_removes_newest_first() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    let cgroup = create(&fake, "", &all_limits()).unwrap();
    cgroup.attach(100).unwrap();
    fake.add_process(&fake.root().join("pids/sbx-t"), 101);
    let before = fake.calls().len();
    cgroup.destroy().unwrap();
    let calls = fake.calls()[before..].to_vec();
    assert_eq!(
        calls,
        [
            "kill 100",
            "kill 101",
            "rmdir pids/sbx-t",
            "rmdir blkio/sbx-t",
            "rmdir cpuacct/sbx-t",
            "rmdir cpu/sbx-t",
            "rmdir memory/sbx-t",
            "rmdir cpuset/sbx-t",
        ]
    );
    assert!(fake.all_dirs().iter().all(|d| !d.ends_with("sbx-t")));
}

#[test]
fn a_half_removed_cgroup_is_reported() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    let cgroup = create(&fake, "", &all_limits()).unwrap();
    let memory = fake.root().join("memory/sbx-t");
    // A child cgroup made by someone else keeps memory/sbx-t busy.
    std::fs::create_dir(memory.join("intruder")).unwrap();
    let error = cgroup.destroy().unwrap_err();
    match &error {
        CgroupError::PartlyRemoved { failures } => {
            assert_eq!(failures.len(), 1, "{failures:?}");
            assert!(failures[0].contains("memory/sbx-t"), "{}", failures[0]);
        }
        other => panic!("expected PartlyRemoved, got {other}"),
    }
    // Every other hierarchy was still removed.
    assert!(!fake.root().join("cpu/sbx-t").exists());
    assert!(!fake.root().join("pids/sbx-t").exists());
}

#[test]
fn an_existing_cgroup_of_the_same_name_is_not_adopted() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    std::fs::create_dir(fake.root().join("cpu/sbx-t")).unwrap();
    let error = create(&fake, "", &all_limits()).unwrap_err();
    assert!(matches!(error, CgroupError::Exists { .. }), "{error}");
    // Its own dirs made before are removed; the foreign one stays.
    assert!(fake.root().join("cpu/sbx-t").exists());
    assert!(!fake.root().join("memory/sbx-t").exists());
    assert!(!fake.root().join("cpuset/sbx-t").exists());
}

#[test]
fn stats_and_oom_are_read_from_v1_files() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    let cgroup = create(&fake, "", &all_limits()).unwrap();
    assert!(!cgroup.oom_killed().unwrap());
    let root = fake.root();
    fake.set(
        &root.join("memory/sbx-t/memory.max_usage_in_bytes"),
        "67108864\n",
    );
    fake.set(
        &root.join("memory/sbx-t/memory.oom_control"),
        "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
    );
    fake.set(&root.join("cpuacct/sbx-t/cpuacct.usage"), "2500000\n");
    fake.set(&root.join("pids/sbx-t/pids.peak"), "7\n");
    let stats = cgroup.stats().unwrap();
    assert_eq!(stats.memory_peak_bytes, Some(64 << 20));
    assert_eq!(stats.oom_kills, Some(1));
    assert_eq!(stats.cpu_usage_us, Some(2500));
    assert_eq!(stats.tasks, Some(7));
    assert!(cgroup.oom_killed().unwrap());
    cgroup.destroy().unwrap();
}

#[test]
fn bad_values_and_names_are_refused_before_any_change() {
    let fake = FakeCgroupFs::new(FakeVersion::V1);
    for limits in [
        CgroupLimits {
            cpu_weight: Some(0),
            ..CgroupLimits::default()
        },
        CgroupLimits {
            io_weight: Some(10_001),
            ..CgroupLimits::default()
        },
        CgroupLimits {
            cpu_quota: Some(CpuQuota {
                quota_us: 500,
                period_us: 100_000,
            }),
            ..CgroupLimits::default()
        },
        CgroupLimits {
            cpu_quota: Some(CpuQuota {
                quota_us: 5000,
                period_us: 2_000_000,
            }),
            ..CgroupLimits::default()
        },
        CgroupLimits {
            cpuset_cpus: Some("1-x".into()),
            ..CgroupLimits::default()
        },
    ] {
        let error = create(&fake, "", &limits).unwrap_err();
        assert!(matches!(error, CgroupError::InvalidValue { .. }), "{error}");
    }
    for name in ["", "..", "a/b"] {
        let error = SandboxCgroup::create_in(
            fake.host(),
            &fake.layout(""),
            name,
            &CgroupLimits::default(),
            &CgroupOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(error, CgroupError::InvalidName { .. }), "{error}");
    }
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}
