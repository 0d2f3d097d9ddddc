//! Links: a partnership's tracking links (`GET /links/partnership/{key}`).
//!
//! Here, in this order: the record, its generation, its JSON rendering, its list endpoint
//! and filters.

use crate::data::{DAY_MS, LINK_DESTINATIONS, data_now_ms, text};
use crate::envelope::ApiError;
use crate::http::Response;
use crate::model::{RowId, Text, impl_record};
use crate::resources::partnerships::Partnership;
use crate::rng::Rng;
use crate::routes::Ctx;
use crate::routes::lists::{NO_DATES, Pred, respond};
use crate::store::Store;
use serde::Serialize;

// ---------------------------------------------------------------- Record

/// A partnership's tracking link (`link_...`).
#[derive(Debug, Clone)]
pub struct Link {
    /// `link_...`
    pub key: Text,
    /// Not emitted; orders the cursor-paged list.
    pub created_at: i64,
    /// Not emitted.
    pub updated_at: i64,
    /// Row of the owning partnership.
    pub partnership: RowId,
    /// Destination URL.
    pub dest: Text,
    /// Tracking URL.
    pub url: Text,
    /// Never deleted through the API.
    pub deleted: bool,
}

impl_record!(Link);

// ---------------------------------------------------------------- Generation

/// Generates the links from `seed` (deterministic: same seed, same rows).
pub(crate) fn generate(
    seed: u64,
    per_partnership: usize,
    partnerships: &[Partnership],
) -> Vec<Link> {
    let mut rng = Rng::derived(seed, "links");
    let mut out = Vec::with_capacity(per_partnership * partnerships.len());
    for (p, part) in partnerships.iter().enumerate() {
        for j in 0..per_partnership {
            let created_at =
                (part.created_at + rng.below(30 * DAY_MS as u64) as i64).min(data_now_ms());
            let suffix = if j == 0 {
                String::new()
            } else {
                format!("-{j}")
            };
            out.push(Link {
                key: text(rng.key("link_")),
                created_at,
                updated_at: created_at,
                partnership: p as RowId,
                dest: text(rng.pick(LINK_DESTINATIONS)),
                url: text(format!(
                    "https://mockvendor.partnerlinks.io/{}{suffix}",
                    part.partner_key
                )),
                deleted: false,
            });
        }
    }
    out
}

// ---------------------------------------------------------------- Rendering

/// A tracking link.
#[derive(Serialize)]
pub struct LinkView<'a> {
    key: &'a Text,
    dest: &'a Text,
    url: &'a Text,
}

/// Renders a link.
pub fn render(l: &Link) -> LinkView<'_> {
    LinkView {
        key: &l.key,
        dest: &l.dest,
        url: &l.url,
    }
}

// ---------------------------------------------------------------- Listing

/// `GET /api/v2/links/partnership/{partnership_key}`.
pub(crate) fn list(ctx: &Ctx, s: &Store, id: &str) -> Result<Response, ApiError> {
    let p = s
        .find_partnership(id)
        .ok_or_else(|| ApiError::not_found("partnership not found"))?;
    let pred: Pred<'_, Link> = Box::new(move |l| l.partnership == p);
    respond(
        ctx,
        &s.links,
        NO_DATES,
        (Some(pred), format!("partnership={p}")),
        render,
        "Page returned successfully",
    )
}
