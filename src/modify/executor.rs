//! The executor glue of writes: BeginForeignModify / BeginForeignInsert (the state of one
//! result relation), ExecForeignInsert / Update / Delete, the batch callbacks, and
//! EndForeignModify / EndForeignInsert; the rows read from the executor's slots and the
//! answers written back into them.
//!
//! Each result relation gets its own state, owned by the query's memory context (so an ERROR
//! anywhere frees it) and kept in `ri_FdwState`.

use partnerstack_api::catalogue::rowid_column_name;
use partnerstack_api::mapping::{Item, map_item};
use partnerstack_api::{Value, WriteOutcome};
use pgrx::prelude::*;
use pgrx::{FromDatum, PgList, pg_sys};
use supabase_wrappers::prelude::{Cell, Row};

use super::ModifyState;
use super::planner::WHOLE_ROW;
use crate::errors::{raise, refused_midway_report, unaddressable_row_report};
use crate::scan::owned;
use crate::table::{TableMap, to_datum};

/// How a result relation's rows go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Each row is sent as the executor hands it over, and its slot filled from the answer:
    /// the statement has RETURNING, an AFTER ROW trigger or a WITH CHECK OPTION, all of which
    /// read the row as written.
    PerRow,
    /// Rows are validated and held: an INSERT sends them each `batch_size` rows (Postgres
    /// hands them over in batches of that size, or one by one for COPY), UPDATE and DELETE at
    /// the end of the statement.
    Held,
}

/// The write state of one result relation.
pub(super) struct WriteTarget {
    pub(super) state: ModifyState,
    table: TableMap,
    mode: Mode,
    /// A BEFORE ROW INSERT trigger: Postgres hands such rows over one by one.
    before_row_insert: bool,
    /// A BEFORE ROW UPDATE trigger may change columns the statement does not set.
    before_row_update: bool,
    /// Live attributes (1-based) with their names and types, in order: the row of an INSERT.
    attributes: Vec<(i16, String, pg_sys::Oid)>,
    /// Catalogue column of each entry of `attributes`: what an answer fills in.
    wanted: Vec<usize>,
    /// UPDATE: the attributes the statement sets (only they are sent).
    updated: Vec<i16>,
    /// The addressing column's junk attribute in the rows the plan feeds in (0: none).
    rowid_junk: pg_sys::AttrNumber,
    /// The whole row as read, junk attribute (0: none).
    whole_row_junk: pg_sys::AttrNumber,
    /// Short-lived memory for reading a row and building the datums of an answer, reset after
    /// each: the executor calls us in its per-query context, where they would pile up for the
    /// whole statement (some 1 kB a row).
    scratch: pg_sys::MemoryContext,
}

/// Calls `f` with the result relation's write state, `None` when it has none (EXPLAIN
/// without ANALYZE, or not begun).
///
/// # Safety
/// `rinfo` must be a live result relation of this wrapper within an executor callback, and `f`
/// must not ask for the same state again.
pub(super) unsafe fn with_target<R>(
    rinfo: *mut pg_sys::ResultRelInfo,
    f: impl FnOnce(&mut WriteTarget) -> R,
) -> Option<R> {
    // SAFETY: `ri_FdwState` is null or what `begin` attached to the query's memory context,
    // which outlives the result relation's callbacks.
    unsafe { owned::with((*rinfo).ri_FdwState, f) }
}

/// Calls `f` with the state of a result relation the executor began. An ERROR raised in `f`
/// unwinds through the borrow, which holds nothing to release.
///
/// # Safety
/// As [`with_target`], for a relation begun for execution (not EXPLAIN only).
unsafe fn begun<R>(rinfo: *mut pg_sys::ResultRelInfo, f: impl FnOnce(&mut WriteTarget) -> R) -> R {
    // SAFETY: per the caller.
    unsafe { with_target(rinfo, f) }.expect("BeginForeignModify or BeginForeignInsert ran")
}

/// Raises `report` when it is an error. Never returns on `Err`.
fn check<T>(result: Result<T, pgrx::pg_sys::panic::ErrorReport>) -> T {
    result.unwrap_or_else(|report| raise(report))
}

/// What the executor tells us about a result relation being begun.
struct Begun {
    operation: pg_sys::CmdType::Type,
    /// The statement returns rows from it, checks a WITH CHECK OPTION on it.
    returning: bool,
    with_check: bool,
    on_conflict: pg_sys::OnConflictAction::Type,
    /// The target list of the plan that feeds the rows (UPDATE, DELETE).
    subplan_tlist: *mut pg_sys::List,
}

/// Builds and attaches the state of `rinfo`.
///
/// # Safety
/// `estate` and `rinfo` are the live executor state and result relation of a statement being
/// started; `begun.subplan_tlist` is null or a live target list.
unsafe fn begin(estate: *mut pg_sys::EState, rinfo: *mut pg_sys::ResultRelInfo, begun: Begun) {
    // SAFETY: per the caller. The range table index is 1-based into es_range_table; a
    // partition opened for tuple routing has none, and writes with the keys of the table the
    // statement named (postgres_fdw does the same).
    unsafe {
        let relid = (*(*rinfo).ri_RelationDesc).rd_id;
        let mut index = (*rinfo).ri_RangeTableIndex as usize;
        if index == 0 && !(*rinfo).ri_RootResultRelInfo.is_null() {
            index = (*(*rinfo).ri_RootResultRelInfo).ri_RangeTableIndex as usize;
        }
        let rte = PgList::<pg_sys::RangeTblEntry>::from_pg((*estate).es_range_table)
            .get_ptr(index.saturating_sub(1));
        let user = match rte {
            Some(rte) if index > 0 && (*rte).checkAsUser != pg_sys::InvalidOid => {
                (*rte).checkAsUser
            }
            _ => pg_sys::GetUserId(),
        };
        let serverid = (*pg_sys::GetForeignTable(relid)).serverid;
        let table = TableMap::load(relid);

        let trigdesc = (*rinfo).ri_TrigDesc;
        let after_row = !trigdesc.is_null()
            && match begun.operation {
                pg_sys::CmdType::CMD_INSERT => (*trigdesc).trig_insert_after_row,
                pg_sys::CmdType::CMD_UPDATE => (*trigdesc).trig_update_after_row,
                _ => (*trigdesc).trig_delete_after_row,
            };
        let before_row = |insert: bool| {
            !trigdesc.is_null()
                && if insert {
                    (*trigdesc).trig_insert_before_row
                } else {
                    (*trigdesc).trig_update_before_row
                }
        };

        let desc = (*(*rinfo).ri_RelationDesc).rd_att;
        let mut attributes = Vec::new();
        let mut wanted = Vec::new();
        for i in 0..(*desc).natts as usize {
            let att = &*(*desc).attrs.as_ptr().add(i);
            let attnum = att.attnum;
            if let Some(column) = table.column_of(attnum) {
                let name = std::ffi::CStr::from_ptr(att.attname.data.as_ptr())
                    .to_string_lossy()
                    .into_owned();
                attributes.push((attnum, name, att.atttypid));
                wanted.push(column);
            }
        }

        let mut updated = Vec::new();
        if begun.operation == pg_sys::CmdType::CMD_UPDATE {
            let cols = pg_sys::ExecGetUpdatedCols(rinfo, estate);
            let mut member = -1;
            loop {
                member = pg_sys::bms_next_member(cols, member);
                if member < 0 {
                    break;
                }
                let attnum = member + pg_sys::FirstLowInvalidHeapAttributeNumber;
                if attnum > 0 {
                    updated.push(attnum as i16);
                }
            }
        }

        let (mut rowid_junk, mut whole_row_junk) = (0, 0);
        if !begun.subplan_tlist.is_null() {
            let name = std::ffi::CString::new(rowid_column_name(table.resource))
                .expect("a column name has no NUL");
            rowid_junk = pg_sys::ExecFindJunkAttributeInTlist(begun.subplan_tlist, name.as_ptr());
            whole_row_junk =
                pg_sys::ExecFindJunkAttributeInTlist(begun.subplan_tlist, WHOLE_ROW.as_ptr());
        }

        let state = ModifyState::begin(table.clone(), serverid, user, begun.on_conflict);
        // ON CONFLICT DO NOTHING where Postgres hands rows over one by one (batch_size 1, a
        // BEFORE ROW INSERT trigger): a row must be sent before its slot is returned, so that
        // a skipped one is not counted.
        let one_by_one = before_row(true) || state.batch_size == 1;
        let do_nothing = begun.on_conflict == pg_sys::OnConflictAction::ONCONFLICT_NOTHING;
        let mode = if begun.returning || begun.with_check || after_row || do_nothing && one_by_one {
            Mode::PerRow
        } else {
            Mode::Held
        };
        // A child of the query's context: freed with it, even after an ERROR.
        let scratch = pg_sys::AllocSetContextCreateInternal(
            (*estate).es_query_cxt,
            c"partnerstack write rows".as_ptr(),
            pg_sys::ALLOCSET_DEFAULT_MINSIZE as usize,
            pg_sys::ALLOCSET_DEFAULT_INITSIZE as usize,
            pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
        );
        let target = WriteTarget {
            state,
            table,
            mode,
            before_row_insert: before_row(true),
            before_row_update: before_row(false),
            attributes,
            wanted,
            updated,
            rowid_junk,
            whole_row_junk,
            scratch,
        };
        (*rinfo).ri_FdwState = owned::attach((*estate).es_query_cxt, target);
    }
}

/// BeginForeignModify: the state of one result relation of INSERT, UPDATE or DELETE. No
/// request yet; nothing at all for EXPLAIN without ANALYZE.
///
/// # Safety
/// Called by the executor with its live ModifyTableState and result relation.
#[pg_guard]
pub unsafe extern "C-unwind" fn begin_foreign_modify(
    mtstate: *mut pg_sys::ModifyTableState,
    rinfo: *mut pg_sys::ResultRelInfo,
    _fdw_private: *mut pg_sys::List,
    subplan_index: std::ffi::c_int,
    eflags: std::ffi::c_int,
) {
    if eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as std::ffi::c_int != 0 {
        return;
    }
    // SAFETY: per the caller; the ModifyTableState's plan is its ModifyTable, whose per-result
    // relation lists are indexed by `subplan_index` (or empty), and its outer plan feeds the rows.
    unsafe {
        let plan = (*mtstate).ps.plan as *mut pg_sys::ModifyTable;
        let nth_set = |list: *mut pg_sys::List| {
            !list.is_null()
                && !PgList::<pg_sys::List>::from_pg(list)
                    .get_ptr(subplan_index as usize)
                    .unwrap_or(std::ptr::null_mut())
                    .is_null()
        };
        let outer = (*mtstate).ps.lefttree;
        let begun = Begun {
            operation: (*mtstate).operation,
            returning: nth_set((*plan).returningLists),
            with_check: nth_set((*plan).withCheckOptionLists),
            on_conflict: (*plan).onConflictAction,
            subplan_tlist: if outer.is_null() {
                std::ptr::null_mut()
            } else {
                (*(*outer).plan).targetlist
            },
        };
        begin((*mtstate).ps.state, rinfo, begun);
    }
}

/// BeginForeignInsert: the state of a foreign table that COPY FROM writes into, or that an
/// INSERT or COPY into a partitioned table routes rows to.
///
/// # Safety
/// Called by the executor with the live ModifyTableState (COPY's stand-in has no plan) and
/// result relation.
#[pg_guard]
pub unsafe extern "C-unwind" fn begin_foreign_insert(
    mtstate: *mut pg_sys::ModifyTableState,
    rinfo: *mut pg_sys::ResultRelInfo,
) {
    // SAFETY: per the caller; the returning and WITH CHECK lists of a routed partition are set
    // before this call (ExecInitPartitionInfo), COPY has neither.
    unsafe {
        if !(*rinfo).ri_FdwState.is_null() {
            // An UPDATE of a partitioned table moves a row into a foreign partition that the
            // same statement updates: Postgres lends us that relation, already begun.
            let refusal = with_target(rinfo, |target| {
                refused_midway_report(
                    PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                    format!(
                        "cannot move rows into foreign table {} while the same UPDATE updates it",
                        target.table.name
                    ),
                    &target.table.name,
                    &target.state.reported_keys(),
                )
                .set_hint("Update the rows of each partition in a statement of its own.")
            });
            raise(refusal.expect("the state is attached"));
        }
        let plan = (*mtstate).ps.plan as *mut pg_sys::ModifyTable;
        let begun = Begun {
            operation: pg_sys::CmdType::CMD_INSERT,
            returning: !(*rinfo).ri_returningList.is_null(),
            with_check: !(*rinfo).ri_WithCheckOptions.is_null(),
            on_conflict: if plan.is_null() {
                pg_sys::OnConflictAction::ONCONFLICT_NONE
            } else {
                (*plan).onConflictAction
            },
            subplan_tlist: std::ptr::null_mut(),
        };
        begin((*mtstate).ps.state, rinfo, begun);
    }
}

/// GetForeignModifyBatchSize: `batch_size` rows per ExecForeignBatchInsert when rows are held,
/// 1 when each row goes out as it comes (RETURNING, AFTER ROW triggers, WITH CHECK OPTION).
///
/// # Safety
/// Called by the executor with a live result relation of this wrapper.
#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_modify_batch_size(
    rinfo: *mut pg_sys::ResultRelInfo,
) -> std::ffi::c_int {
    // SAFETY: per the caller.
    unsafe {
        with_target(rinfo, |target| match target.mode {
            Mode::PerRow => 1,
            // Postgres sends held batches before each BEFORE ROW trigger: rows come one by
            // one then, and ExecForeignInsert holds them up to batch_size itself.
            Mode::Held if target.before_row_insert => 1,
            Mode::Held => target.state.batch_size as std::ffi::c_int,
        })
    }
    .unwrap_or(1)
}

/// ExecForeignInsert: validates the row; sends it at once when the statement needs the
/// answer (and fills the slot from it; no slot, so not counted, for a row skipped as a
/// duplicate under ON CONFLICT DO NOTHING), else when `batch_size` rows are held (COPY).
///
/// # Safety
/// Called by the executor with a live result relation of this wrapper and the row's slot.
#[pg_guard]
pub unsafe extern "C-unwind" fn exec_foreign_insert(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    slot: *mut pg_sys::TupleTableSlot,
    _plan_slot: *mut pg_sys::TupleTableSlot,
) -> *mut pg_sys::TupleTableSlot {
    // SAFETY: per the caller; the slot has the relation's tuple descriptor.
    unsafe {
        begun(rinfo, |target| {
            let row = target.row_of(slot, None);
            check(target.state.insert(&row));
            match target.send_now().pop() {
                Some(Some(outcome)) => target.fill_or_raise(slot, &outcome),
                Some(None) => return std::ptr::null_mut(),
                None if target.state.pending() >= target.state.batch_size => {
                    check(target.state.finish());
                }
                None => {}
            }
            slot
        })
    }
}

/// ExecForeignBatchInsert: validates every row of the batch, then sends them all (see
/// [`ModifyState::finish`]). Only held rows come in batches: no RETURNING, trigger or check
/// reads the slots, which keep the rows as given. Rows skipped as duplicates (ON CONFLICT DO
/// NOTHING) move behind the ones returned: not counted.
///
/// # Safety
/// Called by the executor with a live result relation of this wrapper, `*num_slots` slots and
/// as many plan slots.
#[pg_guard]
pub unsafe extern "C-unwind" fn exec_foreign_batch_insert(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    slots: *mut *mut pg_sys::TupleTableSlot,
    plan_slots: *mut *mut pg_sys::TupleTableSlot,
    num_slots: *mut std::ffi::c_int,
) -> *mut *mut pg_sys::TupleTableSlot {
    // SAFETY: per the caller: `slots` holds `*num_slots` live slots of the relation.
    unsafe {
        let count = *num_slots as usize;
        let batch = std::slice::from_raw_parts_mut(slots, count);
        let plan_batch = std::slice::from_raw_parts_mut(plan_slots, count);
        let inserted = begun(rinfo, |target| {
            // Rows held before the batch (none that Postgres sends) go out first.
            let held = target.state.pending();
            for &slot in batch.iter() {
                let row = target.row_of(slot, None);
                check(target.state.insert(&row));
            }
            let outcomes = check(target.state.finish());
            let mut inserted = 0;
            for (i, outcome) in outcomes[held..].iter().enumerate() {
                if outcome.is_some() {
                    // Postgres pairs slots and plan slots by position and clears them all.
                    batch.swap(inserted, i);
                    plan_batch.swap(inserted, i);
                    inserted += 1;
                }
            }
            inserted
        });
        *num_slots = inserted as std::ffi::c_int;
    }
    slots
}

/// ExecForeignUpdate: validates the row (only the columns the statement sets), addressed by
/// the row's addressing column, which must not be NULL. Sent at once when the statement needs
/// the answer (the slot then holds the object as answered, or the row as sent when the answer
/// carries none), else at the end of the statement.
///
/// # Safety
/// Called by the executor with a live result relation of this wrapper, the new row's slot
/// (every column) and the plan's slot (with the junk columns).
#[pg_guard]
pub unsafe extern "C-unwind" fn exec_foreign_update(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    slot: *mut pg_sys::TupleTableSlot,
    plan_slot: *mut pg_sys::TupleTableSlot,
) -> *mut pg_sys::TupleTableSlot {
    // SAFETY: per the caller.
    unsafe {
        begun(rinfo, |target| {
            let key = check(target.address(plan_slot, slot));
            let columns = if target.before_row_update {
                // What the statement sets, and what its trigger changed besides.
                target.changed_columns(plan_slot, slot)
            } else {
                target.updated.clone()
            };
            let row = target.row_of(slot, Some(&columns));
            if !check(target.state.update(&key, &row)) {
                // The same object reached twice through a join: written once, counted once.
                return std::ptr::null_mut();
            }
            if let Some(Some(outcome)) = target.send_now().pop() {
                target.fill_or_raise(slot, &outcome);
            }
            slot
        })
    }
}

/// ExecForeignDelete: the row's addressing column, which must not be NULL; the slot gets the
/// row as read (what `DELETE ... RETURNING` returns). Sent at once when the statement needs
/// it, else at the end of the statement.
///
/// # Safety
/// Called by the executor with a live result relation of this wrapper, the returning slot and
/// the plan's slot (with the junk columns).
#[pg_guard]
pub unsafe extern "C-unwind" fn exec_foreign_delete(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    slot: *mut pg_sys::TupleTableSlot,
    plan_slot: *mut pg_sys::TupleTableSlot,
) -> *mut pg_sys::TupleTableSlot {
    // SAFETY: per the caller.
    unsafe {
        begun(rinfo, |target| {
            target.store_whole_row(plan_slot, slot);
            let key = check(target.address(plan_slot, slot));
            if !check(target.state.delete(&key)) {
                return std::ptr::null_mut();
            }
            target.send_now();
            slot
        })
    }
}

/// EndForeignModify: sends what is held.
///
/// # Safety
/// Called by the executor with a live result relation of this wrapper.
#[pg_guard]
pub unsafe extern "C-unwind" fn end_foreign_modify(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
) {
    // SAFETY: per the caller; no borrow of the state is live here, and the query's memory
    // context still holds its header.
    unsafe {
        with_target(rinfo, |target| check(target.state.end()));
        crate::xact::statement_ended();
        owned::free((*rinfo).ri_FdwState);
        (*rinfo).ri_FdwState = std::ptr::null_mut();
    }
}

/// EndForeignInsert: as EndForeignModify, for COPY and routed rows.
///
/// # Safety
/// Called by the executor with a live result relation of this wrapper.
#[pg_guard]
pub unsafe extern "C-unwind" fn end_foreign_insert(
    estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
) {
    // SAFETY: per the caller.
    unsafe { end_foreign_modify(estate, rinfo) }
}

impl WriteTarget {
    /// Runs `f` with the scratch context current, then frees what it allocated there: `f`
    /// must leave nothing in it that outlives the call (slots are materialized into their own).
    ///
    /// # Safety
    /// Within an executor callback of this result relation.
    unsafe fn in_scratch<R>(&self, f: impl FnOnce() -> R) -> R {
        // SAFETY: the scratch context lives as long as the query's; an ERROR in `f` leaves it
        // current, and Postgres' error recovery switches away from it.
        unsafe {
            let old = pg_sys::MemoryContextSwitchTo(self.scratch);
            let result = f();
            pg_sys::MemoryContextSwitchTo(old);
            pg_sys::MemoryContextReset(self.scratch);
            result
        }
    }

    /// Sends the held rows now when each row goes out as it comes, with their outcomes;
    /// nothing otherwise.
    fn send_now(&mut self) -> Vec<Option<WriteOutcome>> {
        match self.mode {
            Mode::PerRow => check(self.state.finish()),
            Mode::Held => Vec::new(),
        }
    }

    /// The row in `slot` as the write path takes it: every live column, or only `only`.
    ///
    /// # Safety
    /// `slot` is a live slot with the relation's tuple descriptor.
    unsafe fn row_of(&self, slot: *mut pg_sys::TupleTableSlot, only: Option<&[i16]>) -> Row {
        let read = || {
            let mut row = Row::new();
            for (attnum, name, typoid) in &self.attributes {
                if only.is_some_and(|only| !only.contains(attnum)) {
                    continue;
                }
                // SAFETY: per the caller; the attribute is within the slot's descriptor.
                let (datum, isnull) = unsafe { attribute(slot, *attnum) };
                // SAFETY: the datum is of the attribute's type, read from a live slot; the
                // cell copies it into Rust memory.
                let cell = unsafe { Cell::from_polymorphic_datum(datum, isnull, *typoid) };
                row.push(name, cell);
            }
            row
        };
        // SAFETY: per the caller; the row holds no Postgres memory.
        unsafe { self.in_scratch(read) }
    }

    /// The addressing column's value of the row being updated or deleted: a row without it
    /// cannot be addressed, and is an ERROR (naming the row by its `key`, read from `row`).
    ///
    /// # Safety
    /// `plan_slot` holds the plan's junk columns; `row` the row (new or as read).
    unsafe fn address(
        &self,
        plan_slot: *mut pg_sys::TupleTableSlot,
        row: *mut pg_sys::TupleTableSlot,
    ) -> Result<String, pgrx::pg_sys::panic::ErrorReport> {
        // SAFETY: per the caller; the junk attribute is text, found in the plan's target list.
        let key = unsafe {
            if self.rowid_junk > 0 {
                let (datum, isnull) = attribute(plan_slot, self.rowid_junk);
                String::from_datum(datum, isnull)
            } else {
                None
            }
        };
        if let Some(key) = key {
            return Ok(key);
        }
        let own_key = self
            .attributes
            .iter()
            .find(|(_, name, _)| name == "key")
            .and_then(|(attnum, _, _)| {
                // SAFETY: per the caller; `key` is a text column of the relation.
                unsafe {
                    if (*row).tts_flags & pg_sys::TTS_FLAG_EMPTY as u16 != 0 {
                        return None;
                    }
                    let (datum, isnull) = attribute(row, *attnum);
                    String::from_datum(datum, isnull)
                }
            });
        Err(unaddressable_row_report(
            &self.table.name,
            own_key.as_deref(),
            rowid_column_name(self.table.resource),
            &self.state.reported_keys(),
        ))
    }

    /// Stores the whole row as the scan read it (a junk column of `plan_slot`) into `slot`.
    ///
    /// # Safety
    /// `plan_slot` is the plan's live slot; `slot` a live slot of the relation.
    unsafe fn store_whole_row(
        &self,
        plan_slot: *mut pg_sys::TupleTableSlot,
        slot: *mut pg_sys::TupleTableSlot,
    ) {
        if self.whole_row_junk <= 0 {
            return;
        }
        // SAFETY: per the caller; the whole-row datum is a composite of the relation's row
        // type (detoasted here, in the scratch context), valid while the plan's slot is; the
        // slot copies it (materialize) before the scratch context is reset.
        unsafe {
            self.in_scratch(|| {
                let (datum, isnull) = attribute(plan_slot, self.whole_row_junk);
                if isnull {
                    return;
                }
                let header =
                    pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as pg_sys::HeapTupleHeader;
                let mut tuple: pg_sys::HeapTupleData = std::mem::zeroed();
                tuple.t_len = pgrx::varlena::varsize_any(header as *const pg_sys::varlena) as u32;
                tuple.t_tableOid = self.table_oid(slot);
                tuple.t_data = header;
                pg_sys::ExecForceStoreHeapTuple(&mut tuple, slot, false);
                materialize(slot);
            })
        }
    }

    /// The relation of `slot` (for the tuple's table oid); invalid when unknown.
    fn table_oid(&self, slot: *mut pg_sys::TupleTableSlot) -> pg_sys::Oid {
        // SAFETY: a live slot (callers).
        unsafe { (*slot).tts_tableOid }
    }

    /// Fills `slot` from the answer ([`WriteTarget::fill`]); an answer that cannot be read is
    /// an ERROR that says the write itself was accepted, with the statement's accepted keys.
    ///
    /// # Safety
    /// `slot` is a live slot of the relation.
    unsafe fn fill_or_raise(&self, slot: *mut pg_sys::TupleTableSlot, outcome: &WriteOutcome) {
        // SAFETY: per the caller.
        if let Err(why) = unsafe { self.fill(slot, outcome) } {
            let key = outcome.key.as_deref().unwrap_or("(no key)");
            raise(
                refused_midway_report(
                    PgSqlErrorCode::ERRCODE_FDW_INVALID_DATA_TYPE,
                    format!(
                        "writing {}: PartnerStack accepted the row ({key}), but its answer cannot be returned: {why}",
                        self.table.name
                    ),
                    &self.table.name,
                    &self.state.reported_keys(),
                )
                .set_hint("The write itself succeeded: do not send it again."),
            );
        }
    }

    /// Fills `slot` with the object of PartnerStack's answer, mapped as a scan maps it; an
    /// answer without an object leaves the slot as it is (the row as sent).
    ///
    /// # Safety
    /// `slot` is a live slot of the relation.
    unsafe fn fill(
        &self,
        slot: *mut pg_sys::TupleTableSlot,
        outcome: &WriteOutcome,
    ) -> Result<(), String> {
        let Some(data) = &outcome.data else {
            return Ok(());
        };
        let raw = serde_json::value::to_raw_value(data).map_err(|e| e.to_string())?;
        let item = Item::parse(raw, None).map_err(|e| e.to_string())?;
        let values: Vec<Value<'_>> =
            map_item(self.table.resource, &item, &self.wanted).map_err(|e| e.to_string())?;
        // SAFETY: per the caller; the values and nulls arrays have `natts` entries, the datums
        // are built in the scratch context and copied into the slot's own (materialize) before
        // it is reset.
        unsafe {
            self.in_scratch(|| {
                if let Some(clear) = (*(*slot).tts_ops).clear {
                    clear(slot);
                }
                let natts = (*(*slot).tts_tupleDescriptor).natts as usize;
                let datums = std::slice::from_raw_parts_mut((*slot).tts_values, natts);
                let nulls = std::slice::from_raw_parts_mut((*slot).tts_isnull, natts);
                nulls.fill(true);
                for ((attnum, _, _), value) in self.attributes.iter().zip(values) {
                    let i = *attnum as usize - 1;
                    if let Some(datum) = to_datum(value) {
                        datums[i] = datum;
                        nulls[i] = false;
                    }
                }
                pg_sys::ExecStoreVirtualTuple(slot);
                materialize(slot);
            })
        }
        Ok(())
    }

    /// UPDATE with a BEFORE ROW trigger: the attributes the statement sets, and those whose
    /// new value differs from the row as read (the trigger changed them).
    ///
    /// # Safety
    /// `plan_slot` holds the plan's junk columns (the whole row as read among them); `slot` the
    /// new row.
    unsafe fn changed_columns(
        &self,
        plan_slot: *mut pg_sys::TupleTableSlot,
        slot: *mut pg_sys::TupleTableSlot,
    ) -> Vec<i16> {
        let mut columns = self.updated.clone();
        if self.whole_row_junk <= 0 {
            return columns;
        }
        // SAFETY: per the caller; the whole-row datum is a composite of the relation's row
        // type, deformed in the scratch context with the slot's descriptor; the comparison
        // reads both rows' datums with each attribute's own length and passing convention.
        unsafe {
            self.in_scratch(|| {
                let (datum, isnull) = attribute(plan_slot, self.whole_row_junk);
                if isnull {
                    return;
                }
                let header =
                    pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as pg_sys::HeapTupleHeader;
                let mut tuple: pg_sys::HeapTupleData = std::mem::zeroed();
                tuple.t_len = pgrx::varlena::varsize_any(header as *const pg_sys::varlena) as u32;
                tuple.t_data = header;
                let desc = (*slot).tts_tupleDescriptor;
                let natts = (*desc).natts as usize;
                let mut old = vec![pg_sys::Datum::from(0usize); natts];
                let mut old_null = vec![true; natts];
                pg_sys::heap_deform_tuple(
                    &mut tuple,
                    desc,
                    old.as_mut_ptr(),
                    old_null.as_mut_ptr(),
                );
                for (attnum, _, _) in &self.attributes {
                    if columns.contains(attnum) {
                        continue;
                    }
                    let i = *attnum as usize - 1;
                    let att = &*(*desc).attrs.as_ptr().add(i);
                    let (new, new_null) = attribute(slot, *attnum);
                    let same = match (old_null[i], new_null) {
                        (true, true) => true,
                        (false, false) => same_image(old[i], new, att.attbyval, att.attlen),
                        _ => false,
                    };
                    if !same {
                        columns.push(*attnum);
                    }
                }
            })
        };
        columns
    }
}

/// Attribute `attnum` (1-based) of `slot`, deforming the tuple as far as needed.
///
/// # Safety
/// `slot` is a live, non-empty slot and `attnum` within its descriptor.
unsafe fn attribute(slot: *mut pg_sys::TupleTableSlot, attnum: i16) -> (pg_sys::Datum, bool) {
    // SAFETY: per the caller.
    unsafe {
        if (*slot).tts_nvalid < attnum {
            pg_sys::slot_getsomeattrs_int(slot, attnum as std::ffi::c_int);
        }
        let i = attnum as usize - 1;
        (*(*slot).tts_values.add(i), *(*slot).tts_isnull.add(i))
    }
}

/// Whether two datums of one attribute hold the same bytes (Postgres' datumIsEqual, which
/// pgrx does not bind). A value stored two ways (compressed and not) counts as changed: it is
/// then sent, unchanged, which is harmless.
///
/// # Safety
/// Both datums are non-null values of an attribute passed `by_val` with length `len`.
unsafe fn same_image(a: pg_sys::Datum, b: pg_sys::Datum, by_val: bool, len: i16) -> bool {
    if by_val {
        return a == b;
    }
    // SAFETY: per the caller: by-reference datums point to `len` bytes, a varlena (-1) or a
    // NUL-terminated string (-2).
    unsafe {
        let bytes = |d: pg_sys::Datum| -> &[u8] {
            let p = d.cast_mut_ptr::<u8>();
            let n = match len {
                -1 => pgrx::varlena::varsize_any(p as *const pg_sys::varlena),
                -2 => std::ffi::CStr::from_ptr(p as *const std::ffi::c_char)
                    .to_bytes()
                    .len(),
                n => n as usize,
            };
            std::slice::from_raw_parts(p, n)
        };
        bytes(a) == bytes(b)
    }
}

/// Makes the slot own its values (copied into its own memory context).
///
/// # Safety
/// `slot` is a live slot holding a tuple.
unsafe fn materialize(slot: *mut pg_sys::TupleTableSlot) {
    // SAFETY: per the caller; every slot type has a materialize callback.
    unsafe {
        if let Some(materialize) = (*(*slot).tts_ops).materialize {
            materialize(slot);
        }
    }
}
