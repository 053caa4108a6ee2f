//! The Linux capabilities the compiler knows, by kernel number, and how a
//! profile may spell them.

/// How many capabilities the compiler knows (`CAP_CHOWN` = 0 ..
/// `CAP_CHECKPOINT_RESTORE` = 40).
pub const COUNT: usize = sbx_plan::CAPABILITY_NAMES.len();

/// The name of a kernel number without the `CAP_` prefix (`SYS_ADMIN`).
pub fn bare(number: usize) -> &'static str {
    &sbx_plan::CAPABILITY_NAMES[number]["CAP_".len()..]
}

/// Every capability name without the `CAP_` prefix, in kernel order.
pub fn bare_names() -> impl Iterator<Item = &'static str> {
    (0..COUNT).map(bare)
}

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
    bare_names().position(|c| c == bare)
}

/// The canonical name (`CAP_SYS_ADMIN`) of a kernel number.
pub fn canonical(number: usize) -> String {
    sbx_plan::CAPABILITY_NAMES[number].to_string()
}

/// The closest known capability to a misspelt one, in the spelling the user
/// used (`CAP_` prefix kept if they wrote it, lowercase if they did).
pub fn suggestion(name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    let (prefix, bare) = match upper.strip_prefix("CAP_") {
        Some(rest) => (&name[..4], rest),
        None => ("", upper.as_str()),
    };
    let found = crate::suggest::did_you_mean(bare, bare_names())?;
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
