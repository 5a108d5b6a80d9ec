//! Small pieces of Python semantics the Transform and Calculate functions reproduce:
//! `round(x, n)`, `math.pow` as graphite-web's `safePow` wraps it, `'%d' % x` (which raises
//! for infinities), list slicing and indexing with negative positions, and the argument
//! shapes several functions share (intervals, `intOrInterval` window sizes, dates).

use crate::error::EvalError;
use crate::eval::Ctx;
use crate::registry::Args;
use crate::series::{NULL, Series, present};
use crate::value::Value;

/// Python's `round(x, n)` for a float: the decimal rounding of the exact binary value,
/// ties to even (Rust's exact formatting rounds the same way).
pub(crate) fn py_round(x: f64, n: i64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    if n > 323 {
        return x;
    }
    if n >= 0 {
        return format!("{:.*}", n as usize, x).parse().unwrap_or(x);
    }
    if n < -308 {
        return 0.0 * x;
    }
    // Negative precision: keep (decimal exponent + 1 + n) significant digits.
    let exp10: i64 = format!("{x:e}")
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    let digits = exp10 + 1 + n;
    let unit = 10f64.powi((-n) as i32);
    if digits > 0 {
        format!("{:.*e}", (digits - 1) as usize, x)
            .parse()
            .unwrap_or(x)
    } else if digits == 0 && x.abs() > unit / 2.0 {
        unit.copysign(x)
    } else {
        0.0 * x.signum()
    }
}

/// graphite-web's `safePow`: `math.pow`, with a domain or range error giving null.
pub(crate) fn safe_pow(a: f64, b: f64) -> f64 {
    if !present(a) || !present(b) {
        return NULL;
    }
    let r = a.powf(b);
    if r.is_nan() || (r.is_infinite() && a.is_finite() && b.is_finite()) {
        NULL
    } else {
        r
    }
}

/// Python's `'%d' % v` for a float, which raises for infinities and NaN.
pub(crate) fn pct_d(func: &str, v: f64) -> Result<String, EvalError> {
    if v.is_finite() {
        Ok(super::super::common::d(v))
    } else if v.is_nan() {
        Err(EvalError::function(
            func,
            "cannot convert float NaN to integer",
        ))
    } else {
        Err(EvalError::function(
            func,
            "cannot convert float infinity to integer",
        ))
    }
}

/// Python's `seq[start:stop]` (either bound may be negative or absent), copied.
pub(crate) fn py_slice<T: Clone>(seq: &[T], start: Option<i64>, stop: Option<i64>) -> Vec<T> {
    let (lo, hi) = super::super::common::py_slice(seq.len(), start, stop);
    seq[lo..hi].to_vec()
}

/// Python's `seq[i]`: negative positions count from the end; out of range is an error
/// (`IndexError`, which graphite-web lets propagate).
pub(crate) fn py_index(func: &str, seq: &[f64], i: i64) -> Result<f64, EvalError> {
    super::super::common::py_index(seq, i)
        .ok_or_else(|| EvalError::function(func, "list index out of range"))
}

/// Seconds of a graphite interval string (`parseTimeOffset`), refused as the function's
/// error when it does not parse.
pub(crate) fn interval_seconds(func: &str, text: &str) -> Result<i64, EvalError> {
    crate::time::parse_time_offset(text).map_err(|e| EvalError::function(func, e.to_string()))
}

/// A positive interval for the bucketing functions. graphite-web divides by zero for an
/// empty interval and loops forever on a negative one; Charcoal refuses both.
pub(crate) fn positive_interval(func: &str, text: &str) -> Result<i64, EvalError> {
    let secs = interval_seconds(func, text)?;
    if secs <= 0 {
        return Err(EvalError::function(
            func,
            format!("the interval must be positive: {text:?}"),
        ));
    }
    Ok(secs)
}

/// An epoch from a `date` argument (`parseATTime` with the request's time zone and `now`).
/// graphite-web calls `.strip()` on it, so anything but a string fails.
pub(crate) fn date_arg(ctx: &Ctx<'_>, func: &str, v: &Value) -> Result<i64, EvalError> {
    match v {
        Value::Str(s) => crate::time::parse_at_time(s, ctx.now(), ctx.tz())
            .map_err(|e| EvalError::function(func, e.to_string())),
        other => Err(EvalError::function(
            func,
            format!("{} has no attribute 'strip'", other.py_repr()),
        )),
    }
}

/// The most negative point count a window may have (see [`Window::from_arg`]).
const MAX_NEGATIVE_WINDOW: i64 = 100_000;

/// A `windowSize` (`intOrInterval`, unchecked by graphite-web): an interval string, or
/// anything Python's `int()` takes.
#[derive(Clone, Debug)]
pub(crate) enum Window {
    /// A time span, in (absolute) seconds.
    Interval(String, i64),
    /// A number of points, and the argument as Python prints it.
    Points(i64, String),
}

impl Window {
    /// Reads argument `i`.
    pub(crate) fn from_arg(func: &str, a: &Args, i: usize) -> Result<Window, EvalError> {
        let v = a.get(i).unwrap_or(Value::None);
        let window = Window::from_value(func, &v)?;
        if let Window::Points(n, _) = window {
            // graphite-web accepts a negative count and walks `range(n, len)` with odd
            // slices; a huge one would run (and allocate) for ever, so Charcoal stops there.
            if n < -MAX_NEGATIVE_WINDOW {
                return Err(EvalError::function(
                    func,
                    format!("window size {n} is too negative"),
                ));
            }
        }
        Ok(window)
    }

    fn from_value(func: &str, v: &Value) -> Result<Window, EvalError> {
        match v {
            Value::Str(s) => Ok(Window::Interval(
                s.clone(),
                interval_seconds(func, s)?.saturating_abs(),
            )),
            Value::Int(_) | Value::Bool(_) => {
                Ok(Window::Points(v.as_i64().unwrap_or(0), v.py_str()))
            }
            Value::Float(f) if f.is_finite() => Ok(Window::Points(f.trunc() as i64, v.py_str())),
            other => Err(EvalError::function(
                func,
                format!("invalid window size {}", other.py_repr()),
            )),
        }
    }

    /// How far before the range the input must be fetched (`previewSeconds`): the span,
    /// or the largest step times the number of points.
    pub(crate) fn preview_seconds(&self, list: &[Series]) -> i64 {
        match self {
            Window::Interval(_, secs) => *secs,
            Window::Points(n, _) => list
                .iter()
                .map(|s| s.step)
                .max()
                .unwrap_or(0)
                .saturating_mul(*n),
        }
    }

    /// The argument as the output name shows it: quoted for an interval.
    pub(crate) fn label(&self) -> String {
        match self {
            Window::Interval(s, _) => format!("\"{s}\""),
            Window::Points(_, s) => s.clone(),
        }
    }

    /// The argument as a tag value (`str(windowSize)`).
    pub(crate) fn tag(&self) -> String {
        match self {
            Window::Interval(s, _) => s.clone(),
            Window::Points(_, s) => s.clone(),
        }
    }

    /// Points in the window for a series with `step`.
    pub(crate) fn points(&self, step: i64, preview: i64) -> i64 {
        match self {
            Window::Interval(..) => preview.div_euclid(step.max(1)),
            Window::Points(n, _) => *n,
        }
    }
}

/// Re-evaluates the function's first argument over `[from, until]`, as graphite-web does
/// with `evaluateTarget(newContext, requestContext['args'][0])`.
pub(crate) fn refetch(
    ctx: &Ctx<'_>,
    a: &Args,
    from: i64,
    until: i64,
) -> Result<Vec<Series>, EvalError> {
    let raw = a.raw(0).ok_or_else(|| {
        // graphite-web reads requestContext['args'][0], absent when the series list was
        // passed by keyword.
        EvalError::function(
            a.function(),
            "the series list must be the first positional argument",
        )
    })?;
    ctx.with_range(from, until).eval_series(raw)
}

/// Renames a series in place and points its path expression at the new name, as the
/// in-place graphite-web functions do (`series.name = ...; series.pathExpression = ...`).
pub(crate) fn rename_in_place(s: &mut Series, name: String) {
    s.path_expression = name.clone();
    s.name = name;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_like_python() {
        assert_eq!(py_round(0.125, 2), 0.12);
        assert_eq!(py_round(2.5, 0), 2.0);
        assert_eq!(py_round(3.5, 0), 4.0);
        assert_eq!(py_round(1250.0, -2), 1200.0);
        assert_eq!(py_round(1350.0, -2), 1400.0);
        assert_eq!(py_round(2.5, -1), 0.0);
        assert_eq!(py_round(7.0, -1), 10.0);
        assert_eq!(py_round(-7.0, -1), -10.0);
        assert_eq!(py_round(1.0 / 3.0, 6), 0.333333);
    }

    #[test]
    fn slices_like_python() {
        let v = [1, 2, 3, 4];
        assert_eq!(py_slice(&v, Some(-1), None), vec![4]);
        assert_eq!(py_slice(&v, None, Some(-1)), vec![1, 2, 3]);
        assert_eq!(py_slice(&v, Some(5), None), Vec::<i32>::new());
        assert_eq!(py_slice(&v, None, Some(0)), Vec::<i32>::new());
    }
}
