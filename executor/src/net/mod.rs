//! Placeholder for networking: the interface the apply sequence uses.
//! Until it exists, any interface is refused (fail closed).

use sbx_plan::Network;

use crate::journal::ApplyJournal;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("network interfaces are not supported by this build of sbx yet")]
    Unsupported,
}

/// Checks, without side effects, that the network the plan asks for can be
/// made here (parent links and bridges exist, link kinds supported, names
/// fit).
pub fn preflight(network: &Network) -> Result<(), NetError> {
    match network {
        Network::None | Network::Host => Ok(()),
        Network::Interfaces { .. } => Err(NetError::Unsupported),
    }
}

/// Creates the sandbox's interfaces for the child `child_pid` (already in its
/// new network namespace) and configures them inside. Each host-visible
/// object created is recorded in `journal` with its undo. `sandbox_id` makes
/// host-side names unique.
pub fn setup(
    network: &Network,
    sandbox_id: &str,
    child_pid: i32,
    journal: &mut ApplyJournal,
) -> Result<(), NetError> {
    let _ = (sandbox_id, child_pid, journal);
    preflight(network)
}
