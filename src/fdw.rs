//! The wrapper's entry points: handler and validator (via `#[wrappers_fdw]`), IMPORT FOREIGN
//! SCHEMA, and the hook that installs our own scan callbacks.

use std::collections::HashMap;

use partnerstack_api::catalogue::{self, Api};
use partnerstack_api::options::{Scope, validate};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgSqlErrorCode, pg_sys};
use supabase_wrappers::prelude::*;

use crate::errors::{error, option_report};
use crate::modify::ModifyHandle;
use crate::options::server_options_by_name;
use crate::scan;

/// The `partnerstack` foreign data wrapper.
#[wrappers_fdw(
    version = "0.2.0",
    author = "partnerstack",
    website = "https://github.com/partnerstack-fdw",
    error_type = "ErrorReport"
)]
pub(crate) struct PartnerstackFdw {
    /// The statement being written, between begin_modify and end_modify.
    modify: Option<ModifyHandle>,
}

impl PartnerstackFdw {
    fn modifying(&mut self) -> &mut ModifyHandle {
        self.modify
            .as_mut()
            .expect("the framework calls begin_modify first")
    }
}

fn not_through_framework() -> ErrorReport {
    error(
        PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
        "partnerstack scans run through their own callbacks",
    )
}

impl ForeignDataWrapper<ErrorReport> for PartnerstackFdw {
    fn new(_server: ForeignServer) -> Result<Self, ErrorReport> {
        Ok(PartnerstackFdw { modify: None })
    }

    fn begin_scan(
        &mut self,
        _quals: &[Qual],
        _columns: &[Column],
        _sorts: &[Sort],
        _limit: &Option<Limit>,
        _options: &HashMap<String, String>,
    ) -> Result<(), ErrorReport> {
        Err(not_through_framework())
    }

    fn iter_scan(&mut self, _row: &mut Row) -> Result<Option<()>, ErrorReport> {
        Err(not_through_framework())
    }

    fn end_scan(&mut self) -> Result<(), ErrorReport> {
        Ok(())
    }

    fn begin_modify(&mut self, options: &HashMap<String, String>) -> Result<(), ErrorReport> {
        self.modify = Some(ModifyHandle::begin(options));
        Ok(())
    }

    // Errors are returned, not raised, so the framework frees its statement state first.
    fn insert(&mut self, row: &Row) -> Result<(), ErrorReport> {
        self.modifying().insert(row)
    }

    fn update(&mut self, rowid: &Cell, new_row: &Row) -> Result<(), ErrorReport> {
        self.modifying().update(rowid, new_row)
    }

    fn delete(&mut self, rowid: &Cell) -> Result<(), ErrorReport> {
        self.modifying().delete(rowid)
    }

    fn end_modify(&mut self) -> Result<(), ErrorReport> {
        match self.modify.take() {
            Some(mut state) => state.finish(),
            None => Ok(()),
        }
    }

    fn import_foreign_schema(
        &mut self,
        stmt: ImportForeignSchemaStmt,
    ) -> Result<Vec<String>, ErrorReport> {
        if stmt.remote_schema != "partnerstack" {
            return Err(error(
                PgSqlErrorCode::ERRCODE_FDW_SCHEMA_NOT_FOUND,
                format!("remote schema \"{}\" does not exist", stmt.remote_schema),
            )
            .set_hint("Use IMPORT FOREIGN SCHEMA partnerstack FROM SERVER ... INTO ..."));
        }
        if !stmt.options.is_empty() {
            return Err(error(
                PgSqlErrorCode::ERRCODE_FDW_INVALID_OPTION_NAME,
                "IMPORT FOREIGN SCHEMA partnerstack takes no options",
            ));
        }
        let api = server_options_by_name(&stmt.server_name).api;
        let listed = |name: &str| stmt.table_list.iter().any(|t| t == name);
        for name in &stmt.table_list {
            if catalogue::resource_in(api, name).is_none() {
                let which = match api {
                    Api::Vendor => "PartnerStack",
                    Api::Partner => "PartnerStack's Partner API",
                };
                let mut hint = format!("Tables: {}.", catalogue::table_names(api).join(", "));
                if catalogue::resource_in(api.other(), name).is_some() {
                    hint.push_str(&format!(
                        " \"{name}\" is a table of {}: import it from one.",
                        api.other().server_kind()
                    ));
                }
                return Err(error(
                    PgSqlErrorCode::ERRCODE_FDW_TABLE_NOT_FOUND,
                    format!("{which} has no table \"{name}\""),
                )
                .set_hint(hint));
            }
        }
        Ok(api
            .resources()
            .iter()
            .filter(|r| match stmt.list_type {
                ImportSchemaType::FdwImportSchemaAll => true,
                ImportSchemaType::FdwImportSchemaLimitTo => listed(r.table_name()),
                ImportSchemaType::FdwImportSchemaExcept => !listed(r.table_name()),
            })
            .map(|r| r.create_table_sql(&stmt.local_schema, &stmt.server_name))
            .collect())
    }

    fn validator(
        options: Vec<Option<String>>,
        catalog: Option<pg_sys::Oid>,
    ) -> Result<(), ErrorReport> {
        let scope = match catalog {
            Some(oid) if oid == FOREIGN_DATA_WRAPPER_RELATION_ID => Scope::Wrapper,
            Some(oid) if oid == FOREIGN_SERVER_RELATION_ID => Scope::Server,
            Some(oid) if oid == FOREIGN_TABLE_RELATION_ID => Scope::Table,
            Some(oid) if oid == pg_sys::BuiltinOid::UserMappingRelationId.value() => {
                Scope::UserMapping
            }
            _ => return Ok(()),
        };
        let pairs: Vec<(String, String)> = options
            .into_iter()
            .flatten()
            .map(|o| match o.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (o, String::new()),
            })
            .collect();
        validate(scope, &pairs).map_err(|e| option_report(&e))
    }

    fn fdw_routine_hook(routine: &mut supabase_wrappers::FdwRoutine<pgrx::AllocatedByRust>) {
        routine.GetForeignRelSize = Some(scan::get_foreign_rel_size);
        routine.GetForeignPaths = Some(scan::get_foreign_paths);
        routine.GetForeignPlan = Some(scan::get_foreign_plan);
        routine.BeginForeignScan = Some(scan::begin_foreign_scan);
        routine.IterateForeignScan = Some(scan::iterate_foreign_scan);
        routine.ReScanForeignScan = Some(scan::re_scan_foreign_scan);
        routine.EndForeignScan = Some(scan::end_foreign_scan);
        routine.ExplainForeignScan = Some(scan::explain_foreign_scan);
        // count(*) from the list answers' total; no other aggregate (the API cannot aggregate).
        routine.GetForeignUpperPaths = Some(scan::get_foreign_upper_paths);
        // ANALYZE: the row count from total and a sample of the newest rows.
        routine.AnalyzeForeignTable = Some(scan::analyze_foreign_table);
        // Writes go through the framework's modify callbacks, whose begin does not tell us
        // whose keys to use: ours records the statement's user, then calls it.
        crate::modify::wrap_begin_modify(&mut routine.BeginForeignModify);
        routine.ExplainForeignModify = Some(crate::modify::explain_foreign_modify);
    }
}
