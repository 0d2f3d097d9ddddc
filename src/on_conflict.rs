//! `INSERT ... ON CONFLICT`: what the statement asks, read from its plan, refused before any
//! request where the table cannot honour it; the rules are in
//! [`partnerstack_api::on_conflict`].
//!
//! Postgres itself refuses `ON CONFLICT DO UPDATE` on a foreign table before the FDW is asked
//! (the parser wants a conflict target; the planner finds no unique index for one), and
//! `ON CONFLICT (column) DO NOTHING` likewise; only `ON CONFLICT DO NOTHING` without a target
//! reaches us. The DO UPDATE refusal here is for a plan that would reach us all the same.

use partnerstack_api::Resource;
use partnerstack_api::on_conflict::{OnConflict, check_on_conflict};
use pgrx::{PgSqlErrorCode, pg_sys};

use crate::errors::{error, raise};

/// The ON CONFLICT action of the ModifyTable plan whose executor state is `mtstate` (null for
/// COPY, which has none).
///
/// # Safety
/// `mtstate` is null or the live executor state of a ModifyTable plan.
pub unsafe fn action(mtstate: *const pg_sys::ModifyTableState) -> OnConflict {
    if mtstate.is_null() {
        return OnConflict::Error;
    }
    // SAFETY: a ModifyTableState's plan is its ModifyTable node (caller), live for the
    // statement.
    let action = unsafe {
        let plan = (*mtstate).ps.plan as *const pg_sys::ModifyTable;
        if plan.is_null() {
            return OnConflict::Error;
        }
        (*plan).onConflictAction
    };
    match action {
        pg_sys::OnConflictAction::ONCONFLICT_NOTHING => OnConflict::DoNothing,
        pg_sys::OnConflictAction::ONCONFLICT_UPDATE => OnConflict::DoUpdate,
        _ => OnConflict::Error,
    }
}

/// Raises the ERROR of an ON CONFLICT clause `resource` cannot honour (nothing is sent yet);
/// returns the resource when duplicates are to be skipped.
pub fn check(
    resource: &'static Resource,
    on_conflict: OnConflict,
    upsert: bool,
) -> Option<&'static Resource> {
    if let Err(e) = check_on_conflict(resource, on_conflict, upsert) {
        raise(
            error(PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED, e.to_string()).set_detail(
                "The statement was refused before any row: nothing was sent to PartnerStack.",
            ),
        );
    }
    (on_conflict == OnConflict::DoNothing).then_some(resource)
}

/// The NOTICE after a statement that skipped rows as duplicates: how many, and their keys.
pub fn notice_skipped(table: &str, column: &str, keys: &[String]) {
    const SHOWN: usize = partnerstack_api::ledger::KEYS_SHOWN;
    let shown: Vec<&str> = keys.iter().take(SHOWN).map(String::as_str).collect();
    let more = match keys.len().saturating_sub(SHOWN) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    pgrx::notice!(
        "writing {table}: skipped {} row(s) whose {column} already exists in PartnerStack (ON \
         CONFLICT DO NOTHING): {}{more}",
        keys.len(),
        shown.join(", ")
    );
}
