//! What the receivers count (for self-metrics and `/metrics`) and the
//! rate limit on their log lines.

use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counters shared by every listener.
#[derive(Debug, Default)]
pub struct Counters {
    /// Points handed to the sink (carbon's `metricsReceived`).
    pub metrics_received: AtomicU64,
    /// Plaintext lines refused (bad format, number, name or timestamp).
    pub invalid_lines: AtomicU64,
    /// Points refused for their name (a subset of the other refusals).
    pub invalid_names: AtomicU64,
    /// Points dropped because their value is NaN (as carbon does).
    pub nan_values: AtomicU64,
    /// Pickle frames or items refused.
    pub invalid_pickles: AtomicU64,
    /// Connections closed for a frame longer than the limit.
    pub oversized_frames: AtomicU64,
    /// Connections accepted, all listeners.
    pub connections: AtomicU64,
    /// Connections open now (carbon's `activeConnections`).
    pub active_connections: AtomicI64,
    /// Carbonlink requests answered.
    pub carbonlink_requests: AtomicU64,
    /// Times a receiver paused reading because the cache was full.
    pub flow_control_pauses: AtomicU64,
    log: LogLimit,
}

impl Counters {
    /// Adds to a counter.
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Logs a refusal, at most once a second across all listeners, saying
    /// how many were not logged since.
    pub(crate) fn refused(&self, listener: &str, peer: Option<SocketAddr>, what: impl Display) {
        self.log.warn(|suppressed| {
            let peer = peer.map_or_else(|| "-".to_string(), |p| p.to_string());
            if suppressed > 0 {
                tracing::warn!(listener, %peer, suppressed, "{what} (and {suppressed} more refusals not logged)");
            } else {
                tracing::warn!(listener, %peer, "{what}");
            }
        });
    }
}

#[derive(Debug, Default)]
struct LogLimit {
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl LogLimit {
    fn warn(&self, log: impl FnOnce(u64)) {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| now.duration_since(t) < Duration::from_secs(1)) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *last = Some(now);
        drop(last);
        log(self.suppressed.swap(0, Ordering::Relaxed));
    }
}
