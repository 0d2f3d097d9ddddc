//! Rolling-window rate limiter per public key (reference §5).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Remembers when each public key's accepted requests arrived.
#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: HashMap<String, VecDeque<Instant>>,
}

impl RateLimiter {
    /// Records a request for `key` at `now` if fewer than `limit` were accepted in the
    /// last `window`; returns false (and records nothing) when over the limit, so a
    /// client that backs off gets through again once old requests age out.
    pub fn admit(&mut self, key: &str, limit: u64, window: Duration, now: Instant) -> bool {
        if limit == 0 {
            return true;
        }
        let q = self.windows.entry(key.to_string()).or_default();
        while q
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= window)
        {
            q.pop_front();
        }
        if q.len() as u64 >= limit {
            return false;
        }
        q.push_back(now);
        true
    }

    /// Forgets all history.
    pub fn clear(&mut self) {
        self.windows.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn limits_per_key_within_the_window() {
        let mut r = RateLimiter::default();
        let t0 = Instant::now();
        assert!(r.admit("a", 3, MINUTE, t0));
        assert!(r.admit("a", 3, MINUTE, t0));
        assert!(r.admit("a", 3, MINUTE, t0 + Duration::from_secs(10)));
        assert!(!r.admit("a", 3, MINUTE, t0 + Duration::from_secs(20)));
        assert!(r.admit("b", 3, MINUTE, t0 + Duration::from_secs(20)));
        // The first two age out at t0 + 60 s.
        assert!(r.admit("a", 3, MINUTE, t0 + Duration::from_secs(60)));
        assert!(r.admit("a", 3, MINUTE, t0 + Duration::from_secs(60)));
        assert!(!r.admit("a", 3, MINUTE, t0 + Duration::from_secs(61)));
        assert!(r.admit("a", 0, MINUTE, t0));
    }

    #[test]
    fn a_shorter_window_ages_requests_out_sooner() {
        let mut r = RateLimiter::default();
        let t0 = Instant::now();
        let window = Duration::from_secs(6);
        assert!(r.admit("a", 2, window, t0));
        assert!(r.admit("a", 2, window, t0));
        assert!(!r.admit("a", 2, window, t0 + Duration::from_secs(5)));
        assert!(r.admit("a", 2, window, t0 + Duration::from_secs(6)));
    }
}
