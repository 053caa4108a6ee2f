//! `sbx apply`: the workload's identity, environment, limits, capabilities
//! and privileges, seen from inside by the probe.

mod apply_support;
mod support;

use apply_support::*;
use sbx_plan::{EnvVar, IdOrName, Limit, Rlimit};

#[test]
fn user_group_and_supplementary_groups() {
    if !support::privileged("user_group_and_supplementary_groups") {
        return;
    }
    let mut plan = host_plan("identity", &[]);
    plan.process.user.user = IdOrName::Id(65534);
    plan.process.user.group = Some(IdOrName::Id(65533));
    plan.process.groups = vec![IdOrName::Id(4000), IdOrName::Name("root".into())];
    let report = probe(&plan, &[]);
    assert_eq!(report["uid"], 65534);
    assert_eq!(report["euid"], 65534);
    assert_eq!(report["gid"], 65533);
    assert_eq!(report["egid"], 65533);
    let mut groups: Vec<u64> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_u64().unwrap())
        .collect();
    groups.sort();
    assert_eq!(groups, vec![0, 4000]);
}

#[test]
fn a_user_name_resolves_in_the_rootfs_passwd() {
    if !support::privileged("a_user_name_resolves_in_the_rootfs_passwd") {
        return;
    }
    let mut plan = host_plan("username", &[]);
    plan.process.user.user = IdOrName::Name("nobody".into());
    let report = probe(&plan, &[]);
    assert_eq!(report["uid"], 65534);
    let unknown = {
        let mut plan = host_plan("username", &["/bin/true"]);
        plan.process.user.user = IdOrName::Name("no-such-user-here".into());
        apply(&plan, &[])
    };
    assert_eq!(unknown.status.code(), Some(125));
    assert!(text(&unknown.stderr).contains("user `no-such-user-here` is not in `/etc/passwd`"));
}

#[test]
fn environment_is_the_plans_with_path_and_home() {
    if !support::privileged("environment_is_the_plans") {
        return;
    }
    let mut plan = host_plan("env", &[]);
    plan.process.env = vec![
        EnvVar {
            name: "FOO".into(),
            value: "one".into(),
        },
        EnvVar {
            name: "BAR".into(),
            value: "x y".into(),
        },
        EnvVar {
            name: "FOO".into(),
            value: "two".into(),
        },
    ];
    let report = probe(&plan, &[]);
    let env = report["env"].as_object().unwrap();
    let mut keys: Vec<&str> = env.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        vec!["BAR", "FOO", "HOME", "PATH"],
        "nothing of sbx's own environment leaks"
    );
    assert_eq!(env["FOO"], "two", "a later entry overrides an earlier one");
    assert_eq!(env["BAR"], "x y");
    assert_eq!(env["HOME"], "/root");
    assert_eq!(
        env["PATH"],
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    );
}

#[test]
fn workdir_and_umask() {
    if !support::privileged("workdir_and_umask") {
        return;
    }
    let mut plan = host_plan("cwd", &[]);
    plan.process.cwd = "/etc".into();
    plan.process.umask = Some(0o027);
    let report = probe(&plan, &[]);
    assert_eq!(report["cwd"], "/etc");
    assert_eq!(report["umask"], 0o027);
}

#[test]
fn rlimits() {
    if !support::privileged("rlimits") {
        return;
    }
    let mut plan = host_plan("rlimits", &[]);
    plan.process.rlimits = vec![
        Rlimit {
            resource: "nofile".into(),
            soft: Limit::Value(512),
            hard: Limit::Value(1024),
        },
        Rlimit {
            resource: "core".into(),
            soft: Limit::Value(0),
            hard: Limit::Value(0),
        },
        Rlimit {
            resource: "nproc".into(),
            soft: Limit::Value(300),
            hard: Limit::Value(400),
        },
    ];
    let report = probe(&plan, &[]);
    let limits = &report["rlimits"];
    assert_eq!(
        limits["nofile"],
        serde_json::json!({"soft": 512, "hard": 1024})
    );
    assert_eq!(limits["core"], serde_json::json!({"soft": 0, "hard": 0}));
    assert_eq!(
        limits["nproc"],
        serde_json::json!({"soft": 300, "hard": 400})
    );
}

#[test]
fn capabilities_of_a_root_workload_are_exactly_the_plans() {
    if !support::privileged("capabilities_of_a_root_workload") {
        return;
    }
    let report = probe(&host_plan("capsroot", &[]), &[]);
    let caps = &report["capabilities"];
    let expected = sorted(&DEFAULT_CAPS);
    assert_eq!(names(&caps["bounding"]), expected);
    assert_eq!(names(&caps["effective"]), expected);
    assert_eq!(names(&caps["permitted"]), expected);
    assert!(names(&caps["inheritable"]).is_empty());
    assert!(names(&caps["ambient"]).is_empty());
}

#[test]
fn capabilities_of_a_non_root_workload_survive_exec_through_ambient() {
    if !support::privileged("capabilities_of_a_non_root_workload") {
        return;
    }
    let mut plan = host_plan("capsuser", &[]);
    plan.process.user.user = IdOrName::Id(65534);
    let kept = strings(&["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]);
    plan.capabilities.bounding = kept.clone();
    plan.capabilities.effective = kept.clone();
    plan.capabilities.permitted = kept.clone();
    let report = probe(&plan, &[]);
    let caps = &report["capabilities"];
    let expected = sorted(&["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]);
    for set in [
        "bounding",
        "effective",
        "permitted",
        "inheritable",
        "ambient",
    ] {
        assert_eq!(names(&caps[set]), expected, "{set}");
    }
    // And without any capability, a non-root workload has none at all.
    plan.capabilities = Default::default();
    let report = probe(&plan, &[]);
    for set in [
        "bounding",
        "effective",
        "permitted",
        "inheritable",
        "ambient",
    ] {
        assert!(names(&report["capabilities"][set]).is_empty(), "{set}");
    }
}

#[test]
fn no_new_privileges_on_by_default_and_off_when_asked() {
    if !support::privileged("no_new_privileges") {
        return;
    }
    let mut plan = host_plan("nnp", &[]);
    assert_eq!(probe(&plan, &[])["no_new_privs"], true);
    plan.security.no_new_privileges = false;
    assert_eq!(probe(&plan, &[])["no_new_privs"], false);
    assert_eq!(probe(&plan, &[])["seccomp"], 0, "no seccomp filter yet");
}

#[test]
fn the_init_keeps_only_cap_kill_and_no_new_privs() {
    if !support::privileged("the_init_keeps_only_cap_kill") {
        return;
    }
    let plan = host_plan(
        "initcaps",
        &[
            "/bin/sh",
            "-c",
            "grep -E '^(CapEff|CapPrm|NoNewPrivs)' /proc/1/status",
        ],
    );
    let output = apply(&plan, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let status = text(&output.stdout);
    // CAP_KILL is bit 5.
    assert!(status.contains("CapPrm:\t0000000000000020"), "{status}");
    assert!(status.contains("CapEff:\t0000000000000020"), "{status}");
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
}
