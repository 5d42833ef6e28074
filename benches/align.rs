//! Log window placement: a 10 000-line window against a 10 000-line printed tail in the cases
//! that matter (full overlap, shifted by 1 and by 5 000, no overlap, all lines identical), each
//! with the window's fingerprints taken, and growth from 1k to 100k lines to show it stays linear.

use std::hint::black_box;

use buildgate::logs::{Fingerprinter, Read, Tail};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn log(n: usize, offset: usize) -> Vec<String> {
    (offset..offset + n)
        .map(|i| format!("[Container] 2026/03/04 10:00:00 step {i}: building layer sha256:{i:064x}"))
        .collect()
}

fn tail_of(lines: &[String]) -> Tail {
    let mut tail = Tail::new(lines.len(), Fingerprinter::with_seeds(1, 2));
    let marks = tail.fingerprints(lines);
    tail.commit(lines, &marks, 0, None);
    tail
}

fn place(tail: &Tail, window: &[String]) -> usize {
    let marks = tail.fingerprints(window);
    let read = Read { asked: window.len(), can_grow: false, cap: None };
    match tail.place(window, &marks, read) {
        buildgate::logs::Placement::From { from, .. } => from,
        buildgate::logs::Placement::Grow => usize::MAX,
    }
}

fn cases(c: &mut Criterion) {
    let n = 10_000;
    let printed = log(n, 0);
    let tail = tail_of(&printed);
    let identical = vec!["........".to_string(); n];
    let identical_tail = tail_of(&identical);
    let mut group = c.benchmark_group("place 10k window vs 10k tail");
    for (name, window, tail) in [
        ("full overlap", log(n, 0), &tail),
        ("shifted by 1", log(n, 1), &tail),
        ("shifted by 5000", log(n, 5_000), &tail),
        ("no overlap", log(n, n), &tail),
        ("all lines identical", identical.clone(), &identical_tail),
    ] {
        group.bench_function(name, |b| b.iter(|| black_box(place(tail, black_box(&window)))));
    }
    group.finish();

    let mut growth = c.benchmark_group("place growth (shifted by half)");
    for size in [1_000, 10_000, 100_000] {
        let tail = tail_of(&log(size, 0));
        let window = log(size, size / 2);
        growth.throughput(Throughput::Elements(size as u64));
        growth
            .bench_with_input(BenchmarkId::from_parameter(size), &window, |b, w| b.iter(|| black_box(place(&tail, w))));
    }
    growth.finish();
}

criterion_group!(benches, cases);
criterion_main!(benches);
