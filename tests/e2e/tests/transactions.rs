//! Transactions: PartnerStack cannot roll back. A ROLLBACK (or an error later in the
//! transaction, or ROLLBACK TO SAVEPOINT) after writes WARNs with what stays; PREPARE
//! TRANSACTION after writes is refused; COMMIT says nothing.

use partnerstack_e2e::{Cluster, Db, Mock};

/// Prepared transactions are on in this binary's server, so that PREPARE TRANSACTION is refused
/// by us, not by `max_prepared_transactions = 0`.
const SETTINGS: &str = "max_prepared_transactions = 4";

fn setup() -> (Mock, Db, String) {
    Cluster::get_with(SETTINGS);
    let mock = Mock::start();
    let db = Db::with_partnerstack(&mock);
    let partner = mock.a_partner_key();
    mock.clear_requests();
    (mock, db, partner)
}

/// A customer insert for psql, `:'partner'` being the partner.
fn customer(customer_key: &str) -> String {
    format!(
        "INSERT INTO partnerstack.customers (email, partner_key, customer_key) \
         VALUES ('{customer_key}@example.org', :'partner', '{customer_key}');"
    )
}

/// PartnerStack's `cus_` key of the customer holding `customer_key`.
fn key_of(mock: &Mock, customer_key: &str) -> String {
    mock.list_all("/customers")
        .iter()
        .find(|c| c["customer_key"] == customer_key)
        .and_then(|c| c["key"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no customer {customer_key}"))
}

fn psql(db: &Db, partner: &str, sql: &str) -> (String, String, bool) {
    let (stdout, stderr, status) = db.psql_with_args(&["-v", &format!("partner={partner}")], sql);
    (stdout, stderr, status.success())
}

#[test]
fn rollback_after_writes_warns_per_table_with_count_and_keys() {
    let (mock, db, partner) = setup();
    let sql = format!(
        "BEGIN;\n{}\n{}\n\
         INSERT INTO partnerstack.transactions (key, amount, currency, customer_external_key)
           VALUES ('e2e-xact-t1', 100, 'USD', 'e2e-xact-1');\n\
         ROLLBACK;\n",
        customer("e2e-xact-1"),
        customer("e2e-xact-2")
    );
    let (_, stderr, ok) = psql(&db, &partner, &sql);
    assert!(ok, "{stderr}");
    assert_eq!(mock.post_count(), 3);
    let (c1, c2) = (key_of(&mock, "e2e-xact-1"), key_of(&mock, "e2e-xact-2"));
    assert!(
        stderr.contains(
            "WARNING:  PartnerStack cannot roll back: the 3 row(s) this transaction wrote stay \
             in PartnerStack"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "DETAIL:  customers: 2 row(s): {c1}, {c2}. transactions: 1 row(s): e2e-xact-t1."
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("HINT:  Undo them in PartnerStack"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("WARNING").count(), 1, "{stderr}");
}

#[test]
fn an_error_later_in_the_transaction_warns_too() {
    let (mock, db, partner) = setup();
    let sql = format!("BEGIN;\n{}\nSELECT 1 / 0;\n", customer("e2e-later-1"));
    let (_, stderr, ok) = psql(&db, &partner, &sql);
    assert!(!ok);
    let key = key_of(&mock, "e2e-later-1");
    // The server sends the ERROR, then aborts and warns; psql may print them in either order
    // (a notice is printed as it arrives, the ERROR once the statement's result is complete).
    assert!(stderr.contains("ERROR:  division by zero"), "{stderr}");
    assert!(
        stderr.contains(
            "WARNING:  PartnerStack cannot roll back: the 1 row(s) this transaction wrote"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("DETAIL:  customers: 1 row(s): {key}.")),
        "{stderr}"
    );
}

#[test]
fn rows_a_partial_failure_already_named_are_counted_not_repeated() {
    let (mock, db, partner) = setup();
    let taken = mock.a_taken_customer_key();
    mock.clear_requests();
    let sql = format!(
        "ALTER SERVER partnerstack_server OPTIONS (ADD max_concurrency '1');\n\
         BEGIN;\n{}\n\
         INSERT INTO partnerstack.customers (email, partner_key, customer_key)
           VALUES ('pf2@example.org', :'partner', 'e2e-pf-2'), ('pf3@example.org', :'partner', '{taken}');\n",
        customer("e2e-pf-1")
    );
    let (_, stderr, ok) = psql(&db, &partner, &sql);
    assert!(!ok);
    let (k1, k2) = (key_of(&mock, "e2e-pf-1"), key_of(&mock, "e2e-pf-2"));
    assert!(
        stderr.contains("row 2 of 2 failed after PartnerStack accepted 1 row(s)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "WARNING:  PartnerStack cannot roll back: the 2 row(s) this transaction wrote stay"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "DETAIL:  customers: 2 row(s): {k1} (and 1 named by the ERROR of the statement \
             that wrote them)."
        )),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches(k2.as_str()).count(),
        1,
        "{k2} is named once, by the ERROR: {stderr}"
    );
}

#[test]
fn rollback_to_savepoint_warns_for_the_rows_written_since() {
    let (mock, db, partner) = setup();
    let sql = format!(
        "BEGIN;\n{}\nSAVEPOINT s;\n{}\nROLLBACK TO SAVEPOINT s;\n{}\nCOMMIT;\n",
        customer("e2e-sp-1"),
        customer("e2e-sp-2"),
        customer("e2e-sp-3")
    );
    let (_, stderr, ok) = psql(&db, &partner, &sql);
    assert!(ok, "{stderr}");
    assert_eq!(mock.post_count(), 3);
    let key = key_of(&mock, "e2e-sp-2");
    assert!(
        stderr.contains(
            "WARNING:  PartnerStack cannot roll back: the 1 row(s) the rolled-back \
             subtransaction (savepoint) wrote stay in PartnerStack"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("DETAIL:  customers: 1 row(s): {key}.")),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("WARNING").count(),
        1,
        "COMMIT says nothing: {stderr}"
    );

    // A released savepoint's rows belong to the transaction: its ROLLBACK names them.
    mock.clear_requests();
    let sql = format!(
        "BEGIN;\nSAVEPOINT a;\n{}\nRELEASE SAVEPOINT a;\nROLLBACK;\n",
        customer("e2e-sp-4")
    );
    let (_, stderr, ok) = psql(&db, &partner, &sql);
    assert!(ok, "{stderr}");
    let key = key_of(&mock, "e2e-sp-4");
    assert!(
        stderr.contains("the 1 row(s) this transaction wrote stay in PartnerStack"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("customers: 1 row(s): {key}.")),
        "{stderr}"
    );
}

#[test]
fn prepare_transaction_after_writes_is_refused() {
    let (mock, db, partner) = setup();
    let sql = format!(
        "BEGIN;\n{}\nPREPARE TRANSACTION 'e2e_wrote';\n",
        customer("e2e-prep-1")
    );
    let (_, stderr, ok) = psql(&db, &partner, &sql);
    assert!(!ok);
    assert!(
        stderr.contains("ERROR:  cannot PREPARE a transaction that has written to PartnerStack"),
        "{stderr}"
    );
    assert!(
        stderr.contains("PartnerStack has no two-phase commit"),
        "{stderr}"
    );
    assert!(
        stderr.contains("WARNING:  PartnerStack cannot roll back: the 1 row(s)"),
        "the refused transaction is rolled back, and says what stays: {stderr}"
    );
    assert_eq!(mock.post_count(), 1);

    // Reading does not stand in the way, and nothing was left prepared.
    let sql = "BEGIN;\nSELECT count(*) FROM partnerstack.groups;\n\
               PREPARE TRANSACTION 'e2e_read';\nCOMMIT PREPARED 'e2e_read';\n\
               SELECT 'prepared=' || count(*) FROM pg_prepared_xacts;\n";
    let (stdout, stderr, ok) = psql(&db, &partner, sql);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("prepared=0"), "{stdout}");
    assert!(!stderr.contains("WARNING"), "{stderr}");
}

#[test]
fn commit_and_autocommit_say_nothing() {
    let (mock, db, partner) = setup();
    let sql = format!(
        "BEGIN;\n{}\nCOMMIT;\n{}\nBEGIN;\nSELECT 1;\nROLLBACK;\n",
        customer("e2e-commit-1"),
        customer("e2e-commit-2")
    );
    let (_, stderr, ok) = psql(&db, &partner, &sql);
    assert!(ok, "{stderr}");
    assert_eq!(mock.post_count(), 2);
    assert!(!stderr.contains("WARNING"), "{stderr}");
    // The committed writes are not carried into a later transaction's rollback.
    let sql = "BEGIN;\nSELECT count(*) FROM partnerstack.groups;\nROLLBACK;\n";
    let (_, stderr, ok) = psql(&db, &partner, sql);
    assert!(ok && !stderr.contains("WARNING"), "{stderr}");
}
