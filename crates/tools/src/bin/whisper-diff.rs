//! `whisper-diff`: compares two files with the same archives, as
//! `whisper-diff.py`: per archive, the points where the values differ, as
//! aligned columns (default), plain columns (`--columns`), a summary
//! (`--summary`) or JSON (`--json`, `json.dumps` with sorted keys and
//! `' : '` between key and value). Values print as Python prints floats,
//! missing ones as `None` (`null` in JSON).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use charcoal_pyfmt::json::{JsonStyle, PyValue, dumps};
use charcoal_tools::cli::{self, Out};
use charcoal_tools::optparse::{self, Flavor, Syntax};
use charcoal_tools::pyfmt::repr;
use charcoal_tools::pyparse::optparse_int;
use clap::Parser;
use whisper_format::{ArchiveDiff, Whisper};

#[derive(Debug, Parser)]
#[command(name = "whisper-diff")]
struct Args {
    #[arg(long, help = "show summary of differences")]
    summary: bool,
    #[arg(
        long = "ignore-empty",
        help = "skip comparison if either value is undefined"
    )]
    ignore_empty: bool,
    #[arg(long, help = "print output in simple columns")]
    columns: bool,
    #[arg(long = "no-headers", help = "do not print column headers")]
    no_headers: bool,
    #[arg(
        long,
        value_name = "UNTIL",
        value_parser = optparse_int,
        help = "Unix epoch time of the end of your requested interval (default: None)"
    )]
    until: Option<i64>,
    #[arg(long, help = "Output results in JSON form")]
    json: bool,
    args: Vec<String>,
}

const SYNTAX: Syntax<'static> = Syntax {
    flavor: Flavor::Optparse,
    usage: "%prog [options] path_a path_b",
    description: None,
};

/// `str()` of a fetched value: the float's repr or `None`.
fn value_str(v: Option<f64>) -> String {
    v.map_or_else(|| "None".to_owned(), repr)
}

fn print_diffs(out: &mut Out, diffs: &[ArchiveDiff], pretty: bool, headers: bool) -> Result<()> {
    if headers {
        if pretty {
            writeln!(
                out,
                "{:>7} {:>11} {:>13} {:>13}",
                "archive", "timestamp", "value_a", "value_b"
            )?;
        } else {
            writeln!(out, "archive timestamp value_a value_b")?;
        }
    }
    for d in diffs {
        if pretty {
            writeln!(
                out,
                "Archive {} ({} of {} datapoints differ)",
                d.index,
                d.points.len(),
                d.total
            )?;
            writeln!(
                out,
                "{:>7} {:>11} {:>13} {:>13}",
                "", "timestamp", "value_a", "value_b"
            )?;
        }
        for &(t, a, b) in &d.points {
            let (a, b) = (value_str(a), value_str(b));
            if pretty {
                writeln!(out, "{:>7} {t:>11} {a:>13} {b:>13}", "")?;
            } else {
                writeln!(out, "{} {t} {a} {b}", d.index)?;
            }
        }
    }
    Ok(())
}

fn print_summary(out: &mut Out, diffs: &[ArchiveDiff], pretty: bool, headers: bool) -> Result<()> {
    if headers {
        if pretty {
            writeln!(out, "{:>7} {:>9} {:>9}", "archive", "total", "differing")?;
        } else {
            writeln!(out, "archive total differing")?;
        }
    }
    for d in diffs {
        if pretty {
            writeln!(out, "{:>7} {:>9} {:>9}", d.index, d.total, d.points.len())?;
        } else {
            writeln!(out, "{} {} {}", d.index, d.total, d.points.len())?;
        }
    }
    Ok(())
}

fn int(v: usize) -> PyValue {
    PyValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

fn float_or_none(v: Option<f64>) -> PyValue {
    v.map_or(PyValue::None, PyValue::Float)
}

/// The script's JSON document; `datapoints` adds each archive's points.
fn json(diffs: &[ArchiveDiff], path_a: &str, path_b: &str, datapoints: bool) -> String {
    let archives = diffs
        .iter()
        .map(|d| {
            let mut fields = vec![
                ("archive".to_owned(), int(d.index)),
                ("total".to_owned(), int(d.total)),
                ("points".to_owned(), int(d.points.len())),
            ];
            if datapoints {
                let points = d
                    .points
                    .iter()
                    .map(|&(t, a, b)| {
                        PyValue::Dict(vec![
                            ("timestamp".to_owned(), PyValue::Int(t)),
                            ("value_a".to_owned(), float_or_none(a)),
                            ("value_b".to_owned(), float_or_none(b)),
                        ])
                    })
                    .collect();
                fields.push(("datapoint".to_owned(), PyValue::List(points)));
            }
            PyValue::Dict(fields)
        })
        .collect();
    let doc = PyValue::Dict(vec![
        ("path_a".to_owned(), PyValue::Str(path_a.to_owned())),
        ("path_b".to_owned(), PyValue::Str(path_b.to_owned())),
        ("archives".to_owned(), PyValue::List(archives)),
    ]);
    let style = JsonStyle {
        indent: Some(2),
        key_separator: " : ",
        sort_keys: true,
        ..JsonStyle::PYTHON
    };
    dumps(&doc, &style)
}

fn body(out: &mut Out) -> Result<()> {
    let parsed = optparse::parse::<Args>(&SYNTAX, out)?;
    let args = parsed.args;
    let [path_a, path_b] = args.args.as_slice() else {
        return Err(parsed.help.print_and_fail(out));
    };
    let now = cli::now()?;
    let a = Whisper::open_read(path_a.as_ref())?;
    let b = Whisper::open_read(path_b.as_ref())?;
    // `if options.until:` in the script: 0 means "not given".
    let until = args.until.filter(|&t| t != 0);
    let diffs = whisper_format::diff(&a, &b, args.ignore_empty, until, now)?;
    let (pretty, headers) = (!args.columns, !args.no_headers);
    match (args.summary, args.json) {
        (true, true) => writeln!(out, "{}", json(&diffs, path_a, path_b, false))?,
        (true, false) => print_summary(out, &diffs, pretty, headers)?,
        (false, true) => writeln!(out, "{}", json(&diffs, path_a, path_b, true))?,
        (false, false) => print_diffs(out, &diffs, pretty, headers)?,
    }
    Ok(())
}

fn main() -> ExitCode {
    cli::run(body)
}
