//! The Partner API's tables (a server with `OPTIONS (api 'partner')` and a Bearer `api_key`),
//! the hints when keys of one API reach the other, secrets kept out of sight, and the vendor
//! side's `partners`: rows and the exact requests the mock logged.

use partnerstack_e2e::{
    Cluster, DEFAULT_PARTNER_API_KEY, Db, Mock, error_text, quote_literal, request_param, sqlstate,
};
use serde_json::Value;

/// A Partner API key distinctive enough to grep for.
const PARTNER_SECRET: &str = "pak_e2e_secret_5b1d07";

/// A database with a Partner API server `partner_server` on `mock`, a user mapping holding
/// `mapping` (`OPTIONS (...)` body) and the Partner tables imported into schema `partner`.
fn partner_db(mock: &Mock, mapping: &str) -> Db {
    let mut db = Db::new();
    Cluster::get().require_extension();
    db.batch_execute(&format!(
        "CREATE EXTENSION partnerstack;
         CREATE SERVER partner_server FOREIGN DATA WRAPPER partnerstack
           OPTIONS (api 'partner', api_url {});
         CREATE USER MAPPING FOR CURRENT_USER SERVER partner_server OPTIONS ({mapping});
         CREATE SCHEMA partner;
         IMPORT FOREIGN SCHEMA partnerstack FROM SERVER partner_server INTO partner;",
        quote_literal(&mock.api_url())
    ))
    .unwrap_or_else(|e| panic!("partner setup failed: {}", error_text(&e)));
    db
}

fn default_partner_db(mock: &Mock) -> Db {
    partner_db(
        mock,
        &format!("api_key {}", quote_literal(DEFAULT_PARTNER_API_KEY)),
    )
}

fn strings(db: &mut Db, sql: &str) -> Vec<String> {
    db.query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}\nfailed: {}", error_text(&e)))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The sorted keys of the items that pass `keep`.
fn keys_where(items: &[Value], keep: impl Fn(&Value) -> bool) -> Vec<String> {
    let mut keys: Vec<String> = items
        .iter()
        .filter(|i| keep(i))
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    keys
}

/// `GET path?query` of each logged request, params in the order sent.
fn lines(mock: &Mock) -> Vec<String> {
    mock.requests()
        .iter()
        .map(|r| {
            let query = r["query"].as_str().unwrap_or_default();
            format!(
                "{} {}{}{query}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap(),
                if query.is_empty() { "" } else { "?" }
            )
        })
        .collect()
}

#[test]
fn partner_tables_answer_with_their_filters_pushed() {
    let mock = Mock::start();
    let mut db = default_partner_db(&mock);

    // payouts: created_at >= X becomes min_created = X in ms, read with Bearer.
    let payouts = mock.partner_list_all("/payouts");
    let mut created: Vec<i64> = payouts
        .iter()
        .map(|p| p["created_at"].as_i64().unwrap())
        .collect();
    created.sort();
    let pivot = created[created.len() / 2];
    let expected = keys_where(&payouts, |p| p["created_at"].as_i64().unwrap() >= pivot);
    mock.clear_requests();
    let got = strings(
        &mut db,
        &format!(
            "SELECT key FROM partner.payouts \
             WHERE created_at >= 'epoch'::timestamptz + {pivot} * interval '1 millisecond' ORDER BY key"
        ),
    );
    assert_eq!(got, expected);
    assert_eq!(
        lines(&mock),
        [format!("GET /api/v2/payouts?min_created={pivot}&limit=250")]
    );
    let request = &mock.requests()[0];
    assert_eq!(request["auth_scheme"], "bearer", "{request}");
    assert_eq!(request["public_key"], Value::Null, "{request}");

    // marketplace_programs: key = ... is one GET by company_key.
    let programs = mock.partner_list_all("/marketplace/programs");
    let program = programs[3]["key"].as_str().unwrap().to_owned();
    let name = programs[3]["name"].as_str().unwrap().to_owned();
    mock.clear_requests();
    let got = strings(
        &mut db,
        &format!(
            "SELECT name FROM partner.marketplace_programs WHERE key = {}",
            quote_literal(&program)
        ),
    );
    assert_eq!(got, [name]);
    assert_eq!(
        lines(&mock),
        [format!("GET /api/v2/marketplace/programs/{program}")]
    );

    // rewards: payment_status and company_key become the Partner-side filters.
    let rewards = mock.partner_list_all("/rewards");
    let company = rewards[0]["company"]["key"].as_str().unwrap().to_owned();
    let expected = keys_where(&rewards, |r| {
        r["company"]["key"] == company.as_str() && r["payment_status"] == "paid"
    });
    assert!(
        !expected.is_empty(),
        "the mock has paid rewards of {company}"
    );
    mock.clear_requests();
    let got = strings(
        &mut db,
        &format!(
            "SELECT key FROM partner.rewards WHERE payment_status = 'paid' AND company_key = {} ORDER BY key",
            quote_literal(&company)
        ),
    );
    assert_eq!(got, expected);
    let requests = mock.requests();
    assert_eq!(requests.len(), 1, "{:?}", lines(&mock));
    assert_eq!(requests[0]["path"], "/api/v2/rewards");
    assert_eq!(
        request_param(&requests[0], "payment_status").as_deref(),
        Some("paid")
    );
    assert_eq!(
        request_param(&requests[0], "company_key").as_deref(),
        Some(company.as_str())
    );

    // actions: customer_key (customer.key) and type (action_type).
    let actions = mock.partner_list_all("/actions");
    let customer = actions[0]["customer"]["key"].as_str().unwrap().to_owned();
    let action_type = actions[0]["type"].as_str().unwrap().to_owned();
    let expected = keys_where(&actions, |a| {
        a["customer"]["key"] == customer.as_str() && a["type"] == action_type.as_str()
    });
    mock.clear_requests();
    let got = strings(
        &mut db,
        &format!(
            "SELECT key FROM partner.actions WHERE customer_key = {} AND type = {} ORDER BY key",
            quote_literal(&customer),
            quote_literal(&action_type)
        ),
    );
    assert_eq!(got, expected);
    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        request_param(&requests[0], "customer_key").as_deref(),
        Some(customer.as_str())
    );
    assert_eq!(
        request_param(&requests[0], "action_type").as_deref(),
        Some(action_type.as_str())
    );

    // The other tables: every item, typed columns and attrs.
    for (table, path) in [
        ("customers", "/customers"),
        ("transactions", "/transactions"),
        ("links", "/links"),
        ("partnerships", "/partnerships"),
    ] {
        let expected = keys_where(&mock.partner_list_all(path), |_| true);
        let got = strings(
            &mut db,
            &format!("SELECT key FROM partner.{table} WHERE attrs ? 'key' ORDER BY key"),
        );
        assert_eq!(got, expected, "{table}");
    }
    let company_names: i64 = db.scalar(
        "SELECT count(*) FROM partner.customers WHERE company->>'name' IS NOT NULL AND created_at IS NOT NULL",
        &[],
    );
    assert_eq!(company_names, 40);

    // Read-only: a write is refused before any write request.
    mock.clear_requests();
    let err = db
        .execute("INSERT INTO partner.payouts (amount) VALUES (1)", &[])
        .unwrap_err();
    let text = error_text(&err);
    assert_eq!(sqlstate(&err), "0A000", "{text}");
    assert!(text.contains("Partner API tables are read-only"), "{text}");
    let err = db.execute("DELETE FROM partner.payouts", &[]).unwrap_err();
    let text = error_text(&err);
    assert_eq!(sqlstate(&err), "0A000", "{text}");
    assert!(
        text.contains("no endpoint to delete partner.payouts"),
        "{text}"
    );
    assert!(
        mock.requests().iter().all(|r| r["method"] == "GET"),
        "{:?}",
        lines(&mock)
    );
}

/// The text of the authorization ERROR (`28000`) that `sql` raises, checked to carry `hint`
/// and not `secret`.
fn authorization_error(db: &mut Db, sql: &str, hint: &str, secret: &str) -> String {
    let err = db.query(sql, &[]).unwrap_err();
    let text = error_text(&err);
    assert_eq!(sqlstate(&err), "28000", "{text}");
    assert!(text.contains(hint), "{text}");
    assert!(!text.contains(secret), "{text}");
    text
}

#[test]
fn keys_of_the_other_api_get_a_hint_naming_the_other_kind_of_server() {
    let mock = Mock::start();

    // A vendor key pair in the user mapping of a Partner API server: refused before any request.
    let mut db = partner_db(
        &mock,
        "public_key 'pk_test_mock', private_key 'sk_test_mock'",
    );
    mock.clear_requests();
    authorization_error(
        &mut db,
        "SELECT * FROM partner.payouts",
        "HINT: Use a Vendor API key pair (public_key, private_key) on a Vendor API server (without OPTIONS (api 'partner')); this server needs a Partner API key (api_key) in its user mapping.",
        "sk_test_mock",
    );
    assert!(mock.requests().is_empty());

    // A vendor secret put in api_key: sent as Bearer, the API's 401, a hint naming the Vendor
    // API server.
    let mut db = partner_db(&mock, "api_key 'sk_test_mock'");
    mock.clear_requests();
    let text = authorization_error(
        &mut db,
        "SELECT * FROM partner.payouts",
        "belongs on a Vendor API server (without OPTIONS (api 'partner'))",
        "sk_test_mock",
    );
    assert!(text.contains("HTTP 401"), "{text}");
    assert_eq!(mock.requests().len(), 1, "a 401 is not retried");
    assert_eq!(mock.requests()[0]["auth_scheme"], "bearer");

    // A Partner API key in the user mapping of a Vendor API server: refused before any request.
    let mut db = Db::new();
    db.batch_execute(&format!(
        "CREATE EXTENSION partnerstack;
         CREATE SERVER v FOREIGN DATA WRAPPER partnerstack OPTIONS (api_url {});
         CREATE USER MAPPING FOR CURRENT_USER SERVER v OPTIONS (api_key {});
         CREATE SCHEMA ps;
         IMPORT FOREIGN SCHEMA partnerstack LIMIT TO (customers) FROM SERVER v INTO ps;",
        quote_literal(&mock.api_url()),
        quote_literal(PARTNER_SECRET)
    ))
    .unwrap();
    mock.clear_requests();
    authorization_error(
        &mut db,
        "SELECT * FROM ps.customers",
        "HINT: Use a Partner API key (api_key) on a Partner API server (OPTIONS (api 'partner'))",
        PARTNER_SECRET,
    );
    assert!(mock.requests().is_empty());

    // A Partner API key as the vendor private key: Basic auth, the API's 401, a hint naming
    // the Partner API server.
    let mut db = Db::new();
    db.setup_partnerstack(
        Some(&mock.api_url()),
        "pk_test_mock",
        DEFAULT_PARTNER_API_KEY,
    );
    let text = authorization_error(
        &mut db,
        "SELECT count(*) FROM partnerstack.customers",
        "api_key on a Partner API server (OPTIONS (api 'partner'))",
        DEFAULT_PARTNER_API_KEY,
    );
    assert!(text.contains("HTTP 401"), "{text}");
}

#[test]
fn the_partner_api_key_never_reaches_explain_errors_or_the_log() {
    let mock = Mock::start_with(&["--partner-key", PARTNER_SECRET]);
    let mut db = partner_db(&mock, &format!("api_key {}", quote_literal(PARTNER_SECRET)));
    let cluster = Cluster::get();
    let offset = cluster.log_len();
    db.batch_execute("SET log_min_messages = debug5; SET client_min_messages = debug5")
        .unwrap();
    let mut seen: Vec<String> = db
        .simple_query(
            "EXPLAIN (ANALYZE, VERBOSE) SELECT * FROM partner.payouts WHERE created_at > '2025-01-01'",
        )
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .collect();
    let explain = seen.join("\n");
    assert!(
        explain
            .contains("PartnerStack Request Log: GET /payouts?min_created=1735689600001&limit=250"),
        "{explain}"
    );
    // Errors: a refused page, and a server that is not there.
    mock.faults(serde_json::json!([{"kind": "status", "status": 401}]));
    seen.push(error_text(
        &db.query("SELECT * FROM partner.links", &[]).unwrap_err(),
    ));
    mock.clear_faults();
    db.batch_execute(
        "ALTER SERVER partner_server OPTIONS (SET api_url 'http://127.0.0.1:9/api/v2')",
    )
    .unwrap();
    seen.push(error_text(
        &db.query("SELECT * FROM partner.links", &[]).unwrap_err(),
    ));
    for text in &seen {
        assert!(!text.contains(PARTNER_SECRET), "{text}");
    }
    let log = cluster.log_since(offset);
    assert!(
        log.contains("could not connect to PartnerStack"),
        "the errors were logged"
    );
    assert!(
        !log.contains(PARTNER_SECRET),
        "the Partner API key is in the server log"
    );
}

#[test]
fn partners_are_one_row_per_partnership_with_partner_key_pushed() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partnerships = mock.list_all("/partnerships");
    let total: i64 = db.scalar("SELECT count(*) FROM partnerstack.partners", &[]);
    assert_eq!(total as usize, partnerships.len());
    let distinct: i64 = db.scalar(
        "SELECT count(DISTINCT partner_key) FROM partnerstack.partners",
        &[],
    );
    assert_eq!(distinct, total, "one row per partner");

    let p = partnerships
        .iter()
        .find(|p| p["first_name"].is_string() && p["last_name"].is_string())
        .expect("a partnership with both names");
    let partner_key = p["partner_key"].as_str().unwrap();
    let full_name = format!(
        "{} {}",
        p["first_name"].as_str().unwrap(),
        p["last_name"].as_str().unwrap()
    );
    mock.clear_requests();
    let row = db
        .query_one(
            "SELECT key, name, email, group_key, group_name FROM partnerstack.partners WHERE partner_key = $1",
            &[&partner_key],
        )
        .unwrap_or_else(|e| panic!("{}", error_text(&e)));
    assert_eq!(row.get::<_, String>(0), p["key"].as_str().unwrap());
    assert_eq!(row.get::<_, String>(1), full_name);
    assert_eq!(
        row.get::<_, Option<String>>(2).as_deref(),
        p["email"].as_str()
    );
    assert_eq!(
        row.get::<_, Option<String>>(3).as_deref(),
        p["group"]["key"].as_str()
    );
    assert_eq!(
        row.get::<_, Option<String>>(4).as_deref(),
        p["group"]["name"].as_str()
    );
    let requests = mock.requests();
    assert_eq!(requests.len(), 1, "{:?}", lines(&mock));
    assert_eq!(requests[0]["path"], "/api/v2/partnerships");
    assert_eq!(
        request_param(&requests[0], "partner_key").as_deref(),
        Some(partner_key)
    );

    // Writes go to partnerships.
    let err = db
        .execute(
            "INSERT INTO partnerstack.partners (partner_key) VALUES ('new')",
            &[],
        )
        .unwrap_err();
    assert!(
        error_text(&err).contains("write to partnerships instead"),
        "{}",
        error_text(&err)
    );
    let err = db
        .execute(
            "DELETE FROM partnerstack.partners WHERE partner_key = $1",
            &[&partner_key],
        )
        .unwrap_err();
    assert_eq!(sqlstate(&err), "0A000", "{}", error_text(&err));
    assert!(
        mock.requests().iter().all(|r| r["method"] == "GET"),
        "{:?}",
        lines(&mock)
    );
}

#[test]
fn a_category_held_by_the_array_is_the_category_filter() {
    let mock = Mock::start();
    let mut db = default_partner_db(&mock);
    let programs = mock.partner_list_all("/marketplace/programs");
    for category in ["SaaS", "Sécurité & IT"] {
        let expected = keys_where(&programs, |p| {
            p["category"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == category)
        });
        assert!(!expected.is_empty() && expected.len() < programs.len());
        for sql in [
            format!(
                "SELECT key FROM partner.marketplace_programs WHERE {} = ANY(category) ORDER BY key",
                quote_literal(category)
            ),
            // The same as a parameter, as a BI tool sends it.
            "SELECT key FROM partner.marketplace_programs WHERE $1::text = ANY(category) ORDER BY key"
                .to_owned(),
        ] {
            mock.clear_requests();
            let got: Vec<String> = if sql.contains("$1") {
                db.strings(&sql, &[&category])
            } else {
                strings(&mut db, &sql)
            };
            assert_eq!(got, expected, "{sql}");
            assert_eq!(
                lines(&mock),
                [format!(
                    "GET /api/v2/marketplace/programs?category={}&limit=250",
                    partnerstack_e2e::http::encode_query_value(category)
                )],
                "{sql}"
            );
        }
    }
    // Two categories: the first is sent, Postgres checks the second.
    let expected = keys_where(&programs, |p| {
        let c = p["category"].as_array().unwrap();
        c.iter().any(|c| c == "SaaS") && c.iter().any(|c| c == "Fintech")
    });
    mock.clear_requests();
    let got = strings(
        &mut db,
        "SELECT key FROM partner.marketplace_programs
          WHERE 'SaaS' = ANY(category) AND 'Fintech' = ANY(category) ORDER BY key",
    );
    assert_eq!(got, expected);
    assert_eq!(
        lines(&mock),
        ["GET /api/v2/marketplace/programs?category=SaaS&limit=250"]
    );
    // A count is not read from total: the filter's exact match is undocumented.
    let saas = keys_where(&programs, |p| {
        p["category"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "SaaS")
    });
    mock.clear_requests();
    let n: i64 = db.scalar(
        "SELECT count(*) FROM partner.marketplace_programs WHERE 'SaaS' = ANY(category)",
        &[],
    );
    assert_eq!(n, saas.len() as i64);
    assert_eq!(
        lines(&mock),
        ["GET /api/v2/marketplace/programs?category=SaaS&limit=250"]
    );
    let (out, err, status) = db.psql(
        "EXPLAIN (COSTS OFF) SELECT key FROM partner.marketplace_programs WHERE 'SaaS' = ANY(category);",
    );
    assert!(status.success(), "{err}");
    assert!(
        out.contains("PartnerStack Pushed Conditions: ... = ANY (category)"),
        "{out}"
    );
    assert!(
        out.contains("PartnerStack Requests: GET /marketplace/programs?category=SaaS&limit=250"),
        "{out}"
    );
}

#[test]
fn partner_lists_take_their_documented_order_by() {
    let mock = Mock::start();
    let mut db = default_partner_db(&mock);
    let first = |path: &str, n: usize| -> Vec<String> {
        mock.partner_list_all(path)
            .iter()
            .take(n)
            .map(|i| i["key"].as_str().unwrap().to_owned())
            .collect()
    };
    for (sql, path, sent) in [
        (
            "SELECT key FROM partner.partnerships ORDER BY updated_at DESC LIMIT 3",
            "/partnerships?order_by=-updated_at",
            "GET /api/v2/partnerships?order_by=-updated_at&limit=3",
        ),
        (
            "SELECT key FROM partner.partnerships ORDER BY created_at LIMIT 3",
            "/partnerships?order_by=created_at",
            "GET /api/v2/partnerships?order_by=created_at&limit=3",
        ),
        (
            "SELECT key FROM partner.payouts ORDER BY created_at ASC LIMIT 4",
            "/payouts?order_by=created_at",
            "GET /api/v2/payouts?order_by=created_at&limit=4",
        ),
        (
            "SELECT key FROM partner.customers ORDER BY created_at LIMIT 2",
            "/customers?order_by=created_at",
            "GET /api/v2/customers?order_by=created_at&limit=2",
        ),
        (
            "SELECT key FROM partner.rewards WHERE payment_status = 'paid' ORDER BY created_at LIMIT 5",
            "/rewards?payment_status=paid&order_by=created_at",
            "GET /api/v2/rewards?payment_status=paid&order_by=created_at&limit=5",
        ),
    ] {
        let n: usize = sent.rsplit('=').next().unwrap().parse().unwrap();
        let expected = first(path, n);
        mock.clear_requests();
        assert_eq!(strings(&mut db, sql), expected, "{sql}");
        assert_eq!(lines(&mock), [sent], "{sql}");
    }
    // Rewards by amount: ties keep the API's order, which ORDER BY amount accepts.
    let by_amount = mock.partner_list_all("/rewards?order_by=-amount");
    mock.clear_requests();
    let got: Vec<i64> = db
        .query(
            "SELECT amount FROM partner.rewards ORDER BY amount DESC LIMIT 6",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let expected: Vec<i64> = by_amount[..6]
        .iter()
        .map(|r| r["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        lines(&mock),
        ["GET /api/v2/rewards?order_by=-amount&limit=6"]
    );
    // Programs document no order_by: Postgres sorts every page it reads.
    mock.clear_requests();
    let _ = strings(
        &mut db,
        "SELECT key FROM partner.marketplace_programs ORDER BY created_at LIMIT 2",
    );
    assert_eq!(lines(&mock), ["GET /api/v2/marketplace/programs?limit=250"]);
}
