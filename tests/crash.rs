//! Crash safety: `kill -9` under load loses no accepted point.
//!
//! The server writes slowly on purpose (`MAX_UPDATES_PER_SECOND = 2`), so at every kill
//! most accepted points exist only in its cache and its write-ahead log. Twenty times:
//! start on the same storage directory (replaying the log), send a random number of
//! batches and wait until the server has accepted and logged them (its Prometheus
//! counters say so), send more without waiting, and SIGKILL it mid-stream. Then one clean
//! start and SIGTERM writes everything out, and python3-whisper must find every point
//! that was accepted before each kill, with its value, in files that all read cleanly.

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

fn write_conf(dir: &Path, max_updates: &str) -> String {
    let conf = dir.join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("carbon.conf"),
        format!(
            "[cache]\nSTORAGE_DIR = {}/storage/\nMAX_UPDATES_PER_SECOND = {max_updates}\n\
             MAX_CREATES_PER_MINUTE = inf\nCARBON_METRIC_INTERVAL = 0\n",
            dir.display()
        ),
    )
    .unwrap();
    std::fs::write(
        conf.join("storage-schemas.conf"),
        "[all]\npattern = .*\nretentions = 1s:3h\n",
    )
    .unwrap();
    conf.join("carbon.conf").to_str().unwrap().to_owned()
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

#[test]
fn kill_dash_nine_under_load_loses_no_accepted_point() {
    let root = tempfile::tempdir().unwrap();
    let conf = write_conf(root.path(), "2");
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
    let conf = write_conf(root.path(), "inf");
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
