//! graphite-web's `/tags` API (graphite/tags/views.py) over a [`TagDb`].
//!
//! | route | methods | answer |
//! |---|---|---|
//! | `/tags`, `/tags/` | GET | `[{"tag": t}, ...]` sorted; `filter` (regex), `limit` |
//! | `/tags/<tag>` | GET | `{"tag": t, "values": [{"value": v, "count": n}]}` or `null` |
//! | `/tags/findSeries` | GET, POST | sorted names matching every `expr` |
//! | `/tags/autoComplete/tags` | GET, POST | tag names; `expr`, `tagPrefix`, `limit` |
//! | `/tags/autoComplete/values` | GET, POST | values of `tag`; `expr`, `valuePrefix`, `limit` |
//! | `/tags/tagSeries` | POST | the normalised `path` |
//! | `/tags/tagMultiSeries` | POST | the normalised `path`s (or `path[]`) |
//! | `/tags/delSeries` | POST | `true` |
//!
//! Answers are graphite-web's `jsonResponse`: `json.dumps` text (ASCII, Python separators),
//! `application/json`, indented with sorted keys when `pretty` is set; an error is
//! `{"error": message}` with 400 (a bad request) or 500; a wrong method is an empty 405.
//! `limit` follows Python through each of graphite-web's layers (see [`Limit`]).
//!
//! # Differs from graphite-web
//!
//! - No `id` fields: they are row ids of graphite-web's SQL tables (its Redis backend has
//!   none either).
//! - A name that cannot be normalised, or a regular expression the `regex` crate refuses,
//!   is a 400 (graphite-web answers 500 with Python's message).
//! - `/tags` lists only tags some series still has (graphite-web's sqlite tables keep a
//!   tag after its last series is deleted).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use charcoal_protocol::MetricName;
use charcoal_query::value::py_str_repr;
use charcoal_store::tags::{TagIndex, TagQueryError};
use serde_json::{Value, json};

use crate::params::Params;
use crate::pyjson::{dumps, dumps_pretty};
use crate::{AppState, form_body};

/// graphite-web's `TAGDB_AUTOCOMPLETE_LIMIT`.
pub const AUTOCOMPLETE_LIMIT: i64 = 100;

/// The tag database as the API sees it: the store's tag index in the server.
/// Names are normalised by the implementation; limits are already resolved (`None`: all).
pub trait TagDb: Send + Sync {
    /// Adds series; returns their normalised names, in order.
    fn tag_series(&self, paths: &[String]) -> Result<Vec<String>, TagDbError>;
    /// Removes series (unknown ones are ignored).
    fn del_series(&self, paths: &[String]) -> Result<(), TagDbError>;
    /// The series matching every expression, sorted.
    fn find_series(&self, exprs: &[String]) -> Result<Vec<String>, TagDbError>;
    /// Tag names matching `filter` (anchored regex), sorted, at most `limit`.
    fn tags(&self, filter: Option<&str>, limit: Option<usize>) -> Result<Vec<String>, TagDbError>;
    /// `(value, series count)` of `tag` matching `filter`, sorted, at most `limit`; `None`
    /// if the tag is unknown.
    fn values(
        &self,
        tag: &str,
        filter: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Option<Vec<(String, usize)>>, TagDbError>;
    /// graphite-web's `auto_complete_tags`.
    fn auto_complete_tags(
        &self,
        exprs: &[String],
        prefix: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<String>, TagDbError>;
    /// graphite-web's `auto_complete_values`.
    fn auto_complete_values(
        &self,
        exprs: &[String],
        tag: &str,
        prefix: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<String>, TagDbError>;
}

/// Why the tag database did not answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TagDbError {
    /// The request is wrong (400); the message is shown to the client.
    #[error("{0}")]
    Invalid(String),
    /// The server failed (500).
    #[error("{0}")]
    Storage(String),
}

/// Names validated and normalised with [`MetricName`], the rules every stored name
/// follows; all of a batch before any is used, so a bad name adds none of it.
fn names(paths: &[String]) -> Result<Vec<MetricName>, TagDbError> {
    paths
        .iter()
        .map(|p| {
            MetricName::parse(p)
                .map_err(|e| TagDbError::Invalid(format!("Cannot parse path {p}: {e}")))
        })
        .collect()
}

fn invalid(e: TagQueryError) -> TagDbError {
    TagDbError::Invalid(e.to_string())
}

impl TagDb for TagIndex {
    fn tag_series(&self, paths: &[String]) -> Result<Vec<String>, TagDbError> {
        let names = names(paths)?;
        for n in &names {
            self.add(n.as_name_ref())
                .map_err(|e| TagDbError::Storage(e.to_string()))?;
        }
        Ok(names.into_iter().map(MetricName::into_string).collect())
    }

    fn del_series(&self, paths: &[String]) -> Result<(), TagDbError> {
        for n in names(paths)? {
            self.remove(&n)
                .map_err(|e| TagDbError::Storage(e.to_string()))?;
        }
        Ok(())
    }

    fn find_series(&self, exprs: &[String]) -> Result<Vec<String>, TagDbError> {
        TagIndex::find_series(self, exprs).map_err(invalid)
    }

    fn tags(&self, filter: Option<&str>, limit: Option<usize>) -> Result<Vec<String>, TagDbError> {
        TagIndex::tags(self, filter, limit).map_err(invalid)
    }

    fn values(
        &self,
        tag: &str,
        filter: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Option<Vec<(String, usize)>>, TagDbError> {
        TagIndex::values(self, tag, filter, limit).map_err(invalid)
    }

    fn auto_complete_tags(
        &self,
        exprs: &[String],
        prefix: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<String>, TagDbError> {
        TagIndex::auto_complete_tags(self, exprs, prefix, limit).map_err(invalid)
    }

    fn auto_complete_values(
        &self,
        exprs: &[String],
        tag: &str,
        prefix: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<String>, TagDbError> {
        TagIndex::auto_complete_values(self, exprs, tag, prefix, limit).map_err(invalid)
    }
}

/// What a handler returns before it becomes JSON: 405, a value, or an error message.
enum Outcome {
    MethodNotAllowed,
    Ok(Value),
    Err(StatusCode, String),
}

impl From<TagDbError> for Outcome {
    fn from(e: TagDbError) -> Outcome {
        match e {
            TagDbError::Invalid(m) => Outcome::Err(StatusCode::BAD_REQUEST, m),
            TagDbError::Storage(m) => {
                tracing::error!("tag request failed: {m}");
                Outcome::Err(StatusCode::INTERNAL_SERVER_ERROR, m)
            }
        }
    }
}

fn bad(message: impl Into<String>) -> Outcome {
    Outcome::Err(StatusCode::BAD_REQUEST, message.into())
}

/// graphite-web's `_jsonResponse`.
fn respond(params: &Params, outcome: Outcome) -> Response {
    let (status, data) = match outcome {
        Outcome::MethodNotAllowed => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
        Outcome::Ok(v) => (StatusCode::OK, v),
        Outcome::Err(status, message) => (status, json!({ "error": message })),
    };
    let text = if params.get("pretty").is_some_and(|p| !p.is_empty()) {
        dumps_pretty(&data, 2, true)
    } else {
        dumps(&data, true)
    };
    let mut response = (status, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Python's `int(s)`. Values beyond `i64` saturate (they are limits: "everything" either
/// way).
fn py_int(s: &str) -> Option<i64> {
    charcoal_protocol::pynum::parse_i64(s, 10)
}

/// A `limit` parameter as Python reads it: absent, or an integer (`int(limit)` failing is
/// graphite-web's ValueError, a 400).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Limit {
    Absent,
    Given(i64),
}

impl Limit {
    fn parse(raw: Option<&str>) -> Result<Limit, Outcome> {
        match raw {
            None => Ok(Limit::Absent),
            Some(s) => py_int(s).map(Limit::Given).ok_or_else(|| {
                bad(format!(
                    "invalid literal for int() with base 10: {}",
                    py_str_repr(s)
                ))
            }),
        }
    }

    /// sqlite's `LIMIT n`: a negative limit is no limit.
    fn sql(n: i64) -> Option<usize> {
        usize::try_from(n).ok()
    }
}

/// `list[:n]` in Python.
fn py_truncate<T>(mut items: Vec<T>, n: i64) -> Vec<T> {
    let keep = if n >= 0 {
        usize::try_from(n).unwrap_or(usize::MAX)
    } else {
        items
            .len()
            .saturating_sub(usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX))
    };
    items.truncate(keep);
    items
}

/// `expr` values, else `expr[]` values (the Rails/PHP/jQuery spelling).
fn list_param(params: &Params, name: &str) -> Vec<String> {
    let plain = params.all(name);
    if plain.is_empty() {
        params.all(&format!("{name}[]"))
    } else {
        plain
    }
}

/// Django's `request.GET` for GET, `GET` then `POST` merged for POST.
fn request_params(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Params {
    let body = (method == Method::POST)
        .then(|| form_body(headers, body))
        .flatten();
    Params::parse(uri.query(), body)
}

/// Runs `f` on the blocking pool (the tag database may write its log) and answers.
async fn run(
    state: AppState,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    allowed: &'static [Method],
    f: impl FnOnce(&AppState, &Params) -> Outcome + Send + 'static,
) -> Response {
    let params = request_params(&method, &uri, &headers, &body);
    if !allowed.contains(&method) {
        return respond(&params, Outcome::MethodNotAllowed);
    }
    let task = tokio::task::spawn_blocking(move || {
        let outcome = f(&state, &params);
        respond(&params, outcome)
    });
    match task.await {
        Ok(r) => r,
        Err(e) => crate::server_error(format!("tags task failed: {e}")),
    }
}

const GET: &[Method] = &[Method::GET];
const GET_POST: &[Method] = &[Method::GET, Method::POST];
const POST: &[Method] = &[Method::POST];

/// Generates a handler taking the usual extractors and running `$body` with
/// `(state, params)`.
macro_rules! handler {
    ($(#[$doc:meta])* $name:ident, $methods:expr, $body:expr) => {
        $(#[$doc])*
        pub async fn $name(
            State(state): State<AppState>,
            method: Method,
            uri: Uri,
            headers: HeaderMap,
            body: Bytes,
        ) -> Response {
            run(state, method, uri, headers, body, $methods, $body).await
        }
    };
}

handler!(
    /// `POST /tags/tagSeries`.
    tag_series, POST, |state, params| {
        let Some(path) = params.get("path").filter(|p| !p.is_empty()) else {
            return bad("no path specified");
        };
        match state.tags.tag_series(&[path.to_owned()]) {
            Ok(mut names) => Outcome::Ok(Value::String(names.pop().unwrap_or_default())),
            Err(e) => e.into(),
        }
    }
);

handler!(
    /// `POST /tags/tagMultiSeries`.
    tag_multi_series, POST, |state, params| {
        let paths = list_param(params, "path");
        if paths.is_empty() {
            return bad("no paths specified");
        }
        match state.tags.tag_series(&paths) {
            Ok(names) => Outcome::Ok(json!(names)),
            Err(e) => e.into(),
        }
    }
);

handler!(
    /// `POST /tags/delSeries`.
    del_series, POST, |state, params| {
        let paths = list_param(params, "path");
        if paths.is_empty() {
            return bad("no path specified");
        }
        match state.tags.del_series(&paths) {
            Ok(()) => Outcome::Ok(Value::Bool(true)),
            Err(e) => e.into(),
        }
    }
);

handler!(
    /// `GET|POST /tags/findSeries`.
    find_series, GET_POST, |state, params| {
        let exprs = list_param(params, "expr");
        if exprs.is_empty() {
            return bad("no tag expressions specified");
        }
        match state.tags.find_series(&exprs) {
            Ok(names) => Outcome::Ok(json!(names)),
            Err(e) => e.into(),
        }
    }
);

/// `limit` of `/tags` and `/tags/<tag>`: `if limit:` then sqlite's `LIMIT int(limit)`.
fn sql_limit(params: &Params) -> Result<Option<usize>, Outcome> {
    match Limit::parse(params.get("limit").filter(|l| !l.is_empty()))? {
        Limit::Absent => Ok(None),
        Limit::Given(n) => Ok(Limit::sql(n)),
    }
}

handler!(
    /// `GET /tags`.
    tag_list, GET, |state, params| {
        let limit = match sql_limit(params) {
            Ok(l) => l,
            Err(o) => return o,
        };
        match state.tags.tags(params.get("filter"), limit) {
            Ok(tags) => Outcome::Ok(Value::Array(
                tags.into_iter().map(|t| json!({ "tag": t })).collect(),
            )),
            Err(e) => e.into(),
        }
    }
);

/// `GET /tags/<tag>`.
pub async fn tag_details(
    State(state): State<AppState>,
    Path(tag): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(
        state,
        method,
        uri,
        headers,
        body,
        GET,
        move |state, params| {
            let limit = match sql_limit(params) {
                Ok(l) => l,
                Err(o) => return o,
            };
            match state.tags.values(&tag, params.get("filter"), limit) {
                Ok(None) => Outcome::Ok(Value::Null),
                Ok(Some(values)) => Outcome::Ok(json!({
                    "tag": tag,
                    "values": values
                        .into_iter()
                        .map(|(value, count)| json!({ "value": value, "count": count }))
                        .collect::<Vec<_>>(),
                })),
                Err(e) => e.into(),
            }
        },
    )
    .await
}

/// Runs an autocomplete with graphite-web's limit rules: the default is 100; without
/// expressions the listing's sqlite `LIMIT` applies only when the limit is non-zero (a
/// negative one is no limit), with expressions at most `max(limit, 0)` are kept; a limit
/// given in the request then cuts the sorted answer as `answer[:limit]`, which for a
/// negative limit drops entries from the end.
fn auto_complete(
    params: &Params,
    exprs: &[String],
    query: impl FnOnce(Option<usize>) -> Result<Vec<String>, TagDbError>,
) -> Outcome {
    let given = match Limit::parse(params.get("limit")) {
        Ok(l) => l,
        Err(o) => return o,
    };
    let n = match given {
        Limit::Absent => AUTOCOMPLETE_LIMIT,
        Limit::Given(n) => n,
    };
    let inner = if exprs.is_empty() {
        Limit::sql(n).filter(|&n| n != 0)
    } else {
        Some(Limit::sql(n).unwrap_or(0))
    };
    match query(inner) {
        Ok(mut found) => {
            if let Limit::Given(n) = given {
                found = py_truncate(found, n);
            }
            Outcome::Ok(json!(found))
        }
        Err(e) => e.into(),
    }
}

handler!(
    /// `GET|POST /tags/autoComplete/tags`.
    auto_complete_tags, GET_POST, |state, params| {
        let exprs = list_param(params, "expr");
        let prefix = params.get("tagPrefix");
        auto_complete(params, &exprs, |limit| {
            state.tags.auto_complete_tags(&exprs, prefix, limit)
        })
    }
);

handler!(
    /// `GET|POST /tags/autoComplete/values`.
    auto_complete_values, GET_POST, |state, params| {
        let exprs = list_param(params, "expr");
        let Some(tag) = params.get("tag").filter(|t| !t.is_empty()) else {
            return bad("no tag specified");
        };
        let prefix = params.get("valuePrefix");
        auto_complete(params, &exprs, |limit| {
            state.tags.auto_complete_values(&exprs, tag, prefix, limit)
        })
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_int_and_slices() {
        assert_eq!(py_int(" +1_0 "), Some(10));
        assert_eq!(py_int("-3"), Some(-3));
        for bad in ["", "x", "1.5", "_1", "1__0", "1_", "-"] {
            assert_eq!(py_int(bad), None, "{bad}");
        }
        assert_eq!(py_truncate(vec![1, 2, 3], 2), [1, 2]);
        assert_eq!(py_truncate(vec![1, 2, 3], -1), [1, 2]);
        assert_eq!(py_truncate(vec![1, 2, 3], -5), Vec::<i32>::new());
        assert_eq!(py_truncate(vec![1, 2, 3], 0), Vec::<i32>::new());
    }
}
