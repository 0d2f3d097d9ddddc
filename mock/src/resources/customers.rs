//! Customers: the people partners referred; addressed by `customer_key`, then `key`.
//!
//! Here, in this order: the record, its generation, its JSON rendering, its list endpoint
//! and filters, its writes.

use crate::data::{
    COMPANIES, EMAIL_DOMAINS, TEST_PARTNER_KEY, ascii_alnum, custom_field_pool, join_name,
    person_name, text, timestamps,
};
use crate::envelope::ApiError;
use crate::http::Response;
use crate::model::{JsonList, JsonMap, Opt, RowId, Text, impl_record};
use crate::now_ms;
use crate::render::{EmptyObject, absent};
use crate::resources::partnerships::Partnership;
use crate::rng::Rng;
use crate::routes::Ctx;
use crate::routes::lists::{ALL_DATES, Filters, respond};
use crate::routes::writes::{
    Object, bumped, duplicate, fresh_key, max_len, merge_into, opt_text, partner_by_key,
};
use crate::store::Store;
use crate::validate::{self, Body};
use serde::Serialize;
use std::sync::Arc;

// ---------------------------------------------------------------- Record

/// A customer (`cus_...`).
#[derive(Debug, Clone)]
pub struct Customer {
    /// `cus_...`
    pub key: Text,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// Vendor's own identifier, unique among live customers; the path id.
    pub customer_key: Option<Text>,
    /// E-mail, sometimes null.
    pub email: Option<Text>,
    /// Name, sometimes null.
    pub name: Option<Text>,
    /// Row of the partnership the customer is attributed to (fixed after creation).
    pub partnership: RowId,
    /// Payment-provider id.
    pub provider_key: Option<Text>,
    /// Source id; absent on some older records.
    pub source_key: Opt<Text>,
    /// Source kind; absent on some older records.
    pub source_type: Opt<Text>,
    /// Created with a test key (or attributed to the test partner).
    pub test: bool,
    /// Custom field values (where written `meta` surfaces).
    pub mdata: JsonMap,
    /// Deprecated mirror of custom fields.
    pub field_data: JsonMap,
    /// Custom field objects.
    pub fields: JsonList,
    /// Archived.
    pub deleted: bool,
}

impl_record!(Customer);

// ---------------------------------------------------------------- Generation

/// Generates the customers from `seed` (deterministic: same seed, same rows).
pub(crate) fn generate(seed: u64, n: usize, partnerships: &[Partnership]) -> Vec<Customer> {
    let mut rng = Rng::derived(seed, "customers");
    let times = timestamps(&mut rng, n);
    let pool = custom_field_pool();
    (0..n)
        .map(|i| {
            let (created_at, updated_at) = times[i];
            let partnership = rng.below(partnerships.len() as u64) as RowId;
            let p = &partnerships[partnership as usize];
            let (first, last) = person_name(&mut rng);
            let name = match rng.below(12) {
                0 => None,
                1 => Some(rng.pick(COMPANIES).to_string()),
                _ => join_name(&first, &last),
            };
            let local = {
                let a = ascii_alnum(first.as_deref().unwrap_or(""));
                if a.is_empty() {
                    "customer".to_string()
                } else {
                    a
                }
            };
            let email = (!rng.chance(0.06)).then(|| {
                if rng.chance(0.1) {
                    format!("{local}+ps{i}@{}", rng.pick(EMAIL_DOMAINS))
                } else {
                    format!("{local}.{i}@{}", rng.pick(EMAIL_DOMAINS))
                }
            });
            let customer_key = match rng.below(25) {
                0 | 1 => None,
                2 => Some(format!("cliente ñ/{i}")),
                3 => Some(format!("client #{i}&co?x=1%")),
                4..=10 => email.clone().or_else(|| Some(format!("user_{i}"))),
                11..=17 => Some(format!("user_{i}")),
                _ => Some(format!("acct-{i:06}")),
            };
            let provider_key = match rng.below(10) {
                0..=2 => Some(format!("cb_{}", &rng.key("")[..12])),
                3 | 4 => Some(format!("rcly-{}", &rng.key("")[..10])),
                _ => None,
            };
            let (source_type, source_key) = match rng.below(10) {
                0 => (Opt::Absent, Opt::Absent),
                1 | 2 => (Opt::Some(text("api")), Opt::Null),
                3 | 4 => (
                    Opt::Some(text("partnerstackjs")),
                    Opt::Some(text(rng.key("xid_"))),
                ),
                5 if provider_key.is_some() => (
                    Opt::Some(text("chargebee")),
                    Opt::from(provider_key.as_deref().map(text)),
                ),
                6 => (Opt::Some(text("s2s")), Opt::Some(text(rng.key("xid_")))),
                _ => (Opt::Null, Opt::Null),
            };
            let (mdata, fields) = rng.pick(&pool).clone();
            Customer {
                key: text(rng.key("cus_")),
                created_at,
                updated_at,
                customer_key: customer_key.map(text),
                email: email.map(text),
                name: name.map(text),
                partnership,
                provider_key: provider_key.map(text),
                source_key,
                source_type,
                test: &*p.partner_key == TEST_PARTNER_KEY,
                field_data: mdata.clone(),
                mdata,
                fields,
                deleted: false,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- Rendering

/// A customer.
#[derive(Serialize)]
pub struct CustomerView<'a> {
    key: &'a Text,
    created_at: i64,
    updated_at: i64,
    customer_key: &'a Option<Text>,
    email: &'a Option<Text>,
    name: &'a Option<Text>,
    partner_key: &'a Text,
    partnership_key: &'a Text,
    provider_key: &'a Option<Text>,
    #[serde(skip_serializing_if = "absent")]
    source_key: &'a Opt<Text>,
    #[serde(skip_serializing_if = "absent")]
    source_type: &'a Opt<Text>,
    test: bool,
    meta: EmptyObject,
    mdata: &'a JsonMap,
    field_data: &'a JsonMap,
    fields: &'a JsonList,
}

/// Renders a customer.
pub fn render<'a>(s: &'a Store, c: &'a Customer) -> CustomerView<'a> {
    let p = s.partnerships.row(c.partnership);
    CustomerView {
        key: &c.key,
        created_at: c.created_at,
        updated_at: c.updated_at,
        customer_key: &c.customer_key,
        email: &c.email,
        name: &c.name,
        partner_key: &p.partner_key,
        partnership_key: &p.key,
        provider_key: &c.provider_key,
        source_key: &c.source_key,
        source_type: &c.source_type,
        test: c.test,
        meta: EmptyObject,
        mdata: &c.mdata,
        field_data: &c.field_data,
        fields: &c.fields,
    }
}

// ---------------------------------------------------------------- Listing

/// `GET /api/v2/customers` with its filters.
pub(crate) fn list(ctx: &Ctx, s: &Store) -> Result<Response, ApiError> {
    let partner_key_of = |p: RowId| &*s.partnerships.row(p).partner_key;
    let slug_of = |g: RowId| &*s.groups.row(g).slug;
    let f = Filters::new(ctx)
        .on("partner_key", |c: &Customer, v| {
            partner_key_of(c.partnership) == v
        })
        .on("group", |c, v| {
            slug_of(s.partnerships.row(c.partnership).group) == v
        });
    respond(
        ctx,
        &s.customers,
        ALL_DATES,
        f.combined(),
        |c| render(s, c),
        "Retrieved customers successfully",
    )
}

// ---------------------------------------------------------------- Writes

/// `POST /api/v2/customers`: validates the body and inserts the new row.
pub(crate) fn create(s: &mut Store, b: Body, test: bool, now: i64) -> Result<RowId, ApiError> {
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

/// `PATCH /api/v2/customers/{id}`: validates the body and applies it to `row`.
pub(crate) fn update(s: &mut Store, row: RowId, b: Body, now: i64) -> Result<(), ApiError> {
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

/// Soft delete; the `customer_key` becomes free again and the partnership's customer count
/// drops.
pub(crate) fn delete(s: &mut Store, row: RowId) {
    s.customers.delete(row);
    let c = s.customers.row(row);
    if let Some(k) = c.customer_key.clone()
        && s.customer_keys.get(&k) == Some(&row)
    {
        s.customer_keys.remove(&k);
    }
    let p = c.partnership;
    let p = s.partnerships.row_mut(p);
    p.customer_count = p.customer_count.saturating_sub(1);
}
