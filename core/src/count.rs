//! `count(*)` of the rows a plan's requests select, without reading them: each list answer
//! carries `total`, the number of items matching its filters over every page (§1.4), so one
//! request of one item per list tells the count. When an answer has no `total` (it may be null
//! or absent), the list is read page by page and its items counted.
//!
//! Only for requests that select exactly the rows to count: see
//! [`crate::pushdown::count_from_total`].

use crate::client::{Client, Stats};
use crate::error::ApiError;
use crate::pushdown::{Request, RequestKind};
use crate::scan::Scan;

/// `limit` of the request that reads a list's `total`: the smallest page the API serves (§2).
pub const TOTAL_PAGE_SIZE: u32 = 1;

/// The number of rows `requests` return: the sum of each list's `total`, one GET's 0 or 1.
/// `page_size` sizes the pages of a list that has to be counted by reading it.
pub fn count_rows(
    client: &Client,
    requests: &[Request],
    page_size: u32,
    stats: &mut Stats,
) -> Result<u64, ApiError> {
    let mut count = 0;
    for request in requests {
        count += match request.kind {
            RequestKind::Item => u64::from(client.object(&request.path, stats)?.is_some()),
            RequestKind::List => match list_total(client, request, stats)? {
                (Some(total), _) => total,
                (None, Some(all)) => all,
                (None, None) => count_by_reading(client, request, page_size, stats)?,
            },
        };
    }
    Ok(count)
}

/// One request of one item of a list: its `total`, and when the answer has none but says no
/// more items follow, the number of items it holds (the whole list).
pub fn list_total(
    client: &Client,
    request: &Request,
    stats: &mut Stats,
) -> Result<(Option<u64>, Option<u64>), ApiError> {
    let mut params = request.params.clone();
    params.push(("limit".into(), TOTAL_PAGE_SIZE.to_string()));
    let first = client.list_page(&request.path, &params, stats)?;
    let all = (!first.has_more).then_some(first.items.len() as u64);
    Ok((first.total, all))
}

/// Reads every page of one list request and counts its items.
fn count_by_reading(
    client: &Client,
    request: &Request,
    page_size: u32,
    stats: &mut Stats,
) -> Result<u64, ApiError> {
    let mut scan = Scan::new(vec![request.clone()], page_size);
    let mut count = 0;
    let counted = loop {
        match scan.next_item(client) {
            Ok(Some(_)) => count += 1,
            Ok(None) => break Ok(count),
            Err(e) => break Err(e),
        }
    };
    stats.add(&scan.stats);
    counted
}
