//! JSON shapes of every resource, built on demand from the compact records.
//!
//! Each `*View` borrows from the [`Store`] and resolves relationships (a transaction's
//! `customer`, a partnership's `group`) at render time. Field names and order follow the
//! vendor `fields` of `partnerstack-api-fields.json`.

use crate::model::{
    Action, Customer, Deal, Features, Group, Invoice, JsonList, JsonMap, Lead, Link, Manager,
    Offer, Opt, Partnership, Reward, Team, Text, Tier, Transaction, Webhook, currency_str,
};
use crate::store::Store;
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::sync::Arc;

/// `skip_serializing_if` helper for borrowed [`Opt`] fields.
fn absent<T>(o: &&Opt<T>) -> bool {
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

/// A group as listed and as embedded in partnerships.
#[derive(Serialize)]
pub struct GroupView<'a> {
    key: &'a Text,
    created_at: i64,
    updated_at: i64,
    name: &'a Text,
    slug: &'a Text,
    default: bool,
    archived: bool,
    features: &'a Features,
}

/// Renders a group.
pub fn group(g: &Group) -> GroupView<'_> {
    GroupView {
        key: &g.key,
        created_at: g.created_at,
        updated_at: g.updated_at,
        name: &g.name,
        slug: &g.slug,
        default: g.default,
        archived: g.archived,
        features: &g.features,
    }
}

/// Upper-case counters embedded in partnerships.
#[derive(Serialize)]
#[allow(non_snake_case)]
struct StatsView {
    CUSTOMER_COUNT: u32,
    CLICK_COUNT: u32,
}

/// A partnership.
#[derive(Serialize)]
pub struct PartnershipView<'a> {
    key: &'a Text,
    created_at: i64,
    updated_at: i64,
    partner_key: &'a Text,
    email: &'a Text,
    #[serde(skip_serializing_if = "absent")]
    first_name: &'a Opt<Text>,
    #[serde(skip_serializing_if = "absent")]
    last_name: &'a Opt<Text>,
    group: GroupView<'a>,
    joined_at: i64,
    manager: &'a Option<Manager>,
    mdata: &'a JsonMap,
    stats: StatsView,
    tags: &'a [Text],
    team: &'a Team,
    #[serde(skip_serializing_if = "Opt::is_absent")]
    tier: Opt<&'a Tier>,
    #[serde(skip_serializing_if = "absent")]
    address: &'a Opt<crate::model::Address>,
    fields: &'a JsonList,
    field_data: &'a JsonMap,
    meta: EmptyObject,
}

/// Renders a partnership.
pub fn partnership<'a>(s: &'a Store, p: &'a Partnership) -> PartnershipView<'a> {
    PartnershipView {
        key: &p.key,
        created_at: p.created_at,
        updated_at: p.updated_at,
        partner_key: &p.partner_key,
        email: &p.email,
        first_name: &p.first_name,
        last_name: &p.last_name,
        group: group(s.groups.row(p.group)),
        joined_at: p.joined_at,
        manager: &p.manager,
        mdata: &p.mdata,
        stats: StatsView {
            CUSTOMER_COUNT: p.customer_count,
            CLICK_COUNT: p.click_count,
        },
        tags: &p.tags,
        team: &p.team,
        tier: match p.tier {
            Opt::Absent => Opt::Absent,
            Opt::Null => Opt::Null,
            Opt::Some(i) => Opt::Some(&s.catalog.tiers[i]),
        },
        address: &p.address,
        fields: &p.fields,
        field_data: &p.field_data,
        meta: EmptyObject,
    }
}

/// A customer.
#[derive(Serialize)]
pub struct CustomerView<'a> {
    key: &'a Text,
    created_at: i64,
    updated_at: i64,
    customer_key: &'a Option<Text>,
    email: &'a Option<Text>,
    name: &'a Option<Text>,
    partner_key: &'a Text,
    partnership_key: &'a Text,
    provider_key: &'a Option<Text>,
    #[serde(skip_serializing_if = "absent")]
    source_key: &'a Opt<Text>,
    #[serde(skip_serializing_if = "absent")]
    source_type: &'a Opt<Text>,
    test: bool,
    meta: EmptyObject,
    mdata: &'a JsonMap,
    field_data: &'a JsonMap,
    fields: &'a JsonList,
}

/// Renders a customer.
pub fn customer<'a>(s: &'a Store, c: &'a Customer) -> CustomerView<'a> {
    let p = s.partnerships.row(c.partnership);
    CustomerView {
        key: &c.key,
        created_at: c.created_at,
        updated_at: c.updated_at,
        customer_key: &c.customer_key,
        email: &c.email,
        name: &c.name,
        partner_key: &p.partner_key,
        partnership_key: &p.key,
        provider_key: &c.provider_key,
        source_key: &c.source_key,
        source_type: &c.source_type,
        test: c.test,
        meta: EmptyObject,
        mdata: &c.mdata,
        field_data: &c.field_data,
        fields: &c.fields,
    }
}

/// A deal.
#[derive(Serialize)]
pub struct DealView<'a> {
    key: &'a Text,
    created_at: i64,
    updated_at: i64,
    account_name: &'a Text,
    amount: i64,
    close_date: &'a Text,
    contact_first_name: &'a Option<Text>,
    contact_last_name: &'a Option<Text>,
    external_key: &'a Option<Text>,
    group_key: &'a Text,
    partner_key: Option<&'a Text>,
    lost_reason: &'a Option<Text>,
    mold_key: &'a Option<Text>,
    source: &'a Text,
    stage: &'a Option<Text>,
    fields: &'a JsonList,
    field_data: &'a JsonMap,
    meta: &'a JsonMap,
    team: &'a Opt<Arc<Value>>,
    #[serde(skip_serializing_if = "absent")]
    team_member: &'a Opt<Arc<Value>>,
}

/// Renders a deal.
pub fn deal<'a>(s: &'a Store, d: &'a Deal) -> DealView<'a> {
    DealView {
        key: &d.key,
        created_at: d.created_at,
        updated_at: d.updated_at,
        account_name: &d.account_name,
        amount: d.amount,
        close_date: &d.close_date,
        contact_first_name: &d.contact_first_name,
        contact_last_name: &d.contact_last_name,
        external_key: &d.external_key,
        group_key: &s.groups.row(d.group).key,
        partner_key: d.partnership.map(|p| &s.partnerships.row(p).partner_key),
        lost_reason: &d.lost_reason,
        mold_key: &d.mold_key,
        source: &d.source,
        stage: &d.stage,
        fields: &d.fields,
        field_data: &d.field_data,
        meta: &d.meta,
        team: &d.team,
        team_member: &d.team_member,
    }
}

/// A lead.
#[derive(Serialize)]
pub struct LeadView<'a> {
    key: &'a Text,
    created_at: i64,
    updated_at: i64,
    amount: Option<i64>,
    approved: Option<bool>,
    external_key: &'a Text,
    group_key: Option<&'a Text>,
    partner_key: &'a Text,
    #[serde(skip_serializing_if = "absent")]
    mold_key: &'a Opt<Text>,
    status: &'a Text,
    meta: &'a JsonMap,
    field_data: &'a JsonMap,
    fields: &'a JsonList,
}

/// Renders a lead.
pub fn lead<'a>(s: &'a Store, l: &'a Lead) -> LeadView<'a> {
    LeadView {
        key: &l.key,
        created_at: l.created_at,
        updated_at: l.updated_at,
        amount: l.amount,
        approved: l.approved,
        external_key: &l.external_key,
        group_key: l.group.map(|g| &s.groups.row(g).key),
        partner_key: &s.partnerships.row(l.partnership).partner_key,
        mold_key: &l.mold_key,
        status: &l.status,
        meta: &l.meta,
        field_data: &l.field_data,
        fields: &l.fields,
    }
}

/// The customer embedded in a transaction.
#[derive(Serialize)]
struct TransactionCustomer<'a> {
    key: &'a Text,
    email: &'a Option<Text>,
    external_key: &'a Option<Text>,
}

/// A transaction.
#[derive(Serialize)]
pub struct TransactionView<'a> {
    key: &'a Text,
    created_at: i64,
    updated_at: i64,
    amount: i64,
    amount_usd: i64,
    approved: bool,
    category_key: &'a Option<Text>,
    product_key: &'a Option<Text>,
    currency: &'a str,
    customer_key: &'a Text,
    customer: TransactionCustomer<'a>,
    #[serde(skip_serializing_if = "absent")]
    extension: &'a Opt<Arc<Value>>,
    metadata: &'a Option<JsonMap>,
    test: bool,
}

/// Renders a transaction.
pub fn transaction<'a>(s: &'a Store, t: &'a Transaction) -> TransactionView<'a> {
    let c = s.customers.row(t.customer);
    TransactionView {
        key: &t.key,
        created_at: t.created_at,
        updated_at: t.updated_at,
        amount: t.amount,
        amount_usd: t.amount_usd,
        approved: t.approved,
        category_key: &t.category_key,
        product_key: &t.product_key,
        currency: currency_str(&t.currency),
        customer_key: &c.key,
        customer: TransactionCustomer {
            key: &c.key,
            email: &c.email,
            external_key: &c.customer_key,
        },
        extension: &t.extension,
        metadata: &t.metadata,
        test: t.test,
    }
}

#[derive(Serialize)]
struct RewardAction<'a> {
    key: &'a Text,
    #[serde(rename = "type")]
    action_type: &'a Text,
    value: i64,
}

#[derive(Serialize)]
struct RewardCustomer<'a> {
    key: &'a Text,
    email: &'a Option<Text>,
    name: &'a Option<Text>,
    external_key: &'a Option<Text>,
}

#[derive(Serialize)]
struct GroupRef<'a> {
    key: &'a Text,
    name: &'a Text,
    slug: &'a Text,
}

#[derive(Serialize)]
struct RewardPartnership<'a> {
    key: &'a Text,
    name: Option<String>,
    email: &'a Text,
    group: GroupRef<'a>,
}

#[derive(Serialize)]
struct RewardTransaction<'a> {
    key: &'a Text,
    amount: i64,
    currency: &'a str,
}

#[derive(Serialize)]
struct TriggerRef<'a> {
    key: &'a Text,
}

/// A reward.
#[derive(Serialize)]
pub struct RewardView<'a> {
    key: &'a Text,
    created_at: i64,
    updated_at: i64,
    amount: i64,
    currency: &'a str,
    description: &'a Option<Text>,
    reward_status: &'static str,
    action: Option<RewardAction<'a>>,
    customer: Option<RewardCustomer<'a>>,
    invoice: Option<&'a Invoice>,
    offer: Option<&'a Offer>,
    partnership: Option<RewardPartnership<'a>>,
    transaction: Option<RewardTransaction<'a>>,
    #[serde(skip_serializing_if = "Opt::is_absent")]
    trigger: Opt<TriggerRef<'a>>,
}

/// Display name of a partnership (first and last name), if any.
pub fn partnership_name(p: &Partnership) -> Option<String> {
    match (p.first_name.as_option(), p.last_name.as_option()) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(f), None) => Some(f.to_string()),
        (None, Some(l)) => Some(l.to_string()),
        (None, None) => None,
    }
}

/// Renders a reward.
pub fn reward<'a>(s: &'a Store, r: &'a Reward) -> RewardView<'a> {
    RewardView {
        key: &r.key,
        created_at: r.created_at,
        updated_at: r.updated_at,
        amount: r.amount,
        currency: currency_str(&r.currency),
        description: &r.description,
        reward_status: r.reward_status,
        action: r.action.map(|a| {
            let a = s.actions.row(a);
            RewardAction {
                key: &a.key,
                action_type: &a.action_type,
                value: a.value,
            }
        }),
        customer: r.customer.map(|c| {
            let c = s.customers.row(c);
            RewardCustomer {
                key: &c.key,
                email: &c.email,
                name: &c.name,
                external_key: &c.customer_key,
            }
        }),
        invoice: r.invoice.as_deref(),
        offer: r.offer.map(|o| &s.catalog.offers[o]),
        partnership: r.partnership.map(|p| {
            let p = s.partnerships.row(p);
            let g = s.groups.row(p.group);
            RewardPartnership {
                key: &p.key,
                name: partnership_name(p),
                email: &p.email,
                group: GroupRef {
                    key: &g.key,
                    name: &g.name,
                    slug: &g.slug,
                },
            }
        }),
        transaction: r.transaction.map(|t| {
            let t = s.transactions.row(t);
            RewardTransaction {
                key: &t.key,
                amount: t.amount,
                currency: currency_str(&t.currency),
            }
        }),
        trigger: match r.trigger {
            Opt::Absent => Opt::Absent,
            Opt::Null => Opt::Null,
            Opt::Some(i) => Opt::Some(TriggerRef {
                key: &s.catalog.triggers[i],
            }),
        },
    }
}

#[derive(Serialize)]
struct ActionCustomer<'a> {
    key: &'a Text,
    sub_ids: [&'static str; 0],
}

#[derive(Serialize)]
struct CompanyRef<'a> {
    key: &'a Text,
    name: &'a Text,
}

/// An action.
#[derive(Serialize)]
pub struct ActionView<'a> {
    key: &'a Text,
    created_at: i64,
    updated_at: i64,
    #[serde(rename = "type")]
    action_type: &'a Text,
    value: i64,
    archived: bool,
    partnership_key: &'a Text,
    customer: Option<ActionCustomer<'a>>,
    company: CompanyRef<'a>,
    target_type: &'static str,
    target_key: &'a Text,
    #[serde(skip_serializing_if = "absent")]
    external_key: &'a Opt<Text>,
}

/// Renders an action.
pub fn action<'a>(s: &'a Store, a: &'a Action) -> ActionView<'a> {
    ActionView {
        key: &a.key,
        created_at: a.created_at,
        updated_at: a.updated_at,
        action_type: &a.action_type,
        value: a.value,
        archived: a.deleted,
        partnership_key: &s.partnerships.row(a.partnership).key,
        customer: a.customer.map(|c| ActionCustomer {
            key: &s.customers.row(c).key,
            sub_ids: [],
        }),
        company: CompanyRef {
            key: &s.catalog.company_key,
            name: &s.catalog.company_name,
        },
        target_type: a.target_type,
        target_key: &a.target_key,
        external_key: &a.external_key,
    }
}

/// A webhook subscription.
#[derive(Serialize)]
pub struct WebhookView<'a> {
    key: &'a Text,
    created_at: i64,
    updated_at: i64,
    target: &'a Text,
    events: &'a [Text],
}

/// Renders a webhook.
pub fn webhook(w: &Webhook) -> WebhookView<'_> {
    WebhookView {
        key: &w.key,
        created_at: w.created_at,
        updated_at: w.updated_at,
        target: &w.target,
        events: &w.events,
    }
}

/// A tracking link.
#[derive(Serialize)]
pub struct LinkView<'a> {
    key: &'a Text,
    dest: &'a Text,
    url: &'a Text,
}

/// Renders a link.
pub fn link(l: &Link) -> LinkView<'_> {
    LinkView {
        key: &l.key,
        dest: &l.dest,
        url: &l.url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Sizes, generate};
    use serde_json::json;
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
                .map(|(_, c)| serde_json::to_value(customer(&s, c)).unwrap())
                .collect(),
        );
        check(
            "partnerships",
            s.partnerships
                .iter()
                .map(|(_, p)| serde_json::to_value(partnership(&s, p)).unwrap())
                .collect(),
        );
        check(
            "transactions",
            s.transactions
                .iter()
                .map(|(_, t)| serde_json::to_value(transaction(&s, t)).unwrap())
                .collect(),
        );
        check(
            "rewards",
            s.rewards
                .iter()
                .map(|(_, r)| serde_json::to_value(reward(&s, r)).unwrap())
                .collect(),
        );
        check(
            "actions",
            s.actions
                .iter()
                .map(|(_, a)| serde_json::to_value(action(&s, a)).unwrap())
                .collect(),
        );
        check(
            "deals",
            s.deals
                .iter()
                .map(|(_, d)| serde_json::to_value(deal(&s, d)).unwrap())
                .collect(),
        );
        check(
            "leads",
            s.leads
                .iter()
                .map(|(_, l)| serde_json::to_value(lead(&s, l)).unwrap())
                .collect(),
        );
    }

    #[test]
    fn nested_objects_have_documented_shapes() {
        let s = generate(42, &Sizes::default());
        let (_, t) = s.transactions.iter().next().unwrap();
        let v = serde_json::to_value(transaction(&s, t)).unwrap();
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
        let v = serde_json::to_value(partnership(&s, p)).unwrap();
        assert!(v["stats"]["CUSTOMER_COUNT"].is_u64());
        assert!(v["group"]["slug"].is_string());
        assert!(v["tags"].is_array());
        assert_eq!(v["meta"], json!({}));
        let g = serde_json::to_value(group(s.groups.row(0))).unwrap();
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
