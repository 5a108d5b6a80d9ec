//! Copying a file's data into a new layout (what `whisper-resize` does), in
//! bounded memory.
//!
//! whisper-resize reads every old archive whole and hands each to
//! `update_many`. We read and write slices of at most [`CHUNK_POINTS`]
//! slots instead, arranged so the new file is byte-identical to what one
//! `update_many` per old archive produces (see [`Whisper::update_many_chunked`]):
//! memory stays at a few MiB whatever the file size.

use crate::aggregate::aggregate;
use crate::error::Result;
use crate::file::Whisper;
use crate::header::{Aggregation, ArchiveInfo};

/// Slots read or written per slice.
pub const CHUNK_POINTS: i64 = 1 << 16;

/// How a resize moves data into the new layout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ResizeMode {
    /// `update_many` every known point of each old archive, coarsest first,
    /// so finer data overwrites coarser (whisper-resize without
    /// `--aggregate`).
    Copy,
    /// Build one timeline of the old slots in which the finest archive wins
    /// where archives overlap, and aggregate it into each new archive's
    /// buckets with `aggregation` and the xFilesFactor rule (`--aggregate`).
    Aggregate {
        /// Method used for the buckets.
        aggregation: Aggregation,
        /// Fraction of known slots a bucket needs.
        x_files_factor: f64,
    },
}

/// What [`resize_into`] reports as it goes: slots done, slots to do.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// One old archive as whisper-resize reads it: `fetch(now - retention +
/// step, now)`, which may be served by a finer archive.
#[derive(Debug, Clone, Copy)]
struct Source {
    archive: ArchiveInfo,
    /// First slot of the grid.
    first: i64,
    /// One step past the last slot.
    end: i64,
}

impl Source {
    fn step(&self) -> i64 {
        self.archive.step()
    }

    fn slots(&self) -> u64 {
        ((self.end - self.first) / self.step()).max(0) as u64
    }

    /// First grid slot at or after `t`.
    fn ceil(&self, t: i64) -> i64 {
        if t <= self.first {
            return self.first;
        }
        let k = (t - self.first + self.step() - 1) / self.step();
        (self.first + k * self.step()).min(self.end)
    }

    /// The slots of `[lo, hi)` with their values.
    fn read(&self, old: &Whisper, lo: i64, hi: i64) -> Result<Vec<(i64, Option<f64>)>> {
        let (a, b) = (self.ceil(lo), self.ceil(hi));
        let values = old.grid_fetch(&self.archive, a, b)?;
        Ok((a..).step_by(self.step() as usize).zip(values).collect())
    }
}

/// The old archives in whisper-resize's order: coarsest first.
fn sources(old: &Whisper, now: i64) -> Result<Vec<Source>> {
    let mut archives = old.header().archives.clone();
    archives.sort_by_key(|a| std::cmp::Reverse(a.seconds_per_point));
    let mut out = Vec::with_capacity(archives.len());
    for a in &archives {
        let from = now - a.retention() + a.step();
        let Some((archive, from, until)) = old.fetch_plan(from, now, now, None)? else {
            continue;
        };
        let step = archive.step();
        let first = from - from.rem_euclid(step) + step;
        let mut end = until - until.rem_euclid(step) + step;
        if end == first {
            end += step;
        }
        // A grid longer than the ring reads short in whisper; keep to the ring.
        let end = end.min(first + i64::from(archive.points) * step);
        out.push(Source {
            archive,
            first,
            end,
        });
    }
    Ok(out)
}

/// Copies the data of `old` into `new`, a freshly created file.
pub fn resize_into(
    old: &Whisper,
    new: &mut Whisper,
    mode: ResizeMode,
    now: i64,
    progress: Progress<'_>,
) -> Result<()> {
    resize_chunked(old, new, mode, now, CHUNK_POINTS, progress)
}

/// [`resize_into`] with an explicit slice size in slots (tests use small
/// ones to cross many slice boundaries).
#[doc(hidden)]
pub fn resize_chunked(
    old: &Whisper,
    new: &mut Whisper,
    mode: ResizeMode,
    now: i64,
    chunk: i64,
    progress: Progress<'_>,
) -> Result<()> {
    let sources = sources(old, now)?;
    let total: u64 = sources.iter().map(Source::slots).sum();
    let mut done = 0;
    match mode {
        ResizeMode::Copy => {
            for src in &sources {
                let mut read = |lo: i64, hi: i64| -> Result<Vec<(i64, f64)>> {
                    let slots = src.read(old, lo, hi)?;
                    done += slots.len() as u64;
                    progress(done, total);
                    Ok(slots
                        .into_iter()
                        .filter_map(|(t, v)| v.map(|v| (t, v)))
                        .collect())
                };
                new.update_many_chunked(src.first, src.end, chunk * src.step(), now, &mut read)?;
            }
        }
        ResizeMode::Aggregate {
            aggregation,
            x_files_factor,
        } => {
            let timeline = Timeline::new(&sources);
            let archives = new.header().archives.clone();
            let per_archive = total / archives.len().max(1) as u64;
            for archive in &archives {
                aggregate_into(
                    old,
                    new,
                    &timeline,
                    archive,
                    (aggregation, x_files_factor),
                    now,
                    chunk,
                )?;
                done += per_archive;
                progress(done.min(total), total);
            }
        }
    }
    progress(total, total);
    Ok(())
}

/// The old slots as one time line: each old archive supplies the times no
/// finer archive covers.
struct Timeline {
    /// (source, covered from, covered until), earliest coverage first.
    segments: Vec<(Source, i64, i64)>,
}

impl Timeline {
    fn new(sources: &[Source]) -> Timeline {
        let mut by_step: Vec<Source> = sources.to_vec();
        by_step.sort_by_key(|s| s.step());
        let mut covered_from = i64::MAX;
        let mut segments = Vec::new();
        for s in by_step {
            let until = s.end.min(covered_from);
            if until > s.first {
                segments.push((s, s.first, until));
                covered_from = covered_from.min(s.first);
            }
        }
        segments.reverse();
        Timeline { segments }
    }

    fn read(&self, old: &Whisper, lo: i64, hi: i64) -> Result<Vec<(i64, Option<f64>)>> {
        let mut out = Vec::new();
        for (src, from, until) in &self.segments {
            let (a, b) = (lo.max(*from), hi.min(*until));
            if a < b {
                out.extend(src.read(old, a, b)?);
            }
        }
        Ok(out)
    }
}

/// Fills one new archive with bucket aggregates of the old time line, slice
/// by slice. Each archive is computed from the old data directly, so nothing
/// is propagated.
fn aggregate_into(
    old: &Whisper,
    new: &mut Whisper,
    timeline: &Timeline,
    archive: &ArchiveInfo,
    (aggregation, x_files_factor): (Aggregation, f64),
    now: i64,
    chunk: i64,
) -> Result<()> {
    let step = archive.step();
    let mut bucket = (now - archive.retention()).div_euclid(step) * step;
    let end = now - now.rem_euclid(step) + step;
    while bucket < end {
        let slice_end = (bucket + chunk.max(1) * step).min(end);
        let slots = timeline.read(old, bucket, slice_end)?;
        let mut points = Vec::new();
        let mut i = 0;
        while bucket < slice_end {
            let j = i + slots[i..].partition_point(|&(t, _)| t < bucket + step);
            let values: Vec<Option<f64>> = slots[i..j].iter().map(|&(_, v)| v).collect();
            let known: Vec<f64> = values.iter().flatten().copied().collect();
            if !known.is_empty() && known.len() as f64 / values.len() as f64 >= x_files_factor {
                points.push((bucket, aggregate(aggregation, &known, &values)));
            }
            i = j;
            bucket += step;
        }
        new.write_archive_points(archive, &points)?;
    }
    Ok(())
}

impl Whisper {
    /// `update_many` of the points `read(lo, hi)` returns for consecutive
    /// slices of `[first, end)`, in bounded memory, giving the same bytes as
    /// one `update_many` of all of them. `read` must return each slice's
    /// points in time order without duplicate timestamps, and the file's
    /// archives must be sorted and valid (as [`crate::create`] makes them).
    ///
    /// Why it is equivalent: update_many sends each point to the archive its
    /// age selects, archives in table order, so each archive's batch is the
    /// points of one time window; within a window, [`Whisper::write_runs`]
    /// over consecutive slices writes what one call would, and the coarser
    /// intervals are collected in the same insertion order for propagation.
    pub(crate) fn update_many_chunked(
        &mut self,
        first: i64,
        end: i64,
        slice: i64,
        now: i64,
        read: &mut dyn FnMut(i64, i64) -> Result<Vec<(i64, f64)>>,
    ) -> Result<()> {
        let archives = self.header().archives.clone();
        for (k, archive) in archives.iter().enumerate() {
            // Archive k takes the points with retention[k-1] < age <= retention[k].
            let lo = first.max(now - archive.retention());
            let hi = match k {
                0 => end,
                _ => end.min(now - archives[k - 1].retention()),
            };
            if lo >= hi {
                continue;
            }
            let mut touched = self.touched(archive);
            let mut any = false;
            let mut t = lo;
            while t < hi {
                let e = t.saturating_add(slice.max(1)).min(hi);
                let points = read(t, e)?;
                if !points.is_empty() {
                    any = true;
                    self.with_lock(|w| w.write_runs(archive, &points, &mut touched))?;
                }
                t = e;
            }
            if any {
                self.with_lock(|w| w.propagate_touched(archive, touched))?;
            }
        }
        Ok(())
    }

    /// Writes points into one archive at their slots, without propagating.
    pub(crate) fn write_archive_points(
        &mut self,
        archive: &ArchiveInfo,
        points: &[(i64, f64)],
    ) -> Result<()> {
        self.with_lock(|w| {
            for &(t, v) in points {
                w.write_point(archive, t, v)?;
            }
            Ok(())
        })
    }
}
