//! `namespaces`, `network` and the `net "IFNAME" { }` blocks.

use std::collections::HashMap;
use std::net::IpAddr;

use sbx_grammar::ast::{Block, Span, Value, ValueKind};
use sbx_plan::{MacvlanMode, Namespace, NetInterface, NetKind, Network};

use super::{Field, Fields, Lowerer};
use crate::address::{self, Cidr};
use crate::Diagnostic;

const NAMESPACE_NAMES: [&str; 8] = [
    "mount", "uts", "ipc", "pid", "net", "user", "cgroup", "time",
];

/// Created when the profile says nothing: all but `user` and `time`.
pub const DEFAULT_NAMESPACES: [Namespace; 6] = [
    Namespace::Mount,
    Namespace::Uts,
    Namespace::Ipc,
    Namespace::Pid,
    Namespace::Net,
    Namespace::Cgroup,
];

/// Linux's IFNAMSIZ less the terminating NUL.
const IFNAME_MAX: usize = 15;

pub(crate) fn namespaces_and_network(l: &mut Lowerer, top: &Fields) -> (Vec<Namespace>, Network) {
    let explicit = top.get("namespaces").map(|f| (namespaces(l, &f), f));
    let mode_field = top.get("network");
    let mode = mode_field.and_then(|f| {
        l.word(
            &f,
            f.value,
            &["none", "host"],
            "sbx::network::mode",
            "network mode",
        )
    });
    if let Some(f) = mode_field {
        l.spans.insert("network", f.value.span);
    }

    let mut addresses: HashMap<IpAddr, Span> = HashMap::new();
    let net_blocks: Vec<&Block> = top.blocks("net").collect();
    let mut interfaces = Vec::new();
    for block in &net_blocks {
        if let Some(i) = interface(l, block, interfaces.len(), &mut addresses) {
            interfaces.push(i);
        }
    }
    let first_block = net_blocks.first().map(|b| b.key.span);

    // With a misspelt namespace, whether `net` was meant is unknown: the
    // combination checks would only add noise.
    let has_net_ns = explicit
        .as_ref()
        .filter(|((_, complete), _)| *complete)
        .map(|((ns, _), _)| ns.contains(&Namespace::Net));
    match (mode, first_block) {
        (Some("host"), Some(block)) => l.push(
            Diagnostic::error(
                "sbx::network::host-with-interfaces",
                "`network = host` shares the host's network: it cannot have `net` blocks",
            )
            .with_label(mode_field.expect("mode given").value.span, "host network")
            .with_label(block, "an interface of the sandbox's own network")
            .with_help("remove the `net` blocks, or remove `network = host`"),
        ),
        (Some("none"), Some(block)) => l.push(
            Diagnostic::error(
                "sbx::network::none-with-interfaces",
                "`network = none` means loopback only: it cannot have `net` blocks",
            )
            .with_label(mode_field.expect("mode given").value.span, "loopback only")
            .with_label(block, "an interface")
            .with_help("remove `network = none`: a profile with `net` blocks has its own network"),
        ),
        _ => {}
    }
    if let Some((_, field)) = &explicit {
        match (mode, has_net_ns) {
            (Some("host"), Some(true)) => l.error(
                "sbx::network::host-with-net-namespace",
                "`network = host` contradicts `net` in `namespaces`",
                field.value.span,
                "asks for a network namespace",
                "remove `net` from `namespaces` to share the host's network, or remove `network = host`",
            ),
            (Some("none"), Some(false)) => l.error(
                "sbx::network::needs-net-namespace",
                "`network = none` needs `net` in `namespaces`",
                field.value.span,
                "no `net` here",
                "add `net` to `namespaces`, or write `network = host` to share the host's network",
            ),
            (None, Some(false)) if first_block.is_some() => l.error(
                "sbx::network::needs-net-namespace",
                "`net` blocks need `net` in `namespaces`",
                field.value.span,
                "no `net` here",
                "add `net` to `namespaces`",
            ),
            (None, Some(false)) => l.error(
                "sbx::network::unstated-host",
                "without `net` in `namespaces` the sandbox would share the host's network",
                field.value.span,
                "no `net` here",
                "write `network = host` to say so, or add `net` to `namespaces` for a network of its own",
            ),
            _ => {}
        }
    }

    if let Some(((ns, true), field)) = &explicit {
        for key in ["hostname", "domainname"] {
            let Some(set) = top.get(key) else { continue };
            if !ns.contains(&Namespace::Uts) {
                l.push(
                    Diagnostic::error(
                        "sbx::namespaces::needs-uts",
                        format!("`{key}` needs `uts` in `namespaces`"),
                    )
                    .with_label(set.key.span, format!("sets the {key}"))
                    .with_label(field.value.span, "no `uts` here")
                    .with_help(format!(
                        "add `uts` to `namespaces`: without it the host's own {key} would change"
                    )),
                );
            }
        }
    }
    let namespaces = match explicit {
        Some(((ns, _), f)) => {
            l.spans.insert("namespaces", f.value.span);
            ns
        }
        None => DEFAULT_NAMESPACES
            .iter()
            .copied()
            .filter(|n| !(mode == Some("host") && *n == Namespace::Net))
            .collect(),
    };
    let network = match mode {
        Some("host") => Network::Host,
        _ if !interfaces.is_empty() => Network::Interfaces { interfaces },
        _ => Network::None,
    };
    (namespaces, network)
}

/// The namespaces listed, and whether every item was a known name.
fn namespaces(l: &mut Lowerer, f: &Field) -> (Vec<Namespace>, bool) {
    let Some(items) = l.list(f, "a list of namespace names") else {
        return (DEFAULT_NAMESPACES.to_vec(), false);
    };
    let mut complete = true;
    let mut out: Vec<Namespace> = Vec::new();
    let mut seen: HashMap<Namespace, Span> = HashMap::new();
    for item in items {
        let Some(name) = l.word(
            f,
            item,
            &NAMESPACE_NAMES,
            "sbx::namespaces::unknown",
            "namespace",
        ) else {
            complete = false;
            continue;
        };
        let ns = Namespace::ALL
            .into_iter()
            .find(|n| n.name() == name)
            .expect("names match the plan");
        if let Some(first) = seen.get(&ns) {
            l.push(
                Diagnostic::error(
                    "sbx::namespaces::duplicate",
                    format!("namespace `{name}` is listed twice"),
                )
                .with_label(item.span, "listed again here")
                .with_label(*first, "first listed here")
                .with_help("remove one of them"),
            );
            continue;
        }
        seen.insert(ns, item.span);
        out.push(ns);
    }
    out.sort();
    (out, complete)
}

fn ifname_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("it is empty".into())
    } else if name.len() > IFNAME_MAX {
        Some(format!(
            "it is {} bytes long, Linux allows {IFNAME_MAX}",
            name.len()
        ))
    } else if name == "." || name == ".." {
        Some("`.` and `..` are not interface names".into())
    } else if name.contains(|c: char| c == '/' || c == ':' || c.is_whitespace() || c.is_control()) {
        Some("it contains `/`, `:` or a space".into())
    } else {
        None
    }
}

/// Keys that only some interface types take.
fn applies(key: &str, kind: NetKind) -> bool {
    match key {
        "link" => kind != NetKind::Empty,
        "create_bridge" => kind == NetKind::Veth,
        "mode" => kind == NetKind::Macvlan,
        "vlan" => kind == NetKind::Vlan,
        "hwaddr" | "address" | "gateway" | "mtu" => kind != NetKind::Empty,
        _ => true,
    }
}

fn kind_name(kind: NetKind) -> &'static str {
    match kind {
        NetKind::Veth => "veth",
        NetKind::Macvlan => "macvlan",
        NetKind::Vlan => "vlan",
        NetKind::Phys => "phys",
        NetKind::Empty => "empty",
    }
}

fn interface(
    l: &mut Lowerer,
    block: &Block,
    index: usize,
    addresses: &mut HashMap<IpAddr, Span>,
) -> Option<NetInterface> {
    let label = block.label.as_ref()?;
    let path = format!("network.interfaces.{index}");
    let fields = l.fields(Some("net"), &block.body);
    let name = label.name.clone();
    let mut ok = true;
    if let Some(problem) = ifname_problem(&name) {
        l.error(
            "sbx::net::ifname",
            format!("`{name}` is not a valid interface name: {problem}"),
            label.span,
            "invalid interface name",
            "an interface name is 1 to 15 bytes without `/`, `:` or spaces, such as `eth0`",
        );
        ok = false;
    }

    let kind = match fields.get("type") {
        None => {
            l.error(
                "sbx::net::missing-type",
                format!("interface `{name}` has no `type`"),
                label.span,
                "no type",
                "add `type = veth` (or `macvlan`, `vlan`, `phys`, `empty`)",
            );
            return None;
        }
        Some(f) => {
            let word = l.word(
                &f,
                f.value,
                &["veth", "macvlan", "vlan", "phys", "empty"],
                "sbx::net::type",
                "interface type",
            )?;
            match word {
                "veth" => NetKind::Veth,
                "macvlan" => NetKind::Macvlan,
                "vlan" => NetKind::Vlan,
                "phys" => NetKind::Phys,
                _ => NetKind::Empty,
            }
        }
    };

    for f in fields.assignments() {
        if !applies(f.name(), kind) {
            let which = match f.name() {
                "create_bridge" => "`veth`",
                "mode" => "`macvlan`",
                "vlan" => "`vlan`",
                _ => "`veth`, `macvlan`, `vlan` and `phys`",
            };
            l.error(
                "sbx::net::key-for-type",
                format!(
                    "`{}` applies only to {which} interfaces, `{name}` is `{}`",
                    f.name(),
                    kind_name(kind)
                ),
                f.key.span,
                "not for this type",
                format!("remove `{}`, or change `type`", f.name()),
            );
            ok = false;
        }
    }

    let link = fields.get("link").and_then(|f| {
        let link = l.string(&f)?;
        if let Some(problem) = ifname_problem(&link) {
            l.error(
                "sbx::net::ifname",
                format!("`{link}` is not a valid interface name: {problem}"),
                f.value.span,
                "invalid interface name",
                "an interface name is 1 to 15 bytes without `/`, `:` or spaces, such as `br0`",
            );
            return None;
        }
        l.spans.insert(format!("{path}.link"), f.value.span);
        Some(link)
    });
    let needs_link = matches!(kind, NetKind::Macvlan | NetKind::Vlan | NetKind::Phys);
    if needs_link && !fields.has("link") {
        let what = match kind {
            NetKind::Phys => "the host interface to move into the sandbox",
            _ => "the parent interface on the host",
        };
        l.error(
            "sbx::net::needs-link",
            format!("a `{}` interface needs `link`: {what}", kind_name(kind)),
            label.span,
            "no `link`",
            "add `link = \"eth0\"` (the host's interface)",
        );
        ok = false;
    }
    let create_bridge = fields
        .get("create_bridge")
        .and_then(|f| l.boolean(&f))
        .unwrap_or(false);
    if create_bridge && !fields.has("link") {
        l.error(
            "sbx::net::needs-link",
            "`create_bridge = true` needs `link`: the bridge to create",
            label.span,
            "no `link`",
            "add `link = \"br0\"`",
        );
        ok = false;
    }

    let macvlan_mode = if kind == NetKind::Macvlan {
        match fields.get("mode") {
            Some(f) => {
                let m = l.word(
                    &f,
                    f.value,
                    &["bridge", "vepa", "private", "passthru"],
                    "sbx::net::mode",
                    "macvlan mode",
                );
                match m {
                    Some("bridge") => Some(MacvlanMode::Bridge),
                    Some("vepa") => Some(MacvlanMode::Vepa),
                    Some("private") => Some(MacvlanMode::Private),
                    Some("passthru") => Some(MacvlanMode::Passthru),
                    _ => None,
                }
            }
            // As LXC and iproute2 default: sandboxes on one parent can talk.
            None => Some(MacvlanMode::Bridge),
        }
    } else {
        None
    };

    let vlan_id = match (kind, fields.get("vlan")) {
        (NetKind::Vlan, None) => {
            l.error(
                "sbx::net::needs-vlan",
                "a `vlan` interface needs `vlan`: the VLAN id",
                label.span,
                "no `vlan`",
                "add `vlan = 10` (an id from 1 to 4094)",
            );
            ok = false;
            None
        }
        (NetKind::Vlan, Some(f)) => {
            let id = l.integer(&f)?;
            if !(1..=4094).contains(&id) {
                l.range_error(
                    "sbx::net::range",
                    &f,
                    f.value,
                    format!("VLAN id `{id}` is outside 1-4094"),
                    "a VLAN id is from 1 to 4094",
                );
                return None;
            }
            Some(id as u16)
        }
        _ => None,
    };

    let hwaddr = fields
        .get("hwaddr")
        .filter(|_| kind != NetKind::Empty)
        .and_then(|f| {
            let text = address_text(l, &f, f.value)?;
            match address::parse_mac(&text) {
                Ok(mac) => Some(mac),
                Err(e) => {
                    l.error(
                        "sbx::net::mac",
                        format!("`{text}` is not a usable MAC address: {e}"),
                        f.value.span,
                        "invalid MAC address",
                        "write six bytes with an even first byte, such as `00:16:3e:c6:0e:04`",
                    );
                    None
                }
            }
        });

    let mut cidrs: Vec<Cidr> = Vec::new();
    if let Some(f) = fields.get("address").filter(|_| kind != NetKind::Empty) {
        for item in one_or_list(&f) {
            let Some(text) = address_text(l, &f, item) else {
                continue;
            };
            match address::parse_cidr(&text) {
                Ok(cidr) => {
                    if let Some(first) = addresses.get(&cidr.ip) {
                        l.push(
                            Diagnostic::error(
                                "sbx::net::duplicate-address",
                                format!("address `{}` is given twice", cidr.ip),
                            )
                            .with_label(item.span, "given again here")
                            .with_label(*first, "first given here")
                            .with_help("give each interface its own address"),
                        );
                        ok = false;
                        continue;
                    }
                    addresses.insert(cidr.ip, item.span);
                    cidrs.push(cidr);
                }
                Err(e) => {
                    l.error(
                        "sbx::net::cidr",
                        format!("`{text}` is not an address in CIDR notation: {e}"),
                        item.span,
                        "invalid address",
                        "write the address and its prefix length, such as `10.0.3.2/24` or `fd00::2/64`",
                    );
                    ok = false;
                }
            }
        }
        l.spans.insert(format!("{path}.addresses"), f.value.span);
    }

    let mut gateways = Vec::new();
    if let Some(f) = fields.get("gateway").filter(|_| kind != NetKind::Empty) {
        let mut v4: Option<Span> = None;
        let mut v6: Option<Span> = None;
        for item in one_or_list(&f) {
            let Some(text) = address_text(l, &f, item) else {
                continue;
            };
            let ip = match address::parse_ip(&text) {
                Ok(ip) => ip,
                Err(e) => {
                    let help = if text.contains('/') {
                        "a gateway is one address without a prefix length, such as `10.0.3.1`"
                    } else {
                        "write an IPv4 or IPv6 address, such as `10.0.3.1`"
                    };
                    l.error(
                        "sbx::net::ip",
                        format!("invalid gateway: {e}"),
                        item.span,
                        "invalid address",
                        help,
                    );
                    ok = false;
                    continue;
                }
            };
            let slot = if ip.is_ipv4() { &mut v4 } else { &mut v6 };
            if let Some(first) = slot {
                l.push(
                    Diagnostic::error(
                        "sbx::net::gateway-count",
                        format!(
                            "interface `{name}` has two {} gateways",
                            if ip.is_ipv4() { "IPv4" } else { "IPv6" }
                        ),
                    )
                    .with_label(item.span, "second gateway")
                    .with_label(*first, "first gateway")
                    .with_help("give at most one IPv4 and one IPv6 gateway"),
                );
                ok = false;
                continue;
            }
            *slot = Some(item.span);
            if !cidrs.iter().any(|c| contains(c, ip)) {
                l.error(
                    "sbx::net::gateway-unreachable",
                    format!("gateway `{ip}` is in no subnet of `{name}`'s addresses"),
                    item.span,
                    "unreachable gateway",
                    "add an address in the gateway's subnet, such as `address = [10.0.3.2/24]` for `10.0.3.1`",
                );
                ok = false;
                continue;
            }
            gateways.push(ip.to_string());
        }
        l.spans.insert(format!("{path}.gateways"), f.value.span);
    }

    let mtu = fields
        .get("mtu")
        .filter(|_| kind != NetKind::Empty)
        .and_then(|f| {
            let v = l.integer(&f)?;
            if !(68..=65535).contains(&v) {
                l.range_error(
                    "sbx::net::range",
                    &f,
                    f.value,
                    format!("MTU `{v}` is outside 68-65535"),
                    "an MTU is from 68 (the IPv4 minimum) to 65535; Ethernet uses 1500",
                );
                return None;
            }
            l.spans.insert(format!("{path}.mtu"), f.value.span);
            Some(v as u32)
        });
    let up = fields.get("up").and_then(|f| l.boolean(&f)).unwrap_or(true);

    l.spans.insert(path, label.span);
    ok.then(|| NetInterface {
        name,
        kind,
        link,
        create_bridge,
        macvlan_mode,
        vlan_id,
        hwaddr,
        addresses: cidrs
            .iter()
            .map(|c| format!("{}/{}", c.ip, c.prefix))
            .collect(),
        gateways,
        mtu,
        up,
    })
}

/// The items of a value that may be one address or a list of them.
fn one_or_list<'v>(f: &Field<'v>) -> Vec<&'v Value> {
    match &f.value.kind {
        ValueKind::List(items) => items.iter().collect(),
        _ => vec![f.value],
    }
}

/// An address written bare or quoted.
fn address_text(l: &mut Lowerer, f: &Field, value: &Value) -> Option<String> {
    match &value.kind {
        ValueKind::Address(a) => Some(a.clone()),
        ValueKind::String(s) => Some(s.value.clone()),
        _ => {
            l.type_error(f, value, "an address");
            None
        }
    }
}

fn contains(cidr: &Cidr, ip: IpAddr) -> bool {
    match (cidr.ip, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(cidr.prefix))
                .unwrap_or(0);
            u32::from(net) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(cidr.prefix))
                .unwrap_or(0);
            u128::from(net) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}
