//! The reference Graphite stack, driven through our kit `reference.py` next
//! to this file (or the one `$REFERENCE_KIT` names): Debian's carbon-c-relay,
//! graphite-web and carbon-cache, each on loopback ports we choose, in a
//! directory of its own, stopped when its handle is dropped. The kit's
//! README (shared/reference/README.md) documents the subcommands.

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The kit: `$REFERENCE_KIT`, else `tests/reference/reference.py`.
pub fn kit() -> PathBuf {
    std::env::var_os("REFERENCE_KIT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/reference.py")
        })
}

/// Runs the kit with `args` and returns its stdout; panics with the kit's
/// one-line reason when it fails.
pub fn run(args: &[&str]) -> String {
    let out = Command::new(crate::util::python())
        .arg(kit())
        .args(args)
        .output()
        .expect("run python3 reference.py");
    assert!(
        out.status.success(),
        "reference.py {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `n` distinct free loopback ports (all held until every one is chosen).
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// A component the kit started; stopped (by the PID the kit recorded) when
/// dropped, whether the test passed or panicked.
#[derive(Debug)]
pub struct Running {
    component: &'static str,
    dir: PathBuf,
}

impl Running {
    /// `reference.py <component> start --dir <dir> <args>`: returns once the
    /// component answers on its ports.
    pub fn start(component: &'static str, dir: &Path, args: &[&str]) -> Running {
        let dir_arg = dir.to_str().unwrap();
        let mut all = vec![component, "start", "--dir", dir_arg];
        all.extend_from_slice(args);
        run(&all);
        Running {
            component,
            dir: dir.to_path_buf(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new(crate::util::python())
            .arg(kit())
            .args([self.component, "stop", "--dir"])
            .arg(&self.dir)
            .output();
    }
}

/// GET over HTTP/1.0 (no chunking, the server closes): (status, body).
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_request(addr, "GET", path, None)
}

/// A request over HTTP/1.0 with an optional form-encoded body: (status, body).
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    form: Option<&str>,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n");
    if let Some(body) = form {
        request.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        request.push_str("\r\n");
    }
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Sends `bytes` to a plaintext TCP port on loopback and closes.
pub fn send_tcp(port: u16, bytes: &[u8]) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(bytes).unwrap();
}

/// A graphite-web with an empty whisper directory of its own (for the endpoints that do not
/// read series: tags, events, functions), on a free port.
pub struct EmptyGraphiteWeb {
    // Fields drop in order: stop the server while its directory (and state file) exists.
    _running: Running,
    _dir: tempfile::TempDir,
    /// Where it listens.
    pub addr: SocketAddr,
}

pub fn empty_graphite_web() -> EmptyGraphiteWeb {
    let dir = tempfile::tempdir().unwrap();
    let whisper = dir.path().join("whisper");
    std::fs::create_dir_all(&whisper).unwrap();
    let port = free_ports(1)[0].to_string();
    let running = Running::start(
        "graphite-web",
        dir.path(),
        &["--port", &port, "--whisper-dir", whisper.to_str().unwrap()],
    );
    EmptyGraphiteWeb {
        _running: running,
        _dir: dir,
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
    }
}
