//! Unit tests of [`super`]: the table, the checks, the typed options and the README's table.

use super::*;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn invalid_value(scope: Scope, name: &str, value: &str) -> String {
    validate(scope, &pairs(&[(name, value)]))
        .unwrap_err()
        .to_string()
}

#[test]
fn each_option_is_listed_once_and_valid_somewhere() {
    for (i, option) in OPTIONS.iter().enumerate() {
        assert!(
            OPTIONS[i + 1..].iter().all(|o| o.name != option.name),
            "{} is listed twice",
            option.name
        );
        assert!(!option.scopes.is_empty(), "{} has no scope", option.name);
        assert!(!option.scopes.contains(&Scope::Wrapper));
        assert!(!option.doc.is_empty(), "{} has no doc", option.name);
    }
}

#[test]
fn defaults_pass_their_own_check() {
    for option in OPTIONS {
        if let Some(value) = option.default.value() {
            assert_eq!(option.check.check(&value), Ok(()), "{}", option.name);
        }
    }
}

#[test]
fn accepted_options_per_scope() {
    assert_eq!(
        accepted(Scope::Server),
        [
            "api_url",
            "api",
            "page_size",
            "request_cost",
            "connect_timeout_ms",
            "timeout_ms",
            "max_retries",
            "retry_base_ms",
            "retry_max_ms",
            "max_response_bytes",
            "max_requests_per_minute",
            "max_concurrency",
            "batch_size",
            "update_method",
            "s2s_url",
            "public_key",
            "private_key",
            "s2s_token",
        ]
    );
    assert_eq!(
        accepted(Scope::UserMapping),
        ["public_key", "private_key", "api_key", "s2s_token"]
    );
    assert_eq!(
        accepted(Scope::Table),
        [
            "batch_size",
            "resource",
            "rowid_column",
            "insert_mode",
            "estimated_rows"
        ]
    );
    assert!(accepted(Scope::Wrapper).is_empty());
}

#[test]
fn unknown_names_are_refused_with_the_accepted_ones() {
    let e = validate(Scope::Server, &pairs(&[("api_key", "x")])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid option \"api_key\" for a partnerstack server"
    );
    let hint = e.hint().unwrap();
    assert!(
        hint.starts_with("Valid options are: api_url, api, page_size,"),
        "{hint}"
    );
    assert!(hint.ends_with("s2s_token."), "{hint}");

    let e = validate(Scope::UserMapping, &pairs(&[("api_url", "http://x")])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid option \"api_url\" for a partnerstack user mapping"
    );
    assert_eq!(
        e.hint().unwrap(),
        "Valid options are: public_key, private_key, api_key, s2s_token."
    );

    let e = validate(Scope::Wrapper, &pairs(&[("page_size", "10")])).unwrap_err();
    assert_eq!(
        e.hint().unwrap(),
        "A partnerstack foreign data wrapper takes no options."
    );

    // A table option on a server, and the other way round.
    assert!(validate(Scope::Server, &pairs(&[("resource", "customers")])).is_err());
    assert!(validate(Scope::Table, &pairs(&[("page_size", "10")])).is_err());
}

#[test]
fn values_are_range_checked() {
    assert_eq!(
        invalid_value(Scope::Server, "page_size", "251"),
        "invalid value for option \"page_size\": \"251\" is not a whole number from 1 to 250"
    );
    assert_eq!(
        invalid_value(Scope::Server, "page_size", "0"),
        "invalid value for option \"page_size\": \"0\" is not a whole number from 1 to 250"
    );
    assert_eq!(
        invalid_value(Scope::Server, "max_retries", "-1"),
        "invalid value for option \"max_retries\": \"-1\" is not a whole number from 0 to 20"
    );
    assert_eq!(
        invalid_value(Scope::Server, "max_response_bytes", "1023"),
        "invalid value for option \"max_response_bytes\": \"1023\" is not a whole number from 1024 to 1073741824"
    );
    assert_eq!(
        invalid_value(Scope::Table, "estimated_rows", "lots"),
        "invalid value for option \"estimated_rows\": \"lots\" is not a whole number from 1 to 1099511627776"
    );
    assert!(validate(Scope::Server, &pairs(&[("page_size", " 250 ")])).is_ok());
    assert!(validate(Scope::Server, &pairs(&[("max_requests_per_minute", "0")])).is_ok());
}

#[test]
fn other_values_are_checked() {
    assert_eq!(
        invalid_value(Scope::Server, "api_url", "api.partnerstack.com"),
        "invalid value for option \"api_url\": it must start with https:// or http://"
    );
    assert_eq!(
        invalid_value(Scope::Server, "s2s_url", "https:///x"),
        "invalid value for option \"s2s_url\": it has no host"
    );
    assert_eq!(
        invalid_value(Scope::UserMapping, "private_key", "  "),
        "invalid value for option \"private_key\": it is empty"
    );
    assert_eq!(
        invalid_value(Scope::Server, "update_method", "post"),
        "invalid value for option \"update_method\": \"post\" is neither 'put' nor 'patch'"
    );
    assert_eq!(
        invalid_value(Scope::Table, "insert_mode", "merge"),
        "invalid value for option \"insert_mode\": \"merge\" is neither 'insert' nor 'upsert'"
    );
    assert!(
        invalid_value(Scope::Table, "resource", "payouts").starts_with(
            "invalid value for option \"resource\": \"payouts\" is not a PartnerStack resource; \
             valid resources are: customers, partnerships,"
        )
    );
    assert!(validate(Scope::Server, &pairs(&[("update_method", "PATCH")])).is_ok());
    assert!(validate(Scope::Table, &pairs(&[("rowid_column", "anything")])).is_ok());
}

#[test]
fn the_first_problem_in_list_order_is_reported() {
    let e = validate(
        Scope::Server,
        &pairs(&[("page_size", "0"), ("api_key", "x")]),
    )
    .unwrap_err();
    assert!(matches!(
        e,
        OptionError::InvalidValue {
            name: "page_size",
            ..
        }
    ));
}

#[test]
fn server_defaults_are_the_clients() {
    let server = ServerOptions::parse(&[]).unwrap();
    assert_eq!(server.page_size, DEFAULT_PAGE_SIZE);
    assert_eq!(server.update_method, None);
    assert_eq!(server.keys, Keys::default());
    assert!(!server.has_keys());
    let config = server.client_config(&Keys::default(), false).unwrap();
    assert_eq!(config, ClientConfig::new(DEFAULT_API_URL, "", ""));
}

#[test]
fn server_options_are_read_typed() {
    let server = ServerOptions::parse(&pairs(&[
        ("api_url", "http://127.0.0.1:9/api/v2/"),
        ("page_size", "10"),
        ("connect_timeout_ms", "11"),
        ("timeout_ms", "12"),
        ("max_retries", " 3"),
        ("retry_base_ms", "14"),
        ("retry_max_ms", "15"),
        ("max_response_bytes", "2048"),
        ("max_requests_per_minute", "0"),
        ("update_method", "Patch"),
        ("s2s_url", "http://127.0.0.1:10/"),
    ]))
    .unwrap();
    assert_eq!(server.page_size, 10);
    assert_eq!(server.update_method, Some(UpdateMethod::Patch));
    let keys = Keys {
        public_key: Some("pk".into()),
        private_key: Some("sk".into()),
        s2s_token: None,
        api_key: None,
    };
    let config = server.client_config(&keys, true).unwrap();
    assert_eq!(config.api_url, "http://127.0.0.1:9/api/v2");
    assert_eq!(config.public_key, "pk");
    assert_eq!(config.private_key, "sk");
    assert_eq!(config.connect_timeout_ms, 11);
    assert_eq!(config.timeout_ms, 12);
    assert_eq!(config.max_retries, 3);
    assert_eq!(config.retry_base_ms, 14);
    assert_eq!(config.retry_max_ms, 15);
    assert_eq!(config.max_response_bytes, 2048);
    assert_eq!(config.max_requests_per_minute, 0);
    assert_eq!(config.s2s_url, "http://127.0.0.1:10");
    assert_eq!(config.s2s_token, None);
}

#[test]
fn keys_come_from_the_user_mapping_else_the_server() {
    let server = ServerOptions::parse(&pairs(&[
        ("public_key", "pk_server"),
        ("private_key", "sk_server"),
        ("s2s_token", "s2s_server"),
    ]))
    .unwrap();
    assert!(server.has_keys());
    let mapping = Keys::from_user_mapping(&pairs(&[("private_key", "sk_mapping")])).unwrap();
    let config = server.client_config(&mapping, true).unwrap();
    assert_eq!(config.public_key, "pk_server");
    assert_eq!(config.private_key, "sk_mapping");
    assert_eq!(config.s2s_token.as_deref(), Some("s2s_server"));

    let bare = ServerOptions::parse(&[]).unwrap();
    let e = bare.client_config(&Keys::default(), true).unwrap_err();
    assert_eq!(e, OptionError::MissingKey { name: "public_key" });
    assert_eq!(e.to_string(), "no public_key for the PartnerStack server");
    assert!(e.hint().unwrap().contains("CREATE USER MAPPING"));
    let only_public = Keys {
        public_key: Some("pk".into()),
        ..Keys::default()
    };
    assert_eq!(
        bare.client_config(&only_public, true).unwrap_err(),
        OptionError::MissingKey {
            name: "private_key"
        }
    );
    // S2S conversions need no API keys.
    let config = bare.client_config(&Keys::default(), false).unwrap();
    assert_eq!(
        (config.public_key.as_str(), config.private_key.as_str()),
        ("", "")
    );

    let token_only = ServerOptions::parse(&pairs(&[("s2s_token", "t")])).unwrap();
    assert!(token_only.has_keys());
    let public_only = ServerOptions::parse(&pairs(&[("public_key", "pk")])).unwrap();
    assert!(!public_only.has_keys());
}

#[test]
fn a_user_mapping_takes_only_keys() {
    assert_eq!(
        Keys::from_user_mapping(&pairs(&[("page_size", "10")])).unwrap_err(),
        OptionError::UnknownName {
            scope: Scope::UserMapping,
            name: "page_size".into()
        }
    );
}

#[test]
fn secrets_are_redacted_in_debug() {
    let server = ServerOptions::parse(&pairs(&[
        ("public_key", "pk_test_visible"),
        ("private_key", "sk_secret_never_shown"),
        ("s2s_token", "s2s_secret_never_shown"),
    ]))
    .unwrap();
    let printed = format!("{server:?}");
    assert!(!printed.contains("never_shown"), "{printed}");
    assert!(printed.contains("<redacted>"), "{printed}");
    assert!(printed.contains("pk_test_visible"), "{printed}");
    let keys =
        Keys::from_user_mapping(&pairs(&[("private_key", "sk_secret_never_shown")])).unwrap();
    assert!(!format!("{keys:?}").contains("never_shown"));
    // A refused value is not echoed for keys: the check of a key only says it is empty.
    assert_eq!(
        invalid_value(Scope::UserMapping, "private_key", ""),
        "invalid value for option \"private_key\": it is empty"
    );
}

#[test]
fn table_defaults_and_values() {
    let table = TableOptions::parse(&[]).unwrap();
    assert_eq!(table.resource, None);
    assert_eq!(table.estimated_rows, DEFAULT_ESTIMATED_ROWS as f64);
    assert_eq!(table.rowid_column, None);
    assert_eq!(table.insert_mode, InsertMode::Insert);
    assert_eq!(table.resource("customers").unwrap().name, "customers");
    assert_eq!(
        table.resource("my_table").unwrap_err(),
        OptionError::NoResource {
            table: "my_table".into()
        }
    );
    let e = table.resource("my_table").unwrap_err();
    assert_eq!(
        e.to_string(),
        "foreign table \"my_table\" does not name a PartnerStack resource"
    );
    assert!(
        e.hint()
            .unwrap()
            .starts_with("Set OPTIONS (resource '...') to one of: customers,")
    );

    let table = TableOptions::parse(&pairs(&[
        ("resource", "transactions"),
        ("estimated_rows", "42"),
        ("rowid_column", "key"),
        ("insert_mode", "upsert"),
    ]))
    .unwrap();
    assert_eq!(table.estimated_rows, 42.0);
    assert_eq!(table.insert_mode, InsertMode::Upsert);
    assert_eq!(table.resource("my_tx").unwrap().name, "transactions");
}

#[test]
fn rowid_column_must_be_the_resources() {
    let customers = catalogue::resource("customers").unwrap();
    let expected = catalogue::rowid_column_name(customers);
    let table = TableOptions::parse(&pairs(&[("rowid_column", expected)])).unwrap();
    assert_eq!(table.check_rowid_column(customers, "c"), Ok(()));
    assert_eq!(
        TableOptions::parse(&[])
            .unwrap()
            .check_rowid_column(customers, "c"),
        Ok(())
    );
    let wrong = TableOptions::parse(&pairs(&[("rowid_column", "email")])).unwrap();
    let e = wrong.check_rowid_column(customers, "c").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "foreign table \"c\" must have rowid_column '{expected}': PartnerStack addresses customers by it"
        )
    );
}

/// The README documents exactly the options of the table: regenerate its "Options" table
/// with [`readme_table`] when this fails.
#[test]
fn readme_options_table_matches_the_list() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md beside the workspace");
    let section = readme
        .split_once("### Options\n")
        .expect("README has an Options section")
        .1;
    let documented: String = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(|l| format!("{l}\n"))
        .collect();
    let generated = readme_table();
    assert!(
        documented == generated,
        "README.md's Options table differs from core/src/options.rs; replace it with:\n\n{generated}"
    );
}

#[test]
fn api_is_a_server_option_defaulting_to_vendor() {
    assert_eq!(ServerOptions::parse(&[]).unwrap().api, Api::Vendor);
    let partner = ServerOptions::parse(&pairs(&[("api", "Partner")])).unwrap();
    assert_eq!(partner.api, Api::Partner);
    let e = ServerOptions::parse(&pairs(&[("api", "both")])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value for option \"api\": \"both\" is neither 'vendor' nor 'partner'"
    );
    assert!(validate(Scope::UserMapping, &pairs(&[("api", "partner")])).is_err());
    assert!(validate(Scope::UserMapping, &pairs(&[("api_key", "pak")])).is_ok());
    assert!(validate(Scope::UserMapping, &pairs(&[("api_key", " ")])).is_err());
}

#[test]
fn a_partner_server_sends_the_api_key_and_never_shows_it() {
    let server = ServerOptions::parse(&pairs(&[("api", "partner")])).unwrap();
    let mapping = Keys::from_user_mapping(&pairs(&[("api_key", "pak_secret")])).unwrap();
    assert!(!format!("{mapping:?}").contains("pak_secret"));
    let config = server.client_config(&mapping, true).unwrap();
    assert_eq!(config.partner_api_key.as_deref(), Some("pak_secret"));
    assert_eq!(config.api(), Api::Partner);
    assert!(!format!("{config:?}").contains("pak_secret"));
    // Missing: the hint shows the api_key option.
    let e = server.client_config(&Keys::default(), true).unwrap_err();
    assert_eq!(e, OptionError::MissingKey { name: "api_key" });
    assert!(e.hint().unwrap().contains("OPTIONS (api_key '...')"));
    // A secret kept out of the server's options, which every role that sees the server reads.
    assert!(ServerOptions::parse(&pairs(&[("api", "partner"), ("api_key", "pak_s")])).is_err());
}

#[test]
fn keys_of_the_other_api_name_the_other_kind_of_server() {
    let vendor_pair = Keys::from_user_mapping(&pairs(&[
        ("public_key", "pk_1"),
        ("private_key", "sk_secret"),
    ]))
    .unwrap();
    let partner = ServerOptions::parse(&pairs(&[("api", "partner")])).unwrap();
    let e = partner.client_config(&vendor_pair, true).unwrap_err();
    assert_eq!(
        e,
        OptionError::WrongKeyKind {
            server_api: Api::Partner
        }
    );
    let text = format!("{e} {}", e.hint().unwrap());
    assert!(
        text.contains("a Vendor API server (without OPTIONS (api 'partner'))"),
        "{text}"
    );
    assert!(
        !text.contains("sk_secret") && !text.contains("pk_1"),
        "{text}"
    );

    let partner_key = Keys::from_user_mapping(&pairs(&[("api_key", "pak_secret")])).unwrap();
    let vendor = ServerOptions::parse(&[]).unwrap();
    let e = vendor.client_config(&partner_key, true).unwrap_err();
    assert_eq!(
        e,
        OptionError::WrongKeyKind {
            server_api: Api::Vendor
        }
    );
    let text = format!("{e} {}", e.hint().unwrap());
    assert!(
        text.contains("a Partner API server (OPTIONS (api 'partner'))"),
        "{text}"
    );
    assert!(!text.contains("pak_secret"), "{text}");
    // Both kinds given: each server takes its own.
    let both = Keys {
        api_key: Some("pak".into()),
        ..vendor_pair.clone()
    };
    assert_eq!(
        vendor.client_config(&both, true).unwrap().partner_api_key,
        None
    );
    assert_eq!(
        partner
            .client_config(&both, true)
            .unwrap()
            .partner_api_key
            .as_deref(),
        Some("pak")
    );
}

#[test]
fn tables_resolve_among_their_servers_api() {
    let plain = TableOptions::parse(&[]).unwrap();
    assert_eq!(
        plain.resource_in(Api::Partner, "customers").unwrap().name,
        "partner.customers"
    );
    assert_eq!(
        plain.resource_in(Api::Vendor, "customers").unwrap().name,
        "customers"
    );
    assert_eq!(
        plain.resource_in(Api::Partner, "payouts").unwrap().name,
        "partner.payouts"
    );
    let prefixed = TableOptions::parse(&pairs(&[("resource", "partner.payouts")])).unwrap();
    assert_eq!(
        prefixed.resource_in(Api::Partner, "p").unwrap().name,
        "partner.payouts"
    );
    let e = prefixed.resource_in(Api::Vendor, "p").unwrap_err();
    assert!(matches!(e, OptionError::WrongApi { .. }));
    assert!(
        e.hint()
            .unwrap()
            .contains("a Partner API server (OPTIONS (api 'partner'))"),
        "{e:?}"
    );
    let e = plain.resource_in(Api::Partner, "groups").unwrap_err();
    assert_eq!(
        e.to_string(),
        "foreign table \"groups\" reads groups, which is not a resource of a Partner API server (OPTIONS (api 'partner'))"
    );
    assert!(e.hint().unwrap().contains("payouts, marketplace_programs"));
    assert!(matches!(
        plain.resource_in(Api::Partner, "nothing").unwrap_err(),
        OptionError::NoResource { .. }
    ));
    // A Partner resource name without its prefix is not a valid option value; the hint says
    // how Partner tables are named.
    let e = TableOptions::parse(&pairs(&[("resource", "payouts")])).unwrap_err();
    assert!(e.hint().unwrap().contains("partner.payouts"), "{e:?}");
    assert!(TableOptions::parse(&pairs(&[("resource", "partner.links")])).is_ok());
}

#[test]
fn batch_size_is_set_on_the_server_and_overridden_by_a_table() {
    assert_eq!(
        ServerOptions::parse(&[]).unwrap().batch_size,
        DEFAULT_BATCH_SIZE as usize
    );
    assert_eq!(
        ServerOptions::parse(&pairs(&[("batch_size", "50")]))
            .unwrap()
            .batch_size,
        50
    );
    assert_eq!(TableOptions::parse(&[]).unwrap().batch_size, None);
    assert_eq!(
        TableOptions::parse(&pairs(&[("batch_size", "1")]))
            .unwrap()
            .batch_size,
        Some(1)
    );
    for scope in [Scope::Server, Scope::Table] {
        let problem = invalid_value(scope, "batch_size", "0");
        assert!(problem.contains("batch_size"), "{problem}");
        let problem = invalid_value(scope, "batch_size", "10001");
        assert!(problem.contains("batch_size"), "{problem}");
    }
}
