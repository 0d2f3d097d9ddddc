//! INSERT, UPDATE and DELETE: rows → validated requests → PartnerStack, with the outcome of a
//! multi-row statement reported exactly.
//!
//! Each row is validated as the executor hands it over. Without RETURNING (or an AFTER ROW
//! trigger, or a WITH CHECK OPTION, which need the row as PartnerStack answered it), rows are
//! held until `batch_size` inserted rows or the end of the statement: a bad value anywhere in
//! them is an ERROR before any request. Then the requests go out, up to `max_concurrency` at
//! once (rows addressing the same object one after the other, in statement order). API writes
//! are not transactional, so when a row fails the ERROR says which rows of the statement
//! PartnerStack accepted (their keys), the failing row's input and the API's message, which
//! other rows failed or have no known outcome, and which were never sent.
//!
//! One file per phase, as the scan:
//! - `planner`: AddForeignUpdateTargets (the addressing column, and the row as read for DELETE);
//! - `executor`: Begin/Exec/End of ForeignModify and ForeignInsert (COPY, partitions), the
//!   batch callbacks, and the slots read and filled;
//! - `explain`: ExplainForeignModify.

// The ERROR reports are built as values and raised once, at the callback boundary.
#![allow(clippy::result_large_err)]

mod executor;
mod explain;
mod planner;

pub use executor::{
    begin_foreign_insert, begin_foreign_modify, end_foreign_insert, end_foreign_modify,
    exec_foreign_batch_insert, exec_foreign_delete, exec_foreign_insert, exec_foreign_update,
    get_foreign_modify_batch_size,
};
pub use explain::explain_foreign_modify;
pub use planner::add_foreign_update_targets;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use partnerstack_api::catalogue::{Endpoint, UpdateMethod};
use partnerstack_api::client::Fanout;
use partnerstack_api::error::excerpt;
use partnerstack_api::on_conflict::{Created, create_unless_duplicate};
use partnerstack_api::options::InsertMode;
use partnerstack_api::write::{
    self, ConfirmRead, Method, Upsert, WriteError, WriteRequest, plan_delete, plan_insert,
    plan_update, plan_upsert,
};
use partnerstack_api::{ApiError, Client, Resource, Stats, Value, WriteOutcome};
use pgrx::pg_sys;
use pgrx::pg_sys::panic::ErrorReport;
use supabase_wrappers::prelude::{Cell, Row};

use crate::errors::{
    RowFates, WriteProgress, api_report, partial_write_report, raise_cancelled_write, raise_option,
    write_outcome_unknown_report, write_report, write_report_after_other_tables,
    write_report_after_sent,
};
use crate::options::{client_config, server_options};
use crate::session::cached_client;
use crate::table::{POSTGRES_EPOCH_OFFSET_MICROS, TableMap};

/// Longest excerpt of the failing row's body in the DETAIL.
const DETAIL_ROW_CHARS: usize = 400;

thread_local! {
    /// The update verb each server answered to (PUT, or PATCH after a 405), for the session.
    static UPDATE_METHODS: RefCell<HashMap<pg_sys::Oid, UpdateMethod>> = RefCell::new(HashMap::new());
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

/// The state of one modifying statement on one foreign table (one result relation).
pub struct ModifyState {
    resource: &'static Resource,
    table: String,
    serverid: pg_sys::Oid,
    client: Rc<Client>,
    /// `insert_mode 'upsert'`.
    upsert: bool,
    /// The server option `update_method`, else what this server answered before.
    pinned: Option<UpdateMethod>,
    /// Requests in flight at most (`max_concurrency`).
    concurrency: usize,
    /// Inserted rows held before they are sent (`batch_size`, the table's else the server's).
    pub batch_size: usize,
    /// `ON CONFLICT DO NOTHING`: creates refused as duplicates of this resource are skipped.
    skip_duplicates: Option<&'static Resource>,
    /// Rows of the statement handed over so far: a row's number in messages is its place in
    /// the statement, whichever batch it went out with.
    rows: usize,
    /// Validated rows not sent yet: the last `pending.len()` rows of the statement.
    pending: Vec<Pending>,
    /// Keys already queued for UPDATE or DELETE: a join can reach the same row twice, and a
    /// local table would change it once.
    addressed: std::collections::HashSet<String>,
    /// Rows PartnerStack accepted so far (0-based row of the statement, key), over every batch.
    accepted: Vec<(usize, String)>,
    /// Creates skipped as duplicates so far (0-based row, the key column and its value).
    skipped: Vec<(usize, &'static str, String)>,
    stats: Stats,
}

impl ModifyState {
    /// Starts a statement on foreign table `relid` of server `serverid`, writing with `user`'s
    /// keys: reads the table, server and user-mapping options.
    pub fn begin(
        table_map: TableMap,
        serverid: pg_sys::Oid,
        user: pg_sys::Oid,
        on_conflict: pg_sys::OnConflictAction::Type,
    ) -> ModifyState {
        let resource = table_map.resource;
        let needs_keys = resource.writes.endpoint == Endpoint::Vendor;
        let server = server_options(serverid);
        let table = &table_map.options;
        let config = client_config(&server, serverid, user, needs_keys);
        table
            .check_rowid_column(resource, &table_map.name)
            .unwrap_or_else(|e| raise_option(&e));
        let upsert = table.insert_mode == InsertMode::Upsert;
        let skip_duplicates =
            crate::on_conflict::check(resource, crate::on_conflict::action(on_conflict), upsert);
        let pinned = server
            .update_method
            .or_else(|| UPDATE_METHODS.with(|m| m.borrow().get(&serverid).copied()));
        ModifyState {
            resource,
            client: cached_client(config, &format!("writing {}", table_map.name)),
            upsert,
            batch_size: table.batch_size.unwrap_or(server.batch_size),
            table: table_map.name,
            serverid,
            pinned,
            concurrency: server.max_concurrency,
            skip_duplicates,
            rows: 0,
            pending: Vec::new(),
            addressed: std::collections::HashSet::new(),
            accepted: Vec::new(),
            skipped: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// Validated rows waiting to be sent.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The requests sent so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Keys of the rows PartnerStack accepted so far, in statement order, for the statement's
    /// ERROR: the transaction's rollback WARNING then counts them without naming them again.
    pub fn reported_keys(&self) -> Vec<String> {
        crate::xact::listed(&self.table, self.accepted.len());
        let mut accepted = self.accepted.clone();
        accepted.sort_unstable_by_key(|(row, _)| *row);
        accepted.into_iter().map(|(_, key)| key).collect()
    }

    /// The 1-based rows skipped as duplicates so far, in order, for a report.
    fn skipped_rows(&self) -> Vec<usize> {
        let mut rows: Vec<usize> = self.skipped.iter().map(|(row, ..)| row + 1).collect();
        rows.sort_unstable();
        rows
    }

    /// Ends the statement: sends what is held, then says which rows were skipped as
    /// duplicates (ON CONFLICT DO NOTHING), if any.
    pub fn end(&mut self) -> Result<(), ErrorReport> {
        self.finish()?;
        if let Some((_, column, _)) = self.skipped.first() {
            let mut skipped = self.skipped.clone();
            skipped.sort_unstable_by_key(|(row, ..)| *row);
            let keys: Vec<String> = skipped.into_iter().map(|(.., key)| key).collect();
            crate::on_conflict::notice_skipped(&self.table, column, &keys);
        }
        Ok(())
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

    /// Validates one updated row, addressed by `key`: `row` holds only the columns the UPDATE
    /// sets. False when the statement already updates that object (a join reached it twice).
    pub fn update(&mut self, key: &str, row: &Row) -> Result<bool, ErrorReport> {
        if !self.addressed.insert(key.to_owned()) {
            return Ok(false);
        }
        let cells = self.cells(row)?;
        self.queue(plan_update(self.resource, Some(key), &cells).map(Pending::Update))?;
        Ok(true)
    }

    /// Validates one deleted row, addressed by `key`. False when the statement already deletes
    /// that object.
    pub fn delete(&mut self, key: &str) -> Result<bool, ErrorReport> {
        if !self.addressed.insert(key.to_owned()) {
            return Ok(false);
        }
        self.queue(plan_delete(self.resource, Some(key)).map(Pending::Delete))?;
        Ok(true)
    }

    fn queue(&mut self, pending: Result<Pending, WriteError>) -> Result<(), ErrorReport> {
        match pending {
            Ok(p) => {
                self.pending.push(p);
                self.rows += 1;
                Ok(())
            }
            Err(e) => Err(self.refused_row(&e)),
        }
    }

    /// The ERROR of the next row, refused before its request: when earlier rows of the
    /// statement were already sent, it lists what PartnerStack accepted.
    fn refused_row(&self, e: &WriteError) -> ErrorReport {
        let row = self.rows + 1;
        if self.rows == self.pending.len() {
            // Another table of the statement (a partition, a writable CTE) may have written.
            match crate::xact::written_by_statement() {
                0 => write_report(e, row),
                elsewhere => write_report_after_other_tables(e, row, elsewhere),
            }
        } else {
            let sent = self.rows - self.pending.len();
            write_report_after_sent(e, row, sent, &self.table, &self.reported_keys())
        }
    }

    fn cells<'r>(&self, row: &'r Row) -> Result<Vec<write::Cell<'r>>, ErrorReport> {
        row.iter()
            .map(|(name, cell)| {
                let value = match cell {
                    None => Value::Null,
                    Some(cell) => to_value(cell).map_err(|found| {
                        let column = self.resource.column(name);
                        let e = WriteError::WrongType {
                            table: self.resource.name,
                            column: column.map_or("(unknown)", |c| c.name),
                            expected: column.map_or("a PartnerStack column", |c| c.ty.sql_type()),
                            found,
                        };
                        self.refused_row(&e)
                    })?,
                };
                Ok((name.as_str(), value))
            })
            .collect()
    }

    /// Sends every queued write and returns their outcomes, in row order (`None` for a create
    /// skipped as a duplicate under ON CONFLICT DO NOTHING): up to
    /// `max_concurrency` at once, in statement order, with the rows that address the same
    /// object one after the other. An update whose verb the server has not answered yet (PUT,
    /// or PATCH after a 405) is sent alone first, so that the others use the verb it finds.
    /// Once a row fails nothing more is sent; the rows already in flight are waited for, so
    /// the ERROR says exactly which rows of the statement PartnerStack accepted (in this batch
    /// and the earlier ones), which failed or have no known outcome, and which were never sent.
    pub fn finish(&mut self) -> Result<Vec<Option<WriteOutcome>>, ErrorReport> {
        let pending = std::mem::take(&mut self.pending);
        let count = pending.len();
        // Statement row (0-based) of pending[0].
        let first = self.rows - count;
        let mut fanout: Fanout<Sent> = Fanout::new(self.concurrency);
        // Rows in flight (index into `pending`) and the objects they address.
        let mut in_flight: HashMap<usize, Vec<String>> = HashMap::new();
        let mut outcomes: Vec<Option<WriteOutcome>> = (0..count).map(|_| None).collect();
        let skip_duplicates = self.skip_duplicates;
        let mut failed: Vec<(usize, ApiError)> = Vec::new();
        // A row whose request thread could not start: failed, but certainly not sent.
        let mut unsent: Option<usize> = None;
        let mut next = 0;
        loop {
            while failed.is_empty() && next < count && fanout.has_room() {
                let write = &pending[next];
                let lanes = write.lanes();
                let learning = self.pinned.is_none() && write.needs_update_verb();
                let waits = in_flight
                    .values()
                    .any(|busy| busy.iter().any(|lane| lanes.contains(lane)));
                if waits || learning && !in_flight.is_empty() {
                    break;
                }
                let (job, pinned) = (write.clone(), self.pinned);
                let started = fanout.start(&self.client, next, move |client, stats| {
                    job.send(client, pinned, skip_duplicates, stats)
                });
                if let Err(e) = started {
                    // Reported like a refused row once the rows in flight are in.
                    failed.push((next, e));
                    unsent = Some(next);
                    next += 1;
                    break;
                }
                crate::xact::sending();
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
                    let mut rows: Vec<usize> = in_flight.keys().map(|i| first + i + 1).collect();
                    rows.sort_unstable();
                    failed.sort_unstable_by_key(|(row, _)| *row);
                    let mut fates = fates(&pending, first, self.rows, &failed, unsent, next);
                    fates.skipped = self.skipped_rows();
                    raise_cancelled_write(
                        &self.table,
                        &rows,
                        self.rows,
                        &self.reported_keys(),
                        &fates,
                    )
                }
            };
            self.stats.add(&done.stats);
            in_flight.remove(&done.tag);
            match done.result {
                Ok((Created::New(outcome), verb)) => {
                    if let Some(verb) = verb {
                        self.remember(verb);
                    }
                    self.accept(first + done.tag, &outcome);
                    outcomes[done.tag] = Some(outcome);
                }
                Ok((Created::Duplicate { column, value }, _)) => {
                    self.skipped.push((first + done.tag, column, value));
                }
                Err(e) => failed.push((done.tag, e)),
            }
        }
        if failed.is_empty() {
            return Ok(outcomes);
        }
        failed.sort_unstable_by_key(|(row, _)| *row);
        let (index, error) = failed.remove(0);
        let mut others = fates(&pending, first, self.rows, &failed, unsent, next);
        others.skipped = self.skipped_rows();
        Err(self.failure_report(
            &pending[index],
            first + index,
            &error,
            unsent == Some(index),
            &others,
        ))
    }

    /// Where a row's write is known accepted by PartnerStack (`row` 0-based in the statement).
    fn accept(&mut self, row: usize, outcome: &WriteOutcome) {
        let key = outcome.key.clone().unwrap_or_else(|| "(no key)".into());
        crate::xact::written(&self.table, &key);
        self.accepted.push((row, key));
    }

    /// The statement's ERROR when row `row` (0-based) failed: what PartnerStack accepted of the
    /// statement so far, the failing row, and what became of the others.
    fn failure_report(
        &self,
        write: &Pending,
        row: usize,
        error: &ApiError,
        not_sent: bool,
        others: &RowFates,
    ) -> ErrorReport {
        let keys = self.reported_keys();
        let unknown = !not_sent && outcome_unknown(write, error);
        if keys.is_empty() && self.rows == 1 && !unknown {
            return api_report(error, &format!("writing {}", self.table));
        }
        let progress = WriteProgress {
            table: &self.table,
            row: row + 1,
            total: self.rows,
            accepted: &keys,
            failing_row: write.body_excerpt(),
            others,
        };
        if unknown {
            write_outcome_unknown_report(error, &progress)
        } else {
            partial_write_report(error, &progress)
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

/// What became of the rows of `failed` (indexes into `pending`, in row order) and of the rows
/// never sent (from `next` on, up to the statement's `total` rows so far), for a report.
/// `pending[0]` is row `first` (0-based) of the statement; `unsent` failed without being sent.
fn fates(
    pending: &[Pending],
    first: usize,
    total: usize,
    failed: &[(usize, ApiError)],
    unsent: Option<usize>,
    next: usize,
) -> RowFates {
    let mut fates = RowFates {
        not_sent: (first + next < total).then_some((first + next + 1, total)),
        ..RowFates::default()
    };
    for (index, e) in failed {
        let row = first + index + 1;
        if unsent != Some(*index) && outcome_unknown(&pending[*index], e) {
            fates.unknown.push(row);
        } else {
            fates
                .failed
                .push((row, excerpt(&e.to_string(), DETAIL_ROW_CHARS)));
        }
    }
    fates
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
            // `infinity` and `-infinity` are the extremes of the range: no instant to send.
            let micros = ts
                .into_inner()
                .checked_add(POSTGRES_EPOCH_OFFSET_MICROS)
                .filter(|_| ts.is_finite())
                .ok_or_else(|| format!("the timestamp {ts}, which is not an instant"))?;
            Value::TimestampMs(micros.div_euclid(1000))
        }
        Cell::Json(j) => Value::Json(Cow::Owned(j.0.to_string())),
        Cell::StringArray(a) => {
            Value::TextArray(a.iter().map(|s| s.clone().map(Cow::Owned)).collect())
        }
        other => return Err(format!("{other:?}")),
    })
}
