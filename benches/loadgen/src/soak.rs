//! `soak`: sustained ingest at a fixed rate with concurrent renders and finds, for a bounded
//! time, watching the server's memory.
//!
//! Writers: `connections` threads, each sending plaintext lines for its share of
//! `metrics` metrics at `rate / connections` points per second (paced every 10 ms), with
//! the timestamp of each round of metrics advancing one second, so every point is new.
//! Readers: `readers` threads, each looping over a `/render` (`sumSeries` over a 100-metric
//! group, last 10 minutes, json) and a `/metrics/find` (one group's 100 leaves), recording
//! each request's latency and any answer that is not a 200. A sampler reads the server's
//! RSS (`/proc/<pid>/statm`) every second. One JSON line at the end: achieved rate, RSS at
//! the start of the second half and at the end (flat means the difference is small against
//! the total), the maximum, latency percentiles and error counts.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde_json::{Value, json};

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Soak {
    pub(crate) carbon: SocketAddr,
    pub(crate) http: SocketAddr,
    pub(crate) pid: u32,
    pub(crate) metrics: u64,
    pub(crate) rate: u64,
    pub(crate) connections: u64,
    pub(crate) readers: u64,
    pub(crate) duration: Duration,
}

fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/statm"))
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn http_get(addr: SocketAddr, path: &str) -> Result<u16> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: soak\r\n\r\n")?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("no HTTP status")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub(crate) fn run(s: &Soak) -> Result<Value> {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let start_ts = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() - 600;
    let mut threads = Vec::new();
    let per_conn = s.rate / s.connections.max(1);
    for c in 0..s.connections {
        let (stop, sent, addr) = (stop.clone(), sent.clone(), s.carbon);
        let metrics: Vec<u64> = (0..s.metrics).filter(|m| m % s.connections == c).collect();
        threads.push(std::thread::spawn(move || -> Result<()> {
            let mut conn = TcpStream::connect(addr)?;
            let started = Instant::now();
            let (mut done, mut round, mut i) = (0u64, 0u64, 0usize);
            let mut buf = String::new();
            while !stop.load(Ordering::Relaxed) {
                let due = (started.elapsed().as_secs_f64() * per_conn as f64) as u64;
                if due <= done {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                buf.clear();
                let chunk = due.min(done + 50_000) - done;
                for _ in 0..chunk {
                    let m = metrics[i];
                    buf.push_str(&format!(
                        "soak.g{}.m{m} {} {}\n",
                        m / 100,
                        (m + round) % 1000,
                        start_ts + round
                    ));
                    i += 1;
                    if i == metrics.len() {
                        i = 0;
                        round += 1;
                    }
                }
                done += chunk;
                conn.write_all(buf.as_bytes())?;
                sent.fetch_add(buf.lines().count() as u64, Ordering::Relaxed);
            }
            Ok(())
        }));
    }
    let latencies = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let errors = Arc::new(AtomicU64::new(0));
    let groups = (s.metrics / 100).max(1);
    let mut readers = Vec::new();
    for r in 0..s.readers {
        let (stop, lat, errors, addr) = (stop.clone(), latencies.clone(), errors.clone(), s.http);
        readers.push(std::thread::spawn(move || {
            let mut k = r;
            while !stop.load(Ordering::Relaxed) {
                let g = k % groups;
                k += 1;
                for (kind, path) in [
                    (
                        0,
                        format!("/render?target=sumSeries(soak.g{g}.*)&from=-10min&format=json"),
                    ),
                    (1, format!("/metrics/find?query=soak.g{g}.*")),
                ] {
                    let t0 = Instant::now();
                    let ok = matches!(http_get(addr, &path), Ok(200));
                    let ms = t0.elapsed().as_secs_f64() * 1000.0;
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    let mut l = lat.lock().unwrap_or_else(|p| p.into_inner());
                    if kind == 0 {
                        l.0.push(ms)
                    } else {
                        l.1.push(ms)
                    }
                }
            }
        }));
    }
    let started = Instant::now();
    let mut rss = Vec::new();
    while started.elapsed() < s.duration {
        rss.push(rss_bytes(s.pid));
        std::thread::sleep(Duration::from_secs(1));
    }
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    for t in threads {
        t.join().map_err(|_| anyhow::anyhow!("writer panicked"))??;
    }
    for r in readers {
        let _ = r.join();
    }
    let (mut render, mut find) =
        std::mem::take(&mut *latencies.lock().unwrap_or_else(|p| p.into_inner()));
    render.sort_by(f64::total_cmp);
    find.sort_by(f64::total_cmp);
    let half = rss.len() / 2;
    Ok(json!({
        "seconds": elapsed,
        "points_sent": sent.load(Ordering::Relaxed),
        "points_per_second": sent.load(Ordering::Relaxed) as f64 / elapsed,
        "rss_mid_bytes": rss.get(half).copied().unwrap_or(0),
        "rss_end_bytes": rss.last().copied().unwrap_or(0),
        "rss_max_bytes": rss.iter().copied().max().unwrap_or(0),
        "rss_samples": rss,
        "renders": render.len(),
        "render_ms_p50": percentile(&render, 0.5),
        "render_ms_p99": percentile(&render, 0.99),
        "finds": find.len(),
        "find_ms_p50": percentile(&find, 0.5),
        "find_ms_p99": percentile(&find, 0.99),
        "http_errors": errors.load(Ordering::Relaxed),
    }))
}
