//! The Special group: generators, consolidation settings and tag selection.
//!
//! # Differs from graphite-web
//!
//! `randomWalk` is seeded from its name, the range start and the step, so the same request
//! gives the same walk (graphite-web's `random.random()` gives a new one each time).
//!
//! `events()` counts an event at exactly `until` nowhere: graphite-web indexes one past the
//! end of its list and answers 500. Its counts are floats (`1.0` in JSON, graphite-web
//! writes the Python int `1`), and a range longer than `--max-points-per-request` seconds is
//! refused (graphite-web builds the list whatever its length).

use crate::aggfunc::{CONSOLIDATION_NAMES, Consolidation};
use crate::error::EvalError;
use crate::eval::Ctx;
use crate::registry::{Args, FunctionDef, Param, ParamType as T};
use crate::series::{Series, present};

use super::common::repr;

const RANDOM_WALK: &[Param] = &[
    Param::req("name", T::String),
    Param::new("step", T::Integer).default(crate::registry::Default::Int(60)),
];

const X_FILES_FACTOR: &[Param] = &[
    Param::req("seriesList", T::SeriesList),
    Param::req("xFilesFactor", T::Float),
];

/// Declarations.
pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    FunctionDef {
        name: "constantLine",
        group: "Special",
        params: &[Param::req("value", T::Float)],
        aggregator: false,
        summary: "A horizontal line at a value over the requested range (three points).",
        run: constant_line_fn,
    },
    FunctionDef {
        name: "consolidateBy",
        group: "Special",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::req("consolidationFunc", T::String).options(CONSOLIDATION_NAMES),
        ],
        aggregator: false,
        summary: "Sets how the series are consolidated when there are more points than maxDataPoints.",
        run: consolidate_by,
    },
    FunctionDef {
        name: "substr",
        group: "Special",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::new("start", T::Node).default(crate::registry::Default::Int(0)),
            Param::new("stop", T::Node).default(crate::registry::Default::Int(0)),
        ],
        aggregator: false,
        summary: "Names each series by a slice of the nodes of its metric name.",
        run: substr,
    },
    FunctionDef {
        name: "cumulative",
        group: "Special",
        params: &[Param::req("seriesList", T::SeriesList)],
        aggregator: false,
        summary: "Consolidates the series by summing (same as consolidateBy(..., \"sum\")).",
        run: cumulative,
    },
    FunctionDef {
        name: "setXFilesFactor",
        group: "Special",
        params: X_FILES_FACTOR,
        aggregator: false,
        summary: "Sets the fraction of non-null values a consolidated point needs.",
        run: set_x_files_factor,
    },
    FunctionDef {
        name: "xFilesFactor",
        group: "Special",
        params: X_FILES_FACTOR,
        aggregator: false,
        summary: "Short form of setXFilesFactor.",
        run: set_x_files_factor,
    },
    FunctionDef {
        name: "cactiStyle",
        group: "Special",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::new("system", T::String).options(&["si", "binary"]),
            Param::new("units", T::String),
        ],
        aggregator: false,
        summary: "Appends column-aligned Current, Max and Min values to each series' name, optionally in SI or binary units and with a unit suffix.",
        run: cacti_style,
    },
    FunctionDef {
        name: "randomWalkFunction",
        group: "Special",
        params: RANDOM_WALK,
        aggregator: false,
        summary: "A random walk from 0 over the requested range (each step adds a value in [-0.5, 0.5)); deterministic per name, range start and step.",
        run: random_walk,
    },
    FunctionDef {
        name: "randomWalk",
        group: "Special",
        params: RANDOM_WALK,
        aggregator: false,
        summary: "Short form of randomWalkFunction.",
        run: random_walk,
    },
    FunctionDef {
        name: "fallbackSeries",
        group: "Special",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::req("fallback", T::SeriesList),
        ],
        aggregator: false,
        summary: "The series list, or the fallback list when it is empty.",
        run: fallback_series,
    },
    FunctionDef {
        name: "events",
        group: "Special",
        params: &[Param::req("tags", T::String).multiple()],
        aggregator: false,
        summary: "The number of events with all the given tags (\"*\": any event) in each second of the range.",
        run: events,
    },
    FunctionDef {
        name: "seriesByTag",
        group: "Special",
        params: &[Param::req("tagExpressions", T::String).multiple()],
        aggregator: false,
        summary: "Selects the series whose tags match every expression (tag=value, tag!=value, tag=~regex, tag!=~regex).",
        run: series_by_tag,
    },
];

/// graphite-web's `constantLine(value)`: three points at from, the middle and until,
/// named `label` (`str(value)`).
pub(super) fn constant_line(ctx: &Ctx<'_>, value: f64, label: &str) -> Series {
    let (start, end) = (ctx.from, ctx.until);
    let step = ((end - start) as f64 / 2.0) as i64;
    let mut s = Series::new(
        label,
        start,
        end,
        step.max(1),
        vec![value; 3],
        ctx.x_files_factor(),
    );
    s.path_expression = format!("constantLine({label})");
    s
}

fn constant_line_fn(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let value = a.float(0);
    Ok(vec![constant_line(ctx, value, &repr(value))])
}

fn consolidate_by(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let name = a.str(1);
    let func = Consolidation::from_name(&name).ok_or_else(|| {
        EvalError::function("consolidateBy", format!("invalid function {name:?}"))
    })?;
    Ok(consolidate_list(a.series(0), func, &name))
}

/// graphite-web's `consolidateBy` on every series: sets the function and the
/// `consolidateBy` tag, and renames `consolidateBy(<name>,"<func>")`.
fn consolidate_list(mut list: Vec<Series>, func: Consolidation, name: &str) -> Vec<Series> {
    for s in &mut list {
        s.consolidation = func;
        s.tags.set("consolidateBy", name);
        s.rename(format!("consolidateBy({},\"{}\")", s.name, name));
        s.path_expression = s.name.clone();
    }
    list
}

fn cumulative(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    Ok(consolidate_list(a.series(0), Consolidation::Sum, "sum"))
}

fn set_x_files_factor(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let xff = a.float(1);
    ctx.set_x_files_factor(xff);
    let mut list = a.series(0);
    for s in &mut list {
        s.x_files_factor = xff;
        s.tags.set("xFilesFactor", repr(xff));
    }
    Ok(list)
}

/// graphite-web's `cactiStyle`: `"<name> Current:<last> Max:<max> Min:<min> "`, each
/// column left-aligned to a width shared by the whole list. The widths come from formatting
/// `int(value or 3)` (graphite-web's estimate), the columns from the values themselves;
/// a series without values shows `nan`.
fn cacti_style(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let mut list = a.series(0);
    // Python tests both for truthiness: an empty string is the same as none.
    let system = a.opt_str(1).filter(|s| !s.is_empty());
    let units = a.opt_str(2).filter(|s| !s.is_empty());
    let fmt = |x: f64| -> String {
        match (&system, &units) {
            (Some(system), units) => {
                let (v, prefix) = super::alias::format_units(x, system);
                match units {
                    Some(u) => format!("{v:.2} {prefix}{u}"),
                    None => format!("{v:.2}{prefix}"),
                }
            }
            (None, Some(u)) => format!("{x:.2} {u}"),
            (None, None) => format!("{x:.2}"),
        }
    };
    let stats: Vec<[Option<f64>; 3]> = list
        .iter()
        .map(|s| {
            let known = s.values.iter().copied().filter(|v| present(*v));
            let last = s.values.iter().rev().copied().find(|v| present(*v));
            let max = known.clone().reduce(f64::max);
            let min = known.reduce(f64::min);
            [last, max, min]
        })
        .collect();
    let estimate = |v: Option<f64>| -> Result<usize, EvalError> {
        let x = match v {
            // `v or 3`: a zero (either sign) is falsy too.
            None | Some(0.0) => 3.0,
            Some(x) if !x.is_finite() => {
                return Err(EvalError::function(
                    "cactiStyle",
                    "cannot convert float infinity to integer",
                ));
            }
            // int() has no negative zero.
            Some(x) => x.trunc() + 0.0,
        };
        Ok(fmt(x).chars().count())
    };
    let name_len = list
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut widths = [0usize; 3];
    for st in &stats {
        for (w, v) in widths.iter_mut().zip(st) {
            *w = (*w).max(estimate(*v)?);
        }
    }
    let widths = widths.map(|w| w + 3);
    for (s, st) in list.iter_mut().zip(&stats) {
        let [last, max, min] = st.map(|v| v.map_or_else(|| "nan".to_owned(), fmt));
        let name = format!(
            "{:<name_len$} Current:{last:<w0$} Max:{max:<w1$} Min:{min:<w2$} ",
            s.name,
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
        );
        s.rename(name);
    }
    Ok(list)
}

/// graphite-web's `randomWalkFunction`: from the range start while before its end, one
/// value per step, starting at 0 and adding a uniform draw from [-0.5, 0.5) each step.
fn random_walk(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let name = a.str(0);
    let step = a.int(1);
    if step <= 0 {
        // graphite-web's loop never ends on a step that does not advance.
        return Err(EvalError::function(
            a.function(),
            format!("step must be positive, not {step}"),
        ));
    }
    let (start, end) = (ctx.from, ctx.until);
    let points = usize::try_from((end - start + step - 1) / step).unwrap_or(0);
    ctx.produce(a.function(), points)?;
    // The seed only has to make equal requests repeat and different names differ.
    let mut seed = 0xcbf2_9ce4_8422_2325u64;
    for b in name.bytes() {
        seed = (seed ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    seed ^= (start as u64).rotate_left(32) ^ step as u64;
    let mut next_unit = move || {
        // splitmix64, 53 bits into [0, 1) as Python's random() gives.
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut values = Vec::with_capacity(points);
    let mut current = 0.0;
    for _ in 0..points {
        values.push(current);
        current += next_unit() - 0.5;
    }
    Ok(vec![Series::new(
        name,
        start,
        end,
        step,
        values,
        ctx.x_files_factor(),
    )])
}

fn fallback_series(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let list = a.series(0);
    if list.is_empty() {
        Ok(a.series(1))
    } else {
        Ok(list)
    }
}

fn substr(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let (start, stop) = (a.int(1), a.int(2));
    let mut list = a.series(0);
    for s in &mut list {
        let name = super::alias::substr_name(&s.name, start, stop);
        s.rename(name);
    }
    Ok(list)
}

/// graphite-web's `events(*tags)`: one value per second of the request's range, the
/// number of events in that second (None where there are none), named
/// `events("tag1", "tag2")` and consolidated by sum.
fn events(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let tags: Vec<String> = a.values(0).iter().map(|v| v.py_str()).collect();
    let name = format!("events(\"{}\")", tags.join("\", \""));
    // The context's range, so timeShift(events(...), ...) moves it as in graphite-web.
    let (start, end) = (ctx.from, ctx.until);
    let points = usize::try_from(end - start).unwrap_or(0);
    if points > ctx.limits().max_points {
        return Err(EvalError::Limit(format!(
            "events() over {points} seconds needs more than {} values (limit --max-points-per-request)",
            ctx.limits().max_points
        )));
    }
    let selector = (tags != ["*"]).then_some(tags.as_slice());
    let mut values = vec![f64::NAN; points];
    for when in ctx.source().events(selector, start, end)? {
        // An event at `end` has no slot (graphite-web fails on it).
        if let Some(slot) = usize::try_from(when - start)
            .ok()
            .and_then(|i| values.get_mut(i))
        {
            *slot = if slot.is_nan() { 1.0 } else { *slot + 1.0 };
        }
    }
    let mut s = Series::new(name, start, end, 1, values, ctx.x_files_factor());
    s.consolidation = Consolidation::Sum;
    Ok(vec![s])
}

fn series_by_tag(_ctx: &Ctx<'_>, _a: &mut Args) -> Result<Vec<Series>, EvalError> {
    // The evaluator resolves seriesByTag(...) itself (it needs the call's text).
    Err(EvalError::function(
        "seriesByTag",
        "must be called directly, not through a pipe or alias",
    ))
}

#[cfg(test)]
mod tests {
    use crate::eval::{Limits, Request, evaluate_targets};
    use crate::source::MemorySource;
    use crate::{EvalError, Series};

    fn render(
        source: &MemorySource,
        target: &str,
        limits: Limits,
    ) -> Result<Vec<Series>, EvalError> {
        let req = Request {
            source,
            from: 1000,
            until: 1010,
            now: 1010,
            tz: jiff::tz::TimeZone::UTC,
            x_files_factor: 0.0,
            templates: Vec::new(),
            limits,
        };
        evaluate_targets(&req, &[target.to_owned()])
    }

    fn counts(s: &Series) -> Vec<Option<f64>> {
        s.values
            .iter()
            .map(|v| (!v.is_nan()).then_some(*v))
            .collect()
    }

    #[test]
    fn events_counts_matching_events_per_second() {
        let mut source = MemorySource::new();
        source.insert_event(999, &["deploy"]);
        source.insert_event(1000, &["deploy", "web"]);
        source.insert_event(1003, &["deploy"]);
        source.insert_event(1003, &["deploy", "web"]);
        source.insert_event(1009, &["other"]);
        source.insert_event(1010, &["deploy"]);

        let got = render(&source, "events(\"deploy\")", Limits::default()).unwrap();
        assert_eq!(got.len(), 1);
        let s = &got[0];
        assert_eq!(s.name, "events(\"deploy\")");
        assert_eq!((s.start, s.end, s.step), (1000, 1010, 1));
        let (n, one, two) = (None, Some(1.0), Some(2.0));
        // The event at `until` has no slot; the one before `from` is outside.
        assert_eq!(counts(s), [one, n, n, two, n, n, n, n, n, n]);
        assert_eq!(s.consolidation, crate::aggfunc::Consolidation::Sum);

        let both = render(&source, "events('deploy', 'web')", Limits::default()).unwrap();
        assert_eq!(both[0].name, "events(\"deploy\", \"web\")");
        assert_eq!(counts(&both[0]), [one, n, n, one, n, n, n, n, n, n]);

        let any = render(&source, "events('*')", Limits::default()).unwrap();
        assert_eq!(counts(&any[0]), [one, n, n, two, n, n, n, n, n, one]);
    }

    #[test]
    fn set_x_files_factor_becomes_the_requests_default() {
        let mut source = MemorySource::new();
        // Fetched over (1000, 1010]: points at 1001..=1010, one per second.
        source.insert("sparse.a", 1, (1001..=1010).map(|t| (t, 1.0)));
        source.insert("sparse.b", 1, (1001..=1005).map(|t| (t, 2.0)));
        source.insert("sparse.c", 1, [(1001, 4.0), (1008, 4.0)]);
        let sums = |target: &str| -> Vec<Option<f64>> {
            counts(&render(&source, target, Limits::default()).unwrap()[0])
        };
        let (n, s) = (None, Some);
        // Two of three values needed: 1001..=1005 have a and b, 1008 has a and c.
        assert_eq!(
            sums("sumSeries(setXFilesFactor(sparse.*, 0.5))"),
            [s(7.0), s(3.0), s(3.0), s(3.0), s(3.0), n, n, s(5.0), n, n]
        );
        assert_eq!(
            sums("sumSeries(sparse.*)"),
            [
                s(7.0),
                s(3.0),
                s(3.0),
                s(3.0),
                s(3.0),
                s(1.0),
                s(1.0),
                s(5.0),
                s(1.0),
                s(1.0)
            ]
        );
        // An explicit xFilesFactor argument wins over the request's.
        assert_eq!(
            sums("aggregate(setXFilesFactor(sparse.*, 1), 'sum', 0)"),
            sums("sumSeries(sparse.*)")
        );
        // A series fetched after it carries it too (maxDataPoints consolidation reads it).
        let got = render(
            &source,
            "group(setXFilesFactor(sparse.a, 0.5), sparse.c)",
            Limits::default(),
        )
        .unwrap();
        assert_eq!(got[1].x_files_factor, 0.5);
    }

    #[test]
    fn cacti_style_aligns_current_max_and_min() {
        let mut source = MemorySource::new();
        source.insert("a.b", 1, [(1001, 1234567.5), (1002, 2000.0)]);
        source.insert("a.long", 1, [(1001, 3.0)]);
        source.insert("a.none", 1, []);
        let names = |target: &str| -> Vec<String> {
            render(&source, target, Limits::default())
                .unwrap()
                .into_iter()
                .map(|s| s.name)
                .collect()
        };
        // Widths: int(v or 3) formatted, + 3 ("1234567.00": 13 for Max).
        assert_eq!(
            names("cactiStyle(a.*)"),
            [
                "a.b    Current:2000.00    Max:1234567.50    Min:2000.00    ",
                "a.long Current:3.00       Max:3.00          Min:3.00       ",
                "a.none Current:nan        Max:nan           Min:nan        ",
            ]
        );
        assert_eq!(
            names("cactiStyle(a.b, 'si', 'b')"),
            ["a.b Current:2.00 kb    Max:1.23 Mb    Min:2.00 kb    "]
        );
        assert_eq!(
            names("cactiStyle(a.long, units='req')"),
            ["a.long Current:3.00 req    Max:3.00 req    Min:3.00 req    "]
        );
    }

    #[test]
    fn random_walk_repeats_per_name_and_walks_by_at_most_half() {
        let source = MemorySource::new();
        let walk = |target: &str| render(&source, target, Limits::default()).unwrap();
        let a = walk("randomWalk('w', 3)");
        assert_eq!(a.len(), 1);
        let s = &a[0];
        // Range (1000, 1010] read as graphite-web does: from 1000 while before 1010.
        assert_eq!(
            (s.name.as_str(), s.start, s.end, s.step),
            ("w", 1000, 1010, 3)
        );
        assert_eq!(s.values.len(), 4);
        assert_eq!(s.values[0], 0.0);
        assert!(s.values.windows(2).all(|w| (w[1] - w[0]).abs() <= 0.5));
        assert_eq!(walk("randomWalkFunction('w', 3)")[0].values, s.values);
        assert_ne!(walk("randomWalk('v', 3)")[0].values, s.values);
        assert_eq!(walk("randomWalk('w')")[0].values.len(), 1);
        assert!(render(&source, "randomWalk('w', 0)", Limits::default()).is_err());
    }

    #[test]
    fn events_refuses_more_seconds_than_the_point_limit() {
        let limits = Limits {
            max_series: 10,
            max_points: 5,
            ..Limits::default()
        };
        let err = render(&MemorySource::new(), "events('x')", limits).unwrap_err();
        assert!(matches!(err, EvalError::Limit(_)), "{err}");
    }

    #[test]
    fn events_without_an_events_store_is_a_client_error() {
        struct NoEvents;
        impl crate::Source for NoEvents {
            fn find(&self, _: &str) -> Result<Vec<crate::Node>, crate::SourceError> {
                Ok(Vec::new())
            }
            fn fetch(
                &self,
                _: &str,
                _: i64,
                _: i64,
                _: i64,
            ) -> Result<Option<crate::Fetched>, crate::SourceError> {
                Ok(None)
            }
        }
        let req = Request {
            source: &NoEvents,
            from: 0,
            until: 10,
            now: 10,
            tz: jiff::tz::TimeZone::UTC,
            x_files_factor: 0.0,
            templates: Vec::new(),
            limits: Limits::default(),
        };
        let err = evaluate_targets(&req, &["events('x')".to_owned()]).unwrap_err();
        assert!(
            err.is_client_error() && err.to_string().contains("events are not available"),
            "{err}"
        );
    }
}
