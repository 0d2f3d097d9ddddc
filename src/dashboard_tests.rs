//! In-database tests of dashboard queries (issue 9): time comparisons (a `timestamptz` column
//! against a `date`, a `timestamp`, `now()`, `current_date`, ... is pushed, with the bound
//! Postgres itself compares with, under the session's TimeZone at execution time, across DST
//! changes) and the API's order given to the planner.
//!
//! The server points at a closed port (the setup of `tests.rs`): EXPLAIN without ANALYZE prints the request the scan
//! would send, computed without sending it.

#[pgrx::pg_schema]
mod tests {
    use partnerstack_api::catalogue::resource;
    use partnerstack_api::pushdown::plan_requests;
    use partnerstack_api::{Condition, Op, Operand};
    use pgrx::IntoDatum;
    use pgrx::datum::{Date, Timestamp};
    use pgrx::prelude::*;

    use crate::quals::ValueType;
    use crate::table::time_operand;
    use crate::tests::tests::{explain as plan, setup};

    /// Zones with DST at different dates, offsets that are not whole hours, a 30-minute DST
    /// shift (Lord Howe), a southern-hemisphere DST and none at all.
    const ZONES: [&str; 8] = [
        "UTC",
        "America/New_York",
        "Europe/London",
        "Europe/Berlin",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "America/St_Johns",
        "Pacific/Chatham",
    ];

    /// Days of DST changes in 2025 (spring forward and fall back, both hemispheres).
    const DST_DAYS: [&str; 8] = [
        "2025-03-09",
        "2025-11-02",
        "2025-03-30",
        "2025-10-26",
        "2025-04-06",
        "2025-10-05",
        "2025-09-28",
        "2025-01-01",
    ];

    /// The `PartnerStack Requests` line EXPLAIN prints for `sql`.
    fn requests(sql: &str) -> String {
        let plan = Spi::connect(|client| {
            client
                .select(&format!("EXPLAIN (COSTS OFF) {sql}"), None, &[])
                .unwrap()
                .map(|row| row.get::<String>(1).unwrap().unwrap())
                .collect::<Vec<_>>()
        });
        plan.iter()
            .find_map(|l| l.trim().strip_prefix("PartnerStack Requests: "))
            .unwrap_or_else(|| panic!("{sql}: no requests line in {plan:#?}"))
            .to_owned()
    }

    /// The value of query parameter `name` in an EXPLAIN request line.
    fn param(line: &str, name: &str) -> Option<i64> {
        let query = line.split_once('?')?.1;
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .map(|v| v.parse().unwrap())
    }

    #[pg_test]
    fn every_form_of_last_30_days_is_pushed() {
        setup();
        let forms = [
            "updated_at >= current_date - 30",
            "updated_at >= now() - interval '30 days'",
            "updated_at >= CURRENT_TIMESTAMP - interval '30 days'",
            "updated_at >= date_trunc('day', now()) - interval '30 days'",
            "updated_at >= date_trunc('day', localtimestamp) - interval '30 days'",
            "updated_at > localtimestamp - interval '30 days'",
            "updated_at >= (current_date - 30)::timestamp",
            "current_date - 30 <= updated_at",
        ];
        let midnight_30_days_ago = Spi::get_one::<i64>(
            "SELECT (extract(epoch FROM (current_date - 30)::timestamptz) * 1000)::bigint",
        )
        .unwrap()
        .unwrap();
        for form in forms {
            let line = requests(&format!("SELECT key FROM ps.customers WHERE {form}"));
            let min = param(&line, "min_updated").unwrap_or_else(|| panic!("{form}: {line}"));
            assert!(
                (min - midnight_30_days_ago).abs() <= 2 * 86_400_000,
                "{form}: {line}"
            );
        }
    }

    #[pg_test]
    fn date_and_timestamp_literals_are_read_in_the_session_time_zone() {
        setup();
        let cases = [
            ("UTC", "updated_at >= DATE '2025-06-01'", 1_748_736_000_000),
            (
                "America/New_York",
                "updated_at >= DATE '2025-06-01'",
                1_748_750_400_000,
            ),
            (
                "Europe/Berlin",
                "updated_at >= '2025-06-01'::timestamp",
                1_748_728_800_000,
            ),
            (
                "Europe/Berlin",
                "updated_at >= '2025-01-15 00:00'::timestamp without time zone",
                1_736_895_600_000,
            ),
        ];
        for (zone, condition, min) in cases {
            Spi::run(&format!("SET TimeZone = '{zone}'")).unwrap();
            let line = requests(&format!("SELECT key FROM ps.customers WHERE {condition}"));
            assert_eq!(param(&line, "min_updated"), Some(min), "{zone} {condition}");
        }
        // `>` on a date: the first millisecond after midnight.
        Spi::run("SET TimeZone = 'UTC'").unwrap();
        let line = requests("SELECT key FROM ps.deals WHERE created_at > DATE '2025-06-01'");
        assert_eq!(param(&line, "min_created"), Some(1_748_736_000_001));
        let line = requests("SELECT key FROM ps.deals WHERE DATE '2025-06-01' > created_at");
        assert_eq!(param(&line, "max_created"), Some(1_748_735_999_999));
    }

    #[pg_test]
    fn a_cached_plan_converts_with_the_time_zone_of_each_execution() {
        setup();
        Spi::run(
            "SET plan_cache_mode = force_generic_plan;
             PREPARE since_date(date) AS SELECT key FROM ps.customers WHERE updated_at >= $1;
             PREPARE since_naive(timestamp) AS SELECT key FROM ps.customers WHERE updated_at >= $1;
             PREPARE since_literal AS SELECT key FROM ps.customers WHERE updated_at >= DATE '2025-06-01'",
        )
        .unwrap();
        for (zone, min) in [
            ("UTC", 1_748_736_000_000_i64),
            ("America/New_York", 1_748_750_400_000),
        ] {
            Spi::run(&format!("SET TimeZone = '{zone}'")).unwrap();
            for execute in [
                "EXECUTE since_date('2025-06-01')",
                "EXECUTE since_naive('2025-06-01 00:00')",
                "EXECUTE since_literal",
            ] {
                let line = requests(execute);
                assert_eq!(param(&line, "min_updated"), Some(min), "{zone} {execute}");
            }
        }
    }

    #[pg_test]
    fn infinite_time_values_bound_everything_or_nothing() {
        setup();
        for condition in [
            "updated_at >= '-infinity'::timestamp",
            "updated_at < 'infinity'::timestamptz",
            // A date beyond timestamptz's range: Postgres compares it as an infinity.
            "updated_at < DATE '5874000-01-01'",
        ] {
            let line = requests(&format!("SELECT key FROM ps.customers WHERE {condition}"));
            assert_eq!(line, "GET /customers?limit=250", "{condition}");
        }
        for condition in [
            "updated_at >= DATE 'infinity'",
            "updated_at < '-infinity'::timestamptz",
            "updated_at > DATE '5874000-01-01'",
        ] {
            let line = requests(&format!("SELECT key FROM ps.customers WHERE {condition}"));
            assert_eq!(line, "none: the conditions match no row", "{condition}");
        }
    }

    #[pg_test]
    fn time_comparisons_pushed_only_for_builtin_operators() {
        setup();
        Spi::run(
            "CREATE FUNCTION ps.always(timestamptz, date) RETURNS boolean
               LANGUAGE sql IMMUTABLE AS 'SELECT true';
             CREATE OPERATOR ps.>= (LEFTARG = timestamptz, RIGHTARG = date, FUNCTION = ps.always)",
        )
        .unwrap();
        let line = requests(
            "SELECT key FROM ps.customers WHERE updated_at OPERATOR(ps.>=) DATE '2025-06-01'",
        );
        assert_eq!(line, "GET /customers?limit=250");
    }

    /// A small deterministic generator (splitmix64): the cases are the same on every run.
    struct Cases(u64);

    impl Cases {
        fn next(&mut self, below: u64) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) % below
        }
    }

    /// The millisecond values a pushed `updated_at op value` lets through, among `candidates`.
    fn pushed_selects(op: Op, operand: Operand, candidates: &[i64]) -> Vec<i64> {
        let customers = resource("customers").unwrap();
        let column = customers
            .columns
            .iter()
            .position(|c| c.name == "updated_at")
            .unwrap();
        let condition = Condition {
            column,
            op,
            values: vec![operand],
        };
        let requests = plan_requests(customers, &[condition]).unwrap();
        let Some(request) = requests.first() else {
            return Vec::new();
        };
        let bound = |name: &str| {
            request
                .params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.parse::<i64>().unwrap())
        };
        let (min, max) = (bound("min_updated"), bound("max_updated"));
        candidates
            .iter()
            .copied()
            .filter(|&ms| min.is_none_or(|m| ms >= m) && max.is_none_or(|m| ms <= m))
            .collect()
    }

    #[pg_test]
    fn pushed_bounds_select_what_postgres_selects_across_zones_and_dst() {
        let mut cases = Cases(9);
        let ops = [Op::Gt, Op::Ge, Op::Lt, Op::Le, Op::Eq];
        let mut checked = 0;
        for zone in ZONES {
            Spi::run(&format!("SET TimeZone = '{zone}'")).unwrap();
            for day in DST_DAYS {
                for _ in 0..6 {
                    // Around the small hours, when clocks change; often on whole minutes or
                    // milliseconds, sometimes between two milliseconds.
                    let hour = cases.next(5);
                    let minute = [0, 30, 45, cases.next(60)][cases.next(4) as usize];
                    let micros = [0, 0, 1000 * cases.next(1000), cases.next(1_000_000)]
                        [cases.next(4) as usize];
                    let second = cases.next(60);
                    let shift = cases.next(3) as i64 - 1;
                    let timestamp = format!(
                        "('{day}'::date + {shift})::timestamp + interval '{hour} hours {minute} minutes {second}.{micros:06} seconds'"
                    );
                    let date = format!("('{day}'::date + {shift})");
                    for (literal, sql_type, value_type) in [
                        (timestamp, "timestamp", ValueType::Timestamp),
                        (date, "date", ValueType::Date),
                    ] {
                        let value = format!("({literal})::{sql_type}");
                        let datum = match value_type {
                            ValueType::Timestamp => {
                                Spi::get_one::<Timestamp>(&format!("SELECT {value}"))
                                    .unwrap()
                                    .unwrap()
                                    .into_datum()
                            }
                            _ => Spi::get_one::<Date>(&format!("SELECT {value}"))
                                .unwrap()
                                .unwrap()
                                .into_datum(),
                        }
                        .unwrap();
                        // SAFETY: in a transaction on the backend thread; the datum is of the
                        // type `value_type` names.
                        let operand = unsafe { time_operand(datum, value_type) };
                        let instant = Spi::get_one::<i64>(&format!(
                            "SELECT floor(extract(epoch FROM ({value})::timestamptz) * 1000)::bigint"
                        ))
                        .unwrap()
                        .unwrap();
                        let candidates: Vec<i64> = (instant - 3..=instant + 3).collect();
                        for op in ops {
                            let postgres = Spi::get_one::<Vec<i64>>(&format!(
                                "SELECT coalesce(array_agg(ms ORDER BY ms) FILTER
                                          (WHERE timestamptz 'epoch' + ms * interval '1 ms' {} {value}),
                                        '{{}}')
                                   FROM generate_series({}::bigint, {}) ms",
                                op.sql(),
                                instant - 3,
                                instant + 3
                            ))
                            .unwrap()
                            .unwrap();
                            assert_eq!(
                                pushed_selects(op, operand.clone(), &candidates),
                                postgres,
                                "{zone}: updated_at {} {value}",
                                op.sql()
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, ZONES.len() * DST_DAYS.len() * 6 * 2 * ops.len());
    }

    #[pg_test]
    fn latest_n_needs_no_sort_and_asks_for_n_rows() {
        setup();
        let latest = plan("SELECT key FROM ps.customers ORDER BY created_at DESC LIMIT 10");
        assert!(!latest.contains("Sort"), "{latest}");
        assert!(latest.contains("GET /customers?limit=10"), "{latest}");
        assert!(
            latest.contains("PartnerStack Pushed Order: created_at DESC"),
            "{latest}"
        );
        assert!(
            latest.contains("PartnerStack Pushed Limit: 10 rows"),
            "{latest}"
        );
        let filtered = plan(
            "SELECT key FROM ps.deals WHERE updated_at >= DATE '2025-06-01' AND partner_key = 'p'
              ORDER BY created_at DESC LIMIT 5 OFFSET 5",
        );
        assert!(!filtered.contains("Sort"), "{filtered}");
        assert!(filtered.contains("&limit=10"), "{filtered}");
        // A local condition: still in order, but the LIMIT cannot size the pages.
        let local = plan(
            "SELECT key FROM ps.customers WHERE email LIKE '%@x.io' ORDER BY created_at DESC LIMIT 3",
        );
        assert!(!local.contains("Sort"), "{local}");
        assert!(local.contains("GET /customers?limit=250"), "{local}");
    }

    #[pg_test]
    fn orders_the_api_does_not_give_are_sorted_by_postgres() {
        setup();
        for sql in [
            "SELECT key FROM ps.customers ORDER BY created_at LIMIT 10",
            "SELECT key FROM ps.customers ORDER BY created_at DESC NULLS LAST LIMIT 10",
            "SELECT key FROM ps.customers ORDER BY updated_at DESC LIMIT 10",
            // Two list requests, each in order, not in order together.
            "SELECT key FROM ps.customers WHERE partner_key IN ('a', 'b') ORDER BY created_at DESC LIMIT 10",
        ] {
            let plan = plan(sql);
            assert!(plan.contains("Sort"), "{sql}: {plan}");
            assert!(!plan.contains("Pushed Order"), "{sql}: {plan}");
            assert!(
                !plan.contains("&limit=10") && !plan.contains("?limit=10"),
                "{sql}: {plan}"
            );
        }
        // A second sort key: the API's order is a prefix, an Incremental Sort finishes it.
        let prefix = plan("SELECT key FROM ps.customers ORDER BY created_at DESC, key LIMIT 10");
        assert!(prefix.contains("Incremental Sort"), "{prefix}");
        assert!(prefix.contains("Pushed Order"), "{prefix}");
        assert!(prefix.contains("GET /customers?limit=250"), "{prefix}");
    }

    #[pg_test]
    fn oldest_first_asks_order_by_where_the_list_documents_it() {
        setup();
        let oldest = plan("SELECT key FROM ps.transactions ORDER BY created_at LIMIT 10");
        assert!(!oldest.contains("Sort"), "{oldest}");
        assert!(
            oldest.contains(
                "PartnerStack Pushed Order: created_at ASC (order_by=created_at: no sort)"
            ),
            "{oldest}"
        );
        assert!(
            oldest.contains("GET /transactions?order_by=created_at&limit=10"),
            "{oldest}"
        );
        let filtered = plan(
            "SELECT key FROM ps.actions WHERE type = 't' AND created_at >= DATE '2025-06-01'
              ORDER BY created_at ASC NULLS LAST LIMIT 5",
        );
        assert!(!filtered.contains("Sort"), "{filtered}");
        assert!(
            filtered.contains("&action_type=t&order_by=created_at&limit=5"),
            "{filtered}"
        );
        // Newest first is still the API's own order, without a parameter.
        let newest = plan("SELECT key FROM ps.rewards ORDER BY created_at DESC LIMIT 3");
        assert!(newest.contains("GET /rewards?limit=3"), "{newest}");
        for sql in [
            // NULLS FIRST is not the API's placement (none, but the plan would rely on it).
            "SELECT key FROM ps.transactions ORDER BY created_at NULLS FIRST LIMIT 10",
            // No order_by on vendor partnerships (§6 #16) and by updated_at nowhere on vendors.
            "SELECT key FROM ps.partnerships ORDER BY created_at LIMIT 10",
            "SELECT key FROM ps.actions ORDER BY updated_at LIMIT 10",
            // Several requests.
            "SELECT key FROM ps.actions WHERE type IN ('a', 'b') ORDER BY created_at LIMIT 10",
        ] {
            let plan = plan(sql);
            assert!(plan.contains("Sort"), "{sql}: {plan}");
            assert!(!plan.contains("order_by"), "{sql}: {plan}");
        }
    }

    #[pg_test]
    fn count_star_of_pushed_conditions_reads_total() {
        setup();
        for (sql, request) in [
            (
                "SELECT count(*) FROM ps.customers",
                "GET /customers?limit=1",
            ),
            (
                "SELECT count(*) AS n FROM ps.customers
                  WHERE updated_at >= DATE '2025-06-01' AND partner_key = 'p'",
                "GET /customers?min_updated=1748736000000&partner_key=p&limit=1",
            ),
            (
                "SELECT count(*), count(*) FROM ps.actions WHERE type IN ('a', 'b')",
                "GET /actions?action_type=a&limit=1; GET /actions?action_type=b&limit=1",
            ),
        ] {
            Spi::run("SET TimeZone = 'UTC'").unwrap();
            let plan = plan(sql);
            assert!(
                !plan.contains("Aggregate\n") && !plan.contains("Aggregate "),
                "{sql}: {plan}"
            );
            assert!(
                plan.contains("PartnerStack Pushed Aggregate: count(*)"),
                "{sql}: {plan}"
            );
            assert!(
                plan.contains(&format!("PartnerStack Requests: {request}")),
                "{sql}: {plan}"
            );
        }
    }

    #[pg_test]
    fn count_is_not_read_from_total_unless_exact() {
        setup();
        Spi::run("CREATE TEMP TABLE wanted (customer_key text)").unwrap();
        for sql in [
            "SELECT count(*) FROM ps.customers WHERE email LIKE '%@x.io'",
            "SELECT count(*) FROM ps.customers WHERE customer_key = 'c1'",
            "SELECT count(*) FROM ps.customers GROUP BY partner_key",
            "SELECT count(*) FROM ps.customers HAVING count(*) > 1",
            "SELECT DISTINCT count(*) FROM ps.customers",
            "SELECT count(DISTINCT key) FROM ps.customers",
            "SELECT count(email) FROM ps.customers",
            "SELECT count(*) FILTER (WHERE email IS NULL) FROM ps.customers",
            "SELECT count(*) + 1 FROM ps.customers",
            "SELECT count(*), max(created_at) FROM ps.customers",
            "SELECT count(*) FROM ps.customers c JOIN wanted w USING (customer_key)",
            "SELECT count(*) FROM ps.customers c, ps.deals d WHERE c.key = d.key",
            "SELECT count(*) FROM ps.actions WHERE type IN ('a', 'b') AND partnership_key IN ('p', 'q')",
            "SELECT count(*) FROM ps.transactions WHERE updated_at > now()",
        ] {
            let plan = plan(sql);
            assert!(plan.contains("Aggregate"), "{sql}: {plan}");
            assert!(!plan.contains("Pushed Aggregate"), "{sql}: {plan}");
        }
    }
}
