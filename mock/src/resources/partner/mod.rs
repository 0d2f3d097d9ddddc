//! The Partner API's side of the mock (reference §1.2, §4.11–§4.14, §6 #15–#17): what a
//! partner (an agency or affiliate earning from several programs) reads with its Bearer
//! `api_key`, as a data set of its own.
//!
//! The Partner API shares the host and several paths with the Vendor API
//! (`/v2/customers`, `/v2/transactions`, `/v2/rewards`, `/v2/partnerships`, `/v2/actions`)
//! but answers with other shapes and filters, so the router tells the two apart by the
//! `Authorization` scheme, not by the path: Bearer is the Partner API, Basic the Vendor API
//! (a Bearer token on a vendor-only path is a 401, §1.2).
//!
//! The reference documents no Partner-API writes, so everything here is read-only: one file
//! per resource holds its generation, its equality filters and its date filters; items are
//! stored as the JSON object they are rendered as ([`Item`]), since nothing ever changes them.

pub mod actions;
pub mod customers;
pub mod links;
pub mod marketplace_programs;
pub mod partnerships;
pub mod payouts;
pub mod rewards;
pub mod transactions;

use crate::data::COMPANIES;
use crate::model::{Text, impl_record};
use crate::rng::Rng;
use crate::routes::lists::DateFilters;
use crate::store::Table;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A Partner API object: its list-engine columns and the JSON it is rendered as (which
/// carries `key`, `created_at` and `updated_at` too).
#[derive(Debug, Clone)]
pub struct Item {
    /// `key`.
    pub key: Text,
    /// Epoch ms; orders the list.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// Never set: the Partner API is read-only here; kept for the [`crate::model::Record`]
    /// contract.
    pub deleted: bool,
    /// The object as rendered.
    pub json: Arc<Map<String, Value>>,
}

impl_record!(Item);

/// Builds an item from its fields; `key`, `created_at` and `updated_at` are added.
pub(crate) fn item(key: String, created_at: i64, updated_at: i64, fields: Value) -> Item {
    let mut json = match fields {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    json.insert("key".into(), Value::from(key.as_str()));
    json.insert("created_at".into(), Value::from(created_at));
    json.insert("updated_at".into(), Value::from(updated_at));
    Item {
        key: Text::from(key),
        created_at,
        updated_at,
        deleted: false,
        json: Arc::new(json),
    }
}

/// An equality filter of a Partner list: query parameter → what it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// `param=v` keeps items whose string field equals `v`.
    Field(&'static str, &'static str),
    /// `param=v` keeps items whose `object.field` equals `v` (`company_key` → `company.key`).
    Nested(&'static str, &'static str, &'static str),
    /// `param=v` keeps items whose array field contains `v` (programs' `category`).
    Contains(&'static str, &'static str),
}

impl Filter {
    /// The query parameter.
    pub fn param(self) -> &'static str {
        match self {
            Filter::Field(p, _) | Filter::Nested(p, _, _) | Filter::Contains(p, _) => p,
        }
    }

    /// Whether `item` passes with the parameter's value `v`.
    pub fn matches(self, item: &Map<String, Value>, v: &str) -> bool {
        match self {
            Filter::Field(_, f) => item.get(f).and_then(Value::as_str) == Some(v),
            Filter::Nested(_, o, f) => {
                item.get(o).and_then(|x| x.get(f)).and_then(Value::as_str) == Some(v)
            }
            Filter::Contains(_, f) => item
                .get(f)
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(v))),
        }
    }
}

/// The Partner API's list endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnerResource {
    /// `GET /v2/payouts` (§4.13).
    Payouts,
    /// `GET /v2/marketplace/programs`, `GET /v2/marketplace/programs/{company_key}` (§4.14).
    MarketplacePrograms,
    /// `GET /v2/links`, flat (§4.11).
    Links,
    /// The partner's referred customers.
    Customers,
    /// Transactions of those customers.
    Transactions,
    /// The partner's rewards.
    Rewards,
    /// The partner's memberships of programs.
    Partnerships,
    /// Actions credited to the partner.
    Actions,
}

/// Every Partner resource, in storage order.
pub const ALL: [PartnerResource; 8] = [
    PartnerResource::Payouts,
    PartnerResource::MarketplacePrograms,
    PartnerResource::Links,
    PartnerResource::Customers,
    PartnerResource::Transactions,
    PartnerResource::Rewards,
    PartnerResource::Partnerships,
    PartnerResource::Actions,
];

impl PartnerResource {
    /// The resource of a path below `/api/v2` (`["marketplace", "programs"]`).
    pub fn from_segments(segs: &[String]) -> Option<Self> {
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        Some(match segs.as_slice() {
            ["payouts"] => PartnerResource::Payouts,
            ["marketplace", "programs"] => PartnerResource::MarketplacePrograms,
            ["links"] => PartnerResource::Links,
            ["customers"] => PartnerResource::Customers,
            ["transactions"] => PartnerResource::Transactions,
            ["rewards"] => PartnerResource::Rewards,
            ["partnerships"] => PartnerResource::Partnerships,
            ["actions"] => PartnerResource::Actions,
            _ => return None,
        })
    }

    /// Index into [`PartnerStore::tables`].
    fn index(self) -> usize {
        ALL.iter().position(|r| *r == self).expect("listed in ALL")
    }

    /// Its equality filters.
    pub fn filters(self) -> &'static [Filter] {
        match self {
            PartnerResource::Payouts => payouts::FILTERS,
            PartnerResource::MarketplacePrograms => marketplace_programs::FILTERS,
            PartnerResource::Links => links::FILTERS,
            PartnerResource::Customers => customers::FILTERS,
            PartnerResource::Transactions => transactions::FILTERS,
            PartnerResource::Rewards => rewards::FILTERS,
            PartnerResource::Partnerships => partnerships::FILTERS,
            PartnerResource::Actions => actions::FILTERS,
        }
    }

    /// Its date filters.
    pub fn dates(self) -> DateFilters {
        match self {
            PartnerResource::Payouts => payouts::DATES,
            PartnerResource::MarketplacePrograms => marketplace_programs::DATES,
            PartnerResource::Links => links::DATES,
            PartnerResource::Customers => customers::DATES,
            PartnerResource::Transactions => transactions::DATES,
            PartnerResource::Rewards => rewards::DATES,
            PartnerResource::Partnerships => partnerships::DATES,
            PartnerResource::Actions => actions::DATES,
        }
    }

    /// The fields its `order_by` takes (§2); empty where the reference documents none.
    pub fn order_by(self) -> &'static [&'static str] {
        match self {
            PartnerResource::Payouts => payouts::ORDER_BY,
            PartnerResource::MarketplacePrograms => marketplace_programs::ORDER_BY,
            PartnerResource::Links => links::ORDER_BY,
            PartnerResource::Customers => customers::ORDER_BY,
            PartnerResource::Transactions => transactions::ORDER_BY,
            PartnerResource::Rewards => rewards::ORDER_BY,
            PartnerResource::Partnerships => partnerships::ORDER_BY,
            PartnerResource::Actions => actions::ORDER_BY,
        }
    }

    /// The list answer's `message`.
    pub fn message(self) -> &'static str {
        match self {
            PartnerResource::Rewards => "Rewards page returned successfully",
            _ => "Page returned successfully",
        }
    }
}

/// How many objects of each Partner resource to generate (`--size NAME=N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerSizes {
    /// Marketplace programs.
    pub marketplace_programs: usize,
    /// Programs the partner has joined (each a program of the marketplace).
    pub partner_partnerships: usize,
    /// Links per partnership.
    pub partner_links: usize,
    /// Referred customers.
    pub partner_customers: usize,
    /// Transactions.
    pub partner_transactions: usize,
    /// Payouts.
    pub payouts: usize,
    /// Rewards.
    pub partner_rewards: usize,
    /// Actions.
    pub partner_actions: usize,
}

impl Default for PartnerSizes {
    fn default() -> Self {
        Self {
            marketplace_programs: 30,
            partner_partnerships: 5,
            partner_links: 2,
            partner_customers: 40,
            partner_transactions: 150,
            payouts: 24,
            partner_rewards: 120,
            partner_actions: 40,
        }
    }
}

impl PartnerSizes {
    /// Names accepted by `--size NAME=N`.
    pub const NAMES: &'static [&'static str] = &[
        "marketplace_programs",
        "partner_partnerships",
        "partner_links",
        "partner_customers",
        "partner_transactions",
        "payouts",
        "partner_rewards",
        "partner_actions",
    ];

    /// Sets one size by name; false for an unknown name.
    pub fn set(&mut self, name: &str, n: usize) -> bool {
        let slot = match name {
            "marketplace_programs" => &mut self.marketplace_programs,
            "partner_partnerships" => &mut self.partner_partnerships,
            "partner_links" => &mut self.partner_links,
            "partner_customers" => &mut self.partner_customers,
            "partner_transactions" => &mut self.partner_transactions,
            "payouts" => &mut self.payouts,
            "partner_rewards" => &mut self.partner_rewards,
            "partner_actions" => &mut self.partner_actions,
            _ => return false,
        };
        *slot = n;
        true
    }
}

/// A program the partner belongs to, as other objects embed it (`company`).
#[derive(Debug, Clone)]
pub struct Company {
    /// `co_...`: the program's key in the marketplace, the `company_key` of its path.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Integer id (marketplace programs carry one, §4.14).
    pub id: i64,
}

impl Company {
    /// `{"key", "name"}` as customers, transactions and rewards embed it.
    pub fn short(&self) -> Value {
        serde_json::json!({"key": self.key, "name": self.name})
    }
}

/// What the generators share: every program of the marketplace and the partner's memberships.
#[derive(Debug, Clone)]
pub struct World {
    /// Programs of the marketplace.
    pub programs: Vec<Company>,
    /// Indexes into `programs` of the programs the partner joined, with its partnership key
    /// (`part_...`) in each.
    pub joined: Vec<(usize, String)>,
}

impl World {
    /// The company and partnership key of membership `i` (wrapping).
    pub fn membership(&self, i: usize) -> (&Company, &str) {
        let (p, key) = &self.joined[i % self.joined.len()];
        (&self.programs[*p], key)
    }
}

/// The partner's data set.
#[derive(Debug)]
pub struct PartnerStore {
    /// One table per resource, in the order of [`ALL`].
    tables: Vec<Table<Item>>,
}

impl PartnerStore {
    /// The table of `r`.
    pub fn table(&self, r: PartnerResource) -> &Table<Item> {
        &self.tables[r.index()]
    }
}

/// Generates the partner's data set from `seed` (deterministic: same seed, same data).
pub fn generate(seed: u64, sizes: &PartnerSizes) -> PartnerStore {
    let mut rng = Rng::derived(seed, "partner-world");
    let n_programs = sizes.marketplace_programs.max(1);
    let programs: Vec<Company> = (0..n_programs)
        .map(|i| Company {
            key: rng.key("co_"),
            name: match COMPANIES.get(i) {
                Some(c) => (*c).to_string(),
                None => format!("Program {}", i + 1),
            },
            id: 1000 + i as i64,
        })
        .collect();
    let joined = (0..sizes.partner_partnerships.clamp(1, n_programs))
        .map(|i| {
            (
                i * n_programs / sizes.partner_partnerships.clamp(1, n_programs),
                rng.key("part_"),
            )
        })
        .collect();
    let world = World { programs, joined };
    let customers = customers::generate(seed, sizes.partner_customers, &world);
    let transactions = transactions::generate(seed, sizes.partner_transactions, &world, &customers);
    let payouts = payouts::generate(seed, sizes.payouts);
    let rewards = rewards::generate(seed, sizes.partner_rewards, &world, &customers, &payouts);
    let mut tables = Vec::new();
    for r in ALL {
        let items = match r {
            PartnerResource::Payouts => payouts.clone(),
            PartnerResource::MarketplacePrograms => marketplace_programs::generate(seed, &world),
            PartnerResource::Links => links::generate(seed, sizes.partner_links, &world),
            PartnerResource::Customers => customers.clone(),
            PartnerResource::Transactions => transactions.clone(),
            PartnerResource::Rewards => rewards.clone(),
            PartnerResource::Partnerships => partnerships::generate(seed, &world),
            PartnerResource::Actions => {
                actions::generate(seed, sizes.partner_actions, &world, &customers)
            }
        };
        tables.push(Table::new(items));
    }
    PartnerStore { tables }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_is_generated_with_unique_keys_and_default_sizes() {
        let s = generate(7, &PartnerSizes::default());
        let d = PartnerSizes::default();
        assert_eq!(s.table(PartnerResource::Payouts).len(), d.payouts);
        assert_eq!(
            s.table(PartnerResource::MarketplacePrograms).len(),
            d.marketplace_programs
        );
        assert_eq!(
            s.table(PartnerResource::Partnerships).len(),
            d.partner_partnerships
        );
        assert_eq!(
            s.table(PartnerResource::Links).len(),
            d.partner_partnerships * d.partner_links
        );
        assert_eq!(
            s.table(PartnerResource::Customers).len(),
            d.partner_customers
        );
        for r in ALL {
            for (_, it) in s.table(r).iter() {
                assert_eq!(it.json["key"].as_str(), Some(&*it.key), "{r:?}");
                assert!(it.json["created_at"].is_i64(), "{r:?}");
            }
        }
    }

    #[test]
    fn same_seed_same_data() {
        let a = generate(3, &PartnerSizes::default());
        let b = generate(3, &PartnerSizes::default());
        for r in ALL {
            let ka: Vec<_> = a.table(r).iter().map(|(_, i)| i.json.clone()).collect();
            let kb: Vec<_> = b.table(r).iter().map(|(_, i)| i.json.clone()).collect();
            assert_eq!(ka, kb, "{r:?}");
        }
    }

    #[test]
    fn filters_match_fields_nested_fields_and_array_members() {
        let m = serde_json::json!({
            "status": "successful",
            "company": {"key": "co_1"},
            "category": ["SaaS", "Fintech"]
        });
        let m = m.as_object().unwrap();
        assert!(Filter::Field("status", "status").matches(m, "successful"));
        assert!(!Filter::Field("status", "status").matches(m, "pending"));
        assert!(Filter::Nested("company_key", "company", "key").matches(m, "co_1"));
        assert!(Filter::Contains("category", "category").matches(m, "Fintech"));
        assert!(!Filter::Contains("category", "category").matches(m, "saas"));
    }

    #[test]
    fn paths() {
        let s = |p: &str| -> Vec<String> { p.split('/').map(String::from).collect() };
        assert_eq!(
            PartnerResource::from_segments(&s("marketplace/programs")),
            Some(PartnerResource::MarketplacePrograms)
        );
        assert_eq!(
            PartnerResource::from_segments(&s("links")),
            Some(PartnerResource::Links)
        );
        for other in [
            "groups",
            "links/partnership/x",
            "deals",
            "stats",
            "partners",
        ] {
            assert_eq!(PartnerResource::from_segments(&s(other)), None, "{other}");
        }
    }
}
