//! The Special group: generators, consolidation settings and tag selection.
//!
//! # Differs from graphite-web
//!
//! `setXFilesFactor` also sets the request's xFilesFactor in graphite-web, so functions
//! evaluated after it in the same request (an enclosing `sumSeries`, or a later target)
//! use it as their default. Charcoal sets it on the series only (which is what
//! `maxDataPoints` consolidation and later normalisation read).

use crate::aggfunc::{CONSOLIDATION_NAMES, Consolidation};
use crate::error::EvalError;
use crate::eval::Ctx;
use crate::registry::{Args, FunctionDef, Param, ParamType as T};
use crate::series::Series;

use super::common::repr;

const X_FILES_FACTOR: &[Param] = &[
    Param::req("seriesList", T::SeriesList),
    Param::req("xFilesFactor", T::Float),
];

/// Declarations.
pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    FunctionDef {
        name: "constantLine",
        group: "Special",
        params: &[Param::req("value", T::Float)],
        aggregator: false,
        summary: "A horizontal line at a value over the requested range (three points).",
        run: constant_line_fn,
    },
    FunctionDef {
        name: "consolidateBy",
        group: "Special",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::req("consolidationFunc", T::String).options(CONSOLIDATION_NAMES),
        ],
        aggregator: false,
        summary: "Sets how the series are consolidated when there are more points than maxDataPoints.",
        run: consolidate_by,
    },
    FunctionDef {
        name: "substr",
        group: "Special",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::new("start", T::Node).default(crate::registry::Default::Int(0)),
            Param::new("stop", T::Node).default(crate::registry::Default::Int(0)),
        ],
        aggregator: false,
        summary: "Names each series by a slice of the nodes of its metric name.",
        run: substr,
    },
    FunctionDef {
        name: "cumulative",
        group: "Special",
        params: &[Param::req("seriesList", T::SeriesList)],
        aggregator: false,
        summary: "Consolidates the series by summing (same as consolidateBy(..., \"sum\")).",
        run: cumulative,
    },
    FunctionDef {
        name: "setXFilesFactor",
        group: "Special",
        params: X_FILES_FACTOR,
        aggregator: false,
        summary: "Sets the fraction of non-null values a consolidated point needs.",
        run: set_x_files_factor,
    },
    FunctionDef {
        name: "xFilesFactor",
        group: "Special",
        params: X_FILES_FACTOR,
        aggregator: false,
        summary: "Short form of setXFilesFactor.",
        run: set_x_files_factor,
    },
    FunctionDef {
        name: "fallbackSeries",
        group: "Special",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::req("fallback", T::SeriesList),
        ],
        aggregator: false,
        summary: "The series list, or the fallback list when it is empty.",
        run: fallback_series,
    },
    FunctionDef {
        name: "seriesByTag",
        group: "Special",
        params: &[Param::req("tagExpressions", T::String).multiple()],
        aggregator: false,
        summary: "Selects the series whose tags match every expression (tag=value, tag!=value, tag=~regex, tag!=~regex).",
        run: series_by_tag,
    },
];

/// graphite-web's `constantLine(value)`: three points at from, the middle and until,
/// named `label` (`str(value)`).
pub(super) fn constant_line(ctx: &Ctx<'_>, value: f64, label: &str) -> Series {
    let (start, end) = (ctx.from, ctx.until);
    let step = ((end - start) as f64 / 2.0) as i64;
    let mut s = Series::new(
        label,
        start,
        end,
        step.max(1),
        vec![value; 3],
        ctx.x_files_factor(),
    );
    s.path_expression = format!("constantLine({label})");
    s
}

fn constant_line_fn(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let value = a.float(0);
    Ok(vec![constant_line(ctx, value, &repr(value))])
}

fn consolidate_by(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let name = a.str(1);
    let func = Consolidation::from_name(&name).ok_or_else(|| {
        EvalError::function("consolidateBy", format!("invalid function {name:?}"))
    })?;
    Ok(consolidate_list(a.series(0), func, &name))
}

/// graphite-web's `consolidateBy` on every series: sets the function and the
/// `consolidateBy` tag, and renames `consolidateBy(<name>,"<func>")`.
fn consolidate_list(mut list: Vec<Series>, func: Consolidation, name: &str) -> Vec<Series> {
    for s in &mut list {
        s.consolidation = func;
        s.tags.set("consolidateBy", name);
        s.rename(format!("consolidateBy({},\"{}\")", s.name, name));
        s.path_expression = s.name.clone();
    }
    list
}

fn cumulative(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    Ok(consolidate_list(a.series(0), Consolidation::Sum, "sum"))
}

fn set_x_files_factor(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let xff = a.float(1);
    let mut list = a.series(0);
    for s in &mut list {
        s.x_files_factor = xff;
        s.tags.set("xFilesFactor", repr(xff));
    }
    Ok(list)
}

fn fallback_series(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let list = a.series(0);
    if list.is_empty() {
        Ok(a.series(1))
    } else {
        Ok(list)
    }
}

fn substr(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let (start, stop) = (a.int(1), a.int(2));
    let mut list = a.series(0);
    for s in &mut list {
        let name = super::alias::substr_name(&s.name, start, stop);
        s.rename(name);
    }
    Ok(list)
}

fn series_by_tag(_ctx: &Ctx<'_>, _a: &mut Args) -> Result<Vec<Series>, EvalError> {
    // The evaluator resolves seriesByTag(...) itself (it needs the call's text).
    Err(EvalError::function(
        "seriesByTag",
        "must be called directly, not through a pipe or alias",
    ))
}
