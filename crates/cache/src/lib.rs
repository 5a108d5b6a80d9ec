//! The write cache: points accepted from the network, held in memory until a
//! persister has written them to their whisper file.
//!
//! # Layout
//! Metrics are spread over [`Cache::shards`] shards by a seeded hash of the
//! name, each a mutex over a map from name to [`Entry`]. An entry holds the
//! points not yet handed to a persister (`pending`) and the points a persister
//! is writing right now (`in_flight`).
//!
//! # Write path
//! [`Cache::add`] appends to `pending`. A persister calls [`Cache::pop`], which
//! moves `pending` to `in_flight` and returns a copy sorted and de-duplicated
//! (last received wins for a timestamp, as carbon's dict does); after the
//! whisper write it calls [`Cache::confirm`], or [`Cache::give_back`] when the
//! write failed, which returns the points to `pending` so they are retried.
//!
//! # Guarantees
//! - **Visible until written**: [`Cache::get`] sees a point from the moment
//!   `add` returns until `confirm` for the pop that carried it.
//! - **Nothing dropped**: `add` never refuses a point. The limit is enforced
//!   by flow control one layer up: receivers stop reading their sockets while
//!   [`Cache::is_full`] and resume below the low watermark (95%).
//! - **One writer per metric**: persister `k` of `n` only pops metrics of the
//!   shards `s` with `s % n == k` ([`Cache::write_queue`]), so two threads
//!   never write the same file.
//!
//! This crate is memory only: no files, no threads, no async.

#![deny(missing_docs)]

mod entry;
mod queue;

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use foldhash::HashMap;
use foldhash::fast::RandomState;

pub use entry::{Entry, Point};
pub use queue::{WriteQueue, WriteStrategy};

/// Tuning for [`Cache::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Number of shards (rounded up to a power of two).
    pub shards: usize,
    /// Points held before [`Cache::is_full`] says stop reading (None: no
    /// limit, carbon's `MAX_CACHE_SIZE = inf`).
    pub max_points: Option<usize>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            shards: 256,
            max_points: None,
        }
    }
}

/// Points popped for one write, to be confirmed or given back.
#[derive(Debug)]
pub struct Popped {
    /// The metric.
    pub name: Arc<str>,
    /// Its points, oldest first, one per timestamp.
    pub points: Vec<(i64, f64)>,
    /// How many raw points (before de-duplication) this pop carried.
    raw: usize,
}

/// One shard: a map from metric name to its points.
type Shard = Mutex<HashMap<Arc<str>, Entry>>;

/// The sharded write cache. Shared by reference (`Arc<Cache>`) between
/// receivers, persisters and readers.
#[derive(Debug)]
pub struct Cache {
    shards: Box<[Shard]>,
    hasher: RandomState,
    /// Points held, pending and in flight: what the limit is measured on.
    size: AtomicUsize,
    max_points: Option<usize>,
}

impl Cache {
    /// An empty cache.
    pub fn new(config: Config) -> Cache {
        let n = config.shards.max(1).next_power_of_two();
        Cache {
            shards: (0..n).map(|_| Mutex::new(HashMap::default())).collect(),
            hasher: RandomState::default(),
            size: AtomicUsize::new(0),
            max_points: config.max_points,
        }
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// The shard a metric lives in.
    pub fn shard_of(&self, name: &str) -> usize {
        (self.hasher.hash_one(name) as usize) & (self.shards.len() - 1)
    }

    fn lock(&self, shard: usize) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Entry>> {
        // A panic while holding the lock leaves the map consistent (every
        // mutation is a single push or swap), so poisoning is ignored.
        self.shards[shard]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Accepts one point. Returns true when the metric was not in the cache
    /// before (a new entry).
    pub fn add(&self, name: &str, timestamp: u32, value: f64) -> bool {
        let shard = self.shard_of(name);
        let mut map = self.lock(shard);
        let created = match map.get_mut(name) {
            Some(entry) => {
                entry.push(timestamp, value);
                false
            }
            None => {
                let mut entry = Entry::default();
                entry.push(timestamp, value);
                map.insert(Arc::from(name), entry);
                true
            }
        };
        drop(map);
        self.size.fetch_add(1, Ordering::Relaxed);
        created
    }

    /// Accepts many points of one metric.
    pub fn add_many(&self, name: &str, points: impl IntoIterator<Item = (u32, f64)>) {
        let shard = self.shard_of(name);
        let mut map = self.lock(shard);
        let entry = match map.get_mut(name) {
            Some(entry) => entry,
            None => map.entry(Arc::from(name)).or_default(),
        };
        let before = entry.len();
        for (t, v) in points {
            entry.push(t, v);
        }
        let added = entry.len() - before;
        drop(map);
        self.size.fetch_add(added, Ordering::Relaxed);
    }

    /// Every point held for `name`, pending and in flight, oldest first, one
    /// per timestamp (the latest received wins).
    pub fn get(&self, name: &str) -> Vec<(i64, f64)> {
        let map = self.lock(self.shard_of(name));
        map.get(name).map(Entry::snapshot).unwrap_or_default()
    }

    /// Points held in total (pending and in flight, duplicates counted).
    pub fn size(&self) -> usize {
        self.size.load(Ordering::Relaxed)
    }

    /// Number of metrics with points held.
    pub fn metrics(&self) -> usize {
        (0..self.shards.len()).map(|s| self.lock(s).len()).sum()
    }

    /// True while at or above the limit: receivers stop reading.
    pub fn is_full(&self) -> bool {
        self.max_points.is_some_and(|max| self.size() >= max)
    }

    /// True once below 95% of the limit: receivers resume reading.
    pub fn below_low_watermark(&self) -> bool {
        self.max_points
            .is_none_or(|max| self.size() < max - max / 20)
    }

    /// Takes the pending points of `name` for writing. None when it has no
    /// pending points, or a write of it is already in flight.
    pub fn pop(&self, name: &str) -> Option<Popped> {
        let mut map = self.lock(self.shard_of(name));
        let key = map.get_key_value(name)?.0.clone();
        let entry = map.get_mut(name)?;
        let raw = entry.pending_len();
        let points = entry.start_write()?;
        Some(Popped {
            name: key.clone(),
            points,
            raw,
        })
    }

    /// The write of `popped` succeeded: its points leave the cache.
    pub fn confirm(&self, popped: Popped) {
        let mut map = self.lock(self.shard_of(&popped.name));
        if let Some(entry) = map.get_mut(&*popped.name) {
            entry.finish_write();
            if entry.is_empty() {
                map.remove(&*popped.name);
            }
        }
        drop(map);
        self.size.fetch_sub(popped.raw, Ordering::Relaxed);
    }

    /// The write of `popped` failed: its points go back to pending, ahead of
    /// anything received since, and will be popped again.
    pub fn give_back(&self, popped: Popped) {
        let mut map = self.lock(self.shard_of(&popped.name));
        if let Some(entry) = map.get_mut(&*popped.name) {
            entry.abort_write();
        }
    }

    /// (name, pending points) of every metric in the shards persister `k` of
    /// `n` owns, for building its write queue.
    pub fn pending_counts(&self, k: usize, n: usize) -> Vec<(Arc<str>, usize)> {
        let mut out = Vec::new();
        for s in (0..self.shards.len()).filter(|s| s % n.max(1) == k) {
            let map = self.lock(s);
            out.extend(
                map.iter()
                    .filter(|(_, e)| e.pending_len() > 0 && !e.writing())
                    .map(|(name, e)| (name.clone(), e.pending_len())),
            );
        }
        out
    }

    /// A write queue over the shards persister `k` of `n` owns.
    pub fn write_queue(
        self: &Arc<Self>,
        k: usize,
        n: usize,
        strategy: WriteStrategy,
    ) -> WriteQueue {
        WriteQueue::new(self.clone(), k, n, strategy)
    }
}

#[cfg(test)]
mod tests;
