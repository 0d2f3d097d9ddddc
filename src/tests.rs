//! In-database tests (`cargo pgrx test`): behaviour that needs Postgres but no API server.
//!
//! The server points at a closed port, so a test that passes proves no request was needed:
//! any request would end in a connection ERROR.

#[pgrx::pg_schema]
pub(crate) mod tests {
    use pgrx::prelude::*;

    /// A loopback port nothing listens on (the discard port).
    const CLOSED_API_URL: &str = "http://127.0.0.1:9/api/v2";

    /// A server at a closed port, a user mapping, and every table imported into schema `ps`.
    pub(crate) fn setup() {
        Spi::run(&format!(
            "CREATE SERVER ps_test FOREIGN DATA WRAPPER partnerstack OPTIONS (api_url '{CLOSED_API_URL}');
             CREATE USER MAPPING FOR CURRENT_USER SERVER ps_test
               OPTIONS (public_key 'pk_test_x', private_key 'sk_secret_never_shown');
             CREATE SCHEMA ps;
             IMPORT FOREIGN SCHEMA partnerstack FROM SERVER ps_test INTO ps;"
        ))
        .unwrap();
    }

    fn count(sql: &str) -> i64 {
        Spi::get_one::<i64>(sql).unwrap().unwrap()
    }

    /// `EXPLAIN (COSTS OFF)` of `sql`, its lines joined.
    pub(crate) fn explain(sql: &str) -> String {
        Spi::connect(|client| {
            client
                .select(&format!("EXPLAIN (COSTS OFF) {sql}"), None, &[])
                .unwrap()
                .map(|row| row.get::<String>(1).unwrap().unwrap())
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    /// The test cluster preloads the library: every client of one API host draws on one bucket
    /// in shared memory; another host has its own.
    #[pg_test]
    fn the_preloaded_library_shares_one_budget_per_api_host() {
        let budget = crate::shared_budget::for_host;
        // Hosts of this run only: a bucket another run drew on recently is not full.
        let run = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        let (host, other_host) = (format!("budget-{run}:1"), format!("budget-other-{run}:1"));
        let first = budget(&host, 60).expect("the budget is in shared memory");
        let second = budget(&host, 60).unwrap();
        let other = budget(&other_host, 60).unwrap();
        // 60 a minute: bursts of 20.
        assert!((0..20).all(|_| first.take().is_zero()));
        assert!(
            !second.take().is_zero(),
            "the second client drew on the first's bucket"
        );
        assert!(other.take().is_zero());
        assert!(budget(&host, 0).is_none(), "0 = no limit at all");
    }

    #[pg_test]
    fn create_extension_creates_the_wrapper() {
        let handler = Spi::get_one::<String>(
            "SELECT fdwhandler::regproc::text FROM pg_foreign_data_wrapper WHERE fdwname = 'partnerstack'",
        );
        assert_eq!(
            handler.unwrap().as_deref(),
            Some("partnerstack_fdw_handler")
        );
    }

    #[pg_test]
    fn import_creates_every_table_with_typed_columns() {
        setup();
        let tables = Spi::get_one::<String>(
            "SELECT string_agg(foreign_table_name, ',' ORDER BY foreign_table_name)
               FROM information_schema.foreign_tables WHERE foreign_table_schema = 'ps'",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            tables,
            "actions,conversions,customers,deals,groups,leads,links,partners,partnerships,rewards,transactions,webhooks"
        );
        let types = Spi::get_one::<String>(
            "SELECT string_agg(column_name || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
               FROM pg_attribute a JOIN information_schema.columns c
                 ON c.table_schema = 'ps' AND c.table_name = 'transactions' AND c.column_name = a.attname
              WHERE attrelid = 'ps.transactions'::regclass AND attnum > 0",
        )
        .unwrap()
        .unwrap();
        assert!(
            types.starts_with("key text, amount bigint, amount_usd bigint, approved boolean"),
            "{types}"
        );
        assert!(
            types.contains("created_at timestamp with time zone"),
            "{types}"
        );
        assert!(types.ends_with("attrs jsonb"), "{types}");
        assert_eq!(
            count(
                "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ps.partnerships'::regclass AND attname = 'tags' AND atttypid = 'text[]'::regtype"
            ),
            1
        );
    }

    #[pg_test]
    fn import_honours_limit_to_and_except() {
        Spi::run(&format!(
            "CREATE SERVER ps_test FOREIGN DATA WRAPPER partnerstack OPTIONS (api_url '{CLOSED_API_URL}');
             CREATE SCHEMA a; CREATE SCHEMA b;
             IMPORT FOREIGN SCHEMA partnerstack LIMIT TO (customers, rewards) FROM SERVER ps_test INTO a;
             IMPORT FOREIGN SCHEMA partnerstack EXCEPT (links, groups) FROM SERVER ps_test INTO b;"
        ))
        .unwrap();
        assert_eq!(
            count(
                "SELECT count(*) FROM information_schema.foreign_tables WHERE foreign_table_schema = 'a'"
            ),
            2
        );
        assert_eq!(
            count(
                "SELECT count(*) FROM information_schema.foreign_tables WHERE foreign_table_schema = 'b'"
            ),
            // Every vendor table but the two: partners joined the nine of 0.1.0.
            10
        );
    }

    #[pg_test(error = "PartnerStack has no table \"payouts\"")]
    fn import_of_an_unknown_table_is_an_error() {
        Spi::run(&format!(
            "CREATE SERVER ps_test FOREIGN DATA WRAPPER partnerstack OPTIONS (api_url '{CLOSED_API_URL}');
             CREATE SCHEMA a;
             IMPORT FOREIGN SCHEMA partnerstack LIMIT TO (payouts) FROM SERVER ps_test INTO a;"
        ))
        .unwrap();
    }

    #[pg_test]
    fn partner_server_imports_the_partner_tables() {
        Spi::run(&format!(
            "CREATE SERVER pp FOREIGN DATA WRAPPER partnerstack
               OPTIONS (api 'partner', api_url '{CLOSED_API_URL}');
             CREATE USER MAPPING FOR CURRENT_USER SERVER pp OPTIONS (api_key 'pak_never_shown');
             CREATE SCHEMA pa;
             IMPORT FOREIGN SCHEMA partnerstack FROM SERVER pp INTO pa;"
        ))
        .unwrap();
        let tables = Spi::get_one::<String>(
            "SELECT string_agg(c.relname || '=' || array_to_string(t.ftoptions, ';'), ' ' ORDER BY c.relname)
             FROM pg_foreign_table t JOIN pg_class c ON c.oid = t.ftrelid
             WHERE c.relnamespace = 'pa'::regnamespace",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            tables,
            "actions=resource=partner.actions;rowid_column=key \
             customers=resource=partner.customers;rowid_column=key \
             links=resource=partner.links;rowid_column=key \
             marketplace_programs=resource=partner.marketplace_programs;rowid_column=key \
             partnerships=resource=partner.partnerships;rowid_column=key \
             payouts=resource=partner.payouts;rowid_column=key \
             rewards=resource=partner.rewards;rowid_column=key \
             transactions=resource=partner.transactions;rowid_column=key"
        );
        // A list with no condition needs no request to plan.
        let plan = explain("SELECT key FROM pa.payouts WHERE created_at >= '2025-01-01'");
        assert!(
            plan.contains("GET /payouts?min_created=1735689600000"),
            "{plan}"
        );
    }

    #[pg_test(error = "PartnerStack's Partner API has no table \"groups\"")]
    fn partner_server_has_no_vendor_only_tables() {
        Spi::run(&format!(
            "CREATE SERVER pp FOREIGN DATA WRAPPER partnerstack
               OPTIONS (api 'partner', api_url '{CLOSED_API_URL}');
             CREATE SCHEMA pa;
             IMPORT FOREIGN SCHEMA partnerstack LIMIT TO (groups) FROM SERVER pp INTO pa;"
        ))
        .unwrap();
    }

    #[pg_test(
        error = "invalid value for option \"api\": \"both\" is neither 'vendor' nor 'partner'"
    )]
    fn validator_rejects_unknown_api() {
        Spi::run("CREATE SERVER s FOREIGN DATA WRAPPER partnerstack OPTIONS (api 'both')").unwrap();
    }

    #[pg_test(
        error = "foreign table \"p\" reads partner.payouts, which is not a resource of a Vendor API server (without OPTIONS (api 'partner'))"
    )]
    fn partner_table_on_a_vendor_server_is_refused() {
        setup();
        Spi::run(
            "CREATE FOREIGN TABLE p (key text) SERVER ps_test OPTIONS (resource 'partner.payouts');
             SELECT * FROM p",
        )
        .unwrap();
    }

    #[pg_test(error = "invalid option \"api_key\" for a partnerstack server")]
    fn validator_rejects_unknown_server_option() {
        Spi::run("CREATE SERVER s FOREIGN DATA WRAPPER partnerstack OPTIONS (api_key 'x')")
            .unwrap();
    }

    #[pg_test(
        error = "invalid value for option \"page_size\": \"251\" is not a whole number from 1 to 250"
    )]
    fn validator_rejects_page_size_over_api_max() {
        Spi::run("CREATE SERVER s FOREIGN DATA WRAPPER partnerstack OPTIONS (page_size '251')")
            .unwrap();
    }

    #[pg_test(
        error = "invalid value for option \"api_url\": it must start with https:// or http://"
    )]
    fn validator_rejects_malformed_url() {
        Spi::run("CREATE SERVER s FOREIGN DATA WRAPPER partnerstack OPTIONS (api_url 'api.partnerstack.com')")
            .unwrap();
    }

    #[pg_test(error = "invalid option \"api_url\" for a partnerstack user mapping")]
    fn validator_rejects_unknown_mapping_option() {
        Spi::run(
            "CREATE SERVER s FOREIGN DATA WRAPPER partnerstack;
             CREATE USER MAPPING FOR CURRENT_USER SERVER s OPTIONS (api_url 'http://x')",
        )
        .unwrap();
    }

    #[pg_test(
        error = "invalid value for option \"resource\": \"payouts\" is not a PartnerStack resource; valid resources are: customers, partnerships, groups, deals, leads, transactions, rewards, actions, webhooks, links, partners, conversions"
    )]
    fn validator_rejects_unknown_resource() {
        Spi::run(
            "CREATE SERVER s FOREIGN DATA WRAPPER partnerstack;
             CREATE FOREIGN TABLE t (key text) SERVER s OPTIONS (resource 'payouts')",
        )
        .unwrap();
    }

    #[pg_test(error = "column \"amount\" of foreign table \"my_tx\" must be of type bigint")]
    fn wrong_column_type_is_refused_before_any_request() {
        setup();
        Spi::run(
            "CREATE FOREIGN TABLE my_tx (key text, amount numeric) SERVER ps_test OPTIONS (resource 'transactions');
             SELECT * FROM my_tx",
        )
        .unwrap();
    }

    #[pg_test(
        error = "column \"nickname\" of foreign table \"my_c\" is not a field of PartnerStack customers"
    )]
    fn unknown_column_is_refused_before_any_request() {
        setup();
        Spi::run(
            "CREATE FOREIGN TABLE my_c (key text, nickname text) SERVER ps_test OPTIONS (resource 'customers');
             SELECT * FROM my_c",
        )
        .unwrap();
    }

    #[pg_test]
    fn subset_of_columns_works_without_resource_option() {
        setup();
        Spi::run(
            "CREATE FOREIGN TABLE customers (customer_key text, updated_at timestamptz) SERVER ps_test",
        )
        .unwrap();
        let plan = explain("SELECT * FROM customers WHERE customer_key = 'c 1/2'");
        assert!(
            plan.contains("PartnerStack Requests: GET /customers/c%201%2F2"),
            "{plan}"
        );
    }

    #[pg_test(
        error = "links can only be read for given partnership_key values: add a condition partnership_key = '...' (or IN (...))"
    )]
    fn links_without_partnership_key_is_refused() {
        setup();
        Spi::run("SELECT * FROM ps.links").unwrap();
    }

    /// An ERROR raised while a pushed value is computed (here an init-plan dividing by zero)
    /// reaches the user as itself, and the backend scans on afterwards: the error unwinds
    /// through the scan's Rust frames instead of jumping over them.
    #[pg_test]
    fn error_in_pushed_value_is_that_error_and_session_goes_on() {
        setup();
        for _ in 0..3 {
            Spi::run(
                "DO $$
                 BEGIN
                   PERFORM key FROM ps.customers WHERE customer_key = (SELECT (1/0)::text);
                   RAISE EXCEPTION 'the scan ran without computing its value';
                 EXCEPTION WHEN division_by_zero THEN
                   NULL;
                 END $$",
            )
            .unwrap();
        }
        assert_eq!(
            count(
                "SELECT count(*) FROM ps.customers
                  WHERE updated_at > '2025-01-02' AND updated_at < '2025-01-01'"
            ),
            0
        );
    }

    #[pg_test]
    fn contradictory_conditions_send_no_request() {
        setup();
        assert_eq!(
            count(
                "SELECT count(*) FROM ps.customers
                  WHERE updated_at > '2025-01-02' AND updated_at < '2025-01-01'"
            ),
            0
        );
        assert_eq!(
            count(
                "SELECT count(*) FROM ps.customers WHERE created_at = '2025-01-01 00:00:00.0005+00'"
            ),
            0,
            "no millisecond equals a sub-millisecond instant"
        );
        assert_eq!(
            count("SELECT count(*) FROM ps.deals WHERE partner_key = NULL"),
            0
        );
    }

    #[pg_test]
    fn explain_shows_endpoint_and_parameters_not_keys() {
        setup();
        let plan = explain(
            "SELECT key FROM ps.customers
              WHERE updated_at >= '2025-01-01 00:00:00.0015+00' AND partner_key = 'p&1'",
        );
        assert!(
            plan.contains("PartnerStack Endpoint: GET /customers"),
            "{plan}"
        );
        assert!(
            plan.contains("PartnerStack Requests: GET /customers?min_updated=1735689600002&partner_key=p%261&limit=250"),
            "{plan}"
        );
        assert!(
            !plan.contains("sk_secret_never_shown") && !plan.contains("pk_test_x"),
            "{plan}"
        );
    }

    #[pg_test]
    fn explain_shows_one_get_per_key_of_an_in_list() {
        setup();
        let plan = explain("SELECT * FROM ps.deals WHERE key IN ('d1', 'd2', 'd1')");
        assert!(
            plan.contains("PartnerStack Requests: GET /deals/d1; GET /deals/d2"),
            "{plan}"
        );
    }

    #[pg_test]
    fn filters_only_go_where_the_endpoint_takes_them() {
        setup();
        let plan = explain(
            "SELECT * FROM ps.transactions WHERE updated_at > '2025-01-01' AND created_at > '2025-01-01'",
        );
        assert!(
            plan.contains(
                "PartnerStack Requests: GET /transactions?min_created=1735689600001&limit=250"
            ),
            "{plan}"
        );
    }

    #[pg_test]
    fn key_lookup_is_estimated_at_one_row() {
        setup();
        let plan =
            Spi::get_one::<String>("EXPLAIN SELECT * FROM ps.partnerships WHERE key = 'part_1'")
                .unwrap()
                .unwrap();
        assert!(plan.contains("rows=1 "), "{plan}");
        let plan = Spi::get_one::<String>("EXPLAIN SELECT * FROM ps.partnerships")
            .unwrap()
            .unwrap();
        assert!(plan.contains("rows=1000 "), "{plan}");
    }

    #[pg_test(error = "customers.partner_key is required when inserting into customers")]
    fn insert_missing_a_required_column_sends_nothing() {
        setup();
        Spi::run("INSERT INTO ps.customers (email) VALUES ('a@b.c')").unwrap();
    }

    #[pg_test(
        error = "transactions.currency: \"US\" is not a currency code: exactly 3 letters (ISO 4217), e.g. 'USD'"
    )]
    fn insert_select_with_one_bad_row_sends_nothing() {
        setup();
        // Rows 1 and 2 are valid; row 3 is not: no row may be sent (the server is unreachable,
        // so a sent row would end in a connection error instead).
        Spi::run(
            "INSERT INTO ps.transactions (amount, currency, customer_key)
             VALUES (100, 'USD', 'cus_1'), (200, 'eur', 'cus_2'), (300, 'US', 'cus_3')",
        )
        .unwrap();
    }

    #[pg_test(
        error = "invalid value for option \"insert_mode\": \"merge\" is neither 'insert' nor 'upsert'"
    )]
    fn validator_rejects_unknown_insert_mode() {
        setup();
        Spi::run("ALTER FOREIGN TABLE ps.customers OPTIONS (ADD insert_mode 'merge')").unwrap();
    }

    #[pg_test(
        error = "reading groups: could not connect to PartnerStack at 127.0.0.1:9: Connection refused (os error 111)"
    )]
    fn refused_connection_names_host_not_keys() {
        setup();
        Spi::run("SELECT * FROM ps.groups").unwrap();
    }

    #[pg_test]
    fn limit_sizes_the_page_only_when_every_condition_is_pushed() {
        setup();
        let plan = explain("SELECT * FROM ps.customers WHERE partner_key = 'p1' LIMIT 5 OFFSET 2");
        assert!(
            plan.contains("GET /customers?partner_key=p1&limit=7"),
            "{plan}"
        );
        let plan = explain("SELECT * FROM ps.customers WHERE email LIKE '%@x.io' LIMIT 5");
        assert!(plan.contains("GET /customers?limit=250"), "{plan}");
        let plan = explain("SELECT * FROM ps.customers ORDER BY email LIMIT 5");
        assert!(plan.contains("GET /customers?limit=250"), "{plan}");
    }

    #[pg_test]
    fn jsonb_builder_matches_jsonb_in() {
        use std::ffi::CStr;
        let samples = [
            r#"{"b":1,"a":[true,false,null],"c":{"x":"y"}}"#,
            r#"{"key":"cus_1","name":"Zo\u00eb \"q\" \\ 山田太郎","e":""}"#,
            r#"{"dup":1,"dup":2}"#,
            r#"[1,-2,9223372036854775807,-9223372036854775808,{"n":[[]]},{}]"#,
            r#"{"amount":1.50,"rate":1e-7,"big":18446744073709551616}"#,
            r#"{"\u00e9t\u00e9":{"k\n":"v\t"}}"#,
        ];
        for sample in samples {
            let built = crate::jsonb::jsonb_datum(sample);
            // SAFETY: jsonb_in takes a NUL-terminated cstring, and the CString lives until the
            // call returns (it is a temporary of the call's own expression).
            let parsed = unsafe {
                pgrx::fcinfo::direct_function_call_as_datum(
                    pgrx::pg_sys::jsonb_in,
                    &[Some(pgrx::pg_sys::Datum::from(
                        std::ffi::CString::new(sample).unwrap().as_ptr(),
                    ))],
                )
                .unwrap()
            };
            // SAFETY: `d` is a jsonb datum built in this memory context; jsonb_out returns a
            // palloc'd cstring, copied before the context is reset.
            let out = |d| unsafe {
                pgrx::fcinfo::direct_function_call::<&CStr>(pgrx::pg_sys::jsonb_out, &[Some(d)])
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned()
            };
            assert_eq!(out(built), out(parsed), "{sample}");
        }
    }

    #[pg_test(error = "customers row cus_1 has no customer_key, so PartnerStack cannot address it")]
    fn unaddressable_row_names_the_row_and_the_column() {
        crate::errors::raise(crate::errors::unaddressable_row_report(
            "customers",
            Some("cus_1"),
            "customer_key",
            &[],
        ));
    }

    #[pg_test(error = "no public_key for the PartnerStack server")]
    fn a_scan_without_keys_names_the_missing_one() {
        Spi::run(&format!(
            "CREATE SERVER ps_nokeys FOREIGN DATA WRAPPER partnerstack OPTIONS (api_url '{CLOSED_API_URL}');
             CREATE USER MAPPING FOR CURRENT_USER SERVER ps_nokeys;
             CREATE FOREIGN TABLE groups_nokeys (key text) SERVER ps_nokeys OPTIONS (resource 'groups');"
        ))
        .unwrap();
        Spi::run("SELECT * FROM groups_nokeys").unwrap();
    }

    #[pg_test(error = "unsupported Unicode escape sequence")]
    fn jsonb_builder_leaves_nul_to_jsonb_in() {
        crate::jsonb::jsonb_datum(r#"{"a":"x\u0000y"}"#);
    }
}
