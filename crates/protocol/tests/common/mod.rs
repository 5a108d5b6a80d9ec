//! Helpers for the tests that compare Charcoal with the reference implementations.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use charcoal_protocol::pickle::Value;
use serde_json::{Value as Json, json};

/// Debian's interpreter: the reference the compatibility notes were verified with.
pub(crate) const PYTHON: &str = "/usr/bin/python3";

/// The directory of the Python scripts.
pub(crate) fn script_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py")
}

/// Runs `tests/py/<script>` with `input` as JSON on stdin and returns its JSON output.
///
/// # Panics
///
/// If Python is missing or the script fails: these tests are the compatibility evidence and
/// must not pass vacuously.
pub(crate) fn run_python(script: &str, input: &Json) -> Json {
    assert!(
        Path::new(PYTHON).exists(),
        "{PYTHON} is missing: the differential tests need Debian's python3 (apt-get install python3)"
    );
    let mut child = Command::new(PYTHON)
        .arg(script_dir().join(script))
        .current_dir(script_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {PYTHON}: {e}"));
    let body = serde_json::to_vec(input).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{script}: bad JSON: {e}"))
}

/// Bits of a float as the scripts write them: the `u64` in decimal, or "nan".
pub(crate) fn float_bits(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else {
        f.to_bits().to_string()
    }
}

/// The same JSON form as `common.canon` in Python, with sets sorted the same way on both
/// sides by [`sort_sets`].
pub(crate) fn canon(v: &Value) -> Json {
    match v {
        Value::None => json!(["None"]),
        Value::Bool(b) => json!(["bool", b]),
        Value::Int(i) => json!(["int", i.to_string()]),
        Value::BigInt(_) => json!(["int", v.py_repr()]),
        Value::Float(f) => json!(["float", float_bits(*f)]),
        Value::Str(s) => json!(["str", s]),
        Value::Bytes(b) => json!(["bytes", hex(b)]),
        Value::ByteArray(b) => json!(["bytearray", hex(b)]),
        Value::List(items) => json!(["list", items.iter().map(canon).collect::<Vec<_>>()]),
        Value::Tuple(items) => json!(["tuple", items.iter().map(canon).collect::<Vec<_>>()]),
        Value::Dict(pairs) => json!([
            "dict",
            pairs
                .iter()
                .map(|(k, v)| json!([canon(k), canon(v)]))
                .collect::<Vec<_>>()
        ]),
        Value::Set(items) => json!(["set", items.iter().map(canon).collect::<Vec<_>>()]),
        Value::FrozenSet(items) => {
            json!(["frozenset", items.iter().map(canon).collect::<Vec<_>>()])
        }
    }
}

/// Sorts the members of every set and frozenset, as Python's set order is its hash order.
pub(crate) fn sort_sets(j: &mut Json) {
    if let Json::Array(a) = j {
        let kind = a.first().and_then(Json::as_str).map(str::to_owned);
        for x in a.iter_mut() {
            sort_sets(x);
        }
        if matches!(kind.as_deref(), Some("set" | "frozenset"))
            && let Some(Json::Array(members)) = a.get_mut(1)
        {
            members.sort_by_key(|m| m.to_string());
        }
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
