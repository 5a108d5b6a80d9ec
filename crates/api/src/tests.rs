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

/// The store's events database, in memory (SQLite's `:memory:`).
fn memory_events() -> Arc<dyn events::EventStore> {
    Arc::new(charcoal_store::events::EventStore::open(std::path::Path::new(":memory:")).unwrap())
}

/// An empty tag index in memory.
fn no_tags() -> Arc<dyn tags::TagDb> {
    Arc::new(charcoal_store::tags::TagIndex::new())
}

fn app_with(readiness: Readiness) -> Router {
    app_with_config(readiness, ApiConfig::default())
}

fn app_with_config(readiness: Readiness, config: ApiConfig) -> Router {
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
        tags: no_tags(),
        events: memory_events(),
        config,
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

/// What functions make counts against the request's limit on values, before it is made:
/// five years at one second is 157 million values, refused at once with the flag named.
#[tokio::test]
async fn functions_that_make_values_are_bounded() {
    for target in [
        "summarize(a.b.c,%221s%22)",
        "smartSummarize(a.b.c,%221s%22)",
        "hitcount(a.b.c,%221s%22)",
        "timeFunction(%22t%22,1)",
        "sinFunction(%22s%22,1,1)",
        "randomWalk(%22w%22,1)",
    ] {
        let uri = format!("/render?target={target}&from=-5y&format=json");
        let started = std::time::Instant::now();
        let (status, _, body) = get(app(), &uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{target}: {body}");
        assert!(
            body.contains("--max-points-per-request"),
            "{target}: {body}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{target}"
        );
    }
    // Within the limit they still answer.
    let (status, _, body) = get(
        app(),
        "/render?target=summarize(a.b.c,%221h%22)&from=-5y&format=json",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// `maxDataPoints=0` was a 500 ("capacity overflow"); it is no limit.
#[tokio::test]
async fn zero_max_data_points_is_no_limit() {
    let plain = get(app(), "/render?target=a.b.c&from=-2h&format=json").await;
    let zero = get(
        app(),
        "/render?target=a.b.c&from=-2h&format=json&maxDataPoints=0",
    )
    .await;
    assert_eq!(zero.0, StatusCode::OK, "{}", zero.2);
    assert_eq!(zero.2, plain.2);
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
        tags: no_tags(),
        events: memory_events(),
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

/// A tag database over three fixed tags `a`, `b`, `c` (each with the values `x` and `y`),
/// which answers every query with them, cut to the limit it is given.
struct FakeTags;

fn cut(items: &[&str], limit: Option<usize>) -> Vec<String> {
    items
        .iter()
        .take(limit.unwrap_or(usize::MAX))
        .map(|s| s.to_string())
        .collect()
}

impl tags::TagDb for FakeTags {
    fn tag_series(&self, paths: &[String]) -> Result<Vec<String>, tags::TagDbError> {
        Ok(paths.iter().map(|p| format!("{p}!")).collect())
    }
    fn del_series(&self, _: &[String]) -> Result<(), tags::TagDbError> {
        Ok(())
    }
    fn find_series(&self, exprs: &[String]) -> Result<Vec<String>, tags::TagDbError> {
        if exprs.iter().any(|e| e == "bad") {
            return Err(tags::TagDbError::Invalid("Invalid tagspec bad".into()));
        }
        Ok(exprs.to_vec())
    }
    fn tags(&self, _: Option<&str>, limit: Option<usize>) -> Result<Vec<String>, tags::TagDbError> {
        Ok(cut(&["a", "b", "c"], limit))
    }
    fn values(
        &self,
        tag: &str,
        _: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Option<Vec<(String, usize)>>, tags::TagDbError> {
        Ok(["a", "b", "c"].contains(&tag).then(|| {
            cut(&["x", "y"], limit)
                .into_iter()
                .map(|v| (v, 2))
                .collect()
        }))
    }
    fn auto_complete_tags(
        &self,
        _: &[String],
        _: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<String>, tags::TagDbError> {
        Ok(cut(&["a", "b", "c"], limit))
    }
    fn auto_complete_values(
        &self,
        _: &[String],
        _: &str,
        _: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<String>, tags::TagDbError> {
        Ok(cut(&["x", "y"], limit))
    }
}

fn tags_app() -> Router {
    router(AppState {
        readiness: Arc::new(Vec::new),
        source: Arc::new(MemorySource::new()),
        tags: Arc::new(FakeTags),
        events: memory_events(),
        config: ApiConfig::default(),
        clock: || NOW,
        metrics: Arc::new(String::new),
    })
}

#[tokio::test]
async fn tags_answers_are_graphite_web_json() {
    let app = tags_app();
    let (status, ct, body) = get(app.clone(), "/tags").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/json"));
    assert_eq!(body, r#"[{"tag": "a"}, {"tag": "b"}, {"tag": "c"}]"#);
    let (_, _, body) = get(app.clone(), "/tags/b?pretty=1&from=-1h&local=1").await;
    assert_eq!(
        body,
        "{\n  \"tag\": \"b\",\n  \"values\": [\n    {\n      \"count\": 2,\n      \"value\": \"x\"\n    },\n    {\n      \"count\": 2,\n      \"value\": \"y\"\n    }\n  ]\n}"
    );
    assert_eq!(get(app.clone(), "/tags/nosuch").await.2, "null");
    let (_, _, body) = get(app.clone(), "/tags/findSeries?expr=a%3D1&expr=b%3D2").await;
    assert_eq!(body, r#"["a=1", "b=2"]"#);
    let (_, _, body) = get(app.clone(), "/tags/findSeries?expr[]=a%3D1").await;
    assert_eq!(body, r#"["a=1"]"#);
    let req = Request::post("/tags/tagMultiSeries")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("path[]=a%3Bb%3Dc&path[]=d"))
        .unwrap();
    assert_eq!(call(app.clone(), req).await.2, r#"["a;b=c!", "d!"]"#);
    let req = Request::post("/tags/tagSeries?path=q")
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(app.clone(), req).await.2, r#""q!""#);
    let req = Request::post("/tags/delSeries?path=q")
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(app, req).await.2, "true");
}

#[tokio::test]
async fn tags_limits_follow_python() {
    let app = tags_app();
    let body = |uri: &'static str| {
        let app = app.clone();
        async move { get(app, uri).await.2 }
    };
    // `/tags`: sqlite's LIMIT, negative is none, empty is absent.
    assert_eq!(body("/tags?limit=1").await, r#"[{"tag": "a"}]"#);
    assert_eq!(body("/tags?limit=0").await, "[]");
    assert_eq!(body("/tags?limit=-1").await.matches("tag").count(), 3);
    assert_eq!(body("/tags?limit=").await.matches("tag").count(), 3);
    // Autocomplete: `answer[:limit]` after the database's own limit.
    assert_eq!(body("/tags/autoComplete/tags").await, r#"["a", "b", "c"]"#);
    assert_eq!(body("/tags/autoComplete/tags?limit=0").await, "[]");
    assert_eq!(
        body("/tags/autoComplete/tags?limit=-1").await,
        r#"["a", "b"]"#
    );
    assert_eq!(
        body("/tags/autoComplete/tags?limit=-1&expr=a%3D1").await,
        "[]"
    );
    assert_eq!(
        body("/tags/autoComplete/values?tag=a&limit=1").await,
        r#"["x"]"#
    );
}

#[tokio::test]
async fn tags_errors_are_json_400_and_wrong_methods_405() {
    let app = tags_app();
    for (uri, message) in [
        (
            "/tags?limit=x",
            "invalid literal for int() with base 10: 'x'",
        ),
        (
            "/tags/autoComplete/tags?limit=",
            "invalid literal for int() with base 10: ''",
        ),
        ("/tags/findSeries", "no tag expressions specified"),
        ("/tags/findSeries?expr=bad", "Invalid tagspec bad"),
        ("/tags/autoComplete/values?expr=a%3D1", "no tag specified"),
    ] {
        let (status, ct, body) = get(app.clone(), uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(ct, "application/json");
        assert_eq!(body, format!("{{\"error\": \"{message}\"}}"), "{uri}");
    }
    for (method, uri) in [
        ("POST", "/tags"),
        ("POST", "/tags/a"),
        ("GET", "/tags/tagSeries"),
        ("GET", "/tags/tagMultiSeries"),
        ("GET", "/tags/delSeries"),
        ("DELETE", "/tags/findSeries"),
        ("PUT", "/tags/autoComplete/tags"),
    ] {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let (status, _, body) = call(app.clone(), req).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert_eq!(body, "");
    }
    let req = Request::post("/tags/tagMultiSeries")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = call(app, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, r#"{"error": "no paths specified"}"#);
}

async fn post_json(app: Router, uri: &str, body: &str) -> (StatusCode, String, String) {
    let req = Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    call(app, req).await
}

#[tokio::test]
async fn version_is_graphite_webs_text() {
    for uri in ["/version", "/version/"] {
        let (status, ct, body) = get(app(), uri).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ct, "text/html; charset=utf-8");
        assert_eq!(body, "1.1.8\n");
    }
}

#[tokio::test]
async fn functions_list_one_and_not_found() {
    let (status, ct, body) = get(app(), "/functions").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/json"));
    assert!(body.contains(r#""sumSeries": {"name": "sumSeries", "function": "sumSeries(*seriesLists)", "description": "#), "{body}");
    // graphite-web's encoder spelling of an infinite default.
    assert!(body.contains(r#"{"name": "limit", "type": "intOrInf", "default": 1e9999}"#));
    let v: serde_json::Value = serde_json::from_str(&body.replace("1e9999", "\"inf\"")).unwrap();
    assert_eq!(
        v["events"]["params"],
        json!([{"name": "tags", "type": "string", "required": true, "multiple": true}])
    );
    assert_eq!(v["events"]["module"], "graphite.render.functions");
    assert_eq!(
        v["movingAverage"]["params"][1]["suggestions"],
        json!([5, 7, 10, "1min", "5min", "10min", "30min", "1hour"])
    );

    let (_, _, body) = get(app(), "/functions?grouped=true&group=Special").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let groups: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(groups, ["Special"]);
    assert!(v["Special"]["constantLine"].is_object());

    let (status, _, body) = get(app(), "/functions/aggregate").await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["function"],
        "aggregate(seriesList, func, xFilesFactor=None)"
    );
    assert_eq!(v["params"][1]["options"][0], "average");

    let (status, ct, body) = get(app(), "/functions/nope").await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::NOT_FOUND, "application/json")
    );
    assert_eq!(body, r#"{"error": "Function not found: nope"}"#);
    let (status, _, body) = get(app(), "/functions/minimum?type=pie").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, _, body) = get(app(), "/functions/constantLine?pretty=1").await;
    assert!(body.starts_with("{\n  \"description\": "), "{body}");

    let (status, _, _) = post_json(app(), "/functions", "{}").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn events_post_list_show_delete() {
    let app = app();
    for body in [
        r#"{"what": "deploy 1", "tags": ["prod", "web"], "data": "v1", "when": 1700000000}"#,
        r#"{"what": "deploy 2", "tags": "prod db", "when": 1700000100}"#,
        r#"{"what": "later", "tags": "web"}"#,
    ] {
        let (status, _, text) = post_json(app.clone(), "/events/", body).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert_eq!(text, "");
    }
    let (status, ct, text) =
        post_json(app.clone(), "/events/", r#"{"what": "x", "tags": 5}"#).await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::BAD_REQUEST, "application/json")
    );
    assert_eq!(
        text,
        r#"{"error": "\"tags\" must be an array or space-separated string"}"#
    );

    let (status, ct, text) = get(app.clone(), "/events/get_data?tags=prod").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/json"));
    assert_eq!(
        text,
        r#"[{"when": 1700000000, "what": "deploy 1", "data": "v1", "tags": ["prod", "web"], "id": 1}, {"when": 1700000100, "what": "deploy 2", "data": "", "tags": ["prod", "db"], "id": 2}]"#
    );
    let ids = |text: &str| -> Vec<i64> {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect()
    };
    let (_, _, text) = get(app.clone(), "/events/get_data?tags=prod+web").await;
    assert_eq!(ids(&text), [1]);
    let (_, _, text) = get(app.clone(), "/events/get_data?tags=db%20web&set=union").await;
    assert_eq!(ids(&text), [1, 2, 3]);
    let (_, _, text) = get(app.clone(), "/events/get_data?from=-1h&until=now").await;
    assert_eq!(ids(&text), [1, 2, 3]);
    let (_, _, text) = get(app.clone(), "/events/get_data?from=-58min&until=now").await;
    assert_eq!(ids(&text), [3]);
    let (_, _, text) = get(app.clone(), "/events/get_data?tags=").await;
    assert_eq!(ids(&text), Vec::<i64>::new());
    let (_, ct, text) = get(
        app.clone(),
        "/events/get_data?from=1700000000&until=1700000000&jsonp=cb",
    )
    .await;
    assert_eq!(ct, "text/javascript");
    assert!(text.starts_with("cb([{\"when\": 1700000000"), "{text}");
    let (status, _, text) = get(app.clone(), "/events/get_data?from=tomorrowish").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");

    let (status, _, text) = get(app.clone(), "/events/1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        text,
        r#"{"id": 1, "when": "2023-11-14T22:13:20Z", "what": "deploy 1", "data": "v1", "tags": ["prod", "web"]}"#
    );
    let del = || Request::delete("/events/1").body(Body::empty()).unwrap();
    assert_eq!(call(app.clone(), del()).await.0, StatusCode::NO_CONTENT);
    assert_eq!(call(app.clone(), del()).await.0, StatusCode::NOT_FOUND);
    let (status, _, text) = get(app.clone(), "/events/1/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(text, r#"{"error": "Event matching query does not exist"}"#);
    let (_, _, text) = get(app.clone(), "/events/").await;
    assert_eq!(ids(&text), [2, 3]);
}

#[tokio::test]
async fn cors_only_when_configured() {
    let preflight = || {
        Request::builder()
            .method("OPTIONS")
            .uri("/render")
            .header("origin", "http://grafana.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,x-panel-id")
            .body(Body::empty())
            .unwrap()
    };
    let res = app().oneshot(preflight()).await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());

    let config = |origins: &[&str]| ApiConfig {
        cors_origins: origins
            .iter()
            .map(|o| HeaderValue::from_str(o).unwrap())
            .collect(),
        ..ApiConfig::default()
    };
    let app = app_with_config(Arc::new(Vec::new), config(&["http://grafana.example"]));
    let res = app.clone().oneshot(preflight()).await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "http://grafana.example");
    assert_eq!(h["access-control-allow-headers"], "content-type,x-panel-id");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    let other = Request::get("/version")
        .header("origin", "http://evil.example")
        .body(Body::empty())
        .unwrap();
    let res = app.oneshot(other).await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());

    let any = app_with_config(Arc::new(Vec::new), config(&["*"]));
    let req = Request::get("/version")
        .header("origin", "http://anywhere.example")
        .body(Body::empty())
        .unwrap();
    let res = any.oneshot(req).await.unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
}
