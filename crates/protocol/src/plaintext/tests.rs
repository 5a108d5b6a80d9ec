use super::*;

#[test]
fn lines() {
    let f = |line: &str, want: Result<Option<(&str, f64, f64)>, LineErrorKind>| {
        let got = parse_line(line.as_bytes(), 1)
            .map(|p| p.map(|p| (p.name.into_string(), p.timestamp, p.value)))
            .map_err(|e| e.kind);
        let want = want.map(|p| p.map(|(n, t, v)| (n.to_owned(), t, v)));
        assert_eq!(got, want, "{line:?}");
    };
    f("a.b 1 1700000000", Ok(Some(("a.b", 1700000000.0, 1.0))));
    f(
        "  a.b\t1.5   1700000000.25  \r",
        Ok(Some(("a.b", 1700000000.25, 1.5))),
    );
    f("a.b 1e3 +17", Ok(Some(("a.b", 17.0, 1000.0))));
    f("a.b 1_000 -1", Ok(Some(("a.b", -1.0, 1000.0))));
    f("a.b inf 1", Ok(Some(("a.b", 1.0, f64::INFINITY))));
    f("a.b -Infinity 1", Ok(Some(("a.b", 1.0, f64::NEG_INFINITY))));
    f("a..b 1 1", Ok(Some(("a.b", 1.0, 1.0))));
    f("a;z=1;b=2 1 1", Ok(Some(("a;b=2;z=1", 1.0, 1.0))));
    f("a.b\u{a0}1\u{3000}2", Ok(Some(("a.b", 2.0, 1.0))));
    f("a.b\x1c1\x1f2", Ok(Some(("a.b", 2.0, 1.0))));
    f("a.b nan 1", Ok(None));
    f("a.b NaN inf", Ok(None));
    f("a.b nan x", Err(LineErrorKind::Timestamp));
    f("../etc nan 1", Ok(None));
    f("", Err(LineErrorKind::FieldCount(0)));
    f("   ", Err(LineErrorKind::FieldCount(0)));
    f("a.b 1", Err(LineErrorKind::FieldCount(2)));
    f("a.b 1 2 3", Err(LineErrorKind::FieldCount(4)));
    f("a.b x 1", Err(LineErrorKind::Value));
    f("a.b 1 x", Err(LineErrorKind::Timestamp));
    f("a.b x x", Err(LineErrorKind::Timestamp));
    f("a.b 1 inf", Err(LineErrorKind::NonFiniteTimestamp));
    f("a.b 1 nan", Err(LineErrorKind::NonFiniteTimestamp));
    f("a.b 0x10 1", Err(LineErrorKind::Value));
    f(
        "a/b 1 1",
        Err(LineErrorKind::Name(NameError::PathSeparator { ch: '/' })),
    );
    f(
        "a.b\0 1 1",
        Err(LineErrorKind::Name(NameError::ControlChar {
            ch: '\0',
            offset: 3,
        })),
    );
}

#[test]
fn not_utf8() {
    let err = parse_line(b"a\xff 1 1", 9).unwrap_err();
    assert_eq!(err.kind, LineErrorKind::NotUtf8);
    assert_eq!(err.line, 9);
    assert_eq!(err.excerpt, "a\u{fffd} 1 1");
}

#[test]
fn error_context() {
    let err = parse_line(b"  a.b\t\"x'  1  ", 42).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot parse line 42 [a.b\\t\\\"x\\'  1]: value is not a number"
    );
    let long = format!("{} 1", "x".repeat(1000));
    let err = parse_line(long.as_bytes(), 1).unwrap_err();
    assert_eq!(err.excerpt, format!("{}...", "x".repeat(EXCERPT_CHARS)));
}

#[test]
fn sentinel_and_resolution() {
    let f = |ts: f64, want: bool| assert_eq!(is_now_sentinel(ts), want, "{ts}");
    f(-1.0, true);
    f(-1.9, true);
    f(-2.0, false);
    f(-0.5, false);
    f(1.0, false);
    f(f64::NAN, false);
    let f = |ts: f64, res: u32, want: f64| {
        assert_eq!(
            truncate_to_resolution(ts, res).to_bits(),
            want.to_bits(),
            "{ts} {res}"
        );
    };
    f(1700000001.7, 0, 1700000001.7);
    f(1700000001.7, 1, 1700000001.0);
    f(1700000059.9, 60, 1700000040.0);
    f(-5.5, 10, -10.0);
    f(-0.5, 10, 0.0);
    f(1e300, 60, 1e300);
}

/// Feeds `input` to a splitter in chunks of `chunk` bytes the way a receiver would, and
/// returns every item as text.
fn split_all(input: &[u8], chunk: usize, max: usize) -> Vec<Result<(u64, String), (u64, usize)>> {
    let mut splitter = LineSplitter::new(max);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        let mut lines = splitter.split(&buf);
        for item in lines.by_ref() {
            out.push(match item {
                Ok(l) => Ok((l.number, String::from_utf8_lossy(l.bytes).into_owned())),
                Err(e) => match e.kind {
                    LineErrorKind::TooLong { .. } => Err((e.line, 0)),
                    other => panic!("unexpected {other}"),
                },
            });
        }
        let used = lines.consumed();
        buf.drain(..used);
        // The buffer never holds more than one line's worth plus a read.
        assert!(buf.len() <= max + chunk, "buffer grew to {}", buf.len());
    }
    out
}

#[test]
fn splitter_any_chunking() {
    let input = b"a 1 1\nb 2 2\r\n\nccccccccccccccccccccccccccc 3 3\nd 4 4\neeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\nf 5 5\ntail";
    let want = vec![
        Ok((1, "a 1 1".to_owned())),
        Ok((2, "b 2 2".to_owned())),
        Ok((3, String::new())),
        Err((4, 0)),
        Ok((5, "d 4 4".to_owned())),
        Err((6, 0)),
        Ok((7, "f 5 5".to_owned())),
    ];
    for chunk in 1..=input.len() {
        assert_eq!(split_all(input, chunk, 20), want, "chunk {chunk}");
    }
}

#[test]
fn splitter_limit_is_inclusive() {
    let f = |input: &[u8], max: usize, want: Vec<Result<(u64, String), (u64, usize)>>| {
        assert_eq!(
            split_all(input, input.len(), max),
            want,
            "{input:?} max {max}"
        );
    };
    f(b"12345\n", 5, vec![Ok((1, "12345".into()))]);
    f(b"123456\n", 5, vec![Err((1, 0))]);
    // The '\r' counts toward the limit, as in Twisted, though it is stripped.
    f(b"12345\r\n", 5, vec![Err((1, 0))]);
    // An incomplete tail at the limit may still end in time.
    f(b"12345", 5, vec![]);
    f(b"123456", 5, vec![Err((1, 0))]);
}

#[test]
fn splitter_reports_a_long_line_once_across_reads() {
    let mut splitter = LineSplitter::new(4);
    let mut errors = 0;
    for piece in [&b"xxxxxxx"[..], b"xxxxxxxx", b"xx\nok 1\n"] {
        let mut lines = splitter.split(piece);
        for item in lines.by_ref() {
            match item {
                Err(e) => {
                    errors += 1;
                    assert_eq!(e.line, 1);
                    assert_eq!(e.kind, LineErrorKind::TooLong { len: 7, max: 4 });
                }
                Ok(line) => assert_eq!((line.number, line.bytes), (2, &b"ok 1"[..])),
            }
        }
        assert_eq!(lines.consumed(), piece.len());
    }
    assert_eq!(errors, 1);
}

#[test]
fn datagrams() {
    let f = |input: &[u8], want: Vec<&str>| {
        assert_eq!(datagram_lines(input).unwrap(), want, "{input:?}");
    };
    f(b"a 1 1\nb 2 2", vec!["a 1 1", "b 2 2"]);
    f(b"a 1 1\r\nb 2 2\n", vec!["a 1 1", "b 2 2"]);
    f(b"a\rb\x0bc\x0cd\x1ce", vec!["a", "b", "c", "d", "e"]);
    f("a\u{2028}b\u{85}c".as_bytes(), vec!["a", "b", "c"]);
    f(b"a\n\nb", vec!["a", "", "b"]);
    f(b"", vec![]);
    f(b"\n", vec![""]);
    assert_eq!(
        datagram_lines(b"a\xff").unwrap_err().kind,
        LineErrorKind::NotUtf8
    );
}

proptest::proptest! {
    /// The ASCII shortcut splits as Python's `str.split()` does.
    #[test]
    fn ascii_split_is_pythons(text in "[a-c0-9 \t\r\x0b\x0c\x1c-\x1f.]{0,24}") {
        proptest::prop_assert_eq!(three_fields(&text), three_fields_general(&text));
    }

    /// The integer shortcut gives the double `float()` gives, bit for bit (sign of zero
    /// included).
    #[test]
    fn integer_shortcut_is_pythons_float(s in "[+-]?[0-9]{1,22}") {
        let fast = parse_number(&s).map(f64::to_bits);
        proptest::prop_assert_eq!(fast, parse_float(&s).map(f64::to_bits));
    }
}

#[test]
fn numbers_beyond_the_shortcut() {
    for s in [
        "1e3",
        "1_000",
        "0x10",
        "-0",
        "+0",
        "18446744073709551616",
        "nan",
        " 5",
    ] {
        assert_eq!(
            parse_number(s).map(f64::to_bits),
            parse_float(s).map(f64::to_bits),
            "{s}"
        );
    }
}
