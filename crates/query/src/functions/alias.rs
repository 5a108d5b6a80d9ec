//! The Alias group: functions that rename series.
//!
//! # Differs from graphite-web
//!
//! - `aliasQuery` formats the looked-up value with Python's `%` operator; Charcoal supports
//!   the conversions `%s`, `%r`, `%d`, `%i`, `%f`, `%g` and `%e` with an optional precision
//!   (no flags or width), and `%%`, and refuses any other format.
//! - `aliasQuery` evaluates its queries with the request's time range; a `seriesByTag`
//!   inside the generated query is not supported.

use crate::error::EvalError;
use crate::eval::Ctx;
use crate::pyre::Substitution;
use crate::registry::{Args, FunctionDef, Param, ParamType as T};
use crate::series::Series;

use super::common::{NodeOrTag, agg_key, g, get_agg_func, repr};
use crate::aggfunc::AggFunc;
use crate::series::present;
use crate::value::Value;

/// legendValue's allowed value types: every aggregation name, its deprecated
/// `<name>Series` spelling, and the unit systems.
const LEGEND_OPTIONS: &[&str] = &[
    "average",
    "avg_zero",
    "median",
    "sum",
    "min",
    "max",
    "diff",
    "stddev",
    "count",
    "range",
    "multiply",
    "last",
    "rangeOf",
    "avg",
    "total",
    "current",
    "averageSeries",
    "avg_zeroSeries",
    "medianSeries",
    "sumSeries",
    "minSeries",
    "maxSeries",
    "diffSeries",
    "stddevSeries",
    "countSeries",
    "rangeSeries",
    "multiplySeries",
    "lastSeries",
    "rangeOfSeries",
    "avgSeries",
    "totalSeries",
    "currentSeries",
    "si",
    "binary",
];

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
    FunctionDef {
        name: "aliasByTags",
        group: "Alias",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::req("tags", T::NodeOrTag).multiple(),
        ],
        aggregator: false,
        summary: "Names each series by the selected tag values (or nodes), joined with dots.",
        run: alias_by_node,
    },
    FunctionDef {
        name: "legendValue",
        group: "Alias",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::new("valuesTypes", T::String)
                .multiple()
                .options(LEGEND_OPTIONS),
        ],
        aggregator: false,
        summary: "Appends aggregate values (avg, max, last, ...) to each series' name, optionally in SI or binary units.",
        run: legend_value,
    },
    FunctionDef {
        name: "upper",
        group: "Alias",
        params: CASE_PARAMS,
        aggregator: false,
        summary: "Upper-cases each series' name, or only the characters at the given positions (negative: from the end) (graphite-web 1.1.10).",
        run: upper,
    },
    FunctionDef {
        name: "lower",
        group: "Alias",
        params: CASE_PARAMS,
        aggregator: false,
        summary: "Lower-cases each series' name, or only the characters at the given positions (negative: from the end) (graphite-web 1.1.10).",
        run: lower,
    },
    FunctionDef {
        name: "aliasQuery",
        group: "Alias",
        params: &[
            Param::req("seriesList", T::SeriesList),
            Param::req("search", T::String),
            Param::req("replace", T::String),
            Param::req("newName", T::String),
        ],
        aggregator: false,
        summary: "Names each series with a format filled by the last value of another query derived from its name.",
        run: alias_query,
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

/// `upper` and `lower`: a list and any number of character positions.
const CASE_PARAMS: &[Param] = &[
    Param::req("seriesList", T::SeriesList),
    Param::new("pos", T::Integer).multiple(),
];

fn upper(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    change_case(a, |c| c.to_uppercase().collect(), str::to_uppercase)
}

fn lower(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    change_case(a, |c| c.to_lowercase().collect(), str::to_lowercase)
}

/// graphite-web 1.1.10's `toUpperCase`/`toLowerCase`: the whole name, or the characters
/// (code points, as Python indexes a str) at the given positions, Python-indexed, a
/// position past either end ignored. A character whose case mapping is longer (`ß` → `SS`)
/// still counts as one position for later ones, as in Python's list of characters.
fn change_case(
    a: &mut Args,
    one: fn(char) -> String,
    whole: fn(&str) -> String,
) -> Result<Vec<Series>, EvalError> {
    let positions: Vec<i64> = a.values(1).iter().filter_map(Value::as_i64).collect();
    let mut list = a.series(0);
    for s in &mut list {
        let name = if positions.is_empty() {
            whole(&s.name)
        } else {
            let mut chars: Vec<String> = s.name.chars().map(String::from).collect();
            let len = chars.len() as i64;
            for &p in &positions {
                let i = if p < 0 { p + len } else { p };
                if (0..len).contains(&i) {
                    let slot = &mut chars[i as usize];
                    *slot = slot.chars().map(one).collect();
                }
            }
            chars.concat()
        };
        s.rename(name);
    }
    Ok(list)
}

/// graphite-web's `format_units(v, system=...)`: the value scaled to the largest unit
/// prefix it reaches, snapped to an integer when within 1e-11 above one.
pub(super) fn format_units(v: f64, system: &str) -> (f64, &'static str) {
    const SI: &[(&str, f64)] = &[("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)];
    const BINARY: &[(&str, f64)] = &[
        ("Pi", 1125899906842624.0),
        ("Ti", 1099511627776.0),
        ("Gi", 1073741824.0),
        ("Mi", 1048576.0),
        ("Ki", 1024.0),
    ];
    let units = if system == "binary" { BINARY } else { SI };
    let snap = |x: f64| {
        if x - x.floor() < 0.00000000001 && v > 1.0 {
            x.floor()
        } else {
            x
        }
    };
    for (prefix, size) in units {
        if v.abs() >= *size {
            return (snap(v / size), prefix);
        }
    }
    (snap(v), "")
}

/// One legend value: the aggregate, or `None` for a name graphite-web's aggregation
/// lookup refuses (it shows `(?)`).
fn legend_aggregate(name: &str, values: &[f64]) -> Option<f64> {
    AggFunc::from_name(name).map(|f| f.apply(values))
}

/// Python's `%s` of a legend value: `count` gives an int, the others floats or `None`.
fn legend_text(name: &str, v: f64) -> String {
    if !present(v) {
        "None".to_owned()
    } else if AggFunc::from_name(name) == Some(AggFunc::Count) {
        format!("{}", v as i64)
    } else {
        repr(v)
    }
}

fn legend_value(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let mut types: Vec<String> = a.values(1).iter().map(Value::py_str).collect();
    let Some(last) = types.last() else {
        return Err(EvalError::function(
            a.function(),
            "tuple index out of range",
        ));
    };
    let system = if last == "si" || last == "binary" {
        types.pop()
    } else {
        None
    };
    let mut list = a.series(0);
    for t in &types {
        for s in &mut list {
            let values = s.consolidated();
            let value = legend_aggregate(t, &values);
            let name = match &system {
                None => {
                    let text = value.map_or_else(|| "(?)".to_owned(), |v| legend_text(t, v));
                    format!("{} ({t}: {text})", s.name)
                }
                Some(system) => {
                    let formatted = match value {
                        None => "(?)".to_owned(),
                        Some(v) if !present(v) => "None".to_owned(),
                        Some(v) => {
                            let (scaled, prefix) = format_units(v, system);
                            format!("{scaled:.2}{prefix}")
                        }
                    };
                    format!("{:<20}{t:<5}{formatted:<10}", s.name)
                }
            };
            s.rename(name);
        }
    }
    Ok(list)
}

/// Python's `fmt % value` for one float, for the conversions listed in the module docs.
fn percent_format(fmt: &str, v: f64) -> Result<String, String> {
    let mut out = String::new();
    let mut used = false;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut precision = String::new();
        if chars.peek() == Some(&'.') {
            chars.next();
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                precision.push(d);
            }
            if precision.is_empty() {
                precision.push('0');
            }
        }
        let conv = chars.next().ok_or("incomplete format")?;
        if conv == '%' && precision.is_empty() {
            out.push('%');
            continue;
        }
        if used {
            return Err("not enough arguments for format string".into());
        }
        used = true;
        let p: Option<usize> = precision.parse().ok();
        match conv {
            's' | 'r' => out.push_str(&repr(v)),
            'd' | 'i' => out.push_str(&super::common::d(v)),
            'f' | 'F' => out.push_str(&format!("{v:.*}", p.unwrap_or(6))),
            'g' if p.is_none_or(|p| p == 6) => out.push_str(&g(v)),
            'g' => out.push_str(&charcoal_pyfmt::percent_g(v, p.unwrap_or(6).max(1))),
            'e' => out.push_str(&py_exp(v, p.unwrap_or(6))),
            other => return Err(format!("unsupported format character '{other}'")),
        }
    }
    if !used {
        return Err("not all arguments converted during string formatting".into());
    }
    Ok(out)
}

/// Python's `'%.Ne' % v` (the exponent has at least two digits).
fn py_exp(v: f64, precision: usize) -> String {
    if !v.is_finite() {
        return repr(v);
    }
    let s = format!("{v:.precision$e}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

fn alias_query(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let func = a.function();
    let (search, replace, new_name) = (a.str(1), a.str(2), a.str(3));
    let mut list = a.series(0);
    if list.is_empty() {
        return Ok(list);
    }
    let sub = Substitution::new(&search, &replace).map_err(|m| EvalError::function(func, m))?;
    for s in &mut list {
        let query = sub.apply(&s.name);
        let parsed = crate::parser::parse_target(&query)?;
        let found = match ctx.eval(parsed.expr())? {
            Value::Series(found) => found,
            v if !v.truthy() => Vec::new(),
            v => {
                return Err(EvalError::function(
                    func,
                    format!("query evaluates to {}, not series", v.py_repr()),
                ));
            }
        };
        let Some(first) = found.first() else {
            return Err(EvalError::function(
                func,
                format!("No series found with query: {query}"),
            ));
        };
        let current = get_agg_func(func, "last")?.apply(&first.consolidated());
        if !present(current) {
            return Err(EvalError::function(
                func,
                format!("Cannot get last value of series: {}", first.name),
            ));
        }
        let name = percent_format(&new_name, current).map_err(|m| EvalError::function(func, m))?;
        s.rename(name);
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::{format_units, percent_format};

    #[test]
    fn units_and_formats() {
        assert_eq!(format_units(1500.0, "si"), (1.5, "k"));
        assert_eq!(format_units(2048.0, "binary"), (2.0, "Ki"));
        assert_eq!(format_units(0.5, "si"), (0.5, ""));
        assert_eq!(percent_format("v=%d", 3.7).unwrap(), "v=3");
        assert_eq!(percent_format("%.2f%%", 1.0 / 3.0).unwrap(), "0.33%");
        assert_eq!(percent_format("%s", 2.0).unwrap(), "2.0");
        assert!(percent_format("plain", 1.0).is_err());
        assert!(percent_format("%x", 1.0).is_err());
    }
}
