//! The checks of a network plan that need no kernel: names, addresses,
//! gateways, settings that fit the interface's type. The compiler checks
//! the same things; they are checked again here because a plan can be
//! written by hand.

use std::collections::BTreeMap;
use std::net::IpAddr;

use sbx_plan::{MacvlanMode, NetInterface, NetKind};

use super::names::{invalid_ifname, MAX_INTERFACES};
use super::NetError;

/// An address with its prefix length (`10.0.3.2/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Parses `ADDR/PREFIX`; the prefix is required.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let Some((addr, prefix)) = text.split_once('/') else {
            return Err(format!(
                "`{text}` has no prefix length: write it as `{text}/24` or `{text}/64`"
            ));
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{addr}` is not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("`{prefix}` is not a prefix length from 0 to {max}"))?;
        Ok(Cidr { addr, prefix })
    }

    /// Whether `other` is in this address's subnet.
    pub fn contains(&self, other: IpAddr) -> bool {
        match (self.addr, other) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }
}

/// The kinds of link sbx asks the kernel to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LinkKind {
    Bridge,
    Veth,
    Macvlan,
    Vlan,
}

impl LinkKind {
    /// The kernel's name of the kind (`IFLA_INFO_KIND`).
    pub fn kernel_name(self) -> &'static str {
        match self {
            LinkKind::Bridge => "bridge",
            LinkKind::Veth => "veth",
            LinkKind::Macvlan => "macvlan",
            LinkKind::Vlan => "vlan",
        }
    }

    /// How a user names the feature.
    pub fn feature(self) -> &'static str {
        match self {
            LinkKind::Bridge => "bridge",
            LinkKind::Veth => "veth",
            LinkKind::Macvlan => "macvlan",
            LinkKind::Vlan => "802.1q (vlan)",
        }
    }

    /// The kernel option and module that provide the kind.
    pub fn provider(self) -> (&'static str, &'static str) {
        match self {
            LinkKind::Bridge => ("CONFIG_BRIDGE", "bridge"),
            LinkKind::Veth => ("CONFIG_VETH", "veth"),
            LinkKind::Macvlan => ("CONFIG_MACVLAN", "macvlan"),
            LinkKind::Vlan => ("CONFIG_VLAN_8021Q", "8021q"),
        }
    }
}

/// One interface of the plan, checked and parsed.
#[derive(Debug, Clone)]
pub struct CheckedInterface {
    /// Its position in the plan (part of the host-end name).
    pub index: usize,
    /// The name inside the sandbox.
    pub name: String,
    pub kind: NetKind,
    pub link: Option<String>,
    pub create_bridge: bool,
    pub macvlan_mode: MacvlanMode,
    pub vlan_id: u16,
    pub hwaddr: Option<[u8; 6]>,
    pub addresses: Vec<Cidr>,
    pub gateways: Vec<IpAddr>,
    pub mtu: Option<u32>,
    pub up: bool,
}

impl CheckedInterface {
    /// The kinds of link this interface makes the kernel create.
    pub fn link_kinds(&self) -> Vec<LinkKind> {
        match self.kind {
            NetKind::Veth if self.create_bridge => vec![LinkKind::Veth, LinkKind::Bridge],
            NetKind::Veth => vec![LinkKind::Veth],
            NetKind::Macvlan => vec![LinkKind::Macvlan],
            NetKind::Vlan => vec![LinkKind::Vlan],
            NetKind::Phys | NetKind::Empty => Vec::new(),
        }
    }
}

/// The name of a type as profiles spell it.
pub fn kind_name(kind: NetKind) -> &'static str {
    match kind {
        NetKind::Veth => "veth",
        NetKind::Macvlan => "macvlan",
        NetKind::Vlan => "vlan",
        NetKind::Phys => "phys",
        NetKind::Empty => "empty",
    }
}

/// Checks every interface and the interfaces together. `empty` entries give
/// only loopback and are dropped from the result.
pub fn check_interfaces(interfaces: &[NetInterface]) -> Result<Vec<CheckedInterface>, NetError> {
    if interfaces.len() > MAX_INTERFACES {
        return Err(NetError::TooMany {
            count: interfaces.len(),
            max: MAX_INTERFACES,
        });
    }
    let mut checked = Vec::new();
    for (index, iface) in interfaces.iter().enumerate() {
        if let Some(c) = check_one(index, iface)? {
            checked.push(c);
        }
    }

    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &checked {
        if names.insert(&c.name, c.index).is_some() {
            return Err(NetError::DuplicateName {
                name: c.name.clone(),
            });
        }
    }
    // A physical interface keeps its host name until it is renamed inside:
    // that name must not be another interface's name there.
    for c in checked.iter().filter(|c| c.kind == NetKind::Phys) {
        let link = c.link.as_deref().unwrap_or_default();
        if let Some(other) = checked
            .iter()
            .find(|o| o.index != c.index && o.name == link)
        {
            return Err(NetError::Invalid {
                name: c.name.clone(),
                kind: "phys",
                problem: format!(
                    "the host interface `{link}` enters the sandbox under its own name, which is also \
                     the name of interface `{}`: rename that interface",
                    other.name
                ),
            });
        }
    }

    let mut owners: BTreeMap<IpAddr, &str> = BTreeMap::new();
    for c in &checked {
        for a in &c.addresses {
            if let Some(first) = owners.insert(a.addr, &c.name) {
                return Err(NetError::AddressCollision {
                    address: a.addr.to_string(),
                    first: first.to_string(),
                    second: c.name.clone(),
                });
            }
        }
    }

    for v6 in [false, true] {
        let mut with_gateway = checked
            .iter()
            .filter(|c| c.gateways.iter().any(|g| g.is_ipv6() == v6));
        if let (Some(first), Some(second)) = (with_gateway.next(), with_gateway.next()) {
            return Err(NetError::DefaultRouteTwice {
                version: if v6 { 6 } else { 4 },
                first: first.name.clone(),
                second: second.name.clone(),
            });
        }
    }
    Ok(checked)
}

fn check_one(index: usize, iface: &NetInterface) -> Result<Option<CheckedInterface>, NetError> {
    let kind = kind_name(iface.kind);
    let invalid = |problem: String| NetError::Invalid {
        name: iface.name.clone(),
        kind,
        problem,
    };

    if iface.kind == NetKind::Empty {
        // As LXC's `empty`: the sandbox gets loopback only, nothing to set.
        let extra = [
            ("link", iface.link.is_some()),
            ("hwaddr", iface.hwaddr.is_some()),
            ("address", !iface.addresses.is_empty()),
            ("gateway", !iface.gateways.is_empty()),
            ("mtu", iface.mtu.is_some()),
            ("vlan", iface.vlan_id.is_some()),
            ("mode", iface.macvlan_mode.is_some()),
        ];
        if let Some((key, _)) = extra.iter().find(|(_, set)| *set) {
            return Err(invalid(format!(
                "an `empty` interface gives the sandbox only loopback, so `{key}` means nothing here: \
                 remove it or choose another type"
            )));
        }
        return Ok(None);
    }

    if let Some(reason) = invalid_ifname(&iface.name) {
        return Err(invalid(format!("the name is not valid: {reason}")));
    }
    if iface.name == "lo" {
        return Err(invalid(
            "`lo` is the sandbox's loopback, which sbx sets up itself: choose another name".into(),
        ));
    }

    let link = iface.link.clone();
    match (iface.kind, &link) {
        (NetKind::Macvlan | NetKind::Vlan | NetKind::Phys, None) => {
            let what = if iface.kind == NetKind::Phys {
                "the host interface to move in"
            } else {
                "the parent interface"
            };
            return Err(invalid(format!("`link` is missing: it names {what}")));
        }
        (_, Some(link)) => {
            if let Some(reason) = invalid_ifname(link) {
                return Err(invalid(format!(
                    "`link` `{link}` is not an interface name: {reason}"
                )));
            }
            if link == "lo" {
                return Err(invalid(
                    "`link` cannot be the loopback interface `lo`".into(),
                ));
            }
        }
        (_, None) => {}
    }
    if iface.create_bridge && (iface.kind != NetKind::Veth || link.is_none()) {
        return Err(invalid(
            "creating a bridge is for a veth interface whose `link` names the bridge".into(),
        ));
    }
    if iface.macvlan_mode.is_some() && iface.kind != NetKind::Macvlan {
        return Err(invalid("`mode` is for macvlan interfaces only".into()));
    }
    let vlan_id = match (iface.kind, iface.vlan_id) {
        (NetKind::Vlan, Some(id)) if (1..=4094).contains(&id) => id,
        (NetKind::Vlan, Some(id)) => {
            return Err(invalid(format!(
                "vlan id {id} is out of range: use 1 to 4094"
            )))
        }
        (NetKind::Vlan, None) => {
            return Err(invalid("`vlan` (the vlan id, 1 to 4094) is missing".into()))
        }
        (_, Some(_)) => return Err(invalid("`vlan` is for vlan interfaces only".into())),
        (_, None) => 0,
    };
    if let Some(mtu) = iface.mtu {
        if !(68..=65535).contains(&mtu) {
            return Err(invalid(format!(
                "mtu {mtu} is out of range: use 68 to 65535"
            )));
        }
    }
    let hwaddr = iface
        .hwaddr
        .as_deref()
        .map(parse_hwaddr)
        .transpose()
        .map_err(&invalid)?;

    let addresses = iface
        .addresses
        .iter()
        .map(|a| Cidr::parse(a))
        .collect::<Result<Vec<_>, _>>()
        .map_err(&invalid)?;

    let mut gateways = Vec::new();
    for g in &iface.gateways {
        let addr: IpAddr = g
            .parse()
            .map_err(|_| invalid(format!("gateway `{g}` is not an IPv4 or IPv6 address")))?;
        if gateways
            .iter()
            .any(|o: &IpAddr| o.is_ipv6() == addr.is_ipv6())
        {
            return Err(invalid(
                "one default route per address family: give at most one IPv4 and one IPv6 gateway"
                    .into(),
            ));
        }
        if !iface.up {
            return Err(invalid(format!(
                "gateway `{g}` needs the interface up: set `up = true` or remove the gateway"
            )));
        }
        let link_local = matches!(addr, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80);
        if !link_local && !addresses.iter().any(|a| a.contains(addr)) {
            return Err(invalid(format!(
                "gateway `{g}` is in none of the interface's subnets, so the kernel cannot reach it: \
                 add an address in its subnet"
            )));
        }
        gateways.push(addr);
    }

    Ok(Some(CheckedInterface {
        index,
        name: iface.name.clone(),
        kind: iface.kind,
        link,
        create_bridge: iface.create_bridge,
        // The compiler's default (docs/language.md), so that a plan
        // written by hand means what the same profile would.
        macvlan_mode: iface.macvlan_mode.unwrap_or(MacvlanMode::Bridge),
        vlan_id,
        hwaddr,
        addresses,
        gateways,
        mtu: iface.mtu,
        up: iface.up,
    }))
}

/// Parses `aa:bb:cc:dd:ee:ff`, refusing what the kernel would refuse.
pub fn parse_hwaddr(text: &str) -> Result<[u8; 6], String> {
    let bad = || format!("hwaddr `{text}` is not a MAC address like `00:16:3e:c6:0e:04`");
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        let part = parts.next().ok_or_else(bad)?;
        if part.len() != 2 {
            return Err(bad());
        }
        *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
    }
    if parts.next().is_some() {
        return Err(bad());
    }
    if mac[0] & 1 == 1 {
        return Err(format!(
            "hwaddr `{text}` is a multicast address (the lowest bit of the first byte is set), \
             which no interface can have"
        ));
    }
    if mac == [0; 6] {
        return Err(format!(
            "hwaddr `{text}` is all zeros, which no interface can have"
        ));
    }
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn iface(name: &str, kind: NetKind) -> NetInterface {
        NetInterface {
            name: name.into(),
            kind,
            link: None,
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

    fn err(list: &[NetInterface]) -> String {
        check_interfaces(list).unwrap_err().to_string()
    }

    #[test]
    fn cidr_parsing_and_subnets() {
        let c = Cidr::parse("10.231.0.2/24").unwrap();
        assert!(c.contains("10.231.0.1".parse().unwrap()));
        assert!(!c.contains("10.231.1.1".parse().unwrap()));
        let c6 = Cidr::parse("fd00:5b::2/64").unwrap();
        assert!(c6.contains("fd00:5b::1".parse().unwrap()));
        assert!(!c6.contains("fd00:5c::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.1")
            .unwrap_err()
            .contains("no prefix length"));
        assert!(Cidr::parse("10.0.0.1/33").is_err());
        assert!(Cidr::parse("10.0.0/8").is_err());
    }

    #[test]
    fn hwaddr_parsing() {
        assert_eq!(
            parse_hwaddr("00:16:3e:c6:0e:04").unwrap(),
            [0x00, 0x16, 0x3e, 0xc6, 0x0e, 0x04]
        );
        assert!(parse_hwaddr("01:00:00:00:00:01")
            .unwrap_err()
            .contains("multicast"));
        assert!(parse_hwaddr("00:16:3e:c6:0e").is_err());
        assert!(parse_hwaddr("00:16:3e:c6:0e:04:05").is_err());
        assert!(parse_hwaddr("0:16:3e:c6:0e:04").is_err());
    }

    #[test]
    fn addresses_collide_across_interfaces() {
        let mut a = iface("eth0", NetKind::Veth);
        a.addresses = vec!["10.231.0.2/24".into()];
        let mut b = iface("eth1", NetKind::Veth);
        b.addresses = vec!["10.231.0.2/16".into()];
        assert_eq!(
            err(&[a, b]),
            "address `10.231.0.2` is given to both `eth0` and `eth1`: give each interface addresses of its own"
        );
    }

    #[test]
    fn one_default_route_per_family() {
        let mut a = iface("eth0", NetKind::Veth);
        a.addresses = vec!["10.231.0.2/24".into()];
        a.gateways = vec!["10.231.0.1".into()];
        let mut b = iface("eth1", NetKind::Veth);
        b.addresses = vec!["10.231.1.2/24".into()];
        b.gateways = vec!["10.231.1.1".into()];
        assert!(err(&[a.clone(), b]).contains("more than one IPv4 default route"));
        a.gateways.push("10.231.0.3".into());
        assert!(err(&[a]).contains("one default route per address family"));
    }

    #[test]
    fn gateway_must_be_reachable_and_up() {
        let mut a = iface("eth0", NetKind::Veth);
        a.addresses = vec!["10.231.0.2/24".into(), "fd00:5b::2/64".into()];
        a.gateways = vec!["10.231.9.1".into()];
        assert!(err(&[a.clone()]).contains("in none of the interface's subnets"));
        a.gateways = vec!["10.231.0.1".into(), "fe80::1".into()];
        assert_eq!(check_interfaces(&[a.clone()]).unwrap()[0].gateways.len(), 2);
        a.up = false;
        assert!(err(&[a]).contains("needs the interface up"));
    }

    #[test]
    fn settings_must_fit_the_type() {
        let mut m = iface("eth0", NetKind::Macvlan);
        assert!(err(&[m.clone()]).contains("`link` is missing"));
        m.link = Some("eth9".into());
        assert_eq!(
            check_interfaces(&[m.clone()]).unwrap()[0].macvlan_mode,
            MacvlanMode::Bridge
        );
        m.vlan_id = Some(4);
        assert!(err(&[m]).contains("`vlan` is for vlan interfaces only"));

        let mut v = iface("eth0", NetKind::Vlan);
        v.link = Some("eth9".into());
        assert!(err(&[v.clone()]).contains("vlan id"));
        v.vlan_id = Some(4095);
        assert!(err(&[v.clone()]).contains("out of range"));
        v.vlan_id = Some(42);
        assert_eq!(check_interfaces(&[v]).unwrap()[0].vlan_id, 42);

        let mut b = iface("eth0", NetKind::Veth);
        b.create_bridge = true;
        assert!(err(&[b]).contains("creating a bridge"));

        let mut e = iface("", NetKind::Empty);
        assert!(check_interfaces(&[e.clone()]).unwrap().is_empty());
        e.addresses = vec!["10.0.0.1/8".into()];
        assert!(err(&[e]).contains("`address` means nothing here"));

        let long = iface("abcdefghijklmnop", NetKind::Veth);
        assert!(err(&[long]).contains("at most 15 (IFNAMSIZ)"));
        let mut mtu = iface("eth0", NetKind::Veth);
        mtu.mtu = Some(67);
        assert!(err(&[mtu]).contains("mtu 67"));
    }

    #[test]
    fn names_are_unique_and_phys_does_not_shadow() {
        assert!(
            err(&[iface("eth0", NetKind::Veth), iface("eth0", NetKind::Veth)])
                .contains("two interfaces are named `eth0`")
        );
        let mut p = iface("eth0", NetKind::Phys);
        p.link = Some("eth1".into());
        assert!(err(&[p, iface("eth1", NetKind::Veth)])
            .contains("enters the sandbox under its own name"));
        assert!(err(&[iface("lo", NetKind::Veth)]).contains("loopback"));
    }
}
