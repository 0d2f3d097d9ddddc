//! The partner's rewards (`GET /v2/rewards` with a Bearer key): commissions earned. Partner
//! fields per §4.8: `payment_status`, `payment_date`, `payout_id`, `withdrawn`,
//! `source{key,type}`, `company`, `decline_reason`, `created_by`, `creation_source`; filters
//! `company_key`, `payment_status` (Partner-side, §3) and `min_created`/`max_created`.

use super::{Filter, Item, World, customers, item};
use crate::data::{REWARD_DESCRIPTIONS, REWARD_STATUSES, timestamps};
use crate::rng::Rng;
use crate::routes::lists::{CREATED_ONLY, DateFilters};
use serde_json::{Value, json};

/// `company_key` (→ `company.key`), `payment_status`, and `status` (→ `reward_status`, the
/// vendor list's filter).
pub const FILTERS: &[Filter] = &[
    Filter::Nested("company_key", "company", "key"),
    Filter::Field("payment_status", "payment_status"),
    Filter::Field("status", "reward_status"),
];
/// `min_created`/`max_created` (§3).
pub const DATES: DateFilters = CREATED_ONLY;
/// `order_by`: `created_at`, and on Partner rewards also `amount` and `ready_at` (§2).
pub const ORDER_BY: &[&str] = &["created_at", "amount", "ready_at"];

/// Generates `n` rewards of `customers`; paid ones point at a payout.
pub(crate) fn generate(
    seed: u64,
    n: usize,
    world: &World,
    customers: &[Item],
    payouts: &[Item],
) -> Vec<Item> {
    let mut rng = Rng::derived(seed, "partner-rewards");
    let times = timestamps(&mut rng, n);
    (0..n)
        .map(|i| {
            let (company, _) = world.membership(i);
            let status = *rng.pick(REWARD_STATUSES);
            let paid = status == "paid" && !payouts.is_empty();
            let payout = paid.then(|| payouts[i % payouts.len()].key.to_string());
            let customer = (!customers.is_empty())
                .then(|| customers::reference(&customers[i % customers.len()]));
            let (created, updated) = times[i];
            item(
                rng.key("rwrd_"),
                created,
                updated,
                json!({
                    "amount": rng.range(100, 50_000),
                    "currency": "USD",
                    "description": *rng.pick(REWARD_DESCRIPTIONS),
                    "reward_status": status,
                    "payment_status": if paid { "paid" } else { "unpaid" },
                    "payment_date": if paid { Value::from(updated) } else { Value::Null },
                    "payout_id": payout,
                    "withdrawn": paid && rng.chance(0.5),
                    "source": {"key": rng.key("trig_"), "type": "transaction"},
                    "company": company.short(),
                    "customer": customer,
                    "decline_reason": if status == "declined" { Value::from("duplicate") } else { Value::Null },
                    "created_by": "system",
                    "creation_source": "api",
                }),
            )
        })
        .collect()
}
