//! A scan: the requests of a [`crate::pushdown`] plan, read page by page.
//!
//! Every request is a *stream*: one GET for an item, a cursor for a list. Streams run on a
//! [`Fanout`], at most `concurrency` requests in flight; pages are handed out in the order they
//! arrive. With a concurrency of 1 the scan is sequential and fetches a page only when the
//! previous one is used up. Above 1 it keeps requests in flight ahead of the rows Postgres
//! takes (at most `concurrency` pages received or on their way), and a list whose endpoint
//! filters `created_at` is cut into windows read at once (`window.rs`, which says what that
//! relies on). Nothing goes ahead before Postgres has used up the first page: a statement that
//! stops within it (a LIMIT applied after a local filter) sends one request.

mod window;

use std::collections::{HashMap, HashSet, VecDeque};

use crate::client::{Client, Done, Fanout, Stats, request_line, target};
use crate::error::ApiError;
use crate::mapping::Item;
use crate::pushdown::{MsRange, Request, RequestKind};

pub use window::MIN_WINDOW_PAGES;

/// Streams the items of a list of requests.
#[derive(Debug)]
pub struct Scan {
    /// Streams waiting for their next request, continued cursors first.
    pending: VecDeque<Stream>,
    page_size: u32,
    concurrency: usize,
    /// Lists may be cut into `created_at` windows.
    windows: bool,
    fanout: Fanout<Fetched>,
    /// Streams whose request is in flight, by job tag.
    active: HashMap<usize, Stream>,
    next_tag: usize,
    /// Pages received and not yet handed out.
    ready: VecDeque<Vec<Item>>,
    page: std::vec::IntoIter<Item>,
    /// Rows the lists match as their first pages said (`total`), for the window budget.
    known_rows: u64,
    /// Requests that cutting windows may have added (a part-filled last page each).
    extra: u64,
    /// A window was cut: the scan relies on the API's order from then on.
    cut_done: bool,
    /// Pages (or items of a GET) handed to Postgres so far.
    pages_handed_out: u64,
    /// What was sent and received so far.
    pub stats: Stats,
}

/// One request being followed: an item's GET or a list's cursor.
#[derive(Debug)]
struct Stream {
    request: Request,
    /// `starting_after` for the next page; `None` before the first page.
    after: Option<String>,
    /// Cursors already used: seeing one again means the API is looping.
    used: HashSet<String>,
    /// The list's `created_at` window, when it may be cut.
    window: Option<Window>,
    /// The stream's first request was sent.
    started: bool,
    /// One of the scan's own requests, not a window cut from one.
    original: bool,
}

/// A list read as a `created_at` window.
#[derive(Debug)]
struct Window {
    range: MsRange,
    /// Keys of rows of the window's newest millisecond already handed out by the window it
    /// was cut from.
    skip: HashSet<String>,
    total: Option<u64>,
    received: u64,
    newest: Option<i64>,
    oldest: Option<i64>,
    /// Keys of the rows handed out in millisecond `oldest`; `None` in it when a row had no key
    /// (then the window is not cut at that millisecond).
    tail: Vec<Option<String>>,
}

/// What a job brings back.
#[derive(Debug)]
enum Fetched {
    /// An item's GET: the item, `None` for a 404.
    Item(Option<Item>),
    /// A list page, with each item's `created_at` when the stream is a window.
    Page {
        items: Vec<Item>,
        created: Vec<Option<i64>>,
        has_more: bool,
        total: Option<u64>,
    },
}

impl Scan {
    /// A sequential scan of these requests, `page_size` items per list page.
    pub fn new(requests: Vec<Request>, page_size: u32) -> Scan {
        Scan::concurrent(requests, page_size, 1, false)
    }

    /// A scan keeping up to `concurrency` requests in flight; with `windows`, lists whose
    /// endpoint filters `created_at` may be cut into windows read at once.
    pub fn concurrent(
        requests: Vec<Request>,
        page_size: u32,
        concurrency: usize,
        windows: bool,
    ) -> Scan {
        let concurrency = concurrency.max(1);
        let pending = requests
            .into_iter()
            .map(|request| {
                let window = match (&request.kind, request.created) {
                    (RequestKind::List, Some(range)) if windows && concurrency > 1 => {
                        Some(Window::new(range, HashSet::new()))
                    }
                    _ => None,
                };
                Stream {
                    request,
                    after: None,
                    used: HashSet::new(),
                    window,
                    started: false,
                    original: true,
                }
            })
            .collect();
        Scan {
            pending,
            page_size,
            concurrency,
            windows,
            fanout: Fanout::new(concurrency),
            active: HashMap::new(),
            next_tag: 0,
            ready: VecDeque::new(),
            page: Vec::new().into_iter(),
            known_rows: 0,
            extra: 0,
            cut_done: false,
            pages_handed_out: 0,
            stats: Stats::default(),
        }
    }

    /// The next item, waiting for the next page when every page received is used up.
    pub fn next_item(&mut self, client: &Client) -> Result<Option<Item>, ApiError> {
        loop {
            if let Some(item) = self.page.next() {
                return Ok(Some(item));
            }
            if let Some(items) = self.ready.pop_front() {
                self.page = items.into_iter();
                // Read ahead from the second page on: the first may be all Postgres wants.
                if self.concurrency > 1 && self.pages_handed_out > 0 {
                    self.fill(client)?;
                }
                self.pages_handed_out += 1;
                continue;
            }
            self.fill(client)?;
            match self.fanout.next_done(client)? {
                Some(done) => self.take(done)?,
                None => return Ok(None),
            }
        }
    }

    /// Starts the requests of waiting streams while there is room: at most `concurrency` pages
    /// received (not yet handed out) or on their way, so that a scan holds at most
    /// `concurrency + 1` pages with the one being handed out.
    fn fill(&mut self, client: &Client) -> Result<(), ApiError> {
        while self.fanout.has_room()
            && self.ready.len() + self.fanout.in_flight() < self.concurrency
        {
            let Some(mut stream) = self.pending.pop_front() else {
                break;
            };
            if !stream.started {
                stream.started = true;
                self.stats.streams += 1;
            }
            let tag = self.next_tag;
            self.next_tag += 1;
            let request = stream.request.clone();
            match request.kind {
                RequestKind::Item => self.fanout.start(client, tag, move |client, stats| {
                    let item = match client.object(&request.path, stats)? {
                        Some(raw) => Some(
                            Item::parse(raw, None)
                                .map_err(|reason| invalid_item(&request, reason))?,
                        ),
                        None => None,
                    };
                    Ok(Fetched::Item(item))
                })?,
                RequestKind::List => {
                    let params = page_params(&request, self.page_size, stream.after.as_deref());
                    let windowed = stream.window.is_some();
                    self.fanout.start(client, tag, move |client, stats| {
                        fetch_page(client, &request, &params, windowed, stats)
                    })?
                }
            }
            self.stats.peak_in_flight = self.fanout.peak as u64;
            self.active.insert(tag, stream);
        }
        Ok(())
    }

    /// Takes a finished job: its rows become a ready page, its stream goes on, ends, or is cut
    /// into windows.
    fn take(&mut self, done: Done<Fetched>) -> Result<(), ApiError> {
        self.stats.add(&done.stats);
        let mut stream = self.active.remove(&done.tag).expect("a job of this scan");
        let fetched = match done.result {
            Ok(fetched) => fetched,
            Err(e) => {
                self.fanout.stop();
                return Err(e);
            }
        };
        let (items, created, has_more, total) = match fetched {
            Fetched::Item(item) => {
                self.ready.extend(item.map(|item| vec![item]));
                return Ok(());
            }
            Fetched::Page {
                items,
                created,
                has_more,
                total,
            } => (items, created, has_more, total),
        };
        let path = stream.request.path.clone();
        let paging_error = |detail: String| ApiError::Paging {
            path: path.clone(),
            detail,
        };
        // The cursor is the last item received, whether or not it is handed out.
        let last_key = items.last().map(|last| last.key().map(|k| k.into_owned()));
        let first_page = stream.window.as_ref().is_some_and(|w| w.received == 0);
        if first_page && stream.original {
            self.known_rows += total.unwrap_or(0);
        }
        let items = match stream.window.as_mut() {
            Some(window) => match window.admit(items, &created, total) {
                Ok(items) => items,
                Err((items, detail)) => {
                    if self.cut_done {
                        return Err(paging_error(format!(
                            "{detail}, so the windows read at once may miss rows; set the \
                             server option max_concurrency to 1 to read this list sequentially"
                        )));
                    }
                    // Nothing was cut yet: read on as one sequential cursor.
                    self.windows = false;
                    stream.window = None;
                    items
                }
            },
            None => items,
        };
        if !items.is_empty() {
            self.ready.push_back(items);
        }
        if !has_more {
            return Ok(());
        }
        // More pages follow: the next cursor is the last item's key (§2).
        let Some(last_key) = last_key else {
            return Err(paging_error("an empty page says has_more: true".into()));
        };
        let Some(key) = last_key else {
            return Err(paging_error(
                "the last item of a page has no string key to page on".into(),
            ));
        };
        if !stream.used.insert(key.clone()) {
            return Err(paging_error(format!(
                "the cursor {key:?} came back a second time"
            )));
        }
        stream.after = Some(key);
        match self.cut(&stream) {
            Some(windows) => {
                for window in windows.into_iter().rev() {
                    self.pending.push_front(window);
                }
            }
            None => self.pending.push_front(stream),
        }
        Ok(())
    }

    /// What is left of `stream` as windows to read at once, when streams are idle, enough rows
    /// are left, and the budget of extra requests allows: at most `concurrency` plus a tenth
    /// of the pages the lists hold (or, when they do not say, of the pages read so far).
    fn cut(&mut self, stream: &Stream) -> Option<Vec<Stream>> {
        if !self.windows {
            return None;
        }
        let window = stream.window.as_ref()?;
        let (Some(newest), Some(oldest)) = (window.newest, window.oldest) else {
            return None;
        };
        // Rows of millisecond `oldest` handed out so far: this window's, and the ones it skips
        // because the window it was cut from handed them out (while it is still in that
        // millisecond), whether or not it has reached them yet.
        let mut tail: HashSet<String> = window.tail.iter().cloned().collect::<Option<_>>()?;
        if window.range.max == Some(oldest) {
            tail.extend(window.skip.iter().cloned());
        }
        let busy = self.active.len() + self.pending.len();
        let idle = self.concurrency.saturating_sub(busy);
        let progress = window::Progress {
            range: window.range,
            total: window.total,
            received: window.received,
            newest,
            oldest,
        };
        let ranges = window::cut(&progress, u64::from(self.page_size), idle);
        if ranges.is_empty() {
            return None;
        }
        let pages = self
            .stats
            .pages
            .max(self.known_rows / u64::from(self.page_size.max(1)));
        let budget = self.concurrency as u64 + pages / 10;
        if self.extra + ranges.len() as u64 > budget {
            return None;
        }
        self.extra += ranges.len() as u64;
        self.cut_done = true;
        let windows = ranges
            .into_iter()
            .enumerate()
            .map(|(i, range)| {
                let skip = if i == 0 { tail.clone() } else { HashSet::new() };
                Stream {
                    request: window_request(&stream.request, range),
                    after: None,
                    used: HashSet::new(),
                    window: Some(Window::new(range, skip)),
                    started: false,
                    original: false,
                }
            })
            .collect();
        Some(windows)
    }
}

/// A page [`Window::admit`] gives back whole, with what was wrong with it.
type Refused = (Vec<Item>, String);

impl Window {
    fn new(range: MsRange, skip: HashSet<String>) -> Window {
        Window {
            range,
            skip,
            total: None,
            received: 0,
            newest: None,
            oldest: None,
            tail: Vec::new(),
        }
    }

    /// The items of a page to hand out: those not handed out already (`skip`). Checks what
    /// cutting relies on: every item has a `created_at`, within the window's bounds, never
    /// newer than the one before. When not, gives the page back whole with what was wrong.
    fn admit(
        &mut self,
        items: Vec<Item>,
        created: &[Option<i64>],
        total: Option<u64>,
    ) -> Result<Vec<Item>, Refused> {
        if self.received == 0 {
            self.total = total;
        }
        let mut previous = self.oldest;
        for (i, c) in created.iter().enumerate() {
            let problem = match *c {
                None => Some("an item has no integer created_at".to_owned()),
                Some(c)
                    if self.range.min.is_some_and(|m| c < m)
                        || self.range.max.is_some_and(|m| c > m) =>
                {
                    Some(format!(
                        "an item's created_at {c} is outside the filter {:?}",
                        self.range
                    ))
                }
                Some(c) if previous.is_some_and(|p| c > p) => Some(format!(
                    "the list is not newest first (created_at {c} after {})",
                    previous.unwrap_or_default()
                )),
                Some(c) => {
                    previous = Some(c);
                    None
                }
            };
            if let Some(problem) = problem {
                return Err((items, format!("item {} of a page: {problem}", i + 1)));
            }
        }
        let mut kept = Vec::with_capacity(items.len());
        for (item, c) in items.into_iter().zip(created.iter().copied()) {
            let c = c.expect("checked above");
            self.received += 1;
            let key = item.key().map(|k| k.into_owned());
            if self.newest.is_none() {
                self.newest = Some(c);
            }
            if self.oldest != Some(c) {
                self.oldest = Some(c);
                self.tail.clear();
            }
            self.tail.push(key.clone());
            if !self.skip.is_empty()
                && Some(c) == self.range.max
                && key.as_ref().is_some_and(|k| self.skip.contains(k))
            {
                continue;
            }
            kept.push(item);
        }
        Ok(kept)
    }
}

/// `request` narrowed to a window: its `min_created`/`max_created` replaced by the window's.
fn window_request(request: &Request, range: MsRange) -> Request {
    let mut params: Vec<(String, String)> = Vec::new();
    if let Some(min) = range.min {
        params.push(("min_created".into(), min.to_string()));
    }
    if let Some(max) = range.max {
        params.push(("max_created".into(), max.to_string()));
    }
    params.extend(
        request
            .params
            .iter()
            .filter(|(k, _)| k != "min_created" && k != "max_created")
            .cloned(),
    );
    Request {
        kind: request.kind,
        path: request.path.clone(),
        params,
        path_parameter: request.path_parameter.clone(),
        created: Some(range),
    }
}

/// One list page, its items parsed (with their `created_at` for a window), on a job's thread.
fn fetch_page(
    client: &Client,
    request: &Request,
    params: &[(String, String)],
    windowed: bool,
    stats: &mut Stats,
) -> Result<Fetched, ApiError> {
    let page = client.list_page(&request.path, params, stats)?;
    let items = page
        .items
        .into_iter()
        .map(|raw| Item::parse(raw, request.path_parameter.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|reason| invalid_item(request, reason))?;
    let created = if windowed {
        items.iter().map(Item::created_at).collect()
    } else {
        Vec::new()
    };
    Ok(Fetched::Page {
        items,
        created,
        has_more: page.has_more,
        total: page.total,
    })
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
    use serde_json::value::RawValue;

    fn request(kind: RequestKind, path: &str, params: &[(&str, &str)]) -> Request {
        Request {
            kind,
            path: path.into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            path_parameter: None,
            created: None,
        }
    }

    fn items(rows: &[(&str, i64)]) -> (Vec<Item>, Vec<Option<i64>>) {
        rows.iter()
            .map(|(key, at)| {
                let raw = RawValue::from_string(format!(r#"{{"key":"{key}","created_at":{at}}}"#))
                    .unwrap();
                let item = Item::parse(raw, None).unwrap();
                let created = item.created_at();
                (item, created)
            })
            .unzip()
    }

    fn keys(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| i.key().unwrap().into_owned())
            .collect()
    }

    #[test]
    fn a_window_skips_the_rows_of_its_newest_millisecond_already_handed_out() {
        let range = MsRange {
            min: Some(0),
            max: Some(100),
        };
        let mut window = Window::new(range, ["b".to_owned()].into_iter().collect());
        let (page, created) = items(&[("a", 100), ("b", 100), ("c", 100), ("d", 99)]);
        let kept = window.admit(page, &created, Some(9)).unwrap();
        assert_eq!(keys(&kept), ["a", "c", "d"]);
        assert_eq!((window.received, window.total), (4, Some(9)));
        assert_eq!((window.newest, window.oldest), (Some(100), Some(99)));
        assert_eq!(window.tail, [Some("d".to_owned())]);
        // A key of the skip set outside the newest millisecond is another row: kept.
        let (page, created) = items(&[("b", 98)]);
        assert_eq!(keys(&window.admit(page, &created, None).unwrap()), ["b"]);
    }

    #[test]
    fn a_page_out_of_order_or_outside_the_window_is_given_back_whole() {
        let range = MsRange {
            min: Some(10),
            max: Some(100),
        };
        for (rows, problem) in [
            (&[("a", 50), ("b", 60)][..], "not newest first"),
            (&[("a", 101)][..], "outside the filter"),
            (&[("a", 9)][..], "outside the filter"),
        ] {
            let mut window = Window::new(range, HashSet::new());
            let (page, created) = items(rows);
            let (back, why) = window.admit(page, &created, None).unwrap_err();
            assert_eq!(back.len(), rows.len());
            assert!(why.contains(problem), "{why}");
        }
        let mut window = Window::new(range, HashSet::new());
        let raw = RawValue::from_string(r#"{"key":"a","created_at":"soon"}"#.to_owned()).unwrap();
        let (_, why) = window
            .admit(vec![Item::parse(raw, None).unwrap()], &[None], None)
            .unwrap_err();
        assert!(why.contains("no integer created_at"), "{why}");
        // Across pages too: the next page may not start above the last row.
        let mut window = Window::new(range, HashSet::new());
        let (page, created) = items(&[("a", 50)]);
        window.admit(page, &created, None).unwrap();
        let (page, created) = items(&[("b", 51)]);
        assert!(window.admit(page, &created, None).is_err());
    }

    #[test]
    fn window_requests_replace_the_created_bounds_and_keep_the_rest() {
        let list = Request {
            created: Some(MsRange {
                min: Some(5),
                max: None,
            }),
            ..request(
                RequestKind::List,
                "/deals",
                &[("min_created", "5"), ("partner_key", "p")],
            )
        };
        let window = window_request(
            &list,
            MsRange {
                min: Some(7),
                max: Some(9),
            },
        );
        assert_eq!(
            first_request_line(&window, 250),
            "GET /deals?min_created=7&max_created=9&partner_key=p&limit=250"
        );
        assert_eq!(
            window.created,
            Some(MsRange {
                min: Some(7),
                max: Some(9)
            })
        );
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

    /// A window cut from another starts at the millisecond where the other stopped, skipping
    /// the rows of it already handed out. Cut again before it has passed them all, the next
    /// window must skip them too (found in review).
    #[test]
    fn a_window_cut_twice_at_a_shared_millisecond_hands_out_each_row_once() {
        let t = 1_000_000i64;
        let page = |from: usize| -> Vec<(String, i64)> {
            (from..from + 50)
                .map(|i| (format!("k{:04}", 9999 - i), t))
                .collect()
        };
        let admit = |stream: &mut Stream, rows: &[(String, i64)], total| {
            let rows: Vec<(&str, i64)> = rows.iter().map(|(k, c)| (k.as_str(), *c)).collect();
            let (page, created) = items(&rows);
            let kept = stream
                .window
                .as_mut()
                .unwrap()
                .admit(page, &created, total)
                .unwrap();
            keys(&kept)
        };
        let mut scan = Scan::concurrent(Vec::new(), 50, 3, true);
        scan.known_rows = 4_000;
        // A window [t-26, t] cut from the original list, whose first page handed out rows
        // 0..50, all of millisecond t.
        let handed_out: HashSet<String> = page(0).into_iter().map(|(k, _)| k).collect();
        let range = MsRange {
            min: Some(t - 26),
            max: Some(t),
        };
        let mut w0 = Stream {
            request: window_request(&request(RequestKind::List, "/transactions", &[]), range),
            after: None,
            used: HashSet::new(),
            window: Some(Window::new(range, handed_out.clone())),
            started: true,
            original: false,
        };
        let mut out: Vec<String> = handed_out.into_iter().collect();
        // It reads two pages (rows 0..50 skipped, rows 50..100 handed out), then is cut.
        out.extend(admit(&mut w0, &page(0), Some(2_000)));
        out.extend(admit(&mut w0, &page(50), None));
        let mut w1 = scan.cut(&w0).expect("cut").remove(0);
        assert_eq!(w1.window.as_ref().unwrap().range.max, Some(t));
        // Its newest window reads rows 0..50 (all skipped) and is cut again.
        assert!(admit(&mut w1, &page(0), Some(2_000)).is_empty());
        let mut w2 = scan.cut(&w1).expect("cut again").remove(0);
        out.extend(admit(&mut w2, &page(0), Some(2_000)));
        out.extend(admit(&mut w2, &page(50), None));
        out.extend(admit(&mut w2, &page(100), None));
        let distinct: HashSet<&String> = out.iter().collect();
        assert_eq!(distinct.len(), out.len(), "rows handed out twice");
        assert_eq!(distinct.len(), 150, "rows 0..150, each once");
    }
}
