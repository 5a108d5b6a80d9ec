//! A full disk, then a read-only one: writes fail, nothing is lost, `/ready` says why, and
//! everything is written once space (or write access) returns.
//!
//! The storage directory is a 512 KiB tmpfs (room for about five `1s:2h` whisper files and
//! little log). Forty metrics arrive; most files cannot be created and the write-ahead log
//! cannot append. The points must stay in the cache (renders still show them), `/ready`
//! must answer 503 with the reasons, and after the tmpfs is grown every point must be in
//! its file. Mounting needs root (the CI runs as root); elsewhere the test says so and
//! does nothing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util::{Server, eventually, now, whisper_points_many};

/// An unmount on drop, whatever the test's outcome.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount_tmpfs(at: &Path, size: &str) -> Option<Mounted> {
    std::fs::create_dir_all(at).unwrap();
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "diskfull: cannot mount a tmpfs here ({}); the full-disk test needs root",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    Some(Mounted(at.to_path_buf()))
}

#[test]
fn a_full_disk_loses_nothing_and_recovers() {
    let root = tempfile::tempdir().unwrap();
    let storage = root.path().join("storage");
    let Some(_mount) = mount_tmpfs(&storage, "512k") else {
        return;
    };
    let conf = root.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("carbon.conf"),
        format!(
            "[cache]\nSTORAGE_DIR = {}/\nMAX_CREATES_PER_MINUTE = inf\nMAX_UPDATES_PER_SECOND = inf\n\
             CARBON_METRIC_INTERVAL = 0\n",
            storage.display()
        ),
    )
    .unwrap();
    std::fs::write(
        conf.join("storage-schemas.conf"),
        "[all]\npattern = .*\nretentions = 1s:2h\n",
    )
    .unwrap();
    let conf_path = conf.join("carbon.conf").to_str().unwrap().to_owned();
    let mut server = Server::start(&["--config", &conf_path]);

    let t = now() - 60;
    let mut text = String::new();
    for m in 0..40 {
        for i in 0..10 {
            text.push_str(&format!("full.m{m:02} {} {}\n", m * 100 + i, t + i));
        }
    }
    server.send_lines(text.as_bytes());

    // Not ready, with the reasons.
    let body = eventually(Duration::from_secs(30), || {
        let (status, body) = server.http_get("/ready");
        (status == 503 && body.contains("whisper write failed")).then_some(body)
    })
    .expect("/ready reports the failing writes");
    assert!(body.contains("reasons"), "{body}");
    // The points wait in the cache and are still served.
    let (_, body) = server.http_get(&format!(
        "/render?target=full.m39&from={}&until={}&format=json",
        t - 1,
        t + 20
    ));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let values: Vec<f64> = v[0]["datapoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p[0].as_f64())
        .collect();
    assert_eq!(values.len(), 10, "{body}");

    // Space returns.
    let grown = Command::new("mount")
        .args(["-o", "remount,size=64m"])
        .arg(&storage)
        .status()
        .unwrap();
    assert!(grown.success());
    let files: Vec<PathBuf> = (0..40)
        .map(|m| storage.join(format!("whisper/full/m{m:02}.wsp")))
        .collect();
    let want: Vec<Vec<(i64, f64)>> = (0..40)
        .map(|m| (0..10).map(|i| (t + i, (m * 100 + i) as f64)).collect())
        .collect();
    let mut last = Vec::new();
    let done = eventually(Duration::from_secs(60), || {
        last = whisper_points_many(&files);
        last.iter()
            .zip(&want)
            .all(|(got, want)| got.as_ref() == Some(want))
            .then_some(())
    });
    assert!(
        done.is_some(),
        "not everything written after space returned: {last:?}"
    );
    eventually(Duration::from_secs(30), || {
        (server.http_get("/ready").0 == 200).then_some(())
    })
    .expect("ready again");

    // The whisper tree turns read-only (as ext4 does after errors; here a read-only bind
    // mount over it, since the log keeps a file of the tmpfs open for writing): the same
    // story.
    let whisper_dir = storage.join("whisper");
    let mount = |args: &[&str]| {
        let ok = Command::new("mount")
            .args(args)
            .arg(&whisper_dir)
            .arg(&whisper_dir)
            .status();
        assert!(ok.unwrap().success(), "mount {args:?}");
    };
    mount(&["--bind"]);
    let bound = Mounted(whisper_dir.clone());
    let ro = Command::new("mount")
        .args(["-o", "remount,bind,ro"])
        .arg(&whisper_dir)
        .status()
        .unwrap();
    assert!(ro.success());
    let later = t + 20;
    server.send_lines(format!("full.m00 77 {later}\nfull.new 78 {later}\n").as_bytes());
    eventually(Duration::from_secs(30), || {
        let (status, body) = server.http_get("/ready");
        (status == 503 && body.contains("whisper write failed")).then_some(())
    })
    .expect("/ready reports the read-only filesystem");
    drop(bound);
    let again = [
        storage.join("whisper/full/m00.wsp"),
        storage.join("whisper/full/new.wsp"),
    ];
    eventually(Duration::from_secs(60), || {
        let got = whisper_points_many(&again);
        (got[0].as_ref().is_some_and(|p| p.contains(&(later, 77.0)))
            && got[1].as_ref() == Some(&vec![(later, 78.0)]))
        .then_some(())
    })
    .expect("written once the filesystem is writable again");
    assert!(server.terminate().success());
}
