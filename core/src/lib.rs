//! The PartnerStack Vendor API as the `partnerstack` foreign data wrapper needs it, with no
//! Postgres types: the resource catalogue, the HTTP client and its paging, the JSON-to-row
//! mapping, the translation of SQL conditions into request parameters, and rows into write
//! requests (validated bodies, retried as safely as each verb allows).

// Every unsafe block says why it is sound; every unsafe fn says what its caller must uphold.
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

pub mod catalogue;
pub mod client;
pub mod count;
pub mod error;
pub mod ledger;
pub mod mapping;
pub mod on_conflict;
pub mod options;
pub mod pushdown;
pub mod scan;
pub mod sync;
pub mod write;

pub use catalogue::{Column, ColumnType, Resource, resource};
pub use client::{Client, ClientConfig, Stats, WriteOutcome};
pub use error::ApiError;
pub use mapping::{Item, MappingError, Value};
pub use pushdown::{Condition, Op, Operand, PushdownError, Request};
pub use scan::Scan;
pub use write::{Method, UpsertOutcome, WriteError, WriteRequest};
