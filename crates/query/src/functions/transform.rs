//! The Transform group: functions that change each series' values (and, for a few, its
//! time grid), plus `changed`, which graphite-web files under Special but which lives here
//! with its relatives.
//!
//! Names, tags (values as Python's `str()` of what graphite-web assigns: `1`, `2.0`,
//! `5min`), null handling and grids follow graphite-web 1.1.8's `render/functions.py`,
//! quirks included; the comments at each quirk say which. Python errors that graphite-web
//! lets escape (`math.exp` overflowing, comparing `None` with a number in
//! `nonNegativeDerivative(..., maxValue)`, `'%d' % inf`) are refusals here too.
//!
//! # Differs from graphite-web
//!
//! - `summarize`, `smartSummarize`, `hitcount`, `time` and `sin` refuse an interval or
//!   step that is zero or negative; graphite-web divides by zero or never returns.
//! - `time`, `sin`, `timeSlice` and `timeShift(..., alignDST)` use true epoch seconds and the
//!   request's time zone; graphite-web runs `time.mktime` on the wall-clock reading, which
//!   shifts values by the difference between the request's zone and the server's.
//! - `timeSlice` resolves relative times (`-1h`, `now`) against the request's `now`, not
//!   the server clock (they are the same unless `now=` is given).
//! - `smartSummarize`'s `alignTo` accepts `true`/`false` (ignored, as graphite-web does)
//!   and the unit names; because a declaration can only list string options, the check is
//!   made by the function and `/functions` lists no options for it.

use crate::error::EvalError;
use crate::eval::Ctx;
use crate::registry::{
    Args, Default as D, FunctionDef, Param, ParamType as T, SUGGEST_BUCKETS, SUGGEST_SHIFTS,
};
use crate::series::{NULL, Series, present};
use crate::value::Value;

use super::common::{g, map_values, repr};

pub(super) mod buckets;
pub(super) mod pyops;
mod shift;

use pyops::{pct_d, py_round, rename_in_place, safe_pow};

const SERIES_ONLY: &[Param] = &[Param::req("seriesList", T::SeriesList)];
const WITH_FACTOR: &[Param] = &[
    Param::req("seriesList", T::SeriesList),
    Param::req("factor", T::Float),
];
const COUNTER: &[Param] = &[
    Param::req("seriesList", T::SeriesList),
    Param::new("maxValue", T::Float),
    Param::new("minValue", T::Float),
];
const GAP_LIMIT: &[Param] = &[
    Param::req("seriesList", T::SeriesList),
    Param::new("limit", T::IntOrInf).default(D::Float(f64::INFINITY)),
];
const TIME_GENERATOR: &[Param] = &[
    Param::req("name", T::String),
    Param::new("step", T::Integer).default(D::Int(60)),
];
const SIN_GENERATOR: &[Param] = &[
    Param::req("name", T::String),
    Param::new("amplitude", T::Integer).default(D::Int(1)),
    Param::new("step", T::Integer).default(D::Int(60)),
];

/// A Transform declaration.
const fn transform(
    name: &'static str,
    params: &'static [Param],
    summary: &'static str,
    run: crate::registry::Run,
) -> FunctionDef {
    FunctionDef {
        name,
        group: "Transform",
        params,
        aggregator: false,
        summary,
        run,
    }
}

/// Declarations.
pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    transform(
        "scale",
        WITH_FACTOR,
        "Multiplies every value by a constant.",
        scale,
    ),
    transform(
        "absolute",
        SERIES_ONLY,
        "Replaces every value by its absolute value.",
        absolute,
    ),
    transform(
        "derivative",
        SERIES_ONLY,
        "The difference between each value and the one before it.",
        derivative,
    ),
    transform(
        "nonNegativeDerivative",
        COUNTER,
        "Per-step increase of a counter; a decrease is a reset (null) or, with maxValue/minValue, a wrap.",
        non_negative_derivative,
    ),
    transform(
        "perSecond",
        COUNTER,
        "Per-second increase of a counter, with nonNegativeDerivative's handling of resets and wraps.",
        per_second,
    ),
    transform(
        "integral",
        SERIES_ONLY,
        "Running total of the values (nulls stay null and add nothing).",
        integral,
    ),
    transform(
        "integralByInterval",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("intervalUnit", T::String),
        ],
        "Running total that restarts at zero at every interval boundary counted from the range start.",
        buckets::integral_by_interval,
    ),
    transform(
        "offset",
        WITH_FACTOR,
        "Adds a constant to every non-null value.",
        offset,
    ),
    transform(
        "scaleToSeconds",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("seconds", T::Float),
        ],
        "Rescales per-step values to a per-N-seconds rate.",
        scale_to_seconds,
    ),
    transform(
        "keepLastValue",
        GAP_LIMIT,
        "Fills gaps of at most `limit` nulls with the last value seen before them.",
        keep_last_value,
    ),
    transform(
        "interpolate",
        GAP_LIMIT,
        "Fills interior gaps of at most `limit` nulls with a straight line between their neighbours.",
        interpolate,
    ),
    transform(
        "transformNull",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::new("default", T::Float).default(D::Int(0)),
            Param::new("referenceSeries", T::SeriesList),
        ],
        "Replaces nulls by a constant, optionally only where a reference series has a value.",
        transform_null,
    ),
    transform(
        "isNonNull",
        SERIES_ONLY,
        "1 where the series has a value, 0 where it is null.",
        is_non_null,
    ),
    FunctionDef {
        name: "changed",
        group: "Special",
        params: SERIES_ONLY,
        aggregator: false,
        summary: "1 where the value differs from the previous non-null value, else 0.",
        run: changed,
    },
    transform(
        "log",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::new("base", T::Integer).default(D::Int(10)),
        ],
        "Logarithm of every positive value in the given base (null for the rest).",
        logarithm,
    ),
    transform(
        "add",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("constant", T::Float),
        ],
        "Adds a constant to every value.",
        add,
    ),
    transform(
        "pow",
        WITH_FACTOR,
        "Raises every value to a constant power.",
        pow,
    ),
    transform(
        "squareRoot",
        SERIES_ONLY,
        "Square root of every value (null for negatives).",
        square_root,
    ),
    transform(
        "invert",
        SERIES_ONLY,
        "Reciprocal (1/x) of every value.",
        invert,
    ),
    transform("exp", SERIES_ONLY, "e raised to every value.", exp),
    transform(
        "sigmoid",
        SERIES_ONLY,
        "Logistic function 1/(1+e^-x) of every value.",
        sigmoid,
    ),
    transform(
        "logit",
        SERIES_ONLY,
        "Log-odds log(x/(1-x)) of every value.",
        logit,
    ),
    transform(
        "offsetToZero",
        SERIES_ONLY,
        "Subtracts the series' minimum so that its lowest point is zero.",
        offset_to_zero,
    ),
    transform(
        "round",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::new("precision", T::Integer).default(D::Int(0)),
        ],
        "Rounds every value to a number of decimal places (negative: tens, hundreds...).",
        round_fn,
    ),
    transform(
        "minMax",
        SERIES_ONLY,
        "Rescales every series to 0..1 between its minimum and maximum.",
        min_max,
    ),
    transform(
        "summarize",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("intervalString", T::Interval).suggestions(SUGGEST_BUCKETS),
            Param::new("func", T::AggFunc).default(D::Str("sum")),
            Param::new("alignToFrom", T::Boolean).default(D::Bool(false)),
        ],
        "Aggregates values into fixed-width time buckets (aligned to the interval, or to the series start).",
        buckets::summarize,
    ),
    transform(
        "smartSummarize",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("intervalString", T::Interval).suggestions(SUGGEST_BUCKETS),
            Param::new("func", T::AggFunc).default(D::Str("sum")),
            Param::new("alignTo", T::String),
        ],
        "Aggregates values into time buckets starting at the range start, optionally rounded down to a calendar unit.",
        buckets::smart_summarize,
    ),
    transform(
        "hitcount",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("intervalString", T::Interval).suggestions(SUGGEST_BUCKETS),
            Param::new("alignToInterval", T::Boolean).default(D::Bool(false)),
        ],
        "Turns per-second rates into hit totals per interval, splitting steps that straddle buckets.",
        buckets::hitcount,
    ),
    transform(
        "timeShift",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("timeShift", T::Interval).suggestions(SUGGEST_SHIFTS),
            Param::new("resetEnd", T::Boolean).default(D::Bool(true)),
            Param::new("alignDst", T::Boolean).default(D::Bool(false)),
        ],
        "Draws the series as it was at another time (back by default), re-read over the shifted range.",
        shift::time_shift,
    ),
    transform(
        "timeStack",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::new("timeShiftUnit", T::Interval)
                .default(D::Str("1d"))
                .suggestions(SUGGEST_SHIFTS),
            Param::new("timeShiftStart", T::Integer).default(D::Int(0)),
            Param::new("timeShiftEnd", T::Integer).default(D::Int(7)),
        ],
        "One time-shifted copy of the series per multiple of a unit, for overlaying past periods.",
        shift::time_stack,
    ),
    transform(
        "compressPeriodicGaps",
        &[Param::req("seriesList", T::SeriesList)],
        "Removes regular gaps from a series that reports less often than its step, guessing the real step from its first values (graphite-web 1.1.10).",
        buckets::compress_periodic_gaps,
    ),
    transform(
        "timeSlice",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("startSliceAt", T::Date),
            Param::new("endSliceAt", T::Date).default(D::Str("now")),
        ],
        "Nulls every value outside a time window.",
        shift::time_slice,
    ),
    transform(
        "delay",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("steps", T::Integer),
        ],
        "Moves the values later (or earlier, if negative) by a number of steps, padding with nulls.",
        shift::delay,
    ),
    transform(
        "timeFunction",
        TIME_GENERATOR,
        "A series whose value at each point is its timestamp.",
        shift::time_function,
    ),
    transform(
        "time",
        TIME_GENERATOR,
        "Short form of timeFunction.",
        shift::time_function,
    ),
    transform(
        "sinFunction",
        SIN_GENERATOR,
        "A sine wave of the timestamp, scaled by an amplitude.",
        shift::sin_function,
    ),
    transform(
        "sin",
        SIN_GENERATOR,
        "Short form of sinFunction.",
        shift::sin_function,
    ),
];

/// Applies `f` to every value (nulls included) of every series, renaming it
/// `<func>(<name>)` in place with tag `func` = `tag`, as most one-argument transforms do.
fn in_place(a: &mut Args, func: &str, tag: Option<&str>, f: impl Fn(f64) -> f64) -> Vec<Series> {
    let mut list = a.series(0);
    for s in &mut list {
        if let Some(tag) = tag {
            s.tags.set(func, tag);
        }
        let name = format!("{func}({})", s.name);
        rename_in_place(s, name);
        for v in &mut s.values {
            *v = f(*v);
        }
    }
    list
}

/// Like [`in_place`] but `f` may fail (a Python exception escaping the function).
fn in_place_checked(
    a: &mut Args,
    func: &str,
    tag: &str,
    f: impl Fn(f64) -> Result<f64, EvalError>,
) -> Result<Vec<Series>, EvalError> {
    let mut list = a.series(0);
    for s in &mut list {
        s.tags.set(func, tag);
        let name = format!("{func}({})", s.name);
        rename_in_place(s, name);
        for v in &mut s.values {
            *v = f(*v)?;
        }
    }
    Ok(list)
}

/// graphite-web's copy-based transforms: tag `func` = `tag` on the input, then a copy named
/// `<func>(<name>)` with new values.
fn copied(
    a: &mut Args,
    func: &str,
    tag: &str,
    mut f: impl FnMut(&Series) -> Result<Vec<f64>, EvalError>,
) -> Result<Vec<Series>, EvalError> {
    let mut out = Vec::new();
    for mut s in a.series(0) {
        let values = f(&s)?;
        s.tags.set(func, tag);
        out.push(s.derive(format!("{func}({})", s.name), values));
    }
    Ok(out)
}

fn scale(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let factor = a.float(1);
    let mut list = a.series(0);
    for s in &mut list {
        s.tags.set("scale", repr(factor));
        let name = format!("scale({},{})", s.name, g(factor));
        rename_in_place(s, name);
        map_values(&mut s.values, |v| v * factor);
    }
    Ok(list)
}

fn absolute(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    Ok(in_place(a, "absolute", Some("1"), f64::abs))
}

fn derivative(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    copied(a, "derivative", "1", |s| {
        let mut prev = NULL;
        Ok(s.values
            .iter()
            .map(|&v| {
                let d = v - prev; // null if either is null
                prev = v;
                d
            })
            .collect())
    })
}

/// graphite-web's `_nonNegativeDelta`: the increase from `prev` to `val` and the new
/// `prev`. With `maxValue` or `minValue` set, Python compares a null value with the bound
/// and raises `TypeError`; that is an error here too.
fn non_negative_delta(
    func: &str,
    val: f64,
    prev: f64,
    max: Option<f64>,
    min: Option<f64>,
) -> Result<(f64, f64), EvalError> {
    let null_compare = || {
        EvalError::function(
            func,
            "'>' not supported between instances of 'NoneType' and 'float'",
        )
    };
    if let Some(max) = max {
        if !present(val) {
            return Err(null_compare());
        }
        if val > max {
            return Ok((NULL, NULL));
        }
    }
    if let Some(min) = min {
        if !present(val) {
            return Err(null_compare());
        }
        if val < min {
            return Ok((NULL, NULL));
        }
    }
    if !present(prev) || !present(val) {
        return Ok((NULL, val));
    }
    if val >= prev {
        return Ok((val - prev, val));
    }
    if let Some(max) = max {
        return Ok((max + 1.0 + val - prev - min.unwrap_or(0.0), val));
    }
    if let Some(min) = min {
        return Ok((val - min, val));
    }
    Ok((NULL, val))
}

fn counter_deltas(
    func: &str,
    s: &Series,
    max: Option<f64>,
    min: Option<f64>,
) -> Result<Vec<f64>, EvalError> {
    let mut prev = NULL;
    let mut out = Vec::with_capacity(s.values.len());
    for &v in &s.values {
        let (delta, p) = non_negative_delta(func, v, prev, max, min)?;
        prev = p;
        out.push(delta);
    }
    Ok(out)
}

fn non_negative_derivative(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let (max, min) = (a.opt_float(1), a.opt_float(2));
    copied(a, "nonNegativeDerivative", "1", |s| {
        counter_deltas("nonNegativeDerivative", s, max, min)
    })
}

fn per_second(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let (max, min) = (a.opt_float(1), a.opt_float(2));
    copied(a, "perSecond", "1", |s| {
        let step = s.step as f64;
        let mut deltas = counter_deltas("perSecond", s, max, min)?;
        map_values(&mut deltas, |d| py_round(d / step, 6));
        Ok(deltas)
    })
}

fn integral(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    copied(a, "integral", "1", |s| {
        let mut current = 0.0;
        Ok(s.values
            .iter()
            .map(|&v| {
                if present(v) {
                    current += v;
                    current
                } else {
                    NULL
                }
            })
            .collect())
    })
}

fn offset(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let factor = a.float(1);
    let mut list = a.series(0);
    for s in &mut list {
        s.tags.set("offset", repr(factor));
        let name = format!("offset({},{})", s.name, g(factor));
        rename_in_place(s, name);
        map_values(&mut s.values, |v| v + factor);
    }
    Ok(list)
}

fn scale_to_seconds(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let seconds = a.float(1);
    let mut list = a.series(0);
    for s in &mut list {
        s.tags.set("scaleToSeconds", repr(seconds));
        let label = pct_d("scaleToSeconds", seconds)?;
        let name = format!("scaleToSeconds({},{label})", s.name);
        rename_in_place(s, name);
        let factor = seconds / s.step as f64;
        map_values(&mut s.values, |v| py_round(v * factor, 6));
    }
    Ok(list)
}

/// The `limit` of keepLastValue/interpolate (an integer or infinity).
fn gap_limit(a: &Args) -> f64 {
    a.opt_float(1).unwrap_or(f64::INFINITY)
}

fn keep_last_value(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let limit = gap_limit(a);
    let mut list = a.series(0);
    for s in &mut list {
        let name = format!("keepLastValue({})", s.name);
        rename_in_place(s, name);
        let values = &mut s.values;
        let mut nones = 0usize;
        let mut last = NULL;
        for i in 0..values.len() {
            if !present(values[i]) {
                nones += 1;
                continue;
            }
            if nones > 0 && nones as f64 <= limit && present(last) {
                values[i - nones..i].fill(last);
            }
            nones = 0;
            last = values[i];
        }
        // A trailing gap is filled too.
        if nones > 0 && nones as f64 <= limit && present(last) {
            let n = values.len();
            values[n - nones..].fill(last);
        }
    }
    Ok(list)
}

fn interpolate(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let limit = gap_limit(a);
    let mut list = a.series(0);
    for s in &mut list {
        let name = format!("interpolate({})", s.name);
        rename_in_place(s, name);
        let values = &mut s.values;
        let mut nones = 0usize;
        // graphite-web skips the first value outright, so a leading null is not counted.
        for i in 1..values.len() {
            let value = values[i];
            if !present(value) {
                nones += 1;
                continue;
            }
            if nones == 0 {
                continue;
            }
            let before = i - nones - 1;
            if present(values[before]) && nones as f64 <= limit {
                let base = values[before];
                for (k, slot) in values[i - nones..i].iter_mut().enumerate() {
                    // (index - before) is k + 1.
                    *slot = base + (k + 1) as f64 * (value - base) / (nones + 1) as f64;
                }
            }
            // A trailing gap is left alone.
            nones = 0;
        }
    }
    Ok(list)
}

fn transform_null(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let default_value = a.get(1).unwrap_or(Value::Int(0));
    let default = default_value.as_f64().unwrap_or(0.0);
    let reference = a.series(2);
    // One entry per row of the reference series (izip_longest): the default where any
    // reference series has a value, null elsewhere.
    let defaults: Option<Vec<f64>> = (!reference.is_empty()).then(|| {
        let len = reference.iter().map(|s| s.values.len()).max().unwrap_or(0);
        (0..len)
            .map(|i| {
                let any = reference
                    .iter()
                    .any(|r| r.values.get(i).is_some_and(|v| present(*v)));
                if any { default } else { NULL }
            })
            .collect()
    });
    let mut list = a.series(0);
    for s in &mut list {
        s.tags.set("transformNull", default_value.py_str());
        let name = if defaults.is_some() {
            s.tags.set("referenceSeries", "1");
            format!("transformNull({},{},referenceSeries)", s.name, g(default))
        } else {
            format!("transformNull({},{})", s.name, g(default))
        };
        rename_in_place(s, name);
        match defaults.as_deref() {
            // An empty reference grid is falsy in Python: plain replacement.
            Some(defaults) if !defaults.is_empty() => {
                // izip_longest: the result is as long as the longer of the two.
                let len = s.values.len().max(defaults.len());
                s.values = (0..len)
                    .map(|i| {
                        let v = s.values.get(i).copied().unwrap_or(NULL);
                        if present(v) {
                            v
                        } else {
                            defaults.get(i).copied().unwrap_or(NULL)
                        }
                    })
                    .collect();
            }
            _ => {
                for v in &mut s.values {
                    if !present(*v) {
                        *v = default;
                    }
                }
            }
        }
    }
    Ok(list)
}

fn is_non_null(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    Ok(in_place(a, "isNonNull", Some("1"), |v| {
        if present(v) { 1.0 } else { 0.0 }
    }))
}

fn changed(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let mut list = a.series(0);
    for s in &mut list {
        let name = format!("changed({})", s.name);
        rename_in_place(s, name);
        let mut previous = NULL;
        for v in &mut s.values {
            let value = *v;
            *v = if !present(previous) {
                previous = value;
                0.0
            } else if present(value) && previous != value {
                previous = value;
                1.0
            } else {
                0.0
            };
        }
    }
    Ok(list)
}

fn logarithm(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let base = a.int(1);
    let mut out = Vec::new();
    for mut s in a.series(0) {
        let mut values = Vec::with_capacity(s.values.len());
        for &v in &s.values {
            values.push(if !present(v) || v <= 0.0 {
                NULL
            } else {
                python_log(v, base as f64)?
            });
        }
        s.tags.set("log", base.to_string());
        out.push(s.derive(format!("log({}, {base})", s.name), values));
    }
    Ok(out)
}

/// Python's `math.log(x, base)`: `log(x) / log(base)`, raising for a base of 1 (division
/// by zero) or below 1's domain (zero, negative).
fn python_log(x: f64, base: f64) -> Result<f64, EvalError> {
    if base <= 0.0 {
        return Err(EvalError::function("log", "math domain error"));
    }
    let den = base.ln();
    if den == 0.0 {
        return Err(EvalError::function("log", "float division by zero"));
    }
    Ok(x.ln() / den)
}

fn add(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let constant = a.float(1);
    let mut list = a.series(0);
    for s in &mut list {
        s.tags.set("add", repr(constant));
        let label = pct_d("add", constant)?;
        let name = format!("add({},{label})", s.name);
        rename_in_place(s, name);
        map_values(&mut s.values, |v| v + constant);
    }
    Ok(list)
}

fn pow(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let factor = a.float(1);
    let mut list = a.series(0);
    for s in &mut list {
        s.tags.set("pow", repr(factor));
        let name = format!("pow({},{})", s.name, g(factor));
        rename_in_place(s, name);
        for v in &mut s.values {
            *v = safe_pow(*v, factor);
        }
    }
    Ok(list)
}

fn square_root(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    Ok(in_place(a, "squareRoot", Some("1"), |v| safe_pow(v, 0.5)))
}

fn invert(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    Ok(in_place(a, "invert", Some("1"), |v| safe_pow(v, -1.0)))
}

/// `math.exp`, whose overflow graphite-web does not catch.
fn checked_exp(func: &str, v: f64) -> Result<f64, EvalError> {
    let r = v.exp();
    if r.is_infinite() && v.is_finite() {
        return Err(EvalError::function(func, "math range error"));
    }
    Ok(r)
}

fn exp(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    in_place_checked(a, "exp", "e", |v| {
        if present(v) {
            checked_exp("exp", v)
        } else {
            Ok(NULL)
        }
    })
}

fn sigmoid(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    in_place_checked(a, "sigmoid", "sigmoid", |v| {
        if present(v) {
            Ok(1.0 / (1.0 + checked_exp("sigmoid", -v)?))
        } else {
            Ok(NULL)
        }
    })
}

fn logit(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    Ok(in_place(a, "logit", Some("logit"), |v| {
        let den = 1.0 - v;
        // Division by zero and a non-positive ratio are caught and give null.
        if !present(v) || den == 0.0 || v / den <= 0.0 {
            NULL
        } else {
            (v / den).ln()
        }
    }))
}

fn offset_to_zero(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let mut list = a.series(0);
    for s in &mut list {
        let minimum = s
            .values
            .iter()
            .copied()
            .filter(|v| present(*v))
            .reduce(f64::min);
        s.tags.set(
            "offsetToZero",
            minimum.map_or_else(|| "None".to_owned(), repr),
        );
        let name = format!("offsetToZero({})", s.name);
        rename_in_place(s, name);
        if let Some(m) = minimum {
            map_values(&mut s.values, |v| v - m);
        }
    }
    Ok(list)
}

fn round_fn(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    // graphite-web's own default is None: the name shows the precision only when given.
    let given = a.given(1);
    let precision = a.int(1);
    let mut list = a.series(0);
    for s in &mut list {
        s.tags.set("round", precision.to_string());
        let name = if given {
            format!("round({},{})", s.name, g(precision as f64))
        } else {
            format!("round({})", s.name)
        };
        rename_in_place(s, name);
        map_values(&mut s.values, |v| py_round(v, precision));
    }
    Ok(list)
}

fn min_max(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let mut list = a.series(0);
    for s in &mut list {
        let name = format!("minMax({})", s.name);
        rename_in_place(s, name);
        let present_values = || s.values.iter().copied().filter(|v| present(*v));
        let min = present_values().reduce(f64::min).unwrap_or(0.0);
        let max = present_values().reduce(f64::max).unwrap_or(0.0);
        let range = max - min;
        map_values(&mut s.values, |v| {
            if range == 0.0 { 0.0 } else { (v - min) / range }
        });
    }
    Ok(list)
}
