//! Carbon's per-point rules after parsing.

use charcoal_protocol::plaintext::is_now_sentinel;
pub use charcoal_protocol::{Batch, Sample};

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Applies carbon's rules: `-1` means now, the timestamp is cut to
/// `resolution` seconds (at least whole seconds: whisper stores `u32`
/// seconds). A timestamp a whisper file cannot hold is refused.
pub(crate) fn finish(timestamp: f64, value: f64, resolution: u32) -> Result<Sample, String> {
    let t = if is_now_sentinel(timestamp) {
        now()
    } else {
        timestamp
    };
    if !(0.0..4_294_967_296.0).contains(&t) {
        return Err(format!(
            "timestamp {timestamp} is outside what whisper can store (0 to 4294967295)"
        ));
    }
    let res = u64::from(resolution.max(1));
    let whole = (t as u64) / res * res;
    Ok(Sample {
        timestamp: whole as u32,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carbons_rules() {
        let f = |ts: f64, res: u32, want: Option<u32>| {
            let got = finish(ts, 1.0, res).ok().map(|p| p.timestamp);
            assert_eq!(got, want, "{ts} / {res}");
        };
        f(1_700_000_000.9, 0, Some(1_700_000_000));
        f(1_700_000_059.0, 60, Some(1_700_000_040));
        f(-5.0, 1, None);
        f(5e9, 1, None);
        let now = finish(-1.0, 1.0, 1).unwrap().timestamp;
        assert!(now > 1_700_000_000);
    }
}
