//! The partner's customers (`GET /v2/customers` with a Bearer key): the people it referred,
//! across programs. Partner-only fields per §4.1: `archived`, `company{key,name}`,
//! `country_iso`, `has_paid`, `shared_id`, `sub_ids`; plus `email` and `name`.

use super::{Filter, Item, World, item};
use crate::data::{COUNTRIES, EMAIL_DOMAINS, FIRST_NAMES, timestamps};
use crate::rng::Rng;
use crate::routes::lists::{CREATED_ONLY, DateFilters};
use serde_json::json;

/// `company_key` selects one program's customers (the Partner rewards filter of §3, assumed
/// here too).
pub const FILTERS: &[Filter] = &[Filter::Nested("company_key", "company", "key")];
/// `min_created`/`max_created` (§3; Partner pages order customers by `created_at`).
pub const DATES: DateFilters = CREATED_ONLY;
/// `order_by=created_at` / `-created_at` on the Partner customers page (§2).
pub const ORDER_BY: &[&str] = &["created_at"];

/// Generates `n` customers spread over the partner's programs.
pub(crate) fn generate(seed: u64, n: usize, world: &World) -> Vec<Item> {
    let mut rng = Rng::derived(seed, "partner-customers");
    let times = timestamps(&mut rng, n);
    (0..n)
        .map(|i| {
            let (company, _) = world.membership(i);
            let first = *rng.pick(FIRST_NAMES);
            let (created, updated) = times[i];
            item(
                rng.key("cus_"),
                created,
                updated,
                json!({
                    "email": format!("{}{i}@{}", first.to_lowercase(), rng.pick(EMAIL_DOMAINS)),
                    "name": first,
                    "archived": i % 10 == 9,
                    "company": company.short(),
                    "country_iso": *rng.pick(COUNTRIES),
                    "has_paid": rng.chance(0.6),
                    "shared_id": format!("shared-{i}"),
                    "sub_ids": if rng.chance(0.3) { json!(["newsletter"]) } else { json!([]) },
                }),
            )
        })
        .collect()
}

/// `(key, company)` of a generated customer item, for the objects that point at it.
pub(crate) fn reference(c: &Item) -> serde_json::Value {
    json!({
        "key": c.key.as_ref(),
        "email": c.json["email"],
        "shared_id": c.json["shared_id"],
        "sub_ids": c.json["sub_ids"],
    })
}
