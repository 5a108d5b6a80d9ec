//! Differential tests against Python whisper (Debian's python3-whisper): the
//! same operations with the same `now` must give byte-identical files and the
//! same fetch results.

mod common;

use std::path::Path;

use common::{Reference, Rng, hex, unhex};
use serde_json::{Value, json};
use whisper_format::{
    Aggregation, ArchiveSpec, CreateOptions, Fetched, OpenOptions, Whisper, create, diff, merge,
    parse_retention_def,
};

const RETENTIONS: [&str; 3] = ["60:1440", "10s:6h,1m:7d,10m:5y", "1s:10m,1m:1d"];
const XFFS: [f32; 4] = [0.0, 0.1, 0.5, 1.0];

fn specs(def: &str) -> Vec<ArchiveSpec> {
    def.split(',')
        .map(|d| parse_retention_def(d).unwrap())
        .collect()
}

fn archives_json(specs: &[ArchiveSpec]) -> Value {
    json!(
        specs
            .iter()
            .map(|a| [a.seconds_per_point, a.points])
            .collect::<Vec<_>>()
    )
}

fn fetched_json(f: &Option<Fetched>) -> Value {
    match f {
        None => json!({"none": true, "ok": true}),
        Some(f) => json!({
            "from": f.from, "until": f.until, "step": f.step,
            "values": f.values.iter().map(|v| v.map(hex)).collect::<Vec<_>>(),
            "ok": true,
        }),
    }
}

fn assert_same_files(ours: &Path, theirs: &Path, what: &str) {
    let a = std::fs::read(ours).unwrap();
    let b = std::fs::read(theirs).unwrap();
    assert_eq!(a.len(), b.len(), "{what}: sizes differ");
    if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
        panic!(
            "{what}: files differ first at byte {i} (ours {:02x?}, python {:02x?})",
            &a[i..(i + 12).min(a.len())],
            &b[i..(i + 12).min(b.len())]
        );
    }
}

/// A random scenario on one file: batches of update_many (out of order,
/// duplicates, too old, a little in the future) and single updates, with
/// `now` moving forward so rings wrap.
struct Scenario {
    ops: Vec<Value>,
}

fn scenario(rng: &mut Rng, specs: &[ArchiveSpec]) -> Scenario {
    let max_ret = specs.iter().map(|a| a.retention()).max().unwrap() as i64;
    let finest = specs.iter().map(|a| a.seconds_per_point).min().unwrap() as i64;
    let mut now = 1_700_000_000 + rng.range(0, 100_000);
    let mut ops = Vec::new();
    for _ in 0..rng.range(2, 7) {
        if rng.chance(25) {
            let ts = now - rng.range(-5, max_ret.min(100_000) + 10);
            ops.push(json!({"op": "update", "ts": ts, "value": hex(rng.value()), "now": now}));
        } else {
            let n = rng.range(1, 400);
            // Mostly recent contiguous-ish points, some spread over the whole
            // retention, some beyond it, some duplicates.
            let spread = if rng.chance(50) {
                finest * 3 * n
            } else {
                max_ret + max_ret / 10
            };
            let mut points = Vec::new();
            for _ in 0..n {
                let ts = now - rng.range(-3 * finest, spread.max(2));
                points.push(json!([ts, hex(rng.value())]));
                if rng.chance(5) {
                    points.push(json!([ts, hex(rng.value())]));
                }
            }
            ops.push(json!({"op": "update_many", "points": points, "now": now}));
        }
        now += rng.range(0, max_ret / 3);
    }
    ops.push(json!({"now": now}));
    Scenario { ops }
}

fn apply_ours(w: &mut Whisper, op: &Value) -> Result<(), whisper_format::Error> {
    let now = op["now"].as_i64().unwrap();
    match op["op"].as_str().unwrap() {
        "update" => w.update(
            unhex(op["value"].as_str().unwrap()),
            op["ts"].as_i64().unwrap(),
            now,
        ),
        "update_many" => {
            let points: Vec<(i64, f64)> = op["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_i64().unwrap(), unhex(p[1].as_str().unwrap())))
                .collect();
            w.update_many(&points, now)
        }
        other => panic!("unknown op {other}"),
    }
}

fn fetch_windows(rng: &mut Rng, now: i64, max_ret: i64) -> Vec<(i64, i64)> {
    let mut w = vec![
        (now - 600, now),
        (now - max_ret, now),
        (0, now),
        (now - 86400, now - 3600),
    ];
    for _ in 0..4 {
        let from = now - rng.range(0, max_ret + 1000);
        let until = from + rng.range(0, max_ret / 2 + 1);
        w.push((from, until));
    }
    w
}

fn run_case(
    py: &mut Reference,
    dir: &Path,
    rng: &mut Rng,
    def: &str,
    agg: Aggregation,
    xff: f32,
    access: whisper_format::Access,
) {
    let specs = specs(def);
    let ours = dir.join("ours.wsp");
    let theirs = dir.join("theirs.wsp");
    let _ = std::fs::remove_file(&ours);
    let _ = std::fs::remove_file(&theirs);
    let what = format!("{def} {agg} xff={xff}");

    create(
        &ours,
        &specs,
        &CreateOptions {
            x_files_factor: xff,
            aggregation: agg,
            ..CreateOptions::default()
        },
    )
    .unwrap();
    py.ok(
        json!({"op": "create", "path": theirs, "archives": archives_json(&specs),
                 "xff": xff as f64, "agg": agg.name()}),
    );
    assert_same_files(&ours, &theirs, &format!("{what}: create"));

    let sc = scenario(rng, &specs);
    let mut w = Whisper::open_with(
        &ours,
        OpenOptions {
            write: true,
            lock: true,
            access,
        },
    )
    .unwrap();
    let last = sc.ops.len() - 1;
    for (i, op) in sc.ops[..last].iter().enumerate() {
        let mut req = op.clone();
        req["path"] = json!(theirs);
        let theirs_ans = py.call(req);
        let ours_ans = apply_ours(&mut w, op);
        assert_eq!(
            ours_ans.is_ok(),
            theirs_ans["ok"] == json!(true),
            "{what}: op {i} outcome differs: ours {ours_ans:?}, python {theirs_ans}"
        );
        assert_same_files(
            &ours,
            &theirs,
            &format!("{what}: after op {i} ({})", op["op"]),
        );
    }

    let now = sc.ops[last]["now"].as_i64().unwrap();
    let max_ret = specs.iter().map(|a| a.retention()).max().unwrap() as i64;
    let python_written = Whisper::open_read(&theirs).unwrap();
    for (from, until) in fetch_windows(rng, now, max_ret) {
        let theirs_ans = py.call(json!({"op": "fetch", "path": theirs, "from": from,
                                        "until": until, "now": now}));
        let ours_ans = python_written.fetch(from, until, now);
        match ours_ans {
            Ok(f) => assert_eq!(
                fetched_json(&f),
                theirs_ans,
                "{what}: fetch {from}..{until}"
            ),
            Err(e) => assert!(theirs_ans.get("error").is_some(), "{what}: we failed {e}"),
        }
    }
}

#[test]
fn every_method_and_retention_matches_python_byte_for_byte() {
    let mut py = Reference::start();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(2026);
    for def in RETENTIONS {
        for agg in Aggregation::ALL {
            for (i, xff) in XFFS.into_iter().enumerate() {
                let access = if i % 2 == 0 {
                    whisper_format::Access::Pread
                } else {
                    whisper_format::Access::Mmap
                };
                run_case(&mut py, dir.path(), &mut rng, def, agg, xff, access);
            }
        }
    }
}

#[test]
fn merge_and_diff_match_python() {
    let mut py = Reference::start();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(99);
    for def in RETENTIONS {
        let specs = specs(def);
        let max_ret = specs.iter().map(|a| a.retention()).max().unwrap() as i64;
        for case in 0..4 {
            let paths: Vec<_> = ["a-ours", "b-ours", "a-py", "b-py"]
                .iter()
                .map(|n| dir.path().join(format!("{n}.wsp")))
                .collect();
            for p in &paths {
                let _ = std::fs::remove_file(p);
            }
            let agg = Aggregation::ALL[rng.range(0, 8) as usize];
            let opts = CreateOptions {
                x_files_factor: 0.5,
                aggregation: agg,
                ..CreateOptions::default()
            };
            let mut now = 0;
            for (ours, theirs) in [(&paths[0], &paths[2]), (&paths[1], &paths[3])] {
                create(ours, &specs, &opts).unwrap();
                py.ok(
                    json!({"op": "create", "path": theirs, "archives": archives_json(&specs),
                             "xff": 0.5, "agg": agg.name()}),
                );
                let sc = scenario(&mut rng, &specs);
                let mut w = Whisper::open(ours).unwrap();
                for op in &sc.ops[..sc.ops.len() - 1] {
                    let mut req = op.clone();
                    req["path"] = json!(theirs);
                    py.call(req);
                    let _ = apply_ours(&mut w, op);
                }
                now = now.max(sc.ops[sc.ops.len() - 1]["now"].as_i64().unwrap());
            }
            let ignore_empty = case % 2 == 1;
            let until = if case == 2 {
                Some(now - max_ret / 4)
            } else {
                None
            };
            let theirs_diff = py.ok(json!({"op": "diff", "path_a": paths[2], "path_b": paths[3],
                                           "ignore_empty": ignore_empty, "until": until,
                                           "now": now}));
            let a = Whisper::open_read(&paths[0]).unwrap();
            let b = Whisper::open_read(&paths[1]).unwrap();
            let ours_diff = diff(&a, &b, ignore_empty, until, now).unwrap();
            let ours_json: Vec<Value> = ours_diff
                .iter()
                .map(|d| {
                    json!([
                        d.index,
                        d.points
                            .iter()
                            .map(|(t, x, y)| json!([t, x.map(hex), y.map(hex)]))
                            .collect::<Vec<_>>(),
                        d.total
                    ])
                })
                .collect();
            assert_eq!(
                json!(ours_json),
                theirs_diff["archives"],
                "{def}: diff case {case}"
            );

            let (time_from, time_to) = if case == 3 {
                (Some(now - max_ret / 2), Some(now - 100))
            } else {
                (None, None)
            };
            py.ok(
                json!({"op": "merge", "from_path": paths[2], "to_path": paths[3],
                         "time_from": time_from, "time_to": time_to, "now": now}),
            );
            let mut b = Whisper::open(&paths[1]).unwrap();
            merge(&a, &mut b, time_from, time_to, now).unwrap();
            assert_same_files(&paths[1], &paths[3], &format!("{def}: merge case {case}"));
        }
    }
}

#[test]
fn resize_matches_whisper_resize_in_bounded_slices() {
    let mut py = Reference::start();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(4242);
    let layouts = [
        ("60:1440", "10s:6h,1m:7d"),
        ("10s:6h,1m:7d,10m:5y", "1m:30d,1h:1y"),
        ("1s:10m,1m:1d", "1s:1h,5m:2d"),
        ("10s:6h,1m:7d,10m:5y", "10s:1d,1m:30d,10m:5y"),
    ];
    for (old_def, new_def) in layouts {
        for chunk in [7, 1000, whisper_format::CHUNK_POINTS] {
            let old = dir.path().join("old.wsp");
            let ours = dir.path().join("new-ours.wsp");
            let theirs = dir.path().join("new-py.wsp");
            for p in [&old, &ours, &theirs] {
                let _ = std::fs::remove_file(p);
            }
            let agg = Aggregation::ALL[rng.range(0, 8) as usize];
            // xff 0: every coarser interval with a point propagates, so the
            // base of each empty lower archive depends on propagation order.
            let opts = CreateOptions {
                x_files_factor: 0.0,
                aggregation: agg,
                ..CreateOptions::default()
            };
            let old_specs = specs(old_def);
            create(&old, &old_specs, &opts).unwrap();
            // Dense data up to `now` in every old archive (a few gaps), so
            // every new archive receives points and propagates into empty
            // coarser archives.
            let now = 1_700_000_000 + rng.range(0, 100_000);
            let mut w = Whisper::open(&old).unwrap();
            for a in old_specs.iter().rev() {
                let step = i64::from(a.seconds_per_point);
                let n = i64::from(a.points).min(20_000);
                let mut points = Vec::new();
                for i in 0..n {
                    if !rng.chance(10) {
                        points.push((now - i * step, rng.value()));
                    }
                }
                w.update_many(&points, now).unwrap();
            }
            let new_specs = specs(new_def);
            py.ok(json!({"op": "resize", "path": old, "new_path": theirs,
                         "archives": archives_json(&new_specs), "xff": 0.0,
                         "agg": agg.name(), "now": now}));
            create(&ours, &new_specs, &opts).unwrap();
            let mut new = Whisper::open(&ours).unwrap();
            let mut calls = 0;
            whisper_format::resize_chunked(
                &w,
                &mut new,
                whisper_format::ResizeMode::Copy,
                now,
                chunk,
                &mut |_, _| calls += 1,
            )
            .unwrap();
            assert!(calls > 0, "progress is reported");
            assert_same_files(
                &ours,
                &theirs,
                &format!("resize {old_def} -> {new_def}, {agg}, slices of {chunk}"),
            );
        }
    }
}
