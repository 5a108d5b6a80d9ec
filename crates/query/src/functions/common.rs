//! Helpers shared by the function groups: graphite-web's `normalize`, `aggregate`,
//! `formatPathExpressions`, `aggKey` and number formatting.

use crate::aggfunc::AggFunc;
use crate::error::EvalError;
use crate::series::{NULL, Series, Tags, present};

/// Python's `'%g' % v`.
pub fn g(v: f64) -> String {
    charcoal_pyfmt::percent_g(v, 6)
}

/// Python's `str(float(v))` / `repr`.
pub fn repr(v: f64) -> String {
    charcoal_pyfmt::repr(v)
}

/// Python's `'%d' % v` for a float (truncation toward zero).
pub fn d(v: f64) -> String {
    if v.is_finite() {
        format!("{}", v.trunc() as i64)
    } else {
        repr(v)
    }
}

/// Greatest common divisor.
pub fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Least common multiple, graphite-web's way.
pub fn lcm(a: i64, b: i64) -> i64 {
    if a == b {
        return a;
    }
    let (a, b) = if a < b { (b, a) } else { (a, b) };
    let g = gcd(a, b);
    if g == 0 { a } else { a / g * b }
}

/// A normalised group of series: every series' values consolidated to the common step.
#[derive(Debug)]
pub struct Normalized {
    /// The series (values consolidated, `step` the common one).
    pub series: Vec<Series>,
    /// Earliest start.
    pub start: i64,
    /// Latest end, trimmed to a whole number of steps after `start`.
    pub end: i64,
    /// Least common multiple of the steps.
    pub step: i64,
}

/// graphite-web's `normalize`: common step = LCM of steps (each series consolidated to it
/// with its own function), start = min start, end = max end trimmed to the step grid.
/// `None` when there is no series (graphite-web's `NormalizeEmptyResultError`).
pub fn normalize(lists: Vec<Vec<Series>>) -> Option<Normalized> {
    let mut series: Vec<Series> = lists.into_iter().flatten().collect();
    if series.is_empty() {
        return None;
    }
    let step = series.iter().map(|s| s.step.max(1)).reduce(lcm)?;
    for s in &mut series {
        let vpp = (step / s.step.max(1)).max(1) as usize;
        s.values_per_point = vpp;
        if vpp > 1 {
            s.values = s.consolidated();
            s.step = step;
        }
        s.values_per_point = 1;
    }
    let start = series.iter().map(|s| s.start).min()?;
    let mut end = series.iter().map(|s| s.end).max()?;
    end -= (end - start).rem_euclid(step);
    Some(Normalized {
        series,
        start,
        end,
        step,
    })
}

/// The rows of a normalised group (`izip_longest`: shorter series padded with nulls).
pub fn rows(series: &[Series]) -> impl Iterator<Item = Vec<f64>> + '_ {
    let len = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    (0..len).map(move |i| {
        series
            .iter()
            .map(|s| s.values.get(i).copied().unwrap_or(NULL))
            .collect()
    })
}

/// graphite-web's `xffValues`: whether a row has enough non-null values.
pub fn xff_ok(row: &[f64], xff: f64) -> bool {
    let non_null = row.iter().filter(|v| present(**v)).count();
    non_null > 0 && !row.is_empty() && non_null as f64 / row.len() as f64 >= xff
}

/// graphite-web's `formatPathExpressions`: distinct path expressions in order, joined by `,`.
pub fn format_path_expressions(series: &[Series]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for s in series {
        if !seen.contains(&s.path_expression.as_str()) {
            seen.push(&s.path_expression);
        }
    }
    seen.join(",")
}

/// graphite-web's `aggregate(requestContext, seriesLists, func, xFilesFactor)`: one series
/// (or none for an empty input) named `<func>Series(<path expressions>)`, with the tags
/// all inputs share plus `aggregatedBy`.
pub fn aggregate(
    lists: Vec<Vec<Series>>,
    func_name: &str,
    xff: Option<f64>,
    request_xff: f64,
) -> Result<Vec<Series>, EvalError> {
    let short = func_name.strip_suffix("Series").unwrap_or(func_name);
    let func = AggFunc::from_name(short).ok_or_else(|| {
        EvalError::function(
            "aggregate",
            format!("Unsupported aggregation function: {func_name}"),
        )
    })?;
    let Some(n) = normalize(lists) else {
        return Ok(Vec::new());
    };
    let xff = xff.unwrap_or(request_xff);
    let name = format!("{short}Series({})", format_path_expressions(&n.series));
    let values = match columnwise(&n.series, func, xff) {
        Some(v) => v,
        None => rows(&n.series)
            .map(|row| {
                if xff_ok(&row, xff) {
                    func.apply(&row)
                } else {
                    NULL
                }
            })
            .collect(),
    };
    let tags = common_tags(&n.series, &name, short);
    let mut out = Series::new(name, n.start, n.end, n.step, values, xff);
    out.tags = tags;
    Ok(vec![out])
}

/// The common aggregations computed series by series into per-slot accumulators instead of
/// row by row: the same additions in the same order (series order, left to right, as
/// Python's `sum` over a row does), without building a row per timestamp. `None` for the
/// functions that need the whole row.
fn columnwise(series: &[Series], func: AggFunc, xff: f64) -> Option<Vec<f64>> {
    if !matches!(
        func,
        AggFunc::Sum | AggFunc::Average | AggFunc::Min | AggFunc::Max | AggFunc::Count
    ) {
        return None;
    }
    let len = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let mut acc = vec![0.0f64; len];
    let mut count = vec![0u32; len];
    for s in series {
        let slots = acc.iter_mut().zip(count.iter_mut()).zip(&s.values);
        if matches!(func, AggFunc::Sum | AggFunc::Average | AggFunc::Count) {
            // Without a branch per value, so it vectorises (the sum of a 1,000-series
            // render): a missing value adds -0.0, which leaves every float as it is.
            for ((a, c), &v) in slots {
                let p = present(v);
                *a += if p { v } else { -0.0 };
                *c += u32::from(p);
            }
            continue;
        }
        for ((a, c), &v) in slots {
            if !present(v) {
                continue;
            }
            *a = match (func, *c) {
                (_, 0) => v,
                (AggFunc::Min, _) => a.min(v),
                _ => a.max(v),
            };
            *c += 1;
        }
    }
    let width = series.len() as f64;
    Some(
        (0..len)
            .map(|i| {
                let n = count[i];
                if n == 0 || (n as f64 / width) < xff {
                    return NULL;
                }
                match func {
                    AggFunc::Average => acc[i] / n as f64,
                    AggFunc::Count => n as f64,
                    _ => acc[i],
                }
            })
            .collect(),
    )
}

/// The tags every series shares (same value), then `name` if missing and `aggregatedBy`.
pub fn common_tags(series: &[Series], name: &str, aggregated_by: &str) -> Tags {
    let mut tags = series.first().map(|s| s.tags.clone()).unwrap_or_default();
    for s in series {
        tags.retain(|k, v| s.tags.get(k) == Some(v));
    }
    if tags.get("name").is_none() {
        tags.set("name", name);
    }
    tags.set("aggregatedBy", aggregated_by);
    tags
}

/// The first path expression inside a (function-wrapped) name, as graphite-web's
/// `_getFirstPathExpression` finds it; the name itself if it does not parse.
pub fn first_path_expression(name: &str) -> String {
    let Ok(target) = crate::parser::parse_target(name) else {
        return name.to_owned();
    };
    let mut e = target.expr();
    loop {
        match &e.kind {
            crate::ast::ExprKind::Path(p) => return p.clone(),
            crate::ast::ExprKind::Call(c) => match c.args.first() {
                Some(a) => e = a,
                None => return name.to_owned(),
            },
            crate::ast::ExprKind::Template(t) => e = &t.inner,
            _ => return name.to_owned(),
        }
    }
}

/// A node index or tag name argument (`nodeOrTag`).
#[derive(Clone, Debug, PartialEq)]
pub enum NodeOrTag {
    /// A node position (negative counts from the end).
    Node(i64),
    /// A tag name.
    Tag(String),
}

impl NodeOrTag {
    /// From an evaluated argument: integers are nodes, anything else a tag name.
    pub fn from_value(v: &crate::value::Value) -> NodeOrTag {
        match v {
            crate::value::Value::Int(i) => NodeOrTag::Node(*i),
            crate::value::Value::Float(f) if f.fract() == 0.0 => NodeOrTag::Node(*f as i64),
            other => NodeOrTag::Tag(other.py_str()),
        }
    }
}

/// graphite-web's `getNodeOrTag`: node `n` of the name (tags split off first) or, if `n` is
/// not a valid node, the value of tag `n` (`""` if absent).
pub fn node_or_tag(series: &Series, n: &NodeOrTag, path_expression: Option<&str>) -> String {
    if let NodeOrTag::Node(i) = n {
        let base = path_expression.unwrap_or(&series.name);
        let metric = base.split(';').next().unwrap_or("");
        let parts: Vec<&str> = metric.split('.').collect();
        let idx = if *i < 0 { parts.len() as i64 + i } else { *i };
        if idx >= 0 && (idx as usize) < parts.len() {
            return parts[idx as usize].to_owned();
        }
    }
    let key = match n {
        NodeOrTag::Node(i) => i.to_string(),
        NodeOrTag::Tag(t) => t.clone(),
    };
    series.tags.get(&key).unwrap_or("").to_owned()
}

/// graphite-web's `aggKey`: the selected nodes/tags joined with `.`; a function-wrapped
/// name is read through its first path expression.
pub fn agg_key(series: &Series, nodes: &[NodeOrTag]) -> String {
    let path = if series.name.ends_with(')') {
        Some(first_path_expression(&series.name))
    } else {
        None
    };
    nodes
        .iter()
        .map(|n| node_or_tag(series, n, path.as_deref()))
        .collect::<Vec<_>>()
        .join(".")
}

/// Applies `f` to every present value (nulls stay null).
pub fn map_values(values: &mut [f64], f: impl Fn(f64) -> f64) {
    for v in values.iter_mut() {
        if present(*v) {
            *v = f(*v);
        }
    }
}

// ---------------------------------------------------------------------------------------
// graphite-web's Python semantics, for the functions that reproduce them closely.

/// graphite-web's `normalize` as it really behaves on the series it is given: it only sets
/// each series' `valuesPerPoint` (iteration then yields consolidated values), leaving
/// `step` alone, and returns `(start, end, step)` of the common grid. `None` for no series
/// (`NormalizeEmptyResultError`). Functions that go on to build a series from the input's
/// own `step` (asPercent) rely on the step staying untouched.
pub fn py_normalize<'a>(
    series: impl IntoIterator<Item = &'a mut Series>,
) -> Option<(i64, i64, i64)> {
    let mut series: Vec<&mut Series> = series.into_iter().collect();
    let step = series.iter().map(|s| s.step.max(1)).reduce(lcm)?;
    for s in &mut series {
        s.values_per_point = (step / s.step.max(1)).max(1) as usize;
    }
    let start = series.iter().map(|s| s.start).min()?;
    let mut end = series.iter().map(|s| s.end).max()?;
    end -= (end - start).rem_euclid(step);
    Some((start, end, step))
}

/// `izip_longest(*series)` over what iterating each series yields (consolidated values),
/// shorter ones padded with nulls.
pub fn py_rows(series: &[&Series]) -> Vec<Vec<f64>> {
    let columns: Vec<Vec<f64>> = series.iter().map(|s| s.consolidated()).collect();
    let len = columns.iter().map(Vec::len).max().unwrap_or(0);
    (0..len)
        .map(|i| {
            columns
                .iter()
                .map(|c| c.get(i).copied().unwrap_or(NULL))
                .collect()
        })
        .collect()
}

/// `safe.safeDiv`: null for a null dividend or a null or zero divisor.
pub fn safe_div(a: f64, b: f64) -> f64 {
    if !present(a) || !present(b) || b == 0.0 {
        NULL
    } else {
        a / b
    }
}

/// `safe.safeMul` of two factors: null if either is null.
pub fn safe_mul(a: f64, b: f64) -> f64 {
    if present(a) && present(b) {
        a * b
    } else {
        NULL
    }
}

/// Python's `values[i]` (negative counts from the end); `None` where Python raises
/// `IndexError`.
pub fn py_index<T: Copy>(values: &[T], i: i64) -> Option<T> {
    let idx = if i < 0 { values.len() as i64 + i } else { i };
    if idx < 0 {
        return None;
    }
    values.get(idx as usize).copied()
}

/// Where Python's `values[:n]` stops for a list of `len` items.
pub fn py_slice_end(len: usize, n: i64) -> usize {
    if n < 0 {
        (len as i64 + n).max(0) as usize
    } else {
        (n as usize).min(len)
    }
}

/// Python's `values[lo:hi]` bounds for a list of `len` items (`None` = open end).
pub fn py_slice(len: usize, lo: Option<i64>, hi: Option<i64>) -> (usize, usize) {
    let clamp = |i: i64| -> usize {
        if i < 0 {
            (len as i64 + i).max(0) as usize
        } else {
            (i as usize).min(len)
        }
    };
    let lo = lo.map_or(0, clamp);
    let hi = hi.map_or(len, clamp);
    (lo, hi.max(lo))
}

/// graphite-web's `_getPercentile`: the `n`th percentile of the present values (null when
/// there are none); `None` where its list indexing raises `IndexError` (`n` above 100).
pub fn get_percentile(points: &[f64], n: f64, interpolate: bool) -> Option<f64> {
    let mut sorted: Vec<f64> = points.iter().copied().filter(|v| present(*v)).collect();
    if sorted.is_empty() {
        return Some(NULL);
    }
    sorted.sort_by(f64::total_cmp);
    let fractional_rank = (n / 100.0) * (sorted.len() as f64 + 1.0);
    let mut rank = fractional_rank.trunc() as i64;
    let rank_fraction = fractional_rank - rank as f64;
    if !interpolate {
        rank += rank_fraction.ceil() as i64;
    }
    let mut percentile = if rank == 0 {
        sorted[0]
    } else if rank - 1 == sorted.len() as i64 {
        sorted[sorted.len() - 1]
    } else {
        py_index(&sorted, rank - 1)?
    };
    if interpolate && rank != sorted.len() as i64 {
        let next = py_index(&sorted, rank)?;
        percentile += rank_fraction * (next - percentile);
    }
    Some(percentile)
}

/// Python's `a < b` for floats that may be `None`: comparing with `None` raises
/// `TypeError` in Python 3, which graphite-web lets through as a failed request.
pub fn py_lt(function: &str, a: f64, b: f64) -> Result<bool, EvalError> {
    if present(a) && present(b) {
        Ok(a < b)
    } else {
        Err(EvalError::function(
            function,
            "'<' not supported between instances of 'NoneType' and 'float'",
        ))
    }
}

/// graphite-web's aggregation function lookup (`getAggFunc`), which unlike the parameter
/// check does not accept the `<name>Series` spellings.
pub fn get_agg_func(function: &str, name: &str) -> Result<AggFunc, EvalError> {
    AggFunc::from_name(name).ok_or_else(|| {
        EvalError::function(
            function,
            format!("Unsupported aggregation function: {name}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The column-wise aggregations answer what the row-by-row definition answers, bit for
    /// bit (missing values, signed zeros, infinities, series of different lengths).
    #[test]
    fn columnwise_is_row_by_row() {
        const VALUES: [f64; 10] = [
            1.0,
            -0.0,
            0.0,
            NULL,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e308,
            0.1,
            -3.5,
            NULL,
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for _ in 0..3_000 {
            let series: Vec<Series> = (0..next(6))
                .map(|i| {
                    let values = (0..next(9)).map(|_| VALUES[next(10) as usize]).collect();
                    Series::new(format!("s{i}"), 0, 90, 10, values, 0.0)
                })
                .collect();
            let xff = [0.0, 0.5, 1.0][next(3) as usize];
            for func in [
                AggFunc::Sum,
                AggFunc::Average,
                AggFunc::Min,
                AggFunc::Max,
                AggFunc::Count,
            ] {
                let fast = columnwise(&series, func, xff).unwrap();
                let general: Vec<f64> = rows(&series)
                    .map(|row| {
                        if xff_ok(&row, xff) {
                            func.apply(&row)
                        } else {
                            NULL
                        }
                    })
                    .collect();
                let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&fast), bits(&general), "{func:?} xff {xff}");
            }
        }
    }
}
