//! Where series come from: the [`Source`] trait the evaluator reads through.
//!
//! The evaluator never touches files or the cache; it asks a [`Source`] to expand a path
//! expression into metric names and to fetch one metric over a time range. The server's
//! source is the metric index plus whisper files overlaid with the write cache; tests use
//! [`MemorySource`], so every function is tested without a disk.

use std::collections::BTreeMap;

/// One metric or branch a pattern matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The full dotted path.
    pub path: String,
    /// Whether a metric (as opposed to a branch) is stored under this path.
    pub is_leaf: bool,
}

/// A fetched metric: `values[i]` is the value at `start + i * step`, NaN for missing.
#[derive(Clone, Debug, PartialEq)]
pub struct Fetched {
    /// First timestamp.
    pub start: i64,
    /// End of the range (`start + len * step`).
    pub end: i64,
    /// Seconds per value.
    pub step: i64,
    /// Values.
    pub values: Vec<f64>,
}

/// Why the source could not answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The pattern cannot be used (the request's fault).
    #[error("invalid pattern: {0}")]
    Pattern(String),
    /// The pattern matches more than the server allows (the request's fault).
    #[error("{0}")]
    Limit(String),
    /// Storage failed (the server's fault).
    #[error("{0}")]
    Storage(String),
    /// This source cannot answer that kind of question (for example a source without an
    /// events store asked for events).
    #[error("{0}")]
    Unsupported(String),
}

impl SourceError {
    /// Whether the request was at fault rather than the server.
    pub fn is_client_error(&self) -> bool {
        !matches!(self, SourceError::Storage(_))
    }
}

/// Storage as the evaluator sees it.
pub trait Source: Sync {
    /// Everything `pattern` (graphite glob syntax) matches, branches and leaves, in any
    /// order. A tagged name (`a;x=1`) is looked up as itself.
    fn find(&self, pattern: &str) -> Result<Vec<Node>, SourceError>;

    /// The metric `path` over `(from, until]` as whisper's fetch answers, or `None` if it
    /// does not exist.
    fn fetch(
        &self,
        path: &str,
        from: i64,
        until: i64,
        now: i64,
    ) -> Result<Option<Fetched>, SourceError>;

    /// The series names matching `seriesByTag`'s expressions (already validated), sorted.
    /// Sources without a tag index match nothing.
    fn find_tagged(&self, _expressions: &[String]) -> Result<Vec<String>, SourceError> {
        Ok(Vec::new())
    }

    /// The time span a leaf's storage covers, `(start, end)` in epoch seconds as floats
    /// (graphite-web's node `intervals`: a whisper file's retention back from `now`, up to
    /// its last write). `None` when unknown.
    fn interval(&self, _path: &str, _now: i64) -> Option<(f64, f64)> {
        None
    }

    /// Every metric name, sorted (`/metrics/index.json`).
    fn list(&self) -> Result<Vec<String>, SourceError> {
        Ok(Vec::new())
    }

    /// The times (epoch seconds, rounded down) of the events in `[from, until]` that have
    /// every tag in `tags` (every event when `tags` is `None`), oldest first: what the
    /// `events()` function counts. Sources without events refuse.
    fn events(
        &self,
        _tags: Option<&[String]>,
        _from: i64,
        _until: i64,
    ) -> Result<Vec<i64>, SourceError> {
        Err(SourceError::Unsupported(
            "events are not available".to_owned(),
        ))
    }
}

/// An in-memory source for tests: each metric is a step and a value per timestamp
/// (`timestamp → value`), fetched with whisper's grid rules.
#[derive(Clone, Debug, Default)]
pub struct MemorySource {
    metrics: BTreeMap<String, (i64, BTreeMap<i64, f64>)>,
    events: Vec<(i64, Vec<String>)>,
}

impl MemorySource {
    /// An empty source.
    pub fn new() -> MemorySource {
        MemorySource::default()
    }

    /// Adds (or replaces) a metric with `step` and `points` (timestamps are aligned down to
    /// the step).
    pub fn insert(&mut self, path: &str, step: i64, points: impl IntoIterator<Item = (i64, f64)>) {
        let map = points
            .into_iter()
            .map(|(t, v)| (t - t.rem_euclid(step), v))
            .collect();
        self.metrics.insert(path.to_owned(), (step, map));
    }

    /// Adds an event at `when` with `tags`.
    pub fn insert_event(&mut self, when: i64, tags: &[&str]) {
        self.events
            .push((when, tags.iter().map(|t| (*t).to_owned()).collect()));
        self.events.sort_by_key(|(w, _)| *w);
    }
}

impl Source for MemorySource {
    fn find(&self, pattern: &str) -> Result<Vec<Node>, SourceError> {
        let matcher = charcoal_protocol::glob::PathPattern::new(pattern)
            .map_err(|e| SourceError::Pattern(e.to_string()))?;
        let mut out: BTreeMap<String, bool> = BTreeMap::new();
        for path in self.metrics.keys() {
            let parts: Vec<&str> = path.split('.').collect();
            for depth in 1..=parts.len() {
                let prefix = parts[..depth].join(".");
                if matcher.matches_path(&prefix) {
                    let leaf = depth == parts.len();
                    let e = out.entry(prefix).or_insert(leaf);
                    *e |= leaf;
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|(path, is_leaf)| Node { path, is_leaf })
            .collect())
    }

    fn list(&self) -> Result<Vec<String>, SourceError> {
        Ok(self.metrics.keys().cloned().collect())
    }

    fn events(
        &self,
        tags: Option<&[String]>,
        from: i64,
        until: i64,
    ) -> Result<Vec<i64>, SourceError> {
        Ok(self
            .events
            .iter()
            .filter(|(w, t)| {
                (from..=until).contains(w)
                    && tags.is_none_or(|want| want.iter().all(|x| t.contains(x)))
            })
            .map(|(w, _)| *w)
            .collect())
    }

    fn fetch(
        &self,
        path: &str,
        from: i64,
        until: i64,
        _now: i64,
    ) -> Result<Option<Fetched>, SourceError> {
        let Some((step, points)) = self.metrics.get(path) else {
            return Ok(None);
        };
        let step = *step;
        // whisper: (from, until] on the step grid, both ends moved up one step.
        let start = from - from.rem_euclid(step) + step;
        let mut end = until - until.rem_euclid(step) + step;
        if end <= start {
            end = start + step;
        }
        let values = (0..(end - start) / step)
            .map(|i| points.get(&(start + i * step)).copied().unwrap_or(f64::NAN))
            .collect();
        Ok(Some(Fetched {
            start,
            end,
            step,
            values,
        }))
    }
}
