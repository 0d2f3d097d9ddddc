//! Row values → write requests: validation against the catalogue's write spec and the exact
//! JSON body, before any request is sent. No Postgres types: the glue passes each cell as a
//! [`Value`] named by its column.
//!
//! Rules (reference §4, `partnerstack-api-fields.json`): a create sends every non-NULL column the
//! create body accepts and refuses a non-NULL column it does not accept (a value would otherwise
//! be dropped silently); an update sends exactly the columns the statement sets (NULL as JSON
//! null) and refuses any column outside the resource's update list.
//!
//! Sending rules above one request are here too, since they are PartnerStack's, not HTTP's:
//! [`update`] sends PUT and, on a 405, the same body as PATCH (unless the verb is pinned), and
//! [`upsert`] updates and creates when the update answers 404. [`Client::write`] sends each
//! single request with the retries its verb allows.

use serde_json::{Map, Number, Value as Json};

use crate::catalogue::{
    Check, Column, ColumnType, Confirm, Endpoint, Need, Resource, Rule, UpdateMethod,
};
use crate::client::{Client, Stats, WriteOutcome, path_segment};
use crate::error::{ApiError, VALUE_EXCERPT_CHARS, clip};
use crate::mapping::Value;

/// One cell of a row to write: the column's name and its value.
pub type Cell<'a> = (&'a str, Value<'a>);

/// The HTTP verb of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Create.
    Post,
    /// Update, sent first (see [`UpdateMethod`]).
    Put,
    /// Update, as the reference documents it; the fallback after a 405.
    Patch,
    /// Delete (archive).
    Delete,
}

impl Method {
    /// The verb as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// Whether sending the request twice has the effect of sending it once: PUT, PATCH and
    /// DELETE of one object are; a POST may create a second object.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Method::Post)
    }
}

impl From<UpdateMethod> for Method {
    fn from(m: UpdateMethod) -> Method {
        match m {
            UpdateMethod::Put => Method::Put,
            UpdateMethod::Patch => Method::Patch,
        }
    }
}

/// How to find out whether an unanswered create took effect after all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmRead {
    /// `GET path`: 404 means the object is absent.
    Item {
        /// Item path, segments encoded.
        path: String,
    },
    /// `GET path?params`: absent when no item has `field` equal to `value`.
    List {
        /// List path.
        path: String,
        /// Filter (not encoded).
        params: Vec<(String, String)>,
        /// The item field compared.
        field: &'static str,
        /// The row's own key.
        value: String,
    },
}

/// One write, ready for [`crate::Client::write`].
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRequest {
    /// Foreign table, for messages.
    pub table: &'static str,
    /// Vendor API or S2S host.
    pub endpoint: Endpoint,
    /// Verb. For an update this is the resource's first choice; see [`update`].
    pub method: Method,
    /// Path below the endpoint's base URL, segments percent-encoded.
    pub path: String,
    /// JSON body (absent for DELETE).
    pub body: Option<Json>,
    /// For a create whose row carries its own key: the read that proves it absent.
    pub confirm: Option<ConfirmRead>,
    /// The key to report when the answer carries none (a DELETE's addressed key, the
    /// `customer_key` of a conversion).
    pub sent_key: Option<String>,
}

/// An upsert: the update to try first (when the row carries the addressing key), and the
/// create to send when the update answers 404.
#[derive(Debug, Clone, PartialEq)]
pub struct Upsert {
    /// `None` when the addressing column is NULL: nothing to update, create directly.
    pub update: Option<WriteRequest>,
    /// The create.
    pub create: WriteRequest,
}

/// A row that cannot be written, found before any request. Every variant names the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The resource does not support the statement.
    #[error("cannot {operation} {table}: {reason}")]
    Unsupported {
        /// Foreign table.
        table: &'static str,
        /// `INSERT`, `UPDATE`, `DELETE` or `upsert`.
        operation: &'static str,
        /// Why.
        reason: String,
    },
    /// The table has no such column in the catalogue.
    #[error("{table} has no column {column}")]
    UnknownColumn {
        /// Foreign table.
        table: &'static str,
        /// The name given.
        column: String,
    },
    /// A required column is NULL or not given.
    #[error("{table}.{column} is required when inserting into {table}")]
    MissingRequired {
        /// Foreign table.
        table: &'static str,
        /// Column.
        column: &'static str,
    },
    /// A column that must not be NULL is set to NULL by an UPDATE.
    #[error("{table}.{column} cannot be set to NULL")]
    NullNotAllowed {
        /// Foreign table.
        table: &'static str,
        /// Column.
        column: &'static str,
    },
    /// A rule over several columns is broken.
    #[error("{table}: {detail}")]
    Rule {
        /// Foreign table.
        table: &'static str,
        /// The rule, naming its columns.
        detail: String,
    },
    /// A non-NULL value in a column the create body does not accept.
    #[error(
        "{table}.{column} cannot be set on INSERT: PartnerStack sets it or does not accept it \
         when creating {table} (accepted: {accepted})"
    )]
    NotAcceptedOnCreate {
        /// Foreign table.
        table: &'static str,
        /// Column.
        column: &'static str,
        /// The columns a create accepts.
        accepted: String,
    },
    /// An UPDATE of a column outside the resource's update list.
    #[error("{table}.{column} is read-only: UPDATE of {table} can set only {updatable}")]
    ReadOnlyColumn {
        /// Foreign table.
        table: &'static str,
        /// Column.
        column: &'static str,
        /// The columns an update accepts.
        updatable: String,
    },
    /// A value of the wrong type for its column.
    #[error("{table}.{column} expects {expected}, got {found}")]
    WrongType {
        /// Foreign table.
        table: &'static str,
        /// Column.
        column: &'static str,
        /// The column's type.
        expected: &'static str,
        /// What was given.
        found: String,
    },
    /// A value of the right type the API would refuse.
    #[error("{table}.{column}: {detail}")]
    InvalidValue {
        /// Foreign table.
        table: &'static str,
        /// Column.
        column: &'static str,
        /// What is wrong, with the value.
        detail: String,
    },
    /// The addressing key of an UPDATE, DELETE or upsert is NULL or cannot be a path segment.
    #[error("{table}.{column} {detail}: the row cannot be addressed")]
    Unaddressable {
        /// Foreign table.
        table: &'static str,
        /// The addressing column.
        column: &'static str,
        /// What is wrong.
        detail: String,
    },
}

/// A value quoted (as a Rust string literal, escapes visible) in an error, shortened.
fn quote(text: &str) -> String {
    let (short, cut) = clip(text, VALUE_EXCERPT_CHARS);
    format!("{short:?}{}", if cut { "…" } else { "" })
}

fn column_of(resource: &'static Resource, name: &str) -> Result<&'static Column, WriteError> {
    resource
        .column(name)
        .ok_or_else(|| WriteError::UnknownColumn {
            table: resource.name,
            column: name.to_owned(),
        })
}

fn names(resource: &Resource, keep: impl Fn(&Column) -> bool) -> String {
    let list: Vec<&str> = resource
        .columns
        .iter()
        .filter(|c| keep(c))
        .map(|c| c.name)
        .collect();
    list.join(", ")
}

fn what(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Text(t) => format!("text {}", quote(t)),
        Value::BigInt(i) => format!("bigint {i}"),
        Value::Bool(b) => format!("boolean {b}"),
        Value::TimestampMs(ms) => format!("timestamp ({ms} ms)"),
        Value::Json(j) => format!("jsonb {}", quote(j)),
        Value::TextArray(_) => "text[]".into(),
    }
}

/// The JSON a non-NULL cell becomes, after the column's type and checks.
pub fn cell_json(
    resource: &'static Resource,
    column: &'static Column,
    value: &Value,
) -> Result<Json, WriteError> {
    let table = resource.name;
    let wrong = || WriteError::WrongType {
        table,
        column: column.name,
        expected: match column.ty {
            ColumnType::BigInt => "an integer (bigint)",
            ty => ty.sql_type(),
        },
        found: what(value),
    };
    let invalid = |detail: String| WriteError::InvalidValue {
        table,
        column: column.name,
        detail,
    };
    let json = match (column.ty, value) {
        (_, Value::Null) => return Ok(Json::Null),
        (ColumnType::Text, Value::Text(t)) => Json::String(t.to_string()),
        (ColumnType::BigInt, Value::BigInt(i)) => Json::Number((*i).into()),
        // A numeric or text cell holding an integer is accepted; "12.50" is not cents.
        (ColumnType::BigInt, Value::Text(t)) => match t.trim().parse::<i64>() {
            Ok(i) => Json::Number(i.into()),
            Err(_) => {
                return Err(invalid(format!(
                    "{} is not an integer (amounts are integer cents)",
                    quote(t)
                )));
            }
        },
        (ColumnType::Boolean, Value::Bool(b)) => Json::Bool(*b),
        (ColumnType::Timestamp, Value::TimestampMs(ms)) => Json::Number(Number::from(*ms)),
        (ColumnType::Json, Value::Json(text)) => serde_json::from_str::<Json>(text)
            .map_err(|e| invalid(format!("{} is not valid JSON: {e}", quote(text))))?,
        (ColumnType::TextArray, Value::TextArray(items)) => Json::Array(
            items
                .iter()
                .map(|item| match item {
                    Some(t) => Ok(Json::String(t.to_string())),
                    None => Err(invalid("an array element is NULL".into())),
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(wrong()),
    };
    match (column.write.check, json) {
        (Check::None, json) => Ok(json),
        (Check::Currency, Json::String(code)) => {
            if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
                Ok(Json::String(code.to_ascii_uppercase()))
            } else {
                Err(invalid(format!(
                    "{} is not a currency code: exactly 3 letters (ISO 4217), e.g. 'USD'",
                    quote(&code)
                )))
            }
        }
        (Check::OneOf(allowed), Json::String(s)) => {
            if allowed.contains(&s.as_str()) {
                Ok(Json::String(s))
            } else {
                Err(invalid(format!(
                    "{} is not one of {}",
                    quote(&s),
                    allowed.join(", ")
                )))
            }
        }
        (Check::Object, json @ Json::Object(_)) | (Check::Array, json @ Json::Array(_)) => Ok(json),
        (Check::Object, other) => Err(invalid(format!(
            "PartnerStack expects a JSON object here, got {}",
            quote(&other.to_string())
        ))),
        (Check::Array, other) => Err(invalid(format!(
            "PartnerStack expects a JSON array here, got {}",
            quote(&other.to_string())
        ))),
        (_, json) => Ok(json),
    }
}

fn text_of<'r>(row: &'r [Cell], name: &str) -> Option<&'r str> {
    row.iter().find_map(|(c, v)| match v {
        Value::Text(t) if *c == name => Some(t.as_ref()),
        _ => None,
    })
}

/// Validates an INSERT row and builds the create body: every non-NULL accepted column.
pub fn create_body(
    resource: &'static Resource,
    row: &[Cell],
) -> Result<Map<String, Json>, WriteError> {
    let table = resource.name;
    if resource.writes.create_path.is_none() {
        return Err(WriteError::Unsupported {
            table,
            operation: "INSERT into",
            reason: resource.writes.refusal.to_owned(),
        });
    }
    let mut body = Map::new();
    for (name, value) in row {
        let column = column_of(resource, name)?;
        if *value == Value::Null {
            continue;
        }
        if column.write.create == Need::No {
            return Err(WriteError::NotAcceptedOnCreate {
                table,
                column: column.name,
                accepted: names(resource, |c| c.write.create != Need::No),
            });
        }
        body.insert(column.name.to_owned(), cell_json(resource, column, value)?);
    }
    for column in resource.columns {
        if column.write.create == Need::Required && !body.contains_key(column.name) {
            return Err(WriteError::MissingRequired {
                table,
                column: column.name,
            });
        }
    }
    for rule in resource.writes.rules {
        match *rule {
            Rule::ExactlyOne(columns) => {
                let given = columns.iter().filter(|c| body.contains_key(**c)).count();
                if given != 1 {
                    return Err(WriteError::Rule {
                        table,
                        detail: format!(
                            "exactly one of {} must be set (got {given})",
                            columns.join(", ")
                        ),
                    });
                }
            }
            Rule::RequiredWhen {
                column,
                value,
                default,
                required,
            } => {
                let applies = match body.get(column) {
                    Some(Json::String(s)) => s == value,
                    _ => default,
                };
                if applies && !body.contains_key(required) {
                    let when = if default {
                        format!("{column} is '{value}' (the default)")
                    } else {
                        format!("{column} is '{value}'")
                    };
                    return Err(WriteError::Rule {
                        table,
                        detail: format!("{required} is required when {when}"),
                    });
                }
            }
        }
    }
    Ok(body)
}

/// Validates the columns an UPDATE sets and builds the update body: exactly those columns.
pub fn update_body(
    resource: &'static Resource,
    changed: &[Cell],
) -> Result<Map<String, Json>, WriteError> {
    let table = resource.name;
    if resource.writes.update.is_none() {
        return Err(WriteError::Unsupported {
            table,
            operation: "UPDATE",
            reason: resource.writes.refusal.to_owned(),
        });
    }
    let mut body = Map::new();
    for (name, value) in changed {
        let column = column_of(resource, name)?;
        if !column.write.update {
            return Err(WriteError::ReadOnlyColumn {
                table,
                column: column.name,
                updatable: names(resource, |c| c.write.update),
            });
        }
        if *value == Value::Null && column.write.create == Need::Required {
            return Err(WriteError::NullNotAllowed {
                table,
                column: column.name,
            });
        }
        body.insert(column.name.to_owned(), cell_json(resource, column, value)?);
    }
    if body.is_empty() {
        // Sending `{}` would report success for a change that never happened.
        return Err(WriteError::Unsupported {
            table,
            operation: "UPDATE",
            reason: "the statement changes no column PartnerStack can update".into(),
        });
    }
    Ok(body)
}

/// `item_path` with the addressing key in it.
fn item_path(
    resource: &'static Resource,
    column: &'static str,
    operation: &'static str,
    key: Option<&str>,
) -> Result<String, WriteError> {
    let table = resource.name;
    let Some(path) = resource.writes.item_path else {
        return Err(WriteError::Unsupported {
            table,
            operation,
            reason: format!("PartnerStack has no endpoint to address one of {table}"),
        });
    };
    let unaddressable = |detail: &str| WriteError::Unaddressable {
        table,
        column,
        detail: detail.to_owned(),
    };
    let key = key.ok_or_else(|| unaddressable("is NULL"))?;
    let segment = path_segment(key).ok_or_else(|| unaddressable("is empty, '.' or '..'"))?;
    Ok(path.replace("{}", &segment))
}

/// The read that proves an unanswered create absent, when the row carries its own key.
fn confirm_read(resource: &'static Resource, body: &Map<String, Json>) -> Option<ConfirmRead> {
    let own_key = |column: &str| body.get(column).and_then(Json::as_str).map(str::to_owned);
    match resource.writes.confirm? {
        Confirm::ItemGet(column) => {
            let key = own_key(column)?;
            let path = resource.item_path?;
            Some(ConfirmRead::Item {
                path: path.replace("{}", &path_segment(&key)?),
            })
        }
        Confirm::ListFilter { column, param } => {
            let key = own_key(column)?;
            Some(ConfirmRead::List {
                path: resource.list_path.to_owned(),
                params: vec![(param.to_owned(), key.clone())],
                field: column,
                value: key,
            })
        }
    }
}

/// An INSERT: `POST create_path` with the validated body.
pub fn plan_insert(resource: &'static Resource, row: &[Cell]) -> Result<WriteRequest, WriteError> {
    let body = create_body(resource, row)?;
    let sent_key = match resource.writes.endpoint {
        // The S2S answer is empty: the customer_key sent is the only key there is.
        Endpoint::Conversion => body.get("customer_key").and_then(Json::as_str),
        Endpoint::Vendor => None,
    }
    .map(str::to_owned);
    Ok(WriteRequest {
        table: resource.name,
        endpoint: resource.writes.endpoint,
        method: Method::Post,
        path: resource.writes.create_path.unwrap_or_default().to_owned(),
        confirm: confirm_read(resource, &body),
        body: Some(Json::Object(body)),
        sent_key,
    })
}

/// An UPDATE of the object whose `writes.item_column` is `key`, setting `changed`.
/// The method is the resource's first choice; [`update`] handles the 405 fallback.
pub fn plan_update(
    resource: &'static Resource,
    key: Option<&str>,
    changed: &[Cell],
) -> Result<WriteRequest, WriteError> {
    let body = update_body(resource, changed)?;
    let method = resource.writes.update.unwrap_or(UpdateMethod::Patch).into();
    Ok(WriteRequest {
        table: resource.name,
        endpoint: resource.writes.endpoint,
        method,
        path: item_path(resource, resource.writes.item_column, "UPDATE", key)?,
        body: Some(Json::Object(body)),
        confirm: None,
        sent_key: key.map(str::to_owned),
    })
}

/// A DELETE of the object whose `writes.item_column` is `key`.
pub fn plan_delete(
    resource: &'static Resource,
    key: Option<&str>,
) -> Result<WriteRequest, WriteError> {
    if !resource.writes.delete {
        return Err(WriteError::Unsupported {
            table: resource.name,
            operation: "DELETE from",
            reason: format!("PartnerStack has no endpoint to delete {}", resource.name),
        });
    }
    Ok(WriteRequest {
        table: resource.name,
        endpoint: resource.writes.endpoint,
        method: Method::Delete,
        path: item_path(resource, resource.writes.item_column, "DELETE from", key)?,
        body: None,
        confirm: None,
        sent_key: key.map(str::to_owned),
    })
}

/// An upsert of an INSERT row: update by the resource's upsert column with the row's updatable
/// non-NULL columns, create (the full row) when the API answers 404. Create-only columns are
/// validated for the create and left out of the update, since the API would refuse them there.
pub fn plan_upsert(resource: &'static Resource, row: &[Cell]) -> Result<Upsert, WriteError> {
    let Some(column) = resource.writes.upsert else {
        return Err(WriteError::Unsupported {
            table: resource.name,
            operation: "upsert",
            reason: format!("PartnerStack has no key to update {} by", resource.name),
        });
    };
    let create = plan_insert(resource, row)?;
    let update = match text_of(row, column) {
        None => None,
        Some(key) => {
            let changed: Vec<Cell> = row
                .iter()
                .filter(|(name, value)| {
                    *value != Value::Null && resource.column(name).is_some_and(|c| c.write.update)
                })
                .cloned()
                .collect();
            let body = update_body(resource, &changed)?;
            let method = resource.writes.update.unwrap_or(UpdateMethod::Patch).into();
            Some(WriteRequest {
                table: resource.name,
                endpoint: resource.writes.endpoint,
                method,
                path: item_path(resource, column, "upsert", Some(key))?,
                body: Some(Json::Object(body)),
                confirm: None,
                sent_key: Some(key.to_owned()),
            })
        }
    };
    Ok(Upsert { update, create })
}

/// What an upsert did.
#[derive(Debug, Clone, PartialEq)]
pub struct UpsertOutcome {
    /// The successful write.
    pub outcome: WriteOutcome,
    /// True when the update answered 404 (or there was no key) and the object was created.
    pub created: bool,
    /// The update verb the API routed (answered other than 405), to remember per server.
    pub update_method: Option<Method>,
}

/// Sends an update: `pinned` (the server option `update_method`) if given, else the
/// request's verb (PUT), and on a 405 the same body as PATCH. The outcome's `method` is the
/// verb that worked, for the glue to remember per server.
pub fn update(
    client: &Client,
    request: &WriteRequest,
    pinned: Option<UpdateMethod>,
    stats: &mut Stats,
) -> Result<WriteOutcome, ApiError> {
    update_with_fallback(client, request, pinned, stats).1
}

/// The verb last sent and the result of an update with the PUT → PATCH fallback.
fn update_with_fallback(
    client: &Client,
    request: &WriteRequest,
    pinned: Option<UpdateMethod>,
    stats: &mut Stats,
) -> (Method, Result<WriteOutcome, ApiError>) {
    let first = pinned.map_or(request.method, Method::from);
    match client.write(with_method(request, first).as_ref(), stats) {
        // The reference documents PATCH (§4, §6 #4); a server that routes only PATCH
        // answers PUT with 405, and the same body as PATCH is the same partial update.
        Err(ApiError::Client { status: 405, .. }) if first == Method::Put && pinned.is_none() => {
            let patch = with_method(request, Method::Patch);
            (Method::Patch, client.write(patch.as_ref(), stats))
        }
        result => (first, result),
    }
}

/// `request` sent with `method` instead of its own verb.
fn with_method(request: &WriteRequest, method: Method) -> std::borrow::Cow<'_, WriteRequest> {
    if request.method == method {
        std::borrow::Cow::Borrowed(request)
    } else {
        std::borrow::Cow::Owned(WriteRequest {
            method,
            ..request.clone()
        })
    }
}

/// Upsert: the update first (when the row carries the addressing key); on 404 the create.
pub fn upsert(
    client: &Client,
    upsert: &Upsert,
    pinned: Option<UpdateMethod>,
    stats: &mut Stats,
) -> Result<UpsertOutcome, ApiError> {
    let mut update_method = None;
    if let Some(update) = &upsert.update {
        let (method, result) = update_with_fallback(client, update, pinned, stats);
        match result {
            Ok(outcome) => {
                return Ok(UpsertOutcome {
                    outcome,
                    created: false,
                    update_method: Some(method),
                });
            }
            Err(ApiError::Client { status: 404, .. }) => update_method = Some(method),
            Err(e) => return Err(e),
        }
    }
    Ok(UpsertOutcome {
        outcome: client.write(&upsert.create, stats)?,
        created: true,
        update_method,
    })
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
