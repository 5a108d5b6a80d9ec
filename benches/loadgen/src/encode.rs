//! The bytes on the wire: carbon's plaintext lines and pickle frames.
//!
//! A pickle frame is what carbon-relay and carbon-c-relay send to port 2004:
//! a 4-byte big-endian length, then a protocol-2 pickle of a list of
//! `(path, (timestamp, value))` tuples. The opcodes are written here by hand:
//!
//! ```text
//! PROTO 2 · EMPTY_LIST · MARK · { BINUNICODE path · BININT ts · BINFLOAT value
//!                                 · TUPLE2 · TUPLE2 } × k · APPENDS · ... · STOP
//! ```
//!
//! As Python's pickler does, items are appended in groups of at most 1,000
//! (`MARK ... APPENDS`), a group of one with `APPEND`. No memo opcodes: the
//! unpickler does not need them. `tests` checks the result with CPython's
//! `pickle.loads`.

use std::io::Write;
use std::ops::Range;

use crate::workload::Workload;

/// The wire protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Protocol {
    /// `path value timestamp\n` lines (port 2003).
    Plaintext,
    /// Length-prefixed pickle frames (port 2004).
    Pickle,
}

/// All bytes one connection sends for the metrics in `range`.
pub(crate) fn connection_bytes(
    w: &Workload,
    range: Range<usize>,
    protocol: Protocol,
    batch: usize,
) -> Vec<u8> {
    let names: Vec<String> = range.clone().map(|i| w.name(i)).collect();
    let first = range.start;
    let mut out = Vec::with_capacity(range.len() * w.points * (names[0].len() + 24));
    match protocol {
        Protocol::Plaintext => w.for_each_point(range, |i, j| {
            // Writing to a Vec cannot fail.
            let _ = writeln!(
                out,
                "{} {} {}",
                names[i - first],
                Workload::value(i, j),
                w.timestamp(j)
            );
        }),
        Protocol::Pickle => {
            let mut frame: Vec<(&str, u32, f64)> = Vec::with_capacity(batch);
            w.for_each_point(range, |i, j| {
                frame.push((&names[i - first], w.timestamp(j), Workload::value(i, j)));
                if frame.len() == batch {
                    pickle_frame(&mut out, &frame);
                    frame.clear();
                }
            });
            if !frame.is_empty() {
                pickle_frame(&mut out, &frame);
            }
        }
    }
    out
}

const PROTO: u8 = 0x80;
const EMPTY_LIST: u8 = b']';
const MARK: u8 = b'(';
const APPEND: u8 = b'a';
const APPENDS: u8 = b'e';
const BINUNICODE: u8 = b'X';
const BININT: u8 = b'J';
const LONG1: u8 = 0x8a;
const BINFLOAT: u8 = b'G';
const TUPLE2: u8 = 0x86;
const STOP: u8 = b'.';
/// Python's pickler closes an APPENDS group after this many items.
const APPENDS_GROUP: usize = 1000;

/// Appends one length-prefixed frame holding `points` to `out`.
pub(crate) fn pickle_frame(out: &mut Vec<u8>, points: &[(&str, u32, f64)]) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&[PROTO, 2, EMPTY_LIST]);
    for group in points.chunks(APPENDS_GROUP) {
        if group.len() > 1 {
            out.push(MARK);
        }
        for &(path, timestamp, value) in group {
            out.push(BINUNICODE);
            out.extend_from_slice(&(path.len() as u32).to_le_bytes());
            out.extend_from_slice(path.as_bytes());
            match i32::try_from(timestamp) {
                Ok(t) => {
                    out.push(BININT);
                    out.extend_from_slice(&t.to_le_bytes());
                }
                // After 2038: a 5-byte little-endian two's-complement long.
                Err(_) => {
                    out.extend_from_slice(&[LONG1, 5]);
                    out.extend_from_slice(&u64::from(timestamp).to_le_bytes()[..5]);
                }
            }
            out.push(BINFLOAT);
            out.extend_from_slice(&value.to_be_bytes());
            out.extend_from_slice(&[TUPLE2, TUPLE2]);
        }
        out.push(if group.len() > 1 { APPENDS } else { APPEND });
    }
    out.push(STOP);
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Order;
    use std::process::{Command, Stdio};

    const PYTHON: &str = "/usr/bin/python3";

    /// Unpickles every frame of `stream` with CPython and checks it equals
    /// `expected` (a Python expression for the list of frames' lists), that
    /// each frame is a list of tuples and that the lengths are right.
    /// Skipped (with a note) when there is no Python.
    fn python_agrees(stream: &[u8], expected: &str) {
        if !std::path::Path::new(PYTHON).exists() {
            eprintln!("{PYTHON} not found: pickle check skipped");
            return;
        }
        let script = r#"
import pickle, struct, sys
data = sys.stdin.buffer.read()
frames = []
while data:
    (n,) = struct.unpack('>I', data[:4])
    assert len(data) >= 4 + n, 'short frame'
    frames.append(pickle.loads(data[4:4 + n]))
    data = data[4 + n:]
for f in frames:
    assert type(f) is list, type(f)
    for item in f:
        assert type(item) is tuple and type(item[0]) is str, item
        assert type(item[1]) is tuple and type(item[1][0]) is int, item
        assert type(item[1][1]) is float, item
expected = eval(sys.argv[1])
assert frames == expected, (frames, expected)
print('ok')
"#;
        let mut child = Command::new(PYTHON)
            .args(["-c", script, expected])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run python3");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stream)
            .expect("feed python3");
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success() && out.stdout == b"ok\n",
            "python3 disagrees: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn py_list(points: &[(&str, u32, f64)]) -> String {
        let items: Vec<String> = points
            .iter()
            .map(|(p, t, v)| format!("({p:?}, ({t}, {v:?}))"))
            .collect();
        format!("[{}]", items.join(", "))
    }

    #[test]
    fn small_frames_unpickle_as_carbon_expects() {
        let points = [
            ("loadgen.0.m0", 1_700_000_000, 1.5),
            ("a.b", 0, -0.0),
            ("x", 2_147_483_647, 1e300),
            ("after.2038", 3_000_000_000, 42.0),
            ("caf\u{e9}.\u{1f600}", 7, f64::MIN_POSITIVE),
        ];
        let mut stream = Vec::new();
        pickle_frame(&mut stream, &points);
        pickle_frame(&mut stream, &points[..1]);
        pickle_frame(&mut stream, &[]);
        let expected = format!("[{}, {}, []]", py_list(&points), py_list(&points[..1]));
        python_agrees(&stream, &expected);
    }

    #[test]
    fn groups_of_a_thousand() {
        let names: Vec<String> = (0..2_501).map(|i| format!("m.{i}")).collect();
        let points: Vec<(&str, u32, f64)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i as u32, i as f64 / 4.0))
            .collect();
        let mut stream = Vec::new();
        pickle_frame(&mut stream, &points);
        python_agrees(&stream, &format!("[{}]", py_list(&points)));
    }

    #[test]
    fn connection_stream_matches_the_workload() {
        let w = Workload {
            prefix: "loadgen".into(),
            metrics: 1_500,
            points: 3,
            step: 60,
            end: 1_700_000_040,
            order: Order::Time,
        };
        let stream = connection_bytes(&w, 1_000..1_003, Protocol::Pickle, 4);
        let mut all = Vec::new();
        w.for_each_point(1_000..1_003, |i, j| {
            all.push((w.name(i), w.timestamp(j), Workload::value(i, j)));
        });
        let all: Vec<(&str, u32, f64)> = all.iter().map(|(n, t, v)| (n.as_str(), *t, *v)).collect();
        let frames: Vec<String> = all.chunks(4).map(py_list).collect();
        python_agrees(&stream, &format!("[{}]", frames.join(", ")));

        let text = connection_bytes(&w, 1_000..1_002, Protocol::Plaintext, 4);
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "loadgen.1.m1000 250 1699999920\n\
             loadgen.1.m1001 257.75 1699999920\n\
             loadgen.1.m1000 251.75 1699999980\n\
             loadgen.1.m1001 259.5 1699999980\n\
             loadgen.1.m1000 253.5 1700000040\n\
             loadgen.1.m1001 261.25 1700000040\n"
        );
    }
}
