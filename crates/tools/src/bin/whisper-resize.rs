//! `whisper-resize`: rewrites a file with a new retention list (and
//! optionally a new xFilesFactor or aggregation method), keeping its data,
//! as `whisper-resize.py`.
//!
//! A new file is created (`<path>.tmp`, or `--newfile`) and filled from the
//! old one, then the old file is renamed to `<path>.bak` and the new one
//! takes its name (`--nobackup` removes the backup). The script loads every
//! old archive into memory first; we copy in bounded slices
//! ([`whisper_format::resize_into`]), so memory stays small for any file,
//! with the same resulting bytes. Without `--aggregate` each old archive's points are written
//! with `update_many`, coarsest first, as the script does. With
//! `--aggregate` (which crashes in Debian's script on Python 3) the old
//! points are aggregated into each new archive's intervals with the new
//! aggregation method and xFilesFactor, and the script's debug lines are not
//! printed. A progress bar is drawn on stderr when it is a terminal.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Result;
use charcoal_tools::cli::{self, Exit, Out, RETENTION_USAGE};
use charcoal_tools::optparse::{self, Flavor, Syntax};
use charcoal_tools::pyparse::optparse_float;
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget};
use whisper_format::{Aggregation, Allocation, CreateOptions, ResizeMode, Whisper};

fn aggregation_help() -> String {
    format!(
        "Change the aggregation function ({})",
        cli::aggregation_names(", ")
    )
}

#[derive(Debug, Parser)]
#[command(name = "whisper-resize")]
struct Args {
    #[arg(
        long = "xFilesFactor",
        value_name = "XFILESFACTOR",
        value_parser = optparse_float,
        help = "Change the xFilesFactor"
    )]
    x_files_factor: Option<f64>,
    #[arg(
        long = "aggregationMethod",
        value_name = "AGGREGATIONMETHOD",
        help = aggregation_help()
    )]
    aggregation_method: Option<String>,
    #[arg(long, help = "Perform a destructive change")]
    force: bool,
    #[arg(
        long,
        value_name = "NEWFILE",
        help = "Create a new database file without removing the existing one"
    )]
    newfile: Option<String>,
    #[arg(long, help = "Delete the .bak file after successful execution")]
    nobackup: bool,
    #[arg(
        long,
        help = "Try to aggregate the values to fit the new archive better. Note that this will make things slower and use more memory."
    )]
    aggregate: bool,
    args: Vec<String>,
}

/// A progress bar on stderr if it is a terminal, else one that draws nothing.
fn progress_bar() -> ProgressBar {
    if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    }
}

fn body(out: &mut Out) -> Result<()> {
    let usage = format!(
        "%prog path timePerPoint:timeToStore [timePerPoint:timeToStore]*\n{RETENTION_USAGE}"
    );
    let syntax = Syntax {
        flavor: Flavor::Optparse,
        usage: &usage,
        description: None,
    };
    let parsed = optparse::parse::<Args>(&syntax, out)?;
    let args = parsed.args;
    let positionals = parsed.help.at_least(out, &args.args, 2)?;
    let (path, defs) = (&positionals[0], &positionals[1..]);
    if !cli::exists(path) {
        return Err(cli::missing_file_with_help(out, path, parsed.help.text()));
    }
    let now = cli::now()?;
    let info = whisper_format::info(path.as_ref())?;
    let new_archives = cli::parse_archives(defs)?;
    let xff = args.x_files_factor.unwrap_or_else(|| info.xff());
    let method = args
        .aggregation_method
        .unwrap_or_else(|| info.aggregation.name().to_owned());

    // The script reads every old archive into memory here; we only open the
    // file, and `resize_into` reads it in bounded slices while it copies.
    writeln!(out, "Retrieving all data from the archives")?;
    let old = Whisper::open_read(path.as_ref())?;

    let tmpfile = format!("{path}.tmp");
    let newfile = match &args.newfile {
        Some(f) => f.clone(),
        None => {
            if cli::exists(&tmpfile) {
                writeln!(out, "Removing previous temporary database file: {tmpfile}")?;
                std::fs::remove_file(&tmpfile)?;
            }
            tmpfile.clone()
        }
    };
    writeln!(out, "Creating new whisper database: {newfile}")?;
    let aggregation: Aggregation = method.parse()?;
    let options = CreateOptions {
        x_files_factor: cli::check_xff(xff)? as f32,
        aggregation,
        allocation: Allocation::Zeroed,
        lock: false,
    };
    whisper_format::create(newfile.as_ref(), &new_archives, &options)?;
    let size = std::fs::metadata(&newfile)?.len();
    writeln!(out, "Created: {newfile} ({size} bytes)")?;

    let mode = if args.aggregate {
        writeln!(out, "Migrating data with aggregation...")?;
        ResizeMode::Aggregate {
            aggregation,
            x_files_factor: xff,
        }
    } else {
        writeln!(out, "Migrating data without aggregation...")?;
        ResizeMode::Copy
    };
    // The lines so far are shown before the (possibly long) migration.
    out.flush()?;
    let bar = progress_bar();
    let mut new = Whisper::open(newfile.as_ref())?;
    whisper_format::resize_into(&old, &mut new, mode, now, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    drop(new);
    drop(old);

    if args.newfile.is_some() {
        return Ok(());
    }
    let backup = format!("{path}.bak");
    writeln!(out, "Renaming old database to: {backup}")?;
    std::fs::rename(path, &backup)?;
    writeln!(out, "Renaming new database to: {path}")?;
    if let Err(e) = std::fs::rename(&tmpfile, path) {
        let _ = writeln!(std::io::stderr(), "[ERROR] {tmpfile}: {e}");
        writeln!(out, "\nOperation failed, restoring backup")?;
        std::fs::rename(&backup, path)?;
        return Err(Exit::code(1));
    }
    if args.nobackup {
        writeln!(out, "Unlinking backup: {backup}")?;
        std::fs::remove_file(&backup)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    cli::run(body)
}
