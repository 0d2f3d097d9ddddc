//! Startup options and the runtime-tunable configuration.

use crate::auth::KeyPair;
use crate::data::{DataUntil, Sizes};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// Port used when `--port` is not given.
pub const DEFAULT_PORT: u16 = 8787;
/// Seed used when `--seed` is not given.
pub const DEFAULT_SEED: u64 = 42;
/// Requests per rolling 60 s per public key (the documented live limit, §5).
pub const DEFAULT_RATE_LIMIT: u64 = 4000;
/// The rate limit's rolling window: a minute, as documented (§5).
pub const DEFAULT_RATE_WINDOW_MS: u64 = 60_000;
/// Bearer token accepted by `POST /conversion/xid`.
pub const DEFAULT_S2S_TOKEN: &str = "s2s_test_mock";

/// Settings that may change while the server runs (`POST /__mock/config`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuntimeConfig {
    /// Added to every API request before it is answered.
    pub latency_ms: u64,
    /// Requests per rolling window per public key; 0 disables the limiter.
    pub rate_limit: u64,
    /// Length of that window: a minute, or shorter so that a test of "never more than the limit
    /// in any window" runs in seconds (a scaled-down minute).
    pub rate_window_ms: u64,
    /// `Retry-After` seconds sent with 429 answers; `None` = header not sent.
    pub retry_after: Option<u64>,
    /// Send every `Retry-After` (429s and faults) as an HTTP date instead of delay-seconds:
    /// RFC 9110 allows both, and a client must read both.
    pub retry_after_date: bool,
    /// Accept `PUT` as a synonym for `PATCH` (otherwise 405).
    pub accept_put: bool,
    /// Clamp `limit` into 1..=250 instead of answering 400.
    pub clamp_limit: bool,
    /// Leave `data.total` out of list answers, as some live captures do (§1.4).
    pub omit_total: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            rate_limit: DEFAULT_RATE_LIMIT,
            rate_window_ms: DEFAULT_RATE_WINDOW_MS,
            retry_after: None,
            retry_after_date: false,
            accept_put: false,
            clamp_limit: false,
            omit_total: false,
        }
    }
}

impl RuntimeConfig {
    /// Applies a partial update (`{"latency_ms": 5, "retry_after": null, ...}`). Unknown
    /// or mistyped fields are rejected so a typo in a test does not silently do nothing.
    pub fn apply(&mut self, patch: &Value) -> Result<(), String> {
        let Some(map) = patch.as_object() else {
            return Err("config must be a JSON object".into());
        };
        let mut next = self.clone();
        for (k, v) in map {
            let uint = || {
                v.as_u64()
                    .ok_or_else(|| format!("'{k}' must be a non-negative integer"))
            };
            let boolean = || {
                v.as_bool()
                    .ok_or_else(|| format!("'{k}' must be a boolean"))
            };
            match k.as_str() {
                "latency_ms" => next.latency_ms = uint()?,
                "rate_limit" => next.rate_limit = uint()?,
                "rate_window_ms" => next.rate_window_ms = uint()?.max(1),
                "retry_after" => next.retry_after = if v.is_null() { None } else { Some(uint()?) },
                "retry_after_date" => next.retry_after_date = boolean()?,
                "accept_put" => next.accept_put = boolean()?,
                "clamp_limit" => next.clamp_limit = boolean()?,
                "omit_total" => next.omit_total = boolean()?,
                other => return Err(format!("unknown config field '{other}'")),
            }
        }
        *self = next;
        Ok(())
    }

    /// The `Retry-After` value asking a client to wait `secs` seconds from `now`:
    /// delay-seconds, or with `retry_after_date` the IMF-fixdate that many seconds ahead,
    /// rounded up to the whole second (the format has no fractions) so no client waits less.
    pub fn retry_after_value(&self, secs: u64, now: DateTime<Utc>) -> String {
        if !self.retry_after_date {
            return secs.to_string();
        }
        let ahead = i64::try_from(secs)
            .unwrap_or(i64::MAX)
            .min(MAX_RETRY_AFTER_SECS);
        let round_up = i64::from(now.timestamp_subsec_nanos() > 0);
        DateTime::from_timestamp(now.timestamp() + ahead + round_up, 0)
            .expect("within chrono's range: now plus at most a century")
            .format(HTTP_DATE)
            .to_string()
    }
}

/// IMF-fixdate, the HTTP-date form servers send (RFC 9110 §5.6.7).
const HTTP_DATE: &str = "%a, %d %b %Y %H:%M:%S GMT";

/// Longest wait an HTTP-date `Retry-After` is put at: a century keeps the date in range.
const MAX_RETRY_AFTER_SECS: i64 = 100 * 365 * 24 * 3600;

/// Everything fixed at startup.
#[derive(Debug, Clone)]
pub struct Options {
    /// Listen address.
    pub host: String,
    /// Listen port (0 = any free port).
    pub port: u16,
    /// Data seed.
    pub seed: u64,
    /// Generated data sizes.
    pub sizes: Sizes,
    /// Where the generated data ends (`--data-until`).
    pub data_until: DataUntil,
    /// Accepted vendor key pairs.
    pub keys: Vec<KeyPair>,
    /// Bearer token for S2S conversions.
    pub s2s_token: String,
    /// Initial runtime configuration (restored by `POST /__mock/reset`).
    pub runtime: RuntimeConfig,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: DEFAULT_PORT,
            seed: DEFAULT_SEED,
            sizes: Sizes::default(),
            data_until: DataUntil::default(),
            keys: KeyPair::defaults(),
            s2s_token: DEFAULT_S2S_TOKEN.into(),
            runtime: RuntimeConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn partial_updates_apply_and_bad_ones_change_nothing() {
        let mut c = RuntimeConfig::default();
        c.apply(&json!({"latency_ms": 5, "retry_after": 2, "accept_put": true}))
            .unwrap();
        assert_eq!(c.latency_ms, 5);
        assert_eq!(c.retry_after, Some(2));
        assert!(c.accept_put);
        c.apply(&json!({"retry_after": null})).unwrap();
        assert_eq!(c.retry_after, None);
        c.apply(&json!({"retry_after_date": true})).unwrap();
        assert!(c.retry_after_date);
        let before = c.clone();
        assert!(c.apply(&json!({"latency_ms": 1, "bogus": 1})).is_err());
        assert!(c.apply(&json!({"rate_limit": -1})).is_err());
        assert!(c.apply(&json!([1])).is_err());
        assert_eq!(c, before);
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date_rounded_up() {
        let now = DateTime::from_timestamp(1_445_412_480, 250_000_000).unwrap();
        let mut c = RuntimeConfig::default();
        assert_eq!(c.retry_after_value(2, now), "2");
        c.retry_after_date = true;
        assert_eq!(c.retry_after_value(2, now), "Wed, 21 Oct 2015 07:28:03 GMT");
        let whole = DateTime::from_timestamp(1_445_412_480, 0).unwrap();
        assert_eq!(
            c.retry_after_value(0, whole),
            "Wed, 21 Oct 2015 07:28:00 GMT"
        );
        assert!(c.retry_after_value(u64::MAX, whole).ends_with(" GMT"));
    }
}
