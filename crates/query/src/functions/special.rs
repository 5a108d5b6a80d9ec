//! The Special group: generators, consolidation settings and tag selection.

use crate::aggfunc::{CONSOLIDATION_NAMES, Consolidation};
use crate::error::EvalError;
use crate::eval::Ctx;
use crate::registry::{Args, FunctionDef, Param, ParamType as T};
use crate::series::Series;

use super::common::repr;

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
    let mut list = a.series(0);
    for s in &mut list {
        s.consolidation = func;
        s.tags.set("consolidateBy", name.clone());
        s.rename(format!("consolidateBy({},\"{}\")", s.name, name));
        s.path_expression = s.name.clone();
    }
    Ok(list)
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
