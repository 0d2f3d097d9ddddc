//! List endpoints: query validation (§2, §3), equality filters, and rendering of pages.

use super::{Ctx, ListFault};
use crate::envelope::{self, ApiError};
use crate::http::Response;
use crate::model::{Record, RowId};
use crate::render;
use crate::store::{Cursor, PageError, PageQuery, Store, Table, TimeRange};
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
    })
}

/// A filter predicate over records of one table.
type Pred<'a, T> = Box<dyn Fn(&T) -> bool + 'a>;

/// Collects the equality filters present in the request.
struct Filters<'a, 'c, T> {
    ctx: &'c Ctx<'c>,
    preds: Vec<Pred<'a, T>>,
    /// `name=value` of each filter applied, identifying the predicate.
    signature: String,
}

impl<'a, 'c, T: 'a> Filters<'a, 'c, T> {
    fn new(ctx: &'c Ctx<'c>) -> Self {
        Self {
            ctx,
            preds: Vec::new(),
            signature: String::new(),
        }
    }

    /// Adds `f(row, value)` when query parameter `name` is present.
    fn on(mut self, name: &str, f: impl Fn(&T, &str) -> bool + 'a) -> Self {
        if let Some(v) = self.ctx.param(name) {
            self.signature.push_str(&format!("{name}={v:?};"));
            let v = v.to_string();
            self.preds.push(Box::new(move |r| f(r, &v)));
        }
        self
    }

    /// The combined predicate (`None` without filters) and its signature.
    fn combined(self) -> (Option<Pred<'a, T>>, String) {
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
fn respond<'s, T: Record, V: Serialize>(
    ctx: &Ctx,
    table: &'s Table<T>,
    dates: DateFilters,
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
    let page = table.page(&q, pred.as_deref()).map_err(|e| match e {
        PageError::UnknownCursor(k) => ApiError::bad_request(format!(
            "Invalid cursor: no object with key {}",
            validate::py_repr(&Value::String(k))
        )),
    })?;
    if ctx.list_fault == ListFault::EmptyHasMore {
        return Ok(envelope::list::<V>(Vec::new(), true, page.total, message));
    }
    let items = page
        .rows
        .iter()
        .map(|&id: &RowId| render(table.row(id)))
        .collect();
    Ok(envelope::list(items, page.has_more, page.total, message))
}

/// The list resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListResource {
    /// `GET /api/v2/customers`
    Customers,
    /// `GET /api/v2/partnerships`
    Partnerships,
    /// `GET /api/v2/groups`
    Groups,
    /// `GET /api/v2/deals`
    Deals,
    /// `GET /api/v2/leads`
    Leads,
    /// `GET /api/v2/transactions`
    Transactions,
    /// `GET /api/v2/rewards`
    Rewards,
    /// `GET /api/v2/actions`
    Actions,
    /// `GET /api/v2/webhooks`
    Webhooks,
}

/// Answers a list request.
pub fn list(ctx: &Ctx, s: &Store, resource: ListResource) -> Result<Response, ApiError> {
    let partner_key_of = |p: RowId| &*s.partnerships.row(p).partner_key;
    let slug_of = |g: RowId| &*s.groups.row(g).slug;
    match resource {
        ListResource::Customers => {
            let f = Filters::new(ctx)
                .on("partner_key", |c: &crate::model::Customer, v| {
                    partner_key_of(c.partnership) == v
                })
                .on("group", |c, v| {
                    slug_of(s.partnerships.row(c.partnership).group) == v
                });
            respond(
                ctx,
                &s.customers,
                ALL_DATES,
                f.combined(),
                |c| render::customer(s, c),
                "Retrieved customers successfully",
            )
        }
        ListResource::Partnerships => {
            let f = Filters::new(ctx)
                .on("partner_key", |p: &crate::model::Partnership, v| {
                    &*p.partner_key == v
                })
                .on("approved_status", |p, v| p.approved_status == v)
                .on("group_key", |p, v| &*s.groups.row(p.group).key == v);
            respond(
                ctx,
                &s.partnerships,
                ALL_DATES,
                f.combined(),
                |p| render::partnership(s, p),
                "Retrieved partnerships successfully",
            )
        }
        ListResource::Groups => respond(
            ctx,
            &s.groups,
            ALL_DATES,
            (None, String::new()),
            render::group,
            "Retrieved groups successfully",
        ),
        ListResource::Deals => {
            let f = Filters::new(ctx)
                .on("partner_key", |d: &crate::model::Deal, v| {
                    d.partnership.is_some_and(|p| partner_key_of(p) == v)
                })
                .on("group", |d, v| slug_of(d.group) == v)
                .on("customer_key", |d, v| {
                    d.customer.is_some_and(|c| {
                        let c = s.customers.row(c);
                        &*c.key == v || c.customer_key.as_deref() == Some(v)
                    })
                });
            respond(
                ctx,
                &s.deals,
                ALL_DATES,
                f.combined(),
                |d| render::deal(s, d),
                "Retrieved deals successfully",
            )
        }
        ListResource::Leads => {
            let f = Filters::new(ctx)
                .on("partner_key", |l: &crate::model::Lead, v| {
                    partner_key_of(l.partnership) == v
                })
                .on("group", |l, v| {
                    let g = l
                        .group
                        .unwrap_or_else(|| s.partnerships.row(l.partnership).group);
                    slug_of(g) == v
                });
            respond(
                ctx,
                &s.leads,
                ALL_DATES,
                f.combined(),
                |l| render::lead(s, l),
                "Retrieved leads successfully",
            )
        }
        ListResource::Transactions => respond(
            ctx,
            &s.transactions,
            CREATED_ONLY,
            (None, String::new()),
            |t| render::transaction(s, t),
            "Transactions retrieved successfully",
        ),
        ListResource::Rewards => {
            let f = Filters::new(ctx)
                .on("status", |r: &crate::model::Reward, v| r.reward_status == v)
                .on("group_key", |r, v| {
                    r.partnership
                        .is_some_and(|p| &*s.groups.row(s.partnerships.row(p).group).key == v)
                })
                .on("customer_key", |r, v| {
                    r.customer.is_some_and(|c| &*s.customers.row(c).key == v)
                })
                .on("invoice_key", |r, v| {
                    r.invoice.as_ref().is_some_and(|i| &*i.key == v)
                });
            respond(
                ctx,
                &s.rewards,
                CREATED_ONLY,
                f.combined(),
                |r| render::reward(s, r),
                "Rewards page returned successfully",
            )
        }
        ListResource::Actions => {
            let f = Filters::new(ctx)
                .on("partnership_key", |a: &crate::model::Action, v| {
                    &*s.partnerships.row(a.partnership).key == v
                })
                .on("action_type", |a, v| &*a.action_type == v);
            respond(
                ctx,
                &s.actions,
                ALL_DATES,
                f.combined(),
                |a| render::action(s, a),
                "Actions retrieved successfully",
            )
        }
        ListResource::Webhooks => respond(
            ctx,
            &s.webhooks,
            NO_DATES,
            (None, String::new()),
            render::webhook,
            "Retrieved webhooks successfully",
        ),
    }
}

/// `GET /api/v2/links/partnership/{partnership_key}`.
pub fn links(ctx: &Ctx, s: &Store, id: &str) -> Result<Response, ApiError> {
    let p = s
        .find_partnership(id)
        .ok_or_else(|| ApiError::not_found("partnership not found"))?;
    let pred: Pred<'_, crate::model::Link> = Box::new(move |l| l.partnership == p);
    respond(
        ctx,
        &s.links,
        NO_DATES,
        (Some(pred), format!("partnership={p}")),
        render::link,
        "Page returned successfully",
    )
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
