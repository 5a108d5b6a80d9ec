//! Carbon's self-instrumentation: every `CARBON_METRIC_INTERVAL` the server
//! stores its own counters as metrics under
//! `carbon.agents.<host>-<instance>.`, into its own cache, like any metric,
//! so existing dashboards of carbon-cache keep working.
//!
//! Counters are per interval (reset after each report) as in carbon; gauges
//! (`cache.size`, `cache.queues`, `activeConnections`, `memUsage`) are
//! sampled at report time.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use charcoal_cache::Cache;
use charcoal_receiver::Counters;
use charcoal_store::persister::Stats;
use tokio::sync::watch;

/// Everything the reporter reads.
pub(crate) struct Sources {
    /// The write cache (also where the metrics go).
    pub(crate) cache: Arc<Cache>,
    /// Persister counters.
    pub(crate) persisters: Arc<Stats>,
    /// Receiver counters.
    pub(crate) receivers: Arc<Counters>,
    /// White/blacklist drops.
    pub(crate) filters: Arc<crate::app::FilterCounters>,
    /// The write-ahead log, when on.
    pub(crate) wal: Option<Arc<charcoal_store::wal::WalStats>>,
    /// `carbon.agents.<host>-<instance>`.
    pub(crate) prefix: String,
}

/// `<prefix>.agents.<host>-<instance>`, host with dots as underscores.
pub(crate) fn agent_prefix(prefix: &str, instance: Option<&str>) -> String {
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .replace('.', "_");
    format!("{prefix}.agents.{host}-{}", instance.unwrap_or("a"))
}

/// Last values of the running counters, to report differences.
#[derive(Default)]
struct Last {
    received: u64,
    committed: u64,
    updates: u64,
    creates: u64,
    errors: u64,
    micros: u64,
    blacklisted: u64,
    not_whitelisted: u64,
    cpu: Duration,
}

/// User plus system CPU time of this process (from /proc/self/stat).
fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name, which is in parentheses and may hold
    // spaces: state is the first, utime the 12th, stime the 13th.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let hz = rustix::param::clock_ticks_per_second().max(1);
    Duration::from_secs_f64((ticks(11) + ticks(12)) as f64 / hz as f64)
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * rustix::param::page_size() as u64)
}

fn sample(src: &Sources, last: &mut Last, elapsed: Duration) -> Vec<(&'static str, f64)> {
    let delta = |now: u64, before: &mut u64| {
        let d = now.saturating_sub(*before);
        *before = now;
        d
    };
    let p = &src.persisters;
    let received = delta(
        src.receivers.metrics_received.load(Ordering::Relaxed),
        &mut last.received,
    );
    let committed = delta(
        p.committed_points.load(Ordering::Relaxed),
        &mut last.committed,
    );
    let updates = delta(
        p.update_operations.load(Ordering::Relaxed),
        &mut last.updates,
    );
    let creates = delta(p.creates.load(Ordering::Relaxed), &mut last.creates);
    let errors = delta(p.errors.load(Ordering::Relaxed), &mut last.errors);
    let micros = delta(p.update_micros.load(Ordering::Relaxed), &mut last.micros);
    let blacklisted = delta(
        src.filters.blacklist_matches.load(Ordering::Relaxed),
        &mut last.blacklisted,
    );
    let not_whitelisted = delta(
        src.filters.whitelist_rejects.load(Ordering::Relaxed),
        &mut last.not_whitelisted,
    );
    let cpu = cpu_time();
    let cpu_used = cpu.saturating_sub(last.cpu);
    last.cpu = cpu;

    let mut out = vec![
        ("cache.size", src.cache.size() as f64),
        ("cache.queues", src.cache.metrics() as f64),
        ("metricsReceived", received as f64),
        ("committedPoints", committed as f64),
        ("updateOperations", updates as f64),
        ("creates", creates as f64),
        ("errors", errors as f64),
        ("blacklistMatches", blacklisted as f64),
        ("whitelistRejects", not_whitelisted as f64),
        (
            "activeConnections",
            src.receivers.active_connections.load(Ordering::Relaxed) as f64,
        ),
        (
            "cpuUsage",
            100.0 * cpu_used.as_secs_f64() / elapsed.as_secs_f64().max(1e-9),
        ),
        ("memUsage", rss_bytes() as f64),
    ];
    if updates > 0 {
        out.push(("avgUpdateTime", micros as f64 / 1e6 / updates as f64));
        out.push(("pointsPerUpdate", committed as f64 / updates as f64));
    }
    out
}

/// The same counters in Prometheus' text exposition format, for `GET /metrics`: running
/// totals (Prometheus computes rates itself) rather than carbon's per-interval deltas.
/// Thirteen lines of a stable text format need no metrics registry crate; the values are
/// read from the atomics the components already keep.
pub(crate) fn prometheus(src: &Sources) -> String {
    use std::fmt::Write;
    let p = &src.persisters;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as f64;
    let metrics: [(&str, &str, &str, f64); 13] = [
        (
            "charcoal_metrics_received_total",
            "counter",
            "Points received over carbon protocols (metricsReceived).",
            load(&src.receivers.metrics_received),
        ),
        (
            "charcoal_committed_points_total",
            "counter",
            "Points written to whisper files (committedPoints).",
            load(&p.committed_points),
        ),
        (
            "charcoal_update_operations_total",
            "counter",
            "whisper update_many calls (updateOperations).",
            load(&p.update_operations),
        ),
        (
            "charcoal_update_seconds_total",
            "counter",
            "Time spent in whisper updates.",
            load(&p.update_micros) / 1e6,
        ),
        (
            "charcoal_creates_total",
            "counter",
            "Whisper files created (creates).",
            load(&p.creates),
        ),
        (
            "charcoal_errors_total",
            "counter",
            "Failed whisper writes (errors).",
            load(&p.errors),
        ),
        (
            "charcoal_blacklist_matches_total",
            "counter",
            "Points dropped by the blacklist (blacklistMatches).",
            load(&src.filters.blacklist_matches),
        ),
        (
            "charcoal_whitelist_rejects_total",
            "counter",
            "Points dropped by the whitelist (whitelistRejects).",
            load(&src.filters.whitelist_rejects),
        ),
        (
            "charcoal_cache_size",
            "gauge",
            "Points held in the write cache (cache.size).",
            src.cache.size() as f64,
        ),
        (
            "charcoal_cache_queues",
            "gauge",
            "Metrics with points in the write cache (cache.queues).",
            src.cache.metrics() as f64,
        ),
        (
            "charcoal_active_connections",
            "gauge",
            "Open carbon connections (activeConnections).",
            src.receivers.active_connections.load(Ordering::Relaxed) as f64,
        ),
        (
            "charcoal_cpu_seconds_total",
            "counter",
            "User and system CPU time of the process.",
            cpu_time().as_secs_f64(),
        ),
        (
            "charcoal_resident_memory_bytes",
            "gauge",
            "Resident set size (memUsage).",
            rss_bytes() as f64,
        ),
    ];
    let mut out = String::new();
    let mut write = |(name, kind, help, value): (&str, &str, &str, f64)| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    metrics.into_iter().for_each(&mut write);
    if let Some(w) = &src.wal {
        let wal: [(&str, &str, &str, f64); 6] = [
            (
                "charcoal_wal_logged_points_total",
                "counter",
                "Points written to the write-ahead log.",
                load(&w.logged_points),
            ),
            (
                "charcoal_wal_appended_bytes_total",
                "counter",
                "Bytes appended to the write-ahead log.",
                load(&w.appended_bytes),
            ),
            (
                "charcoal_wal_syncs_total",
                "counter",
                "fdatasync calls of the write-ahead log.",
                load(&w.syncs),
            ),
            (
                "charcoal_wal_skipped_batches_total",
                "counter",
                "Batches not logged (log full or failing).",
                load(&w.skipped_batches),
            ),
            (
                "charcoal_wal_bytes",
                "gauge",
                "Bytes of write-ahead log segments on disk.",
                load(&w.bytes_on_disk),
            ),
            (
                "charcoal_wal_appending",
                "gauge",
                "1 while the write-ahead log is appending.",
                f64::from(u8::from(w.appending.load(Ordering::Relaxed))),
            ),
        ];
        wal.into_iter().for_each(&mut write);
    }
    out
}

/// Reports every `interval` until `stopped`, and once more when stopping.
pub(crate) async fn report(src: Sources, interval: Duration, mut stopped: watch::Receiver<bool>) {
    let mut last = Last {
        cpu: cpu_time(),
        ..Last::default()
    };
    let mut taken = Instant::now();
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(interval) => false,
            _ = stopped.wait_for(|s| *s) => true,
        };
        let now = whisper_format::now().clamp(0, i64::from(u32::MAX)) as u32;
        let elapsed = taken.elapsed();
        taken = Instant::now();
        for (name, value) in sample(&src, &mut last, elapsed) {
            src.cache.add(&format!("{}.{name}", src.prefix), now, value);
        }
        if stopping {
            return;
        }
    }
}
