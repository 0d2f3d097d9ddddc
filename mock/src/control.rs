//! The control API under `/__mock/` (no auth, never logged, never faulted).
//!
//! - `GET /__mock/requests`, `DELETE /__mock/requests`: the request log
//! - `GET /__mock/config`, `POST /__mock/config`: runtime configuration
//! - `GET /__mock/faults`, `POST /__mock/faults`, `DELETE /__mock/faults`: fault list
//! - `POST /__mock/reset`: data, log, faults, rate-limit windows and config back to start

use crate::envelope;
use crate::faults::FaultSpec;
use crate::http::{Request, Response};
use crate::server::Server;
use serde_json::{Value, json};

/// Path prefix of the control API.
pub const PREFIX: &str = "/__mock";

/// Whether a raw path belongs to the control API.
pub fn is_control(path: &str) -> bool {
    path == PREFIX || path.starts_with("/__mock/")
}

fn ok(v: Value) -> Response {
    Response::json_value(200, &v)
}

/// Answers a control request.
pub fn handle(server: &Server, req: &Request) -> Response {
    let path = req.path.trim_end_matches('/');
    match (req.method.as_str(), path) {
        ("GET", "/__mock/requests") => {
            let log = server.log();
            Response::json(
                200,
                serde_json::to_vec(log.entries()).expect("log entries serialize"),
            )
        }
        ("DELETE", "/__mock/requests") => {
            server.log().clear();
            envelope::bare(200, "Request log cleared")
        }
        ("GET", "/__mock/config") => ok(json!(server.config())),
        ("POST" | "PATCH", "/__mock/config") => {
            let patch: Value = match serde_json::from_slice(&req.body) {
                Ok(v) => v,
                Err(e) => return envelope::bare(400, &format!("Malformed JSON body: {e}")),
            };
            let mut cfg = server.config_mut();
            match cfg.apply(&patch) {
                Ok(()) => ok(json!(*cfg)),
                Err(e) => envelope::bare(400, &e),
            }
        }
        ("GET", "/__mock/faults") => ok(json!({"faults": server.faults().describe()})),
        ("POST" | "PUT", "/__mock/faults") => {
            let v: Value = match serde_json::from_slice(&req.body) {
                Ok(v) => v,
                Err(e) => return envelope::bare(400, &format!("Malformed JSON body: {e}")),
            };
            // `{"faults": [...]}`; a bare array is accepted too.
            let list = match v {
                Value::Object(mut m) => m.remove("faults").unwrap_or(Value::Array(vec![])),
                other => other,
            };
            let specs: Vec<FaultSpec> = match serde_json::from_value(list) {
                Ok(s) => s,
                Err(e) => return envelope::bare(400, &format!("Invalid fault list: {e}")),
            };
            let mut faults = server.faults();
            match faults.replace(specs) {
                Ok(()) => ok(json!({"faults": faults.describe()})),
                Err(e) => envelope::bare(400, &e),
            }
        }
        ("DELETE", "/__mock/faults") => {
            server.faults().clear();
            envelope::bare(200, "Faults cleared")
        }
        ("POST", "/__mock/reset") => {
            server.reset();
            envelope::bare(200, "Mock reset")
        }
        _ => envelope::status(404),
    }
}
