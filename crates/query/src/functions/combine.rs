//! The Combine group: functions that merge several series into fewer.
//!
//! Several of graphite-web's combining functions normalise their inputs lazily: they set
//! each series' `valuesPerPoint` and keep its own `step`, so iterating yields consolidated
//! values while the result may still carry the input's step (asPercent does). Those are
//! reproduced with [`py_normalize`], which does exactly that.
//!
//! # Differs from graphite-web
//!
//! - `mapSeries` returns a list of series lists, which only `reduceSeries` can take:
//!   graphite-web fails to render it anywhere else. Charcoal's values have no list of
//!   lists, so `mapSeries` returns its groups concatenated (group after group) and
//!   `reduceSeries` only accepts a `mapSeries`/`map` call as its first argument (anything
//!   else non-empty is refused, as graphite-web refuses it).
//! - `applyByNode` evaluates its template targets with the request's time range; a
//!   `seriesByTag` inside the template is not supported (its call text is not available).

use crate::error::EvalError;
use crate::eval::Ctx;
use crate::registry::{Args, Default, FunctionDef, Param, ParamType as T};
use crate::series::{NULL, Series, Tags, present};
use crate::value::Value;

use super::common::{
    NodeOrTag, agg_key, aggregate, format_path_expressions, g, get_percentile, normalize, py_index,
    py_normalize, py_rows, py_slice, rows, safe_div, safe_mul,
};

const LISTS_REQUIRED: &[Param] = &[Param::req("seriesLists", T::SeriesList).multiple()];
const LISTS_OPTIONAL: &[Param] = &[Param::new("seriesLists", T::SeriesList).multiple()];
const WILDCARDS: &[Param] = &[
    Param::req("seriesList", T::SeriesList),
    Param::new("position", T::Node).multiple(),
];

/// An aggregating function over all its series lists: `<name>(a, b, ...)`.
macro_rules! aggregator {
    ($fn_name:ident, $name:literal, $summary:literal) => {
        FunctionDef {
            name: $name,
            group: "Combine",
            params: LISTS_REQUIRED,
            aggregator: true,
            summary: $summary,
            run: $fn_name,
        }
    };
}

/// A `*SeriesWithWildcards` function.
macro_rules! with_wildcards {
    ($fn_name:ident, $name:literal, $summary:literal) => {
        FunctionDef {
            name: $name,
            group: "Combine",
            params: WILDCARDS,
            aggregator: true,
            summary: $summary,
            run: $fn_name,
        }
    };
}

/// A `*SeriesLists` function: two lists aggregated pair by pair.
macro_rules! series_lists {
    ($fn_name:ident, $name:literal, $summary:literal) => {
        FunctionDef {
            name: $name,
            group: "Combine",
            params: &[
                Param::req("seriesListFirstPos", T::SeriesList),
                Param::req("seriesListSecondPos", T::SeriesList),
            ],
            aggregator: true,
            summary: $summary,
            run: $fn_name,
        }
    };
}

/// `asPercent` and its short name.
macro_rules! as_percent {
    ($name:literal) => {
        FunctionDef {
            name: $name,
            group: "Combine",
            params: &[
                Param::req("seriesList", T::SeriesList),
                Param::new("total", T::Any),
                Param::new("nodes", T::NodeOrTag).multiple(),
            ],
            aggregator: true,
            summary: "Each series as a percentage of a total: a number, a series, matching series, or the sum of the list.",
            run: as_percent,
        }
    };
}

/// `mapSeries` and its short name.
macro_rules! map_series {
    ($name:literal) => {
        FunctionDef {
            name: $name,
            group: "Combine",
            params: &[
                Param::req("seriesList", T::SeriesList),
                Param::req("mapNodes", T::NodeOrTag).multiple(),
            ],
            aggregator: false,
            summary: "Splits a list into groups sharing the given nodes, for reduceSeries.",
            run: map_series,
        }
    };
}

/// `reduceSeries` and its short name.
macro_rules! reduce_series {
    ($name:literal) => {
        FunctionDef {
            name: $name,
            group: "Combine",
            params: &[
                Param::req("seriesLists", T::SeriesLists),
                Param::req("reduceFunction", T::String),
                Param::req("reduceNode", T::Node),
                Param::req("reduceMatchers", T::String).multiple(),
            ],
            aggregator: false,
            summary: "Within each mapSeries group, calls a function with the series whose node matches each matcher, in matcher order.",
            run: reduce_series,
        }
    };
}

/// Declarations.
pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    FunctionDef {
        name: "aggregate",
        group: "Combine",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::req("func", T::AggFunc),
            Param::new("xFilesFactor", T::Float),
        ],
        aggregator: false,
        summary: "Combines all series point by point with an aggregation function.",
        run: aggregate_fn,
    },
    aggregator!(sum_series, "sumSeries", "Point-wise sum of all series."),
    aggregator!(sum_series, "sum", "Short form of sumSeries."),
    aggregator!(
        average_series,
        "averageSeries",
        "Point-wise mean of all series."
    ),
    aggregator!(average_series, "avg", "Short form of averageSeries."),
    aggregator!(max_series, "maxSeries", "Point-wise maximum of all series."),
    aggregator!(min_series, "minSeries", "Point-wise minimum of all series."),
    aggregator!(
        diff_series,
        "diffSeries",
        "The first series minus all the others, point by point."
    ),
    aggregator!(
        stddev_series,
        "stddevSeries",
        "Point-wise population standard deviation across the series."
    ),
    aggregator!(
        range_series,
        "rangeOfSeries",
        "Point-wise maximum minus minimum across the series."
    ),
    aggregator!(
        multiply_series,
        "multiplySeries",
        "Point-wise product of all series."
    ),
    FunctionDef {
        name: "countSeries",
        group: "Combine",
        params: LISTS_OPTIONAL,
        aggregator: true,
        summary: "A constant series with the number of series given.",
        run: count_series,
    },
    FunctionDef {
        name: "aggregateWithWildcards",
        group: "Combine",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::req("func", T::AggFunc),
            Param::new("position", T::Node).multiple(),
        ],
        aggregator: false,
        summary: "Groups series by their name with the given nodes removed and aggregates each group.",
        run: aggregate_with_wildcards,
    },
    with_wildcards!(
        sum_with_wildcards,
        "sumSeriesWithWildcards",
        "Sums series grouped by their name without the given nodes."
    ),
    with_wildcards!(
        average_with_wildcards,
        "averageSeriesWithWildcards",
        "Averages series grouped by their name without the given nodes."
    ),
    with_wildcards!(
        multiply_with_wildcards,
        "multiplySeriesWithWildcards",
        "Multiplies series grouped by their name without the given nodes."
    ),
    FunctionDef {
        name: "aggregateSeriesLists",
        group: "Combine",
        params: &[
            Param::req("seriesListFirstPos", T::SeriesList),
            Param::req("seriesListSecondPos", T::SeriesList),
            Param::req("func", T::AggFunc),
            Param::new("xFilesFactor", T::Float),
        ],
        aggregator: false,
        summary: "Aggregates the two lists pair by pair (first with first, second with second, ...).",
        run: aggregate_series_lists,
    },
    series_lists!(
        sum_series_lists,
        "sumSeriesLists",
        "Adds the two lists pair by pair."
    ),
    series_lists!(
        diff_series_lists,
        "diffSeriesLists",
        "Subtracts the second list from the first, pair by pair."
    ),
    series_lists!(
        multiply_series_lists,
        "multiplySeriesLists",
        "Multiplies the two lists pair by pair."
    ),
    FunctionDef {
        name: "percentileOfSeries",
        group: "Combine",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::req("n", T::Float),
            Param::new("interpolate", T::Boolean).default(Default::Bool(false)),
        ],
        aggregator: false,
        summary: "At each point, the n-th percentile of the values of all series.",
        run: percentile_of_series,
    },
    as_percent!("asPercent"),
    as_percent!("pct"),
    FunctionDef {
        name: "divideSeriesLists",
        group: "Combine",
        params: &[
            Param::req("dividendSeriesList", T::SeriesList),
            Param::req("divisorSeriesList", T::SeriesList),
        ],
        aggregator: false,
        summary: "Divides the first list by the second, pair by pair.",
        run: divide_series_lists,
    },
    FunctionDef {
        name: "divideSeries",
        group: "Combine",
        params: &[
            Param::req("dividendSeriesList", T::SeriesList),
            Param::req("divisorSeries", T::SeriesList),
        ],
        aggregator: false,
        summary: "Divides every series by one divisor series.",
        run: divide_series,
    },
    FunctionDef {
        name: "powSeries",
        group: "Combine",
        params: &[Param::req("seriesList", T::SeriesList).multiple()],
        aggregator: true,
        summary: "Raises the first series to the power of the next, then that to the next, point by point.",
        run: pow_series,
    },
    FunctionDef {
        name: "weightedAverage",
        group: "Combine",
        params: &[
            Param::req("seriesListAvg", T::SeriesList),
            Param::req("seriesListWeight", T::SeriesList),
            Param::new("nodes", T::NodeOrTag).multiple(),
        ],
        aggregator: false,
        summary: "Average of the first list weighted by the matching series of the second.",
        run: weighted_average,
    },
    map_series!("mapSeries"),
    map_series!("map"),
    reduce_series!("reduceSeries"),
    reduce_series!("reduce"),
    FunctionDef {
        name: "applyByNode",
        group: "Combine",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::req("nodeNum", T::Node),
            Param::req("templateFunction", T::String),
            Param::new("newName", T::String),
        ],
        aggregator: false,
        summary: "Evaluates a template target once per distinct name prefix, with % replaced by the prefix.",
        run: apply_by_node,
    },
    FunctionDef {
        name: "groupByNode",
        group: "Combine",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::req("nodeNum", T::NodeOrTag),
            Param::new("callback", T::AggOrSeriesFunc).default(Default::Str("average")),
        ],
        aggregator: false,
        summary: "Groups series by one node (or tag) and combines each group with a callback.",
        run: group_by_node,
    },
    FunctionDef {
        name: "groupByNodes",
        group: "Combine",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::req("callback", T::AggOrSeriesFunc),
            Param::new("nodes", T::NodeOrTag).multiple(),
        ],
        aggregator: false,
        summary: "Groups series by several nodes (or tags) and combines each group with a callback.",
        run: group_by_nodes,
    },
    FunctionDef {
        name: "groupByTags",
        group: "Combine",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::req("callback", T::AggOrSeriesFunc),
            Param::req("tags", T::Tag).multiple(),
        ],
        aggregator: false,
        summary: "Groups series by the values of the given tags and combines each group with a callback.",
        run: group_by_tags,
    },
    FunctionDef {
        name: "group",
        group: "Combine",
        params: LISTS_OPTIONAL,
        aggregator: false,
        summary: "Concatenates several series lists into one.",
        run: group,
    },
];

fn aggregate_fn(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let func = a.str(1);
    let xff = a.opt_float(2);
    aggregate(vec![a.series(0)], &func, xff, ctx.x_files_factor())
}

fn lists_with(ctx: &Ctx<'_>, a: &mut Args, func: &str) -> Result<Vec<Series>, EvalError> {
    aggregate(a.series_lists(0), func, None, ctx.x_files_factor())
}

fn sum_series(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    lists_with(ctx, a, "sum")
}

fn average_series(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    lists_with(ctx, a, "average")
}

fn max_series(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    lists_with(ctx, a, "max")
}

fn min_series(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    lists_with(ctx, a, "min")
}

fn diff_series(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    lists_with(ctx, a, "diff")
}

fn stddev_series(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    lists_with(ctx, a, "stddev")
}

fn range_series(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    lists_with(ctx, a, "rangeOf")
}

fn multiply_series(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let mut lists = a.series_lists(0);
    // graphite-web returns a single series unchanged.
    if lists.len() == 1 && lists[0].len() == 1 {
        return Ok(lists.pop().unwrap_or_default());
    }
    aggregate(lists, "multiply", None, ctx.x_files_factor())
}

fn count_series(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let lists = a.series_lists(0);
    if lists.is_empty() {
        let mut s = super::special::constant_line(ctx, 0.0, "0");
        s.path_expression = "countSeries()".into();
        return Ok(vec![s]);
    }
    let Some(n) = normalize(lists) else {
        return Ok(Vec::new());
    };
    let name = format!("countSeries({})", format_path_expressions(&n.series));
    let values = rows(&n.series).map(|row| row.len() as f64).collect();
    let s = Series::new(name, n.start, n.end, n.step, values, ctx.x_files_factor());
    Ok(vec![s])
}

fn aggregate_with_wildcards(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let func = a.str(1);
    let positions: Vec<i64> = a.values(2).iter().filter_map(|v| v.as_i64()).collect();
    with_wildcards_by(ctx, a.series(0), &func, &positions)
}

fn wildcard_positions(a: &Args) -> Vec<i64> {
    a.values(1).iter().filter_map(|v| v.as_i64()).collect()
}

fn sum_with_wildcards(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let p = wildcard_positions(a);
    with_wildcards_by(ctx, a.series(0), "sum", &p)
}

fn average_with_wildcards(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let p = wildcard_positions(a);
    with_wildcards_by(ctx, a.series(0), "average", &p)
}

fn multiply_with_wildcards(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let p = wildcard_positions(a);
    with_wildcards_by(ctx, a.series(0), "multiply", &p)
}

/// graphite-web's `aggregateWithWildcards`: group by the name without the nodes at
/// `positions` (first-seen order), aggregate each group, name the result by its key.
fn with_wildcards_by(
    ctx: &Ctx<'_>,
    series: Vec<Series>,
    func: &str,
    positions: &[i64],
) -> Result<Vec<Series>, EvalError> {
    let mut groups: Vec<(String, Vec<Series>)> = Vec::new();
    for s in series {
        let key = s
            .name
            .split('.')
            .enumerate()
            .filter(|(i, _)| !positions.contains(&(*i as i64)))
            .map(|(_, n)| n)
            .collect::<Vec<_>>()
            .join(".");
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(s),
            None => groups.push((key, vec![s])),
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for (key, members) in groups {
        if let Some(mut s) = aggregate(vec![members], func, None, ctx.x_files_factor())?.pop() {
            s.rename(key);
            out.push(s);
        }
    }
    Ok(out)
}

fn group(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    Ok(a.series_lists(0).into_iter().flatten().collect())
}

/// The nodes of a `nodeOrTag` multiple parameter.
fn nodes_of(a: &Args, i: usize) -> Vec<NodeOrTag> {
    a.values(i).iter().map(NodeOrTag::from_value).collect()
}

/// Appends `item` to the group `key`, creating it (in first-seen order) if needed.
fn push_group<T>(groups: &mut Vec<(String, Vec<T>)>, key: String, item: T) {
    match groups.iter_mut().find(|(k, _)| *k == key) {
        Some((_, members)) => members.push(item),
        None => groups.push((key, vec![item])),
    }
}

/// A series built from scratch, as graphite-web's `TimeSeries(name, start, end, step,
/// values, xFilesFactor=requestContext xFilesFactor)`.
fn new_series(ctx: &Ctx<'_>, name: String, grid: (i64, i64, i64), values: Vec<f64>) -> Series {
    Series::new(name, grid.0, grid.1, grid.2, values, ctx.x_files_factor())
}

fn aggregate_series_lists(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let func = a.str(2);
    let xff = a.opt_float(3);
    pairwise_aggregate(ctx, a, &func, xff)
}

/// graphite-web's `aggregateSeriesLists`: `aggregate` over each pair, named
/// `<func>Series(<first name>,<second name>)`.
fn pairwise_aggregate(
    ctx: &Ctx<'_>,
    a: &mut Args,
    func: &str,
    xff: Option<f64>,
) -> Result<Vec<Series>, EvalError> {
    let (first, second) = (a.series(0), a.series(1));
    if first.len() != second.len() {
        return Err(EvalError::function(
            a.function(),
            "seriesListFirstPos and seriesListSecondPos argument must have equal length",
        ));
    }
    let mut out = Vec::with_capacity(first.len());
    for (x, y) in first.into_iter().zip(second) {
        let name_tail = format!("({},{})", x.name, y.name);
        let Some(mut result) = aggregate(vec![vec![x, y]], func, xff, ctx.x_files_factor())?.pop()
        else {
            continue;
        };
        // The result keeps its "<func>Series" prefix; only the argument part changes.
        let prefix_len = result.name.find("Series(").unwrap_or(result.name.len());
        let name = format!("{}Series{name_tail}", &result.name[..prefix_len]);
        result.rename(name);
        out.push(result);
    }
    Ok(out)
}

fn sum_series_lists(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    pairwise_aggregate(ctx, a, "sum", None)
}

fn diff_series_lists(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    pairwise_aggregate(ctx, a, "diff", None)
}

fn multiply_series_lists(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    pairwise_aggregate(ctx, a, "multiply", None)
}

fn percentile_of_series(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let n = a.float(1);
    let interpolate = a.bool(2);
    if n <= 0.0 {
        return Err(EvalError::function(
            a.function(),
            "The requested percent is required to be greater than 0",
        ));
    }
    let mut list = a.series(0);
    let Some(first) = list.first() else {
        return Ok(Vec::new());
    };
    let name = format!("percentileOfSeries({},{})", first.path_expression, g(n));
    let grid = py_normalize(list.iter_mut()).unwrap_or_default();
    let refs: Vec<&Series> = list.iter().collect();
    let mut values = Vec::new();
    for row in py_rows(&refs) {
        let p = get_percentile(&row, n, interpolate)
            .ok_or_else(|| EvalError::function(a.function(), "list index out of range"))?;
        values.push(p);
    }
    Ok(vec![new_series(ctx, name, grid, values)])
}

/// `safe.safeMul(safe.safeDiv(v, total), 100.0)`.
fn percent(v: f64, total: f64) -> f64 {
    safe_mul(safe_div(v, total), 100.0)
}

/// Percentages of `series` against its partner, normalised together.
fn percent_pair(ctx: &Ctx<'_>, mut series: Series, mut total: Series) -> (Series, (i64, i64, i64)) {
    let name = format!("asPercent({},{})", series.name, total.name);
    let grid = py_normalize([&mut series, &mut total]).unwrap_or_default();
    let values = py_rows(&[&series, &total])
        .into_iter()
        .map(|r| percent(r[0], r[1]))
        .collect();
    (new_series(ctx, name, grid, values), grid)
}

fn as_percent(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let func = a.function();
    let total = a.get(1);
    let nodes = nodes_of(a, 2);
    let mut list = a.series(0);
    // graphite-web normalises the list first: an empty one ends the call with no result.
    if py_normalize(list.iter_mut()).is_none() {
        return Ok(Vec::new());
    }
    if !nodes.is_empty() {
        return as_percent_by_nodes(ctx, func, list, total, &nodes);
    }
    let (totals, text): (Vec<f64>, String) = match total {
        None => {
            let refs: Vec<&Series> = list.iter().collect();
            let sums = py_rows(&refs)
                .iter()
                .map(|r| crate::aggfunc::AggFunc::Sum.apply(r))
                .collect();
            (
                sums,
                format!("sumSeries({})", format_path_expressions(&list)),
            )
        }
        Some(Value::Series(mut totals)) => {
            if totals.len() != 1 && totals.len() != list.len() {
                return Err(EvalError::function(
                    func,
                    "asPercent second argument must be missing, a single digit, reference exactly 1 series or reference the same number of series as the first argument",
                ));
            }
            if totals.len() == list.len() {
                // matchSeries: both lists sorted by name, paired in that order.
                list.sort_by(|x, y| x.name.cmp(&y.name));
                totals.sort_by(|x, y| x.name.cmp(&y.name));
                return Ok(list
                    .into_iter()
                    .zip(totals)
                    .map(|(s, t)| percent_pair(ctx, s, t).0)
                    .collect());
            }
            let mut total = totals.remove(0);
            py_normalize(list.iter_mut().chain([&mut total]));
            (total.consolidated(), total.name)
        }
        Some(v) => {
            // A constant: repeated as many times as the first series has raw values.
            let divisor = match v {
                Value::Int(_) | Value::Float(_) | Value::Bool(_) => v.as_f64().unwrap_or(NULL),
                _ if list
                    .iter()
                    .all(|s| s.consolidated().iter().all(|x| !present(*x))) =>
                {
                    NULL
                }
                _ => {
                    return Err(EvalError::function(
                        func,
                        format!(
                            "unsupported operand type(s) for /: 'float' and {}",
                            v.py_repr()
                        ),
                    ));
                }
            };
            (vec![divisor; list[0].values.len()], v.py_str())
        }
    };
    let mut out = Vec::with_capacity(list.len());
    for s in &list {
        let own = s.consolidated();
        let len = own.len().max(totals.len());
        let values = (0..len)
            .map(|i| {
                percent(
                    own.get(i).copied().unwrap_or(NULL),
                    totals.get(i).copied().unwrap_or(NULL),
                )
            })
            .collect();
        let label = if text.is_empty() {
            &s.path_expression
        } else {
            &text
        };
        let name = format!("asPercent({},{label})", s.name);
        // graphite-web keeps the series' own step even when its values were consolidated.
        out.push(new_series(ctx, name, (s.start, s.end, s.step), values));
    }
    Ok(out)
}

/// The sum of a group of totals (or the single member), `sumSeries(...)`-named.
fn group_total(
    ctx: &Ctx<'_>,
    mut members: Vec<Series>,
    grid: &mut Option<(i64, i64, i64)>,
) -> Series {
    if members.len() == 1 {
        return members.remove(0);
    }
    let name = format!("sumSeries({})", format_path_expressions(&members));
    let g = py_normalize(members.iter_mut()).unwrap_or_default();
    *grid = Some(g);
    let refs: Vec<&Series> = members.iter().collect();
    let values = py_rows(&refs)
        .iter()
        .map(|r| crate::aggfunc::AggFunc::Sum.apply(r))
        .collect();
    new_series(ctx, name, g, values)
}

/// asPercent with nodes: series and totals matched by key (graphite-web's `aggKey`).
///
/// graphite-web builds the unmatched (`MISSING`) results with whatever start, end and step
/// the last normalisation left in its local variables, and fails if none happened yet;
/// `grid` tracks exactly that.
fn as_percent_by_nodes(
    ctx: &Ctx<'_>,
    func: &str,
    list: Vec<Series>,
    total: Option<Value>,
    nodes: &[NodeOrTag],
) -> Result<Vec<Series>, EvalError> {
    let mut groups: Vec<(String, Vec<Series>)> = Vec::new();
    for s in list {
        push_group(&mut groups, agg_key(&s, nodes), s);
    }
    let mut keys: Vec<String> = groups.iter().map(|(k, _)| k.clone()).collect();
    let mut grid: Option<(i64, i64, i64)> = None;
    let mut totals: Vec<(String, Series)> = Vec::new();
    match total {
        None => {
            for (key, members) in &mut groups {
                if members.len() == 1 {
                    totals.push((key.clone(), members[0].clone()));
                    continue;
                }
                let name = format!("sumSeries({})", format_path_expressions(members));
                let g = py_normalize(members.iter_mut()).unwrap_or_default();
                grid = Some(g);
                let refs: Vec<&Series> = members.iter().collect();
                let values = py_rows(&refs)
                    .iter()
                    .map(|r| crate::aggfunc::AggFunc::Sum.apply(r))
                    .collect();
                totals.push((key.clone(), new_series(ctx, name, g, values)));
            }
        }
        Some(Value::Series(list)) => {
            let mut total_groups: Vec<(String, Vec<Series>)> = Vec::new();
            for s in list {
                let key = agg_key(&s, nodes);
                if !keys.contains(&key) {
                    keys.push(key.clone());
                }
                push_group(&mut total_groups, key, s);
            }
            for (key, members) in total_groups {
                totals.push((key, group_total(ctx, members, &mut grid)));
            }
        }
        Some(_) => {
            return Err(EvalError::function(
                func,
                "total must be None or a seriesList",
            ));
        }
    }
    let unbound =
        || EvalError::function(func, "local variable 'start' referenced before assignment");
    let mut out = Vec::new();
    for key in keys {
        let total = totals.iter().find(|(k, _)| *k == key).map(|(_, t)| t);
        let Some((_, members)) = groups.iter().find(|(k, _)| *k == key) else {
            let total = total.expect("a key comes from the series or the totals");
            let name = format!("asPercent(MISSING,{})", total.name);
            let values = vec![NULL; total.consolidated().len()];
            out.push(new_series(ctx, name, grid.ok_or_else(unbound)?, values));
            continue;
        };
        for s in members {
            match total {
                None => {
                    let name = format!("asPercent({},MISSING)", s.name);
                    let values = vec![NULL; s.consolidated().len()];
                    out.push(new_series(ctx, name, grid.ok_or_else(unbound)?, values));
                }
                Some(t) => {
                    let (result, g) = percent_pair(ctx, s.clone(), t.clone());
                    grid = Some(g);
                    out.push(result);
                }
            }
        }
    }
    Ok(out)
}

/// One quotient series of `dividend` by `divisor` on their common grid.
fn quotient(ctx: &Ctx<'_>, mut dividend: Series, mut divisor: Series) -> Series {
    let name = format!("divideSeries({},{})", dividend.name, divisor.name);
    let grid = py_normalize([&mut dividend, &mut divisor]).unwrap_or_default();
    let values = py_rows(&[&dividend, &divisor])
        .into_iter()
        .map(|r| safe_div(r[0], r[1]))
        .collect();
    new_series(ctx, name, grid, values)
}

fn divide_series_lists(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let (dividends, divisors) = (a.series(0), a.series(1));
    if dividends.len() != divisors.len() {
        return Err(EvalError::function(
            a.function(),
            "dividendSeriesList and divisorSeriesList argument must have equal length",
        ));
    }
    Ok(dividends
        .into_iter()
        .zip(divisors)
        .map(|(x, y)| quotient(ctx, x, y))
        .collect())
}

fn divide_series(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let (mut dividends, mut divisors) = (a.series(0), a.series(1));
    if divisors.is_empty() {
        // No divisor: graphite-web nulls the dividends in place and renames them (tags kept).
        for s in &mut dividends {
            let name = format!("divideSeries({},MISSING)", s.name);
            s.rename(name.clone());
            s.path_expression = name;
            s.values.iter_mut().for_each(|v| *v = NULL);
        }
        return Ok(dividends);
    }
    if divisors.len() > 1 {
        return Err(EvalError::function(
            a.function(),
            format!(
                "divideSeries second argument must reference exactly 1 series (got {})",
                divisors.len()
            ),
        ));
    }
    let divisor = divisors.remove(0);
    Ok(dividends
        .into_iter()
        .map(|x| quotient(ctx, x, divisor.clone()))
        .collect())
}

/// `safe.safePow`: null for a null operand, and where Python's `math.pow` raises (a
/// negative base with a fractional exponent, zero to a negative power, overflow).
fn safe_pow(base: f64, exp: f64) -> f64 {
    if !present(base) || !present(exp) {
        return NULL;
    }
    let r = base.powf(exp);
    if r.is_infinite() && base.is_finite() && exp.is_finite() {
        NULL
    } else {
        r
    }
}

fn pow_series(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let mut list: Vec<Series> = a.series_lists(0).into_iter().flatten().collect();
    let Some(grid) = py_normalize(list.iter_mut()) else {
        return Ok(Vec::new());
    };
    let name = format!(
        "powSeries({})",
        list.iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    let refs: Vec<&Series> = list.iter().collect();
    let values = py_rows(&refs)
        .into_iter()
        .map(|row| row[1..].iter().fold(row[0], |acc, &v| safe_pow(acc, v)))
        .collect();
    Ok(vec![new_series(ctx, name, grid, values)])
}

fn weighted_average(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let node_values = a.values(2);
    let nodes: Vec<NodeOrTag> = node_values.iter().map(NodeOrTag::from_value).collect();
    let (avgs, weights) = (a.series(0), a.series(1));
    if avgs.len() != weights.len() {
        return Err(EvalError::function(
            a.function(),
            format!(
                "weightedAverage must receive the same number of series for seriesListAvg and seriesListWeight but received respectively {} and {}",
                avgs.len(),
                weights.len()
            ),
        ));
    }
    // key -> (avg, weight); a later series with the same key replaces the earlier one.
    let mut by_key: Vec<(String, Option<usize>, Option<usize>)> = Vec::new();
    let mut slot = |key: String| -> usize {
        match by_key.iter().position(|(k, _, _)| *k == key) {
            Some(i) => i,
            None => {
                by_key.push((key, None, None));
                by_key.len() - 1
            }
        }
    };
    let mut pairs = Vec::new();
    for (i, (avg, weight)) in avgs.iter().zip(&weights).enumerate() {
        pairs.push((slot(agg_key(avg, &nodes)), true, i));
        pairs.push((slot(agg_key(weight, &nodes)), false, i));
    }
    for (k, is_avg, i) in pairs {
        if is_avg {
            by_key[k].1 = Some(i);
        } else {
            by_key[k].2 = Some(i);
        }
    }
    let mut products = Vec::new();
    for (_, avg, weight) in &by_key {
        let (Some(avg), Some(weight)) = (avg, weight) else {
            continue;
        };
        let (avg, weight) = (&avgs[*avg], &weights[*weight]);
        let values = py_rows(&[avg, weight])
            .into_iter()
            .map(|r| safe_mul(r[0], r[1]))
            .collect();
        let name = format!("product({},{})", weight.name, avg.name);
        products.push(new_series(
            ctx,
            name,
            (avg.start, avg.end, avg.step),
            values,
        ));
    }
    if products.is_empty() {
        return Ok(Vec::new());
    }
    let sorted_expressions = |list: &[Series]| {
        let mut e: Vec<&str> = list.iter().map(|s| s.path_expression.as_str()).collect();
        e.sort_unstable();
        e.dedup();
        e.join(",")
    };
    let name = format!(
        "weightedAverage({}, {}, {})",
        sorted_expressions(&avgs),
        sorted_expressions(&weights),
        node_values
            .iter()
            .map(Value::py_str)
            .collect::<Vec<_>>()
            .join(",")
    );
    let xff = ctx.x_files_factor();
    let sum_products = aggregate(vec![products], "sum", None, xff)?.remove(0);
    let sum_weights = aggregate(vec![weights], "sum", None, xff)?.remove(0);
    // The two sums are zipped as they are, even if their steps differ.
    let values = py_rows(&[&sum_products, &sum_weights])
        .into_iter()
        .map(|r| safe_div(r[0], r[1]))
        .collect();
    let grid = (sum_products.start, sum_products.end, sum_products.step);
    Ok(vec![new_series(ctx, name, grid, values)])
}

fn map_series(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let nodes = nodes_of(a, 1);
    let mut groups: Vec<(String, Vec<Series>)> = Vec::new();
    for s in a.series(0) {
        push_group(&mut groups, agg_key(&s, &nodes), s);
    }
    Ok(groups.into_iter().flat_map(|(_, g)| g).collect())
}

/// Whether `expr` is a call of `mapSeries` (the only source of a list of series lists).
fn is_map_call(expr: Option<&crate::ast::Expr>) -> bool {
    expr.and_then(|e| e.as_call())
        .is_some_and(|c| c.name == "mapSeries" || c.name == "map")
}

fn reduce_series(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let func = a.function();
    let reduce_function = a.str(1);
    let reduce_node = a.int(2);
    let matchers: Vec<Option<String>> = a
        .values(3)
        .into_iter()
        .map(|v| match v {
            Value::Str(s) => Some(s),
            _ => None,
        })
        .collect();
    let from_map = is_map_call(a.raw(0));
    let list = a.series(0);
    if !from_map {
        // graphite-web would iterate each series' values as if they were series.
        if list.iter().all(|s| s.values.is_empty()) {
            return Ok(Vec::new());
        }
        return Err(EvalError::function(
            func,
            "seriesLists must be a list of series lists (from mapSeries)",
        ));
    }
    let mut groups: Vec<(String, Vec<Option<Series>>)> = Vec::new();
    for s in list {
        let nodes: Vec<&str> = s.name.split('.').collect();
        let node = py_index(&nodes, reduce_node)
            .ok_or_else(|| EvalError::function(func, "list index out of range"))?;
        let (lo, hi) = py_slice(nodes.len(), Some(0), Some(reduce_node));
        let key = format!("{}.reduce.{reduce_function}", nodes[lo..hi].join("."));
        let Some(i) = matchers.iter().position(|m| m.as_deref() == Some(node)) else {
            continue;
        };
        let idx = match groups.iter().position(|(k, _)| *k == key) {
            Some(idx) => idx,
            None => {
                groups.push((key, vec![None; matchers.len()]));
                groups.len() - 1
            }
        };
        groups[idx].1[i] = Some(s);
    }
    let mut out = Vec::with_capacity(groups.len());
    for (key, slots) in groups {
        let def = crate::registry::lookup(&reduce_function).ok_or_else(|| {
            EvalError::function(func, format!("unknown function {reduce_function:?}"))
        })?;
        let mut args = Vec::with_capacity(slots.len());
        for slot in slots {
            // graphite-web passes [None] for a matcher without a series, which the reduce
            // function then fails on.
            let s = slot.ok_or_else(|| {
                EvalError::function(func, format!("no series matches every matcher for {key}"))
            })?;
            args.push(Value::Series(vec![s]));
        }
        let mut bound = Args::bind(def, args, Vec::new(), Vec::new())?;
        let mut result = (def.run)(ctx, &mut bound)?;
        if result.is_empty() {
            return Err(EvalError::function(func, "list index out of range"));
        }
        let mut s = result.swap_remove(0);
        s.rename(key);
        out.push(s);
    }
    Ok(out)
}

fn apply_by_node(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let func = a.function();
    let node = a.int(1);
    let template = a.str(2);
    let new_name = a.opt_str(3).filter(|n| !n.is_empty());
    let list = a.series(0);
    let mut prefixes = std::collections::BTreeSet::new();
    for s in &list {
        let nodes: Vec<&str> = s.name.split('.').collect();
        let (lo, hi) = py_slice(nodes.len(), None, Some(node + 1));
        prefixes.insert(nodes[lo..hi].join("."));
    }
    // graphite-web stamps every result with the start and end of the last input series
    // (its loop variable outlives the loop).
    let Some(last) = list.last() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for prefix in prefixes {
        let target = template.replace('%', &prefix);
        let parsed = crate::parser::parse_target(&target)?;
        let results = match ctx.eval(parsed.expr())? {
            Value::Series(s) => s,
            v if !v.truthy() => Vec::new(),
            v => {
                return Err(EvalError::function(
                    func,
                    format!("template evaluates to {}, not series", v.py_repr()),
                ));
            }
        };
        for mut s in results {
            if let Some(n) = &new_name {
                s.rename(n.replace('%', &prefix));
            }
            s.path_expression = prefix.clone();
            s.start = last.start;
            s.end = last.end;
            out.push(s);
        }
    }
    Ok(out)
}

/// graphite-web's callback dispatch in groupByNodes and groupByTags: a function name is
/// called with the group as its only argument, anything else names an aggregation for
/// `aggregate`; the first series of the answer is kept.
fn apply_callback(
    ctx: &Ctx<'_>,
    func: &str,
    callback: &str,
    group: Vec<Series>,
) -> Result<Series, EvalError> {
    let result = match crate::registry::lookup(callback) {
        Some(def) => {
            let mut args = Args::bind(def, vec![Value::Series(group)], Vec::new(), Vec::new())?;
            (def.run)(ctx, &mut args)?
        }
        None => aggregate(vec![group], callback, None, ctx.x_files_factor())?,
    };
    result
        .into_iter()
        .next()
        .ok_or_else(|| EvalError::function(func, "list index out of range"))
}

fn group_by_nodes_with(
    ctx: &Ctx<'_>,
    func: &str,
    list: Vec<Series>,
    callback: &str,
    nodes: &[NodeOrTag],
) -> Result<Vec<Series>, EvalError> {
    let mut groups: Vec<(String, Vec<Series>)> = Vec::new();
    for s in list {
        push_group(&mut groups, agg_key(&s, nodes), s);
    }
    let mut out = Vec::with_capacity(groups.len());
    for (key, members) in groups {
        let mut s = apply_callback(ctx, func, callback, members)?;
        s.rename(key);
        out.push(s);
    }
    Ok(out)
}

fn group_by_node(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let node = a.get(1).map(|v| NodeOrTag::from_value(&v));
    let callback = a.str(2);
    let list = a.series(0);
    let nodes: Vec<NodeOrTag> = node.into_iter().collect();
    group_by_nodes_with(ctx, a.function(), list, &callback, &nodes)
}

fn group_by_nodes(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let callback = a.str(1);
    let nodes = nodes_of(a, 2);
    let list = a.series(0);
    group_by_nodes_with(ctx, a.function(), list, &callback, &nodes)
}

/// graphite-web's `TaggedSeries.parse` of a carbon name, which refuses what it cannot
/// parse (unlike the lenient parsing of fetched names).
fn parse_tags_strict(func: &str, path: &str) -> Result<Tags, EvalError> {
    let fail = |m: String| EvalError::function(func, m);
    let mut segments = path.split(';');
    let metric = segments.next().unwrap_or("");
    if metric.is_empty() {
        return Err(fail(format!("Cannot parse path {path}, no metric found")));
    }
    let mut tags = Tags::new();
    for segment in segments {
        let Some((tag, value)) = segment.split_once('=').filter(|(t, _)| !t.is_empty()) else {
            return Err(fail(format!(
                "Cannot parse path {path}, invalid segment {segment}"
            )));
        };
        if value.is_empty() {
            return Err(fail(format!("Value for tag \"{tag}\" may not be empty")));
        }
        if tag.contains(['!', '^', '=']) {
            return Err(fail(format!("Character is not allowed in tag \"{tag}\"")));
        }
        if value.starts_with('~') {
            return Err(fail(format!(
                "Tag values are not allowed to start with \"~\" in tag \"{tag}\""
            )));
        }
        tags.set(tag, value);
    }
    let name = metric.trim_start_matches('~');
    if name.is_empty() {
        return Err(fail(format!(
            "Cannot use metric name {metric} as tag value, results in emptry string"
        )));
    }
    tags.set("name", name);
    Ok(tags)
}

fn group_by_tags(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let func = a.function();
    let callback = a.str(1);
    let tags: Vec<String> = a.values(2).iter().map(Value::py_str).collect();
    let list = a.series(0);
    let by_name = tags.iter().any(|t| t == "name");
    let name_of = |s: &Series| -> Result<String, EvalError> {
        s.tags
            .get("name")
            .map(str::to_owned)
            .ok_or_else(|| EvalError::function(func, "'name'"))
    };
    // Without "name" among the tags, the results are named after the common name tag, or
    // the callback when the names differ.
    let common_name = if by_name {
        String::new()
    } else {
        let mut names = Vec::new();
        for s in &list {
            let n = name_of(s)?;
            if !names.contains(&n) {
                names.push(n);
            }
        }
        if names.len() == 1 {
            names.remove(0)
        } else {
            callback.clone()
        }
    };
    let mut groups: Vec<(String, Vec<Series>)> = Vec::new();
    for s in list {
        let mut parts: Vec<String> = tags
            .iter()
            .filter(|t| !by_name || *t != "name")
            .map(|t| format!("{t}={}", s.tags.get(t).unwrap_or("")))
            .collect();
        parts.sort();
        let head = if by_name {
            name_of(&s)?
        } else {
            common_name.clone()
        };
        parts.insert(0, head);
        push_group(&mut groups, parts.join(";"), s);
    }
    let mut out = Vec::with_capacity(groups.len());
    for (key, members) in groups {
        let mut s = apply_callback(ctx, func, &callback, members)?;
        s.tags = parse_tags_strict(func, &key)?;
        s.rename(key.clone());
        s.path_expression = key;
        out.push(s);
    }
    Ok(out)
}
