//! Which planner clauses can be pushed to PartnerStack, and the expressions holding their values.
//!
//! A clause is pushable when one side is a column of the scanned table and the other side can be
//! computed before the scan starts: a constant, a parameter of a prepared statement, an outer
//! row's value in a nested loop, a subquery result, or any non-volatile expression of those
//! (`now() - interval '7 days'`). The value expressions go to the plan's `fdw_exprs`, where
//! Postgres keeps them valid for cached plans and turns outer references into parameters.
//!
//! A `timestamptz` column compared with a `date` or a `timestamp` (without time zone) is
//! pushed too (`updated_at >= current_date - 30`, a naive `datetime` parameter): the value is
//! converted to `timestamptz` at run time by the same Postgres function the cross-type
//! operator uses, under the session's TimeZone, so the bound is the one Postgres compares with.

use partnerstack_api::Op;
use partnerstack_api::catalogue::ColumnType;
use partnerstack_api::pushdown::is_pushable;
use pgrx::PgList;
use pgrx::pg_sys;
use serde::{Deserialize, Serialize};

use crate::table::TableMap;

/// A pushable clause: `column op value`, or `column = ANY(array)`.
#[derive(Debug, Clone, Copy)]
pub struct Pushable {
    /// Catalogue column index.
    pub column: usize,
    /// Operator, with the column on the left.
    pub op: Op,
    /// The value (or array) expression.
    pub value: *mut pg_sys::Expr,
    /// `value` is an array (`IN (...)` / `= ANY(...)`).
    pub array: bool,
    /// The value's type, when it is not the column's own.
    pub value_type: ValueType,
}

/// The type of a pushed value relative to its column's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValueType {
    /// The column's own type (text, timestamptz).
    #[default]
    AsColumn,
    /// A `date` compared with a `timestamptz` column: midnight in the session's TimeZone.
    Date,
    /// A `timestamp` (without time zone) compared with a `timestamptz` column: read in the
    /// session's TimeZone.
    Timestamp,
}

/// Classifies one clause of relation `relid` (its range-table index).
///
/// # Safety
/// `root` must be the live PlannerInfo and `clause` a valid expression node of it, during
/// planning, on the backend thread.
pub unsafe fn classify(
    root: *mut pg_sys::PlannerInfo,
    table: &TableMap,
    relid: u32,
    clause: *mut pg_sys::Expr,
) -> Option<Pushable> {
    // SAFETY: per the caller, `clause` is a live node, so its tag tells its type, and an OpExpr's
    // or ScalarArrayOpExpr's `args` is a List of live expression nodes in planner memory.
    unsafe {
        let node = clause as *mut pg_sys::Node;
        match (*node).type_ {
            pg_sys::NodeTag::T_OpExpr => {
                let opexpr = clause as *mut pg_sys::OpExpr;
                let args = PgList::<pg_sys::Expr>::from_pg((*opexpr).args);
                if args.len() != 2 {
                    return None;
                }
                let (left, right) = (args.get_ptr(0)?, args.get_ptr(1)?);
                let name = Op::from_sql(&opname((*opexpr).opno)?)?;
                let (column, value, op, column_left) =
                    if let Some(col) = column_var(table, relid, left) {
                        (col, right, name, true)
                    } else if let Some(col) = column_var(table, relid, right) {
                        (col, left, name.commuted(), false)
                    } else {
                        return None;
                    };
                let ty = table.resource.columns[column].ty;
                let value_type = operator_takes(ty, (*opexpr).opno, column_left)?;
                if !deterministic((*opexpr).inputcollid)
                    || !value_computable(root, relid, value)
                    || !is_pushable(table.resource, column, op, false)
                {
                    return None;
                }
                Some(Pushable {
                    column,
                    op,
                    value,
                    array: false,
                    value_type,
                })
            }
            pg_sys::NodeTag::T_ScalarArrayOpExpr => {
                let sa = clause as *mut pg_sys::ScalarArrayOpExpr;
                if !(*sa).useOr {
                    return None;
                }
                let args = PgList::<pg_sys::Expr>::from_pg((*sa).args);
                if args.len() != 2 || Op::from_sql(&opname((*sa).opno)?)? != Op::Eq {
                    return None;
                }
                let Some(column) = column_var(table, relid, args.get_ptr(0)?) else {
                    return contains(root, table, relid, sa, &args);
                };
                let value = args.get_ptr(1)?;
                let ty = table.resource.columns[column].ty;
                if ty != ColumnType::Text
                    || !deterministic((*sa).inputcollid)
                    || operator_takes(ty, (*sa).opno, true) != Some(ValueType::AsColumn)
                    || !value_computable(root, relid, value)
                    || !is_pushable(table.resource, column, Op::Eq, true)
                {
                    return None;
                }
                Some(Pushable {
                    column,
                    op: Op::Eq,
                    value,
                    array: true,
                    value_type: ValueType::AsColumn,
                })
            }
            _ => None,
        }
    }
}

/// `'x' = ANY(column)` on a text array column: the array must hold one value, which a
/// `Contains` filter takes (programs' `category`). `sa` is an `= ANY` of texts whose
/// `args` are `[value, column]`.
///
/// # Safety
/// As [`classify`]; `args` are `sa`'s live arguments.
unsafe fn contains(
    root: *mut pg_sys::PlannerInfo,
    table: &TableMap,
    relid: u32,
    sa: *mut pg_sys::ScalarArrayOpExpr,
    args: &PgList<pg_sys::Expr>,
) -> Option<Pushable> {
    // SAFETY: per the caller.
    unsafe {
        let column = column_var(table, relid, args.get_ptr(1)?)?;
        let value = args.get_ptr(0)?;
        if table.resource.columns[column].ty != ColumnType::TextArray
            || !deterministic((*sa).inputcollid)
            || operator_takes(ColumnType::Text, (*sa).opno, true) != Some(ValueType::AsColumn)
            || !value_computable(root, relid, value)
            || !is_pushable(table.resource, column, Op::Eq, false)
        {
            return None;
        }
        Some(Pushable {
            column,
            op: Op::Eq,
            value,
            array: false,
            value_type: ValueType::AsColumn,
        })
    }
}

/// The catalogue column when `expr` is (a relabeling of) a column of this relation.
///
/// # Safety
/// `expr` must be a live expression node.
unsafe fn column_var(table: &TableMap, relid: u32, expr: *mut pg_sys::Expr) -> Option<usize> {
    // SAFETY: per the caller; a node tagged T_Var is a Var.
    unsafe {
        let expr = strip_relabel(expr);
        if (*(expr as *mut pg_sys::Node)).type_ != pg_sys::NodeTag::T_Var {
            return None;
        }
        let var = expr as *mut pg_sys::Var;
        if (*var).varno as u32 != relid || (*var).varlevelsup != 0 || (*var).varattno <= 0 {
            return None;
        }
        table.column_of((*var).varattno)
    }
}

/// Removes binary-compatible casts (varchar → text).
///
/// # Safety
/// `expr` must be null or a live expression node.
pub unsafe fn strip_relabel(mut expr: *mut pg_sys::Expr) -> *mut pg_sys::Expr {
    // SAFETY: per the caller; a RelabelType's `arg` is a live expression node as well.
    unsafe {
        while !expr.is_null()
            && (*(expr as *mut pg_sys::Node)).type_ == pg_sys::NodeTag::T_RelabelType
        {
            expr = (*(expr as *mut pg_sys::RelabelType)).arg;
        }
        expr
    }
}

/// The operator's name (`=`, `<`, ...).
///
/// # Safety
/// Must be called on the backend thread, inside a transaction (it reads the syscache).
unsafe fn opname(opno: pg_sys::Oid) -> Option<String> {
    // SAFETY: per the caller; get_opname returns null or a NUL-terminated copy palloc'd in the
    // current memory context, read here before anything can free it.
    unsafe {
        let name = pg_sys::get_opname(opno);
        if name.is_null() {
            return None;
        }
        Some(
            std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// Whether comparisons under this collation are byte-wise, as the API's are: under a
/// non-deterministic (e.g. case-insensitive) collation `'ABC' = 'abc'`, and a lookup of `ABC`
/// would miss the row `abc`.
fn deterministic(collation: pg_sys::Oid) -> bool {
    // SAFETY: called while planning, on the backend thread inside a transaction; the syscache
    // lookup raises an ERROR (through pgrx's guard) for an unknown collation.
    collation == pg_sys::InvalidOid || unsafe { pg_sys::get_collation_isdeterministic(collation) }
}

/// The type of the value side when the operator's meaning is the one the API filter has: two
/// texts (texteq), two timestamptz (timestamptz_gt), or, for a timestamptz column, one of
/// Postgres' own cross-type comparisons with a date or a timestamp (timestamptz_ge_date).
/// `column_left`: the column is the operator's left operand.
///
/// # Safety
/// Must be called on the backend thread, inside a transaction (it reads the syscache).
unsafe fn operator_takes(
    ty: ColumnType,
    opno: pg_sys::Oid,
    column_left: bool,
) -> Option<ValueType> {
    let (mut left, mut right) = (pg_sys::InvalidOid, pg_sys::InvalidOid);
    // SAFETY: per the caller; op_input_types writes the two Oids it is given.
    unsafe { pg_sys::op_input_types(opno, &mut left, &mut right) };
    let (column_type, value_type) = if column_left {
        (left, right)
    } else {
        (right, left)
    };
    match ty {
        ColumnType::Text if column_type == pg_sys::TEXTOID && value_type == pg_sys::TEXTOID => {
            Some(ValueType::AsColumn)
        }
        // Built-in operators only: a user's `<` (timestamptz, date) could mean anything.
        ColumnType::Timestamp
            if column_type == pg_sys::TIMESTAMPTZOID
                && opno.to_u32() < pg_sys::FirstGenbkiObjectId =>
        {
            match value_type {
                pg_sys::TIMESTAMPTZOID => Some(ValueType::AsColumn),
                pg_sys::DATEOID => Some(ValueType::Date),
                pg_sys::TIMESTAMPOID => Some(ValueType::Timestamp),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether the value side can be computed once before the scan: no column of this relation,
/// nothing volatile, no correlated subplan.
///
/// # Safety
/// `root` must be the live PlannerInfo and `value` a live expression node of it.
unsafe fn value_computable(
    root: *mut pg_sys::PlannerInfo,
    relid: u32,
    value: *mut pg_sys::Expr,
) -> bool {
    // SAFETY: per the caller; these walkers only read the tree (pull_varnos allocates its set in
    // the planner's current memory context).
    unsafe {
        let node = value as *mut pg_sys::Node;
        let varnos = pg_sys::pull_varnos(root, node);
        !pg_sys::bms_is_member(relid as i32, varnos)
            && !pg_sys::contain_volatile_functions(node)
            && !pg_sys::contain_subplans(node)
    }
}
