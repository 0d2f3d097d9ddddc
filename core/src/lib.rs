//! The PartnerStack Vendor API as the `partnerstack` foreign data wrapper needs it, with no
//! Postgres types: the resource catalogue, the HTTP client and its paging, the JSON-to-row
//! mapping, and the translation of SQL conditions into request parameters.

pub mod catalogue;
pub mod client;
pub mod error;
pub mod mapping;
pub mod pushdown;
pub mod scan;

pub use catalogue::{Column, ColumnType, Resource, resource};
pub use client::{Client, ClientConfig, Stats};
pub use error::ApiError;
pub use mapping::{Item, MappingError, Value};
pub use pushdown::{Condition, Op, Operand, PushdownError, Request};
pub use scan::Scan;
