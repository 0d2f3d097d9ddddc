//! Marketplace programs (`co_...`): the programs a partner can join — Partner API only
//! (§4.14). `GET /v2/marketplace/programs` (filters `category`, `min_created`,
//! `max_created`) and `GET /v2/marketplace/programs/{company_key}`.

use super::{Filter, Item, World, item};
use crate::data::{COUNTRIES, timestamps};
use crate::rng::Rng;
use crate::routes::lists::{CREATED_ONLY, DateFilters};
use serde_json::{Value, json};

/// `category=X` keeps the programs whose `category` array holds X.
pub const FILTERS: &[Filter] = &[Filter::Contains("category", "category")];
/// `min_created`/`max_created` (§3).
pub const DATES: DateFilters = CREATED_ONLY;
/// No `order_by` documented (§4.14): the parameter is ignored.
pub const ORDER_BY: &[&str] = &[];

/// Category names of generated programs (with a space and non-ASCII, for the query string).
pub const CATEGORIES: &[&str] = &[
    "SaaS",
    "Fintech",
    "E-commerce",
    "Marketing",
    "Sécurité & IT",
];

/// One program per company of the world.
pub(crate) fn generate(seed: u64, world: &World) -> Vec<Item> {
    let mut rng = Rng::derived(seed, "partner-programs");
    let times = timestamps(&mut rng, world.programs.len());
    world
        .programs
        .iter()
        .zip(times)
        .map(|(c, (created, _))| {
            let first = *rng.pick(CATEGORIES);
            let mut category = vec![first];
            let second = *rng.pick(CATEGORIES);
            if second != first && rng.chance(0.5) {
                category.push(second);
            }
            let has_sub_id = rng.chance(0.5);
            // §4.14 lists no updated_at; created_at only.
            let mut it = item(
                c.key.clone(),
                created,
                created,
                json!({
                    "id": c.id,
                    "name": c.name,
                    "description": if rng.chance(0.8) { Value::from(format!("Partner program of {}", c.name)) } else { Value::Null },
                    "category": category,
                    "country": *rng.pick(COUNTRIES),
                    "has_sub_id": has_sub_id,
                    "logo": format!("file_{}", c.id),
                    "website": format!("https://www.example.com/{}", c.id),
                    "offers": [{"base_rate": "20%", "currency": "USD", "description": "20% recurring", "type_": "percent"}],
                    "promotions": [],
                }),
            );
            std::sync::Arc::make_mut(&mut it.json).remove("updated_at");
            it
        })
        .collect()
}
