//! The HTTP client: Basic auth, timeouts, retries with backoff, size cap. Knows nothing of Postgres.
//!
//! Reads and writes share one send-with-retries loop ([`Client::send`]); what may be retried
//! depends on the verb (see [`Policy`]): a 429 means the request was refused, so it is always
//! safe to send again; a 5xx or a timeout may come after the API acted, which is harmless for
//! GET, PUT, PATCH and DELETE of one object but could create a second object for a POST.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::catalogue::{Endpoint, UpdateMethod};
use crate::error::{ApiError, excerpt};
use crate::pushdown::encode_query;
use crate::write::{ConfirmRead, Method, Upsert, WriteRequest};

/// Default base URL of the Vendor API.
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
/// Retries after a 429 or 5xx before giving up (so up to 6 requests for one page).
pub const DEFAULT_MAX_RETRIES: u32 = 5;
/// First backoff delay; doubled on each retry.
pub const DEFAULT_RETRY_BASE_MS: u64 = 1_000;
/// Longest single wait, whatever the backoff or Retry-After asks (§5 recommends 60 s).
pub const DEFAULT_RETRY_MAX_MS: u64 = 60_000;
/// A page of 250 items is a few hundred KiB; anything far larger is not a page.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;
/// Sustained request rate a backend allows itself: below PartnerStack's 4,000 requests per
/// minute per IP (§5), so a big scan does not provoke 429s by itself. 0 turns the limiter off.
pub const DEFAULT_MAX_REQUESTS_PER_MINUTE: u64 = 3_000;
/// How often a wait checks whether the statement was cancelled.
const INTERRUPT_POLL: Duration = Duration::from_millis(50);

/// Called while waiting; returns true when the wait must stop (statement cancelled).
pub type InterruptCheck = Arc<dyn Fn() -> bool + Send + Sync>;

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
    /// Retries after 429/5xx.
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
    /// Time spent waiting for the client-side rate limit.
    pub throttled_ms: u64,
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
    s2s_host: String,
    interrupt: Option<InterruptCheck>,
    jitter: std::cell::Cell<u64>,
    limiter: std::cell::RefCell<TokenBucket>,
    /// The request thread; `None` until the first request, and after a cancel abandoned it.
    worker: std::cell::RefCell<Option<std::sync::mpsc::Sender<Job>>>,
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
        let per_minute = config.max_requests_per_minute;
        let host = host_of(&config.api_url, "api_url")?;
        let s2s_host = host_of(&config.s2s_url, "s2s_url")?;
        let builder = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .timeout(Duration::from_millis(config.timeout_ms))
            .user_agent(concat!("partnerstack-fdw/", env!("CARGO_PKG_VERSION")));
        // reqwest starts its runtime thread here: it must not run the host's signal handlers.
        let http = with_signals_blocked(|| builder.build()).map_err(|e| ApiError::Connect {
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
            s2s_host,
            interrupt: None,
            jitter: std::cell::Cell::new(seed),
            limiter: std::cell::RefCell::new(TokenBucket::new(per_minute)),
            worker: std::cell::RefCell::new(None),
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
        let out = Outgoing {
            verb: "GET",
            endpoint: Endpoint::Vendor,
            path,
            query: encode_query(params),
            body: None,
        };
        let (status, body) = self.send(&out, Policy::Read, stats)?;
        match status {
            200..=299 => Ok(Some(body)),
            404 => Ok(None),
            _ => Err(client_error(status, path, &body)),
        }
    }

    /// Sends one write as planned (no verb fallback), with the retries its verb allows.
    ///
    /// A 2xx is success; the outcome carries `data.key` of the answer, else the key the request
    /// was addressed with (DELETE) or sent (a conversion's `customer_key`: its answer is empty).
    /// Any other status is an error: `ApiError::Client` for a 4xx (400 with the API's message,
    /// 404 for an unknown object or referenced customer), and so on.
    pub fn write(
        &self,
        request: &WriteRequest,
        stats: &mut Stats,
    ) -> Result<WriteOutcome, ApiError> {
        self.write_as(request, request.method, stats)
    }

    /// Sends an update: `pinned` (the server option `update_method`) if given, else the
    /// request's verb (PUT), and on a 405 the same body as PATCH. The outcome's `method` is the
    /// verb that worked, for the glue to remember per server.
    pub fn update(
        &self,
        request: &WriteRequest,
        pinned: Option<UpdateMethod>,
        stats: &mut Stats,
    ) -> Result<WriteOutcome, ApiError> {
        self.update_with_fallback(request, pinned, stats).1
    }

    /// The verb last sent and the result of an update with the PUT → PATCH fallback.
    fn update_with_fallback(
        &self,
        request: &WriteRequest,
        pinned: Option<UpdateMethod>,
        stats: &mut Stats,
    ) -> (Method, Result<WriteOutcome, ApiError>) {
        let first = pinned.map_or(request.method, Method::from);
        match self.write_as(request, first, stats) {
            // The reference documents PATCH (§4, §6 #4); a server that routes only PATCH
            // answers PUT with 405, and the same body as PATCH is the same partial update.
            Err(ApiError::Client { status: 405, .. })
                if first == Method::Put && pinned.is_none() =>
            {
                (Method::Patch, self.write_as(request, Method::Patch, stats))
            }
            result => (first, result),
        }
    }

    /// Upsert: the update first (when the row carries the addressing key); on 404 the create.
    pub fn upsert(
        &self,
        upsert: &Upsert,
        pinned: Option<UpdateMethod>,
        stats: &mut Stats,
    ) -> Result<UpsertOutcome, ApiError> {
        let mut update_method = None;
        if let Some(update) = &upsert.update {
            let (method, result) = self.update_with_fallback(update, pinned, stats);
            match result {
                Ok(outcome) => {
                    return Ok(UpsertOutcome {
                        outcome,
                        created: false,
                        update_method: Some(method),
                    });
                }
                Err(ApiError::Client { status: 404, .. }) => update_method = Some(method),
                Err(e) => return Err(e),
            }
        }
        Ok(UpsertOutcome {
            outcome: self.write(&upsert.create, stats)?,
            created: true,
            update_method,
        })
    }

    fn write_as(
        &self,
        request: &WriteRequest,
        method: Method,
        stats: &mut Stats,
    ) -> Result<WriteOutcome, ApiError> {
        let out = Outgoing {
            verb: method.as_str(),
            endpoint: request.endpoint,
            path: &request.path,
            query: String::new(),
            body: request.body.as_ref(),
        };
        let policy = if method.is_idempotent() {
            Policy::Idempotent
        } else {
            Policy::Create(request.confirm.as_ref())
        };
        let retries_before = stats.retries;
        let (status, body) = self.send(&out, policy, stats)?;
        // A DELETE that was retried (its first answer was lost or a 5xx) and then finds nothing
        // did its job the first time: the object is gone, as asked.
        let deleted_earlier =
            method == Method::Delete && status == 404 && stats.retries > retries_before;
        if !(200..=299).contains(&status) && !deleted_earlier {
            return Err(client_error(status, &request.path, &body));
        }
        // The API acted: an answer without a readable object (the empty S2S answer, a DELETE's
        // bare envelope, anything unexpected) is still success, never an error that would make
        // the statement fail and be run again.
        let data = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|mut answer| answer.get_mut("data").map(serde_json::Value::take))
            .filter(serde_json::Value::is_object);
        let key = data
            .as_ref()
            .and_then(|d| d.get("key"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .or_else(|| request.sent_key.clone());
        Ok(WriteOutcome {
            method,
            status,
            key,
            data,
        })
    }

    /// Whether a read shows the object of an unanswered create absent. A read that fails
    /// proves nothing: the create is then not sent again.
    fn confirmed_absent(&self, confirm: &ConfirmRead, stats: &mut Stats) -> Result<bool, ApiError> {
        let found = match confirm {
            ConfirmRead::Item { path } => self.get(path, &[], stats).map(|b| b.is_some()),
            ConfirmRead::List {
                path,
                params,
                field,
                value,
            } => self.list_page(path, params, stats).map(|page| {
                page.items.iter().any(|item| {
                    serde_json::from_str::<serde_json::Value>(item.get())
                        .ok()
                        .is_some_and(|v| v.get(*field).and_then(|f| f.as_str()) == Some(value))
                })
            }),
        };
        match found {
            Ok(found) => Ok(!found),
            Err(ApiError::Cancelled) => Err(ApiError::Cancelled),
            Err(_) => Ok(false),
        }
    }

    /// Sends one request, retrying what `policy` allows with backoff, and returns the status
    /// and body of the last answer that is not a retryable failure. 401/403 become
    /// `Unauthorized`; a 429 or 5xx that is not retried (again) becomes `RateLimited`/`Server`.
    fn send(
        &self,
        out: &Outgoing,
        policy: Policy,
        stats: &mut Stats,
    ) -> Result<(u16, Vec<u8>), ApiError> {
        let (base, host) = match out.endpoint {
            Endpoint::Vendor => (self.config.api_url.as_str(), self.host.as_str()),
            Endpoint::Conversion => (self.config.s2s_url.as_str(), self.s2s_host.as_str()),
        };
        let token = match out.endpoint {
            Endpoint::Vendor => None,
            Endpoint::Conversion => Some(self.config.s2s_token.as_deref().ok_or(
                ApiError::MissingOption {
                    option: "s2s_token",
                    purpose: "S2S conversions authenticate with their own Bearer token",
                },
            )?),
        };
        let target = if out.query.is_empty() {
            out.path.to_owned()
        } else {
            format!("{}?{}", out.path, out.query)
        };
        let url = format!("{base}{target}");
        let body = out.body.map(serde_json::Value::to_string);
        let verb = reqwest::Method::from_bytes(out.verb.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut attempt: u32 = 0;
        loop {
            if self.interrupted() {
                return Err(ApiError::Cancelled);
            }
            attempt += 1;
            let pause = self.limiter.borrow_mut().take(Instant::now());
            if !pause.is_zero() {
                stats.throttled_ms += pause.as_millis() as u64;
                self.wait(pause)?;
            }
            stats.requests += 1;
            if stats.log.len() < STATS_LOG_LINES {
                stats.log.push(format!("{} {target}", out.verb));
            }
            let mut request = self
                .http
                .request(verb.clone(), &url)
                .header(reqwest::header::ACCEPT, "application/json");
            request = match token {
                Some(token) => request.bearer_auth(token),
                None => request.basic_auth(&self.config.public_key, Some(&self.config.private_key)),
            };
            if let Some(body) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let (failure, error, retry_after) = match self.exchange(request, out.path, host)? {
                Exchanged::SendFailed(e) => {
                    let error = self.transport_error(&e, host);
                    let kind = match error {
                        ApiError::Connect { .. } => FailureKind::NotSent,
                        ApiError::Timeout { .. } => FailureKind::Lost,
                        _ => FailureKind::Broken,
                    };
                    (kind, error, None)
                }
                Exchanged::BodyFailed(e @ ApiError::Transport { .. }) => {
                    (FailureKind::Broken, e, None)
                }
                Exchanged::BodyFailed(e) => return Err(e),
                Exchanged::Response {
                    status,
                    retry_after,
                    body,
                } => match status {
                    401 | 403 => {
                        return Err(ApiError::Unauthorized {
                            status,
                            message: api_message(&body),
                        });
                    }
                    429 => (
                        FailureKind::Refused,
                        ApiError::RateLimited { attempts: attempt },
                        retry_after,
                    ),
                    500..=599 => (
                        FailureKind::ServerError,
                        ApiError::Server {
                            status,
                            attempts: attempt,
                            excerpt: excerpt(&body),
                        },
                        retry_after,
                    ),
                    _ => return Ok((status, body)),
                },
            };
            let decision = policy.decide(failure);
            if decision == Decision::GiveUp || attempt > self.config.max_retries {
                return Err(error);
            }
            self.wait(self.backoff(attempt, retry_after))?;
            if let (Decision::IfAbsent, Policy::Create(Some(confirm))) = (decision, policy)
                && !self.confirmed_absent(confirm, stats)?
            {
                return Err(error);
            }
            stats.retries += 1;
        }
    }

    /// Sends one request and reads its answer on a worker thread, while this thread waits in
    /// slices of [`INTERRUPT_POLL`] and gives up at once when the statement is cancelled: a
    /// request in flight must not keep a backend from handling a cancel or statement_timeout.
    /// The worker touches no Postgres state; a cancelled one finishes (or times out) on its own
    /// and its answer is dropped.
    fn exchange(
        &self,
        request: reqwest::blocking::RequestBuilder,
        path: &str,
        host: &str,
    ) -> Result<Exchanged, ApiError> {
        let (reply, answer) = std::sync::mpsc::channel();
        let job = Job {
            request,
            cap: self.config.max_response_bytes,
            path: path.to_owned(),
            host: host.to_owned(),
            reply,
        };
        // The worker is kept for the client's life; it is replaced only after a cancel left it
        // busy with an abandoned request (or if it is gone).
        let mut worker = self.worker.borrow_mut();
        let job = match worker.as_ref() {
            Some(w) => match w.send(job) {
                Ok(()) => None,
                Err(std::sync::mpsc::SendError(job)) => Some(job),
            },
            None => Some(job),
        };
        if let Some(job) = job {
            let fresh = spawn_worker().map_err(|e| ApiError::Transport {
                host: host.to_owned(),
                detail: format!("cannot start a request thread: {e}"),
            })?;
            fresh.send(job).map_err(|_| ApiError::Transport {
                host: host.to_owned(),
                detail: "the request thread ended before taking the request".into(),
            })?;
            *worker = Some(fresh);
        }
        drop(worker);
        loop {
            match answer.recv_timeout(INTERRUPT_POLL) {
                Ok(exchanged) => return Ok(exchanged),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if self.interrupted() {
                        // Let the busy worker finish (or time out) alone; the next request
                        // gets a new one.
                        self.worker.borrow_mut().take();
                        return Err(ApiError::Cancelled);
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    self.worker.borrow_mut().take();
                    return Err(ApiError::Transport {
                        host: host.to_owned(),
                        detail: "the request thread ended without an answer".into(),
                    });
                }
            }
        }
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

    fn transport_error(&self, e: &reqwest::Error, host: &str) -> ApiError {
        if e.is_timeout() {
            let connect = e.is_connect();
            ApiError::Timeout {
                host: host.to_owned(),
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
                host: host.to_owned(),
                detail: root_cause(e),
            }
        } else {
            ApiError::Transport {
                host: host.to_owned(),
                detail: root_cause(e),
            }
        }
    }
}

/// A token bucket: `per_minute` requests per minute sustained, bursts of up to a third of
/// that. Any rolling minute then sees at most 4/3 of the rate (4,000 for the default 3,000):
/// PartnerStack's documented limit. One per client, so per backend and configuration.
#[derive(Debug)]
struct TokenBucket {
    /// Tokens per second; 0 = unlimited.
    rate: f64,
    capacity: f64,
    tokens: f64,
    updated: Option<Instant>,
}

impl TokenBucket {
    fn new(per_minute: u64) -> TokenBucket {
        let capacity = (per_minute as f64 / 3.0).max(1.0);
        TokenBucket {
            rate: per_minute as f64 / 60.0,
            capacity,
            tokens: capacity,
            updated: None,
        }
    }

    /// Takes one token; returns how long to wait first (zero when one is available).
    fn take(&mut self, now: Instant) -> Duration {
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

/// Runs `f` (which starts threads) with every signal blocked, so the threads start with all
/// signals blocked: in a Postgres backend, a signal handled on another thread would run
/// Postgres' handler there (timeouts, latches) racing the backend. The caller's mask is
/// restored; a signal that arrives meanwhile stays pending for the caller.
fn with_signals_blocked<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: plain sigset manipulation on this thread's own mask.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut previous);
        let result = f();
        libc::pthread_sigmask(libc::SIG_SETMASK, &previous, std::ptr::null_mut());
        result
    }
}

/// One request for the worker thread, and where to put its answer.
struct Job {
    request: reqwest::blocking::RequestBuilder,
    cap: u64,
    path: String,
    host: String,
    reply: std::sync::mpsc::Sender<Exchanged>,
}

/// Starts the thread that sends requests and reads answers, with every signal blocked. It
/// touches no Postgres state and ends when its client (the only sender) is gone.
fn spawn_worker() -> std::io::Result<std::sync::mpsc::Sender<Job>> {
    let (jobs, inbox) = std::sync::mpsc::channel::<Job>();
    let worker = std::thread::Builder::new().name("partnerstack-http".into());
    with_signals_blocked(|| {
        worker.spawn(move || {
            for job in inbox {
                let exchanged = match job.request.send() {
                    Err(e) => Exchanged::SendFailed(e),
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let retry_after = response
                            .headers()
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<u64>().ok());
                        match read_capped(response, job.cap, &job.path, &job.host) {
                            Ok(body) => Exchanged::Response {
                                status,
                                retry_after,
                                body,
                            },
                            Err(e) => Exchanged::BodyFailed(e),
                        }
                    }
                };
                let _ = job.reply.send(exchanged);
            }
        })
    })?;
    Ok(jobs)
}

/// What one exchange with the server gave.
enum Exchanged {
    /// An answer, body read in full (within the size cap).
    Response {
        status: u16,
        retry_after: Option<u64>,
        body: Vec<u8>,
    },
    /// No answer: connect failure, timeout, reset before the headers.
    SendFailed(reqwest::Error),
    /// The body could not be read (reset mid-body, truncated, over the cap).
    BodyFailed(ApiError),
}

/// Reads a body, refusing more than `cap` bytes.
fn read_capped(
    response: reqwest::blocking::Response,
    cap: u64,
    path: &str,
    host: &str,
) -> Result<Vec<u8>, ApiError> {
    if response.content_length().is_some_and(|n| n > cap) {
        return Err(too_large(path, cap));
    }
    let mut body = Vec::new();
    response
        .take(cap + 1)
        .read_to_end(&mut body)
        .map_err(|e| ApiError::Transport {
            host: host.to_owned(),
            detail: format!("reading the response failed: {}", root_cause(&e)),
        })?;
    if body.len() as u64 > cap {
        return Err(too_large(path, cap));
    }
    Ok(body)
}

/// What a write returned.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOutcome {
    /// The verb that was accepted (PATCH after a PUT answered 405).
    pub method: Method,
    /// HTTP status of the answer.
    pub status: u16,
    /// `data.key` of the answer; else the addressed (DELETE) or sent (conversion) key.
    pub key: Option<String>,
    /// The object in the answer, when there is one.
    pub data: Option<serde_json::Value>,
}

/// What an upsert did.
#[derive(Debug, Clone, PartialEq)]
pub struct UpsertOutcome {
    /// The successful write.
    pub outcome: WriteOutcome,
    /// True when the update answered 404 (or there was no key) and the object was created.
    pub created: bool,
    /// The update verb the API routed (answered other than 405), to remember per server.
    pub update_method: Option<Method>,
}

/// One request to send.
struct Outgoing<'a> {
    verb: &'static str,
    endpoint: Endpoint,
    path: &'a str,
    query: String,
    body: Option<&'a serde_json::Value>,
}

/// What may be retried.
#[derive(Debug, Clone, Copy)]
enum Policy<'a> {
    /// GET: 429, 5xx and a connection broken mid-answer are retried; a timeout is reported.
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
enum FailureKind {
    /// 429: the API refused the request without acting on it.
    Refused,
    /// 5xx: the API failed, possibly after acting.
    ServerError,
    /// Timeout or connection lost before a whole answer: the API may or may not have acted.
    Lost,
    /// The connection broke mid-answer (reset, truncated body): a read is simply sent again;
    /// a create may have been processed, as after `Lost`.
    Broken,
    /// Could not connect: nothing reached the API. Reported at once, as for reads, so a wrong
    /// `api_url` fails fast.
    NotSent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Retry,
    IfAbsent,
    GiveUp,
}

impl Policy<'_> {
    fn decide(self, failure: FailureKind) -> Decision {
        match (self, failure) {
            (_, FailureKind::NotSent) => Decision::GiveUp,
            (_, FailureKind::Refused) => Decision::Retry,
            (Policy::Read, FailureKind::ServerError | FailureKind::Broken) => Decision::Retry,
            // A server that did not answer within timeout_ms would likely not answer a retry
            // either: report it instead of multiplying the wait.
            (Policy::Read, FailureKind::Lost) => Decision::GiveUp,
            (Policy::Idempotent, _) => Decision::Retry,
            (Policy::Create(Some(_)), _) => Decision::IfAbsent,
            (Policy::Create(None), _) => Decision::GiveUp,
        }
    }
}

fn host_of(url: &str, option: &str) -> Result<String, ApiError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| ApiError::Connect {
        host: url.to_owned(),
        detail: format!("invalid {option}: {e}"),
    })?;
    Ok(format!(
        "{}{}",
        parsed.host_str().unwrap_or("?"),
        parsed.port().map(|p| format!(":{p}")).unwrap_or_default()
    ))
}

fn client_error(status: u16, path: &str, body: &[u8]) -> ApiError {
    ApiError::Client {
        status,
        path: path.to_owned(),
        message: api_message(body),
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
            // (policy, [Refused, ServerError, Lost, NotSent])
            (Policy::Read, [Retry, Retry, GiveUp, GiveUp]),
            (Policy::Idempotent, [Retry, Retry, Retry, GiveUp]),
            (Policy::Create(None), [Retry, GiveUp, GiveUp, GiveUp]),
            (
                Policy::Create(Some(&confirm)),
                [Retry, IfAbsent, IfAbsent, GiveUp],
            ),
        ];
        for (policy, expected) in table {
            let got = [Refused, ServerError, Lost, NotSent].map(|f| policy.decide(f));
            assert_eq!(got, expected, "{policy:?}");
        }
    }

    #[test]
    fn debug_redacts_every_secret() {
        let mut config = ClientConfig::new("http://127.0.0.1:1/api/v2", "pk_1", "sk_secret");
        config.s2s_token = Some("s2s_secret".into());
        let shown = format!("{:?}", Client::new(config).unwrap());
        assert!(
            !shown.contains("sk_secret") && !shown.contains("s2s_secret"),
            "{shown}"
        );
        assert!(shown.contains("pk_1"), "{shown}");
    }
}

#[cfg(test)]
mod limiter_tests {
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
