//! Server, user-mapping and table options: their names, validation, and reading them back.

use std::collections::HashMap;

use partnerstack_api::catalogue::UpdateMethod;
use partnerstack_api::client::{ClientConfig, DEFAULT_API_URL, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use partnerstack_api::{Resource, catalogue};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{PgList, PgSqlErrorCode};

use crate::errors::error;

/// Server options, with a line for messages.
pub const SERVER_OPTIONS: &[&str] = &[
    "api_url",
    "page_size",
    "connect_timeout_ms",
    "timeout_ms",
    "max_retries",
    "retry_base_ms",
    "retry_max_ms",
    "max_response_bytes",
    "max_requests_per_minute",
    "public_key",
    "private_key",
    "update_method",
    "s2s_url",
    "s2s_token",
];
/// User-mapping options.
pub const USER_MAPPING_OPTIONS: &[&str] = &["public_key", "private_key", "s2s_token"];
/// Foreign-table options.
pub const TABLE_OPTIONS: &[&str] = &["resource", "estimated_rows", "rowid_column", "insert_mode"];

/// Row estimate for a list scan when the table does not set `estimated_rows`: large enough
/// that the planner prefers key lookups and hash joins over repeated list scans.
pub const DEFAULT_ESTIMATED_ROWS: f64 = 1000.0;

/// Which catalogue an option list belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionScope {
    /// `CREATE FOREIGN DATA WRAPPER`
    Wrapper,
    /// `CREATE SERVER`
    Server,
    /// `CREATE USER MAPPING`
    UserMapping,
    /// `CREATE FOREIGN TABLE`
    Table,
}

impl OptionScope {
    fn accepted(self) -> &'static [&'static str] {
        match self {
            OptionScope::Wrapper => &[],
            OptionScope::Server => SERVER_OPTIONS,
            OptionScope::UserMapping => USER_MAPPING_OPTIONS,
            OptionScope::Table => TABLE_OPTIONS,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            OptionScope::Wrapper => "foreign data wrapper",
            OptionScope::Server => "server",
            OptionScope::UserMapping => "user mapping",
            OptionScope::Table => "foreign table",
        }
    }
}

/// Validates one option list as given to CREATE/ALTER. Errors name the option and the accepted ones.
pub fn validate(scope: OptionScope, options: &[(String, String)]) {
    let accepted = scope.accepted();
    for (name, value) in options {
        if !accepted.contains(&name.as_str()) {
            let hint = if accepted.is_empty() {
                format!("A partnerstack {} takes no options.", scope.noun())
            } else {
                format!("Valid options are: {}.", accepted.join(", "))
            };
            error(
                PgSqlErrorCode::ERRCODE_FDW_INVALID_OPTION_NAME,
                format!(
                    "invalid option \"{name}\" for a partnerstack {}",
                    scope.noun()
                ),
            )
            .set_hint(hint)
            .report(PgLogLevel::ERROR);
        }
        if let Err(problem) = check_value(name, value) {
            error(
                PgSqlErrorCode::ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE,
                format!("invalid value for option \"{name}\": {problem}"),
            )
            .report(PgLogLevel::ERROR);
        }
    }
}

fn check_value(name: &str, value: &str) -> Result<(), String> {
    match name {
        "api_url" | "s2s_url" => {
            let rest = value
                .strip_prefix("https://")
                .or_else(|| value.strip_prefix("http://"))
                .ok_or("it must start with https:// or http://")?;
            if rest.is_empty() || rest.starts_with('/') {
                return Err("it has no host".into());
            }
            Ok(())
        }
        "page_size" => number(value, 1, u64::from(MAX_PAGE_SIZE)).map(drop),
        "connect_timeout_ms" | "timeout_ms" => number(value, 1, 3_600_000).map(drop),
        "max_retries" => number(value, 0, 20).map(drop),
        "retry_base_ms" | "retry_max_ms" => number(value, 0, 600_000).map(drop),
        "max_response_bytes" => number(value, 1024, 1 << 30).map(drop),
        "max_requests_per_minute" => number(value, 0, 1_000_000).map(drop),
        "estimated_rows" => number(value, 1, 1 << 40).map(drop),
        "public_key" | "private_key" | "s2s_token" if value.trim().is_empty() => {
            Err("it is empty".into())
        }
        "update_method" => UpdateMethod::from_option(value)
            .map(drop)
            .ok_or_else(|| format!("\"{value}\" is neither 'put' nor 'patch'")),
        "insert_mode" => match value {
            "insert" | "upsert" => Ok(()),
            _ => Err(format!("\"{value}\" is neither 'insert' nor 'upsert'")),
        },
        "resource" => catalogue::resource(value).map(drop).ok_or_else(|| {
            format!(
                "\"{value}\" is not a PartnerStack resource; valid resources are: {}",
                catalogue::resource_names().join(", ")
            )
        }),
        _ => Ok(()),
    }
}

fn number(value: &str, min: u64, max: u64) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "\"{value}\" is not a whole number from {min} to {max}"
        )),
    }
}

/// Reads a `DefElem` option list.
///
/// # Safety
/// `list` must be a valid option list (or null).
pub unsafe fn options_from_list(list: *mut pg_sys::List) -> Vec<(String, String)> {
    let list = unsafe { PgList::<pg_sys::DefElem>::from_pg(list) };
    list.iter_ptr()
        .map(|def| unsafe {
            let name = std::ffi::CStr::from_ptr((*def).defname)
                .to_string_lossy()
                .into_owned();
            let value = std::ffi::CStr::from_ptr(pg_sys::defGetString(def))
                .to_string_lossy()
                .into_owned();
            (name, value)
        })
        .collect()
}

/// The resource a foreign table reads: its `resource` option, else its own name.
pub fn table_resource(relid: pg_sys::Oid) -> &'static Resource {
    let (options, relname) = unsafe {
        let table = pg_sys::GetForeignTable(relid);
        let name = pg_sys::get_rel_name(relid);
        let relname = if name.is_null() {
            String::new()
        } else {
            std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .into_owned()
        };
        (options_from_list((*table).options), relname)
    };
    let name = options
        .iter()
        .find(|(k, _)| k == "resource")
        .map_or(relname.as_str(), |(_, v)| v.as_str());
    catalogue::resource(name).unwrap_or_else(|| {
        error(
            PgSqlErrorCode::ERRCODE_FDW_INVALID_OPTION_NAME,
            format!("foreign table \"{relname}\" does not name a PartnerStack resource"),
        )
        .set_hint(format!(
            "Set OPTIONS (resource '...') to one of: {}.",
            catalogue::resource_names().join(", ")
        ))
        .report(PgLogLevel::ERROR);
        unreachable!()
    })
}

/// The table option `estimated_rows`, or the default.
pub fn table_estimated_rows(relid: pg_sys::Oid) -> f64 {
    let options = unsafe { options_from_list((*pg_sys::GetForeignTable(relid)).options) };
    options
        .iter()
        .find(|(k, _)| k == "estimated_rows")
        .and_then(|(_, v)| v.parse::<f64>().ok())
        .unwrap_or(DEFAULT_ESTIMATED_ROWS)
}

/// Everything a scan needs from the server and the user mapping.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// Client settings, keys included (Debug redacts the private key).
    pub client: ClientConfig,
}

/// Reads the server's options and the user mapping of `userid` into a client configuration.
///
/// Keys come from the user mapping (the recommended place: its options are hidden from other
/// roles); server-level keys are a fallback. Without `needs_keys` (S2S conversions, which use
/// only `s2s_token`) missing API keys are left empty.
pub fn scan_config(serverid: pg_sys::Oid, userid: pg_sys::Oid, needs_keys: bool) -> ScanConfig {
    let server: HashMap<String, String> = unsafe {
        options_from_list((*pg_sys::GetForeignServer(serverid)).options)
            .into_iter()
            .collect()
    };
    let mapping: HashMap<String, String> = user_mapping_options(userid, serverid, &server);
    let key = |name: &str| {
        mapping
            .get(name)
            .or_else(|| server.get(name))
            .cloned()
            .or_else(|| (!needs_keys).then(String::new))
            .unwrap_or_else(|| {
                error(
                    PgSqlErrorCode::ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
                    format!("no {name} for the PartnerStack server"),
                )
                .set_hint(
                    "Set it in the user mapping: CREATE USER MAPPING FOR CURRENT_USER SERVER ... \
                     OPTIONS (public_key '...', private_key '...').",
                )
                .report(PgLogLevel::ERROR);
                unreachable!()
            })
    };
    let api_url = server
        .get("api_url")
        .map_or(DEFAULT_API_URL, String::as_str);
    let mut client = ClientConfig::new(api_url, &key("public_key"), &key("private_key"));
    if let Some(url) = server.get("s2s_url") {
        client.s2s_url = url.trim_end_matches('/').to_owned();
    }
    client.s2s_token = mapping
        .get("s2s_token")
        .or_else(|| server.get("s2s_token"))
        .cloned();
    let num = |name: &str| server.get(name).and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(v) = num("connect_timeout_ms") {
        client.connect_timeout_ms = v;
    }
    if let Some(v) = num("timeout_ms") {
        client.timeout_ms = v;
    }
    if let Some(v) = num("max_retries") {
        client.max_retries = v as u32;
    }
    if let Some(v) = num("retry_base_ms") {
        client.retry_base_ms = v;
    }
    if let Some(v) = num("retry_max_ms") {
        client.retry_max_ms = v;
    }
    if let Some(v) = num("max_response_bytes") {
        client.max_response_bytes = v;
    }
    if let Some(v) = num("max_requests_per_minute") {
        client.max_requests_per_minute = v;
    }
    ScanConfig { client }
}

/// The server's `page_size`, or the default (the API's maximum).
pub fn server_page_size(serverid: pg_sys::Oid) -> u32 {
    unsafe { options_from_list((*pg_sys::GetForeignServer(serverid)).options) }
        .iter()
        .find(|(k, _)| k == "page_size")
        .and_then(|(_, v)| v.trim().parse::<u32>().ok())
        .unwrap_or(DEFAULT_PAGE_SIZE)
}

/// The user mapping's options; when there is none and the server holds keys, none are needed.
fn user_mapping_options(
    userid: pg_sys::Oid,
    serverid: pg_sys::Oid,
    server: &HashMap<String, String>,
) -> HashMap<String, String> {
    let server_has_keys = server.contains_key("public_key") && server.contains_key("private_key")
        || server.contains_key("s2s_token");
    if !server_has_keys {
        // Without server keys a user mapping is required: let Postgres say it is missing.
        return unsafe {
            options_from_list((*pg_sys::GetUserMapping(userid, serverid)).options)
                .into_iter()
                .collect()
        };
    }
    PgTryBuilder::new(|| unsafe {
        options_from_list((*pg_sys::GetUserMapping(userid, serverid)).options)
            .into_iter()
            .collect()
    })
    .catch_when(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, |_| HashMap::new())
    .execute()
}
