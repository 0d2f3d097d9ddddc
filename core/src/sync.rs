//! Local copies of a foreign table (`partnerstack_sync`): which column a copy is refreshed by,
//! whether a run is full or incremental, and the SQL each run executes. Pure: the glue in
//! `src/sync.rs` runs these statements through SPI against the foreign table itself, so the
//! scan's pushdown and client do the API work.

use thiserror::Error;

use crate::catalogue::{Pushdown, Resource, quote_ident};

/// The column every copy's primary key is on: the object key the API lists and pages by.
pub const KEY_COLUMN: &str = "key";

/// How a copy learns what changed since its last run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Rows with `updated_at >=` the high-water mark (the API's `min_updated`).
    UpdatedSince,
    /// Rows with `created_at >=` the high-water mark (`min_created`): append-only and
    /// created-only resources, whose updates and deletions only a full run brings.
    CreatedSince,
    /// No time filter in the API (webhooks), or the table lacks the column: every run is full.
    FullOnly,
}

impl Strategy {
    /// The strategy of a foreign table of `resource` with these columns: `updated_at` where the
    /// endpoint filters by it, else `created_at`, else full runs only.
    pub fn for_table(resource: &Resource, columns: &[&str]) -> Strategy {
        let pushed = |name: &str, how: Pushdown| {
            columns.contains(&name) && resource.column(name).is_some_and(|c| c.pushdown == how)
        };
        if pushed("updated_at", Pushdown::UpdatedRange) {
            Strategy::UpdatedSince
        } else if pushed("created_at", Pushdown::CreatedRange) {
            Strategy::CreatedSince
        } else {
            Strategy::FullOnly
        }
    }

    /// The timestamp column the high-water mark is taken from and filtered on.
    pub fn mark_column(self) -> Option<&'static str> {
        match self {
            Strategy::UpdatedSince => Some("updated_at"),
            Strategy::CreatedSince => Some("created_at"),
            Strategy::FullOnly => None,
        }
    }

    /// The value of the state table's `mode` column.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::UpdatedSince => "incremental by updated_at",
            Strategy::CreatedSince => "incremental by created_at",
            Strategy::FullOnly => "full only",
        }
    }
}

/// What one run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Reads everything, upserts it and deletes the rows the API no longer returns.
    Full,
    /// Reads from the high-water mark on (inclusive) and upserts; deletes nothing.
    Incremental,
}

impl RunMode {
    /// The `mode` column of `partnerstack_sync`'s result row.
    pub fn name(self) -> &'static str {
        match self {
            RunMode::Full => "full",
            RunMode::Incremental => "incremental",
        }
    }
}

/// What the state of a copy says before a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Previous {
    /// The copy exists and has state from a successful run with a high-water mark.
    pub has_mark: bool,
    /// Incremental runs since the last full one.
    pub incremental_runs_since_full: u64,
}

/// Why a table cannot be copied.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SyncError {
    /// Conversions: nothing to list.
    #[error("PartnerStack {0} cannot be listed, so it cannot be copied")]
    NotListable(&'static str),
    /// Links: each list needs a partnership key.
    #[error("PartnerStack {0} is listed per {1} (GET {2}), so it cannot be copied as one table")]
    NeedsPathParameter(&'static str, &'static str, &'static str),
    /// The table has no `key` column to be the copy's primary key.
    #[error("the foreign table has no column \"{KEY_COLUMN}\", the copy's primary key")]
    NoKeyColumn,
    /// `full_every` below 1.
    #[error("full_every must be 1 or more (or NULL for never), not {0}")]
    FullEvery(i64),
}

/// Checks that a foreign table of `resource` with these columns can be copied.
pub fn check_copyable(resource: &Resource, columns: &[&str]) -> Result<(), SyncError> {
    if !resource.readable {
        return Err(SyncError::NotListable(resource.name));
    }
    if let Some(p) = resource.path_parameter() {
        return Err(SyncError::NeedsPathParameter(
            resource.name,
            p.name,
            resource.list_path,
        ));
    }
    if !columns.contains(&KEY_COLUMN) {
        return Err(SyncError::NoKeyColumn);
    }
    Ok(())
}

/// Chooses a run's mode: full on the first run (no mark yet), when asked, for a strategy
/// without a filter, and when `full_every` runs have passed (the `full_every`-th run after a
/// full one is full again: 1 means always); incremental otherwise.
pub fn choose_run_mode(
    strategy: Strategy,
    previous: Previous,
    full_refresh: bool,
    full_every: Option<i64>,
) -> Result<RunMode, SyncError> {
    if let Some(n) = full_every
        && n < 1
    {
        return Err(SyncError::FullEvery(n));
    }
    let due = full_every.is_some_and(|n| previous.incremental_runs_since_full + 1 >= n as u64);
    if full_refresh || due || !previous.has_mark || strategy == Strategy::FullOnly {
        Ok(RunMode::Full)
    } else {
        Ok(RunMode::Incremental)
    }
}

/// A column of the foreign table as the copy has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyColumn {
    /// Column name.
    pub name: String,
    /// Its type as `format_type` spells it.
    pub sql_type: String,
}

/// `CREATE TABLE` for a new copy: the foreign table's columns. `target` is already quoted
/// (`"analytics"."ps_customers"`). The primary key comes after the first fill
/// ([`add_primary_key_sql`]): building the index once by sorting is cheaper than growing it
/// row by row in random key order.
pub fn create_table_sql(target: &str, columns: &[CopyColumn]) -> String {
    let lines: Vec<String> = columns
        .iter()
        .map(|c| format!("  {} {}", quote_ident(&c.name), c.sql_type))
        .collect();
    format!("CREATE TABLE {target} (\n{}\n)", lines.join(",\n"))
}

/// The copy's primary key on [`KEY_COLUMN`], added after its first fill.
pub fn add_primary_key_sql(target: &str) -> String {
    format!(
        "ALTER TABLE {target} ADD PRIMARY KEY ({})",
        quote_ident(KEY_COLUMN)
    )
}

/// `ALTER TABLE ... ADD COLUMN` for the foreign table's columns the copy lacks (a new IMPORT
/// brought a column); `None` when it has them all. Columns the copy has beyond the foreign
/// table's are left alone.
pub fn add_columns_sql(
    target: &str,
    columns: &[CopyColumn],
    existing: &[String],
) -> Option<String> {
    let added: Vec<String> = columns
        .iter()
        .filter(|c| !existing.contains(&c.name))
        .map(|c| format!("ADD COLUMN {} {}", quote_ident(&c.name), c.sql_type))
        .collect();
    (!added.is_empty()).then(|| format!("ALTER TABLE {target} {}", added.join(", ")))
}

/// The one statement a run executes. It reads the foreign table once (incremental: with
/// `mark_column >= $1`, which the scan pushes down as `min_updated`/`min_created` of the mark's
/// millisecond, so a row updated in that same millisecond is read again rather than missed),
/// upserts by key, updating only rows that differ, deletes on a full run the rows the API no
/// longer returns, and answers one row: `inserted, updated, deleted` (bigint) and the new
/// mark (timestamptz, NULL when the table has no mark column or no rows were read).
///
/// `source` and `target` are already quoted; the column names are quoted here.
pub fn run_sql(
    source: &str,
    target: &str,
    columns: &[&str],
    strategy: Strategy,
    mode: RunMode,
) -> String {
    let list = column_list(columns);
    let key = quote_ident(KEY_COLUMN);
    let filter = match (mode, strategy.mark_column()) {
        (RunMode::Incremental, Some(column)) => format!(" WHERE {} >= $1", quote_ident(column)),
        _ => String::new(),
    };
    let others: Vec<String> = columns
        .iter()
        .filter(|&&c| c != KEY_COLUMN)
        .map(|c| quote_ident(c))
        .collect();
    let on_conflict = if others.is_empty() {
        "DO NOTHING".to_owned()
    } else {
        let set = others
            .iter()
            .map(|c| format!("{c} = EXCLUDED.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let copy_row = others
            .iter()
            .map(|c| format!("copy.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let new_row = others
            .iter()
            .map(|c| format!("EXCLUDED.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("DO UPDATE SET {set} WHERE ROW({copy_row}) IS DISTINCT FROM ROW({new_row})")
    };
    let deleted = match mode {
        RunMode::Full => format!(
            ",\ndeleted AS (DELETE FROM {target} AS copy WHERE NOT EXISTS \
             (SELECT 1 FROM fetched WHERE fetched.{key} = copy.{key}) RETURNING 1)"
        ),
        RunMode::Incremental => String::new(),
    };
    let deleted_count = match mode {
        RunMode::Full => "(SELECT count(*) FROM deleted)",
        RunMode::Incremental => "0::bigint",
    };
    let mark = match strategy.mark_column() {
        Some(column) => format!("(SELECT max({}) FROM fetched)", quote_ident(column)),
        None => "NULL::timestamptz".to_owned(),
    };
    // `xmax = 0` on the returned row tells an insert from an update (an upsert's update sets
    // xmax to the updating transaction); rows that did not differ are not returned at all.
    format!(
        "WITH fetched AS MATERIALIZED (SELECT {list} FROM {source}{filter}),\n\
         upserted AS (INSERT INTO {target} AS copy ({list}) SELECT {list} FROM fetched \
         ON CONFLICT ({key}) {on_conflict} RETURNING (copy.xmax = 0) AS inserted){deleted}\n\
         SELECT (SELECT count(*) FILTER (WHERE inserted) FROM upserted),\n\
         (SELECT count(*) FILTER (WHERE NOT inserted) FROM upserted),\n\
         {deleted_count},\n\
         {mark}"
    )
}

/// The statement of a full run into a copy created by this run: a plain `INSERT ... SELECT`,
/// with none of [`run_sql`]'s conflict handling, set of fetched rows or deletion, which would
/// only cost time on an empty table (a first copy of 100,000 rows is mostly insert cost).
/// Answers the same row as [`run_sql`].
pub fn initial_copy_sql(
    source: &str,
    target: &str,
    columns: &[&str],
    strategy: Strategy,
) -> String {
    let list = column_list(columns);
    let (returning, mark) = match strategy.mark_column() {
        Some(column) => {
            let column = quote_ident(column);
            (column.clone(), format!("max({column})"))
        }
        None => ("1".to_owned(), "NULL::timestamptz".to_owned()),
    };
    format!(
        "WITH inserted AS (INSERT INTO {target} ({list}) SELECT {list} FROM {source} \
         RETURNING {returning})\n\
         SELECT count(*), 0::bigint, 0::bigint, {mark} FROM inserted"
    )
}

/// `"a", "b", ...`: the columns quoted, in order.
fn column_list(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "sync_tests.rs"]
mod tests;
