//! `whisper-dump`: prints a whisper file's header and every stored point in
//! physical slot order, as `whisper-dump.py`.
//!
//! Files can hold millions of points, so the data is streamed: each archive
//! is read from a read-only memory map in chunks of whole points, formatted on
//! one thread per core, and written in order to the buffered stdout; nothing
//! holds a whole archive.

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

/// Formats points `first..first + n` of `archive` as the script's lines into `line`.
fn format_chunk(
    w: &Whisper,
    archive: &ArchiveInfo,
    style: &TimeStyle,
    first: usize,
    n: usize,
    line: &mut Vec<u8>,
) -> Result<()> {
    let mut raw = [0u8; CHUNK_POINTS * POINT_SIZE];
    let raw = &mut raw[..n * POINT_SIZE];
    w.read_at(u64::from(archive.offset) + (first * POINT_SIZE) as u64, raw)?;
    line.clear();
    // A line is at most 7 + 2 + 10 + 2 + 40 + 1 bytes with Unix times (a value's
    // exact expansion can be longer, rarely): enough room for the whole chunk at once.
    line.reserve(n * 64);
    let mut value_text = Vec::with_capacity(64);
    for (index, point) in (first..).zip(raw.chunks_exact(POINT_SIZE)) {
        let (timestamp, value) = decode_point(point);
        push_u64(line, index as u64);
        line.extend_from_slice(b": ");
        match style {
            TimeStyle::Unix => push_u64(line, u64::from(timestamp)),
            other => line.extend_from_slice(other.format(i64::from(timestamp)).as_bytes()),
        }
        line.extend_from_slice(b", ");
        // `%10.35g`: right-aligned in ten columns.
        value_text.clear();
        write_percent_g(&mut value_text, value, 35);
        line.extend_from_slice(&b"          "[..10 - value_text.len().min(10)]);
        line.extend_from_slice(&value_text);
        line.push(b'\n');
    }
    Ok(())
}

/// Writes every point of `archive`, in slot order. Printing a value exactly (`%.35g`)
/// is most of the work, so chunks of points are formatted by `threads` threads, chunk
/// `i` by thread `i % threads`, and written in order as they come back. Each thread
/// runs at most two chunks ahead of the writer, so memory stays bounded whatever the
/// file's size.
fn write_archive(
    out: &mut Out,
    w: &Whisper,
    path: &str,
    archive: &ArchiveInfo,
    style: &TimeStyle,
    threads: usize,
) -> Result<()> {
    let total = archive.points as usize;
    let chunks = total.div_ceil(CHUNK_POINTS);
    let span = |c: usize| (c * CHUNK_POINTS, CHUNK_POINTS.min(total - c * CHUNK_POINTS));
    if threads <= 1 || chunks <= 1 {
        let mut line = Vec::new();
        for c in 0..chunks {
            let (first, n) = span(c);
            format_chunk(w, archive, style, first, n, &mut line)?;
            out.write_all(&line)?;
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|k| {
                let (to_writer, from_worker) = std::sync::mpsc::sync_channel::<Result<Vec<u8>>>(2);
                scope.spawn(move || {
                    // A handle of its own: a `Whisper` is not shared between threads.
                    let w = match open(path) {
                        Ok(w) => w,
                        Err(e) => {
                            let _ = to_writer.send(Err(e.into()));
                            return;
                        }
                    };
                    for c in (k..chunks).step_by(threads) {
                        let (first, n) = span(c);
                        let mut line = Vec::new();
                        let done = format_chunk(&w, archive, style, first, n, &mut line);
                        // The writer hung up (an error downstream): stop quietly.
                        if to_writer.send(done.map(|()| line)).is_err() {
                            return;
                        }
                    }
                });
                from_worker
            })
            .collect();
        for c in 0..chunks {
            let line = workers[c % threads]
                .recv()
                .map_err(|_| anyhow::anyhow!("a formatting thread stopped early"))??;
            out.write_all(&line)?;
        }
        Ok(())
    })
}

fn open(path: &str) -> whisper_format::Result<Whisper> {
    let w = Whisper::open_with(
        path.as_ref(),
        OpenOptions {
            write: false,
            lock: false,
            access: Access::Mmap,
        },
    )?;
    w.will_read_all();
    Ok(w)
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
    let w = open(path)?;
    let style = TimeStyle::new(args.pretty, args.time_format.as_deref());
    write_header(out, &w)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    for (i, archive) in w.header().archives.iter().enumerate() {
        // Python 3 prints no blank line after an archive's data: the
        // script's bare `print` is a no-op there.
        writeln!(out, "Archive {i} data:")?;
        write_archive(out, &w, path, archive, &style, threads)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    cli::run(body)
}
