//! Persister threads against a real temporary whisper tree.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use charcoal_cache::{Cache, Config as CacheConfig, WriteStrategy};
use charcoal_store::Rules;
use charcoal_store::index::MetricIndex;
use charcoal_store::persister::{Config, Persisters, StepAside};
use whisper_format::{Aggregation, Allocation, Whisper};

struct Rig {
    dir: tempfile::TempDir,
    cache: Arc<Cache>,
    /// The index the persisters add each file they create to.
    created: Arc<MetricIndex>,
    /// What the persisters' `StepAside` answers, and how often they asked.
    step_aside: Arc<AtomicBool>,
    asked: Arc<AtomicUsize>,
}

impl Rig {
    fn new() -> Rig {
        Rig {
            dir: tempfile::tempdir().unwrap(),
            cache: Arc::new(Cache::new(CacheConfig::default())),
            created: Arc::default(),
            step_aside: Arc::default(),
            asked: Arc::default(),
        }
    }

    fn whisper_dir(&self) -> PathBuf {
        self.dir.path().join("whisper")
    }

    fn start(&self, threads: usize, max_creates: Option<f64>, rules: Rules) -> Persisters {
        let (flag, asked) = (self.step_aside.clone(), self.asked.clone());
        let step_aside: StepAside = Arc::new(move || {
            asked.fetch_add(1, Ordering::Relaxed);
            flag.load(Ordering::Relaxed)
        });
        Persisters::start(
            self.cache.clone(),
            Arc::new(RwLock::new(rules)),
            Config {
                whisper_dir: self.whisper_dir(),
                threads,
                nice: 5,
                strategy: WriteStrategy::Sorted,
                max_updates_per_second: None,
                max_creates_per_minute: max_creates,
                allocation: Allocation::Sparse,
                lock: true,
                autoflush: false,
            },
            self.created.clone(),
            step_aside,
        )
        .unwrap()
    }

    /// Polls (bounded) until the cache is empty.
    fn drained(&self, within: Duration) -> bool {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if self.cache.size() == 0 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }
}

fn read(path: &Path, now: i64) -> Vec<(i64, f64)> {
    let w = Whisper::open_read(path).unwrap();
    w.fetch(now - 3600, now, now)
        .unwrap()
        .unwrap()
        .points()
        .collect()
}

#[test]
fn points_reach_files_created_by_the_matching_rules() {
    let rig = Rig::new();
    let rules = Rules::parse(
        "[app]\npattern = ^app\\.\nretentions = 10s:1h,1m:1d\n[rest]\npattern = .*\nretentions = 60:1440\n",
        "s",
        "[sums]\npattern = count$\naggregationMethod = sum\nxFilesFactor = 0\n",
        "a",
    )
    .unwrap();
    let p = rig.start(2, None, rules);
    let now = whisper_format::now();
    let t = (now - 100) as u32;
    for i in 0..50 {
        rig.cache
            .add(&format!("app.host{i}.count"), t, f64::from(i));
        rig.cache.add(&format!("app.host{i}.count"), t + 10, 1.0);
        rig.cache.add(&format!("other.m{i}"), t, 2.0);
    }
    assert!(rig.drained(Duration::from_secs(20)), "all written");
    assert_eq!(p.stop(&rig.cache, Duration::from_secs(1)), 0);

    let app = rig.whisper_dir().join("app/host7/count.wsp");
    let h = whisper_format::info(&app).unwrap();
    assert_eq!(h.aggregation, Aggregation::Sum);
    assert_eq!(h.x_files_factor, 0.0);
    assert_eq!(h.archives.len(), 2);
    let aligned = |t: i64, s: i64| t - t.rem_euclid(s);
    assert_eq!(
        read(&app, now),
        vec![
            (aligned(t as i64, 10), 7.0),
            (aligned(t as i64 + 10, 10), 1.0)
        ]
    );
    let other = rig.whisper_dir().join("other/m3.wsp");
    assert_eq!(
        whisper_format::info(&other).unwrap().archives[0].seconds_per_point,
        60
    );
    assert_eq!(rig.created.len(), 100);
}

#[test]
fn persisters_asked_to_step_aside_for_ever_still_write_everything() {
    let rig = Rig::new();
    rig.step_aside.store(true, Ordering::Relaxed);
    let p = rig.start(1, None, Rules::embedded());
    let now = whisper_format::now() as u32;
    for m in 0..3 {
        rig.cache.add(&format!("aside.m{m}"), now, f64::from(m));
    }
    // At most 100 ms aside per write: three metrics in well under the bound.
    assert!(
        rig.drained(Duration::from_secs(20)),
        "points left in the cache"
    );
    // Asked again and again before each write (every 200 us while it says yes).
    assert!(rig.asked.load(Ordering::Relaxed) > 3 * 10);
    assert_eq!(p.stop(&rig.cache, Duration::from_secs(5)), 0);
    for m in 0..3 {
        let file = rig.whisper_dir().join(format!("aside/m{m}.wsp"));
        assert_eq!(
            read(&file, i64::from(now) + 1),
            vec![(i64::from(now) / 60 * 60, f64::from(m))]
        );
    }
}

#[test]
fn a_failed_write_keeps_its_points_and_is_retried() {
    let rig = Rig::new();
    // A regular file where a directory must go: the create fails.
    std::fs::create_dir_all(rig.whisper_dir()).unwrap();
    let blocker = rig.whisper_dir().join("blocked");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let p = rig.start(1, None, Rules::embedded());
    let now = whisper_format::now();
    rig.cache.add("blocked.metric", (now - 10) as u32, 5.0);
    rig.cache.add("fine.metric", (now - 10) as u32, 6.0);
    let end = Instant::now() + Duration::from_secs(10);
    while p.stats.errors.load(std::sync::atomic::Ordering::Relaxed) == 0 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(p.stats.errors.load(std::sync::atomic::Ordering::Relaxed) > 0);
    assert_eq!(
        rig.cache.get("blocked.metric").len(),
        1,
        "still in the cache, still readable"
    );
    assert!(
        !rig.cache.get("fine.metric").is_empty()
            || rig.whisper_dir().join("fine/metric.wsp").exists()
    );

    std::fs::remove_file(&blocker).unwrap();
    assert!(
        rig.drained(Duration::from_secs(20)),
        "written once the path is free"
    );
    p.stop(&rig.cache, Duration::from_secs(1));
    assert_eq!(
        read(&rig.whisper_dir().join("blocked/metric.wsp"), now).len(),
        1
    );
}

#[test]
fn the_create_limit_delays_new_files_without_dropping_points_and_stop_flushes() {
    let rig = Rig::new();
    let p = rig.start(1, Some(2.0), Rules::embedded());
    let now = whisper_format::now();
    for i in 0..5 {
        rig.cache.add(&format!("new.m{i}"), (now - 30) as u32, 1.0);
    }
    let end = Instant::now() + Duration::from_secs(10);
    while rig.created.len() < 2 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(rig.created.len(), 2, "two tokens, two files");
    assert_eq!(rig.cache.size(), 3, "the other points wait in the cache");
    assert_eq!(
        p.stop(&rig.cache, Duration::from_secs(5)),
        0,
        "stop lifts the limit"
    );
    assert_eq!(rig.created.len(), 5);
}

#[test]
fn a_corrupt_existing_file_keeps_its_points_and_others_are_written() {
    let rig = Rig::new();
    std::fs::create_dir_all(rig.whisper_dir().join("bad")).unwrap();
    let corrupt = rig.whisper_dir().join("bad/file.wsp");
    std::fs::write(&corrupt, b"this is not a whisper header at all").unwrap();
    let p = rig.start(1, None, Rules::embedded());
    let now = whisper_format::now();
    rig.cache.add("bad.file", (now - 10) as u32, 1.0);
    rig.cache.add("good.file", (now - 10) as u32, 2.0);
    let good = rig.whisper_dir().join("good/file.wsp");
    let end = Instant::now() + Duration::from_secs(10);
    while !(good.exists() && p.stats.errors.load(std::sync::atomic::Ordering::Relaxed) > 0)
        && Instant::now() < end
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(read(&good, now).len(), 1, "other metrics keep flowing");
    assert_eq!(rig.cache.get("bad.file").len(), 1, "kept in the cache");
    assert_eq!(
        std::fs::read(&corrupt).unwrap(),
        b"this is not a whisper header at all",
        "the corrupt file is left alone"
    );
    // The operator replaces it with a good file: the points are written.
    std::fs::remove_file(&corrupt).unwrap();
    assert!(rig.drained(Duration::from_secs(20)));
    assert_eq!(p.stop(&rig.cache, Duration::from_secs(1)), 0);
    assert_eq!(read(&corrupt, now).len(), 1);
}

/// The nice value of each of this process's threads named `prefix` and a number (all of
/// them for an empty prefix).
fn nice_of_threads(prefix: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ...`: fields after the comm, nice is the 19th field.
        let (head, rest) = stat.rsplit_once(')').unwrap();
        let comm = head.split_once('(').unwrap().1;
        let numbered = comm
            .strip_prefix(prefix)
            .is_some_and(|n| prefix.is_empty() || n.bytes().all(|b| b.is_ascii_digit()));
        if numbered {
            out.push(rest.split_whitespace().nth(16).unwrap().parse().unwrap());
        }
    }
    out
}

#[test]
fn persister_threads_run_below_the_receivers_priority() {
    let rig = Rig::new();
    let base = nice_of_threads("").into_iter().min().unwrap();
    let rules = Rules::parse("[all]\npattern = .*\nretentions = 60:1440\n", "s", "", "a").unwrap();
    let p = rig.start(2, None, rules);
    rig.cache.add("m", 1, 1.0);
    let deadline = Instant::now() + Duration::from_secs(10);
    // Other tests in this process run persisters too, all with the same setting: every
    // thread of that name ends up 5 below the rest, ours included.
    let lowered = |n: &[i64]| n.len() >= 2 && n.iter().all(|n| *n == base + 5);
    let mut nices = nice_of_threads("persister-");
    while !lowered(&nices) && Instant::now() < deadline {
        std::thread::yield_now();
        nices = nice_of_threads("persister-");
    }
    assert!(lowered(&nices), "{nices:?}, base {base}");
    p.stop(&rig.cache, Duration::from_secs(1));
}
