//! Everything under Charcoal's data directory that outlives a request: the
//! rules that decide a new whisper file's layout (storage-schemas.conf and
//! storage-aggregation.conf, read as carbon reads them) and the persister
//! threads that move points from the write cache into whisper files.
//!
//! For the read path it owns the metric index (every stored name, in memory,
//! updated as files are created) and the reader that overlays the cache's
//! unwritten points on a file's values, and the events database (graphite-web's
//! annotations, [`events`]).

#![deny(missing_docs)]

pub mod events;
pub mod filters;
pub mod index;
pub mod ini;
pub mod persister;
pub mod reader;
pub mod schemas;
pub mod tags;
pub mod throttle;
pub mod wal;

pub use schemas::{AggregationRule, NewFile, Rules, RulesError, Schema, Skipped};
