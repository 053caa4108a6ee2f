//! The exposure score (`sbx_compiler::score`, docs/score.md): the shipped
//! profiles rank as a security reviewer would rank them, and the score of
//! a profile moves the right way when one setting changes.

use std::path::Path;

use sbx_compiler::score::{exposure, Exposure};
use sbx_compiler::{compile_file, compile_source};

fn score_of(path: &Path) -> Exposure {
    let c = compile_file(path);
    exposure(
        c.plan
            .as_ref()
            .unwrap_or_else(|| panic!("{} compiles", path.display())),
    )
}

fn score_src(text: &str) -> f64 {
    let c = compile_source("t.sbx", text);
    exposure(c.plan.as_ref().expect("compiles")).score
}

/// Least exposed first: untrusted code (every namespace, user namespace,
/// nobody, no capabilities, no network); the build sandbox (no network, a
/// user without a user namespace, one writable bind); the static web
/// server (nobody, a bridged veth); the bridged API (a user, a bridged
/// veth, one ambient capability, no cpu quota); hello (the host's root,
/// without a user namespace, three capabilities, no network); the
/// database (root from an image, a writable rootfs, five capabilities, a
/// bridge); mysql (root, the default capabilities, no process limit, a
/// writable rootfs); then a service on the host's network as Docker would
/// run it.
const RANKING: &[&str] = &[
    "profiles/untrusted.sbx",
    "profiles/build-sandbox.sbx",
    "profiles/web-static.sbx",
    "profiles/service-bridged.sbx",
    "profiles/hello.sbx",
    "profiles/database.sbx",
    "profiles/mysql.sbx",
    "tests/fixtures/lint/score/host-network-service.sbx",
];

#[test]
fn shipped_profiles_rank_as_a_reviewer_would() {
    let scores: Vec<(&str, f64)> = RANKING
        .iter()
        .map(|p| (*p, score_of(Path::new(p)).score))
        .collect();
    for pair in scores.windows(2) {
        assert!(
            pair[0].1 < pair[1].1,
            "{} ({}) should be less exposed than {} ({}); all: {scores:?}",
            pair[0].0,
            pair[0].1,
            pair[1].0,
            pair[1].1
        );
    }
    assert_eq!(scores[0].1, 0.0, "the untrusted-code runner is locked down");
    let host = score_of(Path::new(RANKING[RANKING.len() - 1]));
    assert!(
        host.score >= 5.0,
        "a host-network service is exposed: {host:#?}"
    );
    assert!(host
        .items
        .iter()
        .any(|i| i.id == "network" && i.exposure == 1.0));
}

#[test]
fn every_shipped_profile_is_in_the_ranking() {
    let mut shipped: Vec<String> = std::fs::read_dir("profiles")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sbx"))
        .map(|p| p.display().to_string())
        .collect();
    shipped.sort();
    let mut ranked: Vec<String> = RANKING
        .iter()
        .filter(|p| p.starts_with("profiles/"))
        .map(|p| p.to_string())
        .collect();
    ranked.sort();
    assert_eq!(shipped, ranked, "a new profile needs its place in RANKING");
}

#[test]
fn the_breakdown_adds_up_to_the_score() {
    for p in RANKING {
        let e = score_of(Path::new(p));
        let sum: f64 = e.items.iter().map(|i| i.points).sum();
        // The score is the sum rounded to one decimal.
        assert!(
            (sum - e.score).abs() <= 0.05 + 1e-9,
            "{p}: {sum} vs {}",
            e.score
        );
        assert!((0.0..=10.0).contains(&e.score));
    }
}

/// One change at a time, each in the direction it should go.
#[test]
fn each_setting_moves_the_score() {
    let base = "cmd = [\"/bin/true\"]\nuser = \"1000\"\nlimits { memory.max = 64M\npids.max = 10\ncpu.quota = 10% }\ncapabilities { drop = all }\n";
    let b = score_src(base);
    for worse in [
        "network = host\n",
        "namespaces = [mount, uts, ipc, net]\n",
        "security { no_new_privileges = false }\n",
        "mount \"/d\" { source = \"/var/run/docker.sock\" }\n",
        "mount \"/d\" { source = \"/srv/data\" }\n",
        "security { masked_paths = [] }\n",
        "from = \"/srv/rootfs\"\n",
    ] {
        let s = score_src(&format!("{base}{worse}"));
        assert!(s > b, "`{}` should raise {b}, gives {s}", worse.trim());
    }
    let rooted = base.replace("user = \"1000\"\n", "");
    assert!(score_src(&rooted) > b, "root is worse than a user");
    let userns = format!(
        "{base}namespaces = [mount, uts, ipc, pid, net, user, cgroup]\nidmap {{ uid = [[0, 100000, 65536]]\ngid = [[0, 100000, 65536]] }}\n"
    );
    assert!(score_src(&userns) < b, "a user namespace lowers it");
}

#[test]
fn wide_open_is_unsafe() {
    let e = score_src(
        "cmd = [\"/bin/true\"]\nfrom = \"/srv/root\"\nnamespaces = [uts]\nnetwork = host\n\
         capabilities { add = [sys_admin] }\n\
         security {\nno_new_privileges = false\nmasked_paths = []\nreadonly_paths = []\n}\n\
         mount \"/host\" { source = \"/\" }\n",
    );
    assert!(e >= 9.0, "{e}");
}
