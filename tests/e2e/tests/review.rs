//! Edge cases found in review: each was a silent wrong result or a wrong request before.

use partnerstack_e2e::{Cluster, Db, Mock, error_text};
use serde_json::json;

fn a_customer_key(mock: &Mock) -> String {
    let ck = mock
        .list_all("/customers")
        .iter()
        .find_map(|c| c["customer_key"].as_str().map(str::to_owned))
        .unwrap();
    mock.clear_requests();
    ck
}

#[test]
fn an_update_of_the_addressing_column_is_refused_not_silently_dropped() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let ck = a_customer_key(&mock);
    let err = db
        .execute(
            "UPDATE partnerstack.customers SET customer_key = 'renamed' WHERE customer_key = $1",
            &[&ck],
        )
        .unwrap_err();
    assert!(
        error_text(&err).contains("cannot be changed by UPDATE"),
        "{}",
        error_text(&err)
    );
    let deal = mock.list_all("/deals")[0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    mock.clear_requests();
    let err = db
        .execute(
            "UPDATE partnerstack.deals SET key = 'x' WHERE key = $1",
            &[&deal],
        )
        .unwrap_err();
    assert!(
        error_text(&err).contains("deals.key is read-only"),
        "{}",
        error_text(&err)
    );
    assert!(mock.writes().is_empty(), "{:?}", mock.writes());
}

#[test]
fn a_join_that_reaches_a_row_twice_deletes_it_once() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let deal = mock.list_all("/deals")[0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    mock.clear_requests();
    db.batch_execute(&format!(
        "CREATE TABLE doomed (k text); INSERT INTO doomed VALUES ('{deal}'), ('{deal}');"
    ))
    .unwrap();
    let n = db
        .execute(
            "DELETE FROM partnerstack.deals d USING doomed x WHERE d.key = x.k",
            &[],
        )
        .unwrap();
    assert_eq!(mock.writes(), [format!("DELETE /api/v2/deals/{deal} 200")]);
    assert!(n >= 1);
}

#[test]
fn a_create_without_a_definite_answer_is_reported_as_unknown_not_failed() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    db.batch_execute(
        "ALTER SERVER partnerstack_server OPTIONS (ADD retry_base_ms '10', ADD max_retries '1')",
    )
    .unwrap();
    let customer = mock.list_all("/customers")[0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    mock.clear_requests();
    mock.faults(json!([{"kind": "status", "status": 502, "method": "POST"}]));
    let err = db
        .execute(
            "INSERT INTO partnerstack.transactions (amount, currency, customer_key) VALUES (100, 'USD', $1)",
            &[&customer],
        )
        .unwrap_err();
    let text = error_text(&err);
    assert!(
        text.contains("the outcome of row 1 of 1 is unknown"),
        "{text}"
    );
    assert!(text.contains("before sending it again"), "{text}");
    assert_eq!(
        mock.writes(),
        ["POST /api/v2/transactions 502"],
        "a POST without its own key is never resent"
    );
}

#[test]
fn a_write_through_a_view_uses_the_view_owners_keys() {
    let mock = Mock::start_with(&[
        "--key",
        "pk_test_mock:sk_test_mock",
        "--key",
        "pk_test_owner:sk_test_owner",
        "--key",
        "pk_test_user:sk_test_user",
    ]);
    let mut db = Db::new();
    db.setup_partnerstack(Some(&mock.api_url()), "pk_test_owner", "sk_test_owner");
    let ck = a_customer_key(&mock);
    let user = format!("viewer_{}", std::process::id());
    db.batch_execute(&format!(
        "CREATE VIEW my_customers AS SELECT customer_key, name FROM partnerstack.customers;
         CREATE ROLE {user} LOGIN;
         GRANT SELECT, UPDATE ON my_customers TO {user};
         GRANT USAGE ON FOREIGN SERVER partnerstack_server TO {user};
         CREATE USER MAPPING FOR {user} SERVER partnerstack_server
           OPTIONS (public_key 'pk_test_user', private_key 'sk_test_user');"
    ))
    .unwrap();
    mock.clear_requests();
    let cluster = Cluster::get();
    let mut client = postgres::Client::connect(
        &format!(
            "host={} port={} user={user} dbname={}",
            cluster.host(),
            cluster.port(),
            db.name()
        ),
        postgres::NoTls,
    )
    .unwrap();
    client
        .execute(
            "UPDATE my_customers SET name = 'Via View' WHERE customer_key = $1",
            &[&ck],
        )
        .unwrap();
    let keys: Vec<String> = mock
        .requests()
        .iter()
        .map(|r| r["public_key"].as_str().unwrap().to_owned())
        .collect();
    assert!(!keys.is_empty());
    assert!(
        keys.iter().all(|k| k == "pk_test_owner"),
        "reads and writes use the view owner's keys: {keys:?}"
    );
}

#[test]
fn whole_row_reads_skip_dropped_columns() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    db.batch_execute("ALTER FOREIGN TABLE partnerstack.groups DROP COLUMN slug")
        .unwrap();
    let n: i64 = db.scalar(
        "SELECT count(*) FROM partnerstack.groups g WHERE to_jsonb(g) ? 'name' AND NOT to_jsonb(g) ? 'slug'",
        &[],
    );
    assert_eq!(n, mock.list_all("/groups").len() as i64);
}

#[test]
fn a_case_insensitive_collation_is_not_pushed_as_an_exact_lookup() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let ck = a_customer_key(&mock);
    db.batch_execute(
        "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)",
    )
    .unwrap();
    let upper = ck.to_uppercase();
    assert_ne!(upper, ck, "the test needs a key with letters");
    let found: i64 = db.scalar(
        "SELECT count(*) FROM partnerstack.customers WHERE customer_key = $1 COLLATE ci",
        &[&upper],
    );
    assert_eq!(
        found, 1,
        "the row is found under the collation's own equality"
    );
    assert!(
        mock.requests()
            .iter()
            .all(|r| r["path"] == "/api/v2/customers"),
        "listed, not looked up by key"
    );
}

#[test]
fn explain_analyze_of_a_scan_that_never_ran_sends_nothing() {
    let mock = Mock::start();
    let db = Db::with_partnerstack(&mock);
    mock.clear_requests();
    let (out, err, status) = db.psql(
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)
         SELECT * FROM partnerstack.customers WHERE updated_at > (SELECT max(updated_at) FROM partnerstack.deals) LIMIT 0;",
    );
    assert!(status.success(), "{err}");
    assert!(out.contains("none: the scan was not run"), "{out}");
    assert!(mock.requests().is_empty(), "{:?}", mock.requests());
}

#[test]
fn a_retried_delete_that_finds_nothing_had_succeeded() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    db.batch_execute("ALTER SERVER partnerstack_server OPTIONS (ADD retry_base_ms '10')")
        .unwrap();
    let deal = mock.list_all("/deals")[0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    mock.clear_requests();
    // The mock deletes, then the connection breaks before the answer is complete.
    mock.faults(json!([{"kind": "truncate", "method": "DELETE", "count": 1}]));
    db.execute("DELETE FROM partnerstack.deals WHERE key = $1", &[&deal])
        .unwrap();
    assert_eq!(
        mock.writes(),
        [
            format!("DELETE /api/v2/deals/{deal} 200"),
            format!("DELETE /api/v2/deals/{deal} 404")
        ]
    );
}
