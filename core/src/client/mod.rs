//! The HTTP client: Basic auth, timeouts, retries with backoff, size cap. Knows nothing of
//! Postgres. One file per concern:
//!
//! - `config.rs`: [`ClientConfig`], its documented defaults and its redacting `Debug`;
//! - `transport.rs`: the URL as sent ([`target`], [`encode_query`], [`path_segment`]), the
//!   request thread, the signal mask, the capped body read, `Retry-After`;
//! - `retry.rs`: what each verb may retry and the backoff delay (pure);
//! - `limiter.rs`: the client-side rate limit: the [`RateLimit`] a client takes each request
//!   from, its in-process [`TokenBucket`], and the slots of a budget shared across processes;
//! - `stats.rs`: the traffic counters EXPLAIN ANALYZE shows;
//! - `fanout.rs`: several requests in flight for one statement, on threads of their own, while
//!   the backend's thread waits and answers a cancel;
//! - here: the [`Client`], its send-with-retries loop (`Client::send`) and the requests it
//!   offers: a list page, one object, one write. Write rules above one request (PUT then
//!   PATCH, upsert) are in [`crate::write`].

mod config;
mod fanout;
mod limiter;
mod pool;
mod retry;
mod stats;
mod transport;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::value::RawValue;

use crate::catalogue::Endpoint;
use crate::error::{ApiError, BODY_EXCERPT_CHARS, excerpt};
use crate::write::{ConfirmRead, Method, WriteRequest};

pub use config::{
    ClientConfig, DEFAULT_API_URL, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_MAX_REQUESTS_PER_MINUTE,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_RETRIES, DEFAULT_PAGE_SIZE, DEFAULT_RETRY_BASE_MS,
    DEFAULT_RETRY_MAX_MS, DEFAULT_S2S_URL, DEFAULT_TIMEOUT_MS, MAX_PAGE_SIZE,
};
pub use fanout::{Done, Fanout};
pub use limiter::{BudgetSlot, RateLimit, TokenBucket, budget_key, monotonic_ns, take_shared};
pub use stats::{STATS_LOG_LINES, Stats};
pub use transport::{encode_query, encode_segment, path_segment, request_line, target};

use retry::{Decision, FailureKind, Jitter, Policy, backoff_delay};
use transport::{
    Auth, CONNECT_TIMEOUT_OPTION, Exchanged, INTERRUPT_POLL, Transport, host_of, transport_error,
};

/// Called while waiting; returns true when the wait must stop (statement cancelled).
pub type InterruptCheck = Arc<dyn Fn() -> bool + Send + Sync>;

/// One page of a list.
#[derive(Debug)]
pub struct Page {
    /// Items as sent.
    pub items: Vec<Box<RawValue>>,
    /// More items follow.
    pub has_more: bool,
    /// `data.total`: the number of items matching the filters, over every page (§1.4); `None`
    /// when the answer has none, or not a count.
    pub total: Option<u64>,
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
    // May be null or absent (§1.4); read leniently, so an odd value costs the count shortcut,
    // never the page.
    #[serde(default)]
    total: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ObjectEnvelope {
    data: Box<RawValue>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    message: Option<serde_json::Value>,
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

/// A client for one account. Cheap to share; keeps connections alive between requests.
pub struct Client {
    config: ClientConfig,
    transport: Transport,
    host: String,
    s2s_host: String,
    interrupt: Option<InterruptCheck>,
    jitter: Jitter,
    limiter: Arc<dyn RateLimit>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// One request to send.
struct Outgoing<'a> {
    verb: &'static str,
    endpoint: Endpoint,
    /// Path below the endpoint's base URL, for messages.
    path: &'a str,
    /// Path and query as sent (see [`target`]).
    target: String,
    body: Option<&'a serde_json::Value>,
}

impl Client {
    /// Builds a client. Fails only on an unusable URL or TLS setup.
    pub fn new(config: ClientConfig) -> Result<Client, ApiError> {
        let host = host_of(&config.api_url, "api_url")?;
        let s2s_host = host_of(&config.s2s_url, "s2s_url")?;
        let transport = Transport::new(&config, &host)?;
        let limiter = Arc::new(TokenBucket::new(config.max_requests_per_minute));
        Ok(Client {
            config,
            transport,
            host,
            s2s_host,
            interrupt: None,
            jitter: Jitter::from_clock(),
            limiter,
        })
    }

    /// A copy for a thread of its own ([`Fanout`]): the same keys, connection pool and rate
    /// limit; it sends on its calling thread and stops waiting once `stop` is raised. It never
    /// calls the original's interrupt check, which may touch the backend's state.
    fn detached(&self, stop: Arc<AtomicBool>) -> Client {
        Client {
            config: self.config.clone(),
            transport: self.transport.inline_copy(),
            host: self.host.clone(),
            s2s_host: self.s2s_host.clone(),
            interrupt: Some(Arc::new(move || stop.load(Ordering::Relaxed))),
            jitter: Jitter::new(self.jitter.next()),
            limiter: self.limiter.clone(),
        }
    }

    /// Sets the check consulted while waiting (backoff sleeps).
    pub fn set_interrupt(&mut self, check: InterruptCheck) {
        self.interrupt = Some(check);
    }

    /// Replaces the client's own [`TokenBucket`] (built from `max_requests_per_minute`) by
    /// another budget, such as one shared by every backend of the cluster.
    pub fn set_rate_limit(&mut self, limiter: Arc<dyn RateLimit>) {
        self.limiter = limiter;
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
        let envelope: ListEnvelope =
            self.get(path, params, stats)?
                .ok_or_else(|| ApiError::Client {
                    status: 404,
                    path: path.to_owned(),
                    message: "not found".into(),
                })?;
        stats.pages += 1;
        stats.items += envelope.data.items.len() as u64;
        Ok(Page {
            items: envelope.data.items,
            has_more: envelope.data.has_more.unwrap_or(false),
            total: envelope
                .data
                .total
                .as_ref()
                .and_then(serde_json::Value::as_u64),
        })
    }

    /// Fetches one object; `None` when the API answers 404.
    pub fn object(&self, path: &str, stats: &mut Stats) -> Result<Option<Box<RawValue>>, ApiError> {
        let Some(envelope) = self.get::<ObjectEnvelope>(path, &[], stats)? else {
            return Ok(None);
        };
        stats.items += 1;
        Ok(Some(envelope.data))
    }

    /// GET with retries, its 2xx body read as `T`; `None` on 404. A body that is not valid
    /// JSON is retried like a 5xx; valid JSON that is not a `T` is an error at once.
    fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &[(String, String)],
        stats: &mut Stats,
    ) -> Result<Option<T>, ApiError> {
        let out = Outgoing {
            verb: "GET",
            endpoint: Endpoint::Vendor,
            path,
            target: target(path, params),
            body: None,
        };
        self.send(&out, Policy::Read, stats, |status, body| match status {
            200..=299 => match serde_json::from_slice(&body) {
                Ok(answer) => Answer::Done(Ok(Some(answer))),
                Err(e) => unreadable(path, &body, e),
            },
            404 => Answer::Done(Ok(None)),
            _ => Answer::Done(Err(client_error(status, path, &body))),
        })
    }

    /// Sends one write as given (its own verb, no fallback), with the retries its verb allows.
    ///
    /// A 2xx is success; the outcome carries `data.key` of the answer, else the key the request
    /// was addressed with (DELETE) or sent (a conversion's `customer_key`: its answer is empty).
    /// Any other status is an error: `ApiError::Client` for a 4xx (400 with the API's message,
    /// 404 for an unknown object or referenced customer), and so on. Updates with the PUT →
    /// PATCH fallback and upserts are [`crate::write::update`] and [`crate::write::upsert`].
    pub fn write(
        &self,
        request: &WriteRequest,
        stats: &mut Stats,
    ) -> Result<WriteOutcome, ApiError> {
        let method = request.method;
        let out = Outgoing {
            verb: method.as_str(),
            endpoint: request.endpoint,
            path: &request.path,
            target: target(&request.path, &[]),
            body: request.body.as_ref(),
        };
        let policy = if method.is_idempotent() {
            Policy::Idempotent
        } else {
            Policy::Create(request.confirm.as_ref())
        };
        let retries_before = stats.retries;
        let (status, body) = self.send(&out, policy, stats, |status, body| {
            Answer::Done(Ok((status, body)))
        })?;
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
            ConfirmRead::Item { path } => self
                .get::<IgnoredAny>(path, &[], stats)
                .map(|b| b.is_some()),
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

    /// Sends one request, retrying what `policy` allows with backoff, and returns what
    /// `accept` makes of the status and body of the first answer that is not a 401/403, 429 or
    /// 5xx; when `accept` finds a 2xx body [`Answer::Garbled`], that is a failure to retry
    /// too. 401/403 become `Unauthorized`; a 429 or 5xx that is not retried (again) becomes
    /// `RateLimited`/`Server`.
    fn send<T>(
        &self,
        out: &Outgoing,
        policy: Policy,
        stats: &mut Stats,
        mut accept: impl FnMut(u16, Vec<u8>) -> Answer<T>,
    ) -> Result<T, ApiError> {
        let (base, host) = match out.endpoint {
            Endpoint::Vendor => (self.config.api_url.as_str(), self.host.as_str()),
            Endpoint::Conversion => (self.config.s2s_url.as_str(), self.s2s_host.as_str()),
        };
        let auth = match out.endpoint {
            Endpoint::Vendor => self.config.api_auth(),
            Endpoint::Conversion => Auth::Bearer(self.config.s2s_token.as_deref().ok_or(
                ApiError::MissingOption {
                    option: "s2s_token",
                    purpose: "S2S conversions authenticate with their own Bearer token",
                },
            )?),
        };
        let url = format!("{base}{}", out.target);
        let body = out.body.map(serde_json::Value::to_string);
        let verb = reqwest::Method::from_bytes(out.verb.as_bytes()).unwrap_or(reqwest::Method::GET);
        let interrupted = || self.interrupted();
        let mut attempt: u32 = 0;
        loop {
            if self.interrupted() {
                return Err(ApiError::Cancelled);
            }
            attempt += 1;
            let pause = self.limiter.take();
            if !pause.is_zero() {
                stats.throttled_ms += pause.as_millis() as u64;
                self.wait(pause)?;
            }
            stats.requests += 1;
            stats.record(request_line(out.verb, &out.target));
            let request = self
                .transport
                .request(verb.clone(), &url, &auth, body.as_deref());
            let exchanged = self
                .transport
                .exchange(request, out.path, host, &interrupted)?;
            let (failure, error, retry_after) = match exchanged {
                Exchanged::SendFailed(e) => {
                    let error = transport_error(&e, host, &self.config);
                    let kind = match error {
                        // No connection, so nothing reached the API: report it at once, for
                        // every verb, so that a wrong or unreachable api_url fails fast.
                        ApiError::Connect { .. }
                        | ApiError::Timeout {
                            which: CONNECT_TIMEOUT_OPTION,
                            ..
                        } => FailureKind::NotSent,
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
                            api: self.config.api(),
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
                            excerpt: body_excerpt(&body),
                        },
                        retry_after,
                    ),
                    _ => match accept(status, body) {
                        Answer::Done(result) => return result,
                        Answer::Garbled(error) => (FailureKind::Garbled, error, None),
                    },
                },
            };
            let decision = policy.decide(failure);
            if decision == Decision::GiveUp || attempt > self.config.max_retries {
                return Err(error);
            }
            let delay = backoff_delay(
                attempt,
                retry_after,
                self.config.retry_base_ms,
                self.config.retry_max_ms,
                || self.jitter.next(),
            );
            self.wait(delay)?;
            if let (Decision::IfAbsent, Policy::Create(Some(confirm))) = (decision, policy)
                && !self.confirmed_absent(confirm, stats)?
            {
                return Err(error);
            }
            stats.retries += 1;
        }
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
}

fn client_error(status: u16, path: &str, body: &[u8]) -> ApiError {
    ApiError::Client {
        status,
        path: path.to_owned(),
        message: api_message(body),
    }
}

/// What the caller of [`Client::send`] makes of an answer.
enum Answer<T> {
    /// The result of the request.
    Done(Result<T, ApiError>),
    /// A 2xx body that is not valid JSON ([`FailureKind::Garbled`]): the policy decides
    /// whether to ask again; this is the error if not.
    Garbled(ApiError),
}

/// A 2xx body that could not be read: valid JSON that is not the documented envelope is the
/// API's real answer and an error at once; a body that is not valid JSON at all was damaged on
/// its way and is [`Answer::Garbled`]. serde reports the first problem it meets, so a shape
/// error is checked against a plain parse (only on this error path).
fn unreadable<T>(path: &str, body: &[u8], e: serde_json::Error) -> Answer<T> {
    let error = |reason: String| ApiError::InvalidBody {
        path: path.to_owned(),
        reason,
        excerpt: body_excerpt(body),
    };
    let syntax = if e.is_data() {
        match serde_json::from_slice::<IgnoredAny>(body) {
            Ok(_) => {
                return Answer::Done(Err(error(format!("not the documented envelope: {e}"))));
            }
            Err(syntax) => syntax,
        }
    } else {
        e
    };
    Answer::Garbled(error(format!("not valid JSON: {syntax}")))
}

/// The `message` of an error body, or an excerpt of the body.
fn api_message(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(ErrorEnvelope {
            message: Some(serde_json::Value::String(m)),
        }) => excerpt(&m, BODY_EXCERPT_CHARS),
        Ok(ErrorEnvelope { message: Some(m) }) => excerpt(&m.to_string(), BODY_EXCERPT_CHARS),
        _ => body_excerpt(body),
    }
}

/// An excerpt of a response body, which need not be UTF-8.
fn body_excerpt(body: &[u8]) -> String {
    excerpt(&String::from_utf8_lossy(body), BODY_EXCERPT_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn api_messages_are_the_message_or_an_excerpt_of_the_body() {
        assert_eq!(api_message(br#"{"message": "bad\nemail"}"#), "bad email");
        assert_eq!(
            api_message(br#"{"message": {"email": ["x"]}}"#),
            r#"{"email":["x"]}"#
        );
        assert_eq!(api_message(b"<html>oops</html>\n"), "<html>oops</html>");
        let long = "x".repeat(BODY_EXCERPT_CHARS + 10);
        assert_eq!(
            api_message(long.as_bytes()).chars().count(),
            BODY_EXCERPT_CHARS + 1
        );
    }

    /// What `unreadable` makes of a list body: `Err(reason)` when reported at once, `Ok(reason)`
    /// when garbled (retried by reads).
    fn classify(body: &str) -> Result<String, String> {
        let e = serde_json::from_str::<ListEnvelope>(body)
            .err()
            .expect("unreadable");
        let reason = |error: ApiError| match error {
            ApiError::InvalidBody { reason, .. } => reason,
            other => panic!("{other:?}"),
        };
        match unreadable::<ListEnvelope>("/deals", body.as_bytes(), e) {
            Answer::Garbled(error) => Ok(reason(error)),
            Answer::Done(result) => Err(reason(result.err().expect("an error"))),
        }
    }

    #[test]
    fn bodies_that_are_not_json_are_garbled_and_wrong_envelopes_are_not() {
        for garbled in [
            "",
            "<html>502</html>",
            r#"{"data": {"items": [{"key": "cus_broken", "email": nul"#,
            // The shape is wrong before the syntax is: still not JSON, still retried.
            r#"{"data": 5, oops"#,
        ] {
            let reason = classify(garbled).expect(garbled);
            assert!(reason.starts_with("not valid JSON"), "{garbled}: {reason}");
        }
        for wrong in [
            r#"{"message": "OK", "status": 200}"#,
            r#"{"data": {"items": 5}}"#,
            "[]",
        ] {
            let reason = classify(wrong).expect_err(wrong);
            assert!(
                reason.starts_with("not the documented envelope"),
                "{wrong}: {reason}"
            );
        }
    }
}
