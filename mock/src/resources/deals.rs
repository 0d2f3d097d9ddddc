//! Deals: sales opportunities a partner or the vendor registers.
//!
//! Here, in this order: the record, its generation, its JSON rendering, its list endpoint
//! and filters, its writes.

use crate::data::{
    COMPANIES, DAY_MS, DEAL_STAGES, FIRST_NAMES, LAST_NAMES, LOST_REASONS, person_name, shared_map,
    text, timestamps, ymd,
};
use crate::envelope::ApiError;
use crate::http::Response;
use crate::model::{JsonList, JsonMap, Opt, RowId, Text, impl_record};
use crate::render::absent;
use crate::resources::groups::Group;
use crate::resources::partnerships::Partnership;
use crate::rng::Rng;
use crate::routes::Ctx;
use crate::routes::lists::{ALL_DATES, Filters, respond};
use crate::routes::writes::{
    Object, bumped, fresh_key, group_by_key, opt_text, partner_by_key, type_null,
};
use crate::store::Store;
use crate::validate::{self, Body, py_repr, required};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

// ---------------------------------------------------------------- Record

/// A deal (`deal_...`).
#[derive(Debug, Clone)]
pub struct Deal {
    /// `deal_...`
    pub key: Text,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// Account (company) name.
    pub account_name: Text,
    /// Cents.
    pub amount: i64,
    /// `YYYY-MM-DD`.
    pub close_date: Text,
    /// Contact first name.
    pub contact_first_name: Option<Text>,
    /// Contact last name.
    pub contact_last_name: Option<Text>,
    /// CRM id.
    pub external_key: Option<Text>,
    /// Row of the deal's group.
    pub group: RowId,
    /// Row of the owning partnership (null for vendor-sourced deals).
    pub partnership: Option<RowId>,
    /// Why the deal was lost.
    pub lost_reason: Option<Text>,
    /// Form mold.
    pub mold_key: Option<Text>,
    /// `partner` or `vendor`.
    pub source: Text,
    /// Pipeline stage.
    pub stage: Option<Text>,
    /// Custom field objects.
    pub fields: JsonList,
    /// Deprecated custom fields.
    pub field_data: JsonMap,
    /// Custom data.
    pub meta: JsonMap,
    /// Partner team object or null.
    pub team: Opt<Arc<Value>>,
    /// Team member object, null, or absent.
    pub team_member: Opt<Arc<Value>>,
    /// Not emitted; what the `customer_key` filter matches.
    pub customer: Option<RowId>,
    /// Archived.
    pub deleted: bool,
}

impl_record!(Deal);

// ---------------------------------------------------------------- Generation

fn team_value(p: &Partnership) -> Arc<Value> {
    Arc::new(json!({
        "key": p.team.key.as_ref(),
        "name": p.team.name.as_ref(),
        "created_at": p.team.created_at,
        "updated_at": p.team.updated_at,
    }))
}

/// Generates the deals from `seed` (deterministic: same seed, same rows).
pub(crate) fn generate(
    seed: u64,
    n: usize,
    partnerships: &[Partnership],
    groups: &[Group],
    customers: usize,
) -> Vec<Deal> {
    let mut rng = Rng::derived(seed, "deals");
    let times = timestamps(&mut rng, n);
    let molds: Vec<Text> = (0..3).map(|_| text(rng.key("mold_"))).collect();
    (0..n)
        .map(|i| {
            let (created_at, updated_at) = times[i];
            let vendor = rng.chance(0.15);
            let (partnership, group) = if vendor {
                (None, rng.below(groups.len() as u64) as RowId)
            } else {
                let p = rng.below(partnerships.len() as u64) as RowId;
                (Some(p), partnerships[p as usize].group)
            };
            let stage = (!rng.chance(0.1)).then(|| *rng.pick(DEAL_STAGES));
            let team = match partnership {
                Some(p) if rng.chance(0.6) => Opt::Some(team_value(&partnerships[p as usize])),
                _ => Opt::Null,
            };
            let team_member = match rng.below(5) {
                0 => Opt::Absent,
                1 | 2 => Opt::Null,
                _ => {
                    let (f, l) = person_name(&mut rng);
                    Opt::Some(Arc::new(json!({
                        "key": rng.key("stck_"),
                        "email": format!("rep{}@partners.example.com", rng.below(50)),
                        "first_name": f,
                        "last_name": l,
                        "created_at": created_at,
                        "updated_at": created_at,
                    })))
                }
            };
            let meta = if rng.chance(0.3) {
                shared_map(json!({"region": rng.pick(&["EMEA", "NA", "APAC", "LATAM"])}))
            } else {
                Arc::new(Map::new())
            };
            Deal {
                key: text(rng.key("deal_")),
                created_at,
                updated_at,
                account_name: text(rng.pick(COMPANIES)),
                amount: if rng.chance(0.05) {
                    0
                } else {
                    rng.range(10_000, 5_000_000)
                },
                close_date: text(ymd(created_at + rng.range(0, 120) * DAY_MS)),
                contact_first_name: (!rng.chance(0.1)).then(|| text(rng.pick(FIRST_NAMES))),
                contact_last_name: (!rng.chance(0.1)).then(|| text(rng.pick(LAST_NAMES))),
                external_key: rng
                    .chance(0.7)
                    .then(|| text(format!("crm-opp-{}", 10_000 + i))),
                group,
                partnership,
                lost_reason: (stage == Some("closed_lost")).then(|| text(rng.pick(LOST_REASONS))),
                mold_key: rng.chance(0.5).then(|| rng.pick(&molds).clone()),
                source: text(if vendor { "vendor" } else { "partner" }),
                stage: stage.map(text),
                fields: Arc::new(Vec::new()),
                field_data: Arc::new(Map::new()),
                meta,
                team,
                team_member,
                customer: (customers > 0 && rng.chance(0.4))
                    .then(|| rng.below(customers as u64) as RowId),
                deleted: false,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- Rendering

/// A deal.
#[derive(Serialize)]
pub struct DealView<'a> {
    key: &'a Text,
    created_at: i64,
    updated_at: i64,
    account_name: &'a Text,
    amount: i64,
    close_date: &'a Text,
    contact_first_name: &'a Option<Text>,
    contact_last_name: &'a Option<Text>,
    external_key: &'a Option<Text>,
    group_key: &'a Text,
    partner_key: Option<&'a Text>,
    lost_reason: &'a Option<Text>,
    mold_key: &'a Option<Text>,
    source: &'a Text,
    stage: &'a Option<Text>,
    fields: &'a JsonList,
    field_data: &'a JsonMap,
    meta: &'a JsonMap,
    team: &'a Opt<Arc<Value>>,
    #[serde(skip_serializing_if = "absent")]
    team_member: &'a Opt<Arc<Value>>,
}

/// Renders a deal.
pub fn render<'a>(s: &'a Store, d: &'a Deal) -> DealView<'a> {
    DealView {
        key: &d.key,
        created_at: d.created_at,
        updated_at: d.updated_at,
        account_name: &d.account_name,
        amount: d.amount,
        close_date: &d.close_date,
        contact_first_name: &d.contact_first_name,
        contact_last_name: &d.contact_last_name,
        external_key: &d.external_key,
        group_key: &s.groups.row(d.group).key,
        partner_key: d.partnership.map(|p| &s.partnerships.row(p).partner_key),
        lost_reason: &d.lost_reason,
        mold_key: &d.mold_key,
        source: &d.source,
        stage: &d.stage,
        fields: &d.fields,
        field_data: &d.field_data,
        meta: &d.meta,
        team: &d.team,
        team_member: &d.team_member,
    }
}

// ---------------------------------------------------------------- Listing

/// `GET /api/v2/deals` with its filters.
pub(crate) fn list(ctx: &Ctx, s: &Store) -> Result<Response, ApiError> {
    let partner_key_of = |p: RowId| &*s.partnerships.row(p).partner_key;
    let slug_of = |g: RowId| &*s.groups.row(g).slug;
    let f = Filters::new(ctx)
        .on("partner_key", |d: &Deal, v| {
            d.partnership.is_some_and(|p| partner_key_of(p) == v)
        })
        .on("group", |d, v| slug_of(d.group) == v)
        .on("customer_key", |d, v| {
            d.customer.is_some_and(|c| {
                let c = s.customers.row(c);
                &*c.key == v || c.customer_key.as_deref() == Some(v)
            })
        });
    respond(
        ctx,
        &s.deals,
        ALL_DATES,
        f.combined(),
        |d| render(s, d),
        "Retrieved deals successfully",
    )
}

// ---------------------------------------------------------------- Writes

/// Accepts `YYYY-MM-DD` or an ISO 8601 date-time starting with it (Zeotap sends those).
/// Like the API, only the shape and the month and day ranges are checked, not the
/// calendar: `2026-02-30` is accepted, so this stays hand-written rather than chrono.
fn close_date(v: &str) -> Result<Text, ApiError> {
    let date = v.get(..10).unwrap_or(v);
    let b = date.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let ok = b.len() == 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (1..=12).contains(&date[5..7].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&date[8..10].parse::<u32>().unwrap_or(0))
        && (v.len() == 10 || v.as_bytes()[10] == b'T' || v.as_bytes()[10] == b' ');
    if ok {
        Ok(text(date))
    } else {
        Err(ApiError::bad_request(format!(
            "'close_date': {} is not a 'date'",
            py_repr(&Value::String(v.into()))
        )))
    }
}

/// Validated deal fields shared by create and update (`None` = not given).
struct DealInput<'a> {
    partner_key: Option<Option<&'a str>>,
    group_key: Option<Option<&'a str>>,
    source: Option<&'a str>,
    account_name: Option<&'a str>,
    amount: Option<i64>,
    close_date: Option<Text>,
    contact_first_name: Option<Option<&'a str>>,
    contact_last_name: Option<Option<&'a str>>,
    external_key: Option<Option<&'a str>>,
    stage: Option<Option<&'a str>>,
    lost_reason: Option<Option<&'a str>>,
    mold_key: Option<Option<&'a str>>,
    fields: Option<Option<&'a Vec<Value>>>,
    field_data: Option<Option<&'a Object>>,
    meta: Option<Option<&'a Object>>,
    team: Option<Option<&'a Object>>,
    team_member: Option<Option<&'a Object>>,
}

fn deal_input<'a>(b: Body<'a>) -> Result<DealInput<'a>, ApiError> {
    let source = b.string("source")?;
    if let Some(src) = source {
        validate::one_of("source", src, &["partner", "vendor"])?;
    }
    let amount = b.integer("amount")?;
    let close = b.string("close_date")?.map(close_date).transpose()?;
    Ok(DealInput {
        partner_key: b.nullable_string("partner_key")?,
        group_key: b.nullable_string("group_key")?,
        source,
        account_name: b.string("account_name")?,
        amount,
        close_date: close,
        contact_first_name: b.nullable_string("contact_first_name")?,
        contact_last_name: b.nullable_string("contact_last_name")?,
        external_key: b.nullable_string("external_key")?,
        stage: b.nullable_string("stage")?,
        lost_reason: b.nullable_string("lost_reason")?,
        mold_key: b.nullable_string("mold_key")?,
        fields: b.nullable_array("fields")?,
        field_data: b.nullable_object("field_data")?,
        meta: b.nullable_object("meta")?,
        team: b.nullable_object("team")?,
        team_member: b.nullable_object("team_member")?,
    })
}

fn obj_value(o: Option<&Object>) -> Opt<Arc<Value>> {
    match o {
        Some(m) => Opt::Some(Arc::new(Value::Object(m.clone()))),
        None => Opt::Null,
    }
}

/// `POST /api/v2/deals`: validates the body and inserts the new row.
pub(crate) fn create(s: &mut Store, b: Body, now: i64) -> Result<RowId, ApiError> {
    let source = b.string("source")?.unwrap_or("partner");
    validate::one_of("source", source, &["partner", "vendor"])?;
    if source == "partner" && !b.has_value("partner_key") {
        return Err(required("partner_key"));
    }
    if source == "vendor" && !b.has_value("group_key") {
        return Err(required("group_key"));
    }
    let d = deal_input(b)?;
    let partnership = d
        .partner_key
        .flatten()
        .map(|k| partner_by_key(s, k))
        .transpose()?;
    let group = match d.group_key.flatten() {
        Some(g) => group_by_key(s, g)?,
        None => match partnership {
            Some(p) => s.partnerships.row(p).group,
            None => s.default_group(),
        },
    };
    let key = fresh_key(s, "deal_", |s, k| s.deals.find(k).is_some());
    let id = s.deals.insert(Deal {
        key,
        created_at: now,
        updated_at: now,
        account_name: text(d.account_name.unwrap_or("")),
        amount: d.amount.unwrap_or(0),
        close_date: d.close_date.unwrap_or_else(|| text(ymd(now))),
        contact_first_name: opt_text(d.contact_first_name.flatten()),
        contact_last_name: opt_text(d.contact_last_name.flatten()),
        external_key: opt_text(d.external_key.flatten()),
        group,
        partnership,
        lost_reason: opt_text(d.lost_reason.flatten()),
        mold_key: opt_text(d.mold_key.flatten()),
        source: text(source),
        stage: opt_text(d.stage.flatten()),
        fields: Arc::new(d.fields.flatten().cloned().unwrap_or_default()),
        field_data: Arc::new(d.field_data.flatten().cloned().unwrap_or_default()),
        meta: Arc::new(d.meta.flatten().cloned().unwrap_or_default()),
        team: obj_value(d.team.flatten()),
        team_member: obj_value(d.team_member.flatten()),
        customer: None,
        deleted: false,
    });
    Ok(id)
}

/// `PATCH /api/v2/deals/{id}`: validates the body and applies it to `row`.
pub(crate) fn update(s: &mut Store, row: RowId, b: Body, now: i64) -> Result<(), ApiError> {
    let d = deal_input(b)?;
    let partnership = match d.partner_key {
        None => None,
        Some(None) => Some(None),
        Some(Some(k)) => Some(Some(partner_by_key(s, k)?)),
    };
    let group = match d.group_key {
        Some(Some(g)) => Some(group_by_key(s, g)?),
        Some(None) => return Err(type_null("group_key", "string")),
        None => None,
    };
    let deal = s.deals.row_mut(row);
    if let Some(p) = partnership {
        deal.partnership = p;
    }
    if let Some(g) = group {
        deal.group = g;
    }
    if let Some(v) = d.source {
        deal.source = text(v);
    }
    if let Some(v) = d.account_name {
        deal.account_name = text(v);
    }
    if let Some(v) = d.amount {
        deal.amount = v;
    }
    if let Some(v) = d.close_date {
        deal.close_date = v;
    }
    let set = |slot: &mut Option<Text>, v: Option<Option<&str>>| {
        if let Some(v) = v {
            *slot = opt_text(v);
        }
    };
    set(&mut deal.contact_first_name, d.contact_first_name);
    set(&mut deal.contact_last_name, d.contact_last_name);
    set(&mut deal.external_key, d.external_key);
    set(&mut deal.stage, d.stage);
    set(&mut deal.lost_reason, d.lost_reason);
    set(&mut deal.mold_key, d.mold_key);
    if let Some(v) = d.fields {
        deal.fields = Arc::new(v.cloned().unwrap_or_default());
    }
    if let Some(v) = d.field_data {
        deal.field_data = Arc::new(v.cloned().unwrap_or_default());
    }
    if let Some(v) = d.meta {
        deal.meta = Arc::new(v.cloned().unwrap_or_default());
    }
    if let Some(v) = d.team {
        deal.team = obj_value(v);
    }
    if let Some(v) = d.team_member {
        deal.team_member = obj_value(v);
    }
    deal.updated_at = bumped(now, deal.created_at, deal.updated_at);
    Ok(())
}
