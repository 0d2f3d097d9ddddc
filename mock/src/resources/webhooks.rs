//! Webhooks: the vendor's event subscriptions.
//!
//! Here, in this order: the record, its generation, its JSON rendering, its list endpoint
//! and filters, its writes.

use crate::data::{WEBHOOK_EVENTS, text, timestamps};
use crate::envelope::ApiError;
use crate::http::Response;
use crate::model::{RowId, Text, impl_record};
use crate::rng::Rng;
use crate::routes::Ctx;
use crate::routes::lists::{NO_DATES, respond};
use crate::routes::writes::{bumped, fresh_key, type_null};
use crate::store::Store;
use crate::validate::{self, Body};
use serde::Serialize;

// ---------------------------------------------------------------- Record

/// A webhook subscription (`whk_...`).
#[derive(Debug, Clone)]
pub struct Webhook {
    /// `whk_...`
    pub key: Text,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// Delivery URL.
    pub target: Text,
    /// Subscribed event names.
    pub events: Vec<Text>,
    /// Archived.
    pub deleted: bool,
}

impl_record!(Webhook);

// ---------------------------------------------------------------- Generation

/// Generates the webhooks from `seed` (deterministic: same seed, same rows).
pub(crate) fn generate(seed: u64, n: usize) -> Vec<Webhook> {
    let mut rng = Rng::derived(seed, "webhooks");
    let times = timestamps(&mut rng, n);
    (0..n)
        .map(|i| {
            let mut events: Vec<Text> = WEBHOOK_EVENTS
                .iter()
                .filter(|_| rng.chance(0.4))
                .map(text)
                .collect();
            if events.is_empty() {
                events.push(text(WEBHOOK_EVENTS[0]));
            }
            Webhook {
                key: text(rng.key("whk_")),
                created_at: times[i].0,
                updated_at: times[i].1,
                target: text(format!(
                    "https://hooks.example.com/partnerstack/{i}?token=abc"
                )),
                events,
                deleted: false,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- Rendering

/// A webhook subscription.
#[derive(Serialize)]
pub struct WebhookView<'a> {
    key: &'a Text,
    created_at: i64,
    updated_at: i64,
    target: &'a Text,
    events: &'a [Text],
}

/// Renders a webhook.
pub fn render(w: &Webhook) -> WebhookView<'_> {
    WebhookView {
        key: &w.key,
        created_at: w.created_at,
        updated_at: w.updated_at,
        target: &w.target,
        events: &w.events,
    }
}

// ---------------------------------------------------------------- Listing

/// `GET /api/v2/webhooks` (no filters).
pub(crate) fn list(ctx: &Ctx, s: &Store) -> Result<Response, ApiError> {
    respond(
        ctx,
        &s.webhooks,
        NO_DATES,
        (None, String::new()),
        render,
        "Retrieved webhooks successfully",
    )
}

// ---------------------------------------------------------------- Writes

fn webhook_events<'a>(b: Body<'a>) -> Result<Option<Vec<&'a str>>, ApiError> {
    match b.nullable_string_array("events")? {
        None => Ok(None),
        Some(None) => Err(type_null("events", "array")),
        Some(Some(ev)) if ev.is_empty() => Err(ApiError::bad_request("'events': [] is too short")),
        Some(Some(ev)) => Ok(Some(ev)),
    }
}

/// `POST /api/v2/webhooks`: validates the body and inserts the new row.
pub(crate) fn create(s: &mut Store, b: Body, now: i64) -> Result<RowId, ApiError> {
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

/// `PATCH /api/v2/webhooks/{id}`: validates the body and applies it to `row`.
pub(crate) fn update(s: &mut Store, row: RowId, b: Body, now: i64) -> Result<(), ApiError> {
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
