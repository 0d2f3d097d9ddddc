//! A fresh database per test in the shared [`Cluster`].

use std::ops::{Deref, DerefMut};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::cluster::Cluster;
use crate::mock::{DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, Mock};

/// PostgreSQL truncates identifiers to this many bytes.
const MAX_IDENTIFIER_BYTES: usize = 63;

static NEXT_DB: AtomicU32 = AtomicU32::new(1);

/// A database created for one test, with an open superuser connection to it.
///
/// Dereferences to [`postgres::Client`], so `db.query(..)`, `db.execute(..)`,
/// `db.batch_execute(..)` work directly. The database is left in place when the test ends (the
/// whole cluster is deleted at process exit), which keeps a failed test's state inspectable
/// while the process runs.
pub struct Db {
    name: String,
    client: postgres::Client,
}

impl Db {
    /// Creates a database with a unique name derived from the running test's name.
    pub fn new() -> Db {
        let cluster = Cluster::get();
        let name = unique_name();
        let mut admin = cluster.connect("postgres");
        admin
            .batch_execute(&format!("CREATE DATABASE {}", quote_ident(&name)))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} failed: {}", error_text(&e)));
        let client = cluster.connect(&name);
        Db { name, client }
    }

    /// A fresh database with the product's SQL interface set up against `mock`:
    /// `CREATE EXTENSION partnerstack`, a server whose `api_url` is the mock's, a user mapping
    /// with the mock's default keys, `CREATE SCHEMA partnerstack` and
    /// `IMPORT FOREIGN SCHEMA partnerstack ... INTO partnerstack`.
    pub fn with_partnerstack(mock: &Mock) -> Db {
        let mut db = Db::new();
        db.setup_partnerstack(
            Some(&mock.api_url()),
            DEFAULT_PUBLIC_KEY,
            DEFAULT_PRIVATE_KEY,
        );
        db
    }

    /// Runs [`partnerstack_setup_sql`] in this database; panics with the server's message.
    pub fn setup_partnerstack(
        &mut self,
        api_url: Option<&str>,
        public_key: &str,
        private_key: &str,
    ) {
        Cluster::get().require_extension();
        let sql = partnerstack_setup_sql(api_url, public_key, private_key);
        self.client
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("setting up partnerstack failed: {}", error_text(&e)));
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The open connection.
    pub fn client(&mut self) -> &mut postgres::Client {
        &mut self.client
    }

    /// A second, independent session on the same database.
    pub fn connect(&self) -> postgres::Client {
        Cluster::get().connect(&self.name)
    }

    /// Runs the real `psql` client on this database; see [`Cluster::psql`].
    pub fn psql(&self, sql: &str) -> (String, String, ExitStatus) {
        Cluster::get().psql(&self.name, sql)
    }

    /// Runs `psql` with extra arguments; see [`Cluster::psql_with_args`].
    pub fn psql_with_args(&self, args: &[&str], stdin: &str) -> (String, String, ExitStatus) {
        Cluster::get().psql_with_args(&self.name, args, stdin)
    }

    /// The first column of every row of a query, as text; panics with the server's message.
    pub fn strings(
        &mut self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Vec<String> {
        match self.client.query(sql, params) {
            Ok(rows) => rows.iter().map(|r| r.get(0)).collect(),
            Err(e) => panic!("{sql}\nfailed: {}", error_text(&e)),
        }
    }

    /// The single value of a one-row, one-column query; panics with the server's message.
    pub fn scalar<T>(&mut self, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> T
    where
        T: for<'a> postgres::types::FromSql<'a>,
    {
        match self.client.query_one(sql, params) {
            Ok(row) => row.get(0),
            Err(e) => panic!("{sql}\nfailed: {}", error_text(&e)),
        }
    }
}

impl Default for Db {
    fn default() -> Self {
        Db::new()
    }
}

impl Deref for Db {
    type Target = postgres::Client;
    fn deref(&self) -> &postgres::Client {
        &self.client
    }
}

impl DerefMut for Db {
    fn deref_mut(&mut self) -> &mut postgres::Client {
        &mut self.client
    }
}

/// The product's documented setup, verbatim apart from the values: the server gets
/// `OPTIONS (api_url '...')` only when `api_url` is given (else the extension's default,
/// `https://api.partnerstack.com/api/v2`, applies).
pub fn partnerstack_setup_sql(
    api_url: Option<&str>,
    public_key: &str,
    private_key: &str,
) -> String {
    let server_options = api_url
        .map(|u| format!("\n  OPTIONS (api_url {})", quote_literal(u)))
        .unwrap_or_default();
    format!(
        "CREATE EXTENSION partnerstack;\n\
         CREATE SERVER partnerstack_server FOREIGN DATA WRAPPER partnerstack{server_options};\n\
         CREATE USER MAPPING FOR CURRENT_USER SERVER partnerstack_server\n  \
         OPTIONS (public_key {}, private_key {});\n\
         CREATE SCHEMA partnerstack;\n\
         IMPORT FOREIGN SCHEMA partnerstack FROM SERVER partnerstack_server INTO partnerstack;\n",
        quote_literal(public_key),
        quote_literal(private_key)
    )
}

/// An SQL string literal (`'it''s'`).
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// An SQL identifier (`"a""b"`).
pub fn quote_ident(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}

/// The SQLSTATE of an error, or "" when it did not come from the server.
pub fn sqlstate(e: &postgres::Error) -> String {
    e.code().map(|c| c.code().to_owned()).unwrap_or_default()
}

/// The server's full message for an error: severity, SQLSTATE, message, detail and hint, which
/// the `Display` of [`postgres::Error`] leaves out in part.
pub fn error_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!(
                "{}: {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            );
            if let Some(d) = db.detail() {
                s.push_str(&format!("\nDETAIL: {d}"));
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!("\nHINT: {h}"));
            }
            if let Some(c) = db.where_() {
                s.push_str(&format!("\nCONTEXT: {c}"));
            }
            s
        }
        None => e.to_string(),
    }
}

/// `e2e_<n>_<test name>`, lower-case, at most 63 bytes; libtest names each test's thread after
/// the test.
fn unique_name() -> String {
    let n = NEXT_DB.fetch_add(1, Ordering::Relaxed);
    let test = std::thread::current()
        .name()
        .unwrap_or("main")
        .rsplit("::")
        .next()
        .unwrap_or("main")
        .to_ascii_lowercase();
    let mut name = format!("e2e_{n}_");
    for c in test.chars() {
        name.push(if c.is_ascii_alphanumeric() { c } else { '_' });
    }
    name.truncate(MAX_IDENTIFIER_BYTES);
    name
}
