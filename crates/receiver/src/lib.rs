//! Carbon's listeners: plaintext over TCP and UDP, pickle over TCP, and the
//! carbonlink cache-query port.
//!
//! # Layout
//! `listener.rs` owns what every TCP port shares (the accept loop, the
//! connection limit, idle timeouts, flow control, draining on shutdown);
//! `line.rs`, `pickle.rs` and `carbonlink.rs` turn a connection's bytes into
//! points or answers with the pure codecs of `charcoal-protocol`; `udp.rs`
//! reads datagrams; `point.rs` applies carbon's per-point rules; `counters.rs`
//! counts what happened and rate-limits the log.
//!
//! # Write path
//! socket bytes → frames or lines → [`charcoal_protocol`] parsers → a [`Batch`]
//! (validated names stored back to back, whole-second timestamps) → [`Sink::accept`].
//!
//! # Guarantees
//! - A bad line, name or frame is counted and logged (at most once a second
//!   per kind, with the number suppressed) and skipped; the connection and
//!   the rest of its data carry on. Only a pickle frame announced longer than
//!   the limit ends its connection, since the stream cannot be resynchronised.
//! - While [`Sink::is_full`], TCP receivers stop reading (the senders' TCP
//!   windows fill and they slow down) until [`Sink::below_low_watermark`]:
//!   points are never dropped for lack of room.
//! - [`Receivers::stop`] stops accepting, lets every open connection deliver
//!   what it has sent (until it closes or is quiet for the drain period), and
//!   returns once every point read has reached the sink.

#![deny(missing_docs)]

mod carbonlink;
mod counters;
mod line;
mod listener;
mod pickle;
mod point;
mod udp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use counters::Counters;
pub use point::{Batch, Sample};

/// Where received points go (the write cache, in the server).
pub trait Sink: Send + Sync + 'static {
    /// Takes a batch of points (it may drop some; the receiver clears the batch after).
    fn accept(&self, batch: &mut Batch);
    /// True when receivers should stop reading.
    fn is_full(&self) -> bool;
    /// True when receivers may read again after a pause.
    fn below_low_watermark(&self) -> bool;
}

/// Why a carbonlink metadata request failed: the implementation's own error, whose text
/// goes back to the client as carbon's `{'error': ...}`.
pub type MetadataError = Box<dyn std::error::Error + Send + Sync>;

/// What the carbonlink port answers from.
pub trait CacheReader: Send + Sync + 'static {
    /// The points held for a metric, not yet in its file, oldest first.
    fn cached(&self, metric: &str) -> Vec<(i64, f64)>;
    /// The metric's aggregation method (the only metadata key carbon knows). May block
    /// (it reads a file); the receiver calls it off the async runtime's worker.
    fn aggregation_method(&self, metric: &str) -> Result<String, MetadataError>;
    /// Changes the aggregation method; returns the old one. May block, as above.
    fn set_aggregation_method(&self, metric: &str, method: &str) -> Result<String, MetadataError>;
}

/// Listener addresses and limits.
#[derive(Debug, Clone)]
pub struct Config {
    /// Plaintext TCP.
    pub line: Option<SocketAddr>,
    /// Plaintext UDP.
    pub udp: Option<SocketAddr>,
    /// Pickle TCP.
    pub pickle: Option<SocketAddr>,
    /// Carbonlink TCP.
    pub carbonlink: Option<SocketAddr>,
    /// Longest plaintext line, in bytes (carbon: 16384).
    pub max_line_len: usize,
    /// Largest pickle frame (carbon's `PICKLE_RECEIVER_MAX_LENGTH`).
    pub max_pickle_frame: usize,
    /// Largest carbonlink request frame.
    pub max_carbonlink_frame: usize,
    /// Open connections per TCP listener; further clients wait to be accepted.
    pub max_connections: usize,
    /// Close a connection silent for this long (None: never).
    pub idle_timeout: Option<Duration>,
    /// At shutdown, how long an open connection may stay quiet before it is
    /// closed.
    pub drain_quiet: Duration,
    /// `MIN_TIMESTAMP_RESOLUTION` (0: whole seconds, which whisper needs).
    pub timestamp_resolution: u32,
    /// `USE_FLOW_CONTROL`.
    pub flow_control: bool,
    /// Connections handling received data right now (parsing it and handing it to the
    /// sink), for whoever should step aside while they are: the server's persisters.
    pub busy: Arc<AtomicUsize>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            line: None,
            udp: None,
            pickle: None,
            carbonlink: None,
            max_line_len: charcoal_protocol::plaintext::DEFAULT_MAX_LINE_LEN,
            max_pickle_frame: charcoal_protocol::framing::DEFAULT_MAX_PICKLE_FRAME,
            max_carbonlink_frame: 1 << 20,
            max_connections: 16_384,
            idle_timeout: None,
            drain_quiet: Duration::from_millis(500),
            timestamp_resolution: 1,
            flow_control: true,
            busy: Arc::default(),
        }
    }
}

/// The bound addresses, for logs and tests (port 0 becomes the real port).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bound {
    /// Plaintext TCP.
    pub line: Option<SocketAddr>,
    /// Plaintext UDP.
    pub udp: Option<SocketAddr>,
    /// Pickle TCP.
    pub pickle: Option<SocketAddr>,
    /// Carbonlink TCP.
    pub carbonlink: Option<SocketAddr>,
}

/// The running listeners.
#[derive(Debug)]
pub struct Receivers {
    /// Where they listen.
    pub bound: Bound,
    /// What they counted.
    pub counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Every configured listener, bound and not yet serving: the server binds its ports
/// first (as root, if it must drop privileges after) and opens its store in between.
#[derive(Debug)]
pub struct Listeners {
    config: Config,
    line: Option<tokio::net::TcpListener>,
    pickle: Option<tokio::net::TcpListener>,
    carbonlink: Option<tokio::net::TcpListener>,
    udp: Option<tokio::net::UdpSocket>,
    /// Where they listen.
    pub bound: Bound,
}

/// A listener that could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen for {what} on {addr}: {source}")]
pub struct BindError {
    /// Which listener (`line`, `udp`, `pickle`, `carbonlink`).
    pub what: &'static str,
    /// Its address.
    pub addr: SocketAddr,
    /// Why (an address in use, a privileged port).
    #[source]
    pub source: std::io::Error,
}

/// Binds every configured listener. Fails (binding nothing) if any address cannot be
/// bound.
pub async fn bind(config: Config) -> Result<Listeners, BindError> {
    async fn tcp(
        what: &'static str,
        addr: Option<SocketAddr>,
    ) -> Result<Option<tokio::net::TcpListener>, BindError> {
        match addr {
            Some(addr) => tokio::net::TcpListener::bind(addr)
                .await
                .map(Some)
                .map_err(|source| BindError { what, addr, source }),
            None => Ok(None),
        }
    }
    let line = tcp("plaintext (TCP)", config.line).await?;
    let pickle = tcp("pickle", config.pickle).await?;
    let carbonlink = tcp("carbonlink", config.carbonlink).await?;
    let udp = match config.udp {
        Some(addr) => {
            Some(
                tokio::net::UdpSocket::bind(addr)
                    .await
                    .map_err(|source| BindError {
                        what: "plaintext (UDP)",
                        addr,
                        source,
                    })?,
            )
        }
        None => None,
    };
    let bound = Bound {
        line: line.as_ref().and_then(|l| l.local_addr().ok()),
        udp: udp.as_ref().and_then(|u| u.local_addr().ok()),
        pickle: pickle.as_ref().and_then(|l| l.local_addr().ok()),
        carbonlink: carbonlink.as_ref().and_then(|l| l.local_addr().ok()),
    };
    Ok(Listeners {
        config,
        line,
        pickle,
        carbonlink,
        udp,
        bound,
    })
}

impl Listeners {
    /// Starts serving: received points go to `sink`, carbonlink answers from `reader`.
    pub fn serve(self, sink: Arc<dyn Sink>, reader: Arc<dyn CacheReader>) -> Receivers {
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = watch::channel(false);
        let config = Arc::new(self.config);
        let shared = listener::Shared {
            config: config.clone(),
            sink,
            counters: counters.clone(),
            stopped: stopped.clone(),
        };
        let mut tasks = Vec::new();
        if let Some(l) = self.line {
            tasks.push(tokio::spawn(listener::serve(
                l,
                shared.clone(),
                line::LineProtocol::factory(config.max_line_len),
            )));
        }
        if let Some(l) = self.pickle {
            tasks.push(tokio::spawn(listener::serve(
                l,
                shared.clone(),
                pickle::PickleProtocol::factory(config.max_pickle_frame),
            )));
        }
        if let Some(l) = self.carbonlink {
            tasks.push(tokio::spawn(listener::serve(
                l,
                shared.clone(),
                carbonlink::CarbonlinkProtocol::factory(reader, config.max_carbonlink_frame),
            )));
        }
        if let Some(u) = self.udp {
            tasks.push(tokio::spawn(udp::serve(u, shared.clone())));
        }
        tasks.push(tokio::spawn(counters::summarize_refusals(
            counters.clone(),
            stopped,
        )));
        Receivers {
            bound: self.bound,
            counters,
            stop,
            tasks,
        }
    }
}

impl Receivers {
    /// Stops accepting, drains open connections, and returns when every
    /// point read has been handed to the sink.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
