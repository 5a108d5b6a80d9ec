//! The restricted unpickler: no input may panic, hang or allocate beyond the limits; what it
//! accepts must survive an encode/decode round trip.
#![no_main]

use charcoal_protocol::pickle::{decode, decode_carbon_batch, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = decode(data) {
        let bytes = encode(&value);
        let again = decode(&bytes).expect("our own encoding decodes");
        // Compare encodings: Value's PartialEq treats NaN as unequal to itself.
        assert_eq!(encode(&again), bytes);
    }
    if let Ok(batch) = decode_carbon_batch(data) {
        for (_, ts, value) in &batch.points {
            assert!(ts.is_finite());
            assert!(!value.is_nan());
        }
    }
});
