//! The Combine group: functions that merge several series into fewer.

use crate::error::EvalError;
use crate::eval::Ctx;
use crate::registry::{Args, FunctionDef, Param, ParamType as T};
use crate::series::Series;

use super::common::{aggregate, format_path_expressions, normalize, rows};

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
