//! Reads against the bundled mock over real HTTP: which failures of a GET are asked again
//! (with the wait the server asks for, in either form of `Retry-After`), and that a scan whose
//! pages were retried still returns every row exactly once. What is not a failure of the way
//! there (an answer that is whole but wrong) stays an error at once.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use partnerstack_api::pushdown::RequestKind;
use partnerstack_api::{ApiError, Client, Request, Scan, Stats};
use serde_json::json;

mod support;
use support::Mock;

/// Transactions the scans read: four pages of 250 and a short one.
const ROWS: usize = 1_100;

fn scan_transactions() -> Request {
    Request {
        kind: RequestKind::List,
        path: "/transactions".into(),
        params: Vec::new(),
        path_parameter: None,
        created: None,
    }
}

/// Every key of a full scan of transactions, in order, and the scan's counters.
fn scan_keys(client: &Client) -> Result<(Vec<String>, Stats), ApiError> {
    let mut scan = Scan::new(vec![scan_transactions()], 250);
    let mut keys = Vec::new();
    while let Some(item) = scan.next_item(client)? {
        keys.push(item.key().expect("a key").into_owned());
    }
    Ok((keys, scan.stats))
}

/// The scan returns each of the mock's `ROWS` transactions exactly once.
fn assert_every_row_once(keys: &[String]) {
    let distinct: HashSet<&String> = keys.iter().collect();
    assert_eq!(distinct.len(), keys.len(), "a row came twice");
    assert_eq!(keys.len(), ROWS, "rows were lost");
}

/// `status` of every request, in order, with the fault that made it when one did
/// (`200 invalid_json`); a hung request has no status (`null hang`).
fn answers(mock: &Mock) -> Vec<String> {
    let log = mock.control(reqwest::Method::GET, "requests", None);
    log.as_array()
        .unwrap()
        .iter()
        .map(|r| match r["fault"].as_str() {
            Some(fault) => format!("{} {fault}", r["status"]),
            None => r["status"].to_string(),
        })
        .collect()
}

#[test]
fn a_429_with_an_http_date_retry_after_is_waited_for_then_retried() {
    let mock = Mock::start(&["--retry-after-date"]);
    let client = mock.client();
    // The header as sent: an IMF-fixdate, not seconds.
    mock.faults(json!([{"kind": "status", "status": 429, "retry_after": 2, "count": 1}]));
    let answer = reqwest::blocking::Client::new()
        .get(format!("{}/api/v2/groups", mock.base()))
        .basic_auth("pk_test_mock", Some("sk_test_mock"))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 429);
    let header = answer.headers()["retry-after"].to_str().unwrap().to_owned();
    assert!(
        header.ends_with(" GMT") && header.contains(", "),
        "{header}"
    );

    // The client waits until that date (two seconds ahead, rounded up to the whole second;
    // its own backoff would be a few ms), then sends the GET again.
    mock.clear_requests();
    mock.faults(json!([{"kind": "status", "status": 429, "retry_after": 2, "count": 1}]));
    let mut stats = Stats::default();
    let started = Instant::now();
    let page = client.list_page("/groups", &[], &mut stats).unwrap();
    let waited = started.elapsed();
    assert!(!page.items.is_empty());
    assert_eq!(
        mock.requests(),
        ["GET /api/v2/groups 429", "GET /api/v2/groups 200"]
    );
    assert_eq!(stats.retries, 1);
    assert!(
        (Duration::from_millis(1_800)..Duration::from_secs(10)).contains(&waited),
        "{waited:?}"
    );

    // retry_max_ms still caps the wait, however far ahead the date.
    let mut config = client.config().clone();
    config.retry_max_ms = 300;
    let capped = Client::new(config).unwrap();
    mock.faults(json!([{"kind": "status", "status": 429, "retry_after": 3_600, "count": 1}]));
    let started = Instant::now();
    capped
        .list_page("/groups", &[], &mut Stats::default())
        .unwrap();
    let waited = started.elapsed();
    assert!(
        (Duration::from_millis(280)..Duration::from_secs(3)).contains(&waited),
        "{waited:?}"
    );
}

#[test]
fn a_page_that_is_not_valid_json_is_asked_again_and_every_row_arrives_once() {
    let mock = Mock::start(&["--size", &format!("transactions={ROWS}")]);
    let client = mock.client();
    // Every second request for a page gets a 200 whose body is not JSON.
    mock.faults(json!([
        {"kind": "invalid_json", "every": 2, "path_prefix": "/api/v2/transactions"}
    ]));
    let (keys, stats) = scan_keys(&client).unwrap();
    assert_every_row_once(&keys);
    let garbled = "200 invalid_json";
    assert_eq!(
        answers(&mock),
        [
            "200", garbled, "200", garbled, "200", garbled, "200", garbled, "200"
        ],
        "five pages, each but the first after one garbled answer"
    );
    assert_eq!((stats.pages, stats.retries), (5, 4));
}

#[test]
fn a_page_that_hangs_past_timeout_ms_is_asked_again_and_every_row_arrives_once() {
    let mock = Mock::start(&["--size", &format!("transactions={ROWS}")]);
    let mut config = mock.client().config().clone();
    config.timeout_ms = 300;
    let client = Client::new(config).unwrap();
    mock.faults(json!([
        {"kind": "hang", "every": 2, "path_prefix": "/api/v2/transactions"}
    ]));
    let (keys, stats) = scan_keys(&client).unwrap();
    assert_every_row_once(&keys);
    let hung = "null hang";
    assert_eq!(
        answers(&mock),
        ["200", hung, "200", hung, "200", hung, "200", hung, "200"],
    );
    assert_eq!((stats.pages, stats.retries), (5, 4));
}

#[test]
fn retries_run_out_into_the_error_a_user_sees() {
    let mock = Mock::start(&[]);
    let mut config = mock.client().config().clone();
    config.timeout_ms = 300;
    config.max_retries = 2;
    let client = Client::new(config).unwrap();

    mock.faults(json!([{"kind": "invalid_json", "path_prefix": "/api/v2/groups"}]));
    let err = client
        .list_page("/groups", &[], &mut Stats::default())
        .unwrap_err();
    assert!(err.to_string().contains("not valid JSON"), "{err}");
    assert_eq!(mock.requests().len(), 3, "one request and two retries");

    mock.clear_requests();
    mock.faults(json!([{"kind": "hang", "path_prefix": "/api/v2/groups"}]));
    let err = client
        .list_page("/groups", &[], &mut Stats::default())
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Timeout {
                which: "timeout_ms",
                timeout_ms: 300,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(mock.requests().len(), 3, "one request and two retries");
}

#[test]
fn answers_that_are_whole_but_wrong_are_errors_at_once() {
    let mock = Mock::start(&["--size", &format!("transactions={ROWS}")]);
    let mut config = mock.client().config().clone();
    config.max_response_bytes = 1 << 20;
    let client = Client::new(config).unwrap();
    let api = "/api/v2/transactions";
    for (fault, message) in [
        // Valid JSON, not the list envelope: the error envelope with a 200.
        (
            json!({"kind": "status", "status": 200, "path_prefix": api}),
            "not the documented envelope",
        ),
        (
            json!({"kind": "oversize", "path_prefix": api}),
            "larger than max_response_bytes",
        ),
        (
            json!({"kind": "empty_has_more", "path_prefix": api}),
            "an empty page says has_more: true",
        ),
        (
            json!({"kind": "repeat_cursor", "path_prefix": api, "every": 2}),
            "came back a second time",
        ),
    ] {
        mock.clear_requests();
        mock.faults(json!([fault]));
        let err = scan_keys(&client).expect_err(message).to_string();
        assert!(err.contains(message), "{fault}: {err}");
        let sent = mock.requests().len();
        let expected = if fault["kind"] == "repeat_cursor" {
            2
        } else {
            1
        };
        assert_eq!(sent, expected, "{fault}: not asked again");
    }
}
