//! Failures end in the complete result (after retries) or a clear ERROR: never a partial result.

use std::time::{Duration, Instant};

use partnerstack_e2e::{Db, Mock, error_text, sqlstate};
use serde_json::json;

/// Fast retries, so the tests do not wait for production backoff.
fn fast_retries(db: &mut Db) {
    db.batch_execute(
        "ALTER SERVER partnerstack_server OPTIONS (ADD retry_base_ms '20', ADD retry_max_ms '200', ADD max_retries '3')",
    )
    .unwrap();
}

/// Counts the table's rows by reading every one of them (the subquery keeps `count(*)` from
/// being read from the API's `total`).
fn count(db: &mut Db, table: &str) -> Result<i64, postgres::Error> {
    db.query_one(
        &format!("SELECT count(*) FROM (SELECT FROM partnerstack.{table} OFFSET 0) AS every_row"),
        &[],
    )
    .map(|r| r.get(0))
}

#[test]
fn wrong_keys_are_an_authorization_error_with_a_hint_and_no_secret() {
    let mock = Mock::start();
    let mut db = Db::new();
    db.setup_partnerstack(
        Some(&mock.api_url()),
        "pk_test_mock",
        "sk_wrong_secret_value",
    );
    let err = count(&mut db, "customers").unwrap_err();
    assert_eq!(sqlstate(&err), "28000", "{}", error_text(&err));
    let text = error_text(&err);
    assert!(text.contains("HTTP 401"), "{text}");
    assert!(text.contains("test and a production key pair"), "{text}");
    assert!(!text.contains("sk_wrong_secret_value"), "{text}");
    assert_eq!(mock.requests().len(), 1, "401 is not retried");
}

#[test]
fn a_403_is_an_authorization_error_too() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    mock.faults(json!([{"kind": "status", "status": 403}]));
    let err = count(&mut db, "groups").unwrap_err();
    assert_eq!(sqlstate(&err), "28000", "{}", error_text(&err));
}

#[test]
fn rate_limited_pages_are_retried_and_every_row_arrives() {
    let mock = Mock::start_with(&["--size", "transactions=1000"]);
    let mut db = Db::with_partnerstack(&mock);
    fast_retries(&mut db);
    let total = mock.list_all("/transactions").len() as i64;
    mock.clear_requests();
    // Every second request is refused with 429, without Retry-After.
    mock.faults(json!([
        {"kind": "status", "status": 429, "path_prefix": "/api/v2/transactions", "every": 2}
    ]));
    assert_eq!(count(&mut db, "transactions").unwrap(), total);
    let statuses: Vec<i64> = mock
        .requests()
        .iter()
        .map(|r| r["status"].as_i64().unwrap())
        .collect();
    assert!(
        statuses.contains(&429) && statuses.ends_with(&[200]),
        "{statuses:?}"
    );

    // Retry-After is honoured (up to retry_max_ms).
    db.batch_execute("ALTER SERVER partnerstack_server OPTIONS (SET retry_max_ms '5000')")
        .unwrap();
    mock.faults(json!([
        {"kind": "status", "status": 429, "retry_after": 1, "count": 1}
    ]));
    let started = Instant::now();
    assert_eq!(count(&mut db, "transactions").unwrap(), total);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn persistent_server_errors_end_in_an_error_naming_the_status() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    fast_retries(&mut db);
    mock.faults(json!([{"kind": "status", "status": 503}]));
    let err = count(&mut db, "customers").unwrap_err();
    let text = error_text(&err);
    assert!(
        text.contains("HTTP 503") && text.contains("4 attempts"),
        "{text}"
    );
    assert_eq!(mock.requests().len(), 4, "one request and three retries");
}

#[test]
fn a_failure_on_a_later_page_is_an_error_not_a_shorter_result() {
    let mock = Mock::start_with(&["--size", "transactions=1000"]);
    let mut db = Db::with_partnerstack(&mock);
    db.batch_execute("ALTER SERVER partnerstack_server OPTIONS (ADD max_retries '0')")
        .unwrap();
    // The first page succeeds; the second request gets a 502 HTML page from a proxy.
    mock.faults(
        json!([{"kind": "html", "status": 502, "every": 2, "path_prefix": "/api/v2/transactions"}]),
    );
    let err = count(&mut db, "transactions").unwrap_err();
    let text = error_text(&err);
    assert!(text.contains("HTTP 502"), "{text}");
    assert!(
        text.to_lowercase().contains("<html"),
        "an excerpt of the body: {text}"
    );
    let statuses: Vec<i64> = mock
        .requests()
        .iter()
        .map(|r| r["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 502]);
}

#[test]
fn bodies_that_are_not_the_envelope_are_errors_with_an_excerpt() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    fast_retries(&mut db);
    for kind in [
        "invalid_json",
        "truncate",
        "reset",
        "empty_has_more",
        "repeat_cursor",
    ] {
        mock.faults(json!([{"kind": kind, "path_prefix": "/api/v2/customers"}]));
        let err = count(&mut db, "customers").expect_err(kind);
        let text = error_text(&err);
        assert!(!text.contains("sk_test_mock"), "{kind}: {text}");
        match kind {
            "invalid_json" => assert!(text.contains("not valid JSON"), "{kind}: {text}"),
            "truncate" | "reset" => assert!(
                text.contains("connection to PartnerStack"),
                "{kind}: {text}"
            ),
            "empty_has_more" => assert!(
                text.contains("an empty page says has_more: true"),
                "{kind}: {text}"
            ),
            _ => assert!(text.contains("came back a second time"), "{kind}: {text}"),
        }
        mock.clear_faults();
    }
}

#[test]
fn an_oversized_body_is_refused() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    db.batch_execute("ALTER SERVER partnerstack_server OPTIONS (ADD max_response_bytes '1048576')")
        .unwrap();
    mock.faults(json!([{"kind": "oversize"}]));
    let err = count(&mut db, "groups").unwrap_err();
    assert!(
        error_text(&err).contains("larger than max_response_bytes"),
        "{}",
        error_text(&err)
    );
}

#[test]
fn a_stalled_server_is_a_timeout_error_not_a_hang() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    // A read that timed out is retried (each attempt waiting timeout_ms): with no retries the
    // user sees the timeout after one wait.
    db.batch_execute(
        "ALTER SERVER partnerstack_server OPTIONS (ADD timeout_ms '500', ADD max_retries '0')",
    )
    .unwrap();
    mock.faults(json!([{"kind": "hang"}]));
    let started = Instant::now();
    let err = count(&mut db, "groups").unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let text = error_text(&err);
    assert_eq!(sqlstate(&err), "HV00N", "{text}");
    assert!(
        text.contains("did not answer within 500 ms (timeout_ms)"),
        "{text}"
    );
}

#[test]
fn a_page_that_hangs_or_is_not_json_is_asked_again_and_the_result_is_complete() {
    let mock = Mock::start_with(&["--size", "transactions=1000"]);
    let mut db = Db::with_partnerstack(&mock);
    fast_retries(&mut db);
    db.batch_execute("ALTER SERVER partnerstack_server OPTIONS (ADD timeout_ms '500')")
        .unwrap();
    let total = mock.list_all("/transactions").len() as i64;
    let api = "/api/v2/transactions";
    for kind in ["hang", "invalid_json"] {
        mock.clear_requests();
        // The second page's first answer never comes, or is not JSON.
        mock.faults(json!([{"kind": kind, "path_prefix": api, "every": 2, "count": 1}]));
        let (n, distinct): (i64, i64) = {
            let row = db
                .query_one(
                    "SELECT count(*), count(DISTINCT key) FROM partnerstack.transactions",
                    &[],
                )
                .unwrap_or_else(|e| panic!("{kind}: {}", error_text(&e)));
            (row.get(0), row.get(1))
        };
        assert_eq!((n, distinct), (total, total), "{kind}");
        let faults: Vec<String> = mock
            .requests()
            .iter()
            .map(|r| r["fault"].as_str().unwrap_or("-").to_owned())
            .collect();
        assert_eq!(faults[..3], ["-", kind, "-"], "{kind}: asked again");
    }
}

#[test]
fn a_refused_connection_names_the_host_never_the_keys() {
    let mut db = Db::new();
    db.setup_partnerstack(
        Some("http://127.0.0.1:9/api/v2"),
        "pk_test_mock",
        "sk_test_mock",
    );
    let err = count(&mut db, "groups").unwrap_err();
    let text = error_text(&err);
    assert_eq!(sqlstate(&err), "HV00N", "{text}");
    assert!(
        text.contains("could not connect to PartnerStack at 127.0.0.1:9"),
        "{text}"
    );
    assert!(
        !text.contains("sk_test_mock") && !text.contains("pk_test_mock"),
        "{text}"
    );
}

#[test]
fn server_level_keys_are_a_fallback_and_the_user_mapping_wins() {
    let mock = Mock::start();
    let mut db = Db::new();
    db.batch_execute(&format!(
        "CREATE EXTENSION partnerstack;
         CREATE SERVER partnerstack_server FOREIGN DATA WRAPPER partnerstack
           OPTIONS (api_url '{}', public_key 'pk_test_mock', private_key 'sk_test_mock');
         CREATE SCHEMA partnerstack;
         IMPORT FOREIGN SCHEMA partnerstack LIMIT TO (groups) FROM SERVER partnerstack_server INTO partnerstack;",
        mock.api_url()
    ))
    .unwrap();
    assert!(
        count(&mut db, "groups").unwrap() > 0,
        "no user mapping: server keys are used"
    );
    db.batch_execute(
        "CREATE USER MAPPING FOR CURRENT_USER SERVER partnerstack_server
           OPTIONS (public_key 'pk_test_mock', private_key 'sk_from_the_mapping')",
    )
    .unwrap();
    let err = count(&mut db, "groups").unwrap_err();
    assert_eq!(
        sqlstate(&err),
        "28000",
        "the mapping's (wrong) key was used: {}",
        error_text(&err)
    );
}

#[test]
fn without_keys_anywhere_the_error_says_where_to_put_them() {
    let mock = Mock::start();
    let mut db = Db::new();
    db.batch_execute(&format!(
        "CREATE EXTENSION partnerstack;
         CREATE SERVER partnerstack_server FOREIGN DATA WRAPPER partnerstack OPTIONS (api_url '{}');
         CREATE SCHEMA partnerstack;
         IMPORT FOREIGN SCHEMA partnerstack LIMIT TO (groups) FROM SERVER partnerstack_server INTO partnerstack;",
        mock.api_url()
    ))
    .unwrap();
    let err = count(&mut db, "groups").unwrap_err();
    assert!(
        error_text(&err).contains("user mapping"),
        "{}",
        error_text(&err)
    );
    assert!(mock.requests().is_empty(), "no request without keys");
}

#[test]
fn a_connection_broken_mid_page_is_read_again() {
    let mock = Mock::start_with(&["--size", "transactions=1000"]);
    let mut db = Db::with_partnerstack(&mock);
    fast_retries(&mut db);
    let total = mock.list_all("/transactions").len() as i64;
    mock.clear_requests();
    mock.faults(json!([
        {"kind": "reset", "count": 1, "path_prefix": "/api/v2/transactions"},
        {"kind": "truncate", "count": 1, "path_prefix": "/api/v2/transactions"}
    ]));
    assert_eq!(count(&mut db, "transactions").unwrap(), total);
    let faults: Vec<String> = mock
        .requests()
        .iter()
        .filter_map(|r| r["fault"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(faults, ["reset", "truncate"]);
}

/// An ERROR's LOCATION (file name and line, as `\set VERBOSITY verbose` shows it) names the code that
/// raised it, not the helper in errors.rs that builds every report.
#[test]
fn an_error_location_names_the_code_that_raised_it() {
    let mock = Mock::start();
    let mut db = Db::new();
    db.setup_partnerstack(Some(&mock.api_url()), "pk_test_mock", "sk_wrong_secret");
    let read = count(&mut db, "customers").unwrap_err();
    let write = db
        .execute(
            "INSERT INTO partnerstack.customers (name) VALUES ('no email, no partner')",
            &[],
        )
        .unwrap_err();
    for (err, file) in [(read, "executor.rs"), (write, "modify.rs")] {
        let server = err.as_db_error().expect("an error from the server");
        assert_eq!(server.file(), Some(file), "{}", error_text(&err));
        assert!(server.line().is_some_and(|l| l > 0), "{}", error_text(&err));
    }
}
