//! Python's `json.dumps`, and `str()`/`repr()` of plain data, byte for byte.
//!
//! graphite-web answers every JSON request with `json.dumps` (default separators `", "`
//! and `": "`, `ensure_ascii`, Python float `repr`s, and its own spellings of non-finite
//! floats), Django's pretty answers with `indent` and `sort_keys`, and the whisper scripts
//! print `json.dumps(..., indent=2, separators=(',', ' : '))` and `str()` of dicts and
//! lists. serde_json cannot write any of these (`1e-5` against `1e-05`, no `NaN`, no
//! custom separators, no `ensure_ascii`), so the rules live here, once, for every value
//! type that can be walked as JSON ([`JsonValue`]): [`PyValue`], built by the tools, and
//! `serde_json::Value` (feature `serde_json`), built by the API.

use std::fmt::Write;

use crate::{repr, write_json_str, write_str_repr};

/// How `json.dumps` was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonStyle {
    /// `indent=`: `None` writes one line.
    pub indent: Option<usize>,
    /// The key separator (second of `separators=`): `": "` by default.
    pub key_separator: &'static str,
    /// `sort_keys=True`.
    pub sort_keys: bool,
    /// `ensure_ascii` (Python's default): every non-ASCII character as `\uXXXX`.
    pub ensure_ascii: bool,
    /// How NaN and the infinities are spelled.
    pub non_finite: NonFinite,
}

/// Spellings of NaN, infinity and minus infinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonFinite {
    /// `json.dumps`' own: `NaN`, `Infinity`, `-Infinity` (the whisper scripts).
    Python,
    /// graphite-web's post-processed answers: `null`, `1e9999`, `-1e9999`.
    Graphite,
}

impl JsonStyle {
    /// `json.dumps(value)`: one line, `", "` and `": "`, `ensure_ascii`, Python's spellings.
    pub const PYTHON: JsonStyle = JsonStyle {
        indent: None,
        key_separator: ": ",
        sort_keys: false,
        ensure_ascii: true,
        non_finite: NonFinite::Python,
    };
}

/// One node of a value being written.
#[derive(Debug)]
pub enum Node<'a, V: JsonValue + 'a> {
    /// `None`.
    Null,
    /// A `bool`.
    Bool(bool),
    /// An `int` that fits in 64 signed bits.
    Int(i64),
    /// An `int` above `i64::MAX`.
    UInt(u64),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(&'a str),
    /// A `list`.
    List(V::Items<'a>),
    /// A `dict` with string keys, in its own order.
    Dict(V::Entries<'a>),
}

/// A value `dumps` can walk without converting it.
pub trait JsonValue: Sized {
    /// A list's items.
    type Items<'a>: Iterator<Item = &'a Self>
    where
        Self: 'a;
    /// A dict's entries.
    type Entries<'a>: Iterator<Item = (&'a str, &'a Self)>
    where
        Self: 'a;
    /// What this value is.
    fn node(&self) -> Node<'_, Self>;
}

/// `json.dumps(value, ...)` in `style`.
pub fn dumps<V: JsonValue>(value: &V, style: &JsonStyle) -> String {
    let mut out = String::new();
    write_json(&mut out, value, style);
    out
}

/// Appends `json.dumps(value, ...)` in `style` to `out`.
pub fn write_json<V: JsonValue>(out: &mut String, value: &V, style: &JsonStyle) {
    write_level(out, value, style, 0);
}

/// Appends a float as `style` spells it (`repr` when finite).
pub fn write_float(out: &mut String, v: f64, non_finite: NonFinite) {
    let special = match non_finite {
        NonFinite::Python => ["NaN", "Infinity", "-Infinity"],
        NonFinite::Graphite => ["null", "1e9999", "-1e9999"],
    };
    if v.is_nan() {
        out.push_str(special[0]);
    } else if v == f64::INFINITY {
        out.push_str(special[1]);
    } else if v == f64::NEG_INFINITY {
        out.push_str(special[2]);
    } else {
        out.push_str(&repr(v));
    }
}

/// Before an item: the separator after the previous one, and the item's own line when
/// indenting (with an indent Python separates items with a bare `,`).
fn separate(out: &mut String, style: &JsonStyle, first: bool, level: usize) {
    match style.indent {
        None if !first => out.push_str(", "),
        None => {}
        Some(n) => {
            if !first {
                out.push(',');
            }
            newline(out, n * level);
        }
    }
}

fn newline(out: &mut String, spaces: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', spaces));
}

fn write_level<V: JsonValue>(out: &mut String, value: &V, style: &JsonStyle, level: usize) {
    match value.node() {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Node::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Node::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        Node::Float(f) => write_float(out, f, style.non_finite),
        Node::Str(s) => write_json_str(out, s, style.ensure_ascii),
        Node::List(items) => {
            out.push('[');
            let mut empty = true;
            for item in items {
                separate(out, style, empty, level + 1);
                empty = false;
                write_level(out, item, style, level + 1);
            }
            close(out, style, empty, level, ']');
        }
        Node::Dict(entries) => {
            out.push('{');
            let write_entry = |out: &mut String, first: bool, (key, item): (&str, &V)| {
                separate(out, style, first, level + 1);
                write_json_str(out, key, style.ensure_ascii);
                out.push_str(style.key_separator);
                write_level(out, item, style, level + 1);
            };
            let mut empty = true;
            if style.sort_keys {
                let mut sorted: Vec<(&str, &V)> = entries.collect();
                // Byte order of UTF-8 is code-point order, as Python sorts strings.
                sorted.sort_by(|a, b| a.0.cmp(b.0));
                for entry in sorted {
                    write_entry(out, empty, entry);
                    empty = false;
                }
            } else {
                for entry in entries {
                    write_entry(out, empty, entry);
                    empty = false;
                }
            }
            close(out, style, empty, level, '}');
        }
    }
}

/// The closing bracket, on its own line when indenting a non-empty container.
fn close(out: &mut String, style: &JsonStyle, empty: bool, level: usize, bracket: char) {
    if let (Some(n), false) = (style.indent, empty) {
        newline(out, n * level);
    }
    out.push(bracket);
}

/// A Python value as the whisper scripts build them. Dicts keep insertion order, as
/// Python's do.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// `None`.
    None,
    /// A `bool`.
    Bool(bool),
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

type EntryOf = fn(&(String, PyValue)) -> (&str, &PyValue);

impl JsonValue for PyValue {
    type Items<'a> = std::slice::Iter<'a, PyValue>;
    type Entries<'a> = std::iter::Map<std::slice::Iter<'a, (String, PyValue)>, EntryOf>;

    fn node(&self) -> Node<'_, Self> {
        match self {
            PyValue::None => Node::Null,
            PyValue::Bool(b) => Node::Bool(*b),
            PyValue::Int(i) => Node::Int(*i),
            PyValue::Float(f) => Node::Float(*f),
            PyValue::Str(s) => Node::Str(s),
            PyValue::List(items) => Node::List(items.iter()),
            PyValue::Dict(entries) => {
                let entry: EntryOf = |(k, v)| (k.as_str(), v);
                Node::Dict(entries.iter().map(entry))
            }
        }
    }
}

/// Python's `str(value)`: a string as is, anything else as [`py_repr`].
pub fn py_str(value: &PyValue) -> String {
    match value {
        PyValue::Str(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Python's `repr(value)`: `None`, `True`, `[1, 2.0]`, `{'key': 'value'}`.
///
/// ```
/// use charcoal_pyfmt::json::{PyValue, py_repr};
/// let v = PyValue::List(vec![PyValue::Dict(vec![("a".into(), PyValue::Float(0.5))])]);
/// assert_eq!(py_repr(&v), "[{'a': 0.5}]");
/// ```
pub fn py_repr(value: &PyValue) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

fn write_repr(out: &mut String, value: &PyValue) {
    let list =
        |out: &mut String, open: char, close: char, n: usize, each: &dyn Fn(&mut String, usize)| {
            out.push(open);
            for i in 0..n {
                if i > 0 {
                    out.push_str(", ");
                }
                each(out, i);
            }
            out.push(close);
        };
    match value {
        PyValue::None => out.push_str("None"),
        PyValue::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        PyValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        PyValue::Float(f) => out.push_str(&repr(*f)),
        PyValue::Str(s) => write_str_repr(out, s),
        PyValue::List(items) => list(out, '[', ']', items.len(), &|out, i| {
            write_repr(out, &items[i]);
        }),
        PyValue::Dict(entries) => list(out, '{', '}', entries.len(), &|out, i| {
            write_str_repr(out, &entries[i].0);
            out.push_str(": ");
            write_repr(out, &entries[i].1);
        }),
    }
}

#[cfg(feature = "serde_json")]
mod serde {
    use serde_json::{Map, Value};

    use super::{JsonValue, Node};

    type EntryOf = for<'a> fn((&'a String, &'a Value)) -> (&'a str, &'a Value);

    impl JsonValue for Value {
        type Items<'a> = std::slice::Iter<'a, Value>;
        type Entries<'a> = std::iter::Map<serde_json::map::Iter<'a>, EntryOf>;

        fn node(&self) -> Node<'_, Self> {
            match self {
                Value::Null => Node::Null,
                Value::Bool(b) => Node::Bool(*b),
                Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                    (Some(i), _) if !n.is_f64() => Node::Int(i),
                    (_, Some(u)) if !n.is_f64() => Node::UInt(u),
                    _ => n.as_f64().map_or(Node::Null, Node::Float),
                },
                Value::String(s) => Node::Str(s),
                Value::Array(items) => Node::List(items.iter()),
                Value::Object(map) => Node::Dict(entries(map)),
            }
        }
    }

    fn entries(map: &Map<String, Value>) -> std::iter::Map<serde_json::map::Iter<'_>, EntryOf> {
        let entry: EntryOf = |(k, v)| (k.as_str(), v);
        map.iter().map(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::run_python;

    fn sample() -> PyValue {
        PyValue::Dict(vec![
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
                    ("ok".into(), PyValue::Bool(true)),
                    ("small".into(), PyValue::Float(1e-5)),
                    ("inf".into(), PyValue::Float(f64::NEG_INFINITY)),
                ])]),
            ),
            ("empty_list".into(), PyValue::List(vec![])),
            ("empty_dict".into(), PyValue::Dict(vec![])),
        ])
    }

    /// The same value through Python's own `json.dumps`, in each style the stack uses.
    #[test]
    fn dumps_is_pythons() {
        let python = r#"
import json, sys
v = {"path_a": "d\u00e9j\u00e0 \"q\"\n\U0001f600",
     "archives": [{"value_a": float("nan"), "value_b": None, "total": -3, "ok": True,
                   "small": 1e-05, "inf": float("-inf")}],
     "empty_list": [], "empty_dict": {}}
print(json.dumps(v))
print(json.dumps(v, indent=2, separators=(',', ' : '), sort_keys=True))
print(json.dumps(v, ensure_ascii=False, indent=4, sort_keys=True))
"#;
        let want = run_python(python, String::new());
        let v = sample();
        let styles = [
            JsonStyle::PYTHON,
            JsonStyle {
                indent: Some(2),
                key_separator: " : ",
                sort_keys: true,
                ..JsonStyle::PYTHON
            },
            JsonStyle {
                indent: Some(4),
                sort_keys: true,
                ensure_ascii: false,
                ..JsonStyle::PYTHON
            },
        ];
        let got: String = styles
            .iter()
            .map(|s| format!("{}\n", dumps(&v, s)))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn graphite_spells_non_finite_floats_its_own_way() {
        let v = PyValue::List(vec![
            PyValue::Float(f64::NAN),
            PyValue::Float(f64::INFINITY),
            PyValue::Float(f64::NEG_INFINITY),
            PyValue::Float(1.0),
        ]);
        let style = JsonStyle {
            non_finite: NonFinite::Graphite,
            ..JsonStyle::PYTHON
        };
        assert_eq!(dumps(&v, &style), "[null, 1e9999, -1e9999, 1.0]");
    }

    #[test]
    fn repr_and_str() {
        let r = |s: &str| py_repr(&PyValue::Str(s.into()));
        assert_eq!(r("a"), "'a'");
        assert_eq!(r("it's"), "\"it's\"");
        assert_eq!(r("'\""), "'\\'\"'");
        assert_eq!(r("\u{1}\u{e9}"), "'\\x01\u{e9}'");
        assert_eq!(py_str(&PyValue::Str("x".into())), "x");
        assert_eq!(py_str(&PyValue::Float(1e16)), "1e+16");
        assert_eq!(
            py_repr(&PyValue::Dict(vec![
                ("a".into(), PyValue::Bool(false)),
                (
                    "b".into(),
                    PyValue::List(vec![PyValue::None, PyValue::Int(2)])
                )
            ])),
            "{'a': False, 'b': [None, 2]}"
        );
    }
}
