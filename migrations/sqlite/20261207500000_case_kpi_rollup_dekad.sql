-- The KPI counters summed per report dekad (旬: days 1-10, 11-20 and 21 to the end of
-- a month), so that the days at the ends of a period read about a third as many rows.
-- Same table as the PostgreSQL migration of the same name.
--
-- report_dekad is three times report_month plus 0, 1 or 2, in the calendar of
-- report_day. Every case write updates the day, dekad, month and year rows in the
-- same transaction (src/cases/kpi/rollup). The rows for the days already stored are
-- filled by a step in Rust after the migrations (src/cases/kpi/rollup/fill.rs).
CREATE TABLE case_kpi_rollup_dekad (
    report_dekad INTEGER NOT NULL,
    grid_id INTEGER NOT NULL,
    community_id INTEGER NOT NULL,
    outside_grids INTEGER NOT NULL,
    department_code TEXT NOT NULL,
    category_code TEXT NOT NULL,
    response_num INTEGER NOT NULL DEFAULT 0,
    response_den INTEGER NOT NULL DEFAULT 0,
    resolution_num INTEGER NOT NULL DEFAULT 0,
    resolution_den INTEGER NOT NULL DEFAULT 0,
    satisfaction_num INTEGER NOT NULL DEFAULT 0,
    satisfaction_den INTEGER NOT NULL DEFAULT 0,
    closure_num INTEGER NOT NULL DEFAULT 0,
    closure_den INTEGER NOT NULL DEFAULT 0,
    on_time_closure_num INTEGER NOT NULL DEFAULT 0,
    on_time_closure_den INTEGER NOT NULL DEFAULT 0,
    rework_num INTEGER NOT NULL DEFAULT 0,
    rework_den INTEGER NOT NULL DEFAULT 0,
    extension_num INTEGER NOT NULL DEFAULT 0,
    extension_den INTEGER NOT NULL DEFAULT 0,
    hours BLOB,
    PRIMARY KEY (report_dekad, grid_id, community_id, outside_grids, department_code, category_code)
);
