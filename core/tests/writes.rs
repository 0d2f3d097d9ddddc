//! Writes against the bundled mock over real HTTP: bodies our validator builds are the ones the
//! API accepts, the PUT → 405 → PATCH fallback, upsert, S2S conversions, and which failures of
//! which verb are retried (the mock's request log shows exactly what was sent).
//!
//! The mock is started by `partnerstack_mock::launcher` through `support/` (its binary is `$PARTNERSTACK_MOCK_BIN`,
//! else built on first use, so `cargo test -p partnerstack-api` works on a fresh clone).

use partnerstack_api::catalogue::{Endpoint, UpdateMethod, resource};
use partnerstack_api::write::{self, Cell, ConfirmRead};
use partnerstack_api::{ApiError, Client, Method, Stats, Value, WriteRequest};
use serde_json::{Value as Json, json};

mod support;
use support::Mock;

fn t(s: &str) -> Value<'_> {
    Value::Text(s.into())
}

fn j(s: &str) -> Value<'_> {
    Value::Json(s.into())
}

fn insert(table: &str, row: &[Cell]) -> WriteRequest {
    write::plan_insert(resource(table).unwrap(), row).unwrap()
}

fn object(client: &Client, path: &str) -> Option<Json> {
    client
        .object(path, &mut Stats::default())
        .unwrap()
        .map(|raw| serde_json::from_str(raw.get()).unwrap())
}

/// A hand-made POST, bypassing our validator, to show what the API itself says.
fn raw_post(path: &str, body: Json) -> WriteRequest {
    WriteRequest {
        table: "test",
        endpoint: Endpoint::Vendor,
        method: Method::Post,
        path: path.into(),
        body: Some(body),
        confirm: None,
        sent_key: None,
    }
}

fn client_error(result: Result<impl std::fmt::Debug, ApiError>) -> (u16, String) {
    match result {
        Err(ApiError::Client {
            status, message, ..
        }) => (status, message),
        other => panic!("expected an HTTP 4xx, got {other:?}"),
    }
}

#[test]
fn customers_insert_update_delete_with_put_patch_fallback() {
    let mock = Mock::start(&[]);
    let client = mock.client();
    let partner = mock.first(&client, "/partnerships", "partner_key");
    let mut stats = Stats::default();

    let create = insert(
        "customers",
        &[
            ("customer_key", t("fdw c/1")),
            ("email", t("c1@example.com")),
            ("partner_key", t(&partner)),
            ("name", t("Zoë")),
            ("meta", j(r#"{"plan":"pro"}"#)),
        ],
    );
    let created = client.write(&create, &mut stats).unwrap();
    assert_eq!((created.method, created.status), (Method::Post, 200));
    let key = created.key.clone().unwrap();
    assert!(key.starts_with("cus_"), "{key}");
    let read = object(&client, "/customers/fdw%20c%2F1").unwrap();
    assert_eq!(read["key"], json!(key));
    assert_eq!(read["name"], json!("Zoë"));

    // The mock, like the reference, routes PATCH only: PUT answers 405 and PATCH follows.
    mock.clear_requests();
    let customers = resource("customers").unwrap();
    let update = write::plan_update(
        customers,
        Some("fdw c/1"),
        &[("name", t("Renamed")), ("provider_key", Value::Null)],
    )
    .unwrap();
    let updated = write::update(&client, &update, None, &mut stats).unwrap();
    assert_eq!(updated.method, Method::Patch, "the verb to remember");
    assert_eq!(updated.key.as_deref(), Some(key.as_str()));
    assert_eq!(
        mock.requests(),
        [
            "PUT /api/v2/customers/fdw%20c%2F1 405",
            "PATCH /api/v2/customers/fdw%20c%2F1 200"
        ]
    );
    assert_eq!(
        object(&client, "/customers/fdw%20c%2F1").unwrap()["name"],
        json!("Renamed")
    );

    // Pinned (server option update_method = 'patch', or remembered): PATCH only.
    mock.clear_requests();
    let again = write::update(&client, &update, Some(UpdateMethod::Patch), &mut stats).unwrap();
    assert_eq!(again.method, Method::Patch);
    assert_eq!(mock.requests(), ["PATCH /api/v2/customers/fdw%20c%2F1 200"]);

    let delete = write::plan_delete(customers, Some("fdw c/1")).unwrap();
    let deleted = client.write(&delete, &mut stats).unwrap();
    assert_eq!(deleted.key.as_deref(), Some("fdw c/1"), "the addressed key");
    assert!(object(&client, "/customers/fdw%20c%2F1").is_none());
    assert_eq!(stats.retries, 0);
}

#[test]
fn put_is_used_as_is_when_the_api_accepts_it() {
    let mock = Mock::start(&["--accept-put"]);
    let client = mock.client();
    let webhook = client
        .write(
            &insert(
                "webhooks",
                &[
                    ("target", t("https://example.com/hook")),
                    (
                        "events",
                        Value::TextArray(vec![Some("customer.created".into())]),
                    ),
                ],
            ),
            &mut Stats::default(),
        )
        .unwrap();
    let key = webhook.key.unwrap();
    mock.clear_requests();
    let update = write::plan_update(
        resource("webhooks").unwrap(),
        Some(&key),
        &[(
            "events",
            Value::TextArray(vec![Some("partnership.created".into())]),
        )],
    )
    .unwrap();
    let outcome = write::update(&client, &update, None, &mut Stats::default()).unwrap();
    assert_eq!(outcome.method, Method::Put);
    assert_eq!(mock.requests(), [format!("PUT /api/v2/webhooks/{key} 200")]);
    assert_eq!(
        outcome.data.unwrap()["events"],
        json!(["partnership.created"])
    );
    let delete = write::plan_delete(resource("webhooks").unwrap(), Some(&key)).unwrap();
    client.write(&delete, &mut Stats::default()).unwrap();
    assert!(object(&client, &format!("/webhooks/{key}")).is_none());
}

#[test]
fn every_writable_resource_round_trips() {
    let mock = Mock::start(&[]);
    let client = mock.client();
    let mut stats = Stats::default();
    let group = mock.first(&client, "/groups", "key");
    let partner = mock.first(&client, "/partnerships", "partner_key");
    let update = |table: &str, key: &str, changed: &[Cell]| {
        let request = write::plan_update(resource(table).unwrap(), Some(key), changed).unwrap();
        write::update(&client, &request, None, &mut Stats::default()).unwrap()
    };
    let delete = |table: &str, key: &str| {
        let request = write::plan_delete(resource(table).unwrap(), Some(key)).unwrap();
        client.write(&request, &mut Stats::default()).unwrap()
    };

    // partnerships
    let p = client
        .write(
            &insert(
                "partnerships",
                &[
                    ("email", t("new.partner@example.com")),
                    ("first_name", t("New")),
                    ("partner_key", t("newpartner")),
                    ("group_key", t(&group)),
                    ("tags", Value::TextArray(vec![Some("vip".into())])),
                ],
            ),
            &mut stats,
        )
        .unwrap();
    let pkey = p.key.unwrap();
    assert_eq!(p.data.unwrap()["group"]["key"], json!(group));
    let u = update(
        "partnerships",
        &pkey,
        &[("manager_email", t("m@example.com"))],
    );
    assert_eq!(
        u.data.unwrap()["manager"]["manager_email"],
        json!("m@example.com")
    );

    // customers (for the transaction, action and reward below)
    client
        .write(
            &insert(
                "customers",
                &[
                    ("customer_key", t("buyer-1")),
                    ("email", t("buyer@example.com")),
                    ("partner_key", t("newpartner")),
                ],
            ),
            &mut stats,
        )
        .unwrap();

    // transactions: currency upper-cased, created_at in ms, customer by external key
    let tx = client
        .write(
            &insert(
                "transactions",
                &[
                    ("key", t("fdw-txn-0001")),
                    ("amount", Value::BigInt(12_345)),
                    ("currency", t("usd")),
                    ("customer_external_key", t("buyer-1")),
                    ("created_at", Value::TimestampMs(1_750_000_000_123)),
                    ("metadata", j(r#"{"order":"o-1"}"#)),
                ],
            ),
            &mut stats,
        )
        .unwrap();
    assert_eq!(tx.key.as_deref(), Some("fdw-txn-0001"));
    let data = tx.data.unwrap();
    assert_eq!(
        (&data["currency"], &data["created_at"], &data["amount"]),
        (&json!("USD"), &json!(1_750_000_000_123_i64), &json!(12_345))
    );
    let e = write::plan_update(
        resource("transactions").unwrap(),
        Some("fdw-txn-0001"),
        &[("amount", Value::BigInt(1))],
    )
    .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");

    // rewards (create only), with the target object
    let reward = client
        .write(
            &insert(
                "rewards",
                &[
                    ("amount", Value::BigInt(500)),
                    ("description", t("bonus")),
                    ("target", j(r#"{"key":"buyer-1","type":"customer"}"#)),
                ],
            ),
            &mut stats,
        )
        .unwrap();
    assert!(reward.key.unwrap().starts_with("rwrd_"));

    // actions: create and delete
    let action = client
        .write(
            &insert(
                "actions",
                &[
                    ("type", t("signup")),
                    ("value", Value::BigInt(2)),
                    ("target_type", t("customer")),
                    ("target_key", t("buyer-1")),
                ],
            ),
            &mut stats,
        )
        .unwrap();
    let akey = action.key.unwrap();
    assert!(akey.starts_with("act_"), "{akey}");
    delete("actions", &akey);

    // deals: partner-owned by default, vendor-owned with a group
    let deal = client
        .write(
            &insert(
                "deals",
                &[
                    ("partner_key", t(&partner)),
                    ("account_name", t("Acme")),
                    ("amount", Value::BigInt(990_000)),
                    ("close_date", t("2026-03-01")),
                ],
            ),
            &mut stats,
        )
        .unwrap();
    let dkey = deal.key.unwrap();
    let u = update("deals", &dkey, &[("amount", Value::BigInt(1_000_000))]);
    assert_eq!(u.data.unwrap()["amount"], json!(1_000_000));
    delete("deals", &dkey);
    assert!(object(&client, &format!("/deals/{dkey}")).is_none());
    let vendor_deal = insert(
        "deals",
        &[("source", t("vendor")), ("group_key", t(&group))],
    );
    client.write(&vendor_deal, &mut stats).unwrap();

    // leads
    let lead = client
        .write(
            &insert(
                "leads",
                &[
                    ("partner_key", t(&partner)),
                    ("external_key", t("lead@example.com")),
                    ("status", t("open")),
                    ("meta", j(r#"{"first_name":"Lee","last_name":"Ad"}"#)),
                ],
            ),
            &mut stats,
        )
        .unwrap();
    let lkey = lead.key.unwrap();
    let u = update("leads", &lkey, &[("status", t("closed won"))]);
    assert_eq!(u.data.unwrap()["status"], json!("closed won"));
    delete("leads", &lkey);

    // transactions and partnerships are deleted last (the customer and rewards hang off them)
    delete("transactions", "fdw-txn-0001");
    delete("partnerships", &pkey);
    assert!(object(&client, &format!("/partnerships/{pkey}")).is_none());
    assert_eq!(stats.retries, 0);
}

#[test]
fn rows_our_validator_refuses_the_api_refuses_too() {
    let mock = Mock::start(&[]);
    let client = mock.client();
    let partner = mock.first(&client, "/partnerships", "partner_key");
    let cases: Vec<(&str, Vec<Cell>, Json)> = vec![
        (
            "customers",
            vec![("email", t("x@example.com"))],
            json!({"email": "x@example.com"}),
        ),
        (
            "transactions",
            vec![
                ("amount", Value::BigInt(100)),
                ("currency", t("US")),
                ("customer_external_key", t("x")),
            ],
            json!({"amount": 100, "currency": "US", "customer_external_key": "x"}),
        ),
        (
            "transactions",
            vec![
                ("amount", t("12.5")),
                ("currency", t("USD")),
                ("customer_external_key", t("x")),
            ],
            json!({"amount": 12.5, "currency": "USD", "customer_external_key": "x"}),
        ),
        (
            "transactions",
            vec![("amount", Value::BigInt(100)), ("currency", t("USD"))],
            json!({"amount": 100, "currency": "USD"}),
        ),
        (
            "customers",
            vec![
                ("email", t("x@example.com")),
                ("partner_key", t(&partner)),
                ("meta", j("[1]")),
            ],
            json!({"email": "x@example.com", "partner_key": partner, "meta": [1]}),
        ),
        (
            "deals",
            vec![("source", t("vendor"))],
            json!({"source": "vendor"}),
        ),
        (
            "actions",
            vec![
                ("type", t("signup")),
                ("value", Value::BigInt(1)),
                ("target_key", t("x")),
            ],
            json!({"type": "signup", "value": 1, "target_key": "x"}),
        ),
    ];
    for (table, row, raw) in cases {
        let ours = write::plan_insert(resource(table).unwrap(), &row);
        assert!(ours.is_err(), "{table}: our validator accepted {row:?}");
        let path = format!("/{table}");
        let (status, message) =
            client_error(client.write(&raw_post(&path, raw), &mut Stats::default()));
        assert_eq!(status, 400, "{table}: {message}");
    }
    // Nothing reached the API from our side: only the hand-made POSTs.
    let sent = mock.requests();
    assert!(
        sent.iter()
            .all(|r| (r.starts_with("POST ") && r.ends_with(" 400")) || r.starts_with("GET ")),
        "{sent:?}"
    );
}

#[test]
fn api_refusals_surface_with_the_api_message() {
    let mock = Mock::start(&[]);
    let client = mock.client();
    let partner = mock.first(&client, "/partnerships", "partner_key");
    let row = [
        ("customer_key", t("dup-1")),
        ("email", t("dup@example.com")),
        ("partner_key", t(&partner)),
    ];
    client
        .write(&insert("customers", &row), &mut Stats::default())
        .unwrap();
    let (status, message) =
        client_error(client.write(&insert("customers", &row), &mut Stats::default()));
    assert_eq!(
        (status, message.as_str()),
        (400, "'customer_key': 'dup-1' already exists")
    );

    let tx = insert(
        "transactions",
        &[
            ("amount", Value::BigInt(1)),
            ("currency", t("EUR")),
            ("customer_external_key", t("no-such-customer")),
        ],
    );
    let err = client.write(&tx, &mut Stats::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "PartnerStack answered HTTP 404 for /transactions: customer not found"
    );

    let missing = write::plan_update(
        resource("customers").unwrap(),
        Some("no-such-customer"),
        &[("name", t("x"))],
    )
    .unwrap();
    let (status, _) = client_error(write::update(
        &client,
        &missing,
        None,
        &mut Stats::default(),
    ));
    assert_eq!(status, 404);
}

#[test]
fn a_429_on_post_is_retried() {
    let mock = Mock::start(&[]);
    let client = mock.client();
    let partner = mock.first(&client, "/partnerships", "partner_key");
    mock.clear_requests();
    mock.faults(json!([{"kind": "status", "status": 429, "count": 1, "method": "POST"}]));
    let mut stats = Stats::default();
    let outcome = client
        .write(
            &insert(
                "customers",
                &[("email", t("r@example.com")), ("partner_key", t(&partner))],
            ),
            &mut stats,
        )
        .unwrap();
    assert!(outcome.key.unwrap().starts_with("cus_"));
    assert_eq!(
        mock.requests(),
        ["POST /api/v2/customers 429", "POST /api/v2/customers 200"]
    );
    assert_eq!((stats.requests, stats.retries), (2, 1));
}

#[test]
fn a_500_on_post_without_a_client_key_is_not_sent_again() {
    let mock = Mock::start(&[]);
    let client = mock.client();
    let partner = mock.first(&client, "/partnerships", "partner_key");
    mock.clear_requests();
    mock.faults(json!([{"kind": "status", "status": 500, "count": 1, "method": "POST"}]));
    let mut stats = Stats::default();
    let err = client
        .write(
            &insert(
                "customers",
                &[
                    ("email", t("once@example.com")),
                    ("partner_key", t(&partner)),
                ],
            ),
            &mut stats,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Server {
                status: 500,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(mock.requests(), ["POST /api/v2/customers 500"]);
    assert_eq!(stats.retries, 0);

    // Transactions carry their own key but cannot be read back by it: not sent again either.
    mock.clear_requests();
    mock.faults(json!([{"kind": "status", "status": 503, "count": 1, "method": "POST"}]));
    let tx = insert(
        "transactions",
        &[
            ("key", t("txn-unconfirmable")),
            ("amount", Value::BigInt(1)),
            ("currency", t("USD")),
            ("customer_email", t("nobody@example.com")),
        ],
    );
    assert!(client.write(&tx, &mut Stats::default()).is_err());
    assert_eq!(mock.requests(), ["POST /api/v2/transactions 503"]);
}

#[test]
fn a_500_on_post_with_a_client_key_is_confirmed_absent_then_sent_again() {
    let mock = Mock::start(&[]);
    let client = mock.client();
    let partner = mock.first(&client, "/partnerships", "partner_key");
    mock.clear_requests();
    mock.faults(json!([{"kind": "status", "status": 500, "count": 1, "method": "POST"}]));
    let mut stats = Stats::default();
    let create = insert(
        "customers",
        &[
            ("customer_key", t("own key")),
            ("email", t("own@example.com")),
            ("partner_key", t(&partner)),
        ],
    );
    assert_eq!(
        create.confirm,
        Some(ConfirmRead::Item {
            path: "/customers/own%20key".into()
        })
    );
    let outcome = client.write(&create, &mut stats).unwrap();
    assert!(outcome.key.unwrap().starts_with("cus_"));
    assert_eq!(
        mock.requests(),
        [
            "POST /api/v2/customers 500",
            "GET /api/v2/customers/own%20key 404",
            "POST /api/v2/customers 200"
        ]
    );
    assert_eq!(stats.retries, 1);

    // Partnerships confirm through the partner_key filter of the list.
    mock.clear_requests();
    mock.faults(json!([{"kind": "status", "status": 502, "count": 1, "method": "POST"}]));
    let create = insert(
        "partnerships",
        &[("email", t("pp@example.com")), ("partner_key", t("pp-1"))],
    );
    client.write(&create, &mut Stats::default()).unwrap();
    assert_eq!(
        mock.requests(),
        [
            "POST /api/v2/partnerships 502",
            "GET /api/v2/partnerships?partner_key=pp-1 200",
            "POST /api/v2/partnerships 200"
        ]
    );

    // When the read finds the object (the API created it before failing), nothing is resent.
    mock.clear_requests();
    mock.faults(json!([{"kind": "status", "status": 500, "count": 1, "method": "POST"}]));
    let existing = insert(
        "partnerships",
        &[("email", t("pp2@example.com")), ("partner_key", t("pp-1"))],
    );
    let err = client.write(&existing, &mut Stats::default()).unwrap_err();
    assert!(
        matches!(err, ApiError::Server { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(
        mock.requests(),
        [
            "POST /api/v2/partnerships 500",
            "GET /api/v2/partnerships?partner_key=pp-1 200"
        ]
    );
}

#[test]
fn a_timed_out_post_is_sent_again_only_when_confirmed_absent() {
    let mock = Mock::start(&[]);
    let mut config = mock.client().config().clone();
    // The mock's `hang` fault never answers (and creates nothing): the client's timeout ends it.
    config.timeout_ms = 300;
    let client = Client::new(config).unwrap();
    let partner = mock.first(&client, "/partnerships", "partner_key");
    let row = |customer_key: Option<&'static str>| {
        let mut row = vec![
            ("email", t("slow@example.com")),
            ("partner_key", Value::Text(partner.clone().into())),
        ];
        if let Some(k) = customer_key {
            row.push(("customer_key", t(k)));
        }
        insert("customers", &row)
    };

    mock.clear_requests();
    mock.faults(json!([{"kind": "hang", "count": 1, "method": "POST"}]));
    let err = client.write(&row(None), &mut Stats::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Timeout {
                which: "timeout_ms",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(mock.requests(), ["POST /api/v2/customers null"]);

    mock.clear_requests();
    mock.faults(json!([{"kind": "hang", "count": 1, "method": "POST"}]));
    client
        .write(&row(Some("slow-1")), &mut Stats::default())
        .unwrap();
    assert_eq!(
        mock.requests(),
        [
            "POST /api/v2/customers null",
            "GET /api/v2/customers/slow-1 404",
            "POST /api/v2/customers 200"
        ]
    );
}

#[test]
fn idempotent_writes_are_retried_after_a_5xx() {
    let mock = Mock::start(&[]);
    let client = mock.client();
    let key = mock.first(&client, "/deals", "key");
    mock.clear_requests();
    mock.faults(json!([
        {"kind": "status", "status": 500, "count": 1, "method": "PATCH"},
        {"kind": "status", "status": 503, "count": 1, "method": "DELETE"}
    ]));
    let mut stats = Stats::default();
    let deals = resource("deals").unwrap();
    let update = write::plan_update(deals, Some(&key), &[("stage", t("won"))]).unwrap();
    assert_eq!(
        write::update(&client, &update, None, &mut stats)
            .unwrap()
            .method,
        Method::Patch
    );
    client
        .write(&write::plan_delete(deals, Some(&key)).unwrap(), &mut stats)
        .unwrap();
    assert_eq!(
        mock.requests(),
        [
            format!("PUT /api/v2/deals/{key} 405"),
            format!("PATCH /api/v2/deals/{key} 500"),
            format!("PATCH /api/v2/deals/{key} 200"),
            format!("DELETE /api/v2/deals/{key} 503"),
            format!("DELETE /api/v2/deals/{key} 200"),
        ]
    );
    assert_eq!(stats.retries, 2);
}

#[test]
fn upsert_updates_by_key_and_creates_on_404() {
    let mock = Mock::start(&[]);
    let client = mock.client();
    let partner = mock.first(&client, "/partnerships", "partner_key");
    let customers = resource("customers").unwrap();
    let row = |name: &'static str| -> Vec<Cell<'static>> {
        vec![
            ("customer_key", t("ups-1")),
            ("email", t("ups@example.com")),
            ("partner_key", Value::Text(partner.clone().into())),
            ("name", t(name)),
        ]
    };
    mock.clear_requests();
    let first = write::upsert(
        &client,
        &write::plan_upsert(customers, &row("First")).unwrap(),
        None,
        &mut Stats::default(),
    )
    .unwrap();
    assert!(first.created);
    assert_eq!(first.update_method, Some(Method::Patch));
    assert_eq!(
        mock.requests(),
        [
            "PUT /api/v2/customers/ups-1 405",
            "PATCH /api/v2/customers/ups-1 404",
            "POST /api/v2/customers 200"
        ]
    );
    mock.clear_requests();
    let second = write::upsert(
        &client,
        &write::plan_upsert(customers, &row("Second")).unwrap(),
        Some(UpdateMethod::Patch),
        &mut Stats::default(),
    )
    .unwrap();
    assert!(!second.created);
    assert_eq!(second.outcome.key, first.outcome.key, "the same customer");
    assert_eq!(mock.requests(), ["PATCH /api/v2/customers/ups-1 200"]);
    assert_eq!(
        object(&client, "/customers/ups-1").unwrap()["name"],
        json!("Second")
    );
}

#[test]
fn s2s_conversion_posts_with_bearer_and_the_customer_is_readable() {
    let mock = Mock::start(&[]);
    let client = mock.client();
    mock.clear_requests();
    let conversion = insert(
        "conversions",
        &[
            ("xid", t("clk_123")),
            ("customer_key", t("s2s-cust-1")),
            ("email", t("s2s@example.com")),
            (
                "sub_ids",
                Value::TextArray(vec![Some("a".into()), Some("b".into())]),
            ),
            ("meta", j(r#"{"plan":"pro"}"#)),
        ],
    );
    let outcome = client.write(&conversion, &mut Stats::default()).unwrap();
    assert_eq!(
        (outcome.status, outcome.data),
        (200, None),
        "an empty answer"
    );
    assert_eq!(
        outcome.key.as_deref(),
        Some("s2s-cust-1"),
        "the customer_key sent"
    );
    let log = mock.control(reqwest::Method::GET, "requests", None);
    let entry = &log[0];
    assert_eq!(
        (&entry["method"], &entry["path"], &entry["auth_scheme"]),
        (&json!("POST"), &json!("/conversion/xid"), &json!("bearer"))
    );
    assert_eq!(entry["body"]["sub_ids"], json!(["a", "b"]));
    let customer = object(&client, "/customers/s2s-cust-1").unwrap();
    assert_eq!(customer["email"], json!("s2s@example.com"));

    // Without a token nothing is sent.
    let mut config = client.config().clone();
    config.s2s_token = None;
    let no_token = Client::new(config).unwrap();
    mock.clear_requests();
    let err = no_token
        .write(&conversion, &mut Stats::default())
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::MissingOption {
                option: "s2s_token",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(mock.requests().is_empty());
    assert!(
        !format!("{:?}", client.config()).contains("s2s_test_mock"),
        "token redacted"
    );
}
