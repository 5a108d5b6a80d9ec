//! `/metrics/find`, `/metrics/expand` and `/metrics/index.json` (graphite-web's
//! metrics/views.py), answered from the in-memory index behind the [`Source`].
//!
//! `find` matches are sorted by node name (stable, so equal names keep path order), and a
//! path that is both a metric and a directory is reported twice, once as each, as
//! graphite-web's finder reports it. `from`/`until` are checked but do not filter (a
//! whisper file's interval is its whole retention).
//!
//! `pickle` and `msgpack` are the formats graphite-web's `CLUSTER_SERVERS` ask a peer for
//! (`local=1`); leaves carry their file's interval, as graphite-web's whisper finder reports
//! it.
//!
//! [`Source`]: charcoal_query::Source

use std::borrow::Cow;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use charcoal_query::{Node, SourceError, parse_at_time, time_zone};
use serde_json::{Map, Value, json};

use crate::params::Params;
use crate::pyjson::{dumps, push_str};
use crate::{AppState, bad_request, form_body, server_error};

fn source_error(e: SourceError) -> Response {
    if e.is_client_error() {
        bad_request(e)
    } else {
        server_error(e)
    }
}

/// A JSON answer as graphite-web's `json_response_for` writes it: `ensure_ascii` only when
/// the client accepts exactly `application/json`, `jsonp` wrapping, no-cache headers.
fn json_response(headers: &HeaderMap, params: &Params, data: &Value, no_cache: bool) -> Response {
    json_text_response(headers, params, |ascii| dumps(data, ascii), no_cache)
}

/// [`json_response`] for answers written straight to text: `render(ensure_ascii)`.
fn json_text_response(
    headers: &HeaderMap,
    params: &Params,
    render: impl FnOnce(bool) -> String,
    no_cache: bool,
) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let ensure_ascii = accept == "application/json";
    let mut text = render(ensure_ascii);
    let mut content_type = "application/json".to_owned();
    if let Some(cb) = params.get("jsonp").filter(|cb| !cb.is_empty()) {
        text = format!("{cb}({text})");
        content_type = "text/javascript".to_owned();
    }
    if !ensure_ascii {
        content_type.push_str(";charset=utf-8");
    }
    let mut response = (StatusCode::OK, text).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if no_cache {
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}

fn int_param(params: &Params, name: &str, default: i64) -> Result<i64, String> {
    match params.get(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("Invalid int value {v:?} for param {name}")),
    }
}

/// Python's `urllib.parse.unquote_plus`; borrowed when there is nothing to unquote (nearly
/// every node name: one find may name thousands).
fn unquote_plus(s: &str) -> Cow<'_, str> {
    if !s.contains(['+', '%']) {
        return s.into();
    }
    unquote_plus_always(s).into()
}

fn unquote_plus_always(s: &str) -> String {
    let replaced = s.replace('+', " ");
    let bytes = replaced.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The `/metrics/find` handler.
pub async fn find(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(uri.query(), form_body(&headers, &body));
    // Plain finds are answered from the in-memory index: no file is touched, so they run
    // here rather than paying a hand-off to the blocking pool. Tagged names (a file
    // lookup) and the formats that report file intervals go to the pool.
    let touches_files = params.get("query").is_some_and(|q| q.contains(';'))
        || matches!(params.get("format"), Some("json" | "pickle" | "msgpack"));
    if !touches_files {
        return find_blocking(&state, &headers, &params);
    }
    match tokio::task::spawn_blocking(move || find_blocking(&state, &headers, &params)).await {
        Ok(r) => r,
        Err(e) => server_error(format!("find task failed: {e}")),
    }
}

fn find_blocking(state: &AppState, headers: &HeaderMap, params: &Params) -> Response {
    let format = params.get("format").unwrap_or("treejson").to_owned();
    let (leaves_only, wildcards, position, automatic_variants) = match (
        int_param(params, "leavesOnly", 0),
        int_param(params, "wildcards", 0),
        int_param(params, "position", -1),
        int_param(params, "automatic_variants", 0),
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d)) => (a != 0, b != 0, c, d != 0),
        (Err(r), ..) | (_, Err(r), ..) | (_, _, Err(r), _) | (.., Err(r)) => {
            return bad_request(r);
        }
    };
    let tz = params
        .get("tz")
        .and_then(|n| time_zone(n).ok())
        .unwrap_or_else(|| state.config.time_zone.clone());
    let clock = (state.clock)();
    let now = match params.get("now").map(|v| parse_at_time(v, clock, &tz)) {
        None => clock,
        Some(Ok(n)) => n,
        Some(Err(e)) => return bad_request(format!("Invalid value for param now: {e}")),
    };
    for key in ["from", "until"] {
        if let Some(v) = params.get(key).filter(|v| *v != "-1")
            && let Err(e) = parse_at_time(v, now, &tz)
        {
            return bad_request(format!("Invalid value {v:?} for param {key}: {e}"));
        }
    }
    let Some(mut query) = params.get("query").map(str::to_owned) else {
        return bad_request("Missing required parameter 'query'");
    };
    if query.is_empty() {
        return bad_request("Required parameter 'query' is empty");
    }
    let base_path = match query.rsplit_once('.') {
        Some((head, _)) => format!("{head}."),
        None => String::new(),
    };
    if format == "completer" {
        query = query.replace("..", "*.");
        if !query.ends_with('*') {
            query.push('*');
        }
        if automatic_variants {
            query = query
                .split('.')
                .map(|p| {
                    if p.contains(',') && !p.contains('{') {
                        format!("{{{p}}}")
                    } else {
                        p.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join(".");
        }
    }
    let mut matches = match state.source.find(&query) {
        Ok(m) => m,
        Err(e) => return source_error(e),
    };
    if matches.len() > state.config.max_find_results {
        return bad_request(format!(
            "the query matches more than {} nodes (limit --max-find-results)",
            state.config.max_find_results
        ));
    }
    if leaves_only {
        matches.retain(|n| n.is_leaf);
    }
    // Stable: equal names keep the index's path order. The index answers in path order, so
    // the matches of one directory (the usual find: `servers.*`) are in name order already.
    if !matches.is_sorted_by(|a, b| node_name(a) <= node_name(b)) {
        matches.sort_by(|a, b| node_name(a).cmp(node_name(b)));
    }
    let data = match format.as_str() {
        "treejson" => {
            return json_text_response(
                headers,
                params,
                |ascii| tree_json(&matches, &base_path, wildcards, ascii),
                true,
            );
        }
        "completer" => {
            let mut results: Vec<Value> = matches
                .iter()
                .map(|n| {
                    let mut path = n.path.clone();
                    if !n.is_leaf {
                        path.push('.');
                    }
                    json!({"path": path, "name": node_name(n), "is_leaf": if n.is_leaf { "1" } else { "0" }})
                })
                .collect();
            if results.len() > 1 && wildcards {
                results.push(json!({"name": "*"}));
            }
            json!({"metrics": results})
        }
        "nodelist" => {
            let mut nodes: Vec<String> = Vec::new();
            for n in &matches {
                let parts: Vec<&str> = n.path.split('.').collect();
                let idx = if position < 0 {
                    parts.len() as i64 + position
                } else {
                    position
                };
                match usize::try_from(idx).ok().and_then(|i| parts.get(i)) {
                    Some(p) => nodes.push((*p).to_owned()),
                    None => return bad_request(format!("position {position} is out of range")),
                }
            }
            nodes.sort();
            nodes.dedup();
            json!({"nodes": nodes})
        }
        "json" => {
            let mut items: Vec<Value> = matches
                .iter()
                .map(|n| {
                    let mut m = Map::new();
                    m.insert("path".into(), json!(n.path));
                    m.insert("is_leaf".into(), json!(n.is_leaf));
                    if n.is_leaf {
                        let intervals: Vec<Value> = state
                            .source
                            .interval(&n.path, now)
                            .map(|(s, e)| json!({"start": s, "end": e}))
                            .into_iter()
                            .collect();
                        m.insert("intervals".into(), Value::Array(intervals));
                    }
                    Value::Object(m)
                })
                .collect();
            items.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
            Value::Array(items)
        }
        "pickle" | "msgpack" => {
            let nodes: Vec<ClusterNode> = matches
                .iter()
                .map(|n| ClusterNode {
                    path: n.path.clone(),
                    is_leaf: n.is_leaf,
                    interval: if n.is_leaf {
                        state.source.interval(&n.path, now)
                    } else {
                        None
                    },
                })
                .collect();
            let (content_type, body) = if format == "pickle" {
                ("application/pickle", pickle_nodes(&nodes))
            } else {
                ("application/x-msgpack", msgpack_nodes(&nodes))
            };
            let mut response = (StatusCode::OK, body).into_response();
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            return response;
        }
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "text/plain")],
                "Invalid value for 'format' parameter",
            )
                .into_response();
        }
    };
    json_response(headers, params, &data, true)
}

/// One find match as a graphite-web cluster peer reads it.
struct ClusterNode {
    path: String,
    is_leaf: bool,
    interval: Option<(f64, f64)>,
}

/// `format=pickle` finds: a list of `{path, is_leaf, intervals}` dicts, `intervals` (leaves
/// only) as a list of `(start, end)` pairs, which graphite-web's remote finder turns into its
/// `IntervalSet` (it accepts pairs as well as pickled `IntervalSet` objects, and a safe
/// unpickler then needs no class lookups at all).
fn pickle_nodes(nodes: &[ClusterNode]) -> Vec<u8> {
    use charcoal_protocol::pickle::{Value as Py, encode};
    let list = nodes
        .iter()
        .map(|n| {
            let mut items = vec![
                (Py::Str("path".into()), Py::Str(n.path.clone())),
                (Py::Str("is_leaf".into()), Py::Bool(n.is_leaf)),
            ];
            if n.is_leaf {
                let intervals = n
                    .interval
                    .iter()
                    .map(|(s, e)| Py::Tuple(vec![Py::Float(*s), Py::Float(*e)]))
                    .collect();
                items.push((Py::Str("intervals".into()), Py::List(intervals)));
            }
            Py::Dict(items)
        })
        .collect();
    encode(&Py::List(list))
}

/// `format=msgpack` finds: the same dicts, `intervals` as `[start, end]` lists.
fn msgpack_nodes(nodes: &[ClusterNode]) -> Vec<u8> {
    let mut out = Vec::new();
    let w = &mut out;
    // Writing to a Vec cannot fail.
    let _ = rmp::encode::write_array_len(w, nodes.len() as u32);
    for n in nodes {
        let _ = rmp::encode::write_map_len(w, if n.is_leaf { 3 } else { 2 });
        let _ = rmp::encode::write_str(w, "path");
        let _ = rmp::encode::write_str(w, &n.path);
        let _ = rmp::encode::write_str(w, "is_leaf");
        let _ = rmp::encode::write_bool(w, n.is_leaf);
        if n.is_leaf {
            let _ = rmp::encode::write_str(w, "intervals");
            let _ = rmp::encode::write_array_len(w, u32::from(n.interval.is_some()));
            if let Some((s, e)) = n.interval {
                let _ = rmp::encode::write_array_len(w, 2);
                let _ = rmp::encode::write_f64(w, s);
                let _ = rmp::encode::write_f64(w, e);
            }
        }
    }
    out
}

fn node_name(n: &Node) -> &str {
    // A byte search: `rsplit`'s char searcher was a tenth of a 1,000-node find.
    match n.path.bytes().rposition(|b| b == b'.') {
        Some(dot) => &n.path[dot + 1..],
        None => &n.path,
    }
}

/// graphite-web's `tree_json`: an optional `*` entry, then branches, then leaves, each name
/// once; written straight to JSON text (the most frequent find: Grafana's metric tree).
/// `nodes` are sorted by name, so a repeated name is next to its first.
fn tree_json(nodes: &[Node], base_path: &str, wildcards: bool, ascii: bool) -> String {
    debug_assert!(nodes.is_sorted_by(|a, b| node_name(a) <= node_name(b)));
    let mut out = String::with_capacity(64 + nodes.len() * (96 + base_path.len()));
    let mut first = true;
    // JSON escapes character by character, so an id's text is the escaped base path and
    // then the escaped name, and a name is escaped once for both its text and its id.
    let mut base = String::new();
    push_str(&mut base, base_path, ascii);
    base.pop();
    let mut escaped = String::new();
    let mut item = |out: &mut String, name: &str, leaf: bool| {
        out.push_str(if first {
            "{\"text\": "
        } else {
            ", {\"text\": "
        });
        first = false;
        escaped.clear();
        push_str(&mut escaped, name, ascii);
        match unquote_plus(name) {
            Cow::Borrowed(_) => out.push_str(&escaped),
            Cow::Owned(text) => push_str(out, &text, ascii),
        }
        out.push_str(", \"id\": ");
        out.push_str(&base);
        out.push_str(&escaped[1..]);
        out.push_str(if leaf {
            ", \"allowChildren\": 0, \"expandable\": 0, \"leaf\": 1}"
        } else {
            ", \"allowChildren\": 1, \"expandable\": 1, \"leaf\": 0}"
        });
    };
    out.push('[');
    if nodes.len() > 1 && wildcards {
        item(&mut out, "*", !nodes.iter().any(|n| !n.is_leaf));
    }
    let mut previous = None;
    let mut leaves = Vec::new();
    for n in nodes {
        let name = node_name(n);
        if previous.replace(name) == Some(name) {
            continue;
        }
        if n.is_leaf {
            leaves.push(name);
        } else {
            item(&mut out, name, false);
        }
    }
    for name in leaves {
        item(&mut out, name, true);
    }
    out.push(']');
    out
}

/// The `/metrics/expand` handler.
pub async fn expand(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(uri.query(), form_body(&headers, &body));
    let work = move || {
        let group = matches!(int_param(&params, "groupByExpr", 0), Ok(v) if v != 0);
        let leaves_only = matches!(int_param(&params, "leavesOnly", 0), Ok(v) if v != 0);
        let mut grouped = Map::new();
        let mut all = std::collections::BTreeSet::new();
        for query in params.all("query") {
            let nodes = match state.source.find(&query) {
                Ok(n) => n,
                Err(e) => return source_error(e),
            };
            let paths: std::collections::BTreeSet<String> = nodes
                .into_iter()
                .filter(|n| n.is_leaf || !leaves_only)
                .map(|n| n.path)
                .collect();
            all.extend(paths.iter().cloned());
            grouped.insert(query, json!(paths.into_iter().collect::<Vec<_>>()));
        }
        let results = if group {
            Value::Object(grouped)
        } else {
            json!(all.into_iter().collect::<Vec<_>>())
        };
        json_response(&headers, &params, &json!({"results": results}), true)
    };
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| server_error(format!("expand task failed: {e}")))
}

/// The `/metrics/index.json` handler: every metric name, sorted.
pub async fn index(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let params = Params::parse(uri.query(), None);
    let work = move || match state.source.list() {
        Ok(names) => json_response(&headers, &params, &json!(names), false),
        Err(e) => source_error(e),
    };
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| server_error(format!("index task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Borrowing a name without `+` or `%` gives what unquoting it gives.
    #[test]
    fn unquote_plus_borrows_only_what_it_would_copy() {
        for s in [
            "", "m0001", "a+b", "%41", "%4", "é%C3%A9", "x%zz", "a b", "+", "%",
        ] {
            assert_eq!(unquote_plus(s), unquote_plus_always(s), "{s:?}");
        }
        assert_eq!(unquote_plus("a+b%41"), "a bA");
    }

    fn node(path: &str, is_leaf: bool) -> Node {
        Node {
            path: path.to_owned(),
            is_leaf,
        }
    }

    /// Repeated names (a metric that is also a directory, the same name under two
    /// parents) are written once, as the first of them, branches before leaves.
    #[test]
    fn tree_json_names_each_node_once() {
        let nodes = [
            node("a.x.b", false),
            node("a.x.b", true),
            node("a.y.b", true),
            node("a.x.c", true),
            node("a.y.d", false),
        ];
        let text = tree_json(&nodes, "a.*.", true, true);
        assert_eq!(
            tree_json(&[node("é+%41", true)], "q\"é.", false, true),
            "[{\"text\": \"\\u00e9 A\", \"id\": \"q\\\"\\u00e9.\\u00e9+%41\", \"allowChildren\": 0, \"expandable\": 0, \"leaf\": 1}]"
        );
        assert_eq!(
            text,
            "[{\"text\": \"*\", \"id\": \"a.*.*\", \"allowChildren\": 1, \"expandable\": 1, \"leaf\": 0}, \
             {\"text\": \"b\", \"id\": \"a.*.b\", \"allowChildren\": 1, \"expandable\": 1, \"leaf\": 0}, \
             {\"text\": \"d\", \"id\": \"a.*.d\", \"allowChildren\": 1, \"expandable\": 1, \"leaf\": 0}, \
             {\"text\": \"c\", \"id\": \"a.*.c\", \"allowChildren\": 0, \"expandable\": 0, \"leaf\": 1}]"
        );
    }
}
