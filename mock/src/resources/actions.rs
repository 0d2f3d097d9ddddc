//! Actions: tracked customer events; deleting one archives the rewards it earned.
//!
//! Here, in this order: the record, its generation, its JSON rendering, its list endpoint
//! and filters, its writes.

use crate::data::{ACTION_TYPES, text, timestamps};
use crate::envelope::ApiError;
use crate::http::Response;
use crate::model::{Opt, RowId, Text, impl_record};
use crate::render::absent;
use crate::resources::customers::Customer;
use crate::resources::partnerships::Partnership;
use crate::rng::Rng;
use crate::routes::Ctx;
use crate::routes::lists::{ALL_DATES, Filters, OrderBy, respond_ordered};
use crate::routes::writes::{fresh_key, opt_text, type_null};
use crate::store::Store;
use crate::validate::{self, Body};
use serde::Serialize;
use serde_json::Value;

// ---------------------------------------------------------------- Record

/// A tracked action (`act_...`).
#[derive(Debug, Clone)]
pub struct Action {
    /// `act_...`
    pub key: Text,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// Action name; what the `action_type` filter matches.
    pub action_type: Text,
    /// Times performed (≥ 1).
    pub value: i64,
    /// Row of the partnership credited.
    pub partnership: RowId,
    /// Row of the customer, for customer targets.
    pub customer: Option<RowId>,
    /// `customer` or `partnership`.
    pub target_type: &'static str,
    /// Key the client targeted.
    pub target_key: Text,
    /// Client id; null or absent.
    pub external_key: Opt<Text>,
    /// Archived.
    pub deleted: bool,
}

impl_record!(Action);

// ---------------------------------------------------------------- Generation

/// Generates the actions from `seed` (deterministic: same seed, same rows).
pub(crate) fn generate(
    seed: u64,
    n: usize,
    partnerships: &[Partnership],
    customers: &[Customer],
) -> Vec<Action> {
    let mut rng = Rng::derived(seed, "actions");
    let times = timestamps(&mut rng, n);
    (0..n)
        .map(|i| {
            let (created_at, updated_at) = times[i];
            let (partnership, customer, target_type, target_key) =
                if !customers.is_empty() && rng.chance(0.7) {
                    let c = rng.below(customers.len() as u64) as RowId;
                    let cust = &customers[c as usize];
                    (cust.partnership, Some(c), "customer", cust.key.clone())
                } else {
                    let p = rng.below(partnerships.len() as u64) as RowId;
                    (
                        p,
                        None,
                        "partnership",
                        partnerships[p as usize].partner_key.clone(),
                    )
                };
            Action {
                key: text(rng.key("act_")),
                created_at,
                updated_at,
                action_type: text(rng.pick(ACTION_TYPES)),
                value: if rng.chance(0.8) { 1 } else { rng.range(2, 5) },
                partnership,
                customer,
                target_type,
                target_key,
                external_key: match rng.below(5) {
                    0 | 1 => Opt::Some(text(format!("evt_{}", 50_000 + i))),
                    2 | 3 => Opt::Null,
                    _ => Opt::Absent,
                },
                deleted: false,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- Rendering

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
pub fn render<'a>(s: &'a Store, a: &'a Action) -> ActionView<'a> {
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

// ---------------------------------------------------------------- Listing

/// `order_by` takes `created_at` / `-created_at` on actions (§2, §3, SDK).
pub const ORDER_BY: &[&str] = &["created_at"];

/// `GET /api/v2/actions` with its filters and `order_by`.
pub(crate) fn list(ctx: &Ctx, s: &Store) -> Result<Response, ApiError> {
    let f = Filters::new(ctx)
        .on("partnership_key", |a: &Action, v| {
            &*s.partnerships.row(a.partnership).key == v
        })
        .on("action_type", |a, v| &*a.action_type == v);
    respond_ordered(
        ctx,
        &s.actions,
        ALL_DATES,
        OrderBy {
            fields: ORDER_BY,
            value: &|_, _| None,
        },
        f.combined(),
        |a| render(s, a),
        "Actions retrieved successfully",
    )
}

// ---------------------------------------------------------------- Writes

/// Action `value` upper bound (no documented maximum; keeps arithmetic sane).
const MAX_ACTION_VALUE: i64 = 1_000_000;

/// `POST /api/v2/actions`: validates the body and inserts the new row.
pub(crate) fn create(s: &mut Store, b: Body, now: i64) -> Result<RowId, ApiError> {
    b.require(&["target_type", "target_key", "type", "value"])?;
    let target_type = b.string("target_type")?.unwrap_or_default();
    validate::one_of("target_type", target_type, &["customer", "partnership"])?;
    let target_key = b.string("target_key")?.unwrap_or_default();
    let action_type = b.string("type")?.unwrap_or_default();
    validate::length("type", action_type, 1, 255)?;
    let value = match b.get("value") {
        Some(Value::Null) => return Err(type_null("value", "integer")),
        _ => b.integer("value")?.unwrap_or_default(),
    };
    validate::int_range("value", value, 1, MAX_ACTION_VALUE)?;
    let external_key = b.nullable_string("external_key")?.flatten();
    let (partnership, customer, target_type) = if target_type == "customer" {
        let c = s
            .find_customer(target_key)
            .ok_or_else(|| ApiError::not_found("customer not found"))?;
        (s.customers.row(c).partnership, Some(c), "customer")
    } else {
        let p = s
            .partner_keys
            .get(target_key)
            .copied()
            .or_else(|| s.partnerships.find_live(target_key))
            .ok_or_else(|| ApiError::not_found("partnership not found"))?;
        (p, None, "partnership")
    };
    let key = fresh_key(s, "act_", |s, k| s.actions.find(k).is_some());
    let id = s.actions.insert(Action {
        key,
        created_at: now,
        updated_at: now,
        action_type: text(action_type),
        value,
        partnership,
        customer,
        target_type,
        target_key: text(target_key),
        external_key: Opt::from(opt_text(external_key)),
        deleted: false,
    });
    Ok(id)
}

/// Soft delete. Archiving an action also archives the rewards it created (§4.9).
pub(crate) fn delete(s: &mut Store, row: RowId) {
    s.actions.delete(row);
    let earned: Vec<RowId> = s
        .rewards
        .live()
        .filter(|(_, rw)| rw.action == Some(row))
        .map(|(i, _)| i)
        .collect();
    for i in earned {
        s.rewards.delete(i);
    }
}
