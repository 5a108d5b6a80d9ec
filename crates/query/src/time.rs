//! graphite-web's time grammar for `from`, `until` and `now` (`render/attime.py`).
//!
//! Operators and Grafana send these strings unchanged from graphite-web days (`-1h`,
//! `now-7d`, `midnight yesterday`, `20240101`, `1700000000`), so the rules are graphite-web
//! 1.1.8's, step by step (compat notes §3.2):
//!
//! 1. The input is stripped, lower-cased, and `_`, `,` and spaces are removed.
//! 2. All digits: epoch seconds, unless it is 8 digits that look like `YYYYMMDD`
//!    (year > 1900, month < 13, day < 32).
//! 3. Split at the first `+`, else the first `-`, into a *reference* and an *offset*.
//! 4. Reference: empty or `now` is `now`. Otherwise an optional time of day (`HH:MM`,
//!    `HH:MMam`/`pm`, `Ham`, `Hpm`, `noon`, `midnight`, `teatime`) then an optional day
//!    (`yesterday`, `today`, `tomorrow`, `MM/DD/YY[YY]`, `YYYYMMDD`, a month name and day
//!    like `jan1`/`february14`, or a weekday meaning the most recent such day, today
//!    included), in the time zone, seconds zeroed.
//! 5. Offset: a sign, then `<digits><letters>` repeated; units by prefix: `s`, `min`, `h`,
//!    `d`, `w`, `mon` (30 days), `y` (365 days). `m` alone is an error.
//!
//! Quirks kept because graphite-web has them: `12am` is noon and `12pm` is midnight
//! (`(h + 12) % 24`); `MM/DD/YY` years below 1970 after adding 1900 get another 100
//! (`1/1/69` is 2069, and so is `1/1/1969`); a month name takes its day from the last one
//! or two digits wherever they are (`jan1:30` is January 30); `-1h-2min` is an error (one
//! sign for all parts: `-1h2min`); the offset is added to the instant, so `-1d` is always
//! 86400 s even across a DST change.
//!
//! Local times are resolved like pytz's `localize(is_dst=False)`: in a DST gap the offset
//! from before the gap applies (02:30 on a spring-forward day is 03:30 DST); in a fold the
//! standard-time (second) occurrence wins. Results that Python's `datetime` cannot hold
//! (outside years 1–9999) are errors, as they are in graphite-web.
//!
//! # Differs from graphite-web
//!
//! - Inputs with non-ASCII characters left after lower-casing are refused. Python accepts
//!   a few: non-ASCII decimal digits (`١٧`), Unicode spaces inside numbers, and non-ASCII
//!   letters at the end of a unit name (`-1hé`).
//! - Time zones come from the system tz database through `jiff`, which applies each zone's
//!   current rules forever. pytz reads only the 32-bit transition table, so for local
//!   references after 2037 it keeps the last transition's offset (no DST: 2040-07-01 in New
//!   York is EST there, EDT here) and before 1901-12-13 it keeps the zone's earliest offset
//!   rounded to the minute (New York in 1890 is LMT −4:56 there, EST here, as the tz
//!   database records). Relative times (`-1y`) are unaffected: they move instants.

use jiff::Timestamp;
use jiff::tz::AmbiguousOffset;
/// The time zone type every function here takes (re-exported from `jiff`).
pub use jiff::tz::TimeZone;

/// Why a time string, time range or time zone is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// Characters other than ASCII remain after lower-casing.
    #[error("cannot parse time '{input}': it has non-ASCII characters")]
    NonAscii {
        /// The input.
        input: String,
    },
    /// A part that must be an integer is not one.
    #[error("cannot parse time '{input}': '{text}' is not an integer")]
    InvalidNumber {
        /// The input.
        input: String,
        /// The part.
        text: String,
    },
    /// An offset does not start with `+`, `-` or a digit.
    #[error("cannot parse time offset '{input}': it must start with '+', '-' or a digit")]
    InvalidOffset {
        /// The input.
        input: String,
    },
    /// An offset unit is not one graphite-web knows.
    #[error(
        "cannot parse time '{input}': invalid offset unit '{unit}' (use s, min, h, d, w, mon or y)"
    )]
    InvalidOffsetUnit {
        /// The input.
        input: String,
        /// The unit as written (`m` is the usual one: it is not minutes).
        unit: String,
    },
    /// A reference that is neither a time of day nor a day.
    #[error("cannot parse time '{input}': unknown day reference '{reference}'")]
    UnknownReference {
        /// The input.
        input: String,
        /// The reference part (before the offset), normalized.
        reference: String,
    },
    /// A month name without a day.
    #[error("cannot parse time '{input}': day of month required after month name")]
    DayOfMonthRequired {
        /// The input.
        input: String,
    },
    /// A date or time of day that does not exist (`20230230`, `25:00`).
    #[error("cannot parse time '{input}': {reason}")]
    InvalidDate {
        /// The input.
        input: String,
        /// What is wrong, in Python's words (`day is out of range for month`).
        reason: String,
    },
    /// The result (or a step on the way) is outside years 1–9999.
    #[error("cannot parse time '{input}': date value out of range")]
    OutOfRange {
        /// The input.
        input: String,
    },
    /// `from` and `until` are the same second.
    #[error("invalid empty time range: from and until are both {at}")]
    EmptyRange {
        /// The epoch second both resolved to.
        at: i64,
    },
    /// A `tz` the time zone database does not have.
    #[error("unknown time zone '{name}'")]
    UnknownTimeZone {
        /// The name.
        name: String,
    },
}

/// A resolved `from`/`until` pair, ordered (graphite-web swaps them if `from` is later).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// The earlier of `from` and `until`, epoch seconds.
    pub start: i64,
    /// The later of the two, epoch seconds.
    pub end: i64,
    /// The `now` the relative times were resolved against, epoch seconds.
    pub now: i64,
}

/// Resolves a render request's `from`, `until` and `now` as graphite-web's
/// `parseOptions` does: `now` is parsed against `clock` (the current time); `until`
/// defaults to `now` and `from` to `-1d`, both relative to `now`; the pair is ordered; an
/// empty range is an error.
pub fn time_range(
    from: Option<&str>,
    until: Option<&str>,
    now: Option<&str>,
    tz: &TimeZone,
    clock: i64,
) -> Result<TimeRange, TimeError> {
    let now = match now {
        Some(s) => parse_at_time(s, clock, tz)?,
        None => clock,
    };
    let until = match until {
        Some(s) => parse_at_time(s, now, tz)?,
        None => now,
    };
    let from = match from {
        Some(s) => parse_at_time(s, now, tz)?,
        None => parse_at_time("-1d", now, tz)?,
    };
    if from == until {
        return Err(TimeError::EmptyRange { at: from });
    }
    Ok(TimeRange {
        start: from.min(until),
        end: from.max(until),
        now,
    })
}

/// The time zone named `name`, looked up case-insensitively in the system tz database
/// (`UTC` in any case is UTC), as `pytz.timezone` does. graphite-web ignores an unknown
/// `tz` and uses its default; the caller decides.
pub fn time_zone(name: &str) -> Result<TimeZone, TimeError> {
    let unknown = || TimeError::UnknownTimeZone {
        name: name.to_owned(),
    };
    if name.eq_ignore_ascii_case("utc") {
        return Ok(TimeZone::UTC);
    }
    let plausible = !name.is_empty()
        && !name.starts_with('/')
        && !name.split('/').any(|part| part.is_empty() || part == "..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-/".contains(&b));
    if !plausible || name.eq_ignore_ascii_case("etc/unknown") {
        return Err(unknown());
    }
    jiff::tz::db().get(name).map_err(|_| unknown())
}

/// Python's `datetime` range, as naive seconds since 1970-01-01T00:00:00.
const MIN_SECS: i64 = -62_135_596_800; // 0001-01-01T00:00:00
const MAX_SECS: i64 = 253_402_300_799; // 9999-12-31T23:59:59
const DAY: i64 = 86_400;
/// `timedelta`'s limit on days.
const MAX_DELTA_DAYS: i128 = 999_999_999;

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Parses a time string as graphite-web's `parseATTime(s, tz, now)`, with `now` in epoch
/// seconds, and returns epoch seconds.
///
/// ```
/// use charcoal_query::time::{parse_at_time, time_zone};
///
/// let utc = time_zone("UTC").unwrap();
/// let now = 1_700_000_000; // 2023-11-14T22:13:20Z, a Tuesday
/// assert_eq!(parse_at_time("-1h", now, &utc), Ok(now - 3600));
/// assert_eq!(parse_at_time("now-2d", now, &utc), Ok(now - 2 * 86400));
/// assert_eq!(parse_at_time("midnight", now, &utc), Ok(1_699_920_000));
/// assert_eq!(parse_at_time("12:00_20240101", now, &utc), Ok(1_704_110_400));
/// assert_eq!(parse_at_time("1700000000", now, &utc), Ok(now));
/// assert!(parse_at_time("-5m", now, &utc).is_err()); // `m` is not a unit
/// ```
pub fn parse_at_time(s: &str, now: i64, tz: &TimeZone) -> Result<i64, TimeError> {
    let input = s;
    let s: String = s
        .trim_matches(is_py_space)
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, '_' | ',' | ' '))
        .collect();
    if !s.is_ascii() {
        return Err(TimeError::NonAscii {
            input: input.to_owned(),
        });
    }
    let cx = Cx { input, tz };
    if is_digits(&s) {
        let yyyymmdd = s.len() == 8
            && cx.int(&s[..4])? > 1900
            && cx.int(&s[4..6])? < 13
            && cx.int(&s[6..])? < 32;
        if !yyyymmdd {
            return cx.epoch(&s);
        }
    }
    let (reference, offset) = match s.find('+').or_else(|| s.find('-')) {
        Some(i) => (&s[..i], &s[i..]),
        None => (&s[..], ""),
    };
    let base = cx.reference(reference, now)?;
    let delta = cx.offset(offset)?;
    cx.add(base, delta)
}

/// Parses an offset as graphite-web's `parseTimeOffset` (used by `timeShift`, `summarize`,
/// `hitcount` and the like): optional sign, then `<digits><unit>` repeated. Returns
/// seconds. Unlike [`parse_at_time`] nothing is lower-cased or removed: `1H` is an error.
///
/// ```
/// use charcoal_query::time::parse_time_offset;
///
/// assert_eq!(parse_time_offset("-1h30min"), Ok(-5400));
/// assert_eq!(parse_time_offset("5min"), Ok(300));
/// assert_eq!(parse_time_offset("1mon"), Ok(30 * 86400));
/// assert!(parse_time_offset("1m").is_err());
/// ```
pub fn parse_time_offset(s: &str) -> Result<i64, TimeError> {
    if !s.is_ascii() {
        return Err(TimeError::NonAscii {
            input: s.to_owned(),
        });
    }
    let cx = Cx {
        input: s,
        tz: &TimeZone::UTC,
    };
    cx.offset(s)
}

/// Python's `str.isspace()`, what `str.strip()` strips.
fn is_py_space(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\u{1c}'..='\u{1f}' | ' ') || (!c.is_ascii() && c.is_whitespace())
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A reference resolved to an aware datetime: its instant and its local wall-clock
/// reading (naive seconds) under the offset it was given.
#[derive(Clone, Copy, Debug)]
struct Aware {
    utc: i64,
    wall: i64,
}

/// The parse of one input: its text for errors and the zone.
struct Cx<'a> {
    input: &'a str,
    tz: &'a TimeZone,
}

impl Cx<'_> {
    fn out_of_range(&self) -> TimeError {
        TimeError::OutOfRange {
            input: self.input.to_owned(),
        }
    }

    fn invalid_date(&self, reason: impl Into<String>) -> TimeError {
        TimeError::InvalidDate {
            input: self.input.to_owned(),
            reason: reason.into(),
        }
    }

    /// Python's `int(text)` for ASCII text. Values beyond ±10^18 are out of range for
    /// every use here (Python then fails later, on the date).
    fn int(&self, text: &str) -> Result<i64, TimeError> {
        let bad = || TimeError::InvalidNumber {
            input: self.input.to_owned(),
            text: text.to_owned(),
        };
        let t = text.trim_matches(is_py_space);
        let (neg, digits) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let b = digits.as_bytes();
        let valid = !b.is_empty()
            && b[0].is_ascii_digit()
            && b[b.len() - 1].is_ascii_digit()
            && b.iter().all(|c| c.is_ascii_digit() || *c == b'_')
            && !digits.contains("__");
        if !valid {
            return Err(bad());
        }
        let mut v: i64 = 0;
        for c in b.iter().filter(|c| c.is_ascii_digit()) {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(c - b'0')))
                .filter(|v| *v <= 1_000_000_000_000_000_000)
                .ok_or_else(|| self.out_of_range())?;
        }
        Ok(if neg { -v } else { v })
    }

    /// The offset of the zone at instant `utc` (in range).
    fn offset_at(&self, utc: i64) -> i64 {
        Timestamp::from_second(utc).map_or(0, |ts| i64::from(self.tz.to_offset(ts).seconds()))
    }

    /// Whether pytz would give this zone a transition table (`DstTzInfo`) rather than a
    /// fixed offset; only such zones look a day either side of a date when localizing.
    fn has_transitions(&self) -> bool {
        self.tz.following(Timestamp::MIN).next().is_some()
    }

    /// `datetime.fromtimestamp(n, tz)`.
    fn epoch(&self, digits: &str) -> Result<i64, TimeError> {
        let n = self.int(digits)?;
        if !(MIN_SECS..=MAX_SECS).contains(&n)
            || !(MIN_SECS..=MAX_SECS).contains(&(n + self.offset_at(n)))
        {
            return Err(self.out_of_range());
        }
        Ok(n)
    }

    /// `now` as pytz gives it to `parseTimeReference`: the instant and its local reading.
    fn now(&self, now: i64) -> Result<Aware, TimeError> {
        if !(MIN_SECS..=MAX_SECS).contains(&now) {
            return Err(self.out_of_range());
        }
        let wall = now + self.offset_at(now);
        if !(MIN_SECS..=MAX_SECS).contains(&wall) {
            return Err(self.out_of_range());
        }
        Ok(Aware { utc: now, wall })
    }

    /// `parseTimeReference(ref, tz, now)`.
    fn reference(&self, reference: &str, now: i64) -> Result<Aware, TimeError> {
        let now = self.now(now)?;
        if reference.is_empty() || reference == "now" {
            return Ok(now);
        }
        let mut r = reference;
        let (mut hour, mut minute) = (0, 0);
        if let Some(i) = r.find(':').filter(|i| (1..3).contains(i)) {
            hour = self.int(&r[..i])?;
            let m_end = (i + 3).min(r.len());
            minute = self.int(&r[i + 1..m_end])?;
            r = &r[m_end..];
            if let Some(rest) = r.strip_prefix("am") {
                r = rest;
            } else if let Some(rest) = r.strip_prefix("pm") {
                hour = (hour + 12).rem_euclid(24);
                r = rest;
            }
        }
        if let Some(i) = r.find("am").filter(|i| (1..3).contains(i)) {
            hour = self.int(&r[..i])?;
            r = &r[i + 2..];
        }
        if let Some(i) = r.find("pm").filter(|i| (1..3).contains(i)) {
            hour = (self.int(&r[..i])? + 12).rem_euclid(24);
            r = &r[i + 2..];
        }
        if let Some(rest) = r.strip_prefix("noon") {
            (hour, minute, r) = (12, 0, rest);
        } else if let Some(rest) = r.strip_prefix("midnight") {
            (hour, minute, r) = (0, 0, rest);
        } else if let Some(rest) = r.strip_prefix("teatime") {
            (hour, minute, r) = (16, 0, rest);
        }

        // `now.replace(hour=hour, minute=minute, second=0, microsecond=0, tzinfo=None)`
        if !(0..24).contains(&hour) {
            return Err(self.invalid_date("hour must be in 0..23"));
        }
        if !(0..60).contains(&minute) {
            return Err(self.invalid_date("minute must be in 0..59"));
        }
        let today = now.wall.div_euclid(DAY);
        let (year, _, _) = civil_from_days(today);
        let mut date = today * DAY + hour * 3600 + minute * 60;

        if matches!(r, "yesterday" | "today" | "tomorrow") {
            date += match r {
                "yesterday" => -DAY,
                "tomorrow" => DAY,
                _ => 0,
            };
            if !(MIN_SECS..=MAX_SECS).contains(&date) {
                return Err(self.out_of_range());
            }
        } else if r.matches('/').count() == 2 {
            let mut parts = r.split('/');
            let mut next = || self.int(parts.next().unwrap_or(""));
            let (m, d, mut y) = (next()?, next()?, next()?);
            if y < 1900 {
                y += 1900;
            }
            if y < 1970 {
                y += 100;
            }
            date = self.naive(y, m, d, hour, minute)?;
        } else if r.len() == 8 && is_digits(r) {
            let (y, m, d) = (self.int(&r[..4])?, self.int(&r[4..6])?, self.int(&r[6..])?);
            date = self.naive(y, m, d, hour, minute)?;
        } else if let Some(month) = r.get(..3).and_then(|p| MONTHS.iter().position(|m| *m == p)) {
            let last2 = &r[r.len() - 2..];
            let day = if is_digits(last2) {
                self.int(last2)?
            } else if is_digits(&r[r.len() - 1..]) {
                self.int(&r[r.len() - 1..])?
            } else {
                return Err(TimeError::DayOfMonthRequired {
                    input: self.input.to_owned(),
                });
            };
            date = self.naive(year, month as i64 + 1, day, hour, minute)?;
        } else if let Some(want) = r
            .get(..3)
            .and_then(|p| WEEKDAYS.iter().position(|d| *d == p))
        {
            // 1970-01-01 was a Thursday (index 4).
            let today = (date.div_euclid(DAY) + 4).rem_euclid(7);
            let back = (today - want as i64).rem_euclid(7);
            date -= back * DAY;
            if date < MIN_SECS {
                return Err(self.out_of_range());
            }
        } else if !r.is_empty() {
            return Err(TimeError::UnknownReference {
                input: self.input.to_owned(),
                reference: reference.to_owned(),
            });
        }
        self.localize(date)
    }

    /// `datetime(year, month, day, hour, minute)`, as naive seconds.
    fn naive(&self, y: i64, m: i64, d: i64, hour: i64, minute: i64) -> Result<i64, TimeError> {
        if !(1..=9999).contains(&y) {
            return Err(self.invalid_date(format!("year {y} is out of range")));
        }
        if !(1..=12).contains(&m) {
            return Err(self.invalid_date("month must be in 1..12"));
        }
        if !(1..=days_in_month(y, m)).contains(&d) {
            return Err(self.invalid_date("day is out of range for month"));
        }
        Ok(days_from_civil(y, m, d) * DAY + hour * 3600 + minute * 60)
    }

    /// pytz's `tz.localize(naive)` (`is_dst=False`).
    fn localize(&self, wall: i64) -> Result<Aware, TimeError> {
        if self.has_transitions() && !(MIN_SECS + DAY..=MAX_SECS - DAY).contains(&wall) {
            // pytz looks at the date a day either side; Python overflows.
            return Err(self.out_of_range());
        }
        let (y, m, d) = civil_from_days(wall.div_euclid(DAY));
        let secs = wall.rem_euclid(DAY);
        let dt = jiff::civil::DateTime::new(
            y as i16,
            m as i8,
            d as i8,
            (secs / 3600) as i8,
            (secs / 60 % 60) as i8,
            (secs % 60) as i8,
            0,
        )
        .map_err(|_| self.out_of_range())?;
        let offset = match self.tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => i64::from(offset.seconds()),
            // No such wall time: pytz winds the clock back past the gap and forward again,
            // which keeps the offset from before the gap.
            AmbiguousOffset::Gap { before, .. } => i64::from(before.seconds()),
            // Two such wall times: pytz keeps the one not in DST; if that does not decide,
            // the earliest instant.
            AmbiguousOffset::Fold { before, after } => {
                let (b, a) = (i64::from(before.seconds()), i64::from(after.seconds()));
                let dst = |off: i64| {
                    Timestamp::from_second(wall - off)
                        .is_ok_and(|ts| self.tz.to_offset_info(ts).dst().is_dst())
                };
                match (dst(b), dst(a)) {
                    (false, true) => b,
                    (true, false) => a,
                    _ => b.max(a),
                }
            }
        };
        Ok(Aware {
            utc: wall - offset,
            wall,
        })
    }

    /// `tz.normalize(aware + timedelta(seconds=delta))`, then the epoch second.
    fn add(&self, base: Aware, delta: i64) -> Result<i64, TimeError> {
        let wall = base.wall + delta;
        let utc = base.utc + delta;
        let in_range = |t: i64| (MIN_SECS..=MAX_SECS).contains(&t);
        if !in_range(wall) || !in_range(utc) || !in_range(utc + self.offset_at(utc)) {
            return Err(self.out_of_range());
        }
        Ok(utc)
    }

    /// `parseTimeOffset(offset)`, in seconds.
    fn offset(&self, offset: &str) -> Result<i64, TimeError> {
        let Some(first) = offset.bytes().next() else {
            return Ok(0);
        };
        let (sign, mut rest): (i128, &str) = match first {
            b'0'..=b'9' => (1, offset),
            b'+' => (1, &offset[1..]),
            b'-' => (-1, &offset[1..]),
            _ => {
                return Err(TimeError::InvalidOffset {
                    input: self.input.to_owned(),
                });
            }
        };
        let mut total: i128 = 0;
        let check = |secs: i128| {
            if secs.div_euclid(DAY as i128).abs() > MAX_DELTA_DAYS {
                Err(self.out_of_range())
            } else {
                Ok(secs)
            }
        };
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let num = i128::from(self.int(&rest[..digits])?);
            rest = &rest[digits..];
            let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            let unit = &rest[..letters];
            rest = &rest[letters..];
            let unit_secs: i128 = if unit.starts_with('s') {
                1
            } else if unit.starts_with("min") {
                60
            } else if unit.starts_with('h') {
                3600
            } else if unit.starts_with('d') {
                DAY as i128
            } else if unit.starts_with('w') {
                7 * DAY as i128
            } else if unit.starts_with("mon") {
                30 * DAY as i128
            } else if unit.starts_with('y') {
                365 * DAY as i128
            } else {
                return Err(TimeError::InvalidOffsetUnit {
                    input: self.input.to_owned(),
                    unit: unit.to_owned(),
                });
            };
            total = check(total + check(sign * num * unit_secs)?)?;
        }
        Ok(total as i64)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests;
