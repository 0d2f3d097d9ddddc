-- partnerstack 0.1.0 -> 0.2.0: run by `ALTER EXTENSION partnerstack UPDATE` (cargo pgrx install
-- and cargo pgrx package ship every sql/partnerstack--<from>--<to>.sql next to the generated
-- partnerstack--0.2.0.sql).
--
-- Servers, user mappings and foreign tables belong to the user, not to the extension: they stay
-- as they are, and their options are read by the new library at the next query.
--
-- What 0.1.0 created (sql/partnerstack--0.1.0.sql, as `cargo pgrx schema` generated it at the
-- release) and 0.2.0 keeps unchanged, with the same signatures and C symbols, so nothing is
-- re-created here:
--   FUNCTION partnerstack_fdw_handler()                       -> 'partnerstack_fdw_handler_wrapper'
--   FUNCTION partnerstack_fdw_validator(text[], oid)          -> 'partnerstack_fdw_validator_wrapper'
--   FUNCTION partnerstack_fdw_meta() RETURNS TABLE (...)      -> 'partnerstack_fdw_meta_wrapper'
--   FOREIGN DATA WRAPPER partnerstack (HANDLER, VALIDATOR) and its COMMENT
--
-- HOW TO ADD TO IT: an object that 0.2.0 adds or changes (a #[pg_extern], an extension_sql!
-- table, a new COMMENT) gets a section appended at the end of this file, in dependency order:
--   -- <what it is> (<source file>)
--   <its SQL, copied from `cargo pgrx schema pg15` output: CREATE OR REPLACE FUNCTION ... AS
--    'MODULE_PATHNAME', '<symbol>'; CREATE TABLE ...; SELECT pg_catalog.pg_extension_config_dump(...)
--    for a table that holds user state; COMMENT ON ...>
-- tests/e2e/tests/upgrade.rs compares the upgraded extension with a fresh 0.2.0 install (every
-- member object, function definitions with their C symbols, columns, comments, extconfig) and
-- names any object this file misses. After a release, a change goes into a new
-- partnerstack--0.2.0--<next>.sql instead: this file is then what users have run.

-- Sections appended below this line.

-- ==== partnerstack_sync: the state table (sql/sync.sql) and the function (src/sync.rs) ====
-- ==== partnerstack_sync: local copies (new in 0.2.0) =============================================
-- Objects: this table, and the function partnerstack_sync(regclass, text, boolean, integer)
-- that pgrx generates from src/sync.rs.
-- One row per local copy made by partnerstack_sync(); the function writes it, users read it.
CREATE TABLE partnerstack_sync_state (
    target                      text PRIMARY KEY,   -- the copy, "schema"."table"
    source                      text NOT NULL,      -- the foreign table, "schema"."table"
    mode                        text NOT NULL,      -- incremental by updated_at | incremental by created_at | full only
    high_water_mark             timestamptz,        -- newest updated_at (created_at) copied; the next incremental run reads from it, inclusive
    runs                        bigint NOT NULL DEFAULT 0,  -- successful runs
    incremental_runs_since_full bigint NOT NULL DEFAULT 0,
    last_run_mode               text,               -- full | incremental
    last_success                timestamptz,
    last_inserted               bigint,
    last_updated                bigint,
    last_deleted                bigint,
    last_requests               bigint,
    last_seconds                double precision,
    last_error                  text,               -- the last failed run's message (kept after a later success)
    last_error_at               timestamptz
);
COMMENT ON TABLE partnerstack_sync_state IS
  'One row per local copy made by partnerstack_sync(): source, mode, high-water mark, last run';
-- pg_dump keeps the rows with the copies they describe.
SELECT pg_catalog.pg_extension_config_dump('partnerstack_sync_state', '');
-- ==== end of partnerstack_sync ===================================================================

-- The function, as `cargo pgrx schema pg15` generates it from src/sync.rs.
CREATE  FUNCTION "partnerstack_sync"(
	"foreign_table" regclass, /* pgrx::rel::PgRelation */
	"target" TEXT, /* &str */
	"full_refresh" bool DEFAULT false, /* bool */
	"full_every" INT DEFAULT NULL /* core::option::Option<i32> */
) RETURNS TABLE (
	"mode" TEXT,  /* alloc::string::String */
	"inserted" bigint,  /* core::option::Option<i64> */
	"updated" bigint,  /* core::option::Option<i64> */
	"deleted" bigint,  /* core::option::Option<i64> */
	"requests" bigint,  /* core::option::Option<i64> */
	"seconds" double precision,  /* f64 */
	"error" TEXT  /* core::option::Option<alloc::string::String> */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'partnerstack_sync_wrapper';
