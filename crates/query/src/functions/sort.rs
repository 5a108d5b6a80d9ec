//! The Sorting group. Sorts are stable, as Python's `list.sort` (a reversed sort keeps
//! equal series in their original order), and a series without values sorts as minus
//! infinity (graphite-web's `keyFunc`).

use crate::aggfunc::AggFunc;
use crate::error::EvalError;
use crate::eval::Ctx;
use crate::registry::{Args, Default, FunctionDef, Param, ParamType as T};
use crate::series::{Series, present};

use super::common::get_agg_func;
use super::filter::sort_by_key;

const LIST: &[Param] = &[Param::req("seriesList", T::SeriesList)];

/// Declarations.
pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    FunctionDef {
        name: "sortBy",
        group: "Sorting",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::new("func", T::AggFunc).default(Default::Str("average")),
            Param::new("reverse", T::Boolean).default(Default::Bool(false)),
        ],
        aggregator: false,
        summary: "Orders the series by an aggregate of their values (ascending unless reversed).",
        run: sort_by,
    },
    FunctionDef {
        name: "sortByName",
        group: "Sorting",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::new("natural", T::Boolean).default(Default::Bool(false)),
            Param::new("reverse", T::Boolean).default(Default::Bool(false)),
        ],
        aggregator: false,
        summary: "Orders the series by name, optionally comparing digit runs as numbers.",
        run: sort_by_name,
    },
    FunctionDef {
        name: "sortByTotal",
        group: "Sorting",
        params: LIST,
        aggregator: false,
        summary: "Orders the series by the sum of their values, largest first.",
        run: sort_by_total,
    },
    FunctionDef {
        name: "sortByMaxima",
        group: "Sorting",
        params: LIST,
        aggregator: false,
        summary: "Orders the series by their peak, largest first.",
        run: sort_by_maxima,
    },
    FunctionDef {
        name: "sortByMinima",
        group: "Sorting",
        params: LIST,
        aggregator: false,
        summary: "Orders the series by their lowest value, dropping those never above zero.",
        run: sort_by_minima,
    },
];

/// graphite-web's `keyFunc(func)` value for a series.
fn key(agg: AggFunc, s: &Series) -> f64 {
    let v = agg.apply(&s.consolidated());
    if present(v) { v } else { f64::NEG_INFINITY }
}

fn sorted_by(
    func: &str,
    mut list: Vec<Series>,
    agg: &str,
    reverse: bool,
) -> Result<Vec<Series>, EvalError> {
    let agg = get_agg_func(func, agg)?;
    sort_by_key(&mut list, |s| key(agg, s), reverse);
    Ok(list)
}

fn sort_by(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let (agg, reverse) = (a.str(1), a.bool(2));
    sorted_by(a.function(), a.series(0), &agg, reverse)
}

fn sort_by_total(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    sorted_by(a.function(), a.series(0), "sum", true)
}

fn sort_by_maxima(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    sorted_by(a.function(), a.series(0), "max", true)
}

fn sort_by_minima(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    // Series whose maximum is not above zero (or that have no values) are dropped.
    let list: Vec<Series> = a
        .series(0)
        .into_iter()
        .filter(|s| {
            let max = AggFunc::Max.apply(&s.consolidated());
            present(max) && max > 0.0
        })
        .collect();
    sorted_by(a.function(), list, "min", false)
}

/// graphite-web's natural sort key: every run of digits zero-padded to ten characters
/// (`"{0:010}".format(int(run))`, so leading zeros are dropped first).
fn natural_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 16);
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_ascii_digit() {
            out.push(c);
            continue;
        }
        let mut run = String::from(c);
        while let Some(d) = chars.next_if(char::is_ascii_digit) {
            run.push(d);
        }
        let digits = run.trim_start_matches('0');
        let digits = if digits.is_empty() { "0" } else { digits };
        for _ in digits.len()..10 {
            out.push('0');
        }
        out.push_str(digits);
    }
    out
}

fn sort_by_name(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let (natural, reverse) = (a.bool(1), a.bool(2));
    let mut keyed: Vec<(String, Series)> = a
        .series(0)
        .into_iter()
        .map(|s| {
            let k = if natural {
                natural_key(&s.name)
            } else {
                s.name.clone()
            };
            (k, s)
        })
        .collect();
    keyed.sort_by(|x, y| {
        let ord = x.0.cmp(&y.0);
        if reverse { ord.reverse() } else { ord }
    });
    Ok(keyed.into_iter().map(|(_, s)| s).collect())
}

#[cfg(test)]
mod tests {
    use super::natural_key;

    #[test]
    fn natural_key_pads_digit_runs() {
        assert_eq!(natural_key("host2.x10"), "host0000000002.x0000000010");
        assert_eq!(natural_key("a007"), "a0000000007");
        assert_eq!(natural_key("n12345678901"), "n12345678901");
    }
}
