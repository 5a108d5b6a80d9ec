//! Charcoal's storage directory as one unit: [`Store`].
//!
//! Every producer of points (the carbon receivers, the write-ahead log's replay) goes
//! through [`Store::ingest`]; every reader (the render API, carbonlink) through the
//! store's finds and fetches. The store owns the parts and the order between them; the
//! server binary only opens it, hands it to its listeners and stops it.
//!
//! # Layout
//! | module | owns |
//! |---|---|
//! | [`store`] | [`Store`]: open, ingest, find, fetch, tags, events, carbonlink, stop |
//! | [`lock`] | one server per storage directory |
//! | [`names`] | a metric name → its whisper file and its index name |
//! | [`schemas`], [`ini`] | storage-schemas.conf and storage-aggregation.conf, read as carbon reads them |
//! | [`filters`] | whitelist.conf and blacklist.conf |
//! | [`persister`], [`throttle`] | the threads that write the cache into whisper files, carbon's rate limits |
//! | [`wal`] | the write-ahead log |
//! | [`index`] | every stored name in memory (finds never walk the disk) |
//! | [`tags`] | the tag index and its log (`seriesByTag`, `/tags/*`) |
//! | [`reader`] | a file's values overlaid with the cache's unwritten points |
//! | [`events`] | graphite-web's events (annotations) in SQLite |
//!
//! # Guarantees
//! - **One owner.** [`Store::open`] takes an exclusive lock on the storage directory
//!   before it reads or replays anything; a second server on the same directory is refused
//!   with the holder's PID and changes nothing.
//! - **Readable once accepted.** A point is in the cache, and its name in the metric index
//!   (and, tagged, in the tag index), when [`Store::ingest`] returns: finds, renders,
//!   `seriesByTag()` and carbonlink see it from then until long after it is in its file.
//! - **Durable when logged.** With the write-ahead log on, a point [`Store::ingest`]
//!   accepted survives a killed process (it is in the kernel's page cache when the log's
//!   thread has written it, microseconds later) and a power loss after the next sync
//!   (`--wal-sync-interval`). A restart replays the log through the same ingest, so what a
//!   crash interrupted is found and rendered at once, before any file exists. With the log
//!   off (carbon's behaviour) a killed process loses what its cache held.
//! - **One writer per file.** Only the persister thread that owns a metric's cache shard
//!   writes its file, points and metadata alike; files are created with the first
//!   storage-schemas and storage-aggregation rule that matches.
//! - **Nothing dropped.** A failed write keeps its points in the cache and retries; the
//!   cache's limit stops the receivers reading instead of refusing points.
//! - **Stop writes everything.** [`Store::stop`] writes the whole cache, syncs the
//!   filesystem, deletes the log's segments once their points are written and syncs the
//!   tag log.
//! - **Idle is idle.** With nothing to write the persister threads sleep until points
//!   arrive.
//!
//! Everything here blocks (file I/O, threads, locks held briefly): async callers use their
//! blocking pool for anything but ingest and the in-memory lookups.

#![deny(missing_docs)]

pub mod events;
pub mod filters;
pub mod index;
pub mod ini;
pub mod lock;
pub mod names;
pub mod persister;
pub mod reader;
pub mod schemas;
pub mod store;
pub mod tags;
pub mod throttle;
pub mod wal;

pub use schemas::{AggregationRule, NewFile, Rules, RulesError, Schema, Skipped};
pub use store::{
    FilterCounters, FindError, MetadataError, OpenReport, Store, StoreConfig, StoreError,
    WalSettings,
};
