//! The network module against the real kernel, as root: each test runs in a
//! network namespace of its own (see net_support), with stand-in sandbox
//! children, and proves the effect from inside the sandbox's namespace.

mod net_support;
mod support;

use std::rc::Rc;

use net_support::{in_test_netns, interface, ip, link_snapshot, network, test_veth, SandboxChild};
use sbx_executor::journal::ApplyJournal;
use sbx_executor::net::inject::{FailAfter, INJECTED};
use sbx_executor::net::{self, NetError, Netlink};
use sbx_plan::{MacvlanMode, NetKind, Network};

/// Sets up `network` for `child` with the production kernel calls.
fn setup(network: &Network, id: &str, child: &SandboxChild) -> ApplyJournal {
    net::preflight(network).expect("preflight");
    let mut journal = ApplyJournal::new();
    net::setup(network, id, child.pid(), &mut journal).expect("setup");
    journal
}

fn unwind(journal: ApplyJournal) {
    let failures = journal.unwind();
    assert!(failures.is_empty(), "undo failed: {failures:?}");
}

/// A TCP exchange from `client` to `server_addr:5000`, served by `server`.
fn tcp_exchange(mut server: SandboxChild, mut client: SandboxChild) {
    server.go();
    client.go();
    let (ok, out, err) = client.finish();
    assert!(ok, "client failed: {err}");
    assert_eq!(out.trim(), "pong", "the server's answer");
    let (ok, out, err) = server.finish();
    assert!(ok, "server failed: {err}");
    assert_eq!(out.trim(), "ping", "what the server received");
}

/// The server reads the client's line before it answers, then prints it on
/// its own stdout (fd 3). `echo pong | nc -l` raced: busybox nc may exit at
/// the end of its stdin before the client's `ping` has arrived.
const SERVER: &str =
    r#"exec 3>&1; busybox nc -l -p 5000 -e /bin/sh -c 'read line; echo "$line" >&3; echo pong'"#;

fn client(address: &str) -> String {
    // The server may not listen yet: retry until it does.
    format!(
        "for i in $(seq 100); do echo ping | busybox nc -w 5 {address} 5000 && exit 0; sleep 0.05; done; exit 1"
    )
}

#[test]
fn two_sandboxes_on_one_bridge_exchange_tcp() {
    if !support::privileged("two_sandboxes_on_one_bridge_exchange_tcp") {
        return;
    }
    in_test_netns(|| {
        let before = link_snapshot();
        let plan = |address: &str| {
            let mut eth0 = interface("eth0", NetKind::Veth, Some("br-sbxtest"));
            eth0.create_bridge = true;
            eth0.addresses = vec![address.into()];
            network(vec![eth0])
        };
        let server = SandboxChild::start(SERVER);
        let client = SandboxChild::start(&client("10.231.0.2"));
        let j1 = setup(&plan("10.231.0.2/24"), "srv", &server);
        let j2 = setup(&plan("10.231.0.3/24"), "cli", &client);
        let links = ip(&["-br", "link"]);
        assert!(
            links.contains("sbxsrv-0") && links.contains("sbxcli-0"),
            "{links}"
        );
        let ports = ip(&["-br", "link", "show", "master", "br-sbxtest"]);
        assert!(
            ports.contains("sbxsrv-0") && ports.contains("sbxcli-0"),
            "{ports}"
        );
        assert!(ip(&["link", "show", "br-sbxtest"]).contains(net::BRIDGE_ALIAS));
        tcp_exchange(server, client);
        unwind(j1);
        assert!(
            ip(&["-br", "link"]).contains("br-sbxtest"),
            "the second sandbox still uses it"
        );
        unwind(j2);
        assert_eq!(link_snapshot(), before, "teardown left something behind");
    });
}

#[test]
fn macvlan_bridge_mode_between_two_sandboxes() {
    if !support::privileged("macvlan_bridge_mode_between_two_sandboxes") {
        return;
    }
    in_test_netns(|| {
        test_veth("lower0", "lower1");
        let before = link_snapshot();
        let plan = |address: &str| {
            let mut mv = interface("mv0", NetKind::Macvlan, Some("lower0"));
            mv.macvlan_mode = Some(MacvlanMode::Bridge);
            mv.addresses = vec![address.into()];
            network(vec![mv])
        };
        let server = SandboxChild::start(SERVER);
        let client = SandboxChild::start(&client("10.231.1.2"));
        let j1 = setup(&plan("10.231.1.2/24"), "srv", &server);
        let j2 = setup(&plan("10.231.1.3/24"), "cli", &client);
        let inside = server.ip(&["-d", "link", "show", "mv0"]);
        assert!(inside.contains("macvlan mode bridge"), "{inside}");
        tcp_exchange(server, client);
        unwind(j1);
        unwind(j2);
        assert_eq!(link_snapshot(), before, "teardown left something behind");
    });
}

#[test]
fn each_macvlan_mode_is_made_as_asked() {
    if !support::privileged("each_macvlan_mode_is_made_as_asked") {
        return;
    }
    in_test_netns(|| {
        let modes = [
            (MacvlanMode::Private, "private"),
            (MacvlanMode::Vepa, "vepa"),
            (MacvlanMode::Bridge, "bridge"),
            (MacvlanMode::Passthru, "passthru"),
        ];
        let mut interfaces = Vec::new();
        for (i, (mode, _)) in modes.iter().enumerate() {
            // passthru wants its lower device to itself.
            let lower = format!("lower{i}");
            test_veth(&lower, &format!("peer{i}"));
            let mut mv = interface(&format!("mv{i}"), NetKind::Macvlan, Some(&lower));
            mv.macvlan_mode = Some(*mode);
            interfaces.push(mv);
        }
        let child = SandboxChild::start("true");
        let journal = setup(&network(interfaces), "modes", &child);
        for (i, (_, word)) in modes.iter().enumerate() {
            let inside = child.ip(&["-d", "link", "show", &format!("mv{i}")]);
            assert!(inside.contains(&format!("macvlan mode {word}")), "{inside}");
        }
        unwind(journal);
        assert!(
            child.ip(&["-br", "link"]).lines().count() == 1,
            "only lo is left inside"
        );
    });
}

#[test]
fn addresses_routes_mtu_and_mac_are_seen_inside() {
    if !support::privileged("addresses_routes_mtu_and_mac_are_seen_inside") {
        return;
    }
    in_test_netns(|| {
        let mut eth0 = interface("eth0", NetKind::Veth, None);
        eth0.addresses = vec![
            "10.231.2.2/24".into(),
            "10.231.3.2/24".into(),
            "fd00:5b::2/64".into(),
            "fd00:5c::2/64".into(),
        ];
        eth0.gateways = vec!["10.231.2.1".into(), "fd00:5b::1".into()];
        eth0.mtu = Some(1400);
        eth0.hwaddr = Some("02:5b:00:00:00:02".into());
        let child = SandboxChild::start("true");
        let journal = setup(&network(vec![eth0]), "addr", &child);

        let link = child.ip(&["link", "show", "eth0"]);
        assert!(link.contains("mtu 1400"), "{link}");
        assert!(link.contains("link/ether 02:5b:00:00:00:02"), "{link}");
        assert!(link.contains("state UP") || link.contains(",UP"), "{link}");
        let addresses = child.ip(&["addr", "show", "eth0"]);
        for a in [
            "10.231.2.2/24",
            "10.231.3.2/24",
            "fd00:5b::2/64",
            "fd00:5c::2/64",
        ] {
            assert!(addresses.contains(a), "{a} missing: {addresses}");
        }
        // Usable at once: no duplicate address detection on sbx's addresses.
        for line in addresses.lines().filter(|l| l.contains("fd00:")) {
            assert!(
                line.contains("nodad") && !line.contains("tentative"),
                "{line}"
            );
        }
        let v4 = child.ip(&["route", "show", "default"]);
        assert!(v4.contains("default via 10.231.2.1 dev eth0"), "{v4}");
        let v6 = child.ip(&["-6", "route", "show", "default"]);
        assert!(v6.contains("default via fd00:5b::1 dev eth0"), "{v6}");
        let lo = child.ip(&["link", "show", "lo"]);
        assert!(lo.contains("UP"), "{lo}");
        // The host end carries the MTU too, and is up.
        let host = ip(&["link", "show", "sbxaddr-0"]);
        assert!(host.contains("mtu 1400"), "{host}");
        unwind(journal);
        assert!(!ip(&["-br", "link"]).contains("sbxaddr-0"));
    });
}

#[test]
fn network_none_gives_only_loopback_up() {
    if !support::privileged("network_none_gives_only_loopback_up") {
        return;
    }
    in_test_netns(|| {
        let child = SandboxChild::start("true");
        let journal = setup(&Network::None, "none", &child);
        assert!(journal.is_empty());
        let links = child.ip(&["-br", "link"]);
        assert_eq!(links.lines().count(), 1, "{links}");
        assert!(links.starts_with("lo ") && links.contains("UP"), "{links}");
    });
}

/// The "physical" interface is a veth end of the test's namespace.
fn phys_plan() -> Network {
    let mut eth5 = interface("eth5", NetKind::Phys, Some("phys0"));
    eth5.addresses = vec!["10.231.4.2/24".into()];
    eth5.mtu = Some(1280);
    eth5.hwaddr = Some("02:5b:00:00:00:05".into());
    network(vec![eth5])
}

#[test]
fn phys_moves_in_and_returns_under_its_name_on_exit() {
    if !support::privileged("phys_moves_in_and_returns_under_its_name_on_exit") {
        return;
    }
    in_test_netns(|| {
        // Never up, as a fresh physical interface.
        ip(&[
            "link", "add", "phys0", "type", "veth", "peer", "name", "phys1",
        ]);
        let before = link_snapshot();
        let child = SandboxChild::start("true");
        let journal = setup(&phys_plan(), "phys", &child);
        let inside = child.ip(&["addr", "show", "eth5"]);
        assert!(
            inside.contains("10.231.4.2/24") && inside.contains("mtu 1280"),
            "{inside}"
        );
        assert!(
            !ip(&["-br", "link"]).contains("phys0"),
            "phys0 left the host"
        );
        // The workload renames it (it may, with CAP_NET_ADMIN), then exits:
        // the namespace must not take phys0 along.
        child.ip(&["link", "set", "eth5", "down"]);
        child.ip(&["link", "set", "eth5", "name", "renamed"]);
        child.kill();
        unwind(journal);
        assert_eq!(link_snapshot(), before, "phys0 is back as it was");
    });
}

#[test]
fn phys_returns_under_its_name_after_a_failed_start() {
    if !support::privileged("phys_returns_under_its_name_after_a_failed_start") {
        return;
    }
    in_test_netns(|| {
        // Never up, as a fresh physical interface.
        ip(&[
            "link", "add", "phys0", "type", "veth", "peer", "name", "phys1",
        ]);
        let before = link_snapshot();
        // Changes: lo up, move, down, rename; fail after the rename.
        let child = SandboxChild::start("true");
        let kernel = Rc::new(FailAfter::new(Netlink::connect(child.pid()).unwrap(), 4));
        let mut journal = ApplyJournal::new();
        let err = net::setup_with(kernel.clone(), &phys_plan(), "phys", &mut journal).unwrap_err();
        assert!(err.to_string().ends_with(INJECTED), "{err}");
        assert!(
            child.ip(&["-br", "link"]).contains("eth5"),
            "renamed before the failure"
        );
        child.kill();
        drop(kernel);
        unwind(journal);
        assert_eq!(link_snapshot(), before, "phys0 is back as it was");
    });
}

/// Every kind this kernel has (vlan is tested on its own), with a bridge
/// sbx creates and a "physical" interface.
fn everything_plan() -> Network {
    let mut eth0 = interface("eth0", NetKind::Veth, Some("br-sbxtest"));
    eth0.create_bridge = true;
    eth0.addresses = vec!["10.231.5.2/24".into(), "fd00:5b::2/64".into()];
    eth0.gateways = vec!["10.231.5.1".into()];
    eth0.mtu = Some(1400);
    let mut mv0 = interface("mv0", NetKind::Macvlan, Some("lower0"));
    mv0.macvlan_mode = Some(MacvlanMode::Vepa);
    mv0.addresses = vec!["10.231.6.2/24".into()];
    mv0.hwaddr = Some("02:5b:00:00:00:06".into());
    let mut eth5 = interface("eth5", NetKind::Phys, Some("phys0"));
    eth5.addresses = vec!["10.231.7.2/24".into()];
    network(vec![eth0, mv0, eth5])
}

#[test]
fn a_failure_after_each_step_leaves_no_interface_behind() {
    if !support::privileged("a_failure_after_each_step_leaves_no_interface_behind") {
        return;
    }
    in_test_netns(|| {
        test_veth("lower0", "lower1");
        test_veth("phys0", "phys1");
        let before = link_snapshot();
        let plan = everything_plan();
        net::preflight(&plan).unwrap();

        let child = SandboxChild::start("true");
        let counting = Rc::new(FailAfter::new(
            Netlink::connect(child.pid()).unwrap(),
            usize::MAX,
        ));
        let mut journal = ApplyJournal::new();
        net::setup_with(counting.clone(), &plan, "rb", &mut journal).unwrap();
        let steps = counting.changes();
        assert!(steps >= 15, "{steps} steps");
        child.kill();
        drop(counting);
        unwind(journal);
        assert_eq!(link_snapshot(), before, "after a full setup and teardown");

        for n in 0..steps {
            let child = SandboxChild::start("true");
            let kernel = Rc::new(FailAfter::new(Netlink::connect(child.pid()).unwrap(), n));
            let mut journal = ApplyJournal::new();
            let err = net::setup_with(kernel.clone(), &plan, "rb", &mut journal).unwrap_err();
            assert!(kernel.fired(), "step {n}: {err}");
            child.kill();
            drop(kernel);
            unwind(journal);
            assert_eq!(
                link_snapshot(),
                before,
                "after a failure at step {n}: {err}"
            );
        }
    });
}

#[test]
fn a_missing_bridge_is_refused_at_preflight_and_nothing_is_created() {
    if !support::privileged("a_missing_bridge_is_refused_at_preflight_and_nothing_is_created") {
        return;
    }
    in_test_netns(|| {
        let before = link_snapshot();
        let plan = network(vec![interface("eth0", NetKind::Veth, Some("br-absent"))]);
        let err = net::preflight(&plan).unwrap_err();
        assert_eq!(
            err.to_string(),
            "interface `eth0`: the bridge `br-absent` does not exist on the host: create it first, \
             or let sbx create it (`create_bridge`)"
        );
        assert_eq!(link_snapshot(), before);
    });
}

#[test]
fn setup_refuses_a_child_without_a_network_namespace_of_its_own() {
    if !support::privileged("setup_refuses_a_child_without_a_network_namespace_of_its_own") {
        return;
    }
    in_test_netns(|| {
        let before = link_snapshot();
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let plan = network(vec![interface("eth0", NetKind::Veth, None)]);
        let err =
            net::setup(&plan, "shared", child.id() as i32, &mut ApplyJournal::new()).unwrap_err();
        let _ = child.kill();
        let _ = child.wait();
        assert!(err.to_string().contains("must include `net`"), "{err}");
        assert_eq!(link_snapshot(), before);
    });
}

#[test]
fn preflight_refuses_interfaces_without_cap_net_admin() {
    if !support::privileged("preflight_refuses_interfaces_without_cap_net_admin") {
        return;
    }
    in_test_netns(|| {
        // Capabilities are per thread: only this one loses it.
        caps::drop(
            None,
            caps::CapSet::Effective,
            caps::Capability::CAP_NET_ADMIN,
        )
        .unwrap();
        let plan = network(vec![interface("eth0", NetKind::Veth, None)]);
        assert!(matches!(
            net::preflight(&plan),
            Err(NetError::NeedsNetAdmin)
        ));
        assert!(net::preflight(&Network::None).is_ok());
    });
}

#[test]
fn vlan_end_to_end_where_the_kernel_has_8021q() {
    if !support::privileged("vlan_end_to_end_where_the_kernel_has_8021q") {
        return;
    }
    let ran = in_test_netns(|| {
        test_veth("lower0", "lower1");
        let before = link_snapshot();
        let mut vl = interface("vl0", NetKind::Vlan, Some("lower0"));
        vl.vlan_id = Some(42);
        vl.addresses = vec!["10.231.8.2/24".into()];
        let plan = network(vec![vl]);
        let own = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
        let preflight = net::preflight(&plan);
        assert_eq!(
            std::fs::read_link("/proc/thread-self/ns/net").unwrap(),
            own,
            "preflight tried the kind in a throwaway namespace and came back"
        );
        match preflight {
            Err(e @ NetError::KindUnsupported { .. }) => {
                let reason = e.to_string();
                assert!(
                    reason.starts_with("the kernel has no 802.1q (vlan) support: "),
                    "{reason}"
                );
                assert_eq!(link_snapshot(), before, "preflight left something");
                return Some(reason);
            }
            other => other.expect("preflight"),
        }
        let child = SandboxChild::start("true");
        let journal = setup(&plan, "vlan", &child);
        let inside = child.ip(&["-d", "addr", "show", "vl0"]);
        assert!(inside.contains("vlan protocol 802.1Q id 42"), "{inside}");
        assert!(inside.contains("10.231.8.2/24"), "{inside}");
        child.kill();
        unwind(journal);
        assert_eq!(link_snapshot(), before);
        None
    });
    if let Some(reason) = ran {
        support::skip_missing("vlan_end_to_end_where_the_kernel_has_8021q", &reason);
    }
}
