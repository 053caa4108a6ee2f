//! Capabilities as the kernel numbers them, and what this process holds.

use std::fmt;

pub use sbx_plan::CAPABILITY_NAMES;

pub const CAP_KILL: u32 = 5;
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_SETPCAP: u32 = 8;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_RESOURCE: u32 = 24;

/// A set of capabilities as a bit mask indexed by kernel number.
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct CapabilitySet(pub u64);

impl CapabilitySet {
    pub const EMPTY: CapabilitySet = CapabilitySet(0);

    /// Every capability numbered up to `last` (the kernel's `cap_last_cap`).
    pub fn all_up_to(last: u32) -> CapabilitySet {
        CapabilitySet(if last >= 63 {
            u64::MAX
        } else {
            (1u64 << (last + 1)) - 1
        })
    }

    pub fn contains(self, capability: u32) -> bool {
        capability < 64 && self.0 & (1 << capability) != 0
    }

    pub fn with(self, capability: u32) -> CapabilitySet {
        CapabilitySet(self.0 | (1 << capability))
    }

    pub fn union(self, other: CapabilitySet) -> CapabilitySet {
        CapabilitySet(self.0 | other.0)
    }

    pub fn intersection(self, other: CapabilitySet) -> CapabilitySet {
        CapabilitySet(self.0 & other.0)
    }

    /// What is in `self` and not in `other`.
    pub fn difference(self, other: CapabilitySet) -> CapabilitySet {
        CapabilitySet(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The capability numbers, ascending.
    pub fn numbers(self) -> impl Iterator<Item = u32> {
        (0..64).filter(move |n| self.contains(*n))
    }

    /// Canonical names, `CAP_<n>` for a number without one.
    pub fn names(self) -> Vec<String> {
        self.numbers().map(capability_name).collect()
    }
}

impl fmt::Debug for CapabilitySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

/// The canonical name of capability `number`.
pub fn capability_name(number: u32) -> String {
    CAPABILITY_NAMES
        .get(number as usize)
        .map(|n| n.to_string())
        .unwrap_or_else(|| format!("CAP_{number}"))
}

/// The kernel number of a canonical name (`CAP_SYS_ADMIN`).
pub fn capability_number(name: &str) -> Option<u32> {
    CAPABILITY_NAMES
        .iter()
        .position(|n| *n == name)
        .map(|n| n as u32)
}

/// The highest capability number the running kernel knows.
pub fn kernel_last_capability() -> Result<u32, String> {
    let text = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .map_err(|e| format!("cannot read `/proc/sys/kernel/cap_last_cap`: {e}"))?;
    text.trim()
        .parse()
        .map_err(|_| format!("`/proc/sys/kernel/cap_last_cap` holds `{}`", text.trim()))
}

/// The capability sets of this process, from `/proc/self/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProcessCapabilities {
    pub effective: CapabilitySet,
    pub permitted: CapabilitySet,
    pub inheritable: CapabilitySet,
    pub bounding: CapabilitySet,
    pub ambient: CapabilitySet,
}

impl ProcessCapabilities {
    /// Reads this process's capability sets.
    pub fn current() -> Result<ProcessCapabilities, String> {
        let status = std::fs::read_to_string("/proc/self/status")
            .map_err(|e| format!("cannot read `/proc/self/status`: {e}"))?;
        Ok(Self::parse_status(&status))
    }

    /// Parses the `Cap*` lines of a `/proc/PID/status` text.
    pub fn parse_status(status: &str) -> ProcessCapabilities {
        let mut caps = ProcessCapabilities::default();
        for line in status.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let set = CapabilitySet(u64::from_str_radix(value.trim(), 16).unwrap_or(0));
            match key {
                "CapInh" => caps.inheritable = set,
                "CapPrm" => caps.permitted = set,
                "CapEff" => caps.effective = set,
                "CapBnd" => caps.bounding = set,
                "CapAmb" => caps.ambient = set,
                _ => {}
            }
        }
        caps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_agree() {
        assert_eq!(capability_number("CAP_SYS_ADMIN"), Some(CAP_SYS_ADMIN));
        assert_eq!(capability_number("CAP_SETPCAP"), Some(CAP_SETPCAP));
        assert_eq!(capability_number("sys_admin"), None);
        assert_eq!(capability_name(40), "CAP_CHECKPOINT_RESTORE");
        assert_eq!(capability_name(50), "CAP_50");
    }

    #[test]
    fn parses_status_lines() {
        let caps = ProcessCapabilities::parse_status(
            "Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000021\nCapEff:\t0000000000000001\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\n",
        );
        assert_eq!(caps.permitted.names(), vec!["CAP_CHOWN", "CAP_KILL"]);
        assert!(caps.effective.contains(0));
        assert!(!caps.bounding.contains(CAP_SYS_RESOURCE));
        assert!(caps.bounding.contains(40));
        assert_eq!(CapabilitySet::all_up_to(40), CapabilitySet(0x1ff_ffff_ffff));
    }
}
