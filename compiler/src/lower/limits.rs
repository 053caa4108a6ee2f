//! `limits { }`: cgroup limits, version-neutral, in bytes and microseconds.

use sbx_grammar::ast::{Value, ValueKind};
use sbx_plan::{CgroupLimits, CpuQuota, Limit};

use super::{Field, Fields, Lowerer};

const CODE_RANGE: &str = "sbx::limits::range";

/// The period of `cpu.quota` when `cpu.period` is not given (as systemd).
pub const DEFAULT_CPU_PERIOD_US: u64 = 100_000;

pub(crate) fn limits(l: &mut Lowerer, top: &Fields) -> CgroupLimits {
    let mut out = CgroupLimits::default();
    let Some(block) = top.blocks("limits").next() else {
        return out;
    };
    let fields = l.fields(Some("limits"), &block.body);
    let record = |l: &mut Lowerer, path: &str, f: &Field| {
        l.spans.insert(format!("limits.{path}"), f.value.span);
    };

    if let Some(f) = fields.get("memory.max") {
        out.memory_max = memory(l, &f);
        if out.memory_max == Some(Limit::Value(0)) {
            l.range_error(
                CODE_RANGE,
                &f,
                f.value,
                "`memory.max` of 0 bytes kills the workload at once",
                "give a size such as `512M`, or `max` for no limit",
            );
            out.memory_max = None;
        }
        record(l, "memory_max", &f);
    }
    if let Some(f) = fields.get("memory.high") {
        out.memory_high = memory(l, &f);
        record(l, "memory_high", &f);
    }
    if let Some(f) = fields.get("memory.swap.max") {
        out.memory_swap_max = memory(l, &f);
        record(l, "memory_swap_max", &f);
    }
    if let Some(f) = fields.get("cpu.weight") {
        out.cpu_weight = weight(l, &f);
        record(l, "cpu_weight", &f);
    }
    if let Some(f) = fields.get("io.weight") {
        out.io_weight = weight(l, &f);
        record(l, "io_weight", &f);
    }
    let period = fields.get("cpu.period");
    let period_us = match period {
        Some(f) => match &f.value.kind {
            ValueKind::Duration(d) => {
                if !(1_000..=1_000_000).contains(&d.micros) {
                    l.range_error(
                        CODE_RANGE,
                        &f,
                        f.value,
                        format!("`cpu.period` of {}us is outside 1ms-1s", d.micros),
                        "the kernel takes a period from `1ms` to `1s`; the default is `100ms`",
                    );
                    None
                } else {
                    Some(d.micros)
                }
            }
            _ => {
                l.type_error(&f, f.value, "a duration");
                None
            }
        },
        None => Some(DEFAULT_CPU_PERIOD_US),
    };
    match (fields.get("cpu.quota"), period) {
        (Some(f), _) => {
            if let Some(period_us) = period_us {
                out.cpu_quota = quota(l, &f, period_us);
            }
            record(l, "cpu_quota", &f);
        }
        (None, Some(p)) => l.error(
            "sbx::limits::period-without-quota",
            "`cpu.period` without `cpu.quota` has no effect",
            p.key.span,
            "no quota for this period",
            "add `cpu.quota = 50%` (for example), or remove `cpu.period`",
        ),
        (None, None) => {}
    }
    if let Some(f) = fields.get("cpuset.cpus") {
        out.cpuset_cpus = cpu_list(l, &f);
        record(l, "cpuset_cpus", &f);
    }
    if let Some(f) = fields.get("cpuset.mems") {
        out.cpuset_mems = cpu_list(l, &f);
        record(l, "cpuset_mems", &f);
    }
    if let Some(f) = fields.get("pids.max") {
        out.pids_max = match &f.value.kind {
            ValueKind::Integer(i) if i.value >= 1 => Some(Limit::Value(i.value)),
            ValueKind::Integer(_) => {
                l.range_error(
                    CODE_RANGE,
                    &f,
                    f.value,
                    "`pids.max` of 0 forbids even the first process",
                    "give at least 1, or `max` for no limit",
                );
                None
            }
            ValueKind::Word(w) if w == "max" || w == "infinity" => Some(Limit::MAX),
            _ => {
                l.type_error(&f, f.value, "an integer or `max`");
                None
            }
        };
        record(l, "pids_max", &f);
    }
    out
}

fn memory(l: &mut Lowerer, f: &Field) -> Option<Limit> {
    match &f.value.kind {
        ValueKind::Size(s) => Some(Limit::Value(s.bytes)),
        ValueKind::Integer(i) => Some(Limit::Value(i.value)),
        ValueKind::Word(w) if w == "max" || w == "infinity" => Some(Limit::MAX),
        _ => {
            l.type_error(f, f.value, "a size or `max`");
            None
        }
    }
}

fn weight(l: &mut Lowerer, f: &Field) -> Option<u64> {
    let v = l.integer(f)?;
    if !(1..=10_000).contains(&v) {
        l.range_error(
            CODE_RANGE,
            f,
            f.value,
            format!("`{}` of {v} is outside 1-10000", f.name()),
            "a weight is from 1 to 10000; the default is 100",
        );
        return None;
    }
    Some(v)
}

fn quota(l: &mut Lowerer, f: &Field, period_us: u64) -> Option<CpuQuota> {
    let ValueKind::Percent(p) = &f.value.kind else {
        l.type_error(f, f.value, "a percentage");
        return None;
    };
    let Some(quota_us) = p.scaled_floor(period_us, 100) else {
        l.range_error(
            CODE_RANGE,
            f,
            f.value,
            format!("`cpu.quota` of {}% is too large", p.text),
            "a quota is the share of one CPU: `200%` is two CPUs",
        );
        return None;
    };
    if quota_us == 0 {
        l.range_error(
            CODE_RANGE,
            f,
            f.value,
            "`cpu.quota` must be above 0%",
            "a quota is the share of one CPU, such as `50%`; remove it for no limit",
        );
        return None;
    }
    if quota_us < 1_000 {
        // The kernel refuses a cfs quota under 1 ms.
        let min_percent = 100_000u64.div_ceil(period_us);
        l.error(
            "sbx::limits::quota-too-small",
            format!(
                "`cpu.quota` of {}% is {quota_us}us per {period_us}us period, below the kernel's 1ms",
                p.text
            ),
            f.value.span,
            "below 1ms per period",
            format!("give at least `{min_percent}%`, or a longer `cpu.period`"),
        );
        return None;
    }
    Some(CpuQuota {
        quota_us,
        period_us,
    })
}

/// A cpu or node list as the kernel writes it: `0-3,8`.
fn cpu_list(l: &mut Lowerer, f: &Field) -> Option<String> {
    let text = match &f.value.kind {
        ValueKind::String(s) => s.value.clone(),
        ValueKind::Integer(i) => i.value.to_string(),
        _ => {
            l.type_error(f, f.value, "a list such as `\"0-3,8\"`");
            return None;
        }
    };
    if !valid_cpu_list(&text) {
        bad_list(l, f, f.value, &text);
        return None;
    }
    Some(text)
}

fn bad_list(l: &mut Lowerer, f: &Field, value: &Value, text: &str) {
    l.error(
        "sbx::limits::cpu-list",
        format!("`{text}` is not a valid `{}` list", f.name()),
        value.span,
        "invalid list",
        "write numbers and ranges separated by commas, such as `\"0-3,8\"`",
    );
}

fn valid_cpu_list(text: &str) -> bool {
    let number = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    !text.is_empty()
        && text.split(',').all(|part| match part.split_once('-') {
            Some((a, b)) => matches!((number(a), number(b)), (Some(a), Some(b)) if a <= b),
            None => number(part).is_some(),
        })
}
