//! `partnerstack`: a PostgreSQL foreign data wrapper over the PartnerStack Vendor API.
//!
//! The API itself (catalogue, client, paging, mapping, pushdown) lives in the
//! `partnerstack-api` crate and knows nothing of Postgres; this crate is the glue.

// Every unsafe block says why it is sound; every unsafe fn says what its caller must uphold.
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

::pgrx::pg_module_magic!();

mod errors;
mod fdw;
mod jsonb;
mod modify;
mod on_conflict;
mod options;
mod quals;
mod scan;
mod session;
mod shared_budget;
mod sync;
mod table;
mod xact;

/// Library load: when preloaded, reserves the shared rate-limit budget and installs the
/// ON CONFLICT hook.
#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    shared_budget::init();
    on_conflict::install_hook();
}

pgrx::extension_sql_file!("../sql/create_fdw.sql", name = "create_fdw", finalize);
pgrx::extension_sql_file!("../sql/sync.sql", name = "sync_state");

#[cfg(any(test, feature = "pg_test"))]
mod dashboard_tests;
#[cfg(any(test, feature = "pg_test"))]
mod tests;

/// Hooks for `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    /// Per-test setup (none).
    pub fn setup(_options: Vec<&str>) {}

    /// postgresql.conf settings for the test cluster.
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        // The shared rate-limit budget lives in memory reserved at server start.
        vec!["shared_preload_libraries = 'partnerstack'"]
    }
}
