//! Local-time formatting as Python's `time.ctime(ts)` and
//! `time.strftime(fmt, time.localtime(ts))` print it.
//!
//! The Python whisper scripts print timestamps through these two functions
//! (`whisper-fetch.py --pretty`, `--time-format`, `whisper-dump.py`, ...), and
//! the Rust tools must produce byte-identical output; graphite-web labels a graph's time
//! axis with `strftime` in the request's zone. Python hands the work
//! to the C library, so this module reproduces glibc's behaviour in the `C`
//! locale: English day and month names, the `TZ` environment variable
//! selecting the time zone, glibc 2.36's flags and widths (`%-d`, `%_H`,
//! `%^a`, `%#Z`, `%10Y`, ...) with their quirks, the `E`/`O` modifiers
//! (meaningless in the `C` locale, but rejected where glibc rejects them),
//! and unknown conversions being copied to the output unchanged.
//!
//! Time zone rules come from jiff, which reads the same tzdata files as glibc.
//! [`ctime`] and [`strftime`] use [`TimeZone::system`], which honours `TZ`
//! like libc does (jiff caches the answer for a few minutes, so a change to
//! `TZ` made by the running process is not seen at once); [`ctime_in`] and
//! [`strftime_in`] take the zone explicitly.
//!
//! Timestamps beyond jiff's range (years -9999 to 9999, where Python raises
//! an error instead) are clamped to that range.

use jiff::{Timestamp, tz::TimeZone};

const WEEKDAY_ABBR: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const WEEKDAY_FULL: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTH_ABBR: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTH_FULL: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Python's `time.ctime(ts)` in the system time zone (`TZ` or
/// `/etc/localtime`): `Thu Nov 26 14:17:18 2026`, the day of the month padded
/// with a space to two characters.
pub fn ctime(ts: i64) -> String {
    ctime_in(ts, &TimeZone::system())
}

/// [`ctime`] in the given time zone.
///
/// ```
/// use charcoal_pyfmt::time::ctime_in;
/// use jiff::tz::TimeZone;
/// assert_eq!(ctime_in(0, &TimeZone::UTC), "Thu Jan  1 00:00:00 1970");
/// ```
pub fn ctime_in(ts: i64, tz: &TimeZone) -> String {
    let tm = LocalTime::new(ts, tz);
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        WEEKDAY_ABBR[tm.weekday],
        MONTH_ABBR[tm.month - 1],
        tm.day,
        tm.hour,
        tm.minute,
        tm.second,
        tm.year
    )
}

/// Python's `time.strftime(fmt, time.localtime(ts))` in the system time zone
/// (`TZ` or `/etc/localtime`) and the `C` locale.
///
/// Supports glibc's conversions `%a %A %b %B %c %C %d %D %e %F %g %G %h %H %I
/// %j %k %l %m %M %n %p %P %r %R %s %S %t %T %u %U %V %w %W %x %X %y %Y %z %Z
/// %%`, the flags `_ - 0 ^ #`, a field width and the `E` and `O` modifiers.
/// Anything else is copied through as glibc does.
///
/// One known difference: `%s` prints `ts`, while glibc prints
/// `mktime(localtime(ts))`, which differs for local times repeated by an
/// offset change that is not a DST change (such as New York's switch from
/// local mean time in 1883).
pub fn strftime(fmt: &str, ts: i64) -> String {
    strftime_in(fmt, ts, &TimeZone::system())
}

/// [`strftime`] in the given time zone.
///
/// ```
/// use charcoal_pyfmt::time::strftime_in;
/// use jiff::tz::TimeZone;
/// let s = strftime_in("%Y-%m-%d %H:%M:%S %Z", 86_400, &TimeZone::UTC);
/// assert_eq!(s, "1970-01-02 00:00:00 UTC");
/// ```
pub fn strftime_in(fmt: &str, ts: i64, tz: &TimeZone) -> String {
    let tm = LocalTime::new(ts, tz);
    let mut out = String::with_capacity(fmt.len() * 2);
    format_into(&mut out, fmt, &tm);
    out
}

/// The fields of C's `struct tm` that the conversions need.
#[derive(Debug)]
struct LocalTime {
    /// Seconds since the epoch, after clamping to jiff's range.
    timestamp: i64,
    year: i64,
    /// 1 to 12.
    month: usize,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    /// 0 (Sunday) to 6.
    weekday: usize,
    /// 0 to 365.
    day_of_year: i64,
    iso_year: i64,
    iso_week: i64,
    /// Seconds east of UTC.
    utc_offset: i64,
    abbreviation: String,
}

impl LocalTime {
    fn new(ts: i64, tz: &TimeZone) -> LocalTime {
        let timestamp = Timestamp::from_second(ts).unwrap_or(if ts < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        });
        let info = tz.to_offset_info(timestamp);
        let dt = info.offset().to_datetime(timestamp);
        let iso = dt.iso_week_date();
        LocalTime {
            timestamp: timestamp.as_second(),
            year: dt.year().into(),
            month: usize::try_from(dt.month()).expect("months are 1 to 12"),
            day: dt.day().into(),
            hour: dt.hour().into(),
            minute: dt.minute().into(),
            second: dt.second().into(),
            weekday: usize::try_from(dt.weekday().to_sunday_zero_offset())
                .expect("weekdays are 0 to 6"),
            day_of_year: i64::from(dt.day_of_year()) - 1,
            iso_year: iso.year().into(),
            iso_week: iso.week().into(),
            utc_offset: info.offset().seconds().into(),
            abbreviation: info.abbreviation().to_owned(),
        }
    }

    fn hour12(&self) -> i64 {
        match self.hour % 12 {
            0 => 12,
            h => h,
        }
    }
}

/// Flags and width of one conversion specification.
#[derive(Debug, Default)]
struct Spec {
    /// The last of the padding flags `_`, `-` and `0`, if any.
    pad: Option<char>,
    /// The `^` flag: upper-case the result.
    upper: bool,
    /// The `#` flag: swap the case of names.
    swap_case: bool,
    width: Option<usize>,
}

/// What a conversion produces before padding.
#[derive(Debug)]
enum Field {
    /// A number printed with at least `digits` digits; `space_pad` selects
    /// blanks instead of zeros as the default padding.
    Number {
        value: i64,
        digits: usize,
        space_pad: bool,
    },
    /// Text; `lower` forces lower case (for `%P`, `%#p` and `%#Z`) and wins
    /// over the `^` flag, `upper` is set by `%#a` and friends.
    Text {
        text: String,
        lower: bool,
        upper: bool,
    },
    /// `%z`: the UTC offset as a sign and `hhmm`.
    Offset { negative: bool, hhmm: i64 },
}

impl Field {
    fn number(value: i64, digits: usize) -> Field {
        Field::Number {
            value,
            digits,
            space_pad: false,
        }
    }

    fn space_padded(value: i64, digits: usize) -> Field {
        Field::Number {
            value,
            digits,
            space_pad: true,
        }
    }

    fn text(text: impl Into<String>) -> Field {
        Field::Text {
            text: text.into(),
            lower: false,
            upper: false,
        }
    }
}

/// Conversions that glibc accepts with the `E` modifier.
const E_CONVERSIONS: &str = "cCnpPrRstTuxXyYzZ%";
/// Conversions that glibc accepts with the `O` modifier.
const O_CONVERSIONS: &str = "bBCdegGhHIjklmMnpPrRsStTuUVwWyzZ%";

/// Appends `fmt` expanded for `tm` to `out`.
fn format_into(out: &mut String, fmt: &str, tm: &LocalTime) {
    let mut rest = fmt;
    while let Some(percent) = rest.find('%') {
        out.push_str(&rest[..percent]);
        rest = format_spec(out, &rest[percent..], tm);
    }
    out.push_str(rest);
}

/// Expands the conversion specification at the start of `spec` (which
/// begins with `%`) and returns the text after it.
///
/// A specification glibc does not understand is copied to the output as
/// far as it was read (up to and including the offending character), padded
/// to the field width, and expansion resumes after it.
fn format_spec<'f>(out: &mut String, spec: &'f str, tm: &LocalTime) -> &'f str {
    let mut parsed = Spec::default();
    let mut chars = spec.char_indices().skip(1).peekable();
    while let Some(&(_, c)) = chars.peek() {
        match c {
            '_' | '-' | '0' => parsed.pad = Some(c),
            '^' => parsed.upper = true,
            '#' => parsed.swap_case = true,
            _ => break,
        }
        chars.next();
    }
    while let Some(&(_, c)) = chars.peek() {
        let Some(digit) = c.to_digit(10) else { break };
        let digit = usize::try_from(digit).expect("a digit fits in usize");
        let width = parsed.width.unwrap_or(0);
        parsed.width = Some(width.saturating_mul(10).saturating_add(digit));
        chars.next();
    }
    let modifier = match chars.peek() {
        Some(&(_, m @ ('E' | 'O'))) => {
            chars.next();
            Some(m)
        }
        _ => None,
    };
    let Some((index, conversion)) = chars.next() else {
        // `%` (with flags or width) at the end: copied as is.
        emit_text(out, spec, spec.len(), &parsed);
        return "";
    };
    let end = index + conversion.len_utf8();
    let allowed = match modifier {
        Some('E') => E_CONVERSIONS.contains(conversion),
        Some(_) => O_CONVERSIONS.contains(conversion),
        None => true,
    };
    match convert(conversion, &parsed, tm).filter(|_| allowed) {
        Some(Field::Number {
            value,
            digits,
            space_pad,
        }) => emit_number(out, value, digits, space_pad, &parsed),
        Some(Field::Text { text, lower, upper }) => {
            let text = if lower {
                text.to_lowercase()
            } else if upper || parsed.upper {
                text.to_uppercase()
            } else {
                text
            };
            emit_text(out, &text, text.len(), &parsed);
        }
        Some(Field::Offset { negative, hhmm }) => {
            // glibc pads the sign and the digits to the width separately.
            let sign = if negative { "-" } else { "+" };
            emit_text(out, sign, 1, &parsed);
            emit_number(out, hhmm, 4, false, &parsed);
        }
        // glibc works on bytes: it copies the first byte of a multi-byte
        // character as the bad conversion and the rest as plain text, which
        // only matters for the width.
        None => emit_text(out, &spec[..end], index + 1, &parsed),
    }
    &spec[end..]
}

/// The field for one conversion character, or `None` if glibc does not know
/// it.
fn convert(conversion: char, spec: &Spec, tm: &LocalTime) -> Option<Field> {
    let name = |text: &str| Field::Text {
        text: text.to_owned(),
        lower: false,
        upper: spec.swap_case,
    };
    let composite = |fmt: &str| {
        let mut text = String::new();
        format_into(&mut text, fmt, tm);
        Field::text(text)
    };
    let weekday = i64::try_from(tm.weekday).expect("weekday fits");
    let field = match conversion {
        'a' => name(WEEKDAY_ABBR[tm.weekday]),
        'A' => name(WEEKDAY_FULL[tm.weekday]),
        'b' | 'h' => name(MONTH_ABBR[tm.month - 1]),
        'B' => name(MONTH_FULL[tm.month - 1]),
        'c' => composite("%a %b %e %H:%M:%S %Y"),
        'C' => Field::number(tm.year.div_euclid(100), 1),
        'd' => Field::number(tm.day, 2),
        'D' | 'x' => composite("%m/%d/%y"),
        'e' => Field::space_padded(tm.day, 2),
        'F' => composite("%Y-%m-%d"),
        'g' => Field::number(tm.iso_year.rem_euclid(100), 2),
        'G' => Field::number(tm.iso_year, 1),
        'H' => Field::number(tm.hour, 2),
        'I' => Field::number(tm.hour12(), 2),
        'j' => Field::number(tm.day_of_year + 1, 3),
        'k' => Field::space_padded(tm.hour, 2),
        'l' => Field::space_padded(tm.hour12(), 2),
        'm' => Field::number(i64::try_from(tm.month).expect("month fits"), 2),
        'M' => Field::number(tm.minute, 2),
        'n' => Field::text("\n"),
        'p' | 'P' => Field::Text {
            text: if tm.hour < 12 { "AM" } else { "PM" }.to_owned(),
            lower: conversion == 'P' || spec.swap_case,
            upper: false,
        },
        'r' => composite("%I:%M:%S %p"),
        'R' => composite("%H:%M"),
        // glibc prints `mktime` of the broken-down time, which is the
        // timestamp itself except in a repeated hour not due to DST (such
        // as the end of local mean time), and pads it like text.
        's' => Field::text(tm.timestamp.to_string()),
        'S' => Field::number(tm.second, 2),
        't' => Field::text("\t"),
        'T' | 'X' => composite("%H:%M:%S"),
        'u' => Field::number(if weekday == 0 { 7 } else { weekday }, 1),
        'U' => Field::number((tm.day_of_year + 7 - weekday) / 7, 2),
        'V' => Field::number(tm.iso_week, 2),
        'w' => Field::number(weekday, 1),
        'W' => Field::number((tm.day_of_year + 7 - (weekday + 6) % 7) / 7, 2),
        'y' => Field::number(tm.year.rem_euclid(100), 2),
        'Y' => Field::number(tm.year, 1),
        'z' => {
            // Whole minutes, truncated towards zero.
            let minutes = tm.utc_offset.abs() / 60;
            Field::Offset {
                negative: tm.utc_offset < 0,
                hhmm: minutes / 60 * 100 + minutes % 60,
            }
        }
        'Z' => Field::Text {
            text: tm.abbreviation.clone(),
            lower: spec.swap_case,
            upper: false,
        },
        '%' => Field::text("%"),
        _ => return None,
    };
    Some(field)
}

/// Appends `count` copies of `c`.
fn push_repeated(out: &mut String, c: char, count: usize) {
    out.extend(std::iter::repeat_n(c, count));
}

/// Appends text padded on the left to the field width, with zeros for the
/// `0` flag and blanks otherwise. `len` is the length glibc counts, in bytes.
fn emit_text(out: &mut String, text: &str, len: usize, spec: &Spec) {
    let width = spec.width.unwrap_or(0);
    let fill = if spec.pad == Some('0') { '0' } else { ' ' };
    push_repeated(out, fill, width.saturating_sub(len));
    out.push_str(text);
}

/// Appends a number as glibc 2.36 does: by default padded to at least
/// `digits` digits, or to the field width if larger, with zeros (blanks if
/// `space_pad` or the `_` flag); the `-` flag drops that padding but still
/// pads to an explicit width with blanks. A minus sign counts towards the
/// width and follows the padding.
fn emit_number(out: &mut String, value: i64, digits: usize, space_pad: bool, spec: &Spec) {
    let text = value.to_string();
    let pad = spec.pad.unwrap_or(if space_pad { '_' } else { '0' });
    let (width, fill) = match pad {
        '-' => (spec.width.unwrap_or(0), ' '),
        '_' => (digits.max(spec.width.unwrap_or(0)), ' '),
        _ => (digits.max(spec.width.unwrap_or(0)), '0'),
    };
    push_repeated(out, fill, width.saturating_sub(text.len()));
    out.push_str(&text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::run_python;

    /// Reads a JSON list of formats, a JSON list of `TZ` values and then one
    /// timestamp per line; prints, for every zone and timestamp, a JSON list
    /// of `ctime` followed by `strftime` with each format.
    const SCRIPT: &str = r#"
import json, os, sys, time
lines = sys.stdin.read().splitlines()
formats, zones = json.loads(lines[0]), json.loads(lines[1])
out = []
for zone in zones:
    os.environ['TZ'] = zone
    time.tzset()
    for line in lines[2:]:
        ts = int(line)
        tm = time.localtime(ts)
        out.append(json.dumps([time.ctime(ts)] + [time.strftime(f, tm) for f in formats]))
sys.stdout.write('\n'.join(out) + '\n')
"#;

    const ZONES: [&str; 2] = ["UTC", "America/New_York"];

    /// The formats to compare: every conversion, glibc's flag and width
    /// quirks, every conversion with the `E` and `O` modifiers, bad
    /// conversions and a `%` at the end.
    fn formats() -> Vec<String> {
        let mut formats: Vec<String> = [
            "%a %A %b %B %c %d %e %H %I %j %m %M %p %S %y %Y %Z %z %%",
            "%C %D %F %g %G %h %k %l %n %P %r %R %s %t %T %u %U %V %w %W %x %X",
            "%Y-%m-%d %H:%M:%S",
            "%-d %_H %5Y %10a %-10B %^a %^B %#b %#A %#p %^P %#Z %^Z %03e %_m %-j %-5d %-5e",
            "%4z|%_6z|%-z|%6z|%06z|%_z|%-6z|%08s|%_8s|%-8s|%8s|%+8s|%+4Y|%-3%|%08Z|%-8Z",
            "%-5Q|%5Q|%_5Q|%05Q|%_05d|%05_d|%^10c|%_10R|%-10T|%#^p|%^#a|%#^Z|%5C|%5EY|%E5Y",
            "%3% %_5S %^c %12D %012D %-12x %_3y %-3j %_3k %03l %-2u %5G %_4g %_3V %-U %4W",
            "literal \u{e9}t\u{e9} %Q %5Q %\u{e9} %4\u{e9} %_ %",
            "%5",
            "",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let conversions = "aAbBcCdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZ%Q";
        for modifier in ['E', 'O'] {
            let all: Vec<String> = conversions
                .chars()
                .map(|c| format!("%{modifier}{c}"))
                .collect();
            formats.push(all.join("|"));
        }
        formats
    }

    fn timestamps() -> Vec<i64> {
        let mut values = vec![
            0,
            1,
            -1,
            59,
            86_399,
            86_400,
            951_782_400,   // 2000-02-29
            978_307_200,   // 2001-01-01, a Monday
            1_000_000_000, // 2001-09-09
            1_104_537_600, // 2005-01-01, ISO week 53 of 2004
            1_230_768_000, // 2009-01-01, ISO week 1 of 2009
            1_710_053_999, // 2024-03-10 01:59:59 EST
            1_710_054_000, // 2024-03-10 03:00:00 EDT
            1_730_613_599, // 2024-11-03 01:59:59 EDT
            1_730_613_600, // 2024-11-03 01:00:00 EST
            1_764_166_638,
            i64::from(i32::MAX),
            i64::from(i32::MAX) + 1,
            i64::from(u32::MAX),
            -2_208_988_800,  // 1900-01-01
            -2_717_651_100,  // 1883-11-18, New York's LMT shortly before EST
            -5_364_662_400,  // 1800-01-01
            -30_610_224_000, // 1000-01-01
            -30_610_483_200, // 0999-12-29
            -62_135_424_000, // 0001-01-03
            -61_978_089_597, // 0005-12-31 00:00:03
        ];
        // SplitMix64 with a fixed seed.
        let mut state: u64 = 0x7157_0000_2026_1126;
        let mut next = move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        for i in 0..600 {
            let r = next();
            let ts = if i % 3 == 0 {
                // Anywhere from 1800 to 2106.
                (r % 9_660_000_000) as i64 - 5_364_662_400
            } else {
                // 0 to u32::MAX, the range of whisper timestamps.
                (r % (1 << 32)) as i64
            };
            values.push(ts);
        }
        values
    }

    #[test]
    fn known_values() {
        let ny = TimeZone::get("America/New_York").expect("tzdata is installed");
        assert_eq!(ctime_in(0, &TimeZone::UTC), "Thu Jan  1 00:00:00 1970");
        assert_eq!(ctime_in(0, &ny), "Wed Dec 31 19:00:00 1969");
        assert_eq!(
            ctime_in(i64::from(u32::MAX), &TimeZone::UTC),
            "Sun Feb  7 06:28:15 2106"
        );
        assert_eq!(strftime_in("%z %Z", 0, &ny), "-0500 EST");
        assert_eq!(
            strftime_in("%c", 0, &TimeZone::UTC),
            ctime_in(0, &TimeZone::UTC)
        );
        assert_eq!(strftime_in("%Q %", 0, &TimeZone::UTC), "%Q %");
        assert_eq!(strftime_in("%-d|%_H|%^a", 0, &TimeZone::UTC), "1| 0|THU");
    }

    #[test]
    fn system_zone_variants_match_explicit_zone() {
        let tz = TimeZone::system();
        assert_eq!(ctime(1_000_000_000), ctime_in(1_000_000_000, &tz));
        assert_eq!(
            strftime("%c %z", 1_000_000_000),
            strftime_in("%c %z", 1_000_000_000, &tz)
        );
    }

    #[test]
    fn matches_python() {
        let timestamps = timestamps();
        let formats = formats();
        let mut input = serde_json::to_string(&formats).expect("serialise formats");
        input.push('\n');
        input.push_str(&serde_json::to_string(&ZONES).expect("serialise zones"));
        input.push('\n');
        for ts in &timestamps {
            input.push_str(&ts.to_string());
            input.push('\n');
        }
        let output = run_python(SCRIPT, input);
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines.len(), ZONES.len() * timestamps.len());

        let mut failures = Vec::new();
        let mut rows = lines.iter();
        for zone in ZONES {
            let tz = TimeZone::get(zone).expect("tzdata is installed");
            for &ts in &timestamps {
                let row = rows.next().expect("one row per zone and timestamp");
                let expected: Vec<String> = serde_json::from_str(row).expect("python prints JSON");
                let mut actual = vec![ctime_in(ts, &tz)];
                actual.extend(formats.iter().map(|f| strftime_in(f, ts, &tz)));
                assert_eq!(expected.len(), actual.len());
                for (i, (want, got)) in expected.iter().zip(&actual).enumerate() {
                    if want != got {
                        let what = match i {
                            0 => "ctime".to_owned(),
                            _ => format!("strftime({:?})", formats[i - 1]),
                        };
                        failures.push(format!(
                            "TZ={zone} ts={ts} {what}: python {want:?}, rust {got:?}"
                        ));
                    }
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} mismatches, first ones:\n{}",
            failures.len(),
            failures[..failures.len().min(20)].join("\n")
        );
    }
}
