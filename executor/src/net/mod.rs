//! Networking: the sandbox's interfaces, made with rtnetlink.
//!
//! [`preflight`] checks, before anything is created, that the plan's network
//! can be made here; [`setup`] makes it once the sandbox child exists, and
//! journals every host-visible object with its undo. See docs/network.md.
//!
//! For `network = none` and for interfaces, [`setup`] also brings up the
//! sandbox's loopback (idempotent: the sandbox init brings it up too, so
//! `sbx apply` calls [`setup`] only when there are interfaces).

mod check;
mod host;
pub mod inject;
pub mod kernel;
mod names;
mod netlink;
mod setup;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::rc::Rc;

use caps::{CapSet, Capability};
use sbx_plan::{NetKind, Network};

use crate::journal::ApplyJournal;

pub use check::{Cidr, LinkKind};
pub use kernel::{HostLinks, KernelError, NetKernel, Side};
pub use names::{host_end, IFNAME_MAX};
pub use netlink::{Netlink, BRIDGE_ALIAS};

/// Why the network of a plan cannot be made, or why making it failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("interface `{name}` ({kind}): {problem}")]
    Invalid {
        name: String,
        kind: &'static str,
        problem: String,
    },
    #[error("two interfaces are named `{name}`: give each a name of its own")]
    DuplicateName { name: String },
    #[error("the plan has {count} interfaces, at most {max} are supported")]
    TooMany { count: usize, max: usize },
    #[error("address `{address}` is given to both `{first}` and `{second}`: give each interface addresses of its own")]
    AddressCollision {
        address: String,
        first: String,
        second: String,
    },
    #[error("more than one IPv{version} default route: `{first}` and `{second}` both have an IPv{version} gateway; keep one")]
    DefaultRouteTwice {
        version: u8,
        first: String,
        second: String,
    },
    #[error("interface `{name}`: the {what} `{link}` does not exist on the host{help}")]
    LinkMissing {
        name: String,
        what: &'static str,
        link: String,
        help: &'static str,
    },
    #[error("interface `{name}`: `{link}` is not a bridge ({found}): the `link` of a veth names the bridge its host end joins")]
    NotABridge {
        name: String,
        link: String,
        found: String,
    },
    #[error("interface `{name}` (phys): `{link}` is a bridge, and the kernel cannot move a bridge into another network namespace")]
    PhysIsBridge { name: String, link: String },
    #[error(
        "the kernel has no {feature} support: it does not know the link kind `{kind}` ({config} is not built in \
         and the `{module}` module could not be loaded), so interface `{name}` cannot be created"
    )]
    KindUnsupported {
        feature: &'static str,
        kind: &'static str,
        config: &'static str,
        module: &'static str,
        name: String,
    },
    #[error("the host already has an interface `{host_end}`, the name sbx gives the host end of `{name}`: is another sandbox with the id `{sandbox_id}` running?")]
    HostEndTaken {
        host_end: String,
        name: String,
        sandbox_id: String,
    },
    #[error("network interfaces need CAP_NET_ADMIN on the host, which sbx does not have here: run it as root, or use `network = none`")]
    NeedsNetAdmin,
    #[error("cannot look at the host's interfaces: {0}")]
    Host(#[source] KernelError),
    #[error("cannot {step}: {source}")]
    Kernel {
        step: String,
        #[source]
        source: KernelError,
    },
}

/// Checks, without side effects, that the network the plan asks for can be
/// made here: the plan itself (names fit IFNAMSIZ, addresses do not collide,
/// gateways are reachable), the parent links and bridges exist (or will be
/// created), the kernel supports each link kind. No tokio runtime is started.
pub fn preflight(network: &Network) -> Result<(), NetError> {
    match network {
        Network::None | Network::Host => Ok(()),
        Network::Interfaces { interfaces } => {
            if check::check_interfaces(interfaces)?.is_empty() {
                return Ok(());
            }
            let can = caps::has_cap(None, CapSet::Effective, Capability::CAP_NET_ADMIN);
            if !can.unwrap_or(false) {
                return Err(NetError::NeedsNetAdmin);
            }
            let mut host = host::KernelHost::open().map_err(NetError::Host)?;
            preflight_with(network, &mut host)
        }
    }
}

/// [`preflight`] against any view of the host (unit tests use a fake).
pub fn preflight_with(network: &Network, host: &mut dyn HostLinks) -> Result<(), NetError> {
    let Network::Interfaces { interfaces } = network else {
        return Ok(());
    };
    let checked = check::check_interfaces(interfaces)?;
    let mut supported = BTreeSet::new();
    for iface in &checked {
        let link = iface.link.clone().unwrap_or_default();
        let link_kind = match &iface.link {
            Some(link) => host.link_kind(link).map_err(NetError::Host)?,
            None => None,
        };
        let mut kinds = iface.link_kinds();
        // An existing bridge is used as it is: no bridge support needed.
        if link_kind.is_some() {
            kinds.retain(|k| *k != LinkKind::Bridge);
        }
        for kind in kinds {
            if supported.contains(&kind) {
                continue;
            }
            if !host.supports(kind).map_err(NetError::Host)? {
                let (config, module) = kind.provider();
                return Err(NetError::KindUnsupported {
                    feature: kind.feature(),
                    kind: kind.kernel_name(),
                    config,
                    module,
                    name: iface.name.clone(),
                });
            }
            supported.insert(kind);
        }
        let missing = |what, help| NetError::LinkMissing {
            name: iface.name.clone(),
            what,
            link: link.clone(),
            help,
        };
        match (iface.kind, link_kind.as_deref()) {
            (NetKind::Veth, None) if iface.link.is_some() && !iface.create_bridge => {
                return Err(missing(
                    "bridge",
                    ": create it first, or let sbx create it (`create_bridge`)",
                ))
            }
            (NetKind::Veth, Some(found)) if found != "bridge" => {
                return Err(NetError::NotABridge {
                    name: iface.name.clone(),
                    link,
                    found: if found.is_empty() {
                        "a physical interface".into()
                    } else {
                        format!("a {found} interface")
                    },
                })
            }
            (NetKind::Macvlan | NetKind::Vlan, None) => {
                return Err(missing("parent interface", ": check `link`"))
            }
            (NetKind::Phys, None) => return Err(missing("interface", ": check `link`")),
            (NetKind::Phys, Some("bridge")) => {
                return Err(NetError::PhysIsBridge {
                    name: iface.name.clone(),
                    link,
                })
            }
            _ => {}
        }
    }
    Ok(())
}

/// Creates the sandbox's interfaces for the child `child_pid` (already in its
/// new network namespace) and configures them inside; brings up its
/// loopback. Each host-visible object created is recorded in `journal` with
/// its undo. `sandbox_id` makes host-side names unique. Call only after the
/// child exists: this starts the tokio runtime rtnetlink needs.
pub fn setup(
    network: &Network,
    sandbox_id: &str,
    child_pid: i32,
    journal: &mut ApplyJournal,
) -> Result<(), NetError> {
    if matches!(network, Network::Host) {
        return Ok(());
    }
    let kernel = Netlink::connect(child_pid).map_err(|source| NetError::Kernel {
        step: "connect to the host's and the sandbox's network namespaces".into(),
        source,
    })?;
    setup_with(Rc::new(kernel), network, sandbox_id, journal)
}

/// [`setup`] through any [`NetKernel`] (tests record calls or inject failures).
pub fn setup_with(
    kernel: Rc<dyn NetKernel>,
    network: &Network,
    sandbox_id: &str,
    journal: &mut ApplyJournal,
) -> Result<(), NetError> {
    let interfaces = match network {
        Network::Host => return Ok(()),
        Network::None => Vec::new(),
        Network::Interfaces { interfaces } => check::check_interfaces(interfaces)?,
    };
    setup::run(&kernel, &interfaces, sandbox_id, journal)
}
