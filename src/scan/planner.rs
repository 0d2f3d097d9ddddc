//! The planner glue: GetForeignRelSize (how many rows), GetForeignPaths (which paths, at what
//! cost) and GetForeignPlan (the plan and the spec it carries).
//!
//! A request to PartnerStack is costed like many local page reads, so the planner prefers plans
//! that send fewer requests: a lookup by key over a list, and a nested loop that looks up one
//! key per outer row over listing a whole table.

use std::ffi::c_void;

use partnerstack_api::catalogue::{ColumnType, Pushdown};
use partnerstack_api::pushdown::{ListOrder, list_order};
use pgrx::prelude::*;
use pgrx::{PgList, pg_sys};

use super::rel_info::{RelInfo, with_rel_info};
use super::spec::{ScanSpec, SpecCondition};
use crate::quals::{classify, strip_relabel};
use crate::table::TableMap;

/// Planner cost of turning one JSON item into a row.
pub(super) const ROW_COST: f64 = 0.05;
/// Cost of a plan that cannot run (links without a partnership_key): chosen only when no
/// plan parameterized by a join on partnership_key exists, and then it ends in a clear ERROR.
const UNUSABLE_PATH_COST: f64 = 1.0e10;
/// Page size assumed when estimating how many requests a scan makes.
const ESTIMATE_PAGE_SIZE: f64 = 250.0;

/// Cost of listing `rows` rows page by page.
/// `request_cost` is the server's option of that name: a round trip to PartnerStack costs as
/// much as reading many local pages, so the planner prefers plans that make fewer requests.
pub(super) fn list_scan_cost(request_cost: f64, rows: f64) -> f64 {
    request_cost * (rows / ESTIMATE_PAGE_SIZE).ceil().max(1.0) + rows * ROW_COST
}

/// Cost of fetching `n` objects by key, one request each.
fn key_lookup_cost(request_cost: f64, n: f64) -> f64 {
    request_cost * n + n * ROW_COST
}

/// GetForeignRelSize: one row per key for a lookup by key, else the table's size (its row count
/// at the last ANALYZE, else `estimated_rows`, default 1000) times the selectivity of the
/// conditions (from ANALYZE's column statistics when there are some). Sends no request.
#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_rel_size(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    foreigntableid: pg_sys::Oid,
) {
    // SAFETY: Postgres calls this during planning, on the backend thread, with its live
    // PlannerInfo and the RelOptInfo of a relation of ours (`foreigntableid`).
    unsafe {
        let (lookups, estimated_rows) = with_rel_info(root, baserel, foreigntableid, |info| {
            (info.key_lookups(), info.table.options.estimated_rows)
        });
        // After ANALYZE, pg_class.reltuples (the count the API's total gave); before, -1.
        let table_rows = if (*baserel).tuples >= 0.0 {
            (*baserel).tuples
        } else {
            estimated_rows
        };
        let rows = lookups.unwrap_or_else(|| {
            table_rows
                * pg_sys::clauselist_selectivity(
                    root,
                    (*baserel).baserestrictinfo,
                    0,
                    pg_sys::JoinType::JOIN_INNER,
                    std::ptr::null_mut(),
                )
        });
        (*baserel).rows = rows.max(1.0);
    }
}

/// The columns a parameterized path may take values for from the outer side of a join.
struct JoinColumns {
    relid: u32,
    attnums: Vec<i16>,
}

/// The equivalence-member filter of `generate_implied_equalities_for_column`: a plain column of
/// this relation among the join columns.
#[pg_guard]
unsafe extern "C-unwind" fn member_is_join_column(
    _root: *mut pg_sys::PlannerInfo,
    _rel: *mut pg_sys::RelOptInfo,
    _ec: *mut pg_sys::EquivalenceClass,
    em: *mut pg_sys::EquivalenceMember,
    arg: *mut c_void,
) -> bool {
    // SAFETY: the planner calls this synchronously from generate_implied_equalities_for_column
    // with a live EquivalenceMember, and `arg` is the `JoinColumns` that `get_foreign_paths`
    // passed, borrowed for the duration of that call.
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
    // SAFETY: Postgres calls this during planning, on the backend thread, after
    // GetForeignRelSize, with its live PlannerInfo and this relation's RelOptInfo.
    unsafe {
        with_rel_info(root, baserel, foreigntableid, |info| {
            add_plain_path(root, baserel, info);
            add_parameterized_paths(root, baserel, info);
        })
    }
}

/// The unparameterized path, and beside it the same scan in the order the query asks for
/// when one list request can answer in it (the API's own, or through `order_by`).
///
/// # Safety
/// `root` and `baserel` are the planner's live nodes for `info`'s relation.
unsafe fn add_plain_path(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    info: &RelInfo,
) {
    // SAFETY: per the caller; the path is allocated in the planner's current memory context.
    unsafe {
        let rows = (*baserel).rows;
        let total = if info.needs_path_parameter() {
            UNUSABLE_PATH_COST
        } else if let Some(n) = info.key_lookups() {
            key_lookup_cost(info.request_cost, n)
        } else {
            list_scan_cost(info.request_cost, rows)
        };
        let lateral = (*baserel).lateral_relids;
        add_foreign_path(
            root,
            baserel,
            info,
            rows,
            total,
            std::ptr::null_mut(),
            lateral,
        );
        // At the same cost: add_path keeps it in place of the unordered one when it is offered.
        let ordered = api_order_pathkeys(root, baserel, info);
        if !ordered.is_null() {
            add_foreign_path(root, baserel, info, rows, total, ordered, lateral);
        }
    }
}

/// Adds a foreign scan path of `rows` rows costing `total` (its first row one request at
/// most), in the order of `pathkeys`, needing the relations `required`.
///
/// # Safety
/// `root` and `baserel` are the planner's live nodes for `info`'s relation; `pathkeys` and
/// `required` are null or planner nodes.
unsafe fn add_foreign_path(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    info: &RelInfo,
    rows: f64,
    total: f64,
    pathkeys: *mut pg_sys::List,
    required: *mut pg_sys::Bitmapset,
) {
    // SAFETY: per the caller; the path is allocated in the planner's current memory context.
    unsafe {
        let path = pg_sys::create_foreignscan_path(
            root,
            baserel,
            std::ptr::null_mut(),
            rows,
            info.request_cost.min(total),
            total,
            pathkeys,
            required,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        pg_sys::add_path(baserel, path as *mut pg_sys::Path);
    }
}

/// The query's first wanted order when one list request gives it: `created_at DESC` (the
/// order of every list answer, §2), or either direction of a column whose `order_by` the
/// reference documents (the request then asks for it), on a scan of one request. Like
/// postgres_fdw's `useful_pathkeys`, only an order the query asks for is offered. Null (no
/// order) otherwise.
///
/// # Safety
/// `root` and `baserel` are the planner's live nodes for `info`'s relation.
unsafe fn api_order_pathkeys(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    info: &RelInfo,
) -> *mut pg_sys::List {
    let none = std::ptr::null_mut();
    if !info.single_request() {
        return none;
    }
    // SAFETY: per the caller; `query_pathkeys` is a List of PathKey nodes of this planner.
    unsafe {
        let wanted = PgList::<pg_sys::PathKey>::from_pg((*root).query_pathkeys);
        match wanted.get_ptr(0) {
            Some(pathkey) if pathkey_order(baserel, info, pathkey).is_some() => {
                pg_sys::lappend(none, pathkey as *mut c_void)
            }
            _ => none,
        }
    }
}

/// The list order that gives `pathkey`: the column of this relation it sorts by, in a
/// direction a list answers in, with SQL's default NULLS placement for that direction (the
/// columns are never null, see [`list_order`]) and the type's built-in ordering, not a user's
/// operator class. `None` when no list request gives it.
///
/// # Safety
/// `baserel` is the planner's live node for `info`'s relation, `pathkey` a live PathKey of its
/// planner, with a live EquivalenceClass whose members are live EquivalenceMembers.
unsafe fn pathkey_order(
    baserel: *mut pg_sys::RelOptInfo,
    info: &RelInfo,
    pathkey: *mut pg_sys::PathKey,
) -> Option<ListOrder> {
    // SAFETY: per the caller.
    unsafe {
        let ec = (*pathkey).pk_eclass;
        let descending = (*pathkey).pk_strategy == pg_sys::BTGreaterStrategyNumber as i32;
        if (*ec).ec_has_volatile || (*pathkey).pk_nulls_first != descending {
            return None;
        }
        let column_of = |em: *mut pg_sys::EquivalenceMember| {
            let expr = strip_relabel((*em).em_expr);
            if (*(expr as *mut pg_sys::Node)).type_ != pg_sys::NodeTag::T_Var {
                return None;
            }
            let var = expr as *mut pg_sys::Var;
            if (*var).varno as u32 != (*baserel).relid || (*var).varlevelsup != 0 {
                return None;
            }
            info.table.column_of((*var).varattno)
        };
        let order = PgList::<pg_sys::EquivalenceMember>::from_pg((*ec).ec_members)
            .iter_ptr()
            .filter_map(column_of)
            .find_map(|column| list_order(info.table.resource, column, descending))?;
        let type_oid = match info.table.resource.columns[order.column].ty {
            ColumnType::Timestamp => pg_sys::TIMESTAMPTZOID,
            ColumnType::BigInt => pg_sys::INT8OID,
            _ => return None,
        };
        let builtin = (*pathkey).pk_opfamily.to_u32() < pg_sys::FirstGenbkiObjectId
            && pg_sys::get_opfamily_member(
                (*pathkey).pk_opfamily,
                type_oid,
                type_oid,
                pg_sys::BTGreaterStrategyNumber as i16,
            ) != pg_sys::InvalidOid;
        builtin.then_some(order)
    }
}

/// One path per outer relation that a join clause on a key, path-parameter or filter column
/// can take values from.
///
/// # Safety
/// `root` and `baserel` are the planner's live nodes for `info`'s relation.
unsafe fn add_parameterized_paths(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    info: &RelInfo,
) {
    // SAFETY: per the caller; the clauses and paths are planner nodes in its memory context,
    // and `join_columns` outlives the call that passes it to `member_is_join_column`.
    unsafe {
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
            // A join clause is new to the relation: classified here, not at GetForeignRelSize.
            let Some(pushed) = classify(root, &info.table, info.relid, (*rinfo).clause) else {
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
                key_lookup_cost(info.request_cost, 1.0)
            } else {
                list_scan_cost(info.request_cost, rows)
            };
            add_foreign_path(
                root,
                baserel,
                info,
                rows,
                total,
                std::ptr::null_mut(),
                required,
            );
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
    best_path: *mut pg_sys::ForeignPath,
    tlist: *mut pg_sys::List,
    scan_clauses: *mut pg_sys::List,
    outer_plan: *mut pg_sys::Plan,
) -> *mut pg_sys::ForeignScan {
    // SAFETY: Postgres calls this during planning, on the backend thread, with its live nodes
    // for this relation; `scan_clauses` is a List of RestrictInfo (the restriction clauses,
    // plus the join clauses of a parameterized path). The lists and nodes built here are
    // allocated in the planner's memory context, as the plan is.
    unsafe {
        if (*baserel).reloptkind == pg_sys::RelOptKind::RELOPT_UPPER_REL {
            // Only `get_foreign_upper_paths` makes paths of upper relations: a count.
            return super::count::count_plan(root, best_path, tlist, outer_plan);
        }
        with_rel_info(root, baserel, foreigntableid, |info| {
            let table = &info.table;
            let index = info.relid;
            let mut fdw_exprs: *mut pg_sys::List = std::ptr::null_mut();
            let mut conditions = Vec::new();
            let mut attrs: *mut pg_sys::Bitmapset = std::ptr::null_mut();
            pg_sys::pull_varattnos(
                (*(*baserel).reltarget).exprs as *mut pg_sys::Node,
                index,
                &mut attrs,
            );
            let mut recheck_only = 0;
            for rinfo in PgList::<pg_sys::RestrictInfo>::from_pg(scan_clauses).iter_ptr() {
                pg_sys::pull_varattnos((*rinfo).clause as *mut pg_sys::Node, index, &mut attrs);
                if (*rinfo).pseudoconstant {
                    continue;
                }
                match info.classify_clause(root, rinfo) {
                    Some(p) => {
                        conditions.push(SpecCondition::of(&p));
                        fdw_exprs = pg_sys::lappend(fdw_exprs, p.value as *mut c_void);
                    }
                    None => recheck_only += 1,
                }
            }
            let needed = needed_attributes(table, attrs);
            let pathkeys = (*best_path).path.pathkeys;
            let ordered = !pathkeys.is_null();
            let order_by = PgList::<pg_sys::PathKey>::from_pg(pathkeys)
                .get_ptr(0)
                .and_then(|pathkey| pathkey_order(baserel, info, pathkey));
            // Rows reach the LIMIT as they come: unsorted, or in the order the query sorts by.
            let sorted_here =
                ordered && pg_sys::pathkeys_contained_in((*root).sort_pathkeys, pathkeys);
            let limit = if recheck_only == 0 {
                direct_limit(root, sorted_here)
            } else {
                None
            };
            let spec = ScanSpec {
                conditions,
                needed,
                limit,
                ordered,
                order_by,
                count: false,
            };
            refuse_update_of_rowid_column(root, table, index);
            pg_sys::make_foreignscan(
                tlist,
                pg_sys::extract_actual_clauses(scan_clauses, false),
                index,
                fdw_exprs,
                spec.to_fdw_private(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                outer_plan,
            )
        })
    }
}

/// The attributes (1-based) in `attrs` (offset by `FirstLowInvalidHeapAttributeNumber`, as
/// `pull_varattnos` sets them); a whole-row reference stands for every live column.
///
/// # Safety
/// `attrs` must be a live Bitmapset (or null).
unsafe fn needed_attributes(table: &TableMap, attrs: *mut pg_sys::Bitmapset) -> Vec<i16> {
    let natts = table.columns.len() as i16;
    let mut needed = Vec::new();
    let mut member = -1;
    loop {
        // SAFETY: `attrs` is live (caller); bms_next_member only reads it.
        member = unsafe { pg_sys::bms_next_member(attrs, member) };
        if member < 0 {
            break;
        }
        let attnum = member + pg_sys::FirstLowInvalidHeapAttributeNumber;
        if attnum == 0 {
            // Whole-row reference: every live column (dropped ones have no value to give).
            return (1..=natts)
                .filter(|&a| table.column_of(a).is_some())
                .collect();
        }
        if attnum > 0 && !needed.contains(&(attnum as i16)) {
            needed.push(attnum as i16);
        }
    }
    needed
}

/// Refuses an UPDATE of the table this scan feeds that sets the addressing column.
///
/// # Safety
/// `root` must be the live PlannerInfo of the query scanning relation `index`.
unsafe fn refuse_update_of_rowid_column(
    root: *mut pg_sys::PlannerInfo,
    table: &TableMap,
    index: u32,
) {
    // SAFETY: per the caller; `parse` and `update_colnos` are nodes of that planner.
    unsafe {
        let parse = (*root).parse;
        if (*parse).resultRelation as u32 != index
            || !matches!(
                (*parse).commandType,
                pg_sys::CmdType::CMD_UPDATE | pg_sys::CmdType::CMD_DELETE
            )
        {
            return;
        }
        let natts = table.columns.len() as i16;
        let name = partnerstack_api::catalogue::rowid_column_name(table.resource);
        let rowid = (1..=natts).find(|&a| {
            table
                .column_of(a)
                .is_some_and(|c| table.resource.columns[c].name == name)
        });
        if (*parse).commandType == pg_sys::CmdType::CMD_UPDATE {
            refuse_update_of_rowid(table, (*root).update_colnos, rowid, name);
        }
    }
}

/// LIMIT + OFFSET of a query whose only relation is this scan and whose rows reach the LIMIT
/// ungrouped and unaggregated, unsorted or already in the ORDER BY's order (`sorted_here`: the
/// scan's path gives that order); constants only.
///
/// # Safety
/// `root` must be a live PlannerInfo.
unsafe fn direct_limit(root: *mut pg_sys::PlannerInfo, sorted_here: bool) -> Option<u32> {
    // SAFETY: per the caller; the Query and its LIMIT / OFFSET nodes belong to that planner.
    unsafe {
        let q = (*root).parse;
        let simple = pg_sys::bms_num_members((*root).all_baserels) == 1
            && ((*q).sortClause.is_null() || sorted_here)
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
///
/// # Safety
/// `update_colnos` must be a live integer List (or null).
unsafe fn refuse_update_of_rowid(
    table: &TableMap,
    update_colnos: *mut pg_sys::List,
    rowid: Option<i16>,
    name: &'static str,
) {
    // The attribute numbers the UPDATE assigns (the target list itself is renumbered 1..n).
    let Some(rowid) = rowid else { return };
    // SAFETY: per the caller; list_member_int only reads the list.
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
    crate::errors::raise_write(&error, 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST_COST: f64 = partnerstack_api::options::DEFAULT_REQUEST_COST as f64;

    #[test]
    fn a_list_costs_one_request_per_estimated_page() {
        assert_eq!(list_scan_cost(REQUEST_COST, 0.0), REQUEST_COST);
        assert_eq!(
            list_scan_cost(REQUEST_COST, 250.0),
            REQUEST_COST + 250.0 * ROW_COST
        );
        assert_eq!(
            list_scan_cost(REQUEST_COST, 251.0),
            2.0 * REQUEST_COST + 251.0 * ROW_COST
        );
    }

    #[test]
    fn a_key_lookup_costs_one_request_per_key() {
        assert_eq!(key_lookup_cost(REQUEST_COST, 1.0), REQUEST_COST + ROW_COST);
        assert!(key_lookup_cost(REQUEST_COST, 3.0) < list_scan_cost(REQUEST_COST, 1000.0));
    }

    #[test]
    fn a_few_keys_cost_less_than_listing_a_large_table_and_many_keys_more() {
        let list = list_scan_cost(REQUEST_COST, 100_000.0);
        assert!(key_lookup_cost(REQUEST_COST, 5.0) < list);
        assert!(key_lookup_cost(REQUEST_COST, 5_000.0) > list);
        // A request priced as nothing leaves the rows to decide.
        assert!(key_lookup_cost(0.0, 5_000.0) < list_scan_cost(0.0, 100_000.0));
    }
}
