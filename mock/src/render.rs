//! JSON rendering: helpers the resources' views share, and tests of every resource's shape.
//!
//! Each resource's `*View` (in its module under `crate::resources`) borrows from the
//! [`crate::store::Store`] and resolves relationships (a transaction's `customer`, a
//! partnership's `group`) at render time. Field names and order follow the vendor `fields`
//! of `partnerstack-api-fields.json`.

use crate::model::Opt;
use serde::{Serialize, Serializer};

/// `skip_serializing_if` helper for borrowed [`Opt`] fields.
pub(crate) fn absent<T>(o: &&Opt<T>) -> bool {
    o.is_absent()
}

/// Serializes as `{}` (the write-only `meta` of customers and partnerships).
#[derive(Debug, Clone, Copy)]
pub struct EmptyObject;

impl Serialize for EmptyObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        s.serialize_map(Some(0))?.end()
    }
}

#[cfg(test)]
mod tests {
    use crate::data::{Sizes, generate};
    use crate::resources::{
        actions, customers, deals, groups, leads, partnerships, rewards, transactions,
    };
    use serde_json::{Value, json};
    use std::collections::BTreeSet;

    fn field_names(v: &Value) -> BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    }

    /// The vendor `fields` of a resource in the shared reference file, embedded here so
    /// the unit test does not depend on the repository layout.
    fn reference_fields(resource: &str) -> BTreeSet<String> {
        let names: &[&str] = match resource {
            "customers" => &[
                "key",
                "created_at",
                "updated_at",
                "customer_key",
                "email",
                "name",
                "partner_key",
                "partnership_key",
                "provider_key",
                "source_key",
                "source_type",
                "test",
                "meta",
                "mdata",
                "field_data",
                "fields",
            ],
            "partnerships" => &[
                "key",
                "created_at",
                "updated_at",
                "partner_key",
                "email",
                "first_name",
                "last_name",
                "group",
                "joined_at",
                "manager",
                "mdata",
                "stats",
                "tags",
                "team",
                "tier",
                "address",
                "fields",
                "field_data",
                "meta",
            ],
            "transactions" => &[
                "key",
                "created_at",
                "updated_at",
                "amount",
                "amount_usd",
                "approved",
                "category_key",
                "product_key",
                "currency",
                "customer_key",
                "customer",
                "extension",
                "metadata",
                "test",
            ],
            "rewards" => &[
                "key",
                "created_at",
                "updated_at",
                "amount",
                "currency",
                "description",
                "reward_status",
                "action",
                "customer",
                "invoice",
                "offer",
                "partnership",
                "transaction",
                "trigger",
            ],
            "actions" => &[
                "key",
                "created_at",
                "updated_at",
                "type",
                "value",
                "archived",
                "partnership_key",
                "customer",
                "company",
                "target_type",
                "target_key",
                "external_key",
            ],
            "deals" => &[
                "key",
                "created_at",
                "updated_at",
                "account_name",
                "amount",
                "close_date",
                "contact_first_name",
                "contact_last_name",
                "external_key",
                "group_key",
                "partner_key",
                "lost_reason",
                "mold_key",
                "source",
                "stage",
                "fields",
                "field_data",
                "meta",
                "team",
                "team_member",
            ],
            "leads" => &[
                "key",
                "created_at",
                "updated_at",
                "amount",
                "approved",
                "external_key",
                "group_key",
                "partner_key",
                "mold_key",
                "status",
                "meta",
                "field_data",
                "fields",
            ],
            _ => unreachable!(),
        };
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_rendered_field_is_a_reference_field_and_most_rows_have_all() {
        let s = generate(42, &Sizes::default());
        let check = |resource: &str, values: Vec<Value>| {
            let reference = reference_fields(resource);
            let mut complete = 0;
            for v in &values {
                let names = field_names(v);
                assert!(names.is_subset(&reference), "{resource}: {names:?}");
                if names == reference {
                    complete += 1;
                }
            }
            assert!(complete * 2 > values.len(), "{resource}: few complete rows");
        };
        check(
            "customers",
            s.customers
                .iter()
                .map(|(_, c)| serde_json::to_value(customers::render(&s, c)).unwrap())
                .collect(),
        );
        check(
            "partnerships",
            s.partnerships
                .iter()
                .map(|(_, p)| serde_json::to_value(partnerships::render(&s, p)).unwrap())
                .collect(),
        );
        check(
            "transactions",
            s.transactions
                .iter()
                .map(|(_, t)| serde_json::to_value(transactions::render(&s, t)).unwrap())
                .collect(),
        );
        check(
            "rewards",
            s.rewards
                .iter()
                .map(|(_, r)| serde_json::to_value(rewards::render(&s, r)).unwrap())
                .collect(),
        );
        check(
            "actions",
            s.actions
                .iter()
                .map(|(_, a)| serde_json::to_value(actions::render(&s, a)).unwrap())
                .collect(),
        );
        check(
            "deals",
            s.deals
                .iter()
                .map(|(_, d)| serde_json::to_value(deals::render(&s, d)).unwrap())
                .collect(),
        );
        check(
            "leads",
            s.leads
                .iter()
                .map(|(_, l)| serde_json::to_value(leads::render(&s, l)).unwrap())
                .collect(),
        );
    }

    #[test]
    fn nested_objects_have_documented_shapes() {
        let s = generate(42, &Sizes::default());
        let (_, t) = s.transactions.iter().next().unwrap();
        let v = serde_json::to_value(transactions::render(&s, t)).unwrap();
        assert_eq!(
            field_names(&v["customer"]),
            ["email", "external_key", "key"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        );
        assert_eq!(v["customer_key"], v["customer"]["key"]);
        assert!(
            v["currency"]
                .as_str()
                .unwrap()
                .chars()
                .all(|c| c.is_ascii_uppercase())
        );
        let (_, p) = s.partnerships.iter().next().unwrap();
        let v = serde_json::to_value(partnerships::render(&s, p)).unwrap();
        assert!(v["stats"]["CUSTOMER_COUNT"].is_u64());
        assert!(v["group"]["slug"].is_string());
        assert!(v["tags"].is_array());
        assert_eq!(v["meta"], json!({}));
        let g = serde_json::to_value(groups::render(s.groups.row(0))).unwrap();
        assert_eq!(
            field_names(&g["features"]),
            [
                "application_enabled",
                "deals_enabled",
                "disable_link_create",
                "leads_enabled"
            ]
            .iter()
            .map(|s| s.to_string())
            .collect()
        );
    }
}
