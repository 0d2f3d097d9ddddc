//! The partner's transactions (`GET /v2/transactions` with a Bearer key): purchases of the
//! customers it referred. The vendor fields plus the Partner-only `archived`, `company`,
//! `partnership_key`, `customer.shared_id/sub_ids` (§4.7).

use super::{Filter, Item, World, customers, item};
use crate::data::{timestamps, to_usd_cents, weighted_currency};
use crate::rng::Rng;
use crate::routes::lists::{CREATED_ONLY, DateFilters};
use serde_json::json;

/// No equality filters documented (§3: `order_by`, which the mock ignores).
pub const FILTERS: &[Filter] = &[];
/// `min_created`/`max_created` (§3).
pub const DATES: DateFilters = CREATED_ONLY;
/// `order_by=created_at` / `-created_at` on the Partner transactions page (§2).
pub const ORDER_BY: &[&str] = &["created_at"];

/// Generates `n` transactions of `customers` (none without customers).
pub(crate) fn generate(seed: u64, n: usize, world: &World, customers: &[Item]) -> Vec<Item> {
    if customers.is_empty() {
        return Vec::new();
    }
    let mut rng = Rng::derived(seed, "partner-transactions");
    let times = timestamps(&mut rng, n);
    (0..n)
        .map(|i| {
            let c = i % customers.len();
            let (company, partnership_key) = world.membership(c);
            let currency = weighted_currency(&mut rng);
            let amount = if rng.chance(0.05) {
                -rng.range(100, 10_000)
            } else {
                rng.range(0, 200_000)
            };
            let (created, updated) = times[i];
            item(
                rng.key("txn_"),
                created,
                updated,
                json!({
                    "amount": amount,
                    "amount_usd": to_usd_cents(amount, currency),
                    "currency": currency,
                    "approved": rng.chance(0.7),
                    "archived": false,
                    "company": company.short(),
                    "partnership_key": partnership_key,
                    "customer": customers::reference(&customers[c]),
                }),
            )
        })
        .collect()
}
