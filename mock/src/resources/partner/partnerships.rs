//! The partner's partnerships: one per program it joined (`GET /v2/partnerships` with a
//! Bearer key). Partner-only fields per §4.2: `claimed`, `company{key,name,id}`,
//! `has_sub_id`, `is_archived`, `offers[]`, `status`, `link`. Filters per §6 #16
//! (`order_by`, `has_sub_id`, `include_offers`, `include_archived`): none the mock filters on.

use super::{Filter, Item, World, item};
use crate::data::timestamps;
use crate::rng::Rng;
use crate::routes::lists::{DateFilters, NO_DATES};
use serde_json::json;

/// None of the documented parameters selects by a value the mock stores.
pub const FILTERS: &[Filter] = &[];
/// No date filters documented for the Partner variant.
pub const DATES: DateFilters = NO_DATES;
/// `order_by`: `created_at` and `updated_at` (§2, §6 #16).
pub const ORDER_BY: &[&str] = &["created_at", "updated_at"];

/// One partnership per membership of the world.
pub(crate) fn generate(seed: u64, world: &World) -> Vec<Item> {
    let mut rng = Rng::derived(seed, "partner-partnerships");
    let times = timestamps(&mut rng, world.joined.len());
    (0..world.joined.len())
        .map(|i| {
            let (company, key) = world.membership(i);
            let (created, updated) = times[i];
            item(
                key.to_string(),
                created,
                updated,
                json!({
                    "claimed": true,
                    "company": {"key": company.key, "name": company.name, "id": company.id},
                    "has_sub_id": rng.chance(0.5),
                    "is_archived": i == 3,
                    "offers": [{"key": rng.key("offr_"), "description": "20% recurring commission"}],
                    "status": if i == 3 { "archived" } else { "active" },
                    "link": {"url": format!("https://{}.partnerlinks.io/agency", company.id)},
                }),
            )
        })
        .collect()
}
