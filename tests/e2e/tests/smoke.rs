//! The documented setup works end to end: extension, server, user mapping, IMPORT FOREIGN
//! SCHEMA, and a count that matches what the API itself reports.

use partnerstack_e2e::{Db, Mock, request_param};

/// The tables IMPORT FOREIGN SCHEMA must create.
const TABLES: [&str; 10] = [
    "customers",
    "partnerships",
    "groups",
    "deals",
    "leads",
    "transactions",
    "rewards",
    "actions",
    "webhooks",
    "links",
];

#[test]
fn smoke_customers_count_matches_the_api() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);

    let imported: Vec<String> = db
        .query(
            "SELECT foreign_table_name::text FROM information_schema.foreign_tables \
             WHERE foreign_table_schema = 'partnerstack' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for table in TABLES {
        assert!(
            imported.iter().any(|t| t == table),
            "IMPORT FOREIGN SCHEMA did not create partnerstack.{table}; got {imported:?}"
        );
    }

    let expected = mock.raw_get("/customers?limit=1")["data"]["total"]
        .as_i64()
        .expect("the mock reports data.total for /customers");
    assert!(expected > 0, "the mock should have customers by default");
    mock.clear_requests();

    // Every row read (the subquery keeps count(*) from being read from the API's total).
    let count: i64 = db.scalar(
        "SELECT count(*) FROM (SELECT FROM partnerstack.customers OFFSET 0) AS every_row",
        &[],
    );
    assert_eq!(
        count, expected,
        "count(*) differs from the API's data.total"
    );

    let lists: Vec<_> = mock
        .requests_to("/customers")
        .into_iter()
        .filter(|r| r["method"] == "GET" && api_path(r) == "/customers")
        .collect();
    assert!(
        !lists.is_empty(),
        "no list request reached the mock: {:?}",
        mock.requests()
    );
    for request in &lists {
        assert_eq!(request["status"], 200, "list request failed: {request}");
    }
    let full_pages: Vec<_> = lists
        .iter()
        .filter(|r| request_param(r, "limit").as_deref() == Some("250"))
        .collect();
    // The scan reads pages of 250 (the API's maximum): exactly as many as the total needs.
    let pages = ((expected + 249) / 250).max(1) as usize;
    assert_eq!(
        full_pages.len(),
        pages,
        "{expected} customers should take {pages} page(s)"
    );
}

/// A logged request's path relative to `/api/v2`, without a trailing slash.
fn api_path(request: &serde_json::Value) -> &str {
    let path = request["path"].as_str().unwrap_or_default();
    path.strip_prefix("/api/v2")
        .unwrap_or(path)
        .trim_end_matches('/')
}
