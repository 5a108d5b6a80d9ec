//! `whisper-create`: creates a whisper file, or with `--estimate` prints the
//! size a retention list needs, as `whisper-create.py`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use charcoal_tools::cli::{self, Out, RETENTION_USAGE};
use charcoal_tools::optparse::{self, Flavor, Syntax};
use charcoal_tools::pyparse::optparse_float;
use clap::Parser;
use whisper_format::{Aggregation, Allocation, ArchiveSpec, CreateOptions, parse_retention_def};

fn aggregation_help() -> String {
    format!(
        "Function to use when aggregating values ({})",
        cli::aggregation_names(", ")
    )
}

#[derive(Debug, Parser)]
#[command(name = "whisper-create")]
struct Args {
    #[arg(long = "xFilesFactor", value_name = "XFILESFACTOR", default_value = "0.5", value_parser = optparse_float)]
    x_files_factor: f64,
    #[arg(
        long = "aggregationMethod",
        value_name = "AGGREGATIONMETHOD",
        default_value = "average",
        help = aggregation_help()
    )]
    aggregation_method: String,
    #[arg(long)]
    overwrite: bool,
    #[arg(
        long,
        help = "Don't create a whisper file, estimate storage requirements based on archive definitions"
    )]
    estimate: bool,
    #[arg(long, help = "Create new whisper as sparse file")]
    sparse: bool,
    #[arg(long, help = "Create new whisper and use fallocate")]
    fallocate: bool,
    args: Vec<String>,
}

/// The usage: two first lines, then the retention explanation.
fn usage() -> String {
    const FIRST_LINES: &str = "%prog path timePerPoint:timeToStore [timePerPoint:timeToStore]*
%prog --estimate timePerPoint:timeToStore [timePerPoint:timeToStore]*
";
    format!("{FIRST_LINES}{RETENTION_USAGE}")
}

/// The script's `byte_format`: bytes, KB, MB or GB with three decimals.
fn byte_format(bytes: f64) -> String {
    let mut num = bytes;
    for unit in ["bytes", "KB", "MB"] {
        if num < 1024.0 {
            return format!("{num:.3}{unit}");
        }
        num /= 1024.0;
    }
    format!("{num:.3}GB")
}

/// `--estimate`: one line per archive as it is parsed, then the sizes.
fn estimate(out: &mut Out, defs: &[String]) -> Result<()> {
    // A single argument holding commas is a comma-separated list.
    let defs: Vec<&str> = match defs {
        [one] if one.find(',').is_some_and(|i| i > 0) => one.split(',').collect(),
        _ => defs.iter().map(String::as_str).collect(),
    };
    let mut archives: u64 = 0;
    let mut total_points: u64 = 0;
    for def in defs {
        let spec: ArchiveSpec = parse_retention_def(def)?;
        writeln!(
            out,
            "Archive {archives}: {} points of {}s precision",
            spec.points, spec.seconds_per_point
        )?;
        archives += 1;
        total_points += u64::from(spec.points);
    }
    let size = 16 + archives * 12 + total_points * 12;
    // `int(math.ceil(size / 4096.0) * 4096)`, in floating point as there.
    let disk_size = ((size as f64 / 4096.0).ceil() * 4096.0) as u64;
    writeln!(
        out,
        "\nEstimated Whisper DB Size: {} ({disk_size} bytes on disk with 4k blocks)\n",
        byte_format(size as f64)
    )?;
    for x in [1u64, 5, 10, 50, 100, 500] {
        writeln!(
            out,
            "Estimated storage requirement for {x}k metrics: {}",
            byte_format((x * 1000 * disk_size) as f64)
        )?;
    }
    Ok(())
}

fn body(out: &mut Out) -> Result<()> {
    let usage = usage();
    let syntax = Syntax {
        flavor: Flavor::Optparse,
        usage: &usage,
        description: None,
    };
    let parsed = optparse::parse::<Args>(&syntax, out)?;
    let args = parsed.args;
    if args.estimate {
        if args.args.is_empty() {
            return Err(parsed.help.print_usage_and_fail(out));
        }
        return estimate(out, &args.args);
    }
    let positionals = parsed.help.at_least(out, &args.args, 2)?;
    let (path, defs) = (&positionals[0], &positionals[1..]);
    let archives = cli::parse_archives(defs)?;
    if cli::exists(path) && args.overwrite {
        writeln!(out, "Overwriting existing file: {path}")?;
        std::fs::remove_file(path)?;
    }
    let aggregation: Aggregation = args.aggregation_method.parse()?;
    let x_files_factor = cli::check_xff(args.x_files_factor)? as f32;
    // The script passes both flags on; whisper prefers fallocate.
    let allocation = if args.fallocate {
        Allocation::Fallocate
    } else if args.sparse {
        Allocation::Sparse
    } else {
        Allocation::Zeroed
    };
    let options = CreateOptions {
        x_files_factor,
        aggregation,
        allocation,
        lock: false,
    };
    whisper_format::create(path.as_ref(), &archives, &options)?;
    let size = std::fs::metadata(path)?.len();
    writeln!(out, "Created: {path} ({size} bytes)")?;
    Ok(())
}

fn main() -> ExitCode {
    cli::run(body)
}
