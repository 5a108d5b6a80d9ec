//! Where writers with nothing to write sleep until points arrive.
//!
//! Adding points must stay cheap, so an adder only takes the lock when a writer is
//! waiting. The waiter counts itself as waiting *before* it checks for points, and the
//! adder counts its points *before* it checks for waiters (both sequentially consistent):
//! one of the two always sees the other, so a point can never arrive unnoticed between the
//! waiter's check and its sleep. The check and the sleep happen under the lock the adder
//! takes to notify, so the notification cannot fall between them either.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub(crate) struct Doorbell {
    waiting: AtomicUsize,
    /// Rings so far: a waiter returns when this moves, whatever its condition says.
    rings: Mutex<u64>,
    bell: Condvar,
}

impl Doorbell {
    /// Sleeps while `idle()` holds, until rung or `timeout` passes.
    pub(crate) fn wait_while(&self, idle: impl Fn() -> bool, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        let seen = *rings;
        self.waiting.fetch_add(1, Ordering::SeqCst);
        while *rings == seen && idle() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            rings = self
                .bell
                .wait_timeout(rings, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }

    /// Wakes every waiter.
    pub(crate) fn ring(&self) {
        let mut rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        *rings = rings.wrapping_add(1);
        self.bell.notify_all();
    }

    /// Wakes every waiter, if there is one (one atomic load when there is none).
    pub(crate) fn ring_if_waiting(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.ring();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    /// A waiter whose condition turns false while it goes to sleep is always woken by the
    /// ring that follows: many rounds, no timeout to fall back on (an hour).
    #[test]
    fn a_ring_after_the_condition_changes_is_never_missed() {
        for _ in 0..2_000 {
            let bell = Arc::new(Doorbell::default());
            let ready = Arc::new(AtomicBool::new(false));
            let waiter = {
                let (bell, ready) = (bell.clone(), ready.clone());
                std::thread::spawn(move || {
                    bell.wait_while(|| !ready.load(Ordering::SeqCst), Duration::from_secs(3600))
                })
            };
            ready.store(true, Ordering::SeqCst);
            bell.ring_if_waiting();
            waiter.join().unwrap();
        }
    }

    #[test]
    fn a_waiter_with_nothing_to_wait_for_returns_at_once() {
        let bell = Doorbell::default();
        bell.wait_while(|| false, Duration::from_secs(3600));
    }
}
