//! Starting the server and checking its files.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `charcoal serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub addrs: HashMap<String, SocketAddr>,
    log: mpsc::Receiver<String>,
    pub log_lines: Vec<String>,
}

impl Server {
    /// Starts with every listener on 127.0.0.1:0 and `extra` flags.
    pub fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, extra)
    }

    pub fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Server {
        let mut args = Vec::new();
        for l in ["--line", "--udp", "--pickle", "--carbonlink", "--http"] {
            if !extra.contains(&l) {
                args.extend([l, "127.0.0.1:0"]);
            }
        }
        args.extend(extra);
        Self::start_exact(dir, &args)
    }

    /// Waits (bounded) for a log line containing `needle`.
    pub fn wait_log(&mut self, needle: &str, within: Duration) -> String {
        if let Some(l) = self.log_lines.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        let end = Instant::now() + within;
        while Instant::now() < end {
            match self.log.recv_timeout(Duration::from_millis(50)) {
                Ok(l) => {
                    self.log_lines.push(l.clone());
                    if l.contains(needle) {
                        return l;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!(
            "no log line with {needle:?} within {within:?}; log:\n{}",
            self.log_lines.join("\n")
        );
    }

    /// Everything logged so far.
    pub fn drain_log(&mut self) -> &[String] {
        while let Ok(l) = self.log.try_recv() {
            self.log_lines.push(l);
        }
        &self.log_lines
    }

    pub fn addr(&self, name: &str) -> SocketAddr {
        self.addrs[name]
    }

    pub fn whisper_dir(&self) -> PathBuf {
        self.dir.path().join("storage/whisper")
    }

    /// The file of an untagged metric.
    pub fn file(&self, metric: &str) -> PathBuf {
        self.whisper_dir()
            .join(format!("{}.wsp", metric.replace('.', "/")))
    }

    /// Sends bytes on a new plaintext connection and closes it.
    pub fn send_lines(&self, bytes: &[u8]) {
        let mut s = TcpStream::connect(self.addr("line")).unwrap();
        s.write_all(bytes).unwrap();
    }

    /// GET on the HTTP port: (status, body).
    pub fn http_get(&self, path: &str) -> (u16, String) {
        crate::reference::http_get(self.addr("http"), path)
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        rustix::process::kill_process(
            rustix::process::Pid::from_child(&self.child),
            rustix::process::Signal::TERM,
        )
        .unwrap();
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.drain_log();
                return status;
            }
            assert!(Instant::now() < end, "charcoal did not exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` every 10 ms until it returns Some, for at most `within`.
pub fn eventually<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The Python that has Debian's python3-whisper.
pub fn python() -> PathBuf {
    std::env::var_os("WHISPER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/python3"))
}

/// Runs a Python snippet with `args` in `sys.argv[1:]`; returns stdout.
pub fn python_run(code: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every known (timestamp, value) of a file over its whole retention, read
/// by python3-whisper.
pub fn whisper_points(path: &Path) -> Vec<(i64, f64)> {
    let code = "import sys, json, time, whisper\n\
                p = sys.argv[1]\n\
                info = whisper.info(p)\n\
                now = int(time.time())\n\
                (start, end, step), values = whisper.fetch(p, now - info['maxRetention'], now)\n\
                print(json.dumps([[start + i * step, v] for i, v in enumerate(values) if v is not None]))";
    let out = python_run(code, &[path.to_str().unwrap()]);
    let v: Vec<(i64, f64)> = serde_json::from_str(out.trim()).unwrap();
    v
}

/// Percent-encodes a query or form value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl Server {
    /// Starts `charcoal serve` in `dir` with exactly `args` after `serve`:
    /// no listener flags are added, so the ports are whatever the arguments
    /// or the `--config` file say. Still waits for the `listening` line.
    pub fn start_exact(dir: tempfile::TempDir, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_charcoal"))
            .arg("serve")
            .args(args)
            .current_dir(dir.path())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start charcoal");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            dir,
            addrs: HashMap::new(),
            log: rx,
            log_lines: Vec::new(),
        };
        let line = server.wait_log("listening ", Duration::from_secs(30));
        let listening = line.split("listening ").nth(1).unwrap();
        for pair in listening.split_whitespace() {
            if let Some((k, v)) = pair.split_once('=')
                && let Ok(a) = v.parse()
            {
                server.addrs.insert(k.to_string(), a);
            }
        }
        server
    }
}

/// The points of many files in one python3-whisper run (one interpreter
/// start instead of one per file): `None` for a file that is missing or
/// cannot be read yet (still being created), else every known
/// (timestamp, value) over its whole retention.
pub fn whisper_points_many(paths: &[PathBuf]) -> Vec<Option<Vec<(i64, f64)>>> {
    let code = "import sys, json, time, whisper\n\
                now = int(time.time())\n\
                out = []\n\
                for p in sys.argv[1:]:\n\
                \x20   try:\n\
                \x20       info = whisper.info(p)\n\
                \x20       (start, end, step), values = whisper.fetch(p, now - info['maxRetention'], now)\n\
                \x20       out.append([[start + i * step, v] for i, v in enumerate(values) if v is not None])\n\
                \x20   except Exception:\n\
                \x20       out.append(None)\n\
                print(json.dumps(out))";
    let args: Vec<&str> = paths.iter().map(|p| p.to_str().unwrap()).collect();
    let out = python_run(code, &args);
    serde_json::from_str(out.trim()).unwrap()
}

/// One HTTP answer: status, headers (names lower-cased) and body.
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpAnswer {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Any request over HTTP/1.0 (the server closes after answering), with `headers` and a
/// body (sent with its Content-Length).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpAnswer {
    use std::io::Read;
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let out = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {out:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    HttpAnswer {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// Runs `command` to completion, killing it if it takes longer than `within` (a test
/// must never hang on a process that should have exited).
pub fn run_bounded(command: &mut Command, within: Duration) -> std::process::Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the process");
    let end = Instant::now() + within;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {within:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// A carbon.conf under `dir/conf` with `keys` in its `[cache]` section, storage in
/// `dir/storage`, and a 1-second schema for everything; returns its path.
pub fn carbon_conf(dir: &Path, keys: &str) -> String {
    let conf = dir.join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("carbon.conf"),
        format!("[cache]\nSTORAGE_DIR = {}/storage/\n{keys}", dir.display()),
    )
    .unwrap();
    std::fs::write(
        conf.join("storage-schemas.conf"),
        "[all]\npattern = .*\nretentions = 1s:3h\n",
    )
    .unwrap();
    conf.join("carbon.conf").to_str().unwrap().to_owned()
}
