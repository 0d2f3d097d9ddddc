//! In-memory records of every resource the mock serves.
//!
//! Records are compact structs (not `serde_json::Value`): relationships are row indexes
//! into other tables and are resolved when a record is rendered, shared JSON blobs are
//! `Arc`s, and enumerations are `&'static str`. That keeps a million transactions in a
//! few hundred MiB and lets renames (a partnership's `partner_key`) show up everywhere.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Immutable shared string (keys, names); cloning is a reference-count bump.
pub type Text = Arc<str>;
/// Shared JSON object (`mdata`, `field_data`, `metadata`, ...).
pub type JsonMap = Arc<Map<String, Value>>;
/// Shared JSON array (`fields`).
pub type JsonList = Arc<Vec<Value>>;
/// Row index into a [`crate::store::Table`].
pub type RowId = u32;

/// A field that may be absent from the JSON object, present as `null`, or have a value.
/// Real PartnerStack records omit some nullable fields on older objects; the mock
/// reproduces that so the FDW's mapping of "missing" and "null" is exercised.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Opt<T> {
    /// The key is not emitted at all.
    #[default]
    Absent,
    /// The key is emitted with `null`.
    Null,
    /// The key is emitted with this value.
    Some(T),
}

impl<T> Opt<T> {
    /// For `#[serde(skip_serializing_if = "Opt::is_absent")]`.
    pub fn is_absent(&self) -> bool {
        matches!(self, Opt::Absent)
    }

    /// The value, if any.
    pub fn as_option(&self) -> Option<&T> {
        match self {
            Opt::Some(v) => Some(v),
            _ => None,
        }
    }

    /// Borrowing view.
    pub fn as_ref(&self) -> Opt<&T> {
        match self {
            Opt::Absent => Opt::Absent,
            Opt::Null => Opt::Null,
            Opt::Some(v) => Opt::Some(v),
        }
    }
}

impl<T> From<Option<T>> for Opt<T> {
    fn from(v: Option<T>) -> Self {
        match v {
            Some(v) => Opt::Some(v),
            None => Opt::Null,
        }
    }
}

impl<T: Serialize> Serialize for Opt<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Opt::Some(v) => v.serialize(s),
            _ => s.serialize_none(),
        }
    }
}

/// Columns every record shares and the table engine needs.
pub trait Record {
    /// Primary key (`key`).
    fn key(&self) -> &str;
    /// Creation time, epoch ms.
    fn created_at(&self) -> i64;
    /// Last update time, epoch ms.
    fn updated_at(&self) -> i64;
    /// Soft-deleted (archived) records are hidden from lists and GETs.
    fn deleted(&self) -> bool;
    /// Marks the record as deleted.
    fn set_deleted(&mut self);
}

macro_rules! impl_record {
    ($($t:ty),* $(,)?) => {$(
        impl Record for $t {
            fn key(&self) -> &str { &self.key }
            fn created_at(&self) -> i64 { self.created_at }
            fn updated_at(&self) -> i64 { self.updated_at }
            fn deleted(&self) -> bool { self.deleted }
            fn set_deleted(&mut self) { self.deleted = true; }
        }
    )*};
}

impl_record!(
    Group,
    Partnership,
    Customer,
    Deal,
    Lead,
    Transaction,
    Reward,
    Action,
    Webhook,
    Link
);

/// Feature switches of a group (reference §4.4).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Features {
    /// Partners may apply to the group.
    pub application_enabled: bool,
    /// Partners may submit deals.
    pub deals_enabled: bool,
    /// Partners may not create links.
    pub disable_link_create: bool,
    /// Partners may submit leads.
    pub leads_enabled: bool,
}

/// A partner group (`grup_...`); read-only through the API.
#[derive(Debug, Clone)]
pub struct Group {
    /// `grup_...`
    pub key: Text,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// Display name (may contain spaces and non-ASCII).
    pub name: Text,
    /// Name with spaces and special characters removed; what the `group` filter matches.
    pub slug: Text,
    /// The group new partnerships land in when no `group_key` is given.
    pub default: bool,
    /// Archived groups still appear in lists with `archived: true`.
    pub archived: bool,
    /// Feature switches.
    pub features: Features,
    /// Groups are never deleted through the API; kept for the [`Record`] contract.
    pub deleted: bool,
}

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

/// An invoice embedded in a reward.
#[derive(Debug, Clone, Serialize)]
pub struct Invoice {
    /// `inv_...`; what the `invoice_key` filter matches.
    pub key: Text,
    /// One of the invoice statuses of reference §4.8.
    pub status: &'static str,
    /// Epoch ms or null.
    pub payment_date: Option<i64>,
}

/// An offer embedded in rewards.
#[derive(Debug, Clone, Serialize)]
pub struct Offer {
    /// `offr_...`
    pub key: Text,
    /// Human description.
    pub description: Text,
}

/// A reward (`rwrd_...`).
#[derive(Debug, Clone)]
pub struct Reward {
    /// `rwrd_...`
    pub key: Text,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// Cents.
    pub amount: i64,
    /// Upper-case ISO 4217 code.
    pub currency: [u8; 3],
    /// Description or null.
    pub description: Option<Text>,
    /// `reward_status`; what the `status` filter matches.
    pub reward_status: &'static str,
    /// Row of the action that earned it.
    pub action: Option<RowId>,
    /// Row of the customer.
    pub customer: Option<RowId>,
    /// Invoice.
    pub invoice: Option<Box<Invoice>>,
    /// Index into [`crate::store::Catalog::offers`].
    pub offer: Option<usize>,
    /// Row of the partnership.
    pub partnership: Option<RowId>,
    /// Row of the transaction that earned it.
    pub transaction: Option<RowId>,
    /// Index into [`crate::store::Catalog::triggers`]; null or absent.
    pub trigger: Opt<usize>,
    /// Hidden (its action was archived).
    pub deleted: bool,
}

/// A tracked action (`act_...`).
#[derive(Debug, Clone)]
pub struct Action {
    /// `act_...`
    pub key: Text,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// Action name; what the `action_type` filter matches.
    pub action_type: Text,
    /// Times performed (≥ 1).
    pub value: i64,
    /// Row of the partnership credited.
    pub partnership: RowId,
    /// Row of the customer, for customer targets.
    pub customer: Option<RowId>,
    /// `customer` or `partnership`.
    pub target_type: &'static str,
    /// Key the client targeted.
    pub target_key: Text,
    /// Client id; null or absent.
    pub external_key: Opt<Text>,
    /// Archived.
    pub deleted: bool,
}

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

/// A partnership's tracking link (`link_...`).
#[derive(Debug, Clone)]
pub struct Link {
    /// `link_...`
    pub key: Text,
    /// Not emitted; orders the cursor-paged list.
    pub created_at: i64,
    /// Not emitted.
    pub updated_at: i64,
    /// Row of the owning partnership.
    pub partnership: RowId,
    /// Destination URL.
    pub dest: Text,
    /// Tracking URL.
    pub url: Text,
    /// Never deleted through the API.
    pub deleted: bool,
}

/// Formats a stored 3-letter currency code.
pub fn currency_str(c: &[u8; 3]) -> &str {
    std::str::from_utf8(c).unwrap_or("USD")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Probe {
        #[serde(skip_serializing_if = "Opt::is_absent")]
        a: Opt<i32>,
        #[serde(skip_serializing_if = "Opt::is_absent")]
        b: Opt<i32>,
        #[serde(skip_serializing_if = "Opt::is_absent")]
        c: Opt<i32>,
    }

    #[test]
    fn opt_distinguishes_absent_null_and_value() {
        let p = Probe {
            a: Opt::Absent,
            b: Opt::Null,
            c: Opt::Some(3),
        };
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"b":null,"c":3}"#);
    }
}
