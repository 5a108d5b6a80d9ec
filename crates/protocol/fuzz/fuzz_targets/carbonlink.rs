//! Carbonlink request decoding, and encoding of whatever answer it leads to.
#![no_main]

use charcoal_protocol::carbonlink::{Request, Response, decode_request};
use charcoal_protocol::pickle::decode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = decode_request(data) else {
        return;
    };
    let response = match request {
        Request::CacheQuery { metric } => {
            Response::DatapointsByMetric(vec![(metric, vec![(1.0, 2.0)])])
        }
        Request::CacheQueryBulk { metrics } => {
            Response::DatapointsByMetric(metrics.into_iter().map(|m| (m, vec![])).collect())
        }
        Request::GetMetadata { key, .. } => Response::Error(key),
        Request::SetMetadata { value, .. } => Response::SetMetadata {
            old_value: value.clone(),
            new_value: value,
        },
        Request::Unknown { request_type } => Response::invalid_request_type(&request_type),
    };
    decode(&response.encode()).expect("our own encoding decodes");
});
