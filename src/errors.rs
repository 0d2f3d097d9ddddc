//! The one place API-layer errors become Postgres ERRORs, each with its SQLSTATE and a hint.

use partnerstack_api::{ApiError, MappingError, PushdownError};
use pgrx::PgSqlErrorCode;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;

/// Function name recorded in error reports.
const FUNCNAME: &str = "partnerstack_fdw";

/// An ERROR report with this code and message (add detail and hint, then `.report(ERROR)`).
pub fn error(code: PgSqlErrorCode, message: impl Into<String>) -> ErrorReport {
    ErrorReport::new(code, message, FUNCNAME)
}

/// Raises an API error as an ERROR. Never returns.
pub fn raise_api(e: &ApiError, context: &str) -> ! {
    if let ApiError::Cancelled = e {
        // The interrupt that stopped the wait is still pending: let Postgres report it as such.
        pgrx::check_for_interrupts!();
    }
    api_report(e, context).report(PgLogLevel::ERROR);
    unreachable!()
}

/// The ERROR report of an API error, with its SQLSTATE and hint.
pub fn api_report(e: &ApiError, context: &str) -> ErrorReport {
    use PgSqlErrorCode::*;
    match e {
        ApiError::Unauthorized { .. } => error(
            ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
            format!("{context}: {e}"),
        )
        .set_hint(
            "Check public_key and private_key in the user mapping. PartnerStack issues a test and \
             a production key pair: both public keys start with pk_, and data created with one is \
             not visible to the other.",
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
pub fn raise_mapping(e: &MappingError) -> ! {
    error(PgSqlErrorCode::ERRCODE_FDW_INVALID_DATA_TYPE, e.to_string())
        .set_hint("The attrs column still holds the item as PartnerStack sent it.")
        .report(PgLogLevel::ERROR);
    unreachable!()
}

/// Raises a read of a write-only table. Never returns.
pub fn raise_write_only(e: &partnerstack_api::pushdown::WriteOnlyError) -> ! {
    error(PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED, e.to_string()).report(PgLogLevel::ERROR);
    unreachable!()
}

/// Raises a scan that cannot be turned into requests. Never returns.
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
    report.report(PgLogLevel::ERROR);
    unreachable!()
}
