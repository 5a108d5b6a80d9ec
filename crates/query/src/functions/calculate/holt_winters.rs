//! graphite-web's Holt-Winters functions: a seasonal forecast trained on a bootstrap
//! period fetched before the requested range, its deviation bands, how far the data
//! strays outside them, and the bands as an area.
//!
//! graphite-web hands the same tag dictionary to every series it derives from one input
//! (`tags=series.tags`), so tags added for one output show up on its siblings; the tag
//! sets below reproduce that.

use std::collections::HashMap;

use crate::aggfunc::Consolidation;
use crate::error::EvalError;
use crate::eval::Ctx;
use crate::registry::Args;
use crate::series::{NULL, Series, present};

use crate::functions::transform::pyops::{interval_seconds, py_index, py_slice, refetch};

const ALPHA: f64 = 0.1;
const GAMMA: f64 = 0.1;
const BETA: f64 = 0.0035;

/// The forecast (`predictions`) and smoothed absolute deviations of one series.
struct Analysis {
    predictions: Vec<f64>,
    deviations: Vec<f64>,
}

/// `seasonals[i - season]` (or `deviations[...]`), 0 before the first season. A season of
/// one step or less reads an entry not yet computed: Python's IndexError.
fn last_season(list: &[f64], i: i64, season: i64) -> Result<f64, EvalError> {
    let j = i - season;
    if j < 0 {
        return Ok(0.0);
    }
    py_index("holtWintersAnalysis", list, j)
}

/// graphite-web's `holtWintersAnalysis`, in its arithmetic order.
fn analysis(values: &[f64], step: i64, seasonality: &str) -> Result<Analysis, EvalError> {
    let season = interval_seconds("holtWintersAnalysis", seasonality)?.div_euclid(step.max(1));
    let n = values.len();
    let mut intercepts: Vec<f64> = Vec::with_capacity(n);
    let mut slopes: Vec<f64> = Vec::with_capacity(n);
    let mut seasonals: Vec<f64> = Vec::with_capacity(n);
    let mut predictions: Vec<f64> = Vec::with_capacity(n);
    let mut deviations: Vec<f64> = Vec::with_capacity(n);
    let mut next_pred = NULL;
    for (i, &actual) in values.iter().enumerate() {
        if !present(actual) {
            // A missing value breaks the chain: the next prediction starts over.
            intercepts.push(NULL);
            slopes.push(0.0);
            seasonals.push(0.0);
            predictions.push(next_pred);
            deviations.push(0.0);
            next_pred = NULL;
            continue;
        }
        let (last_intercept, last_slope, prediction) = if i == 0 {
            (actual, 0.0, actual)
        } else {
            let li = intercepts[i - 1];
            let li = if present(li) { li } else { actual };
            (li, slopes[i - 1], next_pred)
        };
        let i = i as i64;
        let last_seasonal = last_season(&seasonals, i, season)?;
        let next_last_seasonal = last_season(&seasonals, i + 1, season)?;
        let last_seasonal_dev = last_season(&deviations, i, season)?;

        let intercept =
            ALPHA * (actual - last_seasonal) + (1.0 - ALPHA) * (last_intercept + last_slope);
        let slope = BETA * (intercept - last_intercept) + (1.0 - BETA) * last_slope;
        let seasonal = GAMMA * (actual - intercept) + (1.0 - GAMMA) * last_seasonal;
        next_pred = intercept + slope + next_last_seasonal;
        let expected = if present(prediction) { prediction } else { 0.0 };
        let deviation = GAMMA * (actual - expected).abs() + (1.0 - GAMMA) * last_seasonal_dev;

        intercepts.push(intercept);
        slopes.push(slope);
        seasonals.push(seasonal);
        predictions.push(prediction);
        deviations.push(deviation);
    }
    Ok(Analysis {
        predictions,
        deviations,
    })
}

/// The input re-read from `bootstrapInterval` before the range, and that span in seconds.
fn bootstrap(ctx: &Ctx<'_>, a: &Args, interval: &str) -> Result<(Vec<Series>, i64), EvalError> {
    let preview = interval_seconds(a.function(), interval)?;
    Ok((
        refetch(ctx, a, ctx.from.saturating_sub(preview), ctx.until)?,
        preview,
    ))
}

/// A new graphite-web `TimeSeries` built from `s`: its tags and xFilesFactor, the default
/// consolidation, the path expression set to the name.
fn new_series(s: &Series, name: String, start: i64, values: Vec<f64>) -> Series {
    let mut r = s.derive(name, values);
    r.start = start;
    r.consolidation = Consolidation::Average;
    r
}

pub(super) fn forecast(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let (list, preview) = bootstrap(ctx, a, &a.str(1))?;
    let seasonality = a.str(2);
    let mut out = Vec::new();
    for mut s in list {
        let analysis = analysis(&s.values, s.step, &seasonality)?;
        let window = preview.div_euclid(s.step.max(1));
        for tag in ["holtWintersForecast", "holtWintersDeviation"] {
            s.tags.set(tag, "1");
        }
        let name = format!("holtWintersForecast({})", s.name);
        let values = py_slice(&analysis.predictions, Some(window), None);
        out.push(new_series(
            &s,
            name,
            s.start.saturating_add(preview),
            values,
        ));
    }
    Ok(out)
}

/// `holtWintersConfidenceBands`' work: for each bootstrapped series, its lower then upper
/// band.
fn bands(ctx: &Ctx<'_>, a: &Args) -> Result<Vec<Series>, EvalError> {
    let delta = a.int(1) as f64;
    let (list, preview) = bootstrap(ctx, a, &a.str(2))?;
    let seasonality = a.str(3);
    let mut out = Vec::new();
    for mut s in list {
        let analysis = analysis(&s.values, s.step, &seasonality)?;
        let window = Some(preview.div_euclid(s.step.max(1)));
        let forecast = py_slice(&analysis.predictions, window, None);
        let deviation = py_slice(&analysis.deviations, window, None);
        let (mut upper, mut lower) = (Vec::new(), Vec::new());
        for (f, d) in forecast.iter().zip(&deviation) {
            if present(*f) && present(*d) {
                let scaled = delta * d;
                upper.push(f + scaled);
                lower.push(f - scaled);
            } else {
                upper.push(NULL);
                lower.push(NULL);
            }
        }
        for tag in [
            "holtWintersForecast",
            "holtWintersDeviation",
            "holtWintersConfidenceUpper",
            "holtWintersConfidenceLower",
        ] {
            s.tags.set(tag, "1");
        }
        let start = s.start.saturating_add(preview);
        for (kind, values) in [("Lower", lower), ("Upper", upper)] {
            let name = format!("holtWintersConfidence{kind}({})", s.name);
            let mut band = new_series(&s, name, start, values);
            band.path_expression = s.path_expression.clone();
            out.push(band);
        }
    }
    Ok(out)
}

pub(super) fn confidence_bands(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    bands(ctx, a)
}

pub(super) fn aberration(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let bands = bands(ctx, a)?;
    // By name, the last of equal names winning (a Python dict).
    let by_name: HashMap<&str, &Series> = bands.iter().map(|b| (b.name.as_str(), b)).collect();
    let band = |name: String| {
        by_name.get(name.as_str()).copied().ok_or_else(|| {
            EvalError::function("holtWintersAberration", format!("KeyError: {name:?}"))
        })
    };
    let mut out = Vec::new();
    for mut s in a.series(0) {
        let lower = band(format!("holtWintersConfidenceLower({})", s.name))?;
        let upper = band(format!("holtWintersConfidenceUpper({})", s.name))?;
        let mut values = Vec::with_capacity(s.values.len());
        for (i, &actual) in s.values.iter().enumerate() {
            let i = i as i64;
            let v = if !present(actual) {
                0.0
            } else {
                let u = py_index("holtWintersAberration", &upper.values, i)?;
                if present(u) && actual > u {
                    actual - u
                } else {
                    let l = py_index("holtWintersAberration", &lower.values, i)?;
                    if present(l) && actual < l {
                        actual - l
                    } else {
                        0.0
                    }
                }
            };
            values.push(v);
        }
        s.tags.set("holtWintersAberration", "1");
        let name = format!("holtWintersAberration({})", s.name);
        let start = s.start;
        out.push(new_series(&s, name, start, values));
    }
    Ok(out)
}

pub(super) fn confidence_area(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let mut bands = bands(ctx, a)?;
    // areaBetween needs exactly the two bands of one series.
    if bands.len() != 2 {
        return Err(EvalError::function(
            "holtWintersConfidenceArea",
            "areaBetween series argument must reference *exactly* 2 series",
        ));
    }
    // areaBetween names both after the upper band's path expression and shares its tags;
    // holtWintersConfidenceArea then swaps its own name in.
    let name = format!("areaBetween({})", bands[1].path_expression)
        .replace("areaBetween", "holtWintersConfidenceArea");
    let mut tags = bands[1].tags.clone();
    tags.remove("areaBetween");
    tags.set("holtWintersConfidenceArea", "1");
    for b in &mut bands {
        b.tags = tags.clone();
        b.name = name.clone();
        b.path_expression = name.clone();
    }
    Ok(bands)
}
