//! The tag index: every tagged series name Charcoal has seen, with graphite-web's TagDB
//! queries over it (`seriesByTag`, `/tags/*`).
//!
//! A tagged series is stored under `_tagged/<h>/<h>/<sha256>.wsp`, so its name cannot be
//! read back from the file system: without this index `seriesByTag()` could find nothing.
//! graphite-web keeps the same information in its SQL tag database, filled by carbon's
//! `POST /tags/tagMultiSeries`; Charcoal is both sides, so it records a name the first time
//! the name enters the write cache (and when a client posts it to `/tags/tagSeries`).
//!
//! # Semantics (graphite-web's `BaseTagDB` and `LocalDatabaseTagDB`, sqlite backend)
//!
//! - An expression is `tag=value`, `tag!=value`, `tag=~regex` or `tag!=~regex`
//!   (`^([^;!=]+)(!?=~?)([^;]*)$`); `name` is the series name.
//! - A regex is anchored at the start by wrapping it in `^(` … `)` unless it starts with
//!   `^`; it is not anchored at the end.
//! - An expression that matches the empty string also matches series without the tag; the
//!   others require the tag. At least one must require it.
//! - graphite-web evaluates the expressions that require their tag in SQL, where sqlite's
//!   `REGEXP` is Python's `re.search`, and the others in Python with `re.match`. The two
//!   differ only for a user-anchored pattern with a top-level `|` (`^a|b`); both are
//!   reproduced.
//! - Results are sorted by name (sqlite's binary collation is byte order, as Rust's).
//!
//! Regexes are compiled by the `regex` crate with a size limit: matching is linear-time, so
//! a hostile expression cannot stall the server; patterns it refuses (look-around,
//! back-references, too large) are an error naming the pattern.
//!
//! # Durability
//!
//! [`TagIndex::open`] keeps the index in an append-only log (one normalised name per line,
//! a removal as `-\t<name>`: a name never holds a control character). It is read at
//! start-up, a torn last line (a crash mid-append) is dropped, and the file is rewritten
//! when most of its lines are dead. Appends are single `write` calls, so a process crash
//! loses nothing; [`TagIndex::sync`] makes the file durable against a power loss
//! (shutdown calls it).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use charcoal_protocol::{MetricName, MetricNameRef};
use regex::Regex;

/// The most memory one compiled expression may use.
pub const MAX_REGEX_SIZE: usize = 1 << 20;

/// A log is rewritten at start-up when it has at least this many dead lines (removals and
/// the additions they cancel) and more dead lines than live ones.
pub const COMPACT_MIN_DEAD_LINES: usize = 1024;

/// The marker that starts a removal line in the log.
const REMOVED: &str = "-\t";

/// Why a tag query was refused (the request's fault). The messages of the first two are
/// graphite-web's, word for word.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagQueryError {
    /// The expression does not match `^([^;!=]+)(!?=~?)([^;]*)$`.
    #[error("Invalid tagspec {0}")]
    InvalidTagspec(String),
    /// Every expression matches the empty string, so every series would match.
    #[error("At least one tagspec must not match the empty string")]
    AllMatchEmpty,
    /// A regular expression the `regex` crate refuses.
    #[error("unsupported regular expression {pattern:?}: {reason}")]
    Regex {
        /// The pattern as compiled (after anchoring).
        pattern: String,
        /// The crate's reason.
        reason: String,
    },
    /// A regular expression whose compiled form exceeds [`MAX_REGEX_SIZE`].
    #[error("regular expression {0:?} is too complex")]
    TooComplex(String),
}

/// Why the log could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("tag index {path}: {source}")]
pub struct TagLogError {
    /// The log file.
    pub path: PathBuf,
    /// The failure.
    #[source]
    pub source: std::io::Error,
}

/// What [`TagIndex::open`] found in the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Series in the index.
    pub series: usize,
    /// Lines read (complete ones).
    pub lines: usize,
    /// Lines whose name no longer parses (ignored).
    pub skipped: usize,
    /// The last line had no newline (a crash mid-append) and was dropped.
    pub torn: bool,
    /// The log was rewritten with only the live names.
    pub compacted: bool,
}

/// The tag index; see the module docs.
#[derive(Debug, Default)]
pub struct TagIndex {
    inner: RwLock<Inner>,
    log: Option<Log>,
}

#[derive(Debug)]
struct Log {
    path: PathBuf,
    file: Mutex<File>,
}

/// The series holding one value of a tag.
type Postings = BTreeSet<Arc<str>>;

#[derive(Debug, Default)]
struct Inner {
    series: HashSet<Arc<str>>,
    /// tag → value → series. `name` is a tag like the others.
    tags: BTreeMap<Box<str>, BTreeMap<Box<str>, Postings>>,
}

/// `(tag, value)` of a normalised name, `name` first.
fn tags_of(name: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut segments = name.split(';');
    let series = segments.next().unwrap_or_default();
    // Normal form: tags have no ';' or '=', values no ';', so both splits are exact.
    std::iter::once(("name", series)).chain(segments.filter_map(|s| s.split_once('=')))
}

fn tag_value<'a>(name: &'a str, tag: &str) -> Option<&'a str> {
    tags_of(name).find(|(t, _)| *t == tag).map(|(_, v)| v)
}

impl Inner {
    fn insert(&mut self, name: &str) -> bool {
        if self.series.contains(name) {
            return false;
        }
        let shared: Arc<str> = Arc::from(name);
        for (tag, value) in tags_of(name) {
            self.tags
                .entry(tag.into())
                .or_default()
                .entry(value.into())
                .or_default()
                .insert(shared.clone());
        }
        self.series.insert(shared);
        true
    }

    fn remove(&mut self, name: &str) -> bool {
        if !self.series.remove(name) {
            return false;
        }
        for (tag, value) in tags_of(name) {
            let Some(values) = self.tags.get_mut(tag) else {
                continue;
            };
            if let Some(set) = values.get_mut(value) {
                set.remove(name);
                if set.is_empty() {
                    values.remove(value);
                }
            }
            if values.is_empty() {
                self.tags.remove(tag);
            }
        }
        true
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Match,
    NotMatch,
}

/// A compiled pattern: `search` is sqlite's `REGEXP` (Python's `re.search`), `at_start`
/// is Python's `re.match` (the pattern anchored at position 0).
#[derive(Debug)]
struct Pattern {
    search: Regex,
    at_start: Regex,
}

impl Pattern {
    /// graphite-web's anchoring: `^(` … `)` unless the pattern starts with `^`.
    fn anchored(pattern: &str) -> Result<Pattern, TagQueryError> {
        let anchored = if pattern.starts_with('^') {
            pattern.to_owned()
        } else {
            format!("^({pattern})")
        };
        Ok(Pattern {
            at_start: compile(&format!("^(?:{anchored})"), &anchored)?,
            search: compile(&anchored, &anchored)?,
        })
    }
}

fn compile(pattern: &str, shown: &str) -> Result<Regex, TagQueryError> {
    regex::RegexBuilder::new(pattern)
        .size_limit(MAX_REGEX_SIZE)
        .dfa_size_limit(MAX_REGEX_SIZE)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => TagQueryError::TooComplex(shown.to_owned()),
            other => TagQueryError::Regex {
                pattern: shown.to_owned(),
                reason: other.to_string().lines().last().unwrap_or("").to_owned(),
            },
        })
}

/// One parsed and compiled expression.
#[derive(Debug)]
struct Spec {
    tag: String,
    op: Op,
    value: String,
    pattern: Option<Pattern>,
    /// The expression does not match the empty string, so a series needs the tag.
    required: bool,
}

/// graphite-web's `parse_tagspec`: `^([^;!=]+)(!?=~?)([^;]*)$` as (tag, operator, spec).
fn parse_tagspec(expr: &str) -> Result<(&str, Op, &str), TagQueryError> {
    let invalid = || TagQueryError::InvalidTagspec(expr.to_owned());
    let end = expr.find(['!', '=', ';']).ok_or_else(invalid)?;
    let (tag, rest) = expr.split_at(end);
    if tag.is_empty() {
        return Err(invalid());
    }
    let (op, spec) = if let Some(s) = rest.strip_prefix("!=~") {
        (Op::NotMatch, s)
    } else if let Some(s) = rest.strip_prefix("!=") {
        (Op::Ne, s)
    } else if let Some(s) = rest.strip_prefix("=~") {
        (Op::Match, s)
    } else if let Some(s) = rest.strip_prefix('=') {
        (Op::Eq, s)
    } else {
        return Err(invalid());
    };
    if spec.contains(';') {
        return Err(invalid());
    }
    Ok((tag, op, spec))
}

impl Spec {
    fn parse(expr: &str) -> Result<Spec, TagQueryError> {
        let (tag, op, value) = parse_tagspec(expr)?;
        let pattern = match op {
            Op::Match | Op::NotMatch => Some(Pattern::anchored(value)?),
            Op::Eq | Op::Ne => None,
        };
        let matches_empty = match (&pattern, op) {
            (_, Op::Eq) => value.is_empty(),
            (_, Op::Ne) => !value.is_empty(),
            (Some(p), Op::Match) => p.at_start.is_match(""),
            (Some(p), _) => !p.at_start.is_match(""),
            (None, _) => false,
        };
        Ok(Spec {
            tag: tag.to_owned(),
            op,
            value: value.to_owned(),
            pattern,
            required: !matches_empty,
        })
    }

    /// Whether a series whose value of the tag is `value` (`None`: no such tag) matches.
    fn accepts(&self, value: Option<&str>) -> bool {
        // Stored values are never empty, so `unwrap_or("")` is graphite-web's "missing tag
        // is the empty value" and `== ""` means "missing".
        let v = value.unwrap_or("");
        match (self.op, &self.pattern) {
            (Op::Eq, _) => v == self.value,
            (Op::Ne, _) => v != self.value,
            (Op::Match, Some(p)) if self.required => value.is_some_and(|v| p.search.is_match(v)),
            (Op::Match, Some(p)) => p.at_start.is_match(v),
            (Op::NotMatch, Some(p)) if self.required => {
                value.is_some_and(|v| !p.search.is_match(v))
            }
            (Op::NotMatch, Some(p)) => !p.at_start.is_match(v),
            (_, None) => false,
        }
    }
}

impl TagIndex {
    /// An empty index kept in memory only.
    pub fn new() -> TagIndex {
        TagIndex::default()
    }

    /// Loads the log at `path` (creating it if missing), compacting it if most of it is
    /// dead, and keeps appending to it.
    pub fn open(path: &Path) -> Result<(TagIndex, LoadReport), TagLogError> {
        let err = |source| TagLogError {
            path: path.to_owned(),
            source,
        };
        let mut inner = Inner::default();
        let mut report = LoadReport::default();
        let mut good_len: u64 = 0;
        match File::open(path) {
            Ok(f) => {
                let mut reader = BufReader::new(f);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    let n = reader.read_until(b'\n', &mut line).map_err(err)?;
                    if n == 0 {
                        break;
                    }
                    if line.last() != Some(&b'\n') {
                        report.torn = true;
                        break;
                    }
                    good_len += n as u64;
                    report.lines += 1;
                    let text = std::str::from_utf8(&line[..n - 1]).unwrap_or("");
                    let (removal, raw) = match text.strip_prefix(REMOVED) {
                        Some(rest) => (true, rest),
                        None => (false, text),
                    };
                    match MetricName::parse(raw) {
                        Ok(name) if removal => {
                            inner.remove(name.as_str());
                        }
                        Ok(name) => {
                            inner.insert(name.as_str());
                        }
                        Err(_) => report.skipped += 1,
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(e)),
        }
        report.series = inner.series.len();
        let dead = report.lines - report.series;
        if dead >= COMPACT_MIN_DEAD_LINES && dead > report.series {
            rewrite(path, &inner).map_err(err)?;
            report.compacted = true;
        } else if report.torn {
            // The next append must start on a line of its own.
            let f = OpenOptions::new().write(true).open(path).map_err(err)?;
            f.set_len(good_len).map_err(err)?;
            f.sync_all().map_err(err)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(err)?;
        let index = TagIndex {
            inner: RwLock::new(inner),
            log: Some(Log {
                path: path.to_owned(),
                file: Mutex::new(file),
            }),
        };
        Ok((index, report))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends one line to the log (before the memory changes, so a failed write leaves
    /// both unchanged and the next sight of the name tries again).
    fn append(&self, line: &str) -> Result<(), TagLogError> {
        let Some(log) = &self.log else {
            return Ok(());
        };
        let mut buf = String::with_capacity(line.len() + 1);
        buf.push_str(line);
        buf.push('\n');
        let mut file = log.file.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(buf.as_bytes())
            .map_err(|source| TagLogError {
                path: log.path.clone(),
                source,
            })
    }

    /// Adds a series; returns whether it was new. Cheap when it is not (a read lock).
    pub fn add(&self, name: MetricNameRef<'_>) -> Result<bool, TagLogError> {
        if self.contains(name.as_str()) {
            return Ok(false);
        }
        let mut inner = self.write();
        if inner.series.contains(name.as_str()) {
            return Ok(false);
        }
        self.append(name.as_str())?;
        Ok(inner.insert(name.as_str()))
    }

    /// Removes a series; returns whether it was there.
    pub fn remove(&self, name: &MetricName) -> Result<bool, TagLogError> {
        let mut inner = self.write();
        if !inner.series.contains(name.as_str()) {
            return Ok(false);
        }
        self.append(&format!("{REMOVED}{name}"))?;
        Ok(inner.remove(name.as_str()))
    }

    /// Whether `name` (normal form) is in the index.
    pub fn contains(&self, name: &str) -> bool {
        self.read().series.contains(name)
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.read().series.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Flushes the log to stable storage.
    pub fn sync(&self) -> Result<(), TagLogError> {
        let Some(log) = &self.log else {
            return Ok(());
        };
        let file = log.file.lock().unwrap_or_else(|p| p.into_inner());
        file.sync_data().map_err(|source| TagLogError {
            path: log.path.clone(),
            source,
        })
    }

    /// The series matching every expression, sorted (graphite-web's `find_series`).
    pub fn find_series<S: AsRef<str>>(&self, exprs: &[S]) -> Result<Vec<String>, TagQueryError> {
        let specs = exprs
            .iter()
            .map(|e| Spec::parse(e.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        if !specs.iter().any(|s| s.required) {
            return Err(TagQueryError::AllMatchEmpty);
        }
        let inner = self.read();
        // Candidates come from the required expression with the fewest series; every
        // expression is then checked on each candidate's own tags.
        let mut best: Option<Vec<&Postings>> = None;
        let mut best_len = usize::MAX;
        for spec in specs.iter().filter(|s| s.required) {
            let sets: Vec<&Postings> = match inner.tags.get(spec.tag.as_str()) {
                None => Vec::new(),
                Some(values) if spec.op == Op::Eq => {
                    values.get(spec.value.as_str()).into_iter().collect()
                }
                Some(values) => values
                    .iter()
                    .filter(|(v, _)| spec.accepts(Some(v)))
                    .map(|(_, set)| set)
                    .collect(),
            };
            let len = sets.iter().map(|s| s.len()).sum();
            if len < best_len {
                best_len = len;
                best = Some(sets);
            }
            if len == 0 {
                break;
            }
        }
        let mut out: Vec<String> = best
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .filter(|name| specs.iter().all(|s| s.accepts(tag_value(name, &s.tag))))
            .map(|name| name.to_string())
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// Tag names, sorted, those matching `filter` (anchored at the start), at most `limit`.
    pub fn tags(
        &self,
        filter: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<String>, TagQueryError> {
        let filter = filter
            .filter(|f| !f.is_empty())
            .map(Pattern::anchored)
            .transpose()?;
        let inner = self.read();
        Ok(inner
            .tags
            .keys()
            .filter(|t| filter.as_ref().is_none_or(|p| p.search.is_match(t)))
            .take(limit.unwrap_or(usize::MAX))
            .map(|t| t.to_string())
            .collect())
    }

    /// The values of `tag` with their series counts, sorted by value, those matching
    /// `filter` (anchored at the start), at most `limit`; `None` if no series has the tag.
    pub fn values(
        &self,
        tag: &str,
        filter: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Option<Vec<(String, usize)>>, TagQueryError> {
        if !self.read().tags.contains_key(tag) {
            return Ok(None);
        }
        let filter = filter
            .filter(|f| !f.is_empty())
            .map(Pattern::anchored)
            .transpose()?;
        let inner = self.read();
        let Some(values) = inner.tags.get(tag) else {
            return Ok(None);
        };
        Ok(Some(
            values
                .iter()
                .filter(|(v, _)| filter.as_ref().is_none_or(|p| p.search.is_match(v)))
                .take(limit.unwrap_or(usize::MAX))
                .map(|(v, set)| (v.to_string(), set.len()))
                .collect(),
        ))
    }

    /// graphite-web's `auto_complete_tags`: without expressions, the tags starting with
    /// `prefix`; with them, the tags of the matching series other than those the
    /// expressions name. Sorted, at most `limit`.
    pub fn auto_complete_tags<S: AsRef<str>>(
        &self,
        exprs: &[S],
        prefix: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<String>, TagQueryError> {
        let prefix = prefix.unwrap_or("");
        let limit = limit.unwrap_or(usize::MAX);
        if exprs.is_empty() {
            let inner = self.read();
            return Ok(inner
                .tags
                .keys()
                .filter(|t| t.starts_with(prefix))
                .take(limit)
                .map(|t| t.to_string())
                .collect());
        }
        let searched = exprs
            .iter()
            .map(|e| parse_tagspec(e.as_ref()).map(|(tag, _, _)| tag))
            .collect::<Result<HashSet<&str>, _>>()?;
        let mut found = BTreeSet::new();
        for name in self.find_series(exprs)? {
            for (tag, _) in tags_of(&name) {
                if !searched.contains(tag) && tag.starts_with(prefix) {
                    found.insert(tag.to_owned());
                }
            }
        }
        Ok(found.into_iter().take(limit).collect())
    }

    /// graphite-web's `auto_complete_values`: the values of `tag` starting with `prefix`,
    /// among all series or (with expressions) the matching ones. Sorted, at most `limit`.
    pub fn auto_complete_values<S: AsRef<str>>(
        &self,
        exprs: &[S],
        tag: &str,
        prefix: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<String>, TagQueryError> {
        let prefix = prefix.unwrap_or("");
        let limit = limit.unwrap_or(usize::MAX);
        if exprs.is_empty() {
            let inner = self.read();
            return Ok(inner
                .tags
                .get(tag)
                .into_iter()
                .flat_map(|values| values.keys())
                .filter(|v| v.starts_with(prefix))
                .take(limit)
                .map(|v| v.to_string())
                .collect());
        }
        // graphite-web adds `tag!=` (the tag must be present) to the expressions.
        let mut all: Vec<String> = exprs.iter().map(|e| e.as_ref().to_owned()).collect();
        all.push(format!("{tag}!="));
        let mut found = BTreeSet::new();
        for name in self.find_series(&all)? {
            if let Some(v) = tag_value(&name, tag).filter(|v| v.starts_with(prefix)) {
                found.insert(v.to_owned());
            }
        }
        Ok(found.into_iter().take(limit).collect())
    }
}

/// Replaces the log with the live names, sorted: written to a temporary file, synced, and
/// renamed over the log, so a crash leaves one complete file or the other.
fn rewrite(path: &Path, inner: &Inner) -> std::io::Result<()> {
    let tmp = path.with_extension("log.tmp");
    let mut names: Vec<&str> = inner.series.iter().map(|s| &**s).collect();
    names.sort_unstable();
    {
        let mut w = std::io::BufWriter::new(File::create(&tmp)?);
        for n in names {
            w.write_all(n.as_bytes())?;
            w.write_all(b"\n")?;
        }
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
