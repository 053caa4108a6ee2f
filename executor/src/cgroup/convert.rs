//! The arithmetic between the plan's cgroup-v2 values and the files of each
//! version (MAPPING.md, "Conversion formulas"), and the parsers of the
//! kernel's text formats.

use std::collections::BTreeSet;

/// The smallest and largest `cpu.weight` / `io.weight` (cgroup v2).
pub const WEIGHT_MIN: u64 = 1;
pub const WEIGHT_MAX: u64 = 10_000;
/// The default `cpu.weight` / `io.weight`.
pub const WEIGHT_DEFAULT: u64 = 100;

/// The range of v1 `cpu.shares` (systemd's `CGROUP_CPU_SHARES_MIN/MAX`).
pub const CPU_SHARES_MIN: u64 = 2;
pub const CPU_SHARES_MAX: u64 = 262_144;

/// The range and default of the bfq weight (`blkio.bfq.weight`,
/// `io.bfq.weight`; systemd's `CGROUP_BFQ_WEIGHT_*`).
pub const BFQ_WEIGHT_MIN: u64 = 1;
pub const BFQ_WEIGHT_DEFAULT: u64 = 100;
pub const BFQ_WEIGHT_MAX: u64 = 1000;

/// The range of a CFS period in microseconds (1 ms ... 1 s), and the
/// smallest quota the kernel accepts.
pub const CPU_PERIOD_MIN_US: u64 = 1_000;
pub const CPU_PERIOD_MAX_US: u64 = 1_000_000;
pub const CPU_QUOTA_MIN_US: u64 = 1_000;

/// `cpu.weight` (v2) as v1 `cpu.shares`, by systemd's inverse formula
/// (`cgroup_cpu_weight_to_shares`): `clamp(w * 1024 / 100, 2, 262144)`.
pub fn cpu_weight_to_shares(weight: u64) -> u64 {
    (weight.saturating_mul(1024) / WEIGHT_DEFAULT).clamp(CPU_SHARES_MIN, CPU_SHARES_MAX)
}

/// `io.weight` (v2, 1..=10000, default 100) as a bfq weight (1..=1000,
/// default 100), by systemd's `BFQ_WEIGHT()`: linear on each side of the
/// defaults, so 100 stays 100.
pub fn io_weight_to_bfq_weight(weight: u64) -> u64 {
    let weight = weight.clamp(WEIGHT_MIN, WEIGHT_MAX);
    if weight <= WEIGHT_DEFAULT {
        BFQ_WEIGHT_DEFAULT
            - (WEIGHT_DEFAULT - weight) * (BFQ_WEIGHT_DEFAULT - BFQ_WEIGHT_MIN)
                / (WEIGHT_DEFAULT - WEIGHT_MIN)
    } else {
        BFQ_WEIGHT_DEFAULT
            + (weight - WEIGHT_DEFAULT) * (BFQ_WEIGHT_MAX - BFQ_WEIGHT_DEFAULT)
                / (WEIGHT_MAX - WEIGHT_DEFAULT)
    }
}

/// What a memory file reads back after `bytes` were written: the kernel
/// keeps whole pages, rounding down.
pub fn memory_readback(bytes: u64, page_size: u64) -> u64 {
    bytes / page_size * page_size
}

/// What a v1 memory file reads back for "no limit" (`-1` written): the
/// page counter's maximum in bytes.
pub fn v1_memory_unlimited(page_size: u64) -> u64 {
    (i64::MAX as u64) / page_size * page_size
}

/// Parses a kernel cpu or node list (`0-3,8`, empty for none).
pub fn parse_list(text: &str) -> Result<BTreeSet<u32>, String> {
    let mut set = BTreeSet::new();
    let text = text.trim();
    if text.is_empty() {
        return Ok(set);
    }
    for part in text.split(',') {
        let part = part.trim();
        let bad = || format!("`{part}` is not a number or a range `A-B`");
        match part.split_once('-') {
            Some((low, high)) => {
                let low: u32 = low.trim().parse().map_err(|_| bad())?;
                let high: u32 = high.trim().parse().map_err(|_| bad())?;
                if low > high {
                    return Err(format!("the range `{part}` runs backwards"));
                }
                set.extend(low..=high);
            }
            None => {
                set.insert(part.parse().map_err(|_| bad())?);
            }
        }
    }
    Ok(set)
}

/// The number after `key` in a flat keyed file (`oom_kill 3`,
/// `default 100`): `None` without such a line, `Some(Err)` when the value
/// is not a number.
pub fn keyed_value(text: &str, key: &str) -> Option<Result<u64, ()>> {
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some(key)).then(|| words.next().and_then(|v| v.parse().ok()).ok_or(()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// systemd's forward formula (`cgroup_cpu_shares_to_weight`), used only
    /// to check the inverse against MAPPING.md's worked table.
    fn shares_to_weight(shares: u64) -> u64 {
        (shares * 100 / 1024).clamp(WEIGHT_MIN, WEIGHT_MAX)
    }

    #[test]
    fn cpu_shares_table_systemd_row() {
        // MAPPING.md, worked values: cpu.shares -> systemd weight.
        let table = [
            (2, 1),
            (100, 9),
            (256, 25),
            (512, 50),
            (1024, 100),
            (2048, 200),
            (4096, 400),
            (65536, 6400),
            (262144, 10000),
        ];
        for (shares, weight) in table {
            assert_eq!(shares_to_weight(shares), weight, "shares {shares}");
        }
        // The inverse (what sbx writes on v1) reproduces every share that
        // the weight scale can express exactly, and the default.
        for (weight, shares) in [
            (25, 256),
            (50, 512),
            (100, 1024),
            (200, 2048),
            (400, 4096),
            (6400, 65536),
        ] {
            assert_eq!(cpu_weight_to_shares(weight), shares, "weight {weight}");
        }
        // The rest truncate as systemd's integer arithmetic does.
        assert_eq!(cpu_weight_to_shares(1), 10);
        assert_eq!(cpu_weight_to_shares(9), 92);
        assert_eq!(cpu_weight_to_shares(10000), 102400);
        // And never leave the kernel's range.
        assert_eq!(cpu_weight_to_shares(0), CPU_SHARES_MIN);
        assert_eq!(cpu_weight_to_shares(u64::MAX), CPU_SHARES_MAX);
    }

    #[test]
    fn bfq_weight_mapping() {
        // systemd's BFQ_WEIGHT(): identity up to the default, then
        // 100 + (w - 100) * 900 / 9900.
        for (io, bfq) in [
            (1, 1),
            (50, 50),
            (100, 100),
            (200, 109),
            (500, 136),
            (1000, 181),
            (5000, 545),
            (10000, 1000),
        ] {
            assert_eq!(io_weight_to_bfq_weight(io), bfq, "io.weight {io}");
        }
        // MAPPING.md's blkio table, systemd row (blkio -> io.weight), then
        // on to bfq: blkio 500 (default) -> io 100 -> bfq 100.
        for (io, bfq) in [(2, 2), (20, 20), (100, 100), (200, 109)] {
            assert_eq!(io_weight_to_bfq_weight(io), bfq);
        }
    }

    #[test]
    fn memory_rounding_matches_the_kernel() {
        assert_eq!(memory_readback(100_000_000, 4096), 99_999_744);
        assert_eq!(memory_readback(64 << 20, 4096), 64 << 20);
        assert_eq!(v1_memory_unlimited(4096), 9_223_372_036_854_771_712);
    }

    #[test]
    fn lists_parse_and_compare_as_sets() {
        assert_eq!(parse_list("0-2,5").unwrap(), BTreeSet::from([0, 1, 2, 5]));
        assert_eq!(parse_list("0,1,2").unwrap(), parse_list("0-2").unwrap());
        assert!(parse_list("\n").unwrap().is_empty());
        assert!(parse_list("3-1").is_err());
        assert!(parse_list("a").is_err());
    }

    #[test]
    fn keyed_values() {
        let events = "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n";
        assert_eq!(keyed_value(events, "oom_kill"), Some(Ok(1)));
        assert_eq!(keyed_value(events, "oom"), Some(Ok(1)));
        assert_eq!(keyed_value(events, "nothing"), None);
        assert_eq!(keyed_value("default x", "default"), Some(Err(())));
    }
}
