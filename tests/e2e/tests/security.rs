//! Keys stay secret and user input stays data: what reaches logs, other roles and the API.

use partnerstack_e2e::{Cluster, Db, Mock, error_text};
use serde_json::json;

/// A private key distinctive enough to grep for.
const SECRET: &str = "sk_e2e_secret_7f3a9c";

fn connect_as(db: &Db, role: &str) -> postgres::Client {
    let cluster = Cluster::get();
    let conn = format!(
        "host={} port={} user={role} dbname={} connect_timeout=30",
        cluster.host(),
        cluster.port(),
        db.name()
    );
    postgres::Client::connect(&conn, postgres::NoTls).unwrap()
}

#[test]
fn the_private_key_never_reaches_the_log_errors_or_explain() {
    let mock = Mock::start_with(&["--key", &format!("pk_test_e2e:{SECRET}")]);
    let mut db = Db::new();
    db.setup_partnerstack(Some(&mock.api_url()), "pk_test_e2e", SECRET);
    let cluster = Cluster::get();
    let offset = cluster.log_len();
    db.batch_execute("SET log_min_messages = debug5; SET client_min_messages = debug5")
        .unwrap();
    let mut seen = Vec::new();
    seen.extend(
        db.simple_query("EXPLAIN (ANALYZE, VERBOSE) SELECT * FROM partnerstack.customers WHERE updated_at > '2025-01-01'")
            .unwrap()
            .into_iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                _ => None,
            }),
    );
    // Errors: a refused page, and a server that is not there.
    mock.faults(json!([{"kind": "status", "status": 401}]));
    seen.push(error_text(
        &db.query("SELECT * FROM partnerstack.groups", &[])
            .unwrap_err(),
    ));
    mock.clear_faults();
    db.batch_execute(
        "ALTER SERVER partnerstack_server OPTIONS (SET api_url 'http://127.0.0.1:9/api/v2')",
    )
    .unwrap();
    seen.push(error_text(
        &db.query("SELECT * FROM partnerstack.groups", &[])
            .unwrap_err(),
    ));
    let activity: Vec<String> = db
        .query("SELECT coalesce(query, '') FROM pg_stat_activity", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    seen.extend(activity);
    for text in &seen {
        assert!(!text.contains(SECRET), "{text}");
    }
    let log = cluster.log_since(offset);
    assert!(
        log.contains("could not connect to PartnerStack"),
        "the errors were logged"
    );
    assert!(
        !log.contains(SECRET),
        "the private key is in the server log"
    );
}

#[test]
fn other_roles_see_neither_keys_nor_data_without_their_own_mapping() {
    let mock = Mock::start_with(&[
        "--key",
        "pk_test_owner:sk_test_owner_secret",
        "--key",
        "pk_test_analyst:sk_test_analyst_secret",
    ]);
    let mut db = Db::new();
    db.setup_partnerstack(
        Some(&mock.api_url()),
        "pk_test_owner",
        "sk_test_owner_secret",
    );
    let role = format!("analyst_{}", std::process::id());
    db.batch_execute(&format!(
        "CREATE ROLE {role} LOGIN;
         GRANT USAGE ON SCHEMA partnerstack TO {role};
         GRANT SELECT ON ALL TABLES IN SCHEMA partnerstack TO {role};
         GRANT USAGE ON FOREIGN SERVER partnerstack_server TO {role};"
    ))
    .unwrap();
    let mut analyst = connect_as(&db, &role);
    let visible: Option<Vec<String>> = analyst
        .query_one(
            "SELECT umoptions FROM pg_user_mappings
              WHERE srvname = 'partnerstack_server' AND usename <> current_user",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        visible, None,
        "another role cannot read the owner's mapping options"
    );

    mock.clear_requests();
    let err = analyst
        .query("SELECT * FROM partnerstack.groups", &[])
        .unwrap_err();
    assert!(
        error_text(&err).contains("user mapping not found"),
        "{}",
        error_text(&err)
    );
    assert!(
        mock.requests().is_empty(),
        "no request with someone else's keys"
    );

    db.batch_execute(&format!(
        "CREATE USER MAPPING FOR {role} SERVER partnerstack_server
           OPTIONS (public_key 'pk_test_analyst', private_key 'sk_test_analyst_secret')"
    ))
    .unwrap();
    analyst
        .query("SELECT * FROM partnerstack.groups", &[])
        .unwrap();
    db.query("SELECT * FROM partnerstack.groups", &[]).unwrap();
    let keys: Vec<String> = mock
        .requests()
        .iter()
        .map(|r| r["public_key"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        keys,
        ["pk_test_analyst", "pk_test_owner"],
        "each role's requests carry its own key"
    );
}

#[test]
fn hostile_values_are_percent_encoded_in_paths_and_queries() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    mock.clear_requests();
    let lookups = ["a/b", "x?y#z", "50%&more=1", "Zoë 山田", "../partnerships"];
    db.query(
        "SELECT key FROM partnerstack.customers WHERE customer_key = ANY($1)",
        &[&lookups.to_vec()],
    )
    .unwrap();
    // The lookups go out at once (max_concurrency), so in any order.
    let mut paths: Vec<String> = mock
        .requests()
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_owned())
        .collect();
    paths.sort();
    let mut expected = [
        "/api/v2/customers/a%2Fb",
        "/api/v2/customers/x%3Fy%23z",
        "/api/v2/customers/50%25%26more%3D1",
        "/api/v2/customers/Zo%C3%AB%20%E5%B1%B1%E7%94%B0",
        "/api/v2/customers/..%2Fpartnerships",
    ];
    expected.sort();
    assert_eq!(paths, expected);
    mock.clear_requests();
    db.query(
        "SELECT key FROM partnerstack.customers WHERE partner_key = 'a b&c=d/é?#'",
        &[],
    )
    .unwrap();
    let request = &mock.requests()[0];
    assert_eq!(request["path"], "/api/v2/customers");
    assert_eq!(
        request["query"],
        "partner_key=a%20b%26c%3Dd%2F%C3%A9%3F%23&limit=250"
    );
    assert_eq!(request["params"]["partner_key"], "a b&c=d/é?#");

    // A whole-dot segment would be resolved away by any URL parser: it is never put in a path.
    mock.clear_requests();
    let n: i64 = db.scalar(
        "SELECT count(*) FROM partnerstack.deals WHERE key = '..'",
        &[],
    );
    assert_eq!(n, 0);
    let paths: Vec<String> = mock
        .requests()
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paths, ["/api/v2/deals"]);
}
