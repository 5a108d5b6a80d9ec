//! Events end to end: stored in `STORAGE_DIR/events.db` across restarts, counted by
//! `events()`, and answered as graphite-web answers the same posts.

use std::net::SocketAddr;

use serde_json::Value;

use crate::reference::http_get;
use crate::util::{Server, enc, http};

fn post_event(addr: SocketAddr, body: &str) -> (u16, String) {
    let a = http(
        addr,
        "POST",
        "/events/",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    (a.status, a.body)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn events_survive_a_restart() {
    let mut server = Server::start(&["--storage-dir", "storage"]);
    for body in [
        r#"{"what": "release 1.0", "tags": ["deploy", "web"], "data": "by ci", "when": 1700000000}"#,
        r#"{"what": "release 1.1", "tags": "deploy db", "when": 1700000060}"#,
    ] {
        assert_eq!(post_event(server.addr("http"), body).0, 200);
    }
    let (_, before) = server.http_get("/events/get_data?from=1699999999&until=1700000100");
    assert_eq!(json(&before).as_array().unwrap().len(), 2, "{before}");
    assert!(server.terminate().success());
    assert!(server.dir.path().join("storage/events.db").is_file());

    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    drop(server);
    let server = Server::start_in(dir, &["--storage-dir", "storage"]);
    let (status, after) = server.http_get("/events/get_data?from=1699999999&until=1700000100");
    assert_eq!(status, 200);
    assert_eq!(after, before);
    // A new event does not take an old id.
    assert_eq!(
        post_event(
            server.addr("http"),
            r#"{"what": "third", "when": 1700000120}"#
        )
        .0,
        200
    );
    let (_, text) = server.http_get("/events/3");
    assert_eq!(json(&text)["what"], "third", "{text}");
    let gone = http(server.addr("http"), "DELETE", "/events/1", &[], b"");
    assert_eq!(gone.status, 204);
    let (status, _) = server.http_get("/events/1");
    assert_eq!(status, 404);
}

#[test]
fn events_function_counts_posted_events() {
    let server = Server::start(&[]);
    let addr = server.addr("http");
    for (when, tags) in [(1000, "a b"), (1003, "a"), (1003, "a b"), (1005, "c")] {
        let body = format!(r#"{{"what": "e", "tags": "{tags}", "when": {when}}}"#);
        assert_eq!(post_event(addr, &body).0, 200);
    }
    let target = enc("events(\"a\")");
    let (status, body) = server.http_get(&format!(
        "/render?target={target}&from=1000&until=1006&format=json"
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        r#"[{"target": "events(\"a\")", "tags": {"name": "events(\"a\")"}, "datapoints": [[1.0, 1000], [null, 1001], [null, 1002], [2.0, 1003], [null, 1004], [null, 1005]]}]"#
    );
    // events() consolidates by sum, so one point holds every event.
    let target = enc("events('*')");
    let (_, body) = server.http_get(&format!(
        "/render?target={target}&from=1000&until=1006&format=json&maxDataPoints=1"
    ));
    assert_eq!(json(&body)[0]["datapoints"][0][0], 4.0, "{body}");
}

/// Numbers compared as numbers: graphite-web's `events()` counts are Python ints.
fn same_numbers(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_numbers(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_numbers(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn events_agree_with_graphite_web() {
    let server = Server::start(&[]);
    let ours = server.addr("http");
    let graphite_web = crate::reference::empty_graphite_web();
    let web = graphite_web.addr;

    let posts = [
        r#"{"what": "deploy 1", "tags": ["prod", "web"], "data": "v1", "when": 1700000000}"#,
        r#"{"what": "deploy 2", "tags": "prod db", "when": 1700000100}"#,
        r#"{"what": "dup tags", "tags": "b a a", "when": 1700000200}"#,
        r#"{"what": "fraction", "tags": ["web"], "when": 1700000300.75}"#,
        r#"{"what": "unicode \u00e9\u2603", "tags": [], "data": "x\ny", "when": 1700000300}"#,
        r#"{"what": "no tags", "when": 1700000400}"#,
        r#"{"what": "same time", "tags": "prod", "when": 1700000100}"#,
        r#"{"what": "bad", "tags": {"a": 1}}"#,
    ];
    for body in posts {
        let (ts, tb) = post_event(web, body);
        let (os, ob) = post_event(ours, body);
        assert_eq!(ts, os, "{body}: {tb} vs {ob}");
        if ts != 200 {
            assert_eq!(json(&tb), json(&ob), "{body}");
        }
    }
    let queries = [
        "",
        "from=1700000000&until=1700000300",
        "from=1700000001&until=1700000299",
        "from=1700000300&until=1700000300",
        "tags=prod",
        "tags=prod%20web",
        "tags=prod+db&set=intersection",
        "tags=web%20db&set=union",
        "tags=a",
        "tags=a%20b",
        "tags=",
        "tags=nosuch",
        "from=20231114&until=20231115&tags=web",
        "tags=prod&jsonp=cb",
    ];
    for q in queries {
        let path = format!("/events/get_data?{q}");
        let (ts, tb) = http_get(web, &path);
        let (os, ob) = http_get(ours, &path);
        assert_eq!((ts, &tb), (os, &ob), "{path}");
    }
    for id in 1..=8 {
        let path = format!("/events/{id}");
        let t = http(web, "GET", &path, &[("Accept", "application/json")], b"");
        let o = http(ours, "GET", &path, &[("Accept", "application/json")], b"");
        assert_eq!((t.status, &t.body), (o.status, &o.body), "{path}");
    }
    for (target, from, until) in [
        ("events(\"prod\")", 1699999990, 1700000110),
        ("events(\"prod\", \"db\")", 1700000000, 1700000200),
        ("events(\"*\")", 1700000250, 1700000350),
        ("events(\"nosuch\")", 1700000000, 1700000010),
    ] {
        let path = format!(
            "/render?target={}&from={from}&until={until}&format=json",
            enc(target)
        );
        let (ts, tb) = http_get(web, &path);
        let (os, ob) = http_get(ours, &path);
        assert_eq!((ts, os), (200, 200), "{path}: {tb} / {ob}");
        assert!(same_numbers(&json(&tb), &json(&ob)), "{path}:\n{tb}\n{ob}");
    }
}
