//! Our tools against outputs recorded from Debian's python3-whisper scripts
//! (`tests/golden/make.sh`, versions in `tests/golden/MANIFEST`). Needs no
//! Python: it guards the formats where the reference is not installed.

use std::path::Path;
use std::process::Command;

fn golden_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden"))
}

fn binary(tool: &str) -> &'static str {
    match tool {
        "whisper-info" => env!("CARGO_BIN_EXE_whisper-info"),
        "whisper-dump" => env!("CARGO_BIN_EXE_whisper-dump"),
        "whisper-fetch" => env!("CARGO_BIN_EXE_whisper-fetch"),
        "whisper-diff" => env!("CARGO_BIN_EXE_whisper-diff"),
        other => panic!("golden cases use a tool this test does not know: {other}"),
    }
}

/// The clock make.sh ran the scripts with.
fn clock() -> String {
    let manifest =
        std::fs::read_to_string(golden_dir().join("MANIFEST")).expect("tests/golden/MANIFEST");
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("clock: "))
        .expect("MANIFEST names the clock")
        .trim()
        .to_owned()
}

#[test]
fn outputs_match_the_recorded_reference() {
    let dir = golden_dir();
    let now = clock();
    let cases = std::fs::read_to_string(dir.join("cases")).expect("tests/golden/cases");
    let mut checked = 0;
    for line in cases.lines().filter(|l| !l.trim().is_empty()) {
        let mut words = line.split_whitespace();
        let (Some(name), Some(tool)) = (words.next(), words.next()) else {
            panic!("bad line in tests/golden/cases: {line:?}");
        };
        let expected = std::fs::read_to_string(dir.join("expected").join(name))
            .unwrap_or_else(|e| panic!("expected/{name}: {e}"));
        // The tools only read here, so they run on the checked-in files.
        let out = Command::new(binary(tool))
            .args(words)
            .current_dir(dir)
            .env("CHARCOAL_NOW", &now)
            .env("TZ", "UTC")
            .env_remove("COLUMNS")
            .output()
            .expect("run the tool");
        assert!(
            out.status.success(),
            "{line}: {:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let actual = String::from_utf8(out.stdout).expect("UTF-8 output");
        if actual != expected {
            let at = actual
                .lines()
                .zip(expected.lines())
                .position(|(a, e)| a != e);
            panic!(
                "{line}: output differs from expected/{name} (first differing line {at:?})\n\
                 --- expected\n{expected}\n--- ours\n{actual}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} golden cases");
}
