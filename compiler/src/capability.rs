//! The Linux capabilities the compiler knows, by kernel number, and how a
//! profile may spell them.

/// Every capability of Linux 5.9 and later, indexed by its kernel number
/// (`CAP_CHOWN` = 0 .. `CAP_CHECKPOINT_RESTORE` = 40), without the `CAP_`
/// prefix.
pub const CAPABILITIES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// The set a workload keeps when the profile says nothing: podman's default.
pub const DEFAULT_SET: [&str; 11] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The kernel number of a capability written in a profile: case-insensitive,
/// `CAP_` prefix optional (`sys_admin`, `CAP_SYS_ADMIN`, `cap_sys_admin`).
pub fn number(name: &str) -> Option<usize> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    CAPABILITIES.iter().position(|c| *c == bare)
}

/// The canonical name (`CAP_SYS_ADMIN`) of a kernel number.
pub fn canonical(number: usize) -> String {
    format!("CAP_{}", CAPABILITIES[number])
}

/// The closest known capability to a misspelt one, in the spelling the user
/// used (`CAP_` prefix kept if they wrote it, lowercase if they did).
pub fn suggestion(name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    let (prefix, bare) = match upper.strip_prefix("CAP_") {
        Some(rest) => (&name[..4], rest),
        None => ("", upper.as_str()),
    };
    let found = crate::suggest::did_you_mean(bare, CAPABILITIES.iter().copied())?;
    let lowercase = name.chars().all(|c| !c.is_ascii_uppercase());
    let found = if lowercase {
        found.to_ascii_lowercase()
    } else {
        found.to_string()
    };
    Some(format!("{prefix}{found}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_the_kernel() {
        assert_eq!(number("chown"), Some(0));
        assert_eq!(number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(number("cap_net_bind_service"), Some(10));
        assert_eq!(number("checkpoint_restore"), Some(40));
        assert_eq!(number("sys_admn"), None);
        assert_eq!(canonical(39), "CAP_BPF");
    }

    #[test]
    fn suggestions_keep_the_spelling() {
        assert_eq!(suggestion("sys_admn").as_deref(), Some("sys_admin"));
        assert_eq!(suggestion("CAP_NET_ADMN").as_deref(), Some("CAP_NET_ADMIN"));
    }
}
