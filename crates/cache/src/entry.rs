//! One metric's points in the cache.

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

/// The points of one metric: received and waiting, and being written.
#[derive(Debug, Default)]
pub struct Entry {
    /// In receipt order; may hold several points for one timestamp.
    pending: Vec<Point>,
    /// Handed to a persister and not yet confirmed; older than `pending`.
    in_flight: Option<Vec<Point>>,
    /// The write-ahead-log generation of the oldest point held: no point here arrived
    /// before it (see `Cache`'s "Generations").
    pub(crate) since: u32,
}

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

    /// Points held, pending and in flight, duplicates counted.
    pub fn len(&self) -> usize {
        self.pending.len() + self.in_flight.as_ref().map_or(0, Vec::len)
    }

    /// No points at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Points waiting for a write.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// A write is in flight.
    pub fn writing(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Everything held, oldest first, one per timestamp.
    pub fn snapshot(&self) -> Vec<(i64, f64)> {
        let in_flight = self.in_flight.iter().flatten();
        settle(in_flight.chain(self.pending.iter()).copied())
    }

    pub(crate) fn start_write(&mut self) -> Option<Vec<(i64, f64)>> {
        if self.in_flight.is_some() || self.pending.is_empty() {
            return None;
        }
        let batch = std::mem::take(&mut self.pending);
        let points = settle(batch.iter().copied());
        self.in_flight = Some(batch);
        Some(points)
    }

    pub(crate) fn finish_write(&mut self) {
        self.in_flight = None;
    }

    pub(crate) fn abort_write(&mut self) {
        if let Some(mut batch) = self.in_flight.take() {
            batch.append(&mut self.pending);
            self.pending = batch;
        }
    }
}
