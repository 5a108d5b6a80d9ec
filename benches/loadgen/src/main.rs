//! `charcoal-loadgen`: carbon write-path traffic for `benches/write-path.sh`.
//!
//! `send` pushes `--metrics M` × `--points P` datapoints to a carbon
//! receiver as fast as it can, over `--connections C` parallel TCP
//! connections (each owns a contiguous slice of the metrics), as plaintext
//! lines or as pickle frames of `--batch` datapoints (protocol 2, opcodes
//! written by hand, see [`encode`]). All bytes are generated and every
//! connection opened before the clock starts, so only sending is timed. It
//! prints one JSON line: the wall-clock time of the first byte, how long until
//! the last write returned (`send_seconds`), how long until the server had
//! read everything and closed each connection (`drain_seconds`), and
//! `points_per_second` from the latter.
//!
//! `check` waits (bounded) until every one of those points is in its whisper
//! file and prints one JSON line with the times since the first byte: when it
//! noticed, and, from the files' inodes, when the last point landed and the
//! last file was created (see [`check`]).
//!
//! `soak` runs a fixed-rate ingest with concurrent renders and finds for a bounded time
//! and reports throughput, latency percentiles and the server's RSS over time.
//!
//! `send` and `check` take the same workload flags; give both the same `--now` so they agree
//! on the timestamps:
//!
//! ```sh
//! now=$(date +%s)
//! charcoal-loadgen send --addr 127.0.0.1:2003 --metrics 1000 --points 1000 --now $now
//! charcoal-loadgen check --whisper-dir storage/whisper --metrics 1000 --points 1000 --now $now
//! ```

mod check;
mod encode;
mod send;
mod soak;
mod workload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::encode::Protocol;
use crate::workload::{Order, Workload};

/// Carbon write-path load generator and whisper completion checker.
#[derive(Debug, Parser)]
#[command(name = "charcoal-loadgen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send the workload to a carbon receiver and time it.
    Send(SendArgs),
    /// Wait until the workload is in the whisper files and time it.
    Check(CheckArgs),
    /// Sustained ingest at a fixed rate plus concurrent renders and finds for a while,
    /// sampling the server's RSS (see `soak.rs`).
    Soak(SoakArgs),
}

#[derive(Debug, Args)]
struct SoakArgs {
    /// The plaintext receiver.
    #[arg(long)]
    carbon: SocketAddr,
    /// The HTTP API.
    #[arg(long)]
    http: SocketAddr,
    /// The server's process id (for its RSS).
    #[arg(long)]
    pid: u32,
    /// Distinct metrics (groups of 100).
    #[arg(long, default_value_t = 10_000)]
    metrics: u64,
    /// Points per second to send.
    #[arg(long, default_value_t = 100_000)]
    rate: u64,
    /// Sending connections.
    #[arg(long, default_value_t = 2)]
    connections: u64,
    /// Concurrent render/find loops.
    #[arg(long, default_value_t = 2)]
    readers: u64,
    /// Seconds to run.
    #[arg(long, default_value_t = 120)]
    seconds: u64,
}

/// What is sent (shared by both subcommands).
#[derive(Debug, Args)]
struct WorkloadArgs {
    /// Number of metrics, named `<prefix>.<i/1000>.m<i>`.
    #[arg(long, default_value_t = 1000)]
    metrics: usize,
    /// Points per metric.
    #[arg(long, default_value_t = 1)]
    points: usize,
    /// Seconds between a metric's points.
    #[arg(long, default_value_t = 10)]
    step: u32,
    /// The last timestamp, rounded down to the step (default: now).
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<u32>,
    /// First component of every metric name.
    #[arg(long, default_value = "loadgen")]
    prefix: String,
    /// Send order within a connection.
    #[arg(long, value_enum, default_value_t = Order::Time)]
    order: Order,
}

impl WorkloadArgs {
    fn workload(&self) -> Result<Workload> {
        let now = match self.now {
            Some(n) => n,
            None => SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as u32,
        };
        let w = Workload {
            prefix: self.prefix.clone(),
            metrics: self.metrics,
            points: self.points,
            step: self.step,
            end: now - now % self.step.max(1),
            order: self.order,
        };
        w.validate()?;
        Ok(w)
    }
}

#[derive(Debug, Args)]
struct SendArgs {
    /// The receiver, HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:2003")]
    addr: SocketAddr,
    /// Wire protocol.
    #[arg(long, value_enum, default_value_t = Protocol::Plaintext)]
    protocol: Protocol,
    /// Parallel TCP connections, each sending a slice of the metrics.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Datapoints per pickle frame.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Seconds to wait for the server to close the connections after the
    /// last byte.
    #[arg(long, default_value_t = 600)]
    drain_timeout: u64,
    #[command(flatten)]
    workload: WorkloadArgs,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The whisper directory (carbon's LOCAL_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    whisper_dir: PathBuf,
    /// Report times relative to this moment (`start_unix` of `send`).
    #[arg(long, value_name = "UNIX_SECONDS")]
    since_unix: Option<f64>,
    /// Give up after this many seconds (exit status 1).
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Look once and report what is there (exit status 0 either way).
    #[arg(long)]
    once: bool,
    #[command(flatten)]
    workload: WorkloadArgs,
}

fn send(args: &SendArgs) -> Result<()> {
    let w = args.workload.workload()?;
    anyhow::ensure!(args.connections > 0, "--connections must be positive");
    anyhow::ensure!(args.batch > 0, "--batch must be positive");
    let connections = args.connections.min(w.metrics);
    let generating = Instant::now();
    let buffers: Vec<Vec<u8>> = (0..connections)
        .map(|c| encode::connection_bytes(&w, w.slice(c, connections), args.protocol, args.batch))
        .collect();
    let generate_seconds = generating.elapsed().as_secs_f64();
    let bytes: usize = buffers.iter().map(Vec::len).sum();
    let t = send::send(args.addr, &buffers, Duration::from_secs(args.drain_timeout))?;
    let points = w.total_points() as f64;
    let received_seconds = t.drain_seconds.unwrap_or(t.send_seconds);
    println!(
        "{}",
        json!({
            "protocol": format!("{:?}", args.protocol).to_lowercase(),
            "addr": args.addr.to_string(),
            "metrics": w.metrics,
            "points_per_metric": w.points,
            "points": w.total_points(),
            "connections": connections,
            "batch": (args.protocol == Protocol::Pickle).then_some(args.batch),
            "bytes": bytes,
            "end_timestamp": w.end,
            "generate_seconds": generate_seconds,
            "start_unix": t.start_unix,
            "send_seconds": t.send_seconds,
            "drain_seconds": t.drain_seconds,
            "points_per_second": points / received_seconds,
            "send_points_per_second": points / t.send_seconds,
            "mib_per_second": bytes as f64 / received_seconds / (1 << 20) as f64,
        })
    );
    anyhow::ensure!(
        t.drain_seconds.is_some(),
        "the server kept a connection open {} s after the last byte",
        args.drain_timeout
    );
    Ok(())
}

fn check(args: &CheckArgs) -> Result<bool> {
    let w = args.workload.workload()?;
    let (report, complete) = check::wait(
        &w,
        &args.whisper_dir,
        args.since_unix,
        Duration::from_secs(args.timeout),
        args.once,
    )?;
    println!("{report}");
    Ok(complete || args.once)
}

fn main() -> Result<std::process::ExitCode> {
    let cli = Cli::parse();
    match &cli.command {
        Command::Send(args) => send(args)?,
        Command::Soak(a) => {
            let report = soak::run(&soak::Soak {
                carbon: a.carbon,
                http: a.http,
                pid: a.pid,
                metrics: a.metrics,
                rate: a.rate,
                connections: a.connections,
                readers: a.readers,
                duration: Duration::from_secs(a.seconds),
            })?;
            println!("{report}");
        }
        Command::Check(args) => {
            if !check(args)? {
                return Ok(std::process::ExitCode::FAILURE);
            }
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
