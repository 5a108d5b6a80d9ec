//! Corrupt, truncated, empty and hostile files give errors, never panics or
//! out-of-bounds access. Crafted cases here; inputs the fuzzer found are kept
//! in `tests/regressions/` and replayed too.

include!("harness/exercise.rs");

use whisper_format::{Aggregation, ArchiveSpec, Error, Header, Whisper};

fn header_bytes(archives: &[(u32, u32, u32)], count: u32, agg: u32, xff: f32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&agg.to_be_bytes());
    b.extend_from_slice(&86400u32.to_be_bytes());
    b.extend_from_slice(&xff.to_be_bytes());
    b.extend_from_slice(&count.to_be_bytes());
    for &(offset, step, points) in archives {
        b.extend_from_slice(&offset.to_be_bytes());
        b.extend_from_slice(&step.to_be_bytes());
        b.extend_from_slice(&points.to_be_bytes());
    }
    b
}

fn valid_file() -> Vec<u8> {
    let h = Header::for_archives(
        &[ArchiveSpec::new(10, 36), ArchiveSpec::new(60, 60)],
        Aggregation::Average,
        0.5,
    );
    let mut b = h.encode();
    b.resize(h.data_end() as usize, 0);
    b
}

#[test]
fn crafted_files_are_errors_not_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.wsp");
    let open = |bytes: &[u8]| {
        std::fs::write(&path, bytes).unwrap();
        Whisper::open(&path)
    };
    let f = |bytes: Vec<u8>, what: &str| {
        let got = open(&bytes);
        assert!(got.is_err(), "{what}: opened {got:?}");
        exercise(dir.path(), &bytes);
    };
    f(Vec::new(), "empty");
    f(vec![0; 10], "shorter than the metadata");
    f(header_bytes(&[], 0, 1, 0.5), "no archives");
    f(
        header_bytes(&[(28, 60, 10)], 1, 9, 0.5),
        "unknown aggregation",
    );
    f(header_bytes(&[(28, 60, 10)], 1, 1, f32::NAN), "NaN xff");
    f(header_bytes(&[(28, 60, 10)], 1, 1, 1.5), "xff above 1");
    f(
        header_bytes(&[(28, 60, 10)], 5, 1, 0.5),
        "count beyond the table",
    );
    f(
        header_bytes(&[(28, 60, 10)], u32::MAX, 1, 0.5),
        "huge count",
    );
    f(header_bytes(&[(28, 60, 10)], 1, 1, 0.5), "data missing");
    f(header_bytes(&[(28, 0, 10)], 1, 1, 0.5), "zero step");
    f(header_bytes(&[(28, 60, 0)], 1, 1, 0.5), "zero points");
    f(
        header_bytes(&[(4, 60, 10)], 1, 1, 0.5),
        "offset inside the header",
    );
    f(
        header_bytes(&[(u32::MAX, 60, u32::MAX)], 1, 1, 0.5),
        "offset and size overflow",
    );
    let mut truncated = valid_file();
    truncated.truncate(truncated.len() - 1);
    f(truncated, "truncated by one byte");
}

#[test]
fn odd_but_addressable_files_stay_usable() {
    let dir = tempfile::tempdir().unwrap();
    // Archives out of order, overlapping and with a lower step that does not
    // divide: Python would happily read these; we must not panic either.
    type Table = Vec<(u32, u32, u32)>;
    let cases: Vec<(Table, &str)> = vec![
        (vec![(40, 60, 10), (40, 10, 12)], "overlapping, unsorted"),
        (vec![(40, 7, 10), (160, 60, 3)], "steps that do not divide"),
        (vec![(40, 60, 1), (52, 3600, 1)], "one point each"),
    ];
    for (archives, what) in cases {
        let mut b = header_bytes(&archives, archives.len() as u32, 1, 0.0);
        let end = archives
            .iter()
            .map(|&(o, _, p)| o as usize + p as usize * 12)
            .max()
            .unwrap();
        b.resize(end, 0);
        // Fill the data area with a pattern so base slots are non-zero.
        for (i, byte) in b[40..].iter_mut().enumerate() {
            *byte = (i * 31 % 251) as u8;
        }
        let path = dir.path().join("odd.wsp");
        std::fs::write(&path, &b).unwrap();
        assert!(Whisper::open(&path).is_ok(), "{what}");
        exercise(dir.path(), &b);
    }
}

#[test]
fn a_file_that_shrinks_under_a_pread_handle_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrink.wsp");
    std::fs::write(&path, valid_file()).unwrap();
    let mut w = Whisper::open(&path).unwrap();
    let now = 1_700_000_000;
    let points: Vec<(i64, f64)> = (0..30).map(|i| (now - i * 10, i as f64)).collect();
    w.update_many(&points, now).unwrap();
    assert!(w.fetch(now - 300, now, now).unwrap().is_some());
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(100)
        .unwrap();
    assert!(matches!(
        w.fetch(now - 300, now, now),
        Err(Error::Io { .. })
    ));
    let _ = w.update_many(&[(now, 1.0)], now);
}

#[test]
fn fuzzer_findings_stay_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(corpus).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "bin") {
            exercise(dir.path(), &std::fs::read(&path).unwrap());
            n += 1;
        }
    }
    assert!(
        n > 0,
        "tests/regressions holds the fuzzer's findings and seeds"
    );
}
