//! The client-side rate limit, so that a big scan stays below PartnerStack's documented limit by
//! itself instead of provoking 429s.
//!
//! The bucket is kept as GCRA (the generic cell rate algorithm): one number, the *theoretical
//! arrival time* (TAT) at which the bucket would be full again, in nanoseconds of the machine's
//! monotonic clock. It behaves exactly like a token bucket of `per_minute / 3` tokens refilled at
//! `per_minute` a minute, but one `u64` is its whole state, so a compare-and-swap updates it
//! without a lock: the same arithmetic serves a bucket private to one client ([`TokenBucket`])
//! and buckets in memory that every backend of the cluster shares ([`BudgetSlot`], placed in
//! shared memory by the glue). Nobody ever sleeps while holding anything: a take reserves its
//! slot in time and returns how long to wait; the caller waits outside.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Where a client takes permission for each request it sends (every attempt counts).
pub trait RateLimit: Send + Sync {
    /// Reserves one request now; returns how long to wait before sending it (zero when the budget
    /// has room). The reservation holds even if the caller then gives up waiting.
    fn take(&self) -> Duration;
}

/// Nanoseconds of `CLOCK_MONOTONIC`: one clock for every process of the machine (unlike
/// `Instant`, whose values cannot cross a process), and immune to wall-clock steps.
pub fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; CLOCK_MONOTONIC exists on every Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// The rate and burst of `per_minute` requests a minute: nanoseconds between two requests at
/// the sustained rate, and the burst window (a third of the rate's tokens times that interval).
/// `None` for 0 (unlimited).
fn pacing(per_minute: u64) -> Option<(u64, u64)> {
    if per_minute == 0 {
        return None;
    }
    // Rounded up: the limiter may be a hair slower than the rate, never faster.
    let interval = 60_000_000_000u64.div_ceil(per_minute);
    let capacity = (per_minute as f64 / 3.0).max(1.0);
    Some((interval, (capacity * interval as f64) as u64))
}

/// One take on a bucket whose TAT is `tat`, at `now`: the new TAT and the wait before sending.
/// Pure; the whole of the bucket arithmetic.
fn reserve(tat: u64, now: u64, interval: u64, burst: u64) -> (u64, Duration) {
    let next = tat.max(now).saturating_add(interval);
    let send_at = next.saturating_sub(burst);
    (next, Duration::from_nanos(send_at.saturating_sub(now)))
}

/// Takes one request from the bucket in `cell` at `now`, atomically against every other taker
/// (threads, or processes when the cell is in shared memory).
fn take_on(cell: &AtomicU64, per_minute: u64, now: u64) -> Duration {
    let Some((interval, burst)) = pacing(per_minute) else {
        return Duration::ZERO;
    };
    let mut tat = cell.load(Ordering::Acquire);
    loop {
        let (next, wait) = reserve(tat, now, interval, burst);
        match cell.compare_exchange_weak(tat, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return wait,
            Err(current) => tat = current,
        }
    }
}

/// A token bucket private to one client: `per_minute` requests per minute sustained, bursts of
/// up to a third of that. Any rolling minute then sees at most 4/3 of the rate (4,000 for the
/// default 3,000): PartnerStack's documented limit. The default [`RateLimit`] of a client, so
/// per backend and configuration unless the glue gives the client a shared budget.
#[derive(Debug)]
pub struct TokenBucket {
    per_minute: u64,
    tat: AtomicU64,
}

impl TokenBucket {
    /// A full bucket for `per_minute` requests per minute; 0 = unlimited.
    pub fn new(per_minute: u64) -> TokenBucket {
        TokenBucket {
            per_minute,
            tat: AtomicU64::new(0),
        }
    }

    /// Takes one token at `now` (nanoseconds of a monotonic clock); returns the wait.
    fn take_at(&self, now: u64) -> Duration {
        take_on(&self.tat, self.per_minute, now)
    }
}

impl RateLimit for TokenBucket {
    fn take(&self) -> Duration {
        self.take_at(monotonic_ns())
    }
}

/// One bucket of a table shared by every backend (see [`take_shared`]): which budget it holds
/// and that budget's TAT. Plain atomics, no pointers: valid in memory mapped by many processes.
#[derive(Debug, Default)]
pub struct BudgetSlot {
    /// [`budget_key`] of the budget held; 0 = never used.
    key: AtomicU64,
    /// Theoretical arrival time, as in [`TokenBucket`].
    tat: AtomicU64,
}

/// The key of the shared budget for requests to `host` (host:port of `api_url`): FNV-1a, stable
/// across processes and builds, never 0 (0 marks an unused slot).
pub fn budget_key(host: &str) -> u64 {
    let hash = host.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    hash.max(1)
}

/// Takes one request at `now` from the budget `key` in a table of slots shared by every taker.
///
/// The budget's slot is the one holding `key`. A budget without a slot claims one whose bucket
/// is full (TAT not after `now`: an unused slot, or one idle for longer than its burst window),
/// and that is lossless, since a full bucket is the state a new budget starts in. When every slot
/// holds a busy budget, the key shares the slot its hash points at: stricter for both, never
/// looser. Lock-free; a race with a claim can at worst charge one request to the wrong budget.
pub fn take_shared(slots: &[BudgetSlot], key: u64, per_minute: u64, now: u64) -> Duration {
    if per_minute == 0 || slots.is_empty() {
        return Duration::ZERO;
    }
    // A few rounds: each lost claim means another taker just claimed a slot.
    for _ in 0..4 {
        let mut free = None;
        for slot in slots {
            let held = slot.key.load(Ordering::Acquire);
            if held == key {
                return take_on(&slot.tat, per_minute, now);
            }
            if free.is_none() && slot.tat.load(Ordering::Acquire) <= now {
                free = Some((slot, held));
            }
        }
        let Some((slot, held)) = free else { break };
        if slot
            .key
            .compare_exchange(held, key, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return take_on(&slot.tat, per_minute, now);
        }
    }
    let home = &slots[(key % slots.len() as u64) as usize];
    take_on(&home.tat, per_minute, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    /// Send times of `n` requests sent as soon as `take` allows, from a clock at `start`.
    fn send_times(n: usize, start: u64, mut take: impl FnMut(u64) -> Duration) -> Vec<u64> {
        let mut clock = start;
        (0..n)
            .map(|_| {
                clock += take(clock).as_nanos() as u64;
                clock
            })
            .collect()
    }

    /// Most requests in any rolling minute.
    fn busiest_minute(sent_at: &[u64]) -> usize {
        (0..sent_at.len())
            .map(|i| {
                sent_at[i..]
                    .iter()
                    .take_while(|u| **u - sent_at[i] < 60 * SECOND)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn bursts_a_third_of_the_rate_then_paces_and_any_minute_stays_under_the_api_limit() {
        let bucket = TokenBucket::new(3_000);
        let start = 1_000 * SECOND;
        let sent_at = send_times(5_000, start, |now| bucket.take_at(now));
        // The first 1,000 go at once, then 50 per second.
        assert_eq!(sent_at[999], start);
        assert!(sent_at[1000] > start);
        let last = (sent_at[4_999] - start) as f64 / SECOND as f64;
        assert!((79.9..80.1).contains(&last), "{last}");
        // No rolling minute holds more than PartnerStack's 4,000.
        let most = busiest_minute(&sent_at);
        assert!(most <= 4_000, "{most} requests in one minute");
    }

    #[test]
    fn zero_means_unlimited() {
        let bucket = TokenBucket::new(0);
        assert!((0..10_000).all(|_| bucket.take_at(SECOND).is_zero()));
        let slots: Vec<BudgetSlot> = (0..2).map(|_| BudgetSlot::default()).collect();
        assert!((0..10_000).all(|_| take_shared(&slots, 7, 0, SECOND).is_zero()));
    }

    #[test]
    fn an_idle_bucket_refills_to_its_burst_and_no_further() {
        let bucket = TokenBucket::new(60); // 1 a second, bursts of 20
        let start = 1_000 * SECOND;
        assert_eq!(send_times(20, start, |t| bucket.take_at(t))[19], start);
        // Five seconds later five tokens are back, not more.
        let later = start + 5 * SECOND;
        let sent = send_times(6, later, |t| bucket.take_at(t));
        assert_eq!(sent[4], later);
        assert_eq!(sent[5], later + SECOND);
        // An hour later the bucket is full again: 20 at once, no more.
        let much_later = start + 3_600 * SECOND;
        let sent = send_times(21, much_later, |t| bucket.take_at(t));
        assert_eq!(sent[19], much_later);
        assert_eq!(sent[20], much_later + SECOND);
    }

    #[test]
    fn takers_sharing_a_budget_together_keep_its_rate() {
        // Eight backends, each sending as soon as the shared budget allows: together they get
        // the burst and the rate of one bucket, as if one backend sent everything.
        let slots: Vec<BudgetSlot> = (0..16).map(|_| BudgetSlot::default()).collect();
        let key = budget_key("api.partnerstack.com:443");
        let start = 1_000 * SECOND;
        let mut clocks = [start; 8];
        let mut sent_at = Vec::new();
        for _ in 0..625 {
            for clock in &mut clocks {
                *clock += take_shared(&slots, key, 3_000, *clock).as_nanos() as u64;
                sent_at.push(*clock);
            }
        }
        sent_at.sort_unstable();
        assert_eq!(sent_at[999], start);
        assert!(sent_at[1000] > start);
        let last = (sent_at[4_999] - start) as f64 / SECOND as f64;
        assert!((79.9..80.1).contains(&last), "{last}");
        assert!(busiest_minute(&sent_at) <= 4_000);
    }

    #[test]
    fn budgets_of_different_hosts_are_independent() {
        let slots: Vec<BudgetSlot> = (0..4).map(|_| BudgetSlot::default()).collect();
        let (a, b) = (budget_key("127.0.0.1:8001"), budget_key("127.0.0.1:8002"));
        assert_ne!(a, b);
        let now = 1_000 * SECOND;
        // 60 a minute: bursts of 20 each.
        assert!((0..20).all(|_| take_shared(&slots, a, 60, now).is_zero()));
        assert!((0..20).all(|_| take_shared(&slots, b, 60, now).is_zero()));
        assert_eq!(take_shared(&slots, a, 60, now), Duration::from_secs(1));
        assert_eq!(take_shared(&slots, b, 60, now), Duration::from_secs(1));
    }

    #[test]
    fn a_full_table_reuses_idle_slots_and_shares_busy_ones() {
        let slots: Vec<BudgetSlot> = (0..2).map(|_| BudgetSlot::default()).collect();
        let now = 1_000 * SECOND;
        let keys = [budget_key("a:1"), budget_key("b:1"), budget_key("c:1")];
        // Two busy budgets fill the table.
        assert!(take_shared(&slots, keys[0], 60, now).is_zero());
        assert!(take_shared(&slots, keys[1], 60, now).is_zero());
        // A third, while both are busy, shares one of them: its bucket already lent a token.
        let held_before: Vec<u64> = slots
            .iter()
            .map(|s| s.key.load(Ordering::Relaxed))
            .collect();
        let waits: Vec<Duration> = (0..20)
            .map(|_| take_shared(&slots, keys[2], 60, now))
            .collect();
        assert!(
            !waits[19].is_zero(),
            "the shared slot is stricter, not looser"
        );
        let held_after: Vec<u64> = slots
            .iter()
            .map(|s| s.key.load(Ordering::Relaxed))
            .collect();
        assert_eq!(held_before, held_after);
        // Once the first budget is idle past its burst window (20 s), the third claims its slot
        // and starts from a full bucket.
        let later = now + 61 * SECOND;
        assert!((0..20).all(|_| take_shared(&slots, keys[2], 60, later).is_zero()));
        assert!(
            slots
                .iter()
                .any(|s| s.key.load(Ordering::Relaxed) == keys[2])
        );
    }

    #[test]
    fn threads_racing_on_one_bucket_lose_no_take() {
        let bucket = std::sync::Arc::new(TokenBucket::new(60));
        let now = 1_000 * SECOND;
        let waits: Vec<Duration> = (0..8)
            .map(|_| {
                let bucket = bucket.clone();
                std::thread::spawn(move || {
                    (0..100).map(|_| bucket.take_at(now)).collect::<Vec<_>>()
                })
            })
            .flat_map(|t| t.join().unwrap())
            .collect();
        // 800 takes at one instant: 20 from the burst, then one a second, each wait distinct.
        let mut seconds: Vec<u64> = waits.iter().map(Duration::as_secs).collect();
        seconds.sort_unstable();
        assert_eq!(seconds.iter().filter(|s| **s == 0).count(), 20);
        assert_eq!(*seconds.last().unwrap(), 780);
        seconds.dedup();
        assert_eq!(seconds.len(), 781);
    }
}
