//! What the fuzz targets check, shared by `fuzz/fuzz_targets/*.rs` and the stable replay
//! test (`tests/fuzz_regressions.rs`), so a saved crash input is checked the same way.
#![allow(dead_code)]

use std::sync::OnceLock;

use charcoal_query::ast::{Expr, ExprKind, Span, Target};
use charcoal_query::time::TimeZone;
use charcoal_query::{
    ParseError, expand_templates, parse_at_time, parse_target as parse, parse_time_offset,
    time_range, time_zone,
};

/// Python's datetime range, epoch seconds (years 1 to 9999).
const MIN_SECS: i64 = -62_135_596_800;
const MAX_SECS: i64 = 253_402_300_799;

/// `data` as a target: never panics; every span of an accepted target indexes its source;
/// the normalized text of a target typed without backslashes parses to the same normalized
/// text; template expansion never panics; errors point inside the source.
pub(crate) fn parse_target(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    match parse(input) {
        Ok(t) => {
            check_spans(&t, t.expr());
            let printed = t.to_string();
            if !t.source().contains('\\') {
                let again = parse(&printed)
                    .unwrap_or_else(|e| panic!("{input:?} printed as {printed:?}: {e}"));
                assert_eq!(again.to_string(), printed, "{input:?}");
            }
            let params = [
                ("1".to_string(), "2.5".to_string()),
                ("x".into(), "a.b".into()),
            ];
            if let Ok(e) = expand_templates(t.expr(), &params) {
                let _ = e.to_string();
            }
        }
        Err(e) => {
            let len = match &e {
                ParseError::Syntax { input, .. } | ParseError::TooDeep { input, .. } => input.len(),
                _ => 0,
            };
            assert!(e.pos() <= len, "{input:?}: {e}");
            let _ = e.to_string();
        }
    }
}

fn check_span(t: &Target, span: Span) {
    assert!(
        span.start <= span.end && t.source().get(span.start..span.end).is_some(),
        "{span:?} outside {:?}",
        t.source()
    );
}

fn check_spans(t: &Target, e: &Expr) {
    check_span(t, e.span);
    match &e.kind {
        ExprKind::Call(c) => {
            check_span(t, c.span);
            assert!(t.text(c.span).starts_with(&c.name));
            assert!(t.text(c.span).ends_with(')'));
            for a in &c.args {
                check_spans(t, a);
            }
            for k in &c.kwargs {
                check_span(t, k.span);
                check_spans(t, &k.value);
            }
        }
        ExprKind::Template(tpl) => {
            check_spans(t, &tpl.inner);
            for a in &tpl.args {
                check_spans(t, a);
            }
            for k in &tpl.kwargs {
                check_spans(t, &k.value);
            }
        }
        _ => {}
    }
}

/// `data` as `now` (8 bytes), a zone (1 byte) and a time string: never panics; accepted
/// times are inside Python's datetime range.
pub(crate) fn parse_time(data: &[u8]) {
    static ZONES: OnceLock<Vec<TimeZone>> = OnceLock::new();
    let zones = ZONES.get_or_init(|| {
        [
            "UTC",
            "America/New_York",
            "Australia/Lord_Howe",
            "Asia/Kolkata",
            "Etc/GMT+12",
            "Pacific/Kiritimati",
        ]
        .iter()
        .map(|n| time_zone(n).expect(n))
        .collect()
    });
    if data.len() < 9 {
        return;
    }
    let raw = u64::from_le_bytes(data[..8].try_into().unwrap());
    let now = MIN_SECS + (raw % (MAX_SECS - MIN_SECS + 1) as u64) as i64;
    let tz = &zones[usize::from(data[8]) % zones.len()];
    let Ok(s) = std::str::from_utf8(&data[9..]) else {
        return;
    };
    match parse_at_time(s, now, tz) {
        Ok(v) => assert!((MIN_SECS..=MAX_SECS).contains(&v), "{s:?} -> {v}"),
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if let Ok(v) = parse_time_offset(s) {
        assert!(
            v.unsigned_abs() <= 999_999_999 * 86_400 + 86_399,
            "{s:?} -> {v}"
        );
    }
    if let Ok(r) = time_range(Some(s), Some("-1h"), Some(s), tz, now) {
        assert!(r.start < r.end);
    }
    if s.len() < 48 {
        let _ = time_zone(s);
    }
}
