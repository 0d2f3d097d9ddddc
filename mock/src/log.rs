//! The request log served by `GET /__mock/requests`.
//!
//! Tests assert on exactly what the FDW sent: path (still percent-encoded), query,
//! decoded parameters, body, which public key and scheme. The secret key is never kept.

use serde::Serialize;
use serde_json::{Map, Value};

/// One API request as received, plus what was answered.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogEntry {
    /// Arrival number, from 1 after start or after a clear.
    pub seq: u64,
    /// Request method.
    pub method: String,
    /// Raw path, percent-encoded, without the query.
    pub path: String,
    /// Raw query string or "".
    pub query: String,
    /// Decoded query parameters (the last value wins for repeated names).
    pub params: Map<String, Value>,
    /// Parsed JSON body, or null (no body or not JSON).
    pub body: Value,
    /// Basic-auth username, or null.
    pub public_key: Option<String>,
    /// `basic`, `bearer`, another lower-cased scheme, or null.
    pub auth_scheme: Option<String>,
    /// HTTP status answered (null when the request was never answered: `hang`).
    pub status: Option<u16>,
    /// Name of the injected fault, or null.
    pub fault: Option<String>,
    /// Wall-clock arrival time, epoch ms.
    pub ts_ms: i64,
}

/// All entries since start or the last clear.
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: Vec<LogEntry>,
    last_seq: u64,
}

impl RequestLog {
    /// Reserves the next sequence number (at arrival, so the log keeps arrival order
    /// even when a slow request finishes after a later one).
    pub fn next_seq(&mut self) -> u64 {
        self.last_seq += 1;
        self.last_seq
    }

    /// Stores an entry.
    pub fn push(&mut self, entry: LogEntry) {
        let pos = self.entries.partition_point(|e| e.seq < entry.seq);
        self.entries.insert(pos, entry);
    }

    /// Entries in arrival order.
    pub fn entries(&self) -> &[LogEntry] {
        &self.entries
    }

    /// Drops all entries and restarts numbering at 1.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.last_seq = 0;
    }
}

/// Decoded parameters as a JSON object.
pub fn params_object(params: &[(String, String)]) -> Map<String, Value> {
    params
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64) -> LogEntry {
        LogEntry {
            seq,
            method: "GET".into(),
            path: "/api/v2/customers".into(),
            query: String::new(),
            params: Map::new(),
            body: Value::Null,
            public_key: None,
            auth_scheme: None,
            status: Some(200),
            fault: None,
            ts_ms: 0,
        }
    }

    #[test]
    fn keeps_arrival_order_and_restarts_after_clear() {
        let mut log = RequestLog::default();
        let a = log.next_seq();
        let b = log.next_seq();
        log.push(entry(b));
        log.push(entry(a));
        let seqs: Vec<u64> = log.entries().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![1, 2]);
        log.clear();
        assert!(log.entries().is_empty());
        assert_eq!(log.next_seq(), 1);
    }

    #[test]
    fn params_last_value_wins() {
        let p = params_object(&[("a".into(), "1".into()), ("a".into(), "2".into())]);
        assert_eq!(p["a"], "2");
    }
}
