//! Hand-made pickles with the outcome CPython 3.11's `pickle.loads` gives them (checked when
//! written; the differential tests in `tests/python_differential.rs` re-check such cases
//! against the live interpreter).

use super::*;

fn s(x: &str) -> Value {
    Value::Str(x.to_owned())
}
fn i(x: i64) -> Value {
    Value::Int(x)
}
fn t(items: Vec<Value>) -> Value {
    Value::Tuple(items)
}
fn l(items: Vec<Value>) -> Value {
    Value::List(items)
}

#[test]
fn accepted() {
    let f = |input: &[u8], want: Value| {
        assert_eq!(
            decode(input),
            Ok(want),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    };
    // Protocol 0 numbers: strtol, bools, Python int() fallback.
    f(b"I010\n.", i(8));
    f(b"I01\n.", Value::Bool(true));
    f(b"I00\n.", Value::Bool(false));
    f(b"I-0\n.", Value::Bool(false));
    f(b"I+1\n.", Value::Bool(true));
    f(b"I 1\n.", Value::Bool(true));
    f(b"I001\n.", i(1));
    f(b"I1_000\n.", i(1000));
    f(b"I 12\n.", i(12));
    f(b"I12 \n.", i(12));
    f(b"I0x1f\n.", i(31));
    f(b"I0b11\n.", i(3));
    f(b"I0o17\n.", i(15));
    f(b"I1\x002\n.", i(1));
    f(b"I1\x00\n.", Value::Bool(true));
    f(b"I\x00\n.", i(0));
    f(
        b"I99999999999999999999\n.",
        BigInt::value_from_sign_magnitude(
            false,
            &[0xff, 0xff, 0x0f, 0x63, 0x2d, 0x5e, 0xc7, 0x6b, 0x05],
        ),
    );
    f(b"L12L\n.", i(12));
    f(b"L12\n.", i(12));
    f(b"L 5 \n.", i(5));
    f(b"L0x_1f\n.", i(31));
    f(b"L0_0\n.", i(0));
    f(b"L12\x00zz\n.", i(12));
    f(b"F1.5\n.", Value::Float(1.5));
    f(b"F1.\n.", Value::Float(1.0));
    f(b"F+.5e-3\n.", Value::Float(0.0005));
    f(b"F-iNfInItY\n.", Value::Float(f64::NEG_INFINITY));
    f(b"F1e-99999\n.", Value::Float(0.0));
    f(b"F1.5\x00x\n.", Value::Float(1.5));
    f(b"J\xff\xff\xff\xff.", i(-1));
    f(b"M\xff\xff.", i(65535));
    f(b"K\xff.", i(255));
    f(b"\x8a\x01\xff.", i(-1));
    f(b"\x8a\x02\x00\x80.", i(-32768));
    f(b"\x8a\x00.", i(0));
    f(b"\x8b\x00\x00\x00\x00.", i(0));
    f(b"\x88.", Value::Bool(true));
    f(b"\x89.", Value::Bool(false));
    f(b"N.", Value::None);
    f(b"N.trailing garbage", Value::None);
    // Strings: py2 str is decoded as UTF-8, as carbon's unpickler asks.
    f(b"S'a\\q'\n.", s("a\\q"));
    f(b"S\"a\"\n.", s("a"));
    f(b"S''\n.", s(""));
    f(b"S'\xc3\xa9'\n.", s("\u{e9}"));
    f(b"S'a\x00b'\n.", s("a\0b"));
    f(b"U\x02\xc3\xa9.", s("\u{e9}"));
    f(b"T\x00\x00\x00\x00.", s(""));
    f(b"X\x00\x00\x00\x00.", s(""));
    f(b"\x8c\x00.", s(""));
    f(b"\x8d\x02\x00\x00\x00\x00\x00\x00\x00ab.", s("ab"));
    f(b"V\\u0041\n.", s("A"));
    f(b"V\\\\u0041\n.", s("\\\\u0041"));
    f(b"V\xe9\n.", s("\u{e9}"));
    f(b"Va\x00b\n.", s("a\0b"));
    f(b"V\n.", s(""));
    f(b"C\x02ab.", Value::Bytes(b"ab".to_vec()));
    f(b"B\x02\x00\x00\x00ab.", Value::Bytes(b"ab".to_vec()));
    f(
        b"\x8e\x02\x00\x00\x00\x00\x00\x00\x00ab.",
        Value::Bytes(b"ab".to_vec()),
    );
    f(
        b"\x96\x02\x00\x00\x00\x00\x00\x00\x00ab.",
        Value::ByteArray(b"ab".to_vec()),
    );
    // Stack and marks.
    f(b"(N.", Value::None);
    f(b"(0N.", Value::None);
    f(b"N(1.", Value::None);
    f(b"]2.", l(vec![]));
    f(b"N(t.", t(vec![]));
    f(b"(N(t(t.", t(vec![]));
    f(b"K\x012.", i(1));
    f(
        b"NNNNN\x87\x87.",
        t(vec![Value::None, Value::None, t(vec![Value::None; 3])]),
    );
    f(b"N)\x86.", t(vec![Value::None, t(vec![])]));
    f(b"K\x01(e.", i(1)); // APPENDS with nothing to append never looks at its target
    // Containers.
    f(b"](K\x01K\x02e.", l(vec![i(1), i(2)]));
    f(b"]K\x01a.", l(vec![i(1)]));
    f(b"(K\x01l.", l(vec![i(1)]));
    f(b"(K\x01t.", t(vec![i(1)]));
    f(b"K\x01\x85.", t(vec![i(1)]));
    f(b"(K\x01K\x02d.", Value::Dict(vec![(i(1), i(2))]));
    f(b"\x8f(K\x01K\x01\x90.", Value::Set(vec![i(1)]));
    f(b"(K\x01\x91.", Value::FrozenSet(vec![i(1)]));
    f(b"\x8f(K\x01\x90\x8f(K\x02\x90.", Value::Set(vec![i(2)]));
    // Python's key equality: 1 == 1.0 == True; first key kept, last value wins.
    f(
        b"}(K\x01K\x01\x88K\x02G?\xf0\x00\x00\x00\x00\x00\x00K\x03u.",
        Value::Dict(vec![(i(1), i(3))]),
    );
    f(
        b"K\x01\x88K\x02\x89\x87\x8f(\x88K\x01G?\xf0\x00\x00\x00\x00\x00\x00\x90.",
        Value::Set(vec![Value::Bool(true)]),
    );
    f(
        b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x01h\x01K\x02u.",
        Value::Dict(vec![(s("a"), i(2))]),
    );
    // Memo: a list memoised before its items are appended comes back with them.
    f(
        b"\x80\x02]q\x00(]q\x01(K\x01K\x02eh\x01e.",
        l(vec![l(vec![i(1), i(2)]), l(vec![i(1), i(2)])]),
    );
    f(b"Np1\ng1\n\x86.", t(vec![Value::None, Value::None]));
    f(b"Np 1\ng01\n\x86.", t(vec![Value::None, Value::None]));
    f(b"Np+1\n.", Value::None);
    f(b"Np1_0\ng10\n\x86.", t(vec![Value::None, Value::None]));
    f(b"Nq\x05h\x05\x86.", t(vec![Value::None, Value::None]));
    f(b"N\x94h\x00\x86.", t(vec![Value::None, Value::None]));
    f(b"Nr\xff\xff\xff\xff0j\xff\xff\xff\xff.", Value::None);
    // Frames and protocol.
    f(b"\x95\x01\x00\x00\x00\x00\x00\x00\x00N.", Value::None);
    f(
        b"\x95\x00\x00\x00\x00\x00\x00\x00\x00N\x95\x01\x00\x00\x00\x00\x00\x00\x00.",
        Value::None,
    );
    f(b"\x80\x05N.", Value::None);
    f(b"(\x80\x02N.", Value::None);
}

#[test]
fn refused() {
    let f = |input: &[u8], want: PickleError| {
        assert_eq!(
            decode(input),
            Err(want),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    };
    use PickleError::*;
    let invalid = |what, offset| Invalid { what, offset };
    f(b"", Truncated { offset: 0 });
    f(b"N", Truncated { offset: 1 });
    f(b"I5", Truncated { offset: 1 });
    f(b"I\n.", Truncated { offset: 1 });
    f(b"L\n.", Truncated { offset: 1 });
    f(b"F\n.", Truncated { offset: 1 });
    f(b"I1\n", Truncated { offset: 3 });
    f(b"I010_0\n.", invalid("INT literal", 0));
    f(b"I0x\n.", invalid("INT literal", 0));
    f(
        b"I9999999999999999999999999999999999999999999999999999999\x01\n.",
        invalid("INT literal", 0),
    );
    f(b"L010\n.", invalid("LONG literal", 0));
    f(b"L1__0\n.", invalid("LONG literal", 0));
    f(b"LL\n.", invalid("LONG literal", 0));
    f(b"L-\n.", invalid("LONG literal", 0));
    f(b"F1e999\n.", invalid("FLOAT literal (overflow)", 0));
    f(b"F0x10\n.", invalid("FLOAT literal", 0));
    f(b"F1.5 \n.", invalid("FLOAT literal", 0));
    f(b"F 1.5\n.", invalid("FLOAT literal", 0));
    f(b"F1e+\n.", invalid("FLOAT literal", 0));
    f(b"Fnan(1)\n.", invalid("FLOAT literal", 0));
    f(b"S'a\\x4'\n.", invalid("STRING escape", 0));
    f(b"S'a\\'\n.", invalid("STRING escape", 0));
    f(b"S'a\"\n.", invalid("STRING quoting", 0));
    f(b"S'\n.", invalid("STRING quoting", 0));
    f(b"S'\xff'\n.", Utf8 { offset: 0 });
    f(b"\x8c\x01\x80.", Utf8 { offset: 0 });
    f(b"X\x03\x00\x00\x00\xed\xa0\x80.", Utf8 { offset: 0 });
    f(b"V\\u00\n.", invalid("raw-unicode-escape", 0));
    f(b"V\\U00110000\n.", invalid("raw-unicode-escape", 0));
    f(b"V\\ud800\n.", invalid("surrogate in UNICODE", 0));
    f(
        b"T\xff\xff\xff\xff.",
        invalid("negative BINSTRING length", 0),
    );
    f(
        b"\x8b\xff\xff\xff\xff.",
        invalid("negative LONG4 length", 0),
    );
    f(b"\x80\x06N.", Protocol(6));
    f(
        b"\x95\xff\x00\x00\x00\x00\x00\x00\x00N.",
        Truncated { offset: 9 },
    );
    f(b"(.", StackUnderflow { offset: 1 });
    f(b"0N.", StackUnderflow { offset: 0 });
    f(b"N0.", StackUnderflow { offset: 2 });
    f(b"(1.", StackUnderflow { offset: 2 });
    f(b"N1.", NoMark { offset: 1 });
    f(b"2.", StackUnderflow { offset: 0 });
    f(b"(2.", StackUnderflow { offset: 1 });
    f(b"\x85.", StackUnderflow { offset: 0 });
    f(b"N(N\x86.", StackUnderflow { offset: 3 });
    f(b"](K\x01a.", StackUnderflow { offset: 4 });
    f(b"}K\x01s.", StackUnderflow { offset: 3 });
    f(b"}(K\x01K\x02s.", StackUnderflow { offset: 6 });
    f(b"](]K\x01s.", StackUnderflow { offset: 5 });
    f(b"\x80\x02(K\x01\x8f\x90.", StackUnderflow { offset: 6 });
    f(b"(\x8f\x90.", StackUnderflow { offset: 2 });
    f(b"\x8fK\x03\x90.", NoMark { offset: 3 });
    f(b"p1\nN.", StackUnderflow { offset: 0 });
    f(b"\x94.", StackUnderflow { offset: 0 });
    f(b"Np-1\n.", invalid("negative PUT argument", 1));
    f(b"Np0x1\n.", invalid("PUT argument", 1));
    f(b"Np99999999999999999999999\n.", invalid("PUT argument", 1));
    f(
        b"Ng1\n.",
        MemoMissing {
            index: 1,
            offset: 1,
        },
    );
    f(
        b"Ng-1\n.",
        MemoMissing {
            index: -1,
            offset: 1,
        },
    );
    f(
        b"h\x00.",
        MemoMissing {
            index: 0,
            offset: 0,
        },
    );
    f(
        b"}(K\x01K\x02K\x03u.",
        OddItems {
            opcode: "SETITEMS",
            offset: 8,
        },
    );
    f(
        b"(K\x01d.",
        OddItems {
            opcode: "DICT",
            offset: 3,
        },
    );
    f(
        b"}](K\x01u.",
        OddItems {
            opcode: "SETITEMS",
            offset: 5,
        },
    );
    f(b"}]K\x01s.", Unhashable { offset: 4 });
    f(b"\x8f(]\x90.", Unhashable { offset: 3 });
    f(b"(]\x91.", Unhashable { offset: 2 });
    f(b"(]K\x01d.", Unhashable { offset: 4 });
    f(b"}(]\x85K\x01u.", Unhashable { offset: 6 });
    f(
        b"K\x01K\x02a.",
        WrongTarget {
            opcode: "APPEND",
            expected: "list",
            offset: 4,
        },
    );
    f(
        b"]K\x00K\x05s.",
        WrongTarget {
            opcode: "SETITEM",
            expected: "dict",
            offset: 5,
        },
    );
    f(
        b"\xff.",
        UnknownOpcode {
            opcode: 0xff,
            offset: 0,
        },
    );
    f(
        b"\x00.",
        UnknownOpcode {
            opcode: 0,
            offset: 0,
        },
    );
}

#[test]
fn code_opcodes_are_refused() {
    let f = |input: &[u8], name: &'static str, offset: usize| {
        assert_eq!(
            decode(input),
            Err(PickleError::Forbidden { name, offset }),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    };
    // pickle.dumps of a class whose __reduce__ returns (os.system, ('id',)), protocol 0 and 2.
    f(b"cposix\nsystem\np0\n(Vid\np1\ntp2\nRp3\n.", "GLOBAL", 0);
    f(
        b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.",
        "GLOBAL",
        2,
    );
    // Protocol 4: STACK_GLOBAL after two strings.
    f(
        b"\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94.",
        "STACK_GLOBAL",
        28,
    );
    f(b"N)R.", "REDUCE", 2);
    f(b"}}b.", "BUILD", 2);
    f(b"(ios\nsystem\n.", "INST", 1);
    f(b"(o.", "OBJ", 1);
    f(b"\x80\x02N)\x81.", "NEWOBJ", 4);
    f(b"N)}\x92.", "NEWOBJ_EX", 3);
    f(b"\x82\x01.", "EXT1", 0);
    f(b"\x83\x01\x00.", "EXT2", 0);
    f(b"\x84\x01\x00\x00\x00.", "EXT4", 0);
    f(b"Pid\n.", "PERSID", 0);
    f(b"NQ.", "BINPERSID", 1);
    f(b"\x80\x05\x97.", "NEXT_BUFFER", 2);
    f(b"N\x98.", "READONLY_BUFFER", 1);
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    const N: usize = 1_000_000;
    // A million nested lists: `]` N times, then N-1 APPENDs.
    let mut p = vec![b']'; N];
    p.extend(std::iter::repeat_n(b'a', N - 1));
    p.push(b'.');
    assert_eq!(decode(&p), Err(PickleError::TooDeep { max: 64 }));
    // A million marks, nothing else.
    let mut p = vec![b'('; N];
    p.push(b'.');
    assert_eq!(decode(&p), Err(PickleError::StackUnderflow { offset: N }));
    // A million marks closed into nested tuples.
    let mut p = vec![b'('; N];
    p.extend(std::iter::repeat_n(b't', N));
    p.push(b'.');
    assert_eq!(decode(&p), Err(PickleError::TooDeep { max: 64 }));
    // A million EMPTY_DICTs each set into the previous one.
    let mut p = b"}".to_vec();
    for _ in 0..N / 4 {
        p.extend_from_slice(b"K\x01}");
    }
    p.extend(std::iter::repeat_n(b's', N / 4));
    p.push(b'.');
    assert_eq!(decode(&p), Err(PickleError::TooDeep { max: 64 }));
    // Exactly at the limit is fine.
    let mut p = vec![b']'; 64];
    p.extend(std::iter::repeat_n(b'a', 63));
    p.push(b'.');
    assert!(decode(&p).is_ok());
    let mut p = vec![b']'; 65];
    p.extend(std::iter::repeat_n(b'a', 64));
    p.push(b'.');
    assert_eq!(decode(&p), Err(PickleError::TooDeep { max: 64 }));
}

#[test]
fn huge_length_prefixes_allocate_nothing() {
    let f = |input: &[u8]| {
        let err = decode(input).unwrap_err();
        assert!(
            matches!(
                err,
                PickleError::Truncated { .. } | PickleError::StringTooLong { .. }
            ),
            "{input:?}: {err}"
        );
    };
    f(b"\x8d\xff\xff\xff\xff\x00\x00\x00\x00abc.");
    f(b"\x8d\xff\xff\xff\xff\xff\xff\xff\xffabc.");
    f(b"\x8e\x00\x00\x00\x00\x01\x00\x00\x00abc.");
    f(b"\x96\xff\xff\xff\xff\xff\xff\xff\x7f.");
    f(b"X\xff\xff\xff\xffabc.");
    f(b"B\xff\xff\xff\xffabc.");
    f(b"T\xff\xff\xff\x7fabc.");
    f(b"\x8b\xff\xff\xff\x7f.");
    f(b"\x95\xff\xff\xff\xff\xff\xff\xff\xffN.");
    // A long string is refused by the limit even when it is all there.
    let limits = Limits {
        max_string_len: 4,
        ..Limits::default()
    };
    assert_eq!(
        decode_with_limits(b"X\x05\x00\x00\x00abcde.", &limits),
        Err(PickleError::StringTooLong {
            len: 5,
            max: 4,
            offset: 0
        })
    );
    assert_eq!(
        decode_with_limits(b"Vabcde\n.", &limits),
        Err(PickleError::StringTooLong {
            len: 5,
            max: 4,
            offset: 0
        })
    );
}

#[test]
fn shared_subtrees_are_bounded() {
    // "Billion laughs": each level is a tuple of the previous one twice, via the memo.
    let mut p = b"N".to_vec();
    for level in 0..60u8 {
        p.extend_from_slice(&[b'q', level, b'h', level, 0x86]);
    }
    p.push(b'.');
    assert!(matches!(decode(&p), Err(PickleError::TooManyItems { .. })));
    // The same shape as dict keys: hashing the keys is bounded too.
    let mut p = b"}N".to_vec();
    for level in 0..60u8 {
        p.extend_from_slice(&[b'q', level, b'h', level, 0x86]);
    }
    p.extend_from_slice(b"Ns.");
    assert!(matches!(decode(&p), Err(PickleError::TooManyItems { .. })));
    // A big string repeated through the memo hits the byte budget.
    let limits = Limits {
        max_total_bytes: 1000,
        ..Limits::default()
    };
    let mut p = b"]q\x00(X\x64\x00\x00\x00".to_vec();
    p.extend_from_slice(&[b'x'; 100]);
    p.extend_from_slice(b"q\x01");
    for _ in 0..20 {
        p.extend_from_slice(b"h\x01");
    }
    p.extend_from_slice(b"e.");
    assert_eq!(
        decode_with_limits(&p, &limits),
        Err(PickleError::TooManyBytes { max: 1000 })
    );
}

#[test]
fn recursive_structures_are_refused() {
    // l = []; l.append(l): pickle.dumps(l, 2)
    assert_eq!(
        decode(b"\x80\x02]q\x00h\x00a."),
        Err(PickleError::TooDeep { max: 64 })
    );
    // d = {}; d['d'] = d
    assert_eq!(
        decode(b"\x80\x02}q\x00X\x01\x00\x00\x00dq\x01h\x00s."),
        Err(PickleError::TooDeep { max: 64 })
    );
}

#[test]
fn item_and_memo_limits() {
    let limits = Limits {
        max_items: 10,
        ..Limits::default()
    };
    let mut p = b"(".to_vec();
    p.extend_from_slice(&[b'N'; 20]);
    p.extend_from_slice(b"l.");
    assert_eq!(
        decode_with_limits(&p, &limits),
        Err(PickleError::TooManyItems { max: 10 })
    );
    let limits = Limits {
        max_memo: 2,
        ..Limits::default()
    };
    assert_eq!(
        decode_with_limits(b"N\x94\x94\x94.", &limits),
        Err(PickleError::MemoTooLarge { max: 2 })
    );
    assert!(decode_with_limits(b"Nq\x01q\x01q\x02q\x01.", &limits).is_ok());
}

#[test]
fn every_prefix_of_a_valid_pickle_is_an_error() {
    let p: &[u8] = b"\x80\x04\x95#\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x03a.b\x94J\x00\xf1SeG?\xf8\x00\x00\x00\x00\x00\x00\x86\x94\x86\x94h\x01h\x03\x86\x94e.";
    assert!(decode(p).is_ok());
    for cut in 0..p.len() {
        assert!(decode(&p[..cut]).is_err(), "prefix of {cut} bytes");
    }
}

#[test]
fn random_bytes_never_panic() {
    // A small deterministic generator: the fuzzer does the real search.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20_000 {
        let len = (next() % 64) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let _ = decode(&bytes);
        let _ = decode_carbon_batch(&bytes);
    }
}

#[test]
fn bigint_conversions() {
    let f = |negative: bool, magnitude: &[u8], want: Option<f64>| {
        let v = BigInt::value_from_sign_magnitude(negative, magnitude);
        assert_eq!(v.py_float(), want, "{negative} {magnitude:?}");
    };
    f(false, &[], Some(0.0));
    f(true, &[1], Some(-1.0));
    f(
        false,
        &[0, 0, 0, 0, 0, 0, 0, 0x80],
        Some(9223372036854775808.0),
    );
    f(
        true,
        &[0, 0, 0, 0, 0, 0, 0, 0x80],
        Some(-9223372036854775808.0),
    );
    // 2^64 + 1 rounds to 2^64; 2^53 + 1 rounds to even.
    f(
        false,
        &[1, 0, 0, 0, 0, 0, 0, 0, 1],
        Some(18446744073709551616.0),
    );
    f(false, &[1, 0, 0, 0, 0, 0, 0x20], Some(9007199254740992.0));
    // (2^53 + 1) * 2^11 + 1: just above the halfway point, rounds up.
    let mut m = vec![1u8];
    m.extend_from_slice(&(((1u64 << 53) + 1) << 11).to_le_bytes()[1..]);
    m[0] = 1;
    let mut full = ((1u128 << 53) + 1) << 11;
    full += 1;
    let bytes = full.to_le_bytes();
    f(false, &bytes[..9], Some(((1u64 << 53) + 2) as f64 * 2048.0));
    let mut max = vec![0xffu8; 128];
    f(false, &max, None);
    max[127] = 0x7f;
    assert!(
        BigInt::value_from_sign_magnitude(false, &max)
            .py_float()
            .is_some()
    );
    let v = BigInt::value_from_le_bytes(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff]);
    let Value::BigInt(b) = &v else {
        panic!("{v:?}")
    };
    assert!(b.is_negative());
    assert_eq!(b.sign_magnitude(), (true, vec![0, 0, 0, 0, 0, 0, 0, 0, 1]));
}

#[test]
fn encode_round_trips() {
    let f = |v: Value| {
        let bytes = encode(&v);
        assert_eq!(decode(&bytes), Ok(v.clone()), "{bytes:?}");
    };
    f(Value::None);
    f(Value::Bool(true));
    for n in [
        0,
        1,
        255,
        256,
        65535,
        65536,
        -1,
        -129,
        i64::from(i32::MAX),
        i64::from(i32::MAX) + 1,
        i64::MIN,
        i64::MAX,
    ] {
        f(i(n));
    }
    f(BigInt::value_from_sign_magnitude(
        true,
        &[0, 0, 0, 0, 0, 0, 0, 0, 1],
    ));
    f(BigInt::value_from_sign_magnitude(false, &[7; 300]));
    f(Value::Float(-0.0));
    f(Value::Float(f64::INFINITY));
    f(s(""));
    f(s("ünï"));
    f(Value::Bytes(vec![]));
    f(Value::Bytes(vec![1; 300]));
    f(Value::ByteArray(vec![1, 2]));
    f(l(vec![]));
    f(l(vec![i(1)]));
    f(l((0..2500).map(i).collect()));
    f(t(vec![]));
    f(t(vec![i(1)]));
    f(t(vec![i(1), i(2), i(3)]));
    f(t(vec![i(1), i(2), i(3), i(4)]));
    f(Value::Dict(vec![(s("a"), i(1))]));
    f(Value::Dict((0..1500).map(|n| (i(n), t(vec![]))).collect()));
    f(Value::Set((0..1500).map(i).collect()));
    f(Value::FrozenSet(vec![s("x"), i(2)]));
    f(l(vec![Value::Dict(vec![(
        t(vec![i(1), s("k")]),
        l(vec![Value::None]),
    )])]));
    assert_eq!(encode(&i(1)), b"\x80\x02K\x01.");
}

/// A decoded batch: its points as bits, then its counters as a last pseudo-point.
type Decoded = Option<Vec<(String, u64, u64)>>;

/// `(fast path, general decoder)` on `data`, points compared bit for bit.
fn both_paths(data: &[u8]) -> (Decoded, Decoded) {
    let limits = Limits::default();
    let bits = |points: Vec<(String, f64, f64)>, bad: usize, nan: usize, malformed: usize| {
        let mut v: Vec<(String, u64, u64)> = points
            .into_iter()
            .map(|(n, t, v)| (n, t.to_bits(), v.to_bits()))
            .collect();
        v.push((format!("bad {bad} nan {nan} malformed {malformed}"), 0, 0));
        v
    };
    let fast = fast::decode(data, &limits).map(|b| {
        let points = b
            .points
            .iter()
            .map(|&(n, t, v)| (n.to_owned(), t, v))
            .collect();
        bits(points, b.bad_numbers, b.nan_values, 0)
    });
    let general = batch::decode_general(data, &limits)
        .ok()
        .map(|b| bits(b.points, b.bad_numbers, b.nan_values, b.malformed));
    (fast, general)
}

/// Python's own pickles of two small batches at protocols 1, 2, 4 and 5, made with
/// `pickle.dumps(batch, protocol=p).hex()` (CPython 3.11):
/// `[('a.b', (1700000000, 1.5)), ('a.b', (1700000060, 2)), ('c', (2**40, -0.0))]` and one
/// naming the same string object twice (so the second name is a memo `BINGET`).
const PYTHON_BATCHES: [&str; 8] = [
    "5d710028285803000000612e627101284a00f15365473ff8000000000000747102747103286801284a3cf153654b02747104747105285801000000637106284c313039393531313632373737364c0a478000000000000000747107747108652e",
    "5d71002828580b0000007368617265642e6e616d657101284b01474004000000000000747102747103286801284b0247400c000000000000747104747105652e",
    "80025d7100285803000000612e6271014a00f15365473ff800000000000086710286710368014a3cf153654b0286710486710558010000006371068a06000000000001478000000000000000867107867108652e",
    "80025d710028580b0000007368617265642e6e616d6571014b0147400400000000000086710286710368014b0247400c000000000000867104867105652e",
    "80049543000000000000005d94288c03612e62944a00f15365473ff80000000000008694869468014a3cf153654b02869486948c0163948a0600000000000147800000000000000086948694652e",
    "80049533000000000000005d94288c0b7368617265642e6e616d65944b014740040000000000008694869468014b0247400c00000000000086948694652e",
    "80059543000000000000005d94288c03612e62944a00f15365473ff80000000000008694869468014a3cf153654b02869486948c0163948a0600000000000147800000000000000086948694652e",
    "80059533000000000000005d94288c0b7368617265642e6e616d65944b014740040000000000008694869468014b0247400c00000000000086948694652e",
];

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn fast_path_reads_what_senders_write_as_the_general_decoder_does() {
    for (i, hex) in PYTHON_BATCHES.iter().enumerate() {
        let data = unhex(hex);
        let (fast, general) = both_paths(&data);
        assert!(general.is_some(), "case {i}");
        // Protocol 1 writes 2**40 as a text LONG, which the fast path leaves alone.
        if i == 0 {
            assert_eq!(fast, None);
        } else {
            assert_eq!(fast, general, "case {i}");
        }
    }
    // Our own encoder's batches (MARK/APPENDS in runs of 1,000, LONG1 for big ints).
    let batch = Value::List(
        (0..2_500i64)
            .map(|k| {
                let n = if k % 3 == 0 {
                    i(k << 40)
                } else {
                    Value::Float(k as f64 / 7.0)
                };
                t(vec![s(&format!("m.{k}")), t(vec![i(1_700_000_000 + k), n])])
            })
            .collect(),
    );
    let data = encode(&batch);
    let (fast, general) = both_paths(&data);
    assert_eq!(fast.as_ref().map(Vec::len), Some(2_501));
    assert_eq!(fast, general);
}

#[test]
fn fast_path_leaves_other_shapes_to_the_general_decoder() {
    let cases: [Value; 5] = [
        // A list point, a bytes name, a string number, a three-tuple, a dict payload.
        l(vec![l(vec![s("a"), l(vec![i(1), i(2)])])]),
        l(vec![t(vec![
            Value::Bytes(b"a".to_vec()),
            t(vec![i(1), i(2)]),
        ])]),
        l(vec![t(vec![s("a"), t(vec![s("1"), i(2)])])]),
        l(vec![t(vec![s("a"), t(vec![i(1), i(2), i(3)])])]),
        Value::Dict(vec![(s("a"), i(1))]),
    ];
    for v in cases {
        let data = encode(&v);
        assert!(fast::decode(&data, &Limits::default()).is_none(), "{v:?}");
        assert!(decode_carbon_batch(&data).is_ok());
    }
}

#[test]
fn fast_path_counts_the_limits_as_the_general_decoder_does() {
    // One 100-byte name shared by 50 points: 5,000 bytes of names in the result.
    let mut p = b"\x80\x02](X\x64\x00\x00\x00".to_vec();
    p.extend([b'n'; 100]);
    p.extend(b"q\x01K\x01K\x02\x86\x86");
    for _ in 0..49 {
        p.extend(b"h\x01K\x01K\x02\x86\x86");
    }
    p.extend(b"e.");
    let d = Limits::default;
    // (limits, whether both paths accept the frame): at the edge of each limit, the fast
    // path accepts exactly what the general decoder accepts.
    let cases = [
        (
            Limits {
                max_total_bytes: 4_999,
                ..d()
            },
            false,
        ),
        (
            Limits {
                max_total_bytes: 5_000,
                ..d()
            },
            true,
        ),
        (
            Limits {
                max_items: 250,
                ..d()
            },
            false,
        ),
        (
            Limits {
                max_items: 251,
                ..d()
            },
            true,
        ),
        (Limits { max_memo: 0, ..d() }, false),
        (Limits { max_memo: 1, ..d() }, true),
        (
            Limits {
                max_depth: 2,
                ..d()
            },
            false,
        ),
        (
            Limits {
                max_depth: 3,
                ..d()
            },
            true,
        ),
        (
            Limits {
                max_string_len: 99,
                ..d()
            },
            false,
        ),
        (
            Limits {
                max_string_len: 100,
                ..d()
            },
            true,
        ),
    ];
    for (limits, accepted) in cases {
        let fast = fast::decode(&p, &limits).map(|b| b.points.len());
        assert_eq!(fast, accepted.then_some(50), "{limits:?}");
        let general = decode_carbon_batch_with_limits(&p, &limits).map(|b| b.points.len());
        assert_eq!(general.ok(), accepted.then_some(50), "{limits:?}");
    }
    assert!(matches!(
        decode_carbon_batch_with_limits(
            &p,
            &Limits {
                max_total_bytes: 4_999,
                ..d()
            }
        ),
        Err(PickleError::TooManyBytes { .. })
    ));
}

proptest::proptest! {
    /// Whatever the fast path accepts, mutated or not, the general decoder decodes the
    /// same way.
    #[test]
    fn fast_path_never_disagrees(
        case in 0..PYTHON_BATCHES.len(),
        edits in proptest::collection::vec((0usize..200, 0u8..=255, 0u8..3), 0..4),
        cut in proptest::option::of(0usize..200),
    ) {
        let mut data = unhex(PYTHON_BATCHES[case]);
        for (at, byte, kind) in edits {
            let at = at % (data.len() + 1);
            match kind {
                0 if at < data.len() => data[at] = byte,
                1 => data.insert(at, byte),
                _ if at < data.len() => { data.remove(at); }
                _ => {}
            }
        }
        if let Some(c) = cut {
            data.truncate(c);
        }
        let (fast, general) = both_paths(&data);
        if fast.is_some() {
            proptest::prop_assert_eq!(fast, general);
        }
    }
}
