//! What every TCP listener shares: accepting under a connection limit,
//! reading with idle timeouts and flow control, and draining on shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::{Config, Counters, Sink};

/// What a listener's tasks share.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) config: Arc<Config>,
    pub(crate) sink: Arc<dyn Sink>,
    pub(crate) counters: Arc<Counters>,
    /// Becomes true when the receivers stop.
    pub(crate) stopped: watch::Receiver<bool>,
}

/// Why a connection is closed by its protocol.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectionError {
    /// A length-prefixed frame announced longer than the limit: the stream cannot be
    /// resynchronised.
    #[error("a {what} of {len} bytes exceeds the limit of {max} (raise it with {setting})")]
    FrameTooLarge {
        what: &'static str,
        len: u32,
        max: usize,
        setting: &'static str,
    },
    /// A reply too large to frame.
    #[error("cannot frame a reply of {0} bytes")]
    ReplyTooLarge(usize),
}

/// One connection's protocol state.
pub(crate) trait Protocol: Send + 'static {
    /// The listener's name, for logs.
    fn name(&self) -> &'static str;
    /// Uses the complete units at the start of `buf` and returns how many
    /// bytes that was; replies go to `out`. An error closes the connection.
    fn on_bytes(
        &mut self,
        buf: &[u8],
        out: &mut Vec<u8>,
        shared: &Shared,
        peer: SocketAddr,
    ) -> Result<usize, ConnectionError>;
    /// Whether reading pauses while the cache is full.
    fn flow_controlled(&self) -> bool {
        true
    }
}

/// Hands a connection's batch to the sink and counts it (carbon's
/// `metricsReceived`).
pub(crate) fn deliver(shared: &Shared, batch: &mut crate::Batch) {
    Counters::add(&shared.counters.metrics_received, batch.len() as u64);
    if !batch.is_empty() {
        shared.sink.accept(batch);
    }
    batch.clear();
}

/// Calls `each` for every whole length-prefixed frame at the start of `buf`
/// and returns the bytes used; a frame announced longer than `max` is an
/// error that ends the connection (the stream cannot be resynchronised).
pub(crate) fn for_each_frame(
    buf: &[u8],
    max: usize,
    (what, setting): (&'static str, &'static str),
    counters: &Counters,
    mut each: impl FnMut(&[u8]) -> Result<(), ConnectionError>,
) -> Result<usize, ConnectionError> {
    use charcoal_protocol::framing::{Frame, split_frame};
    let mut used = 0;
    loop {
        match split_frame(&buf[used..], max) {
            Frame::Incomplete => return Ok(used),
            Frame::TooLarge(len) => {
                Counters::add(&counters.oversized_frames, 1);
                return Err(ConnectionError::FrameTooLarge {
                    what,
                    len,
                    max,
                    setting,
                });
            }
            frame @ Frame::Frame(payload) => {
                used += frame.consumed();
                each(payload)?;
            }
        }
    }
}

/// Counts a connection as handling data while it lives (see `Config::busy`).
pub(crate) struct Busy<'a>(&'a AtomicUsize);

impl<'a> Busy<'a> {
    pub(crate) fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Busy(count)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Makes a fresh protocol state per connection.
pub(crate) type Factory = Arc<dyn Fn() -> Box<dyn Protocol> + Send + Sync>;

const READ_CHUNK: usize = 64 * 1024;
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Accepts connections until the receivers stop, then waits for every
/// connection to drain.
pub(crate) async fn serve(listener: TcpListener, shared: Shared, factory: Factory) {
    let permits = Arc::new(Semaphore::new(shared.config.max_connections.max(1)));
    let mut stopped = shared.stopped.clone();
    let mut connections = JoinSet::new();
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stopped.wait_for(|s| *s) => break,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stopped.wait_for(|s| *s) => break,
        };
        match accepted {
            Ok((socket, peer)) => {
                let _ = socket.set_nodelay(true);
                Counters::add(&shared.counters.connections, 1);
                let proto = factory();
                let shared = shared.clone();
                connections.spawn(async move {
                    shared
                        .counters
                        .active_connections
                        .fetch_add(1, Ordering::Relaxed);
                    connection(socket, peer, &shared, proto).await;
                    shared
                        .counters
                        .active_connections
                        .fetch_sub(1, Ordering::Relaxed);
                    drop(permit);
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin.
                tracing::warn!("cannot accept a connection: {e}");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            }
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Waits while the sink is full (flow control), unless stopping.
async fn wait_for_room(shared: &Shared) {
    if !shared.config.flow_control || !shared.sink.is_full() {
        return;
    }
    Counters::add(&shared.counters.flow_control_pauses, 1);
    while !*shared.stopped.borrow() && !shared.sink.below_low_watermark() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

enum Read {
    Data,
    Closed,
    Quiet,
    Failed(std::io::Error),
}

async fn read_some(socket: &mut TcpStream, buf: &mut Vec<u8>, limit: Option<Duration>) -> Read {
    buf.reserve(READ_CHUNK);
    let read = socket.read_buf(buf);
    let result = match limit {
        Some(d) => match tokio::time::timeout(d, read).await {
            Ok(r) => r,
            Err(_) => return Read::Quiet,
        },
        None => read.await,
    };
    match result {
        Ok(0) => Read::Closed,
        Ok(_) => Read::Data,
        Err(e) => Read::Failed(e),
    }
}

async fn connection(
    mut socket: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    mut proto: Box<dyn Protocol>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut out: Vec<u8> = Vec::new();
    let mut stopped = shared.stopped.clone();
    loop {
        if proto.flow_controlled() {
            wait_for_room(shared).await;
        }
        let read = if *stopped.borrow() {
            // Draining: take what the client still sends until it goes quiet.
            read_some(&mut socket, &mut buf, Some(shared.config.drain_quiet)).await
        } else {
            tokio::select! {
                r = read_some(&mut socket, &mut buf, shared.config.idle_timeout) => r,
                _ = stopped.changed() => continue,
            }
        };
        match read {
            Read::Data => {}
            Read::Closed | Read::Quiet => break,
            Read::Failed(e) => {
                tracing::debug!(listener = proto.name(), %peer, "connection error: {e}");
                break;
            }
        }
        let handled = {
            let _busy = Busy::new(&shared.config.busy);
            proto.on_bytes(&buf, &mut out, shared, peer)
        };
        match handled {
            Ok(used) => {
                buf.drain(..used);
            }
            Err(reason) => {
                shared.counters.refused(
                    proto.name(),
                    Some(peer),
                    format!("closing the connection: {reason}"),
                );
                break;
            }
        }
        if !out.is_empty() {
            if let Err(e) = socket.write_all(&out).await {
                tracing::debug!(listener = proto.name(), %peer, "cannot reply: {e}");
                break;
            }
            out.clear();
        }
    }
    // An incomplete last line or frame is dropped, as carbon drops it.
}
