//! Carbon's plaintext protocol: `<metric> <value> <timestamp>\n` (compat notes §2.1).
//!
//! Two pieces, kept apart so the receiver owns its buffer and the parser stays pure:
//!
//! - [`LineSplitter`] cuts complete `\n`-terminated lines out of a byte buffer without
//!   copying, tells the caller how many bytes it consumed so the incomplete tail stays for
//!   the next read, and reports an over-long line once, then skips to its end without losing
//!   the lines after it.
//! - [`parse_line`] turns one line into a [`Datapoint`] as carbon's
//!   `MetricLineReceiver.lineReceived` does: UTF-8, split on any whitespace (Python's
//!   definition), exactly three fields, value and timestamp parsed by Python's `float()`
//!   ([`crate::pynum::parse_float`]), a NaN value dropped silently.
//!
//! What carbon does after parsing (`-1` means now, `MIN_TIMESTAMP_RESOLUTION`) belongs to the
//! caller, who owns the clock; [`is_now_sentinel`] and [`truncate_to_resolution`] give the
//! exact arithmetic.
//!
//! # Differs from carbon
//!
//! - A line longer than the limit (carbon: Twisted's 16,384 bytes) is reported and skipped;
//!   Twisted drops the whole connection.
//! - A line that is not UTF-8 is an invalid line; carbon's decode raises outside its `try`
//!   and Twisted drops the connection.
//! - A NaN or infinite timestamp is an invalid line; carbon's `int(timestamp)` raises and
//!   Twisted drops the connection.
//! - The metric must be a valid [`MetricName`]; carbon stores any string.

use crate::metric_name::{MetricName, NameError};
use crate::pynum::{is_py_whitespace, parse_float};

/// Carbon's (Twisted `LineOnlyReceiver`'s) line length limit, in bytes before the `\n`.
pub const DEFAULT_MAX_LINE_LEN: usize = 16384;

/// How much of a bad line an error keeps, in characters, as carbon's log line does.
pub const EXCERPT_CHARS: usize = 400;

/// One accepted point.
#[derive(Debug, Clone, PartialEq)]
pub struct Datapoint {
    /// The validated, normalised name.
    pub name: MetricName,
    /// Seconds since the epoch as sent (may be fractional, may be the `-1` sentinel).
    pub timestamp: f64,
    /// The value; never NaN, may be ±infinity as in carbon.
    pub value: f64,
}

/// A line that could not be used, with what a rate-limited log line needs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot parse line {line} [{excerpt}]: {kind}")]
pub struct LineError {
    /// 1-based line number on the connection (or in the datagram).
    pub line: u64,
    /// The start of the line, escaped like Python's `repr`, at most [`EXCERPT_CHARS`]
    /// characters and `...` when cut.
    pub excerpt: String,
    /// What was wrong.
    #[source]
    pub kind: LineErrorKind,
}

/// What was wrong with a line.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LineErrorKind {
    /// The line is longer than the limit.
    #[error("line of {len} bytes or more exceeds the limit of {max}")]
    TooLong {
        /// Bytes seen so far (the line may be longer).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The line is not valid UTF-8.
    #[error("line is not valid UTF-8")]
    NotUtf8,
    /// Not exactly three whitespace-separated fields.
    #[error("expected 3 fields \"<metric> <value> <timestamp>\", found {0}")]
    FieldCount(usize),
    /// The value is not something Python's `float()` accepts.
    #[error("value is not a number")]
    Value,
    /// The timestamp is not something Python's `float()` accepts.
    #[error("timestamp is not a number")]
    Timestamp,
    /// The timestamp is infinite or NaN.
    #[error("timestamp is not finite")]
    NonFiniteTimestamp,
    /// The metric name was rejected.
    #[error(transparent)]
    Name(#[from] NameError),
}

impl LineError {
    /// The error for line `number` (its bytes `line`) whose metric name was refused.
    pub fn name(number: u64, line: &[u8], e: NameError) -> LineError {
        LineError::new(number, line, LineErrorKind::Name(e))
    }

    fn new(line: u64, bytes: &[u8], kind: LineErrorKind) -> LineError {
        LineError {
            line,
            excerpt: excerpt(bytes),
            kind,
        }
    }
}

/// The first [`EXCERPT_CHARS`] characters of `bytes` (invalid UTF-8 replaced), surrounding
/// whitespace stripped, escaped for a log line, `...` appended when cut.
pub fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_matches(is_py_whitespace);
    let mut out = String::new();
    let mut chars = text.chars();
    for c in chars.by_ref().take(EXCERPT_CHARS) {
        out.extend(c.escape_debug());
    }
    if chars.next().is_some() {
        out.push_str("...");
    }
    out
}

/// Parses one line (without its `\n`; a trailing `\r` is whitespace like any other).
///
/// `Ok(None)` is a line carbon drops silently: its value is NaN. `number` is only used for
/// the error.
///
/// ```
/// use charcoal_protocol::plaintext::parse_line;
/// let p = parse_line(b"a.b 1e3 1700000000\r", 1).unwrap().unwrap();
/// assert_eq!((p.name.as_str(), p.value, p.timestamp), ("a.b", 1000.0, 1700000000.0));
/// assert_eq!(parse_line(b"a.b nan 1700000000", 1), Ok(None));
/// assert!(parse_line(b"a.b 1", 7).unwrap_err().to_string().starts_with("cannot parse line 7"));
/// ```
pub fn parse_line(line: &[u8], number: u64) -> Result<Option<Datapoint>, LineError> {
    let Some(fields) = parse_fields(line, number)? else {
        return Ok(None);
    };
    let name = MetricName::parse(fields.metric).map_err(|e| LineError::name(number, line, e))?;
    Ok(Some(Datapoint {
        name,
        timestamp: fields.timestamp,
        value: fields.value,
    }))
}

/// A line's fields, numbers parsed, the metric name not validated yet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fields<'a> {
    /// The metric name as sent: validate it with [`MetricName::parse`] or
    /// [`crate::NameBatch::push`] (and report a refusal with [`LineError::name`]).
    pub metric: &'a str,
    /// As in [`Datapoint::timestamp`].
    pub timestamp: f64,
    /// As in [`Datapoint::value`].
    pub value: f64,
}

/// [`parse_line`] up to the name: every check but the name's, in the same order, so a
/// caller that validates the name next (into a [`crate::NameBatch`], without an
/// allocation) reports exactly what [`parse_line`] would.
pub fn parse_fields(line: &[u8], number: u64) -> Result<Option<Fields<'_>>, LineError> {
    let err = |kind| LineError::new(number, line, kind);
    let text = std::str::from_utf8(line).map_err(|_| err(LineErrorKind::NotUtf8))?;
    let [metric, value, timestamp] =
        three_fields(text).map_err(|found| err(LineErrorKind::FieldCount(found)))?;
    // carbon: `datapoint = (float(timestamp), float(value))`, timestamp first.
    let timestamp = parse_number(timestamp).ok_or_else(|| err(LineErrorKind::Timestamp))?;
    let value = parse_number(value).ok_or_else(|| err(LineErrorKind::Value))?;
    if value.is_nan() {
        return Ok(None);
    }
    if !timestamp.is_finite() {
        return Err(err(LineErrorKind::NonFiniteTimestamp));
    }
    Ok(Some(Fields {
        metric,
        timestamp,
        value,
    }))
}

/// `line.split()` when it gives exactly three fields, else how many it gives. An ASCII
/// line (nearly all) is cut byte by byte; any other goes through Python's definition of
/// whitespace for every character.
fn three_fields(text: &str) -> Result<[&str; 3], usize> {
    if !text.is_ascii() {
        return three_fields_general(text);
    }
    let bytes = text.as_bytes();
    let mut fields = [""; 3];
    let mut found = 0;
    let mut i = 0;
    while i < bytes.len() {
        if is_py_ascii_space(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !is_py_ascii_space(bytes[i]) {
            i += 1;
        }
        if found < 3 {
            // An ASCII string can be cut at any byte.
            fields[found] = &text[start..i];
        }
        found += 1;
    }
    if found == 3 { Ok(fields) } else { Err(found) }
}

fn three_fields_general(text: &str) -> Result<[&str; 3], usize> {
    let mut fields = text.split(is_py_whitespace).filter(|f| !f.is_empty());
    match (fields.next(), fields.next(), fields.next(), fields.next()) {
        (Some(a), Some(b), Some(c), None) => Ok([a, b, c]),
        _ => Err(text
            .split(is_py_whitespace)
            .filter(|f| !f.is_empty())
            .count()),
    }
}

/// [`is_py_whitespace`] for an ASCII byte.
fn is_py_ascii_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x1c..=0x1f | b' ')
}

/// Python's `float()` of a field, with a shortcut for what senders nearly always write
/// for a timestamp and often for a value: an optionally signed run of at most 19 digits,
/// whose integer is exact in a `u64` and so rounds to the same double as the decimal.
fn parse_number(s: &str) -> Option<f64> {
    let (negative, digits) = match s.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return parse_float(s);
    }
    let n = digits
        .iter()
        .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    let x = n as f64;
    Some(if negative { -x } else { x })
}

/// Carbon's "no timestamp" rule: `int(timestamp) == -1` (so any value in (-2, -1]) means
/// "use the time of receipt".
pub fn is_now_sentinel(timestamp: f64) -> bool {
    timestamp.trunc() == -1.0
}

/// Carbon's `MIN_TIMESTAMP_RESOLUTION`: `int(timestamp) // resolution * resolution`
/// (truncate toward zero, then floor), or the timestamp unchanged when `resolution` is 0.
/// Timestamps of 2^63 or more in magnitude are only truncated (whisper cannot store them).
pub fn truncate_to_resolution(timestamp: f64, resolution: u32) -> f64 {
    if resolution == 0 {
        return timestamp;
    }
    let t = timestamp.trunc();
    if t.abs() >= (1u64 << 63) as f64 || t.is_nan() {
        return t;
    }
    let r = i64::from(resolution);
    ((t as i64).div_euclid(r) * r) as f64
}

/// A complete line cut from a buffer by [`LineSplitter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based line number on the connection.
    pub number: u64,
    /// The line without `\n` and without one trailing `\r`.
    pub bytes: &'a [u8],
}

impl Line<'_> {
    /// [`parse_line`] on this line.
    pub fn parse(&self) -> Result<Option<Datapoint>, LineError> {
        parse_line(self.bytes, self.number)
    }
}

/// Cuts `\n`-terminated lines out of a connection's byte stream.
///
/// The state it keeps between reads is the line count and whether it is skipping the rest of
/// an over-long line; the bytes stay in the caller's buffer.
///
/// ```
/// use charcoal_protocol::plaintext::LineSplitter;
/// let mut splitter = LineSplitter::new(16);
/// let mut buf = b"a 1 2\nb 3".to_vec();
/// let mut lines = splitter.split(&buf);
/// assert_eq!(lines.next().unwrap().unwrap().bytes, b"a 1 2");
/// assert!(lines.next().is_none()); // "b 3" is incomplete, not invalid
/// let used = lines.consumed();
/// buf.drain(..used);
/// buf.extend_from_slice(b" 4\r\n");
/// let line = splitter.split(&buf).next().unwrap().unwrap();
/// assert_eq!((line.number, line.bytes), (2, &b"b 3 4"[..]));
/// ```
#[derive(Debug, Clone)]
pub struct LineSplitter {
    max_len: usize,
    discarding: bool,
    next_number: u64,
}

impl LineSplitter {
    /// A splitter for lines of at most `max_len` bytes before the `\n`.
    pub fn new(max_len: usize) -> LineSplitter {
        LineSplitter {
            max_len,
            discarding: false,
            next_number: 1,
        }
    }

    /// The lines complete in `buf`, which must start where the previous call's
    /// [`Lines::consumed`] ended.
    pub fn split<'s, 'b>(&'s mut self, buf: &'b [u8]) -> Lines<'s, 'b> {
        Lines {
            splitter: self,
            buf,
            pos: 0,
        }
    }

    fn take_number(&mut self) -> u64 {
        let n = self.next_number;
        self.next_number += 1;
        n
    }
}

/// Iterator over the lines of one buffer; see [`LineSplitter::split`].
///
/// Yields `Err` with [`LineErrorKind::TooLong`] once per over-long line, as soon as the line
/// is known to be too long (its end may not have arrived yet).
#[derive(Debug)]
pub struct Lines<'s, 'b> {
    splitter: &'s mut LineSplitter,
    buf: &'b [u8],
    pos: usize,
}

impl Lines<'_, '_> {
    /// How many bytes at the start of the buffer have been used up: drop them before the
    /// next read. Everything after is an incomplete line to keep.
    pub fn consumed(&self) -> usize {
        self.pos
    }
}

impl<'b> Iterator for Lines<'_, 'b> {
    type Item = Result<Line<'b>, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let max = self.splitter.max_len;
        loop {
            let rest = &self.buf[self.pos..];
            let newline = rest.iter().position(|&b| b == b'\n');
            if self.splitter.discarding {
                match newline {
                    Some(i) => {
                        self.pos += i + 1;
                        self.splitter.discarding = false;
                        continue;
                    }
                    None => {
                        self.pos = self.buf.len();
                        return None;
                    }
                }
            }
            return match newline {
                Some(i) => {
                    self.pos += i + 1;
                    let number = self.splitter.take_number();
                    let line = &rest[..i];
                    if i > max {
                        let kind = LineErrorKind::TooLong { len: i, max };
                        return Some(Err(LineError::new(number, line, kind)));
                    }
                    let bytes = line.strip_suffix(b"\r").unwrap_or(line);
                    Some(Ok(Line { number, bytes }))
                }
                None if rest.len() > max => {
                    // Cannot become a valid line: report now, skip to its end later.
                    self.pos = self.buf.len();
                    self.splitter.discarding = true;
                    let number = self.splitter.take_number();
                    let kind = LineErrorKind::TooLong {
                        len: rest.len(),
                        max,
                    };
                    Some(Err(LineError::new(number, rest, kind)))
                }
                None => None,
            };
        }
    }
}

/// The lines of one UDP datagram, as carbon's `MetricDatagramReceiver`: the datagram is
/// decoded as UTF-8 (an error for the whole datagram, as in carbon) and split like Python's
/// `str.splitlines()` (on `\n`, `\r`, `\r\n`, `\v`, `\f`, `\x1c`–`\x1e`, U+0085, U+2028,
/// U+2029; a last line without terminator counts).
pub fn datagram_lines(datagram: &[u8]) -> Result<Vec<&str>, LineError> {
    let text = std::str::from_utf8(datagram)
        .map_err(|_| LineError::new(1, datagram, LineErrorKind::NotUtf8))?;
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\u{0b}'
                | '\u{0c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if !is_break {
            continue;
        }
        lines.push(&text[start..i]);
        start = i + c.len_utf8();
        if c == '\r' && chars.peek().is_some_and(|&(_, n)| n == '\n') {
            chars.next();
            start += 1;
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests;
