//! The one place that knows every component: builds them from the settings,
//! starts them in dependency order and stops them in reverse.
//!
//! Start: data directory → rules → cache → metric index (a scan of the
//! whisper tree) → tag index (its log) → persisters (which add each new file to the index) → HTTP
//! → receivers (only once everything behind them runs). Stop, on SIGTERM or SIGINT:
//! receivers stop accepting and drain their connections → persisters write
//! the whole cache (limits lifted) and sync, the tag log is synced → HTTP stops → exit 0.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use charcoal_cache::{Cache, Config as CacheConfig};
use charcoal_protocol::MetricName;
use charcoal_receiver::{Batch, CacheReader, Sink};
use charcoal_store::Rules;
use charcoal_store::events::EventStore;
use charcoal_store::filters::{Filters, Verdict};
use charcoal_store::index::MetricIndex;
use charcoal_store::persister::{self, Persisters};
use charcoal_store::reader::Reader;
use charcoal_store::tags::TagIndex;
use charcoal_store::wal::{self, Wal, WalConfig};
use tokio::sync::watch;

use crate::config::Settings;
use crate::selfmetrics;

/// Knobs that are flags rather than carbon.conf keys.
#[derive(Debug, Clone)]
pub(crate) struct Tuning {
    /// Persister threads.
    pub(crate) writers: usize,
    /// Added to the persister threads' nice value.
    pub(crate) writer_nice: i32,
    /// How long shutdown keeps retrying failed writes.
    pub(crate) shutdown_timeout: Duration,
    /// Receiver limits that are flags (line length, connections, idle).
    pub(crate) receiver: charcoal_receiver::Config,
    /// Render API settings and limits.
    pub(crate) api: charcoal_api::ApiConfig,
    /// Whisper files the reader keeps open between renders.
    pub(crate) open_files: usize,
    /// HTTP connection limits.
    pub(crate) http: charcoal_api::serve::HttpLimits,
    /// The write-ahead log (None: off, carbon's behaviour).
    pub(crate) wal: Option<WalTuning>,
}

/// Write-ahead log flags.
#[derive(Debug, Clone)]
pub(crate) struct WalTuning {
    pub(crate) sync_interval: Duration,
    pub(crate) max_bytes: u64,
}

/// Counts of points the white/blacklists dropped (carbon's
/// `blacklistMatches` and `whitelistRejects`).
#[derive(Debug, Default)]
pub(crate) struct FilterCounters {
    pub(crate) blacklist_matches: AtomicU64,
    pub(crate) whitelist_rejects: AtomicU64,
}

/// The receivers' sink: the white/blacklists (when `USE_WHITELIST`), then
/// the write cache.
struct CacheSink {
    cache: Arc<Cache>,
    /// New cache entries are added to the index at once, so a metric is findable (and
    /// rendered from the cache) before its file exists.
    index: Arc<MetricIndex>,
    /// Every accepted batch is logged after it is in the cache (see `charcoal_store::wal`
    /// for why that order is safe).
    wal: Option<Arc<Wal>>,
    /// Tagged names are recorded the first time they enter the cache (their file names
    /// are hashes, so the tag index is the only place they can be found again).
    tags: Arc<TagIndex>,
    filters: Option<Arc<RwLock<Filters>>>,
    counters: Arc<FilterCounters>,
}

/// While the cache holds fewer points than this (about 20 MB; half of `MAX_CACHE_SIZE` if
/// that is less), the persisters step aside for busy receivers.
const STEP_ASIDE_POINTS: usize = 1_000_000;

/// The least the cache's tables are sized for at start: a fleet pointed at a new store
/// sends every name at once, and tables grown during that burst cost it about 20% of its
/// receive rate (100,000 new metrics on 2 cores, `benches/new-metrics.sh`: median 4.4 M
/// points/s against 3.6). The price, while fewer metrics than this are cached: their
/// entries land on more pages of the sized tables, about 3.5 MB of RSS for 1,000 metrics.
const EXPECTED_METRICS_FLOOR: usize = 65_536;

impl Sink for CacheSink {
    fn accept(&self, batch: &mut Batch) {
        if let Some(f) = self
            .filters
            .as_ref()
            .map(|f| f.read().unwrap_or_else(|p| p.into_inner()))
            .filter(|f| !f.is_empty())
        {
            batch.retain(|name, _| match f.check(name.as_str()) {
                Verdict::Accept => true,
                Verdict::Blacklisted => {
                    self.counters
                        .blacklist_matches
                        .fetch_add(1, Ordering::Relaxed);
                    false
                }
                Verdict::NotWhitelisted => {
                    self.counters
                        .whitelist_rejects
                        .fetch_add(1, Ordering::Relaxed);
                    false
                }
            });
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
        // About 40 bytes a point (name, timestamp, value), allocated once per batch.
        let mut logged = Vec::new();
        if self.wal.is_some() {
            logged.reserve(batch.len() * 40);
            for (name, s) in batch.iter() {
                wal::encode_point(&mut logged, name.as_str(), s.timestamp, s.value);
            }
        }
        let logged_points = batch.len() as u64;
        if created.iter().any(|c| *c) {
            // Plain names are their own index names; tagged ones are indexed by their file.
            let mut plain: Vec<&str> = Vec::new();
            let mut tagged: Vec<String> = Vec::new();
            for ((name, _), _) in batch.iter().zip(&created).filter(|(_, new)| **new) {
                if !name.is_tagged() {
                    plain.push(name.as_str());
                    continue;
                }
                if let Err(e) = self.tags.add(name) {
                    tracing::warn!(metric = %name, "cannot record the tagged name: {e}");
                }
                tagged.push(crate::source::index_name(name));
            }
            self.index
                .insert_many(plain.into_iter().chain(tagged.iter().map(String::as_str)));
        }
        if let Some(w) = &self.wal {
            w.append(logged, logged_points);
        }
    }

    fn is_full(&self) -> bool {
        self.cache.is_full()
    }

    fn below_low_watermark(&self) -> bool {
        self.cache.below_low_watermark()
    }
}

/// What carbonlink answers from: the cache, and the files' headers.
struct Carbonlink {
    cache: Arc<Cache>,
    whisper_dir: PathBuf,
}

impl Carbonlink {
    fn file(&self, metric: &str) -> Result<PathBuf, String> {
        let name = MetricName::parse(metric).map_err(|e| e.to_string())?;
        Ok(self.whisper_dir.join(name.relative_path()))
    }
}

impl CacheReader for Carbonlink {
    fn cached(&self, metric: &str) -> Vec<(i64, f64)> {
        // graphite-web asks with the normalised name; normalise anyway.
        match MetricName::parse(metric) {
            Ok(name) => self.cache.get(name.as_str()),
            Err(_) => Vec::new(),
        }
    }

    fn aggregation_method(&self, metric: &str) -> Result<String, String> {
        let path = self.file(metric)?;
        whisper_format::info(&path)
            .map(|h| h.aggregation.name().to_string())
            .map_err(|e| e.to_string())
    }

    fn set_aggregation_method(&self, metric: &str, method: &str) -> Result<String, String> {
        let method: whisper_format::Aggregation = method
            .parse()
            .map_err(|e: whisper_format::Error| e.to_string())?;
        let path = self.file(metric)?;
        let mut w = whisper_format::Whisper::open(&path).map_err(|e| e.to_string())?;
        w.set_aggregation(Some(method), None)
            .map(|(old, _)| old.name().to_string())
            .map_err(|e| e.to_string())
    }
}

/// Installs the SIGTERM and SIGINT handlers now (so a signal that arrives
/// while the server is still starting is not fatal) and returns a future that
/// resolves on the first of them. Must be called inside the runtime.
pub(crate) fn shutdown_signal() -> Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
    })
}

fn load_filters(settings: &Settings) -> Filters {
    let Some(dir) = &settings.conf_dir else {
        return Filters::default();
    };
    let (filters, skipped) = Filters::load(dir);
    for s in skipped {
        tracing::warn!("white/blacklist pattern skipped: {s}");
    }
    filters
}

/// SIGHUP: re-read storage-schemas.conf, storage-aggregation.conf and the
/// white/blacklists. A file that no longer parses leaves the rules in force.
async fn reload_on_hangup(
    settings: Settings,
    rules: Arc<RwLock<Rules>>,
    filters: Option<Arc<RwLock<Filters>>>,
    mut stopped: watch::Receiver<bool>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot handle SIGHUP: configuration reloads are off");
        return;
    };
    loop {
        tokio::select! {
            _ = hup.recv() => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        match load_rules(&settings) {
            Ok(new) => {
                *rules.write().unwrap_or_else(|p| p.into_inner()) = new;
                tracing::info!("SIGHUP: storage schemas and aggregation rules reloaded");
            }
            Err(e) => tracing::error!("SIGHUP: keeping the current storage rules: {e:#}"),
        }
        if let Some(f) = &filters {
            *f.write().unwrap_or_else(|p| p.into_inner()) = load_filters(&settings);
        }
    }
}

fn load_rules(settings: &Settings) -> Result<Rules> {
    let rules = match &settings.conf_dir {
        Some(dir) => Rules::load(dir)?,
        None => Rules::embedded(),
    };
    for s in &rules.skipped {
        tracing::warn!(section = %s.section, "storage rule skipped: {}", s.reason);
    }
    Ok(rules)
}

/// Runs the server until `shutdown` resolves.
pub(crate) async fn run(
    settings: Settings,
    tuning: Tuning,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    if !settings.unused_keys.is_empty() {
        tracing::warn!(keys = ?settings.unused_keys, "carbon.conf keys Charcoal does not use");
    }
    std::fs::create_dir_all(&settings.whisper_dir)
        .with_context(|| format!("cannot create {}", settings.whisper_dir.display()))?;
    let rules = Arc::new(RwLock::new(load_rules(&settings)?));
    let filters = settings
        .use_whitelist
        .then(|| Arc::new(RwLock::new(load_filters(&settings))));
    let filter_counters = Arc::new(FilterCounters::default());
    let listening = Arc::new(AtomicBool::new(false));

    let index = {
        let dir = settings.whisper_dir.clone();
        let threads = tuning.writers.max(2);
        let started = std::time::Instant::now();
        let (index, errors) = tokio::task::spawn_blocking(move || MetricIndex::scan(&dir, threads))
            .await
            .context("index scan")?;
        for e in errors.iter().take(10) {
            tracing::warn!("index scan: cannot read {e}");
        }
        tracing::info!(
            metrics = index.len(),
            millis = started.elapsed().as_millis() as u64,
            "metric index built"
        );
        Arc::new(index)
    };
    let cache = Arc::new(Cache::new(CacheConfig {
        shards: 256,
        max_points: settings.max_cache_size,
        // After a restart every metric on disk comes back; a new store gets room for a
        // first burst (see the constant).
        expected_metrics: index.len().max(EXPECTED_METRICS_FLOOR),
    }));
    let wal = match &tuning.wal {
        None => None,
        Some(w) => {
            let dir = settings.storage_dir.join("wal");
            let started = std::time::Instant::now();
            let replay_dir = dir.clone();
            let replay_cache = cache.clone();
            let report =
                tokio::task::spawn_blocking(move || wal::replay(&replay_dir, &replay_cache))
                    .await
                    .context("write-ahead log replay")?
                    .with_context(|| {
                        format!("cannot replay the write-ahead log in {}", dir.display())
                    })?;
            for t in &report.torn {
                tracing::warn!("write-ahead log: {t}");
            }
            if report.segments > 0 {
                tracing::info!(
                    segments = report.segments,
                    points = report.points,
                    millis = started.elapsed().as_millis() as u64,
                    "write-ahead log replayed into the cache"
                );
            }
            let log = Wal::start(
                WalConfig {
                    dir: dir.clone(),
                    sync_interval: w.sync_interval,
                    max_bytes: w.max_bytes,
                    rotate_bytes: (w.max_bytes / 16).clamp(1 << 20, 256 << 20),
                    rotate_interval: Duration::from_secs(10),
                },
                cache.clone(),
            )
            .with_context(|| format!("cannot start the write-ahead log in {}", dir.display()))?;
            Some(Arc::new(log))
        }
    };
    let tags = {
        let path = settings.storage_dir.join("tags.log");
        std::fs::create_dir_all(&settings.storage_dir)
            .with_context(|| format!("cannot create {}", settings.storage_dir.display()))?;
        let (tags, report) = tokio::task::spawn_blocking(move || TagIndex::open(&path))
            .await
            .context("tag index load")??;
        if report.skipped > 0 {
            tracing::warn!(
                lines = report.skipped,
                "tag log: names that no longer parse were skipped"
            );
        }
        if report.torn {
            tracing::warn!("tag log: an incomplete last line (interrupted write) was dropped");
        }
        tracing::info!(
            series = report.series,
            compacted = report.compacted,
            "tag index loaded"
        );
        Arc::new(tags)
    };
    let on_create: persister::OnCreate = {
        let index = index.clone();
        Arc::new(move |name: &str| {
            if let Ok(n) = MetricName::parse(name) {
                index.insert(&crate::source::index_name(n.as_name_ref()));
            }
        })
    };
    // Cache keys are names the receivers validated; parsing again cannot
    // fail, and if it did the points would wait in the cache, never escape.
    let path_of: persister::PathOf = Arc::new(|name: &str| match MetricName::parse(name) {
        Ok(n) => n.relative_path(),
        Err(_) => PathBuf::from("_invalid_names_are_never_written"),
    });
    // Receiving first: while a receiver is handling data and the cache has room, the
    // persisters wait (see `persister`'s module docs).
    let busy = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let step_aside: persister::StepAside = {
        let busy = busy.clone();
        let cache = cache.clone();
        let room = settings
            .max_cache_size
            .map_or(STEP_ASIDE_POINTS, |max| (max / 2).min(STEP_ASIDE_POINTS));
        Arc::new(move || busy.load(Ordering::Relaxed) > 0 && cache.size() < room)
    };
    let persisters = Persisters::start(
        cache.clone(),
        rules.clone(),
        persister::Config {
            whisper_dir: settings.whisper_dir.clone(),
            threads: tuning.writers,
            nice: tuning.writer_nice,
            strategy: settings.write_strategy,
            max_updates_per_second: settings.max_updates_per_second,
            max_creates_per_minute: settings.max_creates_per_minute,
            allocation: settings.allocation,
            lock: settings.lock_writes,
            autoflush: settings.autoflush,
        },
        path_of,
        on_create,
        step_aside,
    )
    .context("cannot start the persister threads")?;
    let stats = persisters.stats.clone();

    let (stop_tx, stop_rx) = watch::channel(false);
    // The receivers' counters exist once they are bound, after HTTP: the scrape reads
    // nothing until then.
    let exposition: Arc<std::sync::OnceLock<selfmetrics::Sources>> = Arc::default();
    let http = match settings.http {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for HTTP on {addr}"))?;
            let bound = listener.local_addr()?;
            let readiness_cache = cache.clone();
            let readiness_stats = stats.clone();
            let readiness_listening = listening.clone();
            let readiness_wal = wal.as_ref().map(|w| w.stats.clone());
            let readiness: charcoal_api::Readiness = Arc::new(move || {
                let mut reasons = Vec::new();
                if !readiness_listening.load(Ordering::Relaxed) {
                    reasons.push("starting: the carbon listeners are not bound yet".to_string());
                }
                if readiness_cache.is_full() {
                    reasons.push(format!(
                        "cache full: {} points held, receivers paused",
                        readiness_cache.size()
                    ));
                }
                if readiness_stats.last_write_failed.load(Ordering::Relaxed) {
                    reasons.push("the last whisper write failed".to_string());
                }
                if let Some(problem) = readiness_wal.as_ref().and_then(|w| w.problem()) {
                    reasons.push(problem);
                }
                reasons
            });
            // The events database sits beside the whisper tree, like graphite-web's
            // graphite.db in STORAGE_DIR.
            let events_path = settings.storage_dir.join("events.db");
            let events = {
                let dir = settings.storage_dir.clone();
                let path = events_path.clone();
                tokio::task::spawn_blocking(move || {
                    std::fs::create_dir_all(&dir)?;
                    anyhow::Ok(EventStore::open(&path)?)
                })
                .await
                .context("events database task")?
                .with_context(|| format!("cannot open {}", events_path.display()))?
            };
            let events = Arc::new(events);
            let source = crate::source::StoreSource {
                index: index.clone(),
                tags: tags.clone(),
                reader: Reader::new(
                    settings.whisper_dir.clone(),
                    cache.clone(),
                    rules.clone(),
                    tuning.open_files,
                ),
                whisper_dir: settings.whisper_dir.clone(),
                max_find_results: tuning.api.max_find_results,
                events: events.clone(),
            };
            let exposition = exposition.clone();
            let http_limits = tuning.http;
            let app = charcoal_api::router(charcoal_api::AppState {
                readiness,
                source: Arc::new(source),
                tags: Arc::new(crate::tags::TagStore(tags.clone())),
                events: Arc::new(crate::source::Events(events)),
                config: tuning.api.clone(),
                clock: charcoal_api::system_clock,
                metrics: Arc::new(move || {
                    exposition
                        .get()
                        .map(selfmetrics::prometheus)
                        .unwrap_or_default()
                }),
            });
            let mut rx = stop_rx.clone();
            let task = tokio::spawn(async move {
                let stopped = async move {
                    let _ = rx.wait_for(|s| *s).await;
                };
                charcoal_api::serve::serve(listener, app, http_limits, stopped).await
            });
            Some((bound, task))
        }
        None => None,
    };
    let receivers = charcoal_receiver::start(
        charcoal_receiver::Config {
            line: settings.line,
            udp: settings.udp,
            pickle: settings.pickle,
            carbonlink: settings.carbonlink,
            max_pickle_frame: settings.pickle_max_length,
            timestamp_resolution: settings.min_timestamp_resolution as u32,
            flow_control: settings.flow_control,
            busy,
            ..tuning.receiver.clone()
        },
        Arc::new(CacheSink {
            cache: cache.clone(),
            index: index.clone(),
            wal: wal.clone(),
            tags: tags.clone(),
            filters: filters.clone(),
            counters: filter_counters.clone(),
        }),
        Arc::new(Carbonlink {
            cache: cache.clone(),
            whisper_dir: settings.whisper_dir.clone(),
        }),
    )
    .await
    .context("cannot bind the carbon listeners")?;
    listening.store(true, Ordering::Relaxed);
    let reloader = tokio::spawn(reload_on_hangup(
        settings.clone(),
        rules.clone(),
        filters.clone(),
        stop_rx.clone(),
    ));
    let b = &receivers.bound;
    let mut bound: Vec<(&str, SocketAddr)> = Vec::new();
    for (name, addr) in [
        ("line", b.line),
        ("udp", b.udp),
        ("pickle", b.pickle),
        ("carbonlink", b.carbonlink),
    ] {
        if let Some(a) = addr {
            bound.push((name, a));
        }
    }
    if let Some((a, _)) = &http {
        bound.push(("http", *a));
    }
    let listening: Vec<String> = bound.iter().map(|(n, a)| format!("{n}={a}")).collect();
    tracing::info!(whisper_dir = %settings.whisper_dir.display(), "listening {}", listening.join(" "));

    let sources = || selfmetrics::Sources {
        cache: cache.clone(),
        persisters: stats.clone(),
        receivers: receivers.counters.clone(),
        filters: filter_counters.clone(),
        wal: wal.as_ref().map(|w| w.stats.clone()),
        prefix: selfmetrics::agent_prefix(&settings.metric_prefix, settings.instance.as_deref()),
    };
    let _ = exposition.set(sources());
    let reporter = (settings.metric_interval > 0).then(|| {
        tokio::spawn(selfmetrics::report(
            sources(),
            Duration::from_secs(settings.metric_interval),
            stop_rx.clone(),
        ))
    });

    shutdown.await;
    // Stop order: no new points, then write everything, then the rest.
    receivers.stop().await;
    let _ = stop_tx.send(true);
    if let Some(r) = reporter {
        let _ = r.await;
    }
    let _ = reloader.await;
    let cache_for_stop = cache.clone();
    let timeout = tuning.shutdown_timeout;
    let left = tokio::task::spawn_blocking(move || persisters.stop(&cache_for_stop, timeout))
        .await
        .context("persister shutdown")?;
    sync_dir(&settings.whisper_dir);
    if let Some(w) = &wal {
        // Everything is written: the log's segments go.
        let w = w.clone();
        let _ = tokio::task::spawn_blocking(move || w.stop()).await;
    }
    if let Err(e) = tags.sync() {
        tracing::warn!("{e}");
    }
    if let Some((_, task)) = http {
        let _ = task.await;
    }
    if left > 0 {
        anyhow::bail!("{left} points could not be written before the shutdown timeout");
    }
    tracing::info!("cache flushed; bye");
    Ok(())
}

/// Flushes the filesystem holding the whisper tree (syncfs), so a clean
/// shutdown leaves every written point on disk.
fn sync_dir(dir: &std::path::Path) {
    match std::fs::File::open(dir) {
        Ok(f) => {
            if let Err(e) = rustix::fs::syncfs(&f) {
                tracing::warn!("cannot sync {}: {e}", dir.display());
            }
        }
        Err(e) => tracing::warn!("cannot open {} to sync it: {e}", dir.display()),
    }
}
