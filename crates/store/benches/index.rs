//! Finds over a metric index of 1,000,000 names (issue 4's goal: under 5 ms), and over
//! 1,000 leaves in one directory (issue 12).
//!
//! Names are `svc{00..99}.host{00..99}.m{00..99}`: 100 x 100 x 100 leaves. Each pattern
//! below is timed on the built index, as `/metrics/find` and every path expression of a
//! render run it.
//!
//!     cargo bench -p charcoal-store --bench index

use charcoal_protocol::glob::PathPattern;
use charcoal_store::index::MetricIndex;
use criterion::{Criterion, criterion_group, criterion_main};

fn index() -> MetricIndex {
    let idx = MetricIndex::new();
    for a in 0..100 {
        for b in 0..100 {
            for c in 0..100 {
                idx.insert(&format!("svc{a:02}.host{b:02}.m{c:02}"));
            }
        }
    }
    idx
}

fn finds(c: &mut Criterion) {
    let idx = index();
    assert_eq!(idx.len(), 1_000_000);
    let mut group = c.benchmark_group("find_1M");
    for pattern in [
        "svc42.host17.m*",
        "svc42.*.m07",
        "*.host17.m07",
        "svc42.host{01,17,99}.m[0-4]?",
        "svc4?.host1*.m0*",
        "svc42.host17.m07",
    ] {
        let compiled = PathPattern::new(pattern).unwrap();
        let n = idx.find(&compiled, usize::MAX).unwrap().len();
        group.bench_function(format!("{pattern} ({n} matches)"), |b| {
            b.iter(|| idx.find(&compiled, usize::MAX).unwrap().len())
        });
    }
    group.finish();
}

/// 1,000 leaves in one directory (`servers.*`): one list matched and sorted.
fn one_directory(c: &mut Criterion) {
    let idx = MetricIndex::new();
    for i in 0..1000 {
        idx.insert(&format!("lg.g000.m{i:04}"));
    }
    let mut group = c.benchmark_group("find_one_directory");
    for pattern in ["lg.g000.*", "lg.g000.m0*"] {
        let compiled = PathPattern::new(pattern).unwrap();
        let n = idx.find(&compiled, usize::MAX).unwrap().len();
        group.bench_function(format!("{pattern} ({n} matches)"), |b| {
            b.iter(|| idx.find(&compiled, usize::MAX).unwrap().len())
        });
        // What a request pays on top: compiling the pattern.
        group.bench_function(format!("{pattern} compiled and found"), |b| {
            b.iter(|| {
                let compiled = PathPattern::new(pattern).unwrap();
                idx.find(&compiled, usize::MAX).unwrap().len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, finds, one_directory);
criterion_main!(benches);
