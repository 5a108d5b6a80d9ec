//! `charcoal serve --config` with a carbon.conf written for the real
//! carbon-cache (the reference kit's `carbon-cache write-conf`): Charcoal
//! listens where that file says, stores where it says, and creates files
//! with the archives, aggregation method and xFilesFactor its
//! storage-schemas.conf and storage-aggregation.conf give, the same headers
//! Debian's carbon-cache creates from the same files, with `^carbon\.`
//! series (sent ones and Charcoal's own) on the carbon schema.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::reference::{Running, free_ports, send_tcp};
use crate::util::{Server, eventually, now, python_run};

const SCHEMAS: &str = "\
[carbon]
pattern = ^carbon\\.
retentions = 60:90d

[fine]
pattern = ^conf\\.fine\\.
retentions = 10s:1h,1m:1d,1h:30d

[default]
pattern = .*
retentions = 10s:6h,1m:7d
";

const AGGREGATION: &str = "\
[max]
pattern = \\.max$
xFilesFactor = 0.1
aggregationMethod = max

[default]
pattern = .*
xFilesFactor = 0.5
aggregationMethod = average
";

/// What the rules above give each metric: (seconds per point, points) per
/// archive, aggregation method, xFilesFactor (as whisper stores it, a
/// 32-bit float).
fn expected(metric: &str) -> (Vec<(u64, u64)>, &'static str, f64) {
    let archives = if metric.starts_with("carbon.") {
        vec![(60, 90 * 1440)]
    } else if metric.starts_with("conf.fine.") {
        vec![(10, 360), (60, 1440), (3600, 30 * 24)]
    } else {
        vec![(10, 6 * 360), (60, 7 * 1440)]
    };
    if metric.ends_with(".max") {
        (archives, "max", f64::from(0.1f32))
    } else {
        (archives, "average", 0.5)
    }
}

/// whisper.info of each file (null where it cannot be read).
fn infos(paths: &[PathBuf]) -> Vec<Value> {
    let code = "import sys, json, whisper\n\
                out = []\n\
                for p in sys.argv[1:]:\n\
                \x20   try:\n\
                \x20       out.append(whisper.info(p))\n\
                \x20   except Exception:\n\
                \x20       out.append(None)\n\
                print(json.dumps(out))";
    let args: Vec<&str> = paths.iter().map(|p| p.to_str().unwrap()).collect();
    serde_json::from_str(python_run(code, &args).trim()).unwrap()
}

fn summary(info: &Value) -> (Vec<(u64, u64)>, String, f64) {
    let archives = info["archives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["secondsPerPoint"].as_u64().unwrap(),
                a["points"].as_u64().unwrap(),
            )
        })
        .collect();
    (
        archives,
        info["aggregationMethod"].as_str().unwrap().to_owned(),
        info["xFilesFactor"].as_f64().unwrap(),
    )
}

fn file_of(whisper_dir: &Path, metric: &str) -> PathBuf {
    whisper_dir.join(format!("{}.wsp", metric.replace('.', "/")))
}

/// Every `.wsp` file under `dir`.
fn wsp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "wsp") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The known (timestamp, value) points of each file's first (finest)
/// archive, or None where the file cannot be read yet. (A fetch over the
/// whole retention would read the coarsest archive, which a single point
/// reaches only when its xFilesFactor allows.)
fn finest_points(paths: &[PathBuf]) -> Vec<Option<Vec<(i64, f64)>>> {
    let code = "import sys, json, time, whisper\n\
                now = int(time.time())\n\
                out = []\n\
                for p in sys.argv[1:]:\n\
                \x20   try:\n\
                \x20       first = whisper.info(p)['archives'][0]\n\
                \x20       (start, end, step), values = whisper.fetch(p, now - first['retention'], now)\n\
                \x20       out.append([[start + i * step, v] for i, v in enumerate(values) if v is not None])\n\
                \x20   except Exception:\n\
                \x20       out.append(None)\n\
                print(json.dumps(out))";
    let args: Vec<&str> = paths.iter().map(|p| p.to_str().unwrap()).collect();
    serde_json::from_str(python_run(code, &args).trim()).unwrap()
}

/// Waits (bounded) until each file holds exactly its one point.
fn wait_stored(paths: &[PathBuf], points: &[(i64, f64)], who: &str) {
    let mut last = Vec::new();
    let ok = eventually(Duration::from_secs(30), || {
        last = finest_points(paths);
        last.iter()
            .zip(points)
            .all(|(got, want)| got.as_deref() == Some(&[*want][..]))
            .then_some(())
    });
    assert!(
        ok.is_some(),
        "{who} did not store every point: {:?}",
        paths.iter().zip(&last).collect::<Vec<_>>()
    );
}

#[test]
fn a_carbon_conf_written_for_carbon_cache_runs_charcoal_with_its_ports_and_schemas() {
    let rules = tempfile::tempdir().unwrap();
    let schemas = rules.path().join("storage-schemas.conf");
    let aggregation = rules.path().join("storage-aggregation.conf");
    std::fs::write(&schemas, SCHEMAS).unwrap();
    std::fs::write(&aggregation, AGGREGATION).unwrap();
    let rule_flags = [
        "--schemas",
        schemas.to_str().unwrap(),
        "--aggregation",
        aggregation.to_str().unwrap(),
    ];

    // Charcoal's directory is the kit's: carbon.conf in conf/, whisper files
    // in storage/whisper/, as Server::whisper_dir expects.
    let dir = tempfile::tempdir().unwrap();
    let ports: Vec<String> = free_ports(4).iter().map(u16::to_string).collect();
    let mut args = vec![
        "carbon-cache",
        "write-conf",
        "--dir",
        dir.path().to_str().unwrap(),
        "--line",
        &ports[0],
        "--pickle",
        &ports[1],
        "--carbonlink",
        &ports[2],
        "--udp",
        &ports[3],
        // Charcoal's own carbon.agents.* series, every second.
        "--metric-interval",
        "1",
    ];
    args.extend_from_slice(&rule_flags);
    let conf = crate::reference::run(&args);
    assert!(conf.ends_with("conf/carbon.conf"), "{conf}");
    // carbon.conf has no HTTP_LISTEN; keep Charcoal's HTTP off port 8080.
    let server = Server::start_exact(dir, &["--config", &conf, "--http", "127.0.0.1:0"]);
    for (listener, port) in ["line", "pickle", "carbonlink", "udp"].iter().zip(&ports) {
        let want: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        assert_eq!(server.addr(listener), want, "{listener} from carbon.conf");
    }

    // The real carbon-cache with the same rules, for the headers it makes.
    let carbon_dir = tempfile::tempdir().unwrap();
    let cports: Vec<String> = free_ports(3).iter().map(u16::to_string).collect();
    let mut cargs = vec![
        "--line",
        &cports[0],
        "--pickle",
        &cports[1],
        "--carbonlink",
        &cports[2],
    ];
    cargs.extend_from_slice(&rule_flags);
    let _carbon = Running::start("carbon-cache", carbon_dir.path(), &cargs);

    let t = now() - now() % 60 - 60;
    let by_line = [
        "conf.fine.line",
        "conf.other.max",
        "conf.other.plain",
        "carbon.relays.test.sent",
    ];
    let (by_udp, by_pickle) = ("conf.fine.udp", "conf.fine.pickled.max");
    let all: Vec<&str> = by_line.iter().copied().chain([by_udp, by_pickle]).collect();
    let points: Vec<(i64, f64)> = (0..all.len()).map(|i| (t, i as f64 + 0.5)).collect();
    let line = |m: &str, i: usize| format!("{m} {} {t}\n", points[i].1);

    let text: String = by_line
        .iter()
        .enumerate()
        .map(|(i, m)| line(m, i))
        .collect();
    send_tcp(server.addr("line").port(), text.as_bytes());
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(line(by_udp, 4).as_bytes(), server.addr("udp"))
        .unwrap();
    python_run(
        "import pickle, socket, struct, sys\n\
         payload = pickle.dumps([(sys.argv[2], (int(sys.argv[3]), float(sys.argv[4])))], protocol=2)\n\
         s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n\
         s.sendall(struct.pack('!L', len(payload)) + payload)\n\
         s.close()",
        &[
            &server.addr("pickle").port().to_string(),
            by_pickle,
            &t.to_string(),
            &points[5].1.to_string(),
        ],
    );
    let carbon_text: String = all.iter().enumerate().map(|(i, m)| line(m, i)).collect();
    send_tcp(cports[0].parse().unwrap(), carbon_text.as_bytes());

    let ours: Vec<PathBuf> = all.iter().map(|m| server.file(m)).collect();
    let carbon_whisper = carbon_dir.path().join("storage/whisper");
    let theirs: Vec<PathBuf> = all.iter().map(|m| file_of(&carbon_whisper, m)).collect();
    wait_stored(&ours, &points, "charcoal");
    wait_stored(&theirs, &points, "carbon-cache");

    let (ours, theirs) = (infos(&ours), infos(&theirs));
    for ((metric, our), their) in all.iter().zip(&ours).zip(&theirs) {
        let (archives, method, xff) = expected(metric);
        assert_eq!(
            summary(our),
            (archives, method.to_owned(), xff),
            "{metric}: the header the rules call for"
        );
        assert_eq!(our, their, "{metric}: the header carbon-cache made");
    }

    // Charcoal's own series are on the carbon schema too.
    let agents = server.whisper_dir().join("carbon/agents");
    let own = eventually(Duration::from_secs(15), || {
        let files = wsp_files(&agents);
        let infos = infos(&files);
        (!infos.is_empty() && infos.iter().all(|i| !i.is_null())).then_some(infos)
    })
    .expect("no readable carbon.agents.* file within 15 s (CARBON_METRIC_INTERVAL = 1)");
    for info in &own {
        assert_eq!(
            summary(info),
            (vec![(60, 90 * 1440)], "average".to_owned(), 0.5),
            "{info}"
        );
    }
}
