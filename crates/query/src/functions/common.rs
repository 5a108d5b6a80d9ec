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
    let values: Vec<f64> = rows(&n.series)
        .map(|row| {
            if xff_ok(&row, xff) {
                func.apply(&row)
            } else {
                NULL
            }
        })
        .collect();
    let tags = common_tags(&n.series, &name, short);
    let mut out = Series::new(name, n.start, n.end, n.step, values, xff);
    out.tags = tags;
    Ok(vec![out])
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
