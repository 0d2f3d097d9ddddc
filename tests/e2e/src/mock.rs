//! The local PartnerStack mock (`partnerstack-mock`), one process per [`Mock`] value.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::http::{self, HttpResponse};
use crate::rundir::{register_child, run_dir};

/// The key pair the mock accepts when started without `--key`.
pub const DEFAULT_PUBLIC_KEY: &str = "pk_test_mock";
/// The secret half of [`DEFAULT_PUBLIC_KEY`].
pub const DEFAULT_PRIVATE_KEY: &str = "sk_test_mock";

/// The path of the Vendor API under the mock's address.
pub const API_PREFIX: &str = "/api/v2";

/// The API's largest page; listing everything with it takes the fewest requests.
pub const MAX_PAGE_SIZE: u32 = 250;

/// How long the mock may take to print its `listening on` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

static NEXT_MOCK: AtomicU32 = AtomicU32::new(1);

/// A running mock; the process is killed when this value is dropped.
#[derive(Debug)]
pub struct Mock {
    child: Child,
    port: u16,
    stderr_path: PathBuf,
}

/// The mock binary: `$PARTNERSTACK_MOCK_BIN`, else the newer of
/// `<target dir>/release/partnerstack-mock` and `<target dir>/debug/partnerstack-mock`.
/// The target dir is `$CARGO_TARGET_DIR`, else the one this test binary was built into.
pub fn mock_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("PARTNERSTACK_MOCK_BIN") {
        let bin = PathBuf::from(bin);
        assert!(
            bin.is_file(),
            "PARTNERSTACK_MOCK_BIN={} is not a file",
            bin.display()
        );
        return bin;
    }
    let mut target_dirs = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        target_dirs.push(PathBuf::from(dir));
    }
    // <target>/<profile>/deps/<test binary>
    if let Some(target) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(PathBuf::from))
    {
        target_dirs.push(target);
    }
    target_dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));

    let mut candidates: Vec<(SystemTime, PathBuf)> = Vec::new();
    for target in &target_dirs {
        for profile in ["release", "debug"] {
            let bin = target.join(profile).join("partnerstack-mock");
            if let Ok(meta) = std::fs::metadata(&bin)
                && meta.is_file()
            {
                candidates.push((meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), bin));
            }
        }
        if !candidates.is_empty() {
            break;
        }
    }
    candidates.sort();
    candidates.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "partnerstack-mock binary not found under {}; build it first:\n    \
             cargo build --release -p partnerstack-mock\n\
             or point PARTNERSTACK_MOCK_BIN at it",
            target_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

impl Mock {
    /// Starts the mock with its defaults (`--port 0`).
    pub fn start() -> Mock {
        Mock::start_with(&[])
    }

    /// Starts the mock with `--port 0` plus `args`, e.g.
    /// `&["--seed", "7", "--size", "customers=600", "--rate-limit", "5"]`.
    pub fn start_with(args: &[&str]) -> Mock {
        let bin = mock_binary();
        let n = NEXT_MOCK.fetch_add(1, Ordering::Relaxed);
        let stderr_path = run_dir().join(format!("mock-{n}.stderr"));
        let stderr = std::fs::File::create(&stderr_path).expect("cannot create the mock's log");
        let mut child = Command::new(&bin)
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        register_child(child.id());

        // Read the port line on a thread so a silent mock fails the test instead of hanging it;
        // the thread then keeps draining stdout so the mock never blocks on a full pipe.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = rx.recv_timeout(STARTUP_TIMEOUT).unwrap_or_default();
        let port = line
            .trim()
            .strip_prefix("listening on 127.0.0.1:")
            .and_then(|p| p.parse::<u16>().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let status = child.wait().ok();
            let mut log = String::new();
            if let Ok(mut f) = std::fs::File::open(&stderr_path) {
                let _ = f.read_to_string(&mut log);
            }
            panic!(
                "{} {:?} did not print `listening on 127.0.0.1:<port>` (got {line:?}, exit \
                 {status:?}); its stderr:\n{log}",
                bin.display(),
                args
            );
        };
        Mock {
            child,
            port,
            stderr_path,
        }
    }

    /// The mock's TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
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
        http::request(self.port, method, path_and_query, basic_auth, body).unwrap_or_else(|e| {
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

    /// The logged requests that are not GETs, as `METHOD path status`, oldest first.
    pub fn writes(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter(|r| r["method"] != "GET")
            .map(|r| {
                format!(
                    "{} {} {}",
                    r["method"].as_str().unwrap_or_default(),
                    r["path"].as_str().unwrap_or_default(),
                    r["status"]
                )
            })
            .collect()
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

    /// Every item of a list endpoint, following `starting_after` cursors with
    /// `limit=250`. `path_and_query` is like `/customers` or `/customers?min_updated=0`.
    /// Logged by the mock like [`Mock::raw_get`].
    pub fn list_all(&self, path_and_query: &str) -> Vec<Value> {
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
            let page = self.raw_get(&url);
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

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
