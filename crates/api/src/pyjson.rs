//! Python's `json.dumps` with its default separators (`", "` and `": "`), which graphite-web
//! uses for every JSON answer; clients that compare bytes, and graphite-web's own tests, see
//! the same text from Charcoal. The rules are `charcoal_pyfmt::json`'s, shared with the
//! whisper tools; this module only fixes graphite-web's choices.
//!
//! Floats are Python `repr`s (`1.0`, `1e-05`), non-finite floats are graphite-web's
//! post-processed spellings (`null` for NaN, `1e9999` and `-1e9999` for infinities), and
//! strings are escaped as `json.dumps` escapes them, with `ensure_ascii` (every non-ASCII
//! character as `\uXXXX`, astral ones as surrogate pairs) or without.

use charcoal_pyfmt::json::{self, JsonStyle, NonFinite};
use serde_json::Value;

/// graphite-web's `json.dumps` answers: Python's separators, graphite's non-finite floats.
const STYLE: JsonStyle = JsonStyle {
    non_finite: NonFinite::Graphite,
    ..JsonStyle::PYTHON
};

/// Appends a JSON string literal (`json.dumps`' escaping, see
/// `charcoal_pyfmt::write_json_str`).
pub fn push_str(out: &mut String, s: &str, ensure_ascii: bool) {
    charcoal_pyfmt::write_json_str(out, s, ensure_ascii);
}

/// Appends a float as graphite-web's JSON shows it.
pub fn push_float(out: &mut String, v: f64) {
    json::write_float(out, v, NonFinite::Graphite);
}

/// `json.dumps(value)` (keys in the map's order: enable serde_json's `preserve_order`).
pub fn dumps(value: &Value, ensure_ascii: bool) -> String {
    json::dumps(
        value,
        &JsonStyle {
            ensure_ascii,
            ..STYLE
        },
    )
}

/// `json.dumps(value, indent=indent, sort_keys=True)`: Django views' `pretty` answers.
pub fn dumps_pretty(value: &Value, indent: usize, ensure_ascii: bool) -> String {
    json::dumps(
        value,
        &JsonStyle {
            indent: Some(indent),
            sort_keys: true,
            ensure_ascii,
            ..STYLE
        },
    )
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
