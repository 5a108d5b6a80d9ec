//! [`Store`]: the storage directory as one unit, and the only way in or out of it.
//!
//! It owns the lock, the write cache, the write-ahead log, the metric and tag indexes,
//! the storage rules and filters, the persister threads, the reader and the events
//! database, and keeps the rules that tie them together in one place:
//!
//! - **Ingest order** ([`Store::ingest`]): filters → cache → metric index → tag index →
//!   log. A point is in the cache before it is logged, so a log segment is never deleted
//!   while one of its points is unwritten (see `wal`); a new name is in the metric index
//!   before the tag index, so a series `/tags/findSeries` lists is one `seriesByTag()`
//!   finds. Replaying the log at start-up is the same ingest, minus the logging: a point
//!   accepted before a crash is found and rendered right after the restart, before its
//!   file exists.
//! - **Who writes a file**: only the persister thread that owns the metric's cache shard,
//!   for points and for metadata alike ([`Store::set_aggregation_method`]).
//! - **Start and stop**: the lock first, then the indexes, the replay, the log, the
//!   persisters; [`Store::stop`] writes the whole cache, syncs the files, then retires
//!   the log and syncs the tag log.
//!
//! Everything here blocks; async callers run it on their blocking pool.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use charcoal_cache::{Cache, Config as CacheConfig};
use charcoal_protocol::glob::PathPattern;
use charcoal_protocol::{Batch, MetricName, MetricNameRef, NameError};
use whisper_format::Aggregation;

use crate::events::{EventStore, EventsError};
use crate::filters::{Filters, Verdict};
use crate::index::{Found, MetricIndex};
use crate::lock::{LockError, StorageLock};
use crate::names::index_name;
use crate::persister::{self, Persisters, RequestError, Stats};
use crate::reader::{Reader, Series};
use crate::schemas::{Rules, RulesError};
use crate::tags::{TagIndex, TagLogError};
use crate::wal::{self, Wal, WalConfig, WalStats};

/// While the cache holds fewer points than this (about 20 MB; half of `MAX_CACHE_SIZE` if
/// that is less), the persisters step aside for busy receivers.
const STEP_ASIDE_POINTS: usize = 1_000_000;

/// The least the cache's tables are sized for at start: a fleet pointed at a new store
/// sends every name at once, and tables grown during that burst cost it about 20% of its
/// receive rate (100,000 new metrics on 2 cores, `benches/new-metrics.sh`: median 4.4 M
/// points/s against 3.6). The price, while fewer metrics than this are cached: their
/// entries land on more pages of the sized tables, about 3.5 MB of RSS for 1,000 metrics.
const EXPECTED_METRICS_FLOOR: usize = 65_536;

/// How the store is laid out and tuned.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `STORAGE_DIR`: the lock, the log, the tag log and the events database.
    pub storage_dir: PathBuf,
    /// `CONF_DIR`: storage-schemas.conf, storage-aggregation.conf and the white and
    /// black lists (None: the embedded rules, no lists).
    pub conf_dir: Option<PathBuf>,
    /// `USE_WHITELIST`.
    pub use_whitelist: bool,
    /// `MAX_CACHE_SIZE` in points (None: unlimited).
    pub max_cache_size: Option<usize>,
    /// The persister threads (their `whisper_dir` is `LOCAL_DATA_DIR`).
    pub persisters: persister::Config,
    /// The write-ahead log (None: off, carbon's behaviour).
    pub wal: Option<WalSettings>,
    /// Whisper files the reader keeps open between reads.
    pub open_files: usize,
    /// Raised by the receivers while they handle data: the persisters step aside while it
    /// is above zero and the cache has room.
    pub busy: Arc<AtomicUsize>,
}

/// The write-ahead log's settings.
#[derive(Debug, Clone)]
pub struct WalSettings {
    /// Longest time between two syncs.
    pub sync_interval: Duration,
    /// Size beyond which it stops logging.
    pub max_bytes: u64,
}

/// Why the store could not open.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another server holds the storage directory, or it cannot be locked.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// storage-schemas.conf or storage-aggregation.conf does not parse.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// A directory or file of the store cannot be created or read.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What it is.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The tag log cannot be read.
    #[error(transparent)]
    Tags(#[from] TagLogError),
    /// The events database cannot be opened.
    #[error(transparent)]
    Events(#[from] EventsError),
}

/// Why a find was refused.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// The pattern is not a valid path expression or name.
    #[error("{0}")]
    Pattern(String),
    /// More matches than the caller's limit.
    #[error("{pattern:?} matches more than {limit} metrics (limit --max-find-results)")]
    Limit {
        /// The pattern.
        pattern: String,
        /// The limit.
        limit: usize,
    },
}

/// Why carbonlink's metadata request failed (the text goes back to graphite-web).
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// Not a valid metric name.
    #[error(transparent)]
    Name(#[from] NameError),
    /// Not an aggregation method whisper knows.
    #[error("Unrecognized aggregation method: {0}")]
    Method(String),
    /// The file cannot be read or changed.
    #[error(transparent)]
    Whisper(#[from] whisper_format::Error),
    /// The persisters have stopped.
    #[error(transparent)]
    Request(#[from] RequestError),
}

/// Points the white and black lists dropped (carbon's `blacklistMatches`,
/// `whitelistRejects`).
#[derive(Debug, Default)]
pub struct FilterCounters {
    /// Dropped by the blacklist.
    pub blacklist_matches: AtomicU64,
    /// Dropped for matching no whitelist pattern.
    pub whitelist_rejects: AtomicU64,
}

/// What [`Store::open`] found, for the start-up log.
#[derive(Debug, Default)]
pub struct OpenReport {
    /// Metrics found on disk.
    pub metrics_on_disk: usize,
    /// Directories the scan could not read.
    pub scan_errors: Vec<String>,
    /// What the log replay found (None: the log is off).
    pub replayed: Option<wal::Replayed>,
    /// What the tag log held.
    pub tags: crate::tags::LoadReport,
    /// Rules sections skipped.
    pub skipped_rules: Vec<crate::Skipped>,
    /// White/blacklist patterns skipped.
    pub skipped_filters: Vec<String>,
}

/// The ingest path's parts, built before the store so the replay can use them.
#[derive(Debug)]
struct Ingest {
    cache: Arc<Cache>,
    index: Arc<MetricIndex>,
    tags: Arc<TagIndex>,
    filters: Option<RwLock<Filters>>,
    filtered: FilterCounters,
    /// Set once the replay is done: replayed points are already logged.
    wal: OnceLock<Wal>,
}

impl Ingest {
    fn ingest(&self, batch: &mut Batch) {
        if let Some(f) = self
            .filters
            .as_ref()
            .map(|f| f.read().unwrap_or_else(|p| p.into_inner()))
            .filter(|f| !f.is_empty())
        {
            batch.retain(|name, _| match f.check(name.as_str()) {
                Verdict::Accept => true,
                Verdict::Blacklisted => {
                    self.filtered
                        .blacklist_matches
                        .fetch_add(1, Ordering::Relaxed);
                    false
                }
                Verdict::NotWhitelisted => {
                    self.filtered
                        .whitelist_rejects
                        .fetch_add(1, Ordering::Relaxed);
                    false
                }
            });
        }
        if batch.is_empty() {
            return;
        }
        let mut created = Vec::new();
        self.cache.add_batch(
            batch.len(),
            |i| {
                let (name, s) = batch.get(i);
                (name.as_str(), s.timestamp, s.value)
            },
            &mut created,
        );
        if created.iter().any(|c| *c) {
            self.index_new(batch, &created);
        }
        // After the cache (see `wal` for why that order is safe).
        if let Some(log) = self.wal.get() {
            // About 40 bytes a point (name, timestamp, value), allocated once per batch.
            let mut logged = Vec::with_capacity(batch.len() * 40);
            for (name, s) in batch.iter() {
                wal::encode_point(&mut logged, name.as_str(), s.timestamp, s.value);
            }
            log.append(logged, batch.len() as u64);
        }
    }

    /// Names new to the cache go into the metric index (findable and rendered from the
    /// cache before their file exists), then tagged ones into the tag index: a series
    /// the tag index lists is always one the metric index has.
    fn index_new(&self, batch: &Batch, created: &[bool]) {
        // Plain names are their own index names; tagged ones are indexed by their file.
        let mut plain: Vec<&str> = Vec::new();
        let mut tagged: Vec<(MetricNameRef<'_>, String)> = Vec::new();
        for ((name, _), _) in batch.iter().zip(created).filter(|(_, new)| **new) {
            if name.is_tagged() {
                tagged.push((name, index_name(name)));
            } else {
                plain.push(name.as_str());
            }
        }
        self.index.insert_many(
            plain
                .into_iter()
                .chain(tagged.iter().map(|(_, indexed)| indexed.as_str())),
        );
        for (name, _) in tagged {
            if let Err(e) = self.tags.add(name) {
                tracing::warn!(metric = %name, "cannot record the tagged name: {e}");
            }
        }
    }
}

/// The storage directory, open. See the module docs for what it guarantees.
#[derive(Debug)]
pub struct Store {
    ingest: Ingest,
    whisper_dir: PathBuf,
    conf_dir: Option<PathBuf>,
    rules: Arc<RwLock<Rules>>,
    reader: Reader,
    events: Arc<EventStore>,
    persisters: Mutex<Option<Persisters>>,
    persister_stats: Arc<Stats>,
    /// Held for the store's life; released last.
    _lock: StorageLock,
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io { what, path, source }
}

fn load_rules(conf_dir: Option<&Path>) -> Result<Rules, RulesError> {
    match conf_dir {
        Some(dir) => Rules::load(dir),
        None => Ok(Rules::embedded()),
    }
}

fn load_filters(conf_dir: Option<&Path>) -> (Filters, Vec<String>) {
    match conf_dir {
        Some(dir) => Filters::load(dir),
        None => (Filters::default(), Vec::new()),
    }
}

impl Store {
    /// Locks `config.storage_dir` (see [`StorageLock::acquire`]) and opens the store.
    pub fn open(config: StoreConfig) -> Result<(Store, OpenReport), StoreError> {
        let lock = StorageLock::acquire(&config.storage_dir)?;
        Store::open_locked(lock, config)
    }

    /// Opens the store in a storage directory this process has locked: scans the whisper
    /// tree, loads the tag log, replays the write-ahead log, starts the log and the
    /// persister threads.
    pub fn open_locked(
        lock: StorageLock,
        config: StoreConfig,
    ) -> Result<(Store, OpenReport), StoreError> {
        let mut report = OpenReport::default();
        let whisper_dir = config.persisters.whisper_dir.clone();
        std::fs::create_dir_all(&whisper_dir).map_err(io_error(
            "cannot create the whisper directory",
            &whisper_dir,
        ))?;
        let conf_dir = config.conf_dir.clone();
        let rules = load_rules(conf_dir.as_deref())?;
        report.skipped_rules = rules.skipped.clone();
        let rules = Arc::new(RwLock::new(rules));
        let filters = config.use_whitelist.then(|| {
            let (filters, skipped) = load_filters(conf_dir.as_deref());
            report.skipped_filters = skipped;
            RwLock::new(filters)
        });

        let started = Instant::now();
        let (index, scan_errors) =
            MetricIndex::scan(&whisper_dir, config.persisters.threads.max(2));
        report.metrics_on_disk = index.len();
        report.scan_errors = scan_errors;
        tracing::info!(
            metrics = index.len(),
            millis = started.elapsed().as_millis() as u64,
            "metric index built"
        );
        let cache = Arc::new(Cache::new(CacheConfig {
            shards: 256,
            max_points: config.max_cache_size,
            // After a restart every metric on disk comes back; a new store gets room for a
            // first burst (see the constant).
            expected_metrics: index.len().max(EXPECTED_METRICS_FLOOR),
        }));
        let (tags, tag_report) = TagIndex::open(&config.storage_dir.join("tags.log"))?;
        report.tags = tag_report;
        let ingest = Ingest {
            cache: cache.clone(),
            index: Arc::new(index),
            tags: Arc::new(tags),
            filters,
            filtered: FilterCounters::default(),
            wal: OnceLock::new(),
        };
        if let Some(settings) = &config.wal {
            let dir = config.storage_dir.join("wal");
            let started = Instant::now();
            let replayed = wal::replay(&dir, |batch| ingest.ingest(batch))
                .map_err(io_error("cannot replay the write-ahead log in", &dir))?;
            if replayed.segments > 0 {
                tracing::info!(
                    segments = replayed.segments,
                    points = replayed.points,
                    millis = started.elapsed().as_millis() as u64,
                    "write-ahead log replayed"
                );
            }
            report.replayed = Some(replayed);
            let log = Wal::start(
                WalConfig {
                    dir: dir.clone(),
                    sync_interval: settings.sync_interval,
                    max_bytes: settings.max_bytes,
                    rotate_bytes: (settings.max_bytes / 16).clamp(1 << 20, 256 << 20),
                    rotate_interval: Duration::from_secs(10),
                },
                cache.clone(),
            )
            .map_err(io_error("cannot start the write-ahead log in", &dir))?;
            let _ = ingest.wal.set(log);
        }
        // The events database sits beside the whisper tree, like graphite-web's
        // graphite.db in STORAGE_DIR.
        let events = Arc::new(EventStore::open(&config.storage_dir.join("events.db"))?);

        // Receiving first: while a receiver is handling data and the cache has room, the
        // persisters wait (see `persister`'s module docs).
        let step_aside: persister::StepAside = {
            let busy = config.busy.clone();
            let cache = cache.clone();
            let room = config
                .max_cache_size
                .map_or(STEP_ASIDE_POINTS, |max| (max / 2).min(STEP_ASIDE_POINTS));
            Arc::new(move || busy.load(Ordering::Relaxed) > 0 && cache.size() < room)
        };
        let persisters = Persisters::start(
            cache.clone(),
            rules.clone(),
            config.persisters.clone(),
            ingest.index.clone(),
            step_aside,
        )
        .map_err(io_error(
            "cannot start the persister threads in",
            &whisper_dir,
        ))?;
        let persister_stats = persisters.stats.clone();
        let reader = Reader::new(whisper_dir.clone(), cache, rules.clone(), config.open_files);
        Ok((
            Store {
                ingest,
                whisper_dir,
                conf_dir,
                rules,
                reader,
                events,
                persisters: Mutex::new(Some(persisters)),
                persister_stats,
                _lock: lock,
            },
            report,
        ))
    }

    /// Accepts a batch of received points (filters → cache → indexes → log; see the
    /// module docs). The filters may remove points from `batch`.
    pub fn ingest(&self, batch: &mut Batch) {
        self.ingest.ingest(batch);
    }

    /// True while the cache is at its limit: receivers should stop reading.
    pub fn is_full(&self) -> bool {
        self.ingest.cache.is_full()
    }

    /// True once the cache is below its low watermark: receivers may read again.
    pub fn below_low_watermark(&self) -> bool {
        self.ingest.cache.below_low_watermark()
    }

    /// The whisper directory (`LOCAL_DATA_DIR`).
    pub fn whisper_dir(&self) -> &Path {
        &self.whisper_dir
    }

    /// Metrics and branches matching a graphite path expression, at most `limit`. A
    /// tagged name (`a;x=1`) is looked up as itself.
    pub fn find(&self, pattern: &str, limit: usize) -> Result<Vec<Found>, FindError> {
        if pattern.contains(';') && !pattern.starts_with("_tagged.") {
            let name = MetricName::parse(pattern).map_err(|e| FindError::Pattern(e.to_string()))?;
            let stored = self.ingest.index.contains(&index_name(name.as_name_ref()));
            return Ok(if stored {
                vec![Found {
                    path: name.into_string(),
                    is_leaf: true,
                    is_branch: false,
                }]
            } else {
                Vec::new()
            });
        }
        let compiled = PathPattern::new(pattern).map_err(|e| FindError::Pattern(e.to_string()))?;
        self.ingest
            .index
            .find(&compiled, limit)
            .map_err(|limit| FindError::Limit {
                pattern: pattern.to_owned(),
                limit,
            })
    }

    /// Every stored metric's index name (graphite-web's `/metrics/index.json`).
    pub fn list(&self) -> Vec<String> {
        self.ingest.index.all()
    }

    /// A metric's values over `(from, until]`: its file overlaid with the cache, or the
    /// cache alone before the file exists. `Ok(None)` for an unknown metric or a range
    /// outside the file's retention; an invalid name is unknown (it never reaches the
    /// filesystem).
    pub fn fetch(
        &self,
        name: &str,
        from: i64,
        until: i64,
        now: i64,
    ) -> Result<Option<Series>, whisper_format::Error> {
        let Ok(name) = MetricName::parse(name) else {
            return Ok(None);
        };
        self.reader
            .fetch(&name.relative_path(), name.as_str(), from, until, now)
    }

    /// graphite-web's leaf interval for `name`'s file.
    pub fn interval(&self, name: &str, now: i64) -> Option<(f64, f64)> {
        let name = MetricName::parse(name).ok()?;
        self.reader.interval(&name.relative_path(), now)
    }

    /// The tag index's matches for `seriesByTag()` that have data (a file, or points in
    /// the cache: both put the name in the metric index). `/tags/findSeries` answers from
    /// the tag index alone, as graphite-web's tag database does.
    pub fn find_tagged<S: AsRef<str>>(
        &self,
        expressions: &[S],
    ) -> Result<Vec<String>, crate::tags::TagQueryError> {
        let names = self.ingest.tags.find_series(expressions)?;
        Ok(names
            .into_iter()
            .filter(|n| {
                MetricName::parse(n)
                    .is_ok_and(|name| self.ingest.index.contains(&index_name(name.as_name_ref())))
            })
            .collect())
    }

    /// The tag index (graphite-web's tag database).
    pub fn tags(&self) -> &Arc<TagIndex> {
        &self.ingest.tags
    }

    /// The events database.
    pub fn events(&self) -> &Arc<EventStore> {
        &self.events
    }

    /// Carbonlink's cache query: the points of `metric` not yet in its file.
    pub fn cached(&self, metric: &str) -> Vec<(i64, f64)> {
        // graphite-web asks with the normalised name; normalise anyway.
        match MetricName::parse(metric) {
            Ok(name) => self.ingest.cache.get(name.as_str()),
            Err(_) => Vec::new(),
        }
    }

    /// The aggregation method in `metric`'s file header.
    pub fn aggregation_method(&self, metric: &str) -> Result<Aggregation, MetadataError> {
        let name = MetricName::parse(metric)?;
        let header = whisper_format::info(&self.whisper_dir.join(name.relative_path()))?;
        Ok(header.aggregation)
    }

    /// Changes the aggregation method in `metric`'s file, on the persister thread that
    /// writes that file; returns the old method.
    pub fn set_aggregation_method(
        &self,
        metric: &str,
        method: &str,
    ) -> Result<Aggregation, MetadataError> {
        let method: Aggregation = method
            .parse()
            .map_err(|_| MetadataError::Method(method.to_owned()))?;
        let name = MetricName::parse(metric)?;
        let path = self.whisper_dir.join(name.relative_path());
        let persisters = self.persisters.lock().unwrap_or_else(|p| p.into_inner());
        let persisters = persisters.as_ref().ok_or(RequestError::Stopped)?;
        Ok(persisters.set_aggregation(name.as_str(), path, method)?)
    }

    /// Re-reads storage-schemas.conf, storage-aggregation.conf and the white and black
    /// lists (SIGHUP). Rules that no longer parse leave the ones in force.
    pub fn reload(&self) -> Result<(), RulesError> {
        let rules = load_rules(self.conf_dir.as_deref());
        if let Some(f) = &self.ingest.filters {
            let (filters, skipped) = load_filters(self.conf_dir.as_deref());
            for s in skipped {
                tracing::warn!("white/blacklist pattern skipped: {s}");
            }
            *f.write().unwrap_or_else(|p| p.into_inner()) = filters;
        }
        let rules = rules?;
        for s in &rules.skipped {
            tracing::warn!(section = %s.section, "storage rule skipped: {}", s.reason);
        }
        *self.rules.write().unwrap_or_else(|p| p.into_inner()) = rules;
        Ok(())
    }

    /// Why the store is not serving its purpose right now (empty: it is).
    pub fn problems(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        let cache = &self.ingest.cache;
        if cache.is_full() {
            reasons.push(format!(
                "cache full: {} points held, receivers paused",
                cache.size()
            ));
        }
        if self
            .persister_stats
            .last_write_failed
            .load(Ordering::Relaxed)
        {
            reasons.push("the last whisper write failed".to_string());
        }
        if let Some(problem) = self.wal_stats().and_then(|w| w.problem()) {
            reasons.push(problem);
        }
        reasons
    }

    /// The write cache (for its size and counts).
    pub fn cache(&self) -> &Cache {
        &self.ingest.cache
    }

    /// The persisters' counters.
    pub fn persister_stats(&self) -> &Stats {
        &self.persister_stats
    }

    /// The write-ahead log's counters (None: the log is off).
    pub fn wal_stats(&self) -> Option<&WalStats> {
        self.ingest.wal.get().map(|w| &*w.stats)
    }

    /// What the white and black lists dropped.
    pub fn filter_counters(&self) -> &FilterCounters {
        &self.ingest.filtered
    }

    /// Writes the whole cache (rate limits lifted, failed writes retried for
    /// `give_up_after`), syncs the whisper tree, retires the log (every segment goes once
    /// its points are written) and syncs the tag log. Returns the points left unwritten
    /// (zero unless writes kept failing). Call it after the last ingest.
    pub fn stop(&self, give_up_after: Duration) -> usize {
        let persisters = self
            .persisters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let left = match persisters {
            Some(p) => p.stop(&self.ingest.cache, give_up_after),
            None => self.ingest.cache.size(),
        };
        sync_filesystem(&self.whisper_dir);
        if let Some(log) = self.ingest.wal.get() {
            log.stop();
        }
        if let Err(e) = self.ingest.tags.sync() {
            tracing::warn!("{e}");
        }
        left
    }
}

/// Flushes the filesystem holding the whisper tree (syncfs), so a clean shutdown leaves
/// every written point on disk.
fn sync_filesystem(dir: &Path) {
    match std::fs::File::open(dir) {
        Ok(f) => {
            if let Err(e) = rustix::fs::syncfs(&f) {
                tracing::warn!("cannot sync {}: {e}", dir.display());
            }
        }
        Err(e) => tracing::warn!("cannot open {} to sync it: {e}", dir.display()),
    }
}
