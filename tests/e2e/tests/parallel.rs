//! Several requests in flight per statement (`max_concurrency`): list scans cut into
//! `created_at` windows, concurrent key lookups and writes, against the mock over HTTP. Each test
//! compares with `max_concurrency 1` (one request at a time) or with the mock's own data, and
//! checks the requests the mock logged.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use partnerstack_e2e::{Db, Mock, error_text};
use serde_json::json;

fn set_concurrency(db: &mut Db, n: usize) {
    db.batch_execute(&format!(
        "ALTER SERVER partnerstack_server OPTIONS (ADD max_concurrency '{n}')"
    ))
    .or_else(|_| {
        db.batch_execute(&format!(
            "ALTER SERVER partnerstack_server OPTIONS (SET max_concurrency '{n}')"
        ))
    })
    .unwrap();
}

fn keys(db: &mut Db, sql: &str) -> Vec<String> {
    db.query(sql, &[])
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}

/// `name=value` of EXPLAIN ANALYZE's `PartnerStack Concurrency` line.
fn explained(db: &mut Db, sql: &str, name: &str) -> u64 {
    let plan: Vec<String> = db
        .query(&format!("EXPLAIN (ANALYZE, COSTS OFF) {sql}"), &[])
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    let line = plan
        .iter()
        .find(|l| l.contains("PartnerStack Concurrency"))
        .unwrap_or_else(|| panic!("no concurrency line in {plan:#?}"));
    let value = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {line}"));
    value.parse().unwrap()
}

#[test]
fn a_long_list_is_read_in_windows_with_every_row_once_with_and_without_total() {
    let mock = Mock::start_with(&["--size", "transactions=20000", "--rate-limit", "0"]);
    let mut db = Db::with_partnerstack(&mock);
    let expected: HashSet<String> = mock
        .list_all("/transactions")
        .iter()
        .map(|t| t["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(expected.len(), 20_000);
    for omit_total in [false, true] {
        mock.config(json!({ "omit_total": omit_total }));
        mock.clear_requests();
        let got = keys(&mut db, "SELECT key FROM partnerstack.transactions");
        let distinct: HashSet<String> = got.iter().cloned().collect();
        assert_eq!(distinct.len(), got.len(), "a row came twice");
        assert_eq!(
            distinct, expected,
            "rows lost or added (total left out: {omit_total})"
        );
        // 80 pages read sequentially; windows add at most a tenth plus one per stream.
        let requests = mock.requests_to("/transactions").len();
        assert!((80..=80 + 8 + 8).contains(&requests), "{requests} requests");
        let windows: HashSet<(Option<String>, Option<String>)> = mock
            .requests_to("/transactions")
            .iter()
            .map(|r| {
                (
                    r["params"]["min_created"].as_str().map(str::to_owned),
                    r["params"]["max_created"].as_str().map(str::to_owned),
                )
            })
            .collect();
        assert!(windows.len() > 1, "one window only: {windows:?}");
        let sql = "SELECT key FROM partnerstack.transactions";
        assert!(explained(&mut db, sql, "streams") > 1);
        assert!(explained(&mut db, sql, "peak_in_flight") > 1);
    }
    // The same rows, one request at a time and one cursor.
    set_concurrency(&mut db, 1);
    mock.clear_requests();
    let sequential: HashSet<String> = keys(&mut db, "SELECT key FROM partnerstack.transactions")
        .into_iter()
        .collect();
    assert_eq!(sequential, expected);
    assert_eq!(mock.requests_to("/transactions").len(), 80);
    let sql = "SELECT key FROM partnerstack.transactions";
    assert_eq!(explained(&mut db, sql, "streams"), 1);
    assert_eq!(explained(&mut db, sql, "peak_in_flight"), 1);
}

#[test]
fn a_scan_into_a_small_limit_stays_one_request_at_a_time() {
    let mock = Mock::start_with(&["--size", "transactions=20000", "--rate-limit", "0"]);
    let mut db = Db::with_partnerstack(&mock);
    mock.clear_requests();
    let got = keys(
        &mut db,
        "SELECT key FROM partnerstack.transactions LIMIT 10",
    );
    assert_eq!(got.len(), 10);
    let requests = mock.requests_to("/transactions");
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0]["params"]["limit"], "10");
}

/// A LIMIT that Postgres applies itself after a local filter, answered by the first page:
/// nothing was read ahead, so one request, and none still on its way after the statement.
#[test]
fn a_statement_that_stops_within_the_first_page_sends_one_request() {
    let mock = Mock::start_with(&["--size", "transactions=20000", "--rate-limit", "0"]);
    let mut db = Db::with_partnerstack(&mock);
    set_concurrency(&mut db, 8);
    mock.config(json!({"latency_ms": 200}));
    mock.clear_requests();
    let got = keys(
        &mut db,
        "SELECT key FROM partnerstack.transactions WHERE currency IS NOT NULL LIMIT 40",
    );
    assert_eq!(got.len(), 40);
    std::thread::sleep(Duration::from_millis(600));
    let requests = mock.requests_to("/transactions");
    assert_eq!(requests.len(), 1, "{requests:#?}");
    // Past the first page the scan reads ahead in windows again.
    mock.config(json!({"latency_ms": 0}));
    let sql = "SELECT key FROM partnerstack.transactions WHERE currency IS NOT NULL LIMIT 1000";
    assert!(explained(&mut db, sql, "peak_in_flight") > 1);
}

#[test]
fn key_lookups_are_sent_at_once() {
    let mock = Mock::start_with(&["--rate-limit", "0"]);
    let mut db = Db::with_partnerstack(&mock);
    let wanted: Vec<String> = mock
        .list_all("/customers")
        .iter()
        .filter_map(|c| c["customer_key"].as_str().map(str::to_owned))
        .take(16)
        .collect();
    mock.config(json!({"latency_ms": 200}));
    mock.clear_requests();
    let started = Instant::now();
    let rows = db
        .query(
            "SELECT customer_key FROM partnerstack.customers WHERE customer_key = ANY($1)",
            &[&wanted],
        )
        .unwrap();
    let elapsed = started.elapsed();
    let got: HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(got, wanted.iter().cloned().collect::<HashSet<_>>());
    let gets = mock.requests_to("/customers");
    assert_eq!(gets.len(), 16, "one GET per key, none twice");
    // 16 GETs of 200 ms, 8 at a time: two rounds, not sixteen.
    assert!(elapsed < Duration::from_millis(1_600), "{elapsed:?}");
    let sql = format!(
        "SELECT key FROM partnerstack.customers WHERE customer_key IN ({})",
        wanted
            .iter()
            .map(|k| format!("'{}'", k.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert_eq!(explained(&mut db, &sql, "streams"), 16);
    assert_eq!(explained(&mut db, &sql, "peak_in_flight"), 8);
}

#[test]
fn a_multi_row_insert_keeps_several_requests_in_flight() {
    let mock = Mock::start_with(&["--rate-limit", "0"]);
    let mut db = Db::with_partnerstack(&mock);
    let partner = mock.a_partner_key();
    mock.config(json!({"latency_ms": 100}));
    mock.clear_requests();
    let started = Instant::now();
    let inserted = db
        .execute(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
             SELECT 'p' || i || '@example.org', $1, 'e2e-par-' || i FROM generate_series(1, 40) i",
            &[&partner],
        )
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(inserted, 40);
    let posts: Vec<String> = mock
        .requests()
        .iter()
        .filter(|r| r["method"] == "POST")
        .map(|r| {
            assert_eq!(r["status"], 200);
            r["body"]["customer_key"].as_str().unwrap().to_owned()
        })
        .collect();
    let distinct: HashSet<&String> = posts.iter().collect();
    assert_eq!(
        (posts.len(), distinct.len()),
        (40, 40),
        "each row sent once"
    );
    // 40 POSTs of 100 ms, eight at a time: about half a second, not four.
    assert!(elapsed < Duration::from_millis(1_500), "{elapsed:?}");
}

#[test]
fn a_failure_with_rows_in_flight_reports_every_row_exactly() {
    let mock = Mock::start_with(&["--rate-limit", "0"]);
    let mut db = Db::with_partnerstack(&mock);
    let partner = mock.a_partner_key();
    let existing = mock.a_taken_customer_key();
    // Answers 500 ms late: rows started before row 10's refusal arrived go out in the same
    // round as it; a row started after would reach the mock a round later.
    mock.config(json!({"latency_ms": 500}));
    mock.clear_requests();
    // Row 10 of 30 reuses an existing customer_key: the API refuses it with a 400.
    let err = db
        .execute(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
             SELECT 'f' || i || '@example.org', $1,
                    CASE WHEN i = 10 THEN $2 ELSE 'e2e-fail-' || i END
               FROM generate_series(1, 30) i",
            &[&partner, &existing],
        )
        .unwrap_err();
    let text = error_text(&err);
    let posts: Vec<(String, u64, u64)> = mock
        .requests()
        .iter()
        .filter(|r| r["method"] == "POST")
        .map(|r| {
            (
                r["body"]["customer_key"].as_str().unwrap().to_owned(),
                r["status"].as_u64().unwrap(),
                r["ts_ms"].as_u64().unwrap(),
            )
        })
        .collect();
    let sent: HashSet<&String> = posts.iter().map(|(k, _, _)| k).collect();
    assert_eq!(sent.len(), posts.len(), "a row was sent twice");
    let row_of = |key: &str| -> usize {
        if key == existing {
            10
        } else {
            key.strip_prefix("e2e-fail-").unwrap().parse().unwrap()
        }
    };
    // Nothing started once the refusal was known: every POST reached the mock before row 10's
    // answer (sent 500 ms after it arrived), give or take the backend's reaction time.
    let refused_at = posts
        .iter()
        .find(|(k, _, _)| row_of(k) == 10)
        .map(|(_, status, ts)| {
            assert_eq!(*status, 400);
            ts + 500
        })
        .unwrap();
    for (key, _, ts) in &posts {
        assert!(
            *ts < refused_at + 250,
            "row {} was sent {} ms after the refusal was known",
            row_of(key),
            ts - refused_at
        );
    }
    let accepted: Vec<&String> = posts
        .iter()
        .filter(|(_, status, _)| *status == 200)
        .map(|(k, _, _)| k)
        .collect();
    assert_eq!(accepted.len(), posts.len() - 1, "{posts:?}");
    assert!(
        text.contains(&format!(
            "row 10 of 30 failed after PartnerStack accepted {} row(s)",
            accepted.len()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("Not sent: rows {} to 30.", posts.len() + 1)),
        "{text}"
    );
    // Every accepted row is named by the key PartnerStack gave it.
    let given: HashMap<String, String> = mock
        .list_all("/customers")
        .iter()
        .filter_map(|c| {
            Some((
                c["customer_key"].as_str()?.to_owned(),
                c["key"].as_str()?.to_owned(),
            ))
        })
        .collect();
    // DETAIL names the accepted rows by the keys PartnerStack gave them: the first 20, then
    // "and N more".
    let named = accepted
        .iter()
        .filter(|customer_key| text.contains(given[customer_key.as_str()].as_str()))
        .count();
    assert_eq!(named, accepted.len().min(20), "{text}");
    if accepted.len() > 20 {
        assert!(
            text.contains(&format!("and {} more", accepted.len() - 20)),
            "{text}"
        );
    }
}

#[test]
fn rows_addressing_one_object_keep_their_statement_order() {
    let mock = Mock::start_with(&["--rate-limit", "0"]);
    let mut db = Db::with_partnerstack(&mock);
    let partner = mock.a_partner_key();
    db.batch_execute(
        "ALTER FOREIGN TABLE partnerstack.customers OPTIONS (ADD insert_mode 'upsert')",
    )
    .unwrap();
    mock.config(json!({"latency_ms": 50}));
    // Rows 1, 4 and 7 upsert the same customer_key; the others are new customers.
    db.execute(
        "INSERT INTO partnerstack.customers (email, partner_key, customer_key, name)
         SELECT 'o' || i || '@example.org', $1,
                CASE WHEN i % 3 = 1 THEN 'e2e-same' ELSE 'e2e-other-' || i END,
                'version ' || i
           FROM generate_series(1, 9) i",
        &[&partner],
    )
    .unwrap();
    let name: String = db.scalar(
        "SELECT name FROM partnerstack.customers WHERE customer_key = 'e2e-same'",
        &[],
    );
    assert_eq!(name, "version 7", "the last row of the statement wins");
    // The requests for e2e-same never overlapped: each arrived at least the mock's 50 ms
    // latency after the one before it (which had to be answered first).
    let mut same: Vec<(u64, u64)> = mock
        .requests()
        .iter()
        .filter(|r| r["method"] != "GET" && r.to_string().contains("e2e-same"))
        .map(|r| (r["seq"].as_u64().unwrap(), r["ts_ms"].as_u64().unwrap()))
        .collect();
    same.sort_unstable();
    assert!(same.len() >= 3, "{same:?}");
    for pair in same.windows(2) {
        assert!(pair[1].1 >= pair[0].1 + 45, "overlapping writes: {same:?}");
    }
}

#[test]
fn two_rows_with_one_own_key_are_sent_in_statement_order() {
    let mock = Mock::start_with(&["--rate-limit", "0"]);
    let mut db = Db::with_partnerstack(&mock);
    let customer = mock.list_all("/customers")[0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    mock.config(json!({"latency_ms": 50}));
    mock.clear_requests();
    let err = db
        .execute(
            "INSERT INTO partnerstack.transactions (key, amount, currency, customer_key)
             VALUES ('e2e-own-key', 100, 'USD', $1), ('e2e-other', 150, 'USD', $1),
                    ('e2e-own-key', 200, 'USD', $1)",
            &[&customer],
        )
        .unwrap_err();
    let text = error_text(&err);
    assert!(
        text.contains("row 3 of 3 failed after PartnerStack accepted 2 row(s)"),
        "{text}"
    );
    let own: Vec<(u64, u64)> = mock
        .requests()
        .iter()
        .filter(|r| r["method"] == "POST" && r["body"]["key"] == "e2e-own-key")
        .map(|r| {
            (
                r["body"]["amount"].as_u64().unwrap(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(own, [(100, 200), (200, 400)], "row 1 first, row 3 refused");
}

/// Threads of the backend serving `db` now (`Threads:` of its `/proc/self/status`).
fn backend_threads(db: &mut Db) -> u64 {
    let status: String = db
        .query_one("SELECT pg_read_file('/proc/self/status')", &[])
        .unwrap()
        .get(0);
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .expect("a Threads: line")
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn the_request_threads_end_with_each_statement_done_or_failed() {
    let mock = Mock::start_with(&[
        "--size",
        "transactions=20000",
        "--rate-limit",
        "0",
        "--latency-ms",
        "5",
    ]);
    let mut db = Db::with_partnerstack(&mock);
    set_concurrency(&mut db, 8);
    // A first statement builds whatever a session keeps between statements.
    keys(&mut db, "SELECT key FROM partnerstack.transactions LIMIT 1");
    let before = backend_threads(&mut db);
    for _ in 0..3 {
        let sql = "SELECT key FROM partnerstack.transactions";
        assert!(explained(&mut db, sql, "peak_in_flight") > 1);
        assert_eq!(
            backend_threads(&mut db),
            before,
            "a scan with requests in flight left threads behind"
        );
    }
    // The 20th request is refused while others are in flight: an ERROR, and no thread left.
    mock.faults(json!([{"kind": "status", "status": 400, "every": 20, "count": 1}]));
    let e = db
        .query("SELECT key FROM partnerstack.transactions", &[])
        .unwrap_err();
    assert!(error_text(&e).contains("400"), "{}", error_text(&e));
    assert_eq!(
        backend_threads(&mut db),
        before,
        "a failed scan left threads behind"
    );
}
