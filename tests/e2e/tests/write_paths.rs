//! The other doors writes come through: RETURNING (also as a prepared statement, as pgjdbc's
//! getGeneratedKeys sends it), COPY FROM, a partitioned parent, batches, AFTER ROW triggers,
//! UPDATE ... FROM a local table and a view; what each sends and what the rows then hold.

use partnerstack_e2e::{Db, Mock, error_text, sqlstate};
use serde_json::Value;

fn partner_key(mock: &Mock) -> String {
    let p = mock.a_partner_key();
    mock.clear_requests();
    p
}

/// The mock's customer with `customer_key`.
fn customer(mock: &Mock, customer_key: &str) -> Value {
    let found = mock
        .list_all("/customers")
        .into_iter()
        .find(|c| c["customer_key"] == customer_key)
        .unwrap_or_else(|| panic!("the mock holds no customer {customer_key}"));
    mock.clear_requests();
    found
}

/// The `customer_key`s of the customers POSTed since the last clear, in order.
fn posted_customer_keys(mock: &Mock) -> Vec<String> {
    mock.requests()
        .iter()
        .filter(|r| r["method"] == "POST")
        .map(|r| r["body"]["customer_key"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn returning_gives_the_rows_as_partnerstack_answered_and_read_them() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partner = partner_key(&mock);

    let row = db
        .query_one(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key, name)
             VALUES ('r1@example.org', $1, 'e2e-ret-1', 'Ada')
             RETURNING key, customer_key, name, (extract(epoch FROM created_at) * 1000)::bigint,
                       (extract(epoch FROM updated_at) * 1000)::bigint",
            &[&partner],
        )
        .unwrap();
    assert_eq!(mock.writes(), ["POST /api/v2/customers 200"]);
    let held = customer(&mock, "e2e-ret-1");
    assert_eq!(row.get::<_, String>(0), held["key"].as_str().unwrap());
    assert_eq!(row.get::<_, String>(1), "e2e-ret-1");
    assert_eq!(row.get::<_, String>(2), "Ada");
    assert_eq!(row.get::<_, i64>(3), held["created_at"].as_i64().unwrap());
    assert_eq!(row.get::<_, i64>(4), held["updated_at"].as_i64().unwrap());

    // RETURNING * as a prepared statement (the extended protocol, as pgjdbc's
    // getGeneratedKeys sends it), twice: the plan is cached and reused.
    let insert = db
        .prepare(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
             VALUES ($1, $2, $3) RETURNING *",
        )
        .unwrap();
    for i in 2..=3 {
        let ck = format!("e2e-ret-{i}");
        let rows = db
            .query(&insert, &[&format!("r{i}@example.org"), &partner, &ck])
            .unwrap();
        assert_eq!(rows.len(), 1);
        let held = customer(&mock, &ck);
        let key: String = rows[0].get("key");
        assert_eq!(key, held["key"].as_str().unwrap());
        let email: String = rows[0].get("email");
        assert_eq!(email, format!("r{i}@example.org"));
    }

    // UPDATE ... RETURNING: the object as PartnerStack answered (PUT 405, then PATCH).
    mock.clear_requests();
    let row = db
        .query_one(
            "UPDATE partnerstack.customers SET name = 'Ada L.' WHERE customer_key = 'e2e-ret-1'
             RETURNING key, name, email, (extract(epoch FROM updated_at) * 1000)::bigint",
            &[],
        )
        .unwrap();
    assert_eq!(
        mock.writes(),
        [
            "PUT /api/v2/customers/e2e-ret-1 405",
            "PATCH /api/v2/customers/e2e-ret-1 200"
        ]
    );
    let held = customer(&mock, "e2e-ret-1");
    assert_eq!(row.get::<_, String>(0), held["key"].as_str().unwrap());
    assert_eq!(row.get::<_, String>(1), "Ada L.");
    assert_eq!(row.get::<_, String>(2), "r1@example.org");
    assert_eq!(row.get::<_, i64>(3), held["updated_at"].as_i64().unwrap());

    // DELETE ... RETURNING: the row as it was read.
    let rows = db
        .query(
            "DELETE FROM partnerstack.customers WHERE customer_key IN ('e2e-ret-1', 'e2e-ret-2')
             RETURNING key, customer_key, name",
            &[],
        )
        .unwrap();
    let mut deleted: Vec<(String, String, Option<String>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    deleted.sort();
    assert_eq!(deleted.len(), 2);
    assert_eq!(deleted[0].1, "e2e-ret-1");
    assert_eq!(deleted[0].2.as_deref(), Some("Ada L."));
    assert_eq!(deleted[0].0, held["key"].as_str().unwrap());
    assert_eq!(deleted[1].1, "e2e-ret-2");
    let mut writes = mock.writes();
    writes.sort();
    assert_eq!(
        writes,
        [
            "DELETE /api/v2/customers/e2e-ret-1 200",
            "DELETE /api/v2/customers/e2e-ret-2 200"
        ]
    );
}

#[test]
fn returning_sends_row_by_row_and_reports_what_was_accepted() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partner = partner_key(&mock);
    let taken = mock.a_taken_customer_key();
    mock.clear_requests();
    // Row 3 reuses an existing customer_key (the API refuses it); rows 1 and 2 went out first,
    // each as the executor handed it over, row 4 was never sent.
    let err = db
        .query(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
             SELECT 'rr' || i || '@example.org', $1, CASE WHEN i = 3 THEN $2 ELSE 'e2e-rr-' || i END
               FROM generate_series(1, 4) i
             RETURNING key",
            &[&partner, &taken],
        )
        .unwrap_err();
    let text = error_text(&err);
    assert!(
        text.contains("row 3 of 3 failed after PartnerStack accepted 2 row(s)"),
        "{text}"
    );
    assert_eq!(
        posted_customer_keys(&mock),
        ["e2e-rr-1", "e2e-rr-2", &taken]
    );
    for ck in ["e2e-rr-1", "e2e-rr-2"] {
        let key = customer(&mock, ck)["key"].as_str().unwrap().to_owned();
        assert!(text.contains(&key), "{key} in {text}");
    }

    // A bad value after rows were sent: refused before its own request, the sent rows listed.
    mock.clear_requests();
    let err = db
        .query(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
             SELECT CASE WHEN i = 2 THEN NULL ELSE 'rs' || i || '@example.org' END, $1, 'e2e-rs-' || i
               FROM generate_series(1, 3) i
             RETURNING key",
            &[&partner],
        )
        .unwrap_err();
    let text = error_text(&err);
    assert!(
        text.contains("Row 2 of the statement; it was not sent. Rows 1 to 1 went to PartnerStack before it, which accepted 1 row(s)"),
        "{text}"
    );
    assert_eq!(posted_customer_keys(&mock), ["e2e-rs-1"]);
}

#[test]
fn copy_from_stdin_validates_every_row_before_sending() {
    use std::io::Write;
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partner = partner_key(&mock);
    let rows = |bad: Option<usize>, n: usize, tag: &str| {
        (1..=n)
            .map(|i| {
                let email = if Some(i) == bad {
                    "\\N".to_owned()
                } else {
                    format!("{tag}{i}@example.org")
                };
                format!("{email}\t{partner}\te2e-{tag}-{i}\n")
            })
            .collect::<String>()
    };
    let copy = "COPY partnerstack.customers (email, partner_key, customer_key) FROM STDIN";

    let mut writer = db.copy_in(copy).unwrap();
    writer
        .write_all(rows(Some(250), 500, "copybad").as_bytes())
        .unwrap();
    let err = writer.finish().unwrap_err();
    let text = error_text(&err);
    assert_eq!(sqlstate(&err), "23502", "{text}");
    assert!(
        text.contains("Row 250 of the statement; nothing was sent to PartnerStack"),
        "{text}"
    );
    assert!(mock.writes().is_empty(), "{:?}", mock.writes());

    let mut writer = db.copy_in(copy).unwrap();
    writer.write_all(rows(None, 5, "copy").as_bytes()).unwrap();
    assert_eq!(writer.finish().unwrap(), 5);
    let mut sent = posted_customer_keys(&mock);
    sent.sort();
    assert_eq!(
        sent,
        [
            "e2e-copy-1",
            "e2e-copy-2",
            "e2e-copy-3",
            "e2e-copy-4",
            "e2e-copy-5"
        ]
    );
    assert_eq!(mock.writes().len(), 5);
    let n: i64 = db.scalar(
        "SELECT count(*) FROM partnerstack.customers WHERE customer_key LIKE 'e2e-copy-%'",
        &[],
    );
    assert_eq!(n, 5);
}

#[test]
fn a_partitioned_parent_routes_rows_to_its_foreign_partition() {
    use std::io::Write;
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partner = partner_key(&mock);
    db.batch_execute(&format!(
        "CREATE TABLE people (LIKE partnerstack.customers) PARTITION BY LIST (partner_key);
         CREATE FOREIGN TABLE people_partnerstack PARTITION OF people FOR VALUES IN ('{partner}')
           SERVER partnerstack_server OPTIONS (resource 'customers');
         CREATE TABLE people_local PARTITION OF people DEFAULT;"
    ))
    .unwrap();
    let n = db
        .execute(
            "INSERT INTO people (email, partner_key, customer_key)
             VALUES ('p1@example.org', $1, 'e2e-part-1'), ('local@example.org', 'elsewhere', 'local-1'),
                    ('p2@example.org', $1, 'e2e-part-2')",
            &[&partner],
        )
        .unwrap();
    assert_eq!(n, 3);
    // One batch, sent concurrently: in either order.
    let mut sent = posted_customer_keys(&mock);
    sent.sort();
    assert_eq!(sent, ["e2e-part-1", "e2e-part-2"]);
    let local: i64 = db.scalar("SELECT count(*) FROM people_local", &[]);
    assert_eq!(local, 1);

    // RETURNING through the parent: the partition's row as PartnerStack answered it.
    mock.clear_requests();
    let key: String = db.scalar(
        "INSERT INTO people (email, partner_key, customer_key) VALUES ('p3@example.org', $1, 'e2e-part-3')
         RETURNING key",
        &[&partner],
    );
    assert_eq!(key, customer(&mock, "e2e-part-3")["key"].as_str().unwrap());

    // COPY into the parent.
    mock.clear_requests();
    let mut writer = db
        .copy_in("COPY people (email, partner_key, customer_key) FROM STDIN")
        .unwrap();
    writer
        .write_all(format!("p4@example.org\t{partner}\te2e-part-4\n").as_bytes())
        .unwrap();
    assert_eq!(writer.finish().unwrap(), 1);
    assert_eq!(posted_customer_keys(&mock), ["e2e-part-4"]);
}

#[test]
fn batch_size_changes_when_rows_go_out_not_which() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partner = partner_key(&mock);
    let insert = |db: &mut Db, tag: &str| {
        db.execute(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
             SELECT 'b' || i || '@example.org', $1, $2 || i FROM generate_series(1, 30) i",
            &[&partner, &format!("e2e-{tag}-")],
        )
        .unwrap()
    };
    let sent = |mock: &Mock| {
        let mut sent: Vec<String> = mock
            .requests()
            .iter()
            .filter(|r| r["method"] == "POST")
            .map(|r| {
                let mut body = r["body"].clone();
                let ck = body["customer_key"].as_str().unwrap().to_owned();
                body["customer_key"] = Value::String(ck.rsplit('-').next().unwrap().to_owned());
                body.to_string()
            })
            .collect();
        sent.sort();
        sent
    };
    assert_eq!(insert(&mut db, "bdefault"), 30);
    let by_default = sent(&mock);
    assert_eq!(by_default.len(), 30);
    mock.clear_requests();
    db.batch_execute("ALTER FOREIGN TABLE partnerstack.customers OPTIONS (ADD batch_size '1')")
        .unwrap();
    assert_eq!(insert(&mut db, "bone"), 30);
    assert_eq!(sent(&mock), by_default);

    // batch_size 10: a bad row 25 is refused before its batch goes out; rows 1 to 20 were sent
    // and are listed.
    mock.clear_requests();
    db.batch_execute("ALTER FOREIGN TABLE partnerstack.customers OPTIONS (SET batch_size '10')")
        .unwrap();
    let err = db
        .execute(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
             SELECT CASE WHEN i = 25 THEN NULL ELSE 'bt' || i || '@example.org' END, $1, 'e2e-bt-' || i
               FROM generate_series(1, 30) i",
            &[&partner],
        )
        .unwrap_err();
    let text = error_text(&err);
    assert!(
        text.contains("Row 25 of the statement; it was not sent. Rows 1 to 20 went to PartnerStack before it, which accepted 20 row(s)"),
        "{text}"
    );
    assert!(
        text.contains("Rows 21 to 24 were not sent either."),
        "{text}"
    );
    assert_eq!(mock.writes().len(), 20);

    // A refusal in a later batch: statement-level row numbers, every accepted key.
    db.batch_execute(
        "ALTER FOREIGN TABLE partnerstack.customers OPTIONS (SET batch_size '2');
         ALTER SERVER partnerstack_server OPTIONS (ADD max_concurrency '1')",
    )
    .unwrap();
    let taken = mock.a_taken_customer_key();
    mock.clear_requests();
    let err = db
        .execute(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
             SELECT 'bl' || i || '@example.org', $1, CASE WHEN i = 4 THEN $2 ELSE 'e2e-bl-' || i END
               FROM generate_series(1, 6) i",
            &[&partner, &taken],
        )
        .unwrap_err();
    let text = error_text(&err);
    assert!(
        text.contains("row 4 of 4 failed after PartnerStack accepted 3 row(s)"),
        "{text}"
    );
    assert_eq!(
        posted_customer_keys(&mock),
        ["e2e-bl-1", "e2e-bl-2", "e2e-bl-3", &taken]
    );
    let keys: Vec<String> = ["e2e-bl-1", "e2e-bl-2", "e2e-bl-3"]
        .iter()
        .map(|ck| customer(&mock, ck)["key"].as_str().unwrap().to_owned())
        .collect();
    for key in keys {
        assert!(text.contains(&key), "{key} in {text}");
    }

    let err = db
        .batch_execute("ALTER FOREIGN TABLE partnerstack.customers OPTIONS (SET batch_size '0')")
        .unwrap_err();
    assert!(
        error_text(&err).contains("batch_size"),
        "{}",
        error_text(&err)
    );
}

#[test]
fn an_after_row_trigger_sees_the_created_row() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partner = partner_key(&mock);
    db.batch_execute(
        "CREATE TABLE seen (key text, customer_key text, created_at timestamptz);
         CREATE FUNCTION remember() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN INSERT INTO seen VALUES (NEW.key, NEW.customer_key, NEW.created_at); RETURN NEW; END $$;
         CREATE TRIGGER remember AFTER INSERT ON partnerstack.customers
           FOR EACH ROW EXECUTE FUNCTION remember();",
    )
    .unwrap();
    db.execute(
        "INSERT INTO partnerstack.customers (email, partner_key, customer_key)
         SELECT 't' || i || '@example.org', $1, 'e2e-trig-' || i FROM generate_series(1, 2) i",
        &[&partner],
    )
    .unwrap();
    assert_eq!(mock.writes().len(), 2);
    for ck in ["e2e-trig-1", "e2e-trig-2"] {
        let held = customer(&mock, ck);
        let row = db
            .query_one(
                "SELECT key, (extract(epoch FROM created_at) * 1000)::bigint FROM seen WHERE customer_key = $1",
                &[&ck],
            )
            .unwrap();
        assert_eq!(row.get::<_, String>(0), held["key"].as_str().unwrap());
        assert_eq!(row.get::<_, i64>(1), held["created_at"].as_i64().unwrap());
    }
}

#[test]
fn rows_without_an_addressing_key_matter_only_when_modified() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    mock.clear_requests();
    // Every customer is scanned (email is not pushed down), some have no customer_key: none is
    // updated, so nothing is refused and nothing is sent.
    let n = db
        .execute(
            "UPDATE partnerstack.customers SET name = 'x' WHERE email = 'nobody@example.invalid'",
            &[],
        )
        .unwrap();
    assert_eq!(n, 0);
    let n = db
        .execute(
            "DELETE FROM partnerstack.customers WHERE email = 'nobody@example.invalid'",
            &[],
        )
        .unwrap();
    assert_eq!(n, 0);
    assert!(mock.writes().is_empty(), "{:?}", mock.writes());

    // A row the statement does delete, without its customer_key: refused, named by its key.
    let without = mock
        .list_all("/customers")
        .into_iter()
        .find(|c| c["customer_key"].is_null())
        .expect("the mock has customers without customer_key");
    let key = without["key"].as_str().unwrap();
    mock.clear_requests();
    let err = db
        .execute("DELETE FROM partnerstack.customers WHERE key = $1", &[&key])
        .unwrap_err();
    assert_eq!(sqlstate(&err), "23502", "{}", error_text(&err));
    assert!(
        error_text(&err).contains(&format!("customers row {key} has no customer_key")),
        "{}",
        error_text(&err)
    );
    assert!(mock.writes().is_empty(), "{:?}", mock.writes());
}

#[test]
fn update_from_a_local_table_and_writes_through_a_view() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partner = partner_key(&mock);
    let keys: Vec<String> = mock
        .list_all("/customers")
        .iter()
        .filter_map(|c| c["customer_key"].as_str().map(str::to_owned))
        // Keys that stay as they are in a path (no percent-encoding to compare).
        .filter(|ck| {
            ck.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
        .take(2)
        .collect();
    mock.clear_requests();
    db.batch_execute("CREATE TEMP TABLE renames (ck text, name text)")
        .unwrap();
    for (i, ck) in keys.iter().enumerate() {
        db.execute(
            "INSERT INTO renames VALUES ($1, $2)",
            &[ck, &format!("Renamed {i}")],
        )
        .unwrap();
    }
    let n = db
        .execute(
            "UPDATE partnerstack.customers c SET name = r.name FROM renames r WHERE c.customer_key = r.ck",
            &[],
        )
        .unwrap();
    assert_eq!(n, 2);
    let patched: Vec<String> = mock
        .requests()
        .iter()
        .filter(|r| r["status"] == 200 && r["method"] != "GET")
        .map(|r| r["path"].as_str().unwrap().to_owned())
        .collect();
    let mut expected: Vec<String> = keys
        .iter()
        .map(|ck| format!("/api/v2/customers/{ck}"))
        .collect();
    let mut patched_sorted = patched.clone();
    patched_sorted.sort();
    expected.sort();
    assert_eq!(patched_sorted, expected);
    for (i, ck) in keys.iter().enumerate() {
        assert_eq!(customer(&mock, ck)["name"], format!("Renamed {i}"));
    }

    db.batch_execute(
        "CREATE VIEW people AS SELECT key, email, partner_key, customer_key, name FROM partnerstack.customers",
    )
    .unwrap();
    mock.clear_requests();
    let key: String = db.scalar(
        "INSERT INTO people (email, partner_key, customer_key, name) VALUES ('v@example.org', $1, 'e2e-view-1', 'Vee')
         RETURNING key",
        &[&partner],
    );
    assert_eq!(mock.writes(), ["POST /api/v2/customers 200"]);
    assert_eq!(key, customer(&mock, "e2e-view-1")["key"].as_str().unwrap());
    let n = db
        .execute(
            "UPDATE people SET name = 'Vee 2' WHERE customer_key = 'e2e-view-1'",
            &[],
        )
        .unwrap();
    assert_eq!(n, 1);
    assert!(
        mock.writes()
            .iter()
            .any(|w| w.ends_with("/api/v2/customers/e2e-view-1 200")),
        "{:?}",
        mock.writes()
    );
    assert_eq!(customer(&mock, "e2e-view-1")["name"], "Vee 2");
}

/// pgjdbc's `getGeneratedKeys()` (`RETURNING *` appended by the driver, a server-side prepared
/// statement from the sixth run on). Needs `java` and the driver
/// (`apt-get install default-jdk-headless libpostgresql-jdbc-java`, which `.ci/install` does):
/// without them the test fails, saying so.
#[test]
fn pgjdbc_get_generated_keys_returns_partnerstacks_keys() {
    const DRIVER: &str = "/usr/share/java/postgresql.jar";
    let java = std::process::Command::new("java").arg("-version").output();
    assert!(
        java.is_ok() && std::path::Path::new(DRIVER).exists(),
        "pgjdbc test: needs java and {DRIVER} (bash .ci/install installs both)"
    );
    let mock = Mock::start();
    let db = Db::with_partnerstack(&mock);
    let partner = partner_key(&mock);
    let cluster = partnerstack_e2e::Cluster::get();
    let url = format!(
        "jdbc:postgresql://{}:{}/{}?user={}",
        cluster.host(),
        cluster.port(),
        db.name(),
        partnerstack_e2e::cluster::SUPERUSER
    );
    let program = concat!(env!("CARGO_MANIFEST_DIR"), "/java/GeneratedKeys.java");
    let out = std::process::Command::new("java")
        .args(["-cp", DRIVER, program, &url, &partner, "7"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 7, "{printed}");
    assert_eq!(posted_customer_keys(&mock).len(), 7);
    for (i, line) in lines.iter().enumerate() {
        let ck = format!("e2e-jdbc-{}", i + 1);
        let key = customer(&mock, &ck)["key"].as_str().unwrap().to_owned();
        assert_eq!(*line, format!("{ck} {key}"));
    }
}

/// An UPDATE of a partitioned parent does not move a row into a foreign partition it also
/// updates (Postgres would lend us that relation for the insert): refused before any request.
/// Out of one, Postgres moves nothing (it does not check a foreign partition's constraint).
#[test]
fn an_update_that_moves_rows_across_a_foreign_partition_is_refused() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partner = partner_key(&mock);
    db.batch_execute(
        "CREATE TABLE people (LIKE partnerstack.customers) PARTITION BY LIST (name);
         CREATE FOREIGN TABLE people_partnerstack PARTITION OF people FOR VALUES IN ('remote')
           SERVER partnerstack_server OPTIONS (resource 'customers');
         CREATE TABLE people_local PARTITION OF people DEFAULT;
         INSERT INTO people_local (email, partner_key, customer_key, name)
           VALUES ('mover@example.org', 'elsewhere', 'e2e-move-in', 'local');",
    )
    .unwrap();
    db.execute(
        "INSERT INTO people (email, partner_key, customer_key, name)
         VALUES ('stay@example.org', $1, 'e2e-move-out', 'remote')",
        &[&partner],
    )
    .unwrap();
    assert_eq!(posted_customer_keys(&mock), ["e2e-move-out"]);

    // Into the foreign partition, which the same UPDATE updates.
    mock.clear_requests();
    let e = db
        .execute(
            "UPDATE people SET name = 'remote' WHERE customer_key LIKE 'e2e-move-%'",
            &[],
        )
        .unwrap_err();
    assert_eq!(sqlstate(&e), "0A000", "{}", error_text(&e));
    assert!(
        error_text(&e).contains("cannot move rows into foreign table people_partnerstack"),
        "{}",
        error_text(&e)
    );
    assert_eq!(mock.writes(), Vec::<String>::new());

    // Out of it: Postgres does not check a foreign partition's constraint, so the row does
    // not move; PartnerStack gets the update as it stands.
    let n = db
        .execute(
            "UPDATE people SET name = 'local' WHERE customer_key = 'e2e-move-out'",
            &[],
        )
        .unwrap();
    assert_eq!(n, 1);
    // PUT first, PATCH after the mock's 405 (README: UPDATE verb).
    assert_eq!(
        mock.writes(),
        [
            "PUT /api/v2/customers/e2e-move-out 405",
            "PATCH /api/v2/customers/e2e-move-out 200"
        ]
    );
    assert_eq!(customer(&mock, "e2e-move-out")["name"], "local");
}

/// Two foreign partitions: when the first has sent a batch and the second refuses a row
/// before its request, the ERROR does not claim that nothing was sent.
#[test]
fn a_refused_row_says_when_other_tables_of_the_statement_wrote() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partner = partner_key(&mock);
    db.batch_execute(
        "CREATE TABLE people (LIKE partnerstack.customers) PARTITION BY LIST (name);
         CREATE FOREIGN TABLE people_a PARTITION OF people FOR VALUES IN ('a')
           SERVER partnerstack_server OPTIONS (resource 'customers', batch_size '2');
         CREATE FOREIGN TABLE people_b PARTITION OF people FOR VALUES IN ('b')
           SERVER partnerstack_server OPTIONS (resource 'customers');",
    )
    .unwrap();
    // Rows 1-2 fill people_a's batch, sent when row 4 arrives; at the end Postgres hands over
    // people_a's last batch (row 4, sent) and then people_b's (rows 3 and 5: row 5 has no
    // e-mail, so neither is sent).
    let e = db
        .execute(
            "INSERT INTO people (email, partner_key, customer_key, name) VALUES
               ('a1@example.org', $1, 'e2e-ab-1', 'a'), ('a2@example.org', $1, 'e2e-ab-2', 'a'),
               ('b1@example.org', $1, 'e2e-ab-3', 'b'), ('a3@example.org', $1, 'e2e-ab-4', 'a'),
               (NULL, $1, 'e2e-ab-5', 'b')",
            &[&partner],
        )
        .unwrap_err();
    let text = error_text(&e);
    assert!(
        text.contains(
            "the statement already wrote 3 row(s) to PartnerStack through its other tables"
        ),
        "{text}"
    );
    let mut sent = posted_customer_keys(&mock);
    sent.sort();
    assert_eq!(sent, ["e2e-ab-1", "e2e-ab-2", "e2e-ab-4"]);
}

/// A BEFORE ROW UPDATE trigger's change is sent with the columns the statement sets.
#[test]
fn a_before_row_update_trigger_change_is_sent() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partner = partner_key(&mock);
    db.execute(
        "INSERT INTO partnerstack.customers (email, partner_key, customer_key, name)
         VALUES ('bt@example.org', $1, 'e2e-before-1', 'Before')",
        &[&partner],
    )
    .unwrap();
    db.batch_execute(
        "CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN NEW.name := NEW.name || ' (checked)'; RETURN NEW; END $$;
         CREATE TRIGGER stamp BEFORE UPDATE ON partnerstack.customers
           FOR EACH ROW EXECUTE FUNCTION stamp();",
    )
    .unwrap();
    mock.clear_requests();
    let n = db
        .execute(
            "UPDATE partnerstack.customers SET email = 'bt2@example.org' WHERE customer_key = 'e2e-before-1'",
            &[],
        )
        .unwrap();
    assert_eq!(n, 1);
    let update = mock
        .requests()
        .into_iter()
        .find(|r| r["method"] == "PUT" || r["method"] == "PATCH")
        .expect("an update was sent");
    assert_eq!(
        update["body"],
        serde_json::json!({"email": "bt2@example.org", "name": "Before (checked)"})
    );
    let held = customer(&mock, "e2e-before-1");
    assert_eq!(held["name"], "Before (checked)");
    assert_eq!(held["email"], "bt2@example.org");
}

/// Rows a BEFORE ROW INSERT trigger sees come one by one, yet are still held and validated
/// together: a bad third row sends nothing.
#[test]
fn a_before_row_insert_trigger_keeps_rows_held_until_the_batch_is_full() {
    let mock = Mock::start();
    let mut db = Db::with_partnerstack(&mock);
    let partner = partner_key(&mock);
    db.batch_execute(
        "CREATE FUNCTION tidy() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN NEW.email := lower(NEW.email); RETURN NEW; END $$;
         CREATE TRIGGER tidy BEFORE INSERT ON partnerstack.customers
           FOR EACH ROW EXECUTE FUNCTION tidy();",
    )
    .unwrap();
    let e = db
        .execute(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key) VALUES
               ('ONE@example.org', $1, 'e2e-bi-1'), ('TWO@example.org', $1, 'e2e-bi-2'),
               (NULL, $1, 'e2e-bi-3')",
            &[&partner],
        )
        .unwrap_err();
    assert!(
        error_text(&e).contains("nothing was sent to PartnerStack"),
        "{}",
        error_text(&e)
    );
    assert_eq!(mock.writes(), Vec::<String>::new());
    let n = db
        .execute(
            "INSERT INTO partnerstack.customers (email, partner_key, customer_key) VALUES
               ('ONE@example.org', $1, 'e2e-bi-1'), ('TWO@example.org', $1, 'e2e-bi-2')",
            &[&partner],
        )
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(customer(&mock, "e2e-bi-2")["email"], "two@example.org");
}
