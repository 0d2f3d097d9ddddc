//! The HTTP client: Basic auth, timeouts, retries with backoff, size cap. Knows nothing of Postgres.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{ApiError, excerpt};
use crate::pushdown::encode_query;

/// Default base URL of the Vendor API.
pub const DEFAULT_API_URL: &str = "https://api.partnerstack.com/api/v2";
/// Default page size: the API's maximum, so a scan makes as few requests as possible.
pub const DEFAULT_PAGE_SIZE: u32 = 250;
/// The API rejects larger pages (§2).
pub const MAX_PAGE_SIZE: u32 = 250;
/// Connecting should be quick; a slow connect is a network problem worth reporting early.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 10_000;
/// Whole-request limit: a 250-item page normally arrives in well under a second.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// Retries after a 429 or 5xx before giving up (so up to 6 requests for one page).
pub const DEFAULT_MAX_RETRIES: u32 = 5;
/// First backoff delay; doubled on each retry.
pub const DEFAULT_RETRY_BASE_MS: u64 = 1_000;
/// Longest single wait, whatever the backoff or Retry-After asks (§5 recommends 60 s).
pub const DEFAULT_RETRY_MAX_MS: u64 = 60_000;
/// A page of 250 items is a few hundred KiB; anything far larger is not a page.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;
/// How often a wait checks whether the statement was cancelled.
const INTERRUPT_POLL: Duration = Duration::from_millis(50);

/// Called while waiting; returns true when the wait must stop (statement cancelled).
pub type InterruptCheck = Arc<dyn Fn() -> bool + Send + Sync>;

/// Everything the client needs to talk to one account.
#[derive(Clone)]
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
    /// Retries after 429/5xx.
    pub max_retries: u32,
    /// First backoff delay.
    pub retry_base_ms: u64,
    /// Cap on one wait.
    pub retry_max_ms: u64,
    /// Largest body accepted.
    pub max_response_bytes: u64,
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
        }
    }
}

/// Counters a scan reports in EXPLAIN ANALYZE.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Retries after 429/5xx.
    pub retries: u64,
    /// List pages read.
    pub pages: u64,
    /// Items received.
    pub items: u64,
    /// The first requests made (method, path and query; never credentials).
    pub log: Vec<String>,
}

/// How many request lines [`Stats::log`] keeps.
pub const STATS_LOG_LINES: usize = 20;

/// One page of a list.
#[derive(Debug)]
pub struct Page {
    /// Items as sent.
    pub items: Vec<Box<RawValue>>,
    /// More items follow.
    pub has_more: bool,
}

#[derive(Deserialize)]
struct ListEnvelope {
    data: ListData,
}

#[derive(Deserialize)]
struct ListData {
    items: Vec<Box<RawValue>>,
    // A missing has_more means no more pages (as PostHog reads it, §2).
    #[serde(default)]
    has_more: Option<bool>,
}

#[derive(Deserialize)]
struct ObjectEnvelope {
    data: Box<RawValue>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    message: Option<serde_json::Value>,
}

/// A client for one account. Cheap to share; keeps connections alive between requests.
pub struct Client {
    config: ClientConfig,
    http: reqwest::blocking::Client,
    host: String,
    interrupt: Option<InterruptCheck>,
    jitter: std::cell::Cell<u64>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client. Fails only on an unusable URL or TLS setup.
    pub fn new(config: ClientConfig) -> Result<Client, ApiError> {
        let url = reqwest::Url::parse(&config.api_url).map_err(|e| ApiError::Connect {
            host: config.api_url.clone(),
            detail: format!("invalid api_url: {e}"),
        })?;
        let host = format!(
            "{}{}",
            url.host_str().unwrap_or("?"),
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        );
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .timeout(Duration::from_millis(config.timeout_ms))
            .user_agent(concat!("partnerstack-fdw/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Connect {
                host: host.clone(),
                detail: e.to_string(),
            })?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1;
        Ok(Client {
            config,
            http,
            host,
            interrupt: None,
            jitter: std::cell::Cell::new(seed),
        })
    }

    /// Sets the check consulted while waiting (backoff sleeps).
    pub fn set_interrupt(&mut self, check: InterruptCheck) {
        self.interrupt = Some(check);
    }

    /// The configuration (for display; the Debug impl redacts the private key).
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Host and port the client talks to.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Fetches one list page.
    pub fn list_page(
        &self,
        path: &str,
        params: &[(String, String)],
        stats: &mut Stats,
    ) -> Result<Page, ApiError> {
        let body = self
            .get(path, params, stats)?
            .ok_or_else(|| ApiError::Client {
                status: 404,
                path: path.to_owned(),
                message: "not found".into(),
            })?;
        let envelope: ListEnvelope =
            serde_json::from_slice(&body).map_err(|e| invalid(path, &body, &e))?;
        stats.pages += 1;
        stats.items += envelope.data.items.len() as u64;
        Ok(Page {
            items: envelope.data.items,
            has_more: envelope.data.has_more.unwrap_or(false),
        })
    }

    /// Fetches one object; `None` when the API answers 404.
    pub fn object(&self, path: &str, stats: &mut Stats) -> Result<Option<Box<RawValue>>, ApiError> {
        let Some(body) = self.get(path, &[], stats)? else {
            return Ok(None);
        };
        let envelope: ObjectEnvelope =
            serde_json::from_slice(&body).map_err(|e| invalid(path, &body, &e))?;
        stats.items += 1;
        Ok(Some(envelope.data))
    }

    /// GET with retries; `None` on 404.
    fn get(
        &self,
        path: &str,
        params: &[(String, String)],
        stats: &mut Stats,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let query = encode_query(params);
        let target = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        let url = format!("{}{}", self.config.api_url, target);
        let mut attempt: u32 = 0;
        loop {
            if self.interrupted() {
                return Err(ApiError::Cancelled);
            }
            attempt += 1;
            stats.requests += 1;
            if stats.log.len() < STATS_LOG_LINES {
                stats.log.push(format!("GET {target}"));
            }
            let response = self
                .http
                .get(&url)
                .basic_auth(&self.config.public_key, Some(&self.config.private_key))
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .map_err(|e| self.transport_error(&e))?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let body = self.read_body(response, path)?;
            match status {
                200..=299 => return Ok(Some(body)),
                401 | 403 => {
                    return Err(ApiError::Unauthorized {
                        status,
                        message: api_message(&body),
                    });
                }
                404 => return Ok(None),
                429 | 500..=599 if attempt <= self.config.max_retries => {
                    stats.retries += 1;
                    self.wait(self.backoff(attempt, retry_after))?;
                }
                429 => return Err(ApiError::RateLimited { attempts: attempt }),
                500..=599 => {
                    return Err(ApiError::Server {
                        status,
                        attempts: attempt,
                        excerpt: excerpt(&body),
                    });
                }
                _ => {
                    return Err(ApiError::Client {
                        status,
                        path: path.to_owned(),
                        message: api_message(&body),
                    });
                }
            }
        }
    }

    fn read_body(
        &self,
        response: reqwest::blocking::Response,
        path: &str,
    ) -> Result<Vec<u8>, ApiError> {
        let cap = self.config.max_response_bytes;
        if response.content_length().is_some_and(|n| n > cap) {
            return Err(too_large(path, cap));
        }
        let mut body = Vec::new();
        response
            .take(cap + 1)
            .read_to_end(&mut body)
            .map_err(|e| ApiError::Transport {
                host: self.host.clone(),
                detail: format!("reading the response failed: {}", root_cause(&e)),
            })?;
        if body.len() as u64 > cap {
            return Err(too_large(path, cap));
        }
        Ok(body)
    }

    /// Exponential backoff with jitter, or the server's Retry-After, capped.
    fn backoff(&self, attempt: u32, retry_after_s: Option<u64>) -> Duration {
        let cap = self.config.retry_max_ms;
        let ms = match retry_after_s {
            Some(s) => s.saturating_mul(1000).min(cap),
            None => {
                let full = self
                    .config
                    .retry_base_ms
                    .saturating_mul(1u64 << (attempt - 1).min(20))
                    .min(cap);
                // "Equal jitter": half fixed, half random, so retries of many backends spread out.
                full / 2 + self.next_random() % (full / 2 + 1)
            }
        };
        Duration::from_millis(ms)
    }

    fn next_random(&self) -> u64 {
        // xorshift64: enough to spread retries, no dependency needed.
        let mut x = self.jitter.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.jitter.set(x);
        x
    }

    /// Sleeps, checking for cancellation.
    fn wait(&self, total: Duration) -> Result<(), ApiError> {
        let deadline = Instant::now() + total;
        loop {
            if self.interrupted() {
                return Err(ApiError::Cancelled);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            std::thread::sleep((deadline - now).min(INTERRUPT_POLL));
        }
    }

    fn interrupted(&self) -> bool {
        self.interrupt.as_ref().is_some_and(|check| check())
    }

    fn transport_error(&self, e: &reqwest::Error) -> ApiError {
        if e.is_timeout() {
            let connect = e.is_connect();
            ApiError::Timeout {
                host: self.host.clone(),
                timeout_ms: if connect {
                    self.config.connect_timeout_ms
                } else {
                    self.config.timeout_ms
                },
                which: if connect {
                    "connect_timeout_ms"
                } else {
                    "timeout_ms"
                },
            }
        } else if e.is_connect() {
            ApiError::Connect {
                host: self.host.clone(),
                detail: root_cause(e),
            }
        } else {
            ApiError::Transport {
                host: self.host.clone(),
                detail: root_cause(e),
            }
        }
    }
}

/// The innermost cause of an error, which names the actual problem ("Connection refused").
/// reqwest's own message includes the URL; the innermost cause does not.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn too_large(path: &str, cap: u64) -> ApiError {
    ApiError::InvalidBody {
        path: path.to_owned(),
        reason: format!("larger than max_response_bytes ({cap})"),
        excerpt: String::new(),
    }
}

fn invalid(path: &str, body: &[u8], e: &serde_json::Error) -> ApiError {
    ApiError::InvalidBody {
        path: path.to_owned(),
        reason: if e.is_data() {
            format!("not the documented envelope: {e}")
        } else {
            format!("not valid JSON: {e}")
        },
        excerpt: excerpt(body),
    }
}

/// The `message` of an error body, or an excerpt of the body.
fn api_message(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(ErrorEnvelope {
            message: Some(serde_json::Value::String(m)),
        }) => excerpt(m.as_bytes()),
        Ok(ErrorEnvelope { message: Some(m) }) => excerpt(m.to_string().as_bytes()),
        _ => excerpt(body),
    }
}
