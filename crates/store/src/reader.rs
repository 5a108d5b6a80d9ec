//! Reads for the render API: a metric's whisper file overlaid with the points the write
//! cache has not written yet, so a point accepted a millisecond ago is in the next render.
//!
//! The overlay is graphite-web's `merge_with_cache` (the carbonlink merge it does for every
//! whisper read): cached points are first reduced to the last one per interval of the
//! file's finest archive (as whisper would store them); when the archive read is coarser,
//! they are then aggregated per interval of that archive with the file's aggregation method;
//! each result replaces the file's value in its slot. Points outside the fetched range are
//! ignored.
//!
//! A metric whose file does not exist yet (its points are still waiting for the persister,
//! or for a create token) is read from the cache alone, on the grid of the file it will get:
//! the storage-schemas rule that will create it decides the archive, as whisper's fetch
//! would choose it.
//!
//! Open files are kept in a bounded handle cache, so a hot series costs the reads of its
//! values, not an open and a header parse. Handles use pread, not a mapping, so another
//! program truncating or replacing a file (whisper-resize renames a new file over the old
//! one, an operator copies one in) can never fault the server. A handle is checked with a
//! `stat` (inode, size) when it has not been checked for [`RECHECK`]: a replaced, resized
//! or deleted file is noticed within that time and reopened.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use charcoal_cache::Cache;
use whisper_format::{Aggregation, Whisper};

use crate::schemas::Rules;

/// One metric's values over a range.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// First timestamp.
    pub start: i64,
    /// One step past the last value.
    pub end: i64,
    /// Seconds per value.
    pub step: i64,
    /// Values (NaN for missing).
    pub values: Vec<f64>,
}

/// Reads metrics from the whisper tree and the cache.
#[derive(Debug, Clone)]
pub struct Reader {
    whisper_dir: PathBuf,
    cache: Arc<Cache>,
    rules: Arc<RwLock<Rules>>,
    handles: Arc<Handles>,
}

/// How long a handle is trusted without checking that its path still names its file.
pub const RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// An open file and the identity it was opened with.
#[derive(Debug)]
struct Handle {
    file: Mutex<Whisper>,
    dev: u64,
    ino: u64,
    len: u64,
    checked: Mutex<std::time::Instant>,
}

type HandleMap = HashMap<OsString, Arc<Handle>, foldhash::fast::RandomState>;

/// Open files by path, at most `capacity` of them. Keyed by the path's bytes with a fast
/// hash: a `Path` hashes component by component, and a 1,000-series render looks up 1,000.
#[derive(Debug)]
struct Handles {
    map: Mutex<HandleMap>,
    capacity: usize,
}

impl Handles {
    /// The open file at `path`, opened (again) if it is new, replaced or resized.
    fn get(&self, path: &Path) -> Result<Option<Arc<Handle>>, whisper_format::Error> {
        if let Some(h) = self.lock().get(path.as_os_str()) {
            let checked = h.checked.lock().unwrap_or_else(|p| p.into_inner());
            if checked.elapsed() < RECHECK {
                return Ok(Some(h.clone()));
            }
        }
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.lock().remove(path.as_os_str());
                return Ok(None);
            }
            Err(source) => {
                return Err(whisper_format::Error::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        if let Some(h) = self.lock().get(path.as_os_str())
            && h.dev == meta.dev()
            && h.ino == meta.ino()
            && h.len == meta.len()
        {
            *h.checked.lock().unwrap_or_else(|p| p.into_inner()) = std::time::Instant::now();
            return Ok(Some(h.clone()));
        }
        let file = match Whisper::open_read(path) {
            Ok(f) => f,
            Err(whisper_format::Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let handle = Arc::new(Handle {
            file: Mutex::new(file),
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            checked: Mutex::new(std::time::Instant::now()),
        });
        if self.capacity > 0 {
            let mut map = self.lock();
            if map.len() >= self.capacity {
                // Dropping an arbitrary half keeps this O(1) amortised without an LRU.
                let drop: Vec<OsString> = map.keys().take(map.len() / 2 + 1).cloned().collect();
                for k in drop {
                    map.remove(&k);
                }
            }
            map.insert(path.as_os_str().to_owned(), handle.clone());
        }
        Ok(Some(handle))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HandleMap> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Reader {
    /// A reader over `whisper_dir` and `cache`; `rules` decide the grid of metrics that
    /// have no file yet; at most `open_files` files stay open between reads.
    pub fn new(
        whisper_dir: PathBuf,
        cache: Arc<Cache>,
        rules: Arc<RwLock<Rules>>,
        open_files: usize,
    ) -> Reader {
        Reader {
            whisper_dir,
            cache,
            rules,
            handles: Arc::new(Handles {
                map: Mutex::new(HandleMap::default()),
                capacity: open_files,
            }),
        }
    }

    /// graphite-web's whisper leaf interval: `(now - maxRetention, max(mtime, that))`.
    pub fn interval(&self, relative: &std::path::Path, now: i64) -> Option<(f64, f64)> {
        let path = self.whisper_dir.join(relative);
        let handle = self.handles.get(&path).ok()??;
        let retention = {
            let file = handle.file.lock().unwrap_or_else(|p| p.into_inner());
            file.header().max_retention as f64
        };
        let mtime = std::fs::metadata(&path)
            .ok()?
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs_f64();
        let start = now as f64 - retention;
        Some((start, mtime.max(start)))
    }

    /// A file that cannot be read while the cache holds points of its metric is, nearly
    /// always, being created right now (its header or data not all written yet): those
    /// points are exactly what has not reached it, so they are the answer. Otherwise the
    /// file's error stands (a corrupt file is an error, not an empty series).
    fn while_created(
        &self,
        error: whisper_format::Error,
        cache_key: &str,
        from: i64,
        until: i64,
        now: i64,
    ) -> Result<Option<Series>, whisper_format::Error> {
        match self.cache_only(cache_key, from, until, now) {
            Some(series) => Ok(Some(series)),
            None => Err(error),
        }
    }

    /// A metric without a file: its cached points on the grid of the file it will get.
    fn cache_only(&self, cache_key: &str, from: i64, until: i64, now: i64) -> Option<Series> {
        let cached = self.cache.get(cache_key);
        if cached.is_empty() {
            return None;
        }
        let new = self
            .rules
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .for_metric(cache_key);
        let raw_step = i64::from(new.archives.first()?.seconds_per_point);
        // whisper's archive choice: the first that reaches back to `from`.
        let age = now - from;
        let archive = new
            .archives
            .iter()
            .find(|a| i64::from(a.seconds_per_point) * i64::from(a.points) >= age)
            .or(new.archives.last())?;
        let step = i64::from(archive.seconds_per_point).max(1);
        let until = until.min(now);
        let start = from - from.rem_euclid(step) + step;
        let mut end = until - until.rem_euclid(step) + step;
        if end <= start {
            end = start + step;
        }
        let mut values = vec![f64::NAN; ((end - start) / step) as usize];
        overlay(&mut values, start, step, raw_step, new.aggregation, &cached);
        Some(Series {
            start,
            end,
            step,
            values,
        })
    }

    /// Reads the file at `relative` (under the whisper directory) over `(from, until]`
    /// and overlays the cache's points for `cache_key`. `Ok(None)` when there is no file or
    /// the range is outside its retention.
    pub fn fetch(
        &self,
        relative: &std::path::Path,
        cache_key: &str,
        from: i64,
        until: i64,
        now: i64,
    ) -> Result<Option<Series>, whisper_format::Error> {
        let path = self.whisper_dir.join(relative);
        let opened = match self.handles.get(&path) {
            Ok(Some(handle)) => handle,
            Ok(None) => return Ok(self.cache_only(cache_key, from, until, now)),
            Err(e) => return self.while_created(e, cache_key, from, until, now),
        };
        let file = opened.file.lock().unwrap_or_else(|p| p.into_inner());
        let fetched = match file.fetch_nan(from, until, now) {
            Ok(Some(fetched)) => fetched,
            Ok(None) => return Ok(None),
            Err(e) => return self.while_created(e, cache_key, from, until, now),
        };
        let mut values = fetched.values;
        let cached = self.cache.get(cache_key);
        if !cached.is_empty() {
            let header = file.header();
            let raw_step = header
                .archives
                .first()
                .map_or(1, |a| a.seconds_per_point as i64);
            overlay(
                &mut values,
                fetched.from,
                fetched.step,
                raw_step,
                header.aggregation,
                &cached,
            );
        }
        Ok(Some(Series {
            start: fetched.from,
            end: fetched.until,
            step: fetched.step,
            values,
        }))
    }
}

/// graphite-web's `merge_with_cache`.
fn overlay(
    values: &mut [f64],
    start: i64,
    step: i64,
    raw_step: i64,
    method: Aggregation,
    cached: &[(i64, f64)],
) {
    // Last point per raw interval (cache order is arrival order).
    let mut per_raw: BTreeMap<i64, f64> = BTreeMap::new();
    for &(t, v) in cached {
        let interval = if raw_step > 1 {
            t - t.rem_euclid(raw_step)
        } else {
            t
        };
        per_raw.insert(interval, v);
    }
    let points: Vec<(i64, f64)> = if step != raw_step {
        let mut buckets: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for (t, v) in per_raw {
            buckets.entry(t - t.rem_euclid(step)).or_default().push(v);
        }
        buckets
            .into_iter()
            .map(|(t, vs)| {
                let neighbors: Vec<Option<f64>> = vs.iter().copied().map(Some).collect();
                (t, whisper_format::aggregate(method, &vs, &neighbors))
            })
            .collect()
    } else {
        per_raw.into_iter().collect()
    };
    for (interval, v) in points {
        let offset = interval - start;
        if offset < 0 {
            continue;
        }
        let i = (offset / step) as usize;
        if let Some(slot) = values.get_mut(i) {
            *slot = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use whisper_format::{ArchiveSpec, CreateOptions};

    fn file_with(path: &Path, t: i64, v: f64, points: u32) {
        whisper_format::create(
            path,
            &[ArchiveSpec::new(10, points)],
            &CreateOptions::default(),
        )
        .unwrap();
        Whisper::open(path)
            .unwrap()
            .update_many(&[(t, v)], t)
            .unwrap();
    }

    #[test]
    fn replaced_and_deleted_files_are_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Arc::new(Cache::new(charcoal_cache::Config::default()));
        let rules = Arc::new(RwLock::new(Rules::embedded()));
        // No handle cache: every read checks the path (the cached case differs only in
        // checking at most once per RECHECK).
        let reader = Reader::new(dir.path().to_path_buf(), cache.clone(), rules, 0);
        let t = 1_700_000_000;
        let rel = Path::new("a/b.wsp");
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        file_with(&dir.path().join(rel), t, 1.0, 100);
        let read = |now| reader.fetch(rel, "a.b", t - 50, t, now).unwrap();
        assert_eq!(read(t).unwrap().values.last(), Some(&1.0));
        // Replaced the way whisper-resize does it: a new file renamed over the old one.
        let tmp = dir.path().join("a/b.wsp.tmp");
        file_with(&tmp, t, 2.0, 200);
        std::fs::rename(&tmp, dir.path().join(rel)).unwrap();
        assert_eq!(read(t).unwrap().values.last(), Some(&2.0));
        std::fs::remove_file(dir.path().join(rel)).unwrap();
        assert_eq!(read(t), None, "no file, nothing cached");
        cache.add("a.b", t as u32, 3.0);
        assert_eq!(read(t).unwrap().values.last(), Some(&3.0), "cache only");
    }

    /// A persister creating a file writes its header, then its data, then the points: a
    /// render in between finds a file it cannot read yet, and must still see the points
    /// (they are in the cache until the write is confirmed). A file that cannot be read
    /// with nothing cached for it stays an error.
    #[test]
    fn a_file_being_created_is_read_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Arc::new(Cache::new(charcoal_cache::Config::default()));
        let rules = Arc::new(RwLock::new(Rules::embedded()));
        let reader = Reader::new(dir.path().to_path_buf(), cache.clone(), rules, 16);
        let t = 1_700_000_000;
        let rel = Path::new("new.wsp");
        let full = dir.path().join(rel);
        file_with(&full, t, 1.0, 100);
        let whole = std::fs::read(&full).unwrap();
        for cut in [0, 10, 40, whole.len() - 12] {
            std::fs::write(&full, &whole[..cut]).unwrap();
            let read = reader.fetch(rel, "new", t - 50, t, t);
            assert!(
                read.is_err(),
                "cut at {cut}: nothing cached, the error stands"
            );
        }
        cache.add("new", t as u32, 5.0);
        for cut in [0, 10, 40, whole.len() - 12] {
            std::fs::write(&full, &whole[..cut]).unwrap();
            let read = reader.fetch(rel, "new", t - 50, t, t).unwrap().unwrap();
            assert_eq!(read.values.last(), Some(&5.0), "cut at {cut}");
        }
    }

    #[test]
    fn overlay_replaces_slots_and_aggregates_for_coarse_archives() {
        let mut values = vec![1.0, f64::NAN, 3.0];
        overlay(
            &mut values,
            100,
            10,
            10,
            Aggregation::Average,
            &[(112, 9.0), (95, 7.0), (200, 1.0)],
        );
        assert_eq!(values[1], 9.0);
        assert_eq!(values[0], 1.0, "a point before the range is ignored");
        let mut values = vec![f64::NAN; 2];
        overlay(
            &mut values,
            120,
            60,
            10,
            Aggregation::Sum,
            &[(120, 1.0), (125, 2.0), (130, 3.0)],
        );
        assert_eq!(
            values[0], 5.0,
            "last per 10 s interval (2, 3), then summed per minute"
        );
    }
}
