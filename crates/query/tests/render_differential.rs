//! Charcoal's evaluator and function library against graphite-web 1.1.8's own.
//!
//! `tests/py/render_oracle.py` runs graphite-web's evaluator, parameter checks, functions and
//! `maxDataPoints` consolidation over an in-memory dataset (fetching replaced by whisper's
//! grid rules); this test runs Charcoal's over the same dataset through
//! [`MemorySource`]. Every target in `tests/render_targets*.txt` is evaluated over several
//! ranges, with and without `maxDataPoints`, and both answers must agree: both refuse, or
//! the same series in the same order with the same names, tags, grid and values (within
//! 1e-9 relative; nulls at the same places).
//!
//! Lines of `render_targets*.txt` are targets; `#` starts a comment line. A line
//! `!known <target>` marks a target whose difference is deliberate and documented in
//! docs/compatibility.md: it must still evaluate on Charcoal's side without panicking.
//! The oracle enforces graphite-web's parameter declarations, as Charcoal does; a line
//! `!lenient <target>` is evaluated with graphite-web's shipped
//! `ENFORCE_INPUT_VALIDATION = False` instead, for calls graphite-web serves although
//! they break its own declarations (`highest(x)` with the signature's `n=1`). A line
//! `!shape <target>` compares everything but the values themselves, only their number
//! (random data: `randomWalk`).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use charcoal_query::consolidate::apply_max_data_points;
use charcoal_query::{Limits, MemorySource, Request, Series, evaluate_targets};
use serde_json::{Value as Json, json};

const PYTHON: &str = "/usr/bin/python3";

/// A small deterministic generator (no dependency needed for a test's noise).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const T0: i64 = 1_700_000_000;

/// The dataset: name → (step, points). Mixed steps (10, 30, 60 s), nulls, negatives,
/// counters with resets, an all-null series, and tagged-looking and odd names.
/// One metric of the dataset: name, step, points.
type Metric = (String, i64, Vec<(i64, f64)>);

fn dataset() -> Vec<Metric> {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    let span = 4 * 3600;
    for host in 1..=4 {
        let mut counter = 1000.0 * host as f64;
        let mut req = Vec::new();
        let mut lat = Vec::new();
        for i in 0..span / 10 {
            let t = T0 - 3600 + i * 10;
            counter += (r.unit() * 50.0).floor();
            if r.unit() < 0.01 {
                counter = 0.0;
            }
            if r.unit() > 0.05 {
                req.push((t, counter));
            }
            if r.unit() > 0.1 {
                lat.push((
                    t,
                    (r.unit() * 200.0 - 20.0 * host as f64 * 0.1).round() / 4.0,
                ));
            }
        }
        out.push((format!("web.host{host}.requests"), 10, req));
        out.push((format!("web.host{host}.latency"), 10, lat));
    }
    for (name, step) in [("db.a.b.cpu", 60), ("db.a.c.cpu", 30), ("db.x.b.cpu", 60)] {
        let mut pts = Vec::new();
        for i in 0..span / step {
            if r.unit() > 0.15 {
                pts.push((T0 - 3600 + i * step, r.unit() * 100.0 - 30.0));
            }
        }
        out.push((name.to_owned(), step, pts));
    }
    let mut sparse = Vec::new();
    for i in 0..span / 10 {
        if r.unit() > 0.9 {
            sparse.push((T0 - 3600 + i * 10, r.unit() * 5.0));
        }
    }
    out.push(("misc.sparse".to_owned(), 10, sparse));
    out.push(("misc.empty".to_owned(), 10, Vec::new()));
    let ints = (0..span / 10)
        .map(|i| (T0 - 3600 + i * 10, (i % 7) as f64))
        .collect();
    out.push(("misc.ints".to_owned(), 10, ints));
    // Tagged names (for groupByTags, aliasByTags), fetched by globs such as disk.used;*.
    for (k, name) in [
        "disk.used;host=a;dc=x",
        "disk.used;host=b;dc=x",
        "disk.used;host=c;dc=y",
        "disk.free;host=a;dc=x",
    ]
    .into_iter()
    .enumerate()
    {
        let pts = (0..span / 60)
            .filter(|i| (i + k as i64) % 9 != 0)
            .map(|i| (T0 - 3600 + i * 60, ((i * (k as i64 + 3)) % 50) as f64))
            .collect();
        out.push((name.to_owned(), 60, pts));
    }
    out
}

/// How a target is compared.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Against graphite-web with its declarations enforced.
    Enforced,
    /// Against graphite-web as shipped (declarations not enforced).
    Lenient,
    /// Not compared (a documented difference).
    Known,
    /// Compared without the values, only their count.
    Shape,
}

/// Every target of `tests/render_targets*.txt` (one file per function group or so).
fn targets() -> Vec<(String, Kind)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("render_targets") && name.ends_with(".txt")
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for l in text.lines().map(str::trim) {
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            out.push(if let Some(t) = l.strip_prefix("!known ") {
                (t.trim().to_owned(), Kind::Known)
            } else if let Some(t) = l.strip_prefix("!shape ") {
                (t.trim().to_owned(), Kind::Shape)
            } else if let Some(t) = l.strip_prefix("!lenient ") {
                (t.trim().to_owned(), Kind::Lenient)
            } else {
                (l.to_owned(), Kind::Enforced)
            });
        }
    }
    out
}

fn fmt_value(v: f64) -> Json {
    if v.is_nan() {
        Json::Null
    } else if v.is_infinite() {
        json!(if v > 0.0 { "inf" } else { "-inf" })
    } else {
        json!(charcoal_pyfmt::repr(v))
    }
}

fn dump(s: &Series) -> Json {
    json!({
        "name": s.name,
        "tags": s.tags.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
        "start": s.start,
        "step": s.step,
        "valuesPerPoint": s.values_per_point,
        "values": s.consolidated().into_iter().map(fmt_value).collect::<Vec<_>>(),
    })
}

fn close(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::String(x), Json::String(y)) => match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(p), Ok(q)) if p.is_finite() && q.is_finite() => {
                p == q || (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1e-300)
            }
            _ => x == y,
        },
        _ => a == b,
    }
}

/// What differs between graphite-web's series and ours, if anything.
fn compare(theirs: &Json, ours: &Json) -> Option<String> {
    let (t, o) = (theirs.as_array().unwrap(), ours.as_array().unwrap());
    if t.len() != o.len() {
        let names = |v: &[Json]| {
            v.iter()
                .map(|s| s["name"].to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        return Some(format!(
            "{} series vs {}: [{}] vs [{}]",
            t.len(),
            o.len(),
            names(t),
            names(o)
        ));
    }
    for (i, (a, b)) in t.iter().zip(o).enumerate() {
        for key in ["name", "tags", "start", "step", "valuesPerPoint"] {
            if a[key] != b[key] {
                return Some(format!("series {i} {key}: {} vs {}", a[key], b[key]));
            }
        }
        let (va, vb) = (
            a["values"].as_array().unwrap(),
            b["values"].as_array().unwrap(),
        );
        if va.len() != vb.len() {
            return Some(format!(
                "series {i} ({}) has {} values vs {}",
                a["name"],
                va.len(),
                vb.len()
            ));
        }
        if let Some(j) = (0..va.len()).find(|&j| !close(&va[j], &vb[j])) {
            return Some(format!(
                "series {i} ({}) value {j}: {} vs {}",
                a["name"], va[j], vb[j]
            ));
        }
    }
    None
}

/// The series with every value replaced by a null, keeping their number.
fn without_values(list: &Json) -> Json {
    let mut list = list.clone();
    for s in list.as_array_mut().unwrap() {
        for v in s["values"].as_array_mut().unwrap() {
            *v = Json::Null;
        }
    }
    list
}

#[test]
fn functions_agree_with_graphite_web() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/render_oracle.py");
    assert!(
        Path::new(PYTHON).exists(),
        "needs Debian's python3 with graphite-web"
    );
    let data = dataset();
    let mut source = MemorySource::new();
    let mut wire = serde_json::Map::new();
    for (name, step, points) in &data {
        source.insert(name, *step, points.iter().copied());
        wire.insert(
            name.clone(),
            json!([
                step,
                points
                    .iter()
                    .map(|(t, v)| json!([t, v]))
                    .collect::<Vec<_>>()
            ]),
        );
    }
    let targets = targets();
    let ranges = [
        (T0, T0 + 3600, None),
        (T0 + 7, T0 + 1800 + 13, Some(50)),
        (T0 - 600, T0 + 600, Some(1)),
        (T0 + 100, T0 + 2 * 3600, Some(100)),
    ];
    let mut child = Command::new(PYTHON)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut failures = Vec::new();
    let mut agreed = 0;
    for (from, until, mdp) in ranges {
        let req = json!({
            "dataset": wire, "from": from, "until": until, "now": T0 + 3 * 3600,
            "maxDataPoints": mdp,
            "targets": targets.iter().map(|(t, _)| t).collect::<Vec<_>>(),
            "lenient": targets.iter().map(|(_, k)| *k == Kind::Lenient).collect::<Vec<_>>(),
        });
        writeln!(stdin, "{req}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let answer: Json = serde_json::from_str(&line).expect("oracle answer");
        let results = answer["results"].as_array().unwrap();
        for ((target, kind), theirs) in targets.iter().zip(results) {
            let request = Request {
                source: &source,
                from,
                until,
                now: T0 + 3 * 3600,
                tz: jiff::tz::TimeZone::UTC,
                x_files_factor: 0.0,
                templates: Vec::new(),
                limits: Limits::default(),
            };
            let ours = evaluate_targets(&request, std::slice::from_ref(target)).map(|mut s| {
                if let Some(m) = mdp {
                    apply_max_data_points(&mut s, m);
                }
                Json::Array(s.iter().map(dump).collect())
            });
            if *kind == Kind::Known {
                continue;
            }
            let context = format!("{target} [from {from} until {until} mdp {mdp:?}]");
            match (theirs.get("ok"), ours) {
                (Some(t), Ok(o)) if *kind == Kind::Shape => {
                    match compare(&without_values(t), &without_values(&o)) {
                        None => agreed += 1,
                        Some(diff) => failures.push(format!("{context}: {diff}")),
                    }
                }
                (Some(t), Ok(o)) => match compare(t, &o) {
                    None => agreed += 1,
                    Some(diff) => failures.push(format!("{context}: {diff}")),
                },
                (None, Err(_)) => agreed += 1,
                (Some(_), Err(e)) => failures.push(format!(
                    "{context}: graphite-web answers, Charcoal refuses: {e}"
                )),
                (None, Ok(_)) => failures.push(format!(
                    "{context}: graphite-web refuses ({}), Charcoal answers",
                    theirs["error"]
                )),
            }
        }
    }
    drop(stdin);
    let _ = child.wait();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from graphite-web:\n{}",
        failures.len(),
        failures.len() + agreed,
        failures.join("\n")
    );
}
