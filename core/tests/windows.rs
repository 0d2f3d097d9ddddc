//! Lists read as `created_at` windows at once, against the mock over HTTP: every row exactly
//! once whatever the distribution of `created_at`, with and without `total`, while rows are
//! being created, and within a tenth more requests than a sequential read (plus a few).

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use partnerstack_api::pushdown::{MsRange, RequestKind};
use partnerstack_api::{Client, Request, Scan, Stats};
use serde_json::json;
use support::Mock;

const CONCURRENCY: usize = 8;
/// Small pages, so that a few thousand rows make lists worth cutting (20 pages or more).
const PAGE: u32 = 50;
const DAY_MS: i64 = 86_400_000;
/// 2026-01-01T00:00:00Z.
const NOW_MS: i64 = 1_767_225_600_000;

/// A mock with no transactions of its own and no rate limit (the tests create thousands).
fn empty_mock() -> Mock {
    Mock::start(&["--size", "transactions=0", "--rate-limit", "0"])
}

/// Creates one transaction per `created_at` value, through the API as a vendor would.
fn create_transactions(mock: &Mock, client: &Client, created: &[i64]) {
    let customer = mock.first(client, "/customers", "key");
    let http = reqwest::blocking::Client::new();
    for (i, &at) in created.iter().enumerate() {
        let answer = http
            .post(format!("{}/api/v2/transactions", mock.base()))
            .basic_auth("pk_test_mock", Some("sk_test_mock"))
            .header("content-type", "application/json")
            .body(
                json!({
                    "customer_key": customer,
                    "amount": 100 + i,
                    "currency": "USD",
                    "created_at": at,
                })
                .to_string(),
            )
            .send()
            .unwrap();
        assert_eq!(answer.status(), 200, "{}", answer.text().unwrap());
    }
}

fn transactions(range: MsRange) -> Request {
    let mut params = Vec::new();
    if let Some(min) = range.min {
        params.push(("min_created".to_owned(), min.to_string()));
    }
    if let Some(max) = range.max {
        params.push(("max_created".to_owned(), max.to_string()));
    }
    Request {
        kind: RequestKind::List,
        path: "/transactions".into(),
        params,
        path_parameter: None,
        created: Some(range),
    }
}

/// Every key a scan returns, in the order it returns them, and its counters.
fn keys(client: &Client, mut scan: Scan) -> (Vec<String>, Stats) {
    let mut keys = Vec::new();
    while let Some(item) = scan.next_item(client).unwrap() {
        keys.push(item.key().unwrap().into_owned());
    }
    (keys, scan.stats)
}

/// Reads `range` sequentially and as windows; both must return the same rows, each once, and
/// the windows at most a tenth more requests (plus one per stream). Returns the windowed
/// read's counters.
fn compare(client: &Client, range: MsRange, expected_rows: usize) -> Stats {
    compare_pages(client, range, expected_rows, PAGE)
}

fn compare_pages(client: &Client, range: MsRange, expected_rows: usize, page: u32) -> Stats {
    let (sequential, seq_stats) = keys(client, Scan::new(vec![transactions(range)], page));
    let (windowed, stats) = keys(
        client,
        Scan::concurrent(vec![transactions(range)], page, CONCURRENCY, true),
    );
    let distinct: HashSet<&String> = windowed.iter().collect();
    assert_eq!(distinct.len(), windowed.len(), "a row came twice");
    assert_eq!(windowed.len(), expected_rows, "rows were lost or added");
    let expected: HashSet<&String> = sequential.iter().collect();
    assert_eq!(
        distinct, expected,
        "the windows read other rows than the cursor"
    );
    eprintln!(
        "{range:?}: {} rows; {} requests against {} sequential; {} streams, peak {} in flight",
        windowed.len(),
        stats.requests,
        seq_stats.requests,
        stats.streams,
        stats.peak_in_flight
    );
    let ceiling = seq_stats.requests + seq_stats.requests / 10 + CONCURRENCY as u64;
    assert!(
        stats.requests <= ceiling,
        "{} requests against {} sequential",
        stats.requests,
        seq_stats.requests
    );
    stats
}

/// 4,000 rows a day apart, oldest first in time.
fn spread(n: usize) -> Vec<i64> {
    (0..n as i64).map(|i| NOW_MS - i * DAY_MS / 10).collect()
}

#[test]
fn a_spread_list_is_read_in_windows_every_row_once_with_and_without_total() {
    let mock = empty_mock();
    let client = mock.client();
    create_transactions(&mock, &client, &spread(4_000));
    for omit_total in [false, true] {
        mock.control(
            reqwest::Method::POST,
            "config",
            Some(json!({ "omit_total": omit_total })),
        );
        let stats = compare(&client, MsRange::default(), 4_000);
        assert!(
            stats.streams > 1,
            "no window was cut (total left out: {omit_total})"
        );
        assert!(stats.peak_in_flight > 1, "{stats:?}");
        // Bounded below: the windows cut the range into spans.
        let bounded = MsRange {
            min: Some(NOW_MS - 300 * DAY_MS),
            max: Some(NOW_MS),
        };
        // Rows 0..=3,000 are within 300 days (the bound is inclusive).
        let stats = compare(&client, bounded, 3_001);
        assert!(
            stats.streams > 1,
            "no window was cut (total left out: {omit_total})"
        );
    }
}

#[test]
fn a_year_of_nothing_then_a_burst_sharing_milliseconds_loses_and_repeats_nothing() {
    let mock = empty_mock();
    let client = mock.client();
    // One row a year ago, then 5,000 rows in half a second, ten to a millisecond, so that
    // every window boundary falls inside a millisecond shared by several rows.
    let mut created = vec![NOW_MS - 365 * DAY_MS];
    created.extend((0..5_000).map(|i| NOW_MS - i / 10));
    create_transactions(&mock, &client, &created);
    for omit_total in [false, true] {
        mock.control(
            reqwest::Method::POST,
            "config",
            Some(json!({ "omit_total": omit_total })),
        );
        let stats = compare(&client, MsRange::default(), 5_001);
        assert!(
            stats.streams > 1,
            "no window was cut (total left out: {omit_total})"
        );
        let bounded = MsRange {
            min: Some(NOW_MS - 400 * DAY_MS),
            max: None,
        };
        compare(&client, bounded, 5_001);
    }
}

#[test]
fn thousands_of_rows_in_one_millisecond_are_each_read_once() {
    let mock = empty_mock();
    let client = mock.client();
    let mut created = vec![NOW_MS; 3_000];
    created.extend([NOW_MS - DAY_MS, NOW_MS - 2 * DAY_MS]);
    create_transactions(&mock, &client, &created);
    let stats = compare(&client, MsRange::default(), 3_002);
    assert!(stats.streams > 1, "no window was cut");
}

#[test]
fn small_lists_stay_one_cursor() {
    let mock = empty_mock();
    let client = mock.client();
    create_transactions(&mock, &client, &spread(2_000));
    // Eight pages: two windows of ten pages cannot be had, so nothing is cut.
    let stats = compare_pages(&client, MsRange::default(), 2_000, 250);
    assert_eq!(stats.streams, 1);
    assert_eq!(stats.requests, 8);
}

#[test]
fn rows_created_during_the_scan_never_come_twice_and_none_before_it_is_lost() {
    let mock = empty_mock();
    let client = mock.client();
    create_transactions(&mock, &client, &spread(4_000));
    let (before, _) = keys(
        &client,
        Scan::new(vec![transactions(MsRange::default())], PAGE),
    );
    mock.control(
        reqwest::Method::POST,
        "config",
        Some(json!({"latency_ms": 5})),
    );

    // Meanwhile a writer creates rows: new ones (now) and backdated ones (any time).
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let base = mock.base();
        let customer = mock.first(&client, "/customers", "key");
        std::thread::spawn(move || {
            let http = reqwest::blocking::Client::new();
            let mut n = 0i64;
            while !stop.load(Ordering::Relaxed) {
                let at = if n % 2 == 0 {
                    NOW_MS + 1_000 + n
                } else {
                    NOW_MS - (n * 7_919 % 400) * DAY_MS / 10
                };
                http.post(format!("{base}/api/v2/transactions"))
                    .basic_auth("pk_test_mock", Some("sk_test_mock"))
                    .header("content-type", "application/json")
                    .body(
                        json!({"customer_key": customer, "amount": 1, "currency": "USD",
                               "created_at": at})
                        .to_string(),
                    )
                    .send()
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    let (during, stats) = keys(
        &client,
        Scan::concurrent(
            vec![transactions(MsRange::default())],
            PAGE,
            CONCURRENCY,
            true,
        ),
    );
    stop.store(true, Ordering::Relaxed);
    let created = writer.join().unwrap();
    assert!(created > 0, "the writer created nothing while the scan ran");
    assert!(stats.streams > 1, "no window was cut");
    let distinct: HashSet<&String> = during.iter().collect();
    assert_eq!(distinct.len(), during.len(), "a row came twice");
    let missing: Vec<&String> = before.iter().filter(|k| !distinct.contains(k)).collect();
    assert!(
        missing.is_empty(),
        "{} rows lost: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}

#[test]
fn lookups_run_at_once() {
    let mock = Mock::start(&["--latency-ms", "200", "--rate-limit", "0"]);
    let client = mock.client();
    let key = mock.first(&client, "/customers", "key");
    let requests: Vec<Request> = (0..16)
        .map(|_| Request {
            kind: RequestKind::Item,
            path: format!("/customers/{key}"),
            params: Vec::new(),
            path_parameter: None,
            created: None,
        })
        .collect();
    let started = std::time::Instant::now();
    let (got, stats) = keys(&client, Scan::concurrent(requests, PAGE, CONCURRENCY, true));
    let elapsed = started.elapsed();
    assert_eq!(got.len(), 16);
    assert_eq!((stats.streams, stats.peak_in_flight), (16, 8));
    // Two rounds of 200 ms, not sixteen.
    assert!(
        elapsed < std::time::Duration::from_millis(1_000),
        "{elapsed:?}"
    );
}
