//! The write-ahead log: accepted points survive a crash of the process.
//!
//! carbon-cache and go-carbon lose every point still in their cache when the process dies.
//! Charcoal appends every accepted batch to a log under the storage directory before the
//! batch is acknowledged as received, and replays the log into the cache at start-up.
//!
//! # Layout
//! `STORAGE_DIR/wal/<sequence>.wal` segments, each a header (`CHWAL001`) followed by
//! records: `u32` payload length, `u32` CRC-32 of the payload, payload (little-endian
//! throughout). A payload is a batch of points: `u16` name length, name, `u32` timestamp,
//! `f64` value, repeated. A torn or corrupt record ends its segment's replay (a crash can
//! only tear the tail); later segments are still read.
//!
//! # Group commit
//! Receivers encode a batch and hand it to the log's thread over a bounded channel (a full
//! channel blocks the receiver: back-pressure, not loss). The thread `write`s what is queued
//! at once, in one call (so a killed process loses nothing written: it is in the kernel's
//! page cache), and a second thread `fdatasync`s the open segment every `sync_interval` (so
//! a power loss loses at most that much) without ever holding up the appends.
//!
//! # Truncation
//! Segments are deleted, not truncated: the thread starts a new segment every
//! `rotate_interval` or `rotate_bytes`, advancing the cache's generation
//! (see `charcoal_cache`'s "Generations"), and deletes a closed segment once the cache's
//! oldest live generation is newer than the segment's: every point in it is in a whisper
//! file. After a clean shutdown (cache written out) no segment is left.
//!
//! # Limits and failures
//! When the segments reach `max_bytes`, or a write fails (disk full, read-only filesystem),
//! the log stops appending (points are still accepted into the cache, but are not crash-safe
//! until written) and says so through [`WalStats`]; it retries on a new segment at the
//! next sync tick and resumes once there is room.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use charcoal_cache::Cache;
use charcoal_protocol::{Batch as PointBatch, Sample};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};

const MAGIC: &[u8; 8] = b"CHWAL001";
const SUFFIX: &str = ".wal";
/// The most bytes gathered from the queue for one `write`.
const WRITE_CHUNK: usize = 4 << 20;

/// Settings.
#[derive(Debug, Clone)]
pub struct WalConfig {
    /// Where the segments live (`STORAGE_DIR/wal`).
    pub dir: PathBuf,
    /// Longest time between two `fdatasync`s while data is written.
    pub sync_interval: Duration,
    /// Total size of the segments beyond which appending stops.
    pub max_bytes: u64,
    /// Start a new segment after this many bytes...
    pub rotate_bytes: u64,
    /// ...or this long.
    pub rotate_interval: Duration,
}

/// Counters and state, for `/ready` and the metrics.
#[derive(Debug, Default)]
pub struct WalStats {
    /// Bytes appended.
    pub appended_bytes: AtomicU64,
    /// Points appended (written to a segment: from then on a killed process loses them
    /// not).
    pub logged_points: AtomicU64,
    /// `fdatasync` calls.
    pub syncs: AtomicU64,
    /// Batches not logged (log full or failing).
    pub skipped_batches: AtomicU64,
    /// Bytes in segments on disk.
    pub bytes_on_disk: AtomicU64,
    /// Segments deleted because their points are written.
    pub deleted_segments: AtomicU64,
    /// Whether the log is appending (false: full or failing).
    pub appending: AtomicBool,
    /// Why it is not, if it is not.
    pub problem: Mutex<Option<String>>,
}

impl WalStats {
    /// Why batches are not being logged, if they are not.
    pub fn problem(&self) -> Option<String> {
        self.problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Appends `name`'s point to an encoded batch.
pub fn encode_point(buf: &mut Vec<u8>, name: &str, timestamp: u32, value: f64) {
    let len = name.len().min(u16::MAX as usize);
    buf.extend_from_slice(&(len as u16).to_le_bytes());
    buf.extend_from_slice(&name.as_bytes()[..len]);
    buf.extend_from_slice(&timestamp.to_le_bytes());
    buf.extend_from_slice(&value.to_bits().to_le_bytes());
}

/// Decodes a batch payload; `None` if it is malformed.
fn decode_batch(mut p: &[u8], mut f: impl FnMut(&str, u32, f64)) -> Option<()> {
    while !p.is_empty() {
        let len = u16::from_le_bytes(p.get(..2)?.try_into().ok()?) as usize;
        let name = std::str::from_utf8(p.get(2..2 + len)?).ok()?;
        let rest = p.get(2 + len..)?;
        let ts = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
        let value = f64::from_bits(u64::from_le_bytes(rest.get(4..12)?.try_into().ok()?));
        f(name, ts, value);
        p = &rest[12..];
    }
    Some(())
}

/// What a replay found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// Segments read.
    pub segments: usize,
    /// Points put back into the cache.
    pub points: u64,
    /// Logged names that no longer validate (skipped).
    pub invalid_names: u64,
    /// Segments whose tail was torn or corrupt (reading stopped there).
    pub torn: Vec<String>,
}

fn segment_files(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for e in entries.flatten() {
                let name = e.file_name();
                let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(SUFFIX)) else {
                    continue;
                };
                if let Ok(seq) = u64::from_str_radix(stem, 16) {
                    out.push((seq, e.path()));
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    out.sort();
    Ok(out)
}

/// Reads every segment in `dir`, oldest first, and hands each logged batch to `ingest`
/// (the store's ingest, so replayed points are indexed as received ones are; they must go
/// into the cache in its current generation, which the replayed segments are then filed
/// under). A name that no longer validates is skipped and counted.
pub fn replay(dir: &Path, mut ingest: impl FnMut(&mut PointBatch)) -> io::Result<Replayed> {
    let mut report = Replayed::default();
    let mut batch = PointBatch::new();
    for (_, path) in segment_files(dir)? {
        report.segments += 1;
        let mut data = Vec::new();
        File::open(&path)?.read_to_end(&mut data)?;
        let mut p = match data.strip_prefix(MAGIC.as_slice()) {
            Some(rest) => rest,
            None => {
                report.torn.push(format!("{}: no header", path.display()));
                continue;
            }
        };
        while !p.is_empty() {
            let record = (|| {
                let len = u32::from_le_bytes(p.get(..4)?.try_into().ok()?) as usize;
                let crc = u32::from_le_bytes(p.get(4..8)?.try_into().ok()?);
                let payload = p.get(8..8 + len)?;
                (crc32fast::hash(payload) == crc).then_some((payload, 8 + len))
            })();
            let Some((payload, used)) = record else {
                report.torn.push(format!(
                    "{}: torn at byte {}",
                    path.display(),
                    data.len() - p.len()
                ));
                break;
            };
            batch.clear();
            let ok = decode_batch(payload, |name, timestamp, value| {
                match batch.push(name, Sample { timestamp, value }) {
                    Ok(()) => report.points += 1,
                    Err(_) => report.invalid_names += 1,
                }
            });
            ingest(&mut batch);
            if ok.is_none() {
                report
                    .torn
                    .push(format!("{}: malformed batch", path.display()));
                break;
            }
            p = &p[used..];
        }
    }
    Ok(report)
}

/// An encoded batch and its number of points, on its way to the log's thread.
type Batch = (Vec<u8>, u64);

/// One segment file.
#[derive(Debug)]
struct Segment {
    seq: u64,
    generation: u32,
    path: PathBuf,
    bytes: u64,
}

/// The running log.
#[derive(Debug)]
pub struct Wal {
    tx: std::sync::RwLock<Option<Sender<Batch>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Counters and state.
    pub stats: Arc<WalStats>,
}

impl Wal {
    /// Starts the log's thread. Segments already in `config.dir` (just replayed into the
    /// cache in its current generation) are kept until their points are written.
    pub fn start(config: WalConfig, cache: Arc<Cache>) -> io::Result<Wal> {
        std::fs::create_dir_all(&config.dir)?;
        let replayed_generation = cache.generation();
        let mut segments: VecDeque<Segment> = VecDeque::new();
        for (seq, path) in segment_files(&config.dir)? {
            let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            segments.push_back(Segment {
                seq,
                generation: replayed_generation,
                path,
                bytes,
            });
        }
        let stats = Arc::new(WalStats::default());
        let (tx, rx) = bounded::<Batch>(4096);
        let sync_target: SyncTarget = Arc::default();
        let sync_stop = Arc::new(AtomicBool::new(false));
        let interval = config.sync_interval.max(Duration::from_millis(1));
        let sync_thread = {
            let (target, stats, stop) = (sync_target.clone(), stats.clone(), sync_stop.clone());
            std::thread::Builder::new()
                .name("wal-sync".into())
                .spawn(move || sync_loop(target, stats, interval, stop))?
        };
        let mut writer = Writer {
            sync_target,
            config,
            cache,
            stats: stats.clone(),
            segments,
            file: None,
            opened: Instant::now(),
            next_seq: 1,
            record: Vec::new(),
        };
        writer.next_seq = writer.segments.back().map_or(1, |s| s.seq + 1);
        writer.open_segment()?;
        let thread = std::thread::Builder::new()
            .name("wal".into())
            .spawn(move || {
                writer.run(rx);
                sync_stop.store(true, Ordering::Relaxed);
                sync_thread.thread().unpark();
                let _ = sync_thread.join();
            })?;
        Ok(Wal {
            tx: std::sync::RwLock::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            stats,
        })
    }

    /// Logs an encoded batch of `points` points ([`encode_point`]). Blocks while the log's
    /// queue is full.
    pub fn append(&self, batch: Vec<u8>, points: u64) {
        if batch.is_empty() {
            return;
        }
        let tx = self.tx.read().unwrap_or_else(|p| p.into_inner());
        match tx.as_ref() {
            Some(tx) => {
                let _ = tx.send((batch, points));
            }
            None => {
                self.stats.skipped_batches.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Writes what is queued, syncs, deletes every segment whose points are written
    /// (all of them once the cache has been written out) and stops the thread. Later
    /// appends are counted as skipped.
    pub fn stop(&self) {
        self.tx.write().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The open segment as the sync thread sees it: a second handle to the same file.
type SyncTarget = Arc<Mutex<Option<File>>>;

/// Syncs the open segment every `interval` until `stop`. On its own thread so that a slow
/// `fdatasync` (tens of megabytes under load) never stalls appending: appends go on into
/// the page cache, which is all a killed process needs; the sync bounds a power loss.
fn sync_loop(target: SyncTarget, stats: Arc<WalStats>, interval: Duration, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        std::thread::park_timeout(interval);
        let file = target.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = file.as_ref() {
            match f.sync_data() {
                Ok(()) => {
                    stats.syncs.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::error!("write-ahead log: sync failed: {e}");
                    *stats.problem.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(format!("write-ahead log cannot sync: {e}"));
                }
            }
        }
    }
}

struct Writer {
    sync_target: SyncTarget,
    config: WalConfig,
    cache: Arc<Cache>,
    stats: Arc<WalStats>,
    segments: VecDeque<Segment>,
    /// The open segment (the last of `segments`), if appending.
    file: Option<File>,
    opened: Instant,
    /// The next segment's sequence number (never reused, even after deletions).
    next_seq: u64,
    /// Records being written (kept to reuse its allocation).
    record: Vec<u8>,
}

impl Writer {
    fn set_problem(&self, problem: Option<String>) {
        self.stats
            .appending
            .store(problem.is_none(), Ordering::Relaxed);
        *self.stats.problem.lock().unwrap_or_else(|p| p.into_inner()) = problem;
    }

    fn total_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    /// Starts a new segment in the next generation (or the current one if the cache's
    /// ring of generations is full).
    fn open_segment(&mut self) -> io::Result<()> {
        let generation = self
            .cache
            .advance_generation()
            .unwrap_or_else(|| self.cache.generation());
        let seq = self.next_seq;
        self.next_seq += 1;
        let path = self.config.dir.join(format!("{seq:016x}{SUFFIX}"));
        let mut file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        if let Err(e) = file.write_all(MAGIC) {
            // A headerless file would only be skipped at replay; leave nothing behind.
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        self.segments.push_back(Segment {
            seq,
            generation,
            path,
            bytes: MAGIC.len() as u64,
        });
        // The closed segment gets its last sync here; the sync thread moves to the new one.
        if let Some(old) = &self.file {
            let _ = old.sync_data();
        }
        *self.sync_target.lock().unwrap_or_else(|p| p.into_inner()) = file.try_clone().ok();
        self.file = Some(file);
        self.opened = Instant::now();
        self.set_problem(None);
        Ok(())
    }

    /// Appends `batches` as records with one `write` (what arrived while the previous
    /// write ran: group commit of writes as well as syncs).
    fn write(&mut self, batches: &[Batch]) {
        if self.file.is_none() {
            self.stats
                .skipped_batches
                .fetch_add(batches.len() as u64, Ordering::Relaxed);
            return;
        }
        let size: usize = batches.iter().map(|(b, _)| b.len() + 8).sum();
        if self.total_bytes() + size as u64 > self.config.max_bytes {
            // Full: stop here rather than at the next tick, so the log never passes its
            // limit.
            self.file = None;
            self.stats
                .skipped_batches
                .fetch_add(batches.len() as u64, Ordering::Relaxed);
            self.set_problem(Some(format!(
                "write-ahead log full ({} bytes, limit --wal-max-size)",
                self.total_bytes()
            )));
            return;
        }
        self.record.clear();
        for (batch, _) in batches {
            self.record
                .extend_from_slice(&(batch.len() as u32).to_le_bytes());
            self.record
                .extend_from_slice(&crc32fast::hash(batch).to_le_bytes());
            self.record.extend_from_slice(batch);
        }
        let Some(file) = self.file.as_mut() else {
            return;
        };
        match file.write_all(&self.record) {
            Ok(()) => {
                if let Some(s) = self.segments.back_mut() {
                    s.bytes += size as u64;
                }
                self.stats
                    .appended_bytes
                    .fetch_add(size as u64, Ordering::Relaxed);
                let points: u64 = batches.iter().map(|(_, n)| n).sum();
                self.stats
                    .logged_points
                    .fetch_add(points, Ordering::Relaxed);
            }
            Err(e) => {
                // The segment may end in a torn record; replay stops there, so nothing
                // more goes into it.
                self.file = None;
                self.stats
                    .skipped_batches
                    .fetch_add(batches.len() as u64, Ordering::Relaxed);
                tracing::error!(
                    "write-ahead log: cannot append: {e}; points are not crash-safe until it recovers"
                );
                self.set_problem(Some(format!("write-ahead log cannot append: {e}")));
            }
        }
    }

    /// The periodic work: rotate, delete written segments, recover (syncing is the sync
    /// thread's).
    fn tick(&mut self) {
        self.delete_written();
        // Room for at least a few batches again before appending resumes.
        let full = self.total_bytes() + (64 << 10) >= self.config.max_bytes;
        let due = self.file.is_some()
            && self
                .segments
                .back()
                .is_some_and(|s| s.bytes > MAGIC.len() as u64)
            && (self.opened.elapsed() >= self.config.rotate_interval
                || self
                    .segments
                    .back()
                    .is_some_and(|s| s.bytes >= self.config.rotate_bytes));
        if full {
            if self.file.take().is_some() {
                tracing::warn!(
                    max_bytes = self.config.max_bytes,
                    "write-ahead log full: new points are not crash-safe until written"
                );
            }
            self.set_problem(Some(format!(
                "write-ahead log full ({} bytes, limit --wal-max-size)",
                self.total_bytes()
            )));
        } else if (due || self.file.is_none())
            && let Err(e) = self.open_segment()
        {
            self.set_problem(Some(format!("write-ahead log cannot start a segment: {e}")));
        }
        self.stats
            .bytes_on_disk
            .store(self.total_bytes(), Ordering::Relaxed);
    }

    /// Deletes closed segments (and, once everything is written, the open one too when
    /// stopping) whose generation is older than every unwritten point.
    fn delete_written(&mut self) {
        let oldest = self.cache.oldest_live_generation();
        while self.segments.len() > 1 || (self.file.is_none() && !self.segments.is_empty()) {
            let Some(front) = self.segments.front() else {
                break;
            };
            if front.generation >= oldest {
                break;
            }
            if let Err(e) = std::fs::remove_file(&front.path)
                && e.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(
                    "write-ahead log: cannot delete {}: {e}",
                    front.path.display()
                );
                break;
            }
            self.stats.deleted_segments.fetch_add(1, Ordering::Relaxed);
            self.segments.pop_front();
        }
    }

    fn run(mut self, rx: Receiver<Batch>) {
        let interval = self.config.sync_interval.max(Duration::from_millis(1));
        let mut next = Instant::now() + interval;
        let mut pending: Vec<Batch> = Vec::new();
        loop {
            match rx.recv_timeout(next.saturating_duration_since(Instant::now())) {
                Ok(batch) => {
                    pending.push(batch);
                    let mut bytes = pending[0].0.len();
                    while bytes < WRITE_CHUNK
                        && let Ok(more) = rx.try_recv()
                    {
                        bytes += more.0.len();
                        pending.push(more);
                    }
                    self.write(&pending);
                    pending.clear();
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if Instant::now() >= next {
                self.tick();
                next = Instant::now() + interval;
            }
        }
        // Stopping: everything queued is written; sync, then drop what is written.
        if let Some(f) = &self.file {
            let _ = f.sync_data();
        }
        if self.cache.size() == 0 {
            self.file = None;
        }
        self.delete_written();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path) -> WalConfig {
        WalConfig {
            dir: dir.to_path_buf(),
            sync_interval: Duration::from_millis(5),
            max_bytes: 1 << 30,
            rotate_bytes: 1 << 20,
            rotate_interval: Duration::from_millis(10),
        }
    }

    fn batch(points: &[(&str, u32, f64)]) -> Vec<u8> {
        let mut b = Vec::new();
        for (n, t, v) in points {
            encode_point(&mut b, n, *t, *v);
        }
        b
    }

    #[test]
    fn replay_restores_points_and_stops_at_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Arc::new(Cache::new(charcoal_cache::Config::default()));
        let wal = Wal::start(config(dir.path()), cache.clone()).unwrap();
        for (n, t, v) in [("a.b", 10, 1.5), ("c", 20, -2.0), ("a.b", 30, 3.0)] {
            cache.add(n, t, v);
        }
        wal.append(batch(&[("a.b", 10, 1.5), ("c", 20, -2.0)]), 2);
        wal.append(batch(&[("a.b", 30, 3.0)]), 1);
        // A crash: the process dies with the points unwritten (the thread is stopped
        // without the cache being empty, so segments stay).
        wal.stop();
        let segs = segment_files(dir.path()).unwrap();
        assert!(!segs.is_empty());
        // Tear the last segment's tail.
        let last = &segs.last().unwrap().1;
        let mut f = OpenOptions::new().append(true).open(last).unwrap();
        f.write_all(&[7, 0, 0, 0, 1, 2]).unwrap();
        let fresh = Cache::new(charcoal_cache::Config::default());
        let report = replay(dir.path(), |batch| {
            for (name, s) in batch.iter() {
                fresh.add(name.as_str(), s.timestamp, s.value);
            }
        })
        .unwrap();
        assert_eq!(report.points, 3);
        assert_eq!(report.torn.len(), 1, "{report:?}");
        assert_eq!(fresh.get("a.b"), vec![(10, 1.5), (30, 3.0)]);
        assert_eq!(fresh.get("c"), vec![(20, -2.0)]);
    }

    #[test]
    fn segments_go_once_their_points_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Arc::new(Cache::new(charcoal_cache::Config::default()));
        let wal = Wal::start(config(dir.path()), cache.clone()).unwrap();
        cache.add("m", 1, 1.0);
        wal.append(batch(&[("m", 1, 1.0)]), 1);
        // Let the thread rotate past the segment holding the point.
        let deadline = Instant::now() + Duration::from_secs(10);
        while segment_files(dir.path()).unwrap().len() < 2 && Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert!(segment_files(dir.path()).unwrap().len() >= 2, "rotated");
        let first = segment_files(dir.path()).unwrap()[0].1.clone();
        assert!(first.exists(), "kept while its point is unwritten");
        let p = cache.pop("m").unwrap();
        cache.confirm(p);
        while first.exists() && Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert!(!first.exists(), "deleted once the point is in its file");
        wal.stop();
        assert!(
            segment_files(dir.path()).unwrap().is_empty(),
            "clean stop leaves nothing"
        );
    }

    #[test]
    fn the_log_never_passes_its_limit_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Arc::new(Cache::new(charcoal_cache::Config::default()));
        let mut cfg = config(dir.path());
        cfg.max_bytes = 64 << 10;
        cfg.rotate_interval = Duration::from_secs(3600);
        let wal = Wal::start(cfg, cache.clone()).unwrap();
        let name = "x".repeat(100);
        for i in 0..2000u32 {
            cache.add(&name, i, 1.0);
            wal.append(batch(&[(name.as_str(), i, 1.0)]), 1);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while wal.stats.problem().is_none() && Instant::now() < deadline {
            std::thread::yield_now();
        }
        let problem = wal.stats.problem().expect("the limit is reported");
        assert!(problem.contains("full"), "{problem}");
        wal.stop();
        let on_disk: u64 = segment_files(dir.path())
            .unwrap()
            .iter()
            .map(|(_, p)| std::fs::metadata(p).unwrap().len())
            .sum();
        assert!(on_disk <= 64 << 10, "{on_disk} bytes on disk");
        assert!(wal.stats.skipped_batches.load(Ordering::Relaxed) > 0);
    }
}
