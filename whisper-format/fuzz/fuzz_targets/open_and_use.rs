//! Arbitrary bytes as a whisper file, every entry point driven over it.
//! Run: `cd whisper-format/fuzz && cargo +nightly fuzz run open_and_use`.
//! Seeds and findings live in `../tests/regressions/` (replayed by the
//! `hostile` test on stable).
#![no_main]

include!("../../tests/harness/exercise.rs");

thread_local! {
    static DIR: tempfile::TempDir = tempfile::tempdir().unwrap();
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    DIR.with(|dir| exercise(dir.path(), data));
});
