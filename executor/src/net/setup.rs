//! The setup sequence: host-side objects first, each journalled with its
//! undo right after it exists, then the configuration inside the sandbox
//! (namespace-local, so it dies with the sandbox and is not journalled).

use std::rc::Rc;

use sbx_plan::NetKind;

use super::check::{kind_name, CheckedInterface};
use super::kernel::{KernelError, NetKernel, Side};
use super::names::host_end;
use super::NetError;
use crate::journal::ApplyJournal;

/// Runs the sequence for checked interfaces through `kernel`.
pub fn run(
    kernel: &Rc<dyn NetKernel>,
    interfaces: &[CheckedInterface],
    sandbox_id: &str,
    journal: &mut ApplyJournal,
) -> Result<(), NetError> {
    step(kernel.set_up(Side::Sandbox, "lo"), || {
        "bring up loopback in the sandbox".into()
    })?;
    for iface in interfaces {
        create(kernel, iface, sandbox_id, journal)?;
    }
    for iface in interfaces {
        configure(kernel.as_ref(), iface)?;
    }
    Ok(())
}

fn step<T>(result: Result<T, KernelError>, what: impl FnOnce() -> String) -> Result<T, NetError> {
    result.map_err(|source| NetError::Kernel {
        step: what(),
        source,
    })
}

/// Runs `undo` and treats a vanished object as undone.
fn tolerate_gone(result: Result<(), KernelError>) -> Result<(), String> {
    match result {
        Err(e) if !e.is_no_device() => Err(e.to_string()),
        _ => Ok(()),
    }
}

/// Makes the interface exist in the sandbox under some name (its own, or a
/// phys interface's host name), journalling everything host-visible.
fn create(
    kernel: &Rc<dyn NetKernel>,
    iface: &CheckedInterface,
    sandbox_id: &str,
    journal: &mut ApplyJournal,
) -> Result<(), NetError> {
    let name = iface.name.as_str();
    let link = iface.link.as_deref().unwrap_or_default();
    match iface.kind {
        NetKind::Veth => {
            if iface.create_bridge {
                let exists = step(kernel.bridge_state(link), || {
                    format!("look for bridge `{link}`")
                })?;
                if exists.is_none() {
                    match kernel.create_bridge(link) {
                        // Another sandbox made it in between: use it.
                        Err(e)
                            if e.errno == Some(libc::EEXIST)
                                && matches!(kernel.bridge_state(link), Ok(Some(_))) => {}
                        other => step(other, || format!("create bridge `{link}`"))?,
                    }
                }
                // Recorded even when the bridge was there: the last sandbox
                // to leave an sbx-made bridge removes it.
                let k = Rc::clone(kernel);
                let bridge = link.to_string();
                journal.record(
                    format!("use bridge `{link}` (removed when sbx made it and it is empty)"),
                    move || release_bridge(k.as_ref(), &bridge),
                );
            }
            let host = host_end(sandbox_id, iface.index);
            if step(kernel.link_exists(Side::Host, &host), || {
                format!("look for `{host}`")
            })? {
                return Err(NetError::HostEndTaken {
                    host_end: host,
                    name: name.into(),
                    sandbox_id: sandbox_id.into(),
                });
            }
            step(kernel.create_veth(&host, name, iface.mtu), || {
                format!("create veth pair `{host}` (host) and `{name}` (sandbox)")
            })?;
            let k = Rc::clone(kernel);
            let undo_host = host.clone();
            journal.record(format!("create veth `{host}`"), move || {
                tolerate_gone(k.delete_link(Side::Host, &undo_host))
            });
            if iface.link.is_some() {
                step(kernel.attach_to_bridge(&host, link), || {
                    format!("attach `{host}` to bridge `{link}`")
                })?;
            }
            step(kernel.set_up(Side::Host, &host), || {
                format!("bring up `{host}`")
            })?;
        }
        NetKind::Macvlan | NetKind::Vlan => {
            let kind = kind_name(iface.kind);
            if iface.kind == NetKind::Macvlan {
                step(
                    kernel.create_macvlan(name, link, iface.macvlan_mode),
                    || format!("create macvlan `{name}` on `{link}`"),
                )?;
            } else {
                step(kernel.create_vlan(name, link, iface.vlan_id), || {
                    format!("create vlan {} `{name}` on `{link}`", iface.vlan_id)
                })?;
            }
            // It lives in the sandbox, but on a host device: removed
            // explicitly, so that teardown does not wait for the namespace.
            let k = Rc::clone(kernel);
            let undo_name = name.to_string();
            journal.record(format!("create {kind} `{name}` on `{link}`"), move || {
                tolerate_gone(k.delete_link(Side::Sandbox, &undo_name))
            });
        }
        NetKind::Phys => {
            let settings = step(kernel.link_settings(Side::Host, link), || {
                format!("read the settings of `{link}`")
            })?;
            step(kernel.move_into_sandbox(link), || {
                format!("move `{link}` into the sandbox")
            })?;
            // Its index inside, found before anything else can fail; should
            // the look-up fail, the undo looks again by name.
            let index = kernel.link_index(Side::Sandbox, link).ok();
            let k = Rc::clone(kernel);
            let (inside, original) = (name.to_string(), link.to_string());
            journal.record(format!("move `{link}` into the sandbox"), move || {
                return_phys(k.as_ref(), index, &inside, &original, &settings)
            });
        }
        NetKind::Empty => {}
    }
    Ok(())
}

/// Gives a physical interface back to the host under its original name and
/// settings, whatever it is called in the sandbox by now.
fn return_phys(
    kernel: &dyn NetKernel,
    index: Option<u32>,
    inside: &str,
    original: &str,
    settings: &super::kernel::LinkSettings,
) -> Result<(), String> {
    let index = match index {
        Some(index) => Ok(index),
        None => kernel
            .link_index(Side::Sandbox, inside)
            .or_else(|_| kernel.link_index(Side::Sandbox, original)),
    };
    match index.and_then(|index| kernel.move_to_host(index, original, settings)) {
        Ok(()) => Ok(()),
        Err(e) if e.is_no_device() => match kernel.link_exists(Side::Host, original) {
            Ok(true) => Ok(()),
            _ => Err(format!(
                "`{original}` is neither in the sandbox nor on the host any more: {e}"
            )),
        },
        Err(e) => Err(e.to_string()),
    }
}

fn release_bridge(kernel: &dyn NetKernel, bridge: &str) -> Result<(), String> {
    match kernel.bridge_state(bridge).map_err(|e| e.to_string())? {
        Some(state) if state.created_by_sbx && state.ports == 0 => {
            tolerate_gone(kernel.delete_link(Side::Host, bridge))
        }
        _ => Ok(()),
    }
}

/// Settings inside the sandbox, in the order the kernel needs them.
fn configure(kernel: &dyn NetKernel, iface: &CheckedInterface) -> Result<(), NetError> {
    let name = iface.name.as_str();
    if iface.kind == NetKind::Phys {
        let link = iface.link.as_deref().unwrap_or_default();
        if link != name {
            // Renaming needs the link down (it is down after the move, but
            // say so rather than rely on it).
            step(kernel.set_down(Side::Sandbox, link), || {
                format!("bring down `{link}` in the sandbox")
            })?;
            step(kernel.rename(Side::Sandbox, link, name), || {
                format!("rename `{link}` to `{name}` in the sandbox")
            })?;
        }
    }
    if let Some(mtu) = iface.mtu {
        // A veth got it at creation, on both ends.
        if iface.kind != NetKind::Veth {
            step(kernel.set_mtu(Side::Sandbox, name, mtu), || {
                format!("set mtu {mtu} on `{name}`")
            })?;
        }
    }
    if let Some(hwaddr) = iface.hwaddr {
        step(kernel.set_hwaddr(Side::Sandbox, name, hwaddr), || {
            format!("set the hwaddr of `{name}`")
        })?;
    }
    for address in &iface.addresses {
        step(kernel.add_address(name, *address), || {
            format!(
                "add address `{}/{}` to `{name}`",
                address.addr, address.prefix
            )
        })?;
    }
    if iface.up {
        step(kernel.set_up(Side::Sandbox, name), || {
            format!("bring up `{name}`")
        })?;
    }
    // A gateway needs the interface up (the compiler and preflight insist).
    for gateway in &iface.gateways {
        step(kernel.add_default_route(name, *gateway), || {
            format!("add the default route via `{gateway}` on `{name}`")
        })?;
    }
    Ok(())
}
