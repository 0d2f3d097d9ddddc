//! Unit tests of [`super`]: strategies, run modes and the statements of a run.

use super::*;
use crate::catalogue::resource;

fn all_columns(name: &str) -> Vec<&'static str> {
    resource(name)
        .unwrap()
        .columns
        .iter()
        .map(|c| c.name)
        .collect()
}

fn strategy(name: &str) -> Strategy {
    Strategy::for_table(resource(name).unwrap(), &all_columns(name))
}

#[test]
fn updated_at_where_the_endpoint_filters_by_it() {
    for name in [
        "customers",
        "partnerships",
        "groups",
        "deals",
        "leads",
        "actions",
    ] {
        assert_eq!(strategy(name), Strategy::UpdatedSince, "{name}");
    }
    for name in ["transactions", "rewards"] {
        assert_eq!(strategy(name), Strategy::CreatedSince, "{name}");
    }
    assert_eq!(strategy("webhooks"), Strategy::FullOnly);
}

#[test]
fn a_table_without_the_mark_column_falls_back() {
    let customers = resource("customers").unwrap();
    assert_eq!(
        Strategy::for_table(customers, &["key", "created_at", "email"]),
        Strategy::CreatedSince
    );
    assert_eq!(
        Strategy::for_table(customers, &["key", "email"]),
        Strategy::FullOnly
    );
}

#[test]
fn links_conversions_and_tables_without_key_are_refused() {
    let links = resource("links").unwrap();
    let e = check_copyable(links, &all_columns("links")).unwrap_err();
    assert!(e.to_string().contains("per partnership_key"), "{e}");
    let conversions = resource("conversions").unwrap();
    assert_eq!(
        check_copyable(conversions, &all_columns("conversions")),
        Err(SyncError::NotListable("conversions"))
    );
    let customers = resource("customers").unwrap();
    assert_eq!(
        check_copyable(customers, &["email", "updated_at"]),
        Err(SyncError::NoKeyColumn)
    );
    assert_eq!(check_copyable(customers, &all_columns("customers")), Ok(()));
}

fn previous(has_mark: bool, since_full: u64) -> Previous {
    Previous {
        has_mark,
        incremental_runs_since_full: since_full,
    }
}

#[test]
fn first_run_requested_and_unfiltered_runs_are_full() {
    let s = Strategy::UpdatedSince;
    assert_eq!(
        choose_run_mode(s, previous(false, 0), false, None),
        Ok(RunMode::Full)
    );
    assert_eq!(
        choose_run_mode(s, previous(true, 3), true, None),
        Ok(RunMode::Full)
    );
    assert_eq!(
        choose_run_mode(s, previous(true, 3), false, None),
        Ok(RunMode::Incremental)
    );
    assert_eq!(
        choose_run_mode(Strategy::FullOnly, previous(true, 0), false, None),
        Ok(RunMode::Full)
    );
}

#[test]
fn full_every_n_runs() {
    let s = Strategy::CreatedSince;
    // full_every 3: full, incremental, incremental, full, ...
    let modes: Vec<RunMode> = (0..3)
        .map(|since| choose_run_mode(s, previous(true, since), false, Some(3)).unwrap())
        .collect();
    assert_eq!(
        modes,
        [RunMode::Incremental, RunMode::Incremental, RunMode::Full]
    );
    assert_eq!(
        choose_run_mode(s, previous(true, 0), false, Some(1)),
        Ok(RunMode::Full)
    );
    assert_eq!(
        choose_run_mode(s, previous(true, 0), false, Some(0)),
        Err(SyncError::FullEvery(0))
    );
}

fn columns(names: &[&str]) -> Vec<CopyColumn> {
    names
        .iter()
        .map(|n| CopyColumn {
            name: (*n).to_owned(),
            sql_type: "text".to_owned(),
        })
        .collect()
}

#[test]
fn create_and_add_columns() {
    assert_eq!(
        create_table_sql("\"a\".\"t\"", &columns(&["key", "email"])),
        "CREATE TABLE \"a\".\"t\" (\n  \"key\" text,\n  \"email\" text\n)"
    );
    assert_eq!(
        add_primary_key_sql("\"a\".\"t\""),
        "ALTER TABLE \"a\".\"t\" ADD PRIMARY KEY (\"key\")"
    );
    let existing = vec!["key".to_owned(), "email".to_owned()];
    assert_eq!(
        add_columns_sql("t", &columns(&["key", "email"]), &existing),
        None
    );
    assert_eq!(
        add_columns_sql("t", &columns(&["key", "name", "email", "x\"y"]), &existing).unwrap(),
        "ALTER TABLE t ADD COLUMN \"name\" text, ADD COLUMN \"x\"\"y\" text"
    );
}

#[test]
fn incremental_statement_filters_from_the_mark_and_deletes_nothing() {
    let sql = run_sql(
        "\"ps\".\"customers\"",
        "\"a\".\"c\"",
        &["key", "email", "updated_at"],
        Strategy::UpdatedSince,
        RunMode::Incremental,
    );
    assert!(
        sql.contains("FROM \"ps\".\"customers\" WHERE \"updated_at\" >= $1)"),
        "{sql}"
    );
    assert!(sql.contains("ON CONFLICT (\"key\") DO UPDATE SET \"email\" = EXCLUDED.\"email\", \"updated_at\" = EXCLUDED.\"updated_at\" WHERE ROW(copy.\"email\", copy.\"updated_at\") IS DISTINCT FROM ROW(EXCLUDED.\"email\", EXCLUDED.\"updated_at\")"), "{sql}");
    assert!(!sql.contains("DELETE"), "{sql}");
    assert!(
        sql.contains("(SELECT max(\"updated_at\") FROM fetched)"),
        "{sql}"
    );
}

#[test]
fn full_statement_reads_everything_and_deletes_the_rest() {
    let sql = run_sql(
        "s",
        "t",
        &["key", "created_at"],
        Strategy::CreatedSince,
        RunMode::Full,
    );
    assert!(
        sql.contains("SELECT \"key\", \"created_at\" FROM s),"),
        "{sql}"
    );
    assert!(!sql.contains("$1"), "{sql}");
    assert!(
        sql.contains("DELETE FROM t AS copy WHERE NOT EXISTS"),
        "{sql}"
    );
    assert!(sql.contains("max(\"created_at\")"), "{sql}");
    let only_key = run_sql("s", "t", &["key"], Strategy::FullOnly, RunMode::Full);
    assert!(
        only_key.contains("ON CONFLICT (\"key\") DO NOTHING"),
        "{only_key}"
    );
    assert!(only_key.contains("NULL::timestamptz"), "{only_key}");
}

#[test]
fn a_new_copy_is_filled_by_a_plain_insert() {
    let sql = initial_copy_sql("s", "t", &["key", "updated_at"], Strategy::UpdatedSince);
    assert_eq!(
        sql,
        "WITH inserted AS (INSERT INTO t (\"key\", \"updated_at\") SELECT \"key\", \"updated_at\" FROM s \
         RETURNING \"updated_at\")\nSELECT count(*), 0::bigint, 0::bigint, max(\"updated_at\") FROM inserted"
    );
    let webhooks = initial_copy_sql("s", "t", &["key"], Strategy::FullOnly);
    assert!(webhooks.contains("RETURNING 1)"), "{webhooks}");
    assert!(
        webhooks.ends_with("NULL::timestamptz FROM inserted"),
        "{webhooks}"
    );
}
