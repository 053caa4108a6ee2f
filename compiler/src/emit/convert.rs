//! The cgroup weight conversions of each ecosystem (MAPPING.md, "Conversion
//! formulas"). The plan holds cgroup v2 values (`cpu.weight`, `io.weight`,
//! 1..=10000); a target that speaks v1 units gets the value that its own
//! runtime converts back to the plan's.

/// `cpu.shares` range and default (cgroup v1).
pub const SHARES_MIN: u64 = 2;
pub const SHARES_MAX: u64 = 262_144;
pub const SHARES_DEFAULT: u64 = 1024;
/// `blkio.weight` range (cgroup v1).
pub const BLKIO_MIN: u64 = 10;
pub const BLKIO_MAX: u64 = 1000;
/// `cpu.weight` / `io.weight` range (cgroup v2).
pub const WEIGHT_MIN: u64 = 1;
pub const WEIGHT_MAX: u64 = 10_000;

/// The current OCI runtimes' `cpu.shares` to `cpu.weight` conversion (runc
/// 1.3.2 and later: `ConvertCPUSharesToCgroupV2Value`; crun's
/// `convert_shares_to_weight`): a quadratic in log space through (2, 1),
/// (1024, 100) and (262144, 10000). 0 means unset.
pub fn oci_shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    if shares <= SHARES_MIN {
        return WEIGHT_MIN;
    }
    if shares >= SHARES_MAX {
        return WEIGHT_MAX;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    10f64.powf(exponent).ceil() as u64
}

/// The old OCI conversion (runc <= 1.3.1, crun before #1721): a linear map
/// of [2, 262144] onto [1, 10000]. Only for documentation and tests.
pub fn oci_old_shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.clamp(SHARES_MIN, SHARES_MAX) - 2) * 9999 / 262_142
}

/// The `cpu.shares` to put in an OCI config so that the current runtimes'
/// conversion gives back `weight` on a cgroup v2 host. Several share
/// values convert to the same weight; of those, the one nearest to
/// systemd's linear inverse ([`systemd_weight_to_shares`]) is chosen, so
/// that a cgroup v1 host (where the shares are written as they are) gets
/// the conventional value too: weight 100 gives 1024.
pub fn oci_shares_for_weight(weight: u64) -> u64 {
    let weight = weight.clamp(WEIGHT_MIN, WEIGHT_MAX);
    // The conversion is monotonic: find the run of shares mapping to it.
    let first_at_least = |w: u64| {
        let (mut lo, mut hi) = (SHARES_MIN, SHARES_MAX);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if oci_shares_to_weight(mid) >= w {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    };
    let lo = first_at_least(weight);
    let hi = if weight == WEIGHT_MAX {
        SHARES_MAX
    } else {
        first_at_least(weight + 1) - 1
    };
    systemd_weight_to_shares(weight).clamp(lo, hi.max(lo))
}

/// The smallest `cpu.shares` that systemd's conversion
/// ([`systemd_shares_to_weight`]) reads back as `weight`: the exact inverse
/// used for LXC's v1 keys. systemd's own inverse truncates and does not
/// round-trip (weight 146 → 1495 → 145; this gives 1496 → 146).
pub fn shares_for_systemd_weight(weight: u64) -> u64 {
    let weight = weight.clamp(WEIGHT_MIN, WEIGHT_MAX);
    (weight * SHARES_DEFAULT)
        .div_ceil(100)
        .clamp(SHARES_MIN, SHARES_MAX)
}

/// systemd's `CPUShares=` to `CPUWeight=` (`cgroup_cpu_shares_to_weight`).
pub fn systemd_shares_to_weight(shares: u64) -> u64 {
    (shares * 100 / SHARES_DEFAULT).clamp(WEIGHT_MIN, WEIGHT_MAX)
}

/// systemd's `CPUWeight=` to `cpu.shares` on a v1 host
/// (`cgroup_cpu_weight_to_shares`).
pub fn systemd_weight_to_shares(weight: u64) -> u64 {
    (weight * SHARES_DEFAULT / 100).clamp(SHARES_MIN, SHARES_MAX)
}

/// The OCI runtimes' `blockIO.weight` to `io.weight`
/// (`ConvertBlkIOToIOWeightValue`): [10, 1000] linearly onto [1, 10000].
/// 0 means unset.
pub fn oci_blkio_to_io(blkio: u64) -> u64 {
    if blkio == 0 {
        return 0;
    }
    1 + (blkio.clamp(BLKIO_MIN, BLKIO_MAX) - BLKIO_MIN) * 9999 / 990
}

/// The `blockIO.weight` whose OCI conversion is nearest to `io` (ties go
/// to the lower weight). The map is not onto: only 991 io weights are
/// reachable, so the result may convert to a neighbour of `io`.
pub fn oci_blkio_for_io(io: u64) -> u64 {
    (BLKIO_MIN..=BLKIO_MAX)
        .min_by_key(|&b| oci_blkio_to_io(b).abs_diff(io))
        .expect("the range is not empty")
}

/// systemd's `BlockIOWeight=` to `IOWeight=` (`cgroup_weight_blkio_to_io`).
pub fn systemd_blkio_to_io(blkio: u64) -> u64 {
    (blkio * 100 / 500).clamp(WEIGHT_MIN, WEIGHT_MAX)
}

/// systemd's `IOWeight=` to `blkio.weight` on a v1 host
/// (`cgroup_weight_io_to_blkio`).
pub fn systemd_io_to_blkio(io: u64) -> u64 {
    (io * 500 / 100).clamp(BLKIO_MIN, BLKIO_MAX)
}

/// systemd's `IOWeight=` to `blkio.bfq.weight` / `io.bfq.weight` (1-1000,
/// default 100; `BFQ_WEIGHT()` in cgroup-util.h): identity up to 100, then
/// [100, 10000] linearly onto [100, 1000].
pub fn systemd_io_to_bfq(io: u64) -> u64 {
    let io = io.clamp(WEIGHT_MIN, WEIGHT_MAX);
    if io <= 100 {
        100 - (100 - io) * 99 / 99
    } else {
        100 + (io - 100) * 900 / 9900
    }
}

/// A CPU quota as a percentage of one CPU, as systemd's `CPUQuota=` takes
/// it (at most two decimals), and whether that percentage is exact; when
/// not, the text is the nearest percentage with two decimals.
pub fn quota_percent(quota_us: u64, period_us: u64) -> (String, bool) {
    // Hundredths of a percent: quota / period * 100 * 100.
    let scaled = quota_us as u128 * 10_000;
    let period = period_us.max(1) as u128;
    let exact = scaled.is_multiple_of(period);
    let hundredths = (scaled + period / 2) / period;
    let whole = hundredths / 100;
    let frac = hundredths % 100;
    let text = if frac == 0 {
        format!("{whole}%")
    } else if frac.is_multiple_of(10) {
        format!("{whole}.{}%", frac / 10)
    } else {
        format!("{whole}.{frac:02}%")
    };
    (text, exact)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MAPPING.md's worked values: shares, systemd weight, OCI old, OCI current.
    const SHARES_TABLE: [(u64, u64, u64, u64); 9] = [
        (2, 1, 1, 1),
        (100, 9, 4, 17),
        (256, 25, 10, 35),
        (512, 50, 20, 59),
        (1024, 100, 39, 100),
        (2048, 200, 79, 174),
        (4096, 400, 157, 303),
        (65536, 6400, 2500, 3023),
        (262_144, 10_000, 10_000, 10_000),
    ];

    #[test]
    fn shares_to_weight_matches_the_worked_values() {
        for (shares, systemd, old, current) in SHARES_TABLE {
            assert_eq!(
                systemd_shares_to_weight(shares),
                systemd,
                "systemd {shares}"
            );
            assert_eq!(oci_old_shares_to_weight(shares), old, "old OCI {shares}");
            assert_eq!(
                oci_shares_to_weight(shares),
                current,
                "current OCI {shares}"
            );
        }
    }

    #[test]
    fn oci_shares_for_weight_round_trips_through_the_runtime_formula() {
        for weight in WEIGHT_MIN..=WEIGHT_MAX {
            let shares = oci_shares_for_weight(weight);
            assert!((SHARES_MIN..=SHARES_MAX).contains(&shares));
            assert_eq!(oci_shares_to_weight(shares), weight, "weight {weight}");
        }
    }

    #[test]
    fn oci_shares_for_worked_weights_are_the_table_shares_where_they_round_trip() {
        // 1024 <-> 100 is the default both ways; 2 and 262144 are the ends.
        assert_eq!(oci_shares_for_weight(100), 1024);
        assert_eq!(oci_shares_for_weight(1), 2);
        assert_eq!(oci_shares_to_weight(oci_shares_for_weight(10_000)), 10_000);
        for (shares, _, _, current) in SHARES_TABLE {
            let back = oci_shares_for_weight(current);
            assert_eq!(oci_shares_to_weight(back), current, "shares {shares}");
        }
    }

    #[test]
    fn systemd_weight_inverse_matches_the_worked_values() {
        assert_eq!(systemd_weight_to_shares(100), 1024);
        assert_eq!(systemd_weight_to_shares(1), 10);
        assert_eq!(systemd_weight_to_shares(10_000), 102_400);
        // The seed example: CPUShares=1500 is weight 146, back to 1495.
        assert_eq!(systemd_shares_to_weight(1500), 146);
        assert_eq!(systemd_weight_to_shares(146), 1495);
    }

    #[test]
    fn shares_for_systemd_weight_round_trips() {
        for weight in WEIGHT_MIN..=WEIGHT_MAX {
            let shares = shares_for_systemd_weight(weight);
            assert_eq!(systemd_shares_to_weight(shares), weight, "weight {weight}");
            assert!(shares >= systemd_weight_to_shares(weight));
        }
        assert_eq!(shares_for_systemd_weight(100), 1024);
        assert_eq!(shares_for_systemd_weight(146), 1496);
        for (shares, systemd, _, _) in SHARES_TABLE {
            if shares <= 10_000 * 1024 / 100 && shares > 2 {
                assert_eq!(
                    systemd_shares_to_weight(shares_for_systemd_weight(systemd)),
                    systemd
                );
            }
        }
    }

    #[test]
    fn blkio_conversions_match_the_worked_values() {
        for (blkio, oci, systemd) in [
            (10, 1, 2),
            (100, 910, 20),
            (500, 4950, 100),
            (1000, 10_000, 200),
        ] {
            assert_eq!(oci_blkio_to_io(blkio), oci, "OCI {blkio}");
            assert_eq!(systemd_blkio_to_io(blkio), systemd, "systemd {blkio}");
            assert_eq!(oci_blkio_for_io(oci), blkio, "OCI inverse {oci}");
            assert_eq!(
                systemd_io_to_blkio(systemd),
                blkio,
                "systemd inverse {systemd}"
            );
        }
        // io.weight 100 (the v2 default) has no exact OCI blkio weight.
        let b = oci_blkio_for_io(100);
        assert_eq!(b, 20);
        assert_eq!(oci_blkio_to_io(b), 102);
    }

    #[test]
    fn bfq_weight_is_systemds() {
        for (io, bfq) in [
            (1, 1),
            (50, 50),
            (100, 100),
            (200, 109),
            (1000, 181),
            (10_000, 1000),
        ] {
            assert_eq!(systemd_io_to_bfq(io), bfq, "io {io}");
        }
    }

    #[test]
    fn quota_percent_uses_at_most_two_decimals() {
        assert_eq!(quota_percent(200_000, 100_000), ("200%".into(), true));
        assert_eq!(quota_percent(50_000, 100_000), ("50%".into(), true));
        assert_eq!(quota_percent(12_500, 100_000), ("12.5%".into(), true));
        assert_eq!(quota_percent(1_000, 1_000_000), ("0.1%".into(), true));
        assert!(!quota_percent(1, 300_000).1);
    }
}
