//! A request in flight to a server that never answers does not keep the backend from handling a
//! cancel: pg_cancel_backend, Ctrl-C in psql and statement_timeout stop it within a second.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use partnerstack_e2e::{Cluster, Db, Mock, error_text, sqlstate};
use serde_json::json;

/// How long a stopped statement may take to end after the cancel.
const WITHIN: Duration = Duration::from_millis(1000);

/// A mock whose API never answers, and a database whose requests would wait 60 s for it.
fn hanging() -> (Mock, Db) {
    let mock = Mock::start();
    let db = Db::with_partnerstack(&mock);
    mock.faults(json!([{"kind": "hang"}]));
    (mock, db)
}

#[test]
fn statement_timeout_stops_a_scan_waiting_on_the_api() {
    let (mock, mut db) = hanging();
    db.batch_execute("SET statement_timeout = '1s'").unwrap();
    let started = Instant::now();
    let err = db
        .query("SELECT * FROM partnerstack.groups", &[])
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(sqlstate(&err), "57014", "{}", error_text(&err));
    assert!(
        error_text(&err).contains("statement timeout"),
        "{}",
        error_text(&err)
    );
    assert!(took < Duration::from_secs(1) + WITHIN, "took {took:?}");
    // The session goes on: the abandoned request thread is replaced by a new one.
    mock.clear_faults();
    let n: i64 = db.scalar("SELECT count(*) FROM partnerstack.groups", &[]);
    assert_eq!(n, mock.list_all("/groups").len() as i64);
}

#[test]
fn pg_cancel_backend_stops_a_scan_waiting_on_the_api() {
    let (_mock, mut db) = hanging();
    let pid: i32 = db.scalar("SELECT pg_backend_pid()", &[]);
    let mut other = db.connect();
    let scan = std::thread::spawn(move || {
        let result = db.query("SELECT * FROM partnerstack.customers", &[]);
        (result.map(|r| r.len()), Instant::now())
    });
    std::thread::sleep(Duration::from_millis(500));
    let cancelled_at = Instant::now();
    let sent: bool = other
        .query_one("SELECT pg_cancel_backend($1)", &[&pid])
        .unwrap()
        .get(0);
    assert!(sent);
    let (result, ended_at) = scan.join().unwrap();
    let err = result.unwrap_err();
    assert_eq!(sqlstate(&err), "57014", "{}", error_text(&err));
    assert!(
        ended_at - cancelled_at < WITHIN,
        "took {:?}",
        ended_at - cancelled_at
    );
}

#[test]
fn ctrl_c_in_psql_cancels_a_scan_waiting_on_the_api() {
    let (_mock, db) = hanging();
    let cluster = Cluster::get();
    let psql = Command::new(cluster.bindir().join("psql"))
        .args([
            "-X",
            "-h",
            cluster.host(),
            "-p",
            &cluster.port().to_string(),
            "-U",
            "postgres",
            "-d",
            db.name(),
        ])
        .args(["-c", "SELECT * FROM partnerstack.deals"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let interrupted_at = Instant::now();
    // What Ctrl-C does: SIGINT to psql, which sends a cancel request to the backend.
    let status = Command::new("kill")
        .args(["-INT", &psql.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let waited = std::thread::spawn(move || {
        let out = psql.wait_with_output().unwrap();
        (out, Instant::now())
    });
    let (out, ended_at) = waited.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("canceling statement due to user request"),
        "{stderr}"
    );
    assert!(
        ended_at - interrupted_at < WITHIN,
        "took {:?}",
        ended_at - interrupted_at
    );
}

#[test]
fn a_write_cancelled_in_flight_warns_that_it_may_have_been_processed() {
    let mock = Mock::start();
    let db = Db::with_partnerstack(&mock);
    let partner = mock.a_partner_key();
    mock.faults(json!([{"kind": "hang", "method": "POST"}]));
    let started = Instant::now();
    // One request at a time: row 2 waits for row 1 (see the next test for rows in flight).
    let (_out, stderr, status) = db.psql(&format!(
        "ALTER SERVER partnerstack_server OPTIONS (ADD max_concurrency '1');
         SET statement_timeout = '1s';
         INSERT INTO partnerstack.customers (email, partner_key, customer_key)
         VALUES ('a@example.org', '{partner}', 'cancel-1'), ('b@example.org', '{partner}', 'cancel-2');"
    ));
    assert!(!status.success());
    assert!(started.elapsed() < Duration::from_secs(1) + WITHIN + Duration::from_millis(500));
    assert!(
        stderr.contains(
            "cancelled while row 1 of 2 was being sent; PartnerStack may have processed it"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("canceling statement due to statement timeout"),
        "{stderr}"
    );
    let posts = mock.post_count();
    assert_eq!(posts, 1, "row 2 was never sent");
}

#[test]
fn interrupts_that_are_not_cancels_do_not_end_a_waiting_scan() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let expected = mock.list_all("/groups").len() as i64;
    let pid: i32 = db.scalar("SELECT pg_backend_pid()", &[]);
    mock.faults(json!([{"kind": "delay", "delay_ms": 2000, "count": 1}]));
    let mut other = db.connect();
    let scan = std::thread::spawn(move || {
        db.query_one("SELECT count(*) FROM partnerstack.groups", &[])
            .map(|r| r.get::<_, i64>(0))
    });
    // pg_log_backend_memory_contexts interrupts the backend (InterruptPending) without asking
    // it to cancel: the waiting scan must service it and go on.
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(400));
        let signalled: bool = other
            .query_one("SELECT pg_log_backend_memory_contexts($1)", &[&pid])
            .unwrap()
            .get(0);
        assert!(signalled);
    }
    let n = scan
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("{}", error_text(&e)));
    assert_eq!(n, expected);
}

#[test]
fn statement_timeout_stops_many_lookups_in_flight() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let keys: Vec<String> = mock
        .list_all("/customers")
        .iter()
        .filter_map(|c| c["customer_key"].as_str().map(str::to_owned))
        .take(16)
        .collect();
    mock.faults(json!([{"kind": "hang"}]));
    mock.clear_requests();
    db.batch_execute("SET statement_timeout = '1s'").unwrap();
    let started = Instant::now();
    let err = db
        .query(
            "SELECT * FROM partnerstack.customers WHERE customer_key = ANY($1)",
            &[&keys],
        )
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(sqlstate(&err), "57014", "{}", error_text(&err));
    assert!(took < Duration::from_secs(1) + WITHIN, "took {took:?}");
    assert_eq!(
        mock.requests().len(),
        8,
        "eight lookups were in flight, the others never sent"
    );
    mock.clear_faults();
    db.batch_execute("SET statement_timeout = 0").unwrap();
    let n: i64 = db.scalar(
        "SELECT count(*) FROM partnerstack.customers WHERE customer_key = ANY($1)",
        &[&keys],
    );
    assert_eq!(n, 16, "the session goes on");
}

#[test]
fn a_write_cancelled_with_rows_in_flight_lists_each_of_them() {
    let mock = Mock::start();
    let db = Db::with_partnerstack(&mock);
    let partner = mock.a_partner_key();
    mock.faults(json!([{"kind": "hang", "method": "POST"}]));
    let started = Instant::now();
    let (_out, stderr, status) = db.psql(&format!(
        "SET statement_timeout = '1s';
         INSERT INTO partnerstack.customers (email, partner_key, customer_key)
         SELECT 'c' || i || '@example.org', '{partner}', 'cancel-many-' || i
           FROM generate_series(1, 20) i;"
    ));
    assert!(!status.success());
    assert!(started.elapsed() < Duration::from_secs(1) + WITHIN + Duration::from_millis(500));
    assert!(
        stderr.contains(
            "cancelled while rows 1, 2, 3, 4, 5, 6, 7, 8 of 20 were being sent; PartnerStack \
             may have processed them. 0 row(s) were accepted: none. Not sent: rows 9 to 20."
        ),
        "{stderr}"
    );
    let posts = mock.post_count();
    assert_eq!(posts, 8, "rows 9 to 20 were never sent");
}

#[test]
fn statement_timeout_stops_a_write_whose_answers_keep_coming() {
    let mock = Mock::start_with(&["--rate-limit", "0", "--latency-ms", "20"]);
    let db = Db::with_partnerstack(&mock);
    let customer = mock.list_all("/customers")[0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    // 400 rows answered every 20 ms, 8 at a time: about a second of work, cut at 300 ms.
    let started = Instant::now();
    let (_out, stderr, status) = db.psql(&format!(
        "SET statement_timeout = '300ms';
         INSERT INTO partnerstack.transactions (key, amount, currency, customer_key)
         SELECT 'fast-' || i, 100, 'USD', '{customer}' FROM generate_series(1, 400) i;"
    ));
    assert!(!status.success());
    assert!(
        started.elapsed() < Duration::from_millis(300) + WITHIN,
        "took {:?}",
        started.elapsed()
    );
    assert!(
        stderr.contains("canceling statement due to statement timeout"),
        "{stderr}"
    );
    let posts = mock.post_count();
    assert!((1..400).contains(&posts), "{posts} rows sent");
    // The WARNING accounts for every row: accepted, in flight, not sent.
    assert!(stderr.contains("were being sent"), "{stderr}");
    assert!(stderr.contains(" to 400."), "the rows never sent: {stderr}");
}
