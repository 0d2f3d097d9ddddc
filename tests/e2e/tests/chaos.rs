//! Chaos: scans against an API that fails at random in every documented way. Each scan ends in
//! the complete, correct result or an ERROR; never a crash, never a partial result reported as
//! success. `CHAOS_SCANS` sets the number of scans (default 40; `scripts/chaos.sh` runs more).

use std::collections::BTreeMap;

use partnerstack_e2e::{Db, Mock, error_text};
use serde_json::json;

#[test]
fn random_faults_never_lose_or_duplicate_a_row_silently() {
    let scans: usize = std::env::var("CHAOS_SCANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let rows = 2000;
    let mock = Mock::start_with(&["--size", &format!("transactions={rows}"), "--seed", "7"]);
    let mut db = Db::with_partnerstack(&mock);
    db.batch_execute(
        "ALTER SERVER partnerstack_server OPTIONS (ADD retry_base_ms '10', ADD retry_max_ms '50',
           ADD max_retries '3', ADD timeout_ms '1500', ADD max_response_bytes '2097152')",
    )
    .unwrap();
    // CHAOS_PAGE_SIZE=50 makes each scan 40 pages, cut into created_at windows read at once:
    // the faults then hit windows in flight. Each page is a draw of the faults that must stay
    // ERRORs, so more pages a scan means fewer scans complete (the rows of those that do must
    // still be exact).
    if let Some(size) = std::env::var("CHAOS_PAGE_SIZE")
        .ok()
        .filter(|s| !s.is_empty())
    {
        let size: u32 = size.parse().expect("CHAOS_PAGE_SIZE is a number");
        db.batch_execute(&format!(
            "ALTER SERVER partnerstack_server OPTIONS (ADD page_size '{size}')"
        ))
        .unwrap();
    }
    let api = "/api/v2/transactions";
    mock.faults(json!([
        {"kind": "status", "status": 500, "probability": 0.04, "path_prefix": api},
        {"kind": "status", "status": 503, "probability": 0.02, "path_prefix": api},
        {"kind": "status", "status": 429, "probability": 0.05, "path_prefix": api},
        {"kind": "html", "status": 502, "probability": 0.02, "path_prefix": api},
        {"kind": "invalid_json", "probability": 0.015, "path_prefix": api},
        {"kind": "truncate", "probability": 0.015, "path_prefix": api},
        {"kind": "reset", "probability": 0.015, "path_prefix": api},
        {"kind": "empty_has_more", "probability": 0.01, "path_prefix": api},
        {"kind": "repeat_cursor", "probability": 0.01, "path_prefix": api},
        {"kind": "slow", "delay_ms": 300, "probability": 0.02, "path_prefix": api},
        {"kind": "hang", "probability": 0.005, "path_prefix": api},
        {"kind": "oversize", "probability": 0.005, "path_prefix": api}
    ]));
    let (mut complete, mut errors, mut lost, mut duplicated) = (0usize, 0usize, 0i64, 0i64);
    let mut error_kinds: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..scans {
        match db.query_one(
            "SELECT count(*), count(DISTINCT key) FROM partnerstack.transactions",
            &[],
        ) {
            Ok(row) => {
                let (n, distinct): (i64, i64) = (row.get(0), row.get(1));
                complete += 1;
                lost += (rows - distinct).max(0);
                duplicated += n - distinct;
            }
            Err(e) => {
                errors += 1;
                let code = e.code().map(|c| c.code().to_owned()).unwrap_or_default();
                assert!(
                    code.starts_with("HV") || code == "57014",
                    "an FDW error, not something else: {}",
                    error_text(&e)
                );
                let text = error_text(&e);
                let kind = [
                    "HTTP 5",
                    "429",
                    "not valid JSON",
                    "connection to PartnerStack",
                    "has_more",
                    "second time",
                    "did not answer",
                    "max_response_bytes",
                ]
                .iter()
                .find(|k| text.contains(**k))
                .map_or("other", |k| k);
                *error_kinds.entry(kind.to_string()).or_default() += 1;
            }
        }
        // The session survives every failure.
        let one: i32 = db.scalar("SELECT 1", &[]);
        assert_eq!(one, 1);
    }
    let log = mock.requests();
    let injected = log.iter().filter(|r| !r["fault"].is_null()).count();
    println!(
        "chaos: scans={scans} complete={complete} errors={errors} requests={} faults_injected={injected} \
         rows_lost={lost} rows_duplicated={duplicated} errors_by_kind={error_kinds:?}",
        log.len()
    );
    assert_eq!(lost, 0, "a scan reported success with rows missing");
    assert_eq!(duplicated, 0, "a scan reported success with rows twice");
    assert!(injected > 0, "faults were injected");
    assert!(complete > 0, "retries carry most scans through");
}
