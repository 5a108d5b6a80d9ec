//! Finds over a metric index of 1,000,000 names (issue 4's goal: under 5 ms).
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

criterion_group!(benches, finds);
criterion_main!(benches);
