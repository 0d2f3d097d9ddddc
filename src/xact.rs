//! Transactions: PartnerStack cannot roll back. A write is sent when its statement runs, so a
//! `ROLLBACK` (or an error later in the transaction, or `ROLLBACK TO SAVEPOINT`) after writes
//! leaves them in PartnerStack: a WARNING says, per table, how many rows stay and their keys.
//! `PREPARE TRANSACTION` of a transaction that wrote is an ERROR, as postgres_fdw does: the
//! writes cannot wait for a COMMIT PREPARED.
//!
//! The write path calls [`written`] for each row PartnerStack accepted and [`listed`] when a
//! statement's ERROR names its accepted rows; the callbacks Postgres calls at the end of each
//! (sub)transaction do the rest ([`partnerstack_api::ledger`] keeps the books).

use std::cell::{Cell, RefCell};

use partnerstack_api::ledger::{Ledger, Summary};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::pg_sys::{self, SubXactEvent, XactEvent};
use pgrx::{PgLogLevel, PgSqlErrorCode, pg_guard};

use crate::errors::{error, raise};

thread_local! {
    /// The rows the current transaction wrote (one backend, one transaction at a time).
    static LEDGER: RefCell<Ledger> = RefCell::new(Ledger::default());
    /// Whether the callbacks are registered in this backend.
    static REGISTERED: Cell<bool> = const { Cell::new(false) };
    /// Rows written by the statement that started at this time (its start timestamp).
    static STATEMENT: Cell<(pg_sys::TimestampTz, usize)> = const { Cell::new((0, 0)) };
}

/// Records a row PartnerStack accepted: `key` of `table`.
pub fn written(table: &str, key: &str) {
    register();
    // SAFETY: reads the backend's current subtransaction id; a write runs inside one.
    let subxact = unsafe { pg_sys::GetCurrentSubTransactionId() };
    LEDGER.with(|l| l.borrow_mut().written(subxact, table, key));
    // SAFETY: reads the backend's current statement start time.
    let statement = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
    STATEMENT.with(|s| {
        let (started, rows) = s.get();
        s.set((statement, if started == statement { rows + 1 } else { 1 }));
    });
}

/// A statement's writes are over ([`written_by_statement`] counts from zero again): its rows
/// were all validated before its tables end, and a next statement may share its start time
/// (several in one query string).
pub fn statement_ended() {
    STATEMENT.with(|s| s.set((0, 0)));
}

/// Rows the current (top-level) statement wrote so far, through every table it writes.
pub fn written_by_statement() -> usize {
    // SAFETY: reads the backend's current statement start time.
    let statement = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
    STATEMENT.with(|s| match s.get() {
        (started, rows) if started == statement => rows,
        _ => 0,
    })
}

/// Records that a write request is going out (its outcome may stay unknown): PREPARE
/// TRANSACTION is refused from now on.
pub fn sending() {
    register();
    LEDGER.with(|l| l.borrow_mut().sent());
}

/// Notes that the ERROR of the statement that wrote the last `rows` accepted rows of `table`
/// names them (a partial failure): the rollback WARNING counts them without naming them again.
pub fn listed(table: &str, rows: usize) {
    LEDGER.with(|l| l.borrow_mut().listed(table, rows));
}

/// Registers the (sub)transaction callbacks once per backend, at its first write.
fn register() {
    if REGISTERED.with(|r| r.replace(true)) {
        return;
    }
    // SAFETY: the callbacks are plain functions that live as long as the library, which is
    // never unloaded; Postgres calls them on this backend's only thread.
    unsafe {
        pg_sys::RegisterXactCallback(Some(xact_callback), std::ptr::null_mut());
        pg_sys::RegisterSubXactCallback(Some(subxact_callback), std::ptr::null_mut());
    }
}

/// Refuses PREPARE TRANSACTION after writes; warns after a rollback; forgets at the end.
#[pg_guard]
unsafe extern "C-unwind" fn xact_callback(event: XactEvent::Type, _arg: *mut std::ffi::c_void) {
    match event {
        // Raised before anything is prepared; the abort that follows warns as usual.
        XactEvent::XACT_EVENT_PRE_PREPARE if LEDGER.with(|l| l.borrow().wrote()) => {
            raise(prepare_refused());
        }
        XactEvent::XACT_EVENT_ABORT | XactEvent::XACT_EVENT_PARALLEL_ABORT => {
            if let Some(summary) = LEDGER.with(|l| l.borrow_mut().end(true)) {
                warn(&summary, "this transaction wrote");
            }
        }
        XactEvent::XACT_EVENT_COMMIT
        | XactEvent::XACT_EVENT_PARALLEL_COMMIT
        | XactEvent::XACT_EVENT_PREPARE => {
            LEDGER.with(|l| l.borrow_mut().end(false));
        }
        _ => {}
    }
}

/// Hands a released savepoint's rows to its parent; warns when one is rolled back.
#[pg_guard]
unsafe extern "C-unwind" fn subxact_callback(
    event: SubXactEvent::Type,
    subxact: pg_sys::SubTransactionId,
    parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    match event {
        SubXactEvent::SUBXACT_EVENT_COMMIT_SUB => {
            LEDGER.with(|l| l.borrow_mut().commit_sub(subxact, parent));
        }
        SubXactEvent::SUBXACT_EVENT_ABORT_SUB => {
            if let Some(summary) = LEDGER.with(|l| l.borrow_mut().abort_sub(subxact)) {
                warn(&summary, "the rolled-back subtransaction (savepoint) wrote");
            }
        }
        _ => {}
    }
}

/// The WARNING of a rollback that leaves writes in PartnerStack.
fn warn(summary: &Summary, scope: &str) {
    error(
        PgSqlErrorCode::ERRCODE_WARNING,
        format!(
            "PartnerStack cannot roll back: the {} row(s) {scope} stay in PartnerStack",
            summary.rows()
        ),
    )
    .set_detail(summary.detail())
    .set_hint(
        "Undo them in PartnerStack if they must not stay: DELETE the rows created, UPDATE the \
         changed ones back.",
    )
    .report(PgLogLevel::WARNING);
}

/// The ERROR of PREPARE TRANSACTION after writes.
fn prepare_refused() -> ErrorReport {
    error(
        PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
        "cannot PREPARE a transaction that has written to PartnerStack",
    )
    .set_detail(
        "PartnerStack has no two-phase commit: its writes were sent when their statements ran \
         and stay whether the transaction commits or not.",
    )
}
