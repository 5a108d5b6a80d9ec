//! The Calculate group: functions that derive statistics from each series (moving
//! windows, percentiles, regressions, Holt-Winters forecasts) and the `identity` generator.
//!
//! Semantics follow graphite-web 1.1.8's `render/functions.py`. The moving-window functions,
//! Holt-Winters and `linearRegression` read their input again over another range (a window
//! or bootstrap period before the requested one), by re-evaluating their first argument as
//! graphite-web does.
//!
//! # Differs from graphite-web
//!
//! - `linearRegression` names and tags its output with true epoch seconds; graphite-web
//!   runs `time.mktime` on the wall-clock reading, which is off by the difference between
//!   the request's time zone and the server's. Relative `startSourceAt`/`endSourceAt`
//!   (`-1d`) are read against the request's `now`, not the server clock.
//! - The moving-window functions refuse a negative window of more than 100000 points
//!   (graphite-web walks `range(n, len)` and answers that many mostly-null points).
//! - Functions that re-read their input need it as the first positional argument; given by
//!   keyword (`movingAverage(seriesList=a.b, windowSize=5)`) Charcoal refuses, while
//!   graphite-web, which does not prefetch keyword-only paths, answers nothing.

use crate::aggfunc::{AggFunc, Consolidation};
use crate::error::EvalError;
use crate::eval::Ctx;
use crate::registry::{
    Args, Default as D, FunctionDef, Param, ParamType as T, SUGGEST_BOOTSTRAP, SUGGEST_SEASONALITY,
    SUGGEST_WINDOWS,
};
use crate::series::{NULL, Series, present};

use super::common::{g, repr};
use super::transform::buckets::{strict_agg, xff};
use super::transform::pyops::{Window, date_arg, py_index, py_round, py_slice, refetch};

mod holt_winters;

const MOVING: &[Param] = &[
    Param::req("seriesList", T::SeriesList),
    Param::req("windowSize", T::IntOrInterval).suggestions(SUGGEST_WINDOWS),
    Param::new("xFilesFactor", T::Float),
];
const HOLT_WINTERS_BANDS: &[Param] = &[
    Param::req("seriesList", T::SeriesList),
    Param::new("delta", T::Integer).default(D::Int(3)),
    Param::new("bootstrapInterval", T::Interval)
        .default(D::Str("7d"))
        .suggestions(SUGGEST_BOOTSTRAP),
    Param::new("seasonality", T::Interval)
        .default(D::Str("1d"))
        .suggestions(SUGGEST_SEASONALITY),
];

/// A Calculate declaration.
const fn calculate(
    name: &'static str,
    params: &'static [Param],
    summary: &'static str,
    run: crate::registry::Run,
) -> FunctionDef {
    FunctionDef {
        name,
        group: "Calculate",
        params,
        aggregator: false,
        summary,
        run,
    }
}

/// Declarations.
pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    calculate(
        "movingWindow",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("windowSize", T::IntOrInterval).suggestions(SUGGEST_WINDOWS),
            Param::new("func", T::AggFunc).default(D::Str("average")),
            Param::new("xFilesFactor", T::Float),
        ],
        "Aggregates, at each point, the window of points (or time) before it.",
        moving_window,
    ),
    calculate(
        "movingAverage",
        MOVING,
        "Mean of the window before each point.",
        moving_average,
    ),
    calculate(
        "movingSum",
        MOVING,
        "Sum of the window before each point.",
        moving_sum,
    ),
    calculate(
        "movingMin",
        MOVING,
        "Minimum of the window before each point.",
        moving_min,
    ),
    calculate(
        "movingMax",
        MOVING,
        "Maximum of the window before each point.",
        moving_max,
    ),
    calculate(
        "movingMedian",
        MOVING,
        "Median of the window before each point.",
        moving_median,
    ),
    calculate(
        "exponentialMovingAverage",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("windowSize", T::IntOrInterval).suggestions(SUGGEST_WINDOWS),
        ],
        "Exponentially weighted moving average, smoothing 2/(N+1), seeded with the mean of the first window.",
        exponential_moving_average,
    ),
    calculate(
        "stdev",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("points", T::Integer),
            Param::new("windowTolerance", T::Float).default(D::Float(0.1)),
        ],
        "Rolling population standard deviation over the last N points.",
        stdev,
    ),
    calculate(
        "nPercentile",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::req("n", T::Float),
        ],
        "A flat line at the series' n-th percentile (nearest rank).",
        n_percentile,
    ),
    calculate(
        "aggregateLine",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::new("func", T::AggFunc).default(D::Str("average")),
            Param::new("keepStep", T::Boolean).default(D::Bool(false)),
        ],
        "A flat line at one aggregate of each series.",
        aggregate_line,
    ),
    calculate(
        "holtWintersForecast",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::new("bootstrapInterval", T::Interval)
                .default(D::Str("7d"))
                .suggestions(SUGGEST_BOOTSTRAP),
            Param::new("seasonality", T::Interval)
                .default(D::Str("1d"))
                .suggestions(SUGGEST_SEASONALITY),
        ],
        "Holt-Winters seasonal forecast, trained on a bootstrap period before the range.",
        holt_winters::forecast,
    ),
    calculate(
        "holtWintersConfidenceBands",
        HOLT_WINTERS_BANDS,
        "Upper and lower bands delta deviations around the Holt-Winters forecast.",
        holt_winters::confidence_bands,
    ),
    calculate(
        "holtWintersAberration",
        HOLT_WINTERS_BANDS,
        "How far each value lies outside the Holt-Winters confidence bands (0 inside).",
        holt_winters::aberration,
    ),
    calculate(
        "holtWintersConfidenceArea",
        HOLT_WINTERS_BANDS,
        "The Holt-Winters confidence bands of one series, as an area between them.",
        holt_winters::confidence_area,
    ),
    calculate(
        "linearRegression",
        &[
            Param::req("seriesList", T::SeriesList),
            Param::new("startSourceAt", T::Date),
            Param::new("endSourceAt", T::Date),
        ],
        "Least-squares straight line fitted to the series (optionally over another source range).",
        linear_regression,
    ),
    calculate(
        "identity",
        &[Param::req("name", T::String)],
        "A series whose value at each minute is its timestamp.",
        identity,
    ),
];

fn moving_window(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let func = a.str(2);
    let xff = a.opt_float(3);
    moving(ctx, a, &func, xff)
}

fn moving_average(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let xff = a.opt_float(2);
    moving(ctx, a, "average", xff)
}

fn moving_sum(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let xff = a.opt_float(2);
    moving(ctx, a, "sum", xff)
}

fn moving_min(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let xff = a.opt_float(2);
    moving(ctx, a, "min", xff)
}

fn moving_max(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let xff = a.opt_float(2);
    moving(ctx, a, "max", xff)
}

fn moving_median(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let xff = a.opt_float(2);
    moving(ctx, a, "median", xff)
}

/// Python's `str.capitalize()` for ASCII names.
fn capitalize(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// The window before each point, in Python's slicing terms `series[i - w:i]` (a negative
/// window size makes both bounds odd, as in graphite-web).
fn window_at(values: &[f64], i: i64, w: i64) -> Vec<f64> {
    py_slice(values, Some(i - w), Some(i))
}

/// graphite-web's `movingWindow`: re-reads the input from `windowSize` earlier, then for
/// each point aggregates the non-null values of the window before it.
fn moving(
    ctx: &Ctx<'_>,
    a: &mut Args,
    func: &str,
    xff_arg: Option<f64>,
) -> Result<Vec<Series>, EvalError> {
    let fname = a.function();
    let list = a.series(0);
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let window = Window::from_arg(fname, a, 1)?;
    let preview = window.preview_seconds(&list);
    let agg = strict_agg(fname, func)?;
    let tag_name = format!("moving{}", capitalize(func));
    let mut out = Vec::new();
    for mut s in refetch(ctx, a, ctx.from.saturating_sub(preview), ctx.until)? {
        let name = format!("{tag_name}({},{})", s.name, window.label());
        let points = window.points(s.step, preview);
        s.tags.set(&tag_name, window.tag());
        let effective_xff = xff_arg.unwrap_or(s.x_files_factor);
        let len = s.values.len() as i64;
        let values = (points..len)
            .map(|i| {
                let non_null: Vec<f64> = window_at(&s.values, i, points)
                    .into_iter()
                    .filter(|v| present(*v))
                    .collect();
                if xff(non_null.len(), points as f64, effective_xff) {
                    agg.apply(&non_null)
                } else {
                    NULL
                }
            })
            .collect();
        let mut r = s.derive(name, values);
        r.start = s.start.saturating_add(preview);
        out.push(r);
    }
    Ok(out)
}

fn exponential_moving_average(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let fname = "exponentialMovingAverage";
    let list = a.series(0);
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let window = Window::from_arg(fname, a, 1)?;
    let preview = window.preview_seconds(&list);
    let divisor = match &window {
        Window::Interval(_, secs) => secs.saturating_add(1),
        Window::Points(n, _) => n.saturating_add(1),
    };
    if divisor == 0 {
        return Err(EvalError::function(fname, "float division by zero"));
    }
    let constant = 2.0 / divisor as f64;
    let mut out = Vec::new();
    for mut s in refetch(ctx, a, ctx.from.saturating_sub(preview), ctx.until)? {
        let name = format!("{fname}({},{})", s.name, window.label());
        let points = window.points(s.step, preview);
        s.tags.set(fname, window.tag());
        // Seeded with the mean of the first window (0 when it has no value, or a zero mean).
        let seed = AggFunc::Average.apply(&py_slice(&s.values, None, Some(points)));
        let mut ema = if present(seed) { seed } else { 0.0 };
        let mut values = vec![py_round(ema, 6)];
        for i in points..s.values.len() as i64 {
            // A negative window starts from the end, as Python's indexing does.
            let v = py_index(fname, &s.values, i)?;
            if present(v) {
                ema = constant * v + (1.0 - constant) * ema;
                values.push(py_round(ema, 6));
            } else {
                values.push(NULL);
            }
        }
        let mut r = s.derive(name, values);
        r.start = s.start.saturating_add(preview);
        out.push(r);
    }
    Ok(out)
}

fn stdev(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let points = a.int(1);
    let tolerance = a.float(2);
    let mut out = Vec::new();
    for mut s in a.series(0) {
        s.tags.set("stdev", points.to_string());
        let name = format!("stdev({},{points})", s.name);
        let values = rolling_stdev(&s.values, points, tolerance)?;
        out.push(s.derive(name, values));
    }
    Ok(out)
}

/// graphite-web's running-sums standard deviation, arithmetic order kept so that the
/// rounding matches.
fn rolling_stdev(values: &[f64], points: i64, tolerance: f64) -> Result<Vec<f64>, EvalError> {
    let mut out = Vec::with_capacity(values.len());
    let mut valid = 0i64;
    let mut sum = 0.0;
    let mut sum_sq = 0.0;
    for (index, &new) in values.iter().enumerate() {
        let index = index as i64;
        let dropped = if index < points {
            None
        } else {
            // A negative window reads past the end: Python's IndexError.
            let at = index.checked_sub(points).unwrap_or(i64::MAX);
            Some(py_index("stdev", values, at)?)
        };
        if let Some(d) = dropped.filter(|d| present(*d)) {
            valid -= 1;
            sum -= d;
            sum_sq -= d * d;
        }
        if present(new) {
            valid += 1;
            sum += new;
            sum_sq += new * new;
        }
        out.push(if valid > 0 && valid as f64 / points as f64 >= tolerance {
            let radicand = valid as f64 * sum_sq - sum * sum;
            if radicand < 0.0 {
                NULL
            } else {
                radicand.sqrt() / valid as f64
            }
        } else {
            NULL
        });
    }
    Ok(out)
}

/// graphite-web's `_getPercentile` (nearest rank, not interpolated) over sorted values.
fn percentile(func: &str, sorted: &[f64], n: f64) -> Result<f64, EvalError> {
    let fractional = (n / 100.0) * (sorted.len() + 1) as f64;
    let mut rank = fractional.trunc() as i64;
    let fraction = fractional - rank as f64;
    rank = rank.saturating_add(fraction.ceil() as i64);
    if rank == 0 {
        Ok(sorted[0])
    } else if rank.saturating_sub(1) == sorted.len() as i64 {
        Ok(sorted[sorted.len() - 1])
    } else {
        py_index(func, sorted, rank.saturating_sub(1))
    }
}

fn n_percentile(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let n = a.float(1);
    if n == 0.0 {
        return Err(EvalError::function(
            "nPercentile",
            "The requested percent is required to be greater than 0",
        ));
    }
    let mut out = Vec::new();
    for mut s in a.series(0) {
        let mut sorted: Vec<f64> = s.values.iter().copied().filter(|v| present(*v)).collect();
        if sorted.is_empty() {
            continue;
        }
        sorted.sort_by(f64::total_cmp);
        let value = percentile("nPercentile", &sorted, n)?;
        s.tags.set("nPercentile", repr(n));
        let count = ((s.end - s.start) as f64 / s.step as f64).trunc().max(0.0) as usize;
        out.push(s.derive(
            format!("nPercentile({}, {})", s.name, g(n)),
            vec![value; count],
        ));
    }
    Ok(out)
}

fn aggregate_line(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let func_name = a.str(1);
    let keep_step = a.bool(2);
    let func = strict_agg("aggregateLine", &func_name)?;
    let mut out = Vec::new();
    for s in a.series(0) {
        let value = func.apply(&s.values);
        let name = if present(value) {
            format!("aggregateLine({}, {})", s.name, g(value))
        } else {
            format!("aggregateLine({}, None)", s.name)
        };
        if keep_step {
            out.push(s.derive(name, vec![value; s.values.len()]));
        } else {
            // constantLine(value): named (and tagged) by str(value); `count` gives an int.
            let label = if !present(value) {
                "None".to_owned()
            } else if func == AggFunc::Count {
                format!("{}", value as i64)
            } else {
                repr(value)
            };
            let mut line = super::special::constant_line(ctx, value, &label);
            line.name = name.clone();
            line.path_expression = name;
            out.push(line);
        }
    }
    Ok(out)
}

/// graphite-web's `_linearRegressionAnalysis`: least-squares factor (per second) and
/// offset (at epoch 0), or `None` when the points cannot define a line.
fn regression(s: &Series) -> Option<(f64, f64)> {
    let points: Vec<(i128, f64)> = s
        .values
        .iter()
        .enumerate()
        .filter(|(_, v)| present(**v))
        .map(|(i, v)| (i as i128, *v))
        .collect();
    let n = points.len() as i128;
    let sum_i: i128 = points.iter().map(|(i, _)| i).sum();
    let sum_v = points.iter().fold(0.0, |acc, (_, v)| acc + v);
    let sum_ii: i128 = points.iter().map(|(i, _)| i * i).sum();
    let sum_iv = points.iter().fold(0.0, |acc, (i, v)| acc + *i as f64 * v);
    let denominator = (n * sum_ii - sum_i * sum_i) as f64;
    if denominator == 0.0 {
        return None;
    }
    let factor = (n as f64 * sum_iv - sum_i as f64 * sum_v) / denominator / s.step as f64;
    let offset =
        (sum_ii as f64 * sum_v - sum_iv * sum_i as f64) / denominator - factor * s.start as f64;
    Some((factor, offset))
}

fn linear_regression(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let fname = "linearRegression";
    let start = match a.get(1) {
        Some(v) => date_arg(ctx, fname, &v)?,
        None => ctx.from,
    };
    let end = match a.get(2) {
        Some(v) => date_arg(ctx, fname, &v)?,
        None => ctx.until,
    };
    let sources = refetch(ctx, a, start, end)?;
    let mut out = Vec::new();
    for (source, mut s) in sources.iter().zip(a.series(0)) {
        s.tags.set("linearRegressions", format!("{start}, {end}"));
        let name = format!("linearRegression({}, {start}, {end})", s.name);
        let Some((factor, offset)) = regression(source) else {
            continue;
        };
        let values = (0..s.values.len() as i64)
            .map(|i| offset + (s.start + i * s.step) as f64 * factor)
            .collect();
        let mut r = s.derive(name, values);
        // A new TimeSeries: default consolidation.
        r.consolidation = Consolidation::Average;
        out.push(r);
    }
    Ok(out)
}

fn identity(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let name = a.str(0);
    let count = (ctx.until.saturating_sub(ctx.from).max(0) as u64).div_ceil(60);
    ctx.produce("identity", usize::try_from(count).unwrap_or(usize::MAX))?;
    let values = (ctx.from..ctx.until)
        .step_by(60)
        .map(|t| t as f64)
        .collect();
    let mut s = Series::new(
        name.clone(),
        ctx.from,
        ctx.until,
        60,
        values,
        ctx.x_files_factor(),
    );
    s.path_expression = format!("identity(\"{name}\")");
    Ok(vec![s])
}
