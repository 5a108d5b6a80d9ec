use std::sync::Arc;

use super::*;

fn cache() -> Cache {
    Cache::new(Config {
        shards: 8,
        max_points: Some(100),
        ..Config::default()
    })
}

#[test]
fn a_point_is_twelve_bytes() {
    assert_eq!(std::mem::size_of::<Point>(), 12);
}

#[test]
fn get_sees_pending_and_in_flight_with_latest_received_winning() {
    let c = cache();
    assert!(c.add("a.b", 20, 1.0));
    assert!(!c.add("a.b", 10, 2.0));
    c.add("a.b", 20, 3.0);
    assert_eq!(c.get("a.b"), vec![(10, 2.0), (20, 3.0)]);
    let popped = c.pop("a.b").unwrap();
    assert_eq!(popped.points, vec![(10, 2.0), (20, 3.0)]);
    // In flight: still visible, and newer points win over it.
    c.add("a.b", 10, 4.0);
    assert_eq!(c.get("a.b"), vec![(10, 4.0), (20, 3.0)]);
    assert_eq!(c.size(), 4);
    c.confirm(popped);
    assert_eq!(c.get("a.b"), vec![(10, 4.0)]);
    assert_eq!(c.size(), 1);
    assert!(c.get("nothing").is_empty());
}

#[test]
fn one_write_in_flight_per_metric() {
    let c = cache();
    c.add("m", 1, 1.0);
    let first = c.pop("m").unwrap();
    c.add("m", 2, 2.0);
    assert!(c.pop("m").is_none(), "a second pop while writing");
    c.confirm(first);
    assert_eq!(c.pop("m").unwrap().points, vec![(2, 2.0)]);
}

#[test]
fn a_failed_write_gives_the_points_back_ahead_of_newer_ones() {
    let c = cache();
    c.add("m", 5, 1.0);
    let popped = c.pop("m").unwrap();
    c.add("m", 5, 2.0);
    c.give_back(popped);
    assert_eq!(c.size(), 2);
    // The retried write carries both; the one received later wins.
    let retry = c.pop("m").unwrap();
    assert_eq!(retry.points, vec![(5, 2.0)]);
    c.confirm(retry);
    assert_eq!(c.size(), 0);
    assert_eq!(c.metrics(), 0, "empty entries are removed");
}

#[test]
fn limit_and_low_watermark() {
    let c = cache();
    for i in 0..99 {
        c.add("m", i, 0.0);
    }
    assert!(!c.is_full());
    c.add_batch(1, |_| ("n", 1, 1.0), &mut Vec::new());
    assert!(c.is_full(), "at the limit");
    c.add("m", 200, 0.0);
    assert_eq!(c.size(), 101, "nothing refused above the limit");
    assert!(!c.below_low_watermark());
    let p = c.pop("m").unwrap();
    c.confirm(p);
    assert!(c.below_low_watermark());
    let unlimited = Cache::new(Config::default());
    unlimited.add("x", 1, 1.0);
    assert!(!unlimited.is_full() && unlimited.below_low_watermark());
}

#[test]
fn persisters_partition_the_shards() {
    let c = Arc::new(Cache::new(Config {
        shards: 16,
        max_points: None,
        expected_metrics: 1_000,
    }));
    for i in 0..500 {
        c.add(&format!("m.{i}"), 1, 1.0);
    }
    let n = 3;
    let mut seen = std::collections::HashSet::new();
    for k in 0..n {
        let mut q = c.write_queue(k, n, WriteStrategy::Naive);
        while let Some(p) = q.next_batch() {
            assert_eq!(c.shard_of(&p.name) % n, k);
            assert!(seen.insert(p.name.clone()), "{} popped twice", p.name);
            c.confirm(p);
        }
    }
    assert_eq!(seen.len(), 500);
    assert_eq!(c.size(), 0);
}

#[test]
fn sorted_and_max_write_the_biggest_first() {
    for strategy in [WriteStrategy::Sorted, WriteStrategy::Max] {
        let c = Arc::new(Cache::new(Config {
            shards: 4,
            max_points: None,
            ..Config::default()
        }));
        for (name, n) in [("small", 1), ("big", 50), ("mid", 10)] {
            for t in 0..n {
                c.add(name, t, 1.0);
            }
        }
        let mut q = c.write_queue(0, 1, strategy);
        let order: Vec<String> = std::iter::from_fn(|| {
            let p = q.next_batch()?;
            let name = p.name.to_string();
            c.confirm(p);
            Some(name)
        })
        .collect();
        assert_eq!(order, ["big", "mid", "small"], "{strategy:?}");
    }
}

#[test]
fn concurrent_adds_and_writes_lose_nothing() {
    let c = Arc::new(Cache::new(Config {
        shards: 64,
        max_points: None,
        ..Config::default()
    }));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..20_000u32 {
                    c.add(&format!("m.{}", i % 97), w * 100_000 + i, f64::from(i));
                }
            })
        })
        .collect();
    let mut written = 0usize;
    let mut q = c.write_queue(0, 1, WriteStrategy::Sorted);
    let mut drain = |q: &mut WriteQueue| {
        while let Some(p) = q.next_batch() {
            written += p.points.len();
            c.confirm(p);
        }
    };
    for _ in 0..50 {
        drain(&mut q);
    }
    for w in writers {
        w.join().unwrap();
    }
    drain(&mut q);
    assert_eq!(written, 4 * 20_000, "every distinct timestamp written once");
    assert_eq!(c.size(), 0);
}

#[test]
fn strategy_names() {
    assert_eq!("max".parse(), Ok(WriteStrategy::Max));
    assert_eq!("sorted".parse(), Ok(WriteStrategy::Sorted));
    assert_eq!("naive".parse(), Ok(WriteStrategy::Naive));
    assert!("timesorted".parse::<WriteStrategy>().is_err());
}

#[test]
fn generations_track_the_oldest_unwritten_point() {
    let c = cache();
    assert_eq!(
        c.oldest_live_generation(),
        1,
        "empty: everything older is written"
    );
    c.add("a", 1, 1.0);
    assert_eq!(c.advance_generation(), Some(1));
    c.add("b", 1, 1.0);
    assert_eq!(c.oldest_live_generation(), 0);
    // a's write is in flight when a new point arrives in generation 2.
    let popped = c.pop("a").unwrap();
    assert_eq!(c.advance_generation(), Some(2));
    c.add("a", 2, 2.0);
    c.confirm(popped);
    // a's remaining point arrived after the pop (generation 1); b still holds generation 1.
    assert_eq!(c.oldest_live_generation(), 1);
    let b = c.pop("b").unwrap();
    c.give_back(b);
    assert_eq!(
        c.oldest_live_generation(),
        1,
        "a failed write keeps its generation"
    );
    let b = c.pop("b").unwrap();
    c.confirm(b);
    assert_eq!(
        c.oldest_live_generation(),
        1,
        "a's point from generation 1..2 remains"
    );
    let a = c.pop("a").unwrap();
    c.confirm(a);
    assert_eq!(c.oldest_live_generation(), 3);
}

#[test]
fn a_generation_slot_is_not_reused_while_live() {
    let c = cache();
    c.add("old", 1, 1.0);
    for _ in 1..GENERATIONS {
        assert!(c.advance_generation().is_some());
    }
    assert_eq!(
        c.advance_generation(),
        None,
        "slot 0 still holds a live entry"
    );
    let p = c.pop("old").unwrap();
    c.confirm(p);
    assert_eq!(c.advance_generation(), Some(GENERATIONS));
}

#[test]
fn a_batch_is_the_same_as_adding_each_point_in_order() {
    let one = cache();
    let batched = cache();
    // Metrics spread over every shard, repeated timestamps (the last received must win),
    // and a metric already cached before the batch.
    one.add("m.0", 1, -1.0);
    batched.add("m.0", 1, -1.0);
    let points: Vec<(String, u32, f64)> = (0..500u32)
        .map(|i| (format!("m.{}", i % 37), i % 5, f64::from(i)))
        .collect();
    let mut want_created = Vec::new();
    for (name, t, v) in &points {
        want_created.push(one.add(name, *t, *v));
    }
    let mut created = vec![true; 3];
    batched.add_batch(
        points.len(),
        |i| (points[i].0.as_str(), points[i].1, points[i].2),
        &mut created,
    );
    assert_eq!(created, want_created);
    assert_eq!(created.iter().filter(|c| **c).count(), 36);
    assert_eq!(batched.size(), one.size());
    assert_eq!(batched.metrics(), 37);
    for m in 0..37 {
        let name = format!("m.{m}");
        assert_eq!(batched.get(&name), one.get(&name), "{name}");
    }
    assert_eq!(batched.oldest_live_generation(), 0);
    // Every entry the batch created was counted live once: writing them all empties
    // the generation.
    for m in 0..37 {
        let popped = batched.pop(&format!("m.{m}")).unwrap();
        batched.confirm(popped);
    }
    assert_eq!(batched.size(), 0);
    assert_eq!(batched.oldest_live_generation(), 1);
    batched.add_batch(0, |_| unreachable!(), &mut created);
    assert!(created.is_empty());
}

#[test]
fn points_beyond_a_block_keep_their_order_through_a_failed_write() {
    let c = Cache::new(Config {
        shards: 4,
        max_points: None,
        ..Config::default()
    });
    // 150 points over 100 timestamps: the later value of a timestamp must win.
    for i in 0..150u32 {
        c.add("m", i % 100, f64::from(i));
    }
    let first = c.pop("m").unwrap();
    assert_eq!(first.points.len(), 100);
    assert_eq!(first.points[10], (10, 110.0));
    assert_eq!(first.points[60], (60, 60.0));
    for i in 0..70u32 {
        c.add("m", i, 1000.0 + f64::from(i));
    }
    c.give_back(first);
    assert_eq!(c.size(), 220);
    let again = c.pop("m").unwrap();
    // Timestamps below 70 were rewritten after the pop; the rest kept their first value
    // (only timestamps below 50 were sent twice in the first round).
    let want: Vec<(i64, f64)> = (0..100i64)
        .map(|t| (t, if t < 70 { 1000.0 + t as f64 } else { t as f64 }))
        .collect();
    assert_eq!(again.points, want);
    assert_eq!(c.get("m"), want);
    c.confirm(again);
    assert_eq!((c.size(), c.metrics()), (0, 0));
}
