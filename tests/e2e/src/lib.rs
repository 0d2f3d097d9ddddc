//! End-to-end test harness for the `partnerstack` foreign data wrapper.
//!
//! Each test binary under `tests/` gets one real PostgreSQL 15 server ([`Cluster::get`]),
//! started fresh in a scratch directory and deleted when the process exits; each test creates
//! its own database in it ([`Db::new`], [`Db::with_partnerstack`]) and usually its own mock of
//! the PartnerStack API ([`Mock::start`]). The extension must already be installed into the
//! system PostgreSQL (`bash scripts/install-extension.sh`: `cargo pgrx install --release` plus the
//! released install scripts the upgrade test needs; `bash scripts/test.sh` does it); the mock
//! is built on first use when it is missing or stale (`partnerstack_mock::launcher`).
//!
//! ```no_run
//! use partnerstack_e2e::{Db, Mock};
//! let mock = Mock::start_with(&["--size", "customers=30"]);
//! let mut db = Db::with_partnerstack(&mock);
//! let n: i64 = db.scalar("SELECT count(*) FROM partnerstack.customers", &[]);
//! let requests = mock.requests();
//! # let _ = (n, requests);
//! ```
//!
//! Environment: `PG_CONFIG` (default `/usr/lib/postgresql/15/bin/pg_config`),
//! `PARTNERSTACK_MOCK_BIN`, `PARTNERSTACK_E2E_TMPDIR` (default `/tmp`).

pub mod cluster;
pub mod db;
pub mod http;
pub mod mock;
mod rundir;

pub use cluster::Cluster;
pub use db::{Db, error_text, partnerstack_setup_sql, quote_ident, quote_literal, sqlstate};
pub use http::HttpResponse;
pub use mock::{
    DEFAULT_PARTNER_API_KEY, DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, Mock, request_param,
};
pub use rundir::{POSTGRES_OS_USER, run_dir, running_as_root};
