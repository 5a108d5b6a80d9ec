//! Operations across two files: merge, diff, fill and the data copy of a
//! resize, with the semantics of whisper's library calls and scripts.

use crate::error::{Error, Result};
use crate::file::{Whisper, first_known};
use crate::header::ArchiveInfo;

fn same_archives(a: &Whisper, b: &Whisper, op: &'static str) -> Result<()> {
    if a.header().archives != b.header().archives {
        return Err(Error::UnalikeArchives {
            a: a.path().to_path_buf(),
            b: b.path().to_path_buf(),
            op,
        });
    }
    Ok(())
}

/// The archives sorted by retention, shortest first (stable, as Python's sort).
fn by_retention(w: &Whisper) -> Vec<ArchiveInfo> {
    let mut archives = w.header().archives.clone();
    archives.sort_by_key(|a| a.retention());
    archives
}

/// Copies every known point of `from` into `to` (whisper's `merge`):
/// archive by archive, shortest retention first, overwriting what `to` holds
/// at those timestamps. Both files must have the same archives.
pub fn merge(
    from: &Whisper,
    to: &mut Whisper,
    time_from: Option<i64>,
    time_to: Option<i64>,
    now: i64,
) -> Result<()> {
    same_archives(from, to, "merging")?;
    let until = time_to.unwrap_or(now);
    let start = time_from.unwrap_or(0);
    if until < start {
        return Err(Error::InvalidConfiguration(
            "time_to must be >= time_from".into(),
        ));
    }
    let mut slots = Vec::new();
    for archive in by_retention(from) {
        let oldest = now - archive.retention();
        if until < oldest {
            continue;
        }
        let Some((first, pieces)) =
            from.archive_fetch_slots(&archive, start.max(oldest), until, &mut slots)?
        else {
            continue;
        };
        // Whisper starts a new run after any point but one at interval 0 (its
        // `not previousInterval`); only ranges reaching back to the epoch can hold
        // one, and they take the point by point path below.
        if first > 0 {
            if first_known(first, archive.step(), pieces).is_some() {
                to.with_lock(|to| to.merge_slots(&archive, first, pieces))?;
            }
            continue;
        }
        let fetched = from.archive_fetch(&archive, start.max(oldest), until)?;
        let points: Vec<(i64, f64)> = fetched.points().collect();
        if points.is_empty() {
            continue;
        }
        to.with_lock(|to| to.archive_update_many(&archive, &points))?;
    }
    Ok(())
}

/// One archive's differences, as whisper's `diff` reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveDiff {
    /// Position in the retention-sorted archive list.
    pub index: usize,
    /// (timestamp, value in a, value in b) where they differ.
    pub points: Vec<(i64, Option<f64>, Option<f64>)>,
    /// How many points were compared.
    pub total: usize,
}

/// Compares two files with the same archives (whisper's `diff`). Points where
/// both are unknown are skipped; with `ignore_empty`, points where either is.
/// Each archive is compared up to the start of the previous (finer) one.
pub fn diff(
    a: &Whisper,
    b: &Whisper,
    ignore_empty: bool,
    until_time: Option<i64>,
    now: i64,
) -> Result<Vec<ArchiveDiff>> {
    same_archives(a, b, "diffing")?;
    // `if until_time:` in Python: 0 means "not given".
    let mut until = until_time.filter(|&t| t != 0).unwrap_or(now);
    let mut out = Vec::new();
    for (index, archive) in by_retention(a).iter().enumerate() {
        let start = now - archive.retention();
        let fa = a.archive_fetch(archive, start, until)?;
        let fb = b.archive_fetch(archive, start, until)?;
        let first = fa.from.min(fb.from);
        let last = fa.until.max(fb.until);
        let step = fa.step.min(fb.step);
        // Slots past both value lists are None on both sides and skipped.
        let n = ((last - first).div_euclid(step).max(0) as usize)
            .min(fa.values.len().max(fb.values.len()));
        let mut compared = Vec::new();
        for s in 0..n {
            let va = fa.values.get(s).copied().flatten();
            let vb = fb.values.get(s).copied().flatten();
            let keep = if ignore_empty {
                va.is_some() && vb.is_some()
            } else {
                va.is_some() || vb.is_some()
            };
            if keep {
                compared.push((first + s as i64 * step, va, vb));
            }
        }
        let total = compared.len();
        // Python's `!=`: NaN differs from itself, as here.
        let points = compared
            .into_iter()
            .filter(|(_, va, vb)| va != vb)
            .collect();
        out.push(ArchiveDiff {
            index,
            points,
            total,
        });
        until = until.min(start);
    }
    Ok(out)
}

/// Fills the gaps of `dst` from `src` without overwriting known points
/// (the `whisper-fill` script). As in the script, a zero counts as a gap.
pub fn fill(src: &Whisper, dst: &mut Whisper, now: i64) -> Result<()> {
    let mut start_from = now;
    for archive in by_retention(dst) {
        let from_time = now - archive.retention();
        if from_time >= start_from {
            continue;
        }
        let Some(fetched) = dst.fetch(from_time, start_from, now)? else {
            start_from = from_time;
            continue;
        };
        let (mut start, end, step) = (fetched.from, fetched.until, fetched.step);
        let mut gap_start: Option<i64> = None;
        for v in &fetched.values {
            // Python truthiness: None and 0.0 are "empty", NaN is not.
            let present = v.is_some_and(|x| x != 0.0);
            let in_gap = gap_start.is_some_and(|g| g != 0);
            if !present && !in_gap {
                gap_start = Some(start);
            } else if present && in_gap {
                let g = gap_start.unwrap_or(0);
                if start - g > archive.step() {
                    fill_range(src, dst, g - step, start, now)?;
                }
                gap_start = None;
            } else if in_gap && start == end - step {
                fill_range(src, dst, gap_start.unwrap_or(0) - step, start, now)?;
            }
            start += step;
        }
        start_from = from_time;
    }
    Ok(())
}

fn fill_range(
    src: &Whisper,
    dst: &mut Whisper,
    tstart: i64,
    mut tstop: i64,
    now: i64,
) -> Result<()> {
    let src_time = now - i64::from(src.header().max_retention);
    if tstart < src_time && tstop < src_time {
        return Ok(());
    }
    for archive in by_retention(src) {
        let rtime = now - archive.retention();
        if tstop <= rtime {
            continue;
        }
        let from_time = rtime.max(tstart);
        if let Some(fetched) = src.fetch(from_time, tstop, now)? {
            let points: Vec<(i64, f64)> = fetched.points().collect();
            dst.update_many(&points, now)?;
        }
        tstop = from_time;
        if tstart == tstop {
            return Ok(());
        }
    }
    Ok(())
}
