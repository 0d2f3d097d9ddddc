//! `INSERT ... ON CONFLICT DO NOTHING`: a create that PartnerStack refuses because an object
//! with the row's own key already exists is skipped, any other refusal stands.
//!
//! PartnerStack answers a duplicate key with a 400 whose message text is not documented
//! (reference §4.1, §4.2, Conflicts #5), the same status as any invalid body. So the text is
//! never matched: after a 400, the read that would confirm an unanswered create
//! ([`ConfirmRead`]) looks for the object by the key the row carries. Found with that very key:
//! the row is a duplicate and is skipped. Not found, or the read fails: the 400 stands. A table
//! without such a read cannot tell the two apart and refuses `ON CONFLICT DO NOTHING` before
//! any request ([`check_do_nothing`]).

use serde_json::Value as Json;

use crate::catalogue::{Confirm, Resource};
use crate::client::{Client, Stats, WriteOutcome};
use crate::error::ApiError;
use crate::write::{ConfirmRead, WriteError, WriteRequest};

/// The status PartnerStack answers a duplicate key with (and any other invalid body).
const DUPLICATE_STATUS: u16 = 400;

/// What an INSERT asks for a row that conflicts with an existing object (Postgres's
/// `onConflictAction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// No ON CONFLICT clause: a duplicate is an error.
    #[default]
    Error,
    /// `ON CONFLICT DO NOTHING`: a duplicate is skipped.
    DoNothing,
    /// `ON CONFLICT DO UPDATE`: refused; `insert_mode 'upsert'` is the way to update.
    DoUpdate,
}

/// The outcome of a create sent under `ON CONFLICT DO NOTHING`.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// PartnerStack created the object (or, for updates and deletes, accepted the write).
    New(WriteOutcome),
    /// PartnerStack refused the row because an object with its own key already exists.
    Duplicate {
        /// The column holding the row's own key (`customer_key`, `partner_key`).
        column: &'static str,
        /// The key, as the row carries it.
        value: String,
    },
}

/// Refuses an `ON CONFLICT` clause the table cannot honour, before any row is read.
///
/// `upsert` is the table's `insert_mode 'upsert'`, which updates existing objects: DO NOTHING
/// would contradict it.
pub fn check_on_conflict(
    resource: &'static Resource,
    on_conflict: OnConflict,
    upsert: bool,
) -> Result<(), WriteError> {
    let table = resource.name;
    match on_conflict {
        OnConflict::Error => Ok(()),
        OnConflict::DoUpdate => Err(WriteError::Unsupported {
            table,
            operation: "INSERT ... ON CONFLICT DO UPDATE into",
            reason: "PartnerStack has no unique index to infer a conflict from; set the table \
                     option insert_mode 'upsert' to update existing objects by key and create \
                     the others"
                .into(),
        }),
        OnConflict::DoNothing if upsert => Err(WriteError::Unsupported {
            table,
            operation: "INSERT ... ON CONFLICT DO NOTHING into",
            reason: "the table's insert_mode 'upsert' updates existing objects; drop ON \
                     CONFLICT DO NOTHING, or set insert_mode 'insert' to skip them"
                .into(),
        }),
        OnConflict::DoNothing => check_do_nothing(resource),
    }
}

/// Whether PartnerStack's answers let `resource` tell a duplicate apart from another 400.
fn check_do_nothing(resource: &'static Resource) -> Result<(), WriteError> {
    if resource.writes.create_path.is_none() || resource.writes.confirm.is_some() {
        // A table without creates is refused by the INSERT itself, with its own reason.
        return Ok(());
    }
    Err(WriteError::Unsupported {
        table: resource.name,
        operation: "INSERT ... ON CONFLICT DO NOTHING into",
        reason: format!(
            "PartnerStack answers a duplicate with a 400 whose text is not documented, and has \
             no read of one of {} by a key the row carries, so a duplicate cannot be told apart \
             from any other refused row; leave out the rows that exist instead (WHERE NOT \
             EXISTS over the foreign table)",
            resource.name
        ),
    })
}

/// Sends a create under `ON CONFLICT DO NOTHING`: on a 400, looks for an object with the row's
/// own key; when one exists the row is [`Created::Duplicate`], else the 400 stands.
pub fn create_unless_duplicate(
    client: &Client,
    resource: &'static Resource,
    request: &WriteRequest,
    stats: &mut Stats,
) -> Result<Created, ApiError> {
    let refused = match client.write(request, stats) {
        Ok(outcome) => return Ok(Created::New(outcome)),
        Err(e @ ApiError::Client { status, .. }) if status == DUPLICATE_STATUS => e,
        Err(e) => return Err(e),
    };
    let Some((column, value)) = own_key(resource, request) else {
        return Err(refused);
    };
    match find(client, request.confirm.as_ref(), column, &value, stats) {
        Ok(true) => Ok(Created::Duplicate { column, value }),
        Err(ApiError::Cancelled) => Err(ApiError::Cancelled),
        // Absent, or the read failed: nothing shows the row is a duplicate.
        Ok(false) | Err(_) => Err(refused),
    }
}

/// The column and value of the key a create carries of its own, when the resource has a read
/// that finds an object by it.
fn own_key(resource: &'static Resource, request: &WriteRequest) -> Option<(&'static str, String)> {
    let column = match resource.writes.confirm? {
        Confirm::ItemGet(column) | Confirm::ListFilter { column, .. } => column,
    };
    let value = request.body.as_ref()?.get(column)?.as_str()?;
    Some((column, value.to_owned()))
}

/// Whether the read finds an object whose `column` is exactly `value`: an item read may resolve
/// its path by another identifier too (the mock falls back to `key`), so the field is compared.
fn find(
    client: &Client,
    confirm: Option<&ConfirmRead>,
    column: &str,
    value: &str,
    stats: &mut Stats,
) -> Result<bool, ApiError> {
    let has_key = |raw: &serde_json::value::RawValue| {
        serde_json::from_str::<Json>(raw.get())
            .ok()
            .is_some_and(|item| item.get(column).and_then(Json::as_str) == Some(value))
    };
    match confirm {
        None => Ok(false),
        Some(ConfirmRead::Item { path }) => {
            Ok(client.object(path, stats)?.is_some_and(|raw| has_key(&raw)))
        }
        Some(ConfirmRead::List { path, params, .. }) => Ok(client
            .list_page(path, params, stats)?
            .items
            .iter()
            .any(|raw| has_key(raw))),
    }
}

#[cfg(test)]
#[path = "on_conflict_tests.rs"]
mod tests;
