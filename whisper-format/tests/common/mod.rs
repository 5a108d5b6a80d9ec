//! Helpers shared by the whisper-format tests: the Python whisper reference
//! driver and a small deterministic random generator.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

/// The Python that has Debian's python3-whisper (not a pyenv shim).
pub fn reference_python() -> PathBuf {
    std::env::var_os("WHISPER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/python3"))
}

/// A running `tests/reference/driver.py`.
pub struct Reference {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Reference {
    /// Starts the driver; panics with a clear message when python3-whisper
    /// is missing (CI installs it: `.ci/run`).
    pub fn start() -> Reference {
        let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/driver.py");
        let python = reference_python();
        let check = Command::new(&python)
            .args(["-c", "import whisper"])
            .output();
        match check {
            Ok(out) if out.status.success() => {}
            _ => panic!(
                "{} cannot import whisper: install Debian's python3-whisper \
                 (apt-get install python3-whisper) or set WHISPER_PYTHON",
                python.display()
            ),
        }
        let mut child = Command::new(&python)
            .arg(driver)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the reference driver");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Reference {
            child,
            stdin,
            stdout,
        }
    }

    /// Sends one request and returns the answer.
    pub fn call(&mut self, req: Value) -> Value {
        writeln!(self.stdin, "{req}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "reference driver died on {req}");
        serde_json::from_str(&line).unwrap()
    }

    /// Like `call` but panics on a Python exception.
    pub fn ok(&mut self, req: Value) -> Value {
        let ans = self.call(req.clone());
        assert_eq!(ans["ok"], json!(true), "python failed {req}: {ans}");
        ans
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// IEEE-754 bits as 16 hex digits.
pub fn hex(v: f64) -> String {
    format!("{:016x}", v.to_bits())
}

/// The inverse of `hex`.
pub fn unhex(s: &str) -> f64 {
    f64::from_bits(u64::from_str_radix(s, 16).unwrap())
}

/// xorshift64*: deterministic, seedable, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in lo..hi (hi exclusive).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo) as u64) as i64
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// A value: mostly ordinary numbers, sometimes zero, negative, huge or NaN.
    pub fn value(&mut self) -> f64 {
        match self.next_u64() % 20 {
            0 => 0.0,
            1 => -0.0,
            2 => f64::NAN,
            3 => f64::INFINITY,
            4 => f64::from_bits(self.next_u64()),
            5..=9 => self.range(-1000, 1000) as f64,
            _ => (self.next_u64() % 1_000_000) as f64 / 7.0 - 50_000.0,
        }
    }
}
