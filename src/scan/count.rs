//! `SELECT count(*) FROM t WHERE <pushed conditions>` answered from the list answers' `total`
//! (see `partnerstack_api::count`): GetForeignUpperPaths offers a foreign scan of the grouping
//! relation, as postgres_fdw does for aggregates it can send, and the executor returns its one
//! row.
//!
//! Never a wrong count: the shortcut is offered only when the scan's rows would be exactly
//! the rows the requests select: one table, no GROUP BY, grouping sets, HAVING, DISTINCT or
//! window, only `count(*)` in the target, and every condition a filter the API applies
//! exactly (`count_from_total`). Anything else is counted by Postgres over the scanned rows.

use std::ffi::c_void;

use partnerstack_api::count::count_rows;
use partnerstack_api::pushdown::count_from_total;
use pgrx::prelude::*;
use pgrx::{PgList, pg_sys};

use super::executor::ScanState;
use super::planner::ROW_COST;
use super::rel_info::{RelInfo, with_rel_info};
use super::spec::{ScanSpec, SpecCondition};
use crate::errors::raise_api;

/// GetForeignUpperPaths: a path that counts with `total`, for a plain `count(*)` of one of our
/// tables whose every condition is pushed exactly.
#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_upper_paths(
    root: *mut pg_sys::PlannerInfo,
    stage: pg_sys::UpperRelationKind::Type,
    input_rel: *mut pg_sys::RelOptInfo,
    output_rel: *mut pg_sys::RelOptInfo,
    _extra: *mut c_void,
) {
    // SAFETY: Postgres calls this during planning, on the backend thread, with its live
    // PlannerInfo and relations; `input_rel` is one of our base relations when its kind says
    // so (Postgres calls this FDW only for relations it planned), so GetForeignRelSize has
    // attached its RelInfo, and its range-table entry is `simple_rte_array[relid]`.
    unsafe {
        if stage != pg_sys::UpperRelationKind::UPPERREL_GROUP_AGG
            || (*input_rel).reloptkind != pg_sys::RelOptKind::RELOPT_BASEREL
            || !(*output_rel).fdw_private.is_null()
            || !plain_count_query(root, output_rel)
        {
            return;
        }
        let rte = *(*root).simple_rte_array.add((*input_rel).relid as usize);
        let Some(request_cost) = with_rel_info(root, input_rel, (*rte).relid, |info| {
            countable(info).then_some(info.request_cost)
        }) else {
            return;
        };
        let path = pg_sys::create_foreign_upper_path(
            root,
            output_rel,
            (*output_rel).reltarget,
            1.0,
            request_cost,
            request_cost + ROW_COST,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        pg_sys::add_path(output_rel, path as *mut pg_sys::Path);
    }
}

/// Every restriction of the relation is pushed, and each is a filter the API applies exactly.
fn countable(info: &RelInfo) -> bool {
    if !info.every_restriction_pushed() {
        return false;
    }
    let shapes: Vec<_> = info.pushed().map(|p| (p.column, p.op, p.array)).collect();
    count_from_total(info.table.resource, &shapes)
}

/// One table, aggregated without grouping, HAVING, DISTINCT, window or set-returning function,
/// and nothing but `count(*)` in the grouping target.
///
/// # Safety
/// `root` and `output_rel` are the planner's live nodes.
unsafe fn plain_count_query(
    root: *mut pg_sys::PlannerInfo,
    output_rel: *mut pg_sys::RelOptInfo,
) -> bool {
    // SAFETY: per the caller; the Query and the target's expressions are planner nodes.
    unsafe {
        let q = (*root).parse;
        let plain = pg_sys::bms_num_members((*root).all_baserels) == 1
            && (*q).hasAggs
            && (*q).groupClause.is_null()
            && (*q).groupingSets.is_null()
            && (*q).havingQual.is_null()
            && (*q).distinctClause.is_null()
            && (*q).setOperations.is_null()
            && !(*q).hasWindowFuncs
            && !(*q).hasTargetSRFs;
        if !plain {
            return false;
        }
        let exprs = PgList::<pg_sys::Node>::from_pg((*(*output_rel).reltarget).exprs);
        !exprs.is_empty() && exprs.iter_ptr().all(|e| is_count_star(e))
    }
}

/// `pg_aggregate.aggkind` of a plain aggregate ('n', catalog/pg_aggregate.h).
const AGGKIND_NORMAL: std::ffi::c_char = b'n' as std::ffi::c_char;

/// `count(*)`, plain: no FILTER, DISTINCT or ORDER BY inside, of this query level.
///
/// # Safety
/// `node` is a live expression node.
unsafe fn is_count_star(node: *mut pg_sys::Node) -> bool {
    // SAFETY: per the caller; a node tagged T_Aggref is an Aggref.
    unsafe {
        if (*node).type_ != pg_sys::NodeTag::T_Aggref {
            return false;
        }
        let agg = node as *mut pg_sys::Aggref;
        (*agg).aggfnoid == pg_sys::Oid::from(pg_sys::F_COUNT_)
            && (*agg).aggstar
            && (*agg).aggfilter.is_null()
            && (*agg).aggdistinct.is_null()
            && (*agg).aggorder.is_null()
            && (*agg).agglevelsup == 0
            && (*agg).aggkind == AGGKIND_NORMAL
    }
}

/// GetForeignPlan of the counting path: the base relation's pushed conditions, no column, and
/// the `count(*)` expressions as the scan's tuple (`fdw_scan_tlist`), which Postgres maps the
/// query's target onto.
///
/// # Safety
/// Called from GetForeignPlan with the planner's live nodes, `upper_rel` the grouping relation
/// a path of `get_foreign_upper_paths` was chosen for.
pub(super) unsafe fn count_plan(
    root: *mut pg_sys::PlannerInfo,
    best_path: *mut pg_sys::ForeignPath,
    tlist: *mut pg_sys::List,
    outer_plan: *mut pg_sys::Plan,
) -> *mut pg_sys::ForeignScan {
    // SAFETY: per the caller; the only base relation is ours and carries its RelInfo (the path
    // was offered only then); lists are built in the planner's memory, as the plan is.
    unsafe {
        let relid = pg_sys::bms_singleton_member((*root).all_baserels) as usize;
        let baserel = *(*root).simple_rel_array.add(relid);
        let rte = *(*root).simple_rte_array.add(relid);
        with_rel_info(root, baserel, (*rte).relid, |info| {
            let mut fdw_exprs: *mut pg_sys::List = std::ptr::null_mut();
            let mut conditions = Vec::new();
            for p in info.pushed() {
                conditions.push(SpecCondition::of(p));
                fdw_exprs = pg_sys::lappend(fdw_exprs, p.value as *mut c_void);
            }
            let spec = ScanSpec {
                conditions,
                needed: Vec::new(),
                limit: None,
                ordered: false,
                order_by: None,
                count: true,
            };
            pg_sys::make_foreignscan(
                tlist,
                std::ptr::null_mut(),
                0,
                fdw_exprs,
                spec.to_fdw_private(),
                pg_sys::make_tlist_from_pathtarget((*best_path).path.pathtarget),
                std::ptr::null_mut(),
                outer_plan,
            )
        })
    }
}

/// IterateForeignScan of a counting scan: one row holding the count in each `count(*)`, then
/// the end.
///
/// # Safety
/// `node` is `state`'s live node and `slot` its scan tuple slot (typed by `fdw_scan_tlist`:
/// bigint columns), within IterateForeignScan, the run started.
pub(super) unsafe fn next_count_row(state: &mut ScanState, slot: *mut pg_sys::TupleTableSlot) {
    let page_size = state.server_page_size();
    let name = state.table.name.clone();
    let (client, run) = state.client_and_run();
    if run.counted {
        return;
    }
    run.counted = true;
    let count = count_rows(client, &run.requests, page_size, &mut run.scan.stats)
        .unwrap_or_else(|e| raise_api(&e, &format!("counting {name}")));
    // SAFETY: per the caller; the slot's arrays have `natts` entries, and an int8 datum is
    // passed by value.
    unsafe {
        let natts = (*(*slot).tts_tupleDescriptor).natts as usize;
        let datums = std::slice::from_raw_parts_mut((*slot).tts_values, natts);
        let nulls = std::slice::from_raw_parts_mut((*slot).tts_isnull, natts);
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        datums.fill(pg_sys::Datum::from(count));
        nulls.fill(false);
        pg_sys::ExecStoreVirtualTuple(slot);
    }
}
