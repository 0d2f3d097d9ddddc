//! ANALYZE of a foreign table (AnalyzeForeignTable and its AcquireSampleRowsFunc): the row count
//! from the list answer's `total` and a sample of rows, so that the planner has the table's size
//! for joins and column statistics for local conditions (`currency = 'USD'`).
//!
//! The sample is the newest rows, read page by page until there are as many as ANALYZE asks for
//! (the API lists newest first and has no random access); reading the whole table for a uniform
//! sample would cost a request per page of the account. When the API sends no `total`, every
//! page is read: the rows are counted and the sample drawn uniformly over them (reservoir).

use partnerstack_api::Scan;
use partnerstack_api::count::list_total;
use partnerstack_api::mapping::map_item;
use partnerstack_api::pushdown::plan_requests;
use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::errors::{raise_api, raise_mapping, raise_pushdown};
use crate::options::{client_config, server_options};
use crate::session::cached_client;
use crate::table::{TableMap, to_datum};

/// AnalyzeForeignTable: our sampler, for every table that can be listed without a condition
/// (links need a partnership_key: Postgres skips them with a WARNING).
#[pg_guard]
pub unsafe extern "C-unwind" fn analyze_foreign_table(
    relation: pg_sys::Relation,
    func: *mut pg_sys::AcquireSampleRowsFunc,
    totalpages: *mut pg_sys::BlockNumber,
) -> bool {
    // SAFETY: Postgres calls this on the backend thread, in a transaction, with the open
    // relation being analyzed and two out-parameters to fill.
    unsafe {
        let table = TableMap::load((*relation).rd_id);
        if table.resource.path_parameter().is_some() || !table.resource.readable {
            return false;
        }
        *func = Some(acquire_sample_rows);
        // No pages: the cost of ANALYZE is in requests, which vacuum_cost_* does not model.
        *totalpages = 1;
        true
    }
}

/// AcquireSampleRowsFunc: up to `targrows` rows into `rows`, the table's row count into
/// `totalrows`; returns the number of rows sampled.
#[pg_guard]
unsafe extern "C-unwind" fn acquire_sample_rows(
    relation: pg_sys::Relation,
    _elevel: std::ffi::c_int,
    rows: *mut pg_sys::HeapTuple,
    targrows: std::ffi::c_int,
    totalrows: *mut f64,
    totaldeadrows: *mut f64,
) -> std::ffi::c_int {
    // SAFETY: Postgres calls this on the backend thread, in ANALYZE's memory context (where
    // the sampled tuples must live), with the open relation, an array of `targrows` tuple
    // pointers and two out-parameters.
    unsafe {
        let relid = (*relation).rd_id;
        let table = TableMap::load(relid);
        let serverid = (*pg_sys::GetForeignTable(relid)).serverid;
        let server = server_options(serverid);
        let context = format!("analyzing {}", table.name);
        let client = cached_client(
            client_config(&server, serverid, pg_sys::GetUserId(), true),
            &context,
        );
        // One list request: AnalyzeForeignTable refused the tables that need a path parameter.
        let requests = plan_requests(table.resource, &[]).unwrap_or_else(|e| raise_pushdown(&e));
        let mut stats = partnerstack_api::Stats::default();
        let total = match requests.first() {
            Some(request) => {
                list_total(&client, request, &mut stats)
                    .unwrap_or_else(|e| raise_api(&e, &context))
                    .0
            }
            None => Some(0),
        };
        let wanted: Vec<usize> = table.columns.iter().flatten().copied().collect();
        let tupdesc = (*relation).rd_att;
        let natts = (*tupdesc).natts as usize;
        let target = usize::try_from(targrows).unwrap_or(0);
        let sample = std::slice::from_raw_parts_mut(rows, target);
        let mut scan = Scan::new(requests, server.page_size);
        let mut seen: u64 = 0;
        let mut taken = 0;
        loop {
            let item = match scan.next_item(&client) {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(e) => raise_api(&e, &context),
            };
            seen += 1;
            // Reservoir sampling (Algorithm R): the first `target` rows, then each later one
            // in place of a random earlier one with probability target / seen.
            let slot = if taken < target {
                taken += 1;
                taken - 1
            } else {
                let j = pg_sys::pg_prng_uint64_range(
                    &raw mut pg_sys::pg_global_prng_state,
                    0,
                    seen - 1,
                );
                match usize::try_from(j) {
                    Ok(j) if j < target => j,
                    _ => continue,
                }
            };
            let values =
                map_item(table.resource, &item, &wanted).unwrap_or_else(|e| raise_mapping(&e));
            let mut datums = vec![pg_sys::Datum::from(0); natts];
            let mut nulls = vec![true; natts];
            let mut values = values.into_iter();
            for (i, column) in table.columns.iter().enumerate() {
                if column.is_none() {
                    continue;
                }
                if let Some(datum) = values.next().and_then(to_datum) {
                    datums[i] = datum;
                    nulls[i] = false;
                }
            }
            if seen > target as u64 {
                // A replacement: the slot holds an earlier sampled tuple.
                pg_sys::heap_freetuple(sample[slot]);
            }
            sample[slot] =
                pg_sys::heap_form_tuple(tupdesc, datums.as_mut_ptr(), nulls.as_mut_ptr());
            // With the count from `total`, the newest rows are the sample: no need to read on.
            if total.is_some() && taken == target {
                break;
            }
        }
        *totalrows = total.unwrap_or(seen) as f64;
        *totaldeadrows = 0.0;
        taken as std::ffi::c_int
    }
}
