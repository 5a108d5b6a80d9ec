//! `/render`: graphite-web's `renderView` for the data formats.
//!
//! Parameters (render/views.py `parseOptions`): `target` (repeated; `target[]` if there is
//! none), `from`/`until`/`now` in graphite's time grammar and `tz` (an unknown zone is
//! ignored), `format` (or the legacy `rawData` / `pickle` flags), `maxDataPoints` (digits
//! only; json only, as in graphite-web), `noNullPoints` (json), `jsonp` (with `format`),
//! `xFilesFactor`, `template[name]=value`, `cacheTimeout`/`noCache` (only decide the cache
//! headers: Charcoal keeps no render cache).
//!
//! # Differs from graphite-web
//!
//! A request without a data format is a PNG in graphite-web; images are not implemented yet,
//! so such a request (and `format=png|svg|pdf|dygraph|rickshaw`) is a 400 that says so.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use charcoal_query::consolidate::apply_max_data_points;
use charcoal_query::{Request, evaluate_targets, time_range, time_zone};

use crate::params::Params;
use crate::{AppState, bad_request, form_body, format, server_error};

/// The `/render` handler.
pub async fn handler(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(uri.query(), form_body(&headers, &body));
    match tokio::task::spawn_blocking(move || render(&state, &params)).await {
        Ok(response) => response,
        Err(e) => server_error(format!("render task failed: {e}")),
    }
}

/// The output formats that are data, not images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    Raw,
    Pickle,
    Msgpack,
}

fn render(state: &AppState, params: &Params) -> Response {
    let format = if let Some(f) = params.get("format") {
        f.to_owned()
    } else if params.has("rawData") {
        "raw".to_owned()
    } else if params.has("pickle") {
        "pickle".to_owned()
    } else {
        String::new()
    };
    let fmt = match format.as_str() {
        "json" => Format::Json,
        "csv" => Format::Csv,
        "raw" => Format::Raw,
        "pickle" => Format::Pickle,
        "msgpack" => Format::Msgpack,
        "" => {
            return bad_request(
                "no format given: graph images are not implemented, use format=json, csv, raw, pickle or msgpack",
            );
        }
        other => {
            return bad_request(format!(
                "format={other} is not supported (json, csv, raw, pickle and msgpack are)"
            ));
        }
    };
    let tz = params
        .get("tz")
        .and_then(|name| time_zone(name).ok())
        .unwrap_or_else(|| state.config.time_zone.clone());
    let range = match time_range(
        params.get("from"),
        params.get("until"),
        params.get("now"),
        &tz,
        (state.clock)(),
    ) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    let x_files_factor = match params.get("xFilesFactor") {
        None => 0.0,
        Some(v) => match charcoal_protocol::pynum::parse_float(v) {
            Some(f) => f,
            None => return bad_request(format!("xFilesFactor: {v:?} is not a number")),
        },
    };
    let mut targets = params.all("target");
    if targets.is_empty() {
        targets = params.all("target[]");
    }
    let mut templates: Vec<(String, String)> = Vec::new();
    for (k, v) in params.pairs() {
        if let Some(name) = k
            .strip_prefix("template[")
            .and_then(|r| r.strip_suffix(']'))
        {
            match templates.iter_mut().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = v.clone(),
                None => templates.push((name.to_owned(), v.clone())),
            }
        }
    }
    let request = Request {
        source: &*state.source,
        from: range.start,
        until: range.end,
        now: range.now,
        tz: tz.clone(),
        x_files_factor,
        templates,
        limits: state.config.limits,
    };
    let mut series = match evaluate_targets(&request, &targets) {
        Ok(s) => s,
        Err(e) if e.is_client_error() => {
            let shown: Vec<String> = targets.iter().map(|t| format!("{t:?}")).collect();
            return bad_request(format!("{e}; targets: {}", shown.join(", ")));
        }
        Err(e) => return server_error(e),
    };
    let (content_type, body): (&str, Vec<u8>) = match fmt {
        Format::Json => {
            if let Some(m) = params.get("maxDataPoints")
                && !m.is_empty()
                && m.bytes().all(|b| b.is_ascii_digit())
                && let Ok(m) = m.parse::<usize>()
            {
                apply_max_data_points(&mut series, m);
            }
            let text = format::json(&series, params.has("noNullPoints"));
            match params.get("jsonp").filter(|_| params.has("format")) {
                Some(cb) => ("text/javascript", format!("{cb}({text})").into_bytes()),
                None => ("application/json", text.into_bytes()),
            }
        }
        Format::Csv => ("text/csv", format::csv(&series, &tz).into_bytes()),
        Format::Raw => ("text/plain", format::raw(&series).into_bytes()),
        Format::Pickle => ("application/pickle", format::pickle(&series)),
        Format::Msgpack => ("application/x-msgpack", format::msgpack(&series)),
    };
    let cache_timeout = params
        .get("cacheTimeout")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(60);
    let cache_control = if params.has("noCache") || cache_timeout <= 0 {
        "no-cache, no-store, must-revalidate, max-age=0".to_owned()
    } else {
        format!("max-age={cache_timeout}")
    };
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&cache_control) {
        h.insert(header::CACHE_CONTROL, v);
    }
    response
}
