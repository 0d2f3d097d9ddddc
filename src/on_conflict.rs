//! `INSERT ... ON CONFLICT`: what the statement asks, read from its plan, refused before any
//! request where the table cannot honour it; the rules are in
//! [`partnerstack_api::on_conflict`].
//!
//! Postgres itself refuses `ON CONFLICT DO UPDATE` without a conflict target (the parser), and
//! any ON CONFLICT with one (the planner finds no unique index on a foreign table); only
//! `ON CONFLICT DO NOTHING` without a target reaches the FDW. When the library is preloaded,
//! [`install_hook`] refuses a target on our tables first, with a message that says what to write
//! instead. The DO UPDATE refusal of [`check`] is for a plan that would reach us all the same.

use partnerstack_api::Resource;
use partnerstack_api::on_conflict::{OnConflict, check_on_conflict};
use pgrx::{PgSqlErrorCode, pg_guard, pg_sys};

use crate::errors::{error, raise};

/// The ON CONFLICT action of a ModifyTable plan (`ONCONFLICT_NONE` for COPY, which has none).
pub fn action(action: pg_sys::OnConflictAction::Type) -> OnConflict {
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
        // A partition opened midway may find rows of other partitions already sent.
        let detail = match crate::xact::written_by_statement() {
            0 => "The statement was refused before any row: nothing was sent to PartnerStack."
                .to_owned(),
            n => format!(
                "The statement was refused when it reached this table, after it wrote {n} row(s) to \
                 PartnerStack through its other tables: they stay, and the WARNING at the end of \
                 the transaction lists them."
            ),
        };
        raise(
            error(PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED, e.to_string()).set_detail(detail),
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

/// The post-parse-analysis hook that was installed before ours.
static PREVIOUS_POST_PARSE_ANALYZE: std::sync::OnceLock<pg_sys::post_parse_analyze_hook_type> =
    std::sync::OnceLock::new();

/// The name of the wrapper's handler function (sql/create_fdw.sql).
const HANDLER: &str = "partnerstack_fdw_handler";

/// Installs a post-parse-analysis hook that refuses an ON CONFLICT with a conflict target on
/// our foreign tables with a message that says what to write instead, before the planner's
/// "there is no unique or exclusion constraint matching the ON CONFLICT specification".
///
/// Only when the library is preloaded (`shared_preload_libraries`): otherwise it is loaded
/// when a session first needs the FDW, after that first statement was parsed, and the message
/// would depend on what the session did before. Not preloaded, Postgres's messages stand.
pub fn install_hook() {
    // SAFETY: plain globals Postgres sets while it loads shared_preload_libraries; `_PG_init`
    // runs on the main thread of the process loading the library, before any query.
    unsafe {
        if !pg_sys::process_shared_preload_libraries_in_progress {
            return;
        }
        let _ = PREVIOUS_POST_PARSE_ANALYZE.set(pg_sys::post_parse_analyze_hook);
        pg_sys::post_parse_analyze_hook = Some(post_parse_analyze);
    }
}

/// Refuses `INSERT ... ON CONFLICT (target) ...` into our foreign tables (see [`install_hook`]).
///
/// # Safety
/// Called by Postgres after parse analysis with the live ParseState, Query and JumbleState.
#[pg_guard]
unsafe extern "C-unwind" fn post_parse_analyze(
    pstate: *mut pg_sys::ParseState,
    query: *mut pg_sys::Query,
    jstate: *mut pg_sys::JumbleState,
) {
    // SAFETY: the previous hook takes exactly our arguments; `query` is live (caller), its
    // result relation indexes its range table (1-based), and the catalog lookups read the
    // relation Postgres just opened for the statement.
    unsafe {
        if let Some(Some(previous)) = PREVIOUS_POST_PARSE_ANALYZE.get() {
            // An ERROR in the previous hook must not unwind across Rust frames.
            pg_sys::submodules::ffi::pg_guard_ffi_boundary(|| previous(pstate, query, jstate));
        }
        let q = &*query;
        if q.commandType != pg_sys::CmdType::CMD_INSERT || q.onConflict.is_null() {
            return;
        }
        let on_conflict = &*q.onConflict;
        if on_conflict.arbiterElems.is_null() && on_conflict.constraint == pg_sys::InvalidOid {
            // No target: DO NOTHING reaches the FDW; DO UPDATE was refused by the parser.
            return;
        }
        let Some(rte) = pgrx::PgList::<pg_sys::RangeTblEntry>::from_pg(q.rtable)
            .get_ptr((q.resultRelation as usize).saturating_sub(1))
        else {
            return;
        };
        if (*rte).relkind as u8 != pg_sys::RELKIND_FOREIGN_TABLE || !is_ours((*rte).relid) {
            return;
        }
        let name = pg_sys::get_rel_name((*rte).relid);
        let table = if name.is_null() {
            "the foreign table".into()
        } else {
            std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .into_owned()
        };
        let (message, hint) = if on_conflict.action == pg_sys::OnConflictAction::ONCONFLICT_UPDATE {
            (
                format!(
                    "cannot INSERT ... ON CONFLICT DO UPDATE into {table}: PartnerStack has no unique index to infer a conflict from"
                ),
                "Set the table option insert_mode 'upsert' to update existing objects by key and create the others: ALTER FOREIGN TABLE ... OPTIONS (ADD insert_mode 'upsert').",
            )
        } else {
            (
                format!(
                    "cannot INSERT ... ON CONFLICT (...) DO NOTHING into {table}: a foreign table has no unique index to name as the conflict target"
                ),
                "Leave the target out: with ON CONFLICT DO NOTHING, rows whose own key (customer_key, partner_key) PartnerStack already holds are skipped.",
            )
        };
        raise(
            error(PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED, message)
                .set_detail("Nothing was sent to PartnerStack.")
                .set_hint(hint),
        );
    }
}

/// Whether the foreign table `relid` belongs to a wrapper with our handler.
///
/// # Safety
/// `relid` is a foreign table (its pg_foreign_table row exists).
unsafe fn is_ours(relid: pg_sys::Oid) -> bool {
    // SAFETY: catalog lookups of an existing foreign table, its server and its wrapper; each
    // raises an ERROR rather than return null for a missing row.
    unsafe {
        let table = pg_sys::GetForeignTable(relid);
        let server = pg_sys::GetForeignServer((*table).serverid);
        let wrapper = pg_sys::GetForeignDataWrapper((*server).fdwid);
        if (*wrapper).fdwhandler == pg_sys::InvalidOid {
            return false;
        }
        let name = pg_sys::get_func_name((*wrapper).fdwhandler);
        !name.is_null() && std::ffi::CStr::from_ptr(name).to_bytes() == HANDLER.as_bytes()
    }
}
