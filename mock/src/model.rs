//! What every in-memory record shares: [`Opt`], the [`Record`] trait the table engine needs
//! and the shared types. Each resource's record struct is in its module under
//! `crate::resources`.
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

/// Implements [`Record`] for record structs with `key`, `created_at`, `updated_at` and
/// `deleted` fields.
macro_rules! impl_record {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::model::Record for $t {
            fn key(&self) -> &str { &self.key }
            fn created_at(&self) -> i64 { self.created_at }
            fn updated_at(&self) -> i64 { self.updated_at }
            fn deleted(&self) -> bool { self.deleted }
            fn set_deleted(&mut self) { self.deleted = true; }
        }
    )*};
}
pub(crate) use impl_record;

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
