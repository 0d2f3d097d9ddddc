//! Tables of records with a key index and the list engine shared by every endpoint.
//!
//! Each [`Table`] keeps its rows in insertion order plus `order`, the row ids sorted the
//! way every list endpoint answers (`created_at` descending, ties broken by `key`
//! descending). Because that order is fixed at startup and maintained on insert:
//! - a `min_created`/`max_created` window is a binary search,
//! - a cursor key is located through the key index plus a binary search,
//! - a page is a short walk from there,
//!
//! so a page of a million-row table costs microseconds, not a full scan.

use crate::model::{Record, RowId, Text};
use crate::resources::actions::Action;
use crate::resources::customers::Customer;
use crate::resources::deals::Deal;
use crate::resources::groups::Group;
use crate::resources::leads::Lead;
use crate::resources::links::Link;
use crate::resources::partnerships::{Partnership, Tier};
use crate::resources::rewards::{Offer, Reward};
use crate::resources::transactions::Transaction;
use crate::resources::webhooks::Webhook;
use crate::rng::Rng;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Mutex;

/// An inclusive epoch-ms window (`min_created`..=`max_created` and the like).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive lower bound.
    pub min: Option<i64>,
    /// Inclusive upper bound.
    pub max: Option<i64>,
}

impl TimeRange {
    /// Whether `t` lies within the window.
    pub fn contains(&self, t: i64) -> bool {
        self.min.is_none_or(|m| t >= m) && self.max.is_none_or(|m| t <= m)
    }

    /// Whether the window restricts anything.
    pub fn is_open(&self) -> bool {
        self.min.is_none() && self.max.is_none()
    }
}

/// Which way a page is taken.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cursor {
    /// First page.
    #[default]
    Start,
    /// Items after the item with this key (`starting_after`).
    StartingAfter(String),
    /// The page immediately before the item with this key (`ending_before`).
    EndingBefore(String),
}

/// The order a list answers in (`order_by`, §2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ListOrder {
    /// `created_at` descending, ties by `key` descending: every list's own order.
    #[default]
    Newest,
    /// `order_by=created_at`: the exact reverse (ties by `key` ascending), walked backwards
    /// through the same index.
    Oldest,
    /// `order_by=field` / `-field` on another field: the window's matching rows sorted on each
    /// request by the field's integer value (absent last ascending, first descending), ties by
    /// `key` in the same direction. Only the Partner API's small tables take it.
    Field {
        /// Field name.
        name: String,
        /// `-field`.
        descending: bool,
    },
}

/// A validated list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// Page size, 1..=250.
    pub limit: usize,
    /// Cursor.
    pub cursor: Cursor,
    /// `min_created`/`max_created`.
    pub created: TimeRange,
    /// `min_updated`/`max_updated`.
    pub updated: TimeRange,
    /// Fault `repeat_cursor`: answer the page that ends with the `starting_after` item
    /// (the page the client already has) and claim there is more.
    pub repeat_previous: bool,
    /// Identifies the equality filters behind the predicate passed to [`Table::page`], so
    /// the filtered `total` is counted once per cursor walk instead of once per page.
    pub total_key: Option<String>,
    /// `order_by`.
    pub order: ListOrder,
}

impl Default for PageQuery {
    fn default() -> Self {
        Self {
            limit: 10,
            cursor: Cursor::Start,
            created: TimeRange::default(),
            updated: TimeRange::default(),
            repeat_previous: false,
            total_key: None,
            order: ListOrder::Newest,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Row ids, newest first.
    pub rows: Vec<RowId>,
    /// More matching items exist beyond this page in the traversal direction.
    pub has_more: bool,
    /// Matching items after filters, before the cursor.
    pub total: usize,
}

/// Why a page could not be produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    /// The cursor names no object of this resource.
    UnknownCursor(String),
}

/// Most filtered totals remembered per table (a handful of concurrent cursor walks).
const MAX_CACHED_TOTALS: usize = 64;

/// A table of records with a key index and the list order.
#[derive(Debug)]
pub struct Table<T> {
    rows: Vec<T>,
    order: Vec<RowId>,
    index: HashMap<Text, RowId>,
    /// Soft-deleted rows; usually few, so an unfiltered `total` is the created window
    /// minus these instead of a count over the window.
    deleted: Vec<RowId>,
    /// Bumped on every change; invalidates `totals`.
    version: u64,
    /// Filtered totals by (window, filter key), valid for `version`.
    totals: Mutex<HashMap<String, (u64, usize)>>,
}

impl<T: Record> Table<T> {
    /// Builds the order and the key index. Keys must be unique.
    pub fn new(rows: Vec<T>) -> Self {
        let mut order: Vec<RowId> = (0..rows.len() as RowId).collect();
        order.sort_unstable_by(|&a, &b| list_cmp(&rows[a as usize], &rows[b as usize]));
        let mut index = HashMap::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let prev = index.insert(Text::from(r.key()), i as RowId);
            assert!(prev.is_none(), "duplicate key {:?}", r.key());
        }
        let deleted = (0..rows.len() as RowId)
            .filter(|&i| rows[i as usize].deleted())
            .collect();
        Self {
            rows,
            order,
            index,
            deleted,
            version: 0,
            totals: Mutex::new(HashMap::new()),
        }
    }

    /// Number of rows, deleted ones included.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the table has no rows at all.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Number of rows not deleted.
    pub fn live_len(&self) -> usize {
        self.rows.len() - self.deleted.len()
    }

    /// The row with this id.
    pub fn row(&self, id: RowId) -> &T {
        &self.rows[id as usize]
    }

    /// Mutable access; the caller must not change `key` or `created_at`.
    pub fn row_mut(&mut self, id: RowId) -> &mut T {
        self.version += 1;
        &mut self.rows[id as usize]
    }

    /// All rows with their ids, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (RowId, &T)> {
        self.rows.iter().enumerate().map(|(i, r)| (i as RowId, r))
    }

    /// Live rows with their ids, in insertion order.
    pub fn live(&self) -> impl Iterator<Item = (RowId, &T)> {
        self.iter().filter(|(_, r)| !r.deleted())
    }

    /// Row id for a key, deleted rows included (keys stay taken after a soft delete).
    pub fn find(&self, key: &str) -> Option<RowId> {
        self.index.get(key).copied()
    }

    /// Row id for a key of a live row.
    pub fn find_live(&self, key: &str) -> Option<RowId> {
        self.find(key).filter(|&id| !self.row(id).deleted())
    }

    /// Adds a row (its key must be new) and returns its id.
    pub fn insert(&mut self, row: T) -> RowId {
        let id = self.rows.len() as RowId;
        let prev = self.index.insert(Text::from(row.key()), id);
        assert!(prev.is_none(), "duplicate key {:?}", row.key());
        let pos = self
            .order
            .partition_point(|&o| list_cmp(&self.rows[o as usize], &row) == Ordering::Less);
        if row.deleted() {
            self.deleted.push(id);
        }
        self.version += 1;
        self.rows.push(row);
        self.order.insert(pos, id);
        id
    }

    /// Soft-deletes a row; false when it already was.
    pub fn delete(&mut self, id: RowId) -> bool {
        let row = &mut self.rows[id as usize];
        if row.deleted() {
            return false;
        }
        row.set_deleted();
        self.deleted.push(id);
        self.version += 1;
        true
    }

    /// Position of a row in the list order.
    fn position(&self, id: RowId) -> usize {
        let target = &self.rows[id as usize];
        self.order
            .binary_search_by(|&o| list_cmp(&self.rows[o as usize], target))
            .expect("every row is in the order")
    }

    /// Positions `[lo, hi)` of the rows whose `created_at` is inside `range`.
    fn created_window(&self, range: TimeRange) -> (usize, usize) {
        let lo = match range.max {
            Some(max) => self
                .order
                .partition_point(|&o| self.rows[o as usize].created_at() > max),
            None => 0,
        };
        let hi = match range.min {
            Some(min) => self
                .order
                .partition_point(|&o| self.rows[o as usize].created_at() >= min),
            None => self.order.len(),
        };
        (lo, hi.max(lo))
    }

    /// The filtered total for `q`, from the cache when the table has not changed.
    fn cached_total(&self, q: &PageQuery, count: impl FnOnce() -> usize) -> usize {
        let Some(filters) = &q.total_key else {
            return count();
        };
        let key = format!("{:?}|{:?}|{filters}", q.created, q.updated);
        let mut totals = self.totals.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&(version, total)) = totals.get(&key)
            && version == self.version
        {
            return total;
        }
        let total = count();
        if totals.len() >= MAX_CACHED_TOTALS {
            totals.clear();
        }
        totals.insert(key, (self.version, total));
        total
    }

    /// One list page: filters (date windows, soft delete, `pred`), order, cursor, limit.
    /// `pred` = `None` means no equality filter, which lets `total` come from the
    /// window size instead of a count.
    pub fn page(
        &self,
        q: &PageQuery,
        pred: Option<&dyn Fn(&T) -> bool>,
    ) -> Result<Page, PageError> {
        self.page_by(q, pred, &|_, _| None)
    }

    /// [`Table::page`], with `field(row, name)` giving the integer value a
    /// [`ListOrder::Field`] sorts by.
    pub fn page_by(
        &self,
        q: &PageQuery,
        pred: Option<&dyn Fn(&T) -> bool>,
        field: &dyn Fn(&T, &str) -> Option<i64>,
    ) -> Result<Page, PageError> {
        let (lo, hi) = self.created_window(q.created);
        let matches = |pos: usize| {
            let r = &self.rows[self.order[pos] as usize];
            !r.deleted() && q.updated.contains(r.updated_at()) && pred.is_none_or(|p| p(r))
        };
        let total = if pred.is_none() && q.updated.is_open() {
            let hidden = self
                .deleted
                .iter()
                .filter(|&&id| q.created.contains(self.rows[id as usize].created_at()))
                .count();
            (hi - lo) - hidden
        } else {
            self.cached_total(q, || (lo..hi).filter(|&p| matches(p)).count())
        };
        let cursor_pos = |key: &str| -> Result<usize, PageError> {
            self.find(key)
                .map(|id| self.position(id))
                .ok_or_else(|| PageError::UnknownCursor(key.to_string()))
        };

        let forward = |start: usize| -> (Vec<RowId>, bool) {
            let mut rows = Vec::with_capacity(q.limit.min(hi.saturating_sub(start)));
            let mut pos = start.max(lo);
            while pos < hi && rows.len() < q.limit {
                if matches(pos) {
                    rows.push(self.order[pos]);
                }
                pos += 1;
            }
            let has_more = (pos..hi).any(&matches);
            (rows, has_more)
        };
        // Items strictly before position `end`, nearest first (oldest-first order reads them so;
        // newest-first reverses them).
        let backward = |end: usize| -> (Vec<RowId>, bool) {
            let mut rows = Vec::with_capacity(q.limit);
            let mut pos = end.min(hi);
            while pos > lo && rows.len() < q.limit {
                pos -= 1;
                if matches(pos) {
                    rows.push(self.order[pos]);
                }
            }
            let has_more = (lo..pos).any(&matches);
            (rows, has_more)
        };
        let reversed = |(mut rows, more): (Vec<RowId>, bool)| {
            rows.reverse();
            (rows, more)
        };

        let (rows, has_more) = match (&q.order, &q.cursor) {
            (ListOrder::Field { name, descending }, _) => {
                return self.page_sorted(
                    q,
                    (lo, hi),
                    total,
                    &matches,
                    |r| field(r, name),
                    *descending,
                );
            }
            (ListOrder::Newest, Cursor::Start) => {
                let (rows, more) = forward(lo);
                (rows, more || q.repeat_previous)
            }
            (ListOrder::Newest, Cursor::StartingAfter(key)) => {
                let pos = cursor_pos(key)?;
                if q.repeat_previous {
                    let (rows, _) = reversed(backward(pos + 1));
                    (rows, true)
                } else {
                    forward(pos + 1)
                }
            }
            (ListOrder::Newest, Cursor::EndingBefore(key)) => reversed(backward(cursor_pos(key)?)),
            // Oldest first: the same positions walked the other way.
            (ListOrder::Oldest, Cursor::Start) => {
                let (rows, more) = backward(hi);
                (rows, more || q.repeat_previous)
            }
            (ListOrder::Oldest, Cursor::StartingAfter(key)) => {
                let pos = cursor_pos(key)?;
                if q.repeat_previous {
                    let (rows, _) = reversed(forward(pos));
                    (rows, true)
                } else {
                    backward(pos)
                }
            }
            (ListOrder::Oldest, Cursor::EndingBefore(key)) => {
                reversed(forward(cursor_pos(key)? + 1))
            }
        };
        Ok(Page {
            rows,
            has_more,
            total,
        })
    }
}

impl<T: Record> Table<T> {
    /// A page in the order of an integer field: the matching rows of window `[lo, hi)` sorted,
    /// the cursor located by its own (value, key) even when it no longer matches.
    fn page_sorted(
        &self,
        q: &PageQuery,
        (lo, hi): (usize, usize),
        total: usize,
        matches: &dyn Fn(usize) -> bool,
        value: impl Fn(&T) -> Option<i64>,
        descending: bool,
    ) -> Result<Page, PageError> {
        // Ascending: values, then absent ones; descending the exact reverse. Ties by key.
        let sort_key = |id: RowId| {
            let r = &self.rows[id as usize];
            (value(r).is_none(), value(r), r.key().to_owned())
        };
        let cmp = |a: RowId, b: RowId| {
            let ord = sort_key(a).cmp(&sort_key(b));
            if descending { ord.reverse() } else { ord }
        };
        let mut sorted: Vec<RowId> = (lo..hi)
            .filter(|&p| matches(p))
            .map(|p| self.order[p])
            .collect();
        sorted.sort_by(|&a, &b| cmp(a, b));
        let at = |key: &str| -> Result<RowId, PageError> {
            self.find(key)
                .ok_or_else(|| PageError::UnknownCursor(key.to_string()))
        };
        let (start, end) = match &q.cursor {
            Cursor::Start => (0, q.limit.min(sorted.len())),
            Cursor::StartingAfter(key) => {
                let id = at(key)?;
                // First row sorting after the cursor row (or, repeating, the page ending with it).
                let after = sorted.partition_point(|&o| cmp(o, id) != Ordering::Greater);
                if q.repeat_previous {
                    (after.saturating_sub(q.limit), after)
                } else {
                    (after, (after + q.limit).min(sorted.len()))
                }
            }
            Cursor::EndingBefore(key) => {
                let id = at(key)?;
                let before = sorted.partition_point(|&o| cmp(o, id) == Ordering::Less);
                (before.saturating_sub(q.limit), before)
            }
        };
        let has_more = match &q.cursor {
            Cursor::EndingBefore(_) => start > 0,
            _ => end < sorted.len() || q.repeat_previous,
        };
        Ok(Page {
            rows: sorted[start..end].to_vec(),
            has_more,
            total,
        })
    }
}

/// The list order: `created_at` descending, then `key` descending (byte order).
fn list_cmp<T: Record>(a: &T, b: &T) -> Ordering {
    b.created_at()
        .cmp(&a.created_at())
        .then_with(|| b.key().cmp(a.key()))
}

/// Fixed reference objects that records point into.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Partner tiers (`tier_key` on partnership update).
    pub tiers: Vec<Tier>,
    /// Offers embedded in rewards.
    pub offers: Vec<Offer>,
    /// Trigger keys embedded in rewards.
    pub triggers: Vec<Text>,
    /// The vendor company embedded in actions (`company`).
    pub company_key: Text,
    /// The vendor company's name.
    pub company_name: Text,
}

/// The whole data set.
#[derive(Debug)]
pub struct Store {
    /// Groups.
    pub groups: Table<Group>,
    /// Partnerships.
    pub partnerships: Table<Partnership>,
    /// Customers.
    pub customers: Table<Customer>,
    /// Deals.
    pub deals: Table<Deal>,
    /// Leads.
    pub leads: Table<Lead>,
    /// Transactions.
    pub transactions: Table<Transaction>,
    /// Rewards.
    pub rewards: Table<Reward>,
    /// Actions.
    pub actions: Table<Action>,
    /// Webhooks.
    pub webhooks: Table<Webhook>,
    /// Links of all partnerships.
    pub links: Table<Link>,
    /// Reference objects.
    pub catalog: Catalog,
    /// Live customers by their vendor `customer_key`.
    pub customer_keys: HashMap<Text, RowId>,
    /// Live partnerships by `partner_key`.
    pub partner_keys: HashMap<Text, RowId>,
    /// Generator for keys of objects created through the API (seeded: reproducible).
    pub rng: Rng,
}

impl Store {
    /// Rebuilds the secondary indexes from the tables.
    pub fn reindex(&mut self) {
        self.customer_keys = self
            .customers
            .live()
            .filter_map(|(id, c)| c.customer_key.clone().map(|k| (k, id)))
            .collect();
        self.partner_keys = self
            .partnerships
            .live()
            .map(|(id, p)| (p.partner_key.clone(), id))
            .collect();
    }

    /// A live customer addressed as in the customers path: `customer_key` first, then `key`.
    pub fn find_customer(&self, id: &str) -> Option<RowId> {
        self.customer_keys
            .get(id)
            .copied()
            .or_else(|| self.customers.find_live(id))
    }

    /// A live partnership by `key`, then `partner_key`, then e-mail.
    pub fn find_partnership(&self, id: &str) -> Option<RowId> {
        self.partnerships
            .find_live(id)
            .or_else(|| self.partner_keys.get(id).copied())
            .or_else(|| {
                self.partnerships
                    .live()
                    .find(|(_, p)| &*p.email == id)
                    .map(|(i, _)| i)
            })
    }

    /// A group by `key`.
    pub fn find_group(&self, key: &str) -> Option<RowId> {
        self.groups.find_live(key)
    }

    /// The group new partnerships land in: the one marked default, else the first.
    pub fn default_group(&self) -> RowId {
        self.groups
            .live()
            .find(|(_, g)| g.default)
            .map(|(i, _)| i)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::webhooks::Webhook;

    fn hook(key: &str, created: i64, updated: i64) -> Webhook {
        Webhook {
            key: key.into(),
            created_at: created,
            updated_at: updated,
            target: "https://example.com".into(),
            events: vec![],
            deleted: false,
        }
    }

    /// 40 rows with many created_at ties, some shared updated_at values.
    fn table() -> Table<Webhook> {
        let rows = (0..40)
            .map(|i| {
                hook(
                    &format!("whk_{:02}", i),
                    1000 + (i / 3) * 10,
                    5000 + (i / 4),
                )
            })
            .collect();
        Table::new(rows)
    }

    fn keys(t: &Table<Webhook>, p: &Page) -> Vec<String> {
        p.rows.iter().map(|&r| t.row(r).key.to_string()).collect()
    }

    fn expected_order(t: &Table<Webhook>, f: impl Fn(&Webhook) -> bool) -> Vec<String> {
        let mut v: Vec<&Webhook> = t.live().map(|(_, r)| r).filter(|r| f(r)).collect();
        v.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then(b.key.as_ref().cmp(a.key.as_ref()))
        });
        v.iter().map(|r| r.key.to_string()).collect()
    }

    fn walk(
        t: &Table<Webhook>,
        mut q: PageQuery,
        pred: Option<&dyn Fn(&Webhook) -> bool>,
    ) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let page = t.page(&q, pred).unwrap();
            let ks = keys(t, &page);
            seen.extend(ks.iter().cloned());
            if !page.has_more {
                break;
            }
            q.cursor = Cursor::StartingAfter(ks.last().unwrap().clone());
        }
        seen
    }

    #[test]
    fn starting_after_walk_visits_every_item_once_in_order() {
        let t = table();
        for limit in [1, 3, 7, 40, 250] {
            let q = PageQuery {
                limit,
                ..PageQuery::default()
            };
            assert_eq!(
                walk(&t, q, None),
                expected_order(&t, |_| true),
                "limit {limit}"
            );
        }
    }

    #[test]
    fn walk_with_filters_visits_every_filtered_item_once() {
        let t = table();
        let pred = |w: &Webhook| w.key.ends_with(['1', '3', '5', '8']);
        let q = PageQuery {
            limit: 4,
            created: TimeRange {
                min: Some(1020),
                max: Some(1100),
            },
            updated: TimeRange {
                min: Some(5001),
                max: None,
            },
            ..PageQuery::default()
        };
        let expected = expected_order(&t, |w| {
            pred(w) && (1020..=1100).contains(&w.created_at) && w.updated_at >= 5001
        });
        assert!(!expected.is_empty());
        assert_eq!(walk(&t, q.clone(), Some(&pred)), expected);
        let first = t.page(&q, Some(&pred)).unwrap();
        assert_eq!(first.total, expected.len());
    }

    #[test]
    fn ending_before_returns_the_previous_page_newest_first() {
        let t = table();
        let all = expected_order(&t, |_| true);
        let q = PageQuery {
            limit: 5,
            cursor: Cursor::EndingBefore(all[12].clone()),
            ..PageQuery::default()
        };
        let page = t.page(&q, None).unwrap();
        assert_eq!(keys(&t, &page), all[7..12].to_vec());
        assert!(page.has_more);
        // Walking back to the start.
        let q = PageQuery {
            limit: 5,
            cursor: Cursor::EndingBefore(all[4].clone()),
            ..PageQuery::default()
        };
        let page = t.page(&q, None).unwrap();
        assert_eq!(keys(&t, &page), all[0..4].to_vec());
        assert!(!page.has_more);
    }

    #[test]
    fn ending_before_is_the_inverse_of_starting_after() {
        let t = table();
        let q = PageQuery {
            limit: 6,
            ..PageQuery::default()
        };
        let p1 = t.page(&q, None).unwrap();
        let k1 = keys(&t, &p1);
        let p2 = t
            .page(
                &PageQuery {
                    cursor: Cursor::StartingAfter(k1.last().unwrap().clone()),
                    ..q.clone()
                },
                None,
            )
            .unwrap();
        let k2 = keys(&t, &p2);
        let back = t
            .page(
                &PageQuery {
                    cursor: Cursor::EndingBefore(k2[0].clone()),
                    ..q.clone()
                },
                None,
            )
            .unwrap();
        assert_eq!(keys(&t, &back), k1);
    }

    #[test]
    fn date_windows_are_inclusive_at_the_millisecond() {
        let t = table();
        // created_at 1050 is shared by rows 15, 16, 17.
        let q = PageQuery {
            limit: 250,
            created: TimeRange {
                min: Some(1050),
                max: Some(1050),
            },
            ..PageQuery::default()
        };
        let page = t.page(&q, None).unwrap();
        assert_eq!(keys(&t, &page), vec!["whk_17", "whk_16", "whk_15"]);
        assert_eq!(page.total, 3);
        let q = PageQuery {
            limit: 250,
            created: TimeRange {
                min: Some(1051),
                max: None,
            },
            ..PageQuery::default()
        };
        assert!(
            t.page(&q, None)
                .unwrap()
                .rows
                .iter()
                .all(|&r| t.row(r).created_at > 1050)
        );
        // updated_at 5004 is shared by rows 16..=19.
        let q = PageQuery {
            limit: 250,
            updated: TimeRange {
                min: Some(5004),
                max: Some(5004),
            },
            ..PageQuery::default()
        };
        assert_eq!(t.page(&q, None).unwrap().total, 4);
    }

    #[test]
    fn unknown_cursor_is_an_error_and_deleted_rows_are_hidden_but_usable_as_cursor() {
        let mut t = table();
        let q = PageQuery {
            cursor: Cursor::StartingAfter("whk_nope".into()),
            ..PageQuery::default()
        };
        assert_eq!(
            t.page(&q, None),
            Err(PageError::UnknownCursor("whk_nope".into()))
        );
        let all = expected_order(&t, |_| true);
        let id = t.find(&all[3]).unwrap();
        assert!(t.delete(id));
        assert!(!t.delete(id));
        assert_eq!(t.find_live(&all[3]), None);
        let page = t.page(&PageQuery::default(), None).unwrap();
        assert_eq!(page.total, 39);
        assert!(!keys(&t, &page).contains(&all[3]));
        let q = PageQuery {
            limit: 2,
            cursor: Cursor::StartingAfter(all[3].clone()),
            ..PageQuery::default()
        };
        assert_eq!(keys(&t, &t.page(&q, None).unwrap()), all[4..6].to_vec());
    }

    #[test]
    fn insert_keeps_order_and_index() {
        let mut t = table();
        let id = t.insert(hook("whk_new", 1055, 9000));
        assert_eq!(t.find("whk_new"), Some(id));
        let q = PageQuery {
            limit: 250,
            ..PageQuery::default()
        };
        let all = keys(&t, &t.page(&q, None).unwrap());
        assert_eq!(all, expected_order(&t, |_| true));
        assert_eq!(all.len(), 41);
    }

    /// A field value for [`ListOrder::Field`]: `updated_at`, nothing else.
    fn updated(w: &Webhook, field: &str) -> Option<i64> {
        (field == "updated_at").then_some(w.updated_at)
    }

    /// Every page of `q` by `starting_after`, checking each page against the previous one
    /// by `ending_before`.
    fn walk_by(
        t: &Table<Webhook>,
        mut q: PageQuery,
        pred: Option<&dyn Fn(&Webhook) -> bool>,
    ) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        let mut previous: Option<Vec<String>> = None;
        loop {
            let page = t.page_by(&q, pred, &updated).unwrap();
            let ks = keys(t, &page);
            if let (Some(prev), Some(first)) = (&previous, ks.first()) {
                let back = PageQuery {
                    cursor: Cursor::EndingBefore(first.clone()),
                    ..q.clone()
                };
                assert_eq!(&keys(t, &t.page_by(&back, pred, &updated).unwrap()), prev);
            }
            seen.extend(ks.iter().cloned());
            if !page.has_more {
                break;
            }
            q.cursor = Cursor::StartingAfter(ks.last().unwrap().clone());
            previous = Some(ks);
        }
        seen
    }

    #[test]
    fn oldest_first_is_the_exact_reverse_page_by_page() {
        let t = table();
        let pred = |w: &Webhook| !w.key.ends_with('7');
        for limit in [1, 3, 7, 40, 250] {
            let q = PageQuery {
                limit,
                order: ListOrder::Oldest,
                created: TimeRange {
                    min: Some(1020),
                    max: Some(1100),
                },
                ..PageQuery::default()
            };
            let mut expected =
                expected_order(&t, |w| pred(w) && (1020..=1100).contains(&w.created_at));
            expected.reverse();
            assert_eq!(
                walk_by(&t, q.clone(), Some(&pred)),
                expected,
                "limit {limit}"
            );
            let first = t.page_by(&q, Some(&pred), &updated).unwrap();
            assert_eq!(first.total, expected.len());
        }
        // The page the client already has, ending with the cursor (fault repeat_cursor).
        let all: Vec<String> = expected_order(&t, |_| true).into_iter().rev().collect();
        let q = PageQuery {
            limit: 3,
            order: ListOrder::Oldest,
            cursor: Cursor::StartingAfter(all[5].clone()),
            repeat_previous: true,
            ..PageQuery::default()
        };
        assert_eq!(keys(&t, &t.page(&q, None).unwrap()), all[3..6].to_vec());
    }

    #[test]
    fn another_field_sorts_with_ties_by_key_in_both_directions() {
        let t = table();
        let pred = |w: &Webhook| !w.key.ends_with('2');
        for descending in [false, true] {
            let mut expected: Vec<(i64, String)> = t
                .live()
                .map(|(_, w)| (w.updated_at, w.key.to_string()))
                .filter(|(_, k)| !k.ends_with('2'))
                .collect();
            expected.sort();
            if descending {
                expected.reverse();
            }
            let expected: Vec<String> = expected.into_iter().map(|(_, k)| k).collect();
            for limit in [1, 4, 250] {
                let q = PageQuery {
                    limit,
                    order: ListOrder::Field {
                        name: "updated_at".into(),
                        descending,
                    },
                    ..PageQuery::default()
                };
                assert_eq!(
                    walk_by(&t, q, Some(&pred)),
                    expected,
                    "{descending} {limit}"
                );
            }
        }
        // A cursor the filter no longer matches still places the page.
        let q = PageQuery {
            limit: 2,
            order: ListOrder::Field {
                name: "updated_at".into(),
                descending: false,
            },
            cursor: Cursor::StartingAfter("whk_02".into()),
            ..PageQuery::default()
        };
        let page = t.page_by(&q, Some(&pred), &updated).unwrap();
        assert_eq!(keys(&t, &page), ["whk_03", "whk_04"]);
    }

    #[test]
    fn repeat_previous_returns_the_page_ending_at_the_cursor() {
        let t = table();
        let all = expected_order(&t, |_| true);
        let q = PageQuery {
            limit: 3,
            cursor: Cursor::StartingAfter(all[5].clone()),
            repeat_previous: true,
            ..PageQuery::default()
        };
        let page = t.page(&q, None).unwrap();
        assert_eq!(keys(&t, &page), all[3..6].to_vec());
        assert!(page.has_more);
    }

    #[test]
    fn filtered_totals_are_cached_until_the_table_changes() {
        let mut t = table();
        let pred = |w: &Webhook| w.key.ends_with('1');
        let q = PageQuery {
            total_key: Some("ends_with=1".into()),
            ..PageQuery::default()
        };
        assert_eq!(t.page(&q, Some(&pred)).unwrap().total, 4);
        t.insert(hook("whk_x1", 1, 1));
        assert_eq!(t.page(&q, Some(&pred)).unwrap().total, 5);
        let id = t.find("whk_01").unwrap();
        t.delete(id);
        assert_eq!(t.page(&q, Some(&pred)).unwrap().total, 4);
        t.row_mut(t.find("whk_11").unwrap()).updated_at = 1;
        let q = PageQuery {
            updated: TimeRange {
                min: Some(2),
                max: None,
            },
            ..q
        };
        assert_eq!(t.page(&q, Some(&pred)).unwrap().total, 2);
        // Unfiltered totals subtract deleted rows inside the created window only.
        let q = PageQuery {
            created: TimeRange {
                min: Some(1000),
                max: Some(1000),
            },
            ..PageQuery::default()
        };
        assert_eq!(t.page(&q, None).unwrap().total, 2);
    }

    #[test]
    fn empty_window_gives_empty_page() {
        let t = table();
        let q = PageQuery {
            created: TimeRange {
                min: Some(2000),
                max: Some(1000),
            },
            ..PageQuery::default()
        };
        let page = t.page(&q, None).unwrap();
        assert!(page.rows.is_empty());
        assert!(!page.has_more);
        assert_eq!(page.total, 0);
    }
}
