//! `whisper-set-aggregation-method`: rewrites a file's aggregation method
//! and optionally its xFilesFactor, as `whisper-set-aggregation-method.py`.
//!
//! As in the script, the file is opened (a missing one prints the help)
//! before the method and xFilesFactor are checked, an xFilesFactor is only
//! taken when it is exactly the third argument, and the new method is
//! echoed as given.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use charcoal_tools::cli::{self, Out};
use charcoal_tools::optparse::{self, Flavor, Syntax};
use charcoal_tools::pyparse::py_float;
use clap::Parser;
use whisper_format::Aggregation;

#[derive(Debug, Parser)]
#[command(name = "whisper-set-aggregation-method")]
struct Args {
    args: Vec<String>,
}

fn body(out: &mut Out) -> Result<()> {
    let usage = format!(
        "%prog path <{}> [xFilesFactor]",
        cli::aggregation_names("|")
    );
    let syntax = Syntax {
        flavor: Flavor::Optparse,
        usage: &usage,
        description: None,
    };
    let parsed = optparse::parse::<Args>(&syntax, out)?;
    let positionals = parsed.help.at_least(out, &parsed.args.args, 2)?;
    let (path, method) = (&positionals[0], &positionals[1]);
    // `if len(args) == 3`: a fourth argument makes the script ignore the third.
    let xff = match positionals {
        [_, _, xff] => Some(xff),
        _ => None,
    };
    let mut w = cli::open_for_update(out, path, parsed.help.text())?;
    let aggregation: Aggregation = method.parse()?;
    let xff = match xff {
        None => None,
        Some(s) => match py_float(s) {
            Some(x) => Some(cli::check_xff(x)?),
            None => {
                return Err(anyhow!("Invalid xFilesFactor {s}, not a float"));
            }
        },
    };
    let (old, _) = w.set_aggregation(Some(aggregation), xff)?;
    writeln!(
        out,
        "Updated aggregation method: {path} ({old} -> {method})"
    )?;
    Ok(())
}

fn main() -> ExitCode {
    cli::run(body)
}
