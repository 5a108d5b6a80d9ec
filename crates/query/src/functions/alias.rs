//! The Alias group: functions that rename series.

use crate::error::EvalError;
use crate::eval::Ctx;
use crate::pyre::Substitution;
use crate::registry::{Args, FunctionDef, Param, ParamType as T};
use crate::series::Series;

use super::common::{NodeOrTag, agg_key};

/// Declarations.
pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    FunctionDef {
        name: "alias",
        group: "Alias",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::req("newName", T::String),
        ],
        aggregator: false,
        summary: "Gives every series the same new name.",
        run: alias,
    },
    FunctionDef {
        name: "aliasByNode",
        group: "Alias",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::req("nodes", T::NodeOrTag).multiple(),
        ],
        aggregator: false,
        summary: "Names each series by the selected nodes (or tag values) of its name, joined with dots.",
        run: alias_by_node,
    },
    FunctionDef {
        name: "aliasByMetric",
        group: "Alias",
        params: &[Param::req("seriesList", T::SeriesList)],
        aggregator: false,
        summary: "Names each series by the last node of its metric name.",
        run: alias_by_metric,
    },
    FunctionDef {
        name: "aliasSub",
        group: "Alias",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::req("search", T::String),
            Param::req("replace", T::String),
        ],
        aggregator: false,
        summary: "Renames each series with a regular-expression substitution (Python re.sub).",
        run: alias_sub,
    },
];

fn alias(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let name = a.str(1);
    let mut list = a.series(0);
    for s in &mut list {
        s.rename(name.clone());
    }
    Ok(list)
}

fn alias_by_node(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let nodes: Vec<NodeOrTag> = a.values(1).iter().map(NodeOrTag::from_value).collect();
    let mut list = a.series(0);
    for s in &mut list {
        let key = agg_key(s, &nodes);
        s.rename(key);
    }
    Ok(list)
}

fn alias_by_metric(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let mut list = a.series(0);
    for s in &mut list {
        let name = substr_name(&s.name, -1, 0);
        s.rename(name);
    }
    Ok(list)
}

/// graphite-web's `substr` naming: the text inside the innermost parentheses, nodes
/// `start..stop` (Python slice rules; `stop == 0` means to the end), anything from the first
/// comma on dropped.
pub(super) fn substr_name(name: &str, start: i64, stop: i64) -> String {
    let left = name.rfind('(').map_or(0, |i| i + 1);
    let right = name.find(')').unwrap_or(name.len());
    let clean = if left <= right {
        &name[left..right]
    } else {
        ""
    };
    let parts: Vec<&str> = clean.split('.').collect();
    let n = parts.len() as i64;
    let clamp = |i: i64| -> usize { (if i < 0 { (n + i).max(0) } else { i.min(n) }) as usize };
    let lo = clamp(start);
    let hi = if stop == 0 { parts.len() } else { clamp(stop) };
    let joined = if lo < hi {
        parts[lo..hi].join(".")
    } else {
        String::new()
    };
    match joined.find(',') {
        Some(i) => joined[..i].to_owned(),
        None => joined,
    }
}

fn alias_sub(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let sub =
        Substitution::new(&a.str(1), &a.str(2)).map_err(|m| EvalError::function("aliasSub", m))?;
    let mut list = a.series(0);
    for s in &mut list {
        let name = sub.apply(&s.name);
        s.rename(name);
    }
    Ok(list)
}
