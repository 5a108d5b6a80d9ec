//! Token buckets for carbon's `MAX_UPDATES_PER_SECOND` and
//! `MAX_CREATES_PER_MINUTE`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket holding at most `capacity` tokens, refilled at `rate` per
/// second (carbon's `TokenBucket`: capacity = the per-period limit).
#[derive(Debug)]
pub struct TokenBucket {
    capacity: f64,
    rate: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A full bucket. A positive capacity is at least one token, so a rate
    /// below one per second still lets a write through now and then; a zero
    /// capacity never gives a token (`MAX_CREATES_PER_MINUTE = 0`: no new
    /// files, their points wait in the cache).
    pub fn new(capacity: f64, rate_per_second: f64) -> TokenBucket {
        let capacity = if capacity > 0.0 {
            capacity.max(1.0)
        } else {
            0.0
        };
        TokenBucket {
            capacity,
            rate: rate_per_second,
            state: Mutex::new((capacity, Instant::now())),
        }
    }

    /// `MAX_UPDATES_PER_SECOND = n`: n tokens, n per second.
    pub fn per_second(n: f64) -> TokenBucket {
        TokenBucket::new(n, n)
    }

    /// `MAX_CREATES_PER_MINUTE = n`: n tokens, n/60 per second.
    pub fn per_minute(n: f64) -> TokenBucket {
        TokenBucket::new(n, n / 60.0)
    }

    fn refill(&self, state: &mut (f64, Instant)) {
        let now = Instant::now();
        let elapsed = now.duration_since(state.1).as_secs_f64();
        state.0 = (state.0 + elapsed * self.rate).min(self.capacity);
        state.1 = now;
    }

    /// Takes a token if one is there.
    pub fn try_take(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.refill(&mut state);
        if state.0 >= 1.0 {
            state.0 -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until a token will be there (zero if one is).
    pub fn wait_time(&self) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.refill(&mut state);
        if state.0 >= 1.0 {
            Duration::ZERO
        } else if self.rate <= 0.0 {
            Duration::from_secs(3600)
        } else {
            Duration::from_secs_f64((1.0 - state.0) / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_full_and_runs_dry() {
        let b = TokenBucket::per_minute(3.0);
        assert!(b.try_take() && b.try_take() && b.try_take());
        assert!(!b.try_take());
        // 3 per minute: the next token is about 20 s away.
        let wait = b.wait_time();
        assert!(
            wait > Duration::from_secs(19) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
    }
}
