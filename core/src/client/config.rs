//! What the client needs to talk to one account, with the documented defaults and why each
//! has its value. The `Debug` impl redacts every secret.

use super::transport::Auth;
use crate::catalogue::Api;

/// Default base URL of the Vendor API: PartnerStack's production endpoint (§1.1).
pub const DEFAULT_API_URL: &str = "https://api.partnerstack.com/api/v2";
/// Default base URL of S2S conversion tracking (§4.15); `/conversion/xid` is below it.
pub const DEFAULT_S2S_URL: &str = "https://partnerlinks.io";
/// Default page size: the API's maximum, so a scan makes as few requests as possible.
pub const DEFAULT_PAGE_SIZE: u32 = 250;
/// The API rejects larger pages (§2).
pub const MAX_PAGE_SIZE: u32 = 250;
/// Connecting should be quick; a slow connect is a network problem worth reporting early.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 10_000;
/// Whole-request limit: a 250-item page normally arrives in well under a second.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// Retries after a 429 or 5xx (and, for reads, a timeout or a damaged answer) before giving up
/// (so up to 6 requests for one page): with the
/// default base delay the waits add up to 31 s at most (1 + 2 + 4 + 8 + 16), long enough to ride
/// out a short outage or a rate-limit window, short enough that a query does not hang on a dead
/// API.
pub const DEFAULT_MAX_RETRIES: u32 = 5;
/// First backoff delay; doubled on each retry. A second is long enough for a 429 window to
/// move on and short enough not to be noticed on a single retry.
pub const DEFAULT_RETRY_BASE_MS: u64 = 1_000;
/// Longest single wait, whatever the backoff or Retry-After asks (§5 recommends 60 s).
pub const DEFAULT_RETRY_MAX_MS: u64 = 60_000;
/// A page of 250 items is a few hundred KiB; anything far larger is not a page.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;
/// Sustained request rate a backend allows itself: below PartnerStack's 4,000 requests per
/// minute per IP (§5), so a big scan does not provoke 429s by itself. 0 turns the limiter off.
pub const DEFAULT_MAX_REQUESTS_PER_MINUTE: u64 = 3_000;

/// Everything the client needs to talk to one account.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientConfig {
    /// Base URL, e.g. `https://api.partnerstack.com/api/v2`.
    pub api_url: String,
    /// Public key (Basic auth user name).
    pub public_key: String,
    /// Private key (Basic auth password). Never printed.
    pub private_key: String,
    /// Connect timeout.
    pub connect_timeout_ms: u64,
    /// Whole-request timeout.
    pub timeout_ms: u64,
    /// Retries after 429/5xx (reads: also timeouts and damaged answers).
    pub max_retries: u32,
    /// First backoff delay.
    pub retry_base_ms: u64,
    /// Cap on one wait.
    pub retry_max_ms: u64,
    /// Largest body accepted.
    pub max_response_bytes: u64,
    /// Client-side rate limit (requests per minute, sustained); 0 = off.
    pub max_requests_per_minute: u64,
    /// Base URL of S2S conversion tracking.
    pub s2s_url: String,
    /// Bearer token of S2S conversion tracking (not the key pair). Never printed.
    pub s2s_token: Option<String>,
    /// A partner's Partner API key, sent as Bearer instead of the key pair: set exactly when
    /// the server is a Partner API server (§1.2). Never printed.
    pub partner_api_key: Option<String>,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("api_url", &self.api_url)
            .field("public_key", &self.public_key)
            .field("private_key", &"<redacted>")
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("timeout_ms", &self.timeout_ms)
            .field("max_retries", &self.max_retries)
            .field("s2s_url", &self.s2s_url)
            .field("s2s_token", &self.s2s_token.as_ref().map(|_| "<redacted>"))
            .field(
                "partner_api_key",
                &self.partner_api_key.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// A configuration with the documented defaults.
    pub fn new(api_url: &str, public_key: &str, private_key: &str) -> ClientConfig {
        ClientConfig {
            api_url: api_url.trim_end_matches('/').to_owned(),
            public_key: public_key.to_owned(),
            private_key: private_key.to_owned(),
            connect_timeout_ms: DEFAULT_CONNECT_TIMEOUT_MS,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            max_retries: DEFAULT_MAX_RETRIES,
            retry_base_ms: DEFAULT_RETRY_BASE_MS,
            retry_max_ms: DEFAULT_RETRY_MAX_MS,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_requests_per_minute: DEFAULT_MAX_REQUESTS_PER_MINUTE,
            s2s_url: DEFAULT_S2S_URL.to_owned(),
            s2s_token: None,
            partner_api_key: None,
        }
    }

    /// The API this configuration talks to: the Partner API when it holds a Partner API key.
    pub fn api(&self) -> Api {
        match self.partner_api_key {
            Some(_) => Api::Partner,
            None => Api::Vendor,
        }
    }

    /// The credentials of an API request (S2S conversions have their own): the Partner API
    /// key as Bearer, else the vendor key pair as Basic.
    pub(super) fn api_auth(&self) -> Auth<'_> {
        match &self.partner_api_key {
            Some(key) => Auth::Bearer(key),
            None => Auth::Basic {
                user: &self.public_key,
                password: &self.private_key,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_both_secrets() {
        let mut config = ClientConfig::new("http://127.0.0.1:1/api/v2/", "pk_1", "sk_secret");
        config.s2s_token = Some("s2s_secret".into());
        config.partner_api_key = Some("pak_secret".into());
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("sk_secret")
                && !shown.contains("s2s_secret")
                && !shown.contains("pak_secret"),
            "{shown}"
        );
        assert!(shown.contains("pk_1"), "{shown}");
        assert_eq!(config.api_url, "http://127.0.0.1:1/api/v2");
    }

    #[test]
    fn a_partner_api_key_replaces_the_key_pair_with_bearer() {
        let mut config = ClientConfig::new("http://127.0.0.1:1/api/v2", "pk_1", "sk_1");
        assert_eq!(config.api(), Api::Vendor);
        assert!(matches!(
            config.api_auth(),
            Auth::Basic {
                user: "pk_1",
                password: "sk_1"
            }
        ));
        config.partner_api_key = Some("pak_1".into());
        assert_eq!(config.api(), Api::Partner);
        assert!(matches!(config.api_auth(), Auth::Bearer("pak_1")));
    }
}
