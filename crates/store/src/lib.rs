//! Everything under Charcoal's data directory that outlives a request: the
//! rules that decide a new whisper file's layout (storage-schemas.conf and
//! storage-aggregation.conf, read as carbon reads them).
//!
//! The persisters, the metric index and cache-over-disk reads join this crate
//! with the write path; the rules come first because every other piece asks
//! them what a new file looks like.

#![deny(missing_docs)]

pub mod ini;
pub mod schemas;

pub use schemas::{AggregationRule, NewFile, Rules, RulesError, Schema, Skipped};
