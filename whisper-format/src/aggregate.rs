//! The eight aggregation methods, computed the way Python whisper computes
//! them so lower archives hold the same bits.
//!
//! Details that matter for byte-identical files: sums run left to right from
//! zero (CPython 3.11's `sum`), `max`/`min` keep the first value unless a later
//! one compares strictly greater/less (so NaN handling follows Python's
//! comparisons), `absmax`/`absmin` keep the first on ties, and `avg_zero`
//! divides by every slot, treating unknown (and zero) slots as 0.

use crate::header::Aggregation;

fn sum(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, |acc, v| acc + v)
}

fn pick(values: &[f64], better: impl Fn(f64, f64) -> bool) -> f64 {
    let mut best = values[0];
    for &v in &values[1..] {
        if better(v, best) {
            best = v;
        }
    }
    best
}

/// Aggregates the known values of one lower-archive slot.
///
/// `neighbors` are all the higher-archive slots of the interval (None for
/// unknown); `known` their known values in order. `known` must not be empty.
pub fn aggregate(method: Aggregation, known: &[f64], neighbors: &[Option<f64>]) -> f64 {
    debug_assert!(!known.is_empty(), "BUG: aggregate of no values");
    match method {
        Aggregation::Average => sum(known.iter().copied()) / known.len() as f64,
        Aggregation::Sum => sum(known.iter().copied()),
        Aggregation::Last => known[known.len() - 1],
        Aggregation::Max => pick(known, |v, best| v > best),
        Aggregation::Min => pick(known, |v, best| v < best),
        Aggregation::AvgZero => {
            sum(neighbors.iter().map(|v| v.unwrap_or(0.0))) / neighbors.len() as f64
        }
        Aggregation::AbsMax => pick(known, |v, best| v.abs() > best.abs()),
        Aggregation::AbsMin => pick(known, |v, best| v.abs() < best.abs()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods() {
        let known = [3.0, -7.0, 7.0, 1.0];
        let neighbors = [Some(3.0), None, Some(-7.0), Some(7.0), Some(1.0)];
        let f = |m, want: f64| assert_eq!(aggregate(m, &known, &neighbors), want, "{m}");
        f(Aggregation::Average, 1.0);
        f(Aggregation::Sum, 4.0);
        f(Aggregation::Last, 1.0);
        f(Aggregation::Max, 7.0);
        f(Aggregation::Min, -7.0);
        f(Aggregation::AvgZero, 0.8);
        f(Aggregation::AbsMax, -7.0);
        f(Aggregation::AbsMin, 1.0);
    }

    #[test]
    fn nan_follows_python_comparisons() {
        // max([nan, 1]) is nan in Python, max([1, nan]) is 1.
        assert!(aggregate(Aggregation::Max, &[f64::NAN, 1.0], &[]).is_nan());
        assert_eq!(aggregate(Aggregation::Max, &[1.0, f64::NAN], &[]), 1.0);
    }
}
