//! graphite-web's render language: what `target=`, `from=`, `until=` and `now=` mean.
//!
//! This crate is the query side of Charcoal's read path (DESIGN.md "One read"): the HTTP layer
//! (`charcoal-api`) hands it the request's strings, and it answers with series. It is pure and
//! synchronous: no I/O, no clocks (the caller passes `now`), no async. Storage is reached
//! through the [`Source`] trait (STYLE.md §7.3), so every stage is tested with an in-memory
//! fake ([`MemorySource`]).
//!
//! # Layout
//!
//! | module | owns | spec |
//! |---|---|---|
//! | [`parser`] | the target grammar: [`parse_target`] → [`Target`], [`ParseError`] | compat notes §5 (grammar) |
//! | [`ast`] | the tree: [`Expr`], [`Call`], [`Template`], byte [`Span`]s into the source, the normalized text (`Display`) | §5 |
//! | [`template`] | `template(...)` substitution of `$name` paths: [`expand_templates`] | §3.1 (`template[name]=`), §5 |
//! | [`time`] | the `from`/`until`/`now` grammar: [`parse_at_time`], [`parse_time_offset`], [`time_range`] | §3.2 |
//! | [`series`] | [`Series`] (values with NaN for null, lazy `valuesPerPoint`) and [`Tags`] | §3.1 |
//! | [`source`] | the [`Source`] trait (find, fetch, tags, events) and [`MemorySource`] | — |
//! | [`eval`] | the evaluator: [`evaluate_targets`], [`Request`], [`Ctx`], [`Limits`] | §5 |
//! | [`registry`] | function declarations ([`registry::FunctionDef`], [`registry::Param`]) and argument binding | §3.6, §5 |
//! | [`functions`] | the function library, one module per graphite-web group | §5 |
//! | [`aggfunc`] | aggregation and consolidation functions | §5 |
//! | [`consolidate`] | `maxDataPoints` | §3.1 |
//! | [`pyre`] | Python `re` semantics (`re.sub` templates) on the `regex` crate | §4 |
//! | [`value`], [`error`] | evaluated arguments; [`EvalError`] | — |
//!
//! # Read path (this layer)
//!
//! `target` string → [`parse_target`] → [`Target`] (tree + source) → [`expand_templates`]
//! (with the request's `template[name]=value` pairs) → [`evaluate_targets`] (paths through
//! the [`Source`], calls through the [`registry`]) → series → [`consolidate`] (json only).
//! `from`/`until`/`now` strings + `tz` → [`time_range`] → epoch seconds.
//!
//! # Guarantees
//!
//! - **graphite-web's grammar, checked against graphite-web.** For every target graphite-web
//!   1.1.8 parses completely, [`parse_target`] builds the same tree; for every time string,
//!   [`parse_at_time`] gives the same epoch second or also refuses; [`expand_templates`]
//!   substitutes what graphite-web's evaluator substitutes. The differential tests run
//!   thousands of generated inputs through graphite-web's own `grammar.py`, `attime.py` and
//!   `evaluator.py` (`tests/graphite_differential.rs`).
//! - **No panics, bounded work.** Both parsers are fuzzed (`fuzz/`); nesting is limited to
//!   [`parser::MAX_DEPTH`], and the target parser remembers parsed calls so graphite's ordered
//!   choices cannot make it exponential.
//! - **Source text survives.** Every node keeps its byte [`Span`], so later stages can name
//!   series and report errors with exactly what the user typed.
//!
//! Where behaviour differs from graphite-web on purpose, the item's docs say so under
//! "Differs from graphite-web".
#![deny(missing_docs)]

pub mod aggfunc;
pub mod ast;
pub mod consolidate;
pub mod error;
pub mod eval;
pub mod functions;
pub mod parser;
pub mod pyre;
pub mod registry;
pub mod series;
pub mod source;
pub mod template;
pub mod time;
pub mod value;

pub use ast::{Call, Expr, ExprKind, KwArg, Span, Target, Template};
pub use error::EvalError;
pub use eval::{Ctx, Limits, Request, evaluate_targets};
pub use parser::{ParseError, parse_target};
pub use series::{Series, Tags};
pub use source::{Fetched, MemorySource, Node, Source, SourceError};
pub use template::{TemplateError, expand_templates};
pub use time::{TimeError, TimeRange, parse_at_time, parse_time_offset, time_range, time_zone};
