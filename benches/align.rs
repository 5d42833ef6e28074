//! Log window alignment: a 10 000-line window against a 10 000-line printed tail in the cases
//! that matter (full overlap, shifted by 1 and by 5 000, no overlap, all lines identical), and
//! growth from 1k to 100k lines to show it stays linear.

use std::hint::black_box;

use buildgate::logs::Tail;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn log(n: usize, offset: usize) -> Vec<String> {
    (offset..offset + n)
        .map(|i| format!("[Container] 2026/03/04 10:00:00 step {i}: building layer sha256:{i:064x}"))
        .collect()
}

fn tail_of(lines: &[String]) -> Tail {
    let mut tail = Tail::default();
    for line in lines {
        tail.push(line);
    }
    tail
}

fn cases(c: &mut Criterion) {
    let n = 10_000;
    let printed = log(n, 0);
    let tail = tail_of(&printed);
    let identical = vec!["........".to_string(); n];
    let identical_tail = tail_of(&identical);
    let mut group = c.benchmark_group("align 10k window vs 10k tail");
    for (name, window, tail) in [
        ("full overlap", log(n, 0), &tail),
        ("shifted by 1", log(n, 1), &tail),
        ("shifted by 5000", log(n, 5_000), &tail),
        ("no overlap", log(n, n), &tail),
        ("all lines identical", identical.clone(), &identical_tail),
    ] {
        group.bench_function(name, |b| b.iter(|| black_box(tail.align(black_box(&window), n))));
    }
    group.finish();

    let mut growth = c.benchmark_group("align growth (shifted by half)");
    for size in [1_000, 10_000, 100_000] {
        let printed = log(size, 0);
        let mut tail = Tail::with_capacity(size);
        for line in &printed {
            tail.push(line);
        }
        let window = log(size, size / 2);
        growth.throughput(Throughput::Elements(size as u64));
        growth.bench_with_input(BenchmarkId::from_parameter(size), &window, |b, w| {
            b.iter(|| black_box(tail.align(w, size)))
        });
    }
    growth.finish();
}

criterion_group!(benches, cases);
criterion_main!(benches);
