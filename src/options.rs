//! Reading the options of a server, a user mapping and a foreign table out of the catalogs into
//! the typed options of [`partnerstack_api::options`], which lists them, checks them and holds
//! their defaults. An option list that cannot be used is an ERROR here.

use partnerstack_api::Resource;
use partnerstack_api::client::ClientConfig;
use partnerstack_api::options::{Keys, ServerOptions, TableOptions};
use pgrx::prelude::*;
use pgrx::{PgList, PgSqlErrorCode, pg_sys};

use crate::errors::raise_option;

/// Reads a `DefElem` option list.
///
/// # Safety
/// `list` must be null or a valid `List` of `DefElem` nodes (as the catalogs' `options` fields
/// are), alive for the duration of the call.
unsafe fn options_from_list(list: *mut pg_sys::List) -> Vec<(String, String)> {
    // SAFETY: the caller guarantees a valid (or null) list of DefElem.
    let list = unsafe { PgList::<pg_sys::DefElem>::from_pg(list) };
    list.iter_ptr()
        // SAFETY: each element is a valid DefElem; its defname is a NUL-terminated string and
        // defGetString returns one (or raises an ERROR for an argument it cannot print).
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

/// The options of foreign server `serverid`.
pub fn server_options(serverid: pg_sys::Oid) -> ServerOptions {
    // SAFETY: GetForeignServer returns a palloc'd copy in the current memory context (or
    // raises an ERROR for an unknown oid); its options list lives as long as that context.
    let pairs = unsafe { options_from_list((*pg_sys::GetForeignServer(serverid)).options) };
    ServerOptions::parse(&pairs).unwrap_or_else(|e| raise_option(&e))
}

/// The options of foreign table `relid`.
pub fn table_options(relid: pg_sys::Oid) -> TableOptions {
    // SAFETY: GetForeignTable returns a palloc'd copy in the current memory context (or raises
    // an ERROR for a relation that is not a foreign table).
    let pairs = unsafe { options_from_list((*pg_sys::GetForeignTable(relid)).options) };
    TableOptions::parse(&pairs).unwrap_or_else(|e| raise_option(&e))
}

/// The options of the foreign server called `name` (IMPORT FOREIGN SCHEMA names its server).
pub fn server_options_by_name(name: &str) -> ServerOptions {
    let name = std::ffi::CString::new(name).unwrap_or_default();
    // SAFETY: `name` is a NUL-terminated string alive for the call; with missing_ok false
    // GetForeignServerByName raises an ERROR for an unknown server instead of returning null,
    // and the palloc'd result lives in the current memory context.
    let serverid = unsafe { (*pg_sys::GetForeignServerByName(name.as_ptr(), false)).serverid };
    server_options(serverid)
}

/// The resource foreign table `relid` (with these options) reads: its `resource` option, else
/// its own name, among the resources of its server's API.
pub fn table_resource(relid: pg_sys::Oid, options: &TableOptions) -> &'static Resource {
    // SAFETY: GetForeignTable returns a palloc'd copy in the current memory context (or raises
    // an ERROR for a relation that is not a foreign table).
    let serverid = unsafe { (*pg_sys::GetForeignTable(relid)).serverid };
    let api = server_options(serverid).api;
    // SAFETY: get_rel_name returns a palloc'd NUL-terminated copy of the name, or null when
    // the relation does not exist.
    let relname = unsafe {
        let name = pg_sys::get_rel_name(relid);
        if name.is_null() {
            String::new()
        } else {
            std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .into_owned()
        }
    };
    options
        .resource_in(api, &relname)
        .unwrap_or_else(|e| raise_option(&e))
}

/// The client configuration for reading or writing through `server` as `userid`.
///
/// Keys come from the user mapping (the recommended place: its options are hidden from other
/// roles); server-level keys are a fallback. Without `needs_keys` (S2S conversions, which use
/// only `s2s_token`) missing API keys are left empty.
pub fn client_config(
    server: &ServerOptions,
    serverid: pg_sys::Oid,
    userid: pg_sys::Oid,
    needs_keys: bool,
) -> ClientConfig {
    let mapping = user_mapping_keys(userid, serverid, server);
    server
        .client_config(&mapping, needs_keys)
        .unwrap_or_else(|e| raise_option(&e))
}

/// The keys in the user mapping of `userid`; when there is none and the server holds keys, none
/// are needed.
fn user_mapping_keys(userid: pg_sys::Oid, serverid: pg_sys::Oid, server: &ServerOptions) -> Keys {
    let read = || {
        // SAFETY: GetUserMapping returns a palloc'd copy in the current memory context, or
        // raises an ERROR when the role has no user mapping for the server.
        let pairs =
            unsafe { options_from_list((*pg_sys::GetUserMapping(userid, serverid)).options) };
        Keys::from_user_mapping(&pairs).unwrap_or_else(|e| raise_option(&e))
    };
    if !server.has_keys() {
        // Without server keys a user mapping is required: let Postgres say it is missing.
        return read();
    }
    PgTryBuilder::new(read)
        .catch_when(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, |_| {
            Keys::default()
        })
        .execute()
}
