//! Flow control, white/blacklists and configuration reloads, driven through
//! carbon's own carbon.conf.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use crate::util::{Server, eventually, now, python_run, whisper_points};

/// A temp dir holding conf/carbon.conf (with `cache` keys) and the schemas.
fn conf_dir(cache_keys: &str, schemas: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("carbon.conf"),
        format!("[cache]\nCARBON_METRIC_INTERVAL = 0\n{cache_keys}\n"),
    )
    .unwrap();
    std::fs::write(conf.join("storage-schemas.conf"), schemas).unwrap();
    dir
}

const DEFAULT_SCHEMA: &str = "[all]\npattern = .*\nretentions = 60s:1d\n";

#[test]
fn a_full_cache_pauses_the_receivers_and_loses_nothing() {
    // One write a second and room for 1,000 points: 1,600 points overfill it.
    let dir = conf_dir(
        "MAX_CACHE_SIZE = 1000\nMAX_UPDATES_PER_SECOND = 1\n",
        DEFAULT_SCHEMA,
    );
    let server = Server::start_in(dir, &["--config", "conf/carbon.conf", "--writers", "1"]);
    let base = now() - now() % 60 - 60;
    let mut text = Vec::new();
    for m in 0..4 {
        for k in 0..400 {
            writeln!(text, "flow.m{m} {k} {}", base - k * 60).unwrap();
        }
    }
    let addr = server.addr("line");
    let sender = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(&text).unwrap();
    });
    let (status, body) = eventually(Duration::from_secs(10), || {
        let (status, body) = server.http_get("/ready");
        (status == 503).then_some((status, body))
    })
    .expect("/ready reports the full cache");
    assert_eq!(status, 503);
    assert!(body.contains("cache full"), "{body}");
    sender.join().unwrap();
    for m in 0..4 {
        let path = server.file(&format!("flow.m{m}"));
        let points = eventually(Duration::from_secs(30), || {
            path.exists()
                .then(|| whisper_points(&path))
                .filter(|p| p.len() == 400)
        });
        assert!(points.is_some(), "flow.m{m}: all 400 points written");
    }
    assert!(
        eventually(Duration::from_secs(10), || (server.http_get("/ready").0
            == 200)
            .then_some(()))
        .is_some()
    );
}

#[test]
fn whitelist_blacklist_and_sighup_reload() {
    let dir = conf_dir("USE_WHITELIST = True\n", DEFAULT_SCHEMA);
    let conf = dir.path().join("conf");
    std::fs::write(conf.join("whitelist.conf"), "^keep\\.\n").unwrap();
    std::fs::write(conf.join("blacklist.conf"), "secret\n").unwrap();
    let mut server = Server::start_in(dir, &["--config", "conf/carbon.conf"]);
    let t = now() - now() % 60 - 60;
    server.send_lines(format!("keep.a 1 {t}\ndrop.b 2 {t}\nkeep.secret 3 {t}\n").as_bytes());
    let kept = server.file("keep.a");
    assert!(eventually(Duration::from_secs(20), || kept.exists().then_some(())).is_some());
    assert!(!server.file("drop.b").exists());
    assert!(!server.file("keep.secret").exists());

    // New storage rules and an empty whitelist take effect on SIGHUP.
    let conf = server.dir.path().join("conf");
    std::fs::write(
        conf.join("storage-schemas.conf"),
        "[fine]\npattern = .*\nretentions = 10s:1h,60s:1d\n",
    )
    .unwrap();
    std::fs::write(conf.join("whitelist.conf"), "").unwrap();
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&server.child),
        rustix::process::Signal::HUP,
    )
    .unwrap();
    server.wait_log("reloaded", Duration::from_secs(10));
    server.send_lines(format!("drop.b 2 {t}\n").as_bytes());
    let path = server.file("drop.b");
    assert!(eventually(Duration::from_secs(20), || path.exists().then_some(())).is_some());
    let archives = python_run(
        "import sys, whisper; print([(a['secondsPerPoint'], a['points']) for a in whisper.info(sys.argv[1])['archives']])",
        &[path.to_str().unwrap()],
    );
    assert_eq!(archives.trim(), "[(10, 360), (60, 1440)]");
    // The point is in the 10 s archive (one known of six: no propagation
    // under xFilesFactor 0.5), so read the last hour.
    let last_hour = "import sys, time, whisper\n(s, e, st), v = whisper.fetch(sys.argv[1], time.time() - 3600)\nprint([(s + i * st, x) for i, x in enumerate(v) if x is not None])";
    let got = eventually(Duration::from_secs(20), || {
        let out = python_run(last_hour, &[path.to_str().unwrap()]);
        (out.trim() != "[]").then_some(out)
    });
    assert_eq!(
        got.as_deref().map(str::trim),
        Some(format!("[({t}, 2.0)]").as_str())
    );
    assert!(server.terminate().success());
}

#[test]
fn slow_http_clients_cannot_hold_the_server() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let server = Server::start(&[
        "--max-http-connections",
        "3",
        "--http-header-timeout",
        "0.5",
    ]);
    let addr = server.addr("http");
    // Three slowloris connections: headers started, never finished.
    let mut slow: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").unwrap();
            s
        })
        .collect();
    // A normal client still gets its answer, once the slow ones are cut at the header
    // timeout: all three slots were taken, so it cannot have been served before that.
    let started = std::time::Instant::now();
    let (status, _) = server.http_get("/health");
    assert_eq!(status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "served while every connection slot was held: the limit is not enforced"
    );
    for s in &mut slow {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = Vec::new();
        // The server closed it (possibly after a 408): the read ends, it does not time out.
        s.read_to_end(&mut buf)
            .expect("the server closes a slow connection");
        let text = String::from_utf8_lossy(&buf);
        assert!(text.is_empty() || text.contains("408"), "{text}");
    }
}

#[test]
fn idle_carbon_connections_are_closed_and_the_limit_holds() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let server = Server::start(&["--max-connections", "2", "--idle-timeout", "1"]);
    let line = server.addr("line");
    // Two silent clients take both slots (slowloris on the carbon port).
    let mut idle: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(line).unwrap()).collect();
    // A third client's points still arrive, once the idle ones are cut.
    let t = crate::util::now();
    let mut third = TcpStream::connect(line).unwrap();
    third
        .write_all(format!("after.idle 9 {t}\n").as_bytes())
        .unwrap();
    drop(third);
    let file = server.file("after.idle");
    eventually(Duration::from_secs(30), || {
        (file.exists()
            && crate::util::whisper_points(&file)
                .iter()
                .any(|p| p.1 == 9.0))
        .then_some(())
    })
    .expect("the third client was served");
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)
            .expect("the server closes an idle carbon connection");
    }
}
