//! The executor glue: BeginForeignScan (the state of one execution), the evaluation of the
//! pushed values at run time, IterateForeignScan (row by row, page by page), ReScanForeignScan
//! and EndForeignScan.
//!
//! Each execution builds its own state from the plan's spec and frees it at the end; the state
//! is owned by the query's memory context, so an ERROR mid-scan frees it too.

use std::rc::Rc;

use partnerstack_api::catalogue::ColumnType;
use partnerstack_api::client::Stats;
use partnerstack_api::mapping::map_item;
use partnerstack_api::pushdown;
use partnerstack_api::{Client, Condition, Operand, Request, Scan};
use pgrx::prelude::*;
use pgrx::{FromDatum, PgList, pg_sys};

use super::owned;
use super::spec::ScanSpec;
use crate::errors::{raise_api, raise_mapping, raise_pushdown};
use crate::options::{client_config, server_options};
use crate::session::cached_client;
use crate::table::{TableMap, time_operand, to_datum};
use partnerstack_api::options::ServerOptions;

/// Per-execution state, owned by the query's memory context (see `owned`), so it is freed
/// even if the executor never reaches EndForeignScan (an ERROR mid-scan).
pub(super) struct ScanState {
    pub(super) table: TableMap,
    pub(super) spec: ScanSpec,
    /// ExprStates of `fdw_exprs`, one per condition.
    exprs: Vec<*mut pg_sys::ExprState>,
    serverid: pg_sys::Oid,
    /// The server's options, read once per execution.
    server: ServerOptions,
    userid: pg_sys::Oid,
    /// EXPLAIN without ANALYZE: the scan is begun but never run.
    pub(super) explain_only: bool,
    client: Option<Rc<Client>>,
    pub(super) page_size: u32,
    pub(super) run: Option<Run>,
    /// Counters of runs already finished (rescans).
    pub(super) past: Stats,
    /// Catalogue column of each needed attribute, in `spec.needed` order.
    wanted: Vec<usize>,
}

/// One pass over the requests (a rescan starts another).
pub(super) struct Run {
    pub(super) requests: Vec<Request>,
    pub(super) scan: Scan,
    /// A count's one row was returned.
    pub(super) counted: bool,
}

/// Calls `f` with the scan's state, `None` when the scan has no state (not begun, or ended).
/// The borrow ends with `f`: the state cannot be kept past the callback that asked for it.
///
/// # Safety
/// `node` must be a live ForeignScanState of this wrapper, within an executor callback, and
/// `f` must not ask for the same node's state again.
pub(super) unsafe fn with_state<R>(
    node: *mut pg_sys::ForeignScanState,
    f: impl FnOnce(&mut ScanState) -> R,
) -> Option<R> {
    // SAFETY: `fdw_state` is null or what `begin_foreign_scan` attached to the query's memory
    // context, which outlives the node's callbacks (the node lives in that context too).
    unsafe { owned::with((*node).fdw_state, f) }
}

/// BeginForeignScan: reads the spec back and prepares the value expressions. No request yet.
#[pg_guard]
pub unsafe extern "C-unwind" fn begin_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
    eflags: std::ffi::c_int,
) {
    // SAFETY: Postgres calls this on the backend thread with a live ForeignScanState whose plan
    // is a ForeignScan built by `get_foreign_plan` (so its fdw_private holds our spec), whose
    // relation is open, and whose EState is the running query's.
    unsafe {
        let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
        let spec = ScanSpec::from_fdw_private((*plan).fdw_private);

        // A count (an upper relation's scan) has no scan relation of its own: its table is the
        // one base relation it covers, as in postgres_fdw.
        let rtindex = match (*plan).scan.scanrelid {
            0 => pg_sys::bms_next_member((*plan).fs_relids, -1) as usize,
            scanrelid => scanrelid as usize,
        };
        let estate = (*node).ss.ps.state;
        let rte = PgList::<pg_sys::RangeTblEntry>::from_pg((*estate).es_range_table)
            .get_ptr(rtindex - 1)
            .expect("scan relation is in the range table");
        let relid = (*rte).relid;
        let table = TableMap::load(relid);
        let userid = if (*rte).checkAsUser != pg_sys::InvalidOid {
            (*rte).checkAsUser
        } else {
            pg_sys::GetUserId()
        };
        let serverid = (*pg_sys::GetForeignTable(relid)).serverid;
        let exprs = PgList::<pg_sys::ExprState>::from_pg(pg_sys::ExecInitExprList(
            (*plan).fdw_exprs,
            node as *mut pg_sys::PlanState,
        ))
        .iter_ptr()
        .collect();
        let wanted = spec
            .needed
            .iter()
            .map(|&a| table.column_of(a).expect("needed attribute is a column"))
            .collect();
        let server = server_options(serverid);
        let page_size = match spec.limit {
            Some(limit) => server.page_size.min(limit),
            None => server.page_size,
        };
        let state = ScanState {
            table,
            spec,
            exprs,
            serverid,
            server,
            userid,
            explain_only: eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as i32 != 0,
            client: None,
            page_size,
            run: None,
            past: Stats::default(),
            wanted,
        };
        // The node and its ExprStates live in the query's context: so does the state.
        (*node).fdw_state = owned::attach((*estate).es_query_cxt, state);
    }
}

/// Evaluates the pushed conditions' values. With `only_safe`, skips values that need a
/// subquery or outer row (EXPLAIN without ANALYZE must not run them) and returns false then.
///
/// # Safety
/// `node` must be the live ForeignScanState that `state` belongs to, within an executor
/// callback (its expression context is set up).
pub(super) unsafe fn evaluate(
    node: *mut pg_sys::ForeignScanState,
    state: &ScanState,
    only_safe: bool,
) -> (Vec<Condition>, bool) {
    let mut conditions = Vec::new();
    let mut complete = true;
    // SAFETY: per the caller. The i-th ExprState was initialized from the i-th expression of
    // the plan's `fdw_exprs` for this node; values are computed in the per-tuple memory of the
    // node's expression context, which Postgres resets between tuples, and copied into Rust
    // values before the switch back.
    unsafe {
        let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
        let exprs = PgList::<pg_sys::Expr>::from_pg((*plan).fdw_exprs);
        let econtext = (*node).ss.ps.ps_ExprContext;
        for (i, spec) in state.spec.conditions.iter().enumerate() {
            if only_safe
                && !pg_sys::pull_paramids(exprs.get_ptr(i).expect("one expr per condition"))
                    .is_null()
            {
                complete = false;
                continue;
            }
            let exprstate = state.exprs[i];
            let old = pg_sys::MemoryContextSwitchTo((*econtext).ecxt_per_tuple_memory);
            let mut isnull = false;
            let evalfunc = (*exprstate).evalfunc.expect("initialized expression");
            // A value expression can raise an ERROR (a failing function, a bad cast): the
            // guard turns Postgres' longjmp into a Rust unwind, so the Vecs above are dropped.
            let datum =
                pg_sys::ffi::pg_guard_ffi_boundary(|| evalfunc(exprstate, econtext, &mut isnull));
            let ty = state.table.resource.columns[spec.column].ty;
            let values = if isnull {
                Some(vec![Operand::Null])
            } else if spec.array {
                pgrx::Array::<String>::from_datum(datum, false).map(|array| {
                    array
                        .iter()
                        .map(|v| v.map_or(Operand::Null, Operand::Text))
                        .collect()
                })
            } else {
                match ty {
                    // A text array's value is the one element it must hold (`'x' = ANY(col)`).
                    ColumnType::Text | ColumnType::TextArray => {
                        String::from_datum(datum, false).map(|s| vec![Operand::Text(s)])
                    }
                    ColumnType::Timestamp => Some(vec![time_operand(datum, spec.value_type)]),
                    _ => None,
                }
            };
            pg_sys::MemoryContextSwitchTo(old);
            if let Some(values) = values {
                conditions.push(Condition {
                    column: spec.column,
                    op: spec.op,
                    values,
                });
            }
        }
    }
    (conditions, complete)
}

impl ScanState {
    /// Starts a run: the client, the values, the requests.
    ///
    /// # Safety
    /// As `evaluate`: `node` is this state's live node, within an executor callback.
    unsafe fn start(&mut self, node: *mut pg_sys::ForeignScanState) {
        if self.client.is_none() {
            let config = client_config(&self.server, self.serverid, self.userid, true);
            self.client = Some(cached_client(
                config,
                &format!("reading {}", self.table.name),
            ));
        }
        // SAFETY: per this function's contract.
        let (conditions, _) = unsafe { evaluate(node, self, false) };
        let requests =
            pushdown::plan_ordered_requests(self.table.resource, &conditions, self.spec.order_by)
                .unwrap_or_else(|e| raise_pushdown(&e));
        // Rows that go straight to a pushed LIMIT of one page or less are one request: any
        // request ahead of it would be wasted.
        let concurrency = match self.spec.limit {
            Some(limit) if limit <= self.server.page_size => 1,
            _ => self.server.max_concurrency,
        };
        // A scan the plan relies on for order reads its one list as one cursor (pages still
        // fetched ahead), never in windows, which hand pages out as they arrive.
        let windows = !self.spec.ordered;
        self.run = Some(Run {
            scan: Scan::concurrent(requests.clone(), self.page_size, concurrency, windows),
            requests,
            counted: false,
        });
    }

    /// The server's page size (a count reads whole pages when the API sends no total).
    pub(super) fn server_page_size(&self) -> u32 {
        self.server.page_size
    }

    /// The client and the current run, both started.
    pub(super) fn client_and_run(&mut self) -> (&Client, &mut Run) {
        let client = self
            .client
            .as_deref()
            .expect("client is built when a run starts");
        (client, self.run.as_mut().expect("run was started"))
    }

    /// Ends the current run, keeping its counters for EXPLAIN ANALYZE.
    fn finish_run(&mut self) {
        if let Some(run) = self.run.take() {
            self.past.add(&run.scan.stats);
        }
    }

    /// The counters of every run so far, the current one included.
    pub(super) fn stats(&self) -> Stats {
        let mut total = self.past.clone();
        if let Some(run) = &self.run {
            total.add(&run.scan.stats);
        }
        total
    }

    /// The next row into `slot` (left empty at the end of the scan).
    ///
    /// # Safety
    /// `node` is this state's live node and `slot` its scan tuple slot, within
    /// IterateForeignScan.
    unsafe fn next_row(
        &mut self,
        node: *mut pg_sys::ForeignScanState,
        slot: *mut pg_sys::TupleTableSlot,
    ) {
        // SAFETY: per this function's contract. The slot's values and nulls arrays have
        // `natts` entries (its tuple descriptor's), and the datums are built in the current
        // memory context, the executor's per-tuple one, valid until the next row.
        unsafe {
            if self.run.is_none() {
                self.start(node);
            }
            if let Some(clear) = (*(*slot).tts_ops).clear {
                clear(slot);
            }
            if self.spec.count {
                return super::count::next_count_row(self, slot);
            }
            let client = self
                .client
                .as_ref()
                .expect("client is built when a run starts");
            let run = self.run.as_mut().expect("run was started");
            let item = match run.scan.next_item(client) {
                Ok(Some(item)) => item,
                Ok(None) => return,
                Err(e) => raise_api(&e, &format!("reading {}", self.table.name)),
            };
            let values = map_item(self.table.resource, &item, &self.wanted)
                .unwrap_or_else(|e| raise_mapping(&e));
            let natts = (*(*slot).tts_tupleDescriptor).natts as usize;
            let datums = std::slice::from_raw_parts_mut((*slot).tts_values, natts);
            let nulls = std::slice::from_raw_parts_mut((*slot).tts_isnull, natts);
            nulls.fill(true);
            for (&attnum, value) in self.spec.needed.iter().zip(values) {
                let i = attnum as usize - 1;
                if let Some(datum) = to_datum(value) {
                    datums[i] = datum;
                    nulls[i] = false;
                }
            }
            pg_sys::ExecStoreVirtualTuple(slot);
        }
    }
}

/// IterateForeignScan: the next row, fetching the next page when the current one is used up.
#[pg_guard]
pub unsafe extern "C-unwind" fn iterate_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
) -> *mut pg_sys::TupleTableSlot {
    // SAFETY: Postgres calls this on the backend thread with the live node it began; its scan
    // slot belongs to the node.
    unsafe {
        let slot = (*node).ss.ss_ScanTupleSlot;
        with_state(node, |state| state.next_row(node, slot)).expect("scan was begun");
        slot
    }
}

/// ReScanForeignScan: the next iteration re-evaluates the values (an outer row may have changed
/// them) and starts over.
#[pg_guard]
pub unsafe extern "C-unwind" fn re_scan_foreign_scan(node: *mut pg_sys::ForeignScanState) {
    // SAFETY: Postgres calls this on the backend thread with the live node it began.
    unsafe { with_state(node, ScanState::finish_run) };
}

/// EndForeignScan: frees the state (closing idle connections).
#[pg_guard]
pub unsafe extern "C-unwind" fn end_foreign_scan(node: *mut pg_sys::ForeignScanState) {
    // SAFETY: Postgres calls this on the backend thread with the live node it began, once, and
    // no borrow of the state is live here; the query's memory context still holds the header.
    unsafe {
        with_state(node, |state| {
            crate::session::count_scan_requests(state.stats().requests)
        });
        owned::free((*node).fdw_state)
    };
}
