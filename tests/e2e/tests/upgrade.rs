//! Upgrades: an extension created at the released 0.1.0 (the install script users ran,
//! `sql/partnerstack--0.1.0.sql`) with a server, a user mapping and imported foreign tables is
//! moved to the current version by `ALTER EXTENSION partnerstack UPDATE`; the same tables answer
//! the same queries, and the upgraded extension has exactly the objects of a fresh install.

use std::collections::BTreeSet;

use partnerstack_e2e::{
    Cluster, DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, Db, Mock, error_text, quote_literal,
};

/// The release users may have installed, whose install script the repository keeps.
const RELEASED_VERSION: &str = "0.1.0";

/// One line per member object of the extension: its kind and identity, its definition where
/// Postgres can print one (a function's definition names the library and the C symbol; a table
/// its columns, constraints and indexes; the wrapper its handler and validator), its comment and
/// its privileges; plus one line for the extension itself (version, schema, extconfig). Two
/// installs with the same lines have the same SQL interface.
const EXTENSION_OBJECTS_SQL: &str = r#"
WITH ext AS (
  SELECT oid, extversion, extnamespace::regnamespace::text AS schema, extrelocatable,
         coalesce(extconfig::regclass[]::text, '{}') AS config, coalesce(extcondition::text, '{}') AS condition
  FROM pg_extension WHERE extname = 'partnerstack'
), members AS (
  SELECT d.classid, d.objid, d.objsubid
  FROM pg_depend d, ext
  WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
)
SELECT format('extension version=%s schema=%s relocatable=%s config=%s condition=%s',
              extversion, schema, extrelocatable, config, condition)
FROM ext
UNION ALL
SELECT concat_ws(' | ',
  i.type || ' ' || i.identity,
  CASE m.classid
    WHEN 'pg_proc'::regclass THEN
      (SELECT pg_get_functiondef(p.oid) || ' acl=' || coalesce(p.proacl::text, 'default')
       FROM pg_proc p WHERE p.oid = m.objid AND p.prokind IN ('f', 'p', 'w'))
    WHEN 'pg_class'::regclass THEN
      (SELECT format('relkind=%s columns=(%s) constraints=(%s) indexes=(%s) view=%s acl=%s',
         c.relkind,
         (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                   || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                   || coalesce(' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid), ''),
                 ', ' ORDER BY a.attnum)
          FROM pg_attribute a
          LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
         (SELECT string_agg(co.conname || ' ' || pg_get_constraintdef(co.oid), ', ' ORDER BY co.conname)
          FROM pg_constraint co WHERE co.conrelid = c.oid),
         (SELECT string_agg(pg_get_indexdef(x.indexrelid), ', ' ORDER BY 1)
          FROM pg_index x WHERE x.indrelid = c.oid),
         CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,
         coalesce(c.relacl::text, 'default'))
       FROM pg_class c WHERE c.oid = m.objid)
    WHEN 'pg_foreign_data_wrapper'::regclass THEN
      (SELECT format('handler=%s validator=%s options=%s acl=%s',
         w.fdwhandler::regproc, w.fdwvalidator::regproc, coalesce(w.fdwoptions::text, '{}'),
         coalesce(w.fdwacl::text, 'default'))
       FROM pg_foreign_data_wrapper w WHERE w.oid = m.objid)
    WHEN 'pg_type'::regclass THEN
      (SELECT format('typtype=%s labels=(%s) attributes=(%s)', t.typtype,
         (SELECT string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder)
          FROM pg_enum e WHERE e.enumtypid = t.oid),
         (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped))
       FROM pg_type t WHERE t.oid = m.objid)
  END,
  'comment=' || (SELECT quote_literal(description) FROM pg_description ds
                 WHERE ds.objoid = m.objid AND ds.classoid = m.classid AND ds.objsubid = 0))
FROM members m, pg_identify_object(m.classid, m.objid, m.objsubid) i
"#;

/// The extension's interface as [`EXTENSION_OBJECTS_SQL`] prints it.
fn extension_objects(db: &mut Db) -> BTreeSet<String> {
    db.query(EXTENSION_OBJECTS_SQL, &[])
        .unwrap_or_else(|e| panic!("listing the extension's objects failed: {}", error_text(&e)))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// What differs between two listings, for an assertion message.
fn differences(expected: &BTreeSet<String>, actual: &BTreeSet<String>) -> String {
    let mut out = String::new();
    for line in expected.difference(actual) {
        out.push_str(&format!("\n  in a fresh install only:  {line}"));
    }
    for line in actual.difference(expected) {
        out.push_str(&format!("\n  after the upgrade only:   {line}"));
    }
    out
}

/// The version a plain `CREATE EXTENSION` installs (the control file's `default_version`).
fn default_version(db: &mut Db) -> String {
    db.scalar(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'partnerstack'",
        &[],
    )
}

/// The version of the extension installed in `db`.
fn installed_version(db: &mut Db) -> String {
    db.scalar(
        "SELECT extversion FROM pg_extension WHERE extname = 'partnerstack'",
        &[],
    )
}

/// The foreign tables of `db`, by oid: the user's objects an upgrade must leave in place.
fn foreign_tables(db: &mut Db) -> Vec<postgres::types::Oid> {
    db.query("SELECT ftrelid FROM pg_foreign_table ORDER BY 1", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Results the same queries must give before and after the upgrade: a full scan, a lookup by
/// key, a pushed filter on another table, and a join through `links`' required key.
fn answers(db: &mut Db, customer_key: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (sql, param) in [
        (
            "SELECT count(*)::text || ' ' || coalesce(max(key), '') FROM partnerstack.customers",
            None,
        ),
        (
            "SELECT string_agg(key || ' ' || coalesce(email, ''), ',' ORDER BY key) \
             FROM partnerstack.customers WHERE customer_key = $1",
            Some(customer_key),
        ),
        (
            "SELECT count(*)::text FROM partnerstack.transactions \
             WHERE created_at >= '2025-01-01'",
            None,
        ),
        (
            "SELECT count(*)::text FROM (SELECT key FROM partnerstack.partnerships LIMIT 3) p \
             JOIN partnerstack.links l ON l.partnership_key = p.key",
            None,
        ),
    ] {
        let row = match param {
            Some(p) => db.query_one(sql, &[&p]),
            None => db.query_one(sql, &[]),
        }
        .unwrap_or_else(|e| panic!("{sql}\nfailed: {}", error_text(&e)));
        out.push(row.get::<_, Option<String>>(0).unwrap_or_default());
    }
    out
}

#[test]
fn alter_extension_update_keeps_servers_and_tables_and_matches_a_fresh_install() {
    let cluster = Cluster::get();
    cluster.require_extension();
    let released_script = cluster
        .extension_control_file()
        .with_file_name(format!("partnerstack--{RELEASED_VERSION}.sql"));
    assert!(
        released_script.exists(),
        "{} is missing: cargo pgrx install ships only the current version's script and the \
         upgrade scripts; install the released ones with `bash scripts/install-extension.sh` \
         (bash scripts/test.sh does)",
        released_script.display()
    );
    let mock = Mock::start_with(&["--size", "customers=40"]);

    let mut old = Db::new();
    let current = default_version(&mut old);
    assert_ne!(current, RELEASED_VERSION, "the version was not raised");
    old.batch_execute(&format!(
        "CREATE EXTENSION partnerstack VERSION {released};\n\
         CREATE SERVER partnerstack_server FOREIGN DATA WRAPPER partnerstack \
         OPTIONS (api_url {api_url});\n\
         CREATE USER MAPPING FOR CURRENT_USER SERVER partnerstack_server \
         OPTIONS (public_key {public_key}, private_key {private_key});\n\
         CREATE SCHEMA partnerstack;\n\
         IMPORT FOREIGN SCHEMA partnerstack FROM SERVER partnerstack_server INTO partnerstack;",
        released = quote_literal(RELEASED_VERSION),
        api_url = quote_literal(&mock.api_url()),
        public_key = quote_literal(DEFAULT_PUBLIC_KEY),
        private_key = quote_literal(DEFAULT_PRIVATE_KEY),
    ))
    .unwrap_or_else(|e| {
        panic!(
            "setting up at {RELEASED_VERSION} failed: {}",
            error_text(&e)
        )
    });
    let installed = installed_version(&mut old);
    assert_eq!(installed, RELEASED_VERSION);

    let customer_key = mock
        .list_all("/customers")
        .iter()
        .find_map(|c| c["customer_key"].as_str().map(str::to_owned))
        .expect("the mock has a customer with a customer_key");
    let before = answers(&mut old, &customer_key);
    let tables_before = foreign_tables(&mut old);

    old.batch_execute("ALTER EXTENSION partnerstack UPDATE")
        .unwrap_or_else(|e| {
            panic!(
                "ALTER EXTENSION partnerstack UPDATE failed: {}",
                error_text(&e)
            )
        });
    let upgraded = installed_version(&mut old);
    assert_eq!(
        upgraded, current,
        "UPDATE did not reach the default version"
    );
    let reported: String = old.scalar("SELECT version FROM partnerstack_fdw_meta()", &[]);
    assert_eq!(
        reported, current,
        "the wrapper's own version (src/fdw.rs) differs from Cargo.toml's"
    );

    // The user's objects are the same ones, not re-created, and answer the same.
    let tables_after = foreign_tables(&mut old);
    assert_eq!(tables_after, tables_before);
    assert_eq!(answers(&mut old, &customer_key), before);
    assert!(
        before[0].starts_with("40 "),
        "expected the mock's 40 customers: {before:?}"
    );

    // Every object a fresh install creates, with the same definition, and nothing else.
    let mut fresh = Db::with_partnerstack(&mock);
    let expected = extension_objects(&mut fresh);
    let actual = extension_objects(&mut old);
    assert!(
        expected
            .iter()
            .any(|l| l.contains("partnerstack_fdw_handler_wrapper")),
        "the listing misses the handler's C symbol: {expected:#?}"
    );
    assert!(
        expected == actual,
        "the upgraded extension differs from a fresh {current} install; add what is missing to \
         sql/partnerstack--{RELEASED_VERSION}--{current}.sql:{}",
        differences(&expected, &actual)
    );
    assert_eq!(answers(&mut fresh, &customer_key), before);

    // The comparison sees a member the upgrade would lack.
    fresh
        .batch_execute(
            "CREATE FUNCTION partnerstack_probe() RETURNS int LANGUAGE sql AS 'SELECT 1';\n\
             ALTER EXTENSION partnerstack ADD FUNCTION partnerstack_probe();",
        )
        .unwrap();
    let with_probe = extension_objects(&mut fresh);
    let report = differences(&with_probe, &actual);
    assert!(
        report.contains("in a fresh install only:  function public.partnerstack_probe()"),
        "{report}"
    );
}
