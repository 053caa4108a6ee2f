//! `sbx apply` as an ordinary user: a user namespace maps the caller to
//! root, and what a user cannot get is refused.

mod apply_support;
mod support;

use std::process::{Command, Output};

use apply_support::*;
use sbx_plan::IdRange;

/// Runs `sbx apply PLAN` as nobody (uid and gid 65534, no groups), or
/// `None` (with the reason printed) when this kernel does not let
/// ordinary users create user namespaces.
fn apply_as_nobody(plan: &sbx_plan::Plan, test: &str) -> Option<Output> {
    let file = write_plan(plan);
    let probe = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "unshare",
            "--user",
            "true",
        ])
        .output()
        .expect("setpriv and unshare (util-linux) are installed");
    if !probe.status.success() {
        support::skip_missing(
            test,
            &format!(
                "this kernel does not let an ordinary user create a user namespace: {}",
                text(&probe.stderr).trim()
            ),
        );
        return None;
    }
    let output = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            SBX,
            "apply",
        ])
        .arg(&file.path)
        .current_dir("/")
        .output()
        .unwrap();
    Some(output)
}

#[test]
fn an_ordinary_user_runs_as_root_of_its_own_user_namespace() {
    let test = "an_ordinary_user_runs_as_root_of_its_own_user_namespace";
    if !support::privileged(test) {
        return;
    }
    let mut plan = host_plan("rootless", &[PROBE]);
    plan.hostname = Some("rootless".into());
    let Some(output) = apply_as_nobody(&plan, test) else {
        return;
    };
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["uid"], 0);
    assert_eq!(report["gid"], 0);
    assert_eq!(report["uid_map"], serde_json::json!([[0, 65534, 1]]));
    assert_eq!(report["gid_map"], serde_json::json!([[0, 65534, 1]]));
    assert_eq!(report["setgroups"], "deny");
    assert_eq!(report["hostname"], "rootless");
    assert_eq!(report["pid"], 2);
    assert_ne!(
        report["namespaces"]["user"].as_str().unwrap(),
        host_namespace("user")
    );
    // The capabilities are the plan's, inside the user namespace.
    assert_eq!(
        names(&report["capabilities"]["effective"]),
        sorted(&DEFAULT_CAPS)
    );
    assert_eq!(
        names(&report["capabilities"]["bounding"]),
        sorted(&DEFAULT_CAPS)
    );
    assert_eq!(report["no_new_privs"], true);
}

#[test]
fn an_ordinary_user_is_refused_an_idmap_it_cannot_write() {
    let test = "an_ordinary_user_is_refused_an_idmap_it_cannot_write";
    if !support::privileged(test) {
        return;
    }
    let mut plan = host_plan("rootlessmap", &[PROBE]);
    plan.namespaces.push(sbx_plan::Namespace::User);
    plan.idmap.uid = vec![IdRange {
        inside: 0,
        outside: 100000,
        count: 65536,
    }];
    let Some(output) = apply_as_nobody(&plan, test) else {
        return;
    };
    assert_eq!(output.status.code(), Some(125));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("`idmap`: an ordinary user can map only its own uid 65534"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
}

#[test]
fn an_ordinary_user_is_refused_supplementary_groups() {
    let test = "an_ordinary_user_is_refused_supplementary_groups";
    if !support::privileged(test) {
        return;
    }
    let mut plan = host_plan("rootlessgroups", &[PROBE]);
    plan.process.groups = vec![sbx_plan::IdOrName::Id(0)];
    let Some(output) = apply_as_nobody(&plan, test) else {
        return;
    };
    assert_eq!(output.status.code(), Some(125));
    assert!(
        text(&output.stderr).contains("`process.groups`"),
        "{}",
        text(&output.stderr)
    );
}
