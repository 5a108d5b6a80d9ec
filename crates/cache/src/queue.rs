//! The order in which a persister writes metrics (carbon's
//! `CACHE_WRITE_STRATEGY`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{Cache, Popped};

/// Which metric a persister writes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteStrategy {
    /// Most points first, the order refreshed at most every 100 ms
    /// (go-carbon's `max`; carbon's rescans on every write, which does not
    /// scale to a million metrics).
    Max,
    /// Most points first from a snapshot; a new snapshot once every metric in
    /// it was written (carbon's default `sorted`).
    #[default]
    Sorted,
    /// Whatever order the cache holds them in (carbon's `naive`).
    Naive,
}

impl std::str::FromStr for WriteStrategy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "max" => Ok(WriteStrategy::Max),
            "sorted" => Ok(WriteStrategy::Sorted),
            "naive" => Ok(WriteStrategy::Naive),
            other => Err(format!(
                "unknown CACHE_WRITE_STRATEGY {other:?} (expected max, sorted or naive)"
            )),
        }
    }
}

const MAX_REFRESH: Duration = Duration::from_millis(100);

/// A persister's view of its shards: hands out popped metrics in strategy
/// order.
#[derive(Debug)]
pub struct WriteQueue {
    cache: Arc<Cache>,
    persister: usize,
    persisters: usize,
    strategy: WriteStrategy,
    /// Names to write, next one last.
    snapshot: Vec<Arc<str>>,
    taken: Instant,
}

impl WriteQueue {
    pub(crate) fn new(cache: Arc<Cache>, k: usize, n: usize, strategy: WriteStrategy) -> Self {
        WriteQueue {
            cache,
            persister: k,
            persisters: n.max(1),
            strategy,
            snapshot: Vec::new(),
            taken: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let mut counts = self.cache.pending_counts(self.persister, self.persisters);
        if self.strategy != WriteStrategy::Naive {
            // Ascending, so the largest is popped first.
            counts.sort_by_key(|&(_, n)| n);
        } else {
            counts.reverse();
        }
        self.snapshot = counts.into_iter().map(|(name, _)| name).collect();
        self.taken = Instant::now();
    }

    /// Pops the next metric to write, or None when these shards have nothing
    /// pending.
    pub fn next_batch(&mut self) -> Option<Popped> {
        let mut refilled = false;
        loop {
            let stale = self.strategy == WriteStrategy::Max && self.taken.elapsed() > MAX_REFRESH;
            if self.snapshot.is_empty() || (stale && !refilled) {
                if refilled {
                    return None;
                }
                self.refill();
                refilled = true;
                if self.snapshot.is_empty() {
                    return None;
                }
            }
            let name = self.snapshot.pop()?;
            if let Some(popped) = self.cache.pop(&name) {
                return Some(popped);
            }
        }
    }
}
