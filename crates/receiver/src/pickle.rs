//! The pickle protocol: 4-byte big-endian length, then a pickled list of
//! `(path, (timestamp, value))`, decoded by the restricted decoder of
//! `charcoal-protocol` (it cannot execute anything).

use std::net::SocketAddr;
use std::sync::Arc;

use charcoal_protocol::MetricName;
use charcoal_protocol::pickle::decode_carbon_batch;

use crate::Counters;
use crate::listener::{Factory, Protocol, Shared, deliver, for_each_frame};
use crate::point::{Point, finish};

pub(crate) struct PickleProtocol {
    max_frame: usize,
    batch: Vec<Point>,
}

impl PickleProtocol {
    pub(crate) fn factory(max_frame: usize) -> Factory {
        Arc::new(move || {
            Box::new(PickleProtocol {
                max_frame,
                batch: Vec::new(),
            })
        })
    }

    fn frame(&mut self, payload: &[u8], shared: &Shared, peer: SocketAddr) {
        let counters = &shared.counters;
        let batch = match decode_carbon_batch(payload) {
            Ok(b) => b,
            Err(e) => {
                Counters::add(&counters.invalid_pickles, 1);
                counters.refused(
                    "pickle",
                    Some(peer),
                    format!("invalid pickle received, ignoring the frame: {e}"),
                );
                return;
            }
        };
        let refused = batch.malformed + batch.bad_numbers;
        if refused > 0 {
            Counters::add(&counters.invalid_pickles, refused as u64);
            counters.refused(
                "pickle",
                Some(peer),
                format!("{refused} malformed datapoints in a pickle frame, ignoring them"),
            );
        }
        Counters::add(&counters.nan_values, batch.nan_values as u64);
        for (path, ts, value) in batch.points {
            let name = match MetricName::parse(&path) {
                Ok(n) => n,
                Err(e) => {
                    Counters::add(&counters.invalid_pickles, 1);
                    Counters::add(&counters.invalid_names, 1);
                    counters.refused(
                        "pickle",
                        Some(peer),
                        format!("invalid metric name, ignoring: {e}"),
                    );
                    continue;
                }
            };
            match finish(name, ts, value, shared.config.timestamp_resolution) {
                Ok(p) => self.batch.push(p),
                Err(reason) => {
                    Counters::add(&counters.invalid_pickles, 1);
                    counters.refused("pickle", Some(peer), reason);
                }
            }
        }
    }
}

impl Protocol for PickleProtocol {
    fn name(&self) -> &'static str {
        "pickle"
    }

    fn on_bytes(
        &mut self,
        buf: &[u8],
        _out: &mut Vec<u8>,
        shared: &Shared,
        peer: SocketAddr,
    ) -> Result<usize, String> {
        let used = for_each_frame(
            buf,
            self.max_frame,
            "pickle frame (PICKLE_RECEIVER_MAX_LENGTH)",
            &shared.counters,
            |payload| {
                self.frame(payload, shared, peer);
                Ok(())
            },
        )?;
        deliver(shared, &mut self.batch);
        Ok(used)
    }
}
