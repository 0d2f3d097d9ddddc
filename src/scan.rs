//! The scan callbacks, installed in place of the framework's.
//!
//! supabase-wrappers 0.1.28 keeps a raw pointer to its scan state in the plan and frees it at the
//! end of the first execution, so a cached plan (a prepared statement run a sixth time, as JDBC
//! and BI tools do) reads freed memory; its EXPLAIN prints internal structures. These callbacks
//! follow postgres_fdw instead: the plan carries only copyable nodes (a JSON spec and the value
//! expressions in `fdw_exprs`), and each execution builds and frees its own state.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString, c_void};
use std::rc::Rc;

use partnerstack_api::catalogue::{ColumnType, Pushdown};
use partnerstack_api::client::Stats;
use partnerstack_api::client::encode_query;
use partnerstack_api::mapping::map_item;
use partnerstack_api::pushdown::{self, RequestKind};
use partnerstack_api::{Client, Condition, Op, Operand, Request, Scan};
use pgrx::prelude::*;
use pgrx::{FromDatum, PgList, pg_sys};
use serde::{Deserialize, Serialize};

use crate::errors::{raise_api, raise_mapping, raise_pushdown, raise_write_only};
use crate::options::{scan_config, server_page_size, table_estimated_rows};
use crate::quals::{Pushable, classify, strip_relabel};
use crate::table::{TableMap, timestamptz_micros, to_datum};

/// Planner cost of one HTTP request: a round trip to PartnerStack costs as much as reading
/// many local pages, so the planner prefers plans that make fewer requests.
const REQUEST_COST: f64 = 100.0;
/// Planner cost of turning one JSON item into a row.
const ROW_COST: f64 = 0.05;
/// Cost of a plan that cannot run (links without a partnership_key): chosen only when no
/// plan parameterized by a join on partnership_key exists, and then it ends in a clear ERROR.
const UNUSABLE_PATH_COST: f64 = 1.0e10;
/// Assumed number of values of an `IN` / `= ANY` list whose length is unknown at plan time.
const UNKNOWN_LIST_LENGTH: f64 = 10.0;
/// Page size assumed when estimating how many requests a scan makes.
const ESTIMATE_PAGE_SIZE: f64 = 250.0;
/// Requests shown in EXPLAIN before "and N more".
const EXPLAIN_REQUESTS_SHOWN: usize = 5;

/// What the plan carries from planning to execution (serialized as JSON in `fdw_private`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ScanSpec {
    /// Pushed conditions; the value of the i-th is the i-th expression of `fdw_exprs`.
    conditions: Vec<SpecCondition>,
    /// Attribute numbers (1-based) the query reads.
    needed: Vec<i16>,
    /// LIMIT + OFFSET when the scan's rows go straight to the LIMIT: every condition pushed,
    /// one relation, no sort, grouping or aggregate. Only shrinks the page size: paging still
    /// goes on if more rows are pulled, so no row is ever lost to it.
    limit: Option<u32>,
    /// The row-identity attribute when this scan feeds an UPDATE or DELETE of the table: a row
    /// without it cannot be addressed, and the framework would skip it without a word.
    rowid: Option<i16>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SpecCondition {
    column: usize,
    op: String,
    array: bool,
}

/// Planning facts shared by the size and path callbacks.
struct RelInfo {
    table: TableMap,
    pushed: Vec<Pushable>,
}

unsafe fn rel_info(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    relid: pg_sys::Oid,
) -> RelInfo {
    unsafe {
        let table = TableMap::load(relid);
        if let Err(e) = pushdown::check_readable(table.resource) {
            raise_write_only(&e);
        }
        let index = (*baserel).relid;
        let pushed = PgList::<pg_sys::RestrictInfo>::from_pg((*baserel).baserestrictinfo)
            .iter_ptr()
            .filter_map(|rinfo| classify(root, &table, index, (*rinfo).clause))
            .collect();
        RelInfo { table, pushed }
    }
}

impl RelInfo {
    /// Number of objects fetched by key, when the scan is a lookup by key.
    unsafe fn key_lookups(&self) -> Option<f64> {
        let key = self.table.resource.item_key()?;
        let key_index = self
            .table
            .resource
            .columns
            .iter()
            .position(|c| c.name == key.name)?;
        self.pushed
            .iter()
            .filter(|p| p.column == key_index)
            .map(|p| unsafe { list_length_estimate(p) })
            .reduce(f64::min)
    }

    fn has_path_parameter(&self) -> bool {
        self.pushed
            .iter()
            .any(|p| self.table.resource.columns[p.column].pushdown == Pushdown::PathParameter)
    }

    fn needs_path_parameter(&self) -> bool {
        self.table.resource.path_parameter().is_some() && !self.has_path_parameter()
    }
}

unsafe fn list_length_estimate(p: &Pushable) -> f64 {
    if !p.array {
        return 1.0;
    }
    unsafe {
        let value = strip_relabel(p.value);
        if (*(value as *mut pg_sys::Node)).type_ == pg_sys::NodeTag::T_Const {
            let c = value as *mut pg_sys::Const;
            if !(*c).constisnull
                && let Some(array) = pgrx::Array::<String>::from_datum((*c).constvalue, false)
            {
                return array.len() as f64;
            }
        }
    }
    UNKNOWN_LIST_LENGTH
}

fn list_scan_cost(rows: f64) -> f64 {
    REQUEST_COST * (rows / ESTIMATE_PAGE_SIZE).ceil().max(1.0) + rows * ROW_COST
}

/// GetForeignRelSize: one row per key for a lookup by key, else the table's estimate
/// (`estimated_rows`, default 1000) times the selectivity of the conditions.
#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_rel_size(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    foreigntableid: pg_sys::Oid,
) {
    unsafe {
        let info = rel_info(root, baserel, foreigntableid);
        let rows = match info.key_lookups() {
            Some(n) => n,
            None => {
                table_estimated_rows(foreigntableid)
                    * pg_sys::clauselist_selectivity(
                        root,
                        (*baserel).baserestrictinfo,
                        0,
                        pg_sys::JoinType::JOIN_INNER,
                        std::ptr::null_mut(),
                    )
            }
        };
        (*baserel).rows = rows.max(1.0);
    }
}

/// The columns a parameterized path may take values for from the outer side of a join.
struct JoinColumns {
    relid: u32,
    attnums: Vec<i16>,
}

#[pg_guard]
unsafe extern "C-unwind" fn member_is_join_column(
    _root: *mut pg_sys::PlannerInfo,
    _rel: *mut pg_sys::RelOptInfo,
    _ec: *mut pg_sys::EquivalenceClass,
    em: *mut pg_sys::EquivalenceMember,
    arg: *mut c_void,
) -> bool {
    unsafe {
        let wanted = &*(arg as *const JoinColumns);
        let expr = strip_relabel((*em).em_expr);
        if (*(expr as *mut pg_sys::Node)).type_ != pg_sys::NodeTag::T_Var {
            return false;
        }
        let var = expr as *mut pg_sys::Var;
        (*var).varno as u32 == wanted.relid
            && (*var).varlevelsup == 0
            && wanted.attnums.contains(&(*var).varattno)
    }
}

/// GetForeignPaths: a plain path, plus one path per join clause on a key or filter column,
/// parameterized by the outer relation (a nested loop then sends one lookup per outer row).
#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_paths(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    foreigntableid: pg_sys::Oid,
) {
    unsafe {
        let info = rel_info(root, baserel, foreigntableid);
        let rows = (*baserel).rows;
        let total = if info.needs_path_parameter() {
            UNUSABLE_PATH_COST
        } else if let Some(n) = info.key_lookups() {
            REQUEST_COST * n + n * ROW_COST
        } else {
            list_scan_cost(rows)
        };
        let path = pg_sys::create_foreignscan_path(
            root,
            baserel,
            std::ptr::null_mut(),
            rows,
            REQUEST_COST.min(total),
            total,
            std::ptr::null_mut(),
            (*baserel).lateral_relids,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        pg_sys::add_path(baserel, path as *mut pg_sys::Path);

        if !(*baserel).has_eclass_joins {
            return;
        }
        let resource = info.table.resource;
        let join_columns = JoinColumns {
            relid: (*baserel).relid,
            attnums: (1..=info.table.columns.len() as i16)
                .filter(|&attnum| {
                    info.table.column_of(attnum).is_some_and(|c| {
                        matches!(
                            resource.columns[c].pushdown,
                            Pushdown::ItemKey | Pushdown::PathParameter | Pushdown::Equality(_)
                        )
                    })
                })
                .collect(),
        };
        if join_columns.attnums.is_empty() {
            return;
        }
        let clauses = pg_sys::generate_implied_equalities_for_column(
            root,
            baserel,
            Some(member_is_join_column),
            &join_columns as *const JoinColumns as *mut c_void,
            (*baserel).lateral_referencers,
        );
        let mut seen: Vec<*mut pg_sys::ParamPathInfo> = Vec::new();
        for rinfo in PgList::<pg_sys::RestrictInfo>::from_pg(clauses).iter_ptr() {
            if !pg_sys::join_clause_is_movable_to(rinfo, baserel) {
                continue;
            }
            let Some(pushed) = classify(root, &info.table, (*baserel).relid, (*rinfo).clause)
            else {
                continue;
            };
            let mut required = pg_sys::bms_union((*rinfo).clause_relids, (*baserel).lateral_relids);
            required = pg_sys::bms_del_member(required, (*baserel).relid as i32);
            if pg_sys::bms_is_empty(required) {
                continue;
            }
            let ppi = pg_sys::get_baserel_parampathinfo(root, baserel, required);
            if seen.contains(&ppi) {
                continue;
            }
            seen.push(ppi);
            let is_key = resource
                .item_key()
                .is_some_and(|k| resource.columns[pushed.column].name == k.name);
            let rows = if is_key {
                1.0
            } else {
                (*ppi).ppi_rows.max(1.0)
            };
            let total = if is_key {
                REQUEST_COST + ROW_COST
            } else {
                list_scan_cost(rows)
            };
            let path = pg_sys::create_foreignscan_path(
                root,
                baserel,
                std::ptr::null_mut(),
                rows,
                REQUEST_COST,
                total,
                std::ptr::null_mut(),
                required,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
            pg_sys::add_path(baserel, path as *mut pg_sys::Path);
        }
    }
}

/// GetForeignPlan: keeps every clause for Postgres to recheck, and records the pushable ones
/// (their values as `fdw_exprs`) and the columns the query reads.
#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_plan(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    foreigntableid: pg_sys::Oid,
    _best_path: *mut pg_sys::ForeignPath,
    tlist: *mut pg_sys::List,
    scan_clauses: *mut pg_sys::List,
    outer_plan: *mut pg_sys::Plan,
) -> *mut pg_sys::ForeignScan {
    unsafe {
        let table = TableMap::load(foreigntableid);
        let index = (*baserel).relid;
        let mut fdw_exprs: *mut pg_sys::List = std::ptr::null_mut();
        let mut conditions = Vec::new();
        let mut attrs: *mut pg_sys::Bitmapset = std::ptr::null_mut();
        pg_sys::pull_varattnos(
            (*(*baserel).reltarget).exprs as *mut pg_sys::Node,
            index,
            &mut attrs,
        );
        for rinfo in PgList::<pg_sys::RestrictInfo>::from_pg(scan_clauses).iter_ptr() {
            pg_sys::pull_varattnos((*rinfo).clause as *mut pg_sys::Node, index, &mut attrs);
            if (*rinfo).pseudoconstant {
                continue;
            }
            if let Some(p) = classify(root, &table, index, (*rinfo).clause) {
                conditions.push(SpecCondition {
                    column: p.column,
                    op: p.op.sql().to_owned(),
                    array: p.array,
                });
                fdw_exprs = pg_sys::lappend(fdw_exprs, p.value as *mut c_void);
            }
        }
        let natts = table.columns.len() as i16;
        let mut needed = Vec::new();
        let mut member = -1;
        loop {
            member = pg_sys::bms_next_member(attrs, member);
            if member < 0 {
                break;
            }
            let attnum = member + pg_sys::FirstLowInvalidHeapAttributeNumber;
            if attnum == 0 {
                // Whole-row reference: every live column (dropped ones have no value to give).
                needed = (1..=natts)
                    .filter(|&a| table.column_of(a).is_some())
                    .collect();
                break;
            }
            if attnum > 0 && !needed.contains(&(attnum as i16)) {
                needed.push(attnum as i16);
            }
        }
        let all_pushed = conditions.len()
            == PgList::<pg_sys::RestrictInfo>::from_pg(scan_clauses)
                .iter_ptr()
                .filter(|r| !(**r).pseudoconstant)
                .count();
        let limit = if all_pushed { direct_limit(root) } else { None };
        let parse = (*root).parse;
        let rowid = if (*parse).resultRelation as u32 == index
            && matches!(
                (*parse).commandType,
                pg_sys::CmdType::CMD_UPDATE | pg_sys::CmdType::CMD_DELETE
            ) {
            let name = partnerstack_api::catalogue::rowid_column_name(table.resource);
            let rowid = (1..=natts).find(|&a| {
                table
                    .column_of(a)
                    .is_some_and(|c| table.resource.columns[c].name == name)
            });
            if (*parse).commandType == pg_sys::CmdType::CMD_UPDATE {
                refuse_update_of_rowid(&table, (*root).update_colnos, rowid, name);
            }
            rowid
        } else {
            None
        };
        let spec = ScanSpec {
            conditions,
            needed,
            limit,
            rowid,
        };
        let json = CString::new(serde_json::to_string(&spec).expect("spec serializes"))
            .expect("JSON has no NUL byte");
        let private = pg_sys::lappend(
            std::ptr::null_mut(),
            pg_sys::makeString(pg_sys::pstrdup(json.as_ptr())) as *mut c_void,
        );
        pg_sys::make_foreignscan(
            tlist,
            pg_sys::extract_actual_clauses(scan_clauses, false),
            index,
            fdw_exprs,
            private,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            outer_plan,
        )
    }
}

/// LIMIT + OFFSET of a query whose only relation is this scan and whose rows reach the LIMIT
/// unsorted, ungrouped and unaggregated; constants only.
unsafe fn direct_limit(root: *mut pg_sys::PlannerInfo) -> Option<u32> {
    unsafe {
        let q = (*root).parse;
        let simple = pg_sys::bms_num_members((*root).all_baserels) == 1
            && (*q).sortClause.is_null()
            && (*q).groupClause.is_null()
            && (*q).groupingSets.is_null()
            && (*q).distinctClause.is_null()
            && (*q).havingQual.is_null()
            && (*q).setOperations.is_null()
            && !(*q).hasAggs
            && !(*q).hasWindowFuncs
            && !(*q).hasTargetSRFs
            && (*q).limitOption == pg_sys::LimitOption::LIMIT_OPTION_COUNT;
        if !simple {
            return None;
        }
        let constant = |node: *mut pg_sys::Node| -> Option<Option<i64>> {
            if node.is_null() {
                return Some(None);
            }
            if (*node).type_ != pg_sys::NodeTag::T_Const {
                return None;
            }
            let c = node as *mut pg_sys::Const;
            if (*c).constisnull {
                Some(None)
            } else {
                Some(Some((*c).constvalue.value() as i64))
            }
        };
        let count = constant((*q).limitCount)??;
        let offset = constant((*q).limitOffset)?.unwrap_or(0);
        u32::try_from(count.checked_add(offset)?.max(1)).ok()
    }
}

/// An UPDATE that sets the addressing column: the framework passes the old value as the row
/// identity and drops the new one, so the change would silently not happen. Refused at plan
/// time, with the column's own read-only error where it has one.
unsafe fn refuse_update_of_rowid(
    table: &TableMap,
    update_colnos: *mut pg_sys::List,
    rowid: Option<i16>,
    name: &'static str,
) {
    // The attribute numbers the UPDATE assigns (the target list itself is renumbered 1..n).
    let Some(rowid) = rowid else { return };
    if !unsafe { pg_sys::list_member_int(update_colnos, i32::from(rowid)) } {
        return;
    }
    let resource = table.resource;
    let error = match partnerstack_api::write::update_body(
        resource,
        &[(name, partnerstack_api::Value::Text("x".into()))],
    ) {
        Err(e @ partnerstack_api::write::WriteError::ReadOnlyColumn { .. }) => e,
        _ => partnerstack_api::write::WriteError::Unsupported {
            table: resource.name,
            operation: "UPDATE",
            reason: format!(
                "{name} addresses the {} row and cannot be changed by UPDATE here; delete and insert the row instead",
                resource.name
            ),
        },
    };
    crate::modify::raise_write(&error, 1);
}

/// Per-execution state, owned by a holder that a memory-context callback frees if the
/// executor never reaches EndForeignScan (an ERROR mid-scan).
struct ScanState {
    table: TableMap,
    spec: ScanSpec,
    /// ExprStates of `fdw_exprs`, one per condition.
    exprs: Vec<*mut pg_sys::ExprState>,
    serverid: pg_sys::Oid,
    userid: pg_sys::Oid,
    explain_only: bool,
    client: Option<Rc<Client>>,
    page_size: u32,
    run: Option<Run>,
    /// Counters of runs already finished (rescans).
    past: Stats,
    /// Catalogue column of each needed attribute, in `spec.needed` order.
    wanted: Vec<usize>,
}

/// One pass over the requests (a rescan starts another).
struct Run {
    requests: Vec<Request>,
    scan: Scan,
}

#[repr(C)]
struct Holder {
    state: *mut ScanState,
    callback: pg_sys::MemoryContextCallback,
}

#[pg_guard]
unsafe extern "C-unwind" fn free_holder(arg: *mut c_void) {
    unsafe {
        let holder = arg as *mut Holder;
        let state = std::mem::replace(&mut (*holder).state, std::ptr::null_mut());
        if !state.is_null() {
            drop(Box::from_raw(state));
        }
    }
}

unsafe fn state_of<'a>(node: *mut pg_sys::ForeignScanState) -> Option<&'a mut ScanState> {
    unsafe {
        let holder = (*node).fdw_state as *mut Holder;
        if holder.is_null() || (*holder).state.is_null() {
            None
        } else {
            Some(&mut *(*holder).state)
        }
    }
}

/// BeginForeignScan: reads the spec back and prepares the value expressions. No request yet.
#[pg_guard]
pub unsafe extern "C-unwind" fn begin_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
    eflags: std::ffi::c_int,
) {
    unsafe {
        let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
        let private = PgList::<pg_sys::Node>::from_pg((*plan).fdw_private);
        let text = private
            .get_ptr(0)
            .map(|n| CStr::from_ptr((*(n as *mut pg_sys::String)).sval).to_string_lossy())
            .expect("partnerstack plan carries its spec");
        let spec: ScanSpec = serde_json::from_str(&text).expect("spec deserializes");

        let rel = (*node).ss.ss_currentRelation;
        let relid = (*rel).rd_id;
        let table = TableMap::load(relid);
        let estate = (*node).ss.ps.state;
        let rte = PgList::<pg_sys::RangeTblEntry>::from_pg((*estate).es_range_table)
            .get_ptr((*plan).scan.scanrelid as usize - 1)
            .expect("scan relation is in the range table");
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
        let spec_limit = spec.limit;
        let state = Box::new(ScanState {
            table,
            spec,
            exprs,
            serverid,
            userid,
            explain_only: eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as i32 != 0,
            client: None,
            page_size: match spec_limit {
                Some(limit) => server_page_size(serverid).min(limit),
                None => server_page_size(serverid),
            },
            run: None,
            past: Stats::default(),
            wanted,
        });

        let cxt = (*estate).es_query_cxt;
        let holder =
            pg_sys::MemoryContextAllocZero(cxt, std::mem::size_of::<Holder>()) as *mut Holder;
        (*holder).state = Box::into_raw(state);
        (*holder).callback.func = Some(free_holder);
        (*holder).callback.arg = holder as *mut c_void;
        pg_sys::MemoryContextRegisterResetCallback(cxt, &mut (*holder).callback);
        (*node).fdw_state = holder as *mut c_void;
    }
}

/// Evaluates the pushed conditions' values. With `only_safe`, skips values that need a
/// subquery or outer row (EXPLAIN without ANALYZE must not run them) and returns false then.
unsafe fn evaluate(
    node: *mut pg_sys::ForeignScanState,
    state: &ScanState,
    only_safe: bool,
) -> (Vec<Condition>, bool) {
    let mut conditions = Vec::new();
    let mut complete = true;
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
            let datum = evalfunc(exprstate, econtext, &mut isnull);
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
                    ColumnType::Text => {
                        String::from_datum(datum, false).map(|s| vec![Operand::Text(s)])
                    }
                    // ±infinity bounds nothing the API can express: leave it to Postgres.
                    ColumnType::Timestamp => {
                        timestamptz_micros(datum).map(|us| vec![Operand::TimestampMicros(us)])
                    }
                    _ => None,
                }
            };
            pg_sys::MemoryContextSwitchTo(old);
            if let Some(values) = values {
                conditions.push(Condition {
                    column: spec.column,
                    op: Op::from_sql(&spec.op).expect("spec holds a known operator"),
                    values,
                });
            }
        }
    }
    (conditions, complete)
}

impl ScanState {
    fn start(&mut self, node: *mut pg_sys::ForeignScanState) {
        if self.client.is_none() {
            let config = scan_config(self.serverid, self.userid, true);
            self.client = Some(cached_client(
                config.client,
                &format!("reading {}", self.table.name),
            ));
        }
        let (conditions, _) = unsafe { evaluate(node, self, false) };
        let requests = pushdown::plan_requests(self.table.resource, &conditions)
            .unwrap_or_else(|e| raise_pushdown(&e));
        self.run = Some(Run {
            scan: Scan::new(requests.clone(), self.page_size),
            requests,
        });
    }

    fn finish_run(&mut self) {
        if let Some(run) = self.run.take() {
            let s = run.scan.stats;
            self.past.requests += s.requests;
            self.past.retries += s.retries;
            self.past.pages += s.pages;
            self.past.items += s.items;
            self.past.throttled_ms += s.throttled_ms;
            for line in s.log {
                if self.past.log.len() < partnerstack_api::client::STATS_LOG_LINES {
                    self.past.log.push(line);
                }
            }
        }
    }

    fn stats(&self) -> Stats {
        let mut total = self.past.clone();
        if let Some(run) = &self.run {
            let s = &run.scan.stats;
            total.requests += s.requests;
            total.retries += s.retries;
            total.pages += s.pages;
            total.items += s.items;
            total.throttled_ms += s.throttled_ms;
            total.log.extend(
                s.log
                    .iter()
                    .take(partnerstack_api::client::STATS_LOG_LINES.saturating_sub(total.log.len()))
                    .cloned(),
            );
        }
        total
    }
}

thread_local! {
    /// Clients kept by this backend, by their whole configuration (keys included), so that
    /// statements after the first reuse TLS setup and open connections: building a client costs
    /// tens of milliseconds, more than a small request to PartnerStack.
    static CLIENTS: RefCell<HashMap<partnerstack_api::ClientConfig, Rc<Client>>> =
        RefCell::new(HashMap::new());
}

/// Most clients a backend keeps: one per server and role in use is typical.
const MAX_CACHED_CLIENTS: usize = 8;

pub fn cached_client(config: partnerstack_api::ClientConfig, context: &str) -> Rc<Client> {
    let key = config.clone();
    if let Some(client) = CLIENTS.with(|c| c.borrow().get(&key).cloned()) {
        return client;
    }
    let mut client = Client::new(config).unwrap_or_else(|e| raise_api(&e, context));
    client.set_interrupt(std::sync::Arc::new(statement_cancelled));
    let client = Rc::new(client);
    CLIENTS.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= MAX_CACHED_CLIENTS {
            cache.clear();
        }
        cache.insert(key, client.clone());
    });
    client
}

/// The client's interrupt check, called on the backend thread while it waits for an answer.
///
/// True for a cancel (pg_cancel_backend, Ctrl-C, statement_timeout) or a termination: the
/// client stops waiting and the caller lets Postgres report it. Any other pending interrupt
/// (cache-invalidation catch-up when other sessions run DDL, barriers, notifies) is serviced
/// here and the wait goes on: it must not end a statement.
fn statement_cancelled() -> bool {
    unsafe {
        if std::ptr::read_volatile(&raw const pg_sys::InterruptPending) == 0 {
            return false;
        }
        if std::ptr::read_volatile(&raw const pg_sys::QueryCancelPending) != 0
            || std::ptr::read_volatile(&raw const pg_sys::ProcDiePending) != 0
        {
            return true;
        }
    }
    pgrx::check_for_interrupts!();
    false
}

/// IterateForeignScan: the next row, fetching the next page when the current one is used up.
#[pg_guard]
pub unsafe extern "C-unwind" fn iterate_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
) -> *mut pg_sys::TupleTableSlot {
    unsafe {
        let state = state_of(node).expect("scan was begun");
        if state.run.is_none() {
            state.start(node);
        }
        let slot = (*node).ss.ss_ScanTupleSlot;
        if let Some(clear) = (*(*slot).tts_ops).clear {
            clear(slot);
        }
        let client = state
            .client
            .as_ref()
            .expect("client is built when a run starts");
        let run = state.run.as_mut().expect("run was started");
        let item = match run.scan.next_item(client) {
            Ok(Some(item)) => item,
            Ok(None) => return slot,
            Err(e) => raise_api(&e, &format!("reading {}", state.table.name)),
        };
        let values = map_item(state.table.resource, &item, &state.wanted)
            .unwrap_or_else(|e| raise_mapping(&e));
        if let Some(rowid) = state.spec.rowid
            && let Some(pos) = state.spec.needed.iter().position(|&a| a == rowid)
            && values[pos] == partnerstack_api::Value::Null
        {
            let column = state.table.resource.columns[state.wanted[pos]].name;
            crate::errors::error(
                pgrx::PgSqlErrorCode::ERRCODE_NOT_NULL_VIOLATION,
                format!(
                    "{} row {} has no {column}, so PartnerStack cannot address it",
                    state.table.name,
                    item.key().as_deref().unwrap_or("(without key)")
                ),
            )
            .set_detail(
                "Nothing was sent. PartnerStack updates and deletes this resource by that column.",
            )
            .report(PgLogLevel::ERROR);
        }
        let natts = (*(*slot).tts_tupleDescriptor).natts as usize;
        let datums = std::slice::from_raw_parts_mut((*slot).tts_values, natts);
        let nulls = std::slice::from_raw_parts_mut((*slot).tts_isnull, natts);
        nulls.fill(true);
        for (&attnum, value) in state.spec.needed.iter().zip(values) {
            let i = attnum as usize - 1;
            if let Some(datum) = to_datum(value) {
                datums[i] = datum;
                nulls[i] = false;
            }
        }
        pg_sys::ExecStoreVirtualTuple(slot);
        slot
    }
}

/// ReScanForeignScan: the next iteration re-evaluates the values (an outer row may have changed
/// them) and starts over.
#[pg_guard]
pub unsafe extern "C-unwind" fn re_scan_foreign_scan(node: *mut pg_sys::ForeignScanState) {
    unsafe {
        if let Some(state) = state_of(node) {
            state.finish_run();
        }
    }
}

/// EndForeignScan: frees the state (closing idle connections).
#[pg_guard]
pub unsafe extern "C-unwind" fn end_foreign_scan(node: *mut pg_sys::ForeignScanState) {
    unsafe {
        let holder = (*node).fdw_state as *mut Holder;
        if !holder.is_null() {
            free_holder(holder as *mut c_void);
        }
    }
}

fn describe_condition(state: &ScanState, spec: &SpecCondition) -> String {
    let column = state.table.resource.columns[spec.column].name;
    if spec.array {
        format!("{column} = ANY (...)")
    } else {
        format!("{column} {} ...", spec.op)
    }
}

fn describe_request(request: &Request, page_size: u32) -> String {
    let mut params = request.params.clone();
    if request.kind == RequestKind::List {
        params.push(("limit".into(), page_size.to_string()));
    }
    let query = encode_query(&params);
    if query.is_empty() {
        format!("GET {}", request.path)
    } else {
        format!("GET {}?{query}", request.path)
    }
}

unsafe fn explain_text(es: *mut pg_sys::ExplainState, label: &str, value: &str) {
    let label = CString::new(label).expect("label has no NUL");
    let value = CString::new(value.replace('\0', "")).expect("NULs removed");
    unsafe { pg_sys::ExplainPropertyText(label.as_ptr(), value.as_ptr(), es) };
}

/// ExplainForeignScan: the endpoint, the pushed conditions and the requests (with values when
/// they are known); with ANALYZE, what was actually sent; with VERBOSE too, the request log.
#[pg_guard]
pub unsafe extern "C-unwind" fn explain_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
    es: *mut pg_sys::ExplainState,
) {
    unsafe {
        let Some(state) = state_of(node) else {
            return;
        };
        let resource = state.table.resource;
        explain_text(
            es,
            "PartnerStack Endpoint",
            &format!("GET {}", resource.list_path),
        );
        if !state.spec.conditions.is_empty() {
            let pushed: Vec<String> = state
                .spec
                .conditions
                .iter()
                .map(|c| describe_condition(state, c))
                .collect();
            explain_text(es, "PartnerStack Pushed Conditions", &pushed.join(", "));
        }
        let page_size = state.page_size;
        let requests = match &state.run {
            Some(run) => Ok(run.requests.clone()),
            // Executed (ANALYZE) but no run is open: evaluating the values now could run a
            // subquery or read a join parameter that was never set. Say what happened instead.
            None if !state.explain_only => {
                let what = if state.past.requests > 0 {
                    "as in the request log (the last run was reset by a rescan)"
                } else {
                    "none: the scan was not run"
                };
                explain_text(es, "PartnerStack Requests", what);
                return explain_traffic(state, es);
            }
            None => {
                let (conditions, complete) = evaluate(node, state, state.explain_only);
                if !complete {
                    explain_text(
                        es,
                        "PartnerStack Requests",
                        "decided at run time (values from an outer row or a subquery)",
                    );
                    return explain_traffic(state, es);
                }
                pushdown::plan_requests(resource, &conditions)
            }
        };
        match requests {
            Ok(requests) if requests.is_empty() => explain_text(
                es,
                "PartnerStack Requests",
                "none: the conditions match no row",
            ),
            Ok(requests) => {
                let mut shown: Vec<String> = requests
                    .iter()
                    .take(EXPLAIN_REQUESTS_SHOWN)
                    .map(|r| describe_request(r, page_size))
                    .collect();
                if requests.len() > EXPLAIN_REQUESTS_SHOWN {
                    shown.push(format!(
                        "and {} more",
                        requests.len() - EXPLAIN_REQUESTS_SHOWN
                    ));
                }
                explain_text(es, "PartnerStack Requests", &shown.join("; "));
            }
            Err(e) => explain_text(es, "PartnerStack Requests", &format!("none: {e}")),
        }
        explain_traffic(state, es);
    }
}

/// With ANALYZE: what was sent; with VERBOSE too: the first requests themselves.
unsafe fn explain_traffic(state: &ScanState, es: *mut pg_sys::ExplainState) {
    unsafe {
        if (*es).analyze {
            let stats = state.stats();
            explain_text(
                es,
                "PartnerStack Traffic",
                &format!(
                    "requests={} pages={} items={} retries={}{}",
                    stats.requests,
                    stats.pages,
                    stats.items,
                    stats.retries,
                    if stats.throttled_ms > 0 {
                        format!(" throttled={} ms", stats.throttled_ms)
                    } else {
                        String::new()
                    }
                ),
            );
            if (*es).verbose && !stats.log.is_empty() {
                explain_text(es, "PartnerStack Request Log", &stats.log.join("; "));
            }
        }
    }
}
