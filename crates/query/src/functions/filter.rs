//! The "Filter Series" group (functions that keep or drop whole series) and the
//! "Filter Data" group (functions that null out values).
//!
//! graphite-web compares with Python 3 semantics: a comparison involving a missing value
//! (`None`) raises `TypeError`, which fails the request. The percentile filters and
//! `useSeriesAbove` hit that on any null; Charcoal refuses the same targets
//! ([`py_lt`]).

use crate::aggfunc::AggFunc;
use crate::error::EvalError;
use crate::eval::Ctx;
use crate::registry::{Args, FunctionDef, Param, ParamType as T};
use crate::series::{NULL, Series, present};
use crate::value::Value;

use super::common::{g, get_agg_func, get_percentile, py_lt, py_slice_end, repr, xff_ok};

/// `(seriesList, n: float)`.
const LIST_FLOAT: &[Param] = &[
    Param::req("seriesList", T::SeriesList),
    Param::req("n", T::Float),
];

/// `(seriesList, n: integer)`.
const LIST_INT: &[Param] = &[
    Param::req("seriesList", T::SeriesList),
    Param::req("n", T::Integer),
];

/// filterSeries' operators, in graphite-web's (sorted) order.
const OPERATORS: &[&str] = &["!=", "<", "<=", "=", ">", ">="];

macro_rules! def {
    ($name:literal, $group:literal, $params:expr, $run:ident, $summary:literal) => {
        FunctionDef {
            name: $name,
            group: $group,
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
        "filterSeries",
        "Filter Series",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("func", T::AggFunc),
            Param::req("operator", T::String).options(OPERATORS),
            Param::req("threshold", T::Float),
        ],
        filter_series,
        "Keeps the series whose aggregate (func) compares to the threshold as the operator says."
    ),
    def!(
        "maximumAbove",
        "Filter Series",
        LIST_FLOAT,
        maximum_above,
        "Keeps the series whose maximum is above n."
    ),
    def!(
        "minimumAbove",
        "Filter Series",
        LIST_FLOAT,
        minimum_above,
        "Keeps the series whose minimum is above n."
    ),
    def!(
        "maximumBelow",
        "Filter Series",
        LIST_FLOAT,
        maximum_below,
        "Keeps the series whose maximum is at most n."
    ),
    def!(
        "minimumBelow",
        "Filter Series",
        LIST_FLOAT,
        minimum_below,
        "Keeps the series whose minimum is at most n."
    ),
    def!(
        "highest",
        "Filter Series",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("n", T::Integer)
                .fallback(crate::registry::Default::Int(1))
                .accepts(T::Float),
            Param::new("func", T::AggFunc).default(crate::registry::Default::Str("average")),
        ],
        highest,
        "The n series ranking highest by an aggregate (average by default)."
    ),
    def!(
        "lowest",
        "Filter Series",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("n", T::Integer)
                .fallback(crate::registry::Default::Int(1))
                .accepts(T::Float),
            Param::new("func", T::AggFunc).default(crate::registry::Default::Str("average")),
        ],
        lowest,
        "The n series ranking lowest by an aggregate (average by default)."
    ),
    def!(
        "highestCurrent",
        "Filter Series",
        LIST_INT,
        highest_current,
        "The n series with the highest last value."
    ),
    def!(
        "highestMax",
        "Filter Series",
        LIST_INT,
        highest_max,
        "The n series with the highest peak."
    ),
    def!(
        "lowestCurrent",
        "Filter Series",
        LIST_INT,
        lowest_current,
        "The n series with the lowest last value."
    ),
    def!(
        "currentAbove",
        "Filter Series",
        LIST_FLOAT,
        current_above,
        "Keeps the series whose last value is above n."
    ),
    def!(
        "currentBelow",
        "Filter Series",
        LIST_FLOAT,
        current_below,
        "Keeps the series whose last value is at most n (or missing)."
    ),
    def!(
        "highestAverage",
        "Filter Series",
        LIST_INT,
        highest_average,
        "The n series with the highest mean."
    ),
    def!(
        "lowestAverage",
        "Filter Series",
        LIST_INT,
        lowest_average,
        "The n series with the lowest mean."
    ),
    def!(
        "averageAbove",
        "Filter Series",
        LIST_FLOAT,
        average_above,
        "Keeps the series whose mean is above n."
    ),
    def!(
        "averageBelow",
        "Filter Series",
        LIST_FLOAT,
        average_below,
        "Keeps the series whose mean is at most n (or missing)."
    ),
    def!(
        "averageOutsidePercentile",
        "Filter Series",
        LIST_FLOAT,
        average_outside_percentile,
        "Keeps the series whose mean lies outside the n-th and (100-n)-th percentiles of all means."
    ),
    def!(
        "removeBetweenPercentile",
        "Filter Series",
        LIST_FLOAT,
        remove_between_percentile,
        "Drops the series that stay between the n-th and (100-n)-th percentiles at every point."
    ),
    def!(
        "removeAbovePercentile",
        "Filter Data",
        LIST_FLOAT,
        remove_above_percentile,
        "Nulls the values above the series' own n-th percentile."
    ),
    def!(
        "removeAboveValue",
        "Filter Data",
        LIST_FLOAT,
        remove_above_value,
        "Nulls the values above n."
    ),
    def!(
        "removeBelowPercentile",
        "Filter Data",
        LIST_FLOAT,
        remove_below_percentile,
        "Nulls the values below the series' own n-th percentile."
    ),
    def!(
        "removeBelowValue",
        "Filter Data",
        LIST_FLOAT,
        remove_below_value,
        "Nulls the values below n."
    ),
    def!(
        "limit",
        "Filter Series",
        LIST_INT,
        limit,
        "The first n series of the list."
    ),
    def!(
        "useSeriesAbove",
        "Filter Series",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("value", T::Float),
            Param::req("search", T::String),
            Param::req("replace", T::String),
        ],
        use_series_above,
        "For each series peaking above a value, fetches the series named by a regex substitution of its name."
    ),
    def!(
        "mostDeviant",
        "Filter Series",
        LIST_INT,
        most_deviant,
        "The n series with the largest variance."
    ),
    def!(
        "exclude",
        "Filter Series",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("pattern", T::String),
        ],
        exclude,
        "Drops the series whose name matches a regular expression."
    ),
    def!(
        "grep",
        "Filter Series",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("pattern", T::String),
        ],
        grep,
        "Keeps the series whose name matches a regular expression."
    ),
    def!(
        "removeEmptySeries",
        "Filter Series",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::new("xFilesFactor", T::Float),
        ],
        remove_empty_series,
        "Drops the series with no values (or too few, given an xFilesFactor)."
    ),
    def!(
        "unique",
        "Filter Series",
        &[Param::req("seriesLists", T::SeriesList).multiple()],
        unique,
        "Drops the series whose name was already seen."
    ),
];

/// What iterating a series yields (its consolidated values).
fn points(s: &Series) -> Vec<f64> {
    s.consolidated()
}

/// graphite-web's `operatorFuncs`: a missing value passes `!=`, `<` and `<=` and fails
/// the others.
fn compare(op: &str, v: f64, threshold: f64) -> bool {
    let p = present(v);
    match op {
        "=" => p && v == threshold,
        "!=" => !p || v != threshold,
        ">" => p && v > threshold,
        ">=" => p && v >= threshold,
        "<" => !p || v < threshold,
        _ => !p || v <= threshold,
    }
}

fn filter_by(
    func: &str,
    list: Vec<Series>,
    agg: &str,
    op: &str,
    threshold: f64,
) -> Result<Vec<Series>, EvalError> {
    let agg = get_agg_func(func, agg)?;
    Ok(list
        .into_iter()
        .filter(|s| compare(op, agg.apply(&points(s)), threshold))
        .collect())
}

fn filter_series(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let (agg, op, threshold) = (a.str(1), a.str(2), a.float(3));
    if !OPERATORS.contains(&op.as_str()) {
        return Err(EvalError::function(
            a.function(),
            format!("Unsupported operator: {op}"),
        ));
    }
    filter_by(a.function(), a.series(0), &agg, &op, threshold)
}

macro_rules! threshold_filter {
    ($fn_name:ident, $agg:literal, $op:literal) => {
        fn $fn_name(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
            let n = a.float(1);
            filter_by(a.function(), a.series(0), $agg, $op, n)
        }
    };
}

threshold_filter!(maximum_above, "max", ">");
threshold_filter!(minimum_above, "min", ">");
threshold_filter!(maximum_below, "max", "<=");
threshold_filter!(minimum_below, "min", "<=");
threshold_filter!(current_above, "last", ">");
threshold_filter!(current_below, "last", "<=");
threshold_filter!(average_above, "average", ">");
threshold_filter!(average_below, "average", "<=");

/// graphite-web's `keyFunc`: a missing aggregate sorts as minus infinity.
fn sort_key(agg: AggFunc, s: &Series) -> f64 {
    let v = agg.apply(&points(s));
    if present(v) { v } else { f64::NEG_INFINITY }
}

/// Python's stable `list.sort(key=..., reverse=...)` by a float key.
pub(super) fn sort_by_key(list: &mut Vec<Series>, key: impl Fn(&Series) -> f64, reverse: bool) {
    let mut keyed: Vec<(f64, Series)> = list.drain(..).map(|s| (key(&s), s)).collect();
    keyed.sort_by(|x, y| {
        let ord = x.0.partial_cmp(&y.0).unwrap_or(std::cmp::Ordering::Equal);
        if reverse { ord.reverse() } else { ord }
    });
    list.extend(keyed.into_iter().map(|(_, s)| s));
}

/// `seriesList.sort(key=keyFunc(func), reverse); seriesList[:n]`.
fn rank(
    func: &str,
    mut list: Vec<Series>,
    n: i64,
    agg: &str,
    reverse: bool,
) -> Result<Vec<Series>, EvalError> {
    let agg = get_agg_func(func, agg)?;
    sort_by_key(&mut list, |s| sort_key(agg, s), reverse);
    list.truncate(py_slice_end(list.len(), n));
    Ok(list)
}

fn highest(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let (n, agg) = (truncated_n(a)?, a.str(2));
    rank(a.function(), a.series(0), n, &agg, true)
}

fn lowest(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let (n, agg) = (truncated_n(a)?, a.str(2));
    rank(a.function(), a.series(0), n, &agg, false)
}

/// `highest`/`lowest`'s `n` as their `seriesList[:int(n)]` reads it: a float that the
/// unenforced declaration let through is truncated, an infinite one fails as in Python.
fn truncated_n(a: &Args) -> Result<i64, EvalError> {
    match a.get(1) {
        Some(Value::Float(f)) if f.is_finite() => Ok(f.trunc() as i64),
        Some(Value::Float(f)) => Err(EvalError::function(
            a.function(),
            format!("cannot convert float {} to integer", repr(f)),
        )),
        _ => Ok(a.int(1)),
    }
}

macro_rules! ranking {
    ($fn_name:ident, $agg:literal, $reverse:literal) => {
        fn $fn_name(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
            let n = a.int(1);
            rank(a.function(), a.series(0), n, $agg, $reverse)
        }
    };
}

ranking!(highest_current, "current", true);
ranking!(highest_max, "max", true);
ranking!(lowest_current, "current", false);
ranking!(highest_average, "average", true);
ranking!(lowest_average, "average", false);

fn index_error(func: &str) -> EvalError {
    EvalError::function(func, "list index out of range")
}

fn average_outside_percentile(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let func = a.function();
    let mut n = a.float(1);
    let list = a.series(0);
    let averages: Vec<f64> = list
        .iter()
        .map(|s| AggFunc::Average.apply(&points(s)))
        .collect();
    if n < 50.0 {
        n = 100.0 - n;
    }
    let low = get_percentile(&averages, 100.0 - n, false).ok_or_else(|| index_error(func))?;
    let high = get_percentile(&averages, n, false).ok_or_else(|| index_error(func))?;
    let mut out = Vec::new();
    for (s, avg) in list.into_iter().zip(averages) {
        // `not low < avg < high`: the second comparison only happens if the first holds.
        let inside = py_lt(func, low, avg)? && py_lt(func, avg, high)?;
        if !inside {
            out.push(s);
        }
    }
    Ok(out)
}

fn remove_between_percentile(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let func = a.function();
    let mut n = a.float(1);
    let list = a.series(0);
    if n < 50.0 {
        n = 100.0 - n;
    }
    let columns: Vec<Vec<f64>> = list.iter().map(points).collect();
    // zip(*seriesList): as many columns as the shortest series has points.
    let width = columns.iter().map(Vec::len).min().unwrap_or(0);
    let mut lows = Vec::with_capacity(width);
    let mut highs = Vec::with_capacity(width);
    for i in 0..width {
        let col: Vec<f64> = columns.iter().map(|c| c[i]).collect();
        lows.push(get_percentile(&col, 100.0 - n, false).ok_or_else(|| index_error(func))?);
        highs.push(get_percentile(&col, n, false).ok_or_else(|| index_error(func))?);
    }
    let mut out = Vec::new();
    for (s, values) in list.into_iter().zip(columns) {
        // Every point is compared (a list comprehension), so any failure fails the call.
        let mut outside = 0;
        for (i, v) in values.iter().enumerate() {
            let (Some(&low), Some(&high)) = (lows.get(i), highs.get(i)) else {
                return Err(index_error(func));
            };
            if !(py_lt(func, low, *v)? && py_lt(func, *v, high)?) {
                outside += 1;
            }
        }
        if outside > 0 {
            out.push(s);
        }
    }
    Ok(out)
}

/// The value graphite-web's `nPercentile(requestContext, [s], n)[0][0]` gives, or `None`
/// where that raises `IndexError` (no values, `n` above 100, or a range shorter than one
/// step), which the remove*Percentile functions catch to leave the series alone. As a
/// side effect of graphite-web sharing the tags between the copy and the original, the
/// series gains an `nPercentile` tag whenever it has a percentile.
fn own_percentile(func: &str, s: &mut Series, n: f64) -> Result<Option<f64>, EvalError> {
    if n == 0.0 {
        return Err(EvalError::function(
            func,
            "The requested percent is required to be greater than 0",
        ));
    }
    let present_points: Vec<f64> = points(s).into_iter().filter(|v| present(*v)).collect();
    if present_points.is_empty() {
        return Ok(None);
    }
    let Some(p) = get_percentile(&present_points, n, false) else {
        return Ok(None);
    };
    if !present(p) {
        return Ok(None);
    }
    s.tags.set("nPercentile", repr(n));
    let point_count = ((s.end - s.start) as f64 / s.step as f64).trunc();
    Ok((point_count > 0.0).then_some(p))
}

fn remove_percentile(a: &mut Args, above: bool) -> Result<Vec<Series>, EvalError> {
    let func = a.function();
    let n = a.float(1);
    let mut list = a.series(0);
    for s in &mut list {
        let name = format!("{func}({}, {})", s.name, g(n));
        s.rename(name.clone());
        s.path_expression = name;
        let Some(p) = own_percentile(func, s, n)? else {
            continue;
        };
        let values = points(s);
        for (i, v) in values.iter().enumerate() {
            let drop = if above {
                present(*v) && *v > p
            } else {
                !present(*v) || *v < p
            };
            if drop && i < s.values.len() {
                s.values[i] = NULL;
            }
        }
    }
    Ok(list)
}

fn remove_above_percentile(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    remove_percentile(a, true)
}

fn remove_below_percentile(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    remove_percentile(a, false)
}

fn remove_value(a: &mut Args, above: bool) -> Vec<Series> {
    let func = a.function();
    let n = a.float(1);
    let mut list = a.series(0);
    for s in &mut list {
        let name = format!("{func}({}, {})", s.name, g(n));
        s.rename(name.clone());
        s.path_expression = name;
        for v in &mut s.values {
            let drop = if above {
                present(*v) && *v > n
            } else {
                present(*v) && *v < n
            };
            if drop {
                *v = NULL;
            }
        }
    }
    list
}

fn remove_above_value(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    Ok(remove_value(a, true))
}

fn remove_below_value(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    Ok(remove_value(a, false))
}

fn limit(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let n = a.int(1);
    let mut list = a.series(0);
    list.truncate(py_slice_end(list.len(), n));
    Ok(list)
}

/// Python's `max(values)`: `TypeError` once a `None` is compared (or returned, then
/// compared), `ValueError` for no values.
fn py_max(func: &str, values: &[f64]) -> Result<f64, EvalError> {
    if values.is_empty() {
        return Err(EvalError::function(func, "max() arg is an empty sequence"));
    }
    if values.iter().any(|v| !present(*v)) {
        return Err(EvalError::function(
            func,
            "'>' not supported between instances of 'NoneType' and 'float'",
        ));
    }
    Ok(values.iter().copied().fold(f64::NEG_INFINITY, f64::max))
}

fn use_series_above(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let func = a.function();
    let value = a.float(1);
    let (search, replace) = (a.str(2), a.str(3));
    let list = a.series(0);
    let mut names = Vec::new();
    if !list.is_empty() {
        let sub = crate::pyre::Substitution::new(&search, &replace)
            .map_err(|m| EvalError::function(func, m))?;
        for s in &list {
            let new_name = sub.apply(&s.name);
            if py_max(func, &points(s))? > value {
                names.push(new_name);
            }
        }
    }
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let target = format!("group({})", names.join(","));
    let parsed = crate::parser::parse_target(&target)?;
    let found = ctx.eval_series(parsed.expr())?;
    Ok(found.into_iter().filter(|s| !s.values.is_empty()).collect())
}

fn most_deviant(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let n = a.int(1);
    let list = a.series(0);
    let mut deviants: Vec<(f64, Series)> = Vec::new();
    for s in list {
        let values = points(&s);
        let mean = AggFunc::Average.apply(&values);
        if !present(mean) {
            continue;
        }
        let present_values: Vec<f64> = values.into_iter().filter(|v| present(*v)).collect();
        let square_sum = present_values
            .iter()
            .fold(0.0, |acc, v| acc + (v - mean).powi(2));
        let sigma = square_sum / present_values.len() as f64;
        deviants.push((sigma, s));
    }
    let mut sorted: Vec<Series> = Vec::with_capacity(deviants.len());
    deviants.sort_by(|x, y| y.0.partial_cmp(&x.0).unwrap_or(std::cmp::Ordering::Equal));
    sorted.extend(deviants.into_iter().map(|(_, s)| s));
    sorted.truncate(py_slice_end(sorted.len(), n));
    Ok(sorted)
}

fn regex_filter(a: &mut Args, keep_matches: bool) -> Result<Vec<Series>, EvalError> {
    let func = a.function();
    let re = crate::pyre::compile(&a.str(1)).map_err(|m| EvalError::function(func, m))?;
    Ok(a.series(0)
        .into_iter()
        .filter(|s| re.is_match(&s.name) == keep_matches)
        .collect())
}

fn exclude(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    regex_filter(a, false)
}

fn grep(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    regex_filter(a, true)
}

fn remove_empty_series(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let xff = a.opt_float(1).unwrap_or(0.0);
    Ok(a.series(0)
        .into_iter()
        .filter(|s| xff_ok(&points(s), xff))
        .collect())
}

fn unique(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let mut seen = std::collections::HashSet::new();
    Ok(a.series_lists(0)
        .into_iter()
        .flatten()
        .filter(|s| seen.insert(s.name.clone()))
        .collect())
}
