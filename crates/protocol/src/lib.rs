//! Carbon's wire formats, as pure functions over bytes: no I/O, no async, no clocks.
//!
//! Everything a Charcoal receiver takes off a socket passes through this crate before it
//! reaches the cache, so this is where hostile input is stopped. The receivers own sockets,
//! buffers, limits and counters; this crate only says what the bytes mean
//! (STYLE.md §7.1: transport, codec and sink stay apart).
//!
//! # Layout
//!
//! | module | owns | spec |
//! |---|---|---|
//! | [`metric_name`] | [`MetricName`]: the one validated, normalised, path-safe metric name, tag syntax, name → whisper path | compat notes §2.6 |
//! | [`plaintext`] | one `<metric> <value> <timestamp>` line; a line splitter that keeps incomplete tails | §2.1 |
//! | [`glob`] | graphite path patterns (`{a,b}`, `*`, `?`, `[a-z]`, `**`) matched node by node as graphite-web's finder does | §3.3 |
//! | [`framing`] | 4-byte big-endian length-prefixed frames (pickle receiver, carbonlink) | §2.2, §2.3 |
//! | [`pickle`] | a restricted pickle decoder (data opcodes only, protocols 0–5), carbon's batch semantics, a protocol-2 encoder | §2.2 |
//! | [`carbonlink`] | cache-query requests and responses | §2.3 |
//! | [`pynum`] | Python's `float()` and `int()` text grammars, which carbon applies to every number it receives | §2.1 |
//!
//! # Write path
//!
//! plaintext: socket bytes → [`plaintext::LineSplitter`] → [`plaintext::parse_line`] →
//! [`plaintext::Datapoint`] (a [`MetricName`] and two `f64`s). pickle: socket bytes →
//! [`framing::split_frame`] → [`pickle::decode_carbon_batch`] → raw `(path, ts, value)`
//! triples → [`MetricName::parse`]. The per-datapoint rules carbon applies after parsing
//! (NaN dropped, `-1` means now, `MIN_TIMESTAMP_RESOLUTION`) have helpers in [`plaintext`].
//!
//! # Guarantees
//!
//! - **No execution.** The pickle decoder knows only data opcodes; `GLOBAL`, `REDUCE`,
//!   `BUILD` and every other opcode that can name or call code is an error, and there is no
//!   code path that could resolve a name.
//! - **Bounded work and memory.** Every allocation is bounded by the input's length and a
//!   constant limit, never by a length prefix alone; nesting is depth-checked and the decoder
//!   is iterative, so no input can overflow the stack.
//! - **No escape from the data directory.** [`MetricName::relative_path`] never yields an
//!   absolute path, a `..` or `.` component, an empty component or a NUL byte; the tests
//!   prove it with a property test.
//! - **Incomplete is not invalid.** Splitters report "need more bytes" as a normal state and
//!   an over-long line without losing the lines after it.
//!
//! Where behaviour differs from carbon 1.1.7 on purpose, the item's docs say so under
//! "Differs from carbon".
#![deny(missing_docs)]

pub mod carbonlink;
pub mod framing;
pub mod glob;
pub mod metric_name;
pub mod name_batch;
pub mod pickle;
pub mod plaintext;
pub mod pynum;

pub use metric_name::{MetricName, MetricNameRef, NameError};
pub use name_batch::{Batch, NameBatch, Sample};
