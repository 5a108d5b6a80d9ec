//! `whisper-update`: stores points given as `timestamp:value`, as
//! `whisper-update.py`.
//!
//! `N:` stands for now. One point goes through whisper's `update` (which
//! refuses a timestamp outside the retention), several through
//! `update_many` (which drops points older than every archive). Timestamps
//! and values are read as Python's `int()` and `float()` read them, so
//! `nan`, `inf`, `1e3` and surrounding spaces are accepted.

use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use charcoal_tools::cli::{self, Out};
use charcoal_tools::optparse::{self, Flavor, Syntax};
use charcoal_tools::pyparse::{py_float, py_int};
use clap::Parser;
use whisper_format::Whisper;

#[derive(Debug, Parser)]
#[command(name = "whisper-update")]
struct Args {
    args: Vec<String>,
}

const SYNTAX: Syntax<'static> = Syntax {
    flavor: Flavor::Optparse,
    usage: "%prog [options] path timestamp:value [timestamp:value]*",
    description: None,
};

/// Splits `timestamp:value` after replacing `N:` by now, as the script does
/// (for every occurrence, wherever it is).
fn split_point(point: &str, now: i64) -> Result<(String, String)> {
    let point = point.replace("N:", &format!("{now}:"));
    let parts: Vec<&str> = point.split(':').collect();
    match parts.as_slice() {
        [t, v] => Ok(((*t).to_owned(), (*v).to_owned())),
        _ => Err(anyhow!(
            "{point:?} is not timestamp:value (expected 2 fields, got {})",
            parts.len()
        )),
    }
}

fn timestamp(s: &str) -> Result<i64> {
    py_int(s, 10).with_context(|| format!("invalid literal for int() with base 10: '{s}'"))
}

fn value(s: &str) -> Result<f64> {
    py_float(s).with_context(|| format!("could not convert string to float: '{s}'"))
}

fn body(out: &mut Out) -> Result<()> {
    let parsed = optparse::parse::<Args>(&SYNTAX, out)?;
    let positionals = parsed.help.at_least(out, &parsed.args.args, 2)?;
    let (path, points) = (&positionals[0], &positionals[1..]);
    let now = cli::now()?;
    let points = points
        .iter()
        .map(|p| split_point(p, now))
        .collect::<Result<Vec<_>>>()?;
    if let [(t, v)] = points.as_slice() {
        let v = value(v)?;
        let mut w = Whisper::open(path.as_ref())?;
        w.update(v, timestamp(t)?, now)?;
    } else {
        let points = points
            .iter()
            .map(|(t, v)| Ok((timestamp(t)?, value(v)?)))
            .collect::<Result<Vec<_>>>()?;
        let mut w = Whisper::open(path.as_ref())?;
        w.update_many(&points, now)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    cli::run(body)
}
