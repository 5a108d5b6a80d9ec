//! Carbon's pickle batch: `[(path, (timestamp, value)), ...]` (compat notes §2.2).

use std::borrow::Cow;

use super::Value;
use super::decode::{Limits, PickleError, decode_with_limits};

/// The points of one pickle frame, and what was skipped.
///
/// Carbon's `MetricPickleReceiver.stringReceived` loop is reproduced item by item:
/// `(metric, (value, timestamp)) = raw` (any two-element iterable destructures: a list, a
/// tuple, a two-character `str`, two `bytes`, a two-key dict), then `float()` of both
/// numbers (so `'1.5'` and `b'2'` count as numbers, as in Python), then the path, then the
/// NaN check of `metricReceived`.
///
/// # Differs from carbon
///
/// - A `bytes` path is decoded as UTF-8 (skipped if invalid); carbon 1.1.7 calls
///   `.encode('utf-8')` on it, which raises and drops the connection.
/// - A path that is neither `str` nor `bytes` is skipped; carbon raises likewise.
/// - An infinite or NaN timestamp, and an `int` too large for a float, are skipped; carbon
///   raises outside its `try` and drops the connection.
/// - A two-element set is skipped: Python's iteration order of a set is its hash order.
/// - A payload that is not a list, tuple, set, frozenset or dict is an error (carbon iterates
///   any iterable: a `str` payload is all malformed items there).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CarbonBatch {
    /// `(path, timestamp, value)` in payload order; the path is as sent (validate it with
    /// [`crate::MetricName::parse`]), the timestamp finite, the value never NaN.
    pub points: Vec<(String, f64, f64)>,
    /// Items that did not destructure as `(path, (timestamp, value))`, or whose path is not a
    /// string (carbon logs "Error decoding pickle" for the former).
    pub malformed: usize,
    /// Items whose timestamp or value is not a number `float()` accepts, or whose timestamp
    /// is not finite (carbon skips the former silently).
    pub bad_numbers: usize,
    /// Items dropped because the value is NaN, as carbon drops them silently.
    pub nan_values: usize,
}

/// Decodes one pickle frame of datapoints with [`Limits::default`].
///
/// ```
/// use charcoal_protocol::pickle::decode_carbon_batch;
/// // pickle.dumps([('a.b', (1700000000, 1.5)), ('bad',)], protocol=2)
/// let frame = b"\x80\x02]q\x00(X\x03\x00\x00\x00a.bq\x01J\x00\xf1SeG?\xf8\x00\x00\x00\x00\x00\x00\x86q\x02\x86q\x03X\x03\x00\x00\x00badq\x04\x85q\x05e.";
/// let batch = decode_carbon_batch(frame).unwrap();
/// assert_eq!(batch.points, vec![("a.b".to_string(), 1700000000.0, 1.5)]);
/// assert_eq!(batch.malformed, 1);
/// ```
pub fn decode_carbon_batch(data: &[u8]) -> Result<CarbonBatch, PickleError> {
    decode_carbon_batch_with_limits(data, &Limits::default())
}

/// [`decode_carbon_batch`] with explicit limits.
pub fn decode_carbon_batch_with_limits(
    data: &[u8],
    limits: &Limits,
) -> Result<CarbonBatch, PickleError> {
    let points = decode_carbon_points_with_limits(data, limits)?;
    Ok(CarbonBatch {
        points: points
            .points
            .into_iter()
            .map(|(name, t, v)| (name.into_owned(), t, v))
            .collect(),
        malformed: points.malformed,
        bad_numbers: points.bad_numbers,
        nan_values: points.nan_values,
    })
}

/// [`CarbonBatch`] with the paths borrowed from the frame where the decoder could (the
/// receivers' form: no allocation per point for the common pickles).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CarbonPoints<'a> {
    /// As [`CarbonBatch::points`].
    pub points: Vec<(Cow<'a, str>, f64, f64)>,
    /// As [`CarbonBatch::malformed`].
    pub malformed: usize,
    /// As [`CarbonBatch::bad_numbers`].
    pub bad_numbers: usize,
    /// As [`CarbonBatch::nan_values`].
    pub nan_values: usize,
}

/// [`decode_carbon_batch`], the paths borrowed where possible: the plain
/// `[(str, (number, number)), ...]` pickles senders write are read by a fast path straight
/// from the bytes; anything else by the general restricted decoder. Same result either way.
pub fn decode_carbon_points(data: &[u8]) -> Result<CarbonPoints<'_>, PickleError> {
    decode_carbon_points_with_limits(data, &Limits::default())
}

/// [`decode_carbon_points`] with explicit limits.
pub fn decode_carbon_points_with_limits<'a>(
    data: &'a [u8],
    limits: &Limits,
) -> Result<CarbonPoints<'a>, PickleError> {
    if let Some(fast) = super::fast::decode(data, limits) {
        return Ok(CarbonPoints {
            points: fast
                .points
                .into_iter()
                .map(|(name, t, v)| (Cow::Borrowed(name), t, v))
                .collect(),
            malformed: 0,
            bad_numbers: fast.bad_numbers,
            nan_values: fast.nan_values,
        });
    }
    let general = decode_general(data, limits)?;
    Ok(CarbonPoints {
        points: general
            .points
            .into_iter()
            .map(|(name, t, v)| (Cow::Owned(name), t, v))
            .collect(),
        malformed: general.malformed,
        bad_numbers: general.bad_numbers,
        nan_values: general.nan_values,
    })
}

/// [`decode_carbon_batch_with_limits`] without the fast path (for the tests that compare
/// the two).
pub(crate) fn decode_general(data: &[u8], limits: &Limits) -> Result<CarbonBatch, PickleError> {
    let payload = decode_with_limits(data, limits)?;
    let mut batch = CarbonBatch::default();
    match payload {
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::FrozenSet(items) => {
            batch.points.reserve(items.len());
            for item in items {
                batch.add(item);
            }
        }
        Value::Dict(pairs) => {
            for (key, _) in pairs {
                batch.add(key);
            }
        }
        other => {
            return Err(PickleError::NotABatch {
                found: other.type_name(),
            });
        }
    }
    Ok(batch)
}

impl CarbonBatch {
    fn add(&mut self, raw: Value) {
        let Some((metric, point)) = unpack2(raw) else {
            self.malformed += 1;
            return;
        };
        let Some((timestamp, value)) = unpack2(point) else {
            self.malformed += 1;
            return;
        };
        let (Some(timestamp), Some(value)) = (timestamp.py_float(), value.py_float()) else {
            self.bad_numbers += 1;
            return;
        };
        let path = match metric {
            Value::Str(s) => s,
            Value::Bytes(b) | Value::ByteArray(b) => match String::from_utf8(b) {
                Ok(s) => s,
                Err(_) => {
                    self.malformed += 1;
                    return;
                }
            },
            _ => {
                self.malformed += 1;
                return;
            }
        };
        if value.is_nan() {
            self.nan_values += 1;
            return;
        }
        if !timestamp.is_finite() {
            self.bad_numbers += 1;
            return;
        }
        self.points.push((path, timestamp, value));
    }
}

/// Python's `a, b = x` for the iterables that have a defined order.
fn unpack2(v: Value) -> Option<(Value, Value)> {
    match v {
        Value::List(items) | Value::Tuple(items) => {
            let [a, b]: [Value; 2] = items.try_into().ok()?;
            Some((a, b))
        }
        Value::Dict(pairs) => {
            let [(a, _), (b, _)]: [(Value, Value); 2] = pairs.try_into().ok()?;
            Some((a, b))
        }
        Value::Str(s) => {
            let mut chars = s.chars();
            match (chars.next(), chars.next(), chars.next()) {
                (Some(a), Some(b), None) => {
                    Some((Value::Str(a.to_string()), Value::Str(b.to_string())))
                }
                _ => None,
            }
        }
        Value::Bytes(b) | Value::ByteArray(b) => match b.as_slice() {
            [a, b] => Some((Value::Int(i64::from(*a)), Value::Int(i64::from(*b)))),
            _ => None,
        },
        _ => None,
    }
}
