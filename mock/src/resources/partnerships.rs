//! Partnerships: partners in a group, with tier, team, manager and address.
//!
//! Here, in this order: the record, its generation, its JSON rendering, its list endpoint
//! and filters, its writes.

use crate::data::{
    COUNTRIES, DAY_MS, EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, TAGS, TEST_PARTNER_KEY, ascii_alnum,
    custom_field_pool, join_name, person_name, slugify, text, timestamps,
};
use crate::envelope::ApiError;
use crate::http::Response;
use crate::model::{JsonList, JsonMap, Opt, RowId, Text, impl_record};
use crate::render::{EmptyObject, absent};
use crate::resources::groups;
use crate::resources::groups::Group;
use crate::rng::Rng;
use crate::routes::Ctx;
use crate::routes::lists::{ALL_DATES, Filters, respond};
use crate::routes::writes::{bumped, duplicate, fresh_key, group_by_key, max_len, opt_text};
use crate::store::{Catalog, Store};
use crate::validate::{self, Body, py_repr};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::Arc;

// ---------------------------------------------------------------- Record

/// A partner tier (`tier_...`), referenced by `tier_key` on partnership update.
#[derive(Debug, Clone, Serialize)]
pub struct Tier {
    /// `tier_...`
    pub key: Text,
    /// Display name.
    pub name: Text,
}

/// A partner team as embedded in partnerships.
#[derive(Debug, Clone, Serialize)]
pub struct Team {
    /// `stck_...`
    pub key: Text,
    /// Display name.
    pub name: Text,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
}

/// The partner manager embedded in partnerships.
#[derive(Debug, Clone, Serialize)]
pub struct Manager {
    /// Manager e-mail.
    pub manager_email: Option<Text>,
    /// Manager name.
    pub manager_name: Option<Text>,
}

/// A partnership's postal address (only the country is modelled).
#[derive(Debug, Clone, Serialize)]
pub struct Address {
    /// ISO country code, sometimes unknown.
    pub country: Option<Text>,
}

/// A partner's membership of the program (`part_...`).
#[derive(Debug, Clone)]
pub struct Partnership {
    /// `part_...`
    pub key: Text,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// Vendor-visible partner identifier, unique; changeable through PATCH.
    pub partner_key: Text,
    /// Partner e-mail, unique.
    pub email: Text,
    /// May be null or absent.
    pub first_name: Opt<Text>,
    /// May be null or absent.
    pub last_name: Opt<Text>,
    /// Row of the partnership's group.
    pub group: RowId,
    /// Epoch ms when the partner joined.
    pub joined_at: i64,
    /// Partner manager, or null.
    pub manager: Option<Manager>,
    /// Custom field values.
    pub mdata: JsonMap,
    /// Tags.
    pub tags: Vec<Text>,
    /// The partner's team.
    pub team: Team,
    /// Row of the tier in [`crate::store::Catalog::tiers`], or null/absent.
    pub tier: Opt<usize>,
    /// Address, null, or absent.
    pub address: Opt<Address>,
    /// Custom field objects.
    pub fields: JsonList,
    /// Deprecated mirror of custom fields.
    pub field_data: JsonMap,
    /// Write-only in practice: comes back `{}`.
    pub meta: JsonMap,
    /// Not emitted; what the `approved_status` filter matches.
    pub approved_status: &'static str,
    /// Live customers attributed to this partnership (`stats.CUSTOMER_COUNT`).
    pub customer_count: u32,
    /// Clicks recorded (`stats.CLICK_COUNT`); static test data.
    pub click_count: u32,
    /// Archived.
    pub deleted: bool,
}

impl_record!(Partnership);

// ---------------------------------------------------------------- Generation

/// Generates the partnerships from `seed` (deterministic: same seed, same rows).
pub(crate) fn generate(
    seed: u64,
    n: usize,
    groups: &[Group],
    catalog: &Catalog,
) -> Vec<Partnership> {
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

// ---------------------------------------------------------------- Rendering

/// Upper-case counters embedded in partnerships.
#[derive(Serialize)]
#[allow(non_snake_case)]
struct StatsView {
    CUSTOMER_COUNT: u32,
    CLICK_COUNT: u32,
}

/// A partnership.
#[derive(Serialize)]
pub struct PartnershipView<'a> {
    key: &'a Text,
    created_at: i64,
    updated_at: i64,
    partner_key: &'a Text,
    email: &'a Text,
    #[serde(skip_serializing_if = "absent")]
    first_name: &'a Opt<Text>,
    #[serde(skip_serializing_if = "absent")]
    last_name: &'a Opt<Text>,
    group: groups::GroupView<'a>,
    joined_at: i64,
    manager: &'a Option<Manager>,
    mdata: &'a JsonMap,
    stats: StatsView,
    tags: &'a [Text],
    team: &'a Team,
    #[serde(skip_serializing_if = "Opt::is_absent")]
    tier: Opt<&'a Tier>,
    #[serde(skip_serializing_if = "absent")]
    address: &'a Opt<Address>,
    fields: &'a JsonList,
    field_data: &'a JsonMap,
    meta: EmptyObject,
}

/// Renders a partnership.
pub fn render<'a>(s: &'a Store, p: &'a Partnership) -> PartnershipView<'a> {
    PartnershipView {
        key: &p.key,
        created_at: p.created_at,
        updated_at: p.updated_at,
        partner_key: &p.partner_key,
        email: &p.email,
        first_name: &p.first_name,
        last_name: &p.last_name,
        group: groups::render(s.groups.row(p.group)),
        joined_at: p.joined_at,
        manager: &p.manager,
        mdata: &p.mdata,
        stats: StatsView {
            CUSTOMER_COUNT: p.customer_count,
            CLICK_COUNT: p.click_count,
        },
        tags: &p.tags,
        team: &p.team,
        tier: match p.tier {
            Opt::Absent => Opt::Absent,
            Opt::Null => Opt::Null,
            Opt::Some(i) => Opt::Some(&s.catalog.tiers[i]),
        },
        address: &p.address,
        fields: &p.fields,
        field_data: &p.field_data,
        meta: EmptyObject,
    }
}

// ---------------------------------------------------------------- Listing

/// `GET /api/v2/partnerships` with its filters.
pub(crate) fn list(ctx: &Ctx, s: &Store) -> Result<Response, ApiError> {
    let f = Filters::new(ctx)
        .on("partner_key", |p: &Partnership, v| &*p.partner_key == v)
        .on("approved_status", |p, v| p.approved_status == v)
        .on("group_key", |p, v| &*s.groups.row(p.group).key == v);
    respond(
        ctx,
        &s.partnerships,
        ALL_DATES,
        f.combined(),
        |p| render(s, p),
        "Retrieved partnerships successfully",
    )
}

// ---------------------------------------------------------------- Writes

/// `POST /api/v2/partnerships`: validates the body and inserts the new row.
pub(crate) fn create(s: &mut Store, b: Body, now: i64) -> Result<RowId, ApiError> {
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

/// `PATCH /api/v2/partnerships/{id}`: validates the body and applies it to `row`.
pub(crate) fn update(s: &mut Store, row: RowId, b: Body, now: i64) -> Result<(), ApiError> {
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

/// Soft delete; the `partner_key` becomes free again.
pub(crate) fn delete(s: &mut Store, row: RowId) {
    s.partnerships.delete(row);
    let k = s.partnerships.row(row).partner_key.clone();
    if s.partner_keys.get(&k) == Some(&row) {
        s.partner_keys.remove(&k);
    }
}
