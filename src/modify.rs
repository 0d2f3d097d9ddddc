//! INSERT, UPDATE and DELETE: rows → validated requests → PartnerStack, with the outcome of a
//! multi-row statement reported exactly.
//!
//! Every row of a statement is validated as the executor hands it over, and nothing is sent
//! until the last row is in: a bad value anywhere in `INSERT ... SELECT` is an ERROR before any
//! request. Then the requests go out, up to `max_concurrency` at once (rows addressing the same
//! object one after the other, in statement order). API writes are not transactional, so when
//! a row fails the ERROR says which rows PartnerStack accepted (their keys), the failing row's
//! input and the API's message, which other rows failed or have no known outcome, and which
//! were never sent.

// The framework's ForeignDataWrapper trait takes ErrorReport by value; these methods feed it.
#![allow(clippy::result_large_err)]

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use partnerstack_api::catalogue::{Endpoint, UpdateMethod};
use partnerstack_api::client::Fanout;
use partnerstack_api::error::excerpt;
use partnerstack_api::on_conflict::{Created, OnConflict, create_unless_duplicate};
use partnerstack_api::options::InsertMode;
use partnerstack_api::write::{
    self, ConfirmRead, Method, Upsert, WriteError, WriteRequest, plan_delete, plan_insert,
    plan_update, plan_upsert,
};
use partnerstack_api::{ApiError, Client, Resource, Stats, Value};
use pgrx::pg_guard;
use pgrx::pg_sys;
use pgrx::pg_sys::panic::ErrorReport;
use supabase_wrappers::prelude::{Cell, Row};

use crate::errors::{
    RowFates, WriteProgress, api_report, partial_write_report, raise, raise_cancelled_write,
    raise_option, write_outcome_unknown_report, write_report,
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
    /// The ON CONFLICT action of the statement being begun (see [`wrap_begin_modify`]).
    static MODIFY_ON_CONFLICT: std::cell::Cell<OnConflict> =
        const { std::cell::Cell::new(OnConflict::Error) };
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
        MODIFY_ON_CONFLICT.with(|c| c.set(crate::on_conflict::action(mtstate)));
        MODIFY_RINFO.with(|r| r.set(rinfo as usize));
        let framework = FRAMEWORK_BEGIN_MODIFY
            .get()
            .expect("installed with the routine");
        framework(mtstate, rinfo, fdw_private, subplan_index, eflags);
        MODIFY_USER.with(|u| u.set(None));
        MODIFY_ON_CONFLICT.with(|c| c.set(OnConflict::Error));
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
#[derive(Clone)]
enum Pending {
    Create(WriteRequest),
    Update(WriteRequest),
    Delete(WriteRequest),
    Upsert(Upsert),
}

/// What one sent write gave: its outcome (a create may be skipped as a duplicate under
/// `ON CONFLICT DO NOTHING`), and the update verb the server answered to.
type Sent = (Created, Option<Method>);

impl Pending {
    /// Sends the write with its rules (PUT then PATCH, upsert, a create skipped as a duplicate
    /// of `skip_duplicates`), on a request thread.
    fn send(
        &self,
        client: &Client,
        pinned: Option<UpdateMethod>,
        skip_duplicates: Option<&'static Resource>,
        stats: &mut Stats,
    ) -> Result<Sent, ApiError> {
        match (self, skip_duplicates) {
            (Pending::Create(r), Some(resource)) => {
                create_unless_duplicate(client, resource, r, stats).map(|c| (c, None))
            }
            (Pending::Create(r) | Pending::Delete(r), _) => {
                client.write(r, stats).map(|o| (Created::New(o), None))
            }
            (Pending::Update(r), _) => write::update(client, r, pinned, stats).map(|o| {
                let verb = o.method;
                (Created::New(o), Some(verb))
            }),
            (Pending::Upsert(u), _) => write::upsert(client, u, pinned, stats)
                .map(|o| (Created::New(o.outcome), o.update_method)),
        }
    }

    /// Whether the write may try PUT then PATCH: sent alone while the server's verb is unknown.
    fn needs_update_verb(&self) -> bool {
        match self {
            Pending::Update(_) => true,
            Pending::Upsert(u) => u.update.is_some(),
            Pending::Create(_) | Pending::Delete(_) => false,
        }
    }

    /// The objects the write addresses, by the paths that name them: two writes sharing one
    /// are sent one after the other, in statement order.
    fn lanes(&self) -> Vec<String> {
        // A create names its object by the key it carries: the read that would confirm it,
        // and the `key` of its body (a transaction's own key, which has no such read).
        fn created(request: &WriteRequest) -> Vec<String> {
            let confirm = request.confirm.as_ref().map(|confirm| match confirm {
                ConfirmRead::Item { path } => path.clone(),
                ConfirmRead::List {
                    path, field, value, ..
                } => format!("{path}?{field}={value}"),
            });
            let own_key = request
                .body
                .as_ref()
                .and_then(|body| body.get("key"))
                .and_then(|key| key.as_str())
                .map(|key| format!("{}#{key}", request.path));
            confirm.into_iter().chain(own_key).collect()
        }
        match self {
            Pending::Update(r) | Pending::Delete(r) => vec![r.path.clone()],
            Pending::Create(r) => created(r),
            Pending::Upsert(u) => u
                .update
                .iter()
                .map(|r| r.path.clone())
                .chain(created(&u.create))
                .collect(),
        }
    }

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
    /// `ON CONFLICT DO NOTHING`: creates refused as duplicates of this resource are skipped.
    skip_duplicates: Option<&'static Resource>,
    /// The server option `update_method`, else what this server answered before.
    pinned: Option<UpdateMethod>,
    /// Requests in flight at most (`max_concurrency`).
    concurrency: usize,
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
        let upsert = table.insert_mode == InsertMode::Upsert;
        let on_conflict = MODIFY_ON_CONFLICT.with(|c| c.get());
        let skip_duplicates = crate::on_conflict::check(resource, on_conflict, upsert);
        let pinned = server
            .update_method
            .or_else(|| UPDATE_METHODS.with(|m| m.borrow().get(&serverid).copied()));
        ModifyState {
            resource,
            client: cached_client(config, &format!("writing {}", table_map.name)),
            table: table_map.name,
            serverid,
            upsert,
            skip_duplicates,
            pinned,
            concurrency: server.max_concurrency,
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

    /// Sends every queued write: up to `max_concurrency` at once, in statement order, with the
    /// rows that address the same object one after the other. An update whose verb the server
    /// has not answered yet (PUT, or PATCH after a 405) is sent alone first, so that the others
    /// use the verb it finds. Once a row fails nothing more is sent; the rows already in flight
    /// are waited for, so the ERROR says exactly which rows PartnerStack accepted, which failed
    /// or have no known outcome, and which were never sent.
    pub fn finish(&mut self) -> Result<(), ErrorReport> {
        let pending = std::mem::take(&mut self.pending);
        let total = pending.len();
        let mut fanout: Fanout<Sent> = Fanout::new(self.concurrency);
        // Rows in flight (0-based) and the objects they address.
        let mut in_flight: HashMap<usize, Vec<String>> = HashMap::new();
        let mut accepted: Vec<(usize, String)> = Vec::new();
        // Creates skipped as duplicates (ON CONFLICT DO NOTHING): the key column and value.
        let mut skipped: Vec<(usize, &'static str, String)> = Vec::new();
        let mut failed: Vec<(usize, ApiError)> = Vec::new();
        // A row whose request thread could not start: failed, but certainly not sent.
        let mut unsent: Option<usize> = None;
        let mut next = 0;
        loop {
            while failed.is_empty() && next < total && fanout.has_room() {
                let write = &pending[next];
                let lanes = write.lanes();
                let learning = self.pinned.is_none() && write.needs_update_verb();
                let waits = in_flight
                    .values()
                    .any(|busy| busy.iter().any(|lane| lanes.contains(lane)));
                if waits || learning && !in_flight.is_empty() {
                    break;
                }
                let (job, pinned, skip) = (write.clone(), self.pinned, self.skip_duplicates);
                let started = fanout.start(&self.client, next, move |client, stats| {
                    job.send(client, pinned, skip, stats)
                });
                if let Err(e) = started {
                    // Reported like a refused row once the rows in flight are in.
                    failed.push((next, e));
                    unsent = Some(next);
                    next += 1;
                    break;
                }
                in_flight.insert(next, lanes);
                next += 1;
                if learning {
                    break;
                }
            }
            self.stats.peak_in_flight = self.stats.peak_in_flight.max(fanout.peak as u64);
            let done = match fanout.next_done(&self.client) {
                Ok(Some(done)) => done,
                Ok(None) => break,
                Err(_) => {
                    let mut rows: Vec<usize> = in_flight.keys().map(|i| i + 1).collect();
                    rows.sort_unstable();
                    accepted.sort_unstable();
                    let keys: Vec<String> = accepted.into_iter().map(|(_, key)| key).collect();
                    crate::xact::listed(&self.table, keys.len());
                    failed.sort_unstable_by_key(|(row, _)| *row);
                    let mut fates = fates(&pending, &failed, unsent, next);
                    fates.skipped = skipped_rows(&skipped);
                    raise_cancelled_write(&self.table, &rows, total, &keys, &fates)
                }
            };
            self.stats.add(&done.stats);
            in_flight.remove(&done.tag);
            match done.result {
                Ok((Created::New(outcome), verb)) => {
                    if let Some(verb) = verb {
                        self.remember(verb);
                    }
                    let key = outcome.key.unwrap_or_else(|| "(no key)".into());
                    crate::xact::written(&self.table, &key);
                    accepted.push((done.tag, key));
                }
                Ok((Created::Duplicate { column, value }, _)) => {
                    skipped.push((done.tag, column, value));
                }
                Err(e) => failed.push((done.tag, e)),
            }
        }
        skipped.sort_unstable_by_key(|(row, ..)| *row);
        if failed.is_empty() {
            if let Some((_, column, _)) = skipped.first() {
                let keys: Vec<String> = skipped.iter().map(|(.., key)| key.clone()).collect();
                crate::on_conflict::notice_skipped(&self.table, column, &keys);
            }
            return Ok(());
        }
        accepted.sort_unstable_by_key(|(row, _)| *row);
        failed.sort_unstable_by_key(|(row, _)| *row);
        let keys: Vec<String> = accepted.into_iter().map(|(_, key)| key).collect();
        crate::xact::listed(&self.table, keys.len());
        let (index, error) = failed.remove(0);
        let first = &pending[index];
        let first_unknown = unsent != Some(index) && outcome_unknown(first, &error);
        if keys.is_empty() && total == 1 && !first_unknown {
            return Err(api_report(&error, &format!("writing {}", self.table)));
        }
        let mut others = fates(&pending, &failed, unsent, next);
        others.skipped = skipped_rows(&skipped);
        let progress = WriteProgress {
            table: &self.table,
            row: index + 1,
            total,
            accepted: &keys,
            failing_row: first.body_excerpt(),
            others: &others,
        };
        if first_unknown {
            Err(write_outcome_unknown_report(&error, &progress))
        } else {
            Err(partial_write_report(&error, &progress))
        }
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
}

/// What became of the rows of `failed` (0-based, in row order) and of the rows never sent
/// (from `next` on), for a report. `unsent` failed without being sent.
fn fates(
    pending: &[Pending],
    failed: &[(usize, ApiError)],
    unsent: Option<usize>,
    next: usize,
) -> RowFates {
    let mut fates = RowFates {
        not_sent: (next < pending.len()).then_some((next + 1, pending.len())),
        ..RowFates::default()
    };
    for (row, e) in failed {
        if unsent != Some(*row) && outcome_unknown(&pending[*row], e) {
            fates.unknown.push(row + 1);
        } else {
            fates
                .failed
                .push((row + 1, excerpt(&e.to_string(), DETAIL_ROW_CHARS)));
        }
    }
    fates
}

/// The 1-based rows skipped as duplicates, in order, for a report.
fn skipped_rows(skipped: &[(usize, &str, String)]) -> Vec<usize> {
    let mut rows: Vec<usize> = skipped.iter().map(|(row, ..)| row + 1).collect();
    rows.sort_unstable();
    rows
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
