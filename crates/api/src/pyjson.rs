//! Python's `json.dumps` with its default separators (`", "` and `": "`), which graphite-web
//! uses for every JSON answer; clients that compare bytes, and graphite-web's own tests, see
//! the same text from Charcoal.
//!
//! Floats are Python `repr`s (`1.0`, `1e-05`), non-finite floats are graphite-web's
//! post-processed spellings (`null` for NaN, `1e9999` and `-1e9999` for infinities), and
//! strings are escaped as `json.dumps` escapes them, with `ensure_ascii` (every non-ASCII
//! character as `\uXXXX`, astral ones as surrogate pairs) or without.

use std::fmt::Write;

use serde_json::Value;

/// Appends a JSON string literal (`json.dumps`' escaping, see
/// `charcoal_pyfmt::write_json_str`).
pub fn push_str(out: &mut String, s: &str, ensure_ascii: bool) {
    charcoal_pyfmt::write_json_str(out, s, ensure_ascii);
}

/// Appends a float as graphite-web's JSON shows it.
pub fn push_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("null");
    } else if v == f64::INFINITY {
        out.push_str("1e9999");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-1e9999");
    } else {
        out.push_str(&charcoal_pyfmt::repr(v));
    }
}

/// `json.dumps(value)` (keys in the map's order: enable serde_json's `preserve_order`).
pub fn dumps(value: &Value, ensure_ascii: bool) -> String {
    let mut out = String::new();
    write_value(&mut out, value, ensure_ascii);
    out
}

/// `json.dumps(value, indent=indent, sort_keys=True)`: Django views' `pretty` answers.
/// With an indent Python separates items with `,` (no space) and keys with `: `.
pub fn dumps_pretty(value: &Value, indent: usize, ensure_ascii: bool) -> String {
    let mut out = String::new();
    write_pretty(&mut out, value, indent, 0, ensure_ascii);
    out
}

fn write_pretty(out: &mut String, value: &Value, indent: usize, level: usize, ensure_ascii: bool) {
    let newline = |out: &mut String, level: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', indent * level));
    };
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                write_pretty(out, item, indent, level + 1, ensure_ascii);
            }
            newline(out, level);
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                push_str(out, k, ensure_ascii);
                out.push_str(": ");
                write_pretty(out, v, indent, level + 1, ensure_ascii);
            }
            newline(out, level);
            out.push('}');
        }
        other => write_value(out, other, ensure_ascii),
    }
}

fn write_value(out: &mut String, value: &Value, ensure_ascii: bool) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) if !n.is_f64() => {
                let _ = write!(out, "{i}");
            }
            (_, Some(u), _) if !n.is_f64() => {
                let _ = write!(out, "{u}");
            }
            (_, _, Some(f)) => push_float(out, f),
            _ => out.push_str("null"),
        },
        Value::String(s) => push_str(out, s, ensure_ascii),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item, ensure_ascii);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_str(out, k, ensure_ascii);
                out.push_str(": ");
                write_value(out, v, ensure_ascii);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_separators_and_escapes() {
        let v = json!({"text": "é\"x", "id": 1, "f": 1.0, "l": [1e-5, null]});
        assert_eq!(
            dumps(&v, true),
            r#"{"text": "\u00e9\"x", "id": 1, "f": 1.0, "l": [1e-05, null]}"#
        );
        assert_eq!(dumps(&json!("é😀"), false), "\"é😀\"");
        assert_eq!(dumps(&json!("😀"), true), "\"\\ud83d\\ude00\"");
    }

    #[test]
    fn pretty_is_indented_with_sorted_keys() {
        let v = json!({"tag": "a", "values": [{"value": "x", "count": 2}], "e": [], "o": {}});
        assert_eq!(
            dumps_pretty(&v, 2, true),
            "{\n  \"e\": [],\n  \"o\": {},\n  \"tag\": \"a\",\n  \"values\": [\n    {\n      \"count\": 2,\n      \"value\": \"x\"\n    }\n  ]\n}"
        );
    }
}
