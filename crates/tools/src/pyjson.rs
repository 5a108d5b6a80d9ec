//! Python's `json.dumps` and `str()`/`repr()` of the plain data the scripts
//! print: dicts, lists, strings, ints, floats and `None`.
//!
//! `whisper-info --json` and `whisper-diff --json` print `json.dumps(...)`
//! with an indent and custom separators, and `whisper-info path archives`
//! prints `str()` of a list of dicts. serde_json cannot reproduce either:
//! its floats are not Python's (`1e-5` versus `1e-05`, no `NaN`), it has no
//! `separators=(',', ' : ')`, and Python's default `ensure_ascii` escapes
//! every non-ASCII character. So the few shapes needed are rebuilt here on
//! top of [`crate::pyfmt::repr`].

use std::fmt::Write;

use crate::pyfmt::repr;

/// A Python value as the scripts build them. Dicts keep insertion order,
/// as Python's do.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// `None`.
    None,
    /// An `int`.
    Int(i64),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(String),
    /// A `list`.
    List(Vec<PyValue>),
    /// A `dict` with string keys, in insertion order.
    Dict(Vec<(String, PyValue)>),
}

/// The options of `json.dumps` the scripts use.
#[derive(Debug, Clone, Copy)]
pub struct JsonStyle {
    /// Spaces per nesting level (`indent=`).
    pub indent: usize,
    /// The key separator (second of `separators=`), such as `": "`.
    pub key_separator: &'static str,
    /// `sort_keys=True`.
    pub sort_keys: bool,
}

/// `json.dumps(value, indent=..., separators=(',', key_separator),
/// sort_keys=...)` with the default `ensure_ascii=True` and `allow_nan=True`.
///
/// ```
/// use charcoal_tools::pyjson::{JsonStyle, PyValue, dumps};
/// let v = PyValue::Dict(vec![("b".into(), PyValue::Float(1e-5)), ("a".into(), PyValue::List(vec![]))]);
/// let style = JsonStyle { indent: 2, key_separator: ": ", sort_keys: true };
/// assert_eq!(dumps(&v, style), "{\n  \"a\": [],\n  \"b\": 1e-05\n}");
/// ```
pub fn dumps(value: &PyValue, style: JsonStyle) -> String {
    let mut out = String::new();
    write_json(&mut out, value, style, 0);
    out
}

fn newline_indent(out: &mut String, spaces: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', spaces));
}

fn write_json(out: &mut String, value: &PyValue, style: JsonStyle, level: usize) {
    match value {
        PyValue::None => out.push_str("null"),
        PyValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        PyValue::Float(f) => out.push_str(&json_float(*f)),
        PyValue::Str(s) => json_string(out, s),
        PyValue::List(items) if items.is_empty() => out.push_str("[]"),
        PyValue::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_indent(out, (level + 1) * style.indent);
                write_json(out, item, style, level + 1);
            }
            newline_indent(out, level * style.indent);
            out.push(']');
        }
        PyValue::Dict(entries) if entries.is_empty() => out.push_str("{}"),
        PyValue::Dict(entries) => {
            let mut entries: Vec<&(String, PyValue)> = entries.iter().collect();
            if style.sort_keys {
                // Byte order of UTF-8 is code-point order, as Python sorts.
                entries.sort_by(|a, b| a.0.cmp(&b.0));
            }
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_indent(out, (level + 1) * style.indent);
                json_string(out, key);
                out.push_str(style.key_separator);
                write_json(out, item, style, level + 1);
            }
            newline_indent(out, level * style.indent);
            out.push('}');
        }
    }
}

/// `json`'s float spelling: `repr`, except the non-finite values, which it
/// writes as JavaScript does.
fn json_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f == f64::INFINITY {
        "Infinity".to_owned()
    } else if f == f64::NEG_INFINITY {
        "-Infinity".to_owned()
    } else {
        repr(f)
    }
}

/// A JSON string with `ensure_ascii`, as `json.dumps` writes it.
fn json_string(out: &mut String, s: &str) {
    charcoal_pyfmt::write_json_str(out, s, true);
}

/// Python's `str(value)`: a string as is, anything else as [`py_repr`].
pub fn py_str(value: &PyValue) -> String {
    match value {
        PyValue::Str(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Python's `repr(value)`: `None`, `[1, 2.0]`, `{'key': 'value'}`.
///
/// ```
/// use charcoal_tools::pyjson::{PyValue, py_repr};
/// let v = PyValue::List(vec![PyValue::Dict(vec![("a".into(), PyValue::Float(0.5))])]);
/// assert_eq!(py_repr(&v), "[{'a': 0.5}]");
/// ```
pub fn py_repr(value: &PyValue) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

fn write_repr(out: &mut String, value: &PyValue) {
    match value {
        PyValue::None => out.push_str("None"),
        PyValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        PyValue::Float(f) => out.push_str(&repr(*f)),
        PyValue::Str(s) => str_repr(out, s),
        PyValue::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item);
            }
            out.push(']');
        }
        PyValue::Dict(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                str_repr(out, key);
                out.push_str(": ");
                write_repr(out, item);
            }
            out.push('}');
        }
    }
}

/// Python's `repr(str)`.
fn str_repr(out: &mut String, s: &str) {
    charcoal_pyfmt::write_str_repr(out, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_matches_python_spelling() {
        let v = PyValue::Dict(vec![
            (
                "path_a".into(),
                PyValue::Str("d\u{e9}j\u{e0} \"q\"\n\u{1f600}".into()),
            ),
            (
                "archives".into(),
                PyValue::List(vec![PyValue::Dict(vec![
                    ("value_a".into(), PyValue::Float(f64::NAN)),
                    ("value_b".into(), PyValue::None),
                    ("total".into(), PyValue::Int(-3)),
                ])]),
            ),
        ]);
        let style = JsonStyle {
            indent: 2,
            key_separator: " : ",
            sort_keys: true,
        };
        assert_eq!(
            dumps(&v, style),
            "{\n  \"archives\" : [\n    {\n      \"total\" : -3,\n      \"value_a\" : NaN,\n      \
             \"value_b\" : null\n    }\n  ],\n  \"path_a\" : \"d\\u00e9j\\u00e0 \\\"q\\\"\\n\\ud83d\\ude00\"\n}"
        );
    }

    #[test]
    fn repr_of_strings() {
        let r = |s: &str| py_repr(&PyValue::Str(s.into()));
        assert_eq!(r("a"), "'a'");
        assert_eq!(r("it's"), "\"it's\"");
        assert_eq!(r("'\""), "'\\'\"'");
        assert_eq!(r("\u{1}\u{e9}"), "'\\x01\u{e9}'");
        assert_eq!(py_str(&PyValue::Str("x".into())), "x");
        assert_eq!(py_str(&PyValue::Float(1e16)), "1e+16");
    }
}
