//! The client-side rate limit: a token bucket, so that a big scan stays below PartnerStack's
//! documented limit by itself instead of provoking 429s.

use std::time::{Duration, Instant};

/// A token bucket: `per_minute` requests per minute sustained, bursts of up to a third of
/// that. Any rolling minute then sees at most 4/3 of the rate (4,000 for the default 3,000):
/// PartnerStack's documented limit. One per client, so per backend and configuration.
#[derive(Debug)]
pub(super) struct TokenBucket {
    /// Tokens per second; 0 = unlimited.
    rate: f64,
    capacity: f64,
    tokens: f64,
    updated: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket for `per_minute` requests per minute; 0 = unlimited.
    pub(super) fn new(per_minute: u64) -> TokenBucket {
        let capacity = (per_minute as f64 / 3.0).max(1.0);
        TokenBucket {
            rate: per_minute as f64 / 60.0,
            capacity,
            tokens: capacity,
            updated: None,
        }
    }

    /// Takes one token; returns how long to wait first (zero when one is available).
    pub(super) fn take(&mut self, now: Instant) -> Duration {
        if self.rate == 0.0 {
            return Duration::ZERO;
        }
        if let Some(then) = self.updated {
            let refill = now.saturating_duration_since(then).as_secs_f64() * self.rate;
            self.tokens = (self.tokens + refill).min(self.capacity);
        }
        self.updated = Some(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            // The token is borrowed from the refill: wait until it has arrived.
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_a_third_of_the_rate_then_paces_and_any_minute_stays_under_the_api_limit() {
        let mut bucket = TokenBucket::new(3_000);
        let start = Instant::now();
        let mut clock = start;
        let mut sent_at = Vec::new();
        for _ in 0..5_000 {
            clock += bucket.take(clock);
            sent_at.push(clock);
        }
        // The first 1,000 go at once, then 50 per second.
        assert_eq!(sent_at[999], start);
        assert!(sent_at[1000] > start);
        let last = sent_at[4_999] - start;
        assert!((79.9..80.1).contains(&last.as_secs_f64()), "{last:?}");
        // No rolling minute holds more than PartnerStack's 4,000.
        for (i, t) in sent_at.iter().enumerate() {
            let in_minute = sent_at[i..]
                .iter()
                .take_while(|u| **u - *t < Duration::from_secs(60))
                .count();
            assert!(
                in_minute <= 4_000,
                "{in_minute} requests in the minute from request {i}"
            );
        }
    }

    #[test]
    fn zero_means_unlimited() {
        let mut bucket = TokenBucket::new(0);
        let now = Instant::now();
        assert!((0..10_000).all(|_| bucket.take(now).is_zero()));
    }
}
