//! Input meant to hurt: pickles that run code (made by Python's own pickler), absurd
//! nesting and lengths, truncated frames, and every crash the fuzzer ever found
//! (`tests/fuzz_regressions/<target>/`).

mod common;

use std::path::{Component, Path};

use charcoal_protocol::MetricName;
use charcoal_protocol::carbonlink::decode_request;
use charcoal_protocol::framing::{Frame, split_frame, write_frame};
use charcoal_protocol::pickle::{PickleError, decode, decode_carbon_batch, encode};
use charcoal_protocol::plaintext::{LineSplitter, datagram_lines};
use common::{run_python, unhex};
use serde_json::json;

#[test]
fn pickles_that_run_code_are_refused() {
    let cases = run_python("hostile.py", &json!(null));
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 60);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let data = unhex(case["pickle"].as_str().unwrap());
        let err = decode(&data).expect_err(name);
        assert!(
            matches!(err, PickleError::Forbidden { .. }),
            "{name}: refused, but for {err}"
        );
        assert!(decode_carbon_batch(&data).is_err(), "{name}");
        assert!(decode_request(&data).is_err(), "{name}");
    }
    assert!(
        !Path::new("/tmp/charcoal-pwned").exists(),
        "something executed the payload"
    );
}

#[test]
fn a_million_levels_of_nesting_everywhere() {
    const N: usize = 1_000_000;
    for open in [b'(', b']', b'}', b')'] {
        let mut p = vec![open; N];
        p.push(b'.');
        let _ = decode(&p);
        let _ = decode_carbon_batch(&p);
        let _ = decode_request(&p);
    }
    // Nested tuples through TUPLE1: a million levels built, refused when converted.
    let mut p = b"N".to_vec();
    p.extend(std::iter::repeat_n(0x85u8, N));
    p.push(b'.');
    assert_eq!(decode(&p), Err(PickleError::TooDeep { max: 64 }));
    assert!(decode_carbon_batch(&p).is_err());
    assert!(decode_request(&p).is_err());
    // As dict keys, where hashing walks them: still bounded.
    let mut p = b"}N".to_vec();
    p.extend(std::iter::repeat_n(0x85u8, N));
    p.extend_from_slice(b"Ns.");
    assert!(decode(&p).is_err());
    // A metric name of a million dots.
    assert!(MetricName::parse(&".".repeat(N)).is_err());
}

#[test]
fn truncated_frames_are_incomplete_not_errors() {
    let batch: Vec<u8> = {
        // [('m.i', (i, i/2)) for i in range(2000)], protocol 2, via our encoder.
        use charcoal_protocol::pickle::Value;
        let items = (0..2000)
            .map(|i| {
                Value::Tuple(vec![
                    Value::Str(format!("m.{i}")),
                    Value::Tuple(vec![Value::Int(i), Value::Float(i as f64 / 2.0)]),
                ])
            })
            .collect();
        encode(&Value::List(items))
    };
    let mut stream = Vec::new();
    write_frame(&batch, &mut stream).unwrap();
    write_frame(b"\x80\x02N.", &mut stream).unwrap();
    for cut in 0..stream.len() {
        match split_frame(&stream[..cut], 1 << 20) {
            Frame::Incomplete => assert!(cut < 4 + batch.len()),
            Frame::Frame(payload) => {
                assert_eq!(payload, &batch[..]);
                assert!(cut >= 4 + batch.len());
            }
            Frame::TooLarge(n) => panic!("cut {cut}: too large {n}"),
        }
    }
    let Frame::Frame(payload) = split_frame(&stream, 1 << 20) else {
        panic!("whole frame")
    };
    assert_eq!(decode_carbon_batch(payload).unwrap().points.len(), 2000);
    // Every truncation of the payload itself is an error, never a panic.
    for cut in (0..batch.len()).step_by(7) {
        assert!(decode_carbon_batch(&batch[..cut]).is_err(), "cut {cut}");
    }
}

/// The checks the fuzz targets make, for replaying their findings.
fn replay(target: &str, data: &[u8]) {
    match target {
        "pickle" => {
            if let Ok(v) = decode(data) {
                let bytes = encode(&v);
                assert_eq!(encode(&decode(&bytes).unwrap()), bytes);
            }
            let _ = decode_carbon_batch(data);
        }
        "carbonlink" => {
            let _ = decode_request(data);
        }
        "framing" => {
            let _ = split_frame(data, data.len());
        }
        "plaintext" => {
            let mut s = LineSplitter::new(64);
            let mut lines = s.split(data);
            for line in lines.by_ref().flatten() {
                let _ = line.parse();
            }
            let _ = datagram_lines(data);
        }
        "metric_name" => {
            if let Ok(raw) = std::str::from_utf8(data)
                && let Ok(m) = MetricName::parse(raw)
            {
                assert!(
                    m.relative_path()
                        .components()
                        .all(|c| matches!(c, Component::Normal(_)))
                );
                assert_eq!(MetricName::parse(m.as_str()).as_ref(), Ok(&m));
            }
        }
        other => panic!("unknown fuzz target directory {other}"),
    }
}

#[test]
fn fuzz_regressions_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut replayed = 0;
    for target in std::fs::read_dir(&root).unwrap() {
        let target = target.unwrap();
        if !target.file_type().unwrap().is_dir() {
            continue;
        }
        let name = target.file_name().into_string().unwrap();
        for file in std::fs::read_dir(target.path()).unwrap() {
            let path = file.unwrap().path();
            replay(&name, &std::fs::read(&path).unwrap());
            replayed += 1;
        }
    }
    assert!(
        replayed > 0,
        "no regression inputs under {}",
        root.display()
    );
}
