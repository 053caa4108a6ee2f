//! The exposure score of a plan: 0.0 (locked down) to 10.0 (no isolation),
//! in the spirit of `systemd-analyze security`, computed offline from the
//! plan alone. Each [`Item`] has a fixed weight and an exposure from 0 to
//! 1; the score is ten times the weighted mean of the exposures. The
//! weights and what sets each exposure are documented in docs/score.md
//! (keep the two in step).

use sbx_plan::{MountKind, MountOption, Namespace, Network, Plan, Rootfs};
use serde::Serialize;

use crate::lint::dangerous_cap::DANGEROUS;
use crate::lint::droppable_cap::DROPPABLE;
use crate::lint::root_without_userns::is_root;
use crate::lint::sensitive_mount::sensitive;
use crate::lower::{DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS};

/// One thing that adds to the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// Stable name: `user`, `capabilities`, `network`, ...
    pub id: &'static str,
    /// Its weight (docs/score.md).
    pub weight: u32,
    /// 0.0 (isolated) to 1.0 (fully exposed).
    pub exposure: f64,
    /// What it adds to the score: `10 * weight * exposure / total weight`,
    /// two decimals.
    pub points: f64,
    /// Why, for people.
    pub reason: String,
}

/// The score of one plan and its breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exposure {
    /// 0.0 to 10.0, one decimal.
    pub score: f64,
    /// `safe`, `ok`, `medium`, `exposed` or `unsafe` (as systemd's words).
    pub verdict: &'static str,
    /// Every item, in the order of docs/score.md.
    pub items: Vec<Item>,
}

/// The weights, in the order of docs/score.md.
pub const WEIGHTS: &[(&str, u32)] = &[
    ("user", 1500),
    ("capabilities", 1500),
    ("network", 1500),
    ("sensitive-mounts", 1200),
    ("mount-namespace", 1000),
    ("no-new-privileges", 600),
    ("pid-namespace", 600),
    ("memory-limit", 500),
    ("pids-limit", 400),
    ("rootfs-writable", 400),
    ("writable-binds", 300),
    ("masked-paths", 300),
    ("ipc-namespace", 200),
    ("readonly-paths", 200),
    ("cpu-limit", 150),
    ("uts-namespace", 100),
    ("cgroup-namespace", 100),
];

fn weight(id: &str) -> u32 {
    WEIGHTS
        .iter()
        .find(|(name, _)| *name == id)
        .map(|(_, w)| *w)
        .expect("every item has a weight")
}

/// The exposure score of `plan`.
pub fn exposure(plan: &Plan) -> Exposure {
    let total: u32 = WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut items = Vec::new();
    let mut push = |id: &'static str, exposure: f64, reason: String| {
        let weight = weight(id);
        let points = 10.0 * f64::from(weight) * exposure / f64::from(total);
        // Rounded for people and JSON readers; the score is rounded from
        // the sum of these.
        items.push(Item {
            id,
            weight,
            exposure: (exposure * 1000.0).round() / 1000.0,
            points: (points * 100.0).round() / 100.0,
            reason,
        });
    };
    let userns = plan.namespaces.contains(&Namespace::User);
    let root = is_root(&plan.process.user.user);

    let (e, why) = match (root, userns) {
        (true, false) => (1.0, "root, and the host's root: no user namespace"),
        (true, true) => (0.3, "root inside a user namespace"),
        (false, false) => (
            0.2,
            "an unprivileged user, with the host's ids: no user namespace",
        ),
        (false, true) => (0.0, "an unprivileged user in a user namespace"),
    };
    push("user", e, why.to_string());

    let (e, why) = capabilities(plan, userns);
    push("capabilities", e, why);

    let (e, why) = match &plan.network {
        Network::Host => (1.0, "the host's network namespace".to_string()),
        Network::None => (0.0, "loopback only".to_string()),
        Network::Interfaces { interfaces } => (
            0.4,
            format!(
                "its own network namespace with {} interface{}",
                interfaces.len(),
                if interfaces.len() == 1 { "" } else { "s" }
            ),
        ),
    };
    push("network", e, why);

    let mut worst: (f64, String) = (0.0, "no bind mount of a sensitive host path".into());
    let mut writable = Vec::new();
    for m in &plan.mounts {
        let (MountKind::Bind, Some(source)) = (m.kind, &m.source) else {
            continue;
        };
        let ro = m.options.contains(&MountOption::Ro);
        match sensitive(source) {
            Some(why) => {
                // A socket is as dangerous read-only as not.
                let e = if ro && !why.contains("root on the host") {
                    0.5
                } else {
                    1.0
                };
                if e > worst.0 {
                    worst = (e, format!("`{source}`: {why}"));
                }
            }
            None if !ro => writable.push(format!("`{source}`")),
            None => {}
        }
    }
    push("sensitive-mounts", worst.0, worst.1);

    for (id, ns, why) in [
        (
            "mount-namespace",
            Namespace::Mount,
            "the host's mounts: no own root",
        ),
        (
            "pid-namespace",
            Namespace::Pid,
            "sees and signals the host's processes",
        ),
        ("ipc-namespace", Namespace::Ipc, "the host's System V IPC"),
        ("uts-namespace", Namespace::Uts, "the host's hostname"),
        (
            "cgroup-namespace",
            Namespace::Cgroup,
            "sees the host's cgroup tree",
        ),
    ] {
        if plan.namespaces.contains(&ns) {
            push(id, 0.0, format!("its own {} namespace", ns.name()));
        } else {
            push(id, 1.0, format!("shared with the host: {why}"));
        }
    }

    if plan.security.no_new_privileges {
        push("no-new-privileges", 0.0, "on".into());
    } else {
        push(
            "no-new-privileges",
            1.0,
            "off: setuid binaries raise privileges".into(),
        );
    }

    let limited = |l: Option<sbx_plan::Limit>| l.and_then(sbx_plan::Limit::value).is_some();
    if limited(plan.limits.memory_max) {
        push("memory-limit", 0.0, "`memory.max` set".into());
    } else {
        push("memory-limit", 1.0, "no memory limit".into());
    }
    if limited(plan.limits.pids_max) {
        push("pids-limit", 0.0, "`pids.max` set".into());
    } else {
        push("pids-limit", 1.0, "no process limit".into());
    }

    if plan.security.rootfs_readonly || plan.rootfs == Rootfs::Host {
        push("rootfs-writable", 0.0, "read-only rootfs".into());
    } else {
        push("rootfs-writable", 1.0, "writable rootfs".into());
    }

    if writable.is_empty() {
        push("writable-binds", 0.0, "no writable bind mount".into());
    } else {
        push(
            "writable-binds",
            1.0,
            format!("writable host paths: {}", writable.join(", ")),
        );
    }

    let (e, why) = missing("masked", &DEFAULT_MASKED_PATHS, &plan.security.masked_paths);
    push("masked-paths", e, why);
    let (e, why) = missing(
        "read-only",
        &DEFAULT_READONLY_PATHS,
        &plan.security.readonly_paths,
    );
    push("readonly-paths", e, why);

    if plan.limits.cpu_quota.is_some() {
        push("cpu-limit", 0.0, "`cpu.quota` set".into());
    } else {
        push("cpu-limit", 1.0, "no cpu quota".into());
    }

    let sum: f64 = items.iter().map(|i| i.points).sum();
    let score = (sum * 10.0).round() / 10.0;
    Exposure {
        score,
        verdict: verdict(score),
        items,
    }
}

/// The capabilities the workload can hold: the effective and ambient sets,
/// and the bounding set when setuid binaries may raise privileges. In a
/// user namespace they count half: they act on what the namespace owns.
fn capabilities(plan: &Plan, userns: bool) -> (f64, String) {
    let caps = &plan.capabilities;
    let mut held: Vec<&String> = caps.effective.iter().chain(&caps.ambient).collect();
    if !plan.security.no_new_privileges {
        held.extend(&caps.bounding);
    }
    held.sort();
    held.dedup();
    if held.is_empty() {
        return (0.0, "none".into());
    }
    let per_cap = |c: &str| {
        if DANGEROUS.iter().any(|(d, _)| *d == c) {
            1.0
        } else if DROPPABLE.iter().any(|(d, _)| *d == c) {
            0.3
        } else {
            0.05
        }
    };
    let mut e: f64 = held.iter().map(|c| per_cap(c)).sum::<f64>().min(1.0);
    if userns {
        e /= 2.0;
    }
    let names: Vec<String> = held
        .iter()
        .map(|c| c.trim_start_matches("CAP_").to_ascii_lowercase())
        .collect();
    (e, names.join(" "))
}

/// The share of `defaults` missing from `actual`.
fn missing(what: &str, defaults: &[&str], actual: &[String]) -> (f64, String) {
    let gone: Vec<&str> = defaults
        .iter()
        .copied()
        .filter(|d| !actual.iter().any(|a| a == d))
        .collect();
    if gone.is_empty() {
        return (0.0, format!("every default {what} path"));
    }
    (
        gone.len() as f64 / defaults.len() as f64,
        format!("not {what}: {}", gone.join(" ")),
    )
}

fn verdict(score: f64) -> &'static str {
    match score {
        s if s < 2.0 => "safe",
        s if s < 5.0 => "ok",
        s if s < 7.0 => "medium",
        s if s < 9.0 => "exposed",
        _ => "unsafe",
    }
}

impl Exposure {
    /// For people: the score, then every item that adds to it, largest
    /// first.
    pub fn render(&self, file: &str) -> String {
        let mut out = format!(
            "{file}: exposure {:.1} of 10 ({})\n",
            self.score, self.verdict
        );
        let mut items: Vec<&Item> = self.items.iter().filter(|i| i.points > 0.0).collect();
        items.sort_by(|a, b| b.points.total_cmp(&a.points));
        for i in items {
            out.push_str(&format!("  +{:.2}  {:<18} {}\n", i.points, i.id, i.reason));
        }
        out
    }

    /// For machines: `{"file", "exposure", "verdict", "items": [...]}`.
    pub fn to_json(&self, file: &str) -> serde_json::Value {
        serde_json::json!({
            "file": file,
            "exposure": self.score,
            "verdict": self.verdict,
            "items": self.items,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_name_every_item_once() {
        let plan = crate::compile_source("t.sbx", "cmd = [\"/bin/true\"]\n")
            .plan
            .expect("compiles");
        let e = exposure(&plan);
        let ids: Vec<&str> = e.items.iter().map(|i| i.id).collect();
        let weights: Vec<&str> = WEIGHTS.iter().map(|(id, _)| *id).collect();
        let mut a = ids.clone();
        a.sort();
        let mut b = weights.clone();
        b.sort();
        assert_eq!(a, b);
    }
}
