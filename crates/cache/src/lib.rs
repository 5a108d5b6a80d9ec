//! The write cache: points accepted from the network, held in memory until a
//! persister has written them to their whisper file.
//!
//! # Layout
//! Metrics are spread over [`Cache::shards`] shards by a seeded hash of the
//! name, each a mutex over a hash table from name to an entry addressed with that same
//! hash (the name is hashed once per operation). An entry holds the points not yet
//! handed to a persister (`pending`, the first of them inline); the points a persister
//! is writing right now sit beside the table in the shard's short `in_flight` list.
//!
//! # Write path
//! [`Cache::add`] appends to `pending`. A persister calls [`Cache::pop`], which
//! moves `pending` to the shard's `in_flight` list and returns a copy sorted and de-duplicated
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
//! # Generations (for the write-ahead log)
//! The write-ahead log appends every accepted batch to a segment file and may delete a
//! segment once every point in it is in a whisper file. The cache tells it when, cheaply:
//! a *generation* counter (advanced by the log when it starts a new segment) and, per
//! entry, the generation `since` which no point of the entry is older than. An entry takes
//! the current generation when created; when a write is confirmed and newer points
//! remain, it takes the generation current at the pop (they all arrived after it). Live
//! entries are counted per generation in a ring of [`GENERATIONS`] counters, so
//! [`Cache::oldest_live_generation`] is a scan of 64 atomics. A point appended to the log
//! after `add` returned lands in a segment no older than its entry's `since`, so a segment
//! older than the oldest live generation holds only written points.
//!
//! This crate is memory only: no files, no threads, no async.

#![deny(missing_docs)]

mod doorbell;
mod entry;
mod queue;

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use doorbell::Doorbell;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

pub use entry::Point;
use entry::{Entry, Points};
pub use queue::{WriteQueue, WriteStrategy};

/// Tuning for [`Cache::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Number of shards (rounded up to a power of two).
    pub shards: usize,
    /// Points held before [`Cache::is_full`] says stop reading (None: no
    /// limit, carbon's `MAX_CACHE_SIZE = inf`).
    pub max_points: Option<usize>,
    /// Metrics the tables are sized for at start (they grow past it as needed). Growing
    /// a table moves every entry and touches fresh memory, so a burst of new metrics
    /// right after start — every metric, after a restart — is cheaper into tables sized
    /// for it. Room that is not used yet costs little until entries land in it, but they
    /// land at random slots: a table sized far beyond its entries holds them on more
    /// pages than it needs.
    pub expected_metrics: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            shards: 256,
            max_points: None,
            expected_metrics: 0,
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
    /// The generation current when the points were taken.
    generation: u32,
}

/// Generations that can hold live entries at once (the ring of counters).
pub const GENERATIONS: u32 = 64;

/// One shard: metric name → its points, in a table addressed with the hash that also
/// chose the shard (one hash of the name per operation, not one per step).
/// Each slot keeps its hash, so growing a table never hashes a name again.
type Table = HashTable<(u64, Arc<str>, Entry)>;

/// A shard: its table, and the raw points of its metrics being written (a few at most:
/// one per persister), kept for reads and for a failed write to give back.
#[derive(Debug, Default)]
struct Shard {
    table: Table,
    in_flight: Vec<(Arc<str>, Points)>,
}

impl Shard {
    fn in_flight(&self, name: &str) -> Option<usize> {
        self.in_flight.iter().position(|(n, _)| **n == *name)
    }
}

/// The sharded write cache. Shared by reference (`Arc<Cache>`) between
/// receivers, persisters and readers.
#[derive(Debug)]
pub struct Cache {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    /// Points held, pending and in flight: what the limit is measured on.
    size: AtomicUsize,
    max_points: Option<usize>,
    /// The current generation (see "Generations").
    generation: AtomicU32,
    /// Live entries per generation, indexed by generation % GENERATIONS.
    live: [AtomicUsize; GENERATIONS as usize],
    /// Where idle writers wait for points (see [`Cache::wait_for_points`]).
    doorbell: Doorbell,
}

impl Cache {
    /// An empty cache.
    pub fn new(config: Config) -> Cache {
        let n = config.shards.max(1).next_power_of_two();
        let per_shard = config.expected_metrics.div_ceil(n);
        Cache {
            shards: (0..n)
                .map(|_| {
                    Mutex::new(Shard {
                        table: HashTable::with_capacity(per_shard),
                        in_flight: Vec::new(),
                    })
                })
                .collect(),
            hasher: RandomState::default(),
            size: AtomicUsize::new(0),
            max_points: config.max_points,
            generation: AtomicU32::new(0),
            live: std::array::from_fn(|_| AtomicUsize::new(0)),
            doorbell: Doorbell::default(),
        }
    }

    /// Blocks while the cache holds no point and `other_work()` is false, until points
    /// arrive, [`Cache::ring`] is called, or `timeout` passes. An idle writer waits here
    /// instead of polling, so an idle server costs no CPU. Whoever makes `other_work()`
    /// true must call [`Cache::ring`] after.
    pub fn wait_for_work(&self, timeout: Duration, other_work: impl Fn() -> bool) {
        self.doorbell.wait_while(
            || self.size.load(Ordering::SeqCst) == 0 && !other_work(),
            timeout,
        );
    }

    /// Wakes every writer waiting in [`Cache::wait_for_points`] (to stop, or to take a
    /// request that is not a point).
    pub fn ring(&self) {
        self.doorbell.ring();
    }

    /// Counts `n` new points and wakes waiting writers if there are any.
    fn grew(&self, n: usize) {
        self.size.fetch_add(n, Ordering::SeqCst);
        self.doorbell.ring_if_waiting();
    }

    /// The current generation.
    pub fn generation(&self) -> u32 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Moves to the next generation, if its ring slot is free (no live entry is
    /// [`GENERATIONS`] generations old). Returns the generation now current.
    pub fn advance_generation(&self) -> Option<u32> {
        let next = self.generation().wrapping_add(1);
        if self.live[(next % GENERATIONS) as usize].load(Ordering::SeqCst) != 0 {
            return None;
        }
        self.generation.store(next, Ordering::SeqCst);
        Some(next)
    }

    /// The oldest generation with a live entry, or the generation after the current one
    /// when the cache is empty: every point that arrived in an older generation is written.
    pub fn oldest_live_generation(&self) -> u32 {
        let current = self.generation();
        let oldest = current.saturating_sub(GENERATIONS - 1);
        (oldest..=current)
            .find(|g| self.live[(g % GENERATIONS) as usize].load(Ordering::SeqCst) != 0)
            .unwrap_or(current.wrapping_add(1))
    }

    fn count_live(&self, generation: u32, delta: isize) {
        let slot = &self.live[(generation % GENERATIONS) as usize];
        if delta > 0 {
            slot.fetch_add(1, Ordering::SeqCst);
        } else {
            slot.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// A new entry, counted in the current generation.
    fn new_entry(&self) -> Entry {
        let since = self.generation();
        self.count_live(since, 1);
        Entry::new(since)
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// The shard a metric lives in.
    pub fn shard_of(&self, name: &str) -> usize {
        self.shard_for(self.hash(name))
    }

    fn hash(&self, name: &str) -> u64 {
        self.hasher.hash_one(name)
    }

    /// The table uses the hash's low bits for the slot and its top 7 bits as a tag, so the
    /// shard comes from bits in between: within a shard the table still sees well-spread
    /// hashes.
    fn shard_for(&self, hash: u64) -> usize {
        ((hash >> 32) as usize) & (self.shards.len() - 1)
    }

    fn lock(&self, shard: usize) -> std::sync::MutexGuard<'_, Shard> {
        // A panic while holding the lock leaves the map consistent (every
        // mutation is a single push or swap), so poisoning is ignored.
        self.shards[shard]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the entry for `name` (created if missing) under its shard's lock;
    /// returns `f`'s result and whether the entry is new.
    fn with_entry<R>(&self, name: &str, f: impl FnOnce(&mut Entry) -> R) -> (R, bool) {
        let hash = self.hash(name);
        let mut shard = self.lock(self.shard_for(hash));
        if let Some((_, _, entry)) = shard.table.find_mut(hash, |(_, k, _)| **k == *name) {
            return (f(entry), false);
        }
        let mut entry = self.new_entry();
        let r = f(&mut entry);
        shard
            .table
            .insert_unique(hash, (hash, Arc::from(name), entry), |(h, _, _)| *h);
        (r, true)
    }

    /// Accepts one point. Returns true when the metric was not in the cache
    /// before (a new entry).
    pub fn add(&self, name: &str, timestamp: u32, value: f64) -> bool {
        let ((), created) = self.with_entry(name, |e| e.push(timestamp, value));
        self.grew(1);
        created
    }

    /// Accepts a batch of `len` points, `point(i)` giving point `i`'s name, timestamp and
    /// value, and sets `created[i]` when point `i` created its metric's entry (the vector
    /// is resized to the batch). Same result as [`Cache::add`] on each point in order, but
    /// every name is hashed first and each shard is locked once for all its points: the
    /// table writes of one shard then overlap instead of each waiting out its cache miss
    /// at an unlock, and the shared counters are touched once per batch, not per point.
    pub fn add_batch<'a>(
        &self,
        len: usize,
        point: impl Fn(usize) -> (&'a str, u32, f64),
        created: &mut Vec<bool>,
    ) {
        created.clear();
        created.resize(len, false);
        if len == 0 {
            return;
        }
        let hashes: Vec<u64> = (0..len).map(|i| self.hash(point(i).0)).collect();
        // A counting sort by shard; stable, so a metric's points keep their order.
        let mut starts = vec![0usize; self.shards.len() + 1];
        for &h in &hashes {
            starts[self.shard_for(h) + 1] += 1;
        }
        for s in 1..starts.len() {
            starts[s] += starts[s - 1];
        }
        let mut order = vec![0u32; len];
        let mut next = starts.clone();
        for (i, &h) in hashes.iter().enumerate() {
            let slot = &mut next[self.shard_for(h)];
            order[*slot] = i as u32;
            *slot += 1;
        }
        // Read once: a new entry's points reach the log after this returns, in a
        // segment no older than this generation (see "Generations").
        let since = self.generation();
        let mut new_entries = 0;
        let mut missing: Vec<u32> = Vec::new();
        let mut keys: Vec<Arc<str>> = Vec::new();
        // Batches from two connections would sweep the shards in the same order and queue
        // on the same lock all the way; each starts where its first name's shard is.
        let n = self.shards.len();
        let first = self.shard_for(hashes[0]);
        for shard in (0..n).map(|k| (first + k) & (n - 1)) {
            let run = [starts[shard], starts[shard + 1]];
            if run[0] == run[1] {
                continue;
            }
            missing.clear();
            let mut guard = self.lock(shard);
            let table = &mut guard.table;
            for &i in &order[run[0]..run[1]] {
                let (name, timestamp, value) = point(i as usize);
                let hash = hashes[i as usize];
                match table.find_mut(hash, |(_, k, _)| **k == *name) {
                    Some((_, _, entry)) => entry.push(timestamp, value),
                    None => missing.push(i),
                }
            }
            if missing.is_empty() {
                continue;
            }
            // New metrics' names are allocated with the lock released and no table write
            // pending: the allocator's own lock is a full barrier, and between table
            // inserts it made every insert's cache misses wait in line (the allocation
            // showed as an eighth of the receive path). A name that turns out to be
            // present by then (another connection's, or earlier in this batch) is dropped.
            drop(guard);
            keys.clear();
            keys.extend(missing.iter().map(|&i| Arc::from(point(i as usize).0)));
            let mut guard = self.lock(shard);
            let table = &mut guard.table;
            for (&i, key) in missing.iter().zip(keys.drain(..)) {
                let i = i as usize;
                let (_, timestamp, value) = point(i);
                let hash = hashes[i];
                if let Some((_, _, entry)) = table.find_mut(hash, |(_, k, _)| *k == key) {
                    entry.push(timestamp, value);
                    continue;
                }
                let mut entry = Entry::new(since);
                entry.push(timestamp, value);
                table.insert_unique(hash, (hash, key, entry), |(h, _, _)| *h);
                created[i] = true;
                new_entries += 1;
            }
        }
        if new_entries > 0 {
            self.live[(since % GENERATIONS) as usize].fetch_add(new_entries, Ordering::SeqCst);
        }
        self.grew(len);
    }

    /// Every point held for `name`, pending and in flight, oldest first, one
    /// per timestamp (the latest received wins).
    pub fn get(&self, name: &str) -> Vec<(i64, f64)> {
        let hash = self.hash(name);
        let shard = self.lock(self.shard_for(hash));
        let Some((_, _, entry)) = shard.table.find(hash, |(_, k, _)| **k == *name) else {
            return Vec::new();
        };
        let in_flight = entry
            .writing()
            .then(|| shard.in_flight(name))
            .flatten()
            .map(|i| &shard.in_flight[i].1);
        entry.snapshot(in_flight)
    }

    /// Points held in total (pending and in flight, duplicates counted).
    pub fn size(&self) -> usize {
        self.size.load(Ordering::Relaxed)
    }

    /// Number of metrics with points held.
    pub fn metrics(&self) -> usize {
        (0..self.shards.len())
            .map(|s| self.lock(s).table.len())
            .sum()
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
        let hash = self.hash(name);
        let mut shard = self.lock(self.shard_for(hash));
        let (_, key, entry) = shard.table.find_mut(hash, |(_, k, _)| **k == *name)?;
        let key = key.clone();
        let (in_flight, points) = entry.start_write()?;
        let raw = in_flight.len();
        shard.in_flight.push((key.clone(), in_flight));
        Some(Popped {
            name: key,
            points,
            raw,
            generation: self.generation(),
        })
    }

    /// The write of `popped` succeeded: its points leave the cache.
    pub fn confirm(&self, popped: Popped) {
        let hash = self.hash(&popped.name);
        let mut guard = self.lock(self.shard_for(hash));
        let shard = &mut *guard;
        if let Some(i) = shard.in_flight(&popped.name) {
            shard.in_flight.swap_remove(i);
        }
        if let Ok(mut occupied) = shard.table.find_entry(hash, |(_, k, _)| *k == popped.name) {
            let entry = &mut occupied.get_mut().2;
            entry.finish_write();
            let since = entry.since;
            if entry.is_empty() {
                occupied.remove();
                self.count_live(since, -1);
            } else if since != popped.generation {
                // What remains arrived after the pop.
                entry.since = popped.generation;
                self.count_live(since, -1);
                self.count_live(popped.generation, 1);
            }
        }
        drop(guard);
        self.size.fetch_sub(popped.raw, Ordering::Relaxed);
    }

    /// The write of `popped` failed: its points go back to pending, ahead of
    /// anything received since, and will be popped again.
    pub fn give_back(&self, popped: Popped) {
        let hash = self.hash(&popped.name);
        let mut guard = self.lock(self.shard_for(hash));
        let shard = &mut *guard;
        let in_flight = shard
            .in_flight(&popped.name)
            .map(|i| shard.in_flight.swap_remove(i).1)
            .unwrap_or_default();
        if let Some((_, _, entry)) = shard.table.find_mut(hash, |(_, k, _)| *k == popped.name) {
            entry.abort_write(in_flight);
        }
    }

    /// (name, pending points) of every metric in the shards persister `k` of
    /// `n` owns, for building its write queue.
    pub fn pending_counts(&self, k: usize, n: usize) -> Vec<(Arc<str>, usize)> {
        let mut out = Vec::new();
        for s in (0..self.shards.len()).filter(|s| s % n.max(1) == k) {
            let shard = self.lock(s);
            out.extend(
                shard
                    .table
                    .iter()
                    .filter(|(_, _, e)| e.pending_len() > 0 && !e.writing())
                    .map(|(_, name, e)| (name.clone(), e.pending_len())),
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
