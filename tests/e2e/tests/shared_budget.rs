//! `max_requests_per_minute` is one budget for every session of the cluster (the library is
//! preloaded): eight sessions scanning at once stay, together, within what one bucket allows, and
//! the API never refuses them, where eight buckets of their own would overrun it at once.
//!
//! A minute is scaled down to keep the test short: the mock counts its limit over 6 s instead of
//! 60, and the server's budget is small enough that its burst plus 6 s of its rate fit under it.

use std::time::{Duration, Instant};

use partnerstack_e2e::{Db, Mock, error_text, sqlstate};

/// Sessions scanning at once.
const SESSIONS: usize = 8;
/// The server's `max_requests_per_minute`: bursts of 40, then one request every 500 ms.
const PER_MINUTE: i64 = 120;
const BURST: usize = 40;
const INTERVAL_MS: i64 = 500;
/// The mock's window and limit: 60 requests per 6 s. The shared bucket sends at most
/// 40 + 6 s / 500 ms + 1 = 53 in any 6 s; eight buckets of their own would send 8 × 40 at once.
const WINDOW_MS: i64 = 6_000;
const API_LIMIT: usize = 60;
/// Rows each session reads, 10 a page: 10 pages, so 80 or more requests in all, more than the
/// API's 60 per window if each session had a bucket of its own.
const ROWS: i64 = 100;

#[test]
fn eight_sessions_share_one_budget_and_draw_no_429() {
    let mock = Mock::start_with(&[
        "--rate-limit",
        &API_LIMIT.to_string(),
        "--rate-window-ms",
        &WINDOW_MS.to_string(),
        "--size",
        &format!("transactions={ROWS}"),
    ]);
    let mut db = Db::with_partnerstack(&mock);
    db.batch_execute(&format!(
        "ALTER SERVER partnerstack_server
           OPTIONS (ADD page_size '10', ADD max_requests_per_minute '{PER_MINUTE}')"
    ))
    .unwrap();
    let sessions: Vec<postgres::Client> = (0..SESSIONS).map(|_| db.connect()).collect();
    mock.clear_requests();
    let started = Instant::now();
    let scans: Vec<_> = sessions
        .into_iter()
        .map(|mut session| {
            std::thread::spawn(move || {
                let n: i64 = session
                    .query_one(
                        "SELECT count(DISTINCT key) FROM partnerstack.transactions",
                        &[],
                    )
                    .unwrap()
                    .get(0);
                n
            })
        })
        .collect();
    for scan in scans {
        assert_eq!(scan.join().unwrap(), ROWS, "every row, none twice");
    }
    let took = started.elapsed();

    let log = mock.requests();
    let refused = log.iter().filter(|r| r["status"] == 429).count();
    assert_eq!(refused, 0, "the API refused {refused} requests");
    let mut sent_at: Vec<i64> = log.iter().map(|r| r["ts_ms"].as_i64().unwrap()).collect();
    sent_at.sort_unstable();
    let requests = sent_at.len();
    assert!(
        requests >= SESSIONS * 10,
        "{requests} requests: each session reads 10 pages"
    );
    // Spread as one bucket allows: the burst, then one request per interval for all sessions
    // together (a bucket per session would have sent everything in the first second).
    let span = sent_at[requests - 1] - sent_at[0];
    let paced = (requests - BURST) as i64 * INTERVAL_MS;
    assert!(
        span >= paced * 9 / 10,
        "{requests} requests in {span} ms: one budget needs about {paced} ms"
    );
    // And the limit of any window, the API's count, holds with room to spare.
    let most = (0..requests)
        .map(|i| {
            sent_at[i..]
                .iter()
                .take_while(|t| **t - sent_at[i] < WINDOW_MS)
                .count()
        })
        .max()
        .unwrap();
    let allowed = BURST + (WINDOW_MS / INTERVAL_MS) as usize + 1;
    assert!(
        most <= allowed,
        "{most} requests in {WINDOW_MS} ms; one budget allows {allowed}"
    );
    eprintln!(
        "{SESSIONS} sessions, {requests} requests, busiest {WINDOW_MS} ms: {most}, {:.1} s",
        took.as_secs_f64()
    );
}

/// A session waiting for the shared budget holds no lock and stays cancellable: another session
/// drained the budget, and `statement_timeout` ends the waiting scan within a second.
#[test]
fn a_session_waiting_for_the_shared_budget_is_cancellable() {
    let mock = Mock::start_with(&["--rate-limit", "0", "--size", "transactions=100"]);
    let mut db = Db::with_partnerstack(&mock);
    // 6 a minute: a burst of 2, then one request every 10 s.
    db.batch_execute(
        "ALTER SERVER partnerstack_server OPTIONS (ADD page_size '10', ADD max_requests_per_minute '6')",
    )
    .unwrap();
    let mut other = db.connect();
    let n: i64 = other
        .query_one(
            "SELECT count(*) FROM (SELECT 1 FROM partnerstack.transactions LIMIT 20) t",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 20, "two pages: the whole burst");
    mock.clear_requests();
    db.batch_execute("SET statement_timeout = '1s'").unwrap();
    let started = Instant::now();
    let err = db
        .query("SELECT * FROM partnerstack.transactions", &[])
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(sqlstate(&err), "57014", "{}", error_text(&err));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(
        mock.requests().is_empty(),
        "the other session's burst left nothing for this one"
    );
}
