//! Property tests: random sequences of update / update_many / fetch compared
//! with a plain in-memory model of what a whisper file should return.
//!
//! The model is deliberately naive (a map from interval to value), so the
//! scenarios stay inside the region where that is the whole truth: one
//! `now`, points within the first archive's retention (no ring wrap-around),
//! xFilesFactor 0 so every lower interval with a known point is aggregated.
//! The ring arithmetic outside that region is covered by the differential
//! tests against Python whisper.

use std::collections::BTreeMap;

use proptest::prelude::*;
use whisper_format::{
    Access, Aggregation, Allocation, ArchiveSpec, CreateOptions, OpenOptions, Whisper, aggregate,
    create,
};

const NOW: i64 = 1_700_000_000;

#[derive(Debug, Clone)]
enum Op {
    Update { age: i64, value: f64 },
    UpdateMany(Vec<(i64, f64)>),
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-1000i32..1000).prop_map(f64::from),
        any::<f64>().prop_filter("finite", |v| v.is_finite()),
        Just(0.0),
    ]
}

fn op(retention: i64) -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..retention, value()).prop_map(|(age, value)| Op::Update { age, value }),
        prop::collection::vec((0..=retention, value()), 1..60).prop_map(Op::UpdateMany),
    ]
}

/// What archive 0 should hold: interval -> value.
#[derive(Default)]
struct Model {
    finest: BTreeMap<i64, f64>,
}

impl Model {
    fn apply(&mut self, op: &Op, step: i64) {
        match op {
            Op::Update { age, value } => {
                let t = NOW - age;
                self.finest.insert(t - t.rem_euclid(step), *value);
            }
            Op::UpdateMany(points) => {
                // Per interval: the latest timestamp wins; among equal
                // timestamps, the first given.
                let mut batch: BTreeMap<i64, (i64, f64)> = BTreeMap::new();
                for &(age, v) in points {
                    let t = NOW - age;
                    let interval = t - t.rem_euclid(step);
                    match batch.get(&interval) {
                        Some(&(seen, _)) if seen >= t => {}
                        _ => {
                            batch.insert(interval, (t, v));
                        }
                    }
                }
                for (interval, (_, v)) in batch {
                    self.finest.insert(interval, v);
                }
            }
        }
    }
}

fn apply(w: &mut Whisper, op: &Op) {
    match op {
        Op::Update { age, value } => w.update(*value, NOW - age, NOW).unwrap(),
        Op::UpdateMany(points) => {
            let points: Vec<(i64, f64)> = points.iter().map(|&(a, v)| (NOW - a, v)).collect();
            w.update_many(&points, NOW).unwrap();
        }
    }
}

fn open(path: &std::path::Path, access: Access) -> Whisper {
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn single_archive_fetch_returns_what_was_written(
        ops in prop::collection::vec(op(600 - 60), 1..12),
        mmap in any::<bool>(),
        from_age in 0i64..700,
        span in 0i64..700,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.wsp");
        // 60 s x 10 slots; ages below 540 keep every written interval live.
        create(&path, &[ArchiveSpec::new(60, 10)], &CreateOptions::default()).unwrap();
        let mut w = open(&path, if mmap { Access::Mmap } else { Access::Pread });
        let mut model = Model::default();
        for op in &ops {
            apply(&mut w, op);
            model.apply(op, 60);
        }
        let from = NOW - from_age;
        let until = (from + span).min(NOW);
        let got = w.fetch(from, until, NOW).unwrap();
        // The NaN-for-missing fetch is the same read.
        let nan = w.fetch_nan(from, until, NOW).unwrap();
        prop_assert_eq!(nan.is_some(), got.is_some());
        if let (Some(nan), Some(got)) = (&nan, &got) {
            prop_assert_eq!((nan.from, nan.until, nan.step), (got.from, got.until, got.step));
            let unwrapped: Vec<u64> =
                got.values.iter().map(|v| v.unwrap_or(f64::NAN).to_bits()).collect();
            prop_assert_eq!(nan.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), unwrapped);
        }
        let Some(got) = got else {
            prop_assert!(from > NOW || until < NOW - 600);
            return Ok(());
        };
        prop_assert_eq!(got.step, 60);
        for (i, v) in got.values.iter().enumerate() {
            let t = got.from + i as i64 * 60;
            prop_assert_eq!(v.map(f64::to_bits), model.finest.get(&t).map(|x| x.to_bits()), "t={}", t);
        }
    }

    #[test]
    fn lower_archives_hold_the_aggregate_of_the_finest(
        ops in prop::collection::vec(op(3000), 1..10),
        method in 0usize..8,
        mmap in any::<bool>(),
    ) {
        let agg = Aggregation::ALL[method];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.wsp");
        // 10 s x 360 (1 h) over 60 s x 600: points within the hour stay in
        // archive 0, and every minute with a point is propagated (xff 0).
        create(
            &path,
            &[ArchiveSpec::new(10, 360), ArchiveSpec::new(60, 600)],
            &CreateOptions { x_files_factor: 0.0, aggregation: agg, ..CreateOptions::default() },
        ).unwrap();
        let mut w = open(&path, if mmap { Access::Mmap } else { Access::Pread });
        let mut model = Model::default();
        for op in &ops {
            apply(&mut w, op);
            model.apply(op, 10);
        }
        let lower = w.header().archives[1];
        let got = w.archive_fetch(&lower, NOW - 3600, NOW).unwrap();
        for (i, v) in got.values.iter().enumerate() {
            let minute = got.from + i as i64 * 60;
            let neighbors: Vec<Option<f64>> =
                (0..6).map(|k| model.finest.get(&(minute + k * 10)).copied()).collect();
            let known: Vec<f64> = neighbors.iter().flatten().copied().collect();
            let want = (!known.is_empty()).then(|| aggregate(agg, &known, &neighbors));
            prop_assert_eq!(v.map(f64::to_bits), want.map(f64::to_bits), "{} minute {}", agg, minute);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// A handle from `create_open` writes exactly what a handle opened on a file made
    /// by `create` writes, byte for byte, whatever the allocation and locking.
    #[test]
    fn create_open_writes_what_create_then_open_writes(
        ops in prop::collection::vec(op(3000), 1..8),
        allocation in 0usize..3,
        lock in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let archives = [ArchiveSpec::new(10, 360), ArchiveSpec::new(60, 600)];
        let opts = CreateOptions {
            x_files_factor: 0.5,
            aggregation: Aggregation::Max,
            allocation: [Allocation::Zeroed, Allocation::Sparse, Allocation::Fallocate][allocation],
            lock,
        };
        let opened = dir.path().join("opened.wsp");
        create(&opened, &archives, &opts).unwrap();
        let mut w = open(&opened, Access::Pread);
        let created = dir.path().join("created.wsp");
        let mut c = Whisper::create_open(&created, &archives, &opts).unwrap();
        prop_assert_eq!(c.header(), w.header());
        for op in &ops {
            apply(&mut w, op);
            apply(&mut c, op);
        }
        drop((w, c));
        prop_assert!(std::fs::read(&opened).unwrap() == std::fs::read(&created).unwrap());
        // And it refuses an existing file, as `create` does.
        prop_assert!(matches!(
            Whisper::create_open(&created, &archives, &opts),
            Err(whisper_format::Error::AlreadyExists(_))
        ));
    }
}

#[test]
fn points_beyond_every_archive_are_dropped_and_single_updates_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.wsp");
    create(
        &path,
        &[ArchiveSpec::new(60, 10)],
        &CreateOptions::default(),
    )
    .unwrap();
    let mut w = Whisper::open(&path).unwrap();
    let before = std::fs::read(&path).unwrap();
    w.update_many(&[(NOW - 601, 1.0), (NOW - 10_000, 2.0)], NOW)
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing written");
    assert!(matches!(
        w.update(1.0, NOW - 600, NOW),
        Err(whisper_format::Error::TimestampNotCovered)
    ));
    assert!(matches!(
        w.update(1.0, NOW + 1, NOW),
        Err(whisper_format::Error::TimestampNotCovered)
    ));
}
