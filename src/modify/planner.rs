//! AddForeignUpdateTargets: the columns an UPDATE or DELETE carries from the scan to the write.

use partnerstack_api::catalogue::rowid_column_name;
use pgrx::prelude::*;
use pgrx::{PgSqlErrorCode, pg_sys};

use crate::errors::{error, raise};
use crate::table::TableMap;

/// The junk column that carries the row as the scan read it (Postgres' own name for it, which
/// it also adds itself for every UPDATE).
pub(super) const WHOLE_ROW: &std::ffi::CStr = c"wholerow";

/// AddForeignUpdateTargets: the addressing column (`customer_key`, `key`) as a row-identity
/// column under its own name, and for DELETE the whole row as read (what `DELETE ... RETURNING`
/// returns, and the `key` that names a row that cannot be addressed). The addressing column may
/// be NULL in a row the scan reads: only a row the statement actually modifies is refused, in
/// ExecForeignUpdate/ExecForeignDelete.
///
/// # Safety
/// Called by the planner with its live PlannerInfo, the result relation's range table index
/// and entry, and the open relation.
#[pg_guard]
pub unsafe extern "C-unwind" fn add_foreign_update_targets(
    root: *mut pg_sys::PlannerInfo,
    rtindex: pg_sys::Index,
    target_rte: *mut pg_sys::RangeTblEntry,
    target_relation: pg_sys::Relation,
) {
    // SAFETY: per the caller; the relation is open and locked by the planner, so its id and
    // tuple descriptor are valid; the Vars are built in the planner's current memory context,
    // as add_row_identity_var expects.
    unsafe {
        let table = TableMap::load((*target_relation).rd_id);
        let name = rowid_column_name(table.resource);
        let natts = table.columns.len() as i16;
        let Some(attnum) = (1..=natts).find(|&a| {
            table
                .column_of(a)
                .is_some_and(|c| table.resource.columns[c].name == name)
        }) else {
            raise(
                error(
                    PgSqlErrorCode::ERRCODE_FDW_COLUMN_NAME_NOT_FOUND,
                    format!(
                        "foreign table \"{}\" has no column \"{name}\", by which PartnerStack addresses its rows",
                        table.name
                    ),
                )
                .set_hint(format!(
                    "Add the column: ALTER FOREIGN TABLE ... ADD COLUMN {name} text, or import the table again."
                )),
            )
        };
        let att = &*(*(*target_relation).rd_att)
            .attrs
            .as_ptr()
            .add(attnum as usize - 1);
        let var = pg_sys::makeVar(
            rtindex as _,
            attnum,
            att.atttypid,
            att.atttypmod,
            att.attcollation,
            0,
        );
        let rowid_name = std::ffi::CString::new(name).expect("a column name has no NUL");
        pg_sys::add_row_identity_var(root, var, rtindex, pg_sys::pstrdup(rowid_name.as_ptr()));

        // Postgres adds the whole row itself for UPDATE, and for DELETE when a row trigger
        // needs it.
        let trigdesc = (*target_relation).trigdesc;
        let triggers_add_it = !trigdesc.is_null()
            && ((*trigdesc).trig_delete_after_row || (*trigdesc).trig_delete_before_row);
        if (*(*root).parse).commandType == pg_sys::CmdType::CMD_DELETE && !triggers_add_it {
            let whole = pg_sys::makeWholeRowVar(target_rte, rtindex as _, 0, false);
            pg_sys::add_row_identity_var(root, whole, rtindex, WHOLE_ROW.as_ptr());
        }
    }
}
