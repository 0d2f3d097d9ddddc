//! The one place errors become Postgres ERRORs (API, mapping, pushdown, option and write
//! errors, and the write reports of a multi-row statement), each with its SQLSTATE and a hint.
//! Every function that builds a report is `#[track_caller]`, so an ERROR's LOCATION names the
//! code that raised it, not this file.

use partnerstack_api::catalogue::Api;
use partnerstack_api::options::OptionError;
use partnerstack_api::write::WriteError;
use partnerstack_api::{ApiError, MappingError, PushdownError};
use pgrx::PgSqlErrorCode;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;

/// Function name recorded in error reports.
const FUNCNAME: &str = "partnerstack_fdw";

/// An ERROR report with this code and message (add detail and hint, then [`raise`] it, or return
/// it where the framework reports it).
#[track_caller]
pub fn error(code: PgSqlErrorCode, message: impl Into<String>) -> ErrorReport {
    ErrorReport::new(code, message, FUNCNAME)
}

/// Raises `report` as an ERROR. Never returns: Postgres unwinds to the enclosing error handler.
pub fn raise(report: ErrorReport) -> ! {
    report.report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// Raises an API error as an ERROR. Never returns.
#[track_caller]
pub fn raise_api(e: &ApiError, context: &str) -> ! {
    if let ApiError::Cancelled = e {
        // The interrupt that stopped the wait is still pending: let Postgres report it as such.
        pgrx::check_for_interrupts!();
    }
    raise(api_report(e, context))
}

/// The ERROR report of an API error, with its SQLSTATE and hint.
#[track_caller]
pub fn api_report(e: &ApiError, context: &str) -> ErrorReport {
    use PgSqlErrorCode::*;
    match e {
        ApiError::Unauthorized {
            api: Api::Vendor, ..
        } => error(
            ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
            format!("{context}: {e}"),
        )
        .set_hint(
            "Check public_key and private_key in the user mapping. PartnerStack issues a test and \
             a production key pair: both public keys start with pk_, and data created with one is \
             not visible to the other. A partner's Partner API key is refused here: it belongs \
             in api_key on a Partner API server (OPTIONS (api 'partner')).",
        ),
        ApiError::Unauthorized {
            api: Api::Partner, ..
        } => error(
            ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
            format!("{context}: {e}"),
        )
        .set_hint(
            "Check api_key in the user mapping: the Partner API takes a partner's API key as a \
             Bearer token. A vendor key (a public_key/private_key pair) is refused here: it \
             belongs on a Vendor API server (without OPTIONS (api 'partner')).",
        ),
        ApiError::RateLimited { .. } => error(ERRCODE_FDW_ERROR, format!("{context}: {e}"))
            .set_hint(
                "PartnerStack allows about 4,000 requests per minute per IP. Retry later, or \
                 raise max_retries / retry_max_ms on the server.",
            ),
        ApiError::Connect { .. } => error(
            ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION,
            format!("{context}: {e}"),
        )
        .set_hint("Check the server's api_url option and the network."),
        ApiError::Timeout { which, .. } => error(
            ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION,
            format!("{context}: {e}"),
        )
        .set_hint(format!(
            "Raise the server option {which} if PartnerStack is just slow."
        )),
        ApiError::Cancelled => error(ERRCODE_QUERY_CANCELED, format!("{context}: {e}")),
        ApiError::MissingOption { option, .. } => error(
            ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
            format!("{context}: {e}"),
        )
        .set_hint(format!(
            "Set {option}: s2s_token in the user mapping (it is a secret), s2s_url on the server."
        )),
        _ => error(ERRCODE_FDW_ERROR, format!("{context}: {e}")),
    }
}

/// Raises a mapping error (a field of an unexpected type). Never returns.
#[track_caller]
pub fn raise_mapping(e: &MappingError) -> ! {
    raise(
        error(PgSqlErrorCode::ERRCODE_FDW_INVALID_DATA_TYPE, e.to_string())
            .set_hint("The attrs column still holds the item as PartnerStack sent it."),
    )
}

/// Raises a read of a write-only table. Never returns.
#[track_caller]
pub fn raise_write_only(e: &partnerstack_api::pushdown::WriteOnlyError) -> ! {
    raise(error(
        PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
        e.to_string(),
    ))
}

/// Raises a scan that cannot be turned into requests. Never returns.
#[track_caller]
pub fn raise_pushdown(e: &PushdownError) -> ! {
    let report = match e {
        PushdownError::MissingPathParameter { table, column } => error(
            PgSqlErrorCode::ERRCODE_FDW_ERROR,
            format!("{e}: add a condition {column} = '...' (or IN (...))"),
        )
        .set_hint(format!(
            "PartnerStack lists {table} per partnership only. Filter on {column}, or join on it, \
             e.g. ... FROM partnerstack.partnerships p JOIN partnerstack.{table} l ON l.{column} = p.key."
        )),
        PushdownError::UnaddressableValue { .. } => {
            error(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, e.to_string())
        }
    };
    raise(report)
}

/// The ERROR report of an option list that cannot be used, with its SQLSTATE and hint.
#[track_caller]
pub fn option_report(e: &OptionError) -> ErrorReport {
    use PgSqlErrorCode::*;
    let code = match e {
        OptionError::UnknownName { .. }
        | OptionError::NoResource { .. }
        | OptionError::WrongApi { .. } => ERRCODE_FDW_INVALID_OPTION_NAME,
        OptionError::WrongKeyKind { .. } => ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
        OptionError::InvalidValue { .. } | OptionError::WrongRowidColumn { .. } => {
            ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE
        }
        OptionError::MissingKey { .. } => ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
    };
    let report = error(code, e.to_string());
    match e.hint() {
        Some(hint) => report.set_hint(hint),
        None => report,
    }
}

/// Raises an option list that cannot be used. Never returns.
#[track_caller]
pub fn raise_option(e: &OptionError) -> ! {
    raise(option_report(e))
}

/// The ERROR report of a row that cannot be written (before any request of the statement).
#[track_caller]
pub fn write_report(e: &WriteError, row: usize) -> ErrorReport {
    write_error(e).set_detail(format!(
        "Row {row} of the statement; nothing was sent to PartnerStack."
    ))
}

/// The ERROR report of row `row`, refused before any of its table's rows was sent, when the
/// statement already wrote `elsewhere` rows through its other tables (partitions, CTEs).
#[track_caller]
pub fn write_report_after_other_tables(
    e: &WriteError,
    row: usize,
    elsewhere: usize,
) -> ErrorReport {
    write_error(e).set_detail(format!(
        "Row {row} of the statement; nothing of this table was sent, but the statement already \
         wrote {elsewhere} row(s) to PartnerStack through its other tables: they stay, and the \
         WARNING at the end of the transaction lists them."
    ))
}

/// The ERROR report of row `row` that cannot be written after the statement's first `sent`
/// rows went out (RETURNING sends each row as it comes, an INSERT each `batch_size` rows): what
/// PartnerStack accepted of them stays, and is listed; the rows held since were not sent.
#[track_caller]
pub fn write_report_after_sent(
    e: &WriteError,
    row: usize,
    sent: usize,
    table: &str,
    accepted: &[String],
) -> ErrorReport {
    let held = match row - 1 - sent {
        0 => String::new(),
        1 => format!(" Row {} was not sent either.", sent + 1),
        _ => format!(" Rows {} to {} were not sent either.", sent + 1, row - 1),
    };
    write_error(e)
        .set_detail(format!(
            "Row {row} of the statement; it was not sent. Rows 1 to {sent} went to PartnerStack before it, which accepted {} row(s): {}.{held}",
            accepted.len(),
            shorten(accepted)
        ))
        .set_hint(format!(
            "PartnerStack writes are not transactional: the rows of {table} it accepted stay. \
             Rerun the statement for the rows after them."
        ))
}

/// The ERROR of a write refused before its request, without DETAIL.
#[track_caller]
fn write_error(e: &WriteError) -> ErrorReport {
    use PgSqlErrorCode::*;
    let code = match e {
        WriteError::MissingRequired { .. } | WriteError::NullNotAllowed { .. } => {
            ERRCODE_NOT_NULL_VIOLATION
        }
        WriteError::Unsupported { .. } => ERRCODE_FEATURE_NOT_SUPPORTED,
        WriteError::UnknownColumn { .. } => ERRCODE_UNDEFINED_COLUMN,
        WriteError::ReadOnlyColumn { .. } | WriteError::NotAcceptedOnCreate { .. } => {
            ERRCODE_INVALID_COLUMN_REFERENCE
        }
        _ => ERRCODE_INVALID_PARAMETER_VALUE,
    };
    error(code, e.to_string())
}

/// Raises a row that cannot be written (before any request of the statement). Never returns.
#[track_caller]
pub fn raise_write(e: &WriteError, row: usize) -> ! {
    raise(write_report(e, row))
}

/// The ERROR of a row UPDATE or DELETE reached that lacks the column PartnerStack addresses it
/// by (`key` is the row's own key, if it has one); `accepted` are the keys of the statement's rows already sent and accepted (RETURNING
/// sends each row as it comes).
#[track_caller]
pub fn unaddressable_row_report(
    table: &str,
    key: Option<&str>,
    column: &str,
    accepted: &[String],
) -> ErrorReport {
    let sent = if accepted.is_empty() {
        "Nothing was sent.".to_owned()
    } else {
        format!(
            "Nothing more was sent; PartnerStack accepted {} earlier row(s) of the statement, which stay: {}.",
            accepted.len(),
            shorten(accepted)
        )
    };
    error(
        PgSqlErrorCode::ERRCODE_NOT_NULL_VIOLATION,
        format!(
            "{table} row {} has no {column}, so PartnerStack cannot address it",
            key.unwrap_or("(without key)")
        ),
    )
    .set_detail(format!(
        "{sent} PartnerStack updates and deletes this resource by that column."
    ))
}

/// Keys listed in the DETAIL of a partial failure before "and N more".
const DETAIL_KEYS_SHOWN: usize = 20;

/// How far a multi-row write got when one of its rows failed.
pub struct WriteProgress<'a> {
    /// The foreign table written.
    pub table: &'a str,
    /// The failing row, 1-based.
    pub row: usize,
    /// Rows in the statement.
    pub total: usize,
    /// Keys of the rows PartnerStack accepted before it, in order.
    pub accepted: &'a [String],
    /// A short excerpt of the failing row's request.
    pub failing_row: String,
    /// What became of the statement's other rows that PartnerStack did not accept.
    pub others: &'a RowFates,
}

/// The rows of a statement other than the failing one that PartnerStack did not accept: with
/// several requests in flight, rows sent with the failing one may have failed too, or have no
/// known outcome; the rows after them were never sent. Row numbers are 1-based.
#[derive(Debug, Default)]
pub struct RowFates {
    /// Rows refused, with the API's reason.
    pub failed: Vec<(usize, String)>,
    /// Creates that got no definite answer: PartnerStack may have processed them.
    pub unknown: Vec<usize>,
    /// The rows never sent: `first..=last`.
    pub not_sent: Option<(usize, usize)>,
    /// Creates skipped because their key already exists (`ON CONFLICT DO NOTHING`).
    pub skipped: Vec<usize>,
}

impl RowFates {
    /// The DETAIL sentences for these rows (empty when there are none).
    fn detail(&self) -> String {
        let mut text = String::new();
        if !self.failed.is_empty() {
            let failed: Vec<String> = self
                .failed
                .iter()
                .take(DETAIL_KEYS_SHOWN)
                .map(|(row, reason)| format!("row {row} ({reason})"))
                .collect();
            let more = match self.failed.len().saturating_sub(DETAIL_KEYS_SHOWN) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            text.push_str(&format!(" Also failed: {}{more}.", failed.join("; ")));
        }
        if !self.unknown.is_empty() {
            text.push_str(&format!(
                " Outcome unknown (PartnerStack may have created them): {}.",
                row_list(&self.unknown)
            ));
        }
        if !self.skipped.is_empty() {
            text.push_str(&format!(
                " Skipped, their key already exists (ON CONFLICT DO NOTHING): {}.",
                row_list(&self.skipped)
            ));
        }
        match self.not_sent {
            Some((first, last)) if first == last => {
                text.push_str(&format!(" Not sent: row {first}."));
            }
            Some((first, last)) => text.push_str(&format!(" Not sent: rows {first} to {last}.")),
            None => {}
        }
        text
    }
}

/// Row numbers for a message: `rows 3, 4` or `row 3`.
fn row_list(rows: &[usize]) -> String {
    let shown: Vec<String> = rows
        .iter()
        .take(DETAIL_KEYS_SHOWN)
        .map(usize::to_string)
        .collect();
    let more = rows.len().saturating_sub(DETAIL_KEYS_SHOWN);
    let noun = if rows.len() == 1 { "row" } else { "rows" };
    if more > 0 {
        format!("{noun} {} and {more} more", shown.join(", "))
    } else {
        format!("{noun} {}", shown.join(", "))
    }
}

/// The ERROR report of a create that may have happened although no success came back (5xx,
/// timeout, a broken connection): the row is not reported as failed, since a rerun could
/// create it twice.
#[track_caller]
pub fn write_outcome_unknown_report(e: &ApiError, progress: &WriteProgress<'_>) -> ErrorReport {
    let WriteProgress {
        table,
        row,
        total,
        accepted,
        failing_row,
        others,
    } = progress;
    error(
        PgSqlErrorCode::ERRCODE_FDW_ERROR,
        format!(
            "writing {table}: the outcome of row {row} of {total} is unknown: PartnerStack may have created it ({e})"
        ),
    )
    .set_detail(format!(
        "Accepted: {} row(s): {}. Row {row}: {failing_row}.{}",
        accepted.len(),
        shorten(accepted),
        others.detail(),
    ))
    .set_hint(
        "Check whether that row exists in PartnerStack before sending it again (for \
         transactions: a created_at filter; rows with their own key are refused as \
         duplicates if sent twice).",
    )
}

/// The ERROR report of a row that PartnerStack refused, with what it accepted of the statement
/// (with several rows in flight, rows after the failing one may be among them).
#[track_caller]
pub fn partial_write_report(e: &ApiError, progress: &WriteProgress<'_>) -> ErrorReport {
    let WriteProgress {
        table,
        row,
        total,
        accepted,
        failing_row,
        others,
    } = progress;
    error(
        PgSqlErrorCode::ERRCODE_FDW_ERROR,
        format!(
            "writing {table}: row {row} of {total} failed after PartnerStack accepted {} row(s): {e}",
            accepted.len()
        ),
    )
    .set_detail(format!(
        "Accepted keys: {}. Failing row: {failing_row}{}",
        shorten(accepted),
        others.detail(),
    ))
    .set_hint(
        "PartnerStack writes are not transactional: the accepted rows stay. Rerun the \
         statement for the rows that were not accepted (the failing row, any other failed \
         row, the rows not sent); rows that carry their own keys (customer_key, a \
         transaction's key) are refused as duplicates if sent twice. For customers and \
         partnerships, rerunning the same INSERT with ON CONFLICT DO NOTHING skips the rows \
         that exist.",
    )
}

/// Raises the cancel of a statement while `in_flight` rows (1-based) of `total` were being sent:
/// first a WARNING says what may have happened to them, what was accepted, what failed or has
/// no known outcome before the cancel, and what was never sent; then Postgres reports the
/// cancel. Never returns.
#[track_caller]
pub fn raise_cancelled_write(
    table: &str,
    in_flight: &[usize],
    total: usize,
    accepted: &[String],
    others: &RowFates,
) -> ! {
    let (being, them) = match in_flight {
        [_] => ("was", "it"),
        _ => ("were", "them"),
    };
    let rest = others.detail();
    pgrx::warning!(
        "writing {table}: cancelled while {} of {total} {being} being sent; PartnerStack may \
         have processed {them}. {} row(s) were accepted: {}.{rest}",
        row_list(in_flight),
        accepted.len(),
        shorten(accepted)
    );
    pgrx::check_for_interrupts!();
    raise_api(&ApiError::Cancelled, &format!("writing {table}"))
}

/// Keys for a message: the first [`DETAIL_KEYS_SHOWN`], then "and N more".
fn shorten(keys: &[String]) -> String {
    let shown: Vec<&str> = keys
        .iter()
        .take(DETAIL_KEYS_SHOWN)
        .map(String::as_str)
        .collect();
    let more = keys.len().saturating_sub(DETAIL_KEYS_SHOWN);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else if shown.is_empty() {
        "none".to_owned()
    } else {
        shown.join(", ")
    }
}

/// The ERROR of a statement refused midway, before the request of the row at hand: `message`
/// says why; the DETAIL says what PartnerStack already accepted of `table` in this statement
/// (those rows stay), or that nothing was sent.
#[track_caller]
pub fn refused_midway_report(
    code: PgSqlErrorCode,
    message: String,
    table: &str,
    accepted: &[String],
) -> ErrorReport {
    let detail = if accepted.is_empty() {
        format!("Nothing of this statement was sent to PartnerStack for {table}.")
    } else {
        format!(
            "PartnerStack accepted {} row(s) of {table} in this statement so far; they stay: {}.",
            accepted.len(),
            shorten(accepted)
        )
    };
    error(code, message).set_detail(detail)
}
