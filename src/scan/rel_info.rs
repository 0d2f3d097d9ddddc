//! The relation's conditions, classified once and kept on the relation.
//!
//! Like postgres_fdw's `PgFdwRelationInfo`, the classification of `baserestrictinfo` is done
//! in GetForeignRelSize and kept in `baserel->fdw_private` for GetForeignPaths and
//! GetForeignPlan. It lives in the planner's memory and is dropped with it; the plan never
//! points at it (it carries its own copyable spec, see `spec.rs`).

use partnerstack_api::catalogue::Pushdown;
use partnerstack_api::pushdown;
use pgrx::{FromDatum, PgList, pg_sys};

use super::owned;
use crate::errors::raise_write_only;
use crate::options::server_options;
use crate::quals::{Pushable, classify, strip_relabel};
use crate::table::TableMap;

/// Assumed number of values of an `IN` / `= ANY` list whose length is unknown at plan time.
const UNKNOWN_LIST_LENGTH: f64 = 10.0;

/// Planning facts about one foreign relation, shared by the planner callbacks.
pub struct RelInfo {
    /// The table's columns matched to the catalogue.
    pub table: TableMap,
    /// Range-table index of the relation (`baserel->relid`).
    pub relid: u32,
    /// Each clause of `baserestrictinfo`, with what can be pushed of it.
    restrictions: Vec<(*mut pg_sys::RestrictInfo, Option<Pushable>)>,
    /// Number of objects fetched by key, when the scan is a lookup by key.
    key_lookups: Option<f64>,
    /// The planner's cost of one request (server option `request_cost`).
    pub request_cost: f64,
}

impl RelInfo {
    /// Loads the table and classifies the relation's restriction clauses.
    ///
    /// # Safety
    /// `root` and `baserel` must be the planner's nodes of a foreign relation whose table is
    /// `foreigntableid`, during planning.
    unsafe fn build(
        root: *mut pg_sys::PlannerInfo,
        baserel: *mut pg_sys::RelOptInfo,
        foreigntableid: pg_sys::Oid,
    ) -> RelInfo {
        let table = TableMap::load(foreigntableid);
        if let Err(e) = pushdown::check_readable(table.resource) {
            raise_write_only(&e);
        }
        // SAFETY: `baserel` is the planner's live RelOptInfo (caller); its `baserestrictinfo`
        // is a List of RestrictInfo nodes in planner memory, alive for the whole planning.
        let (relid, restrictions) = unsafe {
            let relid = (*baserel).relid;
            let restrictions = PgList::<pg_sys::RestrictInfo>::from_pg((*baserel).baserestrictinfo)
                .iter_ptr()
                .map(|rinfo| (rinfo, classify(root, &table, relid, (*rinfo).clause)))
                .collect();
            (relid, restrictions)
        };
        // SAFETY: planning, on the backend thread, inside a transaction: GetForeignTable reads
        // the catalogs (raising an ERROR for an unknown table) and returns palloc'd memory.
        let serverid = unsafe { (*pg_sys::GetForeignTable(foreigntableid)).serverid };
        let mut info = RelInfo {
            table,
            relid,
            restrictions,
            key_lookups: None,
            request_cost: server_options(serverid).request_cost,
        };
        // SAFETY: the pushed values are expression nodes of the clauses above, in planner memory.
        info.key_lookups = unsafe { info.count_key_lookups() };
        info
    }

    /// The pushable restriction clauses.
    pub fn pushed(&self) -> impl Iterator<Item = &Pushable> {
        self.restrictions.iter().filter_map(|(_, p)| p.as_ref())
    }

    /// Number of objects fetched by key, when the scan is a lookup by key.
    pub fn key_lookups(&self) -> Option<f64> {
        self.key_lookups
    }

    /// The table is listed per value of a path parameter (links per partnership) and no
    /// restriction gives one: only a path parameterized by a join can run.
    pub fn needs_path_parameter(&self) -> bool {
        let columns = &self.table.resource.columns;
        self.table.resource.path_parameter().is_some()
            && !self
                .pushed()
                .any(|p| columns[p.column].pushdown == Pushdown::PathParameter)
    }

    /// Every restriction clause is pushed (none is left to Postgres alone) and none is a
    /// pseudoconstant (a gate Postgres evaluates apart from the scan).
    pub fn every_restriction_pushed(&self) -> bool {
        self.restrictions.iter().all(|(rinfo, pushed)| {
            // SAFETY: the RestrictInfos are planner nodes alive while this RelInfo is (both
            // belong to the planning of one query).
            pushed.is_some() && !unsafe { (**rinfo).pseudoconstant }
        })
    }

    /// The scan sends at most one list request (or a single GET): no `IN` list to expand and
    /// a path parameter given, so its rows come in the API's order.
    pub fn single_request(&self) -> bool {
        !self.needs_path_parameter() && self.pushed().all(|p| !p.array)
    }

    /// What can be pushed of a clause of the scan: the classification made at GetForeignRelSize
    /// for a restriction clause, a new one for a clause not seen then (the join clauses a
    /// parameterized path adds).
    ///
    /// # Safety
    /// `rinfo` must be a live RestrictInfo of the planner for this relation, `root` its planner.
    pub unsafe fn classify_clause(
        &self,
        root: *mut pg_sys::PlannerInfo,
        rinfo: *mut pg_sys::RestrictInfo,
    ) -> Option<Pushable> {
        match self.restrictions.iter().find(|(r, _)| *r == rinfo) {
            Some((_, pushed)) => *pushed,
            // SAFETY: per the caller, `rinfo` and its clause are live planner nodes.
            None => unsafe { classify(root, &self.table, self.relid, (*rinfo).clause) },
        }
    }

    /// # Safety
    /// The pushed values must be live expression nodes (planner memory).
    unsafe fn count_key_lookups(&self) -> Option<f64> {
        let key = self.table.resource.item_key()?;
        let key_index = self
            .table
            .resource
            .columns
            .iter()
            .position(|c| c.name == key.name)?;
        self.pushed()
            .filter(|p| p.column == key_index)
            // SAFETY: per this function's contract.
            .map(|p| unsafe { list_length_estimate(p) })
            .reduce(f64::min)
    }
}

/// Number of values a pushed condition stands for: 1, the length of a constant array, or a
/// guess for an array known only at run time.
///
/// # Safety
/// `p.value` must be a live expression node.
unsafe fn list_length_estimate(p: &Pushable) -> f64 {
    if !p.array {
        return 1.0;
    }
    // SAFETY: `p.value` is a live node (caller); a Const's `constvalue` of a non-null array
    // constant is an array datum in planner memory, read only within this call.
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

/// Calls `f` with the relation's planning facts, building them on first use and keeping them
/// in `baserel->fdw_private` for the later callbacks.
///
/// # Safety
/// `root` and `baserel` must be the planner's live nodes of a foreign relation whose table is
/// `foreigntableid`, called from a planner callback of this wrapper (which alone sets
/// `fdw_private` of its relations); `f` must not call this function for the same relation.
pub unsafe fn with_rel_info<R>(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    foreigntableid: pg_sys::Oid,
    f: impl FnOnce(&RelInfo) -> R,
) -> R {
    // SAFETY: `baserel` is live (caller) and was palloc'd by the planner (makeNode in
    // build_simple_rel), so GetMemoryChunkContext gives the context holding it: the RelInfo is
    // attached to that context and dropped when it goes, never before the RelOptInfo and never
    // after. Nothing but this function reads `fdw_private` (fdw.rs installs our own
    // GetForeignUpperPaths, not the framework's, which would take it for its own state), and
    // the plan does not keep it.
    unsafe {
        if (*baserel).fdw_private.is_null() {
            let info = RelInfo::build(root, baserel, foreigntableid);
            let cxt = pg_sys::GetMemoryChunkContext(baserel as *mut std::ffi::c_void);
            (*baserel).fdw_private = owned::attach(cxt, info);
        }
        owned::with((*baserel).fdw_private, |info: &mut RelInfo| f(info))
            .expect("relation info is attached")
    }
}
