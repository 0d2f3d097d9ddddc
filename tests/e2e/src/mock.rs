//! The local PartnerStack mock (`partnerstack-mock`), one process per [`Mock`] value.

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use partnerstack_mock::launcher::{self, Launcher, MockProcess};
use serde_json::Value;

use crate::http::{self, HttpResponse};
use crate::rundir::{register_child, run_dir};

/// The key pair the mock accepts when started without `--key`.
pub const DEFAULT_PUBLIC_KEY: &str = "pk_test_mock";
/// The secret half of [`DEFAULT_PUBLIC_KEY`].
pub const DEFAULT_PRIVATE_KEY: &str = "sk_test_mock";

/// The Partner API key the mock accepts as Bearer by default (`--partner-key`).
pub const DEFAULT_PARTNER_API_KEY: &str = "pak_test_mock";

/// The path of the Vendor API under the mock's address.
pub const API_PREFIX: &str = "/api/v2";

/// The API's largest page; listing everything with it takes the fewest requests.
pub const MAX_PAGE_SIZE: u32 = 250;

static NEXT_MOCK: AtomicU32 = AtomicU32::new(1);

/// A running mock; the process is killed when this value is dropped.
#[derive(Debug)]
pub struct Mock {
    process: MockProcess,
    stderr_path: PathBuf,
}

/// The mock binary: `$PARTNERSTACK_MOCK_BIN`, else built once per test process for this test
/// binary's profile and target directory (see [`partnerstack_mock::launcher::binary`]).
pub fn mock_binary() -> PathBuf {
    launcher::binary().to_path_buf()
}

impl Mock {
    /// Starts the mock with its defaults (`--port 0`).
    pub fn start() -> Mock {
        Mock::start_with(&[])
    }

    /// Starts the mock with `--port 0` plus `args`, e.g.
    /// `&["--seed", "7", "--size", "customers=600", "--rate-limit", "5"]`.
    pub fn start_with(args: &[&str]) -> Mock {
        let n = NEXT_MOCK.fetch_add(1, Ordering::Relaxed);
        let stderr_path = run_dir().join(format!("mock-{n}.stderr"));
        let stderr = std::fs::File::create(&stderr_path).expect("cannot create the mock's log");
        let started = Launcher::new()
            .args(args)
            .stderr(stderr)
            .start_with(register_child);
        match started {
            Ok(process) if process.addr().ip() == std::net::Ipv4Addr::LOCALHOST => Mock {
                process,
                stderr_path,
            },
            Ok(process) => panic!(
                "the mock {args:?} listens on {}, not on 127.0.0.1",
                process.addr()
            ),
            Err(e) => {
                let mut log = String::new();
                if let Ok(mut f) = std::fs::File::open(&stderr_path) {
                    let _ = f.read_to_string(&mut log);
                }
                panic!(
                    "{} {args:?}: {e}; its stderr:\n{log}",
                    mock_binary().display()
                );
            }
        }
    }

    /// The mock's TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.process.port()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// `http://127.0.0.1:<port>/api/v2`: the value for the server's `api_url` option.
    pub fn api_url(&self) -> String {
        format!("{}{API_PREFIX}", self.base_url())
    }

    /// What the mock printed on stderr so far.
    pub fn stderr_log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Any request to the mock; `path_and_query` is sent as is (already percent-encoded).
    pub fn request(
        &self,
        method: &str,
        path_and_query: &str,
        basic_auth: Option<(&str, &str)>,
        body: Option<&Value>,
    ) -> HttpResponse {
        http::request(self.port(), method, path_and_query, basic_auth, body).unwrap_or_else(|e| {
            panic!(
                "{method} {path_and_query} to the mock failed: {e}; mock stderr:\n{}",
                self.stderr_log()
            )
        })
    }

    fn control(&self, method: &str, path: &str, body: Option<&Value>) -> HttpResponse {
        let r = self.request(method, path, None, body);
        assert!(
            (200..300).contains(&r.status),
            "{method} {path} answered {}: {}",
            r.status,
            r.text()
        );
        r
    }

    /// Every API request the mock has logged since start or the last
    /// [`Mock::clear_requests`], oldest first: objects with `seq, method, path, query, params,
    /// body, public_key, auth_scheme, status, fault, ts_ms`.
    pub fn requests(&self) -> Vec<Value> {
        match self.control("GET", "/__mock/requests", None).json() {
            Value::Array(items) => items,
            other => panic!("GET /__mock/requests did not return an array: {other}"),
        }
    }

    /// The logged requests whose `path` is `path` or lies under it. Paths compare relative to
    /// `/api/v2` whether or not either side carries it: `/customers` and
    /// `/api/v2/customers` select the same requests.
    pub fn requests_to(&self, path: &str) -> Vec<Value> {
        let wanted = api_relative(path).trim_end_matches('/').to_owned();
        self.requests()
            .into_iter()
            .filter(|r| {
                r["path"].as_str().is_some_and(|p| {
                    let p = api_relative(p).trim_end_matches('/');
                    p == wanted
                        || p.strip_prefix(&wanted)
                            .is_some_and(|rest| rest.starts_with('/'))
                })
            })
            .collect()
    }

    /// The logged GET requests relative to `/api/v2`, as `path?query` (the query as sent),
    /// oldest first.
    pub fn gets(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter(|r| r["method"] == "GET")
            .map(|r| {
                let path = api_relative(r["path"].as_str().unwrap_or_default());
                match r["query"].as_str().unwrap_or_default() {
                    "" => path.to_owned(),
                    q => format!("{path}?{q}"),
                }
            })
            .collect()
    }

    /// How many POSTs the mock logged since the last clear.
    pub fn post_count(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r["method"] == "POST")
            .count()
    }

    /// The `partner_key` of the first partnership (a partner new customers can be created for).
    pub fn a_partner_key(&self) -> String {
        self.list_all("/partnerships")[0]["partner_key"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A `customer_key` some customer already has (creating another customer with it is refused
    /// as a duplicate).
    pub fn a_taken_customer_key(&self) -> String {
        self.list_all("/customers")
            .iter()
            .find_map(|c| c["customer_key"].as_str().map(str::to_owned))
            .unwrap()
    }

    /// The logged requests that are not GETs, as `METHOD path status`, oldest first.
    pub fn writes(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter(|r| r["method"] != "GET")
            .map(request_line)
            .collect()
    }

    /// Every logged request, reads included, as `METHOD path status`, oldest first.
    pub fn request_lines(&self) -> Vec<String> {
        self.requests().iter().map(request_line).collect()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.control("DELETE", "/__mock/requests", None);
    }

    /// `POST /__mock/config`, e.g. `json!({"latency_ms": 50, "rate_limit": 5})`.
    pub fn config(&self, config: Value) {
        self.control("POST", "/__mock/config", Some(&config));
    }

    /// `POST /__mock/faults`: either `{"faults": [...]}` or a bare array of fault objects
    /// (`kind, path_prefix, method, count, every, probability, status, delay_ms, retry_after`).
    pub fn faults(&self, faults: Value) {
        let body = match faults {
            Value::Array(_) => serde_json::json!({ "faults": faults }),
            other => other,
        };
        self.control("POST", "/__mock/faults", Some(&body));
    }

    /// Removes every configured fault.
    pub fn clear_faults(&self) {
        self.control("DELETE", "/__mock/faults", None);
    }

    /// `GET` an API path with the default keys and returns the parsed body; panics unless the
    /// status is 200. `path_and_query` is relative to `/api/v2` (`/customers?limit=1`) unless it
    /// already starts with `/api/`. The mock logs this request like any other: call
    /// [`Mock::clear_requests`] afterwards when a test inspects the log.
    pub fn raw_get(&self, path_and_query: &str) -> Value {
        let r = self.raw_get_response(path_and_query);
        assert_eq!(
            r.status,
            200,
            "GET {path_and_query} answered {}: {}",
            r.status,
            r.text()
        );
        r.json()
    }

    /// Like [`Mock::raw_get`] but returns the response whatever its status.
    pub fn raw_get_response(&self, path_and_query: &str) -> HttpResponse {
        let path = if path_and_query.starts_with("/api/") {
            path_and_query.to_owned()
        } else {
            format!("{API_PREFIX}{path_and_query}")
        };
        self.request(
            "GET",
            &path,
            Some((DEFAULT_PUBLIC_KEY, DEFAULT_PRIVATE_KEY)),
            None,
        )
    }

    /// Every item of a Partner API list (`/payouts`, `/customers`, ...) read with the mock's
    /// default Partner API key as Bearer, following `starting_after` with `limit=250`. Logged by
    /// the mock like any request.
    pub fn partner_list_all(&self, path_and_query: &str) -> Vec<Value> {
        let bearer = format!("Bearer {DEFAULT_PARTNER_API_KEY}");
        walk_pages(path_and_query, |url| {
            let url = format!("{API_PREFIX}{url}");
            let r = http::request_with_authorization(self.port(), "GET", &url, Some(&bearer), None)
                .unwrap_or_else(|e| panic!("GET {url} to the mock failed: {e}"));
            assert_eq!(
                r.status,
                200,
                "GET {url} answered {}: {}",
                r.status,
                r.text()
            );
            r.json()
        })
    }

    /// Every item of a list endpoint, following `starting_after` cursors with
    /// `limit=250`. `path_and_query` is like `/customers` or `/customers?min_updated=0`.
    /// Logged by the mock like [`Mock::raw_get`].
    pub fn list_all(&self, path_and_query: &str) -> Vec<Value> {
        walk_pages(path_and_query, |url| self.raw_get(url))
    }
}

/// Every item of a list, following `starting_after` cursors with `limit=250`; `get` reads one
/// page of `path_and_query` plus the paging parameters.
fn walk_pages(path_and_query: &str, get: impl Fn(&str) -> Value) -> Vec<Value> {
    let separator = if path_and_query.contains('?') {
        '&'
    } else {
        '?'
    };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path_and_query}{separator}limit={MAX_PAGE_SIZE}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&starting_after={}", http::encode_query_value(c)));
        }
        let page = get(&url);
        let data = &page["data"];
        let batch = data["items"]
            .as_array()
            .unwrap_or_else(|| panic!("GET {url}: no data.items in {page}"));
        items.extend(batch.iter().cloned());
        let more = data["has_more"].as_bool().unwrap_or(false);
        match batch.last().and_then(|i| i["key"].as_str()) {
            Some(last) if more => cursor = Some(last.to_owned()),
            _ => return items,
        }
    }
}

/// `path` without a leading `/api/v2`.
fn api_relative(path: &str) -> &str {
    match path.strip_prefix(API_PREFIX) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') || rest.starts_with('?') => rest,
        _ => path,
    }
}

/// The value of query parameter `name` in a logged request: from `params` (string or number)
/// or else parsed out of the raw `query` string.
pub fn request_param(request: &Value, name: &str) -> Option<String> {
    match &request["params"][name] {
        Value::String(s) => return Some(s.clone()),
        Value::Number(n) => return Some(n.to_string()),
        Value::Bool(b) => return Some(b.to_string()),
        _ => {}
    }
    request["query"]
        .as_str()?
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == name).then(|| v.to_owned())
        })
}

/// A logged request as `METHOD path status`.
fn request_line(request: &Value) -> String {
    format!(
        "{} {} {}",
        request["method"].as_str().unwrap_or_default(),
        request["path"].as_str().unwrap_or_default(),
        request["status"]
    )
}
