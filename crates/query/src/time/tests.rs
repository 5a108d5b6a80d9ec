//! Cases whose expected values came from graphite-web 1.1.8's `parseATTime` with
//! `now = 1700000000` (2023-11-14T22:13:20Z, a Tuesday) unless a test says otherwise.

use super::*;

const NOW: i64 = 1_700_000_000;

fn utc() -> TimeZone {
    time_zone("UTC").unwrap()
}

#[test]
fn parse_at_time_relative_and_absolute() {
    let tz = utc();
    let f = |input: &str, want: i64| {
        assert_eq!(parse_at_time(input, NOW, &tz), Ok(want), "{input:?}");
    };
    f("", NOW);
    f("now", NOW);
    f("now-", NOW);
    f("-", NOW);
    f("-1h", 1_699_996_400);
    f("now-2d", 1_699_827_200);
    f("NOW - 1H", 1_699_996_400);
    f("  -1h  ", 1_699_996_400);
    f("-1h2min", 1_699_996_280);
    f("-1mon", 1_697_408_000);
    f("-1y", 1_668_464_000);
    f("-2w", 1_698_790_400);
    f("+1d", 1_700_086_400);
    f("-30seconds", NOW - 30);
    f("-1hours", NOW - 3600);
    f("-1hxyz", NOW - 3600);
    f("-3minutes", NOW - 180);
    f("-1months", NOW - 30 * 86400);
    f("-1years", NOW - 365 * 86400);
    f("1700000000", NOW);
    f("1_700_000_000", NOW);
    f("0", 0);
    // Eight digits that do not look like a date are epoch seconds.
    f("19000101", 19_000_101);
    f("20231301", 20_231_301);
    f("midnight", 1_699_920_000);
    f("noon", 1_699_963_200);
    f("teatime", 1_699_977_600);
    f("8am", 1_699_948_800);
    f("12am", 1_699_963_200);
    f("12pm", 1_699_920_000);
    f("3:30pm", 1_699_975_800);
    f("1:5", 1_699_923_900);
    f("-1:00pm+1h", 1_699_963_200);
    f("yesterday", 1_699_833_600);
    f("tomorrow", 1_700_006_400);
    f("midnight yesterday", 1_699_833_600);
    f("6pm tomorrow", 1_700_071_200);
    f("12:00_20240101", 1_704_110_400);
    f("20240101", 1_704_067_200);
    f("01/02/03", 1_041_465_600);
    f("1/1/69", 3_124_224_000);
    f("1/1/1969", 3_124_224_000);
    f("jan1", 1_672_531_200);
    f("jan1:30", 1_675_036_800);
    f("monday", 1_699_833_600);
    f("tue", 1_699_920_000);
    f("tuesday", 1_699_920_000);
}

#[test]
fn parse_at_time_errors() {
    let tz = utc();
    let f = |input: &str, want: &str| match parse_at_time(input, NOW, &tz) {
        Ok(v) => panic!("{input:?} parsed as {v}"),
        Err(e) => assert_eq!(e.to_string(), want, "{input:?}"),
    };
    f(
        "-5m",
        "cannot parse time '-5m': invalid offset unit 'm' (use s, min, h, d, w, mon or y)",
    );
    f(
        "-1",
        "cannot parse time '-1': invalid offset unit '' (use s, min, h, d, w, mon or y)",
    );
    f(
        "-1h-2min",
        "cannot parse time '-1h-2min': '' is not an integer",
    );
    f(
        "feb30",
        "cannot parse time 'feb30': day is out of range for month",
    );
    f(
        "20230230",
        "cannot parse time '20230230': day is out of range for month",
    );
    f("25:00", "cannot parse time '25:00': hour must be in 0..23");
    f(
        "apr",
        "cannot parse time 'apr': day of month required after month name",
    );
    f(
        "foo",
        "cannot parse time 'foo': unknown day reference 'foo'",
    );
    f(
        "nowx",
        "cannot parse time 'nowx': unknown day reference 'nowx'",
    );
    f(
        "1700000000-1h",
        "cannot parse time '1700000000-1h': unknown day reference '1700000000'",
    );
    f(
        "99999999999999",
        "cannot parse time '99999999999999': date value out of range",
    );
    f(
        "-99999999999999999999s",
        "cannot parse time '-99999999999999999999s': date value out of range",
    );
    f(
        "-1000000000d",
        "cannot parse time '-1000000000d': date value out of range",
    );
    f(
        "-3000y",
        "cannot parse time '-3000y': date value out of range",
    );
    f(
        "-1hé",
        "cannot parse time '-1hé': it has non-ASCII characters",
    );
}

#[test]
fn parse_time_offset_like_graphite() {
    let f = |input: &str, want: Option<i64>| {
        assert_eq!(parse_time_offset(input).ok(), want, "{input:?}");
    };
    f("", Some(0));
    f("1h", Some(3600));
    f("+1h", Some(3600));
    f("-1h", Some(-3600));
    f("-1h30min", Some(-5400));
    f("2w1d", Some(15 * 86400));
    f("1m", None);
    f("1H", None);
    f("h", None);
    f("x1h", None);
    f("1h-1h", None);
    f("999999999d", Some(999_999_999 * 86400));
    f("1000000000d", None);
}

#[test]
fn parse_at_time_in_a_dst_zone() {
    let ny = time_zone("america/new_york").unwrap();
    let f = |input: &str, now: i64, want: i64| {
        assert_eq!(
            parse_at_time(input, now, &ny),
            Ok(want),
            "{input:?} now={now}"
        );
    };
    // 2024-03-10 is the spring-forward day: 02:30 does not exist, pytz gives 03:30 EDT.
    f("02:30_20240310", NOW, 1_710_055_800);
    // 2024-11-03 01:30 happens twice: pytz (is_dst=False) picks the EST one.
    f("01:30_20241103", NOW, 1_730_615_400);
    f("midnight", NOW, 1_699_938_000);
    // now is 17:13 EST; midnight is local midnight, -1d is 86400 s.
    f("-1d", NOW, NOW - 86400);
}

#[test]
fn time_range_defaults_and_order() {
    let tz = utc();
    let f = |from: Option<&str>, until: Option<&str>, now: Option<&str>, want: (i64, i64, i64)| {
        let r = time_range(from, until, now, &tz, NOW).unwrap();
        assert_eq!((r.start, r.end, r.now), want, "{from:?} {until:?} {now:?}");
    };
    f(None, None, None, (NOW - 86400, NOW, NOW));
    f(Some("-1h"), None, None, (NOW - 3600, NOW, NOW));
    f(
        Some("-1h"),
        Some("-2h"),
        None,
        (NOW - 7200, NOW - 3600, NOW),
    );
    f(
        None,
        None,
        Some("-1h"),
        (NOW - 3600 - 86400, NOW - 3600, NOW - 3600),
    );
    f(
        Some("-1h"),
        None,
        Some("1000000"),
        (1_000_000 - 3600, 1_000_000, 1_000_000),
    );
    assert_eq!(
        time_range(Some("now"), None, None, &tz, NOW),
        Err(TimeError::EmptyRange { at: NOW })
    );
}

#[test]
fn time_zone_lookup() {
    assert!(time_zone("UTC").is_ok());
    assert!(time_zone("utc").is_ok());
    assert!(time_zone("Europe/Berlin").is_ok());
    assert!(time_zone("europe/berlin").is_ok());
    for bad in [
        "",
        "Nowhere/City",
        "../etc/passwd",
        "/etc/localtime",
        "Etc/Unknown",
    ] {
        assert!(time_zone(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn civil_round_trip() {
    for days in [-719_162, -1, 0, 1, 19_000, 2_932_896] {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days);
    }
    assert_eq!(days_from_civil(1, 1, 1) * DAY, MIN_SECS);
    assert_eq!(days_from_civil(9999, 12, 31) * DAY + DAY - 1, MAX_SECS);
}
