//! graphite-web's two families of reducing functions.
//!
//! - [`AggFunc`]: the `aggFunc` parameter type (`aggregate(..., "sum")`, `groupByNode`,
//!   `summarize`, `highest`, ...): `functions/aggfuncs.py` and `functions/safe.py`. Nulls are
//!   skipped; a row with no values gives null (except `count`, which gives 0, and `avg_zero`,
//!   which counts nulls as zeros).
//! - [`Consolidation`]: what `consolidateBy` sets and `maxDataPoints` and normalization use
//!   (`TimeSeries.__consolidatingGenerator`): the same names minus the statistical ones, plus
//!   `first`.

use crate::series::{NULL, present};

/// An aggregation function by graphite-web's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFunc {
    /// `average`, `avg`.
    Average,
    /// `avg_zero`: nulls count as zero.
    AvgZero,
    /// `median`.
    Median,
    /// `sum`, `total`.
    Sum,
    /// `min`.
    Min,
    /// `max`.
    Max,
    /// `diff`: the first value minus the rest.
    Diff,
    /// `stddev`: population standard deviation.
    Stddev,
    /// `count`: number of non-null values.
    Count,
    /// `range`, `rangeOf`: max − min.
    Range,
    /// `multiply`: product (null if any value is null).
    Multiply,
    /// `last`, `current`: the last non-null value.
    Last,
}

/// Every name graphite-web accepts for an `aggFunc` parameter, in the order its `/functions`
/// lists them (`aggFuncs` keys, then the aliases).
pub const AGG_FUNC_NAMES: &[&str] = &[
    "average", "avg_zero", "median", "sum", "min", "max", "diff", "stddev", "count", "range",
    "multiply", "last", "rangeOf", "avg", "total", "current",
];

impl AggFunc {
    /// Looks up a name or alias (`avg`, `total`, `rangeOf`, `current`).
    pub fn from_name(name: &str) -> Option<AggFunc> {
        Some(match name {
            "average" | "avg" => AggFunc::Average,
            "avg_zero" => AggFunc::AvgZero,
            "median" => AggFunc::Median,
            "sum" | "total" => AggFunc::Sum,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            "diff" => AggFunc::Diff,
            "stddev" => AggFunc::Stddev,
            "count" => AggFunc::Count,
            "range" | "rangeOf" => AggFunc::Range,
            "multiply" => AggFunc::Multiply,
            "last" | "current" => AggFunc::Last,
            _ => return None,
        })
    }

    /// Like [`AggFunc::from_name`], also accepting the deprecated `<name>Series` spellings
    /// (`sumSeries`), as graphite-web's parameter check does.
    pub fn from_name_or_series(name: &str) -> Option<AggFunc> {
        AggFunc::from_name(name)
            .or_else(|| name.strip_suffix("Series").and_then(AggFunc::from_name))
    }

    /// Reduces one row of values (nulls included) to one value.
    pub fn apply(self, row: &[f64]) -> f64 {
        let mut values = row.iter().copied().filter(|v| present(*v));
        match self {
            AggFunc::Average => {
                let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
                if n == 0 { NULL } else { sum / n as f64 }
            }
            AggFunc::AvgZero => {
                if row.is_empty() {
                    NULL
                } else {
                    row.iter()
                        .map(|v| if present(*v) { *v } else { 0.0 })
                        .sum::<f64>()
                        / row.len() as f64
                }
            }
            AggFunc::Median => {
                let mut sorted: Vec<f64> = values.collect();
                if sorted.is_empty() {
                    return NULL;
                }
                sorted.sort_by(f64::total_cmp);
                let mid = sorted.len() / 2;
                if sorted.len().is_multiple_of(2) {
                    (sorted[mid - 1] + sorted[mid]) / 2.0
                } else {
                    sorted[mid]
                }
            }
            AggFunc::Sum => python_sum(values),
            AggFunc::Min => values.reduce(f64::min).unwrap_or(NULL),
            AggFunc::Max => values.reduce(f64::max).unwrap_or(NULL),
            AggFunc::Diff => match values.next() {
                None => NULL,
                Some(first) => values.fold(first, |acc, v| acc + -v),
            },
            AggFunc::Stddev => {
                let present: Vec<f64> = values.collect();
                if present.is_empty() {
                    return NULL;
                }
                let n = present.len() as f64;
                let avg = python_sum(present.iter().copied()) / n;
                let var = present
                    .iter()
                    .fold(0.0, |acc, v| acc + (v - avg) * (v - avg));
                (var / n).sqrt()
            }
            AggFunc::Count => values.count() as f64,
            AggFunc::Range => {
                let min = values.clone().reduce(f64::min);
                let max = values.reduce(f64::max);
                match (min, max) {
                    (Some(lo), Some(hi)) => hi - lo,
                    _ => NULL,
                }
            }
            AggFunc::Multiply => {
                if row.is_empty() || row.iter().any(|v| !present(*v)) {
                    NULL
                } else {
                    row.iter().product()
                }
            }
            AggFunc::Last => row
                .iter()
                .rev()
                .copied()
                .find(|v| present(*v))
                .unwrap_or(NULL),
        }
    }
}

/// Python's `sum()` of floats: left to right from `0`, null if there are no values.
fn python_sum(mut values: impl Iterator<Item = f64>) -> f64 {
    match values.next() {
        None => NULL,
        Some(first) => values.fold(0.0 + first, |acc, v| acc + v),
    }
}

/// A consolidation function (`consolidateBy`, `maxDataPoints`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consolidation {
    /// `sum`.
    Sum,
    /// `average` (also spelled `avg`).
    Average,
    /// `avg_zero`: nulls count as zero.
    AvgZero,
    /// `max`.
    Max,
    /// `min`.
    Min,
    /// `first`.
    First,
    /// `last`.
    Last,
}

/// The names `consolidateBy` accepts, in graphite-web's order.
pub const CONSOLIDATION_NAMES: &[&str] = &[
    "sum", "average", "avg", "avg_zero", "min", "max", "first", "last",
];

impl Consolidation {
    /// Looks up a name (`avg` is `average`).
    pub fn from_name(name: &str) -> Option<Consolidation> {
        Some(match name {
            "sum" => Consolidation::Sum,
            "average" | "avg" => Consolidation::Average,
            "avg_zero" => Consolidation::AvgZero,
            "max" => Consolidation::Max,
            "min" => Consolidation::Min,
            "first" => Consolidation::First,
            "last" => Consolidation::Last,
            _ => return None,
        })
    }

    /// graphite-web's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Consolidation::Sum => "sum",
            Consolidation::Average => "average",
            Consolidation::AvgZero => "avg_zero",
            Consolidation::Max => "max",
            Consolidation::Min => "min",
            Consolidation::First => "first",
            Consolidation::Last => "last",
        }
    }

    /// Reduces a non-empty bucket of present values (zeros already substituted for
    /// `avg_zero`).
    pub fn apply(self, usable: &[f64]) -> f64 {
        match self {
            Consolidation::Sum => python_sum(usable.iter().copied()),
            Consolidation::Average | Consolidation::AvgZero => {
                python_sum(usable.iter().copied()) / usable.len() as f64
            }
            Consolidation::Max => usable.iter().copied().reduce(f64::max).unwrap_or(NULL),
            Consolidation::Min => usable.iter().copied().reduce(f64::min).unwrap_or(NULL),
            Consolidation::First => usable.first().copied().unwrap_or(NULL),
            Consolidation::Last => usable.last().copied().unwrap_or(NULL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agg_funcs_skip_nulls() {
        let row = [1.0, NULL, 4.0, 2.0];
        let f = |name: &str| AggFunc::from_name(name).unwrap().apply(&row);
        assert_eq!(f("sum"), 7.0);
        assert_eq!(f("avg"), 7.0 / 3.0);
        assert_eq!(f("avg_zero"), 7.0 / 4.0);
        assert_eq!(f("median"), 2.0);
        assert_eq!(f("min"), 1.0);
        assert_eq!(f("max"), 4.0);
        assert_eq!(f("diff"), 1.0 - 4.0 - 2.0);
        assert_eq!(f("count"), 3.0);
        assert_eq!(f("rangeOf"), 3.0);
        assert!(f("multiply").is_nan());
        assert_eq!(f("current"), 2.0);
        assert!((f("stddev") - 1.247219128924647).abs() < 1e-15);
        assert!(AggFunc::Sum.apply(&[NULL]).is_nan());
        assert_eq!(AggFunc::Count.apply(&[NULL]), 0.0);
        assert_eq!(
            AggFunc::from_name_or_series("maxSeries"),
            Some(AggFunc::Max)
        );
    }
}
