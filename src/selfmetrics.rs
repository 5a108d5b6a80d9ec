//! The server's own counters, two ways:
//!
//! - carbon's self-instrumentation: every `CARBON_METRIC_INTERVAL` they are stored as
//!   metrics under `carbon.agents.<host>-<instance>.`, through the store's ingest like any
//!   received point, so existing carbon-cache dashboards keep working. Counters are per
//!   interval (reset after each report) as in carbon; gauges are sampled at report time.
//! - `GET /metrics` in Prometheus' text format: running totals (Prometheus computes rates).
//!
//! Both read one table ([`counters`]), so a counter added there shows up in both: carbon's
//! names (`metricsReceived`, `committedPoints`, ...) and Charcoal's refusal counters
//! (`invalidLines`, `invalidPickles`, `oversizedFrames`, ...), which carbon logs but does
//! not count. A few dozen lines of a stable text format need no metrics registry crate.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use charcoal_protocol::{Batch, Sample};
use charcoal_receiver::Counters;
use charcoal_store::Store;
use tokio::sync::watch;

/// Everything the reporter reads.
pub(crate) struct Sources {
    /// The store (also where the metrics go).
    pub(crate) store: Arc<Store>,
    /// Receiver counters.
    pub(crate) receivers: Arc<Counters>,
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

/// A running total or a sampled value.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Counter,
    Gauge,
}

/// One of the server's numbers: its carbon name, its Prometheus name, help text, kind and
/// value now.
struct Reading {
    carbon: &'static str,
    prometheus: &'static str,
    help: &'static str,
    kind: Kind,
    value: f64,
}

fn load(a: &AtomicU64) -> f64 {
    a.load(Ordering::Relaxed) as f64
}

/// Every number, read now. Counters are running totals.
fn counters(src: &Sources) -> Vec<Reading> {
    use Kind::{Counter, Gauge};
    let p = src.store.persister_stats();
    let r = &src.receivers;
    let f = src.store.filter_counters();
    let cache = src.store.cache();
    let reading = |carbon, prometheus, help, kind, value| Reading {
        carbon,
        prometheus,
        help,
        kind,
        value,
    };
    let mut out = vec![
        reading(
            "metricsReceived",
            "charcoal_metrics_received_total",
            "Points received over carbon protocols.",
            Counter,
            load(&r.metrics_received),
        ),
        reading(
            "committedPoints",
            "charcoal_committed_points_total",
            "Points written to whisper files.",
            Counter,
            load(&p.committed_points),
        ),
        reading(
            "updateOperations",
            "charcoal_update_operations_total",
            "whisper update_many calls.",
            Counter,
            load(&p.update_operations),
        ),
        reading(
            "updateSeconds",
            "charcoal_update_seconds_total",
            "Time spent in whisper updates.",
            Counter,
            load(&p.update_micros) / 1e6,
        ),
        reading(
            "creates",
            "charcoal_creates_total",
            "Whisper files created.",
            Counter,
            load(&p.creates),
        ),
        reading(
            "errors",
            "charcoal_errors_total",
            "Failed whisper writes (their points are kept and retried).",
            Counter,
            load(&p.errors),
        ),
        reading(
            "blacklistMatches",
            "charcoal_blacklist_matches_total",
            "Points dropped by the blacklist.",
            Counter,
            load(&f.blacklist_matches),
        ),
        reading(
            "whitelistRejects",
            "charcoal_whitelist_rejects_total",
            "Points dropped by the whitelist.",
            Counter,
            load(&f.whitelist_rejects),
        ),
        reading(
            "invalidLines",
            "charcoal_invalid_lines_total",
            "Plaintext lines refused (format, number, name, timestamp or length).",
            Counter,
            load(&r.invalid_lines),
        ),
        reading(
            "invalidNames",
            "charcoal_invalid_names_total",
            "Points refused for their metric name (also counted as lines or pickles).",
            Counter,
            load(&r.invalid_names),
        ),
        reading(
            "invalidPickles",
            "charcoal_invalid_pickles_total",
            "Pickle frames or datapoints refused.",
            Counter,
            load(&r.invalid_pickles),
        ),
        reading(
            "oversizedFrames",
            "charcoal_oversized_frames_total",
            "Connections closed for a frame longer than the limit.",
            Counter,
            load(&r.oversized_frames),
        ),
        reading(
            "nanValues",
            "charcoal_nan_values_total",
            "Points dropped because their value is NaN (as carbon drops them).",
            Counter,
            load(&r.nan_values),
        ),
        reading(
            "flowControlPauses",
            "charcoal_flow_control_pauses_total",
            "Times a receiver stopped reading because the cache was full.",
            Counter,
            load(&r.flow_control_pauses),
        ),
        reading(
            "connections",
            "charcoal_connections_total",
            "Carbon connections accepted.",
            Counter,
            load(&r.connections),
        ),
        reading(
            "carbonlinkRequests",
            "charcoal_carbonlink_requests_total",
            "Carbonlink requests answered.",
            Counter,
            load(&r.carbonlink_requests),
        ),
        reading(
            "cache.size",
            "charcoal_cache_size",
            "Points held in the write cache.",
            Gauge,
            cache.size() as f64,
        ),
        reading(
            "cache.queues",
            "charcoal_cache_queues",
            "Metrics with points in the write cache.",
            Gauge,
            cache.metrics() as f64,
        ),
        reading(
            "activeConnections",
            "charcoal_active_connections",
            "Open carbon connections.",
            Gauge,
            r.active_connections.load(Ordering::Relaxed) as f64,
        ),
        reading(
            "cpuSeconds",
            "charcoal_cpu_seconds_total",
            "User and system CPU time of the process.",
            Counter,
            cpu_time().as_secs_f64(),
        ),
        reading(
            "memUsage",
            "charcoal_resident_memory_bytes",
            "Resident set size.",
            Gauge,
            rss_bytes() as f64,
        ),
    ];
    if let Some(w) = src.store.wal_stats() {
        out.extend([
            reading(
                "wal.loggedPoints",
                "charcoal_wal_logged_points_total",
                "Points written to the write-ahead log.",
                Counter,
                load(&w.logged_points),
            ),
            reading(
                "wal.appendedBytes",
                "charcoal_wal_appended_bytes_total",
                "Bytes appended to the write-ahead log.",
                Counter,
                load(&w.appended_bytes),
            ),
            reading(
                "wal.syncs",
                "charcoal_wal_syncs_total",
                "fdatasync calls of the write-ahead log.",
                Counter,
                load(&w.syncs),
            ),
            reading(
                "wal.skippedBatches",
                "charcoal_wal_skipped_batches_total",
                "Batches not logged (log full or failing).",
                Counter,
                load(&w.skipped_batches),
            ),
            reading(
                "wal.bytes",
                "charcoal_wal_bytes",
                "Bytes of write-ahead log segments on disk.",
                Gauge,
                load(&w.bytes_on_disk),
            ),
            reading(
                "wal.appending",
                "charcoal_wal_appending",
                "1 while the write-ahead log is appending.",
                Gauge,
                f64::from(u8::from(w.appending.load(Ordering::Relaxed))),
            ),
        ]);
    }
    out
}

/// carbon's per-interval values: counters as differences from the last report (CPU as
/// carbon's `cpuUsage` percentage), gauges as they are, plus carbon's derived averages.
fn sample(
    src: &Sources,
    last: &mut HashMap<&'static str, f64>,
    elapsed: Duration,
) -> Vec<(&'static str, f64)> {
    let mut out = Vec::new();
    let mut delta = HashMap::new();
    for r in counters(src) {
        let value = match r.kind {
            Kind::Gauge => r.value,
            Kind::Counter => {
                let before = last.insert(r.carbon, r.value).unwrap_or(0.0);
                (r.value - before).max(0.0)
            }
        };
        delta.insert(r.carbon, value);
        match r.carbon {
            // carbon reports CPU as a percentage of the interval, not seconds.
            "cpuSeconds" => out.push(("cpuUsage", 100.0 * value / elapsed.as_secs_f64().max(1e-9))),
            // Not one of carbon's: the average below carries it.
            "updateSeconds" => {}
            name => out.push((name, value)),
        }
    }
    let updates = delta.get("updateOperations").copied().unwrap_or(0.0);
    if updates > 0.0 {
        let seconds = delta.get("updateSeconds").copied().unwrap_or(0.0);
        let points = delta.get("committedPoints").copied().unwrap_or(0.0);
        out.push(("avgUpdateTime", seconds / updates));
        out.push(("pointsPerUpdate", points / updates));
    }
    out
}

/// The counters in Prometheus' text exposition format, for `GET /metrics`.
pub(crate) fn prometheus(src: &Sources) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for r in counters(src) {
        let kind = match r.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        let _ = writeln!(
            out,
            "# HELP {name} {help} (carbon.agents.*.{carbon})\n# TYPE {name} {kind}\n{name} {value}",
            name = r.prometheus,
            help = r.help,
            carbon = r.carbon,
            value = r.value,
        );
    }
    out
}

/// Reports every `interval` until `stopped`, and once more when stopping.
pub(crate) async fn report(src: Sources, interval: Duration, mut stopped: watch::Receiver<bool>) {
    // Counters start from zero, so the first report carries everything since start (points
    // and refusals that arrived before this task ran included); CPU starts from now, so the
    // first cpuUsage is not the start-up's.
    let mut last = HashMap::from([("cpuSeconds", cpu_time().as_secs_f64())]);
    let mut taken = Instant::now();
    let mut batch = Batch::new();
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(interval) => false,
            _ = stopped.wait_for(|s| *s) => true,
        };
        let now = whisper_format::now().clamp(0, i64::from(u32::MAX)) as u32;
        let elapsed = taken.elapsed();
        taken = Instant::now();
        for (name, value) in sample(&src, &mut last, elapsed) {
            let sample = Sample {
                timestamp: now,
                value,
            };
            if let Err(e) = batch.push(&format!("{}.{name}", src.prefix), sample) {
                tracing::warn!("self-metric {name} has no valid name: {e}");
            }
        }
        src.store.ingest(&mut batch);
        batch.clear();
        if stopping {
            return;
        }
    }
}
