//! Groups (`grup_...`): partner groups, read-only through the API (list only).
//!
//! Here, in this order: the record, its generation, its JSON rendering, its list endpoint
//! and filters.

use crate::data::{GROUP_NAMES, slugify, text, timestamps};
use crate::envelope::ApiError;
use crate::http::Response;
use crate::model::{Text, impl_record};
use crate::rng::Rng;
use crate::routes::Ctx;
use crate::routes::lists::{ALL_DATES, respond};
use crate::store::Store;
use serde::Serialize;

// ---------------------------------------------------------------- Record

/// Feature switches of a group (reference §4.4).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Features {
    /// Partners may apply to the group.
    pub application_enabled: bool,
    /// Partners may submit deals.
    pub deals_enabled: bool,
    /// Partners may not create links.
    pub disable_link_create: bool,
    /// Partners may submit leads.
    pub leads_enabled: bool,
}

/// A partner group (`grup_...`); read-only through the API.
#[derive(Debug, Clone)]
pub struct Group {
    /// `grup_...`
    pub key: Text,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// Display name (may contain spaces and non-ASCII).
    pub name: Text,
    /// Name with spaces and special characters removed; what the `group` filter matches.
    pub slug: Text,
    /// The group new partnerships land in when no `group_key` is given.
    pub default: bool,
    /// Archived groups still appear in lists with `archived: true`.
    pub archived: bool,
    /// Feature switches.
    pub features: Features,
    /// Groups are never deleted through the API; kept for the [`Record`] contract.
    pub deleted: bool,
}

impl_record!(Group);

// ---------------------------------------------------------------- Generation

/// Generates the groups from `seed` (deterministic: same seed, same rows).
pub(crate) fn generate(seed: u64, n: usize) -> Vec<Group> {
    let mut rng = Rng::derived(seed, "groups");
    let times = timestamps(&mut rng, n);
    (0..n)
        .map(|i| {
            let name = match GROUP_NAMES.get(i) {
                Some(n) => (*n).to_string(),
                None => format!("Group {}", i + 1),
            };
            Group {
                key: text(rng.key("grup_")),
                created_at: times[i].0,
                updated_at: times[i].1,
                slug: text(slugify(&name)),
                name: text(name),
                default: i == 0,
                archived: i == 3,
                features: Features {
                    application_enabled: rng.chance(0.7),
                    deals_enabled: rng.chance(0.6),
                    disable_link_create: rng.chance(0.2),
                    leads_enabled: rng.chance(0.5),
                },
                deleted: false,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- Rendering

/// A group as listed and as embedded in partnerships.
#[derive(Serialize)]
pub struct GroupView<'a> {
    key: &'a Text,
    created_at: i64,
    updated_at: i64,
    name: &'a Text,
    slug: &'a Text,
    default: bool,
    archived: bool,
    features: &'a Features,
}

/// Renders a group.
pub fn render(g: &Group) -> GroupView<'_> {
    GroupView {
        key: &g.key,
        created_at: g.created_at,
        updated_at: g.updated_at,
        name: &g.name,
        slug: &g.slug,
        default: g.default,
        archived: g.archived,
        features: &g.features,
    }
}

// ---------------------------------------------------------------- Listing

/// `GET /api/v2/groups` (no filters).
pub(crate) fn list(ctx: &Ctx, s: &Store) -> Result<Response, ApiError> {
    respond(
        ctx,
        &s.groups,
        ALL_DATES,
        (None, String::new()),
        render,
        "Retrieved groups successfully",
    )
}
