//! Golden tests: each small foreign file under `tests/fixtures/convert/`
//! (one per construct family and format) converts to the snapshotted
//! profile and warnings. Each profile also passes `sbx check`, and
//! `sbx fmt` leaves it unchanged (convert -> fmt is stable).

mod convert_support;

use std::path::Path;

use convert_support::*;

fn golden(path: &Path) {
    let name = path
        .strip_prefix(fixtures())
        .expect("under the fixtures")
        .to_string_lossy()
        .to_string();
    let conversion = sbx_compiler::import::convert(&[input(&name, path)]);
    let text = profile_text(&conversion);
    let errors = check_errors(&format!("{name}.sbx"), &text);
    assert!(
        errors.is_empty(),
        "{name}: the profile fails check:\n{errors}\n{text}"
    );
    assert_eq!(
        reformat(&name, &text).as_deref(),
        Ok(text.as_str()),
        "{name}: fmt changes the converted profile"
    );
    let uncommented = uncommented_warnings(&conversion, &text);
    assert!(
        uncommented.is_empty(),
        "{name}: warnings without a comment in the profile:\n{}",
        uncommented.join("\n")
    );
    let report = format!(
        "{text}\n---- warnings ----\n{}",
        render(&conversion.diagnostics, &conversion.sources)
    );
    insta::assert_snapshot!(report);
}

#[test]
fn lxc_configs() {
    insta::glob!("fixtures/convert", "lxc/*.conf", golden);
}

#[test]
fn systemd_units() {
    insta::glob!("fixtures/convert", "systemd/*", golden);
}

#[test]
fn dockerfiles() {
    insta::glob!("fixtures/convert", "dockerfile/*", golden);
}

/// A Dockerfile, the systemd unit that runs it and its LXC network config
/// merge into one profile, in command-line order.
#[test]
fn merged_inputs() {
    let conversion = convert_fixtures(&[
        "merge/app.Dockerfile",
        "merge/app.service",
        "merge/net.conf",
    ]);
    let text = profile_text(&conversion);
    let errors = check_errors("merged.sbx", &text);
    assert!(
        errors.is_empty(),
        "the merged profile fails check:\n{errors}\n{text}"
    );
    // The unit's `docker run` is the launcher, not the workload.
    assert!(text.contains("cmd ") && text.contains("gunicorn"), "{text}");
    assert!(!text.contains("\"/usr/bin/docker\""), "{text}");
    // A value set by two inputs: the later one wins, with a warning.
    assert!(conversion
        .diagnostics
        .iter()
        .any(|d| d.code == "sbx::convert::merge-conflict" && d.message.contains("`user`")));
    let report = format!(
        "{text}\n---- warnings ----\n{}",
        render(&conversion.diagnostics, &conversion.sources)
    );
    insta::assert_snapshot!(report);
}

/// LANGUAGE.md's seed: a Dockerfile, the limits of a systemd unit and an
/// LXC config give the profile the language reference shows.
#[test]
fn seed_example() {
    let conversion = convert_fixtures(&[
        "seed/mysql.Dockerfile",
        "seed/mysql.service",
        "seed/mysql.conf",
    ]);
    let text = profile_text(&conversion);
    let errors = check_errors("seed.sbx", &text);
    assert!(errors.is_empty(), "{errors}\n{text}");
    for (key, value) in [
        ("name", "\"mysql\""),
        ("from", "\"debian:wheezy\""),
        ("hostname", "\"toto\""),
        ("entrypoint", "[\"/entrypoint.sh\"]"),
        ("cmd", "[\"mysqld\", \"--datadir=/var/lib/mysql\"]"),
        ("expose", "[3306]"),
        ("volume", "[\"/var/lib/mysql\"]"),
        ("cpu.weight", "146"),
        ("memory.max", "1G"),
        ("io.weight", "100"),
        ("drop", "[mac_admin, mac_override]"),
        ("hwaddr", "\"00:16:3e:c6:0e:04\""),
        ("tty", "4"),
        ("pts", "1024"),
    ] {
        assert_eq!(
            value_of(&text, key).as_deref(),
            Some(value),
            "{key} in\n{text}"
        );
    }
    insta::assert_snapshot!(text);
}

/// Capability restrictions of several inputs all apply: the merged set is
/// the smaller one, and lists of paths are united.
#[test]
fn merged_capabilities_intersect() {
    use sbx_compiler::import::{convert, Format, Input};
    let unit = "[Service]\nExecStart=/bin/app\nCapabilityBoundingSet=CAP_CHOWN CAP_KILL CAP_NET_RAW\nReadOnlyPaths=/etc\n";
    let lxc = "lxc.cap.drop = kill\nlxc.mount.auto = proc:mixed\n";
    let conversion = convert(&[
        Input::new("app.service", unit, Format::Systemd),
        Input::new("ct.conf", lxc, Format::Lxc),
    ]);
    let text = profile_text(&conversion);
    assert_eq!(value_of(&text, "drop").as_deref(), Some("all"), "{text}");
    assert_eq!(
        value_of(&text, "add").as_deref(),
        Some("[chown, net_raw]"),
        "{text}"
    );
    assert_eq!(
        value_of(&text, "readonly_paths").as_deref(),
        Some("[\"/etc\", \"/proc/sys\", \"/proc/sysrq-trigger\"]"),
        "{text}"
    );
    let errors = check_errors("merged.sbx", &text);
    assert!(errors.is_empty(), "{errors}\n{text}");
}

/// Formulas are applied as MAPPING.md gives them, and the comment names the
/// formula and the original value.
#[test]
fn formulas_are_commented() {
    let text = profile_text(&convert_fixtures(&["systemd/legacy.service"]));
    assert_eq!(
        value_of(&text, "cpu.weight").as_deref(),
        Some("146"),
        "{text}"
    );
    assert_eq!(
        value_of(&text, "io.weight").as_deref(),
        Some("100"),
        "{text}"
    );
    assert!(
        text.contains("CPUShares=1500 -> cpu.weight 146 (systemd: shares*100/1024)"),
        "{text}"
    );
    assert!(
        text.contains("BlockIOWeight=500 -> io.weight 100 (systemd: blkio*100/500)"),
        "{text}"
    );
    let lxc = profile_text(&convert_fixtures(&["lxc/legacy.conf"]));
    // LXC is a container runtime: the OCI runtimes' conversion applies.
    assert!(lxc.contains("cpu.shares=1500 -> cpu.weight 136"), "{lxc}");
    assert!(lxc.contains("blkio.weight=500 -> io.weight 4950"), "{lxc}");
}
