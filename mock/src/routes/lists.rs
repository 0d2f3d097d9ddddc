//! The list machinery every list endpoint shares: query validation (§2, §3), equality
//! filters and the rendering of pages. Each resource's own filters are in its module under
//! [`crate::resources`].

use super::{Ctx, ListFault};
use crate::envelope::{self, ApiError};
use crate::http::Response;
use crate::model::{Record, RowId};
use crate::store::{Cursor, ListOrder, PageError, PageQuery, Table, TimeRange};
use crate::validate;
use serde::Serialize;
use serde_json::Value;

/// Page size when `limit` is not given (§2).
pub const DEFAULT_LIMIT: i64 = 10;
/// Largest page size (§2).
pub const MAX_LIMIT: i64 = 250;

/// Which date filters an endpoint supports; others are ignored like unknown parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateFilters {
    /// `min_created`/`max_created`.
    pub created: bool,
    /// `min_updated`/`max_updated`.
    pub updated: bool,
}

/// Both date filter pairs.
pub const ALL_DATES: DateFilters = DateFilters {
    created: true,
    updated: true,
};
/// `min_created`/`max_created` only (transactions, rewards).
pub const CREATED_ONLY: DateFilters = DateFilters {
    created: true,
    updated: false,
};
/// No date filters (webhooks, links).
pub const NO_DATES: DateFilters = DateFilters {
    created: false,
    updated: false,
};

fn integer_param(name: &str, raw: &str) -> Result<i64, ApiError> {
    raw.trim().parse::<i64>().map_err(|_| {
        ApiError::bad_request(format!(
            "'{name}': {} is not of type 'integer'",
            validate::py_repr(&Value::String(raw.to_string()))
        ))
    })
}

/// Reads a query-parameter lookup into a [`PageQuery`].
pub fn page_query(
    param: &dyn Fn(&str) -> Option<String>,
    dates: DateFilters,
    clamp_limit: bool,
    list_fault: ListFault,
) -> Result<PageQuery, ApiError> {
    let limit = match param("limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => {
            let n = integer_param("limit", &raw)?;
            if clamp_limit {
                n.clamp(1, MAX_LIMIT)
            } else {
                validate::int_range("limit", n, 1, MAX_LIMIT)?;
                n
            }
        }
    };
    let after = param("starting_after").filter(|s| !s.is_empty());
    let before = param("ending_before").filter(|s| !s.is_empty());
    let cursor = match (after, before) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "'starting_after' and 'ending_before' are mutually exclusive",
            ));
        }
        (Some(k), None) => Cursor::StartingAfter(k),
        (None, Some(k)) => Cursor::EndingBefore(k),
        (None, None) => Cursor::Start,
    };
    let range = |enabled: bool, min: &str, max: &str| -> Result<TimeRange, ApiError> {
        if !enabled {
            return Ok(TimeRange::default());
        }
        let get = |n: &str| param(n).map(|v| integer_param(n, &v)).transpose();
        Ok(TimeRange {
            min: get(min)?,
            max: get(max)?,
        })
    };
    Ok(PageQuery {
        limit: limit as usize,
        cursor,
        created: range(dates.created, "min_created", "max_created")?,
        updated: range(dates.updated, "min_updated", "max_updated")?,
        repeat_previous: list_fault == ListFault::RepeatCursor,
        total_key: None,
        order: ListOrder::Newest,
    })
}

/// Reads `order_by` (§2: a field name, `-` prefixed for descending) on an endpoint whose
/// reference documents it with the fields `fields`. Elsewhere (`fields` empty) it is an
/// unknown parameter and ignored like any other (§3). A field the endpoint does not document
/// is a 400 in the JSON-Schema style of the API's validation messages (§1.4): the reference
/// says nothing of it, and a loud error beats a list silently in another order.
pub fn list_order(raw: Option<&str>, fields: &[&str]) -> Result<ListOrder, ApiError> {
    let Some(raw) = raw.filter(|_| !fields.is_empty()) else {
        return Ok(ListOrder::Newest);
    };
    let (name, descending) = match raw.strip_prefix('-') {
        Some(name) => (name, true),
        None => (raw, false),
    };
    if !fields.contains(&name) {
        let allowed: Vec<String> = fields
            .iter()
            .flat_map(|f| [f.to_string(), format!("-{f}")])
            .collect();
        let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
        validate::one_of("order_by", raw, &allowed)?;
    }
    Ok(match (name, descending) {
        ("created_at", true) => ListOrder::Newest,
        ("created_at", false) => ListOrder::Oldest,
        (name, descending) => ListOrder::Field {
            name: name.to_owned(),
            descending,
        },
    })
}

/// A filter predicate over records of one table.
pub(crate) type Pred<'a, T> = Box<dyn Fn(&T) -> bool + 'a>;

/// Collects the equality filters present in the request.
pub(crate) struct Filters<'a, 'c, T> {
    ctx: &'c Ctx<'c>,
    preds: Vec<Pred<'a, T>>,
    /// `name=value` of each filter applied, identifying the predicate.
    signature: String,
}

impl<'a, 'c, T: 'a> Filters<'a, 'c, T> {
    /// No filters yet.
    pub(crate) fn new(ctx: &'c Ctx<'c>) -> Self {
        Self {
            ctx,
            preds: Vec::new(),
            signature: String::new(),
        }
    }

    /// Adds `f(row, value)` when query parameter `name` is present.
    pub(crate) fn on(mut self, name: &str, f: impl Fn(&T, &str) -> bool + 'a) -> Self {
        if let Some(v) = self.ctx.param(name) {
            self.signature.push_str(&format!("{name}={v:?};"));
            let v = v.to_string();
            self.preds.push(Box::new(move |r| f(r, &v)));
        }
        self
    }

    /// The combined predicate (`None` without filters) and its signature.
    pub(crate) fn combined(self) -> (Option<Pred<'a, T>>, String) {
        if self.preds.is_empty() {
            (None, self.signature)
        } else {
            let preds = self.preds;
            (
                Some(Box::new(move |r| preds.iter().all(|p| p(r)))),
                self.signature,
            )
        }
    }
}

/// Runs the page and renders the list envelope.
pub(crate) fn respond<'s, T: Record, V: Serialize>(
    ctx: &Ctx,
    table: &'s Table<T>,
    dates: DateFilters,
    filters: (Option<Pred<'_, T>>, String),
    render: impl Fn(&'s T) -> V,
    message: &str,
) -> Result<Response, ApiError> {
    let unordered = OrderBy {
        fields: &[],
        value: &|_, _| None,
    };
    respond_ordered(ctx, table, dates, unordered, filters, render, message)
}

/// What an endpoint's `order_by` takes: the documented field names, and the integer value of
/// a field other than `created_at` in a row.
pub(crate) struct OrderBy<'f, T> {
    /// Field names `order_by` accepts (empty: the parameter is not documented here).
    pub(crate) fields: &'f [&'f str],
    /// A row's value of a field.
    pub(crate) value: &'f dyn Fn(&T, &str) -> Option<i64>,
}

/// [`respond`] on an endpoint whose reference documents `order_by`.
pub(crate) fn respond_ordered<'s, T: Record, V: Serialize>(
    ctx: &Ctx,
    table: &'s Table<T>,
    dates: DateFilters,
    order_by: OrderBy<'_, T>,
    (pred, signature): (Option<Pred<'_, T>>, String),
    render: impl Fn(&'s T) -> V,
    message: &str,
) -> Result<Response, ApiError> {
    let mut q = page_query(
        &|n| ctx.param(n).map(str::to_string),
        dates,
        ctx.config.clamp_limit,
        ctx.list_fault,
    )?;
    q.total_key = Some(signature);
    q.order = list_order(ctx.param("order_by"), order_by.fields)?;
    let page = table
        .page_by(&q, pred.as_deref(), order_by.value)
        .map_err(|e| match e {
            PageError::UnknownCursor(k) => ApiError::bad_request(format!(
                "Invalid cursor: no object with key {}",
                validate::py_repr(&Value::String(k))
            )),
        })?;
    let total = (!ctx.config.omit_total).then_some(page.total);
    if ctx.list_fault == ListFault::EmptyHasMore {
        return Ok(envelope::list::<V>(Vec::new(), true, total, message));
    }
    let items = page
        .rows
        .iter()
        .map(|&id: &RowId| render(table.row(id)))
        .collect();
    Ok(envelope::list(items, page.has_more, total, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn q(pairs: &[(&str, &str)], dates: DateFilters, clamp: bool) -> Result<PageQuery, ApiError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        page_query(&|n| m.get(n).cloned(), dates, clamp, ListFault::None)
    }

    #[test]
    fn limit_defaults_validates_and_clamps() {
        assert_eq!(q(&[], ALL_DATES, false).unwrap().limit, 10);
        assert_eq!(q(&[("limit", "250")], ALL_DATES, false).unwrap().limit, 250);
        assert_eq!(q(&[("limit", "1")], ALL_DATES, false).unwrap().limit, 1);
        for bad in ["0", "251", "-1", "abc", "", "2.5"] {
            let e = q(&[("limit", bad)], ALL_DATES, false).unwrap_err();
            assert_eq!(e.status, 400, "{bad}");
        }
        assert_eq!(q(&[("limit", "0")], ALL_DATES, true).unwrap().limit, 1);
        assert_eq!(q(&[("limit", "1000")], ALL_DATES, true).unwrap().limit, 250);
        assert!(q(&[("limit", "abc")], ALL_DATES, true).is_err());
    }

    #[test]
    fn order_by_only_where_documented_and_only_its_fields() {
        let fields = &["created_at", "updated_at"];
        assert_eq!(list_order(None, fields).unwrap(), ListOrder::Newest);
        assert_eq!(
            list_order(Some("created_at"), fields).unwrap(),
            ListOrder::Oldest
        );
        assert_eq!(
            list_order(Some("-created_at"), fields).unwrap(),
            ListOrder::Newest
        );
        assert_eq!(
            list_order(Some("-updated_at"), fields).unwrap(),
            ListOrder::Field {
                name: "updated_at".into(),
                descending: true
            }
        );
        let e = list_order(Some("amount"), fields).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(
            e.message,
            "'order_by': 'amount' is not one of ['created_at', '-created_at', 'updated_at', '-updated_at']"
        );
        assert_eq!(
            list_order(Some("--created_at"), fields).unwrap_err().status,
            400
        );
        // Not documented on the endpoint: an unknown parameter, ignored.
        assert_eq!(
            list_order(Some("created_at"), &[]).unwrap(),
            ListOrder::Newest
        );
        assert_eq!(list_order(Some("garbage"), &[]).unwrap(), ListOrder::Newest);
    }

    #[test]
    fn cursors_are_exclusive() {
        let e = q(
            &[("starting_after", "a"), ("ending_before", "b")],
            ALL_DATES,
            false,
        )
        .unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(
            q(&[("ending_before", "b")], ALL_DATES, false)
                .unwrap()
                .cursor,
            Cursor::EndingBefore("b".into())
        );
        assert_eq!(
            q(&[("starting_after", "")], ALL_DATES, false)
                .unwrap()
                .cursor,
            Cursor::Start
        );
    }

    #[test]
    fn date_filters_parse_only_where_supported() {
        let p = q(
            &[
                ("min_created", "5"),
                ("max_created", "9"),
                ("min_updated", "7"),
            ],
            ALL_DATES,
            false,
        )
        .unwrap();
        assert_eq!(
            p.created,
            TimeRange {
                min: Some(5),
                max: Some(9)
            }
        );
        assert_eq!(
            p.updated,
            TimeRange {
                min: Some(7),
                max: None
            }
        );
        // Transactions/rewards: updated filters are unknown parameters and ignored,
        // even when they are not integers.
        let p = q(&[("min_updated", "garbage")], CREATED_ONLY, false).unwrap();
        assert!(p.updated.is_open());
        let e = q(&[("min_created", "2024-01-01")], CREATED_ONLY, false).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.message.contains("min_created"));
        assert!(q(&[("max_updated", "1.5")], ALL_DATES, false).is_err());
    }
}
