//! The render function library, one module per graphite-web group (the group `/functions`
//! reports for it), each exporting its declarations as `FUNCTIONS`.
//!
//! Every function is a [`FunctionDef`]: name, group, parameters (checked by
//! [`crate::registry::Args::bind`] before the function runs) and a plain Rust function over
//! [`Series`](crate::series::Series). Names, tags, null handling and step normalisation
//! follow graphite-web 1.1's `render/functions.py`; the module docs list what differs.
//! Helpers every group shares live in [`common`].

use crate::registry::FunctionDef;

pub mod common;

mod alias;
mod calculate;
mod combine;
mod filter;
mod graph;
mod sort;
mod special;
mod transform;

/// Every group's declarations, in graphite-web's group order.
pub(crate) const ALL: &[&[FunctionDef]] = &[
    combine::FUNCTIONS,
    transform::FUNCTIONS,
    calculate::FUNCTIONS,
    filter::FUNCTIONS,
    sort::FUNCTIONS,
    alias::FUNCTIONS,
    graph::FUNCTIONS,
    special::FUNCTIONS,
];
