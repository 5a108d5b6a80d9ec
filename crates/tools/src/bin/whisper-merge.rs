//! `whisper-merge`: copies every known point of one file into another with
//! the same archives, as `whisper-merge.py`, optionally limited to
//! `--from`/`--until`.

use std::process::ExitCode;

use anyhow::Result;
use charcoal_tools::cli::{self, Out};
use charcoal_tools::optparse::{self, Flavor, Syntax};
use charcoal_tools::pyparse::optparse_int;
use clap::Parser;
use whisper_format::{Access, OpenOptions, Whisper};

#[derive(Debug, Parser)]
#[command(name = "whisper-merge")]
struct Args {
    #[arg(
        long = "from",
        value_name = "_FROM",
        value_parser = optparse_int,
        help = "Begining of interval, unix timestamp (default: epoch)"
    )]
    from: Option<i64>,
    #[arg(
        long,
        value_name = "UNTIL",
        value_parser = optparse_int,
        help = "End of interval, unix timestamp (default: now)"
    )]
    until: Option<i64>,
    args: Vec<String>,
}

const SYNTAX: Syntax<'static> = Syntax {
    flavor: Flavor::Optparse,
    usage: "%prog [options] from_path to_path",
    description: None,
};

fn body(out: &mut Out) -> Result<()> {
    let parsed = optparse::parse::<Args>(&SYNTAX, out)?;
    let args = parsed.args;
    let positionals = parsed.help.at_least(out, &args.args, 2)?;
    let (from_path, to_path) = (&positionals[0], &positionals[1]);
    for path in [from_path, to_path] {
        if !cli::exists(path) {
            return Err(cli::missing_file(path));
        }
    }
    let now = cli::now()?;
    // The source is read once, whole: mapped, it is read in place instead of copied
    // into fresh memory (as whisper-dump reads). The destination keeps pread/pwrite:
    // a store into a mapped hole of a sparse file on a full disk is a SIGBUS, where
    // pwrite returns an error.
    let from = Whisper::open_with(
        from_path.as_ref(),
        OpenOptions {
            write: false,
            lock: false,
            access: Access::Mmap,
        },
    )?;
    from.will_read_all();
    let mut to = Whisper::open(to_path.as_ref())?;
    whisper_format::merge(&from, &mut to, args.from, args.until, now)?;
    Ok(())
}

fn main() -> ExitCode {
    cli::run(body)
}
