//! The pickle protocol: 4-byte big-endian length, then a pickled list of
//! `(path, (timestamp, value))`, decoded by the restricted decoder of
//! `charcoal-protocol` (it cannot execute anything).

use std::net::SocketAddr;
use std::sync::Arc;

use charcoal_protocol::pickle::decode_carbon_points;

use crate::Counters;
use crate::listener::{ConnectionError, Factory, Protocol, Shared, deliver, for_each_frame};
use crate::point::{Batch, Sample, finish};

pub(crate) struct PickleProtocol {
    max_frame: usize,
    batch: Batch,
}

impl PickleProtocol {
    pub(crate) fn factory(max_frame: usize) -> Factory {
        Arc::new(move || {
            Box::new(PickleProtocol {
                max_frame,
                batch: Batch::new(),
            })
        })
    }

    fn frame(&mut self, payload: &[u8], shared: &Shared, peer: SocketAddr) {
        let counters = &shared.counters;
        let batch = match decode_carbon_points(payload) {
            Ok(b) => b,
            Err(e) => {
                let reason = format!("invalid pickle received, ignoring the frame: {e}");
                return refuse(shared, peer, 1, reason);
            }
        };
        let refused = batch.malformed + batch.bad_numbers;
        if refused > 0 {
            let reason = format!("{refused} malformed datapoints in a pickle frame, ignoring them");
            refuse(shared, peer, refused, reason);
        }
        Counters::add(&counters.nan_values, batch.nan_values as u64);
        for (path, ts, value) in batch.points {
            self.take(&path, ts, value, shared, peer);
        }
    }

    /// One decoded point: the name is checked first, then carbon's timestamp rules.
    fn take(&mut self, path: &str, ts: f64, value: f64, shared: &Shared, peer: SocketAddr) {
        let counters = &shared.counters;
        let sample = finish(ts, value, shared.config.timestamp_resolution);
        let pushed = sample.as_ref().ok().copied().unwrap_or(Sample {
            timestamp: 0,
            value,
        });
        if let Err(e) = self.batch.push(path, pushed) {
            Counters::add(&counters.invalid_names, 1);
            return refuse(
                shared,
                peer,
                1,
                format!("invalid metric name, ignoring: {e}"),
            );
        }
        if let Err(reason) = sample {
            self.batch.pop();
            refuse(shared, peer, 1, reason);
        }
    }
}

/// Counts `n` refused pickle items (or one refused frame) and logs why, rate-limited.
fn refuse(shared: &Shared, peer: SocketAddr, n: usize, reason: String) {
    Counters::add(&shared.counters.invalid_pickles, n as u64);
    shared.counters.refused("pickle", Some(peer), reason);
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
    ) -> Result<usize, ConnectionError> {
        let used = for_each_frame(
            buf,
            self.max_frame,
            ("pickle frame", "PICKLE_RECEIVER_MAX_LENGTH in carbon.conf"),
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
