//! Unit tests of [`super`]: which tables can honour ON CONFLICT, and the key a create carries.
//! The sending itself is tested against the mock in `tests/writes.rs`.

use super::*;
use crate::catalogue::{RESOURCES, resource};
use crate::mapping::Value;
use crate::write::plan_insert;

fn r(name: &str) -> &'static Resource {
    resource(name).unwrap()
}

fn t(s: &str) -> Value<'_> {
    Value::Text(s.into())
}

fn reason(e: WriteError) -> String {
    e.to_string()
}

#[test]
fn do_nothing_is_allowed_where_a_read_finds_the_row_by_its_own_key() {
    for name in ["customers", "partnerships"] {
        assert_eq!(
            check_on_conflict(r(name), OnConflict::DoNothing, false),
            Ok(())
        );
    }
}

#[test]
fn do_nothing_is_refused_where_a_duplicate_cannot_be_told_apart() {
    for name in ["transactions", "deals", "leads", "conversions"] {
        let e = reason(check_on_conflict(r(name), OnConflict::DoNothing, false).unwrap_err());
        assert!(
            e.starts_with(&format!(
                "cannot INSERT ... ON CONFLICT DO NOTHING into {name}: PartnerStack answers a \
                 duplicate with a 400 whose text is not documented"
            )),
            "{e}"
        );
        assert!(e.contains("WHERE NOT EXISTS"), "{e}");
    }
}

#[test]
fn every_resource_either_tells_duplicates_apart_or_refuses_do_nothing() {
    for resource in RESOURCES {
        let allowed = check_on_conflict(resource, OnConflict::DoNothing, false).is_ok();
        let creates = resource.writes.create_path.is_some();
        assert_eq!(
            allowed,
            !creates || resource.writes.confirm.is_some(),
            "{}",
            resource.name
        );
    }
}

#[test]
fn no_clause_is_always_fine_and_do_update_always_points_at_upsert() {
    for resource in RESOURCES {
        assert_eq!(check_on_conflict(resource, OnConflict::Error, true), Ok(()));
        let e = reason(check_on_conflict(resource, OnConflict::DoUpdate, false).unwrap_err());
        assert!(
            e.starts_with("cannot INSERT ... ON CONFLICT DO UPDATE into"),
            "{e}"
        );
        assert!(e.contains("insert_mode 'upsert'"), "{e}");
    }
}

#[test]
fn do_nothing_contradicts_insert_mode_upsert() {
    let e = reason(check_on_conflict(r("customers"), OnConflict::DoNothing, true).unwrap_err());
    assert!(
        e.contains("insert_mode 'upsert' updates existing objects"),
        "{e}"
    );
}

#[test]
fn the_own_key_is_the_one_the_confirming_read_looks_up() {
    let customer = plan_insert(
        r("customers"),
        &[
            ("customer_key", t("c-1")),
            ("email", t("a@b.co")),
            ("partner_key", t("acme")),
        ],
    )
    .unwrap();
    assert_eq!(
        own_key(r("customers"), &customer),
        Some(("customer_key", "c-1".to_owned()))
    );
    let partnership = plan_insert(
        r("partnerships"),
        &[("email", t("p@b.co")), ("partner_key", t("p-1"))],
    )
    .unwrap();
    assert_eq!(
        own_key(r("partnerships"), &partnership),
        Some(("partner_key", "p-1".to_owned()))
    );
    // Without a key of its own the row cannot duplicate one: any 400 stands.
    let keyless = plan_insert(
        r("customers"),
        &[("email", t("a@b.co")), ("partner_key", t("acme"))],
    )
    .unwrap();
    assert_eq!(own_key(r("customers"), &keyless), None);
}
