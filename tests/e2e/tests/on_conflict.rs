//! `INSERT ... ON CONFLICT`: DO NOTHING skips rows whose own key PartnerStack already holds (a
//! rerun after a partial failure creates exactly the missing rows), any other refusal stands;
//! tables that cannot tell a duplicate apart, and DO UPDATE, are refused before any request.

use partnerstack_e2e::{Db, Mock, error_text, sqlstate};
use serde_json::json;

/// A mock, a database writing to it, and a partner new customers can be created for.
fn setup() -> (Mock, Db, String) {
    let mock = Mock::start();
    let db = Db::with_partnerstack(&mock);
    let partner = mock.a_partner_key();
    mock.clear_requests();
    (mock, db, partner)
}

/// How many customers hold `customer_key`, read from the mock itself.
fn holders(mock: &Mock, customer_key: &str) -> usize {
    mock.list_all("/customers")
        .iter()
        .filter(|c| c["customer_key"] == customer_key)
        .count()
}

const RERUN: &str = "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
     SELECT 'rerun' || i || '@example.org', :'partner', 'e2e-rerun-' || i
       FROM generate_series(1, 6) i";

#[test]
fn a_rerun_with_do_nothing_after_a_partial_failure_creates_exactly_the_missing_rows() {
    let (mock, mut db, partner) = setup();
    // One request at a time, so that the order of the log is the order of the rows.
    db.batch_execute("ALTER SERVER partnerstack_server OPTIONS (ADD max_concurrency '1')")
        .unwrap();
    let psql = |sql: &str| db.psql_with_args(&["-v", &format!("partner={partner}")], sql);

    // The first run: PartnerStack refuses the 4th row; rows 1-3 stay, 5-6 are never sent.
    mock.clear_requests();
    mock.faults(json!([{"kind": "status", "status": 400, "method": "POST",
                        "path_prefix": "/api/v2/customers", "every": 4, "count": 1}]));
    let (_, stderr, status) = psql(&format!("{RERUN};"));
    assert!(!status.success());
    assert!(
        stderr.contains("row 4 of 6 failed after PartnerStack accepted 3 row(s)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ON CONFLICT DO NOTHING skips the rows"),
        "the hint: {stderr}"
    );
    assert!(
        !stderr.contains("WARNING"),
        "the ERROR named every row written: no rollback WARNING repeats them: {stderr}"
    );
    assert_eq!(mock.post_count(), 4);
    mock.clear_faults();

    // The rerun: rows 1-3 are refused as duplicates, found by their customer_key and skipped;
    // rows 4-6 are created.
    mock.clear_requests();
    let (stdout, stderr, status) = psql(&format!("{RERUN} ON CONFLICT DO NOTHING;"));
    assert!(status.success(), "{stderr}");
    let mut expected = Vec::new();
    for i in 1..=3 {
        expected.push("POST /api/v2/customers 400".to_owned());
        expected.push(format!("GET /api/v2/customers/e2e-rerun-{i} 200"));
    }
    expected.extend(std::iter::repeat_n(
        "POST /api/v2/customers 200".to_owned(),
        3,
    ));
    assert_eq!(mock.request_lines(), expected);
    assert!(
        stderr.contains(
            "NOTICE:  writing customers: skipped 3 row(s) whose customer_key already exists in \
             PartnerStack (ON CONFLICT DO NOTHING): e2e-rerun-1, e2e-rerun-2, e2e-rerun-3"
        ),
        "{stderr}"
    );
    // The skipped rows are not counted.
    assert!(stdout.contains("INSERT 0 3"), "{stdout}");
    for i in 1..=6 {
        assert_eq!(
            holders(&mock, &format!("e2e-rerun-{i}")),
            1,
            "e2e-rerun-{i}"
        );
    }

    // A third run creates nothing.
    mock.clear_requests();
    let (stdout, stderr, status) = psql(&format!("{RERUN} ON CONFLICT DO NOTHING;"));
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("skipped 6 row(s)"), "{stderr}");
    assert!(stdout.contains("INSERT 0 0"), "{stdout}");
    assert_eq!(mock.post_count(), 6);
    assert!(
        mock.requests()
            .iter()
            .filter(|r| r["method"] == "POST")
            .all(|r| r["status"] == 400)
    );
}

#[test]
fn a_failure_after_skipped_rows_names_them_in_its_detail() {
    let (mock, mut db, partner) = setup();
    db.batch_execute("ALTER SERVER partnerstack_server OPTIONS (ADD max_concurrency '1')")
        .unwrap();
    db.execute(
        "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
         SELECT 'sk' || i || '@example.org', $1, 'e2e-skip-' || i FROM generate_series(1, 2) i",
        &[&partner],
    )
    .unwrap();
    mock.clear_requests();
    // Rows 1-2 exist, row 3 is new, row 4 names no partner, row 5 is never sent.
    let err = db
        .execute(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
             SELECT 'sk' || i || '@example.org', CASE WHEN i = 4 THEN 'no-such-partner' ELSE $1 END,
                    'e2e-skip-' || i
               FROM generate_series(1, 5) i
             ON CONFLICT DO NOTHING",
            &[&partner],
        )
        .unwrap_err();
    let text = error_text(&err);
    assert!(
        text.contains("row 4 of 5 failed after PartnerStack accepted 1 row(s)"),
        "{text}"
    );
    assert!(
        text.contains(
            "Skipped, their key already exists (ON CONFLICT DO NOTHING): rows 1, 2. Not sent: \
             row 5."
        ),
        "{text}"
    );
    assert_eq!(
        mock.request_lines(),
        [
            "POST /api/v2/customers 400",
            "GET /api/v2/customers/e2e-skip-1 200",
            "POST /api/v2/customers 400",
            "GET /api/v2/customers/e2e-skip-2 200",
            "POST /api/v2/customers 200",
            "POST /api/v2/customers 400",
            "GET /api/v2/customers/e2e-skip-4 404",
        ]
    );
}

#[test]
fn a_400_that_is_not_a_duplicate_still_fails_under_do_nothing() {
    let (mock, mut db, partner) = setup();
    // No such partner: a 400, and no customer holds the row's customer_key.
    let err = db
        .execute(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
             VALUES ('nd@example.org', 'no-such-partner', 'e2e-not-dup')
             ON CONFLICT DO NOTHING",
            &[],
        )
        .unwrap_err();
    let text = error_text(&err);
    assert!(text.contains("HTTP 400"), "{text}");
    assert_eq!(
        mock.request_lines(),
        [
            "POST /api/v2/customers 400",
            "GET /api/v2/customers/e2e-not-dup 404"
        ]
    );

    // A row without a customer_key cannot duplicate one: its 400 stands with no read.
    mock.clear_requests();
    let err = db
        .execute(
            "INSERT INTO partnerstack.customers (email, partner_key)
             VALUES ('nd2@example.org', 'no-such-partner') ON CONFLICT DO NOTHING",
            &[],
        )
        .unwrap_err();
    assert!(
        error_text(&err).contains("HTTP 400"),
        "{}",
        error_text(&err)
    );
    assert_eq!(mock.request_lines(), ["POST /api/v2/customers 400"]);

    // A new row under DO NOTHING is created as usual.
    mock.clear_requests();
    let n = db
        .execute(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
             VALUES ('nd3@example.org', $1, 'e2e-new-under-do-nothing') ON CONFLICT DO NOTHING",
            &[&partner],
        )
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(mock.request_lines(), ["POST /api/v2/customers 200"]);
}

#[test]
fn tables_that_cannot_tell_a_duplicate_and_do_update_are_refused_before_any_request() {
    let (mock, mut db, partner) = setup();

    // Refused before the first row is read: the customer need not exist.
    let err = db
        .execute(
            "INSERT INTO partnerstack.transactions (key, amount, currency, customer_key)
             VALUES ('e2e-oc-1', 100, 'USD', 'cus_any') ON CONFLICT DO NOTHING",
            &[],
        )
        .unwrap_err();
    assert_eq!(sqlstate(&err), "0A000");
    let text = error_text(&err);
    assert!(
        text.contains(
            "cannot INSERT ... ON CONFLICT DO NOTHING into transactions: PartnerStack answers a \
             duplicate with a 400 whose text is not documented, and has no read of one of \
             transactions by a key the row carries"
        ),
        "{text}"
    );
    assert!(text.contains("nothing was sent to PartnerStack"), "{text}");

    // DO UPDATE without a target is the parser's error; with a target, and DO NOTHING with
    // one, the extension's hook (the library is preloaded here) says what to write instead.
    let cases = [
        (
            "ON CONFLICT DO UPDATE SET name = 'x'",
            "42601",
            "ON CONFLICT DO UPDATE requires inference specification or constraint name",
            "",
        ),
        (
            "ON CONFLICT (customer_key) DO UPDATE SET name = excluded.name",
            "0A000",
            "cannot INSERT ... ON CONFLICT DO UPDATE into customers: PartnerStack has no unique \
             index to infer a conflict from",
            "insert_mode 'upsert'",
        ),
        (
            "ON CONFLICT (customer_key) DO NOTHING",
            "0A000",
            "cannot INSERT ... ON CONFLICT (...) DO NOTHING into customers: a foreign table has \
             no unique index to name as the conflict target",
            "Leave the target out",
        ),
    ];
    for (clause, code, message, hint) in cases {
        let err = db
            .execute(
                &format!(
                    "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
                     VALUES ('du@example.org', $1, 'e2e-du') {clause}"
                ),
                &[&partner],
            )
            .unwrap_err();
        let text = error_text(&err);
        assert_eq!(sqlstate(&err), code, "{clause}: {text}");
        assert!(text.contains(message), "{clause}: {text}");
        assert!(text.contains(hint), "{clause}: {text}");
    }
    // The hook leaves local tables alone.
    db.batch_execute(
        "CREATE TABLE local_upsert (id int PRIMARY KEY, n int);
         INSERT INTO local_upsert VALUES (1, 1);
         INSERT INTO local_upsert VALUES (1, 2) ON CONFLICT (id) DO UPDATE SET n = excluded.n;",
    )
    .unwrap();
    let n: i32 = db.scalar("SELECT n FROM local_upsert WHERE id = 1", &[]);
    assert_eq!(n, 2);

    // DO NOTHING contradicts insert_mode 'upsert'.
    db.batch_execute(
        "ALTER FOREIGN TABLE partnerstack.customers OPTIONS (ADD insert_mode 'upsert')",
    )
    .unwrap();
    let err = db
        .execute(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
             VALUES ('du@example.org', $1, 'e2e-du') ON CONFLICT DO NOTHING",
            &[&partner],
        )
        .unwrap_err();
    assert_eq!(sqlstate(&err), "0A000");
    assert!(
        error_text(&err).contains("insert_mode 'upsert' updates existing objects"),
        "{}",
        error_text(&err)
    );
    assert!(mock.requests().is_empty(), "{:?}", mock.request_lines());
}

#[test]
fn do_nothing_with_returning_and_in_batches_returns_and_counts_only_the_rows_created() {
    let (mock, mut db, partner) = setup();
    db.execute(
        "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
         VALUES ('old1@example.org', $1, 'e2e-dn-1'), ('old3@example.org', $1, 'e2e-dn-3')",
        &[&partner],
    )
    .unwrap();
    let insert = "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
         SELECT 'dn' || i || '@example.org', $1, 'e2e-dn-' || i FROM generate_series(1, 4) i
         ON CONFLICT DO NOTHING";

    // RETURNING: each row goes out as it comes; the skipped ones return nothing.
    let rows = db
        .query(
            &format!("{insert} RETURNING customer_key, key"),
            &[&partner],
        )
        .unwrap();
    let created: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(created, ["e2e-dn-2", "e2e-dn-4"]);
    for row in &rows {
        let ck: String = row.get(0);
        let key: String = row.get(1);
        assert_eq!(
            mock.list_all("/customers")
                .iter()
                .find(|c| c["customer_key"] == ck.as_str())
                .unwrap()["key"],
            key.as_str()
        );
    }

    // In batches of 3: the command tag counts only created rows (none now).
    db.batch_execute("ALTER FOREIGN TABLE partnerstack.customers OPTIONS (ADD batch_size '3')")
        .unwrap();
    assert_eq!(db.execute(insert, &[&partner]).unwrap(), 0);
    let insert5 = insert.replace("generate_series(1, 4)", "generate_series(1, 5)");
    assert_eq!(db.execute(insert5.as_str(), &[&partner]).unwrap(), 1);
    // One by one (batch_size 1, or a BEFORE ROW INSERT trigger): still counted exactly.
    db.batch_execute("ALTER FOREIGN TABLE partnerstack.customers OPTIONS (SET batch_size '1')")
        .unwrap();
    let insert6 = insert.replace("generate_series(1, 4)", "generate_series(1, 6)");
    assert_eq!(db.execute(insert6.as_str(), &[&partner]).unwrap(), 1);
    db.batch_execute(
        "ALTER FOREIGN TABLE partnerstack.customers OPTIONS (DROP batch_size);
         CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
         CREATE TRIGGER keep BEFORE INSERT ON partnerstack.customers
           FOR EACH ROW EXECUTE FUNCTION keep();",
    )
    .unwrap();
    let insert7 = insert.replace("generate_series(1, 4)", "generate_series(1, 7)");
    assert_eq!(db.execute(insert7.as_str(), &[&partner]).unwrap(), 1);
    assert_eq!(db.execute(insert7.as_str(), &[&partner]).unwrap(), 0);
    for i in 1..=7 {
        assert_eq!(holders(&mock, &format!("e2e-dn-{i}")), 1, "e2e-dn-{i}");
    }
}
