//! One metric's points in the cache.

use smallvec::SmallVec;

/// A point as the cache holds it: 12 bytes, no padding. Whisper stores
/// whole-second `u32` timestamps, so that is all the cache keeps (carbon's
/// float timestamps are truncated on receipt, as `MIN_TIMESTAMP_RESOLUTION = 1`
/// does).
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C, packed(4))]
pub struct Point {
    /// Seconds since the epoch.
    pub timestamp: u32,
    /// The value.
    pub value: f64,
}

/// A metric's points. The first is held in the entry itself: a metric seen once before
/// its write (a new metric, or one sent once a minute) costs no allocation for its points,
/// and a new metric is the receive path's costliest case.
pub(crate) type Points = SmallVec<[Point; 1]>;

/// The points of one metric not yet handed to a persister. The points a persister is
/// writing live beside the shard's table (see `Shard::in_flight`): at most one metric per
/// persister is in flight, so keeping room for them in every entry would widen every slot
/// of every table for a handful of metrics.
#[derive(Debug, Default)]
pub(crate) struct Entry {
    /// In receipt order; may hold several points for one timestamp.
    pending: Points,
    /// A write is in flight (its points are in the shard's `in_flight`).
    writing: bool,
    /// The write-ahead-log generation of the oldest point held: no point here arrived
    /// before it (see `Cache`'s "Generations").
    pub(crate) since: u32,
}

// An entry is most of a cache table slot (with the name and its hash: 56 bytes), and
// the table is where a new metric's cache misses are.
const _: () = assert!(std::mem::size_of::<Entry>() <= 32);

/// Sorts by timestamp keeping receipt order among equals, then keeps the last
/// point of each timestamp: carbon's dict overwrite, latest received wins.
fn settle(points: impl Iterator<Item = Point>) -> Vec<(i64, f64)> {
    let mut v: Vec<(i64, f64)> = points.map(|p| (i64::from(p.timestamp), p.value)).collect();
    v.sort_by_key(|p| p.0);
    let mut out: Vec<(i64, f64)> = Vec::with_capacity(v.len());
    for p in v {
        match out.last_mut() {
            Some(last) if last.0 == p.0 => *last = p,
            _ => out.push(p),
        }
    }
    out
}

impl Entry {
    pub(crate) fn new(since: u32) -> Entry {
        Entry {
            since,
            ..Entry::default()
        }
    }

    pub(crate) fn push(&mut self, timestamp: u32, value: f64) {
        self.pending.push(Point { timestamp, value });
    }

    /// Nothing pending and nothing in flight.
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty() && !self.writing
    }

    /// Points waiting for a write.
    pub(crate) fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// A write is in flight.
    pub(crate) fn writing(&self) -> bool {
        self.writing
    }

    /// Everything held (`in_flight`: the points of this entry's write, if one is in
    /// flight), oldest first, one per timestamp.
    pub(crate) fn snapshot(&self, in_flight: Option<&Points>) -> Vec<(i64, f64)> {
        let in_flight = in_flight.into_iter().flatten();
        settle(in_flight.chain(self.pending.iter()).copied())
    }

    /// Takes the pending points for a write: the raw points (kept in flight until the
    /// write is confirmed) and what to write. None while a write is in flight or nothing
    /// is pending.
    pub(crate) fn start_write(&mut self) -> Option<(Points, Vec<(i64, f64)>)> {
        if self.writing || self.pending.is_empty() {
            return None;
        }
        let raw = std::mem::take(&mut self.pending);
        self.writing = true;
        let points = settle(raw.iter().copied());
        Some((raw, points))
    }

    pub(crate) fn finish_write(&mut self) {
        self.writing = false;
    }

    /// The write failed: its points go back ahead of anything received since.
    pub(crate) fn abort_write(&mut self, mut in_flight: Points) {
        in_flight.append(&mut self.pending);
        self.pending = in_flight;
        self.writing = false;
    }
}
