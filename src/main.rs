//! `charcoal`: the server binary. Flags, logging and signals live here;
//! `app.rs` wires the components; `config.rs` reads carbon.conf.

mod app;
mod config;
mod privileges;
mod selfmetrics;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{Settings, parse_listen};

/// Charcoal: a drop-in replacement for carbon-cache, the whisper file format
/// and graphite-web's render API.
#[derive(Debug, Parser)]
#[command(name = "charcoal", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Receive metrics (plaintext, pickle), cache them, write whisper files
    /// and serve the HTTP API. Without --config: embedded defaults, data in
    /// ./storage.
    Serve(Box<ServeArgs>),
    /// Probe a running server's /health (for container HEALTHCHECKs: no curl needed).
    /// Exits 0 when it answers 200.
    Health(HealthArgs),
}

#[derive(Debug, clap::Args)]
struct HealthArgs {
    /// The server's HTTP address.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    /// Seconds to wait for the answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    timeout: u64,
}

/// `GET /health` over a plain socket; Ok when the status is 200.
fn probe_health(args: &HealthArgs) -> Result<()> {
    use std::io::{Read, Write};
    let timeout = std::time::Duration::from_secs(args.timeout.max(1));
    let mut s = std::net::TcpStream::connect_timeout(&args.http, timeout)
        .with_context(|| format!("cannot connect to {}", args.http))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    write!(s, "GET /health HTTP/1.0\r\nHost: {}\r\n\r\n", args.http)?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).context("no HTTP answer")?;
    anyhow::ensure!(
        head.starts_with(b"HTTP/1.") && &head[9..12] == b"200",
        "unhealthy: {}",
        String::from_utf8_lossy(&head)
    );
    Ok(())
}

/// A listen address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Listen(Option<SocketAddr>);

fn listen(v: &str) -> Result<Listen, String> {
    match v {
        "off" | "none" => Ok(Listen(None)),
        _ => parse_listen(v)
            .map(|a| Listen(Some(a)))
            .map_err(|e| e.to_string()),
    }
}

/// An origin as browsers send it (`scheme://host[:port]`), or `*`.
fn cors_origin(v: &str) -> Result<axum::http::HeaderValue, String> {
    let well_formed = v == "*"
        || v.split_once("://").is_some_and(|(scheme, rest)| {
            !scheme.is_empty() && !rest.is_empty() && !rest.contains('/')
        });
    if !well_formed {
        return Err(format!(
            "{v:?} is not an origin: give scheme://host[:port] (no path) or *"
        ));
    }
    axum::http::HeaderValue::from_str(v).map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// carbon.conf to read ([cache] section; storage-schemas.conf and
    /// storage-aggregation.conf are read from CONF_DIR, by default its folder).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Also apply the [cache:INSTANCE] section of carbon.conf.
    #[arg(long, value_name = "NAME")]
    instance: Option<String>,
    /// STORAGE_DIR: whisper files go to STORAGE_DIR/whisper unless
    /// carbon.conf sets LOCAL_DATA_DIR.
    #[arg(long, value_name = "DIR")]
    storage_dir: Option<PathBuf>,
    /// Plaintext TCP listener, ADDR:PORT or `off` (port 0: any free port).
    #[arg(long, value_name = "ADDR:PORT", value_parser = listen)]
    line: Option<Listen>,
    /// Plaintext UDP listener, ADDR:PORT or `off`.
    #[arg(long, value_name = "ADDR:PORT", value_parser = listen)]
    udp: Option<Listen>,
    /// Pickle listener, ADDR:PORT or `off`.
    #[arg(long, value_name = "ADDR:PORT", value_parser = listen)]
    pickle: Option<Listen>,
    /// Carbonlink cache-query listener, ADDR:PORT or `off`.
    #[arg(long, value_name = "ADDR:PORT", value_parser = listen)]
    carbonlink: Option<Listen>,
    /// HTTP API, ADDR:PORT or `off`.
    #[arg(long, value_name = "ADDR:PORT", value_parser = listen)]
    http: Option<Listen>,
    /// Persister threads writing whisper files (default: one per core).
    #[arg(long, value_name = "N")]
    writers: Option<usize>,
    /// How much lower than the receivers the persister threads run (added to their nice
    /// value, 0 to 19). When both want the CPU, receiving wins and the cache absorbs the
    /// difference, bounded by MAX_CACHE_SIZE's flow control; with CPU to spare it changes
    /// nothing. 0 runs them at the same priority.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(i32).range(0..=19))]
    writer_nice: i32,
    /// Seconds to keep retrying failed writes at shutdown before giving up.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    shutdown_timeout: u64,
    /// Longest plaintext line in bytes; longer lines are refused and counted.
    #[arg(long, value_name = "BYTES", default_value_t = 16_384)]
    max_line_length: usize,
    /// Open connections per TCP listener; more clients wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = 16_384)]
    max_connections: usize,
    /// Close carbon connections silent for this many seconds (0: never).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    idle_timeout: u64,
    /// Series one render request may read from storage (more is a 400).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    max_series_per_request: usize,
    /// Values one render request may read from storage or make with functions such as
    /// summarize, hitcount and timeFunction (more is a 400).
    #[arg(long, value_name = "N", default_value_t = 100_000_000)]
    max_points_per_request: usize,
    /// Seconds one render request may evaluate for (longer is a 400 naming this flag).
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    max_render_seconds: f64,
    /// Matches one /metrics/find or path expression may return (more is a 400).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    max_find_results: usize,
    /// Open HTTP connections at once; more clients wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = 4096)]
    max_http_connections: usize,
    /// Seconds a client may take to send an HTTP request's headers before the connection
    /// is closed (slow clients cannot hold connections).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    http_header_timeout: f64,
    /// Largest HTTP request body in bytes (more is a 413).
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    max_body_size: usize,
    /// Whisper files kept open for renders (default: half the open-file limit, at most
    /// 65536; 0: open per read).
    #[arg(long, value_name = "N")]
    open_files: Option<usize>,
    /// Turn the write-ahead log off (carbon's behaviour: points still in the cache are lost
    /// if the process dies).
    #[arg(long)]
    no_wal: bool,
    /// Longest time between two syncs of the write-ahead log to disk, in seconds (points
    /// accepted earlier survive a power loss; a killed process loses nothing written).
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    wal_sync_interval: f64,
    /// Size of the write-ahead log beyond which it stops logging (and /ready says so) until
    /// the persisters catch up.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30)]
    wal_max_size: u64,
    /// Allow browsers on this origin (e.g. https://grafana.example.com) to call the HTTP
    /// API, for Grafana's browser access mode; repeat for more, `*` for any. Default: no
    /// CORS headers.
    #[arg(long = "cors-origin", value_name = "ORIGIN", value_parser = cors_origin)]
    cors_origins: Vec<axum::http::HeaderValue>,
    /// Time zone of render requests without tz= (graphite-web's TIME_ZONE).
    #[arg(long, value_name = "NAME", default_value = "UTC")]
    time_zone: String,
    /// Log lines as text or JSON (level from RUST_LOG, default info).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

impl ServeArgs {
    fn settings(&self) -> Result<Settings> {
        let mut s = match &self.config {
            Some(path) => Settings::from_carbon_conf(path, self.instance.as_deref())?,
            None => Settings::embedded(),
        };
        if let Some(dir) = &self.storage_dir {
            // LOCAL_DATA_DIR follows STORAGE_DIR unless set on its own.
            if s.whisper_dir == s.storage_dir.join("whisper") {
                s.whisper_dir = dir.join("whisper");
            }
            s.storage_dir = dir.clone();
        }
        for (flag, slot) in [
            (self.line, &mut s.line),
            (self.udp, &mut s.udp),
            (self.pickle, &mut s.pickle),
            (self.carbonlink, &mut s.carbonlink),
            (self.http, &mut s.http),
        ] {
            if let Some(Listen(addr)) = flag {
                *slot = addr;
            }
        }
        Ok(s)
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Raises the soft open-file limit to the hard one and returns half of it (at most 65536)
/// for the reader's handle cache; the rest stays for sockets and the persisters.
fn open_file_budget() -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
    let soft = getrlimit(Resource::Nofile).current.unwrap_or(1024);
    (soft / 2).min(65_536) as usize
}

/// Errors end the process with one line on standard error (the cause chain joined with
/// colons), not a debug dump: "cannot listen for pickle on 0.0.0.0:2004: Address already in
/// use (os error 98)".
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Causes joined with colons, each said once (many errors repeat their cause).
            let line = e.chain().skip(1).fold(e.to_string(), |text, cause| {
                let cause = cause.to_string();
                if text.contains(&cause) {
                    text
                } else {
                    format!("{text}: {cause}")
                }
            });
            eprintln!("charcoal: {line}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Health(args) => probe_health(&args),
        Command::Serve(args) => {
            init_logging(args.log_format);
            let settings = args.settings()?;
            let writers = args
                .writers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            let api = charcoal_api::ApiConfig {
                time_zone: charcoal_query::time_zone(&args.time_zone)
                    .with_context(|| format!("--time-zone {}", args.time_zone))?,
                limits: charcoal_query::Limits {
                    max_series: args.max_series_per_request,
                    max_points: args.max_points_per_request,
                    max_time: std::time::Duration::from_secs_f64(
                        args.max_render_seconds.clamp(0.001, 86_400.0),
                    ),
                },
                max_find_results: args.max_find_results,
                max_body_bytes: args.max_body_size,
                cors_origins: args.cors_origins.clone(),
            };
            let open_files = args.open_files.unwrap_or_else(open_file_budget);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(async {
                let shutdown = app::shutdown_signal()?;
                app::run(
                    settings,
                    app::Tuning {
                        writers,
                        writer_nice: args.writer_nice,
                        shutdown_timeout: std::time::Duration::from_secs(args.shutdown_timeout),
                        receiver: charcoal_receiver::Config {
                            max_line_len: args.max_line_length,
                            max_connections: args.max_connections,
                            idle_timeout: (args.idle_timeout > 0)
                                .then(|| std::time::Duration::from_secs(args.idle_timeout)),
                            ..charcoal_receiver::Config::default()
                        },
                        api,
                        http: charcoal_api::serve::HttpLimits {
                            max_connections: args.max_http_connections,
                            header_timeout: std::time::Duration::from_secs_f64(
                                args.http_header_timeout.clamp(0.01, 3600.0),
                            ),
                            ..charcoal_api::serve::HttpLimits::default()
                        },
                        open_files,
                        wal: (!args.no_wal).then(|| charcoal_store::WalSettings {
                            sync_interval: std::time::Duration::from_secs_f64(
                                args.wal_sync_interval.clamp(0.001, 3600.0),
                            ),
                            max_bytes: args.wal_max_size,
                        }),
                    },
                    shutdown,
                )
                .await
            })
        }
    }
}
