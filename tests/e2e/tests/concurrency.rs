//! Eight connections read and write at once, under two roles holding different keys: no errors,
//! and no request ever carries the other role's key. `SOAK_SECONDS` sets the duration (default
//! 5; `scripts/soak.sh` runs 60).

use std::time::{Duration, Instant};

use partnerstack_e2e::{Cluster, Db, Mock, error_text};

#[test]
fn eight_connections_two_roles_never_mix_keys() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mock = Mock::start_with(&[
        "--rate-limit",
        "0",
        "--key",
        "pk_test_role_a:sk_test_role_a",
        "--key",
        "pk_test_role_b:sk_test_role_b",
    ]);
    let mut db = Db::new();
    db.setup_partnerstack(Some(&mock.api_url()), "pk_test_role_a", "sk_test_role_a");
    let role_b = format!("soak_b_{}", std::process::id());
    db.batch_execute(&format!(
        "CREATE ROLE {role_b} LOGIN;
         GRANT USAGE ON SCHEMA partnerstack TO {role_b};
         GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA partnerstack TO {role_b};
         GRANT USAGE ON FOREIGN SERVER partnerstack_server TO {role_b};
         CREATE USER MAPPING FOR {role_b} SERVER partnerstack_server
           OPTIONS (public_key 'pk_test_role_b', private_key 'sk_test_role_b');"
    ))
    .unwrap();
    let customer: String = db.scalar("SELECT key FROM partnerstack.customers LIMIT 1", &[]);
    mock.clear_requests();
    let cluster = Cluster::get();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..8)
        .map(|n| {
            let role = if n % 2 == 0 {
                "postgres".to_owned()
            } else {
                role_b.clone()
            };
            let tag = if n % 2 == 0 { "a" } else { "b" };
            let conn = format!(
                "host={} port={} user={role} dbname={} connect_timeout=30",
                cluster.host(),
                cluster.port(),
                db.name()
            );
            let customer = customer.clone();
            std::thread::spawn(move || {
                let mut client = postgres::Client::connect(&conn, postgres::NoTls).unwrap();
                let (mut statements, mut errors) = (0u64, Vec::new());
                let mut i = 0u64;
                while Instant::now() < deadline {
                    i += 1;
                    // The filter value names the role, so the log can tell whose request it was.
                    let read = client.query(
                        "SELECT key FROM partnerstack.customers WHERE partner_key = $1",
                        &[&format!("role-{tag}")],
                    );
                    let write = client.execute(
                        "INSERT INTO partnerstack.transactions (key, amount, currency, customer_key)
                         VALUES ($1, 100, 'USD', $2)",
                        &[&format!("soak-{tag}-{n}-{i}"), &customer],
                    );
                    statements += 2;
                    for result in [read.map(|_| ()), write.map(|_| ())] {
                        if let Err(e) = result {
                            errors.push(error_text(&e));
                        }
                    }
                }
                (statements, errors)
            })
        })
        .collect();
    let mut statements = 0;
    let mut errors = Vec::new();
    for w in workers {
        let (s, e) = w.join().unwrap();
        statements += s;
        errors.extend(e);
    }
    let log = mock.requests();
    let mut crossed = 0;
    for r in &log {
        let tag = r["params"]["partner_key"]
            .as_str()
            .and_then(|p| p.strip_prefix("role-"))
            .or_else(|| {
                r["body"]["key"]
                    .as_str()
                    .and_then(|k| k.strip_prefix("soak-"))
                    .and_then(|k| k.get(..1))
            })
            .expect("every request is attributable");
        if r["public_key"] != format!("pk_test_role_{tag}") {
            crossed += 1;
        }
    }
    println!(
        "soak: seconds={seconds} connections=8 statements={statements} requests={} errors={} cross_role_requests={crossed}",
        log.len(),
        errors.len()
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(crossed, 0);
    assert!(statements > 16, "every connection got work done");
}
