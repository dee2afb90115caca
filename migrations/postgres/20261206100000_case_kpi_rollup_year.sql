-- The KPI counters summed per report year, so that a whole local year of the dashboard
-- reads one row per rollup key instead of twelve. Same table as the SQLite
-- migration of the same name.
--
-- report_year counts years since 1970 in UTC+8, the calendar of report_day and
-- report_month. Every case write updates the day, month and year rows in the same
-- transaction (src/cases/kpi/rollup). The rows for the months already stored are
-- filled by a step in Rust after the migrations (src/cases/kpi/rollup/year.rs),
-- because SQL cannot merge the handling-time histograms in the hours column.
CREATE TABLE case_kpi_rollup_year (
    report_year BIGINT NOT NULL,
    grid_id BIGINT NOT NULL,
    community_id BIGINT NOT NULL,
    outside_grids BOOLEAN NOT NULL,
    department_code TEXT NOT NULL,
    category_code TEXT NOT NULL,
    response_num BIGINT NOT NULL DEFAULT 0,
    response_den BIGINT NOT NULL DEFAULT 0,
    resolution_num BIGINT NOT NULL DEFAULT 0,
    resolution_den BIGINT NOT NULL DEFAULT 0,
    satisfaction_num BIGINT NOT NULL DEFAULT 0,
    satisfaction_den BIGINT NOT NULL DEFAULT 0,
    closure_num BIGINT NOT NULL DEFAULT 0,
    closure_den BIGINT NOT NULL DEFAULT 0,
    on_time_closure_num BIGINT NOT NULL DEFAULT 0,
    on_time_closure_den BIGINT NOT NULL DEFAULT 0,
    rework_num BIGINT NOT NULL DEFAULT 0,
    rework_den BIGINT NOT NULL DEFAULT 0,
    extension_num BIGINT NOT NULL DEFAULT 0,
    extension_den BIGINT NOT NULL DEFAULT 0,
    hours BYTEA,
    PRIMARY KEY (report_year, grid_id, community_id, outside_grids, department_code, category_code)
);
