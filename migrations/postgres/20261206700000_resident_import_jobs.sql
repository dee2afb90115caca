-- Resident import jobs: the state and counts of an import started in the background,
-- and its report once it ends. Same table as the SQLite migration of the same name.
--
-- The node running an import keeps its live progress in memory. It writes the row when
-- the job starts and when it ends; on PostgreSQL it also rewrites the counts every few
-- seconds through a connection of its own, so that other nodes can show progress while
-- the import's write transaction is open. `updated_at` is that heartbeat: a running job
-- whose row stops changing belonged to a node that stopped.
CREATE TABLE resident_import_job (
    -- The import's UUID, the same id its report, log lines and audit entry carry.
    import_job_id TEXT PRIMARY KEY,
    started_by BIGINT NOT NULL REFERENCES app_user (user_id),
    mode TEXT NOT NULL CHECK (mode IN ('dry_run', 'apply')),
    file_name TEXT NOT NULL,
    state TEXT NOT NULL
        CHECK (state IN ('reading', 'checking', 'writing', 'done', 'rejected', 'failed')),
    rows_total BIGINT,
    rows_checked BIGINT NOT NULL DEFAULT 0,
    -- Residents the write step inserts, known once the rows are checked.
    rows_to_write BIGINT,
    rows_written BIGINT NOT NULL DEFAULT 0,
    -- The report as JSON, in the language of the user who started the import.
    report TEXT,
    -- Why a failed job failed: a message code and its text in the starter's language.
    error_code TEXT,
    error_message TEXT,
    started_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX resident_import_job_finished_idx ON resident_import_job (finished_at);
