//! Fault injection: which request gets which fault, and how a faulty answer is put on
//! the wire (byte-level: wrong lengths, cut bodies, resets, trickles, hangs).

use crate::config::RuntimeConfig;
use crate::envelope;
use crate::http::{Response, head_bytes};
use crate::rng::Rng;
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// Trickle/slow duration when `delay_ms` is not given.
const DEFAULT_SLOW_MS: u64 = 2000;
/// Extra delay of the `delay` fault when `delay_ms` is not given.
const DEFAULT_DELAY_MS: u64 = 1000;
/// A `hang` ends by itself after this long so abandoned threads do not pile up forever.
const MAX_HANG: Duration = Duration::from_secs(600);
/// Approximate size of the `oversize` body: big enough to trip any sane response cap.
const OVERSIZE_BYTES: usize = 64 * 1024 * 1024;
/// Padding per filler item in the `oversize` body.
const OVERSIZE_PADDING: usize = 1000;
/// Most pieces a `slow` body is cut into (keeps sleeps ≥ a few ms).
const MAX_SLOW_STEPS: u64 = 500;

/// Kinds of faults (`kind` in `POST /__mock/faults`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer `status` (default 500) with the JSON error envelope.
    Status,
    /// Answer 500 (or `status`) with an HTML page, `text/html`.
    Html,
    /// Answer 200 (or `status`) with `application/json` that is not JSON.
    InvalidJson,
    /// Announce the full `Content-Length`, send half the body, close.
    Truncate,
    /// Send headers and part of the body, then reset the connection (RST).
    Reset,
    /// Send the body a few bytes at a time over `delay_ms`.
    Slow,
    /// Never answer; close only when the client does.
    Hang,
    /// 200 with a valid JSON list of about 64 MiB.
    Oversize,
    /// List answer with no items and `has_more: true`.
    EmptyHasMore,
    /// List answer repeating the page that ends at the `starting_after` cursor.
    RepeatCursor,
    /// Wait `delay_ms`, then answer normally.
    Delay,
}

impl FaultKind {
    /// Name recorded in the request log.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Status => "status",
            FaultKind::Html => "html",
            FaultKind::InvalidJson => "invalid_json",
            FaultKind::Truncate => "truncate",
            FaultKind::Reset => "reset",
            FaultKind::Slow => "slow",
            FaultKind::Hang => "hang",
            FaultKind::Oversize => "oversize",
            FaultKind::EmptyHasMore => "empty_has_more",
            FaultKind::RepeatCursor => "repeat_cursor",
            FaultKind::Delay => "delay",
        }
    }
}

/// One configured fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// What to do.
    pub kind: FaultKind,
    /// Only requests whose raw path starts with this.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Only requests with this method (case-insensitive).
    #[serde(default)]
    pub method: Option<String>,
    /// Apply to at most this many matching requests.
    #[serde(default)]
    pub count: Option<u64>,
    /// Apply to every Nth matching request (the Nth, 2Nth, ...).
    #[serde(default)]
    pub every: Option<u64>,
    /// Apply with this probability (seeded generator: reproducible).
    #[serde(default)]
    pub probability: Option<f64>,
    /// Status for `status`/`html`/`invalid_json`.
    #[serde(default)]
    pub status: Option<u16>,
    /// Duration for `slow`/`delay`.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// `Retry-After` seconds for `status` answers (as an HTTP date with `retry_after_date`).
    #[serde(default)]
    pub retry_after: Option<u64>,
}

impl FaultSpec {
    fn validate(&self) -> Result<(), String> {
        if self.every == Some(0) {
            return Err("'every' must be at least 1".into());
        }
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err("'probability' must be between 0 and 1".into());
        }
        if let Some(s) = self.status
            && !(100..=599).contains(&s)
        {
            return Err("'status' must be an HTTP status code".into());
        }
        Ok(())
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.path_prefix
            .as_deref()
            .is_none_or(|p| path.starts_with(p))
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }
}

#[derive(Debug, Clone, Serialize)]
struct FaultState {
    #[serde(flatten)]
    spec: FaultSpec,
    /// Matching requests seen.
    matched: u64,
    /// Times applied.
    applied: u64,
}

/// The active fault list.
#[derive(Debug)]
pub struct Faults {
    list: Vec<FaultState>,
    rng: Rng,
}

impl Faults {
    /// No faults; `seed` drives `probability`.
    pub fn new(seed: u64) -> Self {
        Self {
            list: Vec::new(),
            rng: Rng::derived(seed, "faults"),
        }
    }

    /// Replaces the list (`POST /__mock/faults` body `{"faults": [...]}`).
    pub fn replace(&mut self, specs: Vec<FaultSpec>) -> Result<(), String> {
        for s in &specs {
            s.validate()?;
        }
        self.list = specs
            .into_iter()
            .map(|spec| FaultState {
                spec,
                matched: 0,
                applied: 0,
            })
            .collect();
        Ok(())
    }

    /// Removes every fault.
    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// The list with counters, for `GET /__mock/faults`.
    pub fn describe(&self) -> serde_json::Value {
        serde_json::to_value(&self.list).expect("fault list serializes")
    }

    /// The fault to apply to this request, if any: the first one in the list whose
    /// filters match and whose `every`/`probability`/`count` let it fire.
    pub fn select(&mut self, method: &str, path: &str) -> Option<FaultSpec> {
        for st in &mut self.list {
            if !st.spec.matches(method, path) {
                continue;
            }
            if st.spec.count.is_some_and(|c| st.applied >= c) {
                continue;
            }
            st.matched += 1;
            if st.spec.every.is_some_and(|n| st.matched % n != 0) {
                continue;
            }
            if let Some(p) = st.spec.probability
                && self.rng.unit() >= p
            {
                continue;
            }
            st.applied += 1;
            return Some(st.spec.clone());
        }
        None
    }
}

/// Whether faults may apply to this raw path (API and S2S, never the control API).
pub fn faultable(path: &str) -> bool {
    path.starts_with("/api/v2") || path.starts_with("/conversion")
}

/// The synthetic answer of faults that replace the response entirely.
/// `config` gives the `Retry-After` of a 429 without its own and the header's form.
pub fn synthetic_response(spec: &FaultSpec, config: &RuntimeConfig) -> Option<Response> {
    match spec.kind {
        FaultKind::Status => {
            let status = spec.status.unwrap_or(500);
            let mut r = envelope::status(status);
            let retry = spec.retry_after.or(if status == 429 {
                config.retry_after
            } else {
                None
            });
            if let Some(s) = retry {
                r = r.with_header("Retry-After", config.retry_after_value(s, wall_clock()));
            }
            Some(r)
        }
        FaultKind::Html => {
            let status = spec.status.unwrap_or(500);
            let reason = crate::http::reason_phrase(status);
            let body = format!(
                "<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>\
                 <body><center><h1>{status} {reason}</h1></center><hr><center>nginx</center></body></html>\n"
            );
            Some(Response {
                status,
                content_type: "text/html; charset=utf-8",
                headers: Vec::new(),
                body: body.into_bytes(),
            })
        }
        FaultKind::InvalidJson => Some(Response::json(
            spec.status.unwrap_or(200),
            br#"{"data": {"items": [{"key": "cus_broken", "email": nul"#.to_vec(),
        )),
        _ => None,
    }
}

/// The wall clock (not the fixed "now" of the generated data): an HTTP-date `Retry-After`
/// is read against the client's clock.
pub fn wall_clock() -> chrono::DateTime<chrono::Utc> {
    std::time::SystemTime::now().into()
}

/// How a response goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Correctly.
    Normal,
    /// Full `Content-Length`, half the body, FIN.
    Truncate,
    /// Headers and a third of the body, then RST.
    Reset,
    /// Body trickled over this many ms.
    Slow(u64),
    /// Nothing, until the client gives up.
    Hang,
    /// A ~64 MiB body instead of the response's own.
    Oversize,
}

impl Delivery {
    /// The delivery a fault asks for.
    pub fn for_fault(spec: Option<&FaultSpec>) -> Self {
        match spec.map(|s| (s.kind, s.delay_ms)) {
            Some((FaultKind::Truncate, _)) => Delivery::Truncate,
            Some((FaultKind::Reset, _)) => Delivery::Reset,
            Some((FaultKind::Slow, d)) => Delivery::Slow(d.unwrap_or(DEFAULT_SLOW_MS)),
            Some((FaultKind::Hang, _)) => Delivery::Hang,
            Some((FaultKind::Oversize, _)) => Delivery::Oversize,
            _ => Delivery::Normal,
        }
    }
}

/// Extra wait of the `delay` fault.
pub fn delay_of(spec: &FaultSpec) -> Duration {
    Duration::from_millis(spec.delay_ms.unwrap_or(DEFAULT_DELAY_MS))
}

/// Sends `resp` as `delivery` says. Returns whether the connection can be reused.
pub fn deliver(
    stream: &mut TcpStream,
    resp: &Response,
    delivery: Delivery,
    keep_alive: bool,
) -> io::Result<bool> {
    match delivery {
        Delivery::Normal => {
            crate::http::write_response(stream, resp, keep_alive)?;
            Ok(keep_alive)
        }
        Delivery::Truncate => {
            // Announce at least a few bytes so even an empty body comes up short.
            let announced = resp.body.len().max(16);
            let mut bytes = head_bytes(resp, announced, false);
            bytes.extend_from_slice(&resp.body[..resp.body.len() / 2]);
            stream.write_all(&bytes)?;
            stream.flush()?;
            let _ = stream.shutdown(Shutdown::Both);
            Ok(false)
        }
        Delivery::Reset => {
            let announced = resp.body.len().max(16);
            let mut bytes = head_bytes(resp, announced, false);
            bytes.extend_from_slice(&resp.body[..resp.body.len() / 3]);
            stream.write_all(&bytes)?;
            stream.flush()?;
            // Give the client a moment to receive the partial data before the RST, which
            // goes out when the connection's handles are dropped.
            thread::sleep(Duration::from_millis(20));
            abort_connection(stream);
            Ok(false)
        }
        Delivery::Slow(total_ms) => {
            stream.write_all(&head_bytes(resp, resp.body.len(), keep_alive))?;
            stream.flush()?;
            let body = &resp.body;
            let steps = (total_ms / 10)
                .clamp(1, MAX_SLOW_STEPS)
                .min(body.len().max(1) as u64);
            let chunk = body.len().div_ceil(steps as usize).max(1);
            let pieces = body.len().div_ceil(chunk).max(1) as u64;
            let pause = Duration::from_millis(total_ms / pieces);
            for piece in body.chunks(chunk) {
                thread::sleep(pause);
                stream.write_all(piece)?;
                stream.flush()?;
            }
            if body.is_empty() {
                thread::sleep(Duration::from_millis(total_ms));
            }
            Ok(keep_alive)
        }
        Delivery::Hang => {
            hang(stream);
            Ok(false)
        }
        Delivery::Oversize => {
            write_oversize(stream)?;
            Ok(false)
        }
    }
}

/// Waits until the client closes the connection (or [`MAX_HANG`] passes).
fn hang(stream: &mut TcpStream) {
    let started = Instant::now();
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 4096];
    while started.elapsed() < MAX_HANG {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(_) => return,
        }
    }
}

/// Streams a valid ~64 MiB list envelope of filler items.
fn write_oversize(stream: &mut TcpStream) -> io::Result<()> {
    let padding = "x".repeat(OVERSIZE_PADDING);
    let item = |i: usize| format!(r#"{{"key":"oversize_{i:010}","padding":"{padding}"}}"#);
    let item_len = item(0).len();
    let n = OVERSIZE_BYTES / (item_len + 1);
    let prefix = r#"{"data":{"items":["#;
    let suffix = format!(
        r#"],"has_more":false,"total":{n}}},"message":"Page returned successfully","status":200}}"#
    );
    let len = prefix.len() + n * item_len + (n - 1) + suffix.len();
    let resp = Response::json(200, Vec::new());
    stream.write_all(&head_bytes(&resp, len, false))?;
    stream.write_all(prefix.as_bytes())?;
    let mut buf = String::with_capacity(64 * 1024 + item_len);
    for i in 0..n {
        if i > 0 {
            buf.push(',');
        }
        buf.push_str(&item(i));
        if buf.len() >= 64 * 1024 {
            stream.write_all(buf.as_bytes())?;
            buf.clear();
        }
    }
    buf.push_str(&suffix);
    stream.write_all(buf.as_bytes())?;
    stream.flush()?;
    let _ = stream.shutdown(Shutdown::Write);
    Ok(())
}

/// Closes the socket with an RST instead of a FIN (SO_LINGER with a zero timeout).
fn abort_connection(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        /// `struct linger` of <sys/socket.h>.
        #[repr(C)]
        struct Linger {
            l_onoff: i32,
            l_linger: i32,
        }
        /// Linux values of SOL_SOCKET and SO_LINGER.
        const SOL_SOCKET: i32 = 1;
        const SO_LINGER: i32 = 13;
        unsafe extern "C" {
            fn setsockopt(
                fd: i32,
                level: i32,
                name: i32,
                value: *const std::ffi::c_void,
                len: u32,
            ) -> i32;
        }
        let linger = Linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: `linger` outlives the call and the length matches its layout; the fd is
        // a live socket owned by `stream`.
        unsafe {
            setsockopt(
                stream.as_raw_fd(),
                SOL_SOCKET,
                SO_LINGER,
                (&raw const linger).cast(),
                std::mem::size_of::<Linger>() as u32,
            );
        }
    }
    // Without linger support this degrades to an abrupt FIN. On Linux no shutdown: it
    // would send a FIN; the RST goes out when the caller drops the last handle.
    #[cfg(not(target_os = "linux"))]
    let _ = stream.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> FaultSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn count_limits_applications() {
        let mut f = Faults::new(1);
        f.replace(vec![spec(
            json!({"kind": "status", "status": 503, "count": 2}),
        )])
        .unwrap();
        assert!(f.select("GET", "/api/v2/customers").is_some());
        assert!(f.select("GET", "/api/v2/customers").is_some());
        assert!(f.select("GET", "/api/v2/customers").is_none());
    }

    #[test]
    fn every_nth_and_filters() {
        let mut f = Faults::new(1);
        f.replace(vec![spec(json!({
            "kind": "truncate", "every": 3, "path_prefix": "/api/v2/transactions", "method": "get"
        }))])
        .unwrap();
        let hits: Vec<bool> = (0..6)
            .map(|_| f.select("GET", "/api/v2/transactions").is_some())
            .collect();
        assert_eq!(hits, vec![false, false, true, false, false, true]);
        assert!(f.select("POST", "/api/v2/transactions").is_none());
        assert!(f.select("GET", "/api/v2/customers").is_none());
    }

    #[test]
    fn probability_is_seeded_and_roughly_right() {
        let run = |seed| {
            let mut f = Faults::new(seed);
            f.replace(vec![spec(json!({"kind": "delay", "probability": 0.25}))])
                .unwrap();
            (0..1000)
                .map(|_| f.select("GET", "/api/v2/x").is_some())
                .collect::<Vec<_>>()
        };
        let a = run(5);
        assert_eq!(a, run(5));
        let n = a.iter().filter(|&&b| b).count();
        assert!((150..350).contains(&n), "{n}");
    }

    #[test]
    fn first_matching_fault_wins_and_unknown_fields_are_rejected() {
        let mut f = Faults::new(1);
        f.replace(vec![
            spec(json!({"kind": "hang", "path_prefix": "/api/v2/deals"})),
            spec(json!({"kind": "html"})),
        ])
        .unwrap();
        assert_eq!(
            f.select("GET", "/api/v2/deals").unwrap().kind,
            FaultKind::Hang
        );
        assert_eq!(
            f.select("GET", "/api/v2/leads").unwrap().kind,
            FaultKind::Html
        );
        assert!(serde_json::from_value::<FaultSpec>(json!({"kind": "nope"})).is_err());
        assert!(serde_json::from_value::<FaultSpec>(json!({"kind": "html", "cuont": 1})).is_err());
        assert!(
            f.replace(vec![spec(json!({"kind": "html", "every": 0}))])
                .is_err()
        );
    }

    #[test]
    fn synthetic_answers() {
        let seven = RuntimeConfig {
            retry_after: Some(7),
            ..RuntimeConfig::default()
        };
        let none = RuntimeConfig::default();
        let r =
            synthetic_response(&spec(json!({"kind": "status", "status": 429})), &seven).unwrap();
        assert_eq!(r.status, 429);
        assert_eq!(r.header("Retry-After"), Some("7"));
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body, json!({"message": "Too Many Requests", "status": 429}));
        let r = synthetic_response(
            &spec(json!({"kind": "status", "status": 503, "retry_after": 1})),
            &none,
        )
        .unwrap();
        assert_eq!(r.header("Retry-After"), Some("1"));
        let dated = RuntimeConfig {
            retry_after_date: true,
            ..seven
        };
        let r =
            synthetic_response(&spec(json!({"kind": "status", "status": 429})), &dated).unwrap();
        let date = r.header("Retry-After").unwrap();
        let at = chrono::NaiveDateTime::parse_from_str(date, "%a, %d %b %Y %H:%M:%S GMT")
            .unwrap()
            .and_utc();
        let ahead = (at - wall_clock()).num_milliseconds();
        assert!((6_000..=8_000).contains(&ahead), "{date}: {ahead} ms");
        let r = synthetic_response(&spec(json!({"kind": "html"})), &none).unwrap();
        assert_eq!(r.status, 500);
        assert!(r.content_type.starts_with("text/html"));
        let r = synthetic_response(&spec(json!({"kind": "invalid_json"})), &none).unwrap();
        assert_eq!(r.status, 200);
        assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());
        assert!(synthetic_response(&spec(json!({"kind": "truncate"})), &none).is_none());
        assert!(faultable("/api/v2/customers") && faultable("/conversion/xid"));
        assert!(!faultable("/__mock/requests"));
    }
}
