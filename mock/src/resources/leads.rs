//! Leads: prospects a partner submits.
//!
//! Here, in this order: the record, its generation, its JSON rendering, its list endpoint
//! and filters, its writes.

use crate::data::{
    COMPANIES, LEAD_STATUSES, ascii_alnum, person_name, shared_map, text, timestamps,
};
use crate::envelope::ApiError;
use crate::http::Response;
use crate::model::{JsonList, JsonMap, Opt, RowId, Text, impl_record};
use crate::render::absent;
use crate::resources::partnerships::Partnership;
use crate::rng::Rng;
use crate::routes::Ctx;
use crate::routes::lists::{ALL_DATES, Filters, respond};
use crate::routes::writes::{Object, bumped, fresh_key, group_by_key, opt_text, partner_by_key};
use crate::store::Store;
use crate::validate::{self, Body, required};
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;

// ---------------------------------------------------------------- Record

/// A lead (`lead_...`).
#[derive(Debug, Clone)]
pub struct Lead {
    /// `lead_...`
    pub key: Text,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// Cents or null.
    pub amount: Option<i64>,
    /// Approval or null.
    pub approved: Option<bool>,
    /// Often the lead's e-mail.
    pub external_key: Text,
    /// Row of the lead's group, or null.
    pub group: Option<RowId>,
    /// Row of the submitting partnership.
    pub partnership: RowId,
    /// Form mold; null or absent.
    pub mold_key: Opt<Text>,
    /// One of [`crate::data::LEAD_STATUSES`].
    pub status: Text,
    /// Form answers (contains first and last name).
    pub meta: JsonMap,
    /// Deprecated custom fields.
    pub field_data: JsonMap,
    /// Custom field objects.
    pub fields: JsonList,
    /// Archived.
    pub deleted: bool,
}

impl_record!(Lead);

// ---------------------------------------------------------------- Generation

/// Generates the leads from `seed` (deterministic: same seed, same rows).
pub(crate) fn generate(seed: u64, n: usize, partnerships: &[Partnership]) -> Vec<Lead> {
    let mut rng = Rng::derived(seed, "leads");
    let times = timestamps(&mut rng, n);
    let molds: Vec<Text> = (0..2).map(|_| text(rng.key("mold_"))).collect();
    (0..n)
        .map(|i| {
            let (created_at, updated_at) = times[i];
            let partnership = rng.below(partnerships.len() as u64) as RowId;
            let (first, last) = person_name(&mut rng);
            let local = ascii_alnum(first.as_deref().unwrap_or("lead"));
            let meta = shared_map(json!({
                "first_name": first,
                "last_name": last,
                "company": rng.pick(COMPANIES),
            }));
            Lead {
                key: text(rng.key("lead_")),
                created_at,
                updated_at,
                amount: rng.chance(0.7).then(|| rng.range(0, 2_000_000)),
                approved: match rng.below(5) {
                    0 | 1 => Some(true),
                    2 => Some(false),
                    _ => None,
                },
                external_key: text(format!("{local}.{i}@prospect.example.com")),
                group: (!rng.chance(0.15)).then_some(partnerships[partnership as usize].group),
                partnership,
                mold_key: match rng.below(20) {
                    0..=9 => Opt::Some(rng.pick(&molds).clone()),
                    10..=16 => Opt::Null,
                    _ => Opt::Absent,
                },
                status: text(rng.pick(LEAD_STATUSES)),
                field_data: meta.clone(),
                meta,
                fields: Arc::new(Vec::new()),
                deleted: false,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- Rendering

/// A lead.
#[derive(Serialize)]
pub struct LeadView<'a> {
    key: &'a Text,
    created_at: i64,
    updated_at: i64,
    amount: Option<i64>,
    approved: Option<bool>,
    external_key: &'a Text,
    group_key: Option<&'a Text>,
    partner_key: &'a Text,
    #[serde(skip_serializing_if = "absent")]
    mold_key: &'a Opt<Text>,
    status: &'a Text,
    meta: &'a JsonMap,
    field_data: &'a JsonMap,
    fields: &'a JsonList,
}

/// Renders a lead.
pub fn render<'a>(s: &'a Store, l: &'a Lead) -> LeadView<'a> {
    LeadView {
        key: &l.key,
        created_at: l.created_at,
        updated_at: l.updated_at,
        amount: l.amount,
        approved: l.approved,
        external_key: &l.external_key,
        group_key: l.group.map(|g| &s.groups.row(g).key),
        partner_key: &s.partnerships.row(l.partnership).partner_key,
        mold_key: &l.mold_key,
        status: &l.status,
        meta: &l.meta,
        field_data: &l.field_data,
        fields: &l.fields,
    }
}

// ---------------------------------------------------------------- Listing

/// `GET /api/v2/leads` with its filters.
pub(crate) fn list(ctx: &Ctx, s: &Store) -> Result<Response, ApiError> {
    let partner_key_of = |p: RowId| &*s.partnerships.row(p).partner_key;
    let slug_of = |g: RowId| &*s.groups.row(g).slug;
    let f = Filters::new(ctx)
        .on("partner_key", |l: &Lead, v| {
            partner_key_of(l.partnership) == v
        })
        .on("group", |l, v| {
            let g = l
                .group
                .unwrap_or_else(|| s.partnerships.row(l.partnership).group);
            slug_of(g) == v
        });
    respond(
        ctx,
        &s.leads,
        ALL_DATES,
        f.combined(),
        |l| render(s, l),
        "Retrieved leads successfully",
    )
}

// ---------------------------------------------------------------- Writes

/// Lead `meta` must carry the contact's first and last name (§4.6).
fn lead_meta(m: &Object) -> Result<(), ApiError> {
    for k in ["first_name", "last_name"] {
        if !m.contains_key(k) {
            return Err(required(k));
        }
    }
    Ok(())
}

/// `POST /api/v2/leads`: validates the body and inserts the new row.
pub(crate) fn create(s: &mut Store, b: Body, now: i64) -> Result<RowId, ApiError> {
    b.require(&["partner_key", "external_key", "status", "meta"])?;
    let partner_key = b.string("partner_key")?.unwrap_or_default();
    validate::length("partner_key", partner_key, 1, 255)?;
    let external_key = b.string("external_key")?.unwrap_or_default();
    validate::length("external_key", external_key, 1, 255)?;
    let status = b.string("status")?.unwrap_or_default();
    validate::one_of("status", status, LEAD_STATUSES)?;
    let meta = b.object("meta")?.cloned().unwrap_or_default();
    lead_meta(&meta)?;
    let amount = b.nullable_integer("amount")?.flatten();
    let approved = b.nullable_boolean("approved")?.flatten();
    let group_key = b.nullable_string("group_key")?.flatten();
    let mold_key = b.nullable_string("mold_key")?.flatten();
    let fields = b.nullable_array("fields")?.flatten();
    let field_data = b.nullable_object("field_data")?.flatten();
    let partnership = partner_by_key(s, partner_key)?;
    let group = match group_key {
        Some(g) => group_by_key(s, g)?,
        None => s.partnerships.row(partnership).group,
    };
    let key = fresh_key(s, "lead_", |s, k| s.leads.find(k).is_some());
    let meta = Arc::new(meta);
    let id = s.leads.insert(Lead {
        key,
        created_at: now,
        updated_at: now,
        amount,
        approved,
        external_key: text(external_key),
        group: Some(group),
        partnership,
        mold_key: Opt::from(opt_text(mold_key)),
        status: text(status),
        field_data: match field_data {
            Some(f) => Arc::new(f.clone()),
            None => meta.clone(),
        },
        meta,
        fields: Arc::new(fields.cloned().unwrap_or_default()),
        deleted: false,
    });
    Ok(id)
}

/// `PATCH /api/v2/leads/{id}`: validates the body and applies it to `row`.
pub(crate) fn update(s: &mut Store, row: RowId, b: Body, now: i64) -> Result<(), ApiError> {
    let partnership = b
        .string("partner_key")?
        .map(|k| partner_by_key(s, k))
        .transpose()?;
    let external_key = b.string("external_key")?;
    if let Some(e) = external_key {
        validate::length("external_key", e, 1, 255)?;
    }
    let status = b.string("status")?;
    if let Some(st) = status {
        validate::one_of("status", st, LEAD_STATUSES)?;
    }
    let meta = b.object("meta")?;
    if let Some(m) = meta {
        lead_meta(m)?;
    }
    let amount = b.nullable_integer("amount")?;
    let approved = b.nullable_boolean("approved")?;
    let group = match b.nullable_string("group_key")? {
        None => None,
        Some(None) => Some(None),
        Some(Some(g)) => Some(Some(group_by_key(s, g)?)),
    };
    let mold_key = b.nullable_string("mold_key")?;
    let fields = b.nullable_array("fields")?;
    let field_data = b.nullable_object("field_data")?;
    let l = s.leads.row_mut(row);
    if let Some(p) = partnership {
        l.partnership = p;
    }
    if let Some(v) = external_key {
        l.external_key = text(v);
    }
    if let Some(v) = status {
        l.status = text(v);
    }
    if let Some(m) = meta {
        l.meta = Arc::new(m.clone());
    }
    if let Some(v) = amount {
        l.amount = v;
    }
    if let Some(v) = approved {
        l.approved = v;
    }
    if let Some(g) = group {
        l.group = g;
    }
    if let Some(v) = mold_key {
        l.mold_key = Opt::from(opt_text(v));
    }
    if let Some(v) = fields {
        l.fields = Arc::new(v.cloned().unwrap_or_default());
    }
    if let Some(v) = field_data {
        l.field_data = Arc::new(v.cloned().unwrap_or_default());
    }
    l.updated_at = bumped(now, l.created_at, l.updated_at);
    Ok(())
}
