//! When to try a failed delivery again, or give up: a pure decision (attempts made, when the
//! series started, now, a random draw) so it is tested with plain numbers.

use std::time::Duration;

use crate::store::webhooks::AttemptEnd;

/// The retry rules, from the config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// The delay before the first retry; each further one doubles.
    pub base: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// Attempts in total before giving up.
    pub max_attempts: u32,
    /// Give up rather than retry later than this after the first attempt.
    pub max_age: Duration,
}

impl RetryPolicy {
    /// After a failed attempt: `attempts` made so far (this one included), the series started
    /// at `since_ms`, now is `now_ms` (Unix ms), `jitter` a random draw in [0, 1). The delay is
    /// `base × 2^(attempts−1)`, capped at `max_delay`, then scaled by 0.5–1.0 ("equal jitter":
    /// receivers that fail together are not all retried at the same instant, and no delay
    /// shrinks below half its step).
    pub fn after_failure(&self, attempts: u32, since_ms: i64, now_ms: i64, jitter: f64) -> AttemptEnd {
        if attempts >= self.max_attempts {
            return AttemptEnd::GiveUp;
        }
        let step = attempts.saturating_sub(1).min(40);
        let delay = self.base.saturating_mul(1u32 << step.min(31)).min(self.max_delay);
        let delay = delay.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0));
        let at_ms = now_ms.saturating_add(delay.as_millis().min(i64::MAX as u128) as i64);
        if at_ms.saturating_sub(since_ms) > self.max_age.as_millis().min(i64::MAX as u128) as i64 {
            return AttemptEnd::GiveUp;
        }
        AttemptEnd::Retry { at_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: RetryPolicy = RetryPolicy {
        base: Duration::from_secs(1),
        max_delay: Duration::from_secs(60),
        max_attempts: 8,
        max_age: Duration::from_secs(3600),
    };

    #[test]
    fn delays_double_up_to_the_cap_with_jitter_between_half_and_whole() {
        for (attempts, whole) in [(1, 1_000), (2, 2_000), (3, 4_000), (6, 32_000), (7, 60_000)] {
            assert_eq!(P.after_failure(attempts, 0, 0, 1.0), AttemptEnd::Retry { at_ms: whole });
            assert_eq!(P.after_failure(attempts, 0, 0, 0.0), AttemptEnd::Retry { at_ms: whole / 2 });
            let AttemptEnd::Retry { at_ms } = P.after_failure(attempts, 0, 0, 0.37) else { panic!() };
            assert!((whole / 2..=whole).contains(&at_ms), "{attempts}: {at_ms}");
        }
    }

    #[test]
    fn gives_up_on_attempts_or_age() {
        assert_eq!(P.after_failure(8, 0, 0, 0.5), AttemptEnd::GiveUp);
        assert_eq!(P.after_failure(200, 0, 0, 0.5), AttemptEnd::GiveUp);
        // the next attempt would land after the age limit
        assert_eq!(P.after_failure(2, 0, 3_599_000, 1.0), AttemptEnd::GiveUp);
        assert!(matches!(P.after_failure(2, 0, 3_500_000, 1.0), AttemptEnd::Retry { .. }));
        // huge numbers neither overflow nor panic
        let wide =
            RetryPolicy { max_attempts: u32::MAX, max_age: Duration::MAX, max_delay: Duration::MAX, ..P };
        assert!(matches!(
            wide.after_failure(u32::MAX - 1, i64::MIN, i64::MAX, 1.0),
            AttemptEnd::Retry { .. }
        ));
    }
}
