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
