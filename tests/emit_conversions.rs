//! The emitters apply MAPPING.md's conventions end to end, checked on its
//! worked values: OCI configs carry the v1 value that the current OCI
//! runtimes convert back to the plan's weight; LXC v1 configs carry
//! systemd's inverse; systemd and LXC v2 carry the weight itself.

mod emit_support;

use sbx_compiler::emit::{self, convert, CgroupVersion, EmitOptions, EmitTarget};
use sbx_plan::{CgroupLimits, Plan};

/// (cpu.shares, systemd weight, current OCI weight) from MAPPING.md.
const SHARES: [(u64, u64, u64); 9] = [
    (2, 1, 1),
    (100, 9, 17),
    (256, 25, 35),
    (512, 50, 59),
    (1024, 100, 100),
    (2048, 200, 174),
    (4096, 400, 303),
    (65536, 6400, 3023),
    (262_144, 10_000, 10_000),
];

/// (blkio.weight, OCI io.weight, systemd io.weight) from MAPPING.md.
const BLKIO: [(u64, u64, u64); 4] = [
    (10, 1, 2),
    (100, 910, 20),
    (500, 4950, 100),
    (1000, 10_000, 200),
];

fn with_limits(limits: CgroupLimits) -> Plan {
    let mut plan = emit_support::minimal_host();
    plan.limits = limits;
    plan
}

fn oci_resources(plan: &Plan) -> (serde_json::Value, usize) {
    let emitted = emit::emit(plan, EmitTarget::Oci, &EmitOptions::default()).expect("emits");
    let config: serde_json::Value = serde_json::from_str(&emitted.files[0].contents).expect("JSON");
    (config["linux"]["resources"].clone(), emitted.warnings.len())
}

fn text(plan: &Plan, target: EmitTarget, cgroup: CgroupVersion) -> String {
    let emitted = emit::emit(plan, target, &EmitOptions { cgroup }).expect("emits");
    emitted.files[0].contents.clone()
}

#[test]
fn cpu_weight_per_target_follows_each_ecosystem() {
    for (shares, systemd_w, oci_w) in SHARES {
        // OCI: the shares the runtime turns back into the plan's weight.
        let plan = with_limits(CgroupLimits {
            cpu_weight: Some(oci_w),
            ..Default::default()
        });
        let (resources, _) = oci_resources(&plan);
        let emitted = resources["cpu"]["shares"].as_u64().expect("shares");
        assert_eq!(
            convert::oci_shares_to_weight(emitted),
            oci_w,
            "OCI for shares {shares}"
        );
        if shares == 1024 {
            assert_eq!(emitted, 1024, "the default stays the default");
        }

        // LXC v1: systemd's inverse, which systemd reads back as the weight.
        let plan = with_limits(CgroupLimits {
            cpu_weight: Some(systemd_w),
            ..Default::default()
        });
        let lxc = text(&plan, EmitTarget::Lxc, CgroupVersion::V1);
        let line = lxc
            .lines()
            .find_map(|l| l.strip_prefix("lxc.cgroup.cpu.shares = "))
            .expect("a cpu.shares line");
        let v1: u64 = line.parse().expect("a number");
        assert_eq!(
            convert::systemd_shares_to_weight(v1),
            systemd_w,
            "LXC v1 for shares {shares}"
        );

        // systemd and LXC v2: the weight as it is.
        let unit = text(&plan, EmitTarget::Systemd, CgroupVersion::V2);
        assert!(
            unit.contains(&format!("\nCPUWeight={systemd_w}\n")),
            "{unit}"
        );
        let lxc = text(&plan, EmitTarget::Lxc, CgroupVersion::V2);
        assert!(
            lxc.contains(&format!("\nlxc.cgroup2.cpu.weight = {systemd_w}\n")),
            "{lxc}"
        );
    }
}

#[test]
fn io_weight_per_target_follows_each_ecosystem() {
    for (blkio, oci_io, systemd_io) in BLKIO {
        let plan = with_limits(CgroupLimits {
            io_weight: Some(oci_io),
            ..Default::default()
        });
        let (resources, warnings) = oci_resources(&plan);
        assert_eq!(resources["blockIO"]["weight"], blkio, "OCI for io {oci_io}");
        assert_eq!(warnings, 0, "an exact OCI weight gets no warning");

        let plan = with_limits(CgroupLimits {
            io_weight: Some(systemd_io),
            ..Default::default()
        });
        let lxc = text(&plan, EmitTarget::Lxc, CgroupVersion::V1);
        let bfq = convert::systemd_io_to_bfq(systemd_io);
        assert!(
            lxc.contains(&format!("\nlxc.cgroup.blkio.bfq.weight = {bfq}\n")),
            "{lxc}"
        );
        let unit = text(&plan, EmitTarget::Systemd, CgroupVersion::V2);
        assert!(
            unit.contains(&format!("\nIOWeight={systemd_io}\n")),
            "{unit}"
        );
    }
}

#[test]
fn seed_example_weights() {
    // CPUShares=1500 is cpu.weight 146 (systemd's formula).
    let plan = with_limits(CgroupLimits {
        cpu_weight: Some(146),
        ..Default::default()
    });
    assert_eq!(oci_resources(&plan).0["cpu"]["shares"], 1639);
    assert!(
        text(&plan, EmitTarget::Lxc, CgroupVersion::V1).contains("lxc.cgroup.cpu.shares = 1496\n")
    );
    assert!(text(&plan, EmitTarget::Systemd, CgroupVersion::V2).contains("\nCPUWeight=146\n"));
}

#[test]
fn swap_is_memory_plus_swap_where_the_target_counts_so() {
    let mib = 1u64 << 20;
    let plan = with_limits(CgroupLimits {
        memory_max: Some(sbx_plan::Limit::Value(256 * mib)),
        memory_swap_max: Some(sbx_plan::Limit::Value(64 * mib)),
        ..Default::default()
    });
    let (resources, _) = oci_resources(&plan);
    assert_eq!(resources["memory"]["limit"], 256 * mib);
    assert_eq!(
        resources["memory"]["swap"],
        320 * mib,
        "OCI swap is memory plus swap"
    );
    let v1 = text(&plan, EmitTarget::Lxc, CgroupVersion::V1);
    assert!(
        v1.contains(&format!(
            "lxc.cgroup.memory.memsw.limit_in_bytes = {}\n",
            320 * mib
        )),
        "{v1}"
    );
    let v2 = text(&plan, EmitTarget::Lxc, CgroupVersion::V2);
    assert!(
        v2.contains(&format!("lxc.cgroup2.memory.swap.max = {}\n", 64 * mib)),
        "{v2}"
    );
    let unit = text(&plan, EmitTarget::Systemd, CgroupVersion::V2);
    assert!(
        unit.contains(&format!("MemorySwapMax={}\n", 64 * mib)),
        "{unit}"
    );
}
