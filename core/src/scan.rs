//! A scan: the requests of a [`crate::pushdown`] plan, followed page by page, one page in memory.

use std::collections::{HashSet, VecDeque};

use crate::client::{Client, Stats, request_line, target};
use crate::error::ApiError;
use crate::mapping::Item;
use crate::pushdown::{Request, RequestKind};

/// Streams the items of a list of requests.
#[derive(Debug)]
pub struct Scan {
    requests: VecDeque<Request>,
    page_size: u32,
    current: Option<Cursor>,
    page: std::vec::IntoIter<Item>,
    /// What was sent and received so far.
    pub stats: Stats,
}

/// Paging state of the list request being read.
#[derive(Debug)]
struct Cursor {
    request: Request,
    /// `starting_after` for the next page; `None` before the first page.
    after: Option<String>,
    /// Cursors already used: seeing one again means the API is looping.
    used: HashSet<String>,
    done: bool,
}

impl Scan {
    /// A scan of these requests, `page_size` items per list page.
    pub fn new(requests: Vec<Request>, page_size: u32) -> Scan {
        Scan {
            requests: requests.into(),
            page_size,
            current: None,
            page: Vec::new().into_iter(),
            stats: Stats::default(),
        }
    }

    /// The next item, fetching the next page or request when the current one is used up.
    pub fn next_item(&mut self, client: &Client) -> Result<Option<Item>, ApiError> {
        loop {
            if let Some(item) = self.page.next() {
                return Ok(Some(item));
            }
            if let Some(cursor) = &mut self.current {
                if cursor.done {
                    self.current = None;
                } else {
                    let items = fetch_page(client, cursor, self.page_size, &mut self.stats)?;
                    self.page = items.into_iter();
                }
                continue;
            }
            let Some(request) = self.requests.pop_front() else {
                return Ok(None);
            };
            match request.kind {
                RequestKind::Item => {
                    if let Some(raw) = client.object(&request.path, &mut self.stats)? {
                        let item = Item::parse(raw, None)
                            .map_err(|reason| invalid_item(&request, reason))?;
                        self.page = vec![item].into_iter();
                    }
                }
                RequestKind::List => {
                    self.current = Some(Cursor {
                        request,
                        after: None,
                        used: HashSet::new(),
                        done: false,
                    });
                }
            }
        }
    }
}

/// The query of one page of a list request: its filters, `limit`, and from the second page on
/// the cursor (`starting_after`, §2).
fn page_params(request: &Request, page_size: u32, after: Option<&str>) -> Vec<(String, String)> {
    let mut params = request.params.clone();
    params.push(("limit".into(), page_size.to_string()));
    if let Some(after) = after {
        params.push(("starting_after".into(), after.to_owned()));
    }
    params
}

/// The first request a scan sends for `request` (the first page of a list, or the one GET of
/// an item), exactly as the request log ([`Stats::log`]) will show it: `GET path?query`. For
/// EXPLAIN, which prints the requests before any is sent.
pub fn first_request_line(request: &Request, page_size: u32) -> String {
    let params = match request.kind {
        RequestKind::List => page_params(request, page_size, None),
        RequestKind::Item => Vec::new(),
    };
    request_line("GET", &target(&request.path, &params))
}

fn fetch_page(
    client: &Client,
    cursor: &mut Cursor,
    page_size: u32,
    stats: &mut Stats,
) -> Result<Vec<Item>, ApiError> {
    let request = &cursor.request;
    let params = page_params(request, page_size, cursor.after.as_deref());
    let page = client.list_page(&request.path, &params, stats)?;
    let paging_error = |detail: String| ApiError::Paging {
        path: request.path.clone(),
        detail,
    };
    let items = page
        .items
        .into_iter()
        .map(|raw| Item::parse(raw, request.path_parameter.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|reason| invalid_item(request, reason))?;
    if !page.has_more {
        cursor.done = true;
        return Ok(items);
    }
    // More pages follow: the next cursor is the last item's key (§2).
    let Some(last) = items.last() else {
        return Err(paging_error("an empty page says has_more: true".into()));
    };
    let Some(key) = last.key() else {
        return Err(paging_error(
            "the last item of a page has no string key to page on".into(),
        ));
    };
    if !cursor.used.insert(key.clone().into_owned()) {
        return Err(paging_error(format!(
            "the cursor {key:?} came back a second time"
        )));
    }
    cursor.after = Some(key.into_owned());
    Ok(items)
}

fn invalid_item(request: &Request, reason: String) -> ApiError {
    ApiError::InvalidBody {
        path: request.path.clone(),
        reason,
        excerpt: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: RequestKind, path: &str, params: &[(&str, &str)]) -> Request {
        Request {
            kind,
            path: path.into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            path_parameter: None,
        }
    }

    #[test]
    fn first_request_lines_show_the_query_as_sent() {
        let list = request(
            RequestKind::List,
            "/deals",
            &[("min_updated", "5"), ("q", "a b")],
        );
        assert_eq!(
            first_request_line(&list, 250),
            "GET /deals?min_updated=5&q=a%20b&limit=250"
        );
        let item = request(RequestKind::Item, "/deals/a%2Fb", &[]);
        assert_eq!(first_request_line(&item, 250), "GET /deals/a%2Fb");
    }

    #[test]
    fn later_pages_add_the_cursor_after_the_limit() {
        let list = request(RequestKind::List, "/links/partnership/p1", &[]);
        let params = page_params(&list, 10, Some("lnk_9"));
        assert_eq!(
            target(&list.path, &params),
            "/links/partnership/p1?limit=10&starting_after=lnk_9"
        );
    }
}
