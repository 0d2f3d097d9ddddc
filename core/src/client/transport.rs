//! Getting one request to the server and its answer back: the URL as sent (path segments and
//! query percent-encoded), the request thread with every signal blocked, the size-capped body
//! read and the `Retry-After` header. No retries and no business rules: those are
//! `retry.rs` and the client's send loop.

use std::cell::RefCell;
use std::io::Read;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use super::config::ClientConfig;
use super::retry::retry_after_wait;
use crate::error::ApiError;

/// How often a wait checks whether the statement was cancelled.
pub(super) const INTERRUPT_POLL: Duration = Duration::from_millis(50);

/// Characters left as they are in a path segment or query value: RFC 3986's unreserved ones
/// (whole-dot segments are refused by [`path_segment`]). Everything else, `/ ? # & % +` and
/// spaces included, is encoded.
const ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'~')
    .remove(b'.');

/// Percent-encodes a path segment or a query key or value.
pub fn encode_segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, ENCODE).to_string()
}

/// `value` percent-encoded as one whole path segment, or `None` when no encoding can make it
/// one: URL parsers resolve `.` and `..` as dot-segments (even percent-encoded), and an empty
/// segment would address the list itself.
pub fn path_segment(value: &str) -> Option<String> {
    match value {
        "" | "." | ".." => None,
        _ => Some(encode_segment(value)),
    }
}

/// Builds `a=1&b=2` with every value percent-encoded (never `+` for space).
pub fn encode_query(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", encode_segment(k), encode_segment(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Path and query of a request as sent, below its endpoint's base URL. The one place a
/// request's URL is put together, so that what is sent, the request log
/// ([`super::Stats::log`]) and EXPLAIN agree.
pub fn target(path: &str, params: &[(String, String)]) -> String {
    let query = encode_query(params);
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// A request as the request log and EXPLAIN show it: the verb and its [`target`] (never the
/// base URL, never credentials).
pub fn request_line(verb: &str, target: &str) -> String {
    format!("{verb} {target}")
}

/// `host[:port]` of a base URL, for messages; an unusable URL is an error naming its option.
pub(super) fn host_of(url: &str, option: &str) -> Result<String, ApiError> {
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

/// How a request proves who sends it.
pub(super) enum Auth<'a> {
    /// The Vendor API's key pair.
    Basic {
        /// Public key.
        user: &'a str,
        /// Private key.
        password: &'a str,
    },
    /// S2S conversion tracking's token.
    Bearer(&'a str),
}

/// What one exchange with the server gave.
pub(super) enum Exchanged {
    /// An answer, body read in full (within the size cap).
    Response {
        /// HTTP status.
        status: u16,
        /// The wait the server asked for with `Retry-After`, when it sent one we can read.
        retry_after: Option<Duration>,
        /// The body.
        body: Vec<u8>,
    },
    /// No answer: connect failure, timeout, reset before the headers.
    SendFailed(reqwest::Error),
    /// The body could not be read (reset mid-body, truncated, over the cap).
    BodyFailed(ApiError),
}

/// The HTTP connection pool and the thread that sends on it.
pub(super) struct Transport {
    http: reqwest::blocking::Client,
    /// Largest body accepted (`max_response_bytes`).
    cap: u64,
    /// The request thread; `None` until the first request, and after a cancel abandoned it.
    worker: RefCell<Option<mpsc::Sender<Job>>>,
    /// Requests are sent on the calling thread: a copy for a thread of the client's own (see
    /// [`Transport::inline_copy`]), whose caller on the backend thread does the waiting.
    inline: bool,
}

impl Transport {
    /// A connection pool with the configuration's timeouts. Fails only on a TLS setup error.
    pub(super) fn new(config: &ClientConfig, host: &str) -> Result<Transport, ApiError> {
        let builder = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .timeout(Duration::from_millis(config.timeout_ms))
            .user_agent(concat!("partnerstack-fdw/", env!("CARGO_PKG_VERSION")));
        // reqwest starts its runtime thread here: it must not run the host's signal handlers.
        let http = with_signals_blocked(|| builder.build()).map_err(|e| ApiError::Connect {
            host: host.to_owned(),
            detail: e.to_string(),
        })?;
        Ok(Transport {
            http,
            cap: config.max_response_bytes,
            worker: RefCell::new(None),
            inline: false,
        })
    }

    /// The same connection pool and cap, sending on the calling thread: for a thread that is not
    /// a Postgres backend's (it runs no handler and has nobody to answer a cancel to).
    pub(super) fn inline_copy(&self) -> Transport {
        Transport {
            http: self.http.clone(),
            cap: self.cap,
            worker: RefCell::new(None),
            inline: true,
        }
    }

    /// One request, ready to send: JSON accepted, `body` (JSON) sent when given.
    pub(super) fn request(
        &self,
        verb: reqwest::Method,
        url: &str,
        auth: &Auth,
        body: Option<&str>,
    ) -> reqwest::blocking::RequestBuilder {
        let request = self
            .http
            .request(verb, url)
            .header(reqwest::header::ACCEPT, "application/json");
        let request = match auth {
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Basic { user, password } => request.basic_auth(user, Some(password)),
        };
        match body {
            Some(body) => request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_owned()),
            None => request,
        }
    }

    /// Sends one request and reads its answer on a worker thread, while this thread waits in
    /// slices of [`INTERRUPT_POLL`] and gives up at once when `interrupted` says the statement
    /// is cancelled: a request in flight must not keep a backend from handling a cancel or
    /// statement_timeout. The worker touches no Postgres state; a cancelled one finishes (or
    /// times out) on its own and its answer is dropped. `path` and `host` are for messages.
    pub(super) fn exchange(
        &self,
        request: reqwest::blocking::RequestBuilder,
        path: &str,
        host: &str,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<Exchanged, ApiError> {
        if self.inline {
            return Ok(perform(request, self.cap, path, host));
        }
        let (reply, answer) = mpsc::channel();
        let job = Job {
            request,
            cap: self.cap,
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
                Err(mpsc::SendError(job)) => Some(job),
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
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if interrupted() {
                        // Let the busy worker finish (or time out) alone; the next request
                        // gets a new one.
                        self.worker.borrow_mut().take();
                        return Err(ApiError::Cancelled);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.worker.borrow_mut().take();
                    return Err(ApiError::Transport {
                        host: host.to_owned(),
                        detail: "the request thread ended without an answer".into(),
                    });
                }
            }
        }
    }
}

/// The option named by a connect timeout's error; the send loop tells it from a whole-request
/// timeout by it (nothing was sent).
pub(super) const CONNECT_TIMEOUT_OPTION: &str = "connect_timeout_ms";

/// The error a request that got no answer becomes: a timeout names the limit that was hit
/// (and its option), a failed connect and any other failure name their innermost cause.
pub(super) fn transport_error(e: &reqwest::Error, host: &str, config: &ClientConfig) -> ApiError {
    if e.is_timeout() {
        let connect = e.is_connect();
        ApiError::Timeout {
            host: host.to_owned(),
            timeout_ms: if connect {
                config.connect_timeout_ms
            } else {
                config.timeout_ms
            },
            which: if connect {
                CONNECT_TIMEOUT_OPTION
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

/// Runs `f` (which starts threads) with every signal blocked, so the threads start with all
/// signals blocked: in a Postgres backend, a signal handled on another thread would run
/// Postgres' handler there (timeouts, latches) racing the backend. The caller's mask is
/// restored, even if `f` panics; a signal that arrives meanwhile stays pending for the caller.
pub(super) fn with_signals_blocked<T>(f: impl FnOnce() -> T) -> T {
    /// Puts the caller's signal mask back when dropped.
    struct Restore(libc::sigset_t);
    impl Drop for Restore {
        fn drop(&mut self) {
            // SAFETY: sets this thread's own mask to the one saved before.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut()) };
        }
    }
    // SAFETY: plain sigset manipulation on this thread's own mask.
    let _restore = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut previous);
        Restore(previous)
    };
    f()
}

/// One request for the worker thread, and where to put its answer.
struct Job {
    request: reqwest::blocking::RequestBuilder,
    cap: u64,
    path: String,
    host: String,
    reply: mpsc::Sender<Exchanged>,
}

/// Starts the thread that sends requests and reads answers, with every signal blocked. It
/// touches no Postgres state and ends when its client (the only sender) is gone.
fn spawn_worker() -> std::io::Result<mpsc::Sender<Job>> {
    let (jobs, inbox) = mpsc::channel::<Job>();
    let worker = std::thread::Builder::new().name("partnerstack-http".into());
    with_signals_blocked(|| {
        worker.spawn(move || {
            for job in inbox {
                let exchanged = perform(job.request, job.cap, &job.path, &job.host);
                let _ = job.reply.send(exchanged);
            }
        })
    })?;
    Ok(jobs)
}

/// Sends one request and reads its answer, on the calling thread.
fn perform(
    request: reqwest::blocking::RequestBuilder,
    cap: u64,
    path: &str,
    host: &str,
) -> Exchanged {
    match request.send() {
        Err(e) => Exchanged::SendFailed(e),
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = retry_after(response.headers());
            match read_capped(response, cap, path, host) {
                Ok(body) => Exchanged::Response {
                    status,
                    retry_after,
                    body,
                },
                Err(e) => Exchanged::BodyFailed(e),
            }
        }
    }
}

/// The wait `Retry-After` asks for, when present and readable (§5: PartnerStack does not
/// document it). Read as the answer arrives, so that an HTTP date is measured from then.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after_wait(v, SystemTime::now()))
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

fn too_large(path: &str, cap: u64) -> ApiError {
    ApiError::InvalidBody {
        path: path.to_owned(),
        reason: format!("larger than max_response_bytes ({cap})"),
        excerpt: String::new(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn query_values_are_percent_encoded_never_plus() {
        let q = encode_query(&params(&[("partner_key", "a b&c=d/é")]));
        assert_eq!(q, "partner_key=a%20b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn dot_segments_and_empty_values_are_no_path_segment() {
        for bad in ["", ".", ".."] {
            assert_eq!(path_segment(bad), None, "{bad:?}");
        }
        assert_eq!(path_segment("a b/c").as_deref(), Some("a%20b%2Fc"));
        assert_eq!(path_segment("...").as_deref(), Some("..."));
        assert_eq!(path_segment(".x").as_deref(), Some(".x"));
    }

    #[test]
    fn target_and_request_line() {
        assert_eq!(target("/deals", &[]), "/deals");
        let t = target("/deals", &params(&[("limit", "250"), ("min_updated", "5")]));
        assert_eq!(t, "/deals?limit=250&min_updated=5");
        assert_eq!(
            request_line("GET", &t),
            "GET /deals?limit=250&min_updated=5"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(reqwest::header::RETRY_AFTER, " 7 ".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        // A date in the past (this one is RFC 9110's example) asks for no wait.
        headers.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        // A date ahead: about as long as it is ahead (whole seconds, so within one second).
        let ahead = chrono::DateTime::<chrono::Utc>::from(SystemTime::now())
            + chrono::TimeDelta::seconds(30);
        let value = ahead.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        headers.insert(reqwest::header::RETRY_AFTER, value.parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            (Duration::from_secs(28)..=Duration::from_secs(30)).contains(&wait),
            "{value}: {wait:?}"
        );
        headers.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn hosts_keep_their_port_and_bad_urls_name_the_option() {
        assert_eq!(
            host_of("http://127.0.0.1:8080/api/v2", "api_url").unwrap(),
            "127.0.0.1:8080"
        );
        assert_eq!(
            host_of("https://api.partnerstack.com/api/v2", "api_url").unwrap(),
            "api.partnerstack.com"
        );
        let e = host_of("not a url", "s2s_url").unwrap_err().to_string();
        assert!(e.contains("invalid s2s_url"), "{e}");
    }
}
