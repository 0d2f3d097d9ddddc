//! Transactions: customer payments, in minor units of six currencies (list, create, delete).
//!
//! Here, in this order: the record, its generation, its JSON rendering, its list endpoint
//! and filters, its writes.

use crate::data::{
    CATEGORY_KEYS, PRODUCT_KEYS, currency_bytes, shared_map, text, timestamps, to_usd_cents, utc,
    weighted_currency,
};
use crate::envelope::ApiError;
use crate::http::Response;
use crate::model::{JsonMap, Opt, RowId, Text, currency_str, impl_record};
use crate::render::absent;
use crate::resources::customers::Customer;
use crate::rng::Rng;
use crate::routes::Ctx;
use crate::routes::lists::{CREATED_ONLY, OrderBy, respond_ordered};
use crate::routes::writes::{Object, duplicate, fresh_key, opt_text, type_null};
use crate::store::Store;
use crate::validate::{self, Body, py_repr};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;

// ---------------------------------------------------------------- Record

/// A transaction; the key is `txn_...` or vendor-chosen.
#[derive(Debug, Clone)]
pub struct Transaction {
    /// Primary key.
    pub key: Text,
    /// Epoch ms (client-suppliable).
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// Minor units; negative for refunds.
    pub amount: i64,
    /// Amount converted to US cents.
    pub amount_usd: i64,
    /// Approval flag (false on create).
    pub approved: bool,
    /// Reward-rule category.
    pub category_key: Option<Text>,
    /// Reward-rule product.
    pub product_key: Option<Text>,
    /// Upper-case ISO 4217 code.
    pub currency: [u8; 3],
    /// Row of the customer.
    pub customer: RowId,
    /// Extension object, null, or absent.
    pub extension: Opt<Arc<Value>>,
    /// Metadata object or null.
    pub metadata: Option<JsonMap>,
    /// Test transaction.
    pub test: bool,
    /// Deleted.
    pub deleted: bool,
}

impl_record!(Transaction);

// ---------------------------------------------------------------- Generation

/// Generates the transactions from `seed` (deterministic: same seed, same rows).
pub(crate) fn generate(seed: u64, n: usize, customers: &[Customer]) -> Vec<Transaction> {
    if customers.is_empty() {
        return Vec::new();
    }
    let mut rng = Rng::derived(seed, "transactions");
    let times = timestamps(&mut rng, n);
    let categories: Vec<Text> = CATEGORY_KEYS.iter().map(text).collect();
    let products: Vec<Text> = PRODUCT_KEYS.iter().map(text).collect();
    let metadata_pool: Vec<JsonMap> = vec![
        shared_map(json!({"plan": "pro", "seats": "5"})),
        shared_map(json!({"invoice_id": "in_1Pq2r3", "billing_period": "2025-11"})),
        shared_map(json!({"coupon": "SPRING25", "note": "remise « printemps »"})),
    ];
    let extension_pool: Vec<Arc<Value>> = (0..4)
        .map(|_| Arc::new(json!({"subscription_key": rng.key("sub_")})))
        .collect();
    let mut out = Vec::with_capacity(n);
    for (i, &(created_at, updated_at)) in times.iter().enumerate() {
        let customer = rng.below(customers.len() as u64) as RowId;
        // Vendor-chosen keys (§1.7); every 500th needs percent-encoding in cursors/paths.
        let key = match rng.below(1000) {
            _ if i % 500 == 17 => format!("order {}/{} #{}&x", 2024 + (i % 2), i, i % 7),
            0..=60 => format!(
                "{}_{}_1_{}",
                7_000_000_000_000_000_000u64 + rng.below(1_000_000_000_000_000_000),
                100 + i % 900,
                utc(created_at).format("%Y%m%d")
            ),
            _ => rng.key("txn_"),
        };
        let currency = weighted_currency(&mut rng);
        let magnitude = rng.range(100, 500_000);
        let amount = match rng.below(100) {
            0 => 0,
            1..=7 => -magnitude,
            _ => magnitude,
        };
        out.push(Transaction {
            key: text(key),
            created_at,
            updated_at,
            amount,
            amount_usd: to_usd_cents(amount, currency),
            approved: rng.chance(0.75),
            category_key: rng.chance(0.6).then(|| rng.pick(&categories).clone()),
            product_key: rng.chance(0.5).then(|| rng.pick(&products).clone()),
            currency: currency_bytes(currency),
            customer,
            extension: match rng.below(10) {
                0..=2 => Opt::Absent,
                3..=8 => Opt::Null,
                _ => Opt::Some(rng.pick(&extension_pool).clone()),
            },
            metadata: rng.chance(0.45).then(|| rng.pick(&metadata_pool).clone()),
            test: customers[customer as usize].test,
            deleted: false,
        });
    }
    out
}

// ---------------------------------------------------------------- Rendering

/// The customer embedded in a transaction.
#[derive(Serialize)]
struct TransactionCustomer<'a> {
    key: &'a Text,
    email: &'a Option<Text>,
    external_key: &'a Option<Text>,
}

/// A transaction.
#[derive(Serialize)]
pub struct TransactionView<'a> {
    key: &'a Text,
    created_at: i64,
    updated_at: i64,
    amount: i64,
    amount_usd: i64,
    approved: bool,
    category_key: &'a Option<Text>,
    product_key: &'a Option<Text>,
    currency: &'a str,
    customer_key: &'a Text,
    customer: TransactionCustomer<'a>,
    #[serde(skip_serializing_if = "absent")]
    extension: &'a Opt<Arc<Value>>,
    metadata: &'a Option<JsonMap>,
    test: bool,
}

/// Renders a transaction.
pub fn render<'a>(s: &'a Store, t: &'a Transaction) -> TransactionView<'a> {
    let c = s.customers.row(t.customer);
    TransactionView {
        key: &t.key,
        created_at: t.created_at,
        updated_at: t.updated_at,
        amount: t.amount,
        amount_usd: t.amount_usd,
        approved: t.approved,
        category_key: &t.category_key,
        product_key: &t.product_key,
        currency: currency_str(&t.currency),
        customer_key: &c.key,
        customer: TransactionCustomer {
            key: &c.key,
            email: &c.email,
            external_key: &c.customer_key,
        },
        extension: &t.extension,
        metadata: &t.metadata,
        test: t.test,
    }
}

// ---------------------------------------------------------------- Listing

/// `order_by` takes `created_at` / `-created_at` on transactions (§2, §3).
pub const ORDER_BY: &[&str] = &["created_at"];

/// `GET /api/v2/transactions` (no equality filters; `order_by`).
pub(crate) fn list(ctx: &Ctx, s: &Store) -> Result<Response, ApiError> {
    respond_ordered(
        ctx,
        &s.transactions,
        CREATED_ONLY,
        OrderBy {
            fields: ORDER_BY,
            value: &|_, _| None,
        },
        (None, String::new()),
        |t| render(s, t),
        "Transactions retrieved successfully",
    )
}

// ---------------------------------------------------------------- Writes

/// Transaction `metadata`: longest attribute value (as text).
const MAX_METADATA_VALUE: usize = 100;

/// Transaction `metadata`: longest attribute name.
const MAX_METADATA_NAME: usize = 30;

/// Transaction `metadata`: at most this many attributes (§4.7).
const MAX_METADATA_KEYS: usize = 25;

/// Transaction `amount` bounds in minor units (§1.6).
const MAX_TRANSACTION_AMOUNT: i64 = 50_000_000_000;

/// The three ways to name a transaction's customer (exactly one is required, §4.7).
const CUSTOMER_REFERENCES: [&str; 3] = ["customer_key", "customer_external_key", "customer_email"];

/// `POST /api/v2/transactions`: validates the body and inserts the new row.
pub(crate) fn create(s: &mut Store, b: Body, test: bool, now: i64) -> Result<RowId, ApiError> {
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
