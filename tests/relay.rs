//! Charcoal behind the real carbon-c-relay (Debian's, started by the
//! reference kit): what the relay forwards lands in Charcoal's whisper files
//! (read back with python3-whisper), and behind a `carbon_ch`
//! consistent-hashing relay each metric lands on exactly the node carbon's
//! own hash ring (`carbon.hashing.ConsistentHashRing`) names; then Debian's
//! graphite-web with only `CLUSTER_SERVERS` pointing at the two Charcoal nodes
//! (pickle and msgpack) finds and renders every metric as the nodes do.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::reference::{Running, free_ports, http_get, send_tcp};
use crate::util::{Server, eventually, now, python_run, whisper_points_many};

/// The newest `n` whole minutes before now, oldest first (the default
/// schema keeps one point a minute for a day).
fn minutes(n: i64) -> Vec<i64> {
    let base = now() - now() % 60;
    (1..=n).rev().map(|k| base - k * 60).collect()
}

/// Polls (bounded) until every file holds exactly `want` of its points;
/// panics with what was there otherwise.
fn wait_for_points(paths: &[PathBuf], want: &[Vec<(i64, f64)>], within: Duration) {
    let mut last = Vec::new();
    let done = eventually(within, || {
        last = whisper_points_many(paths);
        last.iter()
            .zip(want)
            .all(|(got, want)| got.as_ref() == Some(want))
            .then_some(())
    });
    if done.is_none() {
        let wrong: Vec<String> = paths
            .iter()
            .zip(want)
            .zip(&last)
            .filter(|((_, want), got)| got.as_ref() != Some(*want))
            .take(5)
            .map(|((p, want), got)| format!("{}: want {want:?}, got {got:?}", p.display()))
            .collect();
        panic!(
            "points missing after {within:?} ({} files wrong), e.g.:\n{}",
            last.iter()
                .zip(want)
                .filter(|(g, w)| g.as_ref() != Some(*w))
                .count(),
            wrong.join("\n")
        );
    }
}

#[test]
fn every_line_sent_through_carbon_c_relay_lands_in_charcoals_files() {
    let server = Server::start(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let port = free_ports(1)[0];
    let dest = format!("127.0.0.1:{}", server.addr("line").port());
    let _relay = Running::start(
        "relay",
        tmp.path(),
        &["--port", &port.to_string(), "--dest", &dest],
    );

    let ts = minutes(10);
    let metrics: Vec<String> = (0..30)
        .map(|m| format!("relayed.host{m:02}.load"))
        .collect();
    let mut text = String::new();
    let mut want = Vec::new();
    for (m, metric) in metrics.iter().enumerate() {
        let mut points = Vec::new();
        for (k, t) in ts.iter().enumerate() {
            let value = (m * 100 + k) as f64 + 0.25;
            writeln!(text, "{metric} {value} {t}").unwrap();
            points.push((*t, value));
        }
        want.push(points);
    }
    // Two connections, so the relay sees more than one client.
    let cut = text[..text.len() / 2].rfind('\n').unwrap() + 1;
    send_tcp(port, &text.as_bytes()[..cut]);
    send_tcp(port, &text.as_bytes()[cut..]);

    let paths: Vec<PathBuf> = metrics.iter().map(|m| server.file(m)).collect();
    wait_for_points(&paths, &want, Duration::from_secs(30));
}

/// carbon's ConsistentHashRing over the kit's members `('127.0.0.1', 'a')`
/// and `('127.0.0.1', 'b')`: the instance each metric belongs to.
const CARBON_CH: &str = "import sys, json\n\
from carbon.hashing import ConsistentHashRing\n\
ring = ConsistentHashRing([('127.0.0.1', 'a'), ('127.0.0.1', 'b')], hash_type='carbon_ch')\n\
print(json.dumps({m: ring.get_node(m)[1] for m in sys.argv[1:]}))";

#[test]
fn a_carbon_ch_relay_puts_each_metric_on_the_one_charcoal_carbon_would_and_graphite_web_reads_both()
{
    let nodes = [Server::start(&[]), Server::start(&[])];
    let tmp = tempfile::tempdir().unwrap();
    let port = free_ports(1)[0];
    let dests: Vec<String> = nodes
        .iter()
        .zip(["a", "b"])
        .map(|(n, instance)| format!("127.0.0.1:{}={instance}", n.addr("line").port()))
        .collect();
    let _relay = Running::start(
        "relay",
        tmp.path(),
        &[
            "--port",
            &port.to_string(),
            "--hash",
            "carbon_ch",
            "--dest",
            &dests[0],
            "--dest",
            &dests[1],
        ],
    );

    let t = minutes(1)[0];
    let metrics: Vec<String> = (0..200)
        .map(|i| format!("ring.svc{}.m{i:03}", i % 7))
        .collect();
    let mut text = String::new();
    for (i, m) in metrics.iter().enumerate() {
        writeln!(text, "{m} {i} {t}").unwrap();
    }
    send_tcp(port, text.as_bytes());

    // Every metric on some node, with its point.
    let mut paths = Vec::new();
    for m in &metrics {
        paths.extend(nodes.iter().map(|n| n.file(m)));
    }
    let mut seen = Vec::new();
    let complete = eventually(Duration::from_secs(30), || {
        seen = whisper_points_many(&paths);
        seen.chunks(2)
            .all(|pair| {
                pair.iter()
                    .any(|p| p.as_ref().is_some_and(|p| !p.is_empty()))
            })
            .then_some(())
    });
    let missing: Vec<&String> = metrics
        .iter()
        .zip(seen.chunks(2))
        .filter(|(_, pair)| pair.iter().all(|p| p.as_ref().is_none_or(Vec::is_empty)))
        .map(|(m, _)| m)
        .collect();
    assert!(complete.is_some(), "never arrived on any node: {missing:?}");

    // Exactly one node has a file for each, with the point intact.
    let mut placed = BTreeMap::new();
    for ((i, m), pair) in metrics.iter().enumerate().zip(seen.chunks(2)) {
        let on: Vec<&str> = ["a", "b"]
            .iter()
            .zip(&nodes)
            .filter(|(_, node)| node.file(m).exists())
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(on.len(), 1, "{m} is on {on:?}");
        let here = pair.iter().flatten().next().unwrap();
        assert_eq!(here, &vec![(t, i as f64)], "{m}");
        placed.insert(m.clone(), on[0].to_string());
    }
    let per_node: Vec<usize> = ["a", "b"]
        .iter()
        .map(|n| placed.values().filter(|v| v == n).count())
        .collect();
    assert!(
        per_node.iter().all(|&c| c > 0),
        "the ring used only one node: {per_node:?}"
    );

    // The split is carbon's: the node ConsistentHashRing picks for each name.
    let args: Vec<&str> = metrics.iter().map(String::as_str).collect();
    let expected: BTreeMap<String, String> =
        serde_json::from_str(python_run(CARBON_CH, &args).trim()).unwrap();
    let differ: Vec<_> = placed
        .iter()
        .filter(|(m, node)| expected[*m] != **node)
        .map(|(m, node)| format!("{m}: relay chose {node}, carbon's ring {}", expected[m]))
        .collect();
    assert!(
        differ.is_empty(),
        "{} of 200 placed differently:\n{}",
        differ.len(),
        differ.join("\n")
    );

    // graphite-web in front of both nodes, as a pure cluster front end.
    for format in ["pickle", "msgpack"] {
        let web_dir = tempfile::tempdir().unwrap();
        let port = free_ports(1)[0];
        let peers: Vec<String> = nodes
            .iter()
            .map(|n| format!("http://{}", n.addr("http")))
            .collect();
        let _web = Running::start(
            "graphite-web",
            web_dir.path(),
            &[
                "--port",
                &port.to_string(),
                "--cluster",
                &peers[0],
                "--cluster",
                &peers[1],
                "--cluster-format",
                format,
            ],
        );
        let web: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let range = format!("from={}&until={}&now={}", t - 300, t + 60, t + 60);

        // Finds: the union of both nodes.
        let q = "/metrics/find?query=ring.*.*&format=completer";
        let (status, body) = http_get(web, q);
        assert_eq!(status, 200, "{format}: {body}");
        let found: Vec<String> = completer_paths(&body);
        let mut direct: Vec<String> = nodes
            .iter()
            .flat_map(|n| completer_paths(&n.http_get(q).1))
            .collect();
        direct.sort();
        assert_eq!(found, direct, "{format}: finds through graphite-web");
        assert_eq!(found.len(), metrics.len());

        // Renders: every series exactly as the node holding it answers.
        let q = format!("/render?target=ring.svc3.*&{range}&format=json");
        let (status, body) = http_get(web, &q);
        assert_eq!(status, 200, "{format}: {body}");
        let through: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut direct: Vec<serde_json::Value> = nodes
            .iter()
            .flat_map(|n| {
                let v: serde_json::Value = serde_json::from_str(&n.http_get(&q).1).unwrap();
                v.as_array().unwrap().clone()
            })
            .collect();
        direct.sort_by_key(|s| s["target"].to_string());
        assert_eq!(
            through,
            serde_json::Value::Array(direct),
            "{format}: renders"
        );

        // A function over series from both nodes, evaluated by graphite-web.
        let q = format!("/render?target=sumSeries(ring.*.*)&{range}&format=json");
        let (_, body) = http_get(web, &q);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let at_t: Vec<f64> = v[0]["datapoints"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p[1] == t)
            .filter_map(|p| p[0].as_f64())
            .collect();
        let want = (0..metrics.len()).sum::<usize>() as f64;
        assert_eq!(
            at_t,
            [want],
            "{format}: sumSeries through graphite-web: {body}"
        );
    }
}

/// The `path`s of a `format=completer` find answer, sorted.
fn completer_paths(body: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    let mut paths: Vec<String> = v["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap().to_owned())
        .collect();
    paths.sort();
    paths
}
