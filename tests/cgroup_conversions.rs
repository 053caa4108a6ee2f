//! `sbx apply` (the executor) and `sbx emit` (the compiler's emitters) must
//! turn the plan's v2 weights into the same v1 values: a profile run by sbx
//! on a v1 host and the LXC config or systemd unit emitted from it get the
//! same `cpu.shares` and bfq weight. The two crates cannot share the code
//! (the executor never depends on the compiler), so this checks every
//! weight against both.

use sbx_compiler::emit::convert as emit;
use sbx_executor::cgroup::convert as apply;

#[test]
fn apply_and_emit_agree_on_every_weight() {
    for weight in apply::WEIGHT_MIN..=apply::WEIGHT_MAX {
        assert_eq!(
            apply::cpu_weight_to_shares(weight),
            emit::systemd_weight_to_shares(weight),
            "cpu weight {weight}"
        );
        assert_eq!(
            apply::io_weight_to_bfq_weight(weight),
            emit::systemd_io_to_bfq(weight),
            "io weight {weight}"
        );
    }
}
