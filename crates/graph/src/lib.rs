//! graphite-web's graphs: evaluated series and graph options in, PNG, SVG or PDF bytes out.
//!
//! graphite-web 1.1.8 draws with cairo (`graphite/render/glyph.py`: `LineGraph` and
//! `PieGraph`). This crate reproduces its drawing rules — layout, axes, labels, legend,
//! colours, consolidation of points to pixels — in our own code, so that an `<img>` pointed
//! at Charcoal shows the picture graphite-web would have shown. It is pure: no files, no
//! clock (the time zone and "now" are parameters), fonts embedded, so a picture does not
//! depend on the host.
//!
//! Built so far: [`color`], graphite-web's colour names and strings; [`template`],
//! graphTemplates.conf's defaults; [`xaxis`], the time axis' grid and label spacing;
//! [`yaxis`], a linear y axis' limits, step and labels; [`font`], text measured as cairo
//! measures it, with DejaVu Sans embedded.

#![deny(missing_docs)]

pub mod color;
pub mod font;
pub mod template;
pub mod xaxis;
pub mod yaxis;
