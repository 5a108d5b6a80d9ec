//! Persister threads: take metrics from the write cache and write them into
//! their whisper files, creating a file on first sight.
//!
//! Each of `n` threads owns the cache shards `s % n == k`, so one metric is
//! only ever written by one thread. A write pops the metric's points
//! (they stay readable), runs `update_many`, and confirms; a failed write
//! gives the points back and the metric waits out a backoff (0.1 s doubling
//! to 10 s) before it is tried again, while other metrics keep flowing.
//!
//! Limits as carbon defines them: `MAX_UPDATES_PER_SECOND` is a token bucket
//! shared by all threads (one token per update_many); `MAX_CREATES_PER_MINUTE`
//! another, for new files. Unlike carbon 1.1, a metric that finds no create
//! token keeps its points in the cache and is created later: nothing is
//! dropped. On stop, both limits are lifted so the cache drains quickly.
//!
//! Receiving comes first. Before each write a persister asks the caller's `StepAside`
//! whether to wait (the server says yes while a receiver is handling data and the cache
//! holds less than a bound), and waits in short steps, at most 100 ms in a row: a burst
//! is taken in at the speed of the receive path and written right after, while a steady
//! flood fills the cache to the bound, past which the writers run at full speed. The
//! threads also run at a lower priority (`Config::nice`, +10 by default), which the
//! kernel applies when both want the CPU past that bound. (Measured on two cores,
//! 100,000 new metrics: received about 15% faster at nice 10 than at the same priority,
//! and as fast again with the step aside as with the writers in `SCHED_IDLE`, which an
//! unprivileged process cannot undo.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use charcoal_cache::WriteStrategy;
use charcoal_cache::{Cache, Popped};
use crossbeam_channel::{Receiver, Sender};
use whisper_format::{Access, Aggregation, Allocation, CreateOptions, OpenOptions, Whisper};

use crate::index::MetricIndex;
use crate::names;
use crate::schemas::Rules;
use crate::throttle::TokenBucket;

/// Asked before each write: true while something more urgent wants the CPU (in the
/// server: the receivers are handling data and the cache has room), and the persister
/// should wait a moment.
pub type StepAside = Arc<dyn Fn() -> bool + Send + Sync>;

/// Settings (carbon.conf's writer keys).
#[derive(Debug, Clone)]
pub struct Config {
    /// `LOCAL_DATA_DIR`: where the whisper tree lives.
    pub whisper_dir: PathBuf,
    /// Number of writer threads.
    pub threads: usize,
    /// Added to the writer threads' nice value: receiving comes first when both want
    /// the CPU (the cache holds what is not written yet).
    pub nice: i32,
    /// `CACHE_WRITE_STRATEGY`.
    pub strategy: WriteStrategy,
    /// `MAX_UPDATES_PER_SECOND` (None: unlimited).
    pub max_updates_per_second: Option<f64>,
    /// `MAX_CREATES_PER_MINUTE` (None: unlimited).
    pub max_creates_per_minute: Option<f64>,
    /// `WHISPER_SPARSE_CREATE` / `WHISPER_FALLOCATE_CREATE`.
    pub allocation: Allocation,
    /// `WHISPER_LOCK_WRITES`.
    pub lock: bool,
    /// `WHISPER_AUTOFLUSH`: fsync each file after writing it.
    pub autoflush: bool,
}

/// Counters for the self-metrics (`carbon.agents.*`) and `/ready`.
#[derive(Debug, Default)]
pub struct Stats {
    /// Points written to whisper files.
    pub committed_points: AtomicU64,
    /// update_many calls that succeeded.
    pub update_operations: AtomicU64,
    /// Files created.
    pub creates: AtomicU64,
    /// Writes that failed (the points were kept).
    pub errors: AtomicU64,
    /// Microseconds spent in successful writes.
    pub update_micros: AtomicU64,
    /// Creates postponed for want of a create token.
    pub delayed_creates: AtomicU64,
    /// Set after a failed write, cleared after a successful one.
    pub last_write_failed: AtomicBool,
}

/// The running persister threads.
#[derive(Debug)]
pub struct Persisters {
    handles: Vec<JoinHandle<()>>,
    stopping: Arc<AtomicBool>,
    deadline: Arc<OnceLock<Instant>>,
    cache: Arc<Cache>,
    /// Each thread's requests that are not points (a file's metadata), so the thread
    /// that writes a file is the only one that ever changes it.
    requests: Vec<Sender<Request>>,
    /// Shared counters.
    pub stats: Arc<Stats>,
}

/// Work for a persister thread other than writing points.
enum Request {
    /// Change a file's aggregation method; the answer is the old one.
    SetAggregation {
        path: PathBuf,
        method: Aggregation,
        reply: Sender<Result<Aggregation, whisper_format::Error>>,
    },
}

/// Why a request to the persisters was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The file's own error (missing, corrupt, locked).
    #[error(transparent)]
    Whisper(#[from] whisper_format::Error),
    /// The persisters have stopped (the server is shutting down).
    #[error("the store is shutting down")]
    Stopped,
}

struct Shared {
    cache: Arc<Cache>,
    rules: Arc<std::sync::RwLock<Rules>>,
    config: Config,
    /// New files' metrics go into the index as they are created.
    index: Arc<MetricIndex>,
    step_aside: StepAside,
    updates: Option<TokenBucket>,
    creates: Option<TokenBucket>,
    stats: Arc<Stats>,
    stopping: Arc<AtomicBool>,
    /// Set by `stop`: when to give up on writes that keep failing.
    deadline: Arc<OnceLock<Instant>>,
}

impl Persisters {
    /// Starts `config.threads` writer threads.
    pub fn start(
        cache: Arc<Cache>,
        rules: Arc<std::sync::RwLock<Rules>>,
        config: Config,
        index: Arc<MetricIndex>,
        step_aside: StepAside,
    ) -> std::io::Result<Persisters> {
        let stats = Arc::new(Stats::default());
        let stopping = Arc::new(AtomicBool::new(false));
        let deadline = Arc::new(OnceLock::new());
        let threads = config.threads.max(1);
        let shared = Arc::new(Shared {
            updates: config.max_updates_per_second.map(TokenBucket::per_second),
            creates: config.max_creates_per_minute.map(TokenBucket::per_minute),
            cache: cache.clone(),
            rules,
            config,
            index,
            step_aside,
            stats: stats.clone(),
            stopping: stopping.clone(),
            deadline: deadline.clone(),
        });
        let mut handles = Vec::with_capacity(threads);
        let mut requests = Vec::with_capacity(threads);
        for k in 0..threads {
            let shared = shared.clone();
            let (tx, rx) = crossbeam_channel::unbounded();
            requests.push(tx);
            handles.push(
                std::thread::Builder::new()
                    .name(format!("persister-{k}"))
                    .spawn(move || {
                        lower_priority(shared.config.nice);
                        Worker::new(shared, k, threads, rx).run();
                    })?,
            );
        }
        Ok(Persisters {
            handles,
            stopping,
            deadline,
            cache,
            requests,
            stats,
        })
    }

    /// Sets the aggregation method of `name`'s file (at `path`) on the thread that
    /// writes it, so the change never races a write of the same file; returns the old
    /// method. Blocks until that thread has done it.
    pub fn set_aggregation(
        &self,
        name: &str,
        path: PathBuf,
        method: Aggregation,
    ) -> Result<Aggregation, RequestError> {
        let k = self.cache.shard_of(name) % self.requests.len();
        let (reply, answer) = crossbeam_channel::bounded(1);
        self.requests[k]
            .send(Request::SetAggregation {
                path,
                method,
                reply,
            })
            .map_err(|_| RequestError::Stopped)?;
        self.cache.ring();
        Ok(answer.recv().map_err(|_| RequestError::Stopped)??)
    }

    /// Lifts the rate limits, writes everything still cached, retrying
    /// failed writes until `give_up_after` has passed, and joins the
    /// threads. Returns the points still in the cache (zero unless writes
    /// kept failing).
    pub fn stop(self, cache: &Cache, give_up_after: Duration) -> usize {
        let _ = self.deadline.set(Instant::now() + give_up_after);
        self.stopping.store(true, Ordering::SeqCst);
        cache.ring();
        for h in self.handles {
            let _ = h.join();
        }
        cache.size()
    }
}

/// Raises the calling thread's nice value by `by` (Linux gives each thread its own).
/// A failure (a sandbox forbidding it) is logged and the thread runs as it is.
fn lower_priority(by: i32) {
    if by <= 0 {
        return;
    }
    let tid = rustix::thread::gettid();
    let result = rustix::process::getpriority_process(Some(tid))
        .and_then(|now| rustix::process::setpriority_process(Some(tid), (now + by).min(19)));
    if let Err(e) = result {
        tracing::warn!("cannot lower the persister's priority: {e}");
    }
}

struct Worker {
    shared: Arc<Shared>,
    queue: charcoal_cache::WriteQueue,
    requests: Receiver<Request>,
    /// Metrics waiting out a failure or a create limit: when to retry, the
    /// current backoff, and whether it is only the create limit (lifted on
    /// stop).
    backoff: HashMap<Arc<str>, (Instant, Duration, bool)>,
}

/// How long a persister waits when the points left are another thread's or waiting out
/// a backoff.
const IDLE: Duration = Duration::from_millis(5);
/// The longest a persister sleeps in an empty cache before looking again (it is woken as
/// soon as points arrive; this only bounds the cost of a missed wake-up).
const EMPTY_WAIT: Duration = Duration::from_secs(1);
/// How long a persister waits each time it steps aside.
const STEP_ASIDE_PAUSE: Duration = Duration::from_micros(200);
/// The longest a persister steps aside in a row: it then writes one metric, so it always
/// makes progress.
const MAX_STEP_ASIDE: Duration = Duration::from_millis(100);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

enum Outcome {
    Written,
    /// No create token: not an error, try later.
    Deferred,
    Failed(String),
}

impl Worker {
    fn new(shared: Arc<Shared>, k: usize, n: usize, requests: Receiver<Request>) -> Worker {
        let queue = shared.cache.write_queue(k, n, shared.config.strategy);
        Worker {
            shared,
            queue,
            requests,
            backoff: HashMap::new(),
        }
    }

    fn serve_requests(&self) {
        while let Ok(request) = self.requests.try_recv() {
            match request {
                Request::SetAggregation {
                    path,
                    method,
                    reply,
                } => {
                    let result = Whisper::open(&path)
                        .and_then(|mut w| w.set_aggregation(Some(method), None))
                        .map(|(old, _)| old);
                    let _ = reply.send(result);
                }
            }
        }
    }

    /// Nothing of ours to write: sleep until points arrive when the cache is empty (an
    /// idle server costs nothing), briefly otherwise (the points are another thread's,
    /// or waiting out a backoff).
    fn wait(&self) {
        if self.shared.cache.size() == 0 && self.requests.is_empty() {
            self.shared
                .cache
                .wait_for_work(EMPTY_WAIT, || !self.requests.is_empty());
        } else {
            std::thread::sleep(IDLE);
        }
    }

    fn run(mut self) {
        loop {
            let stopping = self.shared.stopping.load(Ordering::SeqCst);
            if stopping
                && self
                    .shared
                    .deadline
                    .get()
                    .is_some_and(|d| Instant::now() > *d)
            {
                tracing::error!(
                    metrics = self.backoff.len(),
                    "giving up on writes that keep failing; their points stay unwritten"
                );
                return;
            }
            self.serve_requests();
            if !stopping {
                self.step_aside();
            }
            match self.queue.next_batch() {
                Some(popped) => self.handle(popped, stopping),
                None if stopping && self.backoff.is_empty() => return,
                None if stopping => std::thread::sleep(IDLE),
                None => self.wait(),
            }
        }
    }

    /// Waits while `step_aside` says so, for at most [`MAX_STEP_ASIDE`].
    fn step_aside(&self) {
        let started = Instant::now();
        while (self.shared.step_aside)()
            && started.elapsed() < MAX_STEP_ASIDE
            && !self.shared.stopping.load(Ordering::Relaxed)
        {
            std::thread::sleep(STEP_ASIDE_PAUSE);
        }
    }

    fn handle(&mut self, popped: Popped, stopping: bool) {
        let now = Instant::now();
        if let Some(&(until, _, deferred)) = self.backoff.get(&popped.name)
            && now < until
            && !(stopping && deferred)
        {
            self.shared.cache.give_back(popped);
            // Everything left may be waiting: do not spin.
            std::thread::sleep(IDLE);
            return;
        }
        if !stopping && let Some(bucket) = &self.shared.updates {
            // Wait for a token in short steps: a stop lifts the limit at once.
            while !bucket.try_take() && !self.shared.stopping.load(Ordering::SeqCst) {
                std::thread::sleep(
                    bucket
                        .wait_time()
                        .clamp(Duration::from_millis(1), IDLE * 10),
                );
            }
        }
        match self.write(&popped, stopping) {
            Outcome::Written => {
                self.backoff.remove(&popped.name);
                self.shared.cache.confirm(popped);
            }
            Outcome::Deferred => {
                let retry = self.shared.creates.as_ref().map_or(FIRST_BACKOFF, |b| {
                    b.wait_time().max(Duration::from_millis(10))
                });
                self.backoff
                    .insert(popped.name.clone(), (now + retry, retry, true));
                self.shared.cache.give_back(popped);
            }
            Outcome::Failed(reason) => {
                let stats = &self.shared.stats;
                stats.errors.fetch_add(1, Ordering::Relaxed);
                stats.last_write_failed.store(true, Ordering::Relaxed);
                let next = match self.backoff.get(&popped.name) {
                    Some(&(_, previous, false)) => (previous * 2).min(MAX_BACKOFF),
                    _ => FIRST_BACKOFF,
                };
                tracing::warn!(
                    metric = %popped.name,
                    retry_in_ms = next.as_millis() as u64,
                    "cannot write {} points: {reason}; kept in the cache",
                    popped.points.len()
                );
                self.backoff
                    .insert(popped.name.clone(), (now + next, next, false));
                self.shared.cache.give_back(popped);
            }
        }
    }

    fn write(&self, popped: &Popped, stopping: bool) -> Outcome {
        let shared = &*self.shared;
        // Cache keys are names the store validated; one that did not parse would wait in
        // the cache, never escape the whisper directory.
        let Some(relative) = names::file_of(&popped.name) else {
            return Outcome::Failed(format!("{:?} is not a valid metric name", popped.name));
        };
        let path = shared.config.whisper_dir.join(relative);
        let started = Instant::now();
        let opts = OpenOptions {
            write: true,
            lock: shared.config.lock,
            access: Access::Pread,
        };
        // Opened first, created only when missing: a file that exists (nearly every
        // write) costs no extra `stat`, and a new one is written through the descriptor
        // that created it.
        let mut file = match Whisper::open_with(&path, opts) {
            Ok(w) => w,
            Err(e) if is_not_found(&e) => {
                let token = stopping || shared.creates.as_ref().is_none_or(TokenBucket::try_take);
                if !token {
                    shared.stats.delayed_creates.fetch_add(1, Ordering::Relaxed);
                    return Outcome::Deferred;
                }
                match self.create(&path, &popped.name, opts) {
                    Ok(w) => {
                        shared.stats.creates.fetch_add(1, Ordering::Relaxed);
                        if let Some(indexed) = names::index_name_of(&popped.name) {
                            shared.index.insert(&indexed);
                        }
                        w
                    }
                    Err(e) => return Outcome::Failed(e),
                }
            }
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let result = file
            .update_many(&popped.points, whisper_format::now())
            .and_then(|()| {
                if shared.config.autoflush {
                    file.sync()?;
                }
                Ok(())
            });
        match result {
            Ok(()) => {
                let stats = &shared.stats;
                stats
                    .committed_points
                    .fetch_add(popped.points.len() as u64, Ordering::Relaxed);
                stats.update_operations.fetch_add(1, Ordering::Relaxed);
                stats
                    .update_micros
                    .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                stats.last_write_failed.store(false, Ordering::Relaxed);
                Outcome::Written
            }
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }

    /// Creates the file with the schema and aggregation that match `name`, making its
    /// directory only when the first attempt says it is missing (no `mkdir` per file).
    fn create(&self, path: &Path, name: &str, open: OpenOptions) -> Result<Whisper, String> {
        let shared = &*self.shared;
        let new = shared
            .rules
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .for_metric(name);
        let opts = CreateOptions {
            x_files_factor: new.x_files_factor,
            aggregation: new.aggregation,
            allocation: shared.config.allocation,
            lock: shared.config.lock,
        };
        let attempt = || Whisper::create_open(path, &new.archives, &opts);
        let created = match attempt() {
            Err(e) if is_not_found(&e) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
                }
                attempt()
            }
            other => other,
        };
        match created {
            Ok(w) => {
                tracing::debug!(metric = name, schema = %new.schema, "created {}", path.display());
                Ok(w)
            }
            // Another process (carbon, an operator) made it meanwhile: use it.
            Err(whisper_format::Error::AlreadyExists(_)) => {
                Whisper::open_with(path, open).map_err(|e| e.to_string())
            }
            Err(e) => Err(format!("cannot create {}: {e}", path.display())),
        }
    }
}

/// The file (or its directory) does not exist.
fn is_not_found(e: &whisper_format::Error) -> bool {
    matches!(e, whisper_format::Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}
