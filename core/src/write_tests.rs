//! Unit tests of [`super`]: every validation rule and the exact body of each resource.

use serde_json::json;

use super::*;
use crate::catalogue::resource;

fn r(name: &str) -> &'static Resource {
    resource(name).unwrap()
}

fn t(s: &str) -> Value<'_> {
    Value::Text(s.into())
}

fn j(s: &str) -> Value<'_> {
    Value::Json(s.into())
}

fn body(table: &str, row: &[Cell]) -> Json {
    Json::Object(create_body(r(table), row).unwrap())
}

fn create_err(table: &str, row: &[Cell]) -> WriteError {
    create_body(r(table), row).unwrap_err()
}

fn update_err(table: &str, changed: &[Cell]) -> WriteError {
    update_body(r(table), changed).unwrap_err()
}

#[test]
fn customer_create_sends_non_null_accepted_columns() {
    let b = body(
        "customers",
        &[
            ("customer_key", t("c-1")),
            ("email", t("a@b.co")),
            ("partner_key", t("acme")),
            ("name", Value::Null),
            ("meta", j(r#"{"plan":"pro"}"#)),
            ("key", Value::Null),
            ("created_at", Value::Null),
        ],
    );
    assert_eq!(
        b,
        json!({"customer_key":"c-1","email":"a@b.co","partner_key":"acme","meta":{"plan":"pro"}})
    );
}

#[test]
fn missing_required_column_names_table_and_column() {
    let e = create_err("customers", &[("email", t("a@b.co"))]);
    assert_eq!(
        e,
        WriteError::MissingRequired {
            table: "customers",
            column: "partner_key"
        }
    );
    assert_eq!(
        e.to_string(),
        "customers.partner_key is required when inserting into customers"
    );
    // NULL counts as missing.
    let e = create_err(
        "customers",
        &[("email", Value::Null), ("partner_key", t("p"))],
    );
    assert!(matches!(
        e,
        WriteError::MissingRequired {
            column: "email",
            ..
        }
    ));
}

#[test]
fn read_only_column_on_insert_is_an_error_not_a_silent_drop() {
    let e = create_err(
        "customers",
        &[
            ("email", t("a@b.co")),
            ("partner_key", t("p")),
            ("key", t("cus_x")),
        ],
    );
    assert!(matches!(
        e,
        WriteError::NotAcceptedOnCreate {
            table: "customers",
            column: "key",
            ..
        }
    ));
    assert!(
        e.to_string().contains("accepted: customer_key, email"),
        "{e}"
    );
    let e = create_err("transactions", &[("amount_usd", Value::BigInt(1))]);
    assert!(matches!(
        e,
        WriteError::NotAcceptedOnCreate {
            column: "amount_usd",
            ..
        }
    ));
}

#[test]
fn unknown_column_is_named() {
    let e = create_err("customers", &[("nope", t("x"))]);
    assert_eq!(e.to_string(), "customers has no column nope");
}

#[test]
fn wrong_type_names_column_and_value() {
    let e = create_err("transactions", &[("amount", Value::Bool(true))]);
    assert_eq!(
        e.to_string(),
        "transactions.amount expects an integer (bigint), got boolean true"
    );
    let e = create_err("customers", &[("email", Value::BigInt(3))]);
    assert!(matches!(
        e,
        WriteError::WrongType {
            column: "email",
            expected: "text",
            ..
        }
    ));
}

fn transaction(extra: &[Cell<'static>]) -> Vec<Cell<'static>> {
    let mut row = vec![
        ("amount", Value::BigInt(1250)),
        ("currency", t("usd")),
        ("customer_external_key", t("c-1")),
    ];
    row.extend(extra.iter().cloned());
    row
}

#[test]
fn transaction_body_upper_cases_currency_and_sends_epoch_ms() {
    let b = body(
        "transactions",
        &transaction(&[
            ("key", t("txn-0001")),
            ("created_at", Value::TimestampMs(1_700_000_000_123)),
            ("metadata", j(r#"{"plan":"pro"}"#)),
            ("test", Value::Bool(true)),
        ]),
    );
    assert_eq!(
        b,
        json!({"amount":1250,"currency":"USD","customer_external_key":"c-1","key":"txn-0001",
               "created_at":1_700_000_000_123_i64,"metadata":{"plan":"pro"},"test":true})
    );
}

#[test]
fn currency_must_be_three_letters() {
    for bad in ["US", "USDX", "U$D", "12 ", "€UR"] {
        let mut row = transaction(&[]);
        row[1] = ("currency", t(bad));
        let e = create_err("transactions", &row);
        assert!(
            matches!(
                e,
                WriteError::InvalidValue {
                    table: "transactions",
                    column: "currency",
                    ..
                }
            ),
            "{bad}: {e}"
        );
        assert!(e.to_string().contains("exactly 3 letters"), "{e}");
    }
}

#[test]
fn amount_must_be_an_integer() {
    let mut row = transaction(&[]);
    row[0] = ("amount", t("12.50"));
    let e = create_err("transactions", &row);
    assert_eq!(
        e.to_string(),
        "transactions.amount: \"12.50\" is not an integer (amounts are integer cents)"
    );
    row[0] = ("amount", t("-1250"));
    assert_eq!(body("transactions", &row)["amount"], json!(-1250));
}

#[test]
fn transaction_needs_exactly_one_customer_reference() {
    let none = [("amount", Value::BigInt(1)), ("currency", t("EUR"))];
    let e = create_err("transactions", &none);
    assert_eq!(
        e.to_string(),
        "transactions: exactly one of customer_key, customer_external_key, customer_email must be set (got 0)"
    );
    let two = transaction(&[("customer_email", t("a@b.co"))]);
    assert!(
        create_err("transactions", &two)
            .to_string()
            .contains("(got 2)")
    );
    // A NULL reference does not count.
    let one = transaction(&[("customer_email", Value::Null)]);
    assert!(create_body(r("transactions"), &one).is_ok());
}

#[test]
fn transactions_are_append_only() {
    let e = update_err("transactions", &[("amount", Value::BigInt(1))]);
    assert!(
        e.to_string()
            .starts_with("cannot UPDATE transactions: transactions are append-only"),
        "{e}"
    );
    let d = plan_delete(r("transactions"), Some("txn 1/2")).unwrap();
    assert_eq!(
        (d.method, d.path.as_str()),
        (Method::Delete, "/transactions/txn%201%2F2")
    );
}

#[test]
fn deal_owner_key_follows_source() {
    let e = create_err("deals", &[("account_name", t("Acme"))]);
    assert_eq!(
        e.to_string(),
        "deals: partner_key is required when source is 'partner' (the default)"
    );
    let e = create_err("deals", &[("source", t("vendor")), ("partner_key", t("p"))]);
    assert_eq!(
        e.to_string(),
        "deals: group_key is required when source is 'vendor'"
    );
    assert!(
        create_body(
            r("deals"),
            &[("source", t("vendor")), ("group_key", t("g"))]
        )
        .is_ok()
    );
    assert!(create_body(r("deals"), &[("partner_key", t("p"))]).is_ok());
    let e = create_err("deals", &[("source", t("both")), ("partner_key", t("p"))]);
    assert!(
        matches!(
            e,
            WriteError::InvalidValue {
                column: "source",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn json_columns_must_have_the_shape_the_api_wants() {
    let base = [("email", t("a@b.co")), ("partner_key", t("p"))];
    let mut row = base.to_vec();
    row.push(("meta", j("[1]")));
    let e = create_err("customers", &row);
    assert_eq!(
        e.to_string(),
        "customers.meta: PartnerStack expects a JSON object here, got \"[1]\""
    );
    row[2] = ("meta", j("{nope"));
    assert!(
        create_err("customers", &row)
            .to_string()
            .contains("not valid JSON")
    );
    let e = update_err("partnerships", &[("fields", j("{}"))]);
    assert!(e.to_string().contains("expects a JSON array"), "{e}");
    let e = create_err(
        "rewards",
        &[("amount", Value::BigInt(100)), ("target", j("\"cus_1\""))],
    );
    assert!(
        matches!(
            e,
            WriteError::InvalidValue {
                column: "target",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn text_arrays_become_arrays_of_strings_and_refuse_null_elements() {
    let b = body(
        "webhooks",
        &[
            ("target", t("https://x.test/h")),
            (
                "events",
                Value::TextArray(vec![Some("customer.created".into())]),
            ),
        ],
    );
    assert_eq!(
        b,
        json!({"target":"https://x.test/h","events":["customer.created"]})
    );
    let e = create_err(
        "webhooks",
        &[
            ("target", t("https://x.test/h")),
            ("events", Value::TextArray(vec![None])),
        ],
    );
    assert_eq!(e.to_string(), "webhooks.events: an array element is NULL");
}

#[test]
fn update_sends_exactly_the_changed_columns_and_null_as_null() {
    let b = update_body(
        r("customers"),
        &[("name", Value::Null), ("email", t("n@b.co"))],
    )
    .unwrap();
    assert_eq!(Json::Object(b), json!({"name":null,"email":"n@b.co"}));
}

#[test]
fn update_of_a_read_only_column_is_an_error_naming_it() {
    for column in [
        "key",
        "created_at",
        "updated_at",
        "partner_key",
        "attrs",
        "test",
    ] {
        let e = update_err("customers", &[(column, Value::Null)]);
        assert!(
            matches!(
                e,
                WriteError::ReadOnlyColumn {
                    table: "customers",
                    ..
                }
            ),
            "{column}: {e}"
        );
        assert!(
            e.to_string()
                .starts_with(&format!("customers.{column} is read-only")),
            "{e}"
        );
    }
    let e = update_err("partnerships", &[("email", t("x@y.z"))]);
    assert_eq!(
        e.to_string(),
        "partnerships.email is read-only: UPDATE of partnerships can set only partner_key, \
         fields, group_key, manager_email, tier_key"
    );
    let e = update_err("customers", &[("email", Value::Null)]);
    assert_eq!(e.to_string(), "customers.email cannot be set to NULL");
}

#[test]
fn read_only_resources_refuse_every_write() {
    let e = create_err("groups", &[("name", t("x"))]);
    assert!(
        e.to_string()
            .starts_with("cannot INSERT into groups: groups are read-only"),
        "{e}"
    );
    assert!(update_err("groups", &[]).to_string().contains("read-only"));
    assert!(plan_delete(r("groups"), Some("g")).is_err());
    assert!(plan_delete(r("rewards"), Some("r")).is_err());
    assert!(update_err("rewards", &[]).to_string().contains("dashboard"));
    assert!(
        update_err("actions", &[])
            .to_string()
            .starts_with("cannot UPDATE actions")
    );
    assert!(create_err("links", &[]).to_string().contains("read-only"));
}

#[test]
fn update_and_delete_paths_use_the_addressing_column() {
    let u = plan_update(r("customers"), Some("c 1/#"), &[("name", t("N"))]).unwrap();
    assert_eq!(
        (u.method, u.path.as_str()),
        (Method::Put, "/customers/c%201%2F%23")
    );
    assert_eq!(u.body, Some(json!({"name":"N"})));
    assert_eq!(u.sent_key.as_deref(), Some("c 1/#"));
    let e = plan_update(r("customers"), None, &[("name", t("N"))]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "customers.customer_key is NULL: the row cannot be addressed"
    );
    assert!(plan_delete(r("deals"), Some("..")).is_err());
    let d = plan_delete(r("actions"), Some("act_1")).unwrap();
    assert_eq!((d.path.as_str(), d.body.as_ref()), ("/actions/act_1", None));
    assert_eq!(
        plan_delete(r("partnerships"), Some("part_1")).unwrap().path,
        "/partnerships/part_1"
    );
}

#[test]
fn every_updatable_resource_starts_with_put() {
    for name in ["customers", "partnerships", "deals", "leads", "webhooks"] {
        assert_eq!(r(name).writes.update, Some(UpdateMethod::Put), "{name}");
    }
}

#[test]
fn confirm_read_only_when_the_row_carries_its_own_key() {
    let row = [
        ("email", t("a@b.co")),
        ("partner_key", t("p")),
        ("customer_key", t("c/1")),
    ];
    let p = plan_insert(r("customers"), &row).unwrap();
    assert_eq!(
        p.confirm,
        Some(ConfirmRead::Item {
            path: "/customers/c%2F1".into()
        })
    );
    let p = plan_insert(r("customers"), &row[..2]).unwrap();
    assert_eq!(p.confirm, None);
    let p = plan_insert(
        r("partnerships"),
        &[("email", t("a@b.co")), ("partner_key", t("pk"))],
    )
    .unwrap();
    assert_eq!(
        p.confirm,
        Some(ConfirmRead::List {
            path: "/partnerships".into(),
            params: vec![("partner_key".into(), "pk".into())],
            field: "partner_key",
            value: "pk".into()
        })
    );
    // Transactions have no GET by key and no key filter: never confirmable.
    let p = plan_insert(r("transactions"), &transaction(&[("key", t("txn-0001"))])).unwrap();
    assert_eq!(p.confirm, None);
}

#[test]
fn conversion_body_and_key() {
    let p = plan_insert(
        r("conversions"),
        &[
            ("xid", t("clk_1")),
            ("customer_key", t("c-9")),
            ("sub_ids", Value::TextArray(vec![Some("a".into())])),
            ("meta", j(r#"{"k":1}"#)),
            ("email", Value::Null),
        ],
    )
    .unwrap();
    assert_eq!(p.endpoint, Endpoint::Conversion);
    assert_eq!(p.path, "/conversion/xid");
    assert_eq!(
        p.body,
        Some(json!({"xid":"clk_1","customer_key":"c-9","sub_ids":["a"],"meta":{"k":1}}))
    );
    assert_eq!(p.sent_key.as_deref(), Some("c-9"));
    let e = plan_insert(r("conversions"), &[("xid", t("x"))]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "conversions.customer_key is required when inserting into conversions"
    );
    assert!(plan_update(r("conversions"), Some("c"), &[]).is_err());
    assert!(plan_delete(r("conversions"), Some("c")).is_err());
}

#[test]
fn upsert_updates_the_updatable_part_and_creates_the_whole_row() {
    let row = [
        ("customer_key", t("c-1")),
        ("email", t("a@b.co")),
        ("partner_key", t("acme")),
        ("name", Value::Null),
    ];
    let u = plan_upsert(r("customers"), &row).unwrap();
    let update = u.update.unwrap();
    assert_eq!(update.path, "/customers/c-1");
    assert_eq!(
        update.body,
        Some(json!({"customer_key":"c-1","email":"a@b.co"}))
    );
    assert_eq!(
        u.create.body,
        Some(json!({"customer_key":"c-1","email":"a@b.co","partner_key":"acme"}))
    );
    let no_key = plan_upsert(r("customers"), &row[1..]).unwrap();
    assert!(
        no_key.update.is_none(),
        "nothing to address: create directly"
    );
    let p = plan_upsert(
        r("partnerships"),
        &[
            ("email", t("a@b.co")),
            ("partner_key", t("pk")),
            ("first_name", t("A")),
        ],
    )
    .unwrap();
    assert_eq!(p.update.unwrap().path, "/partnerships/pk");
    assert!(plan_upsert(r("deals"), &[("partner_key", t("p"))]).is_err());
    // The create side is validated even when the update would be enough.
    assert!(plan_upsert(r("customers"), &row[..2]).is_err());
}

#[test]
fn every_create_body_of_the_mock_shape() {
    let cases: Vec<(&str, Vec<Cell>, Json)> = vec![
        (
            "partnerships",
            vec![
                ("email", t("p@x.io")),
                ("group_key", t("grup_1")),
                ("tags", Value::TextArray(vec![Some("vip".into())])),
                ("manager_name", t("M")),
            ],
            json!({"email":"p@x.io","group_key":"grup_1","tags":["vip"],"manager_name":"M"}),
        ),
        (
            "leads",
            vec![
                ("partner_key", t("p")),
                ("external_key", t("l@x.io")),
                ("status", t("open")),
                ("meta", j(r#"{"first_name":"A","last_name":"B"}"#)),
                ("amount", Value::BigInt(5)),
            ],
            json!({"partner_key":"p","external_key":"l@x.io","status":"open",
                   "meta":{"first_name":"A","last_name":"B"},"amount":5}),
        ),
        (
            "rewards",
            vec![
                ("amount", Value::BigInt(500)),
                ("description", t("bonus")),
                ("target", j(r#"{"key":"cus_1","type":"customer"}"#)),
            ],
            json!({"amount":500,"description":"bonus","target":{"key":"cus_1","type":"customer"}}),
        ),
        (
            "actions",
            vec![
                ("type", t("signup")),
                ("value", Value::BigInt(1)),
                ("target_type", t("customer")),
                ("target_key", t("c-1")),
            ],
            json!({"type":"signup","value":1,"target_type":"customer","target_key":"c-1"}),
        ),
    ];
    for (table, row, expected) in cases {
        assert_eq!(body(table, &row), expected, "{table}");
    }
    let e = create_err(
        "leads",
        &[
            ("partner_key", t("p")),
            ("external_key", t("e")),
            ("status", t("won")),
            ("meta", j("{}")),
        ],
    );
    assert!(
        matches!(
            e,
            WriteError::InvalidValue {
                column: "status",
                ..
            }
        ),
        "{e}"
    );
    let e = create_err(
        "actions",
        &[
            ("type", t("s")),
            ("value", Value::BigInt(1)),
            ("target_key", t("c")),
        ],
    );
    assert!(
        matches!(
            e,
            WriteError::MissingRequired {
                column: "target_type",
                ..
            }
        ),
        "{e}"
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn currency_is_accepted_exactly_when_it_is_three_letters(code in "\\PC{0,5}") {
            let row = [
                ("amount", Value::BigInt(1)),
                ("currency", Value::Text(code.as_str().into())),
                ("customer_email", t("a@b.co")),
            ];
            let three_letters = code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic());
            match create_body(r("transactions"), &row) {
                Ok(b) => {
                    prop_assert!(three_letters);
                    prop_assert_eq!(&b["currency"], &json!(code.to_ascii_uppercase()));
                }
                Err(e) => {
                    prop_assert!(!three_letters);
                    let is_currency_error =
                        matches!(e, WriteError::InvalidValue { column: "currency", .. });
                    prop_assert!(is_currency_error);
                }
            }
        }

        #[test]
        fn amounts_and_timestamps_reach_the_body_unchanged(amount: i64, ms: i64) {
            let row = [
                ("amount", Value::BigInt(amount)),
                ("currency", t("usd")),
                ("customer_key", t("cus_1")),
                ("created_at", Value::TimestampMs(ms)),
            ];
            let b = create_body(r("transactions"), &row).unwrap();
            prop_assert_eq!(&b["amount"], &json!(amount));
            prop_assert_eq!(&b["created_at"], &json!(ms));
        }

        #[test]
        fn text_values_round_trip_through_the_body(name in "\\PC*") {
            let b = update_body(r("customers"), &[("name", Value::Text(name.as_str().into()))])
                .unwrap();
            prop_assert_eq!(&b["name"], &json!(name));
        }
    }
}
