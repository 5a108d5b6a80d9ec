//! `whisper-fetch`: prints the values of a time range, as `whisper-fetch.py`.
//!
//! Text output is `timestamp<TAB>value` (`%f`, or `None`); `--json` is the
//! script's hand-made block, whose `values` is Python's list `str` with
//! `None` replaced by `null` (so NaN prints as `nan`, as there). `--drop`
//! filters values before printing, and, as in the script, the timestamps
//! printed after a dropped value no longer line up with the values.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use charcoal_tools::cli::{self, Exit, Out};
use charcoal_tools::optparse::{self, Flavor, Syntax};
use charcoal_tools::pyfmt::{list_repr, percent_f};
use charcoal_tools::pyparse::optparse_int;
use charcoal_tools::timestyle::TimeStyle;
use clap::{Parser, ValueEnum};
use whisper_format::Whisper;

/// The `--drop` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DropFilter {
    /// Keep values that are not None.
    Nulls,
    /// Keep values that are not zero (None is kept).
    Zeroes,
    /// Keep values that are neither None nor zero.
    Empty,
}

impl DropFilter {
    fn keeps(self, value: Option<f64>) -> bool {
        match self {
            DropFilter::Nulls => value.is_some(),
            DropFilter::Zeroes => value != Some(0.0),
            DropFilter::Empty => value.is_some_and(|v| v != 0.0),
        }
    }
}

#[derive(Debug, Parser)]
#[command(name = "whisper-fetch")]
struct Args {
    #[arg(
        long = "from",
        value_name = "_FROM",
        value_parser = optparse_int,
        help = "Unix epoch time of the beginning of your requested interval (default: 24 hours ago)"
    )]
    from: Option<i64>,
    #[arg(
        long,
        value_name = "UNTIL",
        value_parser = optparse_int,
        help = "Unix epoch time of the end of your requested interval (default: now)"
    )]
    until: Option<i64>,
    #[arg(long, help = "Output results in JSON form")]
    json: bool,
    #[arg(long, help = "Show human-readable timestamps instead of unix times")]
    pretty: bool,
    #[arg(
        short = 't',
        long = "time-format",
        value_name = "TIME_FORMAT",
        help = "Time format to use with --pretty; see time.strftime()"
    )]
    time_format: Option<String>,
    #[arg(
        long,
        value_name = "DROP",
        help = "Specify 'nulls' to drop all null values. Specify 'zeroes' to drop all zero values. Specify 'empty' to drop both null and zero values"
    )]
    drop: Option<DropFilter>,
    args: Vec<String>,
}

const SYNTAX: Syntax = Syntax {
    flavor: Flavor::Optparse,
    usage: "%prog [options] path",
    description: None,
};

fn body(out: &mut Out) -> Result<()> {
    let parsed = optparse::parse::<Args>(&SYNTAX, out)?;
    let args = parsed.args;
    let [path] = args.args.as_slice() else {
        return Err(parsed.help.print_and_fail(out));
    };
    let now = cli::now()?;
    let from = args.from.unwrap_or(now - 86400);
    let until = args.until.unwrap_or(now);
    let w = Whisper::open_read(path.as_ref())?;
    let Some(fetched) = w.fetch(from, until, now)? else {
        return Err(Exit::message("No data in selected timerange"));
    };
    let mut values = fetched.values;
    if let Some(drop) = args.drop {
        values.retain(|v| drop.keeps(*v));
    }
    if args.json {
        writeln!(
            out,
            "{{\n    \"start\" : {},\n    \"end\" : {},\n    \"step\" : {},\n    \"values\" : {}\n  }}",
            fetched.from,
            fetched.until,
            fetched.step,
            list_repr(&values).replace("None", "null")
        )?;
        return Ok(());
    }
    let style = TimeStyle::new(args.pretty, args.time_format.as_deref());
    let mut t = fetched.from;
    for value in values {
        let value = value.map_or_else(|| "None".to_owned(), percent_f);
        writeln!(out, "{}\t{value}", style.format(t))?;
        t += fetched.step;
    }
    Ok(())
}

fn main() -> ExitCode {
    cli::run(body)
}
