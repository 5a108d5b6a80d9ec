// Shared by the `hostile` test and the `open_and_use` fuzz target (both
// `include!` this file): write arbitrary bytes as a whisper file and drive
// every reading and writing entry point over it. Errors are fine; a panic,
// an abort or an out-of-bounds access is the bug.

/// Runs every operation on `bytes` as a file in `dir`.
pub fn exercise(dir: &std::path::Path, bytes: &[u8]) {
    use whisper_format::{Access, OpenOptions, Whisper};
    let path = dir.join("fuzz.wsp");
    std::fs::write(&path, bytes).unwrap();
    let _ = whisper_format::info(&path);
    let now = 1_700_000_000i64;
    for access in [Access::Pread, Access::Mmap] {
        let opts = OpenOptions { write: true, lock: false, access };
        let Ok(mut w) = Whisper::open_with(&path, opts) else { continue };
        let header = w.header().clone();
        let max = i64::from(header.max_retention);
        let most = header.archives.iter().map(|a| a.points as usize).max().unwrap_or(0);
        for (from, until) in [(now - 600, now), (now - max, now), (0, now), (now, now)] {
            // A header may lie about its retention; a fetch still returns no
            // more slots than an archive has (no allocation from a header).
            if let Ok(Some(f)) = w.fetch(from, until, now) {
                assert!(f.values.len() <= most, "{} values from archives of {most}", f.values.len());
            }
        }
        let _ = w.fetch_granularity(now - 600, now, now, 60);
        let mut raw = Vec::new();
        for a in &header.archives {
            let _ = w.archive_fetch(a, now - a.retention(), now);
            let _ = w.raw_archive(a, &mut raw);
        }
        let points: Vec<(i64, f64)> = (0..50).map(|i| (now - i * 37, i as f64)).collect();
        let _ = w.update_many(&points, now);
        let _ = w.update(1.0, now - 5, now);
        let _ = w.update(1.0, now - max / 2, now);
        let _ = w.set_aggregation(None, Some(0.3));
        let copy = dir.join("fuzz-resized.wsp");
        let _ = std::fs::remove_file(&copy);
        let specs = [whisper_format::ArchiveSpec::new(60, 30), whisper_format::ArchiveSpec::new(300, 30)];
        if whisper_format::create(&copy, &specs, &Default::default()).is_ok()
            && let Ok(mut new) = Whisper::open(&copy)
        {
            let mode = whisper_format::ResizeMode::Aggregate {
                aggregation: whisper_format::Aggregation::Max,
                x_files_factor: 0.0,
            };
            let _ = whisper_format::resize_into(&w, &mut new, whisper_format::ResizeMode::Copy, now, &mut |_, _| {});
            let _ = whisper_format::resize_into(&w, &mut new, mode, now, &mut |_, _| {});
        }
        if let Ok(other) = Whisper::open_read(&path) {
            let _ = whisper_format::diff(&other, &w, false, None, now);
            let _ = whisper_format::merge(&other, &mut w, None, None, now);
            let _ = whisper_format::fill(&other, &mut w, now);
        }
        std::fs::write(&path, bytes).unwrap();
    }
}
