//! The whisper time-series file format, byte-compatible with Python whisper
//! 1.1 (what carbon-cache writes and graphite-web reads).
//!
//! # Overview
//! A whisper file is a header followed by fixed-size ring buffers
//! ("archives"), finest precision first. [`create`] makes one, [`Whisper`]
//! opens one and offers [`Whisper::update`], [`Whisper::update_many`] and
//! [`Whisper::fetch`]; [`merge`], [`diff`], [`fill`] and the resize helpers
//! work across two files. `FORMAT.md` beside this crate describes the bytes
//! and the rules in our words.
//!
//! # Guarantees
//! - Same operations, same bytes: a file created and updated here is
//!   identical to one Python whisper produces from the same calls with the
//!   same `now` (the tests check this against python3-whisper).
//! - Never out of bounds: every header is checked against the file size
//!   before data is touched; a corrupt, truncated or hostile file is an
//!   [`Error`], never a panic.
//! - Time is explicit: every call that depends on the clock takes `now`, so
//!   results are reproducible; callers pass the wall clock.
//! - Locking is opt-in ([`OpenOptions::lock`]), with the same `flock` carbon
//!   and Python whisper use, held for the duration of one write call.
//!
//! This crate is synchronous and does no I/O beyond the file it is given.

#![deny(missing_docs)]

mod aggregate;
mod blocks;
mod error;
mod file;
mod header;
mod ops;
mod pyset;
mod resize;
mod retention;

pub use aggregate::aggregate;
pub use error::{Error, Result};
pub use file::{
    Access, Allocation, CreateOptions, Fetched, OpenOptions, Whisper, create, decode_point,
    encode_point, info,
};
pub use header::{
    ARCHIVE_INFO_SIZE, Aggregation, ArchiveInfo, ArchiveSpec, Header, METADATA_SIZE, POINT_SIZE,
    validate_archive_list,
};
pub use ops::{ArchiveDiff, diff, fill, merge};
pub use resize::{CHUNK_POINTS, Progress, ResizeMode, resize_chunked, resize_into};
pub use retention::parse_retention_def;

/// The current time as whisper uses it: whole seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
