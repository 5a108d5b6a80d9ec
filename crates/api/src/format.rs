//! The render output formats graphite-web's `/render` writes (render/views.py), for a list
//! of evaluated series: `json`, `csv`, `raw`, `pickle`, `msgpack`.
//!
//! Each writer reads a series' values through its consolidation (`valuesPerPoint`), as
//! graphite-web iterates its `TimeSeries`.

use std::fmt::Write;

use charcoal_protocol::pickle::{Value as Py, encode};
use charcoal_query::Series;
use jiff::tz::TimeZone;

use crate::pyjson::{push_float, push_str};

/// `format=json`: `[{"target": ..., "tags": {...}, "datapoints": [[v, ts], ...]}, ...]`.
/// With `no_null_points`, null points are dropped and series left empty are omitted.
pub fn json(series: &[Series], no_null_points: bool) -> String {
    let mut out = String::with_capacity(64 + series.iter().map(|s| s.len() * 24).sum::<usize>());
    out.push('[');
    let mut first = true;
    for s in series {
        let values = s.consolidated();
        let points: Vec<(f64, i64)> = values
            .into_iter()
            .zip(s.timestamps(usize::MAX))
            .filter(|(v, _)| !(no_null_points && v.is_nan()))
            .collect();
        if no_null_points && points.is_empty() {
            continue;
        }
        if !first {
            out.push_str(", ");
        }
        first = false;
        out.push_str("{\"target\": ");
        push_str(&mut out, &s.name, true);
        out.push_str(", \"tags\": {");
        for (i, (k, v)) in s.tags.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            push_str(&mut out, k, true);
            out.push_str(": ");
            push_str(&mut out, v, true);
        }
        out.push_str("}, \"datapoints\": [");
        for (i, (v, t)) in points.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push('[');
            push_float(&mut out, *v);
            let _ = write!(out, ", {t}]");
        }
        out.push_str("]}");
    }
    out.push(']');
    out
}

/// `format=csv`: Excel-dialect rows `name,YYYY-MM-DD HH:MM:SS,value` in the request's time
/// zone, `\r\n` line ends, an empty field for null.
pub fn csv(series: &[Series], tz: &TimeZone) -> String {
    let mut out = String::new();
    for s in series {
        let name = csv_field(&s.name);
        for (i, v) in s.consolidated().into_iter().enumerate() {
            // graphite-web steps by the raw step here, whatever the consolidation.
            let t = s.start + i as i64 * s.step;
            let when = jiff::Timestamp::from_second(t)
                .map(|ts| {
                    ts.to_zoned_datetime(tz.clone())
                        .strftime("%Y-%m-%d %H:%M:%S")
                        .to_string()
                })
                .unwrap_or_default();
            out.push_str(&name);
            out.push(',');
            out.push_str(&when);
            out.push(',');
            if !v.is_nan() {
                out.push_str(&charcoal_pyfmt::repr(v));
            }
            out.push_str("\r\n");
        }
    }
    out
}

/// Python's csv module quoting (minimal, Excel dialect).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// `format=raw` / `rawData`: `name,start,end,step|v1,v2,...` per series, values as Python
/// `repr` (`None` for null).
pub fn raw(series: &[Series]) -> String {
    let mut out = String::new();
    for s in series {
        let _ = write!(out, "{},{},{},{}|", s.name, s.start, s.end, s.step);
        for (i, v) in s.consolidated().into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if v.is_nan() {
                out.push_str("None");
            } else {
                out.push_str(&charcoal_pyfmt::repr(v));
            }
        }
        out.push('\n');
    }
    out
}

/// The fields of graphite-web's `TimeSeries.getInfo()`, in its order.
fn info(s: &Series) -> Vec<(&'static str, Info)> {
    vec![
        ("name", Info::Str(s.name.clone())),
        ("start", Info::Int(s.start)),
        ("end", Info::Int(s.end)),
        ("step", Info::Int(s.step)),
        ("values", Info::Values(s.consolidated())),
        ("pathExpression", Info::Str(s.path_expression.clone())),
        ("valuesPerPoint", Info::Int(s.values_per_point as i64)),
        (
            "consolidationFunc",
            Info::Str(s.consolidation.name().to_owned()),
        ),
        ("xFilesFactor", Info::Float(s.x_files_factor)),
    ]
}

enum Info {
    Str(String),
    Int(i64),
    Float(f64),
    Values(Vec<f64>),
}

/// `format=pickle`: a pickled list of `getInfo()` dicts (nulls as `None`), as graphite-web
/// cluster peers read it.
pub fn pickle(series: &[Series]) -> Vec<u8> {
    let list = series
        .iter()
        .map(|s| {
            Py::Dict(
                info(s)
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Info::Str(s) => Py::Str(s),
                            Info::Int(i) => Py::Int(i),
                            Info::Float(f) => Py::Float(f),
                            Info::Values(vs) => Py::List(
                                vs.into_iter()
                                    .map(|v| if v.is_nan() { Py::None } else { Py::Float(v) })
                                    .collect(),
                            ),
                        };
                        (Py::Str(k.to_owned()), v)
                    })
                    .collect(),
            )
        })
        .collect();
    encode(&Py::List(list))
}

/// `format=msgpack`: the same list of dicts in MessagePack (strings as str, nulls as nil).
pub fn msgpack(series: &[Series]) -> Vec<u8> {
    let mut out = Vec::new();
    let w = &mut out;
    // Writing to a Vec cannot fail.
    let _ = rmp::encode::write_array_len(w, series.len() as u32);
    for s in series {
        let fields = info(s);
        let _ = rmp::encode::write_map_len(w, fields.len() as u32);
        for (k, v) in fields {
            let _ = rmp::encode::write_str(w, k);
            match v {
                Info::Str(s) => {
                    let _ = rmp::encode::write_str(w, &s);
                }
                Info::Int(i) => {
                    let _ = rmp::encode::write_sint(w, i);
                }
                Info::Float(f) => {
                    let _ = rmp::encode::write_f64(w, f);
                }
                Info::Values(vs) => {
                    let _ = rmp::encode::write_array_len(w, vs.len() as u32);
                    for v in vs {
                        if v.is_nan() {
                            let _ = rmp::encode::write_nil(w);
                        } else {
                            let _ = rmp::encode::write_f64(w, v);
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Series> {
        let mut s = Series::new("a.b", 60, 240, 60, vec![1.0, f64::NAN, 2.5], 0.0);
        s.tags.set("x", "1");
        vec![s]
    }

    #[test]
    fn json_is_graphite_webs_text() {
        assert_eq!(
            json(&sample(), false),
            r#"[{"target": "a.b", "tags": {"name": "a.b", "x": "1"}, "datapoints": [[1.0, 60], [null, 120], [2.5, 180]]}]"#
        );
        assert!(json(&sample(), true).contains("[[1.0, 60], [2.5, 180]]"));
        assert_eq!(json(&[], false), "[]");
    }

    #[test]
    fn raw_and_csv() {
        assert_eq!(raw(&sample()), "a.b,60,240,60|1.0,None,2.5\n");
        assert_eq!(
            csv(&sample(), &TimeZone::UTC),
            "a.b,1970-01-01 00:01:00,1.0\r\na.b,1970-01-01 00:02:00,\r\na.b,1970-01-01 00:03:00,2.5\r\n"
        );
    }
}
