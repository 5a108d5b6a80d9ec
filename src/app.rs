//! The one place that knows every component: builds them from the settings, starts them
//! in order and stops them in reverse, the way go-carbon's `app.go` reads.
//!
//! Start: the storage lock (a second server on the same storage stops here, touching
//! nothing) → carbon's pid file → every listener bound (as root, if carbon.conf's `USER`
//! says to switch) → privileges dropped to `USER` → the store opened (index scan, tag log,
//! log replay, persisters) → HTTP served → receivers served. Stop, on SIGTERM or SIGINT:
//! receivers stop accepting and drain their connections → the store writes the whole
//! cache, syncs, retires its log → HTTP stops → exit 0.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use charcoal_protocol::Batch;
use charcoal_receiver::{CacheReader, MetadataError, Sink};
use charcoal_store::lock::StorageLock;
use charcoal_store::{Store, StoreConfig, WalSettings, persister};
use tokio::sync::watch;

use crate::config::Settings;
use crate::privileges::{self, Account};
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
    pub(crate) wal: Option<WalSettings>,
}

/// The receivers' sink and carbonlink's answers: the store.
struct Receiving(Arc<Store>);

impl Sink for Receiving {
    fn accept(&self, batch: &mut Batch) {
        self.0.ingest(batch);
    }

    fn is_full(&self) -> bool {
        self.0.is_full()
    }

    fn below_low_watermark(&self) -> bool {
        self.0.below_low_watermark()
    }
}

impl CacheReader for Receiving {
    fn cached(&self, metric: &str) -> Vec<(i64, f64)> {
        self.0.cached(metric)
    }

    fn aggregation_method(&self, metric: &str) -> Result<String, MetadataError> {
        Ok(self.0.aggregation_method(metric)?.name().to_owned())
    }

    fn set_aggregation_method(&self, metric: &str, method: &str) -> Result<String, MetadataError> {
        Ok(self
            .0
            .set_aggregation_method(metric, method)?
            .name()
            .to_owned())
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

/// SIGHUP: the store re-reads its rules and lists. A file that no longer parses leaves
/// the rules in force.
async fn reload_on_hangup(store: Arc<Store>, mut stopped: watch::Receiver<bool>) {
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
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.reload()).await {
            Ok(Ok(())) => tracing::info!("SIGHUP: storage schemas and aggregation rules reloaded"),
            Ok(Err(e)) => tracing::error!("SIGHUP: keeping the current storage rules: {e}"),
            Err(e) => tracing::error!("SIGHUP: reload task failed: {e}"),
        }
    }
}

/// Runs a blocking start-up step on the blocking pool.
async fn blocking<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f).await.context(what)?
}

fn store_config(
    settings: &Settings,
    tuning: &Tuning,
    busy: Arc<std::sync::atomic::AtomicUsize>,
) -> StoreConfig {
    StoreConfig {
        storage_dir: settings.storage_dir.clone(),
        conf_dir: settings.conf_dir.clone(),
        use_whitelist: settings.use_whitelist,
        max_cache_size: settings.max_cache_size,
        persisters: persister::Config {
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
        wal: tuning.wal.clone(),
        open_files: tuning.open_files,
        busy,
    }
}

/// Logs what opening the store found.
fn log_open(report: &charcoal_store::OpenReport) {
    for s in &report.skipped_rules {
        tracing::warn!(section = %s.section, "storage rule skipped: {}", s.reason);
    }
    for s in &report.skipped_filters {
        tracing::warn!("white/blacklist pattern skipped: {s}");
    }
    for e in report.scan_errors.iter().take(10) {
        tracing::warn!("index scan: cannot read {e}");
    }
    if let Some(r) = &report.replayed {
        for t in &r.torn {
            tracing::warn!("write-ahead log: {t}");
        }
        if r.invalid_names > 0 {
            tracing::warn!(
                points = r.invalid_names,
                "write-ahead log: points whose names no longer validate were skipped"
            );
        }
    }
    let t = &report.tags;
    if t.skipped > 0 {
        tracing::warn!(
            lines = t.skipped,
            "tag log: names that no longer parse were skipped"
        );
    }
    if t.torn {
        tracing::warn!("tag log: an incomplete last line (interrupted write) was dropped");
    }
    tracing::info!(
        series = t.series,
        compacted = t.compacted,
        "tag index loaded"
    );
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
    // Checked before anything is touched: a USER that does not exist is a typo to fix.
    let account = settings
        .user
        .as_deref()
        .map(Account::lookup)
        .transpose()?
        .filter(privileges::must_switch);

    // Receivers count themselves busy here; the store's persisters step aside meanwhile.
    let busy = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let lock = {
        let dir = settings.storage_dir.clone();
        blocking("storage lock", move || Ok(StorageLock::acquire(&dir)?)).await?
    };
    let pid_file = match &settings.pid_dir {
        Some(dir) => Some(write_pid_file(dir, settings.instance.as_deref())?),
        None => None,
    };

    // Every port is bound before privileges go (carbon's ports may be privileged).
    let listeners = charcoal_receiver::bind(charcoal_receiver::Config {
        line: settings.line,
        udp: settings.udp,
        pickle: settings.pickle,
        carbonlink: settings.carbonlink,
        max_pickle_frame: settings.pickle_max_length,
        timestamp_resolution: settings.min_timestamp_resolution as u32,
        flow_control: settings.flow_control,
        busy: busy.clone(),
        ..tuning.receiver.clone()
    })
    .await?;
    let http_listener = match settings.http {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for HTTP on {addr}"))?,
        ),
        None => None,
    };
    if let Some(account) = &account {
        let mut handed: Vec<PathBuf> = vec![settings.storage_dir.clone(), lock.path().into()];
        handed.extend(pid_file.clone());
        privileges::hand_over(&handed, account)?;
        privileges::switch_to(account)?;
        tracing::info!(user = %account.name, uid = account.uid, "running as USER");
    }

    let (store, report) = {
        let config = store_config(&settings, &tuning, busy);
        blocking("store", move || Ok(Store::open_locked(lock, config)?)).await?
    };
    log_open(&report);
    let store = Arc::new(store);

    let (stop_tx, stop_rx) = watch::channel(false);
    let listening = Arc::new(AtomicBool::new(false));
    // The receivers' counters exist once they serve, after HTTP: the scrape reads nothing
    // until then.
    let exposition: Arc<std::sync::OnceLock<selfmetrics::Sources>> = Arc::default();
    let http = match http_listener {
        Some(listener) => {
            let bound = listener.local_addr()?;
            let app = http_app(&store, &tuning, listening.clone(), exposition.clone());
            let mut rx = stop_rx.clone();
            let limits = tuning.http;
            let task = tokio::spawn(async move {
                let stopped = async move {
                    let _ = rx.wait_for(|s| *s).await;
                };
                charcoal_api::serve::serve(listener, app, limits, stopped).await
            });
            Some((bound, task))
        }
        None => None,
    };

    let mut bound: Vec<String> = Vec::new();
    let b = &listeners.bound;
    for (name, addr) in [
        ("line", b.line),
        ("udp", b.udp),
        ("pickle", b.pickle),
        ("carbonlink", b.carbonlink),
        ("http", http.as_ref().map(|(a, _)| *a)),
    ] {
        if let Some(a) = addr {
            bound.push(format!("{name}={a}"));
        }
    }
    let receiving = Arc::new(Receiving(store.clone()));
    let receivers = listeners.serve(receiving.clone(), receiving);
    listening.store(true, Ordering::Relaxed);
    tracing::info!(whisper_dir = %settings.whisper_dir.display(), "listening {}", bound.join(" "));

    let reloader = tokio::spawn(reload_on_hangup(store.clone(), stop_rx.clone()));
    let sources = || selfmetrics::Sources {
        store: store.clone(),
        receivers: receivers.counters.clone(),
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
    let left = {
        let (store, timeout) = (store.clone(), tuning.shutdown_timeout);
        blocking("store shutdown", move || Ok(store.stop(timeout))).await?
    };
    if let Some((_, task)) = http {
        let _ = task.await;
    }
    if let Some(path) = pid_file {
        let _ = std::fs::remove_file(path);
    }
    if left > 0 {
        anyhow::bail!("{left} points could not be written before the shutdown timeout");
    }
    tracing::info!("cache flushed; bye");
    Ok(())
}

/// graphite-web's API over the store, with the readiness check and the Prometheus
/// exposition (empty until the receivers serve and `exposition` is set).
fn http_app(
    store: &Arc<Store>,
    tuning: &Tuning,
    listening: Arc<AtomicBool>,
    exposition: Arc<std::sync::OnceLock<selfmetrics::Sources>>,
) -> axum::Router {
    let readiness: charcoal_api::Readiness = {
        let store = store.clone();
        Arc::new(move || {
            let mut reasons = Vec::new();
            if !listening.load(Ordering::Relaxed) {
                reasons.push("starting: the carbon listeners are not serving yet".to_string());
            }
            reasons.extend(store.problems());
            reasons
        })
    };
    charcoal_api::router(charcoal_api::AppState {
        readiness,
        source: Arc::new(charcoal_api::local::StoreSource::new(
            store.clone(),
            tuning.api.max_find_results,
        )),
        tags: store.tags().clone(),
        events: store.events().clone(),
        config: tuning.api.clone(),
        clock: charcoal_api::system_clock,
        metrics: Arc::new(move || {
            exposition
                .get()
                .map(selfmetrics::prometheus)
                .unwrap_or_default()
        }),
    })
}

/// carbon's pid file, `PID_DIR/carbon-cache-<instance>.pid`, for init scripts and
/// monitoring that look for it.
fn write_pid_file(dir: &std::path::Path, instance: Option<&str>) -> Result<PathBuf> {
    let path = dir.join(format!("carbon-cache-{}.pid", instance.unwrap_or("a")));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create PID_DIR {}", dir.display()))?;
    std::fs::write(&path, format!("{}\n", std::process::id()))
        .with_context(|| format!("cannot write the pid file {}", path.display()))?;
    Ok(path)
}
