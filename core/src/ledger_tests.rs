//! Unit tests of [`super`]: what a rolled-back transaction or savepoint reports.

use super::*;

const TOP: u32 = 1;

#[test]
fn a_commit_says_nothing_and_forgets() {
    let mut ledger = Ledger::default();
    ledger.written(TOP, "customers", "cus_1");
    assert!(ledger.wrote());
    assert_eq!(ledger.end(false), None);
    assert!(!ledger.wrote());
    assert_eq!(
        ledger.end(true),
        None,
        "nothing left for the next transaction"
    );
}

#[test]
fn a_rollback_names_each_table_its_count_and_keys() {
    let mut ledger = Ledger::default();
    ledger.written(TOP, "customers", "cus_1");
    ledger.written(TOP, "transactions", "txn_1");
    ledger.written(TOP, "customers", "cus_2");
    let summary = ledger.end(true).unwrap();
    assert_eq!(summary.rows(), 3);
    assert_eq!(
        summary.detail(),
        "customers: 2 row(s): cus_1, cus_2. transactions: 1 row(s): txn_1."
    );
}

#[test]
fn only_the_first_keys_are_named() {
    let mut ledger = Ledger::default();
    for i in 1..=25 {
        ledger.written(TOP, "customers", &format!("cus_{i}"));
    }
    let detail = ledger.end(true).unwrap().detail();
    assert!(
        detail.starts_with("customers: 25 row(s): cus_1, cus_2,"),
        "{detail}"
    );
    assert!(detail.ends_with(", cus_20 and 5 more."), "{detail}");
}

#[test]
fn rows_an_error_named_are_counted_not_repeated() {
    let mut ledger = Ledger::default();
    ledger.written(TOP, "customers", "cus_1");
    // A later statement wrote two rows, then failed: its ERROR named them.
    ledger.written(TOP, "customers", "cus_2");
    ledger.written(TOP, "customers", "cus_3");
    ledger.listed("customers", 2);
    assert_eq!(
        ledger.end(true).unwrap().detail(),
        "customers: 3 row(s): cus_1 (and 2 named by the ERROR of the statement that wrote them)."
    );
}

#[test]
fn no_summary_when_the_error_named_every_row() {
    // The usual autocommit partial failure: the ERROR already says what stays.
    let mut ledger = Ledger::default();
    ledger.written(TOP, "customers", "cus_1");
    ledger.listed("customers", 1);
    assert!(ledger.wrote());
    assert_eq!(ledger.end(true), None);
}

#[test]
fn a_table_whose_rows_were_all_named_is_counted() {
    let mut ledger = Ledger::default();
    ledger.written(TOP, "transactions", "txn_1");
    ledger.listed("transactions", 1);
    ledger.written(TOP, "customers", "cus_1");
    assert_eq!(
        ledger.end(true).unwrap().detail(),
        "transactions: 1 row(s), named by the ERROR of the statement that wrote them. \
         customers: 1 row(s): cus_1."
    );
}

#[test]
fn a_savepoint_rollback_reports_its_rows_once() {
    let mut ledger = Ledger::default();
    ledger.written(TOP, "customers", "cus_1");
    // SAVEPOINT a (2); SAVEPOINT b (3), a write, RELEASE b: the write is a's.
    ledger.written(3, "customers", "cus_2");
    ledger.commit_sub(3, 2);
    ledger.written(2, "customers", "cus_3");
    let summary = ledger.abort_sub(2).unwrap();
    assert_eq!(summary.detail(), "customers: 2 row(s): cus_2, cus_3.");
    // The top level still holds its own row, and the transaction wrote.
    assert!(ledger.wrote());
    assert_eq!(
        ledger.end(true).unwrap().detail(),
        "customers: 1 row(s): cus_1."
    );
}

#[test]
fn a_savepoint_without_writes_reports_nothing() {
    let mut ledger = Ledger::default();
    ledger.written(TOP, "customers", "cus_1");
    assert_eq!(ledger.abort_sub(2), None);
    // A write rolled back to a savepoint still makes the transaction one that wrote.
    let mut ledger = Ledger::default();
    ledger.written(2, "customers", "cus_1");
    assert!(ledger.abort_sub(2).is_some());
    assert!(ledger.wrote());
    assert_eq!(ledger.end(true), None);
}

#[test]
fn a_request_sent_without_a_known_outcome_counts_as_written_but_lists_no_row() {
    let mut ledger = Ledger::default();
    assert!(!ledger.wrote());
    ledger.sent();
    assert!(ledger.wrote(), "PREPARE TRANSACTION must be refused");
    assert_eq!(ledger.end(true), None, "no accepted row to name");
    assert!(!ledger.wrote());
}
