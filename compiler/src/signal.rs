//! Signal names a profile may use (`stop_signal`).

/// Standard Linux signals by number (1..=31), without the `SIG` prefix.
const SIGNALS: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// The canonical name (`SIGTERM`) of a signal written `SIGTERM`, `sigterm`,
/// `TERM` or `term`.
pub fn canonical(name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    SIGNALS
        .iter()
        .find(|s| **s == bare)
        .map(|s| format!("SIG{s}"))
}

/// The closest signal name to a misspelt one, canonical.
pub fn suggestion(name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    crate::suggest::did_you_mean(bare, SIGNALS.iter().copied()).map(|s| format!("SIG{s}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(canonical("SIGTERM").as_deref(), Some("SIGTERM"));
        assert_eq!(canonical("quit").as_deref(), Some("SIGQUIT"));
        assert_eq!(canonical("SIGFOO"), None);
        assert_eq!(suggestion("SIGTREM").as_deref(), Some("SIGTERM"));
    }
}
