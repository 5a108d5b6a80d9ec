//! Everything under Charcoal's data directory that outlives a request: the
//! rules that decide a new whisper file's layout (storage-schemas.conf and
//! storage-aggregation.conf, read as carbon reads them) and the persister
//! threads that move points from the write cache into whisper files.
//!
//! The metric index and cache-over-disk reads join this crate with the read
//! path.

#![deny(missing_docs)]

pub mod filters;
pub mod ini;
pub mod persister;
pub mod schemas;
pub mod throttle;

pub use schemas::{AggregationRule, NewFile, Rules, RulesError, Schema, Skipped};
