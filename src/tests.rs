//! In-database tests (`cargo pgrx test`): behaviour that needs Postgres but no API server.

use pgrx::prelude::*;

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
