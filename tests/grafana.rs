//! The requests Grafana's Graphite data source sends (compat notes §4), byte for byte, and
//! the `/functions` catalogue compared with graphite-web's.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::reference::http_get;
use crate::util::{Server, http, now};

const GRAFANA: &str = "http://grafana.example:3000";

/// graphite-web writes infinite defaults as `1e9999` (1.1.8 also as a bare `Infinity`
/// before `}`), which serde_json refuses: read both as the string "inf".
fn parse_functions(text: &str) -> Value {
    let text = text
        .replace("-1e9999", "\"-inf\"")
        .replace("1e9999", "\"inf\"")
        .replace("-Infinity", "\"-inf\"")
        .replace("Infinity", "\"inf\"");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:.300}"))
}

#[test]
fn grafana_datasource_requests() {
    let server = Server::start(&["--cors-origin", GRAFANA]);
    let addr = server.addr("http");

    // "Save & test": the form body Grafana posts, exactly.
    let form = "target=aliasSub(constantLine(100)%2C%20%22(%5E.*%24)%22%2C%20%22%5C1%20A%22)\
                &from=-1h&until=now&format=json&maxDataPoints=300";
    let answer = http(
        addr,
        "POST",
        "/render",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Dashboard-Id", "1"),
            ("X-Panel-Id", "2"),
        ],
        form.as_bytes(),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let v: Value = serde_json::from_str(&answer.body).unwrap();
    let series = v.as_array().unwrap();
    assert_eq!(series.len(), 1);
    // Grafana takes the refId from the last word of the target.
    assert_eq!(series[0]["target"], "100.0 A");
    let points = series[0]["datapoints"].as_array().unwrap();
    assert_eq!(points.len(), 3);
    assert!(points.iter().all(|p| p[0] == 100.0));

    // Version auto-detection: a semver string Grafana reads as 1.1.
    let (status, body) = http_get(addr, "/version");
    assert_eq!((status, body.as_str()), (200, "1.1.8\n"));

    // The query editor's function list.
    let (status, body) = http_get(addr, "/functions");
    assert_eq!(status, 200);
    let functions = parse_functions(&body);
    let map = functions.as_object().unwrap();
    assert!(map.len() > 140, "{} functions", map.len());
    for name in [
        "aliasSub",
        "sumSeries",
        "events",
        "seriesByTag",
        "summarize",
    ] {
        let f = &map[name];
        assert_eq!(f["name"], name);
        assert!(f["params"].is_array() && f["group"].is_string(), "{f}");
    }

    // Annotations: events posted by a deploy script, read back the way Grafana asks.
    let t = now() - 600;
    for (i, (what, tags)) in [("release 1.2", "deploy prod"), ("restart", "ops")]
        .iter()
        .enumerate()
    {
        let body = format!(
            r#"{{"what": "{what}", "tags": "{tags}", "when": {}}}"#,
            t + i as i64
        );
        let answer = http(addr, "POST", "/events/", &[], body.as_bytes());
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let (status, body) = http_get(
        addr,
        &format!(
            "/events/get_data?from={}&until={}&tags=deploy",
            t - 60,
            t + 60
        ),
    );
    assert_eq!(status, 200, "{body}");
    let events: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        events,
        serde_json::json!([{"when": t, "what": "release 1.2", "data": "", "tags": ["deploy", "prod"], "id": 1}])
    );
    // Grafana's relative times arrive as graphite offsets; no tags means every event.
    let (_, body) = http_get(addr, "/events/get_data?from=-1h&until=now");
    assert_eq!(
        serde_json::from_str::<Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Browser access: the preflight of a form post, then the request itself.
    let preflight = http(
        addr,
        "OPTIONS",
        "/render",
        &[
            ("Origin", GRAFANA),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "content-type,x-dashboard-id,x-panel-id",
            ),
        ],
        b"",
    );
    assert!((200..300).contains(&preflight.status), "{preflight:?}");
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(GRAFANA)
    );
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("content-type,x-dashboard-id,x-panel-id")
    );
    assert!(
        preflight
            .header("access-control-allow-methods")
            .is_some_and(|m| m.contains("POST")),
        "{preflight:?}"
    );
    let get = http(addr, "GET", "/version", &[("Origin", GRAFANA)], b"");
    assert_eq!(get.header("access-control-allow-origin"), Some(GRAFANA));
    let other = http(
        addr,
        "GET",
        "/version",
        &[("Origin", "http://other.example")],
        b"",
    );
    assert_eq!(other.header("access-control-allow-origin"), None);
}

#[test]
fn a_bad_cors_origin_is_refused_at_start() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_charcoal"))
        .args(["serve", "--cors-origin", "grafana.example/path"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not an origin"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Declarations that differ from graphite-web 1.1.8's on purpose (docs/compatibility.md).
const DELIBERATE: &[(&str, &str, &str)] = &[(
    "smartSummarize",
    "alignTo",
    "options not listed: graphite-web's include None, True and False, which a string \
     parameter's option list cannot hold",
)];

/// What Grafana reads from one parameter.
fn param_shape(p: &Value) -> BTreeMap<&'static str, Value> {
    let mut out = BTreeMap::new();
    for key in [
        "name",
        "type",
        "required",
        "default",
        "multiple",
        "options",
        "suggestions",
    ] {
        if let Some(v) = p.get(key) {
            out.insert(key, v.clone());
        }
    }
    out
}

#[test]
fn functions_match_graphite_web() {
    let server = Server::start(&[]);
    let graphite_web = crate::reference::empty_graphite_web();
    let web = graphite_web.addr;

    let (status, version) = http_get(web, "/version");
    assert_eq!(status, 200);
    assert_eq!(server.http_get("/version").1, version);

    for query in ["", "?type=pie"] {
        let (status, body) = http_get(web, &format!("/functions{query}"));
        assert_eq!(status, 200, "{body:.300}");
        let theirs = parse_functions(&body);
        let (status, body) = server.http_get(&format!("/functions{query}"));
        assert_eq!(status, 200);
        let ours = parse_functions(&body);
        let (theirs, ours) = (theirs.as_object().unwrap(), ours.as_object().unwrap());
        let mut common = 0;
        let mut problems = Vec::new();
        for (name, t) in theirs {
            let Some(o) = ours.get(name) else { continue };
            common += 1;
            for key in ["name", "group", "module"] {
                if t[key] != o[key] {
                    problems.push(format!("{name}: {key} {} vs ours {}", t[key], o[key]));
                }
            }
            let (tp, op) = (
                t["params"].as_array().unwrap(),
                o["params"].as_array().unwrap(),
            );
            if tp.len() != op.len() {
                problems.push(format!("{name}: {} params vs ours {}", tp.len(), op.len()));
                continue;
            }
            for (a, b) in tp.iter().zip(op) {
                let (sa, sb) = (param_shape(a), param_shape(b));
                let deliberate = DELIBERATE
                    .iter()
                    .any(|(f, p, _)| *f == name && a["name"] == *p);
                // serde_json keeps 1 and 1.0 apart, as Python's JSON does.
                if sa != sb && !deliberate {
                    problems.push(format!("{name}: {a} vs ours {b}"));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        // graphite-web 1.1.10's additions, which Debian's 1.1.8 does not list.
        let from_1_1_10 = ["compressPeriodicGaps", "lower", "upper"];
        let only_ours: Vec<&String> = ours
            .keys()
            .filter(|n| !theirs.contains_key(*n) && !from_1_1_10.contains(&n.as_str()))
            .collect();
        assert!(
            only_ours.is_empty(),
            "not graphite-web functions: {only_ours:?}"
        );
        assert!(common >= 3, "compared only {common} functions");
        if query.is_empty() {
            assert!(common > 140, "compared only {common} functions");
        }
    }
    // One entry by name, and an unknown name, as graphite-web answers them.
    for path in ["/functions/events", "/functions/nosuch"] {
        let (ts, tb) = http_get(web, path);
        let (os, ob) = server.http_get(path);
        assert_eq!(ts, os, "{path}");
        if ts == 404 {
            assert_eq!(tb, ob);
        } else {
            let (t, o) = (parse_functions(&tb), parse_functions(&ob));
            assert_eq!(t["params"], o["params"]);
            assert_eq!(t["function"], o["function"]);
        }
    }
}
