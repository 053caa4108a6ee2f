//! Networking end to end through `sbx apply`, as root. Each test runs on a
//! thread in a network namespace of its own (net_support), so `sbx apply`
//! (started from that thread) treats that namespace as the host: the
//! machine's own interfaces are never touched. The probe reports from
//! inside the sandbox what the workload sees.

mod apply_support;
mod net_support;
mod support;

use std::process::{Command, Stdio};

use apply_support::{apply, host_plan, probe, text, write_plan, SBX};
use net_support::{in_test_netns, interface, ip, link_snapshot, network, test_veth};
use sbx_executor::net::{self, NetError};
use sbx_plan::{MacvlanMode, NetInterface, NetKind, Plan};
use serde_json::Value;

fn plan_with(name: &str, interfaces: Vec<NetInterface>, args: &[&str]) -> Plan {
    let mut plan = host_plan(name, args);
    plan.network = network(interfaces);
    plan
}

/// The probe's report of interface `name`.
fn interface_report<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no interface `{name}` inside: {}", report["interfaces"]))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Runs a server sandbox and a client sandbox at once; the client sends
/// `ping`, the server answers `pong`.
fn tcp_between(server: Plan, client: Plan) {
    let server_file = write_plan(&server);
    let server = Command::new(SBX)
        .arg("apply")
        .arg(&server_file.path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sbx runs");
    let client = apply(&client, &[]);
    let server = server.wait_with_output().unwrap();
    assert_eq!(
        client.status.code(),
        Some(0),
        "client: {}{}",
        text(&client.stdout),
        text(&client.stderr)
    );
    assert_eq!(text(&client.stdout).trim(), "pong");
    assert_eq!(
        server.status.code(),
        Some(0),
        "server: {}{}",
        text(&server.stdout),
        text(&server.stderr)
    );
    assert_eq!(text(&server.stdout).trim(), "ping");
}

/// The server reads the client's line before it answers, then prints it on
/// its own stdout (fd 3). `echo pong | nc -l` raced: busybox nc may exit at
/// the end of its stdin before the client's `ping` has arrived.
const SERVER: &str =
    r#"exec 3>&1; busybox nc -l -p 5000 -e /bin/sh -c 'read line; echo "$line" >&3; echo pong'"#;

fn client_script(address: &str) -> String {
    // The server may not listen yet: retry until it does.
    format!(
        "for i in $(seq 100); do echo ping | busybox nc -w 5 {address} 5000 && exit 0; sleep 0.05; done; exit 1"
    )
}

#[test]
fn apply_two_sandboxes_on_one_bridge_exchange_tcp() {
    if !support::privileged("apply_two_sandboxes_on_one_bridge_exchange_tcp") {
        return;
    }
    in_test_netns(|| {
        let before = link_snapshot();
        let veth = |address: &str| {
            let mut eth0 = interface("eth0", NetKind::Veth, Some("br-sbxtest"));
            eth0.create_bridge = true;
            eth0.addresses = vec![address.into()];
            vec![eth0]
        };
        let client = client_script("10.231.10.2");
        tcp_between(
            plan_with("netsrv", veth("10.231.10.2/24"), &["/bin/sh", "-c", SERVER]),
            plan_with(
                "netcli",
                veth("10.231.10.3/24"),
                &["/bin/sh", "-c", &client],
            ),
        );
        assert_eq!(link_snapshot(), before, "the bridge and veth ends are gone");
    });
}

#[test]
fn apply_macvlan_bridge_mode_between_two_sandboxes() {
    if !support::privileged("apply_macvlan_bridge_mode_between_two_sandboxes") {
        return;
    }
    in_test_netns(|| {
        test_veth("lower0", "lower1");
        let before = link_snapshot();
        let macvlan = |address: &str| {
            let mut mv0 = interface("mv0", NetKind::Macvlan, Some("lower0"));
            mv0.macvlan_mode = Some(MacvlanMode::Bridge);
            mv0.addresses = vec![address.into()];
            vec![mv0]
        };
        let client = client_script("10.231.11.2");
        tcp_between(
            plan_with(
                "mvsrv",
                macvlan("10.231.11.2/24"),
                &["/bin/sh", "-c", SERVER],
            ),
            plan_with(
                "mvcli",
                macvlan("10.231.11.3/24"),
                &["/bin/sh", "-c", &client],
            ),
        );
        assert_eq!(link_snapshot(), before);
    });
}

#[test]
fn apply_addresses_routes_mtu_and_mac_read_by_the_probe() {
    if !support::privileged("apply_addresses_routes_mtu_and_mac_read_by_the_probe") {
        return;
    }
    in_test_netns(|| {
        let before = link_snapshot();
        let mut eth0 = interface("eth0", NetKind::Veth, None);
        eth0.addresses = vec![
            "10.231.12.2/24".into(),
            "10.231.13.2/24".into(),
            "fd00:5b::2/64".into(),
            "fd00:5c::2/64".into(),
        ];
        eth0.gateways = vec!["10.231.12.1".into(), "fd00:5b::1".into()];
        eth0.mtu = Some(1400);
        eth0.hwaddr = Some("02:5b:00:00:00:12".into());
        let report = probe(&plan_with("netaddr", vec![eth0], &[]), &[]);

        let eth0 = interface_report(&report, "eth0");
        assert_eq!(eth0["mtu"], 1400);
        assert_eq!(eth0["address"], "02:5b:00:00:00:12");
        assert_eq!(eth0["up"], true);
        let v4 = strings(&eth0["ipv4"]);
        assert!(
            v4.contains(&"10.231.12.2/24".into()) && v4.contains(&"10.231.13.2/24".into()),
            "{v4:?}"
        );
        let v6 = strings(&eth0["ipv6"]);
        assert!(
            v6.contains(&"fd00:5b::2/64".into()) && v6.contains(&"fd00:5c::2/64".into()),
            "{v6:?}"
        );
        assert_eq!(interface_report(&report, "lo")["up"], true);

        let default_via = |family: &str, destination: &str| {
            report["routes"][family]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["destination"] == destination && r["interface"] == "eth0")
                .map(|r| r["gateway"].clone())
        };
        assert_eq!(
            default_via("ipv4", "0.0.0.0/0"),
            Some("10.231.12.1".into()),
            "{}",
            report["routes"]
        );
        assert_eq!(
            default_via("ipv6", "::/0"),
            Some("fd00:5b::1".into()),
            "{}",
            report["routes"]
        );
        assert_eq!(link_snapshot(), before);
    });
}

#[test]
fn apply_network_none_gives_only_loopback() {
    if !support::privileged("apply_network_none_gives_only_loopback") {
        return;
    }
    in_test_netns(|| {
        let report = probe(&host_plan("netnone", &[]), &[]);
        let names: Vec<&str> = report["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["lo"]);
        assert_eq!(interface_report(&report, "lo")["up"], true);
    });
}

/// A never-up veth end of the test's namespace plays the physical interface.
fn add_phys() {
    ip(&[
        "link", "add", "phys0", "type", "veth", "peer", "name", "phys1",
    ]);
}

fn phys_interface() -> NetInterface {
    let mut eth5 = interface("eth5", NetKind::Phys, Some("phys0"));
    eth5.addresses = vec!["10.231.14.2/24".into()];
    eth5.mtu = Some(1280);
    eth5
}

#[test]
fn apply_phys_moves_in_and_returns_under_its_name_on_exit() {
    if !support::privileged("apply_phys_moves_in_and_returns_under_its_name_on_exit") {
        return;
    }
    in_test_netns(|| {
        add_phys();
        let before = link_snapshot();
        let report = probe(&plan_with("netphys", vec![phys_interface()], &[]), &[]);
        let eth5 = interface_report(&report, "eth5");
        assert_eq!(eth5["mtu"], 1280);
        assert_eq!(strings(&eth5["ipv4"]), ["10.231.14.2/24"]);
        assert!(!report["interfaces"].to_string().contains("phys0"));
        assert_eq!(
            link_snapshot(),
            before,
            "phys0 is back under its name, as it was"
        );
    });
}

#[test]
fn apply_phys_returns_under_its_name_after_a_failed_start() {
    if !support::privileged("apply_phys_returns_under_its_name_after_a_failed_start") {
        return;
    }
    in_test_netns(|| {
        add_phys();
        test_veth("lower0", "lower1");
        // A macvlan already on lower0: the kernel refuses a passthru one
        // (preflight cannot know), after phys0 moved in.
        ip(&[
            "link", "add", "link", "lower0", "name", "mvbusy", "type", "macvlan",
        ]);
        let before = link_snapshot();
        let mut passthru = interface("mv0", NetKind::Macvlan, Some("lower0"));
        passthru.macvlan_mode = Some(MacvlanMode::Passthru);
        let plan = plan_with("netfail", vec![phys_interface(), passthru], &["/bin/true"]);
        let output = apply(&plan, &[]);
        assert_eq!(output.status.code(), Some(125), "{}", text(&output.stderr));
        assert!(
            text(&output.stderr).contains("create macvlan `mv0` on `lower0`"),
            "{}",
            text(&output.stderr)
        );
        assert_eq!(link_snapshot(), before, "everything undone, phys0 back");

        // A workload that cannot start (after the network is set up).
        let plan = plan_with(
            "netnoexec",
            vec![phys_interface()],
            &["/nonexistent/workload"],
        );
        let output = apply(&plan, &[]);
        assert_eq!(output.status.code(), Some(127), "{}", text(&output.stderr));
        assert_eq!(link_snapshot(), before, "phys0 back after the failed exec");
    });
}

#[test]
fn apply_refuses_a_missing_bridge_at_preflight_and_creates_nothing() {
    if !support::privileged("apply_refuses_a_missing_bridge_at_preflight_and_creates_nothing") {
        return;
    }
    in_test_netns(|| {
        let before = link_snapshot();
        let plan = plan_with(
            "netnobr",
            vec![interface("eth0", NetKind::Veth, Some("br-absent"))],
            &["/bin/true"],
        );
        let output = apply(&plan, &[]);
        assert_eq!(output.status.code(), Some(125));
        assert!(
            text(&output.stderr).contains("the bridge `br-absent` does not exist on the host"),
            "{}",
            text(&output.stderr)
        );
        assert_eq!(link_snapshot(), before);
    });
}

#[test]
fn apply_vlan_where_the_kernel_has_8021q() {
    if !support::privileged("apply_vlan_where_the_kernel_has_8021q") {
        return;
    }
    let skipped = in_test_netns(|| {
        test_veth("lower0", "lower1");
        let before = link_snapshot();
        let mut vl0 = interface("vl0", NetKind::Vlan, Some("lower0"));
        vl0.vlan_id = Some(42);
        vl0.addresses = vec!["10.231.15.2/24".into()];
        let plan = plan_with("netvlan", vec![vl0], &["/bin/true"]);
        if let Err(e @ NetError::KindUnsupported { .. }) = net::preflight(&plan.network) {
            // sbx apply says the same, precisely, and creates nothing.
            let output = apply(&plan, &[]);
            assert_eq!(output.status.code(), Some(125));
            let reason = e.to_string();
            assert!(
                reason.starts_with("the kernel has no 802.1q (vlan) support: "),
                "{reason}"
            );
            assert!(
                text(&output.stderr).contains(&reason),
                "{}",
                text(&output.stderr)
            );
            assert_eq!(link_snapshot(), before);
            return Some(reason);
        }
        let report = probe(&plan, &[]);
        assert_eq!(
            strings(&interface_report(&report, "vl0")["ipv4"]),
            ["10.231.15.2/24"]
        );
        assert_eq!(link_snapshot(), before);
        None
    });
    if let Some(reason) = skipped {
        support::skip_missing("apply_vlan_where_the_kernel_has_8021q", &reason);
    }
}
