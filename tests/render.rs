//! The render API end to end: Charcoal's `/render` and `/metrics/find` against Debian's
//! graphite-web reading the same whisper files, and reads that see the write cache.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::reference::{Running, free_ports, http_get};
use crate::util::{Server, enc, eventually, now, python_run};

/// A file to make: metric name, retentions, points.
type FileSpec = (String, &'static str, Vec<(i64, f64)>);

/// Writes whisper files with python3-whisper.
fn make_files(root: &Path, files: &[FileSpec]) {
    let spec: Vec<Value> = files
        .iter()
        .map(|(name, ret, pts)| {
            let path = root.join(format!("{}.wsp", name.replace('.', "/")));
            serde_json::json!([path.to_str().unwrap(), ret, pts])
        })
        .collect();
    python_run(
        "import sys, json, os, whisper\n\
         for path, ret, pts in json.loads(sys.argv[1]):\n\
         \x20   os.makedirs(os.path.dirname(path), exist_ok=True)\n\
         \x20   archives = [whisper.parseRetentionDef(r) for r in ret.split(',')]\n\
         \x20   whisper.create(path, archives, xFilesFactor=0.5, aggregationMethod='average')\n\
         \x20   whisper.update_many(path, [tuple(p) for p in pts])\n",
        &[&serde_json::to_string(&spec).unwrap()],
    );
}

fn values_close(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
        _ => a == b,
    }
}

/// Compares two json renders: same series, names, tags and points.
fn same_json(ours: &str, theirs: &str) -> Result<(), String> {
    let (o, t): (Value, Value) = (
        serde_json::from_str(ours).map_err(|e| format!("ours: {e}: {ours}"))?,
        serde_json::from_str(theirs).map_err(|e| format!("theirs: {e}: {theirs}"))?,
    );
    let (o, t) = (o.as_array().unwrap(), t.as_array().unwrap());
    if o.len() != t.len() {
        return Err(format!("{} series vs {}", o.len(), t.len()));
    }
    for (a, b) in o.iter().zip(t) {
        if a["target"] != b["target"] || a["tags"] != b["tags"] {
            return Err(format!(
                "{} {} vs {} {}",
                a["target"], a["tags"], b["target"], b["tags"]
            ));
        }
        let (pa, pb) = (
            a["datapoints"].as_array().unwrap(),
            b["datapoints"].as_array().unwrap(),
        );
        if pa.len() != pb.len() {
            return Err(format!(
                "{}: {} points vs {}",
                a["target"],
                pa.len(),
                pb.len()
            ));
        }
        for (x, y) in pa.iter().zip(pb) {
            if x[1] != y[1] || !values_close(&x[0], &y[0]) {
                return Err(format!("{}: point {x} vs {y}", a["target"]));
            }
        }
    }
    Ok(())
}

#[test]
fn render_and_find_agree_with_graphite_web_on_the_same_files() {
    let t = now();
    let dir = tempfile::tempdir().unwrap();
    let whisper = dir.path().join("storage/whisper");
    let mut files: Vec<FileSpec> = Vec::new();
    for host in 1..=3 {
        let pts: Vec<(i64, f64)> = (0..2000)
            .filter(|i| (i * 7 + host) % 11 != 0)
            .map(|i| (t - 10 * i, ((i * 37 + host * 13) % 101) as f64 / 4.0))
            .collect();
        files.push((format!("app.web{host}.requests"), "10s:6h,1m:7d", pts));
    }
    let coarse: Vec<(i64, f64)> = (0..300)
        .map(|i| (t - 60 * i, (i % 17) as f64 - 3.5))
        .collect();
    files.push(("app.db.load".to_owned(), "60s:1d", coarse));
    files.push((
        "other.x".to_owned(),
        "60s:1d",
        vec![(t - 60, 1e20), (t - 120, -0.1)],
    ));
    make_files(&whisper, &files);

    let storage = whisper.parent().unwrap().to_str().unwrap().to_owned();
    let server = Server::start(&["--storage-dir", &storage]);
    let web_dir = tempfile::tempdir().unwrap();
    let port = free_ports(1)[0].to_string();
    let _web = Running::start(
        "graphite-web",
        web_dir.path(),
        &["--port", &port, "--whisper-dir", whisper.to_str().unwrap()],
    );
    let web: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();

    let targets = [
        "app.web1.requests",
        "app.*.requests",
        "app.{db,web2}.*",
        "sumSeries(app.web*.requests)",
        "averageSeries(app.*.*)",
        "aliasByNode(app.*.requests, 1)",
        "aliasSub(app.web1.requests, \"(^.*$)\", \"\\1 A\")",
        "scale(app.db.load, 0.5)",
        "consolidateBy(app.web2.requests, \"max\")",
        "other.x",
        "nosuch.*",
    ];
    let ranges = [
        (format!("{}", t - 3600), format!("{t}"), ""),
        (
            format!("{}", t - 3 * 3600),
            format!("{}", t - 60),
            "&maxDataPoints=100",
        ),
        (format!("{}", t - 8 * 3600), format!("{t}"), ""),
        (
            format!("{}", t - 86_000),
            format!("{t}"),
            "&maxDataPoints=37",
        ),
    ];
    let mut failures = Vec::new();
    for target in targets {
        for (from, until, extra) in &ranges {
            let q = format!(
                "/render?target={}&from={from}&until={until}&now={t}{extra}",
                enc(target)
            );
            let (so, ours) = server.http_get(&format!("{q}&format=json"));
            let (st, theirs) = http_get(web, &format!("{q}&format=json"));
            assert_eq!((so, st), (200, 200), "{q}: {ours} / {theirs}");
            if let Err(e) = same_json(&ours, &theirs) {
                failures.push(format!("{q}: {e}"));
            }
            for fmt in ["raw", "csv"] {
                let (_, ours) = server.http_get(&format!("{q}&format={fmt}"));
                let (_, theirs) = http_get(web, &format!("{q}&format={fmt}"));
                if ours != theirs {
                    failures.push(format!("{q} format={fmt}:\n{ours}\nvs\n{theirs}"));
                }
            }
        }
    }
    for query in [
        "*",
        "app.*",
        "app.web*.*",
        "app.{db,web1}.*",
        "nosuch",
        "*.*.req*",
    ] {
        for fmt in ["treejson", "completer"] {
            let q = format!("/metrics/find?query={}&format={fmt}", enc(query));
            let (_, ours) = server.http_get(&q);
            let (_, theirs) = http_get(web, &q);
            // Matches with equal node names come in directory-listing order from
            // graphite-web (unspecified) and in path order from Charcoal.
            let canon = |text: &str| -> Value {
                let mut v: Value = serde_json::from_str(text).unwrap();
                if let Some(list) = v.get_mut("metrics").and_then(Value::as_array_mut) {
                    list.sort_by_key(|m| m.to_string());
                }
                v
            };
            if fmt == "treejson" && ours != theirs || canon(&ours) != canon(&theirs) {
                failures.push(format!("{q}:\n{ours}\nvs\n{theirs}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_point_is_rendered_before_its_file_exists() {
    // MAX_CREATES_PER_MINUTE = 0: new metrics never get a file while the server runs,
    // so what the render shows comes from the cache alone.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("carbon.conf"),
        format!(
            "[cache]\nSTORAGE_DIR = {}/storage/\nMAX_CREATES_PER_MINUTE = 0\nCARBON_METRIC_INTERVAL = 0\n",
            dir.path().display()
        ),
    )
    .unwrap();
    std::fs::write(
        conf.join("storage-schemas.conf"),
        "[all]\npattern = .*\nretentions = 10s:1h\n",
    )
    .unwrap();
    let path = conf.join("carbon.conf").to_str().unwrap().to_owned();
    let server = Server::start_in(dir, &["--config", &path]);
    let t = now();
    server.send_lines(format!("fresh.metric 42.5 {t}\nfresh.other 1 {t}\n").as_bytes());
    let found = eventually(Duration::from_secs(10), || {
        let (_, body) = server.http_get("/metrics/find?query=fresh.*");
        body.contains("metric").then_some(body)
    })
    .expect("the new metric is findable before its file exists");
    assert!(found.contains("\"leaf\": 1"), "{found}");
    assert!(!server.file("fresh.metric").exists());
    let (status, body) = server.http_get(&format!(
        "/render?target=fresh.metric&from={}&until={t}&now={t}&format=json",
        t - 60
    ));
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let points = v[0]["datapoints"].as_array().unwrap();
    let aligned = t - t % 10;
    assert!(
        points.iter().any(|p| p[0] == 42.5 && p[1] == aligned),
        "{body}"
    );
}

#[test]
fn prometheus_scrape_counts_what_carbon_received() {
    let server = Server::start(&[]);
    let t = now();
    server.send_lines(format!("p.a 1 {t}\np.b 2 {t}\nnot a line\np.c 3 {t}\n").as_bytes());
    let body = eventually(Duration::from_secs(10), || {
        let (status, body) = server.http_get("/metrics");
        (status == 200 && body.contains("\ncharcoal_metrics_received_total 3\n")).then_some(body)
    })
    .expect("the scrape counts the three valid points");
    assert!(
        body.contains("# TYPE charcoal_committed_points_total counter"),
        "{body}"
    );
    // With a query, /metrics is graphite-web's find.
    let (_, body) = server.http_get("/metrics?query=p.*&format=completer");
    assert!(body.contains("\"path\": \"p.a\""), "{body}");
}

#[test]
fn render_limits_are_clear_client_errors() {
    let server = Server::start(&["--max-series-per-request", "2", "--max-body-size", "1000"]);
    let t = now();
    server.send_lines(format!("lim.a 1 {t}\nlim.b 2 {t}\nlim.c 3 {t}\n").as_bytes());
    eventually(Duration::from_secs(10), || {
        let (_, body) = server.http_get("/metrics/find?query=lim.*");
        (body.matches("\"leaf\": 1").count() == 3).then_some(())
    })
    .expect("three metrics indexed");
    let (status, body) = server.http_get("/render?target=lim.*&format=json");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("--max-series-per-request"), "{body}");
    let (status, _) = server.http_get("/render?target=lim.a&target=lim.b&format=json");
    assert_eq!(status, 200, "two series are within the limit");
    // One day at 60 s is 1,440 values: over the points limit of a second server.
    let small = Server::start(&["--max-points-per-request", "1000"]);
    small.send_lines(format!("lim.p 1 {t}\n").as_bytes());
    let body = eventually(Duration::from_secs(10), || {
        let (status, body) = small.http_get("/render?target=lim.p&from=-1d&format=json");
        (status == 400).then_some(body)
    })
    .expect("a day of values is over the limit");
    assert!(body.contains("--max-points-per-request"), "{body}");
    let (status, _) = small.http_get("/render?target=lim.p&from=-10h&format=json");
    assert_eq!(status, 200, "600 values are within it");

    // A form body over --max-body-size is refused before it is read.
    let big = format!("target={}&format=json", "x".repeat(2000));
    let mut s = std::net::TcpStream::connect(server.addr("http")).unwrap();
    use std::io::{Read, Write};
    write!(
        s,
        "POST /render HTTP/1.0\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{big}",
        big.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.0 413") || answer.starts_with("HTTP/1.1 413"),
        "{answer}"
    );
}
