//! Rewards: commissions for partners, with their offer, invoice and trigger (list, create).
//!
//! Here, in this order: the record, its generation, its JSON rendering, its list endpoint
//! and filters, its writes.

use crate::data::{
    DAY_MS, INVOICE_STATUSES, REWARD_DESCRIPTIONS, currency_bytes, data_now_ms, text, timestamps,
};
use crate::envelope::ApiError;
use crate::http::Response;
use crate::model::{Opt, RowId, Text, currency_str, impl_record};
use crate::resources::actions::Action;
use crate::resources::customers::Customer;
use crate::resources::partnerships::Partnership;
use crate::resources::transactions::Transaction;
use crate::rng::Rng;
use crate::routes::Ctx;
use crate::routes::lists::{CREATED_ONLY, Filters, OrderBy, respond_ordered};
use crate::routes::writes::{fresh_key, opt_text, type_null};
use crate::store::{Catalog, Store};
use crate::validate::{self, Body};
use serde::Serialize;
use serde_json::Value;

// ---------------------------------------------------------------- Record

/// An invoice embedded in a reward.
#[derive(Debug, Clone, Serialize)]
pub struct Invoice {
    /// `inv_...`; what the `invoice_key` filter matches.
    pub key: Text,
    /// One of the invoice statuses of reference §4.8.
    pub status: &'static str,
    /// Epoch ms or null.
    pub payment_date: Option<i64>,
}

/// An offer embedded in rewards.
#[derive(Debug, Clone, Serialize)]
pub struct Offer {
    /// `offr_...`
    pub key: Text,
    /// Human description.
    pub description: Text,
}

/// A reward (`rwrd_...`).
#[derive(Debug, Clone)]
pub struct Reward {
    /// `rwrd_...`
    pub key: Text,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// Cents.
    pub amount: i64,
    /// Upper-case ISO 4217 code.
    pub currency: [u8; 3],
    /// Description or null.
    pub description: Option<Text>,
    /// `reward_status`; what the `status` filter matches.
    pub reward_status: &'static str,
    /// Row of the action that earned it.
    pub action: Option<RowId>,
    /// Row of the customer.
    pub customer: Option<RowId>,
    /// Invoice.
    pub invoice: Option<Box<Invoice>>,
    /// Index into [`crate::store::Catalog::offers`].
    pub offer: Option<usize>,
    /// Row of the partnership.
    pub partnership: Option<RowId>,
    /// Row of the transaction that earned it.
    pub transaction: Option<RowId>,
    /// Index into [`crate::store::Catalog::triggers`]; null or absent.
    pub trigger: Opt<usize>,
    /// Hidden (its action was archived).
    pub deleted: bool,
}

impl_record!(Reward);

// ---------------------------------------------------------------- Generation

/// Generates the rewards from `seed` (deterministic: same seed, same rows).
pub(crate) fn generate(
    seed: u64,
    n: usize,
    partnerships: &[Partnership],
    customers: &[Customer],
    transactions: &[Transaction],
    actions: &[Action],
    catalog: &Catalog,
) -> Vec<Reward> {
    let mut rng = Rng::derived(seed, "rewards");
    let times = timestamps(&mut rng, n);
    let status_weights: &[(&str, u64)] = &[
        ("hold", 10),
        ("pending", 25),
        ("approved", 25),
        ("declined", 8),
        ("paid", 30),
        ("scheduled", 2),
    ];
    (0..n)
        .map(|i| {
            let (created_at, updated_at) = times[i];
            let roll = rng.below(100);
            let (amount, customer, partnership, transaction, action) =
                if roll < 60 && !transactions.is_empty() {
                    let t = rng.below(transactions.len() as u64) as RowId;
                    let tx = &transactions[t as usize];
                    let c = tx.customer;
                    (
                        tx.amount_usd / 5,
                        Some(c),
                        Some(customers[c as usize].partnership),
                        Some(t),
                        None,
                    )
                } else if roll < 85 && !actions.is_empty() {
                    let a = rng.below(actions.len() as u64) as RowId;
                    let act = &actions[a as usize];
                    (
                        rng.range(500, 5000) * act.value,
                        act.customer,
                        Some(act.partnership),
                        None,
                        Some(a),
                    )
                } else {
                    (
                        rng.range(1000, 20_000),
                        None,
                        Some(rng.below(partnerships.len() as u64) as RowId),
                        None,
                        None,
                    )
                };
            let reward_status = {
                let mut r = rng.below(100);
                let mut chosen = "pending";
                for (s, w) in status_weights {
                    if r < *w {
                        chosen = s;
                        break;
                    }
                    r -= w;
                }
                chosen
            };
            let invoice =
                (matches!(reward_status, "approved" | "paid") && rng.chance(0.6)).then(|| {
                    let status = if reward_status == "paid" && rng.chance(0.8) {
                        "charge_succeeded"
                    } else {
                        *rng.pick(INVOICE_STATUSES)
                    };
                    Box::new(Invoice {
                        key: text(rng.key("inv_")),
                        status,
                        payment_date: (status == "charge_succeeded")
                            .then(|| (created_at + rng.range(1, 40) * DAY_MS).min(data_now_ms())),
                    })
                });
            Reward {
                key: text(rng.key("rwrd_")),
                created_at,
                updated_at,
                amount,
                currency: currency_bytes(if rng.chance(0.05) { "EUR" } else { "USD" }),
                description: rng.chance(0.8).then(|| text(rng.pick(REWARD_DESCRIPTIONS))),
                reward_status,
                action,
                customer,
                invoice,
                offer: rng
                    .chance(0.7)
                    .then(|| rng.below(catalog.offers.len() as u64) as usize),
                partnership,
                transaction,
                trigger: match rng.below(20) {
                    0..=2 => Opt::Absent,
                    3..=7 => Opt::Null,
                    _ => Opt::Some(rng.below(catalog.triggers.len() as u64) as usize),
                },
                deleted: false,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- Rendering

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
pub fn render<'a>(s: &'a Store, r: &'a Reward) -> RewardView<'a> {
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

// ---------------------------------------------------------------- Listing

/// `order_by` takes `created_at` / `-created_at` on rewards (§2, §3).
pub const ORDER_BY: &[&str] = &["created_at"];

/// `GET /api/v2/rewards` with its filters and `order_by`.
pub(crate) fn list(ctx: &Ctx, s: &Store) -> Result<Response, ApiError> {
    let f = Filters::new(ctx)
        .on("status", |r: &Reward, v| r.reward_status == v)
        .on("group_key", |r, v| {
            r.partnership
                .is_some_and(|p| &*s.groups.row(s.partnerships.row(p).group).key == v)
        })
        .on("customer_key", |r, v| {
            r.customer.is_some_and(|c| &*s.customers.row(c).key == v)
        })
        .on("invoice_key", |r, v| {
            r.invoice.as_ref().is_some_and(|i| &*i.key == v)
        });
    respond_ordered(
        ctx,
        &s.rewards,
        CREATED_ONLY,
        OrderBy {
            fields: ORDER_BY,
            value: &|_, _| None,
        },
        f.combined(),
        |r| render(s, r),
        "Rewards page returned successfully",
    )
}

// ---------------------------------------------------------------- Writes

/// Reward `amount` bound in cents (§1.6).
const MAX_REWARD_AMOUNT: i64 = 100_000_000;

/// `POST /api/v2/rewards`: validates the body and inserts the new row.
pub(crate) fn create(s: &mut Store, b: Body, now: i64) -> Result<RowId, ApiError> {
    b.require(&["amount", "target"])?;
    let amount = match b.get("amount") {
        Some(Value::Null) => return Err(type_null("amount", "integer")),
        _ => b.integer("amount")?.unwrap_or_default(),
    };
    validate::int_range("amount", amount, -MAX_REWARD_AMOUNT, MAX_REWARD_AMOUNT)?;
    let description = b.nullable_string("description")?.flatten();
    let target = match b.get("target") {
        Some(Value::Null) => return Err(type_null("target", "object")),
        _ => b.object("target")?.cloned().unwrap_or_default(),
    };
    let t = Body::new(&target);
    t.require(&["key", "type"])?;
    let target_key = t.string("key")?.unwrap_or_default();
    let target_type = t.string("type")?.unwrap_or_default();
    validate::one_of("type", target_type, &["customer", "transaction"])?;
    let (customer, transaction, currency) = if target_type == "customer" {
        let c = s
            .find_customer(target_key)
            .ok_or_else(|| ApiError::not_found("customer not found"))?;
        (c, None, *b"USD")
    } else {
        let tx = s
            .transactions
            .find_live(target_key)
            .ok_or_else(|| ApiError::not_found("transaction not found"))?;
        let row = s.transactions.row(tx);
        (row.customer, Some(tx), row.currency)
    };
    let partnership = s.customers.row(customer).partnership;
    let key = fresh_key(s, "rwrd_", |s, k| s.rewards.find(k).is_some());
    let id = s.rewards.insert(Reward {
        key,
        created_at: now,
        updated_at: now,
        amount,
        currency,
        description: opt_text(description),
        reward_status: "pending",
        action: None,
        customer: Some(customer),
        invoice: None,
        offer: None,
        partnership: Some(partnership),
        transaction,
        trigger: Opt::Null,
        deleted: false,
    });
    Ok(id)
}
