//! What a plan carries from planning to execution.
//!
//! A cached plan is copied and reused by many executions (a prepared statement, a function's
//! query), so it carries only copyable data: this spec as JSON text in `fdw_private`, and the
//! pushed conditions' value expressions in `fdw_exprs`, which Postgres keeps valid itself.

use std::ffi::{CStr, CString, c_void};

use partnerstack_api::Op;
use partnerstack_api::pushdown::ListOrder;
use pgrx::{PgList, pg_sys};
use serde::{Deserialize, Serialize};

pub use crate::quals::ValueType;

/// What the plan carries (serialized as JSON in `fdw_private`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanSpec {
    /// Pushed conditions; the value of the i-th is the i-th expression of `fdw_exprs`.
    pub conditions: Vec<SpecCondition>,
    /// Attribute numbers (1-based) the query reads.
    pub needed: Vec<i16>,
    /// LIMIT + OFFSET when the scan's rows go straight to the LIMIT: every condition pushed,
    /// one relation, no sort, grouping or aggregate. Only shrinks the page size: paging still
    /// goes on if more rows are pulled, so no row is ever lost to it.
    pub limit: Option<u32>,
    /// The plan relies on the rows coming in a list's order (`created_at` descending, or the
    /// `order_by` below; one request, pages in cursor order): no Sort above the scan. An executor that could read
    /// several windows at once must read this scan's pages one after the other, in order.
    #[serde(default)]
    pub ordered: bool,
    /// The order the plan relies on (`ordered`); its list requests ask for it with `order_by`
    /// unless it is the API's own.
    #[serde(default)]
    pub order_by: Option<ListOrder>,
    /// The scan answers `count(*)` (see `count.rs`): one row, the number of rows the requests
    /// select, read from the list answers' `total`.
    #[serde(default)]
    pub count: bool,
}

/// One pushed condition: `column op value`, or `column = ANY(array)`; its value is computed at
/// run time from the matching `fdw_exprs` expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecCondition {
    /// Catalogue column index.
    pub column: usize,
    /// Operator, with the column on the left.
    pub op: Op,
    /// The value is an array (`IN (...)` / `= ANY(...)`).
    pub array: bool,
    /// The value's type when not the column's (a date or timestamp against a timestamptz).
    #[serde(default)]
    pub value_type: ValueType,
}

impl SpecCondition {
    /// The typed shape of a pushed clause (its value goes to `fdw_exprs`).
    pub fn of(p: &crate::quals::Pushable) -> SpecCondition {
        SpecCondition {
            column: p.column,
            op: p.op,
            array: p.array,
            value_type: p.value_type,
        }
    }
}

impl ScanSpec {
    /// The JSON text kept in the plan.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("spec serializes")
    }

    /// The spec of the JSON text kept in the plan.
    pub fn from_json(json: &str) -> ScanSpec {
        serde_json::from_str(json).expect("spec deserializes")
    }

    /// The plan's `fdw_private`: a one-element list holding the JSON as a String node,
    /// allocated in the current memory context (the planner's).
    pub fn to_fdw_private(&self) -> *mut pg_sys::List {
        let json = CString::new(self.to_json()).expect("JSON has no NUL byte");
        // SAFETY: called by the planner on the backend thread; `pstrdup` copies the text into
        // the current memory context, so the String node and the list own their memory and are
        // copied along with the plan (copyObject) when Postgres caches it.
        unsafe {
            pg_sys::lappend(
                std::ptr::null_mut(),
                pg_sys::makeString(pg_sys::pstrdup(json.as_ptr())) as *mut c_void,
            )
        }
    }

    /// The spec back from the plan's `fdw_private`.
    ///
    /// # Safety
    /// `fdw_private` must be the list `to_fdw_private` built (or Postgres' copy of it), alive
    /// for the duration of the call: the plan node of the scan being begun.
    pub unsafe fn from_fdw_private(fdw_private: *mut pg_sys::List) -> ScanSpec {
        // SAFETY: per the caller, the list's first element is a String node whose `sval` is a
        // NUL-terminated string in the plan's memory, alive while the plan is.
        unsafe {
            let private = PgList::<pg_sys::Node>::from_pg(fdw_private);
            let text = private
                .get_ptr(0)
                .map(|n| CStr::from_ptr((*(n as *mut pg_sys::String)).sval).to_string_lossy())
                .expect("partnerstack plan carries its spec");
            ScanSpec::from_json(&text)
        }
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use partnerstack_api::Op;
    use partnerstack_api::pushdown::ListOrder;
    use pgrx::prelude::*;

    use super::{ScanSpec, SpecCondition, ValueType};

    fn sample() -> ScanSpec {
        ScanSpec {
            conditions: vec![
                SpecCondition {
                    column: 0,
                    op: Op::Eq,
                    array: true,
                    value_type: ValueType::AsColumn,
                },
                SpecCondition {
                    column: 3,
                    op: Op::Ge,
                    array: false,
                    value_type: ValueType::Date,
                },
            ],
            needed: vec![1, 4, 7],
            limit: Some(10),
            ordered: true,
            order_by: Some(ListOrder {
                column: 3,
                descending: false,
            }),
            count: false,
        }
    }

    #[pg_test]
    fn spec_survives_the_json_in_the_plan() {
        let spec = sample();
        assert_eq!(ScanSpec::from_json(&spec.to_json()), spec);
    }

    #[pg_test]
    fn spec_survives_fdw_private() {
        let spec = sample();
        let list = spec.to_fdw_private();
        // SAFETY: `list` was just built by `to_fdw_private` in this transaction's memory.
        assert_eq!(unsafe { ScanSpec::from_fdw_private(list) }, spec);
    }

    #[pg_test]
    fn operator_travels_typed() {
        let json = sample().to_json();
        for op in [Op::Eq, Op::Lt, Op::Le, Op::Gt, Op::Ge] {
            let spec = ScanSpec {
                conditions: vec![SpecCondition {
                    column: 1,
                    op,
                    array: false,
                    value_type: ValueType::Timestamp,
                }],
                ..sample()
            };
            assert_eq!(ScanSpec::from_json(&spec.to_json()).conditions[0].op, op);
        }
        assert!(
            !json.contains(">="),
            "the operator is not its SQL spelling: {json}"
        );
    }
}
