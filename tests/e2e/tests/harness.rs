//! Checks of the harness itself; they need PostgreSQL 15 but neither the extension nor the mock.

use partnerstack_e2e::{Cluster, Db};

#[test]
fn harness_cluster_starts() {
    let cluster = Cluster::get();
    let mut db = Db::new();
    let one: i32 = db.scalar("SELECT 1", &[]);
    assert_eq!(one, 1);

    let version: String = db.scalar("SHOW server_version_num", &[]);
    assert!(
        version.starts_with("15"),
        "expected PostgreSQL 15, got {version}"
    );

    // Parameters travel as a real prepared statement (extended protocol).
    let echoed: String = db.scalar("SELECT $1::text || current_database()", &[&"db="]);
    assert_eq!(echoed, format!("db={}", db.name()));

    let (stdout, stderr, status) = db.psql("SELECT 40 + 2 AS answer;");
    assert!(status.success(), "psql failed: {stderr}");
    assert!(stdout.contains("42"), "unexpected psql output: {stdout}");

    let (stdout, stderr, status) = db.psql_with_args(&["-A", "-t"], "SELECT current_user;");
    assert!(status.success(), "psql failed: {stderr}");
    assert_eq!(stdout.trim(), "postgres");

    let (_, stderr, status) = db.psql("SELECT * FROM no_such_table;");
    assert!(
        !status.success(),
        "psql should fail on an error (ON_ERROR_STOP)"
    );
    assert!(stderr.contains("no_such_table"), "{stderr}");

    assert!(
        cluster.log_path().exists(),
        "no server log at {}",
        cluster.log_path().display()
    );
    assert!(
        cluster
            .socket_dir()
            .join(format!(".s.PGSQL.{}", cluster.port()))
            .exists()
    );
}

#[test]
fn harness_databases_are_isolated() {
    let mut a = Db::new();
    let mut b = Db::new();
    assert_ne!(a.name(), b.name());
    a.batch_execute("CREATE TABLE only_in_a (x int)").unwrap();
    let in_b: i64 = b.scalar(
        "SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'",
        &[],
    );
    assert_eq!(in_b, 0);

    // The server log is readable and grows with what a test does.
    let cluster = Cluster::get();
    let mark = cluster.log_len();
    let err = a
        .batch_execute("SELECT harness_marker_no_such_function()")
        .unwrap_err();
    assert!(partnerstack_e2e::error_text(&err).contains("42883"));
    let mut found = false;
    for _ in 0..50 {
        if cluster
            .log_since(mark)
            .contains("harness_marker_no_such_function")
        {
            found = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        found,
        "the error did not reach {}",
        cluster.log_path().display()
    );
}
