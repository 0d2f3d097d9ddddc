//! INSERT, UPDATE and DELETE: rows → validated requests → PartnerStack, with the outcome of a
//! multi-row statement reported exactly.
//!
//! Every row of a statement is validated as the executor hands it over, and nothing is sent
//! until the last row is in: a bad value anywhere in `INSERT ... SELECT` is an ERROR before any
//! request. Then the requests go one by one. API writes are not transactional, so when row N
//! fails the ERROR says which rows PartnerStack already accepted (their keys), the failing
//! row's input and the API's message.

// The framework's ForeignDataWrapper trait takes ErrorReport by value; these methods feed it.
#![allow(clippy::result_large_err)]

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use partnerstack_api::catalogue::{Endpoint, UpdateMethod};
use partnerstack_api::error::excerpt;
use partnerstack_api::options::InsertMode;
use partnerstack_api::write::{
    self, Method, Upsert, WriteError, WriteRequest, plan_delete, plan_insert, plan_update,
    plan_upsert,
};
use partnerstack_api::{ApiError, Client, Resource, Stats, Value};
use pgrx::pg_guard;
use pgrx::pg_sys;
use pgrx::pg_sys::panic::ErrorReport;
use supabase_wrappers::prelude::{Cell, Row};

use crate::errors::{
    WriteProgress, api_report, partial_write_report, raise, raise_cancelled_write, raise_option,
    write_outcome_unknown_report, write_report,
};
use crate::options::{client_config, server_options};
use crate::scan::explain_text;
use crate::session::cached_client;
use crate::table::POSTGRES_EPOCH_OFFSET_MICROS;

/// Longest excerpt of the failing row's body in the DETAIL.
const DETAIL_ROW_CHARS: usize = 400;

thread_local! {
    /// The update verb each server answered to (PUT, or PATCH after a 405), for the session.
    static UPDATE_METHODS: RefCell<HashMap<pg_sys::Oid, UpdateMethod>> = RefCell::new(HashMap::new());
    /// The user whose keys the statement being begun writes with (see [`wrap_begin_modify`]).
    static MODIFY_USER: std::cell::Cell<Option<pg_sys::Oid>> = const { std::cell::Cell::new(None) };
    /// The result relation being begun (see [`wrap_begin_modify`]).
    static MODIFY_RINFO: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// Write states by result relation, for [`explain_foreign_modify`]: the framework keeps
    /// its own state in `ri_FdwState`, a type we cannot read.
    static EXPLAINABLE: RefCell<Vec<(usize, Weak<RefCell<ModifyState>>)>> =
        const { RefCell::new(Vec::new()) };
}

/// Write states kept for EXPLAIN at most; older ones belong to statements long gone (an ERROR
/// skips EndForeignModify, so their states are never dropped).
const EXPLAINABLE_STATES: usize = 32;

type BeginForeignModify = unsafe extern "C-unwind" fn(
    *mut pg_sys::ModifyTableState,
    *mut pg_sys::ResultRelInfo,
    *mut pg_sys::List,
    std::ffi::c_int,
    std::ffi::c_int,
);

static FRAMEWORK_BEGIN_MODIFY: std::sync::OnceLock<BeginForeignModify> = std::sync::OnceLock::new();

/// Installs [`begin_foreign_modify`] in front of the framework's BeginForeignModify.
pub fn wrap_begin_modify(slot: &mut Option<BeginForeignModify>) {
    if let Some(framework) = slot.take() {
        let _ = FRAMEWORK_BEGIN_MODIFY.set(framework);
        *slot = Some(begin_foreign_modify);
    }
}

/// Records whose keys the statement writes with, as the scan does for reads: the range table
/// entry's checkAsUser (the owner of a view written through), else the current user.
///
/// # Safety
/// Called by the executor as BeginForeignModify, with its valid `mtstate` and `rinfo` (whose
/// estate holds the statement's range table), after [`wrap_begin_modify`] installed it.
#[pg_guard]
unsafe extern "C-unwind" fn begin_foreign_modify(
    mtstate: *mut pg_sys::ModifyTableState,
    rinfo: *mut pg_sys::ResultRelInfo,
    fdw_private: *mut pg_sys::List,
    subplan_index: std::ffi::c_int,
    eflags: std::ffi::c_int,
) {
    // SAFETY: the executor passes live nodes of the statement being started; the range table
    // index of a result relation is 1-based into es_range_table, and the framework's callback
    // takes exactly the arguments we were given.
    unsafe {
        let estate = (*mtstate).ps.state;
        let index = (*rinfo).ri_RangeTableIndex as usize;
        let rte = pgrx::PgList::<pg_sys::RangeTblEntry>::from_pg((*estate).es_range_table)
            .get_ptr(index.saturating_sub(1));
        let user = match rte {
            Some(rte) if index > 0 && (*rte).checkAsUser != pg_sys::InvalidOid => {
                (*rte).checkAsUser
            }
            _ => pg_sys::GetUserId(),
        };
        MODIFY_USER.with(|u| u.set(Some(user)));
        MODIFY_RINFO.with(|r| r.set(rinfo as usize));
        let framework = FRAMEWORK_BEGIN_MODIFY
            .get()
            .expect("installed with the routine");
        framework(mtstate, rinfo, fdw_private, subplan_index, eflags);
        MODIFY_USER.with(|u| u.set(None));
        MODIFY_RINFO.with(|r| r.set(0));
    }
}

/// The write state of one statement on one foreign table, shared by the framework's instance
/// (which feeds and ends it) and [`explain_foreign_modify`] (which gets only the result
/// relation).
pub struct ModifyHandle(Rc<RefCell<ModifyState>>);

impl ModifyHandle {
    /// Starts a statement ([`ModifyState::begin`]) and makes it findable by EXPLAIN.
    pub fn begin(options: &HashMap<String, String>) -> ModifyHandle {
        let state = Rc::new(RefCell::new(ModifyState::begin(options)));
        let rinfo = MODIFY_RINFO.with(|r| r.get());
        if rinfo != 0 {
            EXPLAINABLE.with(|e| {
                let mut e = e.borrow_mut();
                // A new statement may reuse the address of an old result relation.
                e.retain(|(r, s)| *r != rinfo && s.strong_count() > 0);
                if e.len() >= EXPLAINABLE_STATES {
                    e.remove(0);
                }
                e.push((rinfo, Rc::downgrade(&state)));
            });
        }
        ModifyHandle(state)
    }

    /// See [`ModifyState::insert`].
    pub fn insert(&mut self, row: &Row) -> Result<(), ErrorReport> {
        self.0.borrow_mut().insert(row)
    }

    /// See [`ModifyState::update`].
    pub fn update(&mut self, rowid: &Cell, row: &Row) -> Result<(), ErrorReport> {
        self.0.borrow_mut().update(rowid, row)
    }

    /// See [`ModifyState::delete`].
    pub fn delete(&mut self, rowid: &Cell) -> Result<(), ErrorReport> {
        self.0.borrow_mut().delete(rowid)
    }

    /// See [`ModifyState::finish`]; nothing is left to send when EXPLAIN ANALYZE sent it.
    pub fn finish(&mut self) -> Result<(), ErrorReport> {
        self.0.borrow_mut().finish()
    }
}

/// ExplainForeignModify: with ANALYZE, the write requests the statement sent.
///
/// EXPLAIN prints the plan before the executor ends the statement, and the writes are sent at
/// its end (EndForeignModify): so with ANALYZE they are sent here, as the statement would send
/// them a moment later, and EndForeignModify finds nothing left.
///
/// # Safety
/// Called by EXPLAIN with the live result relation of the statement being explained and its
/// live ExplainState.
#[pg_guard]
pub unsafe extern "C-unwind" fn explain_foreign_modify(
    _mtstate: *mut pg_sys::ModifyTableState,
    rinfo: *mut pg_sys::ResultRelInfo,
    _fdw_private: *mut pg_sys::List,
    _subplan_index: std::ffi::c_int,
    es: *mut pg_sys::ExplainState,
) {
    // SAFETY: `es` is live (caller); `analyze` is a plain field.
    if !unsafe { (*es).analyze } {
        return;
    }
    let state = EXPLAINABLE.with(|e| {
        e.borrow()
            .iter()
            .rev()
            .find(|(r, _)| *r == rinfo as usize)
            .and_then(|(_, s)| s.upgrade())
    });
    let Some(state) = state else { return };
    let mut state = state.borrow_mut();
    if let Err(report) = state.finish() {
        raise(report);
    }
    let stats = &state.stats;
    // SAFETY: `es` is live (caller).
    unsafe {
        explain_text(
            es,
            "PartnerStack Write Traffic",
            &format!("requests={} retries={}", stats.requests, stats.retries),
        );
        if !stats.log.is_empty() {
            let mut log = stats.log.join("; ");
            if stats.requests > stats.log.len() as u64 {
                log.push_str(&format!(
                    "; and {} more",
                    stats.requests - stats.log.len() as u64
                ));
            }
            explain_text(es, "PartnerStack Write Requests", &log);
        }
    }
}

/// A validated write waiting for the end of the statement.
enum Pending {
    Create(WriteRequest),
    Update(WriteRequest),
    Delete(WriteRequest),
    Upsert(Upsert),
}

impl Pending {
    fn body_excerpt(&self) -> String {
        let request = match self {
            Pending::Create(r) | Pending::Update(r) | Pending::Delete(r) => r,
            Pending::Upsert(u) => &u.create,
        };
        let text = match &request.body {
            Some(body) => body.to_string(),
            None => format!("{} {}", request.method.as_str(), request.path),
        };
        excerpt(&text, DETAIL_ROW_CHARS)
    }
}

/// The state of one modifying statement on one foreign table.
pub struct ModifyState {
    resource: &'static Resource,
    table: String,
    serverid: pg_sys::Oid,
    client: Rc<Client>,
    /// `insert_mode 'upsert'`.
    upsert: bool,
    /// The server option `update_method`, else what this server answered before.
    pinned: Option<UpdateMethod>,
    pending: Vec<Pending>,
    /// Keys already queued for UPDATE or DELETE: a join can reach the same row twice, and a
    /// local table would change it once.
    addressed: std::collections::HashSet<String>,
    stats: Stats,
}

impl ModifyState {
    /// Starts a statement: reads the table, server and user-mapping options.
    ///
    /// `options` are the framework's: the table's options plus the oids of the table and its
    /// server; the options themselves are read typed from the catalogs.
    pub fn begin(options: &HashMap<String, String>) -> ModifyState {
        let oid = |name: &str| {
            pg_sys::Oid::from(
                options
                    .get(name)
                    .and_then(|v| v.parse::<u32>().ok())
                    .expect("the framework passes the table and server oids"),
            )
        };
        let (relid, serverid) = (oid("wrappers.ftable_oid"), oid("wrappers.fserver_oid"));
        let table_map = crate::table::TableMap::load(relid);
        let resource = table_map.resource;
        let needs_keys = resource.writes.endpoint == Endpoint::Vendor;
        let user = MODIFY_USER.with(|u| u.get()).unwrap_or_else(|| {
            // SAFETY: GetUserId only reads the backend's current user id.
            unsafe { pg_sys::GetUserId() }
        });
        let server = server_options(serverid);
        let table = &table_map.options;
        let config = client_config(&server, serverid, user, needs_keys);
        table
            .check_rowid_column(resource, &table_map.name)
            .unwrap_or_else(|e| raise_option(&e));
        let pinned = server
            .update_method
            .or_else(|| UPDATE_METHODS.with(|m| m.borrow().get(&serverid).copied()));
        ModifyState {
            resource,
            client: cached_client(config, &format!("writing {}", table_map.name)),
            table: table_map.name,
            serverid,
            upsert: table.insert_mode == InsertMode::Upsert,
            pinned,
            pending: Vec::new(),
            addressed: std::collections::HashSet::new(),
            stats: Stats::default(),
        }
    }

    /// Validates one inserted row.
    pub fn insert(&mut self, row: &Row) -> Result<(), ErrorReport> {
        let cells = self.cells(row)?;
        let pending = if self.upsert {
            plan_upsert(self.resource, &cells).map(Pending::Upsert)
        } else {
            plan_insert(self.resource, &cells).map(Pending::Create)
        };
        self.queue(pending)
    }

    /// Validates one updated row: `row` holds only the columns the UPDATE sets.
    pub fn update(&mut self, rowid: &Cell, row: &Row) -> Result<(), ErrorReport> {
        let key = rowid_text(rowid);
        if !self.first_time(&key) {
            return Ok(());
        }
        let cells = self.cells(row)?;
        self.queue(plan_update(self.resource, key.as_deref(), &cells).map(Pending::Update))
    }

    /// Validates one deleted row.
    pub fn delete(&mut self, rowid: &Cell) -> Result<(), ErrorReport> {
        let key = rowid_text(rowid);
        if !self.first_time(&key) {
            return Ok(());
        }
        self.queue(plan_delete(self.resource, key.as_deref()).map(Pending::Delete))
    }

    /// Whether this row identity is seen for the first time in the statement.
    fn first_time(&mut self, key: &Option<String>) -> bool {
        match key {
            Some(k) => self.addressed.insert(k.clone()),
            None => true,
        }
    }

    fn queue(&mut self, pending: Result<Pending, WriteError>) -> Result<(), ErrorReport> {
        match pending {
            Ok(p) => {
                self.pending.push(p);
                Ok(())
            }
            Err(e) => Err(write_report(&e, self.pending.len() + 1)),
        }
    }

    fn cells<'r>(&self, row: &'r Row) -> Result<Vec<write::Cell<'r>>, ErrorReport> {
        row.iter()
            .map(|(name, cell)| {
                let value = match cell {
                    None => Value::Null,
                    Some(cell) => to_value(cell).map_err(|found| {
                        let column = self.resource.column(name);
                        write_report(
                            &WriteError::WrongType {
                                table: self.resource.name,
                                column: column.map_or("(unknown)", |c| c.name),
                                expected: column
                                    .map_or("a PartnerStack column", |c| c.ty.sql_type()),
                                found,
                            },
                            self.pending.len() + 1,
                        )
                    })?,
                };
                Ok((name.as_str(), value))
            })
            .collect()
    }

    /// Sends every queued write, in order.
    pub fn finish(&mut self) -> Result<(), ErrorReport> {
        let pending = std::mem::take(&mut self.pending);
        let total = pending.len();
        let mut accepted: Vec<String> = Vec::new();
        for (index, write) in pending.iter().enumerate() {
            let result = match write {
                Pending::Create(r) | Pending::Delete(r) => self.client.write(r, &mut self.stats),
                Pending::Update(r) => {
                    let outcome = write::update(&self.client, r, self.pinned, &mut self.stats);
                    if let Ok(o) = &outcome {
                        self.remember(o.method);
                    }
                    outcome
                }
                Pending::Upsert(u) => write::upsert(&self.client, u, self.pinned, &mut self.stats)
                    .map(|o| {
                        if let Some(m) = o.update_method {
                            self.remember(m);
                        }
                        o.outcome
                    }),
            };
            match result {
                Ok(outcome) => accepted.push(outcome.key.unwrap_or_else(|| "(no key)".into())),
                Err(ApiError::Cancelled) => {
                    raise_cancelled_write(&self.table, index + 1, total, &accepted)
                }
                Err(e) if outcome_unknown(write, &e) => {
                    let progress = self.progress(index, total, &accepted, write);
                    return Err(write_outcome_unknown_report(&e, &progress));
                }
                Err(e) if accepted.is_empty() && total == 1 => {
                    return Err(api_report(&e, &format!("writing {}", self.table)));
                }
                Err(e) => {
                    let progress = self.progress(index, total, &accepted, write);
                    return Err(partial_write_report(&e, &progress));
                }
            }
        }
        Ok(())
    }

    fn remember(&mut self, method: Method) {
        let verb = match method {
            Method::Patch => UpdateMethod::Patch,
            Method::Put => UpdateMethod::Put,
            _ => return,
        };
        self.pinned = Some(verb);
        UPDATE_METHODS.with(|m| m.borrow_mut().insert(self.serverid, verb));
    }

    /// How far the statement got when row `index` (0-based) failed, for its ERROR.
    fn progress<'a>(
        &'a self,
        index: usize,
        total: usize,
        accepted: &'a [String],
        write: &Pending,
    ) -> WriteProgress<'a> {
        WriteProgress {
            table: &self.table,
            row: index + 1,
            total,
            accepted,
            failing_row: write.body_excerpt(),
        }
    }
}

/// Whether a failed write may nevertheless have been applied: a create (a POST is not
/// idempotent) that got no definite answer. The client already resent it when a read could
/// prove the object absent; this is what remains.
fn outcome_unknown(write: &Pending, e: &ApiError) -> bool {
    matches!(write, Pending::Create(_) | Pending::Upsert(_))
        && matches!(
            e,
            ApiError::Server { .. } | ApiError::Timeout { .. } | ApiError::Transport { .. }
        )
}

/// A framework cell as a write value; the error names what arrived.
fn to_value(cell: &Cell) -> Result<Value<'static>, String> {
    Ok(match cell {
        Cell::String(s) => Value::Text(Cow::Owned(s.clone())),
        Cell::I64(i) => Value::BigInt(*i),
        Cell::I32(i) => Value::BigInt(i64::from(*i)),
        Cell::I16(i) => Value::BigInt(i64::from(*i)),
        Cell::Bool(b) => Value::Bool(*b),
        // Microseconds since 2000-01-01 → milliseconds since 1970 (PartnerStack's unit); finer
        // precision than the API keeps is truncated.
        Cell::Timestamptz(ts) => {
            let micros = ts.into_inner() + POSTGRES_EPOCH_OFFSET_MICROS;
            Value::TimestampMs(micros.div_euclid(1000))
        }
        Cell::Json(j) => Value::Json(Cow::Owned(j.0.to_string())),
        Cell::StringArray(a) => {
            Value::TextArray(a.iter().map(|s| s.clone().map(Cow::Owned)).collect())
        }
        other => return Err(format!("{other:?}")),
    })
}

fn rowid_text(rowid: &Cell) -> Option<String> {
    match rowid {
        Cell::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}
