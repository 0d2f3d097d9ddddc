//! `partnerstack_sync(foreign_table, target, ...)`: a local copy of a foreign table, created on
//! the first call and refreshed incrementally on the next ones, with its state in
//! `partnerstack_sync_state` (sql/sync.sql).
//!
//! Every run reads through the foreign table itself with SPI (the statements come from
//! `partnerstack_api::sync`), so the scan's pushdown, paging, retries and rate limit do the API
//! work. The run's work happens in a subtransaction: a failure rolls the copy and its state
//! back to what they were, and the error is then recorded in the state row and returned, so
//! that a scheduled run leaves a trace a user can query.

use std::time::Instant;

use partnerstack_api::sync::{
    CopyColumn, Previous, RunMode, Strategy, SyncError, add_columns_sql, add_primary_key_sql,
    check_copyable, choose_run_mode, create_table_sql, initial_copy_sql, run_sql,
};
use pgrx::datum::DatumWithOid;
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;
use pgrx::spi::{SpiClient, SpiResult};
use pgrx::{PgRelation, PgSqlErrorCode};

use crate::errors::{error, raise};
use crate::session::scan_requests;
use crate::table::TableMap;

/// The class half of the two-part advisory lock key a run takes (its other half is
/// `hashtext(target)`): the bytes of "psyn", so that a copy's lock is recognisable in
/// `pg_locks` (`classid = 1886615918`) and unlikely to meet an application's own locks.
const ADVISORY_LOCK_CLASS: i32 = 0x7073_796e;

/// The handler of the wrapper every copied table must use.
const FDW_HANDLER: &str = "partnerstack_fdw_handler";

/// What was decided before the run's subtransaction: names, columns, strategy.
struct Copy {
    /// `"schema"."table"` of the foreign table.
    source: String,
    /// `"schema"."table"` of the copy: also the state row's key.
    target: String,
    /// `"schema"` of the extension, where the state table lives.
    extension_schema: String,
    columns: Vec<CopyColumn>,
    strategy: Strategy,
}

/// What a successful run did.
struct Outcome {
    mode: RunMode,
    inserted: i64,
    updated: i64,
    deleted: i64,
}

/// Copies `foreign_table` into `target` (created on the first call with the foreign table's
/// columns and a primary key on `key`), then keeps it fresh: see the README's "Local copies".
#[allow(clippy::type_complexity)]
#[pg_extern(volatile, parallel_unsafe)]
fn partnerstack_sync(
    foreign_table: PgRelation,
    target: &str,
    full_refresh: default!(bool, false),
    full_every: default!(Option<i32>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(mode, String),
        name!(inserted, Option<i64>),
        name!(updated, Option<i64>),
        name!(deleted, Option<i64>),
        name!(requests, Option<i64>),
        name!(seconds, f64),
        name!(error, Option<String>),
    ),
> {
    let started = Instant::now();
    let requests_before = scan_requests();
    if let Some(n) = full_every
        && n < 1
    {
        invalid(SyncError::FullEvery(i64::from(n)).to_string());
    }
    let copy = Spi::connect_mut(|client| {
        let copy = prepare(client, foreign_table.oid(), target);
        lock(client, &copy.target);
        check_owner(client, &copy);
        copy
    });
    drop(foreign_table);

    let result = in_subtransaction(|| {
        Spi::connect_mut(|client| {
            run(
                client,
                &copy,
                full_refresh,
                full_every.map(i64::from),
                started,
                requests_before,
            )
        })
    });
    let seconds = started.elapsed().as_secs_f64();
    let requests = i64::try_from(scan_requests() - requests_before).ok();
    let row = match result {
        Ok(o) => (
            o.mode.name().to_owned(),
            Some(o.inserted),
            Some(o.updated),
            Some(o.deleted),
            requests,
            seconds,
            None,
        ),
        Err(message) => {
            Spi::connect_mut(|client| record_error(client, &copy, &message));
            pgrx::warning!(
                "partnerstack_sync of {} failed and was rolled back: {message}",
                copy.target
            );
            (
                "failed".to_owned(),
                None,
                None,
                None,
                requests,
                seconds,
                Some(message),
            )
        }
    };
    TableIterator::once(row)
}

/// Raises an SPI failure (a type mismatch in our own statements: a bug) as an ERROR.
fn spi<T>(result: SpiResult<T>) -> T {
    result.unwrap_or_else(|e| {
        raise(error(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("partnerstack_sync: {e}"),
        ))
    })
}

/// The first column of the first row of `sql`, NULL when there is no row.
fn value<T: pgrx::FromDatum + pgrx::IntoDatum>(
    client: &mut SpiClient<'_>,
    sql: &str,
    args: &[DatumWithOid<'_>],
) -> Option<T> {
    let table = spi(client.update(sql, None, args));
    if table.is_empty() {
        return None;
    }
    spi(table.first().get::<T>(1))
}

fn invalid(message: String) -> ! {
    raise(error(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        message,
    ))
}

/// Resolves the names and reads the foreign table's columns. Errors here are the call's own
/// (not a partnerstack table, a bad target name) and are raised, not recorded.
fn prepare(client: &mut SpiClient<'_>, relid: pg_sys::Oid, target: &str) -> Copy {
    let handler: Option<String> = value(
        client,
        "SELECT p.proname::text FROM pg_foreign_table t \
         JOIN pg_foreign_server s ON s.oid = t.ftserver \
         JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw \
         JOIN pg_proc p ON p.oid = w.fdwhandler WHERE t.ftrelid = $1",
        &[relid.into()],
    );
    let source: String = value(
        client,
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
        &[relid.into()],
    )
    .expect("the relation was opened");
    if handler.as_deref() != Some(FDW_HANDLER) {
        invalid(format!(
            "{source} is not a foreign table of the partnerstack wrapper"
        ));
    }
    let parts: Vec<String> =
        value::<Vec<String>>(client, "SELECT parse_ident($1)", &[target.into()])
            .unwrap_or_default();
    let target = match parts.as_slice() {
        [schema, table] => value(client, "SELECT format('%I.%I', $1, $2)", &[
            schema.as_str().into(),
            table.as_str().into(),
        ]),
        [table] => value(
            client,
            "SELECT format('%I.%I', current_schema(), $1) WHERE current_schema() IS NOT NULL",
            &[table.as_str().into()],
        ),
        _ => None,
    }
    .unwrap_or_else(|| {
        invalid(format!(
            "target \"{target}\" must be a table name, optionally schema-qualified, with a schema to create it in"
        ))
    });
    let extension_schema: String = value(
        client,
        "SELECT quote_ident(n.nspname) FROM pg_extension e \
         JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'partnerstack'",
        &[],
    )
    .expect("the extension is installed");
    let columns = columns_of(client, relid);
    let table = TableMap::load(relid);
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    check_copyable(table.resource, &names)
        .unwrap_or_else(|e| invalid(format!("cannot copy {source}: {e}")));
    let strategy = Strategy::for_table(table.resource, &names);
    Copy {
        source,
        target,
        extension_schema,
        columns,
        strategy,
    }
}

/// A relation's live columns in order, with their types as `format_type` spells them.
fn columns_of(client: &mut SpiClient<'_>, relid: pg_sys::Oid) -> Vec<CopyColumn> {
    let table = spi(client.update(
        "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute \
         WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        None,
        &[relid.into()],
    ));
    table
        .map(|row| CopyColumn {
            name: spi(row.get::<String>(1)).unwrap_or_default(),
            sql_type: spi(row.get::<String>(2)).unwrap_or_default(),
        })
        .collect()
}

/// Waits for any other run of the same copy to end: the lock is the transaction's, so two runs
/// never interleave and the second sees the first one's result (`lock_timeout` bounds the wait).
fn lock(client: &mut SpiClient<'_>, target: &str) {
    spi(client.update(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        None,
        &[ADVISORY_LOCK_CLASS.into(), target.into()],
    ));
}

/// One run: creates or extends the copy, reads and upserts, records the state.
fn run(
    client: &mut SpiClient<'_>,
    copy: &Copy,
    full_refresh: bool,
    full_every: Option<i64>,
    started: Instant,
    requests_before: u64,
) -> Outcome {
    let state = format!("{}.partnerstack_sync_state", copy.extension_schema);
    let existing: Option<pg_sys::Oid> = value(
        client,
        "SELECT c.oid FROM pg_class c WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')",
        &[copy.target.as_str().into()],
    );
    // A column the copy lacks is added, and filled by a full run (an incremental one would fill
    // it only in the changed rows).
    let mut columns_added = false;
    let previous = match existing {
        Some(oid) => {
            let have: Vec<String> = columns_of(client, oid)
                .into_iter()
                .map(|c| c.name)
                .collect();
            if let Some(sql) = add_columns_sql(&copy.target, &copy.columns, &have) {
                spi(client.update(&sql, None, &[]));
                columns_added = true;
            }
            read_state(client, &state, copy)
        }
        None => {
            spi(client.update(&create_table_sql(&copy.target, &copy.columns), None, &[]));
            None
        }
    };
    let mark = previous.and_then(|p| p.0);
    let since_full = previous.map_or(0, |p| p.1);
    let mode = choose_run_mode(
        copy.strategy,
        Previous {
            has_mark: mark.is_some(),
            incremental_runs_since_full: since_full,
        },
        full_refresh || columns_added,
        full_every,
    )
    .unwrap_or_else(|e| invalid(e.to_string()));

    let names: Vec<&str> = copy.columns.iter().map(|c| c.name.as_str()).collect();
    let sql = if existing.is_none() {
        initial_copy_sql(&copy.source, &copy.target, &names, copy.strategy)
    } else {
        run_sql(&copy.source, &copy.target, &names, copy.strategy, mode)
    };
    let args: Vec<DatumWithOid<'_>> = match mode {
        RunMode::Incremental => vec![mark.into()],
        RunMode::Full => Vec::new(),
    };
    let result = spi(client.update(&sql, None, &args));
    let row = result.first();
    let count = |i| spi(row.get::<i64>(i)).unwrap_or(0);
    let outcome = Outcome {
        mode,
        inserted: count(1),
        updated: count(2),
        deleted: count(3),
    };
    let new_mark: Option<TimestampWithTimeZone> = spi(row.get(4));
    if existing.is_none() {
        spi(client.update(&add_primary_key_sql(&copy.target), None, &[]));
    }

    let requests = i64::try_from(scan_requests() - requests_before).unwrap_or(i64::MAX);
    spi(client.update(
        &format!(
            "INSERT INTO {state} AS s (target, source, mode, high_water_mark, runs, \
             incremental_runs_since_full, last_run_mode, last_success, last_inserted, \
             last_updated, last_deleted, last_requests, last_seconds) \
             VALUES ($1, $2, $3, greatest($4, $5), 1, $6, $7, clock_timestamp(), $8, $9, $10, \
             $11, $12) \
             ON CONFLICT (target) DO UPDATE SET source = EXCLUDED.source, mode = EXCLUDED.mode, \
             high_water_mark = EXCLUDED.high_water_mark, runs = s.runs + 1, \
             incremental_runs_since_full = EXCLUDED.incremental_runs_since_full, \
             last_run_mode = EXCLUDED.last_run_mode, last_success = EXCLUDED.last_success, \
             last_inserted = EXCLUDED.last_inserted, last_updated = EXCLUDED.last_updated, \
             last_deleted = EXCLUDED.last_deleted, last_requests = EXCLUDED.last_requests, \
             last_seconds = EXCLUDED.last_seconds"
        ),
        None,
        &[
            copy.target.as_str().into(),
            copy.source.as_str().into(),
            copy.strategy.name().into(),
            mark.into(),
            new_mark.into(),
            match mode {
                RunMode::Full => 0i64,
                RunMode::Incremental => i64::try_from(since_full + 1).unwrap_or(i64::MAX),
            }
            .into(),
            mode.name().into(),
            outcome.inserted.into(),
            outcome.updated.into(),
            outcome.deleted.into(),
            requests.into(),
            started.elapsed().as_secs_f64().into(),
        ],
    ));
    outcome
}

/// The state row's mark and incremental-run count, locked for this run; `None` without a row.
fn read_state(
    client: &mut SpiClient<'_>,
    state: &str,
    copy: &Copy,
) -> Option<(Option<TimestampWithTimeZone>, u64)> {
    let table = spi(client.update(
        &format!(
            "SELECT high_water_mark, incremental_runs_since_full FROM {state} \
             WHERE target = $1 FOR UPDATE"
        ),
        None,
        &[copy.target.as_str().into()],
    ));
    if table.is_empty() {
        return None;
    }
    let row = table.first();
    let mark = spi(row.get::<TimestampWithTimeZone>(1));
    let since_full = spi(row.get::<i64>(2)).unwrap_or(0);
    Some((mark, u64::try_from(since_full).unwrap_or(0)))
}

/// A copy belongs to the foreign table it was made from: a state row naming another source is
/// an ERROR while that copy exists (once it is dropped, the name is free again).
fn check_owner(client: &mut SpiClient<'_>, copy: &Copy) {
    let owner: Option<String> = value(
        client,
        &format!(
            "SELECT source FROM {}.partnerstack_sync_state WHERE target = $1 \
             AND to_regclass(target) IS NOT NULL",
            copy.extension_schema
        ),
        &[copy.target.as_str().into()],
    );
    if let Some(source) = owner
        && source != copy.source
    {
        raise(
            error(
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!(
                    "{} is the local copy of {source}, not of {}",
                    copy.target, copy.source
                ),
            )
            .set_hint(format!(
                "Choose another target, or drop {} and delete its row from partnerstack_sync_state.",
                copy.target
            )),
        );
    }
}

/// Records a failed run's error and its time in the state row (created if the copy has none
/// yet), leaving everything else as the last successful run left it.
fn record_error(client: &mut SpiClient<'_>, copy: &Copy, message: &str) {
    spi(client.update(
        &format!(
            "INSERT INTO {}.partnerstack_sync_state AS s (target, source, mode, last_error, \
             last_error_at) VALUES ($1, $2, $3, $4, clock_timestamp()) \
             ON CONFLICT (target) DO UPDATE SET last_error = EXCLUDED.last_error, \
             last_error_at = EXCLUDED.last_error_at",
            copy.extension_schema
        ),
        None,
        &[
            copy.target.as_str().into(),
            copy.source.as_str().into(),
            copy.strategy.name().into(),
            message.into(),
        ],
    ));
}

/// Runs `f` in a subtransaction, as PL/pgSQL runs a block with an EXCEPTION clause: on an ERROR
/// (an API failure, a cancel, `statement_timeout`) everything `f` did is rolled back and the
/// error's message is returned. FATAL and worse are not caught.
fn in_subtransaction<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> Result<R, String> {
    // SAFETY: called on the backend thread inside a transaction (a function call). The
    // sequence is PL/pgSQL's exec_stmt_block: begin the subtransaction, go back to the caller's
    // memory context; on success release it, on error roll it back; either way restore the
    // caller's memory context and resource owner, which outlive the subtransaction.
    unsafe {
        let context = pg_sys::CurrentMemoryContext;
        let owner = pg_sys::CurrentResourceOwner;
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(context);
        PgTryBuilder::new(move || {
            let result = f();
            pg_sys::ReleaseCurrentSubTransaction();
            pg_sys::MemoryContextSwitchTo(context);
            pg_sys::CurrentResourceOwner = owner;
            Ok(result)
        })
        .catch_others(move |caught| {
            pg_sys::MemoryContextSwitchTo(context);
            pg_sys::FlushErrorState();
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
            pg_sys::MemoryContextSwitchTo(context);
            pg_sys::CurrentResourceOwner = owner;
            Err(match caught {
                CaughtError::PostgresError(e) | CaughtError::ErrorReport(e) => {
                    e.message().to_owned()
                }
                CaughtError::RustPanic { ereport, .. } => ereport.message().to_owned(),
            })
        })
        .execute()
    }
}
