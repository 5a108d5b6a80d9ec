//! Waiting until every point sent is in its whisper file.
//!
//! For each metric the checker reads the file's header and only the slots of
//! the first archive where the sent timestamps must be (whisper places a
//! timestamp at `(ts - base) / step` slots after the archive's first slot, in
//! a ring), so a pass over 100,000 one-point files costs a few system calls
//! per file. A point counts as found when its slot holds its timestamp
//! (rounded down to the archive's step); when each slot receives exactly one
//! point the value is compared too. Files found complete are not read again.
//!
//! Between passes the checker sleeps twice as long as the pass took (10 ms to
//! 1 s), so it uses at most a third of one core while the server works. The
//! precise finish time does not depend on that resolution: once everything is
//! there, the answer also reports the newest modification time of the files
//! (`last_write`, when the last point landed) and the newest birth time
//! (`last_create`).

use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::workload::Workload;

/// Bytes of whisper's metadata block and of one archive-info entry / point.
const METADATA: u64 = 16;
const ENTRY: u64 = 12;

/// How much of one metric is on disk.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    /// Sent points whose slot holds their timestamp.
    pub(crate) points: usize,
    /// Of those, points whose value differs from the one sent.
    pub(crate) wrong_values: usize,
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Reads metric `i`'s file. A missing file, or one whose header is not
/// written yet, has nothing; a file whose first archive cannot hold the
/// points is an error (the schema does not fit the workload).
pub(crate) fn found_in(path: &Path, w: &Workload, i: usize) -> Result<Found> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Found::default()),
        Err(e) => return Err(e).with_context(|| format!("open {}", path.display())),
    };
    let mut header = [0u8; (METADATA + ENTRY) as usize];
    if file.read_exact_at(&mut header, 0).is_err() {
        return Ok(Found::default()); // being created
    }
    let archives = be32(&header[12..]);
    let (offset, step, slots) = (
        u64::from(be32(&header[16..])),
        i64::from(be32(&header[20..])),
        i64::from(be32(&header[24..])),
    );
    if archives == 0 || step == 0 || slots == 0 || offset == 0 {
        return Ok(Found::default());
    }
    let mut base = [0u8; 4];
    if file.read_exact_at(&mut base, offset).is_err() {
        return Ok(Found::default());
    }
    let base = i64::from(be32(&base));
    if base == 0 {
        return Ok(Found::default()); // nothing written yet
    }
    let slot_of = |ts: u32| i64::from(ts) - i64::from(ts) % step;
    let first = slot_of(w.timestamp(0));
    let last = slot_of(w.timestamp(w.points - 1));
    let span = (last - first) / step + 1;
    if span > slots {
        bail!(
            "{}: {} points every {} s need {} slots; the first archive has {}",
            path.display(),
            w.points,
            w.step,
            span,
            slots
        );
    }
    // The slots from `first` to `last`, unwrapped from the ring.
    let start = ((first - base) / step).rem_euclid(slots);
    let mut buf = vec![0u8; (span * ENTRY as i64) as usize];
    let head = (slots - start).min(span) as usize * ENTRY as usize;
    let ok = file
        .read_exact_at(&mut buf[..head], offset + start as u64 * ENTRY)
        .and_then(|()| file.read_exact_at(&mut buf[head..], offset));
    if ok.is_err() {
        return Ok(Found::default());
    }
    let one_point_per_slot = i64::from(w.step) % step == 0;
    let mut found = Found::default();
    for j in 0..w.points {
        let slot = slot_of(w.timestamp(j));
        let at = ((slot - first) / step) as usize * ENTRY as usize;
        if i64::from(be32(&buf[at..])) == slot {
            found.points += 1;
            let value = f64::from_be_bytes(buf[at + 4..at + 12].try_into().expect("8 bytes"));
            if one_point_per_slot && value.to_bits() != Workload::value(i, j).to_bits() {
                found.wrong_values += 1;
            }
        }
    }
    Ok(found)
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Polls `whisper_dir` until every point of `w` is there, `timeout` runs out
/// or, with `once`, after one pass. Returns the JSON report and whether
/// everything was found.
pub(crate) fn wait(
    w: &Workload,
    whisper_dir: &Path,
    since_unix: Option<f64>,
    timeout: Duration,
    once: bool,
) -> Result<(serde_json::Value, bool)> {
    let started = Instant::now();
    let mut found = vec![Found::default(); w.metrics];
    let mut pending: Vec<usize> = (0..w.metrics).collect();
    let mut passes = 0u64;
    loop {
        let pass = Instant::now();
        let mut still = Vec::with_capacity(pending.len());
        for &i in &pending {
            found[i] = found_in(&whisper_dir.join(w.relative_path(i)), w, i)?;
            if found[i].points < w.points {
                still.push(i);
            }
        }
        pending = still;
        passes += 1;
        if pending.is_empty() || once || started.elapsed() > timeout {
            break;
        }
        let pause = (pass.elapsed() * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
        std::thread::sleep(pause);
    }
    let detected_unix = unix(SystemTime::now());
    let complete = pending.is_empty();

    // When the files were made and last written, from their inodes.
    let (mut files, mut last_write, mut first_create, mut last_create) =
        (0usize, 0f64, f64::INFINITY, 0f64);
    for i in 0..w.metrics {
        if let Ok(m) = std::fs::metadata(whisper_dir.join(w.relative_path(i))) {
            files += 1;
            if let Ok(t) = m.modified() {
                last_write = last_write.max(unix(t));
            }
            if let Ok(t) = m.created() {
                first_create = first_create.min(unix(t));
                last_create = last_create.max(unix(t));
            }
        }
    }
    let points: usize = found.iter().map(|f| f.points).sum();
    let wrong: usize = found.iter().map(|f| f.wrong_values).sum();
    let since = |t: f64| {
        since_unix
            .filter(|_| t.is_finite() && t > 0.0)
            .map(|s| t - s)
    };
    let mut report = json!({
        "complete": complete,
        "metrics": w.metrics,
        "files": files,
        "files_complete": w.metrics - pending.len(),
        "points_expected": w.total_points(),
        "points_found": points,
        "wrong_values": wrong,
        "passes": passes,
        "detected_unix": detected_unix,
        "last_write_unix": last_write,
        "first_create_unix": if first_create.is_finite() { first_create } else { 0.0 },
        "last_create_unix": last_create,
    });
    if let Some(s) = since_unix {
        report["since_unix"] = json!(s);
        report["detected_seconds"] = json!(detected_unix - s);
        report["last_write_seconds"] = json!(since(last_write));
        report["first_create_seconds"] = json!(since(first_create));
        report["last_create_seconds"] = json!(since(last_create));
    }
    Ok((report, complete))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Order;
    use std::process::Command;

    const PYTHON: &str = "/usr/bin/python3";

    fn python_whisper() -> bool {
        Command::new(PYTHON)
            .args(["-c", "import whisper"])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Files written by python3-whisper: found when complete, partial
    /// counts when not, wrong values noticed, missing files empty.
    #[test]
    fn counts_what_python_whisper_wrote() {
        if !python_whisper() {
            eprintln!("python3-whisper not found: check test skipped");
            return;
        }
        let dir = std::env::temp_dir().join(format!("loadgen-check-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // python3-whisper drops points older than its own clock's retention.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as u32;
        let w = Workload {
            prefix: "loadgen".into(),
            metrics: 4,
            points: 50,
            step: 10,
            end: now - now % 10,
            order: Order::Time,
        };
        // Metric 0: all points. 1: the first 20 only. 2: all, one value
        // changed. 3: no file. A first write 300 s before the end fixes the
        // ring's base, so the points wrap around the end of the 60-slot ring.
        let mut script = String::from("import whisper, os\n");
        for i in 0..3 {
            let path = dir.join(w.relative_path(i));
            let n = if i == 1 { 20 } else { w.points };
            let points: Vec<String> = (0..n)
                .map(|j| {
                    let v = if i == 2 && j == 7 {
                        -1.0
                    } else {
                        Workload::value(i, j)
                    };
                    format!("({}, {v:?})", w.timestamp(j))
                })
                .collect();
            script += &format!(
                "os.makedirs(os.path.dirname({p:?}), exist_ok=True)\n\
                 whisper.create({p:?}, [(10, 60), (60, 100)])\n\
                 whisper.update_many({p:?}, [({base}, 1.0)])\n\
                 whisper.update_many({p:?}, [{pts}])\n",
                p = path.to_str().unwrap(),
                base = w.end - 300,
                pts = points.join(", ")
            );
        }
        let status = Command::new(PYTHON)
            .args(["-c", &script])
            .env("PYTHONPATH", "")
            .status()
            .unwrap();
        assert!(status.success());
        let got: Vec<Found> = (0..4)
            .map(|i| found_in(&dir.join(w.relative_path(i)), &w, i).unwrap())
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            got,
            [
                Found {
                    points: 50,
                    wrong_values: 0
                },
                Found {
                    points: 20,
                    wrong_values: 0
                },
                Found {
                    points: 50,
                    wrong_values: 1
                },
                Found::default(),
            ]
        );
    }
}
