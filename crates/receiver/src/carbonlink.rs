//! The carbonlink cache-query port: graphite-web asks for the points of a
//! metric that are not in its file yet, in pickled requests and answers
//! (same framing as the pickle receiver), many per connection.

use std::net::SocketAddr;
use std::sync::Arc;

use charcoal_protocol::carbonlink::{Request, Response, decode_request};
use charcoal_protocol::framing::write_frame;
use charcoal_protocol::pickle::Value;

use crate::listener::{ConnectionError, Factory, Protocol, Shared, for_each_frame};
use crate::{CacheReader, Counters};

/// Runs a call that does file I/O (a whisper header read or write) without holding up the
/// runtime's other tasks: the worker thread hands its tasks to the others meanwhile. (On a
/// single-threaded runtime, as in some tests, there is no other thread to hand them to.)
fn off_the_runtime<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

pub(crate) struct CarbonlinkProtocol {
    reader: Arc<dyn CacheReader>,
    max_frame: usize,
}

impl CarbonlinkProtocol {
    pub(crate) fn factory(reader: Arc<dyn CacheReader>, max_frame: usize) -> Factory {
        Arc::new(move || {
            Box::new(CarbonlinkProtocol {
                reader: reader.clone(),
                max_frame,
            })
        })
    }

    fn points(&self, metric: &str) -> Vec<(f64, f64)> {
        self.reader
            .cached(metric)
            .into_iter()
            .map(|(t, v)| (t as f64, v))
            .collect()
    }

    fn answer(&self, request: Request) -> Response {
        match request {
            Request::CacheQuery { metric } => Response::Datapoints(self.points(&metric)),
            Request::CacheQueryBulk { metrics } => Response::DatapointsByMetric(
                metrics
                    .into_iter()
                    .map(|m| {
                        let p = self.points(&m);
                        (m, p)
                    })
                    .collect(),
            ),
            Request::GetMetadata { metric, key } => {
                if key != "aggregationMethod" {
                    return Response::Error(format!("Unsupported metadata key \"{key}\""));
                }
                match off_the_runtime(|| self.reader.aggregation_method(&metric)) {
                    Ok(m) => Response::Value(Value::Str(m)),
                    Err(e) => Response::Error(e.to_string()),
                }
            }
            Request::SetMetadata { metric, key, value } => {
                if key != "aggregationMethod" {
                    return Response::Error(format!("Unsupported metadata key \"{key}\""));
                }
                let Some(new) = value.as_str() else {
                    return Response::Error(format!(
                        "Unrecognized aggregation method: {}",
                        value.py_str()
                    ));
                };
                match off_the_runtime(|| self.reader.set_aggregation_method(&metric, new)) {
                    Ok(old) => Response::SetMetadata {
                        old_value: Value::Str(old),
                        new_value: Value::Str(new.to_string()),
                    },
                    Err(e) => Response::Error(e.to_string()),
                }
            }
            Request::Unknown { request_type } => Response::invalid_request_type(&request_type),
        }
    }
}

impl Protocol for CarbonlinkProtocol {
    fn name(&self) -> &'static str {
        "carbonlink"
    }

    fn flow_controlled(&self) -> bool {
        // Reads never add to the cache; graphite-web must be answered even
        // while receivers are paused.
        false
    }

    fn on_bytes(
        &mut self,
        buf: &[u8],
        out: &mut Vec<u8>,
        shared: &Shared,
        peer: SocketAddr,
    ) -> Result<usize, ConnectionError> {
        for_each_frame(
            buf,
            self.max_frame,
            ("carbonlink request", "--max-carbonlink-frame"),
            &shared.counters,
            |payload| {
                Counters::add(&shared.counters.carbonlink_requests, 1);
                let response = match decode_request(payload) {
                    Ok(request) => self.answer(request),
                    Err(e) => {
                        shared.counters.refused("carbonlink", Some(peer), &e);
                        Response::Error(e.to_string())
                    }
                };
                write_frame(&response.encode(), out)
                    .map_err(|e| ConnectionError::ReplyTooLarge(e.0))
            },
        )
    }
}
