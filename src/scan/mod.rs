//! The scan callbacks, installed in place of the framework's.
//!
//! supabase-wrappers 0.1.28 keeps a raw pointer to its scan state in the plan and frees it at the
//! end of the first execution, so a cached plan (a prepared statement run a sixth time, as JDBC
//! and BI tools do) reads freed memory; its EXPLAIN prints internal structures. These callbacks
//! follow postgres_fdw instead: the plan carries only copyable nodes (a JSON spec and the value
//! expressions in `fdw_exprs`), and each execution builds and frees its own state.
//!
//! One file per phase:
//! - `planner`: GetForeignRelSize, GetForeignPaths, GetForeignPlan, and the costs;
//! - `rel_info`: the relation's conditions, classified once and kept on the relation;
//! - `spec`: what the plan carries from planning to execution;
//! - `executor`: BeginForeignScan, IterateForeignScan, ReScanForeignScan, EndForeignScan;
//! - `analyze`: AnalyzeForeignTable and its sampler (row count and sample for ANALYZE);
//! - `count`: GetForeignUpperPaths, and the plan and row of a `count(*)` read from `total`;
//! - `explain`: ExplainForeignScan;
//! - `owned`: Rust values owned by a Postgres memory context (planner and executor state).

mod analyze;
mod count;
mod executor;
mod explain;
pub(crate) mod owned;
mod planner;
mod rel_info;
mod spec;

pub use analyze::analyze_foreign_table;
pub use count::get_foreign_upper_paths;
pub use executor::{
    begin_foreign_scan, end_foreign_scan, iterate_foreign_scan, re_scan_foreign_scan,
};
pub use explain::explain_foreign_scan;
pub(crate) use explain::explain_text;
pub use planner::{get_foreign_paths, get_foreign_plan, get_foreign_rel_size};
