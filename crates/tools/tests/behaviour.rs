//! Behaviour with no Python reference to compare against: `--aggregate`
//! (which crashes in Debian's script), broken pipes, and the
//! `CHARCOAL_NOW` clock, errors where Python prints a traceback.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A clock aligned to 600 s, so the expected intervals are easy to read.
const T: i64 = 1_700_000_400;

fn tool(name: &str) -> Command {
    let path = match name {
        "whisper-create" => env!("CARGO_BIN_EXE_whisper-create"),
        "whisper-update" => env!("CARGO_BIN_EXE_whisper-update"),
        "whisper-fetch" => env!("CARGO_BIN_EXE_whisper-fetch"),
        "whisper-dump" => env!("CARGO_BIN_EXE_whisper-dump"),
        "whisper-resize" => env!("CARGO_BIN_EXE_whisper-resize"),
        "whisper-info" => env!("CARGO_BIN_EXE_whisper-info"),
        other => panic!("unknown tool {other}"),
    };
    let mut cmd = Command::new(path);
    cmd.env("TZ", "UTC").env_remove("COLUMNS");
    cmd
}

/// Runs a tool in `dir` at clock `now` and expects success.
fn ok(dir: &Path, now: i64, name: &str, args: &[&str]) -> String {
    let out = run(dir, now, name, args);
    assert!(
        out.status.success(),
        "{name} {args:?}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn run(dir: &Path, now: i64, name: &str, args: &[&str]) -> Output {
    tool(name)
        .args(args)
        .current_dir(dir)
        .env("CHARCOAL_NOW", now.to_string())
        .output()
        .expect("run the tool")
}

/// `timestamp<TAB>value` lines as whisper-fetch prints them.
fn fetch_lines(rows: &[(i64, Option<f64>)]) -> String {
    rows.iter()
        .map(|(t, v)| match v {
            Some(v) => format!("{t}\t{v:.6}\n"),
            None => format!("{t}\tNone\n"),
        })
        .collect()
}

/// Old data in a `60:10` file, by age: 480 → 1, 420 → 2, (360 missing),
/// 300 → 4, (240, 180 missing), 120 → 5, 60 → 6, 0 → 7. whisper-resize
/// reads it from `T - 540`, so the oldest slot it sees is `T - 480`.
fn old_file(dir: &Path) {
    ok(dir, T, "whisper-create", &["old.wsp", "60:10"]);
    let points: Vec<String> = [
        (480, "1"),
        (420, "2"),
        (300, "4"),
        (120, "5"),
        (60, "6"),
        (0, "7"),
    ]
    .iter()
    .map(|(age, v)| format!("{}:{v}", T - age))
    .collect();
    let mut args = vec!["old.wsp"];
    args.extend(points.iter().map(String::as_str));
    ok(dir, T, "whisper-update", &args);
}

#[test]
fn aggregate_sums_old_points_into_each_new_interval() {
    let dir = tempfile::tempdir().expect("temporary directory");
    old_file(dir.path());
    let printed = ok(
        dir.path(),
        T,
        "whisper-resize",
        &[
            "old.wsp",
            "120:5",
            "--aggregate",
            "--aggregationMethod=sum",
            "--xFilesFactor=0.5",
        ],
    );
    assert_eq!(
        printed,
        "Retrieving all data from the archives\n\
         Creating new whisper database: old.wsp.tmp\n\
         Created: old.wsp.tmp (88 bytes)\n\
         Migrating data with aggregation...\n\
         Renaming old database to: old.wsp.bak\n\
         Renaming new database to: old.wsp\n"
    );
    // Intervals of 120 s: [T-480, T-360) holds 1 and 2 → 3; [T-360, T-240)
    // holds one known value of two, enough for xFilesFactor 0.5 → 4;
    // [T-240, T-120) holds nothing → no point; [T-120, T) → 5 + 6; [T, T+120)
    // → 7.
    let fetched = ok(
        dir.path(),
        T,
        "whisper-fetch",
        &["--from", &(T - 600).to_string(), "old.wsp"],
    );
    assert_eq!(
        fetched,
        fetch_lines(&[
            (T - 480, Some(3.0)),
            (T - 360, Some(4.0)),
            (T - 240, None),
            (T - 120, Some(11.0)),
            (T, Some(7.0)),
        ])
    );
    // The backup is the untouched old file.
    assert!(dir.path().join("old.wsp.bak").exists());
}

#[test]
fn aggregate_fills_every_archive_from_the_raw_points_with_xff() {
    let dir = tempfile::tempdir().expect("temporary directory");
    old_file(dir.path());
    ok(
        dir.path(),
        T,
        "whisper-resize",
        &[
            "old.wsp",
            "60:5",
            "180:4",
            "--aggregate",
            "--aggregationMethod=average",
            "--xFilesFactor=0.6",
            "--newfile=new.wsp",
        ],
    );
    // --newfile leaves the old file in place.
    assert!(dir.path().join("old.wsp").exists());
    assert!(!dir.path().join("old.wsp.bak").exists());
    // The 60 s archive keeps its own copies of the last five minutes:
    // (T-300 was written first and then overwritten by T, five slots on.)
    let fine = ok(
        dir.path(),
        T,
        "whisper-fetch",
        &["--from", &(T - 300).to_string(), "new.wsp"],
    );
    assert_eq!(
        fine,
        fetch_lines(&[
            (T - 240, None),
            (T - 180, None),
            (T - 120, Some(5.0)),
            (T - 60, Some(6.0)),
            (T, Some(7.0)),
        ])
    );
    // The 180 s archive (T is a multiple of 180 plus 120): intervals from
    // T-840; [T-480, T-300) sees 1, 2 and a missing slot (2/3 >= 0.6) →
    // 1.5; [T-300, T-120) sees 4 and two missing slots (1/3 < 0.6) → none;
    // [T-120, T+60) sees 5, 6 and 7 → 6. Nothing older was kept.
    assert_eq!(T % 180, 120);
    let coarse = ok(
        dir.path(),
        T,
        "whisper-fetch",
        &["--from", &(T - 720).to_string(), "new.wsp"],
    );
    assert_eq!(
        coarse,
        fetch_lines(&[
            (T - 660, None),
            (T - 480, Some(1.5)),
            (T - 300, None),
            (T - 120, Some(6.0)),
        ])
    );
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().expect("temporary directory");
    // About 12,000 lines, more than a pipe holds.
    ok(
        dir.path(),
        T,
        "whisper-create",
        &["big.wsp", "10s:6h", "1m:7d"],
    );
    let mut child = tool("whisper-dump")
        .arg("big.wsp")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start whisper-dump");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("read a line");
    assert_eq!(first, "Meta data:\n");
    drop(stdout);
    let out = child.wait_with_output().expect("wait for whisper-dump");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "nothing on stderr, no panic"
    );
    // 128 + SIGPIPE, what a shell reports for the Python script.
    assert_eq!(out.status.code(), Some(141));
}

#[test]
fn charcoal_now_replaces_the_clock() {
    let dir = tempfile::tempdir().expect("temporary directory");
    ok(dir.path(), T, "whisper-create", &["x.wsp", "60:10"]);
    // `N:` is the fixed clock, and so is the default range of whisper-fetch.
    ok(dir.path(), T, "whisper-update", &["x.wsp", "N:1.5"]);
    let fetched = ok(dir.path(), T + 60, "whisper-fetch", &["--json", "x.wsp"]);
    assert_eq!(
        fetched,
        format!(
            "{{\n    \"start\" : {},\n    \"end\" : {},\n    \"step\" : 60,\n    \"values\" : \
             [None, None, None, None, None, None, None, None, 1.5, None]\n  }}\n",
            T - 480,
            T + 120
        )
        .replace("None", "null")
    );
    let bad = tool("whisper-fetch")
        .arg("x.wsp")
        .current_dir(dir.path())
        .env("CHARCOAL_NOW", "soon")
        .output()
        .expect("run whisper-fetch");
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.starts_with("[ERROR] CHARCOAL_NOW=\"soon\""),
        "{stderr}"
    );
}

#[test]
fn resize_draws_no_progress_bar_off_a_terminal() {
    let dir = tempfile::tempdir().expect("temporary directory");
    old_file(dir.path());
    let out = run(
        dir.path(),
        T,
        "whisper-resize",
        &["old.wsp", "60:20", "--nobackup"],
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(!dir.path().join("old.wsp.bak").exists());
}

/// Python's whisper-info prints a traceback for a missing file; ours says it once, on one
/// line.
#[test]
fn a_missing_file_is_one_line_naming_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), T, "whisper-info", &["missing.wsp"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(stderr.matches("missing.wsp").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("No such file").count(), 1, "{stderr}");
}
