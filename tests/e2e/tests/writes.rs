//! Writing through a real client: the requests sent, what the API then holds, and what is refused
//! before any request.

use partnerstack_e2e::{Db, Mock, error_text, sqlstate};
use serde_json::{Value, json};

fn bodies(mock: &Mock) -> Vec<Value> {
    mock.requests()
        .iter()
        .filter(|r| r["method"] != "GET")
        .map(|r| r["body"].clone())
        .collect()
}

fn partner_key(mock: &Mock) -> String {
    let p = mock.a_partner_key();
    mock.clear_requests();
    p
}

#[test]
fn customers_insert_update_delete() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partner = partner_key(&mock);
    db.execute(
        "INSERT INTO partnerstack.customers (email, partner_key, customer_key, name, meta)
         VALUES ($1, $2, 'e2e-c1', 'Zoë', '{\"plan\": \"pro\"}')",
        &[&"c1@example.org", &partner],
    )
    .unwrap();
    assert_eq!(mock.writes(), ["POST /api/v2/customers 200"]);
    assert_eq!(
        bodies(&mock)[0],
        json!({"email": "c1@example.org", "partner_key": partner, "customer_key": "e2e-c1", "name": "Zoë", "meta": {"plan": "pro"}})
    );
    let row = db
        .query_one(
            "SELECT name, email FROM partnerstack.customers WHERE customer_key = 'e2e-c1'",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Zoë");

    // UPDATE sends PUT with the changed columns; the API answers 405, the same body goes as PATCH,
    // and the next UPDATE on this server goes straight to PATCH.
    mock.clear_requests();
    let n = db
        .execute("UPDATE partnerstack.customers SET name = 'Zoe B', email = 'b@example.org' WHERE customer_key = 'e2e-c1'", &[])
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        mock.writes(),
        [
            "PUT /api/v2/customers/e2e-c1 405",
            "PATCH /api/v2/customers/e2e-c1 200"
        ]
    );
    assert_eq!(
        bodies(&mock)[1],
        json!({"name": "Zoe B", "email": "b@example.org"})
    );
    mock.clear_requests();
    db.execute(
        "UPDATE partnerstack.customers SET name = 'Zoe C' WHERE customer_key = 'e2e-c1'",
        &[],
    )
    .unwrap();
    assert_eq!(
        mock.writes(),
        ["PATCH /api/v2/customers/e2e-c1 200"],
        "the verb is remembered"
    );
    let name: String = db.scalar(
        "SELECT name FROM partnerstack.customers WHERE customer_key = 'e2e-c1'",
        &[],
    );
    assert_eq!(name, "Zoe C");

    mock.clear_requests();
    assert_eq!(
        db.execute(
            "DELETE FROM partnerstack.customers WHERE customer_key = 'e2e-c1'",
            &[]
        )
        .unwrap(),
        1
    );
    assert_eq!(mock.writes(), ["DELETE /api/v2/customers/e2e-c1 200"]);
    let left: i64 = db.scalar(
        "SELECT count(*) FROM partnerstack.customers WHERE customer_key = 'e2e-c1'",
        &[],
    );
    assert_eq!(left, 0);
}

#[test]
fn update_method_put_is_used_where_the_api_accepts_it_and_patch_can_be_pinned() {
    let mock = Mock::start_with(&["--accept-put"]);
    let mut db = Db::with_partnerstack(&mock);
    let ck = mock
        .list_all("/customers")
        .iter()
        .find_map(|c| c["customer_key"].as_str().map(str::to_owned))
        .unwrap();
    mock.clear_requests();
    db.execute(
        "UPDATE partnerstack.customers SET name = 'Via PUT' WHERE customer_key = $1",
        &[&ck],
    )
    .unwrap();
    assert_eq!(mock.writes(), [format!("PUT /api/v2/customers/{ck} 200")]);
    db.batch_execute("ALTER SERVER partnerstack_server OPTIONS (ADD update_method 'patch')")
        .unwrap();
    mock.clear_requests();
    db.execute(
        "UPDATE partnerstack.customers SET name = 'Via PATCH' WHERE customer_key = $1",
        &[&ck],
    )
    .unwrap();
    assert_eq!(mock.writes(), [format!("PATCH /api/v2/customers/{ck} 200")]);
}

#[test]
fn transactions_insert_and_delete_and_refuse_update() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let customer = mock.list_all("/customers")[0].clone();
    mock.clear_requests();
    db.execute(
        "INSERT INTO partnerstack.transactions (key, amount, currency, customer_key, product_key, metadata, created_at)
         VALUES ('e2e-txn-1', -1250, 'eur', $1, 'prod_x', '{\"order\": \"A-1\"}', '2025-06-01 12:00:00.123+00')",
        &[&customer["key"].as_str().unwrap()],
    )
    .unwrap();
    assert_eq!(mock.writes(), ["POST /api/v2/transactions 200"]);
    assert_eq!(
        bodies(&mock)[0],
        json!({"key": "e2e-txn-1", "amount": -1250, "currency": "EUR", "customer_key": customer["key"],
               "product_key": "prod_x", "metadata": {"order": "A-1"}, "created_at": 1748779200123i64})
    );
    let row = db
        .query_one(
            "SELECT amount, currency, (extract(epoch FROM created_at) * 1000)::bigint FROM partnerstack.transactions
              WHERE created_at = '2025-06-01 12:00:00.123+00' AND key = 'e2e-txn-1'",
            &[],
        )
        .unwrap();
    assert_eq!(
        (
            row.get::<_, i64>(0),
            row.get::<_, String>(1),
            row.get::<_, i64>(2)
        ),
        (-1250, "EUR".into(), 1748779200123)
    );

    mock.clear_requests();
    let err = db
        .execute(
            "UPDATE partnerstack.transactions SET amount = 1 WHERE key = 'e2e-txn-1'",
            &[],
        )
        .unwrap_err();
    assert!(
        error_text(&err).contains("append-only"),
        "{}",
        error_text(&err)
    );
    assert!(mock.writes().is_empty());

    db.execute(
        "DELETE FROM partnerstack.transactions WHERE key = 'e2e-txn-1'",
        &[],
    )
    .unwrap();
    assert_eq!(mock.writes(), ["DELETE /api/v2/transactions/e2e-txn-1 200"]);
}

#[test]
fn bad_input_is_refused_before_any_request() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let customer = mock.list_all("/customers")[0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let ck = mock
        .list_all("/customers")
        .iter()
        .find_map(|c| c["customer_key"].as_str().map(str::to_owned))
        .unwrap();
    let cases: Vec<(String, &str, &str)> = vec![
        ("INSERT INTO partnerstack.customers (email) VALUES ('a@b.c')".into(), "23502", "customers.partner_key is required"),
        ("INSERT INTO partnerstack.customers (partner_key) VALUES ('p')".into(), "23502", "customers.email is required"),
        (format!("INSERT INTO partnerstack.transactions (amount, currency, customer_key) VALUES (100, 'US', '{customer}')"), "22023", "transactions.currency"),
        (format!("INSERT INTO partnerstack.transactions (amount, currency, customer_key) VALUES (100, 'US1', '{customer}')"), "22023", "transactions.currency"),
        ("INSERT INTO partnerstack.transactions (amount, currency) VALUES (100, 'USD')".into(), "22023", "exactly one of"),
        (format!("INSERT INTO partnerstack.transactions (amount, currency, customer_key, customer_email) VALUES (100, 'USD', '{customer}', 'x@y.z')"), "22023", "exactly one of"),
        (format!("INSERT INTO partnerstack.transactions (currency, customer_key) VALUES ('USD', '{customer}')"), "23502", "transactions.amount is required"),
        (format!("INSERT INTO partnerstack.transactions (amount, currency, customer_key) VALUES ('12.50', 'USD', '{customer}')"), "22P02", "bigint"),
        (format!("UPDATE partnerstack.customers SET partner_key = 'other' WHERE customer_key = '{ck}'"), "42P10", "customers.partner_key is read-only"),
        (format!("UPDATE partnerstack.customers SET key = 'cus_x' WHERE customer_key = '{ck}'"), "42P10", "customers.key is read-only"),
        (format!("UPDATE partnerstack.customers SET created_at = now() WHERE customer_key = '{ck}'"), "42P10", "customers.created_at is read-only"),
        ("INSERT INTO partnerstack.customers (key, email, partner_key) VALUES ('cus_mine', 'a@b.c', 'p')".into(), "42P10", "customers.key"),
        ("INSERT INTO partnerstack.groups (name) VALUES ('g')".into(), "0A000", "groups are read-only"),
        ("INSERT INTO partnerstack.customers (email, partner_key, meta) VALUES ('a@b.c', 'p', '[1]')".into(), "22023", "customers.meta"),
    ];
    for (sql, code, message) in cases {
        mock.clear_requests();
        let err = db.execute(sql.as_str(), &[]).expect_err(&sql);
        assert_eq!(sqlstate(&err), code, "{sql}: {}", error_text(&err));
        assert!(
            error_text(&err).contains(message),
            "{sql}: {}",
            error_text(&err)
        );
        assert!(mock.writes().is_empty(), "{sql} sent {:?}", mock.writes());
    }
}

#[test]
fn one_bad_row_in_insert_select_sends_nothing_at_all() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partner = partner_key(&mock);
    let err = db
        .execute(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
             SELECT CASE WHEN i = 3 THEN NULL ELSE 'u' || i || '@example.org' END, $1, 'e2e-batch-' || i
               FROM generate_series(1, 5) i",
            &[&partner],
        )
        .unwrap_err();
    assert!(
        error_text(&err).contains("Row 3 of the statement; nothing was sent"),
        "{}",
        error_text(&err)
    );
    assert!(mock.writes().is_empty());
}

#[test]
fn a_failure_on_row_n_reports_what_partnerstack_already_accepted() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partner = partner_key(&mock);
    let existing = mock.a_taken_customer_key();
    // One request at a time, so that rows 5 and 6 are never sent (parallel.rs has the same
    // with rows in flight).
    db.batch_execute("ALTER SERVER partnerstack_server OPTIONS (ADD max_concurrency '1')")
        .unwrap();
    mock.clear_requests();
    // Row 4 reuses an existing customer_key: the API refuses it (400), rows 1-3 were created.
    let err = db
        .execute(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
             SELECT 'u' || i || '@example.org', $1, CASE WHEN i = 4 THEN $2 ELSE 'e2e-part-' || i END
               FROM generate_series(1, 6) i",
            &[&partner, &existing],
        )
        .unwrap_err();
    let text = error_text(&err);
    assert!(
        text.contains("row 4 of 6 failed after PartnerStack accepted 3 row(s)"),
        "{text}"
    );
    assert!(text.contains("HTTP 400"), "{text}");
    let created: Vec<String> = mock
        .requests()
        .iter()
        .filter(|r| r["method"] == "POST" && r["status"] == 200)
        .map(|r| r["body"]["customer_key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(created, ["e2e-part-1", "e2e-part-2", "e2e-part-3"]);
    assert_eq!(
        mock.writes().len(),
        4,
        "nothing after the failing row: {:?}",
        mock.writes()
    );
    // DETAIL lists the accepted keys (PartnerStack's cus_ keys) and the failing row's input.
    let keys: Vec<String> = db
        .query(
            "SELECT key FROM partnerstack.customers WHERE customer_key IN ('e2e-part-1', 'e2e-part-2', 'e2e-part-3')",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(keys.len(), 3);
    for key in &keys {
        assert!(text.contains(key.as_str()), "DETAIL names {key}: {text}");
    }
    assert!(text.contains(&existing), "the failing row's input: {text}");
}

#[test]
fn upsert_updates_by_key_and_creates_on_404() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partner = partner_key(&mock);
    let existing = mock.a_taken_customer_key();
    db.batch_execute(
        "ALTER FOREIGN TABLE partnerstack.customers OPTIONS (ADD insert_mode 'upsert')",
    )
    .unwrap();
    mock.clear_requests();
    db.execute(
        "INSERT INTO partnerstack.customers (email, partner_key, customer_key, name)
         VALUES ('up1@example.org', $1, $2, 'Updated By Upsert'), ('up2@example.org', $1, 'e2e-upsert-new', 'Created')",
        &[&partner, &existing],
    )
    .unwrap();
    let w = mock.writes();
    assert_eq!(
        w[..2],
        [
            format!("PUT /api/v2/customers/{existing} 405"),
            format!("PATCH /api/v2/customers/{existing} 200")
        ]
    );
    assert_eq!(
        w[2..],
        [
            "PATCH /api/v2/customers/e2e-upsert-new 404".to_owned(),
            "POST /api/v2/customers 200".to_owned()
        ]
    );
    let name: String = db.scalar(
        "SELECT name FROM partnerstack.customers WHERE customer_key = $1",
        &[&existing],
    );
    assert_eq!(name, "Updated By Upsert");
    let n: i64 = db.scalar(
        "SELECT count(*) FROM partnerstack.customers WHERE customer_key = 'e2e-upsert-new'",
        &[],
    );
    assert_eq!(n, 1);
}

#[test]
fn conversions_post_s2s_events_with_the_tracking_token() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    db.batch_execute(&format!(
        "ALTER SERVER partnerstack_server OPTIONS (ADD s2s_url 'http://127.0.0.1:{}');
         ALTER USER MAPPING FOR CURRENT_USER SERVER partnerstack_server OPTIONS (ADD s2s_token 's2s_test_mock');",
        mock.port()
    ))
    .unwrap();
    mock.clear_requests();
    db.execute(
        "INSERT INTO partnerstack.conversions (xid, customer_key, email, sub_ids) VALUES ('click-1', 'e2e-conv-1', 'conv@example.org', '{a,b}')",
        &[],
    )
    .unwrap();
    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["path"], "/conversion/xid");
    assert_eq!(requests[0]["auth_scheme"], "bearer");
    assert_eq!(
        requests[0]["body"],
        json!({"xid": "click-1", "customer_key": "e2e-conv-1", "email": "conv@example.org", "sub_ids": ["a", "b"]})
    );
    let email: String = db.scalar(
        "SELECT email FROM partnerstack.customers WHERE customer_key = 'e2e-conv-1'",
        &[],
    );
    assert_eq!(email, "conv@example.org");
    let err = db
        .query("SELECT * FROM partnerstack.conversions", &[])
        .unwrap_err();
    assert!(
        error_text(&err).contains("write-only"),
        "{}",
        error_text(&err)
    );
}

#[test]
fn other_resources_write_as_the_reference_documents() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partnership = mock.list_all("/partnerships")[0].clone();
    let customer = mock.list_all("/customers")[0].clone();
    let group = mock.list_all("/groups")[0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    mock.clear_requests();
    db.batch_execute(&format!(
        "INSERT INTO partnerstack.partnerships (email, first_name, partner_key, group_key) VALUES ('p@example.org', 'Pat', 'e2e-partner', '{group}');
         INSERT INTO partnerstack.deals (partner_key, account_name, amount, close_date, stage) VALUES ('e2e-partner', 'Acme', 500000, '2026-03-01', NULL);
         INSERT INTO partnerstack.leads (partner_key, external_key, status, meta) VALUES ('e2e-partner', 'lead@example.org', 'open', '{{\"first_name\": \"L\", \"last_name\": \"M\"}}');
         INSERT INTO partnerstack.actions (target_type, target_key, type, value) VALUES ('partnership', 'e2e-partner', 'signup', 1);
         INSERT INTO partnerstack.rewards (amount, description, target) VALUES (1000, 'bonus', '{{\"key\": \"{}\", \"type\": \"customer\"}}');
         INSERT INTO partnerstack.webhooks (target, events) VALUES ('https://example.org/hook', '{{customer.created}}');",
        customer["key"].as_str().unwrap()
    ))
    .unwrap();
    let posts: Vec<String> = mock.writes();
    assert_eq!(
        posts,
        [
            "POST /api/v2/partnerships 200",
            "POST /api/v2/deals 200",
            "POST /api/v2/leads 200",
            "POST /api/v2/actions 200",
            "POST /api/v2/rewards 200",
            "POST /api/v2/webhooks 200"
        ]
    );
    let deal: String = db.scalar(
        "SELECT key FROM partnerstack.deals WHERE account_name = 'Acme'",
        &[],
    );
    let hook: String = db.scalar(
        "SELECT key FROM partnerstack.webhooks WHERE target = 'https://example.org/hook'",
        &[],
    );
    let partnership_key: String = db.scalar(
        "SELECT key FROM partnerstack.partnerships WHERE partner_key = 'e2e-partner'",
        &[],
    );
    mock.clear_requests();
    db.batch_execute(&format!(
        "UPDATE partnerstack.deals SET stage = 'won', amount = 600000 WHERE key = '{deal}';
         UPDATE partnerstack.webhooks SET events = '{{customer.created,customer.updated}}' WHERE key = '{hook}';
         UPDATE partnerstack.partnerships SET group_key = '{group}' WHERE key = '{partnership_key}';
         DELETE FROM partnerstack.deals WHERE key = '{deal}';
         DELETE FROM partnerstack.webhooks WHERE key = '{hook}';"
    ))
    .unwrap();
    let w = mock.writes();
    assert!(
        w.contains(&format!("PATCH /api/v2/deals/{deal} 200")),
        "{w:?}"
    );
    assert!(
        w.contains(&format!("PATCH /api/v2/webhooks/{hook} 200")),
        "{w:?}"
    );
    assert!(
        w.contains(&format!("PATCH /api/v2/partnerships/{partnership_key} 200")),
        "{w:?}"
    );
    assert!(
        w.contains(&format!("DELETE /api/v2/deals/{deal} 200")),
        "{w:?}"
    );
    assert!(
        w.contains(&format!("DELETE /api/v2/webhooks/{hook} 200")),
        "{w:?}"
    );
    let _ = partnership;
}

#[test]
fn a_row_without_its_addressing_key_is_refused_not_skipped() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let without: Vec<String> = mock
        .list_all("/customers")
        .iter()
        .filter(|c| c["customer_key"].is_null())
        .map(|c| c["key"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !without.is_empty(),
        "the mock has customers without customer_key"
    );
    mock.clear_requests();
    let err = db
        .execute(
            "UPDATE partnerstack.customers SET name = 'x' WHERE key = $1",
            &[&without[0]],
        )
        .unwrap_err();
    assert_eq!(sqlstate(&err), "23502", "{}", error_text(&err));
    assert!(
        error_text(&err).contains("has no customer_key"),
        "{}",
        error_text(&err)
    );
    assert!(mock.writes().is_empty());
}
