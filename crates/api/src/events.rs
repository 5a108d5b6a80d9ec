//! `/events`: graphite-web's event API, which deploy scripts post to and Grafana reads
//! annotations from.
//!
//! | request | answer |
//! |---|---|
//! | `POST /events/` JSON `{"what", "tags": list or "a b", "data", "when": epoch}` | 200, empty |
//! | `GET /events/get_data?from=&until=&tags=a b&set=union&jsonp=` | `[{"when", "what", "data", "tags", "id"}]` by time |
//! | `GET /events/<id>` | `{"id", "when": ISO 8601, "what", "data", "tags"}`, 404 if none |
//! | `DELETE /events/<id>` | 204, 404 if none |
//! | `GET /events/` | the same list as `get_data` |
//!
//! Storage is behind the [`EventStore`] trait (the store's events database in the server,
//! a memory one in tests); its calls block and run on the blocking pool.
//!
//! `get_data` reads `from`, `until` (graphite's time grammar in the server's time zone;
//! defaults the epoch and now, both inclusive), `tags` (split on spaces) and `set` from the
//! query string only, as graphite-web does, and `jsonp` from the query string or a form body.
//! Without `set`, or with `set=intersection`, an event must have every tag; `set=union`
//! needs one.
//!
//! # Differs from graphite-web
//!
//! - Malformed input (a body that is not a JSON object, `what` missing, `when` not a number,
//!   an unparsable `from`) is a 400 with a JSON `{"error"}`; graphite-web answers 500.
//! - `GET /events/<id>` always answers JSON (graphite-web only with `Accept:
//!   application/json`, HTML otherwise) and `GET /events/` lists JSON, not an HTML page.
//! - `DELETE /events/<id>` is Charcoal's: graphite-web deletes through its admin pages only.
//! - Tag matching: see the store (`charcoal_store::events`): a tag is a space-separated word,
//!   and every requested tag must be present even if no event has it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use charcoal_query::parse_at_time;
use serde_json::{Value, json};

use crate::functions::json_response;
use crate::params::Params;
use crate::{AppState, form_body, pyjson};

pub use charcoal_store::events::{Event, EventQuery, EventsError, NewEvent, TagMatch};

/// Where events live. Every method blocks. The store's SQLite database is the server's;
/// the tests use one in memory.
pub trait EventStore: Send + Sync {
    /// Stores an event; its new id.
    fn add(&self, event: NewEvent) -> Result<i64, EventsError>;
    /// The selected events, oldest first.
    fn find(&self, query: &EventQuery) -> Result<Vec<Event>, EventsError>;
    /// The event `id`.
    fn get(&self, id: i64) -> Result<Option<Event>, EventsError>;
    /// Deletes the event `id`; whether it existed.
    fn delete(&self, id: i64) -> Result<bool, EventsError>;
}

impl EventStore for charcoal_store::events::EventStore {
    fn add(&self, event: NewEvent) -> Result<i64, EventsError> {
        charcoal_store::events::EventStore::add(self, &event)
    }

    fn find(&self, query: &EventQuery) -> Result<Vec<Event>, EventsError> {
        charcoal_store::events::EventStore::find(self, query)
    }

    fn get(&self, id: i64) -> Result<Option<Event>, EventsError> {
        charcoal_store::events::EventStore::get(self, id)
    }

    fn delete(&self, id: i64) -> Result<bool, EventsError> {
        charcoal_store::events::EventStore::delete(self, id)
    }
}

/// The earliest and latest times Python's `datetime` holds (years 1 to 9999), in seconds:
/// graphite-web cannot store an event outside them.
const MIN_WHEN: i64 = -62_135_596_800;
const MAX_WHEN: i64 = 253_402_300_799;

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = pyjson::dumps(&json!({"error": message.into()}), true);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn storage_failed(e: impl std::fmt::Display) -> Response {
    tracing::error!("events: {e}");
    error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// Runs a store call on the blocking pool.
async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn EventStore) -> T + Send + 'static,
) -> Result<T, Response> {
    let store = state.events.clone();
    tokio::task::spawn_blocking(move || f(&*store))
        .await
        .map_err(|e| storage_failed(format!("events task failed: {e}")))
}

/// `POST /events/`: stores one event.
pub async fn root_post(State(state): State<AppState>, body: Bytes) -> Response {
    let event = match parse_event(&body, (state.clock)()) {
        Ok(e) => e,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    match blocking(&state, move |s| s.add(event)).await {
        Ok(Ok(_)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        )
            .into_response(),
        Ok(Err(e)) => storage_failed(e),
        Err(r) => r,
    }
}

/// Reads graphite-web's event body.
fn parse_event(body: &[u8], now: i64) -> Result<NewEvent, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let Value::Object(event) = value else {
        return Err("the body must be a JSON object".to_owned());
    };
    let tags = match event.get("tags") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => {
            let words: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            words
                .ok_or_else(|| "\"tags\" must be an array of strings".to_owned())?
                .join(" ")
        }
        Some(_) => return Err("\"tags\" must be an array or space-separated string".to_owned()),
    };
    let when_us = match event.get("when") {
        None => now.saturating_mul(1_000_000),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) if (MIN_WHEN..=MAX_WHEN).contains(&i) => i * 1_000_000,
            // datetime.utcfromtimestamp rounds to the microsecond.
            _ => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if !(MIN_WHEN as f64..MAX_WHEN as f64 + 1.0).contains(&f) {
                    return Err(format!("\"when\" is out of range: {n}"));
                }
                // As datetime._fromtimestamp: whole seconds, then the fraction's
                // microseconds rounded half to even.
                let whole = f.trunc();
                whole as i64 * 1_000_000 + ((f - whole) * 1e6).round_ties_even() as i64
            }
        },
        Some(other) => return Err(format!("\"when\" must be epoch seconds, not {other}")),
    };
    Ok(NewEvent {
        when_us,
        what: text_field(&event, "what", None)?,
        data: text_field(&event, "data", Some(""))?,
        tags,
    })
}

/// A text column as Django stores it: a string as is, a number or boolean as Python's
/// `str()` of it.
fn text_field(
    event: &serde_json::Map<String, Value>,
    key: &str,
    default: Option<&str>,
) -> Result<String, String> {
    match (event.get(key), default) {
        (None, Some(d)) => Ok(d.to_owned()),
        (Some(Value::String(s)), _) => Ok(s.clone()),
        (Some(Value::Bool(b)), _) => Ok(if *b { "True" } else { "False" }.to_owned()),
        (Some(Value::Number(n)), _) => Ok(match n.as_i64() {
            Some(i) => i.to_string(),
            None => charcoal_pyfmt::repr(n.as_f64().unwrap_or(f64::NAN)),
        }),
        _ => Err(format!("\"{key}\" must be a string")),
    }
}

/// `GET /events/get_data` (any method, as in graphite-web).
pub async fn get_data(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let get = Params::parse(uri.query(), None);
    let merged = Params::parse(uri.query(), form_body(&headers, &body));
    let query = match event_query(&state, &get) {
        Ok(Some(q)) => q,
        Ok(None) => return list_response(&[], &merged),
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    match blocking(&state, move |s| s.find(&query)).await {
        Ok(Ok(events)) => list_response(&events, &merged),
        Ok(Err(e)) => storage_failed(e),
        Err(r) => r,
    }
}

/// The query of `get_data`'s parameters; `None` when it can select nothing (`tags=`).
fn event_query(state: &AppState, get: &Params) -> Result<Option<EventQuery>, String> {
    let now = (state.clock)();
    let tz = &state.config.time_zone;
    let time = |name: &str, default: i64| -> Result<i64, String> {
        match get.get(name) {
            None => Ok(default),
            Some(s) => parse_at_time(s, now, tz).map_err(|e| format!("{name}: {e}")),
        }
    };
    let from = time("from", 0)?;
    let until = time("until", now)?;
    let tags = match get.get("tags") {
        None => None,
        Some(t) => {
            // graphite-web splits on single spaces; the empty words match no tag.
            let words: Vec<String> = t
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect();
            if words.is_empty() {
                return Ok(None);
            }
            Some(words)
        }
    };
    Ok(Some(EventQuery {
        from_us: from.saturating_mul(1_000_000),
        until_us: until.saturating_mul(1_000_000),
        tags,
        matching: if get.get("set") == Some("union") {
            TagMatch::Any
        } else {
            TagMatch::All
        },
    }))
}

/// graphite-web's `Event.as_dict`, in its key order.
fn event_json(e: &Event) -> Value {
    json!({
        "when": e.when_us.div_euclid(1_000_000),
        "what": e.what,
        "data": e.data,
        "tags": e.tags.split_whitespace().collect::<Vec<_>>(),
        "id": e.id,
    })
}

fn list_response(events: &[Event], params: &Params) -> Response {
    let list = Value::Array(events.iter().map(event_json).collect());
    let text = pyjson::dumps(&list, true);
    match params.get("jsonp") {
        Some(cb) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/javascript")],
            format!("{cb}({text})"),
        )
            .into_response(),
        None => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            text,
        )
            .into_response(),
    }
}

/// `GET /events/`: every event as `get_data` lists them.
pub async fn root_get(state: State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    get_data(state, uri, headers, Bytes::new()).await
}

/// graphite-web's URL pattern for ids is `\d+`: anything else is not an event page.
fn parse_id(raw: &str) -> Option<i64> {
    let digits = raw.strip_suffix('/').unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

const NO_SUCH_EVENT: &str = "Event matching query does not exist";

/// `GET /events/<id>`: graphite-web's `jsonDetail`.
pub async fn detail(State(state): State<AppState>, Path(raw): Path<String>, uri: Uri) -> Response {
    let Some(id) = parse_id(&raw) else {
        return error(StatusCode::NOT_FOUND, NO_SUCH_EVENT);
    };
    let params = Params::parse(uri.query(), None);
    match blocking(&state, move |s| s.get(id)).await {
        Ok(Ok(Some(e))) => {
            let value = json!({
                "id": e.id,
                "when": iso_utc(e.when_us),
                "what": e.what,
                "data": e.data,
                "tags": e.tags.split_whitespace().collect::<Vec<_>>(),
            });
            json_response(StatusCode::OK, &value, &params)
        }
        Ok(Ok(None)) => error(StatusCode::NOT_FOUND, NO_SUCH_EVENT),
        Ok(Err(e)) => storage_failed(e),
        Err(r) => r,
    }
}

/// `DELETE /events/<id>`.
pub async fn delete(State(state): State<AppState>, Path(raw): Path<String>) -> Response {
    let Some(id) = parse_id(&raw) else {
        return error(StatusCode::NOT_FOUND, NO_SUCH_EVENT);
    };
    match blocking(&state, move |s| s.delete(id)).await {
        Ok(Ok(true)) => StatusCode::NO_CONTENT.into_response(),
        Ok(Ok(false)) => error(StatusCode::NOT_FOUND, NO_SUCH_EVENT),
        Ok(Err(e)) => storage_failed(e),
        Err(r) => r,
    }
}

/// Django's `DjangoJSONEncoder` for an aware UTC datetime: ISO 8601, milliseconds only when
/// there are microseconds, `Z` for UTC.
fn iso_utc(when_us: i64) -> String {
    let Ok(ts) = jiff::Timestamp::from_microsecond(when_us) else {
        return when_us.to_string();
    };
    let dt = ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).datetime();
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    let micros = when_us.rem_euclid(1_000_000);
    if micros != 0 {
        out.push_str(&format!(".{:03}", micros / 1000));
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_read_as_graphite_web_reads_them() {
        let e = parse_event(
            br#"{"what": "deploy", "tags": ["a", "b"], "when": 1700000000}"#,
            5,
        )
        .unwrap();
        assert_eq!(
            (e.when_us, e.tags.as_str(), e.data.as_str()),
            (1_700_000_000_000_000, "a b", "")
        );
        let e = parse_event(
            br#"{"what": 5, "tags": "x  y", "data": 1.5, "when": 1.0000005}"#,
            5,
        )
        .unwrap();
        assert_eq!(
            (e.what.as_str(), e.tags.as_str(), e.data.as_str()),
            ("5", "x  y", "1.5")
        );
        // Python's datetime.utcfromtimestamp(1.0000005) has microsecond 1.
        assert_eq!(e.when_us, 1_000_001);
        let e = parse_event(br#"{"what": "now"}"#, 7).unwrap();
        assert_eq!((e.when_us, e.tags.as_str()), (7_000_000, ""));

        for bad in [
            &br#"{"what": "x", "tags": 5}"#[..],
            br#"{"what": "x", "tags": [1]}"#,
            br#"{"tags": "a"}"#,
            br#"{"what": null}"#,
            br#"{"what": "x", "when": "soon"}"#,
            br#"{"what": "x", "when": 1e300}"#,
            br#"[1]"#,
            b"not json",
        ] {
            assert!(
                parse_event(bad, 0).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            parse_event(br#"{"what": "x", "tags": 5}"#, 0).unwrap_err(),
            "\"tags\" must be an array or space-separated string"
        );
    }

    #[test]
    fn detail_times_are_django_iso() {
        assert_eq!(iso_utc(1_700_000_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(iso_utc(1_700_000_000_700_500), "2023-11-14T22:13:20.700Z");
        assert_eq!(iso_utc(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn ids_are_digits() {
        assert_eq!(parse_id("12"), Some(12));
        assert_eq!(parse_id("12/"), Some(12));
        for bad in ["", "-1", "1a", "99999999999999999999"] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }
}
