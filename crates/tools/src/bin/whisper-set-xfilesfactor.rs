//! `whisper-set-xfilesfactor`: rewrites a file's xFilesFactor, as
//! `whisper-set-xfilesfactor.py` (the one script that uses argparse).
//!
//! The old value is printed as Python prints the stored 32-bit float read
//! back as a double (`0.10000000149011612`), the new one as typed
//! (`0.1`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use charcoal_tools::cli::{self, Out};
use charcoal_tools::optparse::{self, Flavor, Syntax};
use charcoal_tools::pyfmt::repr;
use charcoal_tools::pyparse::optparse_float;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "whisper-set-xfilesfactor")]
struct Args {
    #[arg(value_name = "path", help = "path to whisper file")]
    path: String,
    #[arg(
        id = "xFilesFactor",
        value_name = "xFilesFactor",
        value_parser = optparse_float,
        help = "new xFilesFactor, a float between 0 and 1"
    )]
    xff: f64,
}

const SYNTAX: Syntax<'static> = Syntax {
    flavor: Flavor::Argparse,
    usage: "",
    description: Some("Set xFilesFactor for existing whisper file"),
};

fn body(out: &mut Out) -> Result<()> {
    let parsed = optparse::parse::<Args>(&SYNTAX, out)?;
    let Args { path, xff } = parsed.args;
    let mut w = cli::open_for_update(out, &path, parsed.help.text())?;
    let (_, old) = w.set_aggregation(None, Some(cli::check_xff(xff)?))?;
    writeln!(
        out,
        "Updated xFilesFactor: {path} ({} -> {})",
        repr(f64::from(old)),
        repr(xff)
    )?;
    Ok(())
}

fn main() -> ExitCode {
    cli::run(body)
}
