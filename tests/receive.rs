//! Receiving over plaintext TCP and UDP and pickle: what is valid is stored
//! (checked with python3-whisper), what is not is counted and skipped, and
//! nothing hostile stops the server.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;

use crate::util::{Server, eventually, now, python_run, whisper_points};

/// Minute-aligned timestamps, newest first: the default schema keeps 60 s
/// for a day.
fn minutes(n: i64) -> Vec<i64> {
    let base = now() - now() % 60;
    (1..=n).map(|k| base - k * 60).collect()
}

fn stored(server: &Server, metric: &str, want: usize) -> Vec<(i64, f64)> {
    let path = server.file(metric);
    eventually(Duration::from_secs(30), || {
        path.exists()
            .then(|| whisper_points(&path))
            .filter(|p| p.len() >= want)
    })
    .unwrap_or_else(|| panic!("{metric}: fewer than {want} points stored"))
}

#[test]
fn plaintext_lines_in_any_framing_are_stored_and_bad_ones_skipped() {
    let mut server = Server::start(&[]);
    let ts = minutes(20);
    let mut text = Vec::new();
    for (i, t) in ts.iter().enumerate() {
        // Mixed separators and line ends, as real senders produce them.
        match i % 4 {
            0 => writeln!(text, "app.web.requests {i} {t}"),
            1 => write!(text, "app.web.requests\t{i}\t{t}.9\r\n"),
            2 => writeln!(text, "  app.web.requests   {i}.5e0   {t}  "),
            _ => writeln!(text, "app.web.requests +{i} {t}"),
        }
        .unwrap();
        // Junk between the good lines.
        if i % 5 == 0 {
            text.extend_from_slice(b"only two\n");
            text.extend_from_slice(b"../../etc/passwd 1 1700000000\n");
            text.extend_from_slice(b"app.nan nan 1700000000\n");
            text.extend_from_slice(&[0xff, 0xfe, b' ', b'1', b' ', b'2', b'\n']);
            text.extend_from_slice(&vec![b'x'; 20_000]);
            text.push(b'\n');
        }
    }
    // Deliver it in awkward pieces so lines are split across reads.
    let mut s = TcpStream::connect(server.addr("line")).unwrap();
    for chunk in text.chunks(7) {
        s.write_all(chunk).unwrap();
    }
    // A line cut off by the disconnect is dropped, as carbon drops it.
    s.write_all(b"app.web.partial 1 1700000000").unwrap();
    drop(s);

    let points = stored(&server, "app.web.requests", ts.len());
    let mut want: Vec<(i64, f64)> = ts
        .iter()
        .enumerate()
        .map(|(i, &t)| (t, if i % 4 == 2 { i as f64 + 0.5 } else { i as f64 }))
        .collect();
    want.sort_by_key(|p| p.0);
    assert_eq!(points, want);
    assert!(!server.file("app.web.partial").exists());
    assert!(!server.dir.path().join("etc").exists());
    assert!(!server.file("app.nan").exists(), "NaN values are dropped");
    assert_eq!(server.http_get("/health").0, 200);
    server.wait_log("invalid line received", Duration::from_secs(5));
}

#[test]
fn udp_datagrams_and_tagged_series() {
    let server = Server::start(&[]);
    let ts = minutes(3);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let datagram = format!(
        "udp.metric 1 {}\nudp.metric 2 {}\ndisk.used;host=web1;dc=ams 42 {}\n",
        ts[0], ts[1], ts[2]
    );
    sock.send_to(datagram.as_bytes(), server.addr("udp"))
        .unwrap();
    assert_eq!(stored(&server, "udp.metric", 2).len(), 2);

    // Carbon's path for tagged series: _tagged/<sha256[0:3]>/<sha256[3:6]>/<sha256>.wsp
    // of the tag-sorted name.
    let hash = python_run(
        "import hashlib; print(hashlib.sha256(b'disk.used;dc=ams;host=web1').hexdigest())",
        &[],
    );
    let hash = hash.trim();
    let path =
        server
            .whisper_dir()
            .join(format!("_tagged/{}/{}/{hash}.wsp", &hash[..3], &hash[3..6]));
    let points = eventually(Duration::from_secs(30), || {
        path.exists()
            .then(|| whisper_points(&path))
            .filter(|p| !p.is_empty())
    })
    .expect("the tagged series is stored where carbon stores it");
    assert_eq!(points, vec![(ts[2], 42.0)]);
}

/// A Python snippet that writes pickle frames (4-byte length + payload) to
/// stdout: argv[1] is the timestamp to use.
const PICKLES: &str = r#"
import os, pickle, struct, sys
t = int(sys.argv[1])
out = sys.stdout.buffer
def frame(payload):
    out.write(struct.pack('!L', len(payload)) + payload)
class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + sys.argv[2],))
for proto in range(0, 6):
    frame(pickle.dumps([('pickled.p%d' % proto, (t - 60 * i, float(i))) for i in range(5)], protocol=proto))
frame(pickle.dumps([Evil()], protocol=2))
frame(pickle.dumps([('x', (t, Evil()))], protocol=4))
frame(b'\x80\x02' + b']' * 100000 + b'.')
frame(b'garbage that is not a pickle')
frame(pickle.dumps([('pickled.after', (t, 7.0)), ('bad',), ('pickled.after', ('nope', 1))], protocol=2))
"#;

#[test]
fn pickle_frames_are_decoded_safely_and_malicious_ones_refused() {
    let server = Server::start(&[]);
    let t = minutes(1)[0];
    let marker = server.dir.path().join("pwned");
    let frames = std::process::Command::new(crate::util::python())
        .args(["-c", PICKLES, &t.to_string(), marker.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(frames.status.success());
    let mut s = TcpStream::connect(server.addr("pickle")).unwrap();
    s.write_all(&frames.stdout).unwrap();
    drop(s);
    for proto in 0..6 {
        let points = stored(&server, &format!("pickled.p{proto}"), 5);
        assert_eq!(points.len(), 5, "protocol {proto}");
        assert_eq!(points.last().unwrap(), &(t, 0.0));
    }
    assert_eq!(stored(&server, "pickled.after", 1), vec![(t, 7.0)]);
    assert!(!marker.exists(), "the pickle decoder executed code");
    assert_eq!(server.http_get("/health").0, 200);
}

#[test]
fn an_oversized_pickle_frame_closes_only_its_connection() {
    let server = Server::start(&[]);
    let mut bad = TcpStream::connect(server.addr("pickle")).unwrap();
    bad.write_all(&u32::MAX.to_be_bytes()).unwrap();
    bad.write_all(b"whatever").unwrap();
    let t = minutes(1)[0];
    server.send_lines(format!("still.fine 1 {t}\n").as_bytes());
    assert_eq!(stored(&server, "still.fine", 1), vec![(t, 1.0)]);
}

#[test]
fn floods_of_connections_and_junk_do_not_stop_the_server() {
    let server = Server::start(&[]);
    // Connections opened and dropped at once, some after sending junk.
    for i in 0..10_000 {
        let listener = if i % 2 == 0 { "line" } else { "pickle" };
        if let Ok(mut s) = TcpStream::connect(server.addr(listener))
            && i % 10 == 0
        {
            let _ = s.write_all(&[0u8, 0xff, 0x13, 0x37, b'\n'].repeat(50));
        }
    }
    // A 10 MB line, then a good one on the same connection.
    let t = minutes(1)[0];
    let mut s = TcpStream::connect(server.addr("line")).unwrap();
    s.write_all(&vec![b'a'; 10 << 20]).unwrap();
    s.write_all(format!("\nafter.flood 5 {t}\n").as_bytes())
        .unwrap();
    drop(s);
    assert_eq!(stored(&server, "after.flood", 1), vec![(t, 5.0)]);
    assert_eq!(server.http_get("/health").0, 200);
}
