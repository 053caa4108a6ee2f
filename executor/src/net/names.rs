//! Interface names: the kernel's limits and the names of host-side ends.

/// The longest interface name the kernel accepts (`IFNAMSIZ` less the NUL).
pub const IFNAME_MAX: usize = 15;

/// The prefix of every host-side interface sbx names itself.
const HOST_PREFIX: &str = "sbx";

/// Why a name cannot be an interface name, or `None` when it can.
pub fn invalid_ifname(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if name.len() > IFNAME_MAX {
        return Some(format!(
            "it is {} bytes long, the kernel allows at most {IFNAME_MAX} (IFNAMSIZ)",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Some("`.` and `..` are not interface names".into());
    }
    // The kernel's dev_valid_name: no '/', ':' or whitespace.
    if let Some(c) = name
        .chars()
        .find(|c| *c == '/' || *c == ':' || c.is_whitespace() || c.is_control())
    {
        return Some(format!(
            "it contains {c:?}, which interface names cannot hold"
        ));
    }
    None
}

/// The host-side name of the veth pair of interface number `index` (its
/// position in the plan) of sandbox `sandbox_id`: `sbx<tag>-<index>`.
///
/// `tag` is the sandbox id itself when it is at most eight ASCII letters or
/// digits (so `ip link` shows which sandbox an end belongs to), otherwise
/// eight hex digits of a hash of it, so that the name always fits IFNAMSIZ
/// and stays the same for the same id and index.
pub fn host_end(sandbox_id: &str, index: usize) -> String {
    let readable = sandbox_id.len() <= 8
        && !sandbox_id.is_empty()
        && sandbox_id.bytes().all(|b| b.is_ascii_alphanumeric());
    let tag = if readable {
        sandbox_id.to_ascii_lowercase()
    } else {
        format!("{:08x}", fnv1a(sandbox_id.as_bytes()))
    };
    format!("{HOST_PREFIX}{tag}-{index}")
}

/// The most interfaces one sandbox may have, so that every host-end name fits
/// (`sbx` + 8 + `-` + 3 digits = 15 bytes).
pub const MAX_INTERFACES: usize = 1000;

/// 32-bit FNV-1a: stable across builds and platforms, unlike `std`'s hasher.
fn fnv1a(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_end_names_fit_and_are_stable() {
        assert_eq!(host_end("1a2b3c", 0), "sbx1a2b3c-0");
        let long = host_end("my-sandbox-with-a-long-name", 999);
        assert_eq!(long.len(), IFNAME_MAX, "{long}");
        assert_eq!(long, host_end("my-sandbox-with-a-long-name", 999));
        assert_ne!(host_end("a-b", 1), host_end("a-c", 1));
        assert_ne!(host_end("abc", 1), host_end("abc", 2));
        assert!(invalid_ifname(&host_end("x/y z", MAX_INTERFACES - 1)).is_none());
    }

    #[test]
    fn kernel_rules_for_names() {
        assert!(invalid_ifname("eth0").is_none());
        assert!(invalid_ifname("abcdefghijklmno").is_none());
        assert!(invalid_ifname("abcdefghijklmnop")
            .unwrap()
            .contains("16 bytes"));
        assert!(invalid_ifname("").is_some());
        assert!(invalid_ifname("a/b").is_some());
        assert!(invalid_ifname("a b").is_some());
        assert!(invalid_ifname("eth0:1").is_some());
        assert!(invalid_ifname("..").is_some());
    }
}
