//! The header: metadata and the archive table, and the rules an archive list
//! must follow.
//!
//! Layout (big-endian): `aggregationType:u32 maxRetention:u32 xFilesFactor:f32
//! archiveCount:u32`, then `offset:u32 secondsPerPoint:u32 points:u32` per
//! archive. See FORMAT.md.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use byteorder::{BigEndian, ByteOrder};

use crate::error::{Error, Result};

/// Size of the fixed metadata block.
pub const METADATA_SIZE: usize = 16;
/// Size of one archive-table entry.
pub const ARCHIVE_INFO_SIZE: usize = 12;
/// Size of one stored point (`timestamp:u32 value:f64`).
pub const POINT_SIZE: usize = 12;

/// How a lower-precision archive summarises the points of the archive above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregation {
    /// Mean of the known values.
    Average = 1,
    /// Sum of the known values.
    Sum = 2,
    /// The chronologically last known value.
    Last = 3,
    /// Largest known value.
    Max = 4,
    /// Smallest known value.
    Min = 5,
    /// Sum with unknown slots counted as zero, divided by every slot.
    AvgZero = 6,
    /// Known value with the largest magnitude (first wins on ties).
    AbsMax = 7,
    /// Known value with the smallest magnitude (first wins on ties).
    AbsMin = 8,
}

impl Aggregation {
    /// Every method, in code order (the order Python whisper lists them).
    pub const ALL: [Aggregation; 8] = [
        Aggregation::Average,
        Aggregation::Sum,
        Aggregation::Last,
        Aggregation::Max,
        Aggregation::Min,
        Aggregation::AvgZero,
        Aggregation::AbsMax,
        Aggregation::AbsMin,
    ];

    /// The on-disk code.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The method for an on-disk code, if it is one whisper knows.
    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.get(code.checked_sub(1)? as usize).copied()
    }

    /// Whisper's name for the method (`avg_zero`, `absmax`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Aggregation::Average => "average",
            Aggregation::Sum => "sum",
            Aggregation::Last => "last",
            Aggregation::Max => "max",
            Aggregation::Min => "min",
            Aggregation::AvgZero => "avg_zero",
            Aggregation::AbsMax => "absmax",
            Aggregation::AbsMin => "absmin",
        }
    }
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Aggregation {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| Error::InvalidAggregationMethod(s.to_string()))
    }
}

/// One archive as asked for: a step and a number of points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArchiveSpec {
    /// Seconds between two points.
    pub seconds_per_point: u32,
    /// Number of slots in the ring.
    pub points: u32,
}

impl ArchiveSpec {
    /// Builds a spec.
    pub fn new(seconds_per_point: u32, points: u32) -> Self {
        ArchiveSpec {
            seconds_per_point,
            points,
        }
    }

    /// Seconds covered: step × points.
    pub fn retention(&self) -> u64 {
        u64::from(self.seconds_per_point) * u64::from(self.points)
    }
}

impl fmt::Display for ArchiveSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.seconds_per_point, self.points)
    }
}

/// One archive as stored: where it starts and its geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArchiveInfo {
    /// Byte offset of the first slot.
    pub offset: u32,
    /// Seconds between two points.
    pub seconds_per_point: u32,
    /// Number of slots in the ring.
    pub points: u32,
}

impl ArchiveInfo {
    /// Seconds covered: step × points.
    pub fn retention(&self) -> i64 {
        i64::from(self.seconds_per_point) * i64::from(self.points)
    }

    /// Bytes taken by the ring.
    pub fn size(&self) -> u64 {
        u64::from(self.points) * POINT_SIZE as u64
    }

    /// The step as a signed number, for time arithmetic.
    pub fn step(&self) -> i64 {
        i64::from(self.seconds_per_point)
    }

    /// The geometry without the offset.
    pub fn spec(&self) -> ArchiveSpec {
        ArchiveSpec::new(self.seconds_per_point, self.points)
    }
}

/// A decoded header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// How lower archives are filled.
    pub aggregation: Aggregation,
    /// Stored at create time as the largest archive retention; never
    /// recomputed, and what `update`/`fetch` compare ages against.
    pub max_retention: u32,
    /// Fraction of known points needed to propagate, as stored (32-bit).
    pub x_files_factor: f32,
    /// The archive table in file order (highest precision first in files
    /// whisper wrote).
    pub archives: Vec<ArchiveInfo>,
}

impl Header {
    /// Builds the header `create` writes for a validated, sorted archive list.
    pub fn for_archives(
        archives: &[ArchiveSpec],
        aggregation: Aggregation,
        x_files_factor: f32,
    ) -> Header {
        let mut offset = Self::size_for(archives.len()) as u32;
        let mut infos = Vec::with_capacity(archives.len());
        for a in archives {
            infos.push(ArchiveInfo {
                offset,
                seconds_per_point: a.seconds_per_point,
                points: a.points,
            });
            offset = offset.wrapping_add(a.points.wrapping_mul(POINT_SIZE as u32));
        }
        let max_retention = archives
            .iter()
            .map(|a| a.seconds_per_point.wrapping_mul(a.points))
            .max()
            .unwrap_or(0);
        Header {
            aggregation,
            max_retention,
            x_files_factor,
            archives: infos,
        }
    }

    /// Header size for `n` archives.
    pub fn size_for(n: usize) -> usize {
        METADATA_SIZE + ARCHIVE_INFO_SIZE * n
    }

    /// This header's size in bytes.
    pub fn size(&self) -> usize {
        Self::size_for(self.archives.len())
    }

    /// The xFilesFactor widened to f64, as Python reads and compares it.
    pub fn xff(&self) -> f64 {
        f64::from(self.x_files_factor)
    }

    /// Where the data of the last archive ends: the file size whisper creates.
    pub fn data_end(&self) -> u64 {
        self.archives
            .iter()
            .map(|a| u64::from(a.offset) + a.size())
            .max()
            .unwrap_or(self.size() as u64)
    }

    /// Decodes the metadata block only (16 bytes). Returns the header with an
    /// empty archive table and the archive count to read next.
    pub fn parse_metadata(bytes: &[u8], path: &Path) -> Result<(Header, u32)> {
        let corrupt = || Error::CorruptHeader {
            path: path.to_path_buf(),
        };
        if bytes.len() < METADATA_SIZE {
            return Err(corrupt());
        }
        let aggregation =
            Aggregation::from_code(BigEndian::read_u32(&bytes[0..4])).ok_or_else(corrupt)?;
        let max_retention = BigEndian::read_u32(&bytes[4..8]);
        let x_files_factor = BigEndian::read_f32(&bytes[8..12]);
        let count = BigEndian::read_u32(&bytes[12..16]);
        // `not 0 <= xff <= 1` in Python: NaN fails too.
        if !(0.0..=1.0).contains(&x_files_factor) {
            return Err(corrupt());
        }
        let header = Header {
            aggregation,
            max_retention,
            x_files_factor,
            archives: Vec::new(),
        };
        Ok((header, count))
    }

    /// Decodes a whole header from the start of a file's bytes. Checks what
    /// Python whisper checks and no more; [`Header::check_layout`] adds the
    /// checks needed before touching the data.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Header> {
        let (mut header, count) = Self::parse_metadata(bytes, path)?;
        let mut pos = METADATA_SIZE;
        for index in 0..count {
            let Some(entry) = bytes.get(pos..pos + ARCHIVE_INFO_SIZE) else {
                return Err(Error::CorruptArchiveInfo {
                    index,
                    path: path.to_path_buf(),
                });
            };
            header.archives.push(ArchiveInfo {
                offset: BigEndian::read_u32(&entry[0..4]),
                seconds_per_point: BigEndian::read_u32(&entry[4..8]),
                points: BigEndian::read_u32(&entry[8..12]),
            });
            pos += ARCHIVE_INFO_SIZE;
        }
        Ok(header)
    }

    /// Checks that every archive can be addressed safely inside a file of
    /// `file_len` bytes: at least one archive, non-zero step and points, the
    /// ring within the file. Python whisper does not check this (it would
    /// read short or write past the end); we refuse instead.
    pub fn check_layout(&self, file_len: u64, path: &Path) -> Result<()> {
        let bad = |index: usize, reason: String| Error::CorruptArchive {
            index,
            path: path.to_path_buf(),
            reason,
        };
        if self.archives.is_empty() {
            return Err(Error::CorruptHeader {
                path: path.to_path_buf(),
            });
        }
        for (i, a) in self.archives.iter().enumerate() {
            if a.seconds_per_point == 0 {
                return Err(bad(i, "zero seconds per point".into()));
            }
            if a.points == 0 {
                return Err(bad(i, "zero points".into()));
            }
            if (a.offset as usize) < self.size() {
                return Err(bad(i, format!("offset {} inside the header", a.offset)));
            }
            let end = u64::from(a.offset) + a.size();
            if end > file_len {
                return Err(bad(
                    i,
                    format!("data ends at byte {end}, past the end of the file ({file_len} bytes)"),
                ));
            }
        }
        Ok(())
    }

    /// Encodes the 16-byte metadata block.
    pub fn encode_metadata(&self) -> [u8; METADATA_SIZE] {
        let mut out = [0u8; METADATA_SIZE];
        BigEndian::write_u32(&mut out[0..4], self.aggregation.code());
        BigEndian::write_u32(&mut out[4..8], self.max_retention);
        BigEndian::write_f32(&mut out[8..12], self.x_files_factor);
        BigEndian::write_u32(&mut out[12..16], self.archives.len() as u32);
        out
    }

    /// Encodes the whole header.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size());
        out.extend_from_slice(&self.encode_metadata());
        for a in &self.archives {
            let mut entry = [0u8; ARCHIVE_INFO_SIZE];
            BigEndian::write_u32(&mut entry[0..4], a.offset);
            BigEndian::write_u32(&mut entry[4..8], a.seconds_per_point);
            BigEndian::write_u32(&mut entry[8..12], a.points);
            out.extend_from_slice(&entry);
        }
        out
    }
}

/// Sorts an archive list by precision and applies whisper's five rules
/// (`validateArchiveList`), with its messages.
pub fn validate_archive_list(archives: &mut [ArchiveSpec]) -> Result<()> {
    if archives.is_empty() {
        return Err(Error::InvalidConfiguration(
            "You must specify at least one archive configuration!".into(),
        ));
    }
    archives.sort_by_key(|a| a.seconds_per_point);
    for i in 0..archives.len() - 1 {
        let (a, b) = (archives[i], archives[i + 1]);
        if a.seconds_per_point == 0 {
            return Err(Error::InvalidConfiguration(format!(
                "archive{i}: a precision of zero seconds is not allowed"
            )));
        }
        if a.seconds_per_point >= b.seconds_per_point {
            return Err(Error::InvalidConfiguration(format!(
                "A Whisper database may not be configured having two archives with the same \
                 precision (archive{i}: {a}, archive{}: {b})",
                i + 1
            )));
        }
        if b.seconds_per_point % a.seconds_per_point != 0 {
            return Err(Error::InvalidConfiguration(format!(
                "Higher precision archives' precision must evenly divide all lower precision \
                 archives' precision (archive{i}: {}, archive{}: {})",
                a.seconds_per_point,
                i + 1,
                b.seconds_per_point
            )));
        }
        if b.retention() <= a.retention() {
            return Err(Error::InvalidConfiguration(format!(
                "Lower precision archives must cover larger time intervals than higher \
                 precision archives (archive{i}: {} seconds, archive{}: {} seconds)",
                a.retention(),
                i + 1,
                b.retention()
            )));
        }
        let per = b.seconds_per_point / a.seconds_per_point;
        if a.points < per {
            return Err(Error::InvalidConfiguration(format!(
                "Each archive must have at least enough points to consolidate to the next \
                 archive (archive{} consolidates {per} of archive{i}'s points but it has only \
                 {} total points)",
                i + 1,
                a.points
            )));
        }
    }
    let last = archives[archives.len() - 1];
    if last.seconds_per_point == 0 || last.points == 0 {
        return Err(Error::InvalidConfiguration(format!(
            "archive{}: {last} has no precision or no points",
            archives.len() - 1
        )));
    }
    // Offsets are u32 on disk: the file must stay addressable.
    let total: u64 = archives.iter().map(|a| u64::from(a.points)).sum::<u64>() * POINT_SIZE as u64
        + Header::size_for(archives.len()) as u64;
    if total > u64::from(u32::MAX) {
        return Err(Error::InvalidConfiguration(format!(
            "the archives need {total} bytes, more than a whisper file can address"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_matches_the_verified_example() {
        // `10s:1m 60:5m`, sum, xff 0.1: offsets 40 and 112, 172 bytes.
        let mut specs = vec![ArchiveSpec::new(60, 5), ArchiveSpec::new(10, 6)];
        validate_archive_list(&mut specs).unwrap();
        let h = Header::for_archives(&specs, Aggregation::Sum, 0.1);
        assert_eq!(h.archives[0].offset, 40);
        assert_eq!(h.archives[1].offset, 112);
        assert_eq!(h.data_end(), 172);
        let bytes = h.encode();
        assert_eq!(
            &bytes[..12],
            &[0, 0, 0, 2, 0, 0, 1, 0x2c, 0x3d, 0xcc, 0xcc, 0xcd]
        );
        assert_eq!(Header::parse(&bytes, Path::new("x")).unwrap(), h);
    }

    #[test]
    fn validation_rules() {
        let f = |specs: &[(u32, u32)], ok: bool| {
            let mut v: Vec<ArchiveSpec> =
                specs.iter().map(|&(s, p)| ArchiveSpec::new(s, p)).collect();
            assert_eq!(validate_archive_list(&mut v).is_ok(), ok, "{specs:?}");
        };
        f(&[], false);
        f(&[(60, 1440)], true);
        f(&[(10, 2160), (60, 10080), (600, 262800)], true);
        f(&[(60, 10), (60, 20)], false); // same precision
        f(&[(60, 100), (90, 100)], false); // does not divide
        f(&[(60, 100), (120, 50)], false); // same retention
        f(&[(60, 3), (300, 100)], false); // too few points to consolidate
        f(&[(0, 10)], false);
        f(&[(10, 0)], false);
    }

    #[test]
    fn corrupt_headers_are_errors() {
        let p = Path::new("x");
        assert!(Header::parse(&[], p).is_err());
        let mut h =
            Header::for_archives(&[ArchiveSpec::new(60, 10)], Aggregation::Average, 0.5).encode();
        h[3] = 9; // unknown aggregation
        assert!(Header::parse(&h, p).is_err());
        let mut h =
            Header::for_archives(&[ArchiveSpec::new(60, 10)], Aggregation::Average, 0.5).encode();
        h[8..12].copy_from_slice(&2.0f32.to_be_bytes());
        assert!(Header::parse(&h, p).is_err());
        let h = Header::for_archives(&[ArchiveSpec::new(60, 10)], Aggregation::Average, 0.5);
        let bytes = h.encode();
        assert!(matches!(
            Header::parse(&bytes[..20], p),
            Err(Error::CorruptArchiveInfo { index: 0, .. })
        ));
        assert!(h.check_layout(28 + 119, p).is_err());
        assert!(h.check_layout(28 + 120, p).is_ok());
    }
}
