//! The kernel calls networking makes, as one trait, so that the setup
//! sequence can be recorded and a failure injected at any step without root.

use std::fmt;
use std::net::IpAddr;

use sbx_plan::MacvlanMode;

use super::check::{Cidr, LinkKind};

/// Which network namespace a call acts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The namespace sbx runs in.
    Host,
    /// The sandbox's own namespace.
    Sandbox,
}

/// A kernel call that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// The errno the kernel answered, when it answered one.
    pub errno: Option<i32>,
    pub message: String,
}

impl KernelError {
    /// The kernel's answer `errno`, described as `strerror` does, lowercase.
    pub fn from_errno(errno: i32) -> KernelError {
        let name = nix::errno::Errno::from_raw(errno);
        KernelError {
            errno: Some(errno),
            message: format!("{} ({name:?})", name.desc().to_lowercase()),
        }
    }

    /// A failure that is not an errno (a malformed answer, say).
    pub fn other(message: impl Into<String>) -> KernelError {
        KernelError {
            errno: None,
            message: message.into(),
        }
    }

    /// The same error with what was being done in front.
    pub fn with_context(self, context: &str) -> KernelError {
        KernelError {
            errno: self.errno,
            message: format!("{context}: {}", self.message),
        }
    }

    /// The object is gone already: an undo treats that as done.
    pub fn is_no_device(&self) -> bool {
        self.errno == Some(libc::ENODEV)
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for KernelError {}

impl From<std::io::Error> for KernelError {
    fn from(e: std::io::Error) -> Self {
        match e.raw_os_error() {
            Some(errno) => KernelError::from_errno(errno),
            None => KernelError::other(e.to_string()),
        }
    }
}

/// What sbx keeps of a host interface it moves into a sandbox, to give it
/// back as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSettings {
    pub mtu: u32,
    /// Empty for interfaces without a hardware address.
    pub hwaddr: Vec<u8>,
    /// Administratively up.
    pub up: bool,
}

/// A bridge as teardown sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeState {
    /// sbx created it (it carries sbx's alias).
    pub created_by_sbx: bool,
    /// Interfaces still attached to it.
    pub ports: usize,
}

/// The kernel calls of [`super::setup`]. Interfaces are named by name; a
/// call naming an interface that does not exist fails with `ENODEV`.
/// Created interfaces are down unless said otherwise.
pub trait NetKernel {
    /// Whether the interface exists.
    fn link_exists(&self, side: Side, name: &str) -> Result<bool, KernelError>;
    /// The index of an interface, which stays the same when it is renamed.
    fn link_index(&self, side: Side, name: &str) -> Result<u32, KernelError>;
    /// The MTU and hardware address of an interface.
    fn link_settings(&self, side: Side, name: &str) -> Result<LinkSettings, KernelError>;
    /// The bridge `name` on the host, `None` if there is none.
    fn bridge_state(&self, name: &str) -> Result<Option<BridgeState>, KernelError>;

    /// Creates a bridge on the host, up, marked as created by sbx.
    fn create_bridge(&self, name: &str) -> Result<(), KernelError>;
    /// Creates a veth pair: `host_end` on the host, `peer` directly in the
    /// sandbox; both ends get `mtu` when given.
    fn create_veth(&self, host_end: &str, peer: &str, mtu: Option<u32>) -> Result<(), KernelError>;
    /// Creates a macvlan `name` on the host's `parent`, directly in the sandbox.
    fn create_macvlan(
        &self,
        name: &str,
        parent: &str,
        mode: MacvlanMode,
    ) -> Result<(), KernelError>;
    /// Creates an 802.1q vlan `name` on the host's `parent`, directly in the sandbox.
    fn create_vlan(&self, name: &str, parent: &str, vlan_id: u16) -> Result<(), KernelError>;
    /// Attaches a host interface to a host bridge.
    fn attach_to_bridge(&self, name: &str, bridge: &str) -> Result<(), KernelError>;
    /// Moves a host interface into the sandbox, keeping its name.
    fn move_into_sandbox(&self, name: &str) -> Result<(), KernelError>;
    /// Moves the sandbox interface of index `index` back to the host, where
    /// it is named `host_name` and gets `settings` back (one message, so
    /// that the name never has to be free inside the sandbox). By index:
    /// the workload may have renamed it.
    fn move_to_host(
        &self,
        index: u32,
        host_name: &str,
        settings: &LinkSettings,
    ) -> Result<(), KernelError>;
    fn delete_link(&self, side: Side, name: &str) -> Result<(), KernelError>;

    fn set_up(&self, side: Side, name: &str) -> Result<(), KernelError>;
    fn set_down(&self, side: Side, name: &str) -> Result<(), KernelError>;
    /// Renames an interface; the kernel needs it down.
    fn rename(&self, side: Side, name: &str, new_name: &str) -> Result<(), KernelError>;
    fn set_mtu(&self, side: Side, name: &str, mtu: u32) -> Result<(), KernelError>;
    fn set_hwaddr(&self, side: Side, name: &str, hwaddr: [u8; 6]) -> Result<(), KernelError>;
    /// Adds an address inside the sandbox (IPv6 without duplicate address
    /// detection, as Docker does: the address is usable at once).
    fn add_address(&self, name: &str, address: Cidr) -> Result<(), KernelError>;
    /// Adds the default route via `gateway` on `name` inside the sandbox.
    fn add_default_route(&self, name: &str, gateway: IpAddr) -> Result<(), KernelError>;
}

/// What preflight asks of the host, without changing it.
pub trait HostLinks {
    /// The kind of host interface `name` (`bridge`, `veth`, `""` for a
    /// physical one), `None` when there is no such interface.
    fn link_kind(&mut self, name: &str) -> Result<Option<String>, KernelError>;
    /// Whether the kernel can create links of `kind`.
    fn supports(&mut self, kind: LinkKind) -> Result<bool, KernelError>;
}
