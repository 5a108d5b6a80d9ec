//! An open whisper file: create, open, update, update_many, fetch and the
//! header rewrites, with Python whisper 1.1's semantics.
//!
//! All data access goes through [`Whisper::read_at`] / [`Whisper::write_at`],
//! which work either on a shared memory map (memmap2) or with pread/pwrite.
//! Both are bounds-checked against the layout verified at open, so a hostile
//! header can make a call fail but never read or write outside its archive.
//!
//! The map is the fast path for files a process keeps open and touches
//! often. pread/pwrite is the safe path for one-shot access and for files
//! other programs may truncate underneath us: a mapped page past a truncated
//! end raises SIGBUS, a short pread is just an error.

use std::cell::{Cell, RefCell};
use std::fs::{File, OpenOptions as FsOpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use byteorder::{BigEndian, ByteOrder};
use memmap2::{Mmap, MmapMut};

use crate::aggregate::aggregate;
use crate::blocks::Blocks;
use crate::error::{Error, IoContext, Result};
use crate::header::{
    Aggregation, ArchiveInfo, ArchiveSpec, Header, METADATA_SIZE, POINT_SIZE, validate_archive_list,
};
use crate::pyset::Table as PySet;

/// How to lay out the data area of a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Allocation {
    /// Write zeros (whisper's default).
    #[default]
    Zeroed,
    /// Seek to the end and write one byte: a sparse file.
    Sparse,
    /// `posix_fallocate` the data area (falls back to zeros where the
    /// filesystem cannot).
    Fallocate,
}

/// Options for [`create`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CreateOptions {
    /// Fraction of known points needed to propagate (stored as f32).
    pub x_files_factor: f32,
    /// How lower archives are filled.
    pub aggregation: Aggregation,
    /// Data-area layout.
    pub allocation: Allocation,
    /// Hold an exclusive flock while writing (carbon's WHISPER_LOCK_WRITES).
    pub lock: bool,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            x_files_factor: 0.5,
            aggregation: Aggregation::Average,
            allocation: Allocation::Zeroed,
            lock: false,
        }
    }
}

/// How to access a file's data once open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Access {
    /// pread/pwrite per access.
    #[default]
    Pread,
    /// A shared memory map of the whole file.
    Mmap,
}

/// Options for [`Whisper::open_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenOptions {
    /// Open for writing as well as reading.
    pub write: bool,
    /// Hold an exclusive flock during each write operation, so Python whisper
    /// and carbon with locking enabled never interleave with us.
    pub lock: bool,
    /// pread/pwrite or mmap.
    pub access: Access,
}

/// The coarser intervals a batch touched, per coarser archive, kept as the
/// CPython set whisper builds so they are propagated in the same order.
#[derive(Debug)]
pub(crate) struct Touched {
    lowers: Vec<(ArchiveInfo, PySet)>,
}

/// The result of a fetch: `values[i]` is the point at `from + i * step`. `T` is how a value
/// is held: `Option<f64>` ([`Whisper::fetch`]) or `f64` with NaN for missing
/// ([`Whisper::fetch_nan`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched<T = Option<f64>> {
    /// First interval (exclusive lower bound of the request rounded up).
    pub from: i64,
    /// One step past the last interval.
    pub until: i64,
    /// Seconds per point of the archive read.
    pub step: i64,
    /// The values; None (NaN) where the slot is empty or stale.
    pub values: Vec<T>,
}

impl Fetched {
    /// (timestamp, value) pairs of the known values.
    pub fn points(&self) -> impl Iterator<Item = (i64, f64)> + '_ {
        (self.from..)
            .step_by(self.step.max(1) as usize)
            .zip(self.values.iter())
            .filter_map(|(t, v)| v.map(|v| (t, v)))
    }
}

enum Backing {
    Pread,
    Map(MmapMut),
    MapRead(Mmap),
}

/// An open whisper file.
pub struct Whisper {
    path: PathBuf,
    file: File,
    header: Header,
    backing: Backing,
    /// Set during a write call with pread access: see `blocks.rs`.
    blocks: RefCell<Option<Blocks>>,
    /// Each archive's base (the timestamp in its first slot) once it is non-zero; 0 while
    /// unknown. See [`Whisper::base`].
    bases: Vec<Cell<u32>>,
    /// Buffers reused by every propagation (a single-point update propagates once per
    /// coarser archive: allocating them each time cost more than the arithmetic).
    scratch: Scratch,
    len: u64,
    lock: bool,
}

/// See `Whisper::scratch`.
#[derive(Default)]
struct Scratch {
    bytes: Vec<u8>,
    neighbors: Vec<Option<f64>>,
    known: Vec<f64>,
}

impl std::fmt::Debug for Whisper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Whisper")
            .field("path", &self.path)
            .field("header", &self.header)
            .field("len", &self.len)
            .field("mmap", &!matches!(self.backing, Backing::Pread))
            .finish()
    }
}

/// Reads just the header of a file.
pub fn info(path: &Path) -> Result<Header> {
    let file = File::open(path).at(path)?;
    read_header(&file, path)
}

fn read_header(file: &File, path: &Path) -> Result<Header> {
    let mut meta = [0u8; METADATA_SIZE];
    let n = read_full(file, 0, &mut meta).at(path)?;
    let (_, count) = Header::parse_metadata(&meta[..n], path)?;
    // Never trust the count for an allocation: read what the file holds.
    let want = Header::size_for(count.min(1 << 20) as usize);
    let mut bytes = vec![0u8; want];
    let n = read_full(file, 0, &mut bytes).at(path)?;
    Header::parse(&bytes[..n], path)
}

/// Like `read_exact_at` but returns how much was there instead of failing.
fn read_full(file: &File, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Creates a new file (whisper's `create`): validates and sorts the archive
/// list, refuses an existing path, writes the header and the data area.
/// A failure part-way removes the half-written file.
pub fn create(path: &Path, archives: &[ArchiveSpec], opts: &CreateOptions) -> Result<()> {
    create_file(path, archives, opts, false).map(drop)
}

impl Whisper {
    /// [`create`], then the same file descriptor as an open handle (pread/pwrite,
    /// locking per operation as `opts.lock` says; the creation's lock is held until the
    /// first operation ends): a writer that creates a file to store
    /// its first points skips the open, stat and header read that [`Whisper::open_with`]
    /// would cost, which is most of the system calls of a new file after the create
    /// itself.
    pub fn create_open(
        path: &Path,
        archives: &[ArchiveSpec],
        opts: &CreateOptions,
    ) -> Result<Whisper> {
        let (file, header) = create_file(path, archives, opts, true)?;
        let len = header.data_end();
        Ok(Whisper::from_parts(
            path,
            file,
            header,
            Backing::Pread,
            len,
            opts.lock,
        ))
    }
}

fn create_file(
    path: &Path,
    archives: &[ArchiveSpec],
    opts: &CreateOptions,
    read: bool,
) -> Result<(File, Header)> {
    let mut archives = archives.to_vec();
    validate_archive_list(&mut archives)?;
    check_xff(f64::from(opts.x_files_factor))?;
    let file = match FsOpenOptions::new()
        .read(read)
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::AlreadyExists(path.to_path_buf()));
        }
        Err(e) => return Err(e).at(path),
    };
    let header = Header::for_archives(&archives, opts.aggregation, opts.x_files_factor);
    let result = (|| {
        if opts.lock {
            file.lock().at(path)?;
        }
        // The lock stays until the descriptor closes or, for a handle, until its first
        // operation (which locks and unlocks) ends: nobody reads the file before its
        // first points are in.
        write_new_file(&file, &header, opts.allocation).at(path)
    })();
    match result {
        Ok(()) => Ok((file, header)),
        Err(e) => {
            let _ = std::fs::remove_file(path);
            Err(e)
        }
    }
}

fn write_new_file(file: &File, header: &Header, allocation: Allocation) -> std::io::Result<()> {
    let head = header.encode();
    file.write_all_at(&head, 0)?;
    let start = head.len() as u64;
    let end = header.data_end();
    if end <= start {
        return Ok(());
    }
    match allocation {
        Allocation::Fallocate
            if rustix::fs::fallocate(
                file,
                rustix::fs::FallocateFlags::empty(),
                start,
                end - start,
            )
            .is_ok() => {}
        Allocation::Sparse => file.write_all_at(&[0], end - 1)?,
        _ => {
            // pwrite keeps no file position, so each chunk names its offset.
            let zeros = vec![0u8; 1 << 16];
            let mut at = start;
            while at < end {
                let n = (end - at).min(zeros.len() as u64) as usize;
                file.write_all_at(&zeros[..n], at)?;
                at += n as u64;
            }
        }
    }
    Ok(())
}

fn check_xff(xff: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&xff) {
        // `{:?}` prints 2.0 where Python's message says 2.0 too.
        return Err(Error::InvalidXFilesFactor(format!("{xff:?}")));
    }
    Ok(())
}

fn align(t: i64, step: i64) -> i64 {
    t - t.rem_euclid(step)
}

fn to_u32(t: i64) -> Result<u32> {
    u32::try_from(t).map_err(|_| Error::TimestampOutOfRange(t))
}

impl Whisper {
    /// Opens an existing file for reading and writing, pread/pwrite, no lock.
    pub fn open(path: &Path) -> Result<Whisper> {
        Self::open_with(
            path,
            OpenOptions {
                write: true,
                ..OpenOptions::default()
            },
        )
    }

    /// Opens an existing file for reading only.
    pub fn open_read(path: &Path) -> Result<Whisper> {
        Self::open_with(path, OpenOptions::default())
    }

    /// Opens an existing file with explicit options. The header is read and
    /// checked (layout within the file) before anything else.
    pub fn open_with(path: &Path, opts: OpenOptions) -> Result<Whisper> {
        let file = FsOpenOptions::new()
            .read(true)
            .write(opts.write)
            .open(path)
            .at(path)?;
        let len = file.metadata().at(path)?.len();
        let header = read_header(&file, path)?;
        header.check_layout(len, path)?;
        let backing = match opts.access {
            Access::Pread => Backing::Pread,
            Access::Mmap => {
                // SAFETY: the map is only read and written through bounds-checked
                // slices; whisper files are not truncated in place by whisper,
                // carbon or the whisper scripts (resize renames a new file over).
                let mut map = memmap2::MmapOptions::new();
                map.len(len as usize);
                // Updates and fetches touch a few slots per archive. Without this advice a
                // fault reads ahead up to 128 KiB around each touched page: with thousands
                // of files kept mapped that is gigabytes of page cache read for nothing,
                // and reclaim then evicts the pages in use. Whole-file readers say so with
                // `Whisper::will_read_all`.
                if opts.write {
                    let map = unsafe { map.map_mut(&file) }.at(path)?;
                    let _ = map.advise(memmap2::Advice::Random);
                    Backing::Map(map)
                } else {
                    let map = unsafe { map.map(&file) }.at(path)?;
                    let _ = map.advise(memmap2::Advice::Random);
                    Backing::MapRead(map)
                }
            }
        };
        Ok(Whisper::from_parts(
            path, file, header, backing, len, opts.lock,
        ))
    }

    /// A handle on an opened or just-created file, nothing cached yet.
    fn from_parts(
        path: &Path,
        file: File,
        header: Header,
        backing: Backing,
        len: u64,
        lock: bool,
    ) -> Whisper {
        Whisper {
            path: path.to_path_buf(),
            file,
            bases: vec![Cell::new(0); header.archives.len()],
            scratch: Scratch::default(),
            header,
            backing,
            blocks: RefCell::new(None),
            len,
            lock,
        }
    }

    /// Tells the kernel the whole file is about to be read in order (a dump, a merge):
    /// a mapped file then reads ahead instead of faulting page by page. Only advice:
    /// nothing changes for pread handles, and a refusal is ignored.
    pub fn will_read_all(&self) {
        match &self.backing {
            Backing::Map(map) => {
                let _ = map.advise(memmap2::Advice::Sequential);
            }
            Backing::MapRead(map) => {
                let _ = map.advise(memmap2::Advice::Sequential);
            }
            Backing::Pread => {}
        }
    }

    /// The decoded header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The path it was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's size when opened.
    pub fn file_len(&self) -> u64 {
        self.len
    }

    /// The underlying file (for fsync, metadata).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Flushes written data to disk (msync for a map, fsync for the file).
    pub fn sync(&self) -> Result<()> {
        if let Backing::Map(map) = &self.backing {
            map.flush().at(&self.path)?;
        }
        self.file.sync_data().at(&self.path)
    }

    /// Reads `buf.len()` bytes at `offset`. Out of range or short is an error.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= self.len)
            .ok_or_else(|| self.past_end(offset, buf.len()))?;
        match &self.backing {
            Backing::Map(map) => {
                buf.copy_from_slice(&map[offset as usize..end as usize]);
                Ok(())
            }
            Backing::MapRead(map) => {
                buf.copy_from_slice(&map[offset as usize..end as usize]);
                Ok(())
            }
            Backing::Pread => {
                if let Some(blocks) = self.blocks.borrow_mut().as_mut() {
                    return blocks
                        .read(&self.file, self.len, offset, buf)
                        .at(&self.path);
                }
                let n = read_full(&self.file, offset, buf).at(&self.path)?;
                if n < buf.len() {
                    return Err(self.past_end(offset, buf.len()));
                }
                Ok(())
            }
        }
    }

    /// Writes `buf` at `offset`, which must lie inside the file.
    pub fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<()> {
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= self.len)
            .ok_or_else(|| self.past_end(offset, buf.len()))?;
        match &mut self.backing {
            Backing::Map(map) => {
                map[offset as usize..end as usize].copy_from_slice(buf);
                Ok(())
            }
            Backing::Pread => match self.blocks.get_mut().as_mut() {
                Some(blocks) => blocks
                    .write(&self.file, self.len, offset, buf)
                    .at(&self.path),
                None => self.file.write_all_at(buf, offset).at(&self.path),
            },
            Backing::MapRead(_) => Err(Error::Io {
                path: self.path.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    "file opened read-only",
                ),
            }),
        }
    }

    fn past_end(&self, offset: u64, len: usize) -> Error {
        Error::Io {
            path: self.path.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "{len} bytes at offset {offset} lie past the end of the file ({} bytes)",
                    self.len
                ),
            ),
        }
    }

    /// Runs one write call: under the flock when locking is on, and with
    /// pread/pwrite access through a block buffer written back before the
    /// lock is released (also after an error, so a failed call leaves what
    /// whisper's unbuffered writes would have left).
    pub(crate) fn with_lock<T>(&mut self, op: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.lock {
            self.file.lock().at(&self.path)?;
        }
        let buffered = matches!(self.backing, Backing::Pread);
        if buffered {
            *self.blocks.get_mut() = Some(Blocks::default());
        }
        let result = op(self);
        let flushed = match self.blocks.get_mut().take() {
            Some(mut blocks) if buffered => blocks.flush(&self.file).at(&self.path),
            _ => Ok(()),
        };
        let unlocked = if self.lock {
            self.file.unlock().at(&self.path)
        } else {
            Ok(())
        };
        let value = result?;
        flushed?;
        unlocked?;
        Ok(value)
    }

    /// The timestamp stored in an archive's first slot: 0 for an archive
    /// never written, else the interval every slot position is anchored to.
    ///
    /// Remembered once non-zero. Whisper rewrites the first slot only with a timestamp a
    /// whole number of rings away (every writer aligns to the step and places points by
    /// their distance from the base), so a remembered base addresses the same slots as
    /// the current one; only the empty archive's 0 must be read again. That saves a read
    /// of a page far from the written slot per archive per update: with thousands of
    /// mapped files kept open, half of the pages an update touches.
    fn base(&self, archive: &ArchiveInfo) -> Result<i64> {
        let cached = self
            .header
            .archives
            .iter()
            .position(|a| a.offset == archive.offset)
            .map(|i| &self.bases[i]);
        if let Some(b) = cached.map(Cell::get).filter(|&b| b != 0) {
            return Ok(i64::from(b));
        }
        let mut b = [0u8; 4];
        self.read_at(u64::from(archive.offset), &mut b)?;
        let base = BigEndian::read_u32(&b);
        if let Some(c) = cached {
            c.set(base);
        }
        Ok(i64::from(base))
    }

    /// Byte offset of `interval` in the ring anchored at `base`.
    fn slot_offset(archive: &ArchiveInfo, base: i64, interval: i64) -> u64 {
        let distance = (interval - base).div_euclid(archive.step());
        let bytes = (distance * POINT_SIZE as i64).rem_euclid(archive.size() as i64);
        u64::from(archive.offset) + bytes as u64
    }

    /// Reads ring bytes from `first` up to `last` into `buf` (replacing what it held) the
    /// way whisper does: one read when `first < last`, else to the end of the archive and
    /// on from its start (a whole lap when they are equal).
    fn read_ring_into(
        &self,
        archive: &ArchiveInfo,
        first: u64,
        last: u64,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let start = u64::from(archive.offset);
        let end = start + archive.size();
        buf.clear();
        if first < last {
            buf.resize((last - first) as usize, 0);
            self.read_at(first, buf)
        } else {
            let head = (end - first) as usize;
            buf.resize(head + (last - start) as usize, 0);
            self.read_at(first, &mut buf[..head])?;
            self.read_at(start, &mut buf[head..])
        }
    }

    /// Writes consecutive points from `offset`, wrapping to the start of the
    /// archive at its end. Whisper writes the wrapped tail in one piece (past
    /// the archive if a run is longer than the ring); we keep wrapping, so a
    /// run never leaves its archive.
    fn write_ring(&mut self, archive: &ArchiveInfo, offset: u64, bytes: &[u8]) -> Result<()> {
        let start = u64::from(archive.offset);
        let end = start + archive.size();
        let mut at = offset;
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = rest.len().min((end - at) as usize);
            self.write_at(at, &rest[..n])?;
            rest = &rest[n..];
            at = start;
        }
        Ok(())
    }

    pub(crate) fn write_point(
        &mut self,
        archive: &ArchiveInfo,
        interval: i64,
        value: f64,
    ) -> Result<()> {
        let base = self.base(archive)?;
        let offset = if base == 0 {
            u64::from(archive.offset)
        } else {
            Self::slot_offset(archive, base, interval)
        };
        let mut p = [0u8; POINT_SIZE];
        encode_point(&mut p, to_u32(interval)?, value);
        self.write_at(offset, &p)
    }

    /// Stores one point (whisper's `update`): rejects a timestamp in the future
    /// or at least maxRetention old, writes the best archive that covers it and
    /// propagates down until a propagation does not write.
    pub fn update(&mut self, value: f64, timestamp: i64, now: i64) -> Result<()> {
        self.with_lock(|w| {
            let age = now - timestamp;
            if !(age < i64::from(w.header.max_retention) && age >= 0) {
                return Err(Error::TimestampNotCovered);
            }
            let Some(i) = w.header.archives.iter().position(|a| a.retention() >= age) else {
                return Err(Error::TimestampNotCovered);
            };
            let mut higher = w.header.archives[i];
            let interval = align(timestamp, higher.step());
            w.write_point(&higher, interval, value)?;
            for j in i + 1..w.header.archives.len() {
                let lower = w.header.archives[j];
                if !w.propagate(interval, &higher, &lower)? {
                    break;
                }
                higher = lower;
            }
            Ok(())
        })
    }

    /// Stores many points (whisper's `update_many`, what carbon calls): newest
    /// first, each into the best archive that still covers its age; points
    /// older than every archive are dropped, future points go to the first
    /// archive. Among equal timestamps the first given wins; within one step
    /// the latest timestamp wins.
    pub fn update_many(&mut self, points: &[(i64, f64)], now: i64) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        // A point older than every archive is dropped (as whisper drops it);
        // any other must fit the file's u32 timestamps, checked before
        // anything is written.
        let oldest_kept = self
            .header
            .archives
            .iter()
            .map(ArchiveInfo::retention)
            .max()
            .unwrap_or(0);
        if let Some(&(t, _)) = points
            .iter()
            .find(|(t, _)| now - t <= oldest_kept && u32::try_from(*t).is_err())
        {
            return Err(Error::TimestampOutOfRange(t));
        }
        let mut points = points.to_vec();
        points.sort_by_key(|p| std::cmp::Reverse(p.0));
        self.with_lock(|w| {
            let archives = w.header.archives.clone();
            let mut current = 0;
            let mut batch: Vec<(i64, f64)> = Vec::new();
            'points: for &point in &points {
                let age = now - point.0;
                while archives[current].retention() < age {
                    if !batch.is_empty() {
                        batch.reverse();
                        w.archive_update_many(&archives[current], &batch)?;
                        batch.clear();
                    }
                    current += 1;
                    if current == archives.len() {
                        break 'points;
                    }
                }
                batch.push(point);
            }
            if current < archives.len() && !batch.is_empty() {
                batch.reverse();
                w.archive_update_many(&archives[current], &batch)?;
            }
            Ok(())
        })
    }

    /// Writes chronologically ordered points into one archive and propagates
    /// them (whisper's `__archive_update_many`).
    pub(crate) fn archive_update_many(
        &mut self,
        archive: &ArchiveInfo,
        points: &[(i64, f64)],
    ) -> Result<()> {
        let mut touched = self.touched(archive);
        self.write_runs(archive, points, &mut touched)?;
        self.propagate_touched(archive, touched)
    }

    /// An empty record of the coarser intervals a batch into `archive` touches.
    pub(crate) fn touched(&self, archive: &ArchiveInfo) -> Touched {
        Touched {
            lowers: self
                .header
                .archives
                .iter()
                .filter(|a| a.seconds_per_point > archive.seconds_per_point)
                .map(|a| (*a, PySet::default()))
                .collect(),
        }
    }

    /// Writes chronologically ordered points into one archive, without
    /// propagating, and notes the coarser intervals they touch. Calling it
    /// several times with consecutive slices of a batch, then
    /// [`Whisper::propagate_touched`] once, gives the same bytes as one call
    /// with the whole batch: later slices overwrite an interval split across
    /// slices with its last point, and the base of an empty archive is the
    /// first slice's first interval either way.
    pub(crate) fn write_runs(
        &mut self,
        archive: &ArchiveInfo,
        points: &[(i64, f64)],
        touched: &mut Touched,
    ) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        let step = archive.step();
        let aligned: Vec<(i64, f64)> = points.iter().map(|&(t, v)| (align(t, step), v)).collect();
        for (lower, set) in &mut touched.lowers {
            for &(t, _) in &aligned {
                set.insert(align(t, lower.step()) as u64);
            }
        }

        // Runs of consecutive intervals, each written in one piece. Only the
        // last of several points in one interval counts. Whisper treats a
        // previous interval of 0 as "no previous", so we do too.
        let mut runs: Vec<(i64, Vec<u8>)> = Vec::new();
        let mut previous: Option<i64> = None;
        let mut run: Vec<u8> = Vec::new();
        for (i, &(interval, value)) in aligned.iter().enumerate() {
            if aligned.get(i + 1).is_some_and(|next| next.0 == interval) {
                continue;
            }
            let mut p = [0u8; POINT_SIZE];
            encode_point(&mut p, to_u32(interval)?, value);
            match previous {
                Some(prev) if prev != 0 && interval != prev + step => {
                    let n = (run.len() / POINT_SIZE) as i64;
                    runs.push((prev - step * (n - 1), std::mem::take(&mut run)));
                }
                _ => {}
            }
            run.extend_from_slice(&p);
            previous = Some(interval);
        }
        if let Some(prev) = previous {
            let n = (run.len() / POINT_SIZE) as i64;
            runs.push((prev - step * (n - 1), run));
        }

        let mut base = self.base(archive)?;
        if base == 0 {
            base = runs[0].0;
        }
        for (start, bytes) in &runs {
            let offset = Self::slot_offset(archive, base, *start);
            self.write_ring(archive, offset, bytes)?;
        }
        Ok(())
    }

    /// Writes slots another file holds into this archive and propagates them: what
    /// [`Whisper::archive_update_many`] does with the points a fetch of those slots returns
    /// (whisper's `merge`), without decoding them. `pieces` are raw slots in time order,
    /// the first at `first`, as [`Whisper::archive_fetch_slots`] gives them. A known
    /// slot's 12 bytes are the bytes whisper packs for its point, so each run of known
    /// slots is written as a slice of `pieces`: a year of one-minute points costs no
    /// per-point allocation or encoding. A run across the two pieces is written in two
    /// writes, which leave the bytes one would.
    pub(crate) fn merge_slots(
        &mut self,
        archive: &ArchiveInfo,
        first: i64,
        pieces: Slots<'_>,
    ) -> Result<()> {
        let step = archive.step();
        let skip = pieces[0].len() / POINT_SIZE;
        let firsts = [first, first + skip as i64 * step];
        let Some(run0) = first_known(first, step, pieces) else {
            return Ok(());
        };
        let mut base = self.base(archive)?;
        if base == 0 {
            base = first + run0 as i64 * step;
        }
        let mut touched = self.touched(archive);
        // Slot `s` lies `s` slots past the first one, and the pieces are at most one
        // lap of the ring, so one subtraction wraps it: no division per run.
        let ring = archive.size();
        let first_at = Self::slot_offset(archive, base, first) - u64::from(archive.offset);
        // Per coarser archive, the first interval not yet added to its set.
        let mut next: Vec<i64> = vec![i64::MIN; touched.lowers.len()];
        for (p, piece) in pieces.into_iter().enumerate() {
            for (s, e) in known_runs(firsts[p], step, piece) {
                let slot = s + p * skip;
                let mut at = first_at + (slot * POINT_SIZE) as u64;
                if at >= ring {
                    at -= ring;
                }
                let offset = u64::from(archive.offset) + at;
                self.write_ring(archive, offset, &piece[s * POINT_SIZE..e * POINT_SIZE])?;
                // Every interval of a run is written, so the coarser intervals it
                // touches are those from its first point's to its last point's;
                // CPython ignores a repeated add, so adding each once leaves the same
                // set order.
                let start = firsts[p] + s as i64 * step;
                let last = firsts[p] + (e - 1) as i64 * step;
                for ((lower, set), next) in touched.lowers.iter_mut().zip(&mut next) {
                    if last < *next {
                        continue;
                    }
                    let mut interval = align(start, lower.step()).max(*next);
                    while interval <= last {
                        set.insert(interval as u64);
                        interval += lower.step();
                    }
                    *next = interval;
                }
            }
        }
        self.propagate_touched(archive, touched)
    }

    /// Propagates every coarser interval a batch touched, archive by archive,
    /// in CPython set order, stopping at the first coarser archive where
    /// nothing was written.
    pub(crate) fn propagate_touched(
        &mut self,
        archive: &ArchiveInfo,
        touched: Touched,
    ) -> Result<()> {
        let mut higher = *archive;
        for (lower, set) in touched.lowers {
            let mut wrote = false;
            for interval in set.into_order() {
                if self.propagate(interval as i64, &higher, &lower)? {
                    wrote = true;
                }
            }
            if !wrote {
                break;
            }
            higher = lower;
        }
        Ok(())
    }

    /// Aggregates the higher-archive slots under the lower interval holding
    /// `timestamp` into that lower slot, if enough of them are known.
    fn propagate(
        &mut self,
        timestamp: i64,
        higher: &ArchiveInfo,
        lower: &ArchiveInfo,
    ) -> Result<bool> {
        let lower_start = align(timestamp, lower.step());
        let higher_base = self.base(higher)?;
        let first = if higher_base == 0 {
            u64::from(higher.offset)
        } else {
            Self::slot_offset(higher, higher_base, lower_start)
        };
        let count = lower.step() / higher.step();
        let relative_first = first - u64::from(higher.offset);
        let relative_last = (relative_first + count as u64 * POINT_SIZE as u64) % higher.size();
        let last = relative_last + u64::from(higher.offset);
        let mut scratch = std::mem::take(&mut self.scratch);
        let result = self.propagate_with(higher, lower, lower_start, first, last, &mut scratch);
        self.scratch = scratch;
        result
    }

    fn propagate_with(
        &mut self,
        higher: &ArchiveInfo,
        lower: &ArchiveInfo,
        lower_start: i64,
        first: u64,
        last: u64,
        scratch: &mut Scratch,
    ) -> Result<bool> {
        let Scratch {
            bytes,
            neighbors,
            known,
        } = scratch;
        self.read_ring_into(higher, first, last, bytes)?;
        neighbors.clear();
        let mut expected = lower_start;
        for p in bytes.chunks_exact(POINT_SIZE) {
            let (t, v) = decode_point(p);
            neighbors.push((i64::from(t) == expected).then_some(v));
            expected += higher.step();
        }
        known.clear();
        known.extend(neighbors.iter().flatten().copied());
        if known.is_empty() {
            return Ok(false);
        }
        let known_fraction = known.len() as f64 / neighbors.len() as f64;
        if known_fraction < self.header.xff() {
            return Ok(false);
        }
        let value = aggregate(self.header.aggregation, known, neighbors);
        self.write_point(lower, lower_start, value)?;
        Ok(true)
    }

    /// Reads a time range (whisper's `fetch`): the range is clamped to what the
    /// file retains, the first archive that covers `from` is read, and slots
    /// in `(from, until]` come back on the archive's grid. None when the range
    /// is entirely in the future or entirely past retention.
    pub fn fetch(&self, from: i64, until: i64, now: i64) -> Result<Option<Fetched>> {
        self.fetch_inner(from, until, now, None)
    }

    /// Like [`Whisper::fetch`] but reads the archive with the given
    /// seconds per point (whisper's `archiveToSelect`).
    pub fn fetch_granularity(
        &self,
        from: i64,
        until: i64,
        now: i64,
        seconds_per_point: u32,
    ) -> Result<Option<Fetched>> {
        self.fetch_inner(from, until, now, Some(seconds_per_point))
    }

    fn fetch_inner(
        &self,
        from: i64,
        until: i64,
        now: i64,
        granularity: Option<u32>,
    ) -> Result<Option<Fetched>> {
        match self.fetch_plan(from, until, now, granularity)? {
            Some((archive, from, until)) => self.archive_fetch(&archive, from, until).map(Some),
            None => Ok(None),
        }
    }

    /// [`Whisper::fetch`] with NaN for a missing value (and for a stored NaN): for readers
    /// that compute on floats, without an `Option` per value and a second pass to unwrap it.
    pub fn fetch_nan(&self, from: i64, until: i64, now: i64) -> Result<Option<Fetched<f64>>> {
        match self.fetch_plan(from, until, now, None)? {
            Some((archive, from, until)) => self
                .archive_fetch_as(&archive, from, until, f64::NAN, |v| v)
                .map(Some),
            None => Ok(None),
        }
    }

    /// What `fetch` would read: the archive and the range clamped to
    /// retention, or None when nothing is retained there.
    pub(crate) fn fetch_plan(
        &self,
        from: i64,
        until: i64,
        now: i64,
        granularity: Option<u32>,
    ) -> Result<Option<(ArchiveInfo, i64, i64)>> {
        if from > until {
            return Err(Error::InvalidTimeInterval { from, until });
        }
        let oldest = now - i64::from(self.header.max_retention);
        if from > now || until < oldest {
            return Ok(None);
        }
        let from = from.max(oldest);
        let until = until.min(now);
        let age = now - from;
        let archives = &self.header.archives;
        let archive = match granularity.filter(|&g| g != 0) {
            Some(g) => archives
                .iter()
                .find(|a| a.seconds_per_point == g)
                .ok_or(Error::InvalidGranularity(g))?,
            None => archives
                .iter()
                .find(|a| a.retention() >= age)
                .unwrap_or(&archives[archives.len() - 1]),
        };
        Ok(Some((*archive, from, until)))
    }

    /// The slots of one archive on the grid `[first, end)` (both on the
    /// archive's step grid), as a fetch covering them would return them.
    pub(crate) fn grid_fetch(
        &self,
        archive: &ArchiveInfo,
        first: i64,
        end: i64,
    ) -> Result<Vec<Option<f64>>> {
        if end <= first {
            return Ok(Vec::new());
        }
        let step = archive.step();
        Ok(self
            .archive_fetch(archive, first - step, end - step)?
            .values)
    }

    /// Reads `(from, until]` of one archive, without retention checks
    /// (whisper's `__archive_fetch`).
    pub fn archive_fetch(&self, archive: &ArchiveInfo, from: i64, until: i64) -> Result<Fetched> {
        self.archive_fetch_as(archive, from, until, None, Some)
    }

    /// [`Whisper::archive_fetch`] with each value made by `present`, `missing` for an empty
    /// or stale slot.
    fn archive_fetch_as<T: Clone>(
        &self,
        archive: &ArchiveInfo,
        from: i64,
        until: i64,
        missing: T,
        present: impl Fn(f64) -> T,
    ) -> Result<Fetched<T>> {
        let step = archive.step();
        let (from_interval, until_interval) = fetch_intervals(from, until, step);
        let base = self.base(archive)?;
        let mut fetched = Fetched {
            from: from_interval,
            until: until_interval,
            step,
            values: Vec::new(),
        };
        if base == 0 {
            // Python returns one None per step of the range. A header whose
            // maxRetention exceeds its archives could make that any length,
            // so never more than the archive has slots (a no-op for files
            // whose header is consistent).
            let n = (until_interval - from_interval).div_euclid(step).max(0);
            fetched.values = vec![missing; n.min(i64::from(archive.points)) as usize];
            return Ok(fetched);
        }
        let first = Self::slot_offset(archive, base, from_interval);
        let last = Self::slot_offset(archive, base, until_interval);
        // The raw bytes go through a buffer kept by the thread: a render reads a thousand
        // files in a row, and a fresh buffer each time cost an allocation and its free.
        thread_local! {
            static RAW: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        RAW.with(|raw| {
            let mut bytes = raw.borrow_mut();
            self.read_ring_into(archive, first, last, &mut bytes)?;
            // One exact-size pass, no capacity check per value.
            fetched.values = bytes
                .chunks_exact(POINT_SIZE)
                .enumerate()
                .map(|(i, p)| {
                    let (t, v) = decode_point(p);
                    if i64::from(t) == from_interval + i as i64 * step {
                        present(v)
                    } else {
                        missing.clone()
                    }
                })
                .collect();
            // A whole-archive read is not kept for the next, small one.
            if bytes.capacity() > 1 << 20 {
                *bytes = Vec::new();
            }
            Ok(fetched)
        })
    }

    /// The slots [`Whisper::archive_fetch`] would decode, raw and in time order, with
    /// the first slot's interval; None when the archive was never written (the fetch
    /// would be all None). A mapped file lends them as the two pieces of its ring
    /// (the second empty unless the range wraps); otherwise they are read into `buf`.
    pub(crate) fn archive_fetch_slots<'a>(
        &'a self,
        archive: &ArchiveInfo,
        from: i64,
        until: i64,
        buf: &'a mut Vec<u8>,
    ) -> Result<Option<(i64, Slots<'a>)>> {
        let step = archive.step();
        let (from_interval, until_interval) = fetch_intervals(from, until, step);
        let base = self.base(archive)?;
        if base == 0 {
            return Ok(None);
        }
        let first = Self::slot_offset(archive, base, from_interval);
        let last = Self::slot_offset(archive, base, until_interval);
        if let Some(pieces) = self.mapped_ring(archive, first, last) {
            return Ok(Some((from_interval, pieces)));
        }
        self.read_ring_into(archive, first, last, buf)?;
        Ok(Some((from_interval, [buf.as_slice(), &[]])))
    }

    /// What [`Whisper::read_ring`] would read, borrowed from the map: a year-long
    /// merge otherwise copies megabytes into fresh memory, and faulting that memory in
    /// cost more than the rest of the merge. None for pread handles.
    fn mapped_ring(&self, archive: &ArchiveInfo, first: u64, last: u64) -> Option<Slots<'_>> {
        let map: &[u8] = match &self.backing {
            Backing::Map(map) => map,
            Backing::MapRead(map) => map,
            Backing::Pread => return None,
        };
        let start = usize::try_from(archive.offset).ok()?;
        let end = start.checked_add(usize::try_from(archive.size()).ok()?)?;
        let (first, last) = (usize::try_from(first).ok()?, usize::try_from(last).ok()?);
        if first < last {
            Some([map.get(first..last)?, &[]])
        } else {
            Some([map.get(first..end)?, map.get(start..last)?])
        }
    }

    /// Rewrites the aggregation method and, if given, the xFilesFactor
    /// (whisper's `setAggregationMethod`). Returns the old method.
    pub fn set_aggregation(
        &mut self,
        aggregation: Option<Aggregation>,
        x_files_factor: Option<f64>,
    ) -> Result<(Aggregation, f32)> {
        if let Some(x) = x_files_factor {
            check_xff(x)?;
        }
        self.with_lock(|w| {
            let old = (w.header.aggregation, w.header.x_files_factor);
            let mut header = w.header.clone();
            if let Some(a) = aggregation {
                header.aggregation = a;
            }
            if let Some(x) = x_files_factor {
                header.x_files_factor = x as f32;
            }
            // Only the 16 metadata bytes change; the archive count written is
            // the one read, as whisper does.
            let meta = header.encode_metadata();
            w.write_at(0, &meta)?;
            w.header = header;
            Ok(old)
        })
    }

    /// Reads slot `index` of an archive as it is stored.
    pub fn raw_point(&self, archive: &ArchiveInfo, index: u32) -> Result<(u32, f64)> {
        let mut p = [0u8; POINT_SIZE];
        self.read_at(
            u64::from(archive.offset) + u64::from(index) * POINT_SIZE as u64,
            &mut p,
        )?;
        Ok(decode_point(&p))
    }

    /// Reads a whole archive's slots in physical order into `out`.
    pub fn raw_archive(&self, archive: &ArchiveInfo, out: &mut Vec<u8>) -> Result<()> {
        out.resize(archive.size() as usize, 0);
        self.read_at(u64::from(archive.offset), out)
    }
}

/// Raw slots of one archive in time order, as two pieces of its ring: the second is
/// empty unless the range wraps past the ring's end.
pub(crate) type Slots<'a> = [&'a [u8]; 2];

/// The runs of known slots in raw slots read from `first` on: `(start, end)` slot
/// indices, `end` exclusive. A slot is known when it holds the interval of its
/// position, as a fetch decides.
pub(crate) fn known_runs(
    first: i64,
    step: i64,
    slots: &[u8],
) -> impl Iterator<Item = (usize, usize)> + '_ {
    let n = slots.len() / POINT_SIZE;
    let known = move |k: usize| {
        let t = BigEndian::read_u32(&slots[k * POINT_SIZE..]);
        i64::from(t) == first + k as i64 * step
    };
    let mut k = 0;
    std::iter::from_fn(move || {
        while k < n && !known(k) {
            k += 1;
        }
        if k == n {
            return None;
        }
        let start = k;
        while k < n && known(k) {
            k += 1;
        }
        Some((start, k))
    })
}

/// The index of the first known slot in raw slots read from `first` on, in two
/// pieces as [`Whisper::archive_fetch_slots`] gives them.
pub(crate) fn first_known(first: i64, step: i64, pieces: Slots<'_>) -> Option<usize> {
    let skip = pieces[0].len() / POINT_SIZE;
    let (s, _) = known_runs(first, step, pieces[0]).next().or_else(|| {
        let (s, e) = known_runs(first + skip as i64 * step, step, pieces[1]).next()?;
        Some((s + skip, e + skip))
    })?;
    Some(s)
}

/// Encodes a point as stored: big-endian u32 timestamp, big-endian f64.
pub fn encode_point(out: &mut [u8], timestamp: u32, value: f64) {
    BigEndian::write_u32(&mut out[0..4], timestamp);
    BigEndian::write_f64(&mut out[4..12], value);
}

/// Decodes a stored point.
pub fn decode_point(p: &[u8]) -> (u32, f64) {
    (
        BigEndian::read_u32(&p[0..4]),
        BigEndian::read_f64(&p[4..12]),
    )
}

/// whisper's fetch range over `(from, until]`: the interval after each end, at least one
/// step apart.
fn fetch_intervals(from: i64, until: i64, step: i64) -> (i64, i64) {
    let from_interval = align(from, step) + step;
    let until_interval = align(until, step) + step;
    if from_interval == until_interval {
        (from_interval, until_interval + step)
    } else {
        (from_interval, until_interval)
    }
}
