-- The handling-time histogram of a rollup row moves into the row itself: one blob per
-- row instead of one case_kpi_hours row per bucket, so that a year of the dashboard
-- reads about twelve rows per rollup key. Same change as the SQLite migration of
-- the same name.
--
-- hours holds the sparse histogram of the row's closed cases (src/cases/kpi/hours/codec.rs),
-- NULL when it has none. Its buckets are coarser than those of case_kpi_hours
-- (src/cases/kpi/hours/mod.rs), and SQL cannot build the blob, so the existing rows
-- of case_kpi_hours and case_kpi_hours_month are folded into it by a step in Rust that
-- runs once after the migrations (src/cases/kpi/rollup/upgrade.rs) and then empties them.
ALTER TABLE case_kpi_rollup ADD COLUMN hours BYTEA;
ALTER TABLE case_kpi_rollup_month ADD COLUMN hours BYTEA;

-- Data steps done in Rust after the migrations, one row each once it has run.
CREATE TABLE data_step (
    name TEXT PRIMARY KEY,
    done_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
