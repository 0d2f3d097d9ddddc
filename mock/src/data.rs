//! Deterministic generation of the mock's data set: the shared pools and helpers, and
//! [`generate`], which calls each resource's generator (in `crate::resources`) in
//! dependency order.
//!
//! Everything derives from `--seed` and a fixed reference time (not the wall clock), so
//! two runs with the same options serve byte-identical data. The data is deliberately
//! awkward where a mapping layer can go wrong: nulls and missing keys, non-ASCII text,
//! refunds, several currencies, keys that need percent-encoding, and runs of rows that
//! share the exact same `created_at`/`updated_at` millisecond (filter boundary tests).

use crate::model::{JsonList, JsonMap, Text};
use crate::resources::partnerships::Tier;
use crate::resources::rewards::Offer;
use crate::resources::{
    actions, customers, deals, groups, leads, links, partnerships, rewards, transactions, webhooks,
};
use crate::rng::Rng;
use crate::store::{Catalog, Store, Table};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

/// "Now" for generated data: 2026-01-01T00:00:00Z (a unit test checks it with chrono).
/// Fixed so data is reproducible.
pub const REFERENCE_NOW_MS: i64 = 1_767_225_600_000;
thread_local! {
    /// Where the data set being generated ends: [`REFERENCE_NOW_MS`], or the instant
    /// [`generate_until`] was given while it runs. Generation draws nothing from it, so moving
    /// it moves every generated date by the same amount and changes nothing else.
    static DATA_NOW_MS: Cell<i64> = const { Cell::new(REFERENCE_NOW_MS) };
}

/// "Now" for the data being generated (see [`generate_until`]): no generated date is later.
pub(crate) fn data_now_ms() -> i64 {
    DATA_NOW_MS.with(Cell::get)
}

/// Where `--data-until` puts the end of the generated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataUntil {
    /// [`REFERENCE_NOW_MS`]: the same data on every run (the tests' fixed dates).
    #[default]
    Reference,
    /// The wall clock when the data is generated (start, `POST /__mock/reset`): a demo's
    /// "updated in the last 7 days" finds rows whatever the day.
    Today,
    /// A fixed instant, epoch ms.
    At(i64),
}

impl DataUntil {
    /// Parses `today` or a `YYYY-MM-DD` date (00:00 UTC, as the reference is).
    pub fn parse(v: &str) -> Result<DataUntil, String> {
        if v == "today" {
            return Ok(DataUntil::Today);
        }
        chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(|d| {
                DataUntil::At(
                    d.and_time(chrono::NaiveTime::MIN)
                        .and_utc()
                        .timestamp_millis(),
                )
            })
            .map_err(|_| format!("--data-until: {v:?} is neither `today` nor a YYYY-MM-DD date"))
    }

    /// The instant in epoch ms, reading the wall clock for [`DataUntil::Today`].
    pub fn instant_ms(self) -> i64 {
        match self {
            DataUntil::Reference => REFERENCE_NOW_MS,
            DataUntil::Today => crate::now_ms(),
            DataUntil::At(ms) => ms,
        }
    }
}

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;
/// Generated `created_at` values spread over the two years before [`data_now_ms`].
const HISTORY_MS: i64 = 730 * DAY_MS;
/// Longest gap between creation and last update of generated rows.
const MAX_UPDATE_LAG_MS: i64 = 200 * DAY_MS;
/// Share of rows that copy both timestamps of the previous row exactly (≥ 5% of rows end
/// up in such runs; tests need equal values at millisecond filter boundaries).
const SHARED_TIMESTAMPS_SHARE: f64 = 0.08;
/// Share of rows that copy only the previous row's `created_at`.
const SHARED_CREATED_SHARE: f64 = 0.03;
/// Share of rows never updated after creation (`updated_at == created_at`).
const NEVER_UPDATED_SHARE: f64 = 0.35;

/// Lead statuses accepted on create (reference §4.6).
pub const LEAD_STATUSES: &[&str] = &["open", "closed", "dead", "closed won", "closed lost"];
/// Reward statuses (reference §4.8, including Dub's `scheduled`).
pub const REWARD_STATUSES: &[&str] = &[
    "hold",
    "pending",
    "approved",
    "declined",
    "paid",
    "scheduled",
];
/// Invoice statuses embedded in rewards (reference §4.8).
pub const INVOICE_STATUSES: &[&str] = &[
    "pending",
    "flagged",
    "approved",
    "charge_queued",
    "charge_pending",
    "charge_cancelled",
    "charge_failed",
    "charge_succeeded",
];
/// Webhook event names used in generated subscriptions (v2 dotted style, §4.10).
pub const WEBHOOK_EVENTS: &[&str] = &[
    "partnership.created",
    "partnership.updated",
    "partnership.tags_updated",
    "agreement.accepted",
    "customer.created",
    "customer.updated",
    "transaction.created",
    "deal.created",
];

/// How many objects of each resource to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizes {
    /// Partnerships (at least one is kept so other resources have an owner).
    pub partnerships: usize,
    /// Groups (at least one).
    pub groups: usize,
    /// Customers.
    pub customers: usize,
    /// Deals.
    pub deals: usize,
    /// Leads.
    pub leads: usize,
    /// Transactions (0 when there are no customers).
    pub transactions: usize,
    /// Rewards.
    pub rewards: usize,
    /// Actions.
    pub actions: usize,
    /// Webhooks.
    pub webhooks: usize,
    /// Links per partnership.
    pub links: usize,
}

impl Default for Sizes {
    fn default() -> Self {
        Self {
            partnerships: 60,
            groups: 4,
            customers: 300,
            deals: 120,
            leads: 120,
            transactions: 1200,
            rewards: 800,
            actions: 300,
            webhooks: 5,
            links: 3,
        }
    }
}

impl Sizes {
    /// Names accepted by `--size NAME=N`.
    pub const NAMES: &'static [&'static str] = &[
        "partnerships",
        "groups",
        "customers",
        "deals",
        "leads",
        "transactions",
        "rewards",
        "actions",
        "webhooks",
        "links",
    ];

    /// Sets one size by resource name; false for an unknown name.
    pub fn set(&mut self, name: &str, n: usize) -> bool {
        let slot = match name {
            "partnerships" => &mut self.partnerships,
            "groups" => &mut self.groups,
            "customers" => &mut self.customers,
            "deals" => &mut self.deals,
            "leads" => &mut self.leads,
            "transactions" => &mut self.transactions,
            "rewards" => &mut self.rewards,
            "actions" => &mut self.actions,
            "webhooks" => &mut self.webhooks,
            "links" => &mut self.links,
            _ => return false,
        };
        *slot = n;
        true
    }
}

pub(crate) const FIRST_NAMES: &[&str] = &[
    "Alice", "Bob", "Carmen", "Dmitri", "Zoë", "Åsa", "José", "Chloé", "Liam", "Olivia", "Mia",
    "Łukasz", "Søren", "Fatima", "Wei", "Aarav", "Ólafur", "Amélie", "Noah", "Hannah", "Kenji",
    "Priya", "Mateo", "Ingrid",
];
pub(crate) const LAST_NAMES: &[&str] = &[
    "Smith",
    "García",
    "Müller",
    "Ærøskøbing",
    "O'Brien",
    "Nakamura",
    "Dubois",
    "Kowalski",
    "Rossi",
    "Johansson",
    "Novák",
    "Hernández",
    "van der Berg",
    "Ng",
    "Patel",
    "Nguyễn",
    "Østergaard",
    "Lefèvre",
];
/// Whole names that cannot be split into first/last the Western way.
const SPECIAL_NAMES: &[&str] = &[
    "Zoë Ærøskøbing",
    "山田太郎",
    "Ελένη Παπαδοπούλου",
    "Иван Петров",
    "محمد علي",
];
pub(crate) const COMPANIES: &[&str] = &[
    "Acme Corp",
    "Société Générale Démo",
    "株式会社テスト",
    "Müller & Söhne GmbH",
    "Café ☕ Ltd",
    "O'Reilly Widgets",
    "Ærø Shipping ApS",
    "Globex, Inc.",
    "Initech",
    "Umbrella \"Health\" LLC",
    "São Paulo Têxteis",
    "Kraków Software sp. z o.o.",
];
pub(crate) const EMAIL_DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "mail.example.net",
    "corp.test",
];
pub(crate) const TAGS: &[&str] = &[
    "influencer",
    "agency",
    "top-performer",
    "EMEA",
    "reseller",
    "beta 🚀",
    "ça marche",
];
pub(crate) const COUNTRIES: &[&str] = &["US", "CA", "GB", "DE", "FR", "JP", "DK", "BR", "PL", "IN"];
pub(crate) const GROUP_NAMES: &[&str] = &[
    "Default",
    "Affiliates",
    "Agencies & Resellers",
    "Partenaires Français",
    "Ambassadors 2024",
    "Influencers ✨",
];
pub(crate) const DEAL_STAGES: &[&str] = &[
    "prospecting",
    "qualified",
    "proposal",
    "negotiation",
    "closed_won",
    "closed_lost",
];
pub(crate) const LOST_REASONS: &[&str] =
    &["price", "no decision", "went with competitor", "timing"];
pub(crate) const ACTION_TYPES: &[&str] = &[
    "signup",
    "demo_booked",
    "webinar_attended",
    "trial_started",
    "review_posted",
];
pub(crate) const REWARD_DESCRIPTIONS: &[&str] = &[
    "20% of first-year revenue",
    "Referral bonus",
    "Q3 SPIFF 🎉",
    "Commission — révision",
    "Flat $50 per signup",
];
pub(crate) const LINK_DESTINATIONS: &[&str] = &[
    "https://www.example.com/",
    "https://www.example.com/pricing",
    "https://www.example.com/de/über-uns",
    "https://www.example.com/signup?plan=pro&utm_source=partner",
];
pub(crate) const CATEGORY_KEYS: &[&str] = &["subscription", "one_time", "add_on", "services"];
pub(crate) const PRODUCT_KEYS: &[&str] = &[
    "prod_basic",
    "prod_pro",
    "prod_enterprise",
    "prod_addon_seats",
];
/// Currencies of generated transactions with their weights (percent).
const CURRENCY_WEIGHTS: &[(&str, u64)] = &[
    ("USD", 70),
    ("EUR", 10),
    ("GBP", 8),
    ("CAD", 5),
    ("JPY", 4),
    ("AUD", 3),
];
/// USD cents per minor unit of each currency, in millionths (fixed table, §1.6 allows it).
const USD_RATES_MICRO: &[(&str, i64)] = &[
    ("USD", 1_000_000),
    ("EUR", 1_080_000),
    ("GBP", 1_270_000),
    ("CAD", 730_000),
    ("AUD", 660_000),
    ("CHF", 1_130_000),
    ("JPY", 670_000),
    ("SEK", 95_000),
    ("DKK", 145_000),
    ("INR", 12_000),
];

/// Converts an amount in minor units of `currency` to US cents with the fixed rate table;
/// unknown currencies convert 1:1.
pub fn to_usd_cents(amount: i64, currency: &str) -> i64 {
    let rate = USD_RATES_MICRO
        .iter()
        .find(|(c, _)| *c == currency)
        .map_or(1_000_000, |(_, r)| *r);
    let scaled = i128::from(amount) * i128::from(rate);
    // Round half away from zero.
    let half = if scaled >= 0 { 500_000 } else { -500_000 };
    ((scaled + half) / 1_000_000) as i64
}

/// Lower-cased name with spaces and special characters removed (the group `slug`).
pub fn slugify(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Lower-case ASCII letters and digits of `s` (for generated e-mails and partner keys).
pub(crate) fn ascii_alnum(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `YYYY-MM-DD` of an epoch-ms instant (UTC), for deal `close_date`.
pub fn ymd(ms: i64) -> String {
    utc(ms).format("%Y-%m-%d").to_string()
}

/// The UTC date-time of an epoch-ms instant. Every instant the mock handles (generated
/// data, the wall clock) lies well inside chrono's range of about ±262,000 years.
pub fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("epoch milliseconds within chrono's range")
}

/// Generates `n` (created_at, updated_at) pairs with runs of equal values.
pub(crate) fn timestamps(rng: &mut Rng, n: usize) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(n);
    for i in 0..n {
        if i > 0 && rng.chance(SHARED_TIMESTAMPS_SHARE) {
            out.push(out[i - 1]);
            continue;
        }
        let created = if i > 0 && rng.chance(SHARED_CREATED_SHARE) {
            out[i - 1].0
        } else {
            data_now_ms() - 1 - rng.below(HISTORY_MS as u64) as i64
        };
        out.push((created, updated_after(rng, created)));
    }
    out
}

/// An `updated_at` at or after `created` and not after [`data_now_ms`].
fn updated_after(rng: &mut Rng, created: i64) -> i64 {
    if rng.chance(NEVER_UPDATED_SHARE) {
        return created;
    }
    let room = (data_now_ms() - created).clamp(0, MAX_UPDATE_LAG_MS);
    created + rng.below(room as u64 + 1) as i64
}

pub(crate) fn text(s: impl AsRef<str>) -> Text {
    Text::from(s.as_ref())
}

pub(crate) fn shared_map(v: Value) -> JsonMap {
    match v {
        Value::Object(m) => Arc::new(m),
        _ => Arc::new(Map::new()),
    }
}

/// A custom field object as embedded in `fields` arrays (reference §4 "Field objects").
fn field_object(api_name: &str, name: &str, kind: &str, value: &str, position: i64) -> Value {
    json!({
        "api_name": api_name,
        "internal_name": api_name,
        "field_key": format!("fld_{}", ascii_alnum(api_name)),
        "name": name,
        "type": kind,
        "external_type": "string",
        "help_text": "",
        "placeholder_text": "",
        "position": position,
        "required": false,
        "hidden": false,
        "value": value,
        "options": {},
        "read_only": false,
    })
}

/// Shared (mdata, fields) pairs: most rows have no custom fields; the rest share a few.
pub(crate) fn custom_field_pool() -> Vec<(JsonMap, JsonList)> {
    let empty = (Arc::new(Map::new()), Arc::new(Vec::new()));
    let mk = |pairs: &[(&str, &str, &str, &str)]| {
        let mut m = Map::new();
        let mut f = Vec::new();
        for (i, (api, name, kind, value)) in pairs.iter().enumerate() {
            m.insert((*api).to_string(), Value::String((*value).to_string()));
            f.push(field_object(api, name, kind, value, i as i64));
        }
        (Arc::new(m), Arc::new(f))
    };
    vec![
        empty.clone(),
        empty.clone(),
        empty,
        mk(&[
            ("plan", "Plan", "picklist", "pro"),
            ("company_size", "Company size", "picklist", "11-50"),
        ]),
        mk(&[("plan", "Plan", "picklist", "starter")]),
        mk(&[
            ("signup_source", "Signup source", "input", "webinar"),
            (
                "notes",
                "Notes",
                "input",
                "Prefers e-mail ✉ — « très bien »",
            ),
        ]),
    ]
}

pub(crate) fn person_name(rng: &mut Rng) -> (Option<String>, Option<String>) {
    if rng.chance(0.08) {
        let full = *rng.pick(SPECIAL_NAMES);
        return match full.split_once(' ') {
            Some((f, l)) => (Some(f.to_string()), Some(l.to_string())),
            None => (Some(full.to_string()), None),
        };
    }
    (
        Some(rng.pick(FIRST_NAMES).to_string()),
        Some(rng.pick(LAST_NAMES).to_string()),
    )
}

pub(crate) fn join_name(first: &Option<String>, last: &Option<String>) -> Option<String> {
    match (first, last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(f), None) => Some(f.clone()),
        (None, Some(l)) => Some(l.clone()),
        (None, None) => None,
    }
}

pub(crate) fn weighted_currency(rng: &mut Rng) -> &'static str {
    let total: u64 = CURRENCY_WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut roll = rng.below(total);
    for (c, w) in CURRENCY_WEIGHTS {
        if roll < *w {
            return c;
        }
        roll -= w;
    }
    "USD"
}

/// Stores a currency code as three upper-case bytes.
pub fn currency_bytes(c: &str) -> [u8; 3] {
    let b = c.as_bytes();
    [
        b[0].to_ascii_uppercase(),
        b[1].to_ascii_uppercase(),
        b[2].to_ascii_uppercase(),
    ]
}

/// Generates the complete data set, ending at [`REFERENCE_NOW_MS`].
pub fn generate(seed: u64, sizes: &Sizes) -> Store {
    generate_until(seed, sizes, REFERENCE_NOW_MS)
}

/// The data set of [`generate`] with every generated date moved by `until_ms -
/// REFERENCE_NOW_MS`, so that it ends at `until_ms` (`--data-until`).
pub fn generate_until(seed: u64, sizes: &Sizes, until_ms: i64) -> Store {
    /// Puts the previous "now" back, even when generation panics.
    struct Restore(i64);
    impl Drop for Restore {
        fn drop(&mut self) {
            DATA_NOW_MS.with(|n| n.set(self.0));
        }
    }
    let _restore = Restore(DATA_NOW_MS.with(|n| n.replace(until_ms)));
    generate_data(seed, sizes)
}

fn generate_data(seed: u64, sizes: &Sizes) -> Store {
    let catalog = gen_catalog(seed);
    let groups = groups::generate(seed, sizes.groups.max(1));
    let partnerships = partnerships::generate(seed, sizes.partnerships.max(1), &groups, &catalog);
    let customers = customers::generate(seed, sizes.customers, &partnerships);
    let deals = deals::generate(seed, sizes.deals, &partnerships, &groups, customers.len());
    let leads = leads::generate(seed, sizes.leads, &partnerships);
    let transactions = transactions::generate(seed, sizes.transactions, &customers);
    let actions = actions::generate(seed, sizes.actions, &partnerships, &customers);
    let rewards = rewards::generate(
        seed,
        sizes.rewards,
        &partnerships,
        &customers,
        &transactions,
        &actions,
        &catalog,
    );
    let webhooks = webhooks::generate(seed, sizes.webhooks);
    let links = links::generate(seed, sizes.links, &partnerships);

    let mut partnerships = partnerships;
    for c in &customers {
        partnerships[c.partnership as usize].customer_count += 1;
    }

    let mut store = Store {
        groups: Table::new(groups),
        partnerships: Table::new(partnerships),
        customers: Table::new(customers),
        deals: Table::new(deals),
        leads: Table::new(leads),
        transactions: Table::new(transactions),
        rewards: Table::new(rewards),
        actions: Table::new(actions),
        webhooks: Table::new(webhooks),
        links: Table::new(links),
        catalog,
        customer_keys: HashMap::new(),
        partner_keys: HashMap::new(),
        rng: Rng::derived(seed, "api-writes"),
    };
    store.reindex();
    store
}

fn gen_catalog(seed: u64) -> Catalog {
    let mut rng = Rng::derived(seed, "catalog");
    let tiers = ["Bronze", "Silver", "Gold"]
        .iter()
        .map(|n| Tier {
            key: text(rng.key("tier_")),
            name: text(n),
        })
        .collect();
    let offers = [
        "20% recurring commission for 12 months",
        "$50 per qualified signup",
        "Double commission — Black Friday",
    ]
    .iter()
    .map(|d| Offer {
        key: text(rng.key("offr_")),
        description: text(d),
    })
    .collect();
    let triggers = (0..3).map(|_| text(rng.key("trig_"))).collect();
    Catalog {
        tiers,
        offers,
        triggers,
        company_key: text(rng.key("co_")),
        company_name: text("Mock Vendor Inc."),
    }
}

/// Partner key of the built-in test partner every program has (reference §1.2).
pub const TEST_PARTNER_KEY: &str = "gstest";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Record;

    #[test]
    fn generation_is_deterministic() {
        let a = generate(42, &Sizes::default());
        let b = generate(42, &Sizes::default());
        let keys = |s: &Store| -> Vec<String> {
            s.transactions
                .iter()
                .map(|(_, t)| t.key.to_string())
                .collect()
        };
        assert_eq!(keys(&a), keys(&b));
        let c = generate(43, &Sizes::default());
        assert_ne!(keys(&a), keys(&c));
    }

    #[test]
    fn default_sizes_are_honoured() {
        let s = generate(42, &Sizes::default());
        assert_eq!(s.partnerships.len(), 60);
        assert_eq!(s.groups.len(), 4);
        assert_eq!(s.customers.len(), 300);
        assert_eq!(s.transactions.len(), 1200);
        assert_eq!(s.rewards.len(), 800);
        assert_eq!(s.links.len(), 180);
        assert_eq!(s.webhooks.len(), 5);
    }

    #[test]
    fn timestamps_have_shared_runs_and_monotone_updates() {
        let s = generate(42, &Sizes::default());
        let mut counts: HashMap<(i64, i64), usize> = HashMap::new();
        for (_, c) in s.customers.iter() {
            assert!(c.updated_at >= c.created_at);
            assert!(c.created_at < REFERENCE_NOW_MS);
            assert!(c.created_at >= REFERENCE_NOW_MS - HISTORY_MS - 1);
            *counts.entry((c.created_at, c.updated_at)).or_default() += 1;
        }
        let shared: usize = counts.values().filter(|&&n| n > 1).sum();
        assert!(
            shared * 20 >= s.customers.len(),
            "only {shared} rows share timestamps"
        );
    }

    #[test]
    fn data_until_moves_every_date_by_the_same_amount_and_nothing_else() {
        let delta = 333 * DAY_MS + 12_345;
        let a = generate(42, &Sizes::default());
        let b = generate_until(42, &Sizes::default(), REFERENCE_NOW_MS + delta);
        assert_eq!(data_now_ms(), REFERENCE_NOW_MS, "the reference is restored");
        let customers = |s: &Store| -> Vec<(String, i64, i64)> {
            s.customers
                .iter()
                .map(|(_, c)| (c.key.to_string(), c.created_at, c.updated_at))
                .collect()
        };
        let moved: Vec<_> = customers(&a)
            .into_iter()
            .map(|(k, c, u)| (k, c + delta, u + delta))
            .collect();
        assert_eq!(customers(&b), moved);
        for ((_, x), (_, y)) in a.links.iter().zip(b.links.iter()) {
            assert_eq!(
                (x.key.to_string(), x.created_at + delta),
                (y.key.to_string(), y.created_at)
            );
        }
        for ((_, x), (_, y)) in a.partnerships.iter().zip(b.partnerships.iter()) {
            assert_eq!(x.joined_at + delta, y.joined_at);
        }
        let latest = b
            .transactions
            .iter()
            .map(|(_, t)| t.updated_at)
            .max()
            .unwrap();
        assert!(latest <= REFERENCE_NOW_MS + delta);
    }

    #[test]
    fn relationships_point_to_real_rows() {
        let s = generate(7, &Sizes::default());
        for (_, t) in s.transactions.iter() {
            assert!((t.customer as usize) < s.customers.len());
            assert_eq!(
                t.amount_usd,
                to_usd_cents(t.amount, crate::model::currency_str(&t.currency))
            );
        }
        for (_, c) in s.customers.iter() {
            assert!((c.partnership as usize) < s.partnerships.len());
        }
        let total: u32 = s.partnerships.iter().map(|(_, p)| p.customer_count).sum();
        assert_eq!(total as usize, s.customers.live_len());
        assert!(s.partner_keys.contains_key(TEST_PARTNER_KEY));
        for (_, r) in s.rewards.iter() {
            if let Some(t) = r.transaction {
                assert_eq!(r.customer, Some(s.transactions.row(t).customer));
            }
        }
        assert!(s.transactions.iter().any(|(_, t)| t.amount < 0));
        assert!(s.transactions.iter().any(|(_, t)| &t.currency != b"USD"));
        assert!(s.customers.iter().any(|(_, c)| c.email.is_none()));
        assert!(s.customers.iter().any(|(_, c)| c.source_key.is_absent()));
        assert!(s.transactions.iter().any(|(_, t)| t.key().contains(' ')));
    }

    #[test]
    fn helpers() {
        assert_eq!(ymd(REFERENCE_NOW_MS), "2026-01-01");
        assert_eq!(ymd(0), "1970-01-01");
        assert_eq!(ymd(951_782_400_000), "2000-02-29");
        assert_eq!(
            utc(REFERENCE_NOW_MS).to_rfc3339(),
            "2026-01-01T00:00:00+00:00"
        );
        assert_eq!(slugify("Agencies & Resellers"), "agenciesresellers");
        assert_eq!(slugify("Partenaires Français"), "partenairesfrançais");
        assert_eq!(to_usd_cents(1000, "USD"), 1000);
        assert_eq!(to_usd_cents(1000, "EUR"), 1080);
        assert_eq!(to_usd_cents(-1000, "EUR"), -1080);
        assert_eq!(to_usd_cents(1000, "XYZ"), 1000);
        assert_eq!(currency_bytes("eur"), *b"EUR");
    }
}
