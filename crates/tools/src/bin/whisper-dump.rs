//! `whisper-dump`: prints a whisper file's header and every stored point in
//! physical slot order, as `whisper-dump.py`.
//!
//! Files can hold millions of points, so the data is streamed: each archive
//! is read from a read-only memory map in chunks of whole points and every
//! line goes straight to the buffered stdout; nothing holds a whole archive.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use charcoal_tools::cli::{self, Out};
use charcoal_tools::optparse::{self, Flavor, Syntax};
use charcoal_tools::pyfmt::{percent_g, push_u64, write_percent_g};
use charcoal_tools::timestyle::TimeStyle;
use clap::Parser;
use whisper_format::{Access, ArchiveInfo, OpenOptions, POINT_SIZE, Whisper, decode_point};

#[derive(Debug, Parser)]
#[command(name = "whisper-dump")]
struct Args {
    #[arg(long, help = "Show human-readable timestamps instead of unix times")]
    pretty: bool,
    #[arg(
        short = 't',
        long = "time-format",
        value_name = "TIME_FORMAT",
        help = "Time format to use with --pretty; see time.strftime()"
    )]
    time_format: Option<String>,
    args: Vec<String>,
}

const SYNTAX: Syntax = Syntax {
    flavor: Flavor::Optparse,
    usage: "%prog path",
    description: None,
};

/// Points read per chunk.
const CHUNK_POINTS: usize = 4096;

fn write_header(out: &mut Out, w: &Whisper) -> Result<()> {
    let header = w.header();
    writeln!(out, "Meta data:")?;
    writeln!(out, "  aggregation method: {}", header.aggregation)?;
    writeln!(out, "  max retention: {}", header.max_retention)?;
    writeln!(out, "  xFilesFactor: {}", percent_g(header.xff(), 6))?;
    writeln!(out)?;
    for (i, a) in header.archives.iter().enumerate() {
        writeln!(out, "Archive {i} info:")?;
        writeln!(out, "  offset: {}", a.offset)?;
        writeln!(out, "  seconds per point: {}", a.seconds_per_point)?;
        writeln!(out, "  points: {}", a.points)?;
        writeln!(out, "  retention: {}", a.retention())?;
        writeln!(out, "  size: {}", a.size())?;
        writeln!(out)?;
    }
    Ok(())
}

fn write_archive(
    out: &mut Out,
    w: &Whisper,
    archive: &ArchiveInfo,
    style: &TimeStyle,
    buf: &mut [u8],
) -> Result<()> {
    let total = archive.points as usize;
    let mut index = 0;
    while index < total {
        let n = (total - index).min(CHUNK_POINTS);
        let chunk = &mut buf[..n * POINT_SIZE];
        w.read_at(
            u64::from(archive.offset) + (index * POINT_SIZE) as u64,
            chunk,
        )?;
        // One reused buffer per chunk of lines: a year of minutes is half a
        // million lines.
        let mut line = String::with_capacity(n * 48);
        let mut value_text = String::with_capacity(48);
        for point in chunk.chunks_exact(POINT_SIZE) {
            let (timestamp, value) = decode_point(point);
            push_u64(&mut line, index as u64);
            line.push_str(": ");
            match style {
                TimeStyle::Unix => push_u64(&mut line, u64::from(timestamp)),
                other => line.push_str(&other.format(i64::from(timestamp))),
            }
            line.push_str(", ");
            // `%10.35g`: right-aligned in ten columns.
            value_text.clear();
            write_percent_g(&mut value_text, value, 35);
            line.push_str(&"          "[..10 - value_text.len().min(10)]);
            line.push_str(&value_text);
            line.push('\n');
            index += 1;
        }
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

fn body(out: &mut Out) -> Result<()> {
    let parsed = optparse::parse::<Args>(&SYNTAX, out)?;
    let args = parsed.args;
    let [path] = args.args.as_slice() else {
        return Err(parsed.help.usage_error("require one input file name"));
    };
    if !cli::exists(path) {
        return Err(cli::missing_file(path));
    }
    let w = Whisper::open_with(
        path.as_ref(),
        OpenOptions {
            write: false,
            lock: false,
            access: Access::Mmap,
        },
    )?;
    let style = TimeStyle::new(args.pretty, args.time_format.as_deref());
    write_header(out, &w)?;
    let mut buf = vec![0u8; CHUNK_POINTS * POINT_SIZE];
    for (i, archive) in w.header().archives.iter().enumerate() {
        // Python 3 prints no blank line after an archive's data: the
        // script's bare `print` is a no-op there.
        writeln!(out, "Archive {i} data:")?;
        write_archive(out, &w, archive, &style, &mut buf)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    cli::run(body)
}
