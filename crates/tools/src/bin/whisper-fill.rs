//! `whisper-fill`: copies data from one file into the gaps of another
//! without overwriting anything, as `whisper-fill.py` (the carbonate tool):
//! unlike `whisper-merge`, no known point of the destination changes, and
//! the finest source archive that covers a gap supplies it.

use std::process::ExitCode;

use anyhow::Result;
use charcoal_tools::cli::{self, Out};
use charcoal_tools::optparse::{self, Flavor, Syntax};
use clap::Parser;
use whisper_format::{Access, OpenOptions, Whisper};

#[derive(Debug, Parser)]
#[command(name = "whisper-fill")]
struct Args {
    #[arg(long, help = "Lock whisper files")]
    lock: bool,
    args: Vec<String>,
}

const SYNTAX: Syntax<'static> = Syntax {
    flavor: Flavor::Optparse,
    usage: "%prog [--lock] src dst",
    description: Some("copies data from src in dst, if missing"),
};

fn body(out: &mut Out) -> Result<()> {
    let parsed = optparse::parse::<Args>(&SYNTAX, out)?;
    let args = parsed.args;
    let [src, dst] = args.args.as_slice() else {
        return Err(parsed.help.print_and_fail(out));
    };
    let now = cli::now()?;
    let src = Whisper::open_read(src.as_ref())?;
    // `whisper.LOCK = True`: every write to the destination holds its flock.
    let mut dst = Whisper::open_with(
        dst.as_ref(),
        OpenOptions {
            write: true,
            lock: args.lock,
            access: Access::Pread,
        },
    )?;
    whisper_format::fill(&src, &mut dst, now)?;
    Ok(())
}

fn main() -> ExitCode {
    cli::run(body)
}
