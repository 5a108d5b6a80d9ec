//! Replays every saved fuzz input (`tests/fuzz_regressions/<target>/*`) with the checks of the
//! fuzz target of that name (`tests/common/fuzz_checks.rs`), so `cargo test` keeps them fixed.

#[path = "common/fuzz_checks.rs"]
mod fuzz_checks;

use std::path::Path;

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
        let check: fn(&[u8]) = match name.as_str() {
            "parse_target" => fuzz_checks::parse_target,
            "parse_time" => fuzz_checks::parse_time,
            other => panic!("no fuzz target named {other:?}"),
        };
        for file in std::fs::read_dir(target.path()).unwrap() {
            let path = file.unwrap().path();
            check(&std::fs::read(&path).unwrap());
            replayed += 1;
        }
    }
    assert!(
        replayed > 0,
        "no regression inputs under {}",
        root.display()
    );
}
