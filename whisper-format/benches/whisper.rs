//! Micro-benchmarks of the file format, one per figure in docs/performance.md.
//! `benches/whisper_python.py` times the same scenarios with Python whisper.
//!
//! Run: `cargo bench -p whisper-format --bench whisper`

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use whisper_format::{
    Access, ArchiveSpec, CreateOptions, OpenOptions, Whisper, create, merge, parse_retention_def,
};

const NOW: i64 = 1_700_000_000;

fn specs(def: &str) -> Vec<ArchiveSpec> {
    def.split(',')
        .map(|d| parse_retention_def(d).unwrap())
        .collect()
}

fn open(path: &Path, access: Access) -> Whisper {
    Whisper::open_with(
        path,
        OpenOptions {
            write: true,
            lock: false,
            access,
        },
    )
    .unwrap()
}

fn update_many_1000(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("three.wsp");
    create(
        &path,
        &specs("10s:6h,1m:7d,10m:5y"),
        &CreateOptions::default(),
    )
    .unwrap();
    let points: Vec<(i64, f64)> = (0..1000).map(|i| (NOW - i * 10, i as f64)).collect();
    let mut g = c.benchmark_group("update_many_1000_points_3_archives");
    g.throughput(Throughput::Elements(1000));
    for access in [Access::Pread, Access::Mmap] {
        let mut w = open(&path, access);
        g.bench_function(format!("{access:?}"), |b| {
            b.iter(|| w.update_many(black_box(&points), NOW).unwrap())
        });
    }
    g.bench_function("open_update_close", |b| {
        b.iter(|| {
            Whisper::open(&path)
                .unwrap()
                .update_many(black_box(&points), NOW)
                .unwrap()
        })
    });
    g.finish();
}

fn one_point_10000_files(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let specs = specs("10s:6h,1m:7d,10m:5y");
    let paths: Vec<_> = (0..10_000)
        .map(|i| dir.path().join(format!("m{i}.wsp")))
        .collect();
    let opts = CreateOptions {
        allocation: whisper_format::Allocation::Sparse,
        ..CreateOptions::default()
    };
    for p in &paths {
        create(p, &specs, &opts).unwrap();
    }
    let mut g = c.benchmark_group("one_point_into_10000_files");
    g.throughput(Throughput::Elements(10_000));
    g.sample_size(10);
    let mut t = NOW;
    g.bench_function("open_update_close", |b| {
        b.iter(|| {
            t += 10;
            for p in &paths {
                Whisper::open(p).unwrap().update(1.0, t, t).unwrap();
            }
        })
    });
    for access in [Access::Pread, Access::Mmap] {
        let mut handles: Vec<Whisper> = paths.iter().map(|p| open(p, access)).collect();
        g.bench_function(format!("open_handles_{access:?}"), |b| {
            b.iter(|| {
                t += 10;
                for w in &mut handles {
                    w.update(1.0, t, t).unwrap();
                }
            })
        });
    }
    g.finish();
}

fn fetch_one_day_10s(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("day.wsp");
    create(&path, &specs("10s:1d,1m:7d"), &CreateOptions::default()).unwrap();
    let points: Vec<(i64, f64)> = (0..8640).map(|i| (NOW - i * 10, i as f64)).collect();
    open(&path, Access::Pread)
        .update_many(&points, NOW)
        .unwrap();
    let mut g = c.benchmark_group("fetch_one_day_at_10s");
    g.throughput(Throughput::Elements(8640));
    for access in [Access::Pread, Access::Mmap] {
        let w = open(&path, access);
        g.bench_function(format!("{access:?}"), |b| {
            b.iter(|| w.fetch(black_box(NOW - 86400), NOW, NOW).unwrap().unwrap())
        });
    }
    g.bench_function("open_fetch_close", |b| {
        b.iter(|| {
            Whisper::open_read(&path)
                .unwrap()
                .fetch(black_box(NOW - 86400), NOW, NOW)
                .unwrap()
                .unwrap()
        })
    });
    g.finish();
}

fn merge_one_year_1m(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.wsp");
    let b = dir.path().join("b.wsp");
    let year = specs("1m:365d");
    create(&a, &year, &CreateOptions::default()).unwrap();
    create(&b, &year, &CreateOptions::default()).unwrap();
    let points: Vec<(i64, f64)> = (0..525_600).map(|i| (NOW - i * 60, i as f64)).collect();
    open(&a, Access::Pread).update_many(&points, NOW).unwrap();
    let mut g = c.benchmark_group("merge_one_year_1m");
    g.throughput(Throughput::Elements(525_600));
    g.sample_size(10);
    g.bench_function("merge", |bench| {
        bench.iter(|| {
            let from = Whisper::open_read(&a).unwrap();
            let mut to = Whisper::open(&b).unwrap();
            merge(&from, &mut to, None, None, NOW).unwrap();
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    update_many_1000,
    one_point_10000_files,
    fetch_one_day_10s,
    merge_one_year_1m
);
criterion_main!(benches);
