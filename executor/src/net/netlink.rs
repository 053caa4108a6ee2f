//! The kernel calls of networking, made with rtnetlink.
//!
//! The tokio runtime rtnetlink needs is a current-thread one (no thread is
//! started: the process stays single-threaded for the namespaces the
//! executor still creates) and is built only in [`Netlink::connect`],
//! which the parent calls after the sandbox child exists.
//!
//! Two netlink sockets: one in the host's namespace, one in the sandbox's.
//! A netlink socket stays bound to the namespace it was created in, so the
//! thread enters the sandbox's namespace only to open the second socket.
//! That socket also holds a reference to the sandbox's namespace: it lives
//! on after the workload exits, until teardown has given back any physical
//! interface (in a dying namespace the kernel would send it to the init
//! namespace under its sandbox name, or delete it if it is virtual).

use std::fs::File;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd};

use futures::TryStreamExt;
use nix::sched::{setns, CloneFlags};
use rtnetlink::packet_route::address::AddressHeaderFlags;
use rtnetlink::packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkMessage, MacVlanMode,
};
use rtnetlink::{
    Handle, LinkBridge, LinkMacVlan, LinkMessageBuilder, LinkUnspec, LinkVlan, RouteMessageBuilder,
};
use sbx_plan::MacvlanMode;
use tokio::runtime::Runtime;

use super::check::Cidr;
use super::host::kind_of;
use super::kernel::{BridgeState, KernelError, LinkSettings, NetKernel, Side};

/// The alias sbx gives the bridges it creates, so that teardown removes only
/// those (never a bridge the administrator made).
pub const BRIDGE_ALIAS: &str = "created by sbx";

/// rtnetlink connections to the host's and one sandbox's network namespace.
pub struct Netlink {
    runtime: Runtime,
    host: Handle,
    sandbox: Handle,
    sandbox_pid: u32,
    /// Where interfaces go back to: the namespace of the thread that connected.
    host_netns: OwnedFd,
}

impl Netlink {
    /// Connects to the host's namespace and to that of process `child_pid`.
    /// Call only once the sandbox child exists.
    pub fn connect(child_pid: i32) -> Result<Netlink, KernelError> {
        let pid = u32::try_from(child_pid)
            .map_err(|_| KernelError::other(format!("`{child_pid}` is not a process id")))?;
        let host_netns: OwnedFd = File::open("/proc/thread-self/ns/net")
            .map_err(|e| {
                KernelError::from(e).with_context("cannot open this thread's network namespace")
            })?
            .into();
        let sandbox_netns = File::open(format!("/proc/{pid}/ns/net")).map_err(|e| {
            KernelError::from(e).with_context(&format!(
                "cannot open the network namespace of process {pid}"
            ))
        })?;
        // Interfaces "in the sandbox" would otherwise land on the host.
        let same = |a: &File, b: &OwnedFd| -> Result<bool, KernelError> {
            let a = nix::sys::stat::fstat(a).map_err(|e| KernelError::from_errno(e as i32))?;
            let b = nix::sys::stat::fstat(b).map_err(|e| KernelError::from_errno(e as i32))?;
            Ok((a.st_dev, a.st_ino) == (b.st_dev, b.st_ino))
        };
        if same(&sandbox_netns, &host_netns)? {
            return Err(KernelError::other(format!(
                "process {pid} shares sbx's network namespace: the plan's `namespaces` must include `net` for interfaces"
            )));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| KernelError::from(e).with_context("cannot start the netlink runtime"))?;
        // Sockets register with the runtime's reactor when they are made.
        let _context = runtime.enter();

        let (connection, host, _) = rtnetlink::new_connection()?;
        runtime.spawn(connection);

        setns(&sandbox_netns, CloneFlags::CLONE_NEWNET).map_err(|e| {
            KernelError::from_errno(e as i32)
                .with_context("cannot enter the sandbox's network namespace")
        })?;
        let inside = rtnetlink::new_connection();
        // Back before anything else can fail: the thread must not stay there.
        setns(&host_netns, CloneFlags::CLONE_NEWNET).map_err(|e| {
            KernelError::from_errno(e as i32)
                .with_context("cannot return to the host's network namespace")
        })?;
        let (connection, sandbox, _) = inside?;
        runtime.spawn(connection);
        drop(_context);

        Ok(Netlink {
            runtime,
            host,
            sandbox,
            sandbox_pid: pid,
            host_netns,
        })
    }

    fn handle(&self, side: Side) -> &Handle {
        match side {
            Side::Host => &self.host,
            Side::Sandbox => &self.sandbox,
        }
    }

    async fn find(handle: &Handle, name: &str) -> Result<Option<LinkMessage>, KernelError> {
        match handle
            .link()
            .get()
            .match_name(name)
            .execute()
            .try_next()
            .await
        {
            Ok(link) => Ok(link),
            Err(e) => {
                let e = KernelError::from(e);
                if e.is_no_device() {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn index(handle: &Handle, name: &str) -> Result<u32, KernelError> {
        Self::find(handle, name)
            .await?
            .map(|l| l.header.index)
            .ok_or_else(|| {
                KernelError::from_errno(libc::ENODEV)
                    .with_context(&format!("no interface `{name}`"))
            })
    }

    /// Applies `change` to the interface `name` of `side`.
    fn set(
        &self,
        side: Side,
        name: &str,
        change: impl FnOnce(LinkMessageBuilder<LinkUnspec>) -> LinkMessageBuilder<LinkUnspec>,
    ) -> Result<(), KernelError> {
        let handle = self.handle(side);
        self.runtime.block_on(async {
            let index = Self::index(handle, name).await?;
            let message = change(LinkUnspec::new_with_index(index)).build();
            handle.link().set(message).execute().await?;
            Ok(())
        })
    }

    fn add(&self, message: LinkMessage) -> Result<(), KernelError> {
        self.runtime
            .block_on(async { self.host.link().add(message).execute().await })?;
        Ok(())
    }
}

impl From<rtnetlink::Error> for KernelError {
    fn from(e: rtnetlink::Error) -> Self {
        match e {
            rtnetlink::Error::NetlinkError(message) => match message.code {
                Some(code) => KernelError::from_errno(-code.get()),
                None => KernelError::other("the kernel answered with an empty error"),
            },
            other => KernelError::other(other.to_string()),
        }
    }
}

fn macvlan_mode(mode: MacvlanMode) -> MacVlanMode {
    match mode {
        MacvlanMode::Bridge => MacVlanMode::Bridge,
        MacvlanMode::Vepa => MacVlanMode::Vepa,
        MacvlanMode::Private => MacVlanMode::Private,
        MacvlanMode::Passthru => MacVlanMode::Passthrough,
    }
}

impl NetKernel for Netlink {
    fn link_exists(&self, side: Side, name: &str) -> Result<bool, KernelError> {
        let handle = self.handle(side);
        Ok(self.runtime.block_on(Self::find(handle, name))?.is_some())
    }

    fn link_index(&self, side: Side, name: &str) -> Result<u32, KernelError> {
        self.runtime.block_on(Self::index(self.handle(side), name))
    }

    fn link_settings(&self, side: Side, name: &str) -> Result<LinkSettings, KernelError> {
        let handle = self.handle(side);
        let link = self
            .runtime
            .block_on(Self::find(handle, name))?
            .ok_or_else(|| KernelError::from_errno(libc::ENODEV))?;
        let mut settings = LinkSettings {
            mtu: 0,
            hwaddr: Vec::new(),
            up: link.header.flags.contains(LinkFlags::Up),
        };
        for attribute in link.attributes {
            match attribute {
                LinkAttribute::Mtu(mtu) => settings.mtu = mtu,
                LinkAttribute::Address(hwaddr) => settings.hwaddr = hwaddr,
                _ => {}
            }
        }
        Ok(settings)
    }

    fn bridge_state(&self, name: &str) -> Result<Option<BridgeState>, KernelError> {
        self.runtime.block_on(async {
            let Some(bridge) = Self::find(&self.host, name).await? else {
                return Ok(None);
            };
            if kind_of(&bridge) != "bridge" {
                return Ok(None);
            }
            let created_by_sbx = bridge
                .attributes
                .iter()
                .any(|a| matches!(a, LinkAttribute::IfAlias(alias) if alias == BRIDGE_ALIAS));
            let links: Vec<LinkMessage> = self.host.link().get().execute().try_collect().await?;
            let ports = links
                .iter()
                .filter(|l| {
                    l.attributes
                        .contains(&LinkAttribute::Controller(bridge.header.index))
                })
                .count();
            Ok(Some(BridgeState {
                created_by_sbx,
                ports,
            }))
        })
    }

    fn create_bridge(&self, name: &str) -> Result<(), KernelError> {
        self.add(LinkBridge::new(name).build())?;
        // The kernel takes an alias only on an existing link.
        if let Err(e) = self.set(Side::Host, name, |l| l.alias(BRIDGE_ALIAS)) {
            let _ = self.delete_link(Side::Host, name);
            return Err(e.with_context("cannot mark the new bridge as sbx's"));
        }
        Ok(())
    }

    fn create_veth(&self, host_end: &str, peer: &str, mtu: Option<u32>) -> Result<(), KernelError> {
        // The peer is born in the sandbox: nothing of it is ever on the host.
        let mut peer_message = LinkUnspec::new_with_name(peer).setns_by_pid(self.sandbox_pid);
        let mut message =
            LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Veth).name(host_end);
        if let Some(mtu) = mtu {
            peer_message = peer_message.mtu(mtu);
            message = message.mtu(mtu);
        }
        let message = message
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer_message.build())))
            .build();
        self.add(message)
    }

    fn create_macvlan(
        &self,
        name: &str,
        parent: &str,
        mode: MacvlanMode,
    ) -> Result<(), KernelError> {
        let parent = self.runtime.block_on(Self::index(&self.host, parent))?;
        self.add(
            LinkMacVlan::new(name, parent, macvlan_mode(mode))
                .setns_by_pid(self.sandbox_pid)
                .build(),
        )
    }

    fn create_vlan(&self, name: &str, parent: &str, vlan_id: u16) -> Result<(), KernelError> {
        let parent = self.runtime.block_on(Self::index(&self.host, parent))?;
        self.add(
            LinkVlan::new(name, parent, vlan_id)
                .setns_by_pid(self.sandbox_pid)
                .build(),
        )
    }

    fn attach_to_bridge(&self, name: &str, bridge: &str) -> Result<(), KernelError> {
        let bridge = self.runtime.block_on(Self::index(&self.host, bridge))?;
        self.set(Side::Host, name, |l| l.controller(bridge))
    }

    fn move_into_sandbox(&self, name: &str) -> Result<(), KernelError> {
        self.set(Side::Host, name, |l| l.setns_by_pid(self.sandbox_pid))
    }

    fn move_to_host(
        &self,
        index: u32,
        host_name: &str,
        settings: &LinkSettings,
    ) -> Result<(), KernelError> {
        // The kernel moves first, then renames, then sets the rest, flags
        // last.
        let mut message = LinkUnspec::new_with_index(index)
            .setns_by_fd(self.host_netns.as_raw_fd())
            .name(host_name)
            .mtu(settings.mtu);
        if !settings.hwaddr.is_empty() {
            message = message.address(settings.hwaddr.clone());
        }
        message = if settings.up {
            message.up()
        } else {
            message.down()
        };
        self.runtime
            .block_on(self.sandbox.link().set(message.build()).execute())?;
        Ok(())
    }

    fn delete_link(&self, side: Side, name: &str) -> Result<(), KernelError> {
        let handle = self.handle(side);
        self.runtime.block_on(async {
            let index = Self::index(handle, name).await?;
            handle.link().del(index).execute().await?;
            Ok(())
        })
    }

    fn set_up(&self, side: Side, name: &str) -> Result<(), KernelError> {
        self.set(side, name, |l| l.up())
    }

    fn set_down(&self, side: Side, name: &str) -> Result<(), KernelError> {
        self.set(side, name, |l| l.down())
    }

    fn rename(&self, side: Side, name: &str, new_name: &str) -> Result<(), KernelError> {
        self.set(side, name, |l| l.name(new_name))
    }

    fn set_mtu(&self, side: Side, name: &str, mtu: u32) -> Result<(), KernelError> {
        self.set(side, name, |l| l.mtu(mtu))
    }

    fn set_hwaddr(&self, side: Side, name: &str, hwaddr: [u8; 6]) -> Result<(), KernelError> {
        self.set(side, name, |l| l.address(hwaddr.to_vec()))
    }

    fn add_address(&self, name: &str, address: Cidr) -> Result<(), KernelError> {
        self.runtime.block_on(async {
            let index = Self::index(&self.sandbox, name).await?;
            let mut request = self
                .sandbox
                .address()
                .add(index, address.addr, address.prefix);
            if address.addr.is_ipv6() {
                request.message_mut().header.flags |= AddressHeaderFlags::Nodad;
            }
            request.execute().await?;
            Ok(())
        })
    }

    fn add_default_route(&self, name: &str, gateway: IpAddr) -> Result<(), KernelError> {
        self.runtime.block_on(async {
            let index = Self::index(&self.sandbox, name).await?;
            let route = match gateway {
                IpAddr::V4(gw) => RouteMessageBuilder::<std::net::Ipv4Addr>::new()
                    .gateway(gw)
                    .output_interface(index)
                    .build(),
                IpAddr::V6(gw) => RouteMessageBuilder::<std::net::Ipv6Addr>::new()
                    .gateway(gw)
                    .output_interface(index)
                    .build(),
            };
            self.sandbox.route().add(route).execute().await?;
            Ok(())
        })
    }
}
