//! The differential harness: runs our binaries and Debian's Python scripts
//! on copies of the same files with the same fixed clock, and compares
//! stdout, exit status and the files left in the directory.
//!
//! Python runs in-process in one driver per test ([`Python`]): each job
//! `exec`s the script as `__main__` with `time.time` replaced by the fixed
//! clock and stdout/stderr captured, and maps `SystemExit` and uncaught
//! exceptions to the exit status the interpreter would give. Starting one
//! interpreter per job would cost ~35 ms each; the `driver_matches_*` test
//! checks the driver against real one-process-per-run launches.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The fixed clock of every run (not aligned to any archive step).
pub const NOW: i64 = 1_700_000_123;

/// How long one process may run before the test gives up on it.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The interpreter that has Debian's python3-whisper.
pub fn python() -> PathBuf {
    std::env::var_os("WHISPER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/python3"))
}

/// The Debian script of a tool.
pub fn script(tool: &str) -> PathBuf {
    Path::new("/usr/bin").join(tool)
}

/// Panics with a clear message unless python3-whisper and its scripts are
/// installed.
pub fn require_python() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let python = python();
        let ok = Command::new(&python)
            .args(["-c", "import whisper"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok && script("whisper-info").exists(),
            "these tests compare with Debian's python3-whisper 1.1.4: {} cannot import \
             whisper or /usr/bin/whisper-info is missing (apt-get install python3-whisper, \
             or set WHISPER_PYTHON to an interpreter that has it)",
            python.display()
        );
    });
}

/// Our binary for a tool name.
pub fn binary(tool: &str) -> &'static str {
    match tool {
        "whisper-create" => env!("CARGO_BIN_EXE_whisper-create"),
        "whisper-update" => env!("CARGO_BIN_EXE_whisper-update"),
        "whisper-info" => env!("CARGO_BIN_EXE_whisper-info"),
        "whisper-dump" => env!("CARGO_BIN_EXE_whisper-dump"),
        "whisper-fetch" => env!("CARGO_BIN_EXE_whisper-fetch"),
        "whisper-resize" => env!("CARGO_BIN_EXE_whisper-resize"),
        "whisper-merge" => env!("CARGO_BIN_EXE_whisper-merge"),
        "whisper-fill" => env!("CARGO_BIN_EXE_whisper-fill"),
        "whisper-diff" => env!("CARGO_BIN_EXE_whisper-diff"),
        "whisper-set-aggregation-method" => env!("CARGO_BIN_EXE_whisper-set-aggregation-method"),
        "whisper-set-xfilesfactor" => env!("CARGO_BIN_EXE_whisper-set-xfilesfactor"),
        other => panic!("unknown tool {other}"),
    }
}

/// What a run printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Environment shared by both sides: UTC, no terminal width.
fn clean_env(cmd: &mut Command) {
    cmd.env("TZ", "UTC")
        .env("LC_ALL", "C.UTF-8")
        .env_remove("COLUMNS")
        .env_remove("CHARCOAL_NOW");
}

/// Runs a command to completion with stdin closed, killing it after
/// [`TIMEOUT`].
pub fn run_bounded(mut cmd: Command) -> Outcome {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} ran longer than {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let stdout = out_reader.join().expect("stdout reader");
    let stderr = err_reader.join().expect("stderr reader");
    Outcome {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        // Killed by a signal: the shell's 128 + signal.
        code: status.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        }),
    }
}

/// Runs our binary in `cwd` with the clock at `now`.
pub fn run_ours(tool: &str, args: &[String], cwd: &Path, now: i64) -> Outcome {
    let mut cmd = Command::new(binary(tool));
    cmd.args(args).current_dir(cwd);
    clean_env(&mut cmd);
    cmd.env("CHARCOAL_NOW", now.to_string());
    run_bounded(cmd)
}

/// The one-process-per-run launcher: fakes the clock, then runs the script
/// as `__main__`.
pub const LAUNCHER: &str = "import sys,time; N=float(sys.argv[1]); time.time=lambda: N; \
    sys.argv=sys.argv[2:]; exec(compile(open(sys.argv[0]).read(), sys.argv[0], 'exec'), \
    {'__name__': '__main__'})";

/// Runs a Debian script in its own interpreter with the clock at `now`.
pub fn run_python_process(tool: &str, args: &[String], cwd: &Path, now: i64) -> Outcome {
    require_python();
    let mut cmd = Command::new(python());
    cmd.args(["-c", LAUNCHER])
        .arg(now.to_string())
        .arg(script(tool))
        .args(args)
        .current_dir(cwd);
    clean_env(&mut cmd);
    run_bounded(cmd)
}

/// Runs many script invocations in one interpreter (see the module docs).
const DRIVER: &str = r#"
import contextlib, io, json, os, sys, time, traceback
os.environ['TZ'] = 'UTC'
time.tzset()
reply = sys.stdout
compiled = {}
for line in sys.stdin:
    job = json.loads(line)
    path = job['script']
    if path not in compiled:
        with open(path) as f:
            compiled[path] = compile(f.read(), path, 'exec')
    N = float(job['now'])
    time.time = lambda: N
    sys.argv = [path] + job['args']
    os.chdir(job['cwd'])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            exec(compiled[path], {'__name__': '__main__'})
            code = 0
        except SystemExit as e:
            if e.code is None:
                code = 0
            elif isinstance(e.code, int):
                code = e.code
            else:
                print(e.code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
    reply.write(json.dumps({'code': code, 'stdout': out.getvalue(), 'stderr': err.getvalue()}) + '\n')
    reply.flush()
"#;

/// A running in-process driver.
pub struct Python {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Python {
    pub fn start() -> Python {
        require_python();
        let mut cmd = Command::new(python());
        cmd.args(["-c", DRIVER]);
        clean_env(&mut cmd);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the python driver");
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Python {
            child,
            stdin,
            stdout,
        }
    }

    /// Runs a script with the clock at `now` in `cwd`.
    pub fn run(&mut self, tool: &str, args: &[String], cwd: &Path, now: i64) -> Outcome {
        let job = json!({
            "script": script(tool),
            "args": args,
            "cwd": cwd,
            "now": now,
        });
        writeln!(self.stdin, "{job}").expect("write to the python driver");
        self.stdin.flush().expect("flush the python driver");
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read from the python driver");
        assert!(!line.is_empty(), "the python driver died on {job}");
        let reply: Value = serde_json::from_str(&line).expect("the driver answers JSON");
        Outcome {
            stdout: reply["stdout"].as_str().expect("stdout").to_owned(),
            stderr: reply["stderr"].as_str().expect("stderr").to_owned(),
            code: i32::try_from(reply["code"].as_i64().expect("code")).expect("small code"),
        }
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes the shared fixture files with python3-whisper, once per test
/// binary: every file's data is written by `whisper.update_many(path,
/// points, now=NOW)`.
const FIXTURES: &str = r#"
import math, random, sys, whisper
d, N = sys.argv[1], int(sys.argv[2])
rng = random.Random(20240611)
SPECIAL = [float('nan'), float('inf'), float('-inf'), 0.0, -0.0, 1e20, -1e-7, 123456789.123, 0.1]

def value(i):
    r = rng.random()
    if r < 0.03:
        return SPECIAL[i % len(SPECIAL)]
    if r < 0.10:
        return 0.0
    if r < 0.40:
        return float(rng.randint(-50, 1000))
    return rng.uniform(-100, 100)

def series(start, stop, step, keep=0.85, gaps=()):
    pts = []
    for i, t in enumerate(range(start, stop, step)):
        if rng.random() > keep or any(a <= t < b for a, b in gaps):
            continue
        pts.append((t, value(i)))
    return pts

def mutate(pts, change=0.1, drop=0.05):
    out = []
    for t, v in pts:
        r = rng.random()
        if r < drop:
            continue
        out.append((t, v + rng.choice([1.0, -0.5, 1e-9]) if r < drop + change else v))
    return out

def make(name, archives, method, xff, pts):
    path = '%s/%s' % (d, name)
    whisper.create(path, [whisper.parseRetentionDef(a) for a in archives.split(',')],
                   xFilesFactor=xff, aggregationMethod=method)
    if pts:
        whisper.update_many(path, pts, now=N)

a = series(N - 72000, N + 1, 60, gaps=[(N - 30000, N - 22800)])
make('a.wsp', '60:1440', 'average', 0.5, a)
make('a2.wsp', '60:1440', 'average', 0.5,
     mutate(a) + series(N - 30000, N - 22800, 60, keep=0.9))
b = (series(N - 7200, N + 1, 10) + series(N - 3 * 86400, N - 7200, 60, keep=0.7)
     + series(N - 60 * 86400, N - 3 * 86400, 600, keep=0.6)
     + [(N - 400 * 86400, 42.0), (N - 4 * 365 * 86400, -1.5)])
make('b.wsp', '10s:6h,1m:7d,10m:5y', 'sum', 0.1, b)
make('b2.wsp', '10s:6h,1m:7d,10m:5y', 'sum', 0.1, mutate(b))
c = series(N - 480, N + 1, 1, keep=0.8) + series(N - 72000, N - 600, 20, keep=0.7)
make('c.wsp', '1s:10m,1m:1d', 'max', 0.0, c)
make('c2.wsp', '1s:10m,1m:1d', 'absmax', 0.7, mutate(c, change=0.2, drop=0.2))
make('empty.wsp', '60:1440', 'average', 0.5, [])
for method in whisper.aggregationMethods:
    make('m_%s.wsp' % method, '1s:10m,1m:1d', method, 0.3,
         series(N - 540, N + 1, 1, keep=0.6) + series(N - 86000, N - 600, 30, keep=0.5))
"#;

/// The fixture directory: made by python3-whisper on first use and kept in
/// cargo's target tmp directory, keyed by the script that makes it, so every
/// test binary and run shares one copy (the data is deterministic).
pub fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut hasher = DefaultHasher::new();
        (FIXTURES, NOW).hash(&mut hasher);
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let dir = base.join(format!("whisper-fixtures-{:016x}", hasher.finish()));
        if dir.join("complete").exists() {
            return dir;
        }
        require_python();
        std::fs::create_dir_all(base).expect("make cargo's tmp directory");
        let staging = tempfile::Builder::new()
            .prefix("whisper-fixtures-staging")
            .tempdir_in(base)
            .expect("make a staging directory");
        let mut cmd = Command::new(python());
        cmd.args(["-c", FIXTURES])
            .arg(staging.path())
            .arg(NOW.to_string());
        clean_env(&mut cmd);
        let out = run_bounded(cmd);
        assert_eq!(out.code, 0, "making fixtures failed: {}", out.stderr);
        std::fs::write(staging.path().join("complete"), b"").expect("mark fixtures complete");
        // Another test binary may have won the race; its copy is the same.
        let staged = staging.keep();
        if std::fs::rename(&staged, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&staged);
        }
        assert!(
            dir.join("complete").exists(),
            "fixtures missing in {}",
            dir.display()
        );
        dir
    })
}

/// One invocation to compare.
#[derive(Debug, Clone)]
pub struct Case {
    pub tool: &'static str,
    pub args: Vec<String>,
    /// Fixture files copied into the working directory first.
    pub files: Vec<&'static str>,
    /// Files written into the working directory first (name, bytes).
    pub extra: Vec<(&'static str, Vec<u8>)>,
    pub now: i64,
    /// A file the Python script leaves behind empty where we leave none
    /// (a deliberate difference: a failed create removes its file).
    pub python_leaves_empty: Option<&'static str>,
}

impl Case {
    pub fn new(tool: &'static str, args: &[&str]) -> Case {
        Case {
            tool,
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            files: Vec::new(),
            extra: Vec::new(),
            now: NOW,
            python_leaves_empty: None,
        }
    }

    /// Copies these fixtures into the working directory.
    pub fn with(mut self, files: &[&'static str]) -> Case {
        self.files.extend_from_slice(files);
        self
    }

    pub fn at(mut self, now: i64) -> Case {
        self.now = now;
        self
    }

    pub fn file(mut self, name: &'static str, bytes: &[u8]) -> Case {
        self.extra.push((name, bytes.to_vec()));
        self
    }

    pub fn python_leaves_empty(mut self, name: &'static str) -> Case {
        self.python_leaves_empty = Some(name);
        self
    }
}

/// The files of a directory by name.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("list the working directory")
        .map(|e| {
            let e = e.expect("directory entry");
            let name = e.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            (name, bytes)
        })
        .collect()
}

fn prepare(dir: &Path, case: &Case) {
    std::fs::create_dir_all(dir).expect("make the working directory");
    for name in &case.files {
        std::fs::copy(fixtures().join(name), dir.join(name)).expect("copy a fixture");
    }
    for (name, bytes) in &case.extra {
        std::fs::write(dir.join(name), bytes).expect("write an extra file");
    }
}

/// The first line where two texts differ, for the report.
fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}: python {x:?}\n            ours   {y:?}", i + 1);
        }
    }
    format!(
        "python has {} lines, ours {}",
        a.lines().count(),
        b.lines().count()
    )
}

/// Runs every case with both implementations and panics with a report of
/// all mismatches.
pub fn check_all(name: &str, cases: &[Case]) {
    let mut python = Python::start();
    let root = tempfile::Builder::new()
        .prefix(&format!("charcoal-tools-{name}"))
        .tempdir()
        .expect("make a temporary directory");
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let py_dir = root.path().join(format!("{i}/py"));
        let rs_dir = root.path().join(format!("{i}/rs"));
        prepare(&py_dir, case);
        prepare(&rs_dir, case);
        let want = python.run(case.tool, &case.args, &py_dir, case.now);
        let got = run_ours(case.tool, &case.args, &rs_dir, case.now);
        let mut problems = Vec::new();
        if want.stdout != got.stdout {
            problems.push(format!(
                "stdout differs: {}",
                first_difference(&want.stdout, &got.stdout)
            ));
        }
        if want.code != got.code {
            problems.push(format!(
                "exit code: python {}, ours {}",
                want.code, got.code
            ));
        }
        let mut py_files = snapshot(&py_dir);
        let rs_files = snapshot(&rs_dir);
        if let Some(left) = case.python_leaves_empty {
            match py_files.remove(left) {
                Some(bytes) if bytes.is_empty() => {}
                other => problems.push(format!(
                    "expected python to leave an empty {left}, found {:?}",
                    other.map(|b| b.len())
                )),
            }
        }
        if py_files.keys().ne(rs_files.keys()) {
            problems.push(format!(
                "files: python {:?}, ours {:?}",
                py_files.keys().collect::<Vec<_>>(),
                rs_files.keys().collect::<Vec<_>>()
            ));
        } else {
            for (file, bytes) in &py_files {
                let ours = &rs_files[file];
                if bytes != ours {
                    let at = bytes.iter().zip(ours).position(|(a, b)| a != b);
                    problems.push(format!(
                        "{file} differs: python {} bytes, ours {} bytes, first difference at {at:?}",
                        bytes.len(),
                        ours.len()
                    ));
                }
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{} {:?} (now {}):\n  {}\n  python stderr: {}\n  our stderr: {}",
                case.tool,
                case.args,
                case.now,
                problems.join("\n  "),
                want.stderr.trim_end(),
                got.stderr.trim_end()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from python3-whisper:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// `N - seconds` as an argument.
pub fn ago(seconds: i64) -> String {
    (NOW - seconds).to_string()
}
