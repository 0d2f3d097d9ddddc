//! What may be retried, and how long to wait first. Pure: the send loop in [`super::Client`]
//! classifies each failure, asks its [`Policy`] for a [`Decision`], and waits
//! [`backoff_delay`] before the next attempt.
//!
//! A 429 means the request was refused, so it is always safe to send again; a 5xx or a timeout
//! may come after the API acted, which is harmless for GET, PUT, PATCH and DELETE of one object
//! but could create a second object for a POST. A 2xx whose body is not valid JSON was damaged
//! on its way: a GET is simply asked again, a write's 2xx says the API acted and stands.

use std::cell::Cell;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::write::ConfirmRead;

/// What may be retried.
#[derive(Debug, Clone, Copy)]
pub(super) enum Policy<'a> {
    /// GET: asking again changes nothing, so 429, 5xx, a timeout, a connection broken
    /// mid-answer and a 2xx body that is not valid JSON are retried. Answers that are whole but
    /// wrong (valid JSON that is not the envelope, lying pages, an oversized body) are not
    /// failures of the way there: asking again would get the same, so they are reported.
    Read,
    /// PUT, PATCH, DELETE of one object: sending again cannot do more than sending once, so
    /// 429, 5xx and timeouts are retried.
    Idempotent,
    /// POST: a 429 was refused before anything happened and is retried; after a 5xx or a
    /// timeout the object may exist, so the POST is sent again only when the row carries its
    /// own key and the read confirms the object absent.
    Create(Option<&'a ConfirmRead>),
}

/// A failure the loop may retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FailureKind {
    /// 429: the API refused the request without acting on it.
    Refused,
    /// 5xx: the API failed, possibly after acting.
    ServerError,
    /// Timeout or connection lost before a whole answer: the API may or may not have acted.
    Lost,
    /// The connection broke mid-answer (reset, truncated body): a read is simply sent again;
    /// a create may have been processed, as after `Lost`.
    Broken,
    /// A 2xx answer whose body is not valid JSON (cut or mangled on its way, a proxy's page).
    Garbled,
    /// Could not connect (refused, or no answer within `connect_timeout_ms`): nothing reached
    /// the API. Reported at once, for every verb, so a wrong or unreachable `api_url` fails fast.
    NotSent,
}

/// What the send loop does after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    /// Send the request again (after the backoff).
    Retry,
    /// Send the create again only if a read shows its object absent.
    IfAbsent,
    /// Report the failure.
    GiveUp,
}

impl Policy<'_> {
    /// What to do after `failure`, before counting attempts (the caller caps those).
    pub(super) fn decide(self, failure: FailureKind) -> Decision {
        match (self, failure) {
            (_, FailureKind::NotSent) => Decision::GiveUp,
            (_, FailureKind::Refused) => Decision::Retry,
            (
                Policy::Read,
                FailureKind::ServerError
                | FailureKind::Lost
                | FailureKind::Broken
                | FailureKind::Garbled,
            ) => Decision::Retry,
            // A write's 2xx says the API acted, whatever its body: never sent again. (Writes
            // do not read their answer as JSON, so they never meet this; the table says it.)
            (_, FailureKind::Garbled) => Decision::GiveUp,
            (Policy::Idempotent, _) => Decision::Retry,
            (Policy::Create(Some(_)), _) => Decision::IfAbsent,
            (Policy::Create(None), _) => Decision::GiveUp,
        }
    }
}

/// Largest doubling exponent: `base << 20` already exceeds any sensible cap, and the shift
/// must not overflow however many retries are configured.
const MAX_DOUBLINGS: u32 = 20;

/// The wait before retry number `attempt` (1 for the first retry): the wait the server asked
/// for with `Retry-After` when it sent one (see [`retry_after_wait`]), else exponential backoff
/// from `base_ms` with "equal jitter" (half fixed, half drawn from `random`, so the retries of
/// many backends spread out); never more than `max_ms`. `random` is called only when there is
/// no `Retry-After`.
pub(super) fn backoff_delay(
    attempt: u32,
    retry_after: Option<Duration>,
    base_ms: u64,
    max_ms: u64,
    random: impl FnOnce() -> u64,
) -> Duration {
    let ms = match retry_after {
        Some(wait) => u64::try_from(wait.as_millis())
            .unwrap_or(u64::MAX)
            .min(max_ms),
        None => {
            let full = base_ms
                .saturating_mul(1u64 << attempt.saturating_sub(1).min(MAX_DOUBLINGS))
                .min(max_ms);
            full / 2 + random() % (full / 2 + 1)
        }
    };
    Duration::from_millis(ms)
}

/// The three HTTP-date formats a recipient must accept (RFC 9110 §5.6.7): IMF-fixdate, which
/// servers send, and the obsolete RFC 850 and asctime forms. Always GMT.
const HTTP_DATE_FORMATS: [&str; 3] = [
    "%a, %d %b %Y %H:%M:%S GMT",
    "%A, %d-%b-%y %H:%M:%S GMT",
    "%a %b %e %H:%M:%S %Y",
];

/// The wait a `Retry-After` value asks for, measured from `now`: delay-seconds (`120`) or an
/// HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`), the two forms of RFC 9110 §10.2.3. A date
/// already past asks for no wait (as `0` does). Anything else is `None`: PartnerStack does not
/// document the header (§5), so a value we cannot read is ignored and the backoff applies.
pub(super) fn retry_after_wait(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Only digits: a number too large for u64 still means "a very long time" (capped later).
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = HTTP_DATE_FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())?
        .and_utc();
    Some(
        (date - DateTime::<Utc>::from(now))
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// The jitter source: xorshift64, enough to spread retries without a dependency.
#[derive(Debug)]
pub(super) struct Jitter(Cell<u64>);

impl Jitter {
    /// Seeded from the clock, so that backends started together draw different delays.
    pub(super) fn from_clock() -> Jitter {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Jitter::new(seed)
    }

    /// A source with this seed (never zero, the one state xorshift cannot leave).
    pub(super) fn new(seed: u64) -> Jitter {
        Jitter(Cell::new(seed | 1))
    }

    /// The next pseudo-random value.
    pub(super) fn next(&self) -> u64 {
        let mut x = self.0.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0.set(x);
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_each_verb_retries() {
        use Decision::*;
        use FailureKind::*;
        let confirm = ConfirmRead::Item {
            path: "/customers/c".into(),
        };
        let table = [
            // (policy, [Refused, ServerError, Lost, Garbled, NotSent])
            (Policy::Read, [Retry, Retry, Retry, Retry, GiveUp]),
            (Policy::Idempotent, [Retry, Retry, Retry, GiveUp, GiveUp]),
            (
                Policy::Create(None),
                [Retry, GiveUp, GiveUp, GiveUp, GiveUp],
            ),
            (
                Policy::Create(Some(&confirm)),
                [Retry, IfAbsent, IfAbsent, GiveUp, GiveUp],
            ),
        ];
        for (policy, expected) in table {
            let got = [Refused, ServerError, Lost, Garbled, NotSent].map(|f| policy.decide(f));
            assert_eq!(got, expected, "{policy:?}");
        }
    }

    #[test]
    fn a_broken_connection_is_retried_except_for_an_unconfirmable_create() {
        let confirm = ConfirmRead::Item {
            path: "/customers/c".into(),
        };
        let broken = FailureKind::Broken;
        assert_eq!(Policy::Read.decide(broken), Decision::Retry);
        assert_eq!(Policy::Idempotent.decide(broken), Decision::Retry);
        assert_eq!(Policy::Create(None).decide(broken), Decision::GiveUp);
        assert_eq!(
            Policy::Create(Some(&confirm)).decide(broken),
            Decision::IfAbsent
        );
    }

    fn ms(d: Duration) -> u64 {
        d.as_millis() as u64
    }

    #[test]
    fn backoff_doubles_from_the_base_with_half_of_it_jittered() {
        let lowest = |attempt| ms(backoff_delay(attempt, None, 1_000, 60_000, || 0));
        assert_eq!(
            [1, 2, 3, 4, 5].map(lowest),
            [500, 1_000, 2_000, 4_000, 8_000]
        );
        // The random half is `random % (full / 2 + 1)`: 500 draws the whole first delay.
        assert_eq!(ms(backoff_delay(1, None, 1_000, 60_000, || 500)), 1_000);
        assert_eq!(ms(backoff_delay(1, None, 1_000, 60_000, || 501)), 500);
        for attempt in 1..=8 {
            for random in [0, 1, 7, 499, 500, 12_345, u64::MAX] {
                let wait = ms(backoff_delay(attempt, None, 1_000, 60_000, || random));
                let full = (1_000u64 << (attempt - 1)).min(60_000);
                assert!(
                    (full / 2..=full).contains(&wait),
                    "{attempt} {random} {wait}"
                );
            }
        }
    }

    #[test]
    fn backoff_never_exceeds_the_cap_even_after_many_retries() {
        for attempt in [7, 21, 64, 1_000, u32::MAX] {
            let wait = ms(backoff_delay(attempt, None, 1_000, 60_000, || u64::MAX));
            assert!((30_000..=60_000).contains(&wait), "{attempt}: {wait}");
        }
        assert_eq!(ms(backoff_delay(3, None, 0, 60_000, || 99)), 0);
        assert_eq!(ms(backoff_delay(1, None, u64::MAX, 5, || 0)), 2);
    }

    #[test]
    fn retry_after_wins_is_capped_and_draws_no_jitter() {
        let never = || -> u64 { panic!("no jitter with Retry-After") };
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(ms(backoff_delay(1, secs(3), 1_000, 60_000, never)), 3_000);
        assert_eq!(ms(backoff_delay(5, secs(0), 1_000, 60_000, never)), 0);
        assert_eq!(
            ms(backoff_delay(
                1,
                Some(Duration::from_millis(1_500)),
                1_000,
                60_000,
                never
            )),
            1_500
        );
        assert_eq!(
            ms(backoff_delay(1, secs(3_600), 1_000, 60_000, never)),
            60_000
        );
        assert_eq!(
            ms(backoff_delay(1, secs(u64::MAX), 1_000, 60_000, never)),
            60_000
        );
    }

    /// 2015-10-21T07:28:00Z, the date of RFC 9110's example.
    fn example_now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480)
    }

    #[test]
    fn retry_after_reads_delay_seconds() {
        let now = example_now();
        assert_eq!(retry_after_wait("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after_wait(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(retry_after_wait("0", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after_wait("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn retry_after_reads_every_http_date_form() {
        let now = example_now();
        for (value, wait) in [
            ("Wed, 21 Oct 2015 07:28:05 GMT", 5),
            ("Wed, 21 Oct 2015 07:30:00 GMT", 120),
            ("Wed, 21 Oct 2015 07:28:00 GMT", 0),
            // The obsolete forms RFC 9110 §5.6.7 still asks recipients to read.
            ("Wednesday, 21-Oct-15 07:28:30 GMT", 30),
            ("Wed Oct 21 07:29:00 2015", 60),
            ("Thu Oct  1 07:28:00 2015", 0),
        ] {
            assert_eq!(
                retry_after_wait(value, now),
                Some(Duration::from_secs(wait)),
                "{value}"
            );
        }
    }

    #[test]
    fn a_past_retry_after_date_asks_for_no_wait() {
        let now = example_now();
        for past in [
            "Wed, 21 Oct 2015 07:27:59 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(retry_after_wait(past, now), Some(Duration::ZERO), "{past}");
        }
        // And the wait then is zero, not the backoff.
        let wait = retry_after_wait("Sun, 06 Nov 1994 08:49:37 GMT", now);
        assert_eq!(ms(backoff_delay(1, wait, 1_000, 60_000, || 500)), 0);
    }

    #[test]
    fn unreadable_retry_after_values_are_ignored() {
        let now = example_now();
        for garbage in [
            "",
            "   ",
            "-5",
            "1.5",
            "+7",
            "7 seconds",
            "soon",
            "2015-10-21T07:28:05Z",
            "Wed, 21 Oct 2015 07:28:05 +0200",
            "Wed, 21 Oct 2015 07:28 GMT",
            "Wed, 32 Oct 2015 07:28:05 GMT",
            "Thu, 21 Oct 2015 07:28:05 GMT",
        ] {
            assert_eq!(retry_after_wait(garbage, now), None, "{garbage:?}");
        }
    }

    #[test]
    fn jitter_varies_and_never_sticks_at_zero() {
        let jitter = Jitter::new(0);
        let draws: Vec<u64> = (0..100).map(|_| jitter.next()).collect();
        assert!(draws.iter().all(|x| *x != 0));
        let mut distinct = draws.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), draws.len());
    }
}
