//! Unit tests of the call sequence, through the recording kernel (no root
//! needed), and of preflight and path resolution.

use std::path::{Path, PathBuf};

use sbx_plan::{
    Capabilities, CgroupLimits, Console, IdOrName, Mount, MountKind, MountOption, Namespace,
    Network, Plan, Process, Rootfs, Security, SourceLocation, UserSpec, PLAN_VERSION,
};

use super::path::resolve_in_root;
use super::{preflight, prepare, RootfsError, Step};
use crate::sys::{Errno, MntFlags, MountAttr, MsFlags, RecordingSys, SysCall};

fn plan(rootfs: Rootfs) -> Plan {
    Plan {
        version: PLAN_VERSION,
        name: None,
        rootfs,
        process: Process {
            args: vec!["/bin/true".into()],
            env: vec![],
            user: UserSpec {
                user: IdOrName::Id(0),
                group: None,
            },
            groups: vec![],
            cwd: "/".into(),
            umask: None,
            rlimits: vec![],
            terminal: false,
            stop_signal: "SIGTERM".into(),
        },
        hostname: None,
        domainname: None,
        namespaces: vec![
            Namespace::Mount,
            Namespace::Uts,
            Namespace::Ipc,
            Namespace::Pid,
            Namespace::Net,
        ],
        network: Network::None,
        limits: CgroupLimits::default(),
        capabilities: Capabilities::default(),
        security: Security {
            no_new_privileges: true,
            readonly_paths: vec![],
            masked_paths: vec![],
            rootfs_readonly: false,
        },
        mounts: vec![],
        volumes: vec![],
        idmap: Default::default(),
        console: Console { tty: 0, pts: None },
        build: vec![],
        expose: vec![],
        labels: Default::default(),
        sources: Default::default(),
    }
}

/// A plan with every kind of step: a directory rootfs, a bind mount with
/// options, a tmpfs, a volume, read-only and masked paths, a read-only root.
fn full_plan(rootfs: &Path, source: &Path) -> Plan {
    let mut plan = plan(Rootfs::Directory {
        path: rootfs.display().to_string(),
    });
    plan.mounts = vec![
        Mount {
            destination: "/data".into(),
            kind: MountKind::Bind,
            source: Some(source.display().to_string()),
            options: vec![MountOption::Ro, MountOption::Nosuid, MountOption::Rbind],
            size: None,
        },
        Mount {
            destination: "/scratch".into(),
            kind: MountKind::Tmpfs,
            source: None,
            options: vec![MountOption::Noexec],
            size: Some(1 << 20),
        },
    ];
    plan.volumes = vec!["/var/lib/db".into()];
    plan.security.readonly_paths = vec!["/proc/sys".into(), "/proc/no-such-path".into()];
    plan.security.masked_paths = vec!["/proc/version".into(), "/proc/sys/kernel".into()];
    plan.security.rootfs_readonly = true;
    plan.console.pts = Some(64);
    plan
}

fn is_mount_on(call: &SysCall, path: &Path) -> bool {
    matches!(call, SysCall::Mount { target, .. } if target == path)
}

fn is_pivot(call: &SysCall) -> bool {
    matches!(call, SysCall::PivotRoot { .. })
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    source: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    let source = dir.path().join("source");
    std::fs::create_dir_all(root.join("proc")).unwrap();
    std::fs::create_dir(&source).unwrap();
    Fixture {
        root: std::fs::canonicalize(&root).unwrap(),
        source,
        _dir: dir,
    }
}

fn run(plan: &Plan) -> (RecordingSys, Result<(), RootfsError>) {
    let sys = RecordingSys::new();
    let result = prepare(plan, &sys);
    (sys, result)
}

#[test]
fn root_is_made_private_before_any_other_mount() {
    let f = fixture();
    let directory = Rootfs::Directory {
        path: f.root.display().to_string(),
    };
    for rootfs in [Rootfs::Host, directory] {
        let (sys, result) = run(&plan(rootfs));
        result.unwrap();
        let calls = sys.calls();
        assert_eq!(
            calls[0],
            SysCall::Mount {
                source: None,
                target: "/".into(),
                fstype: None,
                flags: MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                data: None,
            }
        );
        let mounts = calls
            .iter()
            .filter(|c| matches!(c, SysCall::Mount { .. }))
            .count();
        assert!(mounts > 5, "the rest of the sequence mounts: {calls:#?}");
    }
}

#[test]
fn host_root_is_bound_and_read_only_before_anything_is_mounted_on_it() {
    let (sys, result) = run(&plan(Rootfs::Host));
    result.unwrap();
    let calls = sys.calls();
    assert_eq!(
        calls[1],
        SysCall::Mount {
            source: Some("/".into()),
            target: "/tmp".into(),
            fstype: None,
            flags: MsFlags::MS_BIND | MsFlags::MS_REC,
            data: None,
        }
    );
    assert_eq!(
        calls[2],
        SysCall::MountSetattr {
            path: "/tmp".into(),
            recursive: true,
            set: MountAttr::RDONLY,
        }
    );
    // The sandbox's own writable places, on top of the read-only host.
    for place in ["/tmp/tmp", "/tmp/run"] {
        let index = sys
            .position(|c| is_mount_on(c, Path::new(place)))
            .unwrap_or_else(|| panic!("no tmpfs on {place}: {calls:#?}"));
        assert!(matches!(&calls[index], SysCall::Mount { fstype: Some(t), .. } if t == "tmpfs"));
        assert!(index > 2);
    }
}

#[test]
fn directory_root_is_bound_onto_itself() {
    let f = fixture();
    let (sys, result) = run(&plan(Rootfs::Directory {
        path: f.root.display().to_string(),
    }));
    result.unwrap();
    assert_eq!(
        sys.calls()[1],
        SysCall::Mount {
            source: Some(f.root.clone()),
            target: f.root.clone(),
            fstype: None,
            flags: MsFlags::MS_BIND | MsFlags::MS_REC,
            data: None,
        }
    );
    // No /tmp or /run of its own: the directory is the sandbox's to write.
    assert!(sys
        .position(|c| is_mount_on(c, &f.root.join("tmp")))
        .is_none());
}

#[test]
fn proc_is_mounted_before_pivot_root() {
    let f = fixture();
    for (rootfs, proc) in [
        (Rootfs::Host, PathBuf::from("/tmp/proc")),
        (
            Rootfs::Directory {
                path: f.root.display().to_string(),
            },
            f.root.join("proc"),
        ),
    ] {
        let (sys, result) = run(&plan(rootfs));
        result.unwrap();
        let proc_at = sys
            .position(|c| matches!(c, SysCall::Mount { fstype: Some(t), target, .. } if t == "proc" && *target == proc))
            .expect("proc is mounted");
        let pivot_at = sys.position(is_pivot).expect("pivot_root is called");
        assert!(proc_at < pivot_at);
    }
}

#[test]
fn pivot_root_dot_dot_then_detached_unmount_of_the_old_root() {
    let f = fixture();
    let (sys, result) = run(&full_plan(&f.root, &f.source));
    result.unwrap();
    let calls = sys.calls();
    let pivot_at = sys.position(is_pivot).unwrap();
    assert_eq!(calls[pivot_at - 1], SysCall::Chdir(f.root.clone()));
    assert_eq!(
        calls[pivot_at],
        SysCall::PivotRoot {
            new_root: ".".into(),
            put_old: ".".into()
        }
    );
    assert_eq!(
        calls[pivot_at + 1],
        SysCall::Umount2 {
            target: ".".into(),
            flags: MntFlags::MNT_DETACH
        }
    );
    assert_eq!(calls[pivot_at + 2], SysCall::Chdir("/".into()));
    // No directory is made for the old root.
    assert!(!calls
        .iter()
        .any(|c| matches!(c, SysCall::Mkdir { path, .. } if path.ends_with(".oldroot"))));
}

#[test]
fn every_mount_of_the_new_root_is_made_before_pivot_root() {
    let f = fixture();
    let (sys, result) = run(&full_plan(&f.root, &f.source));
    result.unwrap();
    let pivot_at = sys.position(is_pivot).unwrap();
    for path in [
        "dev",
        "dev/null",
        "dev/tty",
        "dev/pts",
        "dev/shm",
        "sys",
        "var/lib/db",
        "data",
        "scratch",
    ] {
        let at = sys
            .position(|c| is_mount_on(c, &f.root.join(path)))
            .unwrap_or_else(|| panic!("nothing mounted on {path}"));
        assert!(at < pivot_at, "{path} is mounted after pivot_root");
    }
}

#[test]
fn readonly_then_masked_paths_after_pivot_root_and_rootfs_readonly_last() {
    let f = fixture();
    let (sys, result) = run(&full_plan(&f.root, &f.source));
    result.unwrap();
    let calls = sys.calls();
    let pivot_at = sys.position(is_pivot).unwrap();

    let readonly_at = sys
        .position(|c| is_mount_on(c, Path::new("/proc/sys")))
        .unwrap();
    assert!(readonly_at > pivot_at);
    assert_eq!(
        calls[readonly_at],
        SysCall::Mount {
            source: Some("/proc/sys".into()),
            target: "/proc/sys".into(),
            fstype: None,
            flags: MsFlags::MS_BIND | MsFlags::MS_REC,
            data: None,
        }
    );
    assert_eq!(
        calls[readonly_at + 1],
        SysCall::MountSetattr {
            path: "/proc/sys".into(),
            recursive: true,
            set: MountAttr::RDONLY
        }
    );
    // A path the sandbox does not have is skipped, as runc does.
    assert!(sys
        .position(|c| is_mount_on(c, Path::new("/proc/no-such-path")))
        .is_none());

    // A masked file gets /dev/null, a masked directory an empty read-only
    // tmpfs, both after the read-only paths.
    let file_at = sys
        .position(|c| is_mount_on(c, Path::new("/proc/version")))
        .unwrap();
    assert!(
        matches!(&calls[file_at], SysCall::Mount { source: Some(s), flags, .. }
        if s == Path::new("/dev/null") && *flags == MsFlags::MS_BIND)
    );
    let dir_at = sys
        .position(|c| is_mount_on(c, Path::new("/proc/sys/kernel")))
        .unwrap();
    assert!(
        matches!(&calls[dir_at], SysCall::Mount { fstype: Some(t), flags, .. }
        if t == "tmpfs" && *flags == MsFlags::MS_RDONLY)
    );
    assert!(readonly_at < file_at && file_at < dir_at);

    assert_eq!(
        calls.last().unwrap(),
        &SysCall::MountSetattr {
            path: "/".into(),
            recursive: false,
            set: MountAttr::RDONLY
        }
    );
}

#[test]
fn mounts_volumes_and_dev_get_their_options() {
    let f = fixture();
    let (sys, result) = run(&full_plan(&f.root, &f.source));
    result.unwrap();
    let calls = sys.calls();

    // Bind: MS_BIND|MS_REC for rbind, from the pinned source, then the
    // options in a second call, recursive as the bind.
    let data = f.root.join("data");
    let bind_at = sys.position(|c| is_mount_on(c, &data)).unwrap();
    match &calls[bind_at] {
        SysCall::Mount {
            source: Some(source),
            flags,
            ..
        } => {
            assert!(source.starts_with("/proc/self/fd/"), "{source:?}");
            assert_eq!(*flags, MsFlags::MS_BIND | MsFlags::MS_REC);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        calls[bind_at + 1],
        SysCall::MountSetattr {
            path: data,
            recursive: true,
            set: MountAttr::RDONLY | MountAttr::NOSUID,
        }
    );

    // The mount point was created (it was missing in the rootfs).
    assert!(calls
        .iter()
        .any(|c| matches!(c, SysCall::Mkdir { path, .. } if *path == f.root.join("data"))));

    let tmpfs = |target: PathBuf| {
        calls
            .iter()
            .find(|c| is_mount_on(c, &target))
            .cloned()
            .unwrap()
    };
    assert_eq!(
        tmpfs(f.root.join("scratch")),
        SysCall::Mount {
            source: Some("tmpfs".into()),
            target: f.root.join("scratch"),
            fstype: Some("tmpfs".into()),
            flags: MsFlags::MS_NOEXEC,
            data: Some("size=1048576".into()),
        }
    );
    assert_eq!(
        tmpfs(f.root.join("var/lib/db")),
        SysCall::Mount {
            source: Some("tmpfs".into()),
            target: f.root.join("var/lib/db"),
            fstype: Some("tmpfs".into()),
            flags: MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            data: Some("mode=755".into()),
        }
    );
    // The volume comes before the mount blocks.
    assert!(
        sys.position(|c| is_mount_on(c, &f.root.join("var/lib/db")))
            < sys.position(|c| is_mount_on(c, &f.root.join("data")))
    );

    // devpts: a new instance with `max=` from console.pts.
    assert!(
        matches!(tmpfs(f.root.join("dev/pts")), SysCall::Mount { data: Some(d), .. }
        if d == "newinstance,ptmxmode=0666,mode=0620,gid=5,max=64")
    );
    for (link, target) in [("dev/ptmx", "pts/ptmx"), ("dev/fd", "/proc/self/fd")] {
        assert!(calls.iter().any(|c| *c
            == SysCall::Symlink {
                target: target.into(),
                link: f.root.join(link)
            }));
    }
}

#[test]
fn devpts_is_retried_without_gid_where_gid_5_is_not_mapped() {
    let f = fixture();
    let plan = plan(Rootfs::Directory {
        path: f.root.display().to_string(),
    });
    let pts = f.root.join("dev/pts");
    let first = run(&plan).0.position(|c| is_mount_on(c, &pts)).unwrap();
    let sys = RecordingSys::failing_at(first, Errno::EINVAL);
    prepare(&plan, &sys).unwrap();
    assert!(
        matches!(&sys.calls()[first + 1], SysCall::Mount { target, data: Some(d), .. }
        if *target == pts && d == "newinstance,ptmxmode=0666,mode=0620")
    );
}

#[test]
fn sysfs_falls_back_to_the_hosts_read_only_where_the_kernel_refuses_a_new_one() {
    let f = fixture();
    let plan = plan(Rootfs::Directory {
        path: f.root.display().to_string(),
    });
    let sys_dir = f.root.join("sys");
    let first = run(&plan).0.position(|c| is_mount_on(c, &sys_dir)).unwrap();
    let sys = RecordingSys::failing_at(first, Errno::EPERM);
    prepare(&plan, &sys).unwrap();
    let calls = sys.calls();
    assert!(
        matches!(&calls[first + 1], SysCall::Mount { target, flags, .. }
        if *target == sys_dir && *flags == MsFlags::MS_BIND | MsFlags::MS_REC)
    );
    assert_eq!(
        calls[first + 2],
        SysCall::MountSetattr {
            path: sys_dir.clone(),
            recursive: true,
            set: MountAttr::NOSUID | MountAttr::NODEV | MountAttr::NOEXEC,
        }
    );
    assert_eq!(
        calls[first + 3],
        SysCall::MountSetattr {
            path: sys_dir,
            recursive: true,
            set: MountAttr::RDONLY,
        }
    );
}

#[test]
fn an_injected_failure_at_each_call_stops_there_and_names_the_step() {
    let f = fixture();
    let mut plan = full_plan(&f.root, &f.source);
    plan.sources.insert(
        "mounts.0".into(),
        SourceLocation {
            file: "web.sbx".into(),
            line: 7,
            column: 1,
        },
    );
    let total = run(&plan).0.calls().len();
    assert!(total > 30, "the full plan makes {total} calls");
    let mut steps = Vec::new();
    for index in 0..total {
        let sys = RecordingSys::failing_at(index, Errno::EIO);
        let error = prepare(&plan, &sys).expect_err("an injected failure is an error");
        assert_eq!(
            sys.calls().len(),
            index + 1,
            "nothing is done after call {index} failed"
        );
        let step = error
            .step()
            .unwrap_or_else(|| panic!("call {index}: {error} names no step"))
            .clone();
        let message = error.to_string();
        assert!(message.contains(&step.to_string()), "{message}");
        assert!(message.contains("I/O error"), "{message}");
        if let Step::Mount { index: 0, .. } = step {
            assert!(
                message.contains("(setting `mounts.0`, web.sbx:7:1)"),
                "{message}"
            );
        }
        steps.push(step);
    }
    assert_eq!(steps[0], Step::MakePrivate);
    assert_eq!(steps[1], Step::BindRoot);
    assert_eq!(*steps.last().unwrap(), Step::RootfsReadonly);
    let calls = run(&plan).0.calls();
    let pivot_at = calls.iter().position(is_pivot).unwrap();
    assert_eq!(steps[pivot_at], Step::PivotRoot);
    assert_eq!(steps[pivot_at + 1], Step::DetachOldRoot);
    for expected in [
        Step::Proc,
        Step::Dev,
        Step::Sysfs,
        Step::Volume("/var/lib/db".into()),
        Step::Mount {
            index: 0,
            destination: "/data".into(),
        },
        Step::Mount {
            index: 1,
            destination: "/scratch".into(),
        },
        Step::ReadonlyPath("/proc/sys".into()),
        Step::MaskedPath("/proc/version".into()),
        Step::MaskedPath("/proc/sys/kernel".into()),
    ] {
        assert!(steps.contains(&expected), "no failure names {expected}");
    }
}

#[test]
fn a_bind_source_that_vanished_before_the_child_is_an_error_naming_the_mount() {
    let f = fixture();
    let mut plan = full_plan(&f.root, &f.source);
    std::fs::remove_dir(&f.source).unwrap();
    plan.sources.insert(
        "mounts.0".into(),
        SourceLocation {
            file: "web.sbx".into(),
            line: 7,
            column: 1,
        },
    );
    let (sys, result) = run(&plan);
    let error = result.unwrap_err();
    assert_eq!(
        error.step(),
        Some(&Step::Mount {
            index: 0,
            destination: "/data".into()
        })
    );
    let message = error.to_string();
    assert!(message.contains("no such file or directory"), "{message}");
    assert!(message.contains("web.sbx:7:1"), "{message}");
    // Only the propagation change was made: nothing was mounted.
    assert_eq!(sys.calls().len(), 1);
}

#[test]
fn without_a_mount_namespace_nothing_is_touched() {
    let mut plan = plan(Rootfs::Host);
    plan.namespaces.retain(|n| *n != Namespace::Mount);
    let (sys, result) = run(&plan);
    assert!(matches!(result, Err(RootfsError::Setting { .. })));
    assert!(sys.calls().is_empty());
    assert!(preflight(&plan)
        .unwrap_err()
        .to_string()
        .contains("add `mount` to `namespaces`"));
}

// --- preflight ---

fn preflight_error(plan: &Plan) -> String {
    preflight(plan).expect_err("preflight refuses").to_string()
}

#[test]
fn preflight_accepts_the_defaults_and_a_full_plan() {
    preflight(&plan(Rootfs::Host)).unwrap();
    let f = fixture();
    preflight(&full_plan(&f.root, &f.source)).unwrap();
}

#[test]
fn preflight_names_a_missing_rootfs_with_its_profile_line_and_the_fix() {
    let mut plan = plan(Rootfs::Directory {
        path: "/no/such/rootfs".into(),
    });
    plan.sources.insert(
        "rootfs".into(),
        SourceLocation {
            file: "web.sbx".into(),
            line: 2,
            column: 1,
        },
    );
    assert_eq!(
        preflight_error(&plan),
        "the rootfs `/no/such/rootfs` cannot be used: no such file or directory \
         (setting `rootfs`, web.sbx:2:1); create the directory (for example by \
         unpacking an image into it), or fix the path"
    );
}

#[test]
fn preflight_refuses_what_it_cannot_build() {
    let f = fixture();
    let file = f.source.join("file");
    std::fs::write(&file, "x").unwrap();
    type Change = Box<dyn Fn(&mut Plan)>;
    let cases: Vec<(Change, &str)> = vec![
        (
            Box::new(|p| {
                p.rootfs = Rootfs::OciLayout {
                    path: "/img".into(),
                    tag: None,
                }
            }),
            "the image is not mounted",
        ),
        (
            Box::new(|p| {
                p.rootfs = Rootfs::Image {
                    name: "debian:bookworm".into(),
                }
            }),
            "the image is not mounted",
        ),
        (
            Box::new(move |p| {
                p.rootfs = Rootfs::Directory {
                    path: file.display().to_string(),
                }
            }),
            "is not a directory",
        ),
        (
            Box::new(|p| p.rootfs = Rootfs::Directory { path: "/".into() }),
            "use `from = \"host\"`",
        ),
        (
            Box::new(|p| p.mounts[0].source = Some("/no/such/source".into())),
            "the bind source `/no/such/source` cannot be used: no such file or directory (setting `mounts.0`)",
        ),
        (
            Box::new(|p| p.mounts[0].source = None),
            "has no `source`",
        ),
        (
            Box::new(|p| p.mounts[1].destination = "scratch".into()),
            "`scratch` is not an absolute path (setting `mounts.1`)",
        ),
        (
            Box::new(|p| p.mounts[1].destination = "/a/../../etc".into()),
            "contains `..`",
        ),
        (
            Box::new(|p| p.mounts[0].size = Some(1)),
            "`size` is only for tmpfs",
        ),
        (
            Box::new(|p| p.mounts[1].options.push(MountOption::Rbind)),
            "`rbind` is only for bind mounts",
        ),
        (
            Box::new(|p| p.volumes = vec!["relative".into()]),
            "(setting `volumes.0`)",
        ),
        (
            Box::new(|p| p.volumes = vec!["/".into()]),
            "a volume cannot replace the root `/`",
        ),
        (
            Box::new(|p| p.security.masked_paths.push("/".into())),
            "would hide the whole root filesystem",
        ),
        (
            Box::new(|p| p.console.pts = Some(0)),
            "`pts = 0` is out of range",
        ),
        (
            Box::new(|p| p.security.masked_paths.push("proc/kcore".into())),
            "(setting `security.masked_paths`)",
        ),
    ];
    for (change, expected) in cases {
        let mut plan = full_plan(&f.root, &f.source);
        change(&mut plan);
        let message = preflight_error(&plan);
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }
}

#[test]
fn preflight_refuses_a_mount_point_missing_on_the_read_only_host() {
    let f = fixture();
    let mut plan = plan(Rootfs::Host);
    plan.mounts = vec![Mount {
        destination: "/no-such-dir-on-the-host".into(),
        kind: MountKind::Bind,
        source: Some(f.source.display().to_string()),
        options: vec![],
        size: None,
    }];
    assert!(preflight_error(&plan).contains("create the directory on the host"));
    // Under the sandbox's own /tmp it can be created.
    plan.mounts[0].destination = "/tmp/data".into();
    preflight(&plan).unwrap();
    // And below a volume.
    plan.volumes = vec!["/srv".into()];
    plan.mounts[0].destination = "/srv/x/data".into();
    if Path::new("/srv").is_dir() {
        preflight(&plan).unwrap();
    }
}

// --- paths ---

#[test]
fn symlinks_in_the_rootfs_resolve_inside_it() {
    let f = fixture();
    let root = &f.root;
    std::fs::create_dir_all(root.join("real/dir")).unwrap();
    std::os::unix::fs::symlink("/", root.join("var")).unwrap();
    std::os::unix::fs::symlink("../../../..", root.join("up")).unwrap();
    std::os::unix::fs::symlink("real/dir", root.join("rel")).unwrap();
    std::os::unix::fs::symlink("/loop", root.join("loop")).unwrap();
    let resolve = |p: &str| resolve_in_root(root, p);
    assert_eq!(resolve("/var/etc").unwrap(), root.join("etc"));
    assert_eq!(resolve("/up/etc").unwrap(), root.join("etc"));
    assert_eq!(resolve("/rel/x").unwrap(), root.join("real/dir/x"));
    assert_eq!(resolve("/missing/x").unwrap(), root.join("missing/x"));
    assert_eq!(resolve("/loop/x"), Err(Errno::ELOOP));
}

#[test]
fn an_injected_failure_at_each_call_of_the_host_root_names_the_step() {
    let f = fixture();
    let mut plan = plan(Rootfs::Host);
    plan.mounts = vec![Mount {
        destination: "/tmp/data".into(),
        kind: MountKind::Bind,
        source: Some(f.source.display().to_string()),
        options: vec![MountOption::Ro],
        size: None,
    }];
    plan.volumes = vec!["/tmp/volume".into()];
    let total = run(&plan).0.calls().len();
    let mut steps = Vec::new();
    for index in 0..total {
        let sys = RecordingSys::failing_at(index, Errno::EIO);
        let error = prepare(&plan, &sys).expect_err("an injected failure is an error");
        assert_eq!(sys.calls().len(), index + 1);
        steps.push(error.step().cloned().expect("a step is named"));
    }
    for expected in [
        Step::MakePrivate,
        Step::BindRoot,
        Step::Proc,
        Step::Dev,
        Step::Sysfs,
        Step::DefaultTmpfs("/tmp".into()),
        Step::DefaultTmpfs("/run".into()),
        Step::Volume("/tmp/volume".into()),
        Step::Mount {
            index: 0,
            destination: "/tmp/data".into(),
        },
        Step::PivotRoot,
        Step::DetachOldRoot,
    ] {
        assert!(steps.contains(&expected), "no failure names {expected}");
    }
}

#[test]
fn a_read_only_host_mount_point_failure_says_how_to_fix_it() {
    let f = fixture();
    let mut plan = plan(Rootfs::Host);
    plan.mounts = vec![Mount {
        destination: "/no-such-dir".into(),
        kind: MountKind::Bind,
        source: Some(f.source.display().to_string()),
        options: vec![],
        size: None,
    }];
    let mkdir_at = run(&plan)
        .0
        .position(
            |c| matches!(c, SysCall::Mkdir { path, .. } if path == Path::new("/tmp/no-such-dir")),
        )
        .unwrap();
    let sys = RecordingSys::failing_at(mkdir_at, Errno::EROFS);
    let message = prepare(&plan, &sys).unwrap_err().to_string();
    assert!(message.contains("read-only file system"), "{message}");
    assert!(
        message.contains("create the directory on the host"),
        "{message}"
    );
}

#[test]
fn without_mount_setattr_each_mount_is_remounted_keeping_its_flags() {
    let f = fixture();
    let plan = full_plan(&f.root, &f.source);
    let setattr_at = run(&plan)
        .0
        .position(
            |c| matches!(c, SysCall::MountSetattr { path, .. } if path == Path::new("/proc/sys")),
        )
        .unwrap();
    let sys = RecordingSys::failing_at(setattr_at, Errno::ENOSYS);
    prepare(&plan, &sys).unwrap();
    match &sys.calls()[setattr_at + 1] {
        SysCall::Mount {
            source: None,
            target,
            flags,
            ..
        } => {
            assert_eq!(target, Path::new("/proc/sys"));
            assert!(flags.contains(MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY));
            // The flags the mount has now are kept.
            let now = nix::sys::statvfs::statvfs("/proc/sys").unwrap().flags();
            for (fs, ms) in [
                (nix::sys::statvfs::FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
                (nix::sys::statvfs::FsFlags::ST_NODEV, MsFlags::MS_NODEV),
                (nix::sys::statvfs::FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
                (
                    nix::sys::statvfs::FsFlags::ST_RELATIME,
                    MsFlags::MS_RELATIME,
                ),
            ] {
                assert_eq!(now.contains(fs), flags.contains(ms), "{fs:?}");
            }
        }
        other => panic!("expected a bind remount, got {other:?}"),
    }
}
