//! Conditions on columns → the API requests that return (a superset of) the matching rows.
//!
//! Postgres rechecks every condition, so a request may return more rows than asked for, never
//! fewer. Planning happens in two steps: [`is_pushable`] at plan time from the shape of a
//! condition, [`plan_requests`] at execution time once values (constants, parameters,
//! subquery results) are known.

use crate::catalogue::{Pushdown, Resource};
use crate::client::path_segment;

/// Comparison operators the API can express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Op {
    /// `=`, and `= ANY(...)` / `IN (...)` with several values.
    Eq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    /// Parses a Postgres operator name.
    pub fn from_sql(name: &str) -> Option<Op> {
        Some(match name {
            "=" => Op::Eq,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            _ => return None,
        })
    }

    /// The operator with its operands swapped (`5 < x` is `x > 5`).
    pub fn commuted(self) -> Op {
        match self {
            Op::Eq => Op::Eq,
            Op::Lt => Op::Gt,
            Op::Le => Op::Ge,
            Op::Gt => Op::Lt,
            Op::Ge => Op::Le,
        }
    }

    /// SQL spelling.
    pub fn sql(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// A value a condition compares with, evaluated at execution time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// SQL NULL: the condition matches nothing.
    Null,
    /// A text value.
    Text(String),
    /// A timestamptz, as microseconds since the Unix epoch (Postgres' own precision).
    TimestampMicros(i64),
    /// `infinity` (true) or `-infinity` (false), or a value beyond timestamptz's range, which
    /// Postgres compares as one: a bound that matches every timestamp or none.
    TimestampInfinity(bool),
}

/// A pushed condition: `column op value`, or `column IN (values)` when `values` has several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// Index of the column in `Resource::columns`.
    pub column: usize,
    /// Operator.
    pub op: Op,
    /// One value, or the list of `IN` / `= ANY`.
    pub values: Vec<Operand>,
}

/// Whether the request goes to a list (paged) or a single object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// `GET list_path?params`, followed page by page.
    List,
    /// `GET item_path`; 404 means no row.
    Item,
}

/// One request (or paged sequence of requests) to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// List or single object.
    pub kind: RequestKind,
    /// Path below the API base URL, segments already percent-encoded.
    pub path: String,
    /// Query parameters (not encoded); paging parameters are added by the pager.
    pub params: Vec<(String, String)>,
    /// The path parameter's value, copied into the rows (links' partnership_key).
    pub path_parameter: Option<String>,
    /// The `created_at` bounds of a list whose endpoint filters by them (`min_created` and
    /// `max_created`, also in `params` when set); `None` for an item and for a list that cannot
    /// be filtered so. A scan may read such a list as several windows (see [`crate::scan`]).
    pub created: Option<MsRange>,
}

/// A scan that cannot be turned into requests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushdownError {
    /// The resource can only be listed with a value for this column.
    #[error("{table} can only be read for given {column} values")]
    MissingPathParameter {
        /// Foreign table.
        table: &'static str,
        /// Required column.
        column: &'static str,
    },
    /// The value cannot be placed in a URL path segment.
    #[error("{table}.{column} value {value:?} cannot be used in a request path")]
    UnaddressableValue {
        /// Foreign table.
        table: &'static str,
        /// Column.
        column: &'static str,
        /// Offending value.
        value: String,
    },
}

/// A read of a resource the API has no way to list (conversions, §4.15).
///
/// Its own type rather than a `PushdownError` variant so that adding it does not break the
/// glue's exhaustive match on `PushdownError`; the glue calls [`check_readable`] when planning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{table} is write-only: PartnerStack accepts {table} but has no endpoint to read them back"
)]
pub struct WriteOnlyError {
    /// Foreign table.
    pub table: &'static str,
}

/// Refuses to plan a read of a write-only resource. [`plan_requests`] does not refuse it
/// itself (its error type is matched exhaustively by the glue): it plans a plain list of
/// `list_path`, which the API answers 404, so a read that skips this check still fails loudly.
pub fn check_readable(resource: &Resource) -> Result<(), WriteOnlyError> {
    if resource.readable {
        Ok(())
    } else {
        Err(WriteOnlyError {
            table: resource.name,
        })
    }
}

/// The column every list answers in descending order of: `created_at`, newest first, on every
/// list endpoint (reference §2). A scan of at most one list request returns its rows in that
/// order, so the planner can skip a sort on it.
pub fn list_order_column(resource: &Resource) -> Option<usize> {
    if !resource.readable {
        return None;
    }
    resource
        .columns
        .iter()
        .position(|c| c.name == "created_at" && c.ty == crate::catalogue::ColumnType::Timestamp)
}

/// An order a list request answers in: the API's own (`created_at` descending, §2) or one
/// its documented `order_by` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListOrder {
    /// Index of the column in `Resource::columns`.
    pub column: usize,
    /// Descending (largest first).
    pub descending: bool,
}

impl ListOrder {
    /// The `order_by` value that asks for this order (`created_at`, `-updated_at`); `None`
    /// for the API's own order, which every list answers in without a parameter.
    pub fn param(self, resource: &Resource) -> Option<String> {
        if Some(self.column) == list_order_column(resource) && self.descending {
            return None;
        }
        let name = resource.columns[self.column].name;
        Some(if self.descending {
            format!("-{name}")
        } else {
            name.to_owned()
        })
    }

    /// `created_at ASC`, for EXPLAIN.
    pub fn sql(self, resource: &Resource) -> String {
        let direction = if self.descending { "DESC" } else { "ASC" };
        format!("{} {direction}", resource.columns[self.column].name)
    }
}

/// The order a list of `resource` can answer in by `column` in this direction: `created_at`
/// descending on every list (the API's own order), either direction of a column the list's
/// `order_by` documents (catalogue `Column::order_by`). `None` otherwise: Postgres sorts.
///
/// Ties (the same millisecond) come in the API's order of its own choosing, which any SQL
/// order on the column accepts; the columns are never null (§4: every object has its
/// timestamps, amounts are integers), so the NULLS placement is moot.
pub fn list_order(resource: &Resource, column: usize, descending: bool) -> Option<ListOrder> {
    let native = list_order_column(resource) == Some(column) && descending;
    let documented = resource.readable && resource.columns.get(column)?.order_by;
    (native || documented).then_some(ListOrder { column, descending })
}

/// [`plan_requests`], each list request asking for `order` (`order_by`, after the filters)
/// when it is not the API's own. A GET by key answers one object and takes no order.
pub fn plan_ordered_requests(
    resource: &'static Resource,
    conditions: &[Condition],
    order: Option<ListOrder>,
) -> Result<Vec<Request>, PushdownError> {
    let mut requests = plan_requests(resource, conditions)?;
    if let Some(value) = order.and_then(|o| o.param(resource)) {
        for request in requests.iter_mut().filter(|r| r.kind == RequestKind::List) {
            request.params.push(("order_by".to_owned(), value.clone()));
        }
    }
    Ok(requests)
}

/// Whether a condition of this shape on this column can become part of a request.
pub fn is_pushable(resource: &Resource, column: usize, op: Op, several_values: bool) -> bool {
    let Some(col) = resource.columns.get(column).filter(|_| resource.readable) else {
        return false;
    };
    match col.pushdown {
        Pushdown::None => false,
        Pushdown::ItemKey | Pushdown::PathParameter | Pushdown::Equality(_) => op == Op::Eq,
        Pushdown::CreatedRange | Pushdown::UpdatedRange => !several_values,
        // `'x' = ANY(column)`: one value the array must hold.
        Pushdown::Contains(_) => op == Op::Eq && !several_values,
    }
}

/// Whether `count(*)` of the rows matching conditions of these shapes (column, operator,
/// several values) can be read from the list answers' `total`: each condition must be exactly
/// what a list request's filter selects, not a superset for Postgres to recheck. So: equality
/// on a filter or path parameter (exact identifiers, compared byte for byte), time ranges
/// (exact at the millisecond, §1.5; `created_at` / `updated_at` are on every object, §4), and
/// at most one filter with several values (a second one would stay a local filter). No key
/// lookup: its requests are GETs, and an unaddressable key falls back to the whole list.
pub fn count_from_total(resource: &Resource, shapes: &[(usize, Op, bool)]) -> bool {
    let mut expanded: Option<usize> = None;
    shapes.iter().all(|&(column, op, several)| {
        if !is_pushable(resource, column, op, several) {
            return false;
        }
        match resource.columns[column].pushdown {
            Pushdown::CreatedRange | Pushdown::UpdatedRange | Pushdown::PathParameter => true,
            Pushdown::Equality(_) if several => match expanded {
                Some(c) => c == column,
                None => {
                    expanded = Some(column);
                    true
                }
            },
            Pushdown::Equality(_) => true,
            // The reference says only that the filter takes a category (§4.14): whether the
            // API's match is exactly "the array holds it" is not documented, so no count.
            Pushdown::ItemKey | Pushdown::Contains(_) | Pushdown::None => false,
        }
    })
}

/// Inclusive millisecond bounds, as the API's `min_*` / `max_*` filters take them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MsRange {
    /// Lowest value, inclusive; `None`: unbounded.
    pub min: Option<i64>,
    /// Highest value, inclusive; `None`: unbounded.
    pub max: Option<i64>,
}

impl MsRange {
    /// Narrows the range by `column op micros`, rounding so that a row's millisecond value
    /// satisfies the bound exactly when it satisfies the condition.
    fn narrow(&mut self, op: Op, micros: i64) {
        let floor = micros.div_euclid(1000);
        let ceil = floor + i64::from(micros.rem_euclid(1000) != 0);
        let (min, max) = match op {
            Op::Gt => (Some(floor + 1), None),
            Op::Ge => (Some(ceil), None),
            Op::Lt => (None, Some(ceil - 1)),
            Op::Le => (None, Some(floor)),
            Op::Eq => (Some(ceil), Some(floor)),
        };
        if let Some(m) = min {
            self.min = Some(self.min.map_or(m, |cur| cur.max(m)));
        }
        if let Some(m) = max {
            self.max = Some(self.max.map_or(m, |cur| cur.min(m)));
        }
    }

    /// Narrows the range by `column op ±infinity`: every timestamp satisfies it, or none.
    fn narrow_infinite(&mut self, op: Op, positive: bool) {
        let every = match op {
            Op::Lt | Op::Le => positive,
            Op::Gt | Op::Ge => !positive,
            Op::Eq => false,
        };
        if !every {
            // No timestamp satisfies it: an empty range.
            (self.min, self.max) = (Some(i64::MAX), Some(i64::MIN));
        }
    }

    fn is_empty(&self) -> bool {
        matches!((self.min, self.max), (Some(lo), Some(hi)) if lo > hi)
    }

    fn push_params(&self, prefix: &str, params: &mut Vec<(String, String)>) {
        if let Some(min) = self.min {
            params.push((format!("min_{prefix}"), min.to_string()));
        }
        if let Some(max) = self.max {
            params.push((format!("max_{prefix}"), max.to_string()));
        }
    }
}

/// The values a column may take, intersected over every condition on it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ValueSet {
    column: usize,
    /// Values in first-seen order, without duplicates.
    values: Vec<String>,
}

/// Builds the requests for a scan with these (evaluated) conditions.
///
/// An empty result means no row can match: nothing is sent.
pub fn plan_requests(
    resource: &'static Resource,
    conditions: &[Condition],
) -> Result<Vec<Request>, PushdownError> {
    let mut created = MsRange::default();
    let mut updated = MsRange::default();
    let mut sets: Vec<ValueSet> = Vec::new();
    // `'x' = ANY(column)` per filter: the first value only; another one on the same column
    // (the array holds both) stays a local filter.
    let mut contains: Vec<(&'static str, String)> = Vec::new();

    for cond in conditions {
        if !is_pushable(resource, cond.column, cond.op, cond.values.len() > 1) {
            continue;
        }
        let col = &resource.columns[cond.column];
        match col.pushdown {
            Pushdown::CreatedRange | Pushdown::UpdatedRange => {
                let range = if col.pushdown == Pushdown::CreatedRange {
                    &mut created
                } else {
                    &mut updated
                };
                match cond.values.as_slice() {
                    [Operand::TimestampMicros(us)] => range.narrow(cond.op, *us),
                    [Operand::TimestampInfinity(positive)] => {
                        range.narrow_infinite(cond.op, *positive)
                    }
                    [Operand::Null] => return Ok(Vec::new()),
                    _ => {} // not a timestamp: leave it to Postgres
                }
            }
            Pushdown::Contains(param) => match cond.values.as_slice() {
                [Operand::Text(v)] if !contains.iter().any(|(p, _)| *p == param) => {
                    contains.push((param, v.clone()));
                }
                [Operand::Null] => return Ok(Vec::new()), // `NULL = ANY(...)` is never true
                _ => {}
            },
            _ => {
                let mut values: Vec<String> = Vec::new();
                for v in &cond.values {
                    if let Operand::Text(s) = v
                        && !values.contains(s)
                    {
                        values.push(s.clone());
                    }
                }
                if values.is_empty() {
                    return Ok(Vec::new()); // only NULLs: `= NULL` matches nothing
                }
                match sets.iter_mut().find(|s| s.column == cond.column) {
                    Some(set) => set.values.retain(|v| values.contains(v)),
                    None => sets.push(ValueSet {
                        column: cond.column,
                        values,
                    }),
                }
            }
        }
    }
    if created.is_empty() || updated.is_empty() || sets.iter().any(|s| s.values.is_empty()) {
        return Ok(Vec::new());
    }

    let pushdown_of = |s: &ValueSet| resource.columns[s.column].pushdown;

    // A lookup by key: one GET per value. Other conditions are rechecked by Postgres.
    // A key that cannot be a path segment leaves the lookup to the list.
    if let (Some(item_path), Some(keys)) = (
        resource.item_path,
        sets.iter().find(|s| pushdown_of(s) == Pushdown::ItemKey),
    ) && let Some(segments) = keys
        .values
        .iter()
        .map(|k| path_segment(k))
        .collect::<Option<Vec<_>>>()
    {
        return Ok(segments
            .iter()
            .map(|segment| Request {
                kind: RequestKind::Item,
                path: item_path.replace("{}", segment),
                params: Vec::new(),
                path_parameter: None,
                created: None,
            })
            .collect());
    }

    // List requests: the path parameter (if the resource has one) and at most one equality
    // column with several values are expanded into one list per value.
    // Each path parameter value, with its path segment.
    let path_values: Vec<Option<(String, String)>> = match resource.path_parameter() {
        None => vec![None],
        Some(col) => {
            let set = sets
                .iter()
                .find(|s| pushdown_of(s) == Pushdown::PathParameter)
                .ok_or(PushdownError::MissingPathParameter {
                    table: resource.name,
                    column: col.name,
                })?;
            set.values
                .iter()
                .map(|value| match path_segment(value) {
                    Some(segment) => Ok(Some((value.clone(), segment))),
                    None => Err(PushdownError::UnaddressableValue {
                        table: resource.name,
                        column: col.name,
                        value: value.clone(),
                    }),
                })
                .collect::<Result<_, _>>()?
        }
    };

    let filters_created = resource
        .columns
        .iter()
        .any(|c| c.pushdown == Pushdown::CreatedRange);
    let mut fixed: Vec<(String, String)> = Vec::new();
    created.push_params("created", &mut fixed);
    updated.push_params("updated", &mut fixed);
    let mut expanded: Option<(&'static str, &[String])> = None;
    for set in &sets {
        if let Pushdown::Equality(param) = pushdown_of(set) {
            match set.values.as_slice() {
                [single] => fixed.push((param.to_owned(), single.clone())),
                several if expanded.is_none() => expanded = Some((param, several)),
                _ => {} // a second multi-valued column stays a local filter
            }
        }
    }
    for (param, value) in contains {
        fixed.push((param.to_owned(), value));
    }

    let mut requests = Vec::new();
    for path_value in &path_values {
        let path = match path_value {
            Some((_, segment)) => resource.list_path.replace("{}", segment),
            None => resource.list_path.to_owned(),
        };
        let variants: Vec<Option<(&str, &String)>> = match expanded {
            Some((param, values)) => values.iter().map(|v| Some((param, v))).collect(),
            None => vec![None],
        };
        for variant in variants {
            let mut params = fixed.clone();
            if let Some((param, value)) = variant {
                params.push((param.to_owned(), value.clone()));
            }
            requests.push(Request {
                kind: RequestKind::List,
                path: path.clone(),
                params,
                path_parameter: path_value.as_ref().map(|(value, _)| value.clone()),
                created: filters_created.then_some(created),
            });
        }
    }
    Ok(requests)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::resource;
    use crate::client::encode_query;

    fn col(table: &str, name: &str) -> usize {
        resource(table)
            .unwrap()
            .columns
            .iter()
            .position(|c| c.name == name)
            .unwrap()
    }

    fn ts(table: &str, name: &str, op: Op, micros: i64) -> Condition {
        Condition {
            column: col(table, name),
            op,
            values: vec![Operand::TimestampMicros(micros)],
        }
    }

    fn eq(table: &str, name: &str, values: &[&str]) -> Condition {
        Condition {
            column: col(table, name),
            op: Op::Eq,
            values: values
                .iter()
                .map(|v| Operand::Text(v.to_string()))
                .collect(),
        }
    }

    fn plan(table: &str, conds: &[Condition]) -> Vec<Request> {
        plan_requests(resource(table).unwrap(), conds).unwrap()
    }

    fn params(r: &Request) -> String {
        encode_query(&r.params)
    }

    #[test]
    fn strict_and_inclusive_bounds_are_exact_at_the_millisecond() {
        // 1000 ms exactly, in microseconds.
        let at = 1_000_000;
        let p = |op| params(&plan("customers", &[ts("customers", "updated_at", op, at)])[0]);
        assert_eq!(p(Op::Gt), "min_updated=1001");
        assert_eq!(p(Op::Ge), "min_updated=1000");
        assert_eq!(p(Op::Lt), "max_updated=999");
        assert_eq!(p(Op::Le), "max_updated=1000");
        assert_eq!(p(Op::Eq), "min_updated=1000&max_updated=1000");
    }

    #[test]
    fn sub_millisecond_bounds_round_the_safe_way() {
        // 1000.5 ms: no row (ms precision) equals it; > and >= both mean >= 1001 ms.
        let at = 1_000_500;
        let p = |op| plan("customers", &[ts("customers", "created_at", op, at)]);
        assert_eq!(params(&p(Op::Gt)[0]), "min_created=1001");
        assert_eq!(params(&p(Op::Ge)[0]), "min_created=1001");
        assert_eq!(params(&p(Op::Lt)[0]), "max_created=1000");
        assert_eq!(params(&p(Op::Le)[0]), "max_created=1000");
        assert!(p(Op::Eq).is_empty(), "no millisecond equals 1000.5 ms");
    }

    #[test]
    fn negative_microseconds_floor_correctly() {
        let r = plan(
            "customers",
            &[ts("customers", "created_at", Op::Gt, -1_500)],
        );
        assert_eq!(params(&r[0]), "min_created=-1");
    }

    #[test]
    fn between_keeps_the_tightest_bounds_and_contradiction_sends_nothing() {
        let r = plan(
            "deals",
            &[
                ts("deals", "updated_at", Op::Ge, 5_000_000),
                ts("deals", "updated_at", Op::Ge, 7_000_000),
                ts("deals", "updated_at", Op::Le, 9_000_000),
            ],
        );
        assert_eq!(params(&r[0]), "min_updated=7000&max_updated=9000");
        let none = plan(
            "deals",
            &[
                ts("deals", "updated_at", Op::Gt, 9_000_000),
                ts("deals", "updated_at", Op::Lt, 9_000_000),
            ],
        );
        assert!(none.is_empty());
    }

    #[test]
    fn updated_filter_only_where_the_endpoint_accepts_it() {
        let r = plan(
            "transactions",
            &[ts("transactions", "updated_at", Op::Gt, 1_000_000)],
        );
        assert_eq!(params(&r[0]), "", "transactions take no min_updated");
        let r = plan(
            "transactions",
            &[ts("transactions", "created_at", Op::Gt, 1_000_000)],
        );
        assert_eq!(params(&r[0]), "min_created=1001");
    }

    #[test]
    fn key_equality_and_in_become_item_gets() {
        let r = plan(
            "customers",
            &[eq("customers", "customer_key", &["a b/c", "x", "a b/c"])],
        );
        assert_eq!(r.len(), 2, "duplicates fetched once");
        assert_eq!(r[0].kind, RequestKind::Item);
        assert_eq!(r[0].path, "/customers/a%20b%2Fc");
        assert_eq!(r[1].path, "/customers/x");
        // customers' cus_ key is not addressable by the API: listed and filtered locally.
        let r = plan("customers", &[eq("customers", "key", &["cus_1"])]);
        assert_eq!(r[0].kind, RequestKind::List);
    }

    #[test]
    fn intersecting_key_conditions() {
        let r = plan(
            "deals",
            &[
                eq("deals", "key", &["a", "b"]),
                eq("deals", "key", &["b", "c"]),
            ],
        );
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].path, "/deals/b");
        assert!(
            plan(
                "deals",
                &[eq("deals", "key", &["a"]), eq("deals", "key", &["b"])]
            )
            .is_empty()
        );
    }

    #[test]
    fn dot_segments_and_empty_keys_fall_back_to_the_list() {
        for bad in ["..", ".", ""] {
            let r = plan("deals", &[eq("deals", "key", &[bad])]);
            assert_eq!(r[0].kind, RequestKind::List, "{bad:?}");
        }
    }

    #[test]
    fn equality_filters_become_parameters_and_in_lists_expand() {
        let r = plan(
            "actions",
            &[
                eq("actions", "type", &["signup"]),
                eq("actions", "partnership_key", &["p1", "p2"]),
            ],
        );
        assert_eq!(r.len(), 2);
        assert_eq!(params(&r[0]), "action_type=signup&partnership_key=p1");
        assert_eq!(params(&r[1]), "action_type=signup&partnership_key=p2");
    }

    #[test]
    fn null_values_match_nothing() {
        let c = Condition {
            column: col("customers", "partner_key"),
            op: Op::Eq,
            values: vec![Operand::Null],
        };
        assert!(plan("customers", &[c]).is_empty());
    }

    #[test]
    fn links_need_a_partnership_key() {
        let err = plan_requests(resource("links").unwrap(), &[]).unwrap_err();
        assert_eq!(
            err,
            PushdownError::MissingPathParameter {
                table: "links",
                column: "partnership_key"
            }
        );
        let r = plan(
            "links",
            &[eq("links", "partnership_key", &["part_1", "p?#&%"])],
        );
        assert_eq!(r[0].path, "/links/partnership/part_1");
        assert_eq!(r[1].path, "/links/partnership/p%3F%23%26%25");
        assert_eq!(r[1].path_parameter.as_deref(), Some("p?#&%"));
    }

    #[test]
    fn write_only_conversions_are_never_read() {
        let r = resource("conversions").unwrap();
        assert_eq!(
            check_readable(r).unwrap_err().to_string(),
            "conversions is write-only: PartnerStack accepts conversions but has no endpoint to read them back"
        );
        assert!(check_readable(resource("customers").unwrap()).is_ok());
        assert!(!is_pushable(r, 1, Op::Eq, false));
        // Should the glue not refuse it first, the read is a GET the API answers 404: an error,
        // never an empty result passed off as complete.
        let cond = Condition {
            column: 1,
            op: Op::Eq,
            values: vec![Operand::Text("c".into())],
        };
        let plan = plan_requests(r, &[cond]).unwrap();
        assert_eq!(plan.len(), 1);
        assert_eq!(
            (plan[0].kind, plan[0].path.as_str()),
            (RequestKind::List, "/conversion/xid")
        );
    }

    #[test]
    fn infinite_bounds_match_every_timestamp_or_none() {
        let inf = |op, positive| Condition {
            column: col("customers", "updated_at"),
            op,
            values: vec![Operand::TimestampInfinity(positive)],
        };
        for (op, positive) in [
            (Op::Lt, true),
            (Op::Le, true),
            (Op::Gt, false),
            (Op::Ge, false),
        ] {
            let r = plan("customers", &[inf(op, positive)]);
            assert_eq!(params(&r[0]), "", "{op:?} {positive}: no bound");
        }
        for (op, positive) in [
            (Op::Gt, true),
            (Op::Ge, true),
            (Op::Lt, false),
            (Op::Le, false),
            (Op::Eq, true),
            (Op::Eq, false),
        ] {
            assert!(
                plan("customers", &[inf(op, positive)]).is_empty(),
                "{op:?} {positive}"
            );
        }
    }

    #[test]
    fn count_from_total_only_when_every_condition_is_a_filter() {
        let customers = resource("customers").unwrap();
        let c = |name| col("customers", name);
        assert!(count_from_total(customers, &[]));
        assert!(count_from_total(
            customers,
            &[
                (c("updated_at"), Op::Ge, false),
                (c("partner_key"), Op::Eq, true)
            ]
        ));
        assert!(
            !count_from_total(customers, &[(c("customer_key"), Op::Eq, false)]),
            "a key lookup"
        );
        assert!(
            !count_from_total(customers, &[(c("email"), Op::Eq, false)]),
            "not a filter"
        );
        let actions = resource("actions").unwrap();
        let a = |name| col("actions", name);
        assert!(count_from_total(
            actions,
            &[(a("type"), Op::Eq, true), (a("type"), Op::Eq, true)]
        ));
        assert!(
            !count_from_total(
                actions,
                &[
                    (a("type"), Op::Eq, true),
                    (a("partnership_key"), Op::Eq, true)
                ]
            ),
            "a second list of values stays a local filter"
        );
    }

    #[test]
    fn lists_are_ordered_by_created_at() {
        let r = resource("customers").unwrap();
        assert_eq!(list_order_column(r), Some(col("customers", "created_at")));
        assert_eq!(list_order_column(resource("conversions").unwrap()), None);
    }

    #[test]
    fn ascending_and_other_orders_only_where_order_by_is_documented() {
        let param = |table: &str, name: &str, descending: bool| {
            let r = resource(table).unwrap();
            list_order(r, col(table, name), descending).map(|o| o.param(r))
        };
        // The API's own order everywhere: no parameter.
        assert_eq!(param("customers", "created_at", true), Some(None));
        assert_eq!(param("transactions", "created_at", true), Some(None));
        // §2/§3: order_by on vendor transactions, rewards and actions.
        for table in ["transactions", "rewards", "actions"] {
            assert_eq!(
                param(table, "created_at", false),
                Some(Some("created_at".into())),
                "{table}"
            );
        }
        // Not documented on vendor customers; on vendor partnerships a Partner page's (§6 #16).
        assert_eq!(param("customers", "created_at", false), None);
        assert_eq!(param("partnerships", "created_at", false), None);
        assert_eq!(param("partnerships", "updated_at", true), None);
        assert_eq!(param("transactions", "updated_at", true), None);
        // Partner API: partnerships also by updated_at, rewards also by amount.
        assert_eq!(
            param("partner.partnerships", "updated_at", true),
            Some(Some("-updated_at".into()))
        );
        assert_eq!(
            param("partner.rewards", "amount", false),
            Some(Some("amount".into()))
        );
        assert_eq!(
            param("partner.payouts", "created_at", false),
            Some(Some("created_at".into()))
        );
        assert_eq!(
            param("partner.marketplace_programs", "created_at", false),
            None
        );
        assert_eq!(param("partner.rewards", "currency", false), None);
        let r = resource("partner.rewards").unwrap();
        assert_eq!(
            list_order(r, col("partner.rewards", "amount"), true)
                .unwrap()
                .sql(r),
            "amount DESC"
        );
    }

    #[test]
    fn order_by_follows_the_filters_of_every_list_request_and_no_get() {
        let r = resource("transactions").unwrap();
        let order = list_order(r, col("transactions", "created_at"), false);
        let requests = plan_ordered_requests(
            r,
            &[ts("transactions", "created_at", Op::Ge, 5_000_000)],
            order,
        )
        .unwrap();
        assert_eq!(params(&requests[0]), "min_created=5000&order_by=created_at");
        let native = list_order(r, col("transactions", "created_at"), true);
        let requests = plan_ordered_requests(r, &[], native).unwrap();
        assert_eq!(
            params(&requests[0]),
            "",
            "the API's own order needs no parameter"
        );
        let actions = resource("actions").unwrap();
        let order = list_order(actions, col("actions", "created_at"), false);
        let requests =
            plan_ordered_requests(actions, &[eq("actions", "type", &["a", "b"])], order).unwrap();
        assert_eq!(requests.len(), 2);
        assert!(
            requests
                .iter()
                .all(|r| params(r).ends_with("&order_by=created_at"))
        );
    }

    #[test]
    fn an_array_holding_a_value_becomes_its_one_value_filter() {
        let table = "partner.marketplace_programs";
        let r = resource(table).unwrap();
        let category = col(table, "category");
        assert!(is_pushable(r, category, Op::Eq, false));
        assert!(!is_pushable(r, category, Op::Eq, true), "one value only");
        assert!(!is_pushable(r, category, Op::Gt, false));
        let holds = |v: &str| eq(table, "category", &[v]);
        assert_eq!(
            params(&plan(table, &[holds("Sécurité & IT")])[0]),
            "category=S%C3%A9curit%C3%A9%20%26%20IT"
        );
        // Both must be held: the first is sent, the second stays with Postgres.
        assert_eq!(
            params(&plan(table, &[holds("SaaS"), holds("Fintech")])[0]),
            "category=SaaS"
        );
        let null = Condition {
            column: category,
            op: Op::Eq,
            values: vec![Operand::Null],
        };
        assert!(
            plan(table, &[null]).is_empty(),
            "NULL = ANY(...) is never true"
        );
        assert!(
            !count_from_total(r, &[(category, Op::Eq, false)]),
            "the filter's exact match is undocumented: no count from total"
        );
    }

    #[test]
    fn unpushable_shapes_are_refused_at_plan_time() {
        let r = resource("customers").unwrap();
        assert!(!is_pushable(r, col("customers", "email"), Op::Eq, false));
        assert!(!is_pushable(
            r,
            col("customers", "partner_key"),
            Op::Gt,
            false
        ));
        assert!(!is_pushable(
            r,
            col("customers", "updated_at"),
            Op::Eq,
            true
        ));
        assert!(is_pushable(
            r,
            col("customers", "updated_at"),
            Op::Le,
            false
        ));
    }
}
