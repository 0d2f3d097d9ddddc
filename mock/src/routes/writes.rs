//! Creates (POST) and updates (PATCH) with the validation rules of reference §4.
//!
//! Order of checks in every handler: required properties, then types and formats, then
//! references to other objects (400 for a missing partner/group, 404 for a missing
//! customer or transaction where the reference says so), then uniqueness.

use super::api::{Resource, item_response, title};
use crate::data::{LEAD_STATUSES, currency_bytes, slugify, to_usd_cents, ymd};
use crate::envelope::ApiError;
use crate::http::Response;
use crate::model::{
    Action, Customer, Deal, JsonMap, Lead, Manager, Opt, Partnership, Reward, RowId, Team, Text,
    Transaction, Webhook,
};
use crate::now_ms;
use crate::store::Store;
use crate::validate::{self, Body, py_repr, required};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Transaction `amount` bounds in minor units (§1.6).
const MAX_TRANSACTION_AMOUNT: i64 = 50_000_000_000;
/// Reward `amount` bound in cents (§1.6).
const MAX_REWARD_AMOUNT: i64 = 100_000_000;
/// Transaction `metadata`: at most this many attributes (§4.7).
const MAX_METADATA_KEYS: usize = 25;
/// Transaction `metadata`: longest attribute name.
const MAX_METADATA_NAME: usize = 30;
/// Transaction `metadata`: longest attribute value (as text).
const MAX_METADATA_VALUE: usize = 100;
/// Action `value` upper bound (no documented maximum; keeps arithmetic sane).
const MAX_ACTION_VALUE: i64 = 1_000_000;

type Object = Map<String, Value>;

/// `POST /api/v2/{resource}`.
pub fn create(s: &mut Store, r: Resource, body: &Object, test: bool) -> Result<Response, ApiError> {
    let b = Body::new(body);
    let now = now_ms();
    let row = match r {
        Resource::Customers => create_customer(s, b, test, now)?,
        Resource::Partnerships => create_partnership(s, b, now)?,
        Resource::Deals => create_deal(s, b, now)?,
        Resource::Leads => create_lead(s, b, now)?,
        Resource::Transactions => create_transaction(s, b, test, now)?,
        Resource::Rewards => create_reward(s, b, now)?,
        Resource::Actions => create_action(s, b, now)?,
        Resource::Webhooks => create_webhook(s, b, now)?,
        Resource::Groups => return Err(ApiError::new(405, "Method Not Allowed")),
    };
    let message = match r {
        Resource::Actions => "Action tracked successfully".to_string(),
        _ => format!("{} created successfully", title(r)),
    };
    Ok(item_response(s, r, row, &message))
}

/// `PATCH /api/v2/{resource}/{id}` (partial; omitted fields unchanged; bumps `updated_at`).
pub fn update(s: &mut Store, r: Resource, id: &str, body: &Object) -> Result<Response, ApiError> {
    let row = super::api::find_item(s, r, id)?;
    let b = Body::new(body);
    let now = now_ms();
    match r {
        Resource::Customers => update_customer(s, row, b, now)?,
        Resource::Partnerships => update_partnership(s, row, b, now)?,
        Resource::Deals => update_deal(s, row, b, now)?,
        Resource::Leads => update_lead(s, row, b, now)?,
        Resource::Webhooks => update_webhook(s, row, b, now)?,
        _ => return Err(ApiError::new(405, "Method Not Allowed")),
    }
    Ok(item_response(
        s,
        r,
        row,
        &format!("{} updated successfully", title(r)),
    ))
}

fn text(s: &str) -> Text {
    Text::from(s)
}

fn opt_text(s: Option<&str>) -> Option<Text> {
    s.map(text)
}

/// A new key with `prefix` not used by `taken`.
fn fresh_key(s: &mut Store, prefix: &str, taken: impl Fn(&Store, &str) -> bool) -> Text {
    loop {
        let k = s.rng.key(prefix);
        if !taken(s, &k) {
            return text(&k);
        }
    }
}

/// `updated_at` for a change now: never before the previous value or the creation.
fn bumped(now: i64, created: i64, previous: i64) -> i64 {
    now.max(previous).max(created)
}

fn merge_into(base: &JsonMap, patch: &Object) -> JsonMap {
    let mut m = (**base).clone();
    for (k, v) in patch {
        m.insert(k.clone(), v.clone());
    }
    Arc::new(m)
}

fn max_len(name: &str, v: Option<&str>, max: usize) -> Result<(), ApiError> {
    match v {
        Some(s) => validate::length(name, s, 0, max),
        None => Ok(()),
    }
}

/// A partnership by `partner_key` (400 when unknown, §4.1).
fn partner_by_key(s: &Store, partner_key: &str) -> Result<RowId, ApiError> {
    s.partner_keys.get(partner_key).copied().ok_or_else(|| {
        ApiError::bad_request(format!(
            "'partner_key': {} does not exist",
            py_repr(&Value::String(partner_key.into()))
        ))
    })
}

/// A group by `group_key` (400 when unknown).
fn group_by_key(s: &Store, group_key: &str) -> Result<RowId, ApiError> {
    s.find_group(group_key).ok_or_else(|| {
        ApiError::bad_request(format!(
            "'group_key': {} does not exist",
            py_repr(&Value::String(group_key.into()))
        ))
    })
}

fn duplicate(name: &str, v: &str) -> ApiError {
    ApiError::bad_request(format!(
        "'{name}': {} already exists",
        py_repr(&Value::String(v.into()))
    ))
}

// ---------------------------------------------------------------- customers

fn create_customer(s: &mut Store, b: Body, test: bool, now: i64) -> Result<RowId, ApiError> {
    b.require(&["email", "partner_key"])?;
    let email = b.string("email")?.unwrap_or_default();
    validate::email("email", email)?;
    let partner_key = b.string("partner_key")?.unwrap_or_default();
    let customer_key = b.nullable_string("customer_key")?.flatten();
    if let Some(k) = customer_key {
        validate::length("customer_key", k, 1, 255)?;
    }
    let name = b.nullable_string("name")?.flatten();
    max_len("name", name, 100)?;
    let provider_key = b.nullable_string("provider_key")?.flatten();
    let meta = b.nullable_object("meta")?.flatten();
    b.nullable_string("member_key")?;
    let partnership = partner_by_key(s, partner_key)?;
    if let Some(k) = customer_key
        && s.customer_keys.contains_key(k)
    {
        return Err(duplicate("customer_key", k));
    }
    let key = fresh_key(s, "cus_", |s, k| s.customers.find(k).is_some());
    let mdata: JsonMap = Arc::new(meta.cloned().unwrap_or_default());
    let id = s.customers.insert(Customer {
        key,
        created_at: now,
        updated_at: now,
        customer_key: opt_text(customer_key),
        email: Some(text(email)),
        name: opt_text(name),
        partnership,
        provider_key: opt_text(provider_key),
        source_key: Opt::Null,
        source_type: Opt::Some(text("api")),
        test,
        field_data: mdata.clone(),
        mdata,
        fields: Arc::new(Vec::new()),
        deleted: false,
    });
    if let Some(k) = customer_key {
        s.customer_keys.insert(text(k), id);
    }
    s.partnerships.row_mut(partnership).customer_count += 1;
    Ok(id)
}

fn update_customer(s: &mut Store, row: RowId, b: Body, now: i64) -> Result<(), ApiError> {
    let customer_key = b.nullable_string("customer_key")?;
    if let Some(Some(k)) = customer_key {
        validate::length("customer_key", k, 1, 255)?;
        if s.customer_keys.get(k).is_some_and(|&other| other != row) {
            return Err(duplicate("customer_key", k));
        }
    }
    let email = b.nullable_string("email")?;
    if let Some(Some(e)) = email {
        validate::email("email", e)?;
    }
    let name = b.nullable_string("name")?;
    max_len("name", name.flatten(), 100)?;
    let provider_key = b.nullable_string("provider_key")?;
    let meta = b.nullable_object("meta")?.flatten();
    b.nullable_string("member_key")?;
    // `partner_key` is not updatable (§4.1, conflict #6): ignored.

    if let Some(new_key) = customer_key {
        if let Some(old) = s.customers.row(row).customer_key.clone()
            && s.customer_keys.get(&old) == Some(&row)
        {
            s.customer_keys.remove(&old);
        }
        if let Some(k) = new_key {
            s.customer_keys.insert(text(k), row);
        }
    }
    let c = s.customers.row_mut(row);
    if let Some(v) = customer_key {
        c.customer_key = opt_text(v);
    }
    if let Some(v) = email {
        c.email = opt_text(v);
    }
    if let Some(v) = name {
        c.name = opt_text(v);
    }
    if let Some(v) = provider_key {
        c.provider_key = opt_text(v);
    }
    if let Some(m) = meta {
        c.mdata = merge_into(&c.mdata, m);
        c.field_data = merge_into(&c.field_data, m);
    }
    c.updated_at = bumped(now, c.created_at, c.updated_at);
    Ok(())
}

// ---------------------------------------------------------------- partnerships

fn create_partnership(s: &mut Store, b: Body, now: i64) -> Result<RowId, ApiError> {
    b.require(&["email"])?;
    let email = b.string("email")?.unwrap_or_default();
    validate::email("email", email)?;
    let first = b.nullable_string("first_name")?.flatten();
    max_len("first_name", first, 50)?;
    let last = b.nullable_string("last_name")?.flatten();
    max_len("last_name", last, 50)?;
    let partner_key = b.string("partner_key")?;
    if let Some(k) = partner_key {
        validate::length("partner_key", k, 1, 255)?;
    }
    let group_key = b.string("group_key")?;
    let manager_email = b.nullable_string("manager_email")?.flatten();
    if let Some(m) = manager_email {
        validate::email("manager_email", m)?;
    }
    let manager_name = b.nullable_string("manager_name")?.flatten();
    let tags = b
        .nullable_string_array("tags")?
        .flatten()
        .unwrap_or_default();
    let fields = b.nullable_array("fields")?.flatten();
    let field_data = b.nullable_object("field_data")?.flatten();
    let meta = b.nullable_object("meta")?.flatten();

    let group = match group_key {
        Some(g) => group_by_key(s, g)?,
        None => s.default_group(),
    };
    if s.partnerships.live().any(|(_, p)| &*p.email == email) {
        return Err(duplicate("email", email));
    }
    let partner_key = match partner_key {
        Some(k) => {
            if s.partner_keys.contains_key(k) {
                return Err(duplicate("partner_key", k));
            }
            k.to_string()
        }
        None => {
            // Generated from the partner's name like the real service (`johnsmith354`).
            let base: String = slugify(&format!("{}{}", first.unwrap_or(""), last.unwrap_or("")))
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            let base = if base.is_empty() {
                slugify(email.split('@').next().unwrap_or("partner"))
            } else {
                base
            };
            loop {
                let k = format!("{base}{}", s.rng.range(100, 999));
                if !s.partner_keys.contains_key(k.as_str()) {
                    break k;
                }
            }
        }
    };
    let key = fresh_key(s, "part_", |s, k| s.partnerships.find(k).is_some());
    let team_key = fresh_key(s, "stck_", |_, _| false);
    let display = match (first, last) {
        (Some(f), Some(l)) => format!("{f} {l}"),
        (Some(f), None) => f.to_string(),
        (None, Some(l)) => l.to_string(),
        (None, None) => partner_key.clone(),
    };
    let mdata: JsonMap = Arc::new(meta.cloned().unwrap_or_default());
    let id = s.partnerships.insert(Partnership {
        key,
        created_at: now,
        updated_at: now,
        partner_key: text(&partner_key),
        email: text(email),
        first_name: Opt::from(opt_text(first)),
        last_name: Opt::from(opt_text(last)),
        group,
        joined_at: now,
        manager: (manager_email.is_some() || manager_name.is_some()).then(|| Manager {
            manager_email: opt_text(manager_email),
            manager_name: opt_text(manager_name),
        }),
        mdata,
        tags: tags.into_iter().map(text).collect(),
        team: Team {
            key: team_key,
            name: text(&display),
            created_at: now,
            updated_at: now,
        },
        tier: Opt::Null,
        address: Opt::Null,
        fields: Arc::new(fields.cloned().unwrap_or_default()),
        field_data: Arc::new(field_data.cloned().unwrap_or_default()),
        meta: Arc::new(Map::new()),
        approved_status: "approved",
        customer_count: 0,
        click_count: 0,
        deleted: false,
    });
    s.partner_keys.insert(text(&partner_key), id);
    Ok(id)
}

fn update_partnership(s: &mut Store, row: RowId, b: Body, now: i64) -> Result<(), ApiError> {
    let group = b
        .string("group_key")?
        .map(|g| group_by_key(s, g))
        .transpose()?;
    let manager_email = b.nullable_string("manager_email")?;
    if let Some(Some(m)) = manager_email {
        validate::email("manager_email", m)?;
    }
    let tier = match b.nullable_string("tier_key")? {
        None => None,
        Some(None) => Some(Opt::Null),
        Some(Some(k)) => Some(Opt::Some(
            s.catalog
                .tiers
                .iter()
                .position(|t| &*t.key == k)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "'tier_key': {} does not exist",
                        py_repr(&Value::String(k.into()))
                    ))
                })?,
        )),
    };
    let fields = b.nullable_array("fields")?;
    let partner_key = b.string("partner_key")?;
    if let Some(k) = partner_key {
        validate::length("partner_key", k, 1, 255)?;
        if s.partner_keys.get(k).is_some_and(|&other| other != row) {
            return Err(duplicate("partner_key", k));
        }
        let old = s.partnerships.row(row).partner_key.clone();
        s.partner_keys.remove(&old);
        s.partner_keys.insert(text(k), row);
    }
    let p = s.partnerships.row_mut(row);
    if let Some(g) = group {
        p.group = g;
    }
    if let Some(m) = manager_email {
        let name = p.manager.as_ref().and_then(|x| x.manager_name.clone());
        p.manager = (m.is_some() || name.is_some()).then(|| Manager {
            manager_email: opt_text(m),
            manager_name: name,
        });
    }
    if let Some(t) = tier {
        p.tier = t;
    }
    if let Some(f) = fields {
        p.fields = Arc::new(f.cloned().unwrap_or_default());
    }
    if let Some(k) = partner_key {
        p.partner_key = text(k);
    }
    p.updated_at = bumped(now, p.created_at, p.updated_at);
    Ok(())
}

// ---------------------------------------------------------------- deals

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

fn create_deal(s: &mut Store, b: Body, now: i64) -> Result<RowId, ApiError> {
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
        close_date: d.close_date.unwrap_or_else(|| text(&ymd(now))),
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

fn update_deal(s: &mut Store, row: RowId, b: Body, now: i64) -> Result<(), ApiError> {
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

fn type_null(name: &str, ty: &str) -> ApiError {
    ApiError::bad_request(format!("'{name}': None is not of type '{ty}'"))
}

// ---------------------------------------------------------------- leads

/// Lead `meta` must carry the contact's first and last name (§4.6).
fn lead_meta(m: &Object) -> Result<(), ApiError> {
    for k in ["first_name", "last_name"] {
        if !m.contains_key(k) {
            return Err(required(k));
        }
    }
    Ok(())
}

fn create_lead(s: &mut Store, b: Body, now: i64) -> Result<RowId, ApiError> {
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

fn update_lead(s: &mut Store, row: RowId, b: Body, now: i64) -> Result<(), ApiError> {
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

// ---------------------------------------------------------------- transactions

/// The three ways to name a transaction's customer (exactly one is required, §4.7).
const CUSTOMER_REFERENCES: [&str; 3] = ["customer_key", "customer_external_key", "customer_email"];

fn create_transaction(s: &mut Store, b: Body, test: bool, now: i64) -> Result<RowId, ApiError> {
    b.require(&["amount", "currency"])?;
    let amount = match b.get("amount") {
        Some(Value::Null) => return Err(type_null("amount", "integer")),
        _ => b.integer("amount")?.unwrap_or_default(),
    };
    validate::int_range(
        "amount",
        amount,
        -MAX_TRANSACTION_AMOUNT,
        MAX_TRANSACTION_AMOUNT,
    )?;
    let currency = b.string("currency")?.unwrap_or_default();
    if currency.len() != 3 || !currency.bytes().all(|c| c.is_ascii_alphabetic()) {
        return Err(ApiError::bad_request(format!(
            "'currency': {} is not a valid ISO 4217 currency code (exactly 3 letters)",
            py_repr(&Value::String(currency.into()))
        )));
    }
    let given: Vec<&str> = CUSTOMER_REFERENCES
        .iter()
        .copied()
        .filter(|n| b.has_value(n))
        .collect();
    if given.len() != 1 {
        return Err(ApiError::bad_request(format!(
            "Exactly one of 'customer_key', 'customer_external_key', 'customer_email' is required (got {})",
            given.len()
        )));
    }
    let reference_name = given[0];
    let reference = b.string(reference_name)?.unwrap_or_default();
    validate::length(reference_name, reference, 1, 255)?;
    let key = b.string("key")?;
    if let Some(k) = key {
        validate::length("key", k, 4, 255)?;
    }
    let category_key = b.nullable_string("category_key")?.flatten();
    let product_key = b.nullable_string("product_key")?.flatten();
    let metadata = b.nullable_object("metadata")?.flatten();
    if let Some(m) = metadata {
        check_metadata(m)?;
    }
    let test_flag = b.boolean("test")?.unwrap_or(false);
    let created_at = b.integer("created_at")?;

    let customer = match reference_name {
        // §4.7 / conflict #9: the internal `cus_` key first, then (lenient) the vendor key.
        "customer_key" => s
            .customers
            .find_live(reference)
            .or_else(|| s.customer_keys.get(reference).copied()),
        "customer_external_key" => s.customer_keys.get(reference).copied(),
        _ => s
            .customers
            .live()
            .find(|(_, c)| c.email.as_deref() == Some(reference))
            .map(|(i, _)| i),
    }
    .ok_or_else(|| ApiError::not_found("customer not found"))?;
    if let Some(k) = key
        && s.transactions.find(k).is_some()
    {
        return Err(duplicate("key", k));
    }
    let key = match key {
        Some(k) => text(k),
        None => fresh_key(s, "txn_", |s, k| s.transactions.find(k).is_some()),
    };
    let created_at = created_at.unwrap_or(now);
    let currency = currency_bytes(currency);
    let id = s.transactions.insert(Transaction {
        key,
        created_at,
        updated_at: now.max(created_at),
        amount,
        amount_usd: to_usd_cents(amount, crate::model::currency_str(&currency)),
        approved: false,
        category_key: opt_text(category_key),
        product_key: opt_text(product_key),
        currency,
        customer,
        extension: Opt::Null,
        metadata: metadata.map(|m| Arc::new(m.clone())),
        test: test || test_flag || s.customers.row(customer).test,
        deleted: false,
    });
    Ok(id)
}

fn check_metadata(m: &Object) -> Result<(), ApiError> {
    if m.len() > MAX_METADATA_KEYS {
        return Err(ApiError::bad_request(format!(
            "'metadata' has {} attributes; at most {MAX_METADATA_KEYS} are allowed",
            m.len()
        )));
    }
    for (k, v) in m {
        if k.chars().count() > MAX_METADATA_NAME {
            return Err(ApiError::bad_request(format!(
                "'metadata': attribute name {} is too long (max {MAX_METADATA_NAME})",
                py_repr(&Value::String(k.clone()))
            )));
        }
        let len = match v {
            Value::String(s) => s.chars().count(),
            other => other.to_string().chars().count(),
        };
        if len > MAX_METADATA_VALUE {
            return Err(ApiError::bad_request(format!(
                "'metadata': value of {} is too long (max {MAX_METADATA_VALUE})",
                py_repr(&Value::String(k.clone()))
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- rewards

fn create_reward(s: &mut Store, b: Body, now: i64) -> Result<RowId, ApiError> {
    b.require(&["amount", "target"])?;
    let amount = match b.get("amount") {
        Some(Value::Null) => return Err(type_null("amount", "integer")),
        _ => b.integer("amount")?.unwrap_or_default(),
    };
    validate::int_range("amount", amount, -MAX_REWARD_AMOUNT, MAX_REWARD_AMOUNT)?;
    let description = b.nullable_string("description")?.flatten();
    let target = match b.get("target") {
        Some(Value::Null) => return Err(type_null("target", "object")),
        _ => b.object("target")?.cloned().unwrap_or_default(),
    };
    let t = Body::new(&target);
    t.require(&["key", "type"])?;
    let target_key = t.string("key")?.unwrap_or_default();
    let target_type = t.string("type")?.unwrap_or_default();
    validate::one_of("type", target_type, &["customer", "transaction"])?;
    let (customer, transaction, currency) = if target_type == "customer" {
        let c = s
            .find_customer(target_key)
            .ok_or_else(|| ApiError::not_found("customer not found"))?;
        (c, None, *b"USD")
    } else {
        let tx = s
            .transactions
            .find_live(target_key)
            .ok_or_else(|| ApiError::not_found("transaction not found"))?;
        let row = s.transactions.row(tx);
        (row.customer, Some(tx), row.currency)
    };
    let partnership = s.customers.row(customer).partnership;
    let key = fresh_key(s, "rwrd_", |s, k| s.rewards.find(k).is_some());
    let id = s.rewards.insert(Reward {
        key,
        created_at: now,
        updated_at: now,
        amount,
        currency,
        description: opt_text(description),
        reward_status: "pending",
        action: None,
        customer: Some(customer),
        invoice: None,
        offer: None,
        partnership: Some(partnership),
        transaction,
        trigger: Opt::Null,
        deleted: false,
    });
    Ok(id)
}

// ---------------------------------------------------------------- actions

fn create_action(s: &mut Store, b: Body, now: i64) -> Result<RowId, ApiError> {
    b.require(&["target_type", "target_key", "type", "value"])?;
    let target_type = b.string("target_type")?.unwrap_or_default();
    validate::one_of("target_type", target_type, &["customer", "partnership"])?;
    let target_key = b.string("target_key")?.unwrap_or_default();
    let action_type = b.string("type")?.unwrap_or_default();
    validate::length("type", action_type, 1, 255)?;
    let value = match b.get("value") {
        Some(Value::Null) => return Err(type_null("value", "integer")),
        _ => b.integer("value")?.unwrap_or_default(),
    };
    validate::int_range("value", value, 1, MAX_ACTION_VALUE)?;
    let external_key = b.nullable_string("external_key")?.flatten();
    let (partnership, customer, target_type) = if target_type == "customer" {
        let c = s
            .find_customer(target_key)
            .ok_or_else(|| ApiError::not_found("customer not found"))?;
        (s.customers.row(c).partnership, Some(c), "customer")
    } else {
        let p = s
            .partner_keys
            .get(target_key)
            .copied()
            .or_else(|| s.partnerships.find_live(target_key))
            .ok_or_else(|| ApiError::not_found("partnership not found"))?;
        (p, None, "partnership")
    };
    let key = fresh_key(s, "act_", |s, k| s.actions.find(k).is_some());
    let id = s.actions.insert(Action {
        key,
        created_at: now,
        updated_at: now,
        action_type: text(action_type),
        value,
        partnership,
        customer,
        target_type,
        target_key: text(target_key),
        external_key: Opt::from(opt_text(external_key)),
        deleted: false,
    });
    Ok(id)
}

// ---------------------------------------------------------------- webhooks

fn webhook_events<'a>(b: Body<'a>) -> Result<Option<Vec<&'a str>>, ApiError> {
    match b.nullable_string_array("events")? {
        None => Ok(None),
        Some(None) => Err(type_null("events", "array")),
        Some(Some(ev)) if ev.is_empty() => Err(ApiError::bad_request("'events': [] is too short")),
        Some(Some(ev)) => Ok(Some(ev)),
    }
}

fn create_webhook(s: &mut Store, b: Body, now: i64) -> Result<RowId, ApiError> {
    b.require(&["target", "events"])?;
    let target = b.string("target")?.unwrap_or_default();
    validate::url("target", target)?;
    let events = webhook_events(b)?.unwrap_or_default();
    let key = fresh_key(s, "whk_", |s, k| s.webhooks.find(k).is_some());
    Ok(s.webhooks.insert(Webhook {
        key,
        created_at: now,
        updated_at: now,
        target: text(target),
        events: events.into_iter().map(text).collect(),
        deleted: false,
    }))
}

fn update_webhook(s: &mut Store, row: RowId, b: Body, now: i64) -> Result<(), ApiError> {
    let target = b.string("target")?;
    if let Some(t) = target {
        validate::url("target", t)?;
    }
    let events = webhook_events(b)?;
    let w = s.webhooks.row_mut(row);
    if let Some(t) = target {
        w.target = text(t);
    }
    if let Some(ev) = events {
        w.events = ev.into_iter().map(text).collect();
    }
    w.updated_at = bumped(now, w.created_at, w.updated_at);
    Ok(())
}

/// Creates the customer of an S2S conversion (§4.15); `None` when nothing was created
/// (duplicate `customer_key`, or no partnership to attribute it to).
pub fn create_conversion_customer(
    s: &mut Store,
    customer_key: &str,
    xid: &str,
    email: Option<&str>,
    name: Option<&str>,
    provider_key: Option<&str>,
    meta: Option<&Object>,
) -> Option<RowId> {
    if s.customer_keys.contains_key(customer_key) {
        return None;
    }
    // Attributed to the first partnership (the mock has no click log to resolve `xid`).
    let (partnership, _) = s.partnerships.live().next()?;
    let now = now_ms();
    let key = fresh_key(s, "cus_", |s, k| s.customers.find(k).is_some());
    let mdata: JsonMap = Arc::new(meta.cloned().unwrap_or_default());
    let id = s.customers.insert(Customer {
        key,
        created_at: now,
        updated_at: now,
        customer_key: Some(text(customer_key)),
        email: opt_text(email),
        name: opt_text(name),
        partnership,
        provider_key: opt_text(provider_key),
        source_key: Opt::Some(text(xid)),
        source_type: Opt::Some(text("s2s")),
        test: false,
        field_data: mdata.clone(),
        mdata,
        fields: Arc::new(Vec::new()),
        deleted: false,
    });
    s.customer_keys.insert(text(customer_key), id);
    s.partnerships.row_mut(partnership).customer_count += 1;
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Sizes, generate};
    use serde_json::json;

    fn store() -> Store {
        generate(
            42,
            &Sizes {
                transactions: 50,
                rewards: 20,
                ..Sizes::default()
            },
        )
    }

    fn obj(v: Value) -> Object {
        v.as_object().unwrap().clone()
    }

    fn err(r: Result<Response, ApiError>) -> ApiError {
        r.unwrap_err()
    }

    fn data(r: Result<Response, ApiError>) -> Value {
        let r = r.unwrap();
        assert_eq!(r.status, 200);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["status"], 200);
        v["data"].clone()
    }

    fn partner_key(s: &Store) -> String {
        s.partnerships.row(0).partner_key.to_string()
    }

    #[test]
    fn customer_create_validation() {
        let mut s = store();
        let pk = partner_key(&s);
        let e = err(create(
            &mut s,
            Resource::Customers,
            &obj(json!({"partner_key": pk})),
            true,
        ));
        assert_eq!(
            (e.status, e.message.as_str()),
            (400, "'email' is a required property")
        );
        let e = err(create(
            &mut s,
            Resource::Customers,
            &obj(json!({"email": "a@b.co"})),
            true,
        ));
        assert_eq!(e.message, "'partner_key' is a required property");
        let e = err(create(
            &mut s,
            Resource::Customers,
            &obj(json!({"email": "a@b.co", "partner_key": "nobody"})),
            true,
        ));
        assert_eq!(e.status, 400);
        assert!(e.message.contains("does not exist"));
        let e = err(create(
            &mut s,
            Resource::Customers,
            &obj(json!({"email": 5, "partner_key": pk})),
            true,
        ));
        assert_eq!(e.message, "'email': 5 is not of type 'string'");

        let d = data(create(
            &mut s,
            Resource::Customers,
            &obj(
                json!({"email": "zoë@example.com", "partner_key": pk, "customer_key": "mine 1/ü",
                        "meta": {"plan": "pro"}}),
            ),
            true,
        ));
        assert!(d["key"].as_str().unwrap().starts_with("cus_"));
        assert_eq!(d["test"], true);
        assert_eq!(d["partner_key"], pk.as_str());
        assert_eq!(d["mdata"]["plan"], "pro");
        assert_eq!(d["meta"], json!({}));
        assert_eq!(d["created_at"], d["updated_at"]);
        let e = err(create(
            &mut s,
            Resource::Customers,
            &obj(json!({"email": "x@example.com", "partner_key": pk, "customer_key": "mine 1/ü"})),
            false,
        ));
        assert_eq!(e.status, 400);
        assert!(e.message.contains("already exists"));
        // Production key: test false; null customer_key twice is fine.
        for _ in 0..2 {
            let d = data(create(
                &mut s,
                Resource::Customers,
                &obj(json!({"email": "y@example.com", "partner_key": pk, "customer_key": null})),
                false,
            ));
            assert_eq!(d["test"], false);
            assert_eq!(d["customer_key"], Value::Null);
        }
    }

    #[test]
    fn customer_update_ignores_partner_key_and_bumps_updated_at() {
        let mut s = store();
        let (row, c) = s
            .customers
            .live()
            .find(|(_, c)| c.customer_key.is_some())
            .map(|(i, c)| (i, c.clone()))
            .unwrap();
        let ck = c.customer_key.clone().unwrap().to_string();
        let other_pk = s
            .partnerships
            .live()
            .find(|(i, _)| *i != c.partnership)
            .unwrap()
            .1
            .partner_key
            .to_string();
        let d = data(update(
            &mut s,
            Resource::Customers,
            &ck,
            &obj(json!({"name": "山田太郎", "partner_key": other_pk})),
        ));
        assert_eq!(d["name"], "山田太郎");
        assert_eq!(
            d["partner_key"],
            &*s.partnerships.row(c.partnership).partner_key
        );
        assert!(d["updated_at"].as_i64().unwrap() > c.updated_at);
        assert_eq!(d["created_at"], c.created_at);
        // Fallback to `key`, and renaming customer_key moves the index.
        let d = data(update(
            &mut s,
            Resource::Customers,
            &c.key,
            &obj(json!({"customer_key": "renamed"})),
        ));
        assert_eq!(d["customer_key"], "renamed");
        assert_eq!(s.find_customer("renamed"), Some(row));
        assert_eq!(s.find_customer(&ck), None);
        let e = err(update(&mut s, Resource::Customers, "nope", &obj(json!({}))));
        assert_eq!((e.status, e.message.as_str()), (404, "customer not found"));
    }

    #[test]
    fn transaction_create_validation() {
        let mut s = store();
        let c = s.customers.row(3).clone();
        let ck = c.key.to_string();
        let cases: Vec<(Value, u16, &str)> = vec![
            (
                json!({"currency": "usd", "customer_key": ck}),
                400,
                "'amount' is a required property",
            ),
            (
                json!({"amount": 1, "customer_key": ck}),
                400,
                "'currency' is a required property",
            ),
            (
                json!({"amount": 1.5, "currency": "usd", "customer_key": ck}),
                400,
                "not of type 'integer'",
            ),
            (
                json!({"amount": "1", "currency": "usd", "customer_key": ck}),
                400,
                "not of type 'integer'",
            ),
            (
                json!({"amount": 1, "currency": "usdx", "customer_key": ck}),
                400,
                "exactly 3 letters",
            ),
            (
                json!({"amount": 1, "currency": "us1", "customer_key": ck}),
                400,
                "exactly 3 letters",
            ),
            (
                json!({"amount": 1, "currency": "usd"}),
                400,
                "Exactly one of",
            ),
            (
                json!({"amount": 1, "currency": "usd", "customer_key": ck, "customer_email": "a@b.c"}),
                400,
                "Exactly one of",
            ),
            (
                json!({"amount": 1, "currency": "usd", "customer_key": "cus_nope"}),
                404,
                "customer not found",
            ),
            (
                json!({"amount": 1, "currency": "usd", "customer_key": ck, "key": "abc"}),
                400,
                "too short",
            ),
            (
                json!({"amount": 60_000_000_000i64, "currency": "usd", "customer_key": ck}),
                400,
                "maximum",
            ),
        ];
        for (body, status, msg) in cases {
            let e = err(create(
                &mut s,
                Resource::Transactions,
                &obj(body.clone()),
                false,
            ));
            assert_eq!(e.status, status, "{body}");
            assert!(e.message.contains(msg), "{body}: {}", e.message);
        }
        let d = data(create(
            &mut s,
            Resource::Transactions,
            &obj(
                json!({"amount": -1000, "currency": "eur", "customer_key": ck,
                        "key": "ord 2025/1 #ü", "created_at": 1_700_000_000_000i64}),
            ),
            false,
        ));
        assert_eq!(d["key"], "ord 2025/1 #ü");
        assert_eq!(d["currency"], "EUR");
        assert_eq!(d["amount_usd"], -1080);
        assert_eq!(d["approved"], false);
        assert_eq!(d["created_at"], 1_700_000_000_000i64);
        assert_eq!(d["customer_key"], ck.as_str());
        let e = err(create(
            &mut s,
            Resource::Transactions,
            &obj(
                json!({"amount": 1, "currency": "usd", "customer_key": ck, "key": "ord 2025/1 #ü"}),
            ),
            false,
        ));
        assert!(e.message.contains("already exists"));
        // customer_email and customer_external_key resolve too.
        if let Some(email) = c.email.clone() {
            data(create(
                &mut s,
                Resource::Transactions,
                &obj(json!({"amount": 5, "currency": "USD", "customer_email": &*email})),
                true,
            ));
        }
        let with_ck = s
            .customers
            .live()
            .find(|(_, c)| c.customer_key.is_some())
            .unwrap()
            .1
            .clone();
        let d = data(create(
            &mut s,
            Resource::Transactions,
            &obj(json!({"amount": 5, "currency": "USD",
                        "customer_external_key": &*with_ck.customer_key.unwrap()})),
            true,
        ));
        assert_eq!(d["customer_key"], &*with_ck.key);
        assert_eq!(d["test"], true);
        assert!(d["key"].as_str().unwrap().starts_with("txn_"));
    }

    #[test]
    fn action_reward_lead_deal_webhook_partnership_validation() {
        let mut s = store();
        let pk = partner_key(&s);
        let ck = s.customers.row(0).key.to_string();
        let e = err(create(
            &mut s,
            Resource::Actions,
            &obj(json!({"customer_key": ck, "value": 1})),
            false,
        ));
        assert_eq!(e.message, "'target_type' is a required property");
        let e = err(create(
            &mut s,
            Resource::Actions,
            &obj(
                json!({"target_type": "customer", "target_key": ck, "type": "signup", "value": 0}),
            ),
            false,
        ));
        assert!(e.message.contains("minimum of 1"));
        let r = create(
            &mut s,
            Resource::Actions,
            &obj(json!({"target_type": "partnership", "target_key": pk, "type": "signup", "value": 2})),
            false,
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["message"], "Action tracked successfully");
        assert_eq!(v["data"]["target_type"], "partnership");

        let e = err(create(
            &mut s,
            Resource::Rewards,
            &obj(json!({"amount": 5})),
            false,
        ));
        assert_eq!(e.message, "'target' is a required property");
        let e = err(create(
            &mut s,
            Resource::Rewards,
            &obj(json!({"amount": 5, "target": {"key": ck}})),
            false,
        ));
        assert_eq!(e.message, "'type' is a required property");
        let d = data(create(
            &mut s,
            Resource::Rewards,
            &obj(
                json!({"amount": 500, "description": "bonus", "target": {"key": ck, "type": "customer"}}),
            ),
            false,
        ));
        assert_eq!(d["customer"]["key"], ck.as_str());
        assert_eq!(d["reward_status"], "pending");

        let e = err(create(
            &mut s,
            Resource::Leads,
            &obj(json!({"partner_key": pk, "external_key": "l@x.io", "status": "won", "meta": {}})),
            false,
        ));
        assert!(e.message.contains("is not one of"));
        let e = err(create(
            &mut s,
            Resource::Leads,
            &obj(
                json!({"partner_key": pk, "external_key": "l@x.io", "status": "open", "meta": {"first_name": "A"}}),
            ),
            false,
        ));
        assert_eq!(e.message, "'last_name' is a required property");
        let d = data(create(
            &mut s,
            Resource::Leads,
            &obj(
                json!({"partner_key": pk, "external_key": "l@x.io", "status": "closed won",
                        "meta": {"first_name": "A", "last_name": "B"}}),
            ),
            false,
        ));
        assert_eq!(d["status"], "closed won");

        let e = err(create(
            &mut s,
            Resource::Deals,
            &obj(json!({"account_name": "X"})),
            false,
        ));
        assert_eq!(e.message, "'partner_key' is a required property");
        let e = err(create(
            &mut s,
            Resource::Deals,
            &obj(json!({"source": "vendor"})),
            false,
        ));
        assert_eq!(e.message, "'group_key' is a required property");
        let d = data(create(
            &mut s,
            Resource::Deals,
            &obj(json!({"partner_key": pk, "amount": 100, "close_date": "2026-02-30"})),
            false,
        ));
        assert_eq!(d["close_date"], "2026-02-30");
        let e = err(create(
            &mut s,
            Resource::Deals,
            &obj(json!({"partner_key": pk, "close_date": "tomorrow"})),
            false,
        ));
        assert!(e.message.contains("'date'"));

        let e = err(create(
            &mut s,
            Resource::Webhooks,
            &obj(json!({"target": "https://x.io"})),
            false,
        ));
        assert_eq!(e.message, "'events' is a required property");
        let e = err(create(
            &mut s,
            Resource::Webhooks,
            &obj(json!({"target": "https://x.io", "events": []})),
            false,
        ));
        assert!(e.message.contains("too short"));

        let e = err(create(
            &mut s,
            Resource::Partnerships,
            &obj(json!({"first_name": "A"})),
            false,
        ));
        assert_eq!(e.message, "'email' is a required property");
        let d = data(create(
            &mut s,
            Resource::Partnerships,
            &obj(
                json!({"email": "new.partner@example.com", "first_name": "Zoë", "last_name": "Ærøskøbing",
                        "tags": ["a", "b"]}),
            ),
            false,
        ));
        assert!(d["partner_key"].as_str().unwrap().starts_with("zo"));
        assert_eq!(d["stats"]["CUSTOMER_COUNT"], 0);
        assert_eq!(d["tags"], json!(["a", "b"]));
        let e = err(create(
            &mut s,
            Resource::Partnerships,
            &obj(json!({"email": "new.partner@example.com"})),
            false,
        ));
        assert!(e.message.contains("already exists"));
    }

    #[test]
    fn partnership_rename_shows_up_in_customers() {
        let mut s = store();
        let c = s.customers.row(0).clone();
        let p = s.partnerships.row(c.partnership).key.to_string();
        data(update(
            &mut s,
            Resource::Partnerships,
            &p,
            &obj(json!({"partner_key": "renamed-partner"})),
        ));
        let v = serde_json::to_value(crate::render::customer(&s, s.customers.row(0))).unwrap();
        assert_eq!(v["partner_key"], "renamed-partner");
        assert!(s.partner_keys.contains_key("renamed-partner"));
    }
}
