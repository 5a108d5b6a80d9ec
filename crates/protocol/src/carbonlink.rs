//! Carbonlink, the cache query protocol graphite-web speaks to carbon (compat notes §2.3).
//!
//! A request is one length-prefixed frame ([`crate::framing`]) holding a pickled dict
//! (graphite-web pickles it with its highest protocol, 5 on Python 3.8+); the answer is a
//! frame holding a dict pickled with protocol 2. The connection stays open for more pairs.
//! This module only turns request bytes into a [`Request`] and a [`Response`] into bytes;
//! looking in the cache and reading whisper metadata is the caller's.
//!
//! # Differs from carbon
//!
//! Carbon indexes the request dict without checks, so a request that is not a dict, lacks a
//! key, or has a non-string metric raises inside Twisted and the connection is dropped
//! (graphite-web then marks the host down for a while). Here those are a
//! [`CarbonlinkError`]; the receiver should also close the connection. The one exception is
//! an unknown (or non-string) `type`, which carbon answers with an error dict, and so do we.

use crate::pickle::{self, PickleError, Value};

/// One carbonlink request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `{'type': 'cache-query', 'metric': name}`.
    CacheQuery {
        /// The metric, as sent (graphite-web sends the normalised name).
        metric: String,
    },
    /// `{'type': 'cache-query-bulk', 'metrics': [name, ...]}`.
    CacheQueryBulk {
        /// The metrics, in request order.
        metrics: Vec<String>,
    },
    /// `{'type': 'get-metadata', 'metric': name, 'key': key}`.
    GetMetadata {
        /// The metric.
        metric: String,
        /// The key; carbon only knows `aggregationMethod`.
        key: String,
    },
    /// `{'type': 'set-metadata', 'metric': name, 'key': key, 'value': value}`.
    SetMetadata {
        /// The metric.
        metric: String,
        /// The key; carbon only knows `aggregationMethod`.
        key: String,
        /// The new value, as sent.
        value: Value,
    },
    /// Any other `type`: answer with [`Response::invalid_request_type`].
    Unknown {
        /// Python's `str()` of the `type` value.
        request_type: String,
    },
}

/// A request that is not a carbonlink request.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CarbonlinkError {
    /// The frame is not a pickle the restricted decoder accepts.
    #[error("cannot decode carbonlink request: {0}")]
    Pickle(#[from] PickleError),
    /// The pickle is not a dict.
    #[error("cannot use carbonlink request: a {0} is not a dict")]
    NotADict(&'static str),
    /// A key the request type needs is missing.
    #[error("cannot use carbonlink request: key {0:?} is missing")]
    MissingKey(&'static str),
    /// A key holds the wrong type.
    #[error("cannot use carbonlink request: {key:?} is a {found}, not a {expected}")]
    WrongType {
        /// The key.
        key: &'static str,
        /// What it must be.
        expected: &'static str,
        /// Python's name of what it is.
        found: &'static str,
    },
}

/// Decodes one request frame's payload.
///
/// ```
/// use charcoal_protocol::carbonlink::{decode_request, Request};
/// // pickle.dumps({'type': 'cache-query', 'metric': 'a.b'}, protocol=2)
/// let req = b"\x80\x02}q\x00(X\x04\x00\x00\x00typeq\x01X\x0b\x00\x00\x00cache-queryq\x02X\x06\x00\x00\x00metricq\x03X\x03\x00\x00\x00a.bq\x04u.";
/// assert_eq!(decode_request(req).unwrap(), Request::CacheQuery { metric: "a.b".into() });
/// ```
pub fn decode_request(payload: &[u8]) -> Result<Request, CarbonlinkError> {
    let request = pickle::decode(payload)?;
    if !matches!(request, Value::Dict(_)) {
        return Err(CarbonlinkError::NotADict(request.type_name()));
    }
    let get = |key: &'static str| request.get(key).ok_or(CarbonlinkError::MissingKey(key));
    let string = |key: &'static str| -> Result<String, CarbonlinkError> {
        let v = get(key)?;
        v.as_str()
            .map(str::to_owned)
            .ok_or(CarbonlinkError::WrongType {
                key,
                expected: "str",
                found: v.type_name(),
            })
    };
    let request_type = get("type")?;
    Ok(match request_type.as_str() {
        Some("cache-query") => Request::CacheQuery {
            metric: string("metric")?,
        },
        Some("cache-query-bulk") => {
            let metrics = get("metrics")?;
            let wrong = |found| CarbonlinkError::WrongType {
                key: "metrics",
                expected: "list of str",
                found,
            };
            let items = match metrics {
                Value::List(items)
                | Value::Tuple(items)
                | Value::Set(items)
                | Value::FrozenSet(items) => items,
                other => return Err(wrong(other.type_name())),
            };
            let metrics = items
                .iter()
                .map(|m| m.as_str().map(str::to_owned).ok_or(wrong(m.type_name())))
                .collect::<Result<_, _>>()?;
            Request::CacheQueryBulk { metrics }
        }
        Some("get-metadata") => Request::GetMetadata {
            metric: string("metric")?,
            key: string("key")?,
        },
        Some("set-metadata") => Request::SetMetadata {
            metric: string("metric")?,
            key: string("key")?,
            value: get("value")?.clone(),
        },
        _ => Request::Unknown {
            request_type: request_type.py_str(),
        },
    })
}

/// A cached point: `(timestamp, value)`.
pub type CachePoint = (f64, f64);

/// One carbonlink answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// `{'datapoints': [(ts, value), ...]}` for `cache-query`.
    Datapoints(Vec<CachePoint>),
    /// `{'datapointsByMetric': {name: [(ts, value), ...], ...}}` for `cache-query-bulk`, in
    /// request order.
    DatapointsByMetric(Vec<(String, Vec<CachePoint>)>),
    /// `{'value': value}` for `get-metadata`.
    Value(Value),
    /// `{'old_value': old, 'new_value': new}` for `set-metadata`.
    SetMetadata {
        /// The value before.
        old_value: Value,
        /// The value now.
        new_value: Value,
    },
    /// `{'error': message}`.
    Error(String),
}

impl Response {
    /// Carbon's answer to an unknown request type: `Invalid request type "<t>"`.
    pub fn invalid_request_type(request_type: &str) -> Response {
        Response::Error(format!("Invalid request type \"{request_type}\""))
    }

    /// The response as the [`Value`] carbon builds.
    ///
    /// Timestamps are written as a Python `int` when integral (what carbon's cache holds with
    /// `MIN_TIMESTAMP_RESOLUTION` set) and as a `float` otherwise. Carbon with the code
    /// default `MIN_TIMESTAMP_RESOLUTION = 0` would send `1700000000.0` where this sends
    /// `1700000000`; graphite-web computes the same bucket from either.
    pub fn to_value(&self) -> Value {
        let s = |k: &str| Value::Str(k.to_owned());
        let dict = |k: &str, v: Value| Value::Dict(vec![(s(k), v)]);
        match self {
            Response::Datapoints(points) => dict("datapoints", points_value(points)),
            Response::DatapointsByMetric(by_metric) => dict(
                "datapointsByMetric",
                Value::Dict(
                    by_metric
                        .iter()
                        .map(|(m, points)| (s(m), points_value(points)))
                        .collect(),
                ),
            ),
            Response::Value(v) => dict("value", v.clone()),
            Response::SetMetadata {
                old_value,
                new_value,
            } => Value::Dict(vec![
                (s("old_value"), old_value.clone()),
                (s("new_value"), new_value.clone()),
            ]),
            Response::Error(message) => dict("error", s(message)),
        }
    }

    /// The pickled response (protocol 2), to be sent in one frame.
    pub fn encode(&self) -> Vec<u8> {
        pickle::encode(&self.to_value())
    }
}

fn points_value(points: &[CachePoint]) -> Value {
    Value::List(
        points
            .iter()
            .map(|&(ts, v)| Value::Tuple(vec![timestamp_value(ts), Value::Float(v)]))
            .collect(),
    )
}

fn timestamp_value(ts: f64) -> Value {
    if ts.fract() == 0.0 && ts.abs() < 9_007_199_254_740_992.0 {
        Value::Int(ts as i64)
    } else {
        Value::Float(ts)
    }
}

#[cfg(test)]
mod tests;
