//! Charcoal's HTTP API: graphite-web's read endpoints plus the orchestrator's probes.
//!
//! | route | module | what |
//! |---|---|---|
//! | `/render`, `/render/` | [`render`] | evaluate targets, answer json/csv/raw/pickle/msgpack |
//! | `/metrics/find`, `/metrics`, `/metrics/find/` | [`find`] | treejson/completer/json/nodelist |
//! | `/metrics/expand`, `/metrics/index.json` | [`find`] | expanded paths, every metric |
//! | `/tags`, `/tags/*` | [`tags`] | graphite-web's tag database API over a [`tags::TagDb`] |
//! | `/functions`, `/functions/<name>` | [`functions`] | the render function catalogue (Grafana's editor) |
//! | `/events/`, `/events/get_data`, `/events/<id>` | [`events`] | annotations: post, list, show, delete |
//! | `/version`, `/version/` | here | the graphite-web version Charcoal answers as |
//! | `/health`, `/ready` | here | alive; serving its purpose (503 with reasons) |
//! | `/metrics` without `query` | here | the server's counters for Prometheus |
//! | `/` | here | a short page: what this is, the endpoints, the version |
//!
//! [`local::StoreSource`] is the engine's view of the local store.
//!
//! Handlers parse graphite-web's parameters ([`params`]), run the evaluation on the blocking
//! pool (file reads), and format the answer byte for byte as graphite-web does
//! ([`format`], [`pyjson`]). A request's mistake is a 400 whose text says what is wrong;
//! only a storage failure is a 500. [`serve`] runs the listener with a connection limit and
//! a header timeout, which `axum::serve` lacks.
//!
//! With `ApiConfig::cors_origins` set, every answer carries CORS headers for those origins
//! and preflight `OPTIONS` requests are answered, so Grafana's browser-access mode can call
//! the API directly (graphite-web leaves that to a proxy in front of it).

#![deny(missing_docs)]

pub mod events;
pub mod find;
pub mod format;
pub mod functions;
pub mod local;
pub mod params;
pub mod pyjson;
pub mod render;
pub mod serve;
pub mod tags;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use charcoal_query::{Limits, Source};
use jiff::tz::TimeZone;
use serde_json::json;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// The graphite-web version `/version` reports: the release whose behaviour Charcoal is
/// checked against. Grafana reads it to pick its 1.1 feature set (functions from
/// `/functions`, tags, `seriesByTag`).
pub const GRAPHITE_VERSION: &str = "1.1.8";

/// Answers "is the server serving its purpose?": the reasons it is not, or
/// an empty list. Supplied by the binary, which knows every component.
pub type Readiness = Arc<dyn Fn() -> Vec<String> + Send + Sync>;

/// Renders the server's own counters in Prometheus' text format (`GET /metrics` without a
/// `query`). Supplied by the binary, which owns the counters.
pub type Exposition = Arc<dyn Fn() -> String + Send + Sync>;

/// Settings of the read API.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// graphite-web's `TIME_ZONE`: the zone for requests without `tz=`.
    pub time_zone: TimeZone,
    /// Series and values one render may read.
    pub limits: Limits,
    /// Matches one `/metrics/find` (or one path expression) may return.
    pub max_find_results: usize,
    /// Largest request body accepted (form posts).
    pub max_body_bytes: usize,
    /// Origins allowed to call the API from a browser (`*`: any); empty: no CORS headers.
    pub cors_origins: Vec<HeaderValue>,
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            time_zone: TimeZone::UTC,
            limits: Limits::default(),
            max_find_results: 100_000,
            max_body_bytes: 4 << 20,
            cors_origins: Vec::new(),
        }
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The readiness check.
    pub readiness: Readiness,
    /// Where series and names come from.
    pub source: Arc<dyn Source + Send + Sync>,
    /// The tag database (`/tags/*`).
    pub tags: Arc<dyn tags::TagDb>,
    /// Where events are kept.
    pub events: Arc<dyn events::EventStore>,
    /// Settings.
    pub config: ApiConfig,
    /// The current time in epoch seconds (a parameter so tests can fix it).
    pub clock: fn() -> i64,
    /// Prometheus exposition of the server's counters.
    pub metrics: Exposition,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The system clock, for [`AppState::clock`].
pub fn system_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The router with every endpoint.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    let router = Router::new()
        .route("/", get(home))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/render", get(render::handler).post(render::handler))
        .route("/render/", get(render::handler).post(render::handler))
        .route("/metrics", get(metrics_or_find).post(find::find))
        .route("/metrics/", get(find::find).post(find::find))
        .route("/metrics/find", get(find::find).post(find::find))
        .route("/metrics/find/", get(find::find).post(find::find))
        .route("/metrics/expand", get(find::expand).post(find::expand))
        .route("/metrics/expand/", get(find::expand).post(find::expand))
        .route("/metrics/index.json", get(find::index).post(find::index))
        .route("/tags", any(tags::tag_list))
        .route("/tags/", any(tags::tag_list))
        .route("/tags/tagSeries", any(tags::tag_series))
        .route("/tags/tagMultiSeries", any(tags::tag_multi_series))
        .route("/tags/delSeries", any(tags::del_series))
        .route("/tags/findSeries", any(tags::find_series))
        .route("/tags/autoComplete/tags", any(tags::auto_complete_tags))
        .route("/tags/autoComplete/values", any(tags::auto_complete_values))
        .route("/tags/{*tag}", any(tags::tag_details))
        .route("/functions", get(functions::list))
        .route("/functions/", get(functions::list))
        .route("/functions/{*name}", get(functions::details))
        .route("/events", get(events::root_get).post(events::root_post))
        .route("/events/", get(events::root_get).post(events::root_post))
        // graphite-web's pattern is `get_data?$`: the final `a` is optional.
        .route("/events/get_data", any(events::get_data))
        .route("/events/get_dat", any(events::get_data))
        .route("/events/{id}", get(events::detail).delete(events::delete))
        .route("/events/{id}/", get(events::detail).delete(events::delete))
        .route("/version", any(version))
        .route("/version/", any(version))
        .layer(DefaultBodyLimit::max(body_limit));
    let router = match cors_layer(&state.config.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router.with_state(state)
}

/// The CORS layer for `origins`, if any. Credentials (cookies, which Grafana sends with
/// "With Credentials") are allowed only for named origins: browsers refuse them with `*`.
fn cors_layer(origins: &[HeaderValue]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        // Grafana adds its own headers (X-Dashboard-Id, X-Panel-Id, ...); any the browser
        // asks for is fine, the API reads none of them.
        .allow_headers(AllowHeaders::mirror_request())
        .max_age(std::time::Duration::from_secs(3600));
    Some(if origins.iter().any(|o| o == "*") {
        layer.allow_origin(AllowOrigin::any())
    } else {
        layer
            .allow_origin(AllowOrigin::list(origins.iter().cloned()))
            .allow_credentials(true)
    })
}

/// What a person who opens the server's address in a browser sees: what this is and
/// where to go (graphite-web shows its composer there; Charcoal has none).
async fn home() -> Response {
    let version = env!("CARGO_PKG_VERSION");
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Charcoal</title></head><body>\n\
<h1>Charcoal {version}</h1>\n\
<p>A drop-in replacement for carbon-cache, whisper and graphite-web's render API \
(answering as graphite-web {GRAPHITE_VERSION}). Point Grafana's Graphite data source here.</p>\n\
<ul>\n\
<li><a href=\"/render?target=carbon.agents.*.metricsReceived&amp;from=-1h&amp;format=json\">/render</a> \
graphs' data: json, csv, raw, pickle, msgpack</li>\n\
<li><a href=\"/metrics/find?query=*\">/metrics/find</a>, /metrics/expand, \
<a href=\"/metrics/index.json\">/metrics/index.json</a>: metric names</li>\n\
<li><a href=\"/tags\">/tags</a>, /tags/findSeries, /tags/autoComplete/*: tagged series</li>\n\
<li><a href=\"/functions\">/functions</a>: the render functions</li>\n\
<li><a href=\"/events/get_data\">/events</a>: annotations</li>\n\
<li><a href=\"/version\">/version</a>, <a href=\"/health\">/health</a>, \
<a href=\"/ready\">/ready</a>, <a href=\"/metrics\">/metrics</a> (Prometheus)</li>\n\
</ul>\n</body></html>\n"
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

/// graphite-web's `version.html`: the version and a newline.
async fn version() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!("{GRAPHITE_VERSION}\n"),
    )
        .into_response()
}

/// A 400 answer with graphite-web's wording.
pub(crate) fn bad_request(message: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("Invalid parameters ({message})\n"),
    )
        .into_response()
}

/// A 500 answer.
pub(crate) fn server_error(message: impl std::fmt::Display) -> Response {
    tracing::error!("request failed: {message}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

/// The form-encoded body, if the request has one (Django's `request.POST` reads only that
/// content type).
pub(crate) fn form_body<'a>(headers: &axum::http::HeaderMap, body: &'a [u8]) -> Option<&'a [u8]> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    ct.starts_with("application/x-www-form-urlencoded")
        .then_some(body)
}

/// `GET /metrics`: graphite-web's find when there is a `query` (its `/metrics` is an alias
/// of `/metrics/find`, and without `query` it only answers 400), Prometheus' scrape
/// otherwise.
async fn metrics_or_find(
    state: State<AppState>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let has_query = uri
        .query()
        .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "query"));
    if has_query {
        return find::find(state, uri, headers, body).await;
    }
    let text = (state.metrics)();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn health() -> Response {
    (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
}

async fn ready(State(state): State<AppState>) -> Response {
    let reasons = (state.readiness)();
    if reasons.is_empty() {
        (StatusCode::OK, axum::Json(json!({"status": "ready"}))).into_response()
    } else {
        let body = json!({"status": "not ready", "reasons": reasons});
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests;
