//! Deterministic generation of the mock's data set.
//!
//! Everything derives from `--seed` and a fixed reference time (not the wall clock), so
//! two runs with the same options serve byte-identical data. The data is deliberately
//! awkward where a mapping layer can go wrong: nulls and missing keys, non-ASCII text,
//! refunds, several currencies, keys that need percent-encoding, and runs of rows that
//! share the exact same `created_at`/`updated_at` millisecond (filter boundary tests).

use crate::model::{
    Action, Address, Customer, Deal, Features, Group, Invoice, JsonList, JsonMap, Lead, Link,
    Manager, Offer, Opt, Partnership, Reward, RowId, Team, Text, Tier, Transaction, Webhook,
};
use crate::rng::Rng;
use crate::store::{Catalog, Store, Table};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// "Now" for generated data: 2026-01-01T00:00:00Z (a unit test checks it with chrono).
/// Fixed so data is reproducible.
pub const REFERENCE_NOW_MS: i64 = 1_767_225_600_000;
/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;
/// Generated `created_at` values spread over the two years before [`REFERENCE_NOW_MS`].
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

const FIRST_NAMES: &[&str] = &[
    "Alice", "Bob", "Carmen", "Dmitri", "Zoë", "Åsa", "José", "Chloé", "Liam", "Olivia", "Mia",
    "Łukasz", "Søren", "Fatima", "Wei", "Aarav", "Ólafur", "Amélie", "Noah", "Hannah", "Kenji",
    "Priya", "Mateo", "Ingrid",
];
const LAST_NAMES: &[&str] = &[
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
const COMPANIES: &[&str] = &[
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
const EMAIL_DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "mail.example.net",
    "corp.test",
];
const TAGS: &[&str] = &[
    "influencer",
    "agency",
    "top-performer",
    "EMEA",
    "reseller",
    "beta 🚀",
    "ça marche",
];
const COUNTRIES: &[&str] = &["US", "CA", "GB", "DE", "FR", "JP", "DK", "BR", "PL", "IN"];
const GROUP_NAMES: &[&str] = &[
    "Default",
    "Affiliates",
    "Agencies & Resellers",
    "Partenaires Français",
    "Ambassadors 2024",
    "Influencers ✨",
];
const DEAL_STAGES: &[&str] = &[
    "prospecting",
    "qualified",
    "proposal",
    "negotiation",
    "closed_won",
    "closed_lost",
];
const LOST_REASONS: &[&str] = &["price", "no decision", "went with competitor", "timing"];
const ACTION_TYPES: &[&str] = &[
    "signup",
    "demo_booked",
    "webinar_attended",
    "trial_started",
    "review_posted",
];
const REWARD_DESCRIPTIONS: &[&str] = &[
    "20% of first-year revenue",
    "Referral bonus",
    "Q3 SPIFF 🎉",
    "Commission — révision",
    "Flat $50 per signup",
];
const LINK_DESTINATIONS: &[&str] = &[
    "https://www.example.com/",
    "https://www.example.com/pricing",
    "https://www.example.com/de/über-uns",
    "https://www.example.com/signup?plan=pro&utm_source=partner",
];
const CATEGORY_KEYS: &[&str] = &["subscription", "one_time", "add_on", "services"];
const PRODUCT_KEYS: &[&str] = &[
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
fn ascii_alnum(s: &str) -> String {
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
fn timestamps(rng: &mut Rng, n: usize) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(n);
    for i in 0..n {
        if i > 0 && rng.chance(SHARED_TIMESTAMPS_SHARE) {
            out.push(out[i - 1]);
            continue;
        }
        let created = if i > 0 && rng.chance(SHARED_CREATED_SHARE) {
            out[i - 1].0
        } else {
            REFERENCE_NOW_MS - 1 - rng.below(HISTORY_MS as u64) as i64
        };
        out.push((created, updated_after(rng, created)));
    }
    out
}

/// An `updated_at` at or after `created` and not after the reference time.
fn updated_after(rng: &mut Rng, created: i64) -> i64 {
    if rng.chance(NEVER_UPDATED_SHARE) {
        return created;
    }
    let room = (REFERENCE_NOW_MS - created).clamp(0, MAX_UPDATE_LAG_MS);
    created + rng.below(room as u64 + 1) as i64
}

fn text(s: impl AsRef<str>) -> Text {
    Text::from(s.as_ref())
}

fn shared_map(v: Value) -> JsonMap {
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
fn custom_field_pool() -> Vec<(JsonMap, JsonList)> {
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

fn person_name(rng: &mut Rng) -> (Option<String>, Option<String>) {
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

fn join_name(first: &Option<String>, last: &Option<String>) -> Option<String> {
    match (first, last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(f), None) => Some(f.clone()),
        (None, Some(l)) => Some(l.clone()),
        (None, None) => None,
    }
}

fn weighted_currency(rng: &mut Rng) -> &'static str {
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

/// Generates the complete data set.
pub fn generate(seed: u64, sizes: &Sizes) -> Store {
    let catalog = gen_catalog(seed);
    let groups = gen_groups(seed, sizes.groups.max(1));
    let partnerships = gen_partnerships(seed, sizes.partnerships.max(1), &groups, &catalog);
    let customers = gen_customers(seed, sizes.customers, &partnerships);
    let deals = gen_deals(seed, sizes.deals, &partnerships, &groups, customers.len());
    let leads = gen_leads(seed, sizes.leads, &partnerships);
    let transactions = gen_transactions(seed, sizes.transactions, &customers);
    let actions = gen_actions(seed, sizes.actions, &partnerships, &customers);
    let rewards = gen_rewards(
        seed,
        sizes.rewards,
        &partnerships,
        &customers,
        &transactions,
        &actions,
        &catalog,
    );
    let webhooks = gen_webhooks(seed, sizes.webhooks);
    let links = gen_links(seed, sizes.links, &partnerships);

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

fn gen_groups(seed: u64, n: usize) -> Vec<Group> {
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

/// Partner key of the built-in test partner every program has (reference §1.2).
pub const TEST_PARTNER_KEY: &str = "gstest";

fn gen_partnerships(seed: u64, n: usize, groups: &[Group], catalog: &Catalog) -> Vec<Partnership> {
    let mut rng = Rng::derived(seed, "partnerships");
    let times = timestamps(&mut rng, n);
    let pool = custom_field_pool();
    let mut used_keys = HashSet::new();
    (0..n)
        .map(|i| {
            let (created_at, updated_at) = times[i];
            let (first, last) = person_name(&mut rng);
            let partner_key = if i == 1 {
                TEST_PARTNER_KEY.to_string()
            } else {
                loop {
                    let base = ascii_alnum(&format!(
                        "{}{}",
                        first.as_deref().unwrap_or(""),
                        last.as_deref().unwrap_or("")
                    ));
                    let base = if base.is_empty() {
                        "partner".into()
                    } else {
                        base
                    };
                    let k = format!("{base}{}", rng.range(100, 999));
                    if !used_keys.contains(&k) && k != TEST_PARTNER_KEY {
                        break k;
                    }
                }
            };
            used_keys.insert(partner_key.clone());
            let email = format!("{partner_key}@partners.{}", rng.pick(EMAIL_DOMAINS));
            let group = if i == 0 || rng.chance(0.6) {
                0
            } else {
                rng.below(groups.len() as u64) as RowId
            };
            let display = join_name(&first, &last).unwrap_or_else(|| partner_key.clone());
            let first_name = if rng.chance(0.05) {
                Opt::Null
            } else {
                Opt::from(first.map(text))
            };
            let last_name = if rng.chance(0.03) {
                Opt::Absent
            } else {
                Opt::from(last.map(text))
            };
            let manager = rng.chance(0.7).then(|| Manager {
                manager_email: Some(text(format!("manager{}@vendor.example.com", rng.below(5)))),
                manager_name: rng.chance(0.9).then(|| {
                    text(format!(
                        "{} {}",
                        rng.pick(FIRST_NAMES),
                        rng.pick(LAST_NAMES)
                    ))
                }),
            });
            let tags = (0..rng.below(4))
                .map(|_| text(rng.pick(TAGS)))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect::<Vec<_>>();
            let mut tags = tags;
            tags.sort();
            let tier = if rng.chance(0.6) {
                Opt::Some(rng.below(catalog.tiers.len() as u64) as usize)
            } else {
                Opt::Null
            };
            let address = match rng.below(20) {
                0..=13 => Opt::Some(Address {
                    country: (!rng.chance(0.1)).then(|| text(rng.pick(COUNTRIES))),
                }),
                14..=16 => Opt::Null,
                _ => Opt::Absent,
            };
            let (mdata, fields) = rng.pick(&pool).clone();
            let approved_status = if i == 1 {
                "approved"
            } else {
                match rng.below(20) {
                    0..=16 => "approved",
                    17 | 18 => "pending",
                    _ => "declined",
                }
            };
            Partnership {
                key: text(rng.key("part_")),
                created_at,
                updated_at,
                partner_key: text(&partner_key),
                email: text(email),
                first_name,
                last_name,
                group,
                joined_at: (created_at + rng.below(3 * DAY_MS as u64) as i64)
                    .min(updated_at.max(created_at)),
                manager,
                field_data: mdata.clone(),
                mdata,
                tags,
                team: Team {
                    key: text(rng.key("stck_")),
                    name: text(display),
                    created_at,
                    updated_at: created_at,
                },
                tier,
                address,
                fields,
                meta: Arc::new(Map::new()),
                approved_status,
                customer_count: 0,
                click_count: rng.below(5000) as u32,
                deleted: false,
            }
        })
        .collect()
}

fn gen_customers(seed: u64, n: usize, partnerships: &[Partnership]) -> Vec<Customer> {
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

fn team_value(p: &Partnership) -> Arc<Value> {
    Arc::new(json!({
        "key": p.team.key.as_ref(),
        "name": p.team.name.as_ref(),
        "created_at": p.team.created_at,
        "updated_at": p.team.updated_at,
    }))
}

fn gen_deals(
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

fn gen_leads(seed: u64, n: usize, partnerships: &[Partnership]) -> Vec<Lead> {
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

fn gen_transactions(seed: u64, n: usize, customers: &[Customer]) -> Vec<Transaction> {
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

fn gen_actions(
    seed: u64,
    n: usize,
    partnerships: &[Partnership],
    customers: &[Customer],
) -> Vec<Action> {
    let mut rng = Rng::derived(seed, "actions");
    let times = timestamps(&mut rng, n);
    (0..n)
        .map(|i| {
            let (created_at, updated_at) = times[i];
            let (partnership, customer, target_type, target_key) =
                if !customers.is_empty() && rng.chance(0.7) {
                    let c = rng.below(customers.len() as u64) as RowId;
                    let cust = &customers[c as usize];
                    (cust.partnership, Some(c), "customer", cust.key.clone())
                } else {
                    let p = rng.below(partnerships.len() as u64) as RowId;
                    (
                        p,
                        None,
                        "partnership",
                        partnerships[p as usize].partner_key.clone(),
                    )
                };
            Action {
                key: text(rng.key("act_")),
                created_at,
                updated_at,
                action_type: text(rng.pick(ACTION_TYPES)),
                value: if rng.chance(0.8) { 1 } else { rng.range(2, 5) },
                partnership,
                customer,
                target_type,
                target_key,
                external_key: match rng.below(5) {
                    0 | 1 => Opt::Some(text(format!("evt_{}", 50_000 + i))),
                    2 | 3 => Opt::Null,
                    _ => Opt::Absent,
                },
                deleted: false,
            }
        })
        .collect()
}

fn gen_rewards(
    seed: u64,
    n: usize,
    partnerships: &[Partnership],
    customers: &[Customer],
    transactions: &[Transaction],
    actions: &[Action],
    catalog: &Catalog,
) -> Vec<Reward> {
    let mut rng = Rng::derived(seed, "rewards");
    let times = timestamps(&mut rng, n);
    let status_weights: &[(&str, u64)] = &[
        ("hold", 10),
        ("pending", 25),
        ("approved", 25),
        ("declined", 8),
        ("paid", 30),
        ("scheduled", 2),
    ];
    (0..n)
        .map(|i| {
            let (created_at, updated_at) = times[i];
            let roll = rng.below(100);
            let (amount, customer, partnership, transaction, action) =
                if roll < 60 && !transactions.is_empty() {
                    let t = rng.below(transactions.len() as u64) as RowId;
                    let tx = &transactions[t as usize];
                    let c = tx.customer;
                    (
                        tx.amount_usd / 5,
                        Some(c),
                        Some(customers[c as usize].partnership),
                        Some(t),
                        None,
                    )
                } else if roll < 85 && !actions.is_empty() {
                    let a = rng.below(actions.len() as u64) as RowId;
                    let act = &actions[a as usize];
                    (
                        rng.range(500, 5000) * act.value,
                        act.customer,
                        Some(act.partnership),
                        None,
                        Some(a),
                    )
                } else {
                    (
                        rng.range(1000, 20_000),
                        None,
                        Some(rng.below(partnerships.len() as u64) as RowId),
                        None,
                        None,
                    )
                };
            let reward_status = {
                let mut r = rng.below(100);
                let mut chosen = "pending";
                for (s, w) in status_weights {
                    if r < *w {
                        chosen = s;
                        break;
                    }
                    r -= w;
                }
                chosen
            };
            let invoice =
                (matches!(reward_status, "approved" | "paid") && rng.chance(0.6)).then(|| {
                    let status = if reward_status == "paid" && rng.chance(0.8) {
                        "charge_succeeded"
                    } else {
                        *rng.pick(INVOICE_STATUSES)
                    };
                    Box::new(Invoice {
                        key: text(rng.key("inv_")),
                        status,
                        payment_date: (status == "charge_succeeded").then(|| {
                            (created_at + rng.range(1, 40) * DAY_MS).min(REFERENCE_NOW_MS)
                        }),
                    })
                });
            Reward {
                key: text(rng.key("rwrd_")),
                created_at,
                updated_at,
                amount,
                currency: currency_bytes(if rng.chance(0.05) { "EUR" } else { "USD" }),
                description: rng.chance(0.8).then(|| text(rng.pick(REWARD_DESCRIPTIONS))),
                reward_status,
                action,
                customer,
                invoice,
                offer: rng
                    .chance(0.7)
                    .then(|| rng.below(catalog.offers.len() as u64) as usize),
                partnership,
                transaction,
                trigger: match rng.below(20) {
                    0..=2 => Opt::Absent,
                    3..=7 => Opt::Null,
                    _ => Opt::Some(rng.below(catalog.triggers.len() as u64) as usize),
                },
                deleted: false,
            }
        })
        .collect()
}

fn gen_webhooks(seed: u64, n: usize) -> Vec<Webhook> {
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

fn gen_links(seed: u64, per_partnership: usize, partnerships: &[Partnership]) -> Vec<Link> {
    let mut rng = Rng::derived(seed, "links");
    let mut out = Vec::with_capacity(per_partnership * partnerships.len());
    for (p, part) in partnerships.iter().enumerate() {
        for j in 0..per_partnership {
            let created_at =
                (part.created_at + rng.below(30 * DAY_MS as u64) as i64).min(REFERENCE_NOW_MS);
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
