//! `whisper-info`: prints a whisper file's header, as `whisper-info.py`.
//!
//! Plain output is `key: value` lines (Python's `str` of each value), the
//! archives after a blank line; `--json` is `json.dumps(info, indent=2)`;
//! a field name prints just that field, and an unknown one lists the valid
//! fields and exits 1.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use charcoal_pyfmt::json::{JsonStyle, PyValue, dumps, py_str};
use charcoal_tools::cli::{self, Exit, Out};
use charcoal_tools::optparse::{self, Flavor, Syntax};
use clap::Parser;
use whisper_format::Header;

#[derive(Debug, Parser)]
#[command(name = "whisper-info")]
struct Args {
    #[arg(long, help = "Output results in JSON form")]
    json: bool,
    args: Vec<String>,
}

const SYNTAX: Syntax = Syntax {
    flavor: Flavor::Optparse,
    usage: "%prog [options] path [field]",
    description: None,
};

/// `whisper.info(path)` plus `fileSize`, as the dict the script prints.
fn info_dict(header: &Header, file_size: u64) -> Vec<(String, PyValue)> {
    let int = |v: u64| PyValue::Int(i64::try_from(v).unwrap_or(i64::MAX));
    let archives = header
        .archives
        .iter()
        .map(|a| {
            PyValue::Dict(vec![
                ("offset".into(), int(a.offset.into())),
                ("secondsPerPoint".into(), int(a.seconds_per_point.into())),
                ("points".into(), int(a.points.into())),
                ("retention".into(), PyValue::Int(a.retention())),
                ("size".into(), int(a.size())),
            ])
        })
        .collect();
    vec![
        (
            "aggregationMethod".into(),
            PyValue::Str(header.aggregation.name().into()),
        ),
        ("maxRetention".into(), int(header.max_retention.into())),
        ("xFilesFactor".into(), PyValue::Float(header.xff())),
        ("archives".into(), PyValue::List(archives)),
        ("fileSize".into(), int(file_size)),
    ]
}

fn write_plain(out: &mut Out, entries: &[(String, PyValue)]) -> Result<()> {
    for (key, value) in entries.iter().filter(|(k, _)| k != "archives") {
        writeln!(out, "{key}: {}", py_str(value))?;
    }
    writeln!(out)?;
    let archives = entries.iter().find_map(|(k, v)| match v {
        PyValue::List(items) if k == "archives" => Some(items),
        _ => None,
    });
    for (i, archive) in archives.into_iter().flatten().enumerate() {
        writeln!(out, "Archive {i}")?;
        if let PyValue::Dict(fields) = archive {
            for (key, value) in fields {
                writeln!(out, "{key}: {}", py_str(value))?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

fn body(out: &mut Out) -> Result<()> {
    let parsed = optparse::parse::<Args>(&SYNTAX, out)?;
    let args = parsed.args;
    let positionals = parsed.help.at_least(out, &args.args, 1)?;
    let path = &positionals[0];
    // `if field:` in the script: an empty field name means none.
    let field = positionals.get(1).filter(|f| !f.is_empty());
    let header = whisper_format::info(path.as_ref())?;
    let file_size = std::fs::metadata(path)?.len();
    let entries = info_dict(&header, file_size);
    if let Some(field) = field {
        let Some((_, value)) = entries.iter().find(|(k, _)| k == field) else {
            let names: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
            writeln!(
                out,
                "Unknown field \"{field}\". Valid fields are {}",
                names.join(",")
            )?;
            return Err(Exit::code(1));
        };
        writeln!(out, "{}", py_str(value))?;
    } else if args.json {
        let style = JsonStyle {
            indent: Some(2),
            ..JsonStyle::PYTHON
        };
        writeln!(out, "{}", dumps(&PyValue::Dict(entries), &style))?;
    } else {
        write_plain(out, &entries)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    cli::run(body)
}
