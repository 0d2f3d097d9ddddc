//! The wrapper's entry points: handler and validator (via `#[wrappers_fdw]`), IMPORT FOREIGN
//! SCHEMA, and the hook that installs our own scan and modify callbacks.

use std::collections::HashMap;

use partnerstack_api::catalogue::{self, Api};
use partnerstack_api::options::{Scope, validate};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgSqlErrorCode, pg_sys};
use supabase_wrappers::prelude::*;

use crate::errors::{error, option_report};
use crate::options::server_options_by_name;
use crate::{modify, scan};

/// The `partnerstack` foreign data wrapper.
#[wrappers_fdw(
    version = "0.2.0",
    author = "partnerstack",
    website = "https://github.com/partnerstack-fdw",
    error_type = "ErrorReport"
)]
pub(crate) struct PartnerstackFdw;

fn not_through_framework() -> ErrorReport {
    error(
        PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
        "partnerstack scans and writes run through their own callbacks",
    )
}

impl ForeignDataWrapper<ErrorReport> for PartnerstackFdw {
    fn new(_server: ForeignServer) -> Result<Self, ErrorReport> {
        Ok(PartnerstackFdw)
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

    fn begin_modify(&mut self, _options: &HashMap<String, String>) -> Result<(), ErrorReport> {
        Err(not_through_framework())
    }

    fn insert(&mut self, _row: &Row) -> Result<(), ErrorReport> {
        Err(not_through_framework())
    }

    fn update(&mut self, _rowid: &Cell, _new_row: &Row) -> Result<(), ErrorReport> {
        Err(not_through_framework())
    }

    fn delete(&mut self, _rowid: &Cell) -> Result<(), ErrorReport> {
        Err(not_through_framework())
    }

    fn end_modify(&mut self) -> Result<(), ErrorReport> {
        Ok(())
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
        // Writes: the framework's callbacks refuse RETURNING, lack BeginForeignInsert (COPY,
        // partitions) and batches, and skip a row without its addressing key; see `modify`.
        routine.AddForeignUpdateTargets = Some(modify::add_foreign_update_targets);
        // Nothing to carry from planning: the executor knows the updated columns and the
        // junk columns by name.
        routine.PlanForeignModify = None;
        routine.BeginForeignModify = Some(modify::begin_foreign_modify);
        routine.ExecForeignInsert = Some(modify::exec_foreign_insert);
        routine.ExecForeignBatchInsert = Some(modify::exec_foreign_batch_insert);
        routine.GetForeignModifyBatchSize = Some(modify::get_foreign_modify_batch_size);
        routine.ExecForeignUpdate = Some(modify::exec_foreign_update);
        routine.ExecForeignDelete = Some(modify::exec_foreign_delete);
        routine.EndForeignModify = Some(modify::end_foreign_modify);
        routine.BeginForeignInsert = Some(modify::begin_foreign_insert);
        routine.EndForeignInsert = Some(modify::end_foreign_insert);
        routine.ExplainForeignModify = Some(modify::explain_foreign_modify);
        // No IsForeignRelUpdatable: Postgres would refuse a write the catalogue lacks with its
        // own "cannot update foreign table", before our ERROR that says why ("transactions are
        // append-only", "groups are read-only").
    }
}
