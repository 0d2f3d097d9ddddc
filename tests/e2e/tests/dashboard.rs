//! Dashboard queries (issue 9): the questions BI tools ask all day, each answered with the
//! fewest requests: "the last 30 days" in every spelling, through real prepared statements.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use partnerstack_e2e::{Db, Mock};
use serde_json::Value;

fn gets(mock: &Mock) -> Vec<String> {
    mock.gets()
}

fn keys(db: &mut Db, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> Vec<String> {
    db.strings(sql, params)
}

/// Keys of the items updated at or after `min_ms`, in API order.
fn updated_since(all: &[Value], min_ms: i64) -> Vec<String> {
    all.iter()
        .filter(|i| i["updated_at"].as_i64().unwrap() >= min_ms)
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect()
}

/// Unix milliseconds of a SQL time value converted to timestamptz in the session.
fn epoch_ms(db: &mut Db, value: &str) -> i64 {
    db.scalar(
        &format!("SELECT floor(extract(epoch FROM ({value})::timestamptz) * 1000)::bigint"),
        &[],
    )
}

#[test]
fn last_30_days_in_every_spelling_sends_min_updated() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let all = mock.list_all("/customers");
    // A day inside the data, so that the bound splits the rows.
    let mid = all[all.len() / 2]["updated_at"].as_i64().unwrap();
    let day = DateTime::from_timestamp_millis(mid).unwrap().date_naive();
    db.batch_execute("SET TimeZone = 'America/New_York'")
        .unwrap();
    let midnight = epoch_ms(&mut db, &format!("DATE '{day}'"));
    let forms = [
        format!("updated_at >= DATE '{day}'"),
        format!("updated_at >= '{day} 00:00'::timestamp"),
        format!("updated_at >= '{day}'::timestamp without time zone"),
        format!("updated_at >= date_trunc('day', '{day} 13:45'::timestamp)"),
        format!("DATE '{day}' <= updated_at"),
    ];
    for form in &forms {
        mock.clear_requests();
        let got = keys(
            &mut db,
            &format!("SELECT key FROM partnerstack.customers WHERE {form}"),
            &[],
        );
        assert_eq!(got, updated_since(&all, midnight), "{form}");
        assert!(!got.is_empty() && got.len() < all.len(), "{form}");
        assert_eq!(
            gets(&mock),
            [format!("/customers?min_updated={midnight}&limit=250")],
            "{form}"
        );
    }
    // Relative to today: whatever the data's dates, the request carries the bound.
    for (form, value) in [
        ("updated_at >= current_date - 30", "current_date - 30"),
        (
            "updated_at >= date_trunc('month', now()) - interval '1 month'",
            "date_trunc('month', now()) - interval '1 month'",
        ),
    ] {
        let bound = epoch_ms(&mut db, value);
        mock.clear_requests();
        let got = keys(
            &mut db,
            &format!("SELECT key FROM partnerstack.customers WHERE {form}"),
            &[],
        );
        assert_eq!(got, updated_since(&all, bound), "{form}");
        assert_eq!(
            gets(&mock),
            [format!("/customers?min_updated={bound}&limit=250")],
            "{form}"
        );
    }
}

#[test]
fn date_timestamp_and_timestamptz_parameters_are_pushed_in_the_session_time_zone() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let all = mock.list_all("/customers");
    let mid = all[all.len() / 3]["updated_at"].as_i64().unwrap();
    let instant = DateTime::from_timestamp_millis(mid).unwrap();
    let day: NaiveDate = instant.date_naive();
    let naive: NaiveDateTime = instant.naive_utc();
    let aware: DateTime<Utc> = instant;
    // What psycopg sends for a `date` and a naive `datetime` (date, timestamp), and pgjdbc for
    // an OffsetDateTime (timestamptz); run more than five times, the plan is a cached one.
    let by_date = db
        .prepare_typed(
            "SELECT key FROM partnerstack.customers WHERE updated_at >= $1",
            &[postgres::types::Type::DATE],
        )
        .unwrap();
    let by_naive = db
        .prepare_typed(
            "SELECT key FROM partnerstack.customers WHERE updated_at >= $1",
            &[postgres::types::Type::TIMESTAMP],
        )
        .unwrap();
    let by_aware = db
        .prepare_typed(
            "SELECT key FROM partnerstack.customers WHERE updated_at >= $1",
            &[postgres::types::Type::TIMESTAMPTZ],
        )
        .unwrap();
    for zone in [
        "UTC",
        "Europe/Berlin",
        "America/Los_Angeles",
        "Asia/Kathmandu",
    ] {
        db.batch_execute(&format!("SET TimeZone = '{zone}'"))
            .unwrap();
        for run in 0..6 {
            let cases: [(
                &postgres::Statement,
                &(dyn postgres::types::ToSql + Sync),
                i64,
            ); 3] = [
                (&by_date, &day, epoch_ms(&mut db, &format!("DATE '{day}'"))),
                (
                    &by_naive,
                    &naive,
                    epoch_ms(&mut db, &format!("'{naive}'::timestamp")),
                ),
                (&by_aware, &aware, mid),
            ];
            for (statement, value, min) in cases {
                mock.clear_requests();
                let got: Vec<String> = db
                    .query(statement, &[value])
                    .unwrap()
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                assert_eq!(got, updated_since(&all, min), "{zone} run {run} {value:?}");
                assert_eq!(
                    gets(&mock),
                    [format!("/customers?min_updated={min}&limit=250")],
                    "{zone} run {run} {value:?}"
                );
            }
        }
    }
}

#[test]
fn latest_n_rows_are_one_request_of_n_rows_without_a_sort() {
    let mock = Mock::start_with(&["--size", "customers=600"]);
    let mut db = Db::with_partnerstack(&mock);
    let all = mock.list_all("/customers");
    let api_keys = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .map(|i| i["key"].as_str().unwrap().to_owned())
            .collect()
    };
    mock.clear_requests();
    let got = keys(
        &mut db,
        "SELECT key FROM partnerstack.customers ORDER BY created_at DESC LIMIT 10",
        &[],
    );
    assert_eq!(got, api_keys(&all[..10]));
    assert_eq!(gets(&mock), ["/customers?limit=10"]);

    let since = all[300]["updated_at"].as_i64().unwrap();
    let recent: Vec<Value> = all
        .iter()
        .filter(|i| i["updated_at"].as_i64().unwrap() >= since)
        .cloned()
        .collect();
    mock.clear_requests();
    let got = keys(
        &mut db,
        "SELECT key FROM partnerstack.customers
          WHERE updated_at >= to_timestamp($1::bigint / 1000.0)
          ORDER BY created_at DESC LIMIT 5 OFFSET 2",
        &[&since],
    );
    assert_eq!(got, api_keys(&recent[2..7]));
    assert_eq!(
        gets(&mock),
        [format!("/customers?min_updated={since}&limit=7")]
    );

    let (out, err, status) = db.psql(
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)
         SELECT key FROM partnerstack.customers ORDER BY created_at DESC LIMIT 10;",
    );
    assert!(status.success(), "{err}");
    assert!(!out.contains("Sort"), "{out}");
    assert!(
        out.contains("PartnerStack Pushed Order: created_at DESC"),
        "{out}"
    );
    assert!(out.contains("PartnerStack Pushed Limit: 10 rows"), "{out}");
    assert!(
        out.contains("PartnerStack Traffic: requests=1 pages=1 items=10"),
        "{out}"
    );
}

#[test]
fn oldest_first_is_sorted_by_postgres_over_every_page() {
    let mock = Mock::start_with(&["--size", "customers=300"]);
    let mut db = Db::with_partnerstack(&mock);
    let all = mock.list_all("/customers");
    let mut oldest: Vec<(i64, String)> = all
        .iter()
        .map(|i| {
            (
                i["created_at"].as_i64().unwrap(),
                i["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    oldest.sort();
    mock.clear_requests();
    let got = keys(
        &mut db,
        "SELECT key FROM partnerstack.customers ORDER BY created_at, key LIMIT 3",
        &[],
    );
    let expected: Vec<String> = oldest[..3].iter().map(|(_, k)| k.clone()).collect();
    assert_eq!(got, expected);
    assert_eq!(gets(&mock).len(), 2, "every page is read to sort them");
}

#[test]
fn count_is_one_request_with_total_and_pages_without_it() {
    let mock = Mock::start_with(&["--size", "customers=600"]);
    let mut db = Db::with_partnerstack(&mock);
    let all = mock.list_all("/customers");
    let since = all[250]["updated_at"].as_i64().unwrap();
    let recent = updated_since(&all, since).len() as i64;
    let count_since = "SELECT count(*) FROM partnerstack.customers
                        WHERE updated_at >= to_timestamp($1::bigint / 1000.0)";

    mock.clear_requests();
    let n: i64 = db.scalar("SELECT count(*) FROM partnerstack.customers", &[]);
    assert_eq!(n, all.len() as i64);
    assert_eq!(gets(&mock), ["/customers?limit=1"]);

    mock.clear_requests();
    let n: i64 = db.scalar(count_since, &[&since]);
    assert_eq!(n, recent);
    assert_eq!(
        gets(&mock),
        [format!("/customers?min_updated={since}&limit=1")]
    );

    // Without `total`, the list is counted page by page.
    mock.config(serde_json::json!({"omit_total": true}));
    mock.clear_requests();
    let n: i64 = db.scalar("SELECT count(*) FROM partnerstack.customers", &[]);
    assert_eq!(n, all.len() as i64);
    let after =
        |i: usize| partnerstack_e2e::http::encode_query_value(all[i]["key"].as_str().unwrap());
    assert_eq!(
        gets(&mock),
        [
            "/customers?limit=1".to_owned(),
            "/customers?limit=250".to_owned(),
            format!("/customers?limit=250&starting_after={}", after(249)),
            format!("/customers?limit=250&starting_after={}", after(499)),
        ]
    );
    mock.clear_requests();
    let n: i64 = db.scalar(count_since, &[&since]);
    assert_eq!(n, recent);
    assert_eq!(
        gets(&mock)[0],
        format!("/customers?min_updated={since}&limit=1")
    );

    let (out, err, status) = db.psql(
        "EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF)
         SELECT count(*) FROM partnerstack.customers WHERE partner_key = 'nobody';",
    );
    assert!(status.success(), "{err}");
    assert!(!out.contains("Aggregate  "), "{out}");
    assert!(
        out.contains("PartnerStack Pushed Aggregate: count(*) from the list answer's total"),
        "{out}"
    );
    assert!(
        out.contains("PartnerStack Requests: GET /customers?partner_key=nobody&limit=1"),
        "{out}"
    );
}

#[test]
fn count_with_a_local_condition_or_grouping_counts_the_rows() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let all = mock.list_all("/customers");
    let with_email = all.iter().filter(|i| i["email"].is_string()).count() as i64;
    mock.clear_requests();
    let n: i64 = db.scalar(
        "SELECT count(*) FROM partnerstack.customers WHERE email IS NOT NULL",
        &[],
    );
    assert_eq!(n, with_email);
    let requests = gets(&mock);
    assert_eq!(requests[0], "/customers?limit=250", "every row is read");
    assert_eq!(requests.len(), all.len().div_ceil(250));
    let groups: i64 = db.scalar(
        "SELECT count(*) FROM (SELECT count(*) FROM partnerstack.customers GROUP BY partner_key) g",
        &[],
    );
    let mut partners: Vec<&Value> = all.iter().map(|i| &i["partner_key"]).collect();
    partners.sort_by_key(|v| v.to_string());
    partners.dedup();
    assert_eq!(groups, partners.len() as i64);
}

/// The customers a small join asks for: five with a customer_key, from the first page.
fn five_customer_keys(mock: &Mock) -> Vec<String> {
    let page = mock.raw_get("/customers?limit=250");
    page["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["customer_key"].as_str().map(str::to_owned))
        .take(5)
        .collect()
}

#[test]
fn after_analyze_a_join_of_five_keys_is_five_gets_and_of_5000_a_list() {
    let mock = Mock::start_with(&["--size", "customers=100000"]);
    let mut db = Db::with_partnerstack(&mock);
    let wanted = five_customer_keys(&mock);
    assert_eq!(wanted.len(), 5);
    db.batch_execute(
        "CREATE TABLE wanted (customer_key text); CREATE TABLE many (customer_key text)",
    )
    .unwrap();
    for key in &wanted {
        db.execute("INSERT INTO wanted VALUES ($1)", &[key])
            .unwrap();
    }
    db.batch_execute(
        "INSERT INTO many SELECT 'k' || n FROM generate_series(1, 5000) n;
         ANALYZE wanted; ANALYZE many;",
    )
    .unwrap();
    let join = "SELECT c.customer_key FROM wanted w JOIN partnerstack.customers c USING (customer_key) ORDER BY 1";
    let mut expected = wanted.clone();
    expected.sort();

    // Before ANALYZE the table is thought small (estimated_rows): the whole list is read.
    mock.clear_requests();
    assert_eq!(keys(&mut db, join, &[]), expected);
    let before = gets(&mock);
    // 400 pages of 250, read in created_at windows (max_concurrency): at most a tenth more,
    // plus one per stream.
    assert!(
        (400..=400 + 40 + 8).contains(&before.len()),
        "100,000 customers in pages of 250: {} requests",
        before.len()
    );

    // ANALYZE: the count from total, a sample of the newest 30,000 rows (120 pages).
    mock.clear_requests();
    db.batch_execute("ANALYZE partnerstack.customers").unwrap();
    let analyze = gets(&mock);
    assert_eq!(analyze[0], "/customers?limit=1");
    assert_eq!(analyze.len(), 1 + 120, "{:?}", &analyze[..3]);
    let reltuples: f32 = db.scalar(
        "SELECT reltuples FROM pg_class WHERE oid = 'partnerstack.customers'::regclass",
        &[],
    );
    assert_eq!(reltuples, 100_000.0);

    // Planning sends nothing; five keys are five GETs.
    mock.clear_requests();
    let plan: Vec<String> = db
        .query(&format!("EXPLAIN (COSTS OFF) {join}"), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(gets(&mock).is_empty(), "planning sent requests");
    assert!(plan.iter().any(|l| l.contains("Nested Loop")), "{plan:#?}");
    assert_eq!(keys(&mut db, join, &[]), expected);
    let mut after = gets(&mock);
    after.sort();
    let mut lookups: Vec<String> = wanted
        .iter()
        .map(|k| {
            format!(
                "/customers/{}",
                partnerstack_e2e::http::encode_query_value(k)
            )
        })
        .collect();
    lookups.sort();
    assert_eq!(after, lookups);

    // 5,000 keys: one list scan is cheaper than 5,000 GETs.
    let plan: Vec<String> = db
        .query(
            "EXPLAIN (COSTS OFF) SELECT c.email FROM many m JOIN partnerstack.customers c USING (customer_key)",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(plan.iter().any(|l| l.contains("Hash Join")), "{plan:#?}");
    assert!(
        plan.iter()
            .any(|l| l.contains("PartnerStack Requests: GET /customers?limit=250")),
        "{plan:#?}"
    );
}

#[test]
fn request_cost_is_a_server_option_the_planner_uses() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let err = db
        .batch_execute("ALTER SERVER partnerstack_server OPTIONS (ADD request_cost '-1')")
        .unwrap_err();
    assert!(partnerstack_e2e::error_text(&err).contains("request_cost"));
    let cost = |db: &mut Db| -> f64 {
        let plan: Value = db.scalar(
            "EXPLAIN (FORMAT JSON) SELECT key FROM partnerstack.customers",
            &[],
        );
        plan[0]["Plan"]["Total Cost"].as_f64().unwrap()
    };
    let default = cost(&mut db);
    db.batch_execute("ALTER SERVER partnerstack_server OPTIONS (ADD request_cost '1000')")
        .unwrap();
    // 1,000 estimated rows: four requests and the rows' own cost.
    assert!(cost(&mut db) > 8.0 * default, "{default}");
}

fn item_keys(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn oldest_first_is_one_request_with_order_by_where_the_reference_documents_it() {
    let mock = Mock::start_with(&["--size", "transactions=600", "--size", "actions=600"]);
    let mut db = Db::with_partnerstack(&mock);
    // The API's ascending order (ties at one millisecond by key), read by the test itself.
    let oldest = mock.list_all("/transactions?order_by=created_at");
    assert_eq!(oldest.len(), 600);
    let created: Vec<i64> = oldest
        .iter()
        .map(|i| i["created_at"].as_i64().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "ascending");

    for omit_total in [false, true] {
        mock.config(serde_json::json!({"omit_total": omit_total}));
        mock.clear_requests();
        let got = keys(
            &mut db,
            "SELECT key FROM partnerstack.transactions ORDER BY created_at LIMIT 10",
            &[],
        );
        assert_eq!(got, item_keys(&oldest[..10]), "omit_total {omit_total}");
        assert_eq!(
            gets(&mock),
            ["/transactions?order_by=created_at&limit=10"],
            "omit_total {omit_total}"
        );
        // With a pushed condition, still one page of LIMIT + OFFSET rows.
        let since = created[200];
        let after: Vec<&Value> = oldest
            .iter()
            .filter(|i| i["created_at"].as_i64().unwrap() >= since)
            .collect();
        mock.clear_requests();
        let got = keys(
            &mut db,
            "SELECT key FROM partnerstack.transactions
              WHERE created_at >= to_timestamp($1::bigint / 1000.0)
              ORDER BY created_at ASC LIMIT 5 OFFSET 1",
            &[&since],
        );
        let expected: Vec<String> = after[1..6]
            .iter()
            .map(|i| i["key"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(got, expected);
        assert_eq!(
            gets(&mock),
            [format!(
                "/transactions?min_created={since}&order_by=created_at&limit=6"
            )]
        );
    }
    mock.config(serde_json::json!({"omit_total": false}));

    // Every row, oldest first: one cursor walked page by page with order_by (no windows).
    mock.clear_requests();
    let got = keys(
        &mut db,
        "SELECT key FROM partnerstack.transactions ORDER BY created_at",
        &[],
    );
    assert_eq!(got, item_keys(&oldest));
    let after =
        |i: usize| partnerstack_e2e::http::encode_query_value(oldest[i]["key"].as_str().unwrap());
    assert_eq!(
        gets(&mock),
        [
            "/transactions?order_by=created_at&limit=250".to_owned(),
            format!(
                "/transactions?order_by=created_at&limit=250&starting_after={}",
                after(249)
            ),
            format!(
                "/transactions?order_by=created_at&limit=250&starting_after={}",
                after(499)
            ),
        ]
    );

    // Newest first stays the API's own order, without a parameter.
    mock.clear_requests();
    let newest: Vec<String> = item_keys(&oldest).into_iter().rev().take(3).collect();
    let got = keys(
        &mut db,
        "SELECT key FROM partnerstack.transactions ORDER BY created_at DESC LIMIT 3",
        &[],
    );
    assert_eq!(got, newest);
    assert_eq!(gets(&mock), ["/transactions?limit=3"]);

    // A filter expanded into several requests: Postgres merges them, no order pushed.
    let actions = mock.list_all("/actions?order_by=created_at");
    let action_type = actions[0]["type"].as_str().unwrap().to_owned();
    let expected: Vec<String> = actions
        .iter()
        .filter(|a| a["type"] == action_type.as_str())
        .take(4)
        .map(|a| a["key"].as_str().unwrap().to_owned())
        .collect();
    mock.clear_requests();
    let got = keys(
        &mut db,
        "SELECT key FROM partnerstack.actions WHERE type = $1 ORDER BY created_at LIMIT 4",
        &[&action_type],
    );
    assert_eq!(got, expected);
    assert_eq!(
        gets(&mock),
        [format!(
            "/actions?action_type={}&order_by=created_at&limit=4",
            partnerstack_e2e::http::encode_query_value(&action_type)
        )]
    );

    let (out, err, status) = db.psql(
        "EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF)
         SELECT key FROM partnerstack.transactions ORDER BY created_at ASC LIMIT 10;",
    );
    assert!(status.success(), "{err}");
    assert!(!out.contains("Sort"), "{out}");
    assert!(
        out.contains("PartnerStack Pushed Order: created_at ASC (order_by=created_at: no sort)"),
        "{out}"
    );
    assert!(
        out.contains("PartnerStack Requests: GET /transactions?order_by=created_at&limit=10"),
        "{out}"
    );
    assert!(
        out.contains("PartnerStack Traffic: requests=1 pages=1 items=10"),
        "{out}"
    );
}

#[test]
fn orders_the_api_cannot_give_are_sorted_by_postgres() {
    let mock = Mock::start_with(&["--size", "transactions=600", "--size", "customers=600"]);
    let mut db = Db::with_partnerstack(&mock);
    let page = |path: &str| format!("{path}?limit=250");
    for (sql, path) in [
        // NULLS FIRST is not where an ascending list would put them (it has none, but the
        // plan must not rely on it).
        (
            "SELECT key FROM partnerstack.transactions ORDER BY created_at NULLS FIRST LIMIT 10",
            "/transactions",
        ),
        // updated_at: no order_by on transactions.
        (
            "SELECT key FROM partnerstack.transactions ORDER BY updated_at DESC LIMIT 10",
            "/transactions",
        ),
        // Vendor customers document no order_by.
        (
            "SELECT key FROM partnerstack.customers ORDER BY created_at LIMIT 10",
            "/customers",
        ),
    ] {
        mock.clear_requests();
        let _ = keys(&mut db, sql, &[]);
        let sent = gets(&mock);
        assert_eq!(sent.len(), 3, "{sql}: every page");
        assert_eq!(sent[0], page(path), "{sql}");
        assert!(sent.iter().all(|r| !r.contains("order_by")), "{sql}");
        let (out, err, status) = db.psql(&format!("EXPLAIN (COSTS OFF) {sql}"));
        assert!(status.success(), "{err}");
        assert!(out.contains("Sort"), "{sql}\n{out}");
        assert!(!out.contains("Pushed Order"), "{sql}\n{out}");
    }
    // Sorted right all the same: the ten oldest instants.
    let mut created: Vec<i64> = mock
        .list_all("/transactions")
        .iter()
        .map(|i| i["created_at"].as_i64().unwrap())
        .collect();
    created.sort();
    let got: Vec<i64> = db
        .query(
            "SELECT (extract(epoch FROM created_at) * 1000)::bigint FROM partnerstack.transactions
              ORDER BY created_at NULLS FIRST LIMIT 10",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(got, created[..10]);
}

/// "Requests before" of the README's dashboard table: what the same queries send without
/// pushdown, that is a full scan of the same data (what 0.1.0 sent for each of them).
#[test]
fn requests_before_the_pushdown_are_a_full_scan() {
    for (size, table, expected) in [
        ("customers=300", "customers", 2),
        ("customers=600", "customers", 3),
        ("transactions=600", "transactions", 3),
    ] {
        let mock = Mock::start_with(&["--size", size]);
        let mut db = Db::with_partnerstack(&mock);
        db.batch_execute("ALTER SERVER partnerstack_server OPTIONS (ADD max_concurrency '1')")
            .unwrap();
        mock.clear_requests();
        let _ = keys(
            &mut db,
            &format!("SELECT key FROM partnerstack.{table} ORDER BY key"),
            &[],
        );
        let sent = gets(&mock);
        eprintln!("full scan of {size}: {} requests", sent.len());
        assert_eq!(sent.len(), expected, "{size}: {sent:?}");
    }
}
