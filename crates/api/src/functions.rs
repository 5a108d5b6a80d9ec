//! `/functions` and `/functions/<name>`: graphite-web 1.1's function catalogue, which
//! Grafana's query editor loads to know every function's parameters (and falls back to a
//! built-in list when it cannot).
//!
//! The answer is generated from the query crate's declarations
//! ([`charcoal_query::registry`]), the same ones that bind and check arguments, so what the
//! editor offers is what the evaluator accepts. Each entry has graphite-web's shape:
//! `{"name", "function": "<name>(<signature>)", "description", "module", "group",
//! "params"}`, the params written as graphite-web's `Param.toJSON` writes them (a key only
//! when set, options sorted, an infinite default as `1e9999`).
//!
//! Parameters (GET only, anything else is 405): `grouped=1|true` nests the entries by group,
//! `group=G` keeps one group, `type=pie` lists the pie-chart functions, `pretty` indents
//! (graphite-web's `jsonResponse`).
//!
//! # Differs from graphite-web
//!
//! `description` is Charcoal's one-line summary, not graphite-web's reStructuredText
//! docstring. Entries come in name order (graphite-web: the order of its source file).
//! An infinite default is `1e9999` everywhere (graphite-web 1.1.8 writes an invalid
//! `Infinity` when it ends an object, 1.1.10 fixed that).

use axum::extract::Path;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use charcoal_query::registry::{self, Default as ParamDefault, Param, ParamType};
use serde_json::{Map, Value, json};

use crate::params::Params;
use crate::pyjson;

/// graphite-web's module name for every built-in function.
const MODULE: &str = "graphite.render.functions";

/// Stand-ins for infinite defaults (no name or option contains a NUL character).
const INFINITY_MARK: &str = "\u{0}+inf\u{0}";
const NEG_INFINITY_MARK: &str = "\u{0}-inf\u{0}";

/// One function as `/functions` describes it.
#[derive(Clone, Copy, Debug)]
struct Info {
    name: &'static str,
    group: &'static str,
    params: &'static [Param],
    summary: &'static str,
}

/// graphite-web's `PieFunctions`: what `graphType=pie` images reduce a series to. Only
/// listed (images are not implemented), so clients that ask see graphite-web's catalogue.
const PIE_PARAMS: &[Param] = &[Param::req("series", ParamType::Series)];
const PIE: &[Info] = &[
    Info {
        name: "average",
        group: "Pie",
        params: PIE_PARAMS,
        summary: "The average of the series' non-null values.",
    },
    Info {
        name: "maximum",
        group: "Pie",
        params: PIE_PARAMS,
        summary: "The largest of the series' non-null values.",
    },
    Info {
        name: "minimum",
        group: "Pie",
        params: PIE_PARAMS,
        summary: "The smallest of the series' non-null values.",
    },
];

fn catalogue(pie: bool) -> Vec<Info> {
    let mut out: Vec<Info> = if pie {
        PIE.to_vec()
    } else {
        registry::all()
            .map(|f| Info {
                name: f.name,
                group: f.group,
                params: f.params,
                summary: f.summary,
            })
            .collect()
    };
    out.sort_by_key(|i| i.name);
    out
}

/// `GET /functions`.
pub async fn list(uri: Uri) -> Response {
    let params = Params::parse(uri.query(), None);
    let grouped = params
        .get("grouped")
        .is_some_and(|g| matches!(g.to_lowercase().as_str(), "1" | "true"));
    let group = params.get("group");
    let mut result = Map::new();
    for info in catalogue(params.get("type") == Some("pie")) {
        if group.is_some_and(|g| g != info.group) {
            continue;
        }
        let entry = info_json(&info);
        if grouped {
            let slot = result
                .entry(info.group.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = slot {
                m.insert(info.name.to_owned(), entry);
            }
        } else {
            result.insert(info.name.to_owned(), entry);
        }
    }
    json_response(StatusCode::OK, &Value::Object(result), &params)
}

/// `GET /functions/<name>`.
pub async fn details(Path(name): Path<String>, uri: Uri) -> Response {
    let params = Params::parse(uri.query(), None);
    let found = catalogue(params.get("type") == Some("pie"))
        .into_iter()
        .find(|i| i.name == name);
    match found {
        Some(info) => json_response(StatusCode::OK, &info_json(&info), &params),
        None => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("Function not found: {name}")}),
            &params,
        ),
    }
}

/// graphite-web's `_jsonResponse`: `json.dumps`, indented with sorted keys when `pretty`.
pub(crate) fn json_response(status: StatusCode, value: &Value, params: &Params) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        to_text(value, params),
    )
        .into_response()
}

/// The JSON text, with infinite defaults written as graphite-web writes them.
fn to_text(value: &Value, params: &Params) -> String {
    let pretty = params.get("pretty").is_some_and(|p| !p.is_empty());
    let body = if pretty {
        pyjson::dumps_pretty(value, 2, true)
    } else {
        pyjson::dumps(value, true)
    };
    body.replace("\"\\u0000+inf\\u0000\"", "1e9999")
        .replace("\"\\u0000-inf\\u0000\"", "-1e9999")
}

fn info_json(info: &Info) -> Value {
    json!({
        "name": info.name,
        "function": signature(info.name, info.params),
        "description": info.summary,
        "module": MODULE,
        "group": info.group,
        "params": info.params.iter().map(param_json).collect::<Vec<Value>>(),
    })
}

/// graphite-web's `Param.toJSON`.
pub fn param_json(p: &Param) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), p.name.into());
    m.insert("type".into(), p.ty.name().into());
    if p.required {
        m.insert("required".into(), true.into());
    }
    if let Some(d) = p.default {
        m.insert("default".into(), default_json(d));
    }
    if p.multiple {
        m.insert("multiple".into(), true.into());
    }
    let options = p.all_options();
    if !options.is_empty() {
        m.insert("options".into(), options.into());
    }
    if !p.suggestions.is_empty() {
        let list: Vec<Value> = p.suggestions.iter().map(|d| default_json(*d)).collect();
        m.insert("suggestions".into(), list.into());
    }
    Value::Object(m)
}

fn default_json(d: ParamDefault) -> Value {
    match d {
        ParamDefault::Int(i) => i.into(),
        // serde_json cannot hold an infinity: a marker string stands in for it until
        // `json_response` writes the text.
        ParamDefault::Float(f) if f == f64::INFINITY => INFINITY_MARK.into(),
        ParamDefault::Float(f) if f == f64::NEG_INFINITY => NEG_INFINITY_MARK.into(),
        ParamDefault::Float(f) => {
            serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
        }
        ParamDefault::Str(s) => s.into(),
        ParamDefault::Bool(b) => b.into(),
    }
}

/// The Python signature graphite-web prints (`inspect.formatargspec` without
/// `requestContext`): `name(a, b=1, c=None, *rest)`.
fn signature(name: &str, params: &[Param]) -> String {
    let args: Vec<String> = params
        .iter()
        .map(|p| {
            if p.multiple {
                format!("*{}", p.name)
            } else if let Some(d) = p.default.or(p.fallback) {
                format!("{}={}", p.name, py_repr(d))
            } else if p.required {
                p.name.to_owned()
            } else {
                format!("{}=None", p.name)
            }
        })
        .collect();
    format!("{name}({})", args.join(", "))
}

fn py_repr(d: ParamDefault) -> String {
    match d {
        ParamDefault::Int(i) => i.to_string(),
        ParamDefault::Float(f) if f == f64::INFINITY => "inf".into(),
        ParamDefault::Float(f) if f == f64::NEG_INFINITY => "-inf".into(),
        ParamDefault::Float(f) => charcoal_pyfmt::repr(f),
        ParamDefault::Bool(b) => if b { "True" } else { "False" }.into(),
        ParamDefault::Str(s) if s.contains('\'') && !s.contains('"') => format!("\"{s}\""),
        ParamDefault::Str(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_read_like_python() {
        let params = [
            Param::req("seriesList", ParamType::SeriesList),
            Param::new("func", ParamType::AggFunc).default(ParamDefault::Str("sum")),
            Param::new("limit", ParamType::IntOrInf).default(ParamDefault::Float(f64::INFINITY)),
            Param::new("xFilesFactor", ParamType::Float),
            Param::req("nodes", ParamType::NodeOrTag).multiple(),
        ];
        assert_eq!(
            signature("f", &params),
            "f(seriesList, func='sum', limit=inf, xFilesFactor=None, *nodes)"
        );
    }

    #[test]
    fn a_signature_default_shows_in_the_signature_only() {
        // highest(seriesList, n=1, func='average'): declared required, defaulted in Python.
        let n = Param::req("n", ParamType::Integer).fallback(ParamDefault::Int(1));
        assert_eq!(signature("highest", &[n]), "highest(n=1)");
        assert_eq!(
            pyjson::dumps(&param_json(&n), true),
            r#"{"name": "n", "type": "integer", "required": true}"#
        );
    }

    #[test]
    fn params_have_only_the_keys_that_are_set() {
        let p =
            Param::new("limit", ParamType::IntOrInf).default(ParamDefault::Float(f64::INFINITY));
        assert_eq!(
            to_text(&param_json(&p), &Params::default()),
            r#"{"name": "limit", "type": "intOrInf", "default": 1e9999}"#
        );
        let p = Param::req("tags", ParamType::String).multiple();
        assert_eq!(
            pyjson::dumps(&param_json(&p), true),
            r#"{"name": "tags", "type": "string", "required": true, "multiple": true}"#
        );
    }
}
