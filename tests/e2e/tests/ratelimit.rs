//! A scan far larger than the API's rate limit still returns every row: the client-side limiter
//! paces requests and refused ones are retried with backoff. Takes about three minutes: the
//! API's window is a minute long.

use std::time::Instant;

use partnerstack_e2e::{Db, Mock};

#[test]
fn a_300_page_scan_against_100_requests_per_minute_returns_every_row() {
    let mock = Mock::start_with(&["--rate-limit", "100", "--size", "transactions=3000"]);
    let mut db = Db::with_partnerstack(&mock);
    // 10 items a page: 300 pages. The limiter is set a little under the API's limit; its burst
    // still overruns the API's first minute, so some requests are refused and retried. One
    // request at a time, so that each page is read once and the log shows each retry's wait
    // (parallel.rs and shared_budget.rs read with several in flight).
    db.batch_execute(
        "ALTER SERVER partnerstack_server OPTIONS (ADD page_size '10', ADD max_requests_per_minute '90',
           ADD max_concurrency '1')",
    )
    .unwrap();
    let expected = 3000;
    mock.clear_requests();
    let started = Instant::now();
    let n: i64 = db.scalar(
        "SELECT count(DISTINCT key) FROM partnerstack.transactions",
        &[],
    );
    let took = started.elapsed();
    assert_eq!(n, expected, "every row, none twice");
    let log = mock.requests();
    let ok = log.iter().filter(|r| r["status"] == 200).count();
    let refused: Vec<&serde_json::Value> = log.iter().filter(|r| r["status"] == 429).collect();
    assert_eq!(ok, 300, "each page read once");
    assert!(
        !refused.is_empty(),
        "the API's limit was reached and answered 429"
    );
    // Backoff: after each refusal the next request waited at least half the first backoff
    // (equal jitter of 1 s), never an immediate retry.
    for r in &refused {
        let at = r["ts_ms"].as_i64().unwrap();
        let next = log
            .iter()
            .map(|q| q["ts_ms"].as_i64().unwrap())
            .find(|t| *t > at)
            .expect("a retry follows every refusal");
        assert!(next - at >= 450, "retried {} ms after a 429", next - at);
    }
    eprintln!(
        "300 pages, {} refused and retried, {:.0} s",
        refused.len(),
        took.as_secs_f64()
    );
}
