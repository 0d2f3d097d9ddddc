//! Payouts (`pay_...`): money PartnerStack sent the partner — Partner API only (§4.13).
//! `GET /v2/payouts`, filters `min_created`, `max_created` (and `order_by`, which the mock
//! ignores like an unknown parameter).

use super::{Filter, Item, item};
use crate::data::{DAY_MS, timestamps};
use crate::rng::Rng;
use crate::routes::lists::{CREATED_ONLY, DateFilters};
use serde_json::{Value, json};

/// No equality filters (§3).
pub const FILTERS: &[Filter] = &[];
/// `min_created`/`max_created` (§3).
pub const DATES: DateFilters = CREATED_ONLY;
/// `order_by` (§4.13); its values are field names (§2): `created_at`.
pub const ORDER_BY: &[&str] = &["created_at"];

/// Payout statuses generated (`successful` is the documented example).
const STATUSES: &[&str] = &[
    "successful",
    "successful",
    "successful",
    "pending",
    "failed",
];

/// Generates `n` payouts.
pub(crate) fn generate(seed: u64, n: usize) -> Vec<Item> {
    let mut rng = Rng::derived(seed, "partner-payouts");
    let times = timestamps(&mut rng, n);
    (0..n)
        .map(|i| {
            let (created, updated) = times[i];
            let status = *rng.pick(STATUSES);
            let sent = (status == "successful").then(|| created + DAY_MS);
            let provider = if rng.chance(0.7) {
                json!({"key": "stripe", "name": "Stripe"})
            } else {
                json!({"key": "paypal", "name": "PayPal"})
            };
            item(
                rng.key("pay_"),
                created,
                updated,
                json!({
                    "amount": rng.range(1_000, 500_000),
                    "currency": if rng.chance(0.8) { "USD" } else { "EUR" },
                    "provider": provider,
                    "sent_at": sent.map_or(Value::Null, Value::from),
                    "status": status,
                    "withdrawal_date": if rng.chance(0.8) { Value::from(created) } else { Value::Null },
                }),
            )
        })
        .collect()
}
