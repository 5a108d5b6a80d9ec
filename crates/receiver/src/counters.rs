//! What the receivers count (for self-metrics and `/metrics`) and the
//! rate limit on their log lines.
//!
//! Refusals are logged at most once a second across all listeners. Those not logged are
//! summed up in one line a second after the first of them, by a task that sleeps until
//! there is something to sum up: a burst of bad lines is reported when it happens, not
//! whenever the next bad line comes.

use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

/// At most one refusal is logged per window.
const LOG_WINDOW: Duration = Duration::from_secs(1);

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
    /// Told when a window starts holding back refusals.
    held_back: Notify,
}

impl LogLimit {
    fn warn(&self, log: impl FnOnce(u64)) {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| now.duration_since(t) < LOG_WINDOW) {
            if self.suppressed.fetch_add(1, Ordering::Relaxed) == 0 {
                self.held_back.notify_one();
            }
            return;
        }
        *last = Some(now);
        drop(last);
        log(self.suppressed.swap(0, Ordering::Relaxed));
    }

    /// When the current window ends.
    fn window_end(&self) -> Instant {
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map_or_else(Instant::now, |t| t + LOG_WINDOW)
    }

    /// Logs how many refusals were held back, if any, and starts a new window.
    fn summarize(&self) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let held = self.suppressed.swap(0, Ordering::Relaxed);
        if held > 0 {
            *last = Some(Instant::now());
            tracing::warn!(
                suppressed = held,
                "{held} more refusals were not logged (rate limit: one a second); every one is counted on /metrics"
            );
        }
    }
}

/// Sums up held-back refusals a window after the first of them, until the receivers stop
/// (and once more then). Sleeps while there is nothing to sum up.
pub(crate) async fn summarize_refusals(
    counters: Arc<Counters>,
    mut stopped: watch::Receiver<bool>,
) {
    let log = &counters.log;
    loop {
        tokio::select! {
            _ = log.held_back.notified() => {}
            _ = stopped.wait_for(|s| *s) => break,
        }
        let end = tokio::time::Instant::from_std(log.window_end());
        tokio::select! {
            _ = tokio::time::sleep_until(end) => {}
            _ = stopped.wait_for(|s| *s) => break,
        }
        log.summarize();
    }
    log.summarize();
}
