//! The server: shared state, the request pipeline, and the connection loop.
//!
//! One thread per connection; HTTP/1.1 keep-alive and pipelining are handled by reading
//! requests off the same buffered stream until the client closes or asks to.

use crate::auth::Credentials;
use crate::config::{Options, RuntimeConfig};
use crate::control;
use crate::data;
use crate::envelope;
use crate::faults::{self, Delivery, FaultKind, Faults};
use crate::http::{self, ReadError, Request, Response};
use crate::log::{LogEntry, RequestLog, params_object};
use crate::now_ms;
use crate::ratelimit::RateLimiter;
use crate::resources::partner::{self, PartnerStore};
use crate::routes::{self, Ctx, ListFault};
use crate::store::Store;
use serde_json::Value;
use std::io::BufReader;
use std::net::{TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::Duration;

/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// Shared state of a running mock.
#[derive(Debug)]
pub struct Server {
    /// Startup options.
    pub options: Options,
    store: RwLock<Store>,
    /// The Partner API's data set: read-only, so neither locked nor regenerated on reset.
    partner: PartnerStore,
    config: Mutex<RuntimeConfig>,
    faults: Mutex<Faults>,
    log: Mutex<RequestLog>,
    limiter: Mutex<RateLimiter>,
}

/// Locks a mutex, ignoring poisoning: a panicking request must not wedge the mock.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Server {
    /// Generates the data set and builds the state.
    pub fn new(options: Options) -> Self {
        let store = data::generate_until(
            options.seed,
            &options.sizes,
            options.data_until.instant_ms(),
        );
        Self {
            store: RwLock::new(store),
            partner: partner::generate(options.seed, &options.partner_sizes),
            config: Mutex::new(options.runtime.clone()),
            faults: Mutex::new(Faults::new(options.seed)),
            log: Mutex::new(RequestLog::default()),
            limiter: Mutex::new(RateLimiter::default()),
            options,
        }
    }

    /// Read access to the data.
    pub fn store_read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access to the data.
    pub fn store_write(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The Partner API's data set.
    pub fn partner_store(&self) -> &PartnerStore {
        &self.partner
    }

    /// A snapshot of the runtime configuration.
    pub fn config(&self) -> RuntimeConfig {
        lock(&self.config).clone()
    }

    /// The runtime configuration, for changes.
    pub fn config_mut(&self) -> MutexGuard<'_, RuntimeConfig> {
        lock(&self.config)
    }

    /// The fault list.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    /// The request log.
    pub fn log(&self) -> MutexGuard<'_, RequestLog> {
        lock(&self.log)
    }

    /// The rate limiter.
    pub fn limiter(&self) -> MutexGuard<'_, RateLimiter> {
        lock(&self.limiter)
    }

    /// Back to the startup state: data regenerated, log, faults, limiter and config reset.
    pub fn reset(&self) {
        let fresh = data::generate_until(
            self.options.seed,
            &self.options.sizes,
            self.options.data_until.instant_ms(),
        );
        *self.store_write() = fresh;
        self.log().clear();
        *self.faults() = Faults::new(self.options.seed);
        self.limiter().clear();
        *self.config_mut() = self.options.runtime.clone();
    }

    /// Computes the answer to one request and how to deliver it; records API requests
    /// in the log. Socket-free, so the whole pipeline is unit-testable.
    pub fn respond(&self, req: &Request) -> (Response, Delivery) {
        if control::is_control(&req.path) {
            return (control::handle(self, req), Delivery::Normal);
        }
        let seq = self.log().next_seq();
        let ts_ms = now_ms();
        let creds = Credentials::parse(req.header("authorization"));
        let params = req.params();
        let config = self.config();
        let fault = if faults::faultable(&req.path) {
            self.faults().select(&req.method, &req.path)
        } else {
            None
        };
        if config.latency_ms > 0 {
            thread::sleep(Duration::from_millis(config.latency_ms));
        }
        let delivery = Delivery::for_fault(fault.as_ref());
        let synthetic = fault
            .as_ref()
            .and_then(|f| faults::synthetic_response(f, &config));
        let response = match (synthetic, delivery) {
            (Some(r), _) => r,
            // Nothing of the real answer is sent for these.
            (None, Delivery::Hang | Delivery::Oversize) => Response::json(200, Vec::new()),
            (None, _) => {
                let list_fault = match fault.as_ref().map(|f| f.kind) {
                    Some(FaultKind::EmptyHasMore) => ListFault::EmptyHasMore,
                    Some(FaultKind::RepeatCursor) => ListFault::RepeatCursor,
                    Some(FaultKind::Delay) => {
                        thread::sleep(faults::delay_of(fault.as_ref().expect("matched")));
                        ListFault::None
                    }
                    _ => ListFault::None,
                };
                let ctx = Ctx {
                    server: self,
                    req,
                    creds: &creds,
                    params: &params,
                    config: &config,
                    list_fault,
                };
                catch_unwind(AssertUnwindSafe(|| routes::dispatch(&ctx)))
                    .unwrap_or_else(|_| envelope::status(500))
            }
        };
        self.log().push(LogEntry {
            seq,
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            params: params_object(&params),
            body: serde_json::from_slice(&req.body).unwrap_or(Value::Null),
            public_key: creds.public_key().map(str::to_string),
            auth_scheme: creds.scheme(),
            status: (delivery != Delivery::Hang).then_some(response.status),
            fault: fault.as_ref().map(|f| f.kind.name().to_string()),
            ts_ms,
        });
        (response, delivery)
    }
}

/// Serves connections forever, one thread each.
pub fn serve(listener: TcpListener, server: Arc<Server>) {
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                let server = Arc::clone(&server);
                thread::spawn(move || connection(stream, &server));
            }
            Err(e) => {
                eprintln!("partnerstack-mock: accept failed: {e}");
                thread::sleep(ACCEPT_BACKOFF);
            }
        }
    }
}

/// Answers requests on one connection until it closes.
fn connection(mut stream: TcpStream, server: &Server) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    loop {
        let req = match http::read_request(&mut reader, &mut stream) {
            Ok(r) => r,
            Err(ReadError::Closed | ReadError::Io(_)) => return,
            Err(ReadError::Bad(msg)) => {
                let _ = http::write_response(&mut stream, &envelope::bare(400, &msg), false);
                return;
            }
            Err(ReadError::TooLarge) => {
                let _ = http::write_response(&mut stream, &envelope::status(413), false);
                return;
            }
        };
        let keep_alive = req.keep_alive();
        let (response, delivery) = server.respond(&req);
        match faults::deliver(&mut stream, &response, delivery, keep_alive) {
            Ok(true) => continue,
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::basic_header;
    use crate::data::Sizes;
    use crate::http::Version;
    use serde_json::json;

    fn server() -> Server {
        Server::new(Options {
            sizes: Sizes {
                transactions: 300,
                rewards: 100,
                ..Sizes::default()
            },
            ..Options::default()
        })
    }

    fn basic(public: &str, secret: &str) -> String {
        basic_header(public, secret)
    }

    fn request(method: &str, target: &str, auth: Option<&str>, body: Option<Value>) -> Request {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut headers = Vec::new();
        if let Some(a) = auth {
            headers.push(("authorization".to_string(), a.to_string()));
        }
        Request {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            version: Version::Http11,
            headers,
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        }
    }

    fn call(s: &Server, method: &str, target: &str, body: Option<Value>) -> (u16, Value) {
        let auth = basic("pk_test_mock", "sk_test_mock");
        let (r, _) = s.respond(&request(method, target, Some(&auth), body));
        assert_eq!(r.content_type, "application/json");
        let v = if r.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&r.body).unwrap()
        };
        (r.status, v)
    }

    #[test]
    fn auth_rules() {
        let s = server();
        let unauthorized = json!({"message": "Unauthorized", "status": 401});
        for auth in [
            None,
            Some(basic("pk_test_mock", "wrong")),
            Some(basic("nobody", "sk_test_mock")),
            Some("Bearer sk_test_mock".to_string()),
            Some("Basic %%%".to_string()),
        ] {
            let (r, _) = s.respond(&request("GET", "/api/v2/customers", auth.as_deref(), None));
            assert_eq!(r.status, 401, "{auth:?}");
            assert_eq!(
                serde_json::from_slice::<Value>(&r.body).unwrap(),
                unauthorized
            );
        }
        let (r, _) = s.respond(&request(
            "GET",
            "/api/v2/customers",
            Some(&basic("pk_live_mock", "sk_live_mock")),
            None,
        ));
        assert_eq!(r.status, 200);
    }

    #[test]
    fn list_envelope_get_and_unknown_paths() {
        let s = server();
        let (st, v) = call(&s, "GET", "/api/v2/customers?limit=3", None);
        assert_eq!(st, 200);
        assert_eq!(v["status"], 200);
        assert_eq!(v["message"], "Retrieved customers successfully");
        assert_eq!(v["data"]["items"].as_array().unwrap().len(), 3);
        assert_eq!(v["data"]["has_more"], true);
        assert_eq!(v["data"]["total"], 300);
        for path in [
            "/api/v2/partners",
            "/api/v2/partners/x",
            "/api/v2/links",
            "/api/v2/payouts",
            "/api/v2/stats",
            "/api/v2/partnerships/part_x/stats",
            "/api/v3/customers",
            "/nothing",
        ] {
            let (st, v) = call(&s, "GET", path, None);
            assert_eq!((st, v["status"].as_u64()), (404, Some(404)), "{path}");
        }
        let (st, v) = call(&s, "GET", "/api/v2/customers?limit=0", None);
        assert_eq!((st, v["status"].as_u64()), (400, Some(400)));
        let (st, _) = call(&s, "GET", "/api/v2/customers?starting_after=cus_nope", None);
        assert_eq!(st, 400);
    }

    #[test]
    fn customers_resolve_by_customer_key_then_key_with_encoded_paths() {
        let s = server();
        let (key, ck) = {
            let store = s.store_read();
            let c = store
                .customers
                .live()
                .find(|(_, c)| c.customer_key.as_deref().is_some_and(|k| k.contains('/')))
                .map(|(_, c)| c.clone())
                .expect("a customer_key with a slash");
            (c.key.to_string(), c.customer_key.unwrap().to_string())
        };
        let enc: String = ck
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let (st, v) = call(&s, "GET", &format!("/api/v2/customers/{enc}"), None);
        assert_eq!(st, 200);
        assert_eq!(v["data"]["key"], key.as_str());
        assert_eq!(v["message"], "Customer retrieved successfully");
        let (st, v) = call(&s, "GET", &format!("/api/v2/customers/{key}"), None);
        assert_eq!(
            (st, v["data"]["customer_key"].as_str()),
            (200, Some(ck.as_str()))
        );
        // Delete hides it from GET and the list total.
        let (st, v) = call(&s, "DELETE", &format!("/api/v2/customers/{key}"), None);
        assert_eq!(st, 200);
        assert_eq!(
            v,
            json!({"message": "Customer deleted successfully", "status": 200})
        );
        let (st, v) = call(&s, "GET", &format!("/api/v2/customers/{enc}"), None);
        assert_eq!(
            (st, v["message"].as_str()),
            (404, Some("customer not found"))
        );
        let (_, v) = call(&s, "GET", "/api/v2/customers", None);
        assert_eq!(v["data"]["total"], 299);
        let (st, _) = call(&s, "DELETE", &format!("/api/v2/customers/{key}"), None);
        assert_eq!(st, 404);
    }

    #[test]
    fn put_is_405_unless_accepted_and_patch_works() {
        let s = server();
        let key = s.store_read().deals.row(0).key.to_string();
        let body = json!({"stage": "proposal"});
        let (st, v) = call(
            &s,
            "PUT",
            &format!("/api/v2/deals/{key}"),
            Some(body.clone()),
        );
        assert_eq!(st, 405);
        assert_eq!(v, json!({"message": "Method Not Allowed", "status": 405}));
        s.config_mut().accept_put = true;
        let (st, v) = call(&s, "PUT", &format!("/api/v2/deals/{key}"), Some(body));
        assert_eq!(st, 200);
        assert_eq!(v["data"]["stage"], "proposal");
        let (st, _) = call(&s, "PATCH", "/api/v2/deals", Some(json!({})));
        assert_eq!(st, 405);
        let (st, _) = call(&s, "GET", "/api/v2/transactions/txn_x", None);
        assert_eq!(st, 405);
        let (st, v) = call(&s, "POST", "/api/v2/customers", None);
        assert_eq!(
            (st, v["message"].as_str()),
            (400, Some("'email' is a required property"))
        );
        let (r, _) = s.respond(&request(
            "POST",
            "/api/v2/customers",
            Some(&basic("pk_test_mock", "sk_test_mock")),
            None,
        ));
        assert_eq!(r.status, 400);
        let mut bad = request(
            "POST",
            "/api/v2/customers",
            Some(&basic("pk_test_mock", "sk_test_mock")),
            None,
        );
        bad.body = b"{not json".to_vec();
        let (r, _) = s.respond(&bad);
        assert_eq!(r.status, 400);
    }

    #[test]
    fn rate_limit_answers_429_with_optional_retry_after() {
        let s = server();
        s.config_mut().rate_limit = 2;
        assert_eq!(call(&s, "GET", "/api/v2/groups", None).0, 200);
        assert_eq!(call(&s, "GET", "/api/v2/groups", None).0, 200);
        let (st, v) = call(&s, "GET", "/api/v2/groups", None);
        assert_eq!(
            (st, v),
            (429, json!({"message": "Too Many Requests", "status": 429}))
        );
        let auth = basic("pk_test_mock", "sk_test_mock");
        let (r, _) = s.respond(&request("GET", "/api/v2/groups", Some(&auth), None));
        assert_eq!(r.header("Retry-After"), None);
        s.config_mut().retry_after = Some(3);
        let (r, _) = s.respond(&request("GET", "/api/v2/groups", Some(&auth), None));
        assert_eq!(r.header("Retry-After"), Some("3"));
        s.config_mut().retry_after_date = true;
        let (r, _) = s.respond(&request("GET", "/api/v2/groups", Some(&auth), None));
        assert!(r.header("Retry-After").unwrap().ends_with(" GMT"));
        // Another key has its own window.
        let (r, _) = s.respond(&request(
            "GET",
            "/api/v2/groups",
            Some(&basic("pk_live_mock", "sk_live_mock")),
            None,
        ));
        assert_eq!(r.status, 200);
    }

    #[test]
    fn request_log_records_without_secrets_and_control_is_not_logged() {
        let s = server();
        call(&s, "GET", "/api/v2/customers?limit=2&group=a%20b", None);
        call(&s, "POST", "/api/v2/actions", Some(json!({"type": "x"})));
        let (r, _) = s.respond(&request("GET", "/__mock/requests", None, None));
        let log: Value = serde_json::from_slice(&r.body).unwrap();
        let log = log.as_array().unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0]["seq"], 1);
        assert_eq!(log[0]["path"], "/api/v2/customers");
        assert_eq!(log[0]["query"], "limit=2&group=a%20b");
        assert_eq!(log[0]["params"], json!({"limit": "2", "group": "a b"}));
        assert_eq!(log[0]["public_key"], "pk_test_mock");
        assert_eq!(log[0]["auth_scheme"], "basic");
        assert_eq!(log[0]["status"], 200);
        assert_eq!(log[0]["fault"], Value::Null);
        assert_eq!(log[0]["body"], Value::Null);
        assert_eq!(log[1]["body"], json!({"type": "x"}));
        assert_eq!(log[1]["status"], 400);
        assert!(!String::from_utf8_lossy(&r.body).contains("sk_test_mock"));
        s.respond(&request("DELETE", "/__mock/requests", None, None));
        assert!(s.log().entries().is_empty());
    }

    #[test]
    fn faults_are_applied_and_logged() {
        let s = server();
        let (r, _) = s.respond(&request(
            "POST",
            "/__mock/faults",
            None,
            Some(json!({"faults": [
                {"kind": "status", "status": 503, "count": 1, "path_prefix": "/api/v2/customers"},
                {"kind": "empty_has_more", "path_prefix": "/api/v2/groups", "count": 1},
                {"kind": "truncate", "path_prefix": "/api/v2/deals", "count": 1}
            ]})),
        ));
        assert_eq!(r.status, 200);
        let (st, v) = call(&s, "GET", "/api/v2/customers", None);
        assert_eq!(
            (st, v),
            (
                503,
                json!({"message": "Service Unavailable", "status": 503})
            )
        );
        assert_eq!(call(&s, "GET", "/api/v2/customers", None).0, 200);
        let (st, v) = call(&s, "GET", "/api/v2/groups", None);
        assert_eq!(st, 200);
        assert_eq!(v["data"]["items"], json!([]));
        assert_eq!(v["data"]["has_more"], true);
        let auth = basic("pk_test_mock", "sk_test_mock");
        let (_, d) = s.respond(&request("GET", "/api/v2/deals", Some(&auth), None));
        assert_eq!(d, Delivery::Truncate);
        let faults: Vec<Value> = s.log().entries().iter().map(|e| json!(e.fault)).collect();
        assert_eq!(
            faults,
            vec![
                json!("status"),
                json!(null),
                json!("empty_has_more"),
                json!("truncate")
            ]
        );
        // Control paths are never faulted.
        s.respond(&request(
            "POST",
            "/__mock/faults",
            None,
            Some(json!({"faults": [{"kind": "status"}]})),
        ));
        let (r, _) = s.respond(&request("GET", "/__mock/config", None, None));
        assert_eq!(r.status, 200);
        let (r, _) = s.respond(&request(
            "POST",
            "/__mock/faults",
            None,
            Some(json!({"faults": [{"kind": "nope"}]})),
        ));
        assert_eq!(r.status, 400);
    }

    #[test]
    fn repeat_cursor_fault_repeats_the_previous_page() {
        let s = server();
        let (_, p1) = call(&s, "GET", "/api/v2/transactions?limit=5", None);
        let last = p1["data"]["items"][4]["key"].as_str().unwrap().to_string();
        s.faults()
            .replace(vec![
                serde_json::from_value(json!({"kind": "repeat_cursor"})).unwrap(),
            ])
            .unwrap();
        let enc = last
            .replace(' ', "%20")
            .replace('/', "%2F")
            .replace('#', "%23")
            .replace('&', "%26");
        let (_, p2) = call(
            &s,
            "GET",
            &format!("/api/v2/transactions?limit=5&starting_after={enc}"),
            None,
        );
        assert_eq!(p2["data"]["items"], p1["data"]["items"]);
        assert_eq!(p2["data"]["has_more"], true);
    }

    #[test]
    fn s2s_creates_a_readable_customer_with_an_empty_200() {
        let s = server();
        let body = json!({"xid": "click_1", "customer_key": "s2s-cust 1", "email": "s@x.io"});
        let mut req = request(
            "POST",
            "/conversion/xid",
            Some("Bearer s2s_test_mock"),
            Some(body.clone()),
        );
        let (r, _) = s.respond(&req);
        assert_eq!(r.status, 200);
        assert!(r.body.is_empty());
        let (st, v) = call(&s, "GET", "/api/v2/customers/s2s-cust%201", None);
        assert_eq!(st, 200);
        assert_eq!(v["data"]["email"], "s@x.io");
        let first = s.store_read().partnerships.row(0).key.to_string();
        assert_eq!(v["data"]["partnership_key"], first.as_str());
        // Duplicate: still 200, nothing new.
        let (r, _) = s.respond(&req);
        assert_eq!((r.status, r.body.len()), (200, 0));
        req.headers = vec![(
            "authorization".into(),
            basic("pk_test_mock", "sk_test_mock"),
        )];
        assert_eq!(s.respond(&req).0.status, 401);
        let bad = request(
            "POST",
            "/conversion/xid",
            Some("Bearer s2s_test_mock"),
            Some(json!({"xid": "x"})),
        );
        let (r, _) = s.respond(&bad);
        assert_eq!(r.status, 400);
        let log = s.log();
        assert_eq!(log.entries()[0].auth_scheme.as_deref(), Some("bearer"));
        assert_eq!(log.entries()[0].public_key, None);
    }

    #[test]
    fn reset_restores_data_and_config() {
        let s = server();
        call(
            &s,
            "DELETE",
            &format!("/api/v2/webhooks/{}", s.store_read().webhooks.row(0).key),
            None,
        );
        s.config_mut().latency_ms = 5;
        s.respond(&request("POST", "/__mock/reset", None, None));
        let (_, v) = call(&s, "GET", "/api/v2/webhooks", None);
        assert_eq!(v["data"]["total"], 5);
        assert_eq!(s.config().latency_ms, 0);
    }

    #[test]
    fn omit_total_leaves_the_total_out_of_lists() {
        let s = server();
        s.config_mut().omit_total = true;
        let (_, v) = call(&s, "GET", "/api/v2/webhooks?limit=1", None);
        assert_eq!(v["data"]["items"].as_array().unwrap().len(), 1);
        assert!(v["data"].get("total").is_none(), "{v}");
        s.config_mut().omit_total = false;
        let (_, v) = call(&s, "GET", "/api/v2/webhooks?limit=1", None);
        assert_eq!(v["data"]["total"], 5);
    }
}
