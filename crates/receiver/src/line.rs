//! The plaintext protocol on a TCP connection: `<metric> <value> <timestamp>\n`.

use std::net::SocketAddr;
use std::sync::Arc;

use charcoal_protocol::plaintext::{LineError, LineSplitter, parse_fields};

use crate::Counters;
use crate::listener::{ConnectionError, Factory, Protocol, Shared, deliver};
use crate::point::{Batch, finish};

pub(crate) struct LineProtocol {
    splitter: LineSplitter,
    batch: Batch,
}

impl LineProtocol {
    pub(crate) fn factory(max_line_len: usize) -> Factory {
        Arc::new(move || {
            Box::new(LineProtocol {
                splitter: LineSplitter::new(max_line_len),
                batch: Batch::new(),
            })
        })
    }
}

/// Counts and logs (rate-limited) a refused line.
fn refuse_line(shared: &Shared, listener: &str, peer: Option<SocketAddr>, e: LineError) {
    let counters = &shared.counters;
    Counters::add(&counters.invalid_lines, 1);
    use charcoal_protocol::plaintext::LineErrorKind;
    let hint = match e.kind {
        LineErrorKind::Name(_) => {
            Counters::add(&counters.invalid_names, 1);
            ""
        }
        // The operator's way out: say which setting the limit is.
        LineErrorKind::TooLong { .. } => " (raise it with --max-line-length)",
        _ => "",
    };
    counters.refused(
        listener,
        peer,
        format!("invalid line received, ignoring: {e}{hint}"),
    );
}

/// Handles line `number` (its bytes `line`): a point for the batch, a NaN to drop, or a
/// refusal to count and log. Checked in [`charcoal_protocol::plaintext::parse_line`]'s
/// order, then carbon's timestamp rules.
pub(crate) fn take_line(
    line: &[u8],
    number: u64,
    batch: &mut Batch,
    shared: &Shared,
    listener: &str,
    peer: Option<SocketAddr>,
) {
    let counters = &shared.counters;
    let refused = |e: LineError| refuse_line(shared, listener, peer, e);
    let fields = match parse_fields(line, number) {
        Ok(Some(f)) => f,
        Ok(None) => return Counters::add(&counters.nan_values, 1),
        Err(e) => return refused(e),
    };
    let sample = finish(
        fields.timestamp,
        fields.value,
        shared.config.timestamp_resolution,
    );
    // The name is checked before the timestamp's range, as carbon's order of errors was
    // reproduced before: a line with both wrong is a bad name.
    let pushed = sample
        .as_ref()
        .ok()
        .copied()
        .unwrap_or(crate::point::Sample {
            timestamp: 0,
            value: fields.value,
        });
    if let Err(e) = batch.push(fields.metric, pushed) {
        return refused(LineError::name(number, line, e));
    }
    if let Err(reason) = sample {
        batch.pop();
        Counters::add(&counters.invalid_lines, 1);
        counters.refused(listener, peer, reason);
    }
}

impl Protocol for LineProtocol {
    fn name(&self) -> &'static str {
        "line"
    }

    fn on_bytes(
        &mut self,
        buf: &[u8],
        _out: &mut Vec<u8>,
        shared: &Shared,
        peer: SocketAddr,
    ) -> Result<usize, ConnectionError> {
        let mut lines = self.splitter.split(buf);
        for line in lines.by_ref() {
            match line {
                Ok(l) => take_line(
                    l.bytes,
                    l.number,
                    &mut self.batch,
                    shared,
                    "line",
                    Some(peer),
                ),
                Err(e) => refuse_line(shared, "line", Some(peer), e),
            }
        }
        let used = lines.consumed();
        deliver(shared, &mut self.batch);
        Ok(used)
    }
}
