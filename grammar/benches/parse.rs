//! Parser and printer throughput on a typical profile and on a generated
//! profile of 100,000 lines (`cargo bench -p sbx-grammar`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sbx_grammar::ast::SourceId;
use sbx_grammar::{parse, printer::print};
use std::hint::black_box;

const SEED: &str = include_str!("../tests/data/seed.sbx");

/// A profile of `lines` lines in the style of real ones: blocks, lists,
/// maps, comments, sizes and addresses.
fn generated(lines: usize) -> String {
    let mut src = String::new();
    let mut round = 0;
    while round * 9 < lines {
        src.push_str(&format!(
            "# interface {round}\nnet \"eth{round}\" {{\n    type    = veth\n    address = [10.0.3.2/24, fe80::1/64]\n    mtu     = 1500\n}}\nenv_{round} = {{ PATH = \"/usr/bin:/bin\", SIZE = 1G }}\nlimit_{round} = 100ms  # why\n\n"
        ));
        round += 1;
    }
    src
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(SEED.len() as u64));
    group.bench_function("seed", |b| b.iter(|| parse(SourceId(0), black_box(SEED))));
    let large = generated(100_000);
    group.throughput(Throughput::Bytes(large.len() as u64));
    group.sample_size(10);
    group.bench_function("100k_lines", |b| {
        b.iter(|| parse(SourceId(0), black_box(&large)))
    });
    group.finish();

    let file = parse(SourceId(0), &large).expect("the generated profile parses");
    let mut group = c.benchmark_group("print");
    group.throughput(Throughput::Bytes(large.len() as u64));
    group.sample_size(10);
    group.bench_function("100k_lines", |b| b.iter(|| print(black_box(&file))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
