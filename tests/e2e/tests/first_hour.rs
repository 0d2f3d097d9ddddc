//! What a new user meets in the first hour: EXPLAIN that says what a write sent and which key a
//! links scan needs.

use partnerstack_e2e::{Db, Mock};

/// The `PartnerStack ...` lines of an EXPLAIN run through psql.
fn explain_lines(db: &Db, sql: &str) -> Vec<String> {
    let (stdout, stderr, status) = db.psql_with_args(&["-A", "-t"], sql);
    assert!(status.success(), "{sql}\nfailed: {stderr}");
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("PartnerStack"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn explain_names_the_links_path_parameter() {
    let mock = Mock::start();
    let db = Db::with_partnerstack(&mock);
    let lines = explain_lines(
        &db,
        "EXPLAIN SELECT key FROM partnerstack.links WHERE partnership_key = 'p1';",
    );
    assert!(
        lines.contains(&"PartnerStack Endpoint: GET /links/partnership/{partnership_key}".into()),
        "{lines:#?}"
    );
}

#[test]
fn explain_analyze_of_a_write_shows_the_requests_sent_once() {
    let mock = Mock::start();
    let db = Db::with_partnerstack(&mock);
    mock.clear_requests();

    let insert = explain_lines(
        &db,
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) INSERT INTO partnerstack.customers \
         (email, partner_key, customer_key) VALUES ('a@example.org', 'gstest', 'fh-1'), \
         ('b@example.org', 'gstest', 'fh-2');",
    );
    assert_eq!(
        insert,
        [
            "PartnerStack Write Traffic: requests=2 retries=0",
            "PartnerStack Write Requests: POST /customers; POST /customers",
        ],
        "{insert:#?}"
    );

    // The mock answers PUT with 405: the statement sends PATCH after it, and says so.
    let update = explain_lines(
        &db,
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) UPDATE partnerstack.customers \
         SET name = 'Ada' WHERE customer_key = 'fh-1';",
    );
    assert!(
        update.contains(&"PartnerStack Write Traffic: requests=2 retries=0".into())
            && update.contains(
                &"PartnerStack Write Requests: PUT /customers/fh-1; PATCH /customers/fh-1".into()
            ),
        "{update:#?}"
    );
    // The scan that found the row reports its own request beside the write's.
    assert!(
        update
            .iter()
            .any(|l| l == "PartnerStack Traffic: requests=1 pages=0 items=1 retries=0"),
        "{update:#?}"
    );

    let delete = explain_lines(
        &db,
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) DELETE FROM partnerstack.customers \
         WHERE customer_key IN ('fh-1', 'fh-2');",
    );
    // Rows of different objects go out concurrently: the log is in the order they completed.
    let mut deleted: Vec<&str> = delete
        .iter()
        .find_map(|l| l.strip_prefix("PartnerStack Write Requests: "))
        .unwrap_or_else(|| panic!("{delete:#?}"))
        .split("; ")
        .collect();
    deleted.sort_unstable();
    assert_eq!(
        deleted,
        ["DELETE /customers/fh-1", "DELETE /customers/fh-2"],
        "{delete:#?}"
    );

    // Each write reached the API exactly once: sending them for EXPLAIN left nothing for the
    // end of the statement.
    let mut writes: Vec<String> = mock
        .writes()
        .into_iter()
        .map(|w| w.replace("/api/v2", ""))
        .collect();
    writes.sort_unstable();
    assert_eq!(
        writes,
        [
            "DELETE /customers/fh-1 200",
            "DELETE /customers/fh-2 200",
            "PATCH /customers/fh-1 200",
            "POST /customers 200",
            "POST /customers 200",
            "PUT /customers/fh-1 405",
        ],
        "{writes:#?}"
    );

    // Plain EXPLAIN sends nothing.
    mock.clear_requests();
    let plain = explain_lines(
        &db,
        "EXPLAIN INSERT INTO partnerstack.customers (email, partner_key) \
         VALUES ('c@example.org', 'gstest');",
    );
    assert!(
        plain.iter().all(|l| !l.starts_with("PartnerStack Write")),
        "{plain:#?}"
    );
    assert_eq!(mock.writes(), Vec::<String>::new());
}

/// On the line before a ```sql fence of README.md, keeps that block out of
/// [`every_readme_sql_block_runs_against_the_demo_mock`] (e.g. a block that needs real keys);
/// the rest of the line says why.
const README_SKIP_MARKER: &str = "<!-- readme-test: not run";

/// The `api_url` host of the README, the demo's mock (`scripts/demo.sh`, port 8787): the one
/// value the test replaces, with its own mock's address.
const DEMO_MOCK_ADDRESS: &str = "http://127.0.0.1:8787";

/// The ```sql blocks of README.md in order, with the line of their fence, except those marked
/// with [`README_SKIP_MARKER`].
fn readme_sql_blocks() -> (Vec<(usize, String)>, usize) {
    let readme = include_str!("../../../README.md");
    let lines: Vec<&str> = readme.lines().collect();
    let (mut blocks, mut skipped) = (Vec::new(), 0);
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() == "```sql" {
            let start = i;
            let mut body = String::new();
            i += 1;
            while i < lines.len() && !lines[i].starts_with("```") {
                body.push_str(lines[i]);
                body.push('\n');
                i += 1;
            }
            if start > 0 && lines[start - 1].starts_with(README_SKIP_MARKER) {
                skipped += 1;
            } else {
                blocks.push((start + 1, body));
            }
        }
        i += 1;
    }
    (blocks, skipped)
}

#[test]
fn every_readme_sql_block_runs_against_the_demo_mock() {
    // The mock as the demo starts it: data dated up to today.
    let demo = include_str!("../../../scripts/demo.sh");
    assert!(
        demo.contains("--data-until today"),
        "scripts/demo.sh changed its mock"
    );
    let mock = Mock::start_with(&["--data-until", "today"]);
    let db = Db::new();

    let (blocks, skipped) = readme_sql_blocks();
    assert!(
        blocks.len() >= 3,
        "README.md has {} sql blocks",
        blocks.len()
    );
    assert!(
        skipped * 4 <= blocks.len(),
        "{skipped} README sql blocks are marked as not run: make them runnable on the demo"
    );
    assert!(
        blocks[0].1.starts_with("CREATE EXTENSION partnerstack;"),
        "the first sql block of README.md sets the extension up: {}",
        blocks[0].1
    );
    for (line, sql) in &blocks {
        let sql = sql.replace(DEMO_MOCK_ADDRESS, &mock.base_url());
        let (stdout, stderr, status) = db.psql(&sql);
        assert!(
            status.success() && !stderr.contains("ERROR"),
            "README.md line {line}:\n{sql}\nfailed: {stderr}"
        );
        assert!(
            !stdout.contains("(0 rows)"),
            "README.md line {line}: a query returns nothing on the demo:\n{stdout}"
        );
    }
}
