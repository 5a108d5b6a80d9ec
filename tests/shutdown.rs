//! SIGTERM: stop accepting, drain connections, write the whole cache, exit 0.

use std::io::Write;
use std::net::TcpStream;

use crate::util::{Server, now, whisper_points};

#[test]
fn sigterm_writes_every_point_received_before_exiting() {
    // The signal follows the data at once: the receiver is still reading
    // and the cache still full when it arrives.
    let mut server = Server::start(&["--writers", "1"]);
    let base = now() - now() % 60 - 60;
    let metrics = 300;
    let per_metric = 20;
    let mut text = Vec::new();
    for m in 0..metrics {
        for k in 0..per_metric {
            writeln!(text, "flush.m{m} {} {}", m * 100 + k, base - k * 60).unwrap();
        }
    }
    let mut s = TcpStream::connect(server.addr("line")).unwrap();
    s.write_all(&text).unwrap();
    drop(s);
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
    for m in (0..metrics).step_by(7) {
        let points = whisper_points(&server.file(&format!("flush.m{m}")));
        assert_eq!(points.len(), per_metric as usize, "flush.m{m}");
        assert_eq!(points.last().unwrap(), &(base, (m * 100) as f64));
    }
    assert!(server.log_lines.iter().any(|l| l.contains("cache flushed")));
}
