//! ExplainForeignModify: with ANALYZE, the write requests the statement sent.

use pgrx::pg_guard;
use pgrx::pg_sys;

use super::executor::with_target;
use crate::errors::raise;
use crate::scan::explain_text;

/// ExplainForeignModify: with ANALYZE, the write requests the statement sent.
///
/// EXPLAIN prints the plan before the executor ends the statement, and UPDATE and DELETE send
/// their writes at its end (EndForeignModify): so with ANALYZE what is left is sent here, as
/// the statement would send it a moment later, and EndForeignModify finds nothing left.
///
/// # Safety
/// Called by EXPLAIN with the live result relation of the statement being explained and its
/// live ExplainState.
#[pg_guard]
pub unsafe extern "C-unwind" fn explain_foreign_modify(
    _mtstate: *mut pg_sys::ModifyTableState,
    rinfo: *mut pg_sys::ResultRelInfo,
    _fdw_private: *mut pg_sys::List,
    _subplan_index: std::ffi::c_int,
    es: *mut pg_sys::ExplainState,
) {
    // SAFETY: `es` is live (caller); `analyze` is a plain field.
    if !unsafe { (*es).analyze } {
        return;
    }
    // SAFETY: `rinfo` is the live result relation (caller), its state ours or null.
    let sent = unsafe {
        with_target(rinfo, |target| {
            target.state.finish().map(|_| target.state.stats().clone())
        })
    };
    let stats = match sent {
        Some(Ok(stats)) => stats,
        Some(Err(report)) => raise(report),
        None => return,
    };
    // SAFETY: `es` is live (caller).
    unsafe {
        explain_text(
            es,
            "PartnerStack Write Traffic",
            &format!("requests={} retries={}", stats.requests, stats.retries),
        );
        if !stats.log.is_empty() {
            let mut log = stats.log.join("; ");
            if stats.requests > stats.log.len() as u64 {
                log.push_str(&format!(
                    "; and {} more",
                    stats.requests - stats.log.len() as u64
                ));
            }
            explain_text(es, "PartnerStack Write Requests", &log);
        }
    }
}
