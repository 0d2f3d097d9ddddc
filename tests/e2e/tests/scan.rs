//! Reading through a real client: every row the API holds, exactly the requests it should take.

use std::collections::BTreeSet;

use partnerstack_e2e::{Db, Mock, request_param};
use serde_json::Value;

/// Tables read by a plain list, with their API path.
const LIST_TABLES: [(&str, &str); 9] = [
    ("customers", "/customers"),
    ("partnerships", "/partnerships"),
    ("groups", "/groups"),
    ("deals", "/deals"),
    ("leads", "/leads"),
    ("transactions", "/transactions"),
    ("rewards", "/rewards"),
    ("actions", "/actions"),
    ("webhooks", "/webhooks"),
];

fn keys(db: &mut Db, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> Vec<String> {
    db.strings(sql, params)
}

fn item_keys(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect()
}

/// The logged GET requests relative to /api/v2, as `path?query`.
fn gets(mock: &Mock) -> Vec<String> {
    mock.gets()
}

#[test]
fn every_table_returns_every_row_in_api_order_following_the_cursor() {
    let mock = Mock::start_with(&["--size", "transactions=1100", "--size", "customers=260"]);
    let mut db = Db::with_partnerstack(&mock);
    for (table, path) in LIST_TABLES {
        let expected = mock.list_all(path);
        mock.clear_requests();
        let got = keys(
            &mut db,
            &format!("SELECT key FROM partnerstack.{table}"),
            &[],
        );
        assert_eq!(
            got,
            item_keys(&expected),
            "{table}: rows or order differ from the API"
        );

        // The cursor chain: each page starts after the previous page's last key.
        let requests = mock.requests_to(path);
        let pages = expected.len().div_ceil(250).max(1);
        assert_eq!(requests.len(), pages, "{table}: {requests:?}");
        for (n, request) in requests.iter().enumerate() {
            assert_eq!(request["status"], 200);
            assert_eq!(request_param(request, "limit").as_deref(), Some("250"));
            let after = request_param(request, "starting_after");
            let expected_after =
                (n > 0).then(|| expected[n * 250 - 1]["key"].as_str().unwrap().to_owned());
            assert_eq!(after, expected_after, "{table} page {n}");
        }
    }
}

#[test]
fn columns_are_typed_and_attrs_is_the_item_as_sent() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let expected = mock.list_all("/transactions");
    let rows = db
        .query(
            "SELECT key, amount, amount_usd, approved, currency, customer_key, customer, metadata,
                    test, (extract(epoch FROM created_at) * 1000)::bigint, (extract(epoch FROM updated_at) * 1000)::bigint,
                    attrs
               FROM partnerstack.transactions",
            &[],
        )
        .unwrap();
    assert_eq!(rows.len(), expected.len());
    for (row, item) in rows.iter().zip(&expected) {
        let key: String = row.get(0);
        assert_eq!(key, item["key"].as_str().unwrap());
        assert_eq!(
            row.get::<_, Option<i64>>(1),
            item["amount"].as_i64(),
            "{key}"
        );
        assert_eq!(
            row.get::<_, Option<i64>>(2),
            item["amount_usd"].as_i64(),
            "{key}"
        );
        assert_eq!(
            row.get::<_, Option<bool>>(3),
            item["approved"].as_bool(),
            "{key}"
        );
        assert_eq!(
            row.get::<_, Option<String>>(4).as_deref(),
            item["currency"].as_str(),
            "{key}"
        );
        assert_eq!(
            row.get::<_, Option<String>>(5).as_deref(),
            item["customer_key"].as_str(),
            "{key}"
        );
        let customer: Option<Value> = row.get(6);
        assert_eq!(customer.unwrap_or(Value::Null), item["customer"], "{key}");
        let metadata: Option<Value> = row.get(7);
        assert_eq!(metadata.unwrap_or(Value::Null), item["metadata"], "{key}");
        assert_eq!(
            row.get::<_, Option<bool>>(8),
            item["test"].as_bool(),
            "{key}"
        );
        assert_eq!(
            row.get::<_, Option<i64>>(9),
            item["created_at"].as_i64(),
            "milliseconds kept: {key}"
        );
        assert_eq!(
            row.get::<_, Option<i64>>(10),
            item["updated_at"].as_i64(),
            "{key}"
        );
        let attrs: Value = row.get(11);
        assert_eq!(&attrs, item, "attrs is the whole item");
    }
    // Negative amounts (refunds) and several currencies come through.
    assert!(expected.iter().any(|i| i["amount"].as_i64().unwrap() < 0));
}

#[test]
fn absent_and_null_fields_are_null_and_non_ascii_text_survives() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let expected = mock.list_all("/customers");
    let rows = db
        .query(
            "SELECT key, email, name, provider_key FROM partnerstack.customers",
            &[],
        )
        .unwrap();
    for (row, item) in rows.iter().zip(&expected) {
        assert_eq!(
            row.get::<_, Option<String>>(1).as_deref(),
            item["email"].as_str()
        );
        assert_eq!(
            row.get::<_, Option<String>>(2).as_deref(),
            item["name"].as_str()
        );
        assert_eq!(
            row.get::<_, Option<String>>(3).as_deref(),
            item["provider_key"].as_str()
        );
    }
    assert!(
        rows.iter().any(|r| r.get::<_, Option<String>>(1).is_none()),
        "some emails are null"
    );
    assert!(
        rows.iter()
            .any(|r| r.get::<_, Option<String>>(2).is_some_and(|n| !n.is_ascii())),
        "some names are not ASCII"
    );
}

/// A millisecond that several customers share as updated_at, and its neighbours.
fn shared_updated_at(items: &[Value]) -> i64 {
    let mut counts = std::collections::BTreeMap::new();
    for i in items {
        *counts.entry(i["updated_at"].as_i64().unwrap()).or_insert(0) += 1;
    }
    *counts
        .iter()
        .filter(|(_, n)| **n >= 2)
        .map(|(ms, _)| ms)
        .nth(3)
        .expect("the mock generates shared milliseconds")
}

/// A SQL condition, which updated_at values it selects, and the parameters it must send.
type BoundCase = (String, Box<dyn Fn(i64) -> bool>, Vec<(&'static str, i64)>);

#[test]
fn updated_at_bounds_are_exact_at_the_millisecond() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let all = mock.list_all("/customers");
    let t = shared_updated_at(&all);
    let ts =
        |ms: i64, micros: i64| format!("to_timestamp({}::numeric / 1000000)", ms * 1000 + micros);
    // (SQL condition, rows it must return, the parameters the request must carry)
    let cases: Vec<BoundCase> = vec![
        (
            format!("updated_at > {}", ts(t, 0)),
            Box::new(move |u| u > t),
            vec![("min_updated", t + 1)],
        ),
        (
            format!("updated_at >= {}", ts(t, 0)),
            Box::new(move |u| u >= t),
            vec![("min_updated", t)],
        ),
        (
            format!("updated_at < {}", ts(t, 0)),
            Box::new(move |u| u < t),
            vec![("max_updated", t - 1)],
        ),
        (
            format!("updated_at <= {}", ts(t, 0)),
            Box::new(move |u| u <= t),
            vec![("max_updated", t)],
        ),
        (
            format!("updated_at = {}", ts(t, 0)),
            Box::new(move |u| u == t),
            vec![("min_updated", t), ("max_updated", t)],
        ),
        (
            format!("updated_at > {}", ts(t, 500)),
            Box::new(move |u| u > t),
            vec![("min_updated", t + 1)],
        ),
        (
            format!("updated_at >= {}", ts(t, 500)),
            Box::new(move |u| u > t),
            vec![("min_updated", t + 1)],
        ),
        (
            format!("updated_at < {}", ts(t, 500)),
            Box::new(move |u| u <= t),
            vec![("max_updated", t)],
        ),
        (
            format!(
                "updated_at BETWEEN {} AND {}",
                ts(t - 86_400_000, 0),
                ts(t, 0)
            ),
            Box::new(move |u| (t - 86_400_000..=t).contains(&u)),
            vec![("min_updated", t - 86_400_000), ("max_updated", t)],
        ),
    ];
    for (condition, matches, params) in cases {
        mock.clear_requests();
        let got: BTreeSet<String> = keys(
            &mut db,
            &format!("SELECT key FROM partnerstack.customers WHERE {condition}"),
            &[],
        )
        .into_iter()
        .collect();
        let expected: BTreeSet<String> = all
            .iter()
            .filter(|i| matches(i["updated_at"].as_i64().unwrap()))
            .map(|i| i["key"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            !expected.is_empty(),
            "{condition}: the case must select rows"
        );
        assert_eq!(got, expected, "{condition}");
        let first = &mock.requests_to("/customers")[0];
        for (name, value) in params {
            assert_eq!(
                request_param(first, name),
                Some(value.to_string()),
                "{condition}: {first}"
            );
        }
    }
}

#[test]
fn created_at_is_pushed_where_updated_at_is_not() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let all = mock.list_all("/transactions");
    let pivot = all[all.len() / 2]["created_at"].as_i64().unwrap();
    mock.clear_requests();
    let got = keys(
        &mut db,
        "SELECT key FROM partnerstack.transactions
          WHERE created_at >= to_timestamp($1::bigint / 1000.0) AND updated_at > '2000-01-01'",
        &[&pivot],
    );
    let expected: Vec<String> = all
        .iter()
        .filter(|i| i["created_at"].as_i64().unwrap() >= pivot)
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, expected);
    let request = &mock.requests_to("/transactions")[0];
    assert_eq!(
        request_param(request, "min_created"),
        Some(pivot.to_string())
    );
    assert_eq!(
        request_param(request, "min_updated"),
        None,
        "transactions take no updated filter"
    );
}

#[test]
fn equality_filters_become_query_parameters() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let all = mock.list_all("/customers");
    let partner = all[0]["partner_key"].as_str().unwrap().to_owned();
    mock.clear_requests();
    let got = keys(
        &mut db,
        "SELECT key FROM partnerstack.customers WHERE partner_key = $1",
        &[&partner],
    );
    let expected: Vec<String> = all
        .iter()
        .filter(|i| i["partner_key"] == partner.as_str())
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        gets(&mock),
        [format!("/customers?partner_key={partner}&limit=250")]
    );

    let rewards = mock.list_all("/rewards");
    mock.clear_requests();
    let approved = keys(
        &mut db,
        "SELECT key FROM partnerstack.rewards WHERE reward_status = 'approved'",
        &[],
    );
    let expected: Vec<String> = rewards
        .iter()
        .filter(|i| i["reward_status"] == "approved")
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(approved, expected);
    assert_eq!(gets(&mock), ["/rewards?status=approved&limit=250"]);
}

#[test]
fn key_lookups_are_one_get_each_and_404_is_no_row() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let all = mock.list_all("/customers");
    let with_key: Vec<&Value> = all
        .iter()
        .filter(|i| i["customer_key"].is_string())
        .collect();
    let (a, b) = (
        with_key[0]["customer_key"].as_str().unwrap(),
        with_key[1]["customer_key"].as_str().unwrap(),
    );
    mock.clear_requests();
    let got = keys(
        &mut db,
        "SELECT key FROM partnerstack.customers WHERE customer_key IN ($1, $2, 'no such customer') ORDER BY key",
        &[&a, &b],
    );
    let mut expected = vec![
        with_key[0]["key"].as_str().unwrap().to_owned(),
        with_key[1]["key"].as_str().unwrap().to_owned(),
    ];
    expected.sort();
    assert_eq!(got, expected);
    let enc = partnerstack_e2e::http::encode_query_value;
    // Sent at once (max_concurrency), so in any order.
    let mut sent = gets(&mock);
    sent.sort();
    let mut wanted = [
        format!("/customers/{}", enc(a)),
        format!("/customers/{}", enc(b)),
        "/customers/no%20such%20customer".to_owned(),
    ];
    wanted.sort();
    assert_eq!(sent, wanted);
    let mut statuses: Vec<i64> = mock
        .requests()
        .iter()
        .map(|r| r["status"].as_i64().unwrap())
        .collect();
    statuses.sort();
    assert_eq!(statuses, [200, 200, 404]);

    let deal = mock.list_all("/deals")[5].clone();
    mock.clear_requests();
    let got = keys(
        &mut db,
        "SELECT key FROM partnerstack.deals WHERE key = $1",
        &[&deal["key"].as_str().unwrap()],
    );
    assert_eq!(got, [deal["key"].as_str().unwrap()]);
    assert_eq!(gets(&mock).len(), 1);
}

#[test]
fn prepared_statements_push_their_parameters_every_execution() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let all = mock.list_all("/customers");
    // A named prepared statement executed more than five times: Postgres switches to a cached
    // generic plan, as it does for JDBC and BI tools.
    let statement = db
        .prepare("SELECT key FROM partnerstack.customers WHERE updated_at > $1")
        .unwrap();
    for n in 0..8 {
        let t = all[20 + n * 10]["updated_at"].as_i64().unwrap();
        let since = std::time::UNIX_EPOCH + std::time::Duration::from_millis(t as u64);
        mock.clear_requests();
        let got: Vec<String> = db
            .query(&statement, &[&since])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let expected: Vec<String> = all
            .iter()
            .filter(|i| i["updated_at"].as_i64().unwrap() > t)
            .map(|i| i["key"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(got, expected, "execution {n}");
        assert_eq!(
            gets(&mock),
            [format!("/customers?min_updated={}&limit=250", t + 1)],
            "execution {n}"
        );
    }
    let lookup = db
        .prepare("SELECT email FROM partnerstack.customers WHERE customer_key = $1")
        .unwrap();
    for item in all.iter().filter(|i| i["customer_key"].is_string()).take(8) {
        let ck = item["customer_key"].as_str().unwrap();
        let email: Vec<Option<String>> = db
            .query(&lookup, &[&ck])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(email, [item["email"].as_str().map(str::to_owned)]);
    }
}

#[test]
fn join_values_reach_the_api_through_a_nested_loop() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let all = mock.list_all("/customers");
    let wanted: Vec<&str> = all
        .iter()
        .filter_map(|i| i["customer_key"].as_str())
        .take(3)
        .collect();
    db.batch_execute("CREATE TABLE wanted (ck text); ANALYZE wanted")
        .unwrap();
    for ck in &wanted {
        db.execute("INSERT INTO wanted VALUES ($1)", &[ck]).unwrap();
    }
    db.batch_execute("ANALYZE wanted").unwrap();
    mock.clear_requests();
    let got = keys(
        &mut db,
        "SELECT c.customer_key FROM wanted w JOIN partnerstack.customers c ON c.customer_key = w.ck ORDER BY 1",
        &[],
    );
    let mut expected: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(got, expected);
    let requests = gets(&mock);
    assert_eq!(requests.len(), 3, "one GET per outer row: {requests:?}");
    assert!(
        requests.iter().all(|r| r.starts_with("/customers/")),
        "{requests:?}"
    );
}

#[test]
fn links_are_read_per_partnership_through_a_join() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partnerships = mock.list_all("/partnerships");
    let mut expected = BTreeSet::new();
    for p in partnerships.iter().take(5) {
        let key = p["key"].as_str().unwrap();
        for link in mock.list_all(&format!("/links/partnership/{key}")) {
            expected.insert((key.to_owned(), link["key"].as_str().unwrap().to_owned()));
        }
    }
    let first_five: Vec<String> = item_keys(&partnerships[..5]);
    mock.clear_requests();
    let rows = db
        .query(
            "SELECT l.partnership_key, l.key FROM partnerstack.partnerships p
               JOIN partnerstack.links l ON l.partnership_key = p.key
              WHERE p.key = ANY($1)",
            &[&first_five],
        )
        .unwrap();
    let got: BTreeSet<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, expected);
    let links = mock.requests_to("/links/partnership");
    assert_eq!(links.len(), 5, "one links list per partnership");
    let err = db
        .query("SELECT * FROM partnerstack.links", &[])
        .unwrap_err();
    assert!(partnerstack_e2e::error_text(&err).contains("partnership_key"));
}

#[test]
fn limit_with_a_local_condition_returns_the_right_rows() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let all = mock.list_all("/customers");
    assert!(all.len() > 260);
    // Rows only on the second page, under a condition only Postgres can check (the API cannot
    // look customers up by their cus_ key): a scan that stopped after one LIMIT-sized page
    // would return nothing.
    let expected: Vec<String> = item_keys(&all[252..257]);
    let decoys: Vec<String> = item_keys(&all[258..261]);
    let wanted: Vec<String> = expected.iter().chain(&decoys).cloned().collect();
    mock.clear_requests();
    let got = keys(
        &mut db,
        "SELECT key FROM partnerstack.customers WHERE key = ANY($1) LIMIT 5",
        &[&wanted],
    );
    assert_eq!(got, expected);
    assert_eq!(
        gets(&mock),
        [
            "/customers?limit=250".to_owned(),
            format!(
                "/customers?limit=250&starting_after={}",
                partnerstack_e2e::http::encode_query_value(all[249]["key"].as_str().unwrap())
            )
        ],
        "full pages, and paging goes on until the LIMIT is met"
    );
}

#[test]
fn limit_sizes_the_first_page_when_every_condition_is_pushed() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let all = mock.list_all("/customers");
    mock.clear_requests();
    let got = keys(
        &mut db,
        "SELECT key FROM partnerstack.customers LIMIT 3",
        &[],
    );
    assert_eq!(got, item_keys(&all[..3]));
    assert_eq!(gets(&mock), ["/customers?limit=3"]);
}

#[test]
fn subquery_results_are_pushed() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let all = mock.list_all("/customers");
    let t = all[40]["updated_at"].as_i64().unwrap();
    mock.clear_requests();
    let got = keys(
        &mut db,
        "SELECT key FROM partnerstack.customers
          WHERE updated_at > (SELECT to_timestamp($1::bigint / 1000.0))",
        &[&t],
    );
    let expected: Vec<String> = all
        .iter()
        .filter(|i| i["updated_at"].as_i64().unwrap() > t)
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        gets(&mock),
        [format!("/customers?min_updated={}&limit=250", t + 1)]
    );
}

#[test]
fn explain_through_psql_shows_endpoint_parameters_and_traffic() {
    let mock = Mock::start();
    let db = Db::with_partnerstack(&mock);
    let (out, err, status) = db.psql(
        "EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF)
         SELECT key FROM partnerstack.customers WHERE updated_at >= '2025-06-01' AND partner_key = 'x y';",
    );
    assert!(status.success(), "{err}");
    assert!(
        out.contains("PartnerStack Endpoint: GET /customers"),
        "{out}"
    );
    assert!(
        out.contains("PartnerStack Requests: GET /customers?min_updated=1748736000000&partner_key=x%20y&limit=250"),
        "{out}"
    );
    assert!(
        out.contains("PartnerStack Traffic: requests=1 pages=1 items=0 retries=0"),
        "{out}"
    );
    assert!(
        out.contains("PartnerStack Request Log: GET /customers?min_updated="),
        "{out}"
    );
    assert!(!out.contains("sk_test_mock"), "{out}");
}
