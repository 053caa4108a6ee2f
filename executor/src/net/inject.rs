//! Injected failures for rollback tests: a [`NetKernel`] that lets `n`
//! changes through, fails the next one, then lets everything through (so
//! that the undos run for real). Production code never builds one; it is
//! public so that the root tests can drive a real setup with it.

use std::cell::Cell;
use std::net::IpAddr;

use sbx_plan::MacvlanMode;

use super::check::Cidr;
use super::kernel::{BridgeState, KernelError, LinkSettings, NetKernel, Side};

/// The message of an injected failure.
pub const INJECTED: &str = "injected failure";

/// A [`NetKernel`] that fails the change after the first `n` (see the module).
pub struct FailAfter<K> {
    inner: K,
    /// Changes still allowed before the failure; `None` once it fired.
    remaining: Cell<Option<usize>>,
    /// Changes that went through.
    changes: Cell<usize>,
}

impl<K: NetKernel> FailAfter<K> {
    /// Fails the change after the first `n`. `usize::MAX` never fails, and
    /// counts the changes of a whole setup.
    pub fn new(inner: K, n: usize) -> Self {
        FailAfter {
            inner,
            remaining: Cell::new(Some(n)),
            changes: Cell::new(0),
        }
    }

    /// The number of changes made so far (the injected one not included).
    pub fn changes(&self) -> usize {
        self.changes.get()
    }

    /// Whether the failure was injected.
    pub fn fired(&self) -> bool {
        self.remaining.get().is_none()
    }

    fn gate(&self) -> Result<(), KernelError> {
        match self.remaining.get() {
            Some(0) => {
                self.remaining.set(None);
                Err(KernelError::other(INJECTED))
            }
            Some(n) => {
                self.remaining.set(Some(n - 1));
                self.changes.set(self.changes.get() + 1);
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl<K: NetKernel> NetKernel for FailAfter<K> {
    fn link_exists(&self, side: Side, name: &str) -> Result<bool, KernelError> {
        self.inner.link_exists(side, name)
    }
    fn link_index(&self, side: Side, name: &str) -> Result<u32, KernelError> {
        self.inner.link_index(side, name)
    }
    fn link_settings(&self, side: Side, name: &str) -> Result<LinkSettings, KernelError> {
        self.inner.link_settings(side, name)
    }
    fn bridge_state(&self, name: &str) -> Result<Option<BridgeState>, KernelError> {
        self.inner.bridge_state(name)
    }
    fn create_bridge(&self, name: &str) -> Result<(), KernelError> {
        self.gate()?;
        self.inner.create_bridge(name)
    }
    fn create_veth(&self, host_end: &str, peer: &str, mtu: Option<u32>) -> Result<(), KernelError> {
        self.gate()?;
        self.inner.create_veth(host_end, peer, mtu)
    }
    fn create_macvlan(
        &self,
        name: &str,
        parent: &str,
        mode: MacvlanMode,
    ) -> Result<(), KernelError> {
        self.gate()?;
        self.inner.create_macvlan(name, parent, mode)
    }
    fn create_vlan(&self, name: &str, parent: &str, vlan_id: u16) -> Result<(), KernelError> {
        self.gate()?;
        self.inner.create_vlan(name, parent, vlan_id)
    }
    fn attach_to_bridge(&self, name: &str, bridge: &str) -> Result<(), KernelError> {
        self.gate()?;
        self.inner.attach_to_bridge(name, bridge)
    }
    fn move_into_sandbox(&self, name: &str) -> Result<(), KernelError> {
        self.gate()?;
        self.inner.move_into_sandbox(name)
    }
    fn move_to_host(
        &self,
        index: u32,
        host_name: &str,
        settings: &LinkSettings,
    ) -> Result<(), KernelError> {
        self.gate()?;
        self.inner.move_to_host(index, host_name, settings)
    }
    fn delete_link(&self, side: Side, name: &str) -> Result<(), KernelError> {
        self.gate()?;
        self.inner.delete_link(side, name)
    }
    fn set_up(&self, side: Side, name: &str) -> Result<(), KernelError> {
        self.gate()?;
        self.inner.set_up(side, name)
    }
    fn set_down(&self, side: Side, name: &str) -> Result<(), KernelError> {
        self.gate()?;
        self.inner.set_down(side, name)
    }
    fn rename(&self, side: Side, name: &str, new_name: &str) -> Result<(), KernelError> {
        self.gate()?;
        self.inner.rename(side, name, new_name)
    }
    fn set_mtu(&self, side: Side, name: &str, mtu: u32) -> Result<(), KernelError> {
        self.gate()?;
        self.inner.set_mtu(side, name, mtu)
    }
    fn set_hwaddr(&self, side: Side, name: &str, hwaddr: [u8; 6]) -> Result<(), KernelError> {
        self.gate()?;
        self.inner.set_hwaddr(side, name, hwaddr)
    }
    fn add_address(&self, name: &str, address: Cidr) -> Result<(), KernelError> {
        self.gate()?;
        self.inner.add_address(name, address)
    }
    fn add_default_route(&self, name: &str, gateway: IpAddr) -> Result<(), KernelError> {
        self.gate()?;
        self.inner.add_default_route(name, gateway)
    }
}
