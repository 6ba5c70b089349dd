//! The circuit breaker in front of a remote order source: a pure state machine, time passed in.
//!
//! While a store is down, every shopper turn that needs an order would otherwise wait for a
//! timeout (and its retries) before saying "I can't check right now". The breaker remembers
//! that the store is failing: after `threshold` failures in a row it **opens** and calls are
//! refused at once for `open_for`; then it lets **one** probe through (**half-open**): a
//! success closes it, a failure opens it again for another `open_for`. Only failures that mean
//! "unavailable" (no connection, a timeout, a 5xx) are counted; a well-formed answer of any
//! kind is a success.

use std::time::{Duration, Instant};

/// The breaker's state, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Calls go through; `failures` in a row so far.
    Closed { failures: u32 },
    /// Calls are refused until `until`.
    Open { until: Instant },
    /// One probe is allowed; `probing` while it is in flight (others are refused meanwhile).
    HalfOpen { probing: bool },
}

/// The circuit breaker: see the module documentation.
#[derive(Debug, Clone)]
pub struct Breaker {
    state: State,
    threshold: u32,
    open_for: Duration,
}

impl Breaker {
    /// Opens after `threshold` failures in a row (at least 1), for `open_for`.
    pub fn new(threshold: u32, open_for: Duration) -> Breaker {
        Breaker { state: State::Closed { failures: 0 }, threshold: threshold.max(1), open_for }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// May a call start at `now`? An open breaker whose time is up becomes half-open and admits
    /// this one call as its probe.
    pub fn admit(&mut self, now: Instant) -> bool {
        match self.state {
            State::Closed { .. } => true,
            State::Open { until } if now < until => false,
            State::Open { .. } | State::HalfOpen { probing: false } => {
                self.state = State::HalfOpen { probing: true };
                true
            }
            State::HalfOpen { probing: true } => false,
        }
    }

    /// An admitted call got a usable answer: the breaker closes.
    pub fn success(&mut self) {
        self.state = State::Closed { failures: 0 };
    }

    /// An admitted call found the source unavailable at `now`.
    pub fn failure(&mut self, now: Instant) {
        self.state = match self.state {
            State::Closed { failures } if failures + 1 < self.threshold => {
                State::Closed { failures: failures + 1 }
            }
            State::Closed { .. } | State::HalfOpen { .. } => State::Open { until: now + self.open_for },
            // a call admitted before the breaker opened ended after it: the open time stands
            open @ State::Open { .. } => open,
        };
    }

    /// An admitted call ended without telling anything about the source (it was cancelled):
    /// a half-open breaker may probe again.
    pub fn abandoned(&mut self) {
        if self.state == (State::HalfOpen { probing: true }) {
            self.state = State::HalfOpen { probing: false };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: Duration = Duration::from_secs(10);

    #[test]
    fn opens_after_the_threshold_of_failures_in_a_row() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, OPEN);
        assert!(b.admit(t0));
        b.failure(t0);
        b.failure(t0);
        // a success in between starts the count again
        b.success();
        b.failure(t0);
        b.failure(t0);
        assert_eq!(b.state(), State::Closed { failures: 2 });
        assert!(b.admit(t0));
        b.failure(t0);
        assert_eq!(b.state(), State::Open { until: t0 + OPEN });
        assert!(!b.admit(t0));
        assert!(!b.admit(t0 + OPEN - Duration::from_millis(1)));
    }

    #[test]
    fn half_open_lets_one_probe_through_and_its_answer_decides() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, OPEN);
        b.failure(t0);
        let later = t0 + OPEN;
        assert!(b.admit(later), "the probe");
        assert_eq!(b.state(), State::HalfOpen { probing: true });
        assert!(!b.admit(later), "only one probe at a time");
        // the probe fails: open again, for a full period from now
        b.failure(later);
        assert_eq!(b.state(), State::Open { until: later + OPEN });
        assert!(!b.admit(later + Duration::from_secs(1)));
        // the next probe succeeds: closed, everything goes through
        let again = later + OPEN;
        assert!(b.admit(again));
        b.success();
        assert_eq!(b.state(), State::Closed { failures: 0 });
        assert!(b.admit(again) && b.admit(again));
    }

    #[test]
    fn an_abandoned_probe_frees_the_half_open_slot() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, OPEN);
        b.failure(t0);
        assert!(b.admit(t0 + OPEN));
        b.abandoned();
        assert!(b.admit(t0 + OPEN));
        // a late failure of a call admitted while closed does not extend an open period
        let mut b = Breaker::new(1, OPEN);
        b.failure(t0);
        b.failure(t0 + Duration::from_secs(5));
        assert_eq!(b.state(), State::Open { until: t0 + OPEN });
    }
}
