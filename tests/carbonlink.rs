//! Carbonlink, checked with graphite-web's own code (Debian's graphite-web
//! 1.1.8): points Charcoal holds in its write cache and has not written yet
//! reach graphite-web's CarbonLink client and its render output, and the
//! metadata requests read and change a file's aggregation method.
//!
//! Points are kept in the cache deterministically with
//! `MAX_CREATES_PER_MINUTE = 0` in carbon.conf: a create bucket that never
//! fills, so no new file is made while the server runs and the points of new
//! metrics wait in the cache (carbon 1.1 would drop them instead; Charcoal
//! keeps them and writes them at shutdown). Files that already exist are
//! still written at once.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::reference::{Running, free_ports, http_get};
use crate::util::{Server, eventually, now, python, python_run, whisper_points};

/// Charcoal reading `dir/conf/carbon.conf`: new files never created,
/// updates of existing ones unlimited, one point a minute for a day.
fn start_never_creating() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("carbon.conf"),
        format!(
            "[cache]\n\
             STORAGE_DIR = {}/storage/\n\
             MAX_CACHE_SIZE = inf\n\
             MAX_UPDATES_PER_SECOND = inf\n\
             MAX_CREATES_PER_MINUTE = 0\n\
             CARBON_METRIC_INTERVAL = 0\n",
            dir.path().display()
        ),
    )
    .unwrap();
    std::fs::write(
        conf.join("storage-schemas.conf"),
        "[default]\npattern = .*\nretentions = 60s:1d\n",
    )
    .unwrap();
    let path = conf.join("carbon.conf");
    let path = path.to_str().unwrap().to_owned();
    Server::start_in(dir, &["--config", &path])
}

/// Creates a whisper file with python3-whisper (60 s for a day), with
/// `points` in it.
fn make_file(path: &Path, aggregation: &str, points: &[(i64, f64)]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let points = serde_json::to_string(points).unwrap();
    python_run(
        "import sys, json, whisper\n\
         whisper.create(sys.argv[1], [(60, 1440)], xFilesFactor=0.5, aggregationMethod=sys.argv[2])\n\
         whisper.update_many(sys.argv[1], [tuple(p) for p in json.loads(sys.argv[3])])",
        &[path.to_str().unwrap(), aggregation, &points],
    );
}

fn minutes(n: i64) -> Vec<i64> {
    let base = now() - now() % 60;
    (1..=n).rev().map(|k| base - k * 60).collect()
}

/// Uses graphite-web's `graphite.carbonlink.CarbonLink()` (the pool built
/// from `CARBONLINK_HOSTS`, as render uses it). argv[1] is a JSON object:
/// `query` maps metric -> expected points (polled until equal or 20 s),
/// `get` lists metrics for get-metadata, `set` is [metric, method].
const CLIENT: &str = r#"
import json, sys, time
from graphite.carbonlink import CarbonLink, CarbonLinkRequestError
spec = json.loads(sys.argv[1])
link = CarbonLink()
out = {'query': {}, 'get': {}, 'set': None}
for metric, want in spec['query'].items():
    want = [tuple(p) for p in want]
    deadline = time.time() + 20
    while True:
        got = [(int(t), float(v)) for t, v in link.query(metric)]
        if got == want or time.time() > deadline:
            break
        time.sleep(0.02)
    out['query'][metric] = got
for metric in spec['get']:
    try:
        out['get'][metric] = {'value': link.get_metadata(metric, 'aggregationMethod')}
    except CarbonLinkRequestError as e:
        out['get'][metric] = {'error': str(e)}
if spec['set']:
    metric, method = spec['set']
    out['set'] = link.set_metadata(metric, 'aggregationMethod', method)
print(json.dumps(out))
"#;

/// Runs `CLIENT` with a graphite-web settings module naming one carbonlink
/// host (graphite.settings reads it through GRAPHITE_SETTINGS_MODULE).
fn graphite_carbonlink(port: u16, spec: &serde_json::Value) -> serde_json::Value {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    std::fs::create_dir_all(&log).unwrap();
    std::fs::write(
        tmp.path().join("charcoal_test_settings.py"),
        format!(
            "SECRET_KEY = 'charcoal-tests'\n\
             STORAGE_DIR = '{0}/'\n\
             LOG_DIR = '{1}/'\n\
             CARBONLINK_HOSTS = ['127.0.0.1:{port}']\n\
             CARBONLINK_TIMEOUT = 5.0\n",
            tmp.path().display(),
            log.display()
        ),
    )
    .unwrap();
    let out = Command::new(python())
        .args(["-W", "ignore", "-c", CLIENT, &spec.to_string()])
        .current_dir(tmp.path())
        .env("PYTHONPATH", tmp.path())
        .env("DJANGO_SETTINGS_MODULE", "graphite.settings")
        .env("GRAPHITE_SETTINGS_MODULE", "charcoal_test_settings")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "graphite-web's carbonlink client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn send(server: &Server, text: &str) {
    let mut s = TcpStream::connect(server.addr("line")).unwrap();
    s.write_all(text.as_bytes()).unwrap();
}

#[test]
fn graphite_webs_carbonlink_client_reads_points_not_yet_written_and_file_metadata() {
    let server = start_never_creating();
    let ts = minutes(5);
    // A file that exists (made by the reference), aggregation `last`.
    let existing = server.file("link.existing");
    make_file(&existing, "last", &[]);

    let mut text = String::new();
    for (k, t) in ts.iter().enumerate() {
        text += &format!("link.cached.a {} {t}\n", k as f64 * 1.5);
        text += &format!("link.cached.b {} {t}\n", -(k as f64));
    }
    // Same timestamp again: the latest received wins, as in carbon's cache.
    text += &format!("link.cached.a 99 {}\n", ts[2]);
    // Tag order does not matter: graphite-web asks with the sorted name.
    text += &format!("link.tagged;zone=b;host=a 7 {}\n", ts[4]);
    text += &format!("link.existing 3 {}\n", ts[4]);
    send(&server, &text);

    let a: Vec<(i64, f64)> = ts
        .iter()
        .enumerate()
        .map(|(k, &t)| (t, if k == 2 { 99.0 } else { k as f64 * 1.5 }))
        .collect();
    let b: Vec<(i64, f64)> = ts
        .iter()
        .enumerate()
        .map(|(k, &t)| (t, -(k as f64)))
        .collect();
    // Its file exists, so that point is written at once and leaves the cache.
    eventually(Duration::from_secs(20), || {
        (whisper_points(&existing) == [(ts[4], 3.0)]).then_some(())
    })
    .expect("the point of an existing file is written although creates are off");

    let tagged = vec![(ts[4], 7.0)];
    let none: Vec<(i64, f64)> = Vec::new();
    let spec = serde_json::json!({
        "query": {
            "link.cached.a": a,
            "link.cached.b": b,
            "link.tagged;host=a;zone=b": tagged,
            "link.existing": none,
            "link.never.sent": none,
        },
        "get": ["link.existing", "link.cached.a"],
        "set": ["link.existing", "max"],
    });
    let out = graphite_carbonlink(server.addr("carbonlink").port(), &spec);
    assert_eq!(out["query"], spec["query"], "cache-query answers");

    // Still only in the cache: MAX_CREATES_PER_MINUTE = 0 made no file.
    assert!(!server.file("link.cached.a").exists());
    assert!(!server.file("link.cached.b").exists());
    assert_eq!(
        out["get"]["link.existing"],
        serde_json::json!({"value": "last"})
    );
    assert!(
        out["get"]["link.cached.a"]["error"].is_string(),
        "get-metadata of a metric without a file is an error: {}",
        out["get"]["link.cached.a"]
    );
    assert_eq!(
        out["set"],
        serde_json::json!({"old_value": "last", "new_value": "max"})
    );
    let method = python_run(
        "import sys, whisper; print(whisper.info(sys.argv[1])['aggregationMethod'])",
        &[existing.to_str().unwrap()],
    );
    assert_eq!(method.trim(), "max", "set-metadata changed the file");
}

#[test]
fn graphite_web_renders_file_points_merged_with_charcoals_cached_points() {
    let server = start_never_creating();
    let ts = minutes(7);
    // graphite-web reads a whisper tree of its own, holding the older points
    // of the series; Charcoal has newer ones only in its cache (it may not
    // create a file), one of them overriding a point of the file.
    let tmp = tempfile::tempdir().unwrap();
    let whisper = tmp.path().join("whisper");
    let file_points: Vec<(i64, f64)> = (0..5).map(|k| (ts[k], k as f64 + 1.0)).collect();
    make_file(&whisper.join("merge/series.wsp"), "average", &file_points);
    send(
        &server,
        &format!(
            "merge.series 40 {}\nmerge.series 6 {}\nmerge.series 7 {}\n",
            ts[4], ts[5], ts[6]
        ),
    );
    let want: Vec<(i64, f64)> = file_points[..4]
        .iter()
        .copied()
        .chain([(ts[4], 40.0), (ts[5], 6.0), (ts[6], 7.0)])
        .collect();

    let web_dir = tmp.path().join("web");
    let port = free_ports(1)[0];
    let carbonlink = format!("127.0.0.1:{}", server.addr("carbonlink").port());
    let _web = Running::start(
        "graphite-web",
        &web_dir,
        &[
            "--port",
            &port.to_string(),
            "--whisper-dir",
            whisper.to_str().unwrap(),
            "--carbonlink",
            &carbonlink,
        ],
    );
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let path = format!(
        "/render?target=merge.series&format=json&from={}&until={}",
        ts[0] - 60,
        now()
    );
    let mut last = String::new();
    let got = eventually(Duration::from_secs(20), || {
        let (status, body) = http_get(addr, &path);
        last = format!("{status} {body}");
        if status != 200 {
            return None;
        }
        let series: serde_json::Value = serde_json::from_str(&body).ok()?;
        let points: Vec<(i64, f64)> = series[0]["datapoints"]
            .as_array()?
            .iter()
            .filter_map(|p| Some((p[1].as_i64()?, p[0].as_f64()?)))
            .collect();
        (points == want).then_some(points)
    });
    assert!(
        got.is_some(),
        "render never showed {want:?}; last answer: {last}"
    );
    assert!(!server.file("merge.series").exists());
}
