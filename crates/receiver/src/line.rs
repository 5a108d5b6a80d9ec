//! The plaintext protocol on a TCP connection: `<metric> <value> <timestamp>\n`.

use std::net::SocketAddr;
use std::sync::Arc;

use charcoal_protocol::plaintext::{LineError, LineSplitter, parse_line};

use crate::Counters;
use crate::listener::{Factory, Protocol, Shared, deliver};
use crate::point::{Point, finish};

pub(crate) struct LineProtocol {
    splitter: LineSplitter,
    batch: Vec<Point>,
}

impl LineProtocol {
    pub(crate) fn factory(max_line_len: usize) -> Factory {
        Arc::new(move || {
            Box::new(LineProtocol {
                splitter: LineSplitter::new(max_line_len),
                batch: Vec::new(),
            })
        })
    }
}

/// Handles one parsed line: a point for the batch, a NaN to drop, or a
/// refusal to count and log.
pub(crate) fn take_line(
    parsed: Result<Option<charcoal_protocol::plaintext::Datapoint>, LineError>,
    batch: &mut Vec<Point>,
    shared: &Shared,
    listener: &str,
    peer: Option<SocketAddr>,
) {
    let counters = &shared.counters;
    match parsed {
        Ok(Some(dp)) => match finish(
            dp.name,
            dp.timestamp,
            dp.value,
            shared.config.timestamp_resolution,
        ) {
            Ok(p) => batch.push(p),
            Err(reason) => {
                Counters::add(&counters.invalid_lines, 1);
                counters.refused(listener, peer, reason);
            }
        },
        Ok(None) => Counters::add(&counters.nan_values, 1),
        Err(e) => {
            Counters::add(&counters.invalid_lines, 1);
            if matches!(e.kind, charcoal_protocol::plaintext::LineErrorKind::Name(_)) {
                Counters::add(&counters.invalid_names, 1);
            }
            counters.refused(
                listener,
                peer,
                format!("invalid line received, ignoring: {e}"),
            );
        }
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
    ) -> Result<usize, String> {
        let mut lines = self.splitter.split(buf);
        for line in lines.by_ref() {
            let parsed = line.and_then(|l| parse_line(l.bytes, l.number));
            take_line(parsed, &mut self.batch, shared, "line", Some(peer));
        }
        let used = lines.consumed();
        deliver(shared, &mut self.batch);
        Ok(used)
    }
}
