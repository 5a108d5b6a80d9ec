//! What the store promises an operator, seen from outside: replayed points are readable
//! at once, refusals are counted where operators look, `USER=` is honoured, and start-up
//! failures are one clear line.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::util::{Server, eventually, now, run_bounded};

/// carbon.conf with `extra` keys and no update limit (see `util::carbon_conf`).
fn write_conf(dir: &Path, extra: &str) -> String {
    crate::util::carbon_conf(dir, &format!("MAX_UPDATES_PER_SECOND = inf\n{extra}"))
}

fn counter(server: &Server, name: &str) -> f64 {
    let (_, body) = server.http_get("/metrics");
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
        .unwrap_or(0.0)
}

fn wsp_count(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                wsp_count(&p)
            } else {
                usize::from(p.extension().is_some_and(|x| x == "wsp"))
            }
        })
        .sum()
}

#[test]
fn replayed_points_are_found_and_rendered_before_their_files_exist() {
    let root = tempfile::tempdir().unwrap();
    // One file a minute: the points live in the cache and the log only.
    let conf = write_conf(
        root.path(),
        "MAX_CREATES_PER_MINUTE = 1\nCARBON_METRIC_INTERVAL = 0\n",
    );
    let mut server = Server::start(&["--config", &conf]);
    let t = now() - 60;
    let mut text: String = (0..40).map(|i| format!("lt.m{i:02} {i}.5 {t}\n")).collect();
    text.push_str(&format!("lt.tagged;dc=x 7 {t}\n"));
    server.send_lines(text.as_bytes());
    eventually(Duration::from_secs(30), || {
        (counter(&server, "charcoal_wal_logged_points_total") >= 41.0).then_some(())
    })
    .expect("41 points accepted and logged");
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let storage_whisper = root.path().join("storage/whisper");
    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    drop(server);
    let server = Server::start_in(dir, &["--config", &conf]);
    // Asked once, right after the restart: no waiting for the persisters.
    let (status, found) = server.http_get("/metrics/find?query=lt.*&format=completer");
    let files = wsp_count(&storage_whisper);
    assert_eq!(status, 200, "{found}");
    let listed = found.matches("\"is_leaf\": \"1\"").count();
    assert_eq!(listed, 40, "every replayed metric is found: {found}");
    assert!(
        files < 40,
        "the test means nothing once the files exist ({files})"
    );
    let (_, rendered) = server.http_get(&format!(
        "/render?target=lt.m30&from={}&until={}&format=json",
        t - 10,
        t + 10
    ));
    assert!(
        rendered.contains(&format!("[30.5, {t}]")),
        "the replayed point is rendered: {rendered}"
    );
    let (_, tagged) = server.http_get(&format!(
        "/render?target=seriesByTag(%27dc%3Dx%27)&from={}&until={}&format=json",
        t - 10,
        t + 10
    ));
    assert!(
        tagged.contains("lt.tagged;dc=x") && tagged.contains(&format!("[7.0, {t}]")),
        "a replayed tagged series is found by its tags: {tagged}"
    );
}

#[test]
fn refusals_are_counted_on_metrics_and_in_carbon_agents_and_summed_up_in_the_log() {
    let root = tempfile::tempdir().unwrap();
    let conf = write_conf(
        root.path(),
        "CARBON_METRIC_INTERVAL = 1\nPICKLE_RECEIVER_MAX_LENGTH = 1000\n",
    );
    let mut server = Server::start(&["--config", &conf]);
    // Six bad lines in one burst, and a good one among them.
    let t = now();
    server.send_lines(
        format!(
            "a b c d\nnot-a-number x {t}\nok.metric 1 {t}\n../x 1 {t}\nm 1\nm 1 2 3\nm one {t}\n"
        )
        .as_bytes(),
    );
    // A pickle frame that is not a pickle, then one announced over the limit.
    let mut pickle = TcpStream::connect(server.addr("pickle")).unwrap();
    pickle.write_all(&[0, 0, 0, 3, b'x', b'y', b'z']).unwrap();
    pickle.write_all(&[0, 0, 0x10, 0]).unwrap();
    drop(pickle);

    let wanted = [
        ("charcoal_invalid_lines_total", 6.0),
        ("charcoal_invalid_names_total", 1.0),
        ("charcoal_invalid_pickles_total", 1.0),
        ("charcoal_oversized_frames_total", 1.0),
    ];
    eventually(Duration::from_secs(10), || {
        wanted
            .iter()
            .all(|(name, n)| counter(&server, name) >= *n)
            .then_some(())
    })
    .unwrap_or_else(|| panic!("refusals on /metrics: {}", server.http_get("/metrics").1));
    assert_eq!(counter(&server, "charcoal_invalid_lines_total"), 6.0);

    // The burst logged one line at once; the rest are summed up a second later, without
    // waiting for another refusal.
    let summary = server.wait_log("more refusals were not logged", Duration::from_secs(10));
    assert!(summary.contains("more refusals"), "{summary}");

    // carbon's self-metrics carry them too.
    let total = eventually(Duration::from_secs(20), || {
        let (_, body) = server.http_get(
            "/render?target=sumSeries(carbon.agents.*.invalidLines)&from=-5min&format=json",
        );
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        let sum: f64 = v[0]["datapoints"]
            .as_array()?
            .iter()
            .filter_map(|p| p[0].as_f64())
            .sum();
        (sum >= 6.0).then_some(sum)
    });
    assert_eq!(total, Some(6.0), "carbon.agents.*.invalidLines sums to 6");
}

#[test]
fn startup_failures_are_one_clear_line() {
    let first = Server::start(&[]);
    let other = tempfile::tempdir().unwrap();
    let line = first.addr("line").to_string();
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_charcoal"))
            .current_dir(other.path())
            .args(["serve", "--line", &line, "--udp", "off", "--pickle", "off"])
            .args(["--carbonlink", "off", "--http", "off"]),
        Duration::from_secs(20),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("charcoal: cannot listen for plaintext (TCP) on ")
            && last.contains(&line)
            && last.matches("in use").count() == 1,
        "{stderr}"
    );
    assert!(
        !stderr.contains("Caused by") && !stderr.contains("panicked"),
        "{stderr}"
    );

    let (status, page) = first.http_get("/");
    assert_eq!(status, 200);
    assert!(
        page.contains("Charcoal") && page.contains("/render"),
        "{page}"
    );
}

#[test]
fn user_in_carbon_conf_is_honoured_when_started_as_root() {
    let root = tempfile::tempdir().unwrap();
    // A user that does not exist is refused before anything is touched.
    let conf = write_conf(root.path(), "USER = no-such-user-charcoal\n");
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_charcoal"))
            .current_dir(root.path())
            .args(["serve", "--config", &conf, "--line", "127.0.0.1:0"])
            .args(["--udp", "off", "--pickle", "off", "--carbonlink", "off"])
            .args(["--http", "off"]),
        Duration::from_secs(20),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no-such-user-charcoal") && stderr.contains("no such user"),
        "{stderr}"
    );
    assert!(!root.path().join("storage").exists(), "nothing was created");

    if !rustix::process::getuid().is_root() {
        eprintln!("not root: switching users cannot be tested here");
        return;
    }
    // The storage belongs to `nobody`, as Debian's /var/lib/graphite belongs to _graphite.
    let nobody = rustix_user("nobody");
    let storage = root.path().join("storage");
    std::fs::create_dir_all(&storage).unwrap();
    std::fs::set_permissions(
        root.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    rustix::fs::chown(
        &storage,
        Some(rustix::fs::Uid::from_raw(nobody.0)),
        Some(rustix::fs::Gid::from_raw(nobody.1)),
    )
    .unwrap();
    let conf = write_conf(root.path(), "USER = nobody\nCARBON_METRIC_INTERVAL = 0\n");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(dir, &["--config", &conf]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(
        uids.split_whitespace()
            .skip(1)
            .all(|u| u == nobody.0.to_string()),
        "every uid of the process is nobody's: {uids}"
    );
    server.send_lines(format!("owned.metric 1 {}\n", now()).as_bytes());
    let file = storage.join("whisper/owned/metric.wsp");
    let meta = eventually(Duration::from_secs(20), || std::fs::metadata(&file).ok())
        .expect("the file is written");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(meta.uid(), nobody.0, "whisper files belong to USER");
    let lock = std::fs::metadata(storage.join("charcoal.lock")).unwrap();
    assert_eq!(lock.uid(), nobody.0, "the lock file was handed over");
}

/// `(uid, gid)` of `name`, from /etc/passwd.
fn rustix_user(name: &str) -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&name)).then(|| (f[2].parse().unwrap(), f[3].parse().unwrap()))
        })
        .unwrap_or_else(|| panic!("no {name} in /etc/passwd"))
}

#[test]
fn an_over_long_line_names_its_flag_and_the_pid_file_comes_and_goes() {
    let root = tempfile::tempdir().unwrap();
    let pid_dir = root.path().join("run");
    let conf = write_conf(
        root.path(),
        &format!(
            "CARBON_METRIC_INTERVAL = 0\nPID_DIR = {}\n",
            pid_dir.display()
        ),
    );
    let mut server = Server::start(&["--config", &conf, "--max-line-length", "100"]);
    let pid_file = pid_dir.join("carbon-cache-a.pid");
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap(),
        format!("{}\n", server.child.id()),
        "carbon's pid file"
    );
    let t = now();
    server.send_lines(format!("{} 1 {t}\nafter.long 2 {t}\n", "x".repeat(500)).as_bytes());
    let refused = server.wait_log("exceeds the limit", Duration::from_secs(10));
    assert!(refused.contains("--max-line-length"), "{refused}");
    assert!(server.terminate().success());
    assert!(
        root.path().join("storage/whisper/after/long.wsp").exists(),
        "the line after it was kept"
    );
    assert!(!pid_file.exists(), "removed at a clean exit");
}
