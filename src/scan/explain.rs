//! ExplainForeignScan: what EXPLAIN prints for a PartnerStack scan.
//!
//! The endpoint, the pushed conditions and the requests (with their values when they are
//! known without running anything); with ANALYZE, what was actually sent; with VERBOSE too, the
//! request log. Never a key or a secret: requests carry none, the keys travel in headers.

use std::ffi::CString;

use partnerstack_api::catalogue::Pushdown;
use partnerstack_api::pushdown;
use partnerstack_api::scan::first_request_line;
use pgrx::pg_sys;
use pgrx::prelude::*;

use super::executor::{ScanState, evaluate, with_state};
use super::spec::SpecCondition;

/// Requests shown in EXPLAIN before "and N more".
const EXPLAIN_REQUESTS_SHOWN: usize = 5;

/// `column op ...`, or `column = ANY (...)`: the condition without its value.
fn describe_condition(state: &ScanState, spec: &SpecCondition) -> String {
    let column = &state.table.resource.columns[spec.column];
    if let Pushdown::Contains(_) = column.pushdown {
        return format!("... = ANY ({})", column.name);
    }
    let column = column.name;
    if spec.array {
        format!("{column} = ANY (...)")
    } else {
        format!("{column} {} ...", spec.op.sql())
    }
}

/// One `label: value` line of EXPLAIN.
///
/// # Safety
/// `es` must be the live ExplainState of the EXPLAIN being printed.
pub(crate) unsafe fn explain_text(es: *mut pg_sys::ExplainState, label: &str, value: &str) {
    let label = CString::new(label).expect("label has no NUL");
    let value = CString::new(value.replace('\0', "")).expect("NULs removed");
    // SAFETY: `es` is live (caller); ExplainPropertyText copies both strings before returning.
    unsafe { pg_sys::ExplainPropertyText(label.as_ptr(), value.as_ptr(), es) };
}

/// ExplainForeignScan: the endpoint, the pushed conditions and the requests (with values when
/// they are known); with ANALYZE, what was actually sent; with VERBOSE too, the request log.
#[pg_guard]
pub unsafe extern "C-unwind" fn explain_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
    es: *mut pg_sys::ExplainState,
) {
    // SAFETY: Postgres calls this on the backend thread with the live node it began (and not
    // yet ended) and the live ExplainState.
    unsafe {
        with_state(node, |state| explain_scan(node, state, es));
    }
}

/// # Safety
/// `node` is the live node of `state`, `es` the live ExplainState.
unsafe fn explain_scan(
    node: *mut pg_sys::ForeignScanState,
    state: &ScanState,
    es: *mut pg_sys::ExplainState,
) {
    // SAFETY: per this function's contract.
    unsafe {
        let resource = state.table.resource;
        explain_text(
            es,
            "PartnerStack Endpoint",
            &format!("GET {}", resource.list_path_display()),
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
        if state.spec.ordered {
            let order = match state.spec.order_by {
                Some(order) => match order.param(resource) {
                    Some(value) => format!("{} (order_by={value}: no sort)", order.sql(resource)),
                    None => format!("{} (the API's own order: no sort)", order.sql(resource)),
                },
                None => "created_at DESC (the API's own order: no sort)".to_owned(),
            };
            explain_text(es, "PartnerStack Pushed Order", &order);
        }
        if state.spec.count {
            explain_text(
                es,
                "PartnerStack Pushed Aggregate",
                "count(*) from the list answer's total (read page by page when the API sends none)",
            );
        }
        if let Some(limit) = state.spec.limit {
            explain_text(
                es,
                "PartnerStack Pushed Limit",
                &format!("{limit} rows (LIMIT plus OFFSET): no page asks for more"),
            );
        }
        let page_size = if state.spec.count {
            partnerstack_api::count::TOTAL_PAGE_SIZE
        } else {
            state.page_size
        };
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
                pushdown::plan_ordered_requests(resource, &conditions, state.spec.order_by)
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
                    .map(|r| first_request_line(r, page_size))
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
///
/// # Safety
/// `es` must be the live ExplainState.
unsafe fn explain_traffic(state: &ScanState, es: *mut pg_sys::ExplainState) {
    // SAFETY: `es` is live (caller); its flags are plain fields.
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
            if stats.streams > 0 {
                explain_text(
                    es,
                    "PartnerStack Concurrency",
                    &format!(
                        "streams={} peak_in_flight={}",
                        stats.streams, stats.peak_in_flight
                    ),
                );
            }
            if (*es).verbose && !stats.log.is_empty() {
                explain_text(es, "PartnerStack Request Log", &stats.log.join("; "));
            }
        }
    }
}
