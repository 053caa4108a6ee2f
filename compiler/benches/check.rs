//! `check` (the whole compiler: parse, includes, lowering, validation,
//! lints) on a typical profile and on a generated profile of 100,000 lines.
//! Targets: a typical profile in under 1 ms, at least 20 MB/s on the large
//! one. Run: `cargo bench -p sbx-compiler --bench check`.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// The workspace's `profiles/` folder.
fn profiles() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../profiles"))
}

/// A valid profile of `lines` lines using every kind of statement: mount
/// and net blocks, build steps, a long environment map and labels.
pub fn large_profile(lines: usize) -> String {
    let mut text = String::with_capacity(lines * 40);
    text.push_str(
        "name = \"large\"\nhostname = \"large\"\ncmd = [\"/usr/bin/app\", \"--serve\"]\n\
         limits { memory.max = 1G; cpu.quota = 150%; pids.max = 1024 }\n\
         capabilities { drop = all; add = [net_bind_service] }\n",
    );
    let mut n = 5;
    let mut i = 0usize;
    text.push_str("env = {\n");
    n += 1;
    while n < lines / 5 {
        text.push_str(&format!("    VAR_{i} = \"value number {i}\",\n"));
        i += 1;
        n += 1;
    }
    text.push_str("}\nbuild {\n");
    n += 2;
    while n < 2 * lines / 5 {
        text.push_str(&format!("    run = \"echo step {i} && test -d /tmp\"\n"));
        i += 1;
        n += 1;
    }
    text.push_str("}\n");
    n += 1;
    // Mount blocks of six lines.
    while n + 6 < 4 * lines / 5 {
        text.push_str(&format!(
            "# data set {i}\nmount \"/data/{i}\" {{\n    type    = bind\n    source  = \"/srv/data/{i}\"\n    options = [ro, nosuid, nodev]\n}}\n"
        ));
        i += 1;
        n += 6;
    }
    // veth interfaces of seven lines, each with its own address.
    let mut k = 0u32;
    while n + 7 <= lines {
        text.push_str(&format!(
            "net \"v{k}\" {{\n    type    = veth\n    link    = \"br{}\"\n    address = [10.{}.{}.2/24]\n    mtu     = 1500\n    up      = true\n}}\n",
            k % 100,
            k / 256 % 256,
            k % 256
        ));
        k += 1;
        n += 7;
    }
    while n < lines {
        text.push_str("# padding\n");
        n += 1;
    }
    text
}

fn typical(c: &mut Criterion) {
    let seed = std::fs::read_to_string(profiles().join("mysql.sbx")).unwrap();
    let checked = sbx_compiler::compile_source("mysql.sbx", &seed);
    assert!(!checked.has_errors(), "the seed profile compiles");
    let mut group = c.benchmark_group("check");
    group.throughput(Throughput::Bytes(seed.len() as u64));
    group.bench_function("typical (seed mysql.sbx, from text)", |b| {
        b.iter(|| sbx_compiler::compile_source("mysql.sbx", black_box(&seed)))
    });
    let web = profiles().join("web-static.sbx");
    assert!(!sbx_compiler::compile_file(&web).has_errors());
    group.bench_function(
        "typical (web-static.sbx with its include, from disk)",
        |b| b.iter(|| sbx_compiler::compile_file(black_box(&web))),
    );
    group.finish();
}

fn large(c: &mut Criterion) {
    let text = large_profile(100_000);
    assert_eq!(text.lines().count(), 100_000);
    let checked = sbx_compiler::compile_source("large.sbx", &text);
    assert!(
        !checked.has_errors(),
        "the generated profile compiles: {:?}",
        checked.diagnostics.first()
    );
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("generated, 100000 lines", |b| {
        b.iter(|| sbx_compiler::compile_source("large.sbx", black_box(&text)))
    });
    group.finish();
}

criterion_group!(benches, typical, large);
criterion_main!(benches);
