//! What every tool shares: the clock, buffered stdout, exit codes, error
//! reporting, and the few argument conventions of the whisper scripts.
//!
//! Each binary is a `main` that calls [`run`] with its body. The body writes
//! to a buffered stdout and returns `anyhow::Result<()>`; [`run`] turns the
//! outcome into the exit status the Python script would have:
//!
//! - `Ok` is 0.
//! - An [`Exit`] is the script's own `sys.exit(n)` / `raise SystemExit(msg)`:
//!   its message (if any) goes to stderr as is, with its code.
//! - Any other error is printed as `[ERROR] <message>` with exit 1. The
//!   scripts print that for whisper's exceptions; for the others (a missing
//!   file, a bad number) Python dies with a traceback, also with exit 1.
//! - A closed stdout (`whisper-dump f | head`) ends the tool quietly with
//!   exit 141, the status a shell reports for the Python scripts, which
//!   restore the default `SIGPIPE` action and die of the signal.

use std::fmt;
use std::io::{self, BufWriter, StdoutLock, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use whisper_format::{
    Aggregation, ArchiveSpec, Error as WhisperError, Whisper, parse_retention_def,
};

use crate::pyfmt::repr;

/// Buffered stdout, as Python's `print` to a pipe.
pub type Out = BufWriter<StdoutLock<'static>>;

/// The environment variable that replaces the clock (an integer number of
/// seconds since the epoch), so runs are reproducible.
pub const NOW_ENV: &str = "CHARCOAL_NOW";

/// Exit status for a write to a closed pipe: 128 + `SIGPIPE`.
const BROKEN_PIPE_STATUS: u8 = 141;

/// An early exit with a status and maybe a message for stderr: the
/// scripts' `sys.exit(n)` and `raise SystemExit('message')`.
#[derive(Debug)]
pub struct Exit {
    code: u8,
    message: Option<String>,
}

impl Exit {
    /// `sys.exit(code)`: nothing more is printed.
    pub fn code(code: u8) -> anyhow::Error {
        Exit {
            code,
            message: None,
        }
        .into()
    }

    /// `raise SystemExit(message)`: the message on stderr, exit 1.
    pub fn message(message: impl Into<String>) -> anyhow::Error {
        Exit {
            code: 1,
            message: Some(message.into()),
        }
        .into()
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => f.write_str(m),
            None => write!(f, "exit status {}", self.code),
        }
    }
}

impl std::error::Error for Exit {}

/// Runs a tool's body with a buffered stdout and maps its outcome to the
/// exit status (see the module docs).
pub fn run(body: impl FnOnce(&mut Out) -> Result<()>) -> ExitCode {
    let mut out = BufWriter::new(io::stdout().lock());
    let result = body(&mut out);
    // Whatever happened, what was printed is flushed, as Python does at exit.
    let flushed = out.flush();
    let result = result.and_then(|()| flushed.context("writing to stdout"));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

fn report(e: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(e) {
        return ExitCode::from(BROKEN_PIPE_STATUS);
    }
    let mut stderr = io::stderr().lock();
    if let Some(exit) = e.downcast_ref::<Exit>() {
        if let Some(message) = &exit.message {
            let _ = writeln!(stderr, "{message}");
        }
        return ExitCode::from(exit.code);
    }
    let _ = writeln!(stderr, "[ERROR] {}", one_line(e));
    ExitCode::FAILURE
}

/// The error and its causes joined with colons, leaving out a cause its parent's message
/// already says (whisper-format's I/O errors name the file and repeat the system's reason).
pub fn one_line(e: &anyhow::Error) -> String {
    e.chain().skip(1).fold(e.to_string(), |text, cause| {
        let cause = cause.to_string();
        if text.contains(&cause) {
            text
        } else {
            format!("{text}: {cause}")
        }
    })
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// The scripts' `time.time()`: [`NOW_ENV`] if set, else the system clock.
pub fn now() -> Result<i64> {
    match std::env::var(NOW_ENV) {
        Ok(value) => value
            .trim()
            .parse()
            .with_context(|| format!("{NOW_ENV}={value:?} is not an integer epoch time")),
        Err(std::env::VarError::NotPresent) => Ok(whisper_format::now()),
        Err(e) => Err(e).with_context(|| format!("reading {NOW_ENV}")),
    }
}

/// The usage text `whisper-create` and `whisper-resize` share after their
/// first line(s): how to write a retention.
pub const RETENTION_USAGE: &str = "
timePerPoint and timeToStore specify lengths of time, for example:

60:1440      60 seconds per datapoint, 1440 datapoints = 1 day of retention
15m:8        15 minutes per datapoint, 8 datapoints = 2 hours of retention
1h:7d        1 hour per datapoint, 7 days of retention
12h:2y       12 hours per datapoint, 2 years of retention
";

/// The aggregation method names in whisper's order, joined by `separator`
/// (`whisper.aggregationMethods` in the scripts' help).
pub fn aggregation_names(separator: &str) -> String {
    Aggregation::ALL.map(Aggregation::name).join(separator)
}

/// Parses retention definitions (`60:1440`, `1m:7d`) as
/// `whisper.parseRetentionDef` does.
pub fn parse_archives(defs: &[String]) -> Result<Vec<ArchiveSpec>> {
    defs.iter()
        .map(|def| parse_retention_def(def).map_err(Into::into))
        .collect()
}

/// whisper's check of a new xFilesFactor, done on the 64-bit value as
/// Python does before storing it as 32 bits (so `1.00000001` is refused
/// even though it would round to 1.0), with Python's message.
pub fn check_xff(xff: f64) -> Result<f64> {
    if xff.is_nan() || !(0.0..=1.0).contains(&xff) {
        return Err(WhisperError::InvalidXFilesFactor(repr(xff)).into());
    }
    Ok(xff)
}

/// `raise SystemExit('[ERROR] File "path" does not exist!')` (whisper-dump,
/// whisper-merge).
pub fn missing_file(path: &str) -> anyhow::Error {
    Exit::message(format!("[ERROR] File \"{path}\" does not exist!"))
}

/// What whisper-resize and the set-* scripts do for a missing file: a
/// message and a blank line on stderr, the help on stdout, exit 1.
pub fn missing_file_with_help(out: &mut Out, path: &str, help: &str) -> anyhow::Error {
    let _ = write!(io::stderr(), "[ERROR] File '{path}' does not exist!\n\n");
    if let Err(e) = out.write_all(help.as_bytes()) {
        return e.into();
    }
    Exit::code(1)
}

/// Opens a file for writing as the set-* scripts do: an I/O error (most
/// often a missing file) is reported as "does not exist" with the help on
/// stdout ([`missing_file_with_help`]); a corrupt header is an ordinary
/// `[ERROR]`.
pub fn open_for_update(out: &mut Out, path: &str, help: &str) -> Result<Whisper> {
    match Whisper::open(path.as_ref()) {
        Ok(w) => Ok(w),
        Err(WhisperError::Io { .. }) => Err(missing_file_with_help(out, path, help)),
        Err(e) => Err(e.into()),
    }
}

/// `os.path.exists(path)`: follows symbolic links; any error counts as
/// "does not exist".
pub fn exists(path: &str) -> bool {
    Path::new(path).exists()
}
