//! `sbx apply`: each namespace, seen from inside by the probe.

mod apply_support;
mod support;

use apply_support::*;
use sbx_plan::{IdRange, Namespace, Network};
use serde_json::Value;

fn ns(report: &Value, kind: &str) -> String {
    report["namespaces"][kind].as_str().unwrap().to_string()
}

#[test]
fn pid_namespace_the_init_is_pid_1_and_no_host_process_is_visible() {
    if !support::privileged("pid_namespace_the_init_is_pid_1_and_no_host_process_is_visible") {
        return;
    }
    let report = probe(&host_plan("pid", &[]), &[]);
    assert_eq!(report["pid"], 2, "the workload is the init's first child");
    assert_eq!(report["ppid"], 1);
    let processes = report["processes"].as_array().unwrap();
    let pids: Vec<u64> = processes
        .iter()
        .map(|p| p["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids, vec![1, 2], "{processes:#?}");
    assert_eq!(processes[0]["comm"], "sbx-init");
    assert_ne!(ns(&report, "pid"), host_namespace("pid"));
}

#[test]
fn uts_namespace_hostname_and_domainname_are_the_plans_and_the_host_keeps_its_own() {
    if !support::privileged("uts_namespace_hostname_and_domainname") {
        return;
    }
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let mut plan = host_plan("uts", &[]);
    plan.hostname = Some("toto".into());
    plan.domainname = Some("example.org".into());
    let report = probe(&plan, &[]);
    assert_eq!(report["hostname"], "toto");
    assert_eq!(report["domainname"], "example.org");
    assert_ne!(ns(&report, "uts"), host_namespace("uts"));
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host_name
    );
}

#[test]
fn mount_ipc_cgroup_namespaces_are_new_and_time_and_user_are_shared_by_default() {
    if !support::privileged("mount_ipc_cgroup_namespaces_are_new") {
        return;
    }
    let report = probe(&host_plan("nsdefault", &[]), &[]);
    for kind in ["mnt", "ipc", "cgroup", "net", "uts", "pid"] {
        assert_ne!(ns(&report, kind), host_namespace(kind), "{kind}");
    }
    for kind in ["time", "user"] {
        assert_eq!(ns(&report, kind), host_namespace(kind), "{kind}");
    }
}

#[test]
fn cgroup_namespace_the_workload_sees_its_cgroup_as_the_root() {
    if !support::privileged("cgroup_namespace_root") {
        return;
    }
    let report = probe(&host_plan("cgroupns", &[]), &[]);
    for line in report["cgroup"].as_array().unwrap() {
        assert_eq!(line["path"], "/", "{line}");
    }
}

#[test]
fn time_namespace_when_asked() {
    if !support::privileged("time_namespace_when_asked") {
        return;
    }
    let mut plan = host_plan("timens", &[]);
    plan.namespaces.push(Namespace::Time);
    let report = probe(&plan, &[]);
    assert_ne!(ns(&report, "time"), host_namespace("time"));
}

#[test]
fn network_none_has_only_loopback_up() {
    if !support::privileged("network_none_has_only_loopback_up") {
        return;
    }
    let report = probe(&host_plan("netnone", &[]), &["--connect", "127.0.0.1:9"]);
    let interfaces = report["interfaces"].as_array().unwrap();
    assert_eq!(interfaces.len(), 1, "{interfaces:#?}");
    assert_eq!(interfaces[0]["name"], "lo");
    assert_eq!(interfaces[0]["up"], true);
    assert_eq!(interfaces[0]["ipv4"][0], "127.0.0.1/8");
    assert!(report["routes"]["ipv4"].as_array().unwrap().is_empty());
    // Loopback answers: connection refused (nothing listens), not
    // unreachable.
    assert_eq!(report["checks"][0]["errno"], libc_econnrefused());
    assert_ne!(ns(&report, "net"), host_namespace("net"));
}

fn libc_econnrefused() -> i64 {
    111
}

#[test]
fn network_host_shares_the_hosts_network_namespace() {
    if !support::privileged("network_host_shares_the_hosts_network_namespace") {
        return;
    }
    let mut plan = host_plan("nethost", &[]);
    plan.network = Network::Host;
    plan.namespaces.retain(|ns| *ns != Namespace::Net);
    let report = probe(&plan, &[]);
    assert_eq!(ns(&report, "net"), host_namespace("net"));
}

#[test]
fn user_namespace_with_an_idmap_maps_as_the_plan_says() {
    if !support::privileged("user_namespace_with_an_idmap") {
        return;
    }
    let mut plan = host_plan("userns", &[]);
    plan.namespaces.push(Namespace::User);
    plan.idmap.uid = vec![IdRange {
        inside: 0,
        outside: 200000,
        count: 65536,
    }];
    plan.idmap.gid = plan.idmap.uid.clone();
    plan.process.user.user = sbx_plan::IdOrName::Id(1000);
    plan.process.user.group = Some(sbx_plan::IdOrName::Id(1000));
    let report = probe(&plan, &[]);
    assert_eq!(report["uid_map"], serde_json::json!([[0, 200000, 65536]]));
    assert_eq!(report["gid_map"], serde_json::json!([[0, 200000, 65536]]));
    assert_eq!(report["uid"], 1000);
    assert_eq!(report["gid"], 1000);
    assert_eq!(report["setgroups"], "allow");
    assert_ne!(ns(&report, "user"), host_namespace("user"));
}

#[test]
fn user_namespace_without_an_idmap_maps_the_caller_to_root() {
    if !support::privileged("user_namespace_without_an_idmap") {
        return;
    }
    let mut plan = host_plan("userauto", &[]);
    plan.namespaces.push(Namespace::User);
    let report = probe(&plan, &[]);
    assert_eq!(report["uid_map"], serde_json::json!([[0, 0, 1]]));
    assert_eq!(report["uid"], 0);
}
