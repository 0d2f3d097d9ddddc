//! The bundled mock, started over real HTTP for the tests of this directory: its launcher,
//! its control API (faults, config, request log) and a client with fast retries.
//! Each test file uses what it needs of it.
#![allow(dead_code)]

use partnerstack_api::{Client, ClientConfig, Stats};
use partnerstack_mock::launcher::{Launcher, MockProcess};
use serde_json::{Value as Json, json};

/// Backoff in tests: short, so retried requests do not slow the suite down.
const TEST_RETRY_BASE_MS: u64 = 5;

/// A mock process on a free port, killed on drop.
pub struct Mock {
    process: MockProcess,
    http: reqwest::blocking::Client,
}

impl Mock {
    pub fn start(args: &[&str]) -> Mock {
        let process = Launcher::new()
            .args(args)
            .start()
            .unwrap_or_else(|e| panic!("start the mock: {e}"));
        Mock {
            process,
            http: reqwest::blocking::Client::new(),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        self.process.base_url()
    }

    pub fn client(&self) -> Client {
        let mut config = ClientConfig::new(
            &format!("{}/api/v2", self.base()),
            "pk_test_mock",
            "sk_test_mock",
        );
        config.retry_base_ms = TEST_RETRY_BASE_MS;
        config.s2s_url = self.base();
        config.s2s_token = Some("s2s_test_mock".into());
        Client::new(config).unwrap()
    }

    pub fn control(&self, method: reqwest::Method, path: &str, body: Option<Json>) -> Json {
        let mut request = self
            .http
            .request(method, format!("{}/__mock/{path}", self.base()));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let text = request.send().unwrap().text().unwrap();
        serde_json::from_str(&text).unwrap_or(Json::Null)
    }

    pub fn faults(&self, faults: Json) {
        self.control(
            reqwest::Method::POST,
            "faults",
            Some(json!({ "faults": faults })),
        );
    }

    /// `METHOD path status` of every API request since the last clear.
    pub fn requests(&self) -> Vec<String> {
        let log = self.control(reqwest::Method::GET, "requests", None);
        log.as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let query = e["query"].as_str().unwrap_or("");
                let query = if query.is_empty() {
                    String::new()
                } else {
                    format!("?{query}")
                };
                format!(
                    "{} {}{query} {}",
                    e["method"].as_str().unwrap(),
                    e["path"].as_str().unwrap(),
                    e["status"]
                )
            })
            .collect()
    }

    pub fn clear_requests(&self) {
        self.control(reqwest::Method::DELETE, "requests", None);
    }

    /// A field of the first item of a list.
    pub fn first(&self, client: &Client, path: &str, field: &str) -> String {
        let page = client
            .list_page(path, &[("limit".into(), "1".into())], &mut Stats::default())
            .unwrap();
        let item: Json = serde_json::from_str(page.items[0].get()).unwrap();
        item[field].as_str().unwrap().to_owned()
    }
}
