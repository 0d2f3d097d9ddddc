//! Creates (POST) and updates (PATCH): the envelope and messages, and the helpers every
//! resource's write rules share. The rules themselves (reference §4) are in each resource's
//! module under [`crate::resources`].
//!
//! Order of checks in every handler: required properties, then types and formats, then
//! references to other objects (400 for a missing partner/group, 404 for a missing
//! customer or transaction where the reference says so), then uniqueness.

use crate::data::text;
use crate::envelope::ApiError;
use crate::http::Response;
use crate::model::{JsonMap, RowId, Text};
use crate::now_ms;
use crate::resources::Resource;
use crate::store::Store;
use crate::validate::{self, Body, py_repr};
use serde_json::{Map, Value};
use std::sync::Arc;

/// A JSON request body.
pub(crate) type Object = Map<String, Value>;

/// `POST /api/v2/{resource}`.
pub fn create(s: &mut Store, r: Resource, body: &Object, test: bool) -> Result<Response, ApiError> {
    let b = Body::new(body);
    let now = now_ms();
    let row = r.create(s, b, test, now)?;
    let message = match r {
        Resource::Actions => "Action tracked successfully".to_string(),
        _ => format!("{} created successfully", r.title()),
    };
    Ok(r.item_response(s, row, &message))
}

/// `PATCH /api/v2/{resource}/{id}` (partial; omitted fields unchanged; bumps `updated_at`).
pub fn update(s: &mut Store, r: Resource, id: &str, body: &Object) -> Result<Response, ApiError> {
    let row = r.find(s, id)?;
    r.update(s, row, Body::new(body), now_ms())?;
    Ok(r.item_response(s, row, &format!("{} updated successfully", r.title())))
}

/// An optional string as shared text.
pub(crate) fn opt_text(s: Option<&str>) -> Option<Text> {
    s.map(text)
}

/// A new key with `prefix` not used by `taken`.
pub(crate) fn fresh_key(s: &mut Store, prefix: &str, taken: impl Fn(&Store, &str) -> bool) -> Text {
    loop {
        let k = s.rng.key(prefix);
        if !taken(s, &k) {
            return text(&k);
        }
    }
}

/// `updated_at` for a change now: never before the previous value or the creation.
pub(crate) fn bumped(now: i64, created: i64, previous: i64) -> i64 {
    now.max(previous).max(created)
}

/// `base` with the keys of `patch` added or replaced (PATCH of `mdata`-like objects).
pub(crate) fn merge_into(base: &JsonMap, patch: &Object) -> JsonMap {
    let mut m = (**base).clone();
    for (k, v) in patch {
        m.insert(k.clone(), v.clone());
    }
    Arc::new(m)
}

/// A string no longer than `max` characters, when given.
pub(crate) fn max_len(name: &str, v: Option<&str>, max: usize) -> Result<(), ApiError> {
    match v {
        Some(s) => validate::length(name, s, 0, max),
        None => Ok(()),
    }
}

/// A partnership by `partner_key` (400 when unknown, §4.1).
pub(crate) fn partner_by_key(s: &Store, partner_key: &str) -> Result<RowId, ApiError> {
    s.partner_keys.get(partner_key).copied().ok_or_else(|| {
        ApiError::bad_request(format!(
            "'partner_key': {} does not exist",
            py_repr(&Value::String(partner_key.into()))
        ))
    })
}

/// A group by `group_key` (400 when unknown).
pub(crate) fn group_by_key(s: &Store, group_key: &str) -> Result<RowId, ApiError> {
    s.find_group(group_key).ok_or_else(|| {
        ApiError::bad_request(format!(
            "'group_key': {} does not exist",
            py_repr(&Value::String(group_key.into()))
        ))
    })
}

/// 400 for a unique value already taken.
pub(crate) fn duplicate(name: &str, v: &str) -> ApiError {
    ApiError::bad_request(format!(
        "'{name}': {} already exists",
        py_repr(&Value::String(v.into()))
    ))
}

/// 400 for an explicit `null` where a value of type `ty` is expected.
pub(crate) fn type_null(name: &str, ty: &str) -> ApiError {
    ApiError::bad_request(format!("'{name}': None is not of type '{ty}'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Sizes, generate};
    use serde_json::json;

    fn store() -> Store {
        generate(
            42,
            &Sizes {
                transactions: 50,
                rewards: 20,
                ..Sizes::default()
            },
        )
    }

    fn obj(v: Value) -> Object {
        v.as_object().unwrap().clone()
    }

    fn err(r: Result<Response, ApiError>) -> ApiError {
        r.unwrap_err()
    }

    fn data(r: Result<Response, ApiError>) -> Value {
        let r = r.unwrap();
        assert_eq!(r.status, 200);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["status"], 200);
        v["data"].clone()
    }

    fn partner_key(s: &Store) -> String {
        s.partnerships.row(0).partner_key.to_string()
    }

    #[test]
    fn customer_create_validation() {
        let mut s = store();
        let pk = partner_key(&s);
        let e = err(create(
            &mut s,
            Resource::Customers,
            &obj(json!({"partner_key": pk})),
            true,
        ));
        assert_eq!(
            (e.status, e.message.as_str()),
            (400, "'email' is a required property")
        );
        let e = err(create(
            &mut s,
            Resource::Customers,
            &obj(json!({"email": "a@b.co"})),
            true,
        ));
        assert_eq!(e.message, "'partner_key' is a required property");
        let e = err(create(
            &mut s,
            Resource::Customers,
            &obj(json!({"email": "a@b.co", "partner_key": "nobody"})),
            true,
        ));
        assert_eq!(e.status, 400);
        assert!(e.message.contains("does not exist"));
        let e = err(create(
            &mut s,
            Resource::Customers,
            &obj(json!({"email": 5, "partner_key": pk})),
            true,
        ));
        assert_eq!(e.message, "'email': 5 is not of type 'string'");

        let d = data(create(
            &mut s,
            Resource::Customers,
            &obj(
                json!({"email": "zoë@example.com", "partner_key": pk, "customer_key": "mine 1/ü",
                        "meta": {"plan": "pro"}}),
            ),
            true,
        ));
        assert!(d["key"].as_str().unwrap().starts_with("cus_"));
        assert_eq!(d["test"], true);
        assert_eq!(d["partner_key"], pk.as_str());
        assert_eq!(d["mdata"]["plan"], "pro");
        assert_eq!(d["meta"], json!({}));
        assert_eq!(d["created_at"], d["updated_at"]);
        let e = err(create(
            &mut s,
            Resource::Customers,
            &obj(json!({"email": "x@example.com", "partner_key": pk, "customer_key": "mine 1/ü"})),
            false,
        ));
        assert_eq!(e.status, 400);
        assert!(e.message.contains("already exists"));
        // Production key: test false; null customer_key twice is fine.
        for _ in 0..2 {
            let d = data(create(
                &mut s,
                Resource::Customers,
                &obj(json!({"email": "y@example.com", "partner_key": pk, "customer_key": null})),
                false,
            ));
            assert_eq!(d["test"], false);
            assert_eq!(d["customer_key"], Value::Null);
        }
    }

    #[test]
    fn customer_update_ignores_partner_key_and_bumps_updated_at() {
        let mut s = store();
        let (row, c) = s
            .customers
            .live()
            .find(|(_, c)| c.customer_key.is_some())
            .map(|(i, c)| (i, c.clone()))
            .unwrap();
        let ck = c.customer_key.clone().unwrap().to_string();
        let other_pk = s
            .partnerships
            .live()
            .find(|(i, _)| *i != c.partnership)
            .unwrap()
            .1
            .partner_key
            .to_string();
        let d = data(update(
            &mut s,
            Resource::Customers,
            &ck,
            &obj(json!({"name": "山田太郎", "partner_key": other_pk})),
        ));
        assert_eq!(d["name"], "山田太郎");
        assert_eq!(
            d["partner_key"],
            &*s.partnerships.row(c.partnership).partner_key
        );
        assert!(d["updated_at"].as_i64().unwrap() > c.updated_at);
        assert_eq!(d["created_at"], c.created_at);
        // Fallback to `key`, and renaming customer_key moves the index.
        let d = data(update(
            &mut s,
            Resource::Customers,
            &c.key,
            &obj(json!({"customer_key": "renamed"})),
        ));
        assert_eq!(d["customer_key"], "renamed");
        assert_eq!(s.find_customer("renamed"), Some(row));
        assert_eq!(s.find_customer(&ck), None);
        let e = err(update(&mut s, Resource::Customers, "nope", &obj(json!({}))));
        assert_eq!((e.status, e.message.as_str()), (404, "customer not found"));
    }

    #[test]
    fn transaction_create_validation() {
        let mut s = store();
        let c = s.customers.row(3).clone();
        let ck = c.key.to_string();
        let cases: Vec<(Value, u16, &str)> = vec![
            (
                json!({"currency": "usd", "customer_key": ck}),
                400,
                "'amount' is a required property",
            ),
            (
                json!({"amount": 1, "customer_key": ck}),
                400,
                "'currency' is a required property",
            ),
            (
                json!({"amount": 1.5, "currency": "usd", "customer_key": ck}),
                400,
                "not of type 'integer'",
            ),
            (
                json!({"amount": "1", "currency": "usd", "customer_key": ck}),
                400,
                "not of type 'integer'",
            ),
            (
                json!({"amount": 1, "currency": "usdx", "customer_key": ck}),
                400,
                "exactly 3 letters",
            ),
            (
                json!({"amount": 1, "currency": "us1", "customer_key": ck}),
                400,
                "exactly 3 letters",
            ),
            (
                json!({"amount": 1, "currency": "usd"}),
                400,
                "Exactly one of",
            ),
            (
                json!({"amount": 1, "currency": "usd", "customer_key": ck, "customer_email": "a@b.c"}),
                400,
                "Exactly one of",
            ),
            (
                json!({"amount": 1, "currency": "usd", "customer_key": "cus_nope"}),
                404,
                "customer not found",
            ),
            (
                json!({"amount": 1, "currency": "usd", "customer_key": ck, "key": "abc"}),
                400,
                "too short",
            ),
            (
                json!({"amount": 60_000_000_000i64, "currency": "usd", "customer_key": ck}),
                400,
                "maximum",
            ),
        ];
        for (body, status, msg) in cases {
            let e = err(create(
                &mut s,
                Resource::Transactions,
                &obj(body.clone()),
                false,
            ));
            assert_eq!(e.status, status, "{body}");
            assert!(e.message.contains(msg), "{body}: {}", e.message);
        }
        let d = data(create(
            &mut s,
            Resource::Transactions,
            &obj(
                json!({"amount": -1000, "currency": "eur", "customer_key": ck,
                        "key": "ord 2025/1 #ü", "created_at": 1_700_000_000_000i64}),
            ),
            false,
        ));
        assert_eq!(d["key"], "ord 2025/1 #ü");
        assert_eq!(d["currency"], "EUR");
        assert_eq!(d["amount_usd"], -1080);
        assert_eq!(d["approved"], false);
        assert_eq!(d["created_at"], 1_700_000_000_000i64);
        assert_eq!(d["customer_key"], ck.as_str());
        let e = err(create(
            &mut s,
            Resource::Transactions,
            &obj(
                json!({"amount": 1, "currency": "usd", "customer_key": ck, "key": "ord 2025/1 #ü"}),
            ),
            false,
        ));
        assert!(e.message.contains("already exists"));
        // customer_email and customer_external_key resolve too.
        if let Some(email) = c.email.clone() {
            data(create(
                &mut s,
                Resource::Transactions,
                &obj(json!({"amount": 5, "currency": "USD", "customer_email": &*email})),
                true,
            ));
        }
        let with_ck = s
            .customers
            .live()
            .find(|(_, c)| c.customer_key.is_some())
            .unwrap()
            .1
            .clone();
        let d = data(create(
            &mut s,
            Resource::Transactions,
            &obj(json!({"amount": 5, "currency": "USD",
                        "customer_external_key": &*with_ck.customer_key.unwrap()})),
            true,
        ));
        assert_eq!(d["customer_key"], &*with_ck.key);
        assert_eq!(d["test"], true);
        assert!(d["key"].as_str().unwrap().starts_with("txn_"));
    }

    #[test]
    fn action_reward_lead_deal_webhook_partnership_validation() {
        let mut s = store();
        let pk = partner_key(&s);
        let ck = s.customers.row(0).key.to_string();
        let e = err(create(
            &mut s,
            Resource::Actions,
            &obj(json!({"customer_key": ck, "value": 1})),
            false,
        ));
        assert_eq!(e.message, "'target_type' is a required property");
        let e = err(create(
            &mut s,
            Resource::Actions,
            &obj(
                json!({"target_type": "customer", "target_key": ck, "type": "signup", "value": 0}),
            ),
            false,
        ));
        assert!(e.message.contains("minimum of 1"));
        let r = create(
            &mut s,
            Resource::Actions,
            &obj(json!({"target_type": "partnership", "target_key": pk, "type": "signup", "value": 2})),
            false,
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["message"], "Action tracked successfully");
        assert_eq!(v["data"]["target_type"], "partnership");

        let e = err(create(
            &mut s,
            Resource::Rewards,
            &obj(json!({"amount": 5})),
            false,
        ));
        assert_eq!(e.message, "'target' is a required property");
        let e = err(create(
            &mut s,
            Resource::Rewards,
            &obj(json!({"amount": 5, "target": {"key": ck}})),
            false,
        ));
        assert_eq!(e.message, "'type' is a required property");
        let d = data(create(
            &mut s,
            Resource::Rewards,
            &obj(
                json!({"amount": 500, "description": "bonus", "target": {"key": ck, "type": "customer"}}),
            ),
            false,
        ));
        assert_eq!(d["customer"]["key"], ck.as_str());
        assert_eq!(d["reward_status"], "pending");

        let e = err(create(
            &mut s,
            Resource::Leads,
            &obj(json!({"partner_key": pk, "external_key": "l@x.io", "status": "won", "meta": {}})),
            false,
        ));
        assert!(e.message.contains("is not one of"));
        let e = err(create(
            &mut s,
            Resource::Leads,
            &obj(
                json!({"partner_key": pk, "external_key": "l@x.io", "status": "open", "meta": {"first_name": "A"}}),
            ),
            false,
        ));
        assert_eq!(e.message, "'last_name' is a required property");
        let d = data(create(
            &mut s,
            Resource::Leads,
            &obj(
                json!({"partner_key": pk, "external_key": "l@x.io", "status": "closed won",
                        "meta": {"first_name": "A", "last_name": "B"}}),
            ),
            false,
        ));
        assert_eq!(d["status"], "closed won");

        let e = err(create(
            &mut s,
            Resource::Deals,
            &obj(json!({"account_name": "X"})),
            false,
        ));
        assert_eq!(e.message, "'partner_key' is a required property");
        let e = err(create(
            &mut s,
            Resource::Deals,
            &obj(json!({"source": "vendor"})),
            false,
        ));
        assert_eq!(e.message, "'group_key' is a required property");
        let d = data(create(
            &mut s,
            Resource::Deals,
            &obj(json!({"partner_key": pk, "amount": 100, "close_date": "2026-02-30"})),
            false,
        ));
        assert_eq!(d["close_date"], "2026-02-30");
        let e = err(create(
            &mut s,
            Resource::Deals,
            &obj(json!({"partner_key": pk, "close_date": "tomorrow"})),
            false,
        ));
        assert!(e.message.contains("'date'"));

        let e = err(create(
            &mut s,
            Resource::Webhooks,
            &obj(json!({"target": "https://x.io"})),
            false,
        ));
        assert_eq!(e.message, "'events' is a required property");
        let e = err(create(
            &mut s,
            Resource::Webhooks,
            &obj(json!({"target": "https://x.io", "events": []})),
            false,
        ));
        assert!(e.message.contains("too short"));

        let e = err(create(
            &mut s,
            Resource::Partnerships,
            &obj(json!({"first_name": "A"})),
            false,
        ));
        assert_eq!(e.message, "'email' is a required property");
        let d = data(create(
            &mut s,
            Resource::Partnerships,
            &obj(
                json!({"email": "new.partner@example.com", "first_name": "Zoë", "last_name": "Ærøskøbing",
                        "tags": ["a", "b"]}),
            ),
            false,
        ));
        assert!(d["partner_key"].as_str().unwrap().starts_with("zo"));
        assert_eq!(d["stats"]["CUSTOMER_COUNT"], 0);
        assert_eq!(d["tags"], json!(["a", "b"]));
        let e = err(create(
            &mut s,
            Resource::Partnerships,
            &obj(json!({"email": "new.partner@example.com"})),
            false,
        ));
        assert!(e.message.contains("already exists"));
    }

    #[test]
    fn partnership_rename_shows_up_in_customers() {
        let mut s = store();
        let c = s.customers.row(0).clone();
        let p = s.partnerships.row(c.partnership).key.to_string();
        data(update(
            &mut s,
            Resource::Partnerships,
            &p,
            &obj(json!({"partner_key": "renamed-partner"})),
        ));
        let v = serde_json::to_value(crate::resources::customers::render(&s, s.customers.row(0)))
            .unwrap();
        assert_eq!(v["partner_key"], "renamed-partner");
        assert!(s.partner_keys.contains_key("renamed-partner"));
    }
}
