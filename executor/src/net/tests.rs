//! The setup sequence and preflight through recorded kernel calls (no root).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::rc::Rc;

use sbx_plan::{MacvlanMode, NetInterface, NetKind, Network};

use super::inject::{FailAfter, INJECTED};
use super::kernel::{BridgeState, HostLinks, KernelError, LinkSettings, NetKernel, Side};
use super::{preflight_with, setup_with, Cidr, LinkKind, NetError};
use crate::journal::ApplyJournal;

/// A kernel that keeps a model of the interfaces on each side and logs calls.
#[derive(Clone, Default)]
struct Recorder {
    state: Rc<RefCell<Model>>,
}

#[derive(Default)]
struct Model {
    log: Vec<String>,
    /// (side, name) -> index
    links: BTreeMap<(u8, String), u32>,
    next_index: u32,
    /// bridge -> (created by sbx, ports)
    bridges: BTreeMap<String, (bool, BTreeSet<String>)>,
    /// The next bridge look-up finds nothing (another sandbox is making it).
    hide_bridges_once: bool,
    /// host veth end -> sandbox peer
    peers: BTreeMap<String, String>,
}

fn side_key(side: Side) -> u8 {
    match side {
        Side::Host => 0,
        Side::Sandbox => 1,
    }
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Host => "host",
        Side::Sandbox => "sandbox",
    }
}

impl Recorder {
    fn with_host_links(names: &[&str]) -> Recorder {
        let r = Recorder::default();
        for n in names {
            r.add(Side::Host, n).unwrap();
        }
        r
    }

    fn log(&self) -> Vec<String> {
        self.state.borrow().log.clone()
    }

    fn links(&self, side: Side) -> Vec<String> {
        let k = side_key(side);
        self.state
            .borrow()
            .links
            .keys()
            .filter(|(s, _)| *s == k)
            .map(|(_, n)| n.clone())
            .collect()
    }

    fn note(&self, entry: String) {
        self.state.borrow_mut().log.push(entry);
    }

    fn need(&self, side: Side, name: &str) -> Result<(), KernelError> {
        if self
            .state
            .borrow()
            .links
            .contains_key(&(side_key(side), name.to_string()))
        {
            Ok(())
        } else {
            Err(KernelError::from_errno(libc::ENODEV))
        }
    }

    fn add(&self, side: Side, name: &str) -> Result<(), KernelError> {
        let index = {
            let mut s = self.state.borrow_mut();
            s.next_index += 1;
            s.next_index
        };
        self.put(side, name, index)
    }

    /// Puts the interface of `index` on `side` as `name` (a move, a rename).
    fn put(&self, side: Side, name: &str, index: u32) -> Result<(), KernelError> {
        let mut s = self.state.borrow_mut();
        let key = (side_key(side), name.to_string());
        if s.links.contains_key(&key) {
            return Err(KernelError::from_errno(libc::EEXIST));
        }
        s.links.insert(key, index);
        Ok(())
    }

    fn remove(&self, side: Side, name: &str) -> Result<u32, KernelError> {
        self.need(side, name)?;
        Ok(self
            .state
            .borrow_mut()
            .links
            .remove(&(side_key(side), name.to_string()))
            .expect("checked"))
    }
}

impl NetKernel for Recorder {
    fn link_exists(&self, side: Side, name: &str) -> Result<bool, KernelError> {
        Ok(self.need(side, name).is_ok())
    }
    fn link_index(&self, side: Side, name: &str) -> Result<u32, KernelError> {
        self.need(side, name)?;
        Ok(self.state.borrow().links[&(side_key(side), name.to_string())])
    }
    fn link_settings(&self, side: Side, name: &str) -> Result<LinkSettings, KernelError> {
        self.need(side, name)?;
        Ok(LinkSettings {
            mtu: 1500,
            hwaddr: vec![2, 0, 0, 0, 0, 1],
            up: true,
        })
    }
    fn bridge_state(&self, name: &str) -> Result<Option<BridgeState>, KernelError> {
        if std::mem::take(&mut self.state.borrow_mut().hide_bridges_once) {
            return Ok(None);
        }
        Ok(self
            .state
            .borrow()
            .bridges
            .get(name)
            .map(|(sbx, ports)| BridgeState {
                created_by_sbx: *sbx,
                ports: ports.len(),
            }))
    }
    fn create_bridge(&self, name: &str) -> Result<(), KernelError> {
        self.note(format!("create bridge {name}"));
        self.add(Side::Host, name)?;
        self.state
            .borrow_mut()
            .bridges
            .insert(name.into(), (true, BTreeSet::new()));
        Ok(())
    }
    fn create_veth(&self, host_end: &str, peer: &str, mtu: Option<u32>) -> Result<(), KernelError> {
        self.note(format!("create veth {host_end} peer {peer} mtu {mtu:?}"));
        self.add(Side::Host, host_end)?;
        self.add(Side::Sandbox, peer)?;
        self.state
            .borrow_mut()
            .peers
            .insert(host_end.into(), peer.into());
        Ok(())
    }
    fn create_macvlan(
        &self,
        name: &str,
        parent: &str,
        mode: MacvlanMode,
    ) -> Result<(), KernelError> {
        self.note(format!("create macvlan {name} on {parent} mode {mode:?}"));
        self.need(Side::Host, parent)?;
        self.add(Side::Sandbox, name)
    }
    fn create_vlan(&self, name: &str, parent: &str, vlan_id: u16) -> Result<(), KernelError> {
        self.note(format!("create vlan {name} on {parent} id {vlan_id}"));
        self.need(Side::Host, parent)?;
        self.add(Side::Sandbox, name)
    }
    fn attach_to_bridge(&self, name: &str, bridge: &str) -> Result<(), KernelError> {
        self.note(format!("attach {name} to {bridge}"));
        self.need(Side::Host, name)?;
        let mut s = self.state.borrow_mut();
        let entry = s
            .bridges
            .get_mut(bridge)
            .ok_or_else(|| KernelError::from_errno(libc::ENODEV))?;
        entry.1.insert(name.into());
        Ok(())
    }
    fn move_into_sandbox(&self, name: &str) -> Result<(), KernelError> {
        self.note(format!("move {name} into sandbox"));
        let index = self.remove(Side::Host, name)?;
        self.put(Side::Sandbox, name, index)
    }
    fn move_to_host(
        &self,
        index: u32,
        host_name: &str,
        settings: &LinkSettings,
    ) -> Result<(), KernelError> {
        let name = self
            .state
            .borrow()
            .links
            .iter()
            .find(|((side, _), i)| *side == 1 && **i == index)
            .map(|((_, name), _)| name.clone())
            .ok_or_else(|| KernelError::from_errno(libc::ENODEV))?;
        self.note(format!(
            "move {name} to host as {host_name} mtu {}",
            settings.mtu
        ));
        self.remove(Side::Sandbox, &name)?;
        self.put(Side::Host, host_name, index)
    }
    fn delete_link(&self, side: Side, name: &str) -> Result<(), KernelError> {
        self.note(format!("delete {} {name}", side_name(side)));
        self.remove(side, name)?;
        let mut s = self.state.borrow_mut();
        if let Some(peer) = s.peers.remove(name) {
            s.links.remove(&(1, peer));
        }
        for (_, ports) in s.bridges.values_mut() {
            ports.remove(name);
        }
        s.bridges.remove(name);
        Ok(())
    }
    fn set_up(&self, side: Side, name: &str) -> Result<(), KernelError> {
        self.note(format!("up {} {name}", side_name(side)));
        if name == "lo" {
            return Ok(());
        }
        self.need(side, name)
    }
    fn set_down(&self, side: Side, name: &str) -> Result<(), KernelError> {
        self.note(format!("down {} {name}", side_name(side)));
        self.need(side, name)
    }
    fn rename(&self, side: Side, name: &str, new_name: &str) -> Result<(), KernelError> {
        self.note(format!("rename {} {name} to {new_name}", side_name(side)));
        let index = self.remove(side, name)?;
        self.put(side, new_name, index)
    }
    fn set_mtu(&self, side: Side, name: &str, mtu: u32) -> Result<(), KernelError> {
        self.note(format!("mtu {} {name} {mtu}", side_name(side)));
        self.need(side, name)
    }
    fn set_hwaddr(&self, side: Side, name: &str, hwaddr: [u8; 6]) -> Result<(), KernelError> {
        self.note(format!("hwaddr {} {name} {hwaddr:02x?}", side_name(side)));
        self.need(side, name)
    }
    fn add_address(&self, name: &str, address: Cidr) -> Result<(), KernelError> {
        self.note(format!(
            "address {name} {}/{}",
            address.addr, address.prefix
        ));
        self.need(Side::Sandbox, name)
    }
    fn add_default_route(&self, name: &str, gateway: IpAddr) -> Result<(), KernelError> {
        self.note(format!("route {name} via {gateway}"));
        self.need(Side::Sandbox, name)
    }
}

fn iface(name: &str, kind: NetKind, link: Option<&str>) -> NetInterface {
    NetInterface {
        name: name.into(),
        kind,
        link: link.map(Into::into),
        create_bridge: false,
        macvlan_mode: None,
        vlan_id: None,
        hwaddr: None,
        addresses: Vec::new(),
        gateways: Vec::new(),
        mtu: None,
        up: true,
    }
}

/// One interface of each kind that creates something, with every setting.
fn every_kind() -> Network {
    let mut veth = iface("eth0", NetKind::Veth, Some("br-sbx"));
    veth.create_bridge = true;
    veth.mtu = Some(1400);
    veth.hwaddr = Some("02:00:00:00:00:10".into());
    veth.addresses = vec!["10.231.0.2/24".into(), "fd00:5b::2/64".into()];
    veth.gateways = vec!["10.231.0.1".into(), "fd00:5b::1".into()];
    let mut macvlan = iface("mv0", NetKind::Macvlan, Some("lower0"));
    macvlan.macvlan_mode = Some(MacvlanMode::Bridge);
    macvlan.mtu = Some(1300);
    let mut vlan = iface("vl0", NetKind::Vlan, Some("lower0"));
    vlan.vlan_id = Some(42);
    let mut phys = iface("eth1", NetKind::Phys, Some("phys0"));
    phys.addresses = vec!["10.231.1.2/24".into()];
    Network::Interfaces {
        interfaces: vec![veth, macvlan, vlan, phys],
    }
}

#[test]
fn setup_makes_host_objects_then_configures_inside() {
    let k = Recorder::with_host_links(&["lower0", "phys0"]);
    let mut journal = ApplyJournal::new();
    setup_with(Rc::new(k.clone()), &every_kind(), "ab12", &mut journal).unwrap();
    assert_eq!(
        k.log(),
        [
            "up sandbox lo",
            "create bridge br-sbx",
            "create veth sbxab12-0 peer eth0 mtu Some(1400)",
            "attach sbxab12-0 to br-sbx",
            "up host sbxab12-0",
            "create macvlan mv0 on lower0 mode Bridge",
            "create vlan vl0 on lower0 id 42",
            "move phys0 into sandbox",
            "hwaddr sandbox eth0 [02, 00, 00, 00, 00, 10]",
            "address eth0 10.231.0.2/24",
            "address eth0 fd00:5b::2/64",
            "up sandbox eth0",
            "route eth0 via 10.231.0.1",
            "route eth0 via fd00:5b::1",
            "mtu sandbox mv0 1300",
            "up sandbox mv0",
            "up sandbox vl0",
            "down sandbox phys0",
            "rename sandbox phys0 to eth1",
            "address eth1 10.231.1.2/24",
            "up sandbox eth1",
        ]
    );
    assert_eq!(
        journal.step_names().collect::<Vec<_>>(),
        [
            "use bridge `br-sbx` (removed when sbx made it and it is empty)",
            "create veth `sbxab12-0`",
            "create macvlan `mv0` on `lower0`",
            "create vlan `vl0` on `lower0`",
            "move `phys0` into the sandbox",
        ]
    );
    assert_eq!(k.links(Side::Host), ["br-sbx", "lower0", "sbxab12-0"]);
    assert_eq!(k.links(Side::Sandbox), ["eth0", "eth1", "mv0", "vl0"]);

    // Teardown: everything host-side goes, the phys interface comes back.
    assert!(journal.unwind().is_empty());
    assert_eq!(k.links(Side::Host), ["lower0", "phys0"]);
    assert!(k.links(Side::Sandbox).is_empty());
    assert!(k
        .log()
        .contains(&"move eth1 to host as phys0 mtu 1500".to_string()));
}

#[test]
fn a_failure_after_any_step_leaves_the_host_as_it_was() {
    let count = {
        let k = FailAfter::new(Recorder::with_host_links(&["lower0", "phys0"]), usize::MAX);
        let k = Rc::new(k);
        let mut journal = ApplyJournal::new();
        setup_with(k.clone(), &every_kind(), "ab12", &mut journal).unwrap();
        k.changes()
    };
    assert_eq!(count, 21);
    for n in 0..count {
        let recorder = Recorder::with_host_links(&["lower0", "phys0"]);
        let k = Rc::new(FailAfter::new(recorder.clone(), n));
        let mut journal = ApplyJournal::new();
        let err = setup_with(k.clone(), &every_kind(), "ab12", &mut journal).unwrap_err();
        assert!(k.fired(), "step {n}");
        assert!(err.to_string().ends_with(INJECTED), "step {n}: {err}");
        assert!(journal.unwind().is_empty(), "step {n}");
        assert_eq!(recorder.links(Side::Host), ["lower0", "phys0"], "step {n}");
        assert!(recorder.links(Side::Sandbox).is_empty(), "step {n}");
        assert!(recorder.state.borrow().bridges.is_empty(), "step {n}");
    }
}

#[test]
fn undo_tolerates_vanished_objects() {
    let k = Recorder::with_host_links(&["lower0", "phys0"]);
    let mut journal = ApplyJournal::new();
    setup_with(Rc::new(k.clone()), &every_kind(), "ab12", &mut journal).unwrap();
    // The sandbox died and took its virtual interfaces (and the veth) along.
    for name in ["mv0", "vl0"] {
        k.remove(Side::Sandbox, name).unwrap();
    }
    k.delete_link(Side::Host, "sbxab12-0").unwrap();
    assert!(journal.unwind().is_empty());
    assert_eq!(k.links(Side::Host), ["lower0", "phys0"]);
}

#[test]
fn phys_comes_back_under_its_name_even_when_the_workload_renamed_it() {
    let k = Recorder::with_host_links(&["lower0", "phys0"]);
    let mut journal = ApplyJournal::new();
    setup_with(Rc::new(k.clone()), &every_kind(), "ab12", &mut journal).unwrap();
    k.rename(Side::Sandbox, "eth1", "renamed").unwrap();
    assert!(journal.unwind().is_empty());
    assert_eq!(k.links(Side::Host), ["lower0", "phys0"]);
    assert!(k
        .log()
        .contains(&"move renamed to host as phys0 mtu 1500".to_string()));
}

#[test]
fn a_bridge_is_removed_only_when_sbx_made_it_and_it_is_empty() {
    let k = Recorder::default();
    let mut one = every_kind_veth_only();
    let mut first = ApplyJournal::new();
    setup_with(Rc::new(k.clone()), &one, "one", &mut first).unwrap();
    if let Network::Interfaces { interfaces } = &mut one {
        // The model has one sandbox side for both.
        interfaces[0].name = "eth1".into();
    }
    let mut second = ApplyJournal::new();
    setup_with(Rc::new(k.clone()), &one, "two", &mut second).unwrap();
    assert_eq!(
        k.log()
            .iter()
            .filter(|l| l.starts_with("create bridge"))
            .count(),
        1
    );
    assert!(first.unwind().is_empty());
    assert_eq!(
        k.links(Side::Host),
        ["br-sbx", "sbxtwo-0"],
        "in use by the second"
    );
    assert!(second.unwind().is_empty());
    assert!(k.links(Side::Host).is_empty());

    // An administrator's bridge stays.
    let k = Recorder::with_host_links(&["br-sbx"]);
    k.state
        .borrow_mut()
        .bridges
        .insert("br-sbx".into(), (false, BTreeSet::new()));
    let mut journal = ApplyJournal::new();
    setup_with(Rc::new(k.clone()), &one, "one", &mut journal).unwrap();
    assert!(journal.unwind().is_empty());
    assert_eq!(k.links(Side::Host), ["br-sbx"]);
}

fn every_kind_veth_only() -> Network {
    let mut veth = iface("eth0", NetKind::Veth, Some("br-sbx"));
    veth.create_bridge = true;
    veth.addresses = vec!["10.231.0.2/24".into()];
    Network::Interfaces {
        interfaces: vec![veth],
    }
}

#[test]
fn a_bridge_made_by_another_sandbox_meanwhile_is_used() {
    let k = Recorder::default();
    k.create_bridge("br-sbx").unwrap();
    // The first look-up does not see it yet: creation races and loses.
    k.state.borrow_mut().hide_bridges_once = true;
    let mut journal = ApplyJournal::new();
    setup_with(
        Rc::new(k.clone()),
        &every_kind_veth_only(),
        "one",
        &mut journal,
    )
    .unwrap();
    assert_eq!(
        k.log()
            .iter()
            .filter(|l| l.starts_with("create bridge"))
            .count(),
        2,
        "tried, found it made meanwhile"
    );
    assert!(k.log().contains(&"attach sbxone-0 to br-sbx".to_string()));
    assert!(journal.unwind().is_empty());
    assert!(
        k.links(Side::Host).is_empty(),
        "sbx made it and it is empty"
    );
}

#[test]
fn none_brings_up_loopback_and_host_touches_nothing() {
    let k = Recorder::default();
    setup_with(
        Rc::new(k.clone()),
        &Network::None,
        "x",
        &mut ApplyJournal::new(),
    )
    .unwrap();
    assert_eq!(k.log(), ["up sandbox lo"]);
    let k = Recorder::default();
    setup_with(
        Rc::new(k.clone()),
        &Network::Host,
        "x",
        &mut ApplyJournal::new(),
    )
    .unwrap();
    assert!(k.log().is_empty());
}

#[test]
fn a_taken_host_end_name_is_refused_before_creating_it() {
    let k = Recorder::with_host_links(&["sbxab12-0"]);
    let net = Network::Interfaces {
        interfaces: vec![iface("eth0", NetKind::Veth, None)],
    };
    let err = setup_with(Rc::new(k.clone()), &net, "ab12", &mut ApplyJournal::new()).unwrap_err();
    assert!(matches!(err, NetError::HostEndTaken { .. }), "{err}");
    assert!(!k.log().iter().any(|l| l.starts_with("create")));
}

/// A host of fixed links and kinds.
struct FakeHost {
    links: Vec<(&'static str, &'static str)>,
    unsupported: Vec<LinkKind>,
    asked: Vec<LinkKind>,
}

impl HostLinks for FakeHost {
    fn link_kind(&mut self, name: &str) -> Result<Option<String>, KernelError> {
        Ok(self
            .links
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| k.to_string()))
    }
    fn supports(&mut self, kind: LinkKind) -> Result<bool, KernelError> {
        self.asked.push(kind);
        Ok(!self.unsupported.contains(&kind))
    }
}

fn host() -> FakeHost {
    FakeHost {
        links: vec![("br0", "bridge"), ("eth9", ""), ("v0", "veth")],
        unsupported: vec![LinkKind::Vlan],
        asked: Vec::new(),
    }
}

fn preflight_err(interfaces: Vec<NetInterface>) -> String {
    preflight_with(&Network::Interfaces { interfaces }, &mut host())
        .unwrap_err()
        .to_string()
}

#[test]
fn preflight_reports_a_missing_vlan_kind_precisely() {
    let mut vlan = iface("eth0", NetKind::Vlan, Some("eth9"));
    vlan.vlan_id = Some(5);
    assert_eq!(
        preflight_err(vec![vlan]),
        "the kernel has no 802.1q (vlan) support: it does not know the link kind `vlan` \
         (CONFIG_VLAN_8021Q is not built in and the `8021q` module could not be loaded), \
         so interface `eth0` cannot be created"
    );
}

#[test]
fn preflight_checks_links_and_kinds() {
    assert_eq!(
        preflight_err(vec![iface("eth0", NetKind::Veth, Some("br9"))]),
        "interface `eth0`: the bridge `br9` does not exist on the host: create it first, \
         or let sbx create it (`create_bridge`)"
    );
    assert!(
        preflight_err(vec![iface("eth0", NetKind::Veth, Some("eth9"))])
            .contains("`eth9` is not a bridge (a physical interface)")
    );
    assert!(
        preflight_err(vec![iface("eth0", NetKind::Macvlan, Some("eth8"))])
            .contains("the parent interface `eth8` does not exist")
    );
    assert!(
        preflight_err(vec![iface("eth0", NetKind::Phys, Some("br0"))])
            .contains("cannot move a bridge")
    );

    // A bridge to create needs bridge support; an existing one does not.
    let mut h = host();
    let mut veth = iface("eth0", NetKind::Veth, Some("br9"));
    veth.create_bridge = true;
    let mut mv = iface("eth1", NetKind::Macvlan, Some("v0"));
    mv.macvlan_mode = Some(MacvlanMode::Bridge);
    let net = Network::Interfaces {
        interfaces: vec![veth.clone(), mv],
    };
    preflight_with(&net, &mut h).unwrap();
    assert_eq!(
        h.asked,
        [LinkKind::Veth, LinkKind::Bridge, LinkKind::Macvlan]
    );
    veth.link = Some("br0".into());
    let mut h = host();
    preflight_with(
        &Network::Interfaces {
            interfaces: vec![veth],
        },
        &mut h,
    )
    .unwrap();
    assert_eq!(h.asked, [LinkKind::Veth]);

    // Plan checks come first, even for a hand-written plan.
    let mut a = iface("eth0", NetKind::Veth, Some("br0"));
    a.addresses = vec!["10.231.0.2/24".into()];
    let b = a.clone();
    let mut b = NetInterface {
        name: "eth1".into(),
        ..b
    };
    b.link = Some("br0".into());
    assert!(preflight_err(vec![a, b]).starts_with("address `10.231.0.2` is given to both"));
}
