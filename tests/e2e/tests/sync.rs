//! `partnerstack_sync`: local copies made and refreshed through the foreign tables, checked
//! against the mock's API and its request log.

use std::time::{Duration, Instant};

use partnerstack_e2e::{
    Cluster, DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, Db, Mock, quote_literal, request_param,
};
use serde_json::{Value, json};

/// The real pg_cron (Debian's postgresql-15-cron) beside the extension. Its jobs run in
/// background workers, so they need no password or `cron.host` to reach the test server.
const CRON_SETTINGS: &str = "shared_preload_libraries = 'partnerstack,pg_cron'\n\
                             cron.database_name = 'postgres'\n\
                             cron.use_background_workers = on\n\
                             max_worker_processes = 32";

/// A database set up against `mock` in this binary's server, which runs pg_cron.
fn db_for(mock: &Mock) -> Db {
    Cluster::get_with(CRON_SETTINGS);
    Db::with_partnerstack(mock)
}

/// One `partnerstack_sync` result row.
#[derive(Debug, PartialEq)]
struct Run {
    mode: String,
    inserted: Option<i64>,
    updated: Option<i64>,
    deleted: Option<i64>,
    requests: Option<i64>,
    error: Option<String>,
}

fn sync(db: &mut Db, call: &str) -> Run {
    let sql = format!("SELECT mode, inserted, updated, deleted, requests, error FROM {call}");
    let row = db
        .query_one(&sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {}", partnerstack_e2e::error_text(&e)));
    Run {
        mode: row.get(0),
        inserted: row.get(1),
        updated: row.get(2),
        deleted: row.get(3),
        requests: row.get(4),
        error: row.get(5),
    }
}

fn counts(run: &Run) -> (&str, i64, i64, i64) {
    assert_eq!(run.error, None, "{run:?}");
    (
        run.mode.as_str(),
        run.inserted.unwrap(),
        run.updated.unwrap(),
        run.deleted.unwrap(),
    )
}

/// An API call with the default keys; panics unless it succeeds.
fn api(mock: &Mock, method: &str, path: &str, body: Option<Value>) -> Value {
    let r = mock.request(
        method,
        &format!("/api/v2{path}"),
        Some((DEFAULT_PUBLIC_KEY, DEFAULT_PRIVATE_KEY)),
        body.as_ref(),
    );
    assert!(
        (200..300).contains(&r.status),
        "{method} {path}: {} {}",
        r.status,
        r.text()
    );
    if r.text().trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&r.text()).unwrap_or(Value::Null)
    }
}

/// The rows of `table` as text, ordered by key: the copy and the foreign table compare equal
/// column by column when these are equal.
fn rows(db: &mut Db, table: &str, columns: &str) -> Vec<String> {
    db.query(
        &format!("SELECT ({columns})::text FROM {table} ORDER BY key COLLATE \"C\""),
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get::<_, String>(0))
    .collect()
}

fn customer_columns(db: &mut Db) -> String {
    let names: Vec<String> = db
        .query(
            "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = 'partnerstack.customers'::regclass \
             AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    format!("ROW({})", names.join(", "))
}

/// Renames these customers through the API (PATCH), which bumps their `updated_at`.
fn rename_customers(mock: &Mock, items: &[Value], name: &str) {
    for item in items {
        let key = item["key"].as_str().unwrap();
        api(
            mock,
            "PATCH",
            &format!("/customers/{key}"),
            Some(json!({ "name": name })),
        );
    }
}

fn partner_key(mock: &Mock) -> String {
    mock.a_partner_key()
}

const CUSTOMERS: &str = "partnerstack_sync('partnerstack.customers', 'analytics.ps_customers')";

#[test]
fn first_run_copies_then_incremental_reads_from_the_mark() {
    let mock = Mock::start_with(&["--size", "customers=600"]);
    let mut db = db_for(&mock);
    db.batch_execute("CREATE SCHEMA analytics").unwrap();
    mock.clear_requests();

    let first = sync(&mut db, CUSTOMERS);
    assert_eq!(counts(&first), ("full", 600, 0, 0));
    assert_eq!(first.requests, Some(3), "600 rows are 3 pages of 250");
    let pk: String = db.scalar(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid = 'analytics.ps_customers'::regclass AND contype = 'p'",
        &[],
    );
    assert_eq!(pk, "PRIMARY KEY (key)");
    let columns = customer_columns(&mut db);
    assert_eq!(
        rows(&mut db, "analytics.ps_customers", &columns),
        rows(&mut db, "partnerstack.customers", &columns)
    );

    // Nothing changed: one request, from the mark itself (inclusive), and no row rewritten.
    let mark_ms: i64 = db.scalar(
        "SELECT (extract(epoch FROM high_water_mark) * 1000)::bigint FROM partnerstack_sync_state \
         WHERE target = 'analytics.ps_customers'",
        &[],
    );
    let max_ms: i64 = db.scalar(
        "SELECT (extract(epoch FROM max(updated_at)) * 1000)::bigint FROM analytics.ps_customers",
        &[],
    );
    assert_eq!(mark_ms, max_ms);
    mock.clear_requests();
    let idle = sync(&mut db, CUSTOMERS);
    assert_eq!(counts(&idle), ("incremental", 0, 0, 0));
    assert_eq!(idle.requests, Some(1));
    let sent = mock.requests_to("/customers");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        request_param(&sent[0], "min_updated"),
        Some(mark_ms.to_string()),
        "read again from the mark's own millisecond: {sent:?}"
    );

    // A row updated in the mark's millisecond that the copy lacks is read again, not missed.
    let removed = db
        .execute(
            "DELETE FROM analytics.ps_customers WHERE updated_at = \
             (SELECT high_water_mark FROM partnerstack_sync_state)",
            &[],
        )
        .unwrap();
    assert!(removed >= 1);
    let again = sync(&mut db, CUSTOMERS);
    assert_eq!(counts(&again), ("incremental", removed as i64, 0, 0));

    // Two updates and one create through the API: one request, 1 inserted, 2 updated.
    let all = mock.list_all("/customers");
    rename_customers(&mock, &all[10..12], "Changed");
    api(
        &mock,
        "POST",
        "/customers",
        Some(
            json!({"email": "new@example.org", "partner_key": partner_key(&mock), "customer_key": "sync-new"}),
        ),
    );
    let deleted_key = all[20]["key"].as_str().unwrap().to_owned();
    api(&mock, "DELETE", &format!("/customers/{deleted_key}"), None);
    let incremental = sync(&mut db, CUSTOMERS);
    assert_eq!(counts(&incremental), ("incremental", 1, 2, 0));
    assert_eq!(incremental.requests, Some(1));
    let kept: i64 = db.scalar(
        "SELECT count(*) FROM analytics.ps_customers WHERE key = $1",
        &[&deleted_key],
    );
    assert_eq!(kept, 1, "an incremental run does not learn of deletions");

    // A full refresh removes what the API no longer returns.
    let full = sync(
        &mut db,
        "partnerstack_sync('partnerstack.customers', 'analytics.ps_customers', full_refresh => true)",
    );
    assert_eq!(counts(&full), ("full", 0, 0, 1));
    assert_eq!(
        rows(&mut db, "analytics.ps_customers", &columns),
        rows(&mut db, "partnerstack.customers", &columns)
    );

    let state = db
        .query_one(
            "SELECT source, mode, runs, last_run_mode, last_deleted, last_requests, \
             last_success IS NOT NULL, last_error FROM partnerstack_sync_state",
            &[],
        )
        .unwrap();
    assert_eq!(state.get::<_, String>(0), "partnerstack.customers");
    assert_eq!(state.get::<_, String>(1), "incremental by updated_at");
    assert_eq!(state.get::<_, i64>(2), 5);
    assert_eq!(state.get::<_, String>(3), "full");
    assert_eq!(state.get::<_, Option<i64>>(4), Some(1));
    assert_eq!(state.get::<_, Option<i64>>(5), Some(3));
    assert!(state.get::<_, bool>(6));
    assert_eq!(state.get::<_, Option<String>>(7), None);
}

#[test]
fn created_only_resources_read_new_rows_and_refresh_fully_every_n_runs() {
    let mock = Mock::start_with(&["--size", "transactions=300"]);
    let mut db = db_for(&mock);
    let call = "partnerstack_sync('partnerstack.transactions', 'tx_copy', full_every => 3)";
    assert_eq!(counts(&sync(&mut db, call)), ("full", 300, 0, 0));
    let mode: String = db.scalar("SELECT mode FROM partnerstack_sync_state", &[]);
    assert_eq!(mode, "incremental by created_at");

    let victim = mock.list_all("/transactions")[5]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    api(&mock, "DELETE", &format!("/transactions/{victim}"), None);
    let customer = mock.list_all("/customers")[0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    api(
        &mock,
        "POST",
        "/transactions",
        Some(
            json!({"key": "sync-tx-1", "amount": 1200, "currency": "USD", "customer_key": customer}),
        ),
    );
    mock.clear_requests();
    let second = sync(&mut db, call);
    assert_eq!(counts(&second), ("incremental", 1, 0, 0));
    let sent = mock.requests_to("/transactions");
    assert!(
        request_param(&sent[0], "min_created").is_some(),
        "pushed as min_created: {sent:?}"
    );
    assert_eq!(counts(&sync(&mut db, call)), ("incremental", 0, 0, 0));
    // The third run after the full one is full again: it learns of the deletion.
    assert_eq!(counts(&sync(&mut db, call)), ("full", 0, 0, 1));
    let n: i64 = db.scalar("SELECT count(*) FROM tx_copy", &[]);
    assert_eq!(n, 300);
}

#[test]
fn a_failed_run_leaves_copy_and_state_and_records_the_error() {
    let mock = Mock::start_with(&["--size", "customers=600"]);
    let mut db = db_for(&mock);
    db.batch_execute("ALTER SERVER partnerstack_server OPTIONS (ADD max_retries '0')")
        .unwrap();
    assert_eq!(
        counts(&sync(
            &mut db,
            "partnerstack_sync('partnerstack.customers', 'c')"
        ))
        .1,
        600
    );
    let before: Vec<String> = db
        .query("SELECT (c.*)::text FROM c ORDER BY key", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let state_before: String = db.scalar(
        "SELECT (high_water_mark, runs, last_success, last_inserted)::text FROM partnerstack_sync_state",
        &[],
    );

    // The second page of a full refresh fails after the first one was upserted.
    rename_customers(&mock, &mock.list_all("/customers")[..300], "Lost");
    mock.faults(
        json!([{"kind": "status", "status": 503, "path_prefix": "/api/v2/customers", "every": 2}]),
    );
    let failed = sync(
        &mut db,
        "partnerstack_sync('partnerstack.customers', 'c', full_refresh => true)",
    );
    assert_eq!(failed.mode, "failed");
    let message = failed.error.clone().unwrap();
    assert!(message.contains("503"), "{message}");
    mock.clear_faults();

    let after: Vec<String> = db
        .query("SELECT (c.*)::text FROM c ORDER BY key", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(after, before, "the copy is as it was");
    let state_after: String = db.scalar(
        "SELECT (high_water_mark, runs, last_success, last_inserted)::text FROM partnerstack_sync_state",
        &[],
    );
    assert_eq!(state_after, state_before);
    let (error, recent): (String, bool) = {
        let r = db
            .query_one(
                "SELECT last_error, last_error_at > last_success FROM partnerstack_sync_state",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(error, message);
    assert!(recent);

    // A cancel (statement_timeout) is a failed run too, recorded the same way.
    mock.faults(json!([{"kind": "delay", "delay_ms": 5000, "path_prefix": "/api/v2/customers"}]));
    db.batch_execute("SET statement_timeout = '1s'").unwrap();
    let cancelled = sync(&mut db, "partnerstack_sync('partnerstack.customers', 'c')");
    db.batch_execute("RESET statement_timeout").unwrap();
    mock.clear_faults();
    assert_eq!(cancelled.mode, "failed");
    assert!(
        cancelled
            .error
            .as_deref()
            .unwrap()
            .contains("statement timeout"),
        "{cancelled:?}"
    );

    // The next run succeeds from the old state.
    let next = sync(&mut db, "partnerstack_sync('partnerstack.customers', 'c')");
    assert_eq!(counts(&next), ("incremental", 0, 300, 0));
}

#[test]
fn two_runs_of_one_copy_never_interleave() {
    let mock = Mock::start_with(&["--size", "customers=50"]);
    let mut db = db_for(&mock);
    sync(&mut db, "partnerstack_sync('partnerstack.customers', 'c')");
    db.batch_execute("BEGIN").unwrap();
    sync(&mut db, "partnerstack_sync('partnerstack.customers', 'c')");

    let mut other = db.connect();
    let pid: i32 = other
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    let waiter = std::thread::spawn(move || {
        let row = other
            .query_one(
                "SELECT mode FROM partnerstack_sync('partnerstack.customers', 'c')",
                &[],
            )
            .unwrap();
        let mode: String = row.get(0);
        (mode, other)
    });
    let mut waited = false;
    for _ in 0..100 {
        let event: Option<String> = db.scalar(
            "SELECT wait_event FROM pg_stat_activity WHERE pid = $1",
            &[&pid],
        );
        if event.as_deref() == Some("advisory") {
            waited = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        waited,
        "the second run waits for the first one's transaction"
    );
    db.batch_execute("COMMIT").unwrap();
    let (mode, mut other) = waiter.join().unwrap();
    assert_eq!(mode, "incremental");

    // With lock_timeout the second run ends with a clear ERROR instead of waiting.
    db.batch_execute("BEGIN").unwrap();
    sync(&mut db, "partnerstack_sync('partnerstack.customers', 'c')");
    other.batch_execute("SET lock_timeout = '200ms'").unwrap();
    let e = other
        .query_one(
            "SELECT mode FROM partnerstack_sync('partnerstack.customers', 'c')",
            &[],
        )
        .unwrap_err();
    assert_eq!(partnerstack_e2e::sqlstate(&e), "55P03", "{e}");
    db.batch_execute("COMMIT").unwrap();
}

#[test]
fn a_column_added_to_the_foreign_table_is_added_to_the_copy() {
    let mock = Mock::start_with(&["--size", "customers=40"]);
    let mut db = db_for(&mock);
    db.batch_execute(
        "CREATE FOREIGN TABLE few (key text, email text, updated_at timestamptz) \
         SERVER partnerstack_server OPTIONS (resource 'customers')",
    )
    .unwrap();
    sync(&mut db, "partnerstack_sync('few', 'few_copy')");
    db.batch_execute("ALTER FOREIGN TABLE few ADD COLUMN name text")
        .unwrap();
    let run = sync(&mut db, "partnerstack_sync('few', 'few_copy')");
    assert_eq!(run.mode, "full", "a new column is filled by a full run");
    let columns = "ROW(key, email, updated_at, name)";
    assert_eq!(
        rows(&mut db, "few_copy", columns),
        rows(&mut db, "few", columns)
    );
}

#[test]
fn refusals_are_clear() {
    let mock = Mock::start_with(&["--size", "customers=5"]);
    let mut db = db_for(&mock);
    sync(&mut db, "partnerstack_sync('partnerstack.customers', 'c')");
    let cases = [
        (
            "SELECT * FROM partnerstack_sync('partnerstack.deals', 'c')",
            "c is the local copy of partnerstack.customers, not of partnerstack.deals",
        ),
        (
            "SELECT * FROM partnerstack_sync('partnerstack.links', 'l')",
            "is listed per partnership_key",
        ),
        (
            "SELECT * FROM partnerstack_sync('pg_class', 'l')",
            "not a foreign table of the partnerstack wrapper",
        ),
        (
            "SELECT * FROM partnerstack_sync('partnerstack.customers', 'c', full_every => 0)",
            "full_every must be 1 or more",
        ),
    ];
    for (sql, expected) in cases {
        let text = match db.query_one(sql, &[]) {
            Err(e) => partnerstack_e2e::error_text(&e),
            Ok(row) => row.get::<_, Option<String>>("error").unwrap_or_default(),
        };
        assert!(text.contains(expected), "{sql}: {text}");
    }
}

/// Polls `check` every 200 ms until it holds or `limit` passes.
fn wait_for(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn pg_cron_keeps_a_copy_fresh() {
    let mock = Mock::start_with(&["--size", "customers=60"]);
    let mut db = db_for(&mock);
    let mut cron = Cluster::get().connect("postgres");
    cron.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
        .unwrap();
    let job_name = format!("sync-{}", db.name());
    let job: i64 = cron
        .query_one(
            &format!(
                "SELECT cron.schedule_in_database({}, '* * * * *', \
                 $$SELECT partnerstack_sync('partnerstack.customers', 'cron_copy')$$, {})",
                quote_literal(&job_name),
                quote_literal(db.name())
            ),
            &[],
        )
        .unwrap()
        .get(0);

    let runs = |db: &mut Db| -> i64 {
        db.scalar(
            "SELECT coalesce(max(runs), 0) FROM partnerstack_sync_state WHERE target = 'public.cron_copy'",
            &[],
        )
    };
    wait_for(Duration::from_secs(90), "the first scheduled run", || {
        runs(&mut db) >= 1
    });
    let columns = customer_columns(&mut db);
    assert_eq!(
        rows(&mut db, "cron_copy", &columns),
        rows(&mut db, "partnerstack.customers", &columns)
    );

    // Rows change through the API between runs; a later run brings them.
    let all = mock.list_all("/customers");
    rename_customers(&mock, &all[..3], "Cron");
    api(
        &mock,
        "POST",
        "/customers",
        Some(
            json!({"email": "cron@example.org", "partner_key": partner_key(&mock), "customer_key": "cron-new"}),
        ),
    );
    // Debian 12's pg_cron is 1.4, whose finest schedule is a minute (seconds came in 1.5): the
    // copy must match after one more run, two if one had started before the change.
    let after_change = runs(&mut db);
    wait_for(
        Duration::from_secs(150),
        "a run bringing the change",
        || {
            runs(&mut db) > after_change
                && rows(&mut db, "cron_copy", &columns)
                    == rows(&mut db, "partnerstack.customers", &columns)
        },
    );
    let changed: i64 = db.scalar(
        "SELECT count(*) FROM cron_copy WHERE name = 'Cron' OR customer_key = 'cron-new'",
        &[],
    );
    assert_eq!(changed, 4);
    let last_mode: String = db.scalar(
        "SELECT last_run_mode FROM partnerstack_sync_state WHERE target = 'public.cron_copy'",
        &[],
    );
    assert_eq!(last_mode, "incremental");

    cron.execute("SELECT cron.unschedule($1::bigint)", &[&job])
        .unwrap();
    let succeeded: i64 = cron
        .query_one(
            "SELECT count(*) FROM cron.job_run_details WHERE jobid = $1 AND status = 'succeeded'",
            &[&job],
        )
        .unwrap()
        .get(0);
    assert!(succeeded >= 2, "pg_cron ran the sync {succeeded} time(s)");
}

/// A small reproducible generator (64-bit LCG, Knuth's constants): the test needs no crate.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// The rows of `table` keyed by `key`, each as the text of the whole row.
fn keyed_rows(
    db: &mut Db,
    table: &str,
    columns: &str,
) -> std::collections::BTreeMap<String, String> {
    db.query(&format!("SELECT key, ({columns})::text FROM {table}"), &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn table_columns(db: &mut Db, table: &str) -> String {
    let names: Vec<String> = db
        .query(
            "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = $1::text::regclass \
             AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[&table],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    format!("ROW({})", names.join(", "))
}

/// Random changes through the API: creates, updates (customers) and deletes of `resource`.
fn random_changes(mock: &Mock, rng: &mut Lcg, resource: &str, live: &mut Vec<String>, n: usize) {
    let partner = partner_key(mock);
    let customer = mock.list_all("/customers?limit=1")[0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..n {
        let tag = format!("{}-{i}-{}", rng.0 % 100_000, rng.below(1_000_000));
        match rng.below(if resource == "customers" { 3 } else { 2 }) {
            0 => {
                let body = if resource == "customers" {
                    json!({"email": format!("{tag}@example.org"), "partner_key": partner,
                           "customer_key": format!("prop-{tag}"), "name": format!("N {tag}")})
                } else {
                    json!({"key": format!("prop-{tag}"), "amount": 100 + rng.below(10_000),
                           "currency": "USD", "customer_key": customer})
                };
                let created = api(mock, "POST", &format!("/{resource}"), Some(body));
                if let Some(key) = created["data"]["key"].as_str() {
                    live.push(key.to_owned());
                }
            }
            1 if !live.is_empty() => {
                let key = live.swap_remove(rng.below(live.len()));
                api(mock, "DELETE", &format!("/{resource}/{key}"), None);
            }
            _ if !live.is_empty() => {
                let key = live[rng.below(live.len())].clone();
                let body = json!({"name": format!("U {tag}"), "meta": {"round": tag}});
                api(mock, "PATCH", &format!("/{resource}/{key}"), Some(body));
            }
            _ => {}
        }
    }
}

#[test]
fn copies_equal_a_fresh_read_after_random_changes() {
    for seed in [11_u64, 22, 33] {
        for resource in ["customers", "transactions"] {
            let mock = Mock::start_with(&[
                "--seed",
                &seed.to_string(),
                "--size",
                &format!("{resource}=300"),
            ]);
            let mut db = db_for(&mock);
            let source = format!("partnerstack.{resource}");
            let call = format!("partnerstack_sync('{source}', 'copy')");
            let full = format!("partnerstack_sync('{source}', 'copy', full_refresh => true)");
            let columns = table_columns(&mut db, &source);
            let mut rng = Lcg(seed);
            let mut live: Vec<String> = mock
                .list_all(&format!("/{resource}"))
                .iter()
                .map(|i| i["key"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(counts(&sync(&mut db, &call)).0, "full");
            for round in 0..2 {
                random_changes(&mock, &mut rng, resource, &mut live, 30);
                let run = sync(&mut db, &call);
                let (mode, inserted, _, _) = counts(&run);
                assert_eq!(mode, "incremental");
                assert!(inserted > 0, "seed {seed}, {resource}: {run:?}");
                // Incremental: every row the API returns is in the copy as it is now; the rows
                // deleted since the last full run linger, and nothing else.
                let fresh = keyed_rows(&mut db, &source, &columns);
                let copy = keyed_rows(&mut db, "copy", &columns);
                for (key, row) in &fresh {
                    assert_eq!(
                        copy.get(key),
                        Some(row),
                        "seed {seed}, {resource}, round {round}: row {key}"
                    );
                }
                for key in copy.keys().filter(|k| !fresh.contains_key(*k)) {
                    assert!(
                        !live.contains(key),
                        "seed {seed}, {resource}: {key} is in the copy only"
                    );
                }
            }
            let run = sync(&mut db, &full);
            let (mode, _, _, deleted) = counts(&run);
            assert_eq!(mode, "full");
            assert!(deleted > 0, "seed {seed}, {resource}: {run:?}");
            assert_eq!(
                keyed_rows(&mut db, "copy", &columns),
                keyed_rows(&mut db, &source, &columns),
                "seed {seed}, {resource}: after a full run"
            );
        }
    }
}
