//! Router tests over an in-memory source.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use charcoal_query::MemorySource;
use serde_json::json;
use tower::ServiceExt;

use super::*;

const NOW: i64 = 1_700_003_600;

fn app_with(readiness: Readiness) -> Router {
    let mut source = MemorySource::new();
    source.insert(
        "a.b.c",
        60,
        (0..120).map(|i| (NOW - 7200 + i * 60, i as f64)),
    );
    source.insert("a.b.d", 60, [(NOW - 120, 2.5)]);
    source.insert("a.x", 60, [(NOW - 60, 1.0)]);
    router(AppState {
        readiness,
        source: Arc::new(source),
        config: ApiConfig::default(),
        clock: || NOW,
        metrics: Arc::new(|| "charcoal_cache_size 7\n".to_owned()),
    })
}

fn app() -> Router {
    app_with(Arc::new(Vec::new))
}

async fn call(app: Router, req: Request<Body>) -> (StatusCode, String, String) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap();
    (status, ct, String::from_utf8_lossy(&bytes).into_owned())
}

async fn get(app: Router, uri: &str) -> (StatusCode, String, String) {
    call(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn ready_follows_the_check_and_health_does_not() {
    let reasons = Arc::new(Mutex::new(vec!["cache full".to_string()]));
    let r = reasons.clone();
    let app = app_with(Arc::new(move || r.lock().unwrap().clone()));
    let (status, _, body) = get(app.clone(), "/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["reasons"],
        json!(["cache full"])
    );
    assert_eq!(get(app.clone(), "/health").await.0, StatusCode::OK);
    reasons.lock().unwrap().clear();
    assert_eq!(get(app, "/ready").await.0, StatusCode::OK);
}

#[tokio::test]
async fn render_json_like_graphite_web() {
    let (status, ct, body) = get(app(), "/render?target=a.b.d&from=-3min&format=json").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ct, "application/json");
    let t = NOW - 180 - (NOW - 180) % 60 + 60;
    assert_eq!(
        body,
        format!(
            r#"[{{"target": "a.b.d", "tags": {{"name": "a.b.d"}}, "datapoints": [[2.5, {t}], [null, {}], [null, {}]]}}]"#,
            t + 60,
            t + 120
        )
    );
}

#[tokio::test]
async fn render_post_form_like_grafana() {
    let body = "target=aliasSub(a.b.*%2C%20%22(%5E.*%24)%22%2C%20%22%5C1%20A%22)&from=-1h&until=now&format=json&maxDataPoints=10";
    let req = Request::post("/render")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let (status, _, text) = call(app(), req).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v[0]["target"], "a.b.c A");
    assert_eq!(v[1]["target"], "a.b.d A");
    assert!(v[0]["datapoints"].as_array().unwrap().len() <= 10);
}

#[tokio::test]
async fn render_errors_are_400_with_a_message() {
    for (uri, needle) in [
        (
            "/render?target=nosuch(a.b.c)&format=json",
            "unknown function: nosuch",
        ),
        (
            "/render?target=scale(a.b.c,%22x%22)&format=json",
            "parameter \"factor\"",
        ),
        (
            "/render?target=a.b.c&from=-5m&format=json",
            "invalid offset unit",
        ),
        ("/render?target=sum(a.b.c&format=json", "a.b.c"),
        ("/render?target=a.b.c&format=png", "format=png"),
        (
            "/render?target=a.b.c&from=-1h&until=-1h&format=json",
            "empty",
        ),
    ] {
        let (status, _, body) = get(app(), uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(body.contains(needle), "{uri}: {body}");
    }
}

#[tokio::test]
async fn render_raw_csv_pickle_msgpack() {
    let (_, ct, body) = get(app(), "/render?target=a.x&from=-2min&rawData=1").await;
    assert_eq!(ct, "text/plain");
    let start = NOW - 120 - (NOW - 120) % 60 + 60;
    assert_eq!(body, format!("a.x,{start},{},60|1.0,None\n", start + 120));
    let (_, ct, body) = get(app(), "/render?target=a.x&from=-2min&format=csv").await;
    assert_eq!(ct, "text/csv");
    assert!(
        body.ends_with(",1.0\r\na.x,2023-11-14 23:13:00,\r\n") || body.contains(",1.0\r\n"),
        "{body}"
    );
    let (_, ct, body) = get(app(), "/render?target=a.x&from=-2min&format=pickle").await;
    assert_eq!(ct, "application/pickle");
    assert!(body.contains("pathExpression"));
    let (_, ct, _) = get(app(), "/render?target=a.x&from=-2min&format=msgpack").await;
    assert_eq!(ct, "application/x-msgpack");
}

#[tokio::test]
async fn metrics_is_prometheus_without_query_and_find_with_it() {
    let (status, ct, body) = get(app(), "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/plain; version=0.0.4"));
    assert_eq!(body, "charcoal_cache_size 7\n");
    let (_, ct, body) = get(app(), "/metrics?query=a.*").await;
    assert_eq!(ct, "application/json");
    assert!(body.contains("\"id\": \"a.b\""), "{body}");
}

#[tokio::test]
async fn find_treejson_and_completer() {
    let (status, ct, body) = get(app(), "/metrics/find?query=a.*").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "application/json");
    assert_eq!(
        body,
        r#"[{"text": "b", "id": "a.b", "allowChildren": 1, "expandable": 1, "leaf": 0}, {"text": "x", "id": "a.x", "allowChildren": 0, "expandable": 0, "leaf": 1}]"#
    );
    let (_, _, body) = get(app(), "/metrics/find?query=a.b.&format=completer").await;
    assert_eq!(
        body,
        r#"{"metrics": [{"path": "a.b.c", "name": "c", "is_leaf": "1"}, {"path": "a.b.d", "name": "d", "is_leaf": "1"}]}"#
    );
    let (status, _, _) = get(app(), "/metrics/find?query=").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, _, body) = get(app(), "/metrics/expand?query=a.*.c&query=a.x").await;
    assert_eq!(body, r#"{"results": ["a.b.c", "a.x"]}"#);
    let (_, _, body) = get(app(), "/metrics/index.json").await;
    assert_eq!(body, r#"["a.b.c", "a.b.d", "a.x"]"#);
}

#[tokio::test]
async fn hostile_patterns_are_refused_and_other_requests_still_work() {
    let bomb = "%7Ba%2Cb%7D".repeat(16);
    for (uri, needle) in [
        (
            "/render?target=grep(a.*,%22(a%7B1000%7D)%7B1000%7D%22)&format=json".to_owned(),
            "too complex",
        ),
        (
            "/render?target=exclude(a.*,%22(x%2B)%2B%5C1%22)&format=json".to_owned(),
            "unsupported regular expression",
        ),
        (
            format!("/metrics/find?query=a.{bomb}"),
            "too many alternatives",
        ),
        (
            format!("/render?target=a.{bomb}&format=json"),
            "too many alternatives",
        ),
    ] {
        let (status, _, body) = get(app(), &uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(body.contains(needle), "{uri}: {body}");
    }
    let (status, _, _) = get(app(), "/render?target=a.b.c&format=json").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn find_fan_out_is_limited() {
    let mut source = MemorySource::new();
    for i in 0..50 {
        source.insert(&format!("fan.m{i}"), 60, [(NOW - 60, 1.0)]);
    }
    let app = router(AppState {
        readiness: Arc::new(Vec::new),
        source: Arc::new(source),
        config: ApiConfig {
            max_find_results: 10,
            ..ApiConfig::default()
        },
        clock: || NOW,
        metrics: Arc::new(String::new),
    });
    let (status, _, body) = get(app.clone(), "/metrics/find?query=fan.*").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("--max-find-results"), "{body}");
    let (status, _, _) = get(app, "/metrics/find?query=fan.m1").await;
    assert_eq!(status, StatusCode::OK);
}
