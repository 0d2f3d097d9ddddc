//! Links: the partner's tracking links across its programs, `GET /v2/links` — the flat list
//! is Partner API only (§4.11; 404 with vendor keys). The reference knows the vendor items'
//! `key`, `dest`, `url`; the rest of the Partner shape is not documented.

use super::{Filter, Item, World, item};
use crate::data::{DAY_MS, LINK_DESTINATIONS, REFERENCE_NOW_MS};
use crate::rng::Rng;
use crate::routes::lists::{DateFilters, NO_DATES};
use serde_json::json;

/// Paging only (§4.11).
pub const FILTERS: &[Filter] = &[];
/// No date filters.
pub const DATES: DateFilters = NO_DATES;
/// No `order_by` documented (§4.11): the parameter is ignored.
pub const ORDER_BY: &[&str] = &[];

/// `per_partnership` links for each program the partner joined.
pub(crate) fn generate(seed: u64, per_partnership: usize, world: &World) -> Vec<Item> {
    let mut rng = Rng::derived(seed, "partner-links");
    let mut out = Vec::new();
    for i in 0..world.joined.len() {
        let (company, partnership_key) = world.membership(i);
        for j in 0..per_partnership {
            let created = REFERENCE_NOW_MS - 1 - rng.below(300 * DAY_MS as u64) as i64;
            out.push(item(
                rng.key("link_"),
                created,
                created,
                json!({
                    "dest": *rng.pick(LINK_DESTINATIONS),
                    "url": format!("https://{}.partnerlinks.io/agency{j}", company.id),
                    "partnership_key": partnership_key,
                    "company": company.short(),
                }),
            ));
        }
    }
    out
}
