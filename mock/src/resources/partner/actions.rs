//! Actions credited to the partner (`GET /v2/actions` with a Bearer key). Same shape as the
//! vendor's (§4.9); the Partner variant also filters by `customer_key` (§3).

use super::{Filter, Item, World, item};
use crate::data::{ACTION_TYPES, timestamps};
use crate::rng::Rng;
use crate::routes::lists::{ALL_DATES, DateFilters};
use serde_json::json;

/// `action_type`, `partnership_key` (§3) and the Partner variant's `customer_key`.
pub const FILTERS: &[Filter] = &[
    Filter::Field("action_type", "type"),
    Filter::Field("partnership_key", "partnership_key"),
    Filter::Nested("customer_key", "customer", "key"),
];
/// Both date filter pairs (§3).
pub const DATES: DateFilters = ALL_DATES;
/// `order_by=created_at` / `-created_at` on the Partner actions page (§2).
pub const ORDER_BY: &[&str] = &["created_at"];

/// Generates `n` actions of the partner's customers.
pub(crate) fn generate(seed: u64, n: usize, world: &World, customers: &[Item]) -> Vec<Item> {
    let mut rng = Rng::derived(seed, "partner-actions");
    let times = timestamps(&mut rng, n);
    (0..n)
        .map(|i| {
            let (company, partnership_key) = world.membership(i);
            let customer = (!customers.is_empty()).then(|| {
                let c = &customers[i % customers.len()];
                json!({"key": c.key.as_ref(), "sub_ids": c.json["sub_ids"]})
            });
            let (created, updated) = times[i];
            item(
                rng.key("act_"),
                created,
                updated,
                json!({
                    "type": *rng.pick(ACTION_TYPES),
                    "value": rng.range(1, 5),
                    "archived": false,
                    "partnership_key": partnership_key,
                    "customer": customer,
                    "company": company.short(),
                }),
            )
        })
        .collect()
}
