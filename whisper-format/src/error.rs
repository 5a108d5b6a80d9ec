//! The one error type of the crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong reading or writing a whisper file.
///
/// The variants mirror the exceptions of Python whisper (`InvalidConfiguration`,
/// `InvalidAggregationMethod`, `InvalidXFilesFactor`, `InvalidTimeInterval`,
/// `TimestampNotCovered`, `CorruptWhisperFile`) so the tools can print the
/// same messages, plus the checks Python does not make (an archive that lies
/// past the end of the file) because we never read or write out of bounds.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The archive list breaks one of whisper's validation rules.
    #[error("{0}")]
    InvalidConfiguration(String),
    /// An aggregation method name or code whisper does not know.
    #[error("Unrecognized aggregation method: {0}")]
    InvalidAggregationMethod(String),
    /// An xFilesFactor outside 0..=1 or not a number.
    #[error("Invalid xFilesFactor {0}, not between 0 and 1")]
    InvalidXFilesFactor(String),
    /// `from` is after `until`.
    #[error("Invalid time interval: from time '{from}' is after until time '{until}'")]
    InvalidTimeInterval {
        /// Requested start.
        from: i64,
        /// Requested end.
        until: i64,
    },
    /// A single-point update whose timestamp no archive covers.
    #[error("Timestamp not covered by any archives in this database.")]
    TimestampNotCovered,
    /// A retention definition such as `60:1d` that does not parse.
    #[error("{0}")]
    InvalidRetention(String),
    /// A granularity asked of `fetch` that no archive has.
    #[error("Invalid granularity: {0}")]
    InvalidGranularity(u32),
    /// The header cannot be decoded: too short, unknown aggregation code,
    /// xFilesFactor outside 0..=1.
    #[error("Unable to read header ({path})")]
    CorruptHeader {
        /// The file.
        path: PathBuf,
    },
    /// The archive table is cut short.
    #[error("Unable to read archive{index} metadata ({path})")]
    CorruptArchiveInfo {
        /// Which archive's entry is missing.
        index: u32,
        /// The file.
        path: PathBuf,
    },
    /// An archive's points lie (partly) beyond the end of the file, or its
    /// geometry is impossible (zero step or zero points).
    #[error("archive {index} of {path} is corrupt: {reason}")]
    CorruptArchive {
        /// Which archive.
        index: usize,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Two files that must share an archive layout (merge, diff) do not.
    #[error("{a} and {b} archive configurations are unalike. Resize the input before {op}")]
    UnalikeArchives {
        /// First file.
        a: PathBuf,
        /// Second file.
        b: PathBuf,
        /// "merging" or "diffing".
        op: &'static str,
    },
    /// A point or range outside what the 32-bit on-disk timestamps can hold.
    #[error("timestamp {0} does not fit a whisper file (0..=4294967295)")]
    TimestampOutOfRange(i64),
    /// The file exists where `create` was asked to make a new one.
    #[error("File {0} already exists!")]
    AlreadyExists(PathBuf),
    /// Any other I/O failure, with the file it happened on.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) trait IoContext<T> {
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}
