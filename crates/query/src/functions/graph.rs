//! The Graph group: drawing options. Rendered as data (JSON and the other formats) these
//! only pass the series through, some renaming them and adding a tag exactly as
//! graphite-web does; the options themselves matter to PNG rendering only.
//!
//! # Differs from graphite-web
//!
//! - graphite-web keeps `stacked`'s running totals in the request context, so a second
//!   `stacked(...)` call in the same request continues the first one's stack. Charcoal
//!   stacks each call on its own.
//! - `verticalLine` without a label names its series `None` (graphite-web's name is
//!   Python's `None`), and relative times (`-1h`) are read against the request's `now`
//!   where graphite-web uses the wall clock.

use crate::error::EvalError;
use crate::eval::Ctx;
use crate::registry::{Args, Default, FunctionDef, Param, ParamType as T};
use crate::series::{NULL, Series, present};
use crate::value::Value;

use super::common::{g, repr};

const LIST: &[Param] = &[Param::req("seriesList", T::SeriesList)];

macro_rules! def {
    ($name:literal, $params:expr, $run:ident, $summary:literal) => {
        FunctionDef {
            name: $name,
            group: "Graph",
            params: $params,
            aggregator: false,
            summary: $summary,
            run: $run,
        }
    };
}

/// Declarations.
pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    def!(
        "color",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("theColor", T::String),
        ],
        pass_through,
        "Sets the colour the series are drawn in."
    ),
    def!(
        "alpha",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("alpha", T::Float),
        ],
        pass_through,
        "Sets the opacity the series are drawn with."
    ),
    def!(
        "lineWidth",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("width", T::Float),
        ],
        pass_through,
        "Sets the width of the series' lines."
    ),
    def!(
        "secondYAxis",
        LIST,
        second_y_axis,
        "Draws the series against a second Y axis on the right."
    ),
    def!(
        "drawAsInfinite",
        LIST,
        draw_as_infinite,
        "Draws every non-zero value as a vertical line across the graph."
    ),
    def!(
        "dashed",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::new("dashLength", T::Integer)
                .default(Default::Int(5))
                .accepts(T::Float),
        ],
        dashed,
        "Draws the series with dashed lines."
    ),
    def!(
        "stacked",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::new("stack", T::String),
        ],
        stacked,
        "Stacks the series on top of each other (each value becomes a running total)."
    ),
    def!(
        "areaBetween",
        LIST,
        area_between,
        "Fills the area between exactly two series."
    ),
    def!(
        "threshold",
        &[
            Param::req("value", T::Float),
            Param::new("label", T::String),
            Param::new("color", T::String),
        ],
        threshold,
        "A horizontal line at a value, optionally labelled."
    ),
    def!(
        "verticalLine",
        &[
            Param::req("ts", T::Date),
            Param::new("label", T::String),
            Param::new("color", T::String),
        ],
        vertical_line,
        "A vertical line at a point in time within the requested range."
    ),
];

fn pass_through(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    Ok(a.series(0))
}

/// Renames each series `<func>(<name>)` and sets tag `<func>` to `1`.
fn flag(a: &mut Args, func: &str) -> Vec<Series> {
    let mut list = a.series(0);
    for s in &mut list {
        s.tags.set(func, "1");
        s.rename(format!("{func}({})", s.name));
    }
    list
}

fn second_y_axis(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    Ok(flag(a, "secondYAxis"))
}

fn draw_as_infinite(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    Ok(flag(a, "drawAsInfinite"))
}

fn dashed(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    // An integer stays one (tag "3"); a float that only unenforced validation lets through
    // keeps Python's str() (tag "2.5").
    let (length, tag) = match a.get(1) {
        Some(Value::Int(i)) => (i as f64, i.to_string()),
        other => {
            let f = other.and_then(|v| v.as_f64()).unwrap_or(5.0);
            (f, repr(f))
        }
    };
    let mut list = a.series(0);
    for s in &mut list {
        s.tags.set("dashed", tag.clone());
        s.rename(format!("dashed({}, {})", s.name, g(length)));
        s.options.dashed = Some(length);
    }
    Ok(list)
}

fn stacked(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    // graphite-web's function calls this parameter `stackName`, so passing it by keyword
    // fails there (an unexpected keyword argument); only a positional value works.
    if a.given(1) && a.raw(1).is_none() {
        return Err(EvalError::function(
            a.function(),
            "stacked() got an unexpected keyword argument 'stack'",
        ));
    }
    // An explicit None is passed on as the stack name (not the default one).
    let explicit_none = a
        .raw(1)
        .is_some_and(|e| matches!(e.kind, crate::ast::ExprKind::None));
    let stack = match a.get(1) {
        Some(Value::Str(s)) => Some(s),
        Some(v) => Some(v.py_str()),
        None if explicit_none => None,
        None => Some("__DEFAULT__".to_owned()),
    };
    let is_default = stack.as_deref() == Some("__DEFAULT__");
    let mut totals: Vec<f64> = Vec::new();
    let mut out = Vec::new();
    for mut s in a.series(0) {
        let mut values = Vec::with_capacity(s.values.len());
        for (i, v) in s.values.iter().enumerate() {
            if totals.len() <= i {
                totals.push(0.0);
            }
            if present(*v) {
                totals[i] += v;
                values.push(totals[i]);
            } else {
                values.push(NULL);
            }
        }
        let name = if is_default {
            s.tags.set("stacked", "__DEFAULT__");
            format!("stacked({})", s.name)
        } else {
            s.name.clone()
        };
        out.push(s.derive(name, values));
    }
    Ok(out)
}

fn area_between(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let mut list = a.series(0);
    if list.len() != 2 {
        return Err(EvalError::function(
            a.function(),
            "areaBetween series argument must reference *exactly* 2 series",
        ));
    }
    // The upper series gains the tag, and the lower one shares the upper's tags.
    list[1].tags.set("areaBetween", "1");
    list[0].tags = list[1].tags.clone();
    let name = format!("areaBetween({})", list[1].path_expression);
    for s in &mut list {
        s.rename(name.clone());
    }
    Ok(list)
}

fn threshold(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let value = a.float(0);
    let mut s = super::special::constant_line(ctx, value, &super::common::repr(value));
    if let Some(label) = a.opt_str(1).filter(|l| !l.is_empty()) {
        s.rename(label);
    }
    Ok(vec![s])
}

fn vertical_line(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let func = a.function();
    let Some(Value::Str(text)) = a.get(0) else {
        return Err(EvalError::function(func, "the time must be a string"));
    };
    let ts = crate::time::parse_at_time(&text, ctx.now(), ctx.tz())
        .map_err(|e| EvalError::function(func, e.to_string()))?;
    let (start, end) = (ctx.from, ctx.until);
    if ts < start {
        return Err(EvalError::function(
            func,
            format!("verticalLine(): timestamp {ts} exists before start of range"),
        ));
    }
    if ts > end {
        return Err(EvalError::function(
            func,
            format!("verticalLine(): timestamp {ts} exists after end of range"),
        ));
    }
    let label = a.opt_str(1).unwrap_or_else(|| "None".to_owned());
    let mut s = Series::new(label, ts, ts, 1, vec![1.0, 1.0], ctx.x_files_factor());
    s.path_expression = s.name.clone();
    Ok(vec![s])
}
