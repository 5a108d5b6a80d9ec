//! Crash safety: `kill -9` under load loses no accepted point, and a second server on the
//! same storage cannot make it lose any.
//!
//! The server writes slowly on purpose (`MAX_UPDATES_PER_SECOND = 2`,
//! `MAX_CREATES_PER_MINUTE = 1`), so at every kill most accepted points exist only in its
//! cache and its write-ahead log. Twenty times: start on the same storage directory
//! (replaying the log), send a random number of batches and wait until the server has
//! accepted and logged them (its Prometheus counters say so), start a second server on
//! the same storage (it must be refused at once, naming the directory and the first one's
//! PID, and leave the log as it was), send more without waiting, and SIGKILL the first
//! mid-stream. Then one clean start and SIGTERM writes everything out, and python3-whisper
//! must find every point that was accepted before each kill, with its value, in files that
//! all read cleanly.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use crate::util::{Server, eventually, now, python_run};

const METRICS: u64 = 50;

fn counter(server: &Server, name: &str) -> u64 {
    let (_, body) = server.http_get("/metrics");
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

fn write_conf(dir: &Path, max_updates: &str, max_creates: &str) -> String {
    crate::util::carbon_conf(
        dir,
        &format!(
            "MAX_UPDATES_PER_SECOND = {max_updates}\nMAX_CREATES_PER_MINUTE = {max_creates}\n\
             CARBON_METRIC_INTERVAL = 0\n"
        ),
    )
}

/// A tiny deterministic generator for the random moments.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Every file in `dir` with its size.
fn listing(dir: &Path) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Starts a second server on the storage of the server `pid` and checks it exits at once
/// with one line naming the directory and that PID.
fn second_server_is_refused(conf: &str, storage: &Path, pid: u32) {
    let mut args = vec!["serve", "--config", conf];
    for l in ["--line", "--udp", "--pickle", "--carbonlink", "--http"] {
        args.extend([l, "127.0.0.1:0"]);
    }
    let out = crate::util::run_bounded(
        std::process::Command::new(env!("CARGO_BIN_EXE_charcoal")).args(&args),
        Duration::from_secs(20),
    );
    assert!(!out.status.success(), "the second server must not start");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains(&storage.display().to_string()) && last.contains(&format!("PID {pid}")),
        "the refusal names the storage directory and the PID holding it: {stderr}"
    );
    assert!(
        !stderr.contains("replayed") && !stderr.contains("listening"),
        "the refused server did nothing: {stderr}"
    );
}

#[test]
fn kill_dash_nine_under_load_loses_no_accepted_point() {
    let root = tempfile::tempdir().unwrap();
    let conf = write_conf(root.path(), "2", "1");
    let base = now() - 2 * 3600;
    let mut rng = Rng(now() as u64 | 1);
    let mut sent: u64 = 0;
    // The index ranges of points accepted (and logged) before each kill; the points sent
    // after them in a round may or may not have been read when the kill came.
    let mut accepted: Vec<std::ops::Range<u64>> = Vec::new();
    let line = |k: u64| {
        format!(
            "crash.m{:02} {} {}\n",
            k % METRICS,
            k as f64 * 0.5,
            base + (k / METRICS) as i64
        )
    };
    for round in 0..20 {
        let mut server = Server::start(&["--config", &conf, "--wal-sync-interval", "0.05"]);
        let received_before = counter(&server, "charcoal_metrics_received_total");
        assert_eq!(received_before, 0, "round {round}: a fresh process");
        let mut conn = TcpStream::connect(server.addr("line")).unwrap();
        let batches = 1 + rng.below(20);
        let start = sent;
        for _ in 0..batches {
            let text: String = (sent..sent + 100).map(line).collect();
            conn.write_all(text.as_bytes()).unwrap();
            sent += 100;
        }
        let want = sent - start;
        eventually(Duration::from_secs(30), || {
            (counter(&server, "charcoal_metrics_received_total") >= want
                && counter(&server, "charcoal_wal_logged_points_total") >= want)
                .then_some(())
        })
        .unwrap_or_else(|| panic!("round {round}: {want} points never accepted and logged"));
        accepted.push(start..sent);
        let storage = root.path().join("storage");
        let log_before = listing(&storage.join("wal"));
        second_server_is_refused(&conf, &storage, server.child.id());
        // The first server may have appended or started a segment meanwhile; with creates
        // throttled none of its segments is fully written, so none may be gone or shrunk.
        let log_after = listing(&storage.join("wal"));
        for (name, size) in &log_before {
            let now = log_after.iter().find(|(n, _)| n == name).map(|(_, s)| *s);
            assert!(
                now.is_some_and(|s| s >= *size),
                "round {round}: segment {name} ({size} bytes) is {now:?} after the refused start"
            );
        }
        // More load, then the kill in the middle of it.
        for _ in 0..rng.below(10) {
            let text: String = (sent..sent + 100).map(line).collect();
            let _ = conn.write_all(text.as_bytes());
            sent += 100;
        }
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        server.drain_log();
        if std::env::var_os("CRASH_DEBUG").is_some() {
            let segs: Vec<String> = std::fs::read_dir(root.path().join("storage/wal"))
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    format!(
                        "{}:{}",
                        e.file_name().to_string_lossy(),
                        e.metadata().unwrap().len()
                    )
                })
                .collect();
            eprintln!("round {round} sent {sent} accepted {accepted:?} wal {segs:?}");
            for l in server
                .log_lines
                .iter()
                .filter(|l| l.contains("write-ahead"))
            {
                eprintln!("  {l}");
            }
        }
    }

    // A clean start writes everything out at SIGTERM (limits are lifted for the flush).
    let conf = write_conf(root.path(), "inf", "inf");
    let mut server = Server::start(&["--config", &conf]);
    assert!(server.terminate().success());
    let replayed = server
        .log_lines
        .iter()
        .any(|l| l.contains("write-ahead log replayed"));
    assert!(replayed, "the last start replayed the log");

    let whisper = root.path().join("storage/whisper/crash");
    let files: Vec<String> = (0..METRICS)
        .map(|m| {
            whisper
                .join(format!("m{m:02}.wsp"))
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let out = python_run(
        "import sys, json, whisper\n\
         out = []\n\
         for p in sys.argv[1:]:\n\
         \x20   info = whisper.info(p)\n\
         \x20   (start, end, step), values = whisper.fetch(p, 0)\n\
         \x20   out.append({str(start + i * step): v for i, v in enumerate(values) if v is not None})\n\
         print(json.dumps(out))",
        &args,
    );
    let stored: Vec<std::collections::HashMap<String, f64>> =
        serde_json::from_str(out.trim()).unwrap();
    let mut lost = Vec::new();
    for k in 0..sent {
        let m = (k % METRICS) as usize;
        let t = (base + (k / METRICS) as i64).to_string();
        match stored[m].get(&t) {
            Some(v) => assert_eq!(*v, k as f64 * 0.5, "point {k} corrupted"),
            None if accepted.iter().any(|r| r.contains(&k)) => lost.push(k),
            None => {}
        }
    }
    let total: u64 = accepted.iter().map(|r| r.end - r.start).sum();
    assert!(
        lost.is_empty(),
        "{} of {total} accepted points lost, first {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    let wal_left = std::fs::read_dir(root.path().join("storage/wal"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(wal_left, 0, "a clean shutdown leaves no log segment");
}
