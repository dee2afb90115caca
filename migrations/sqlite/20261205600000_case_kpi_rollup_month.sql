-- The KPI counters of case_kpi_rollup and case_kpi_hours summed per report month,
-- so that the whole months of a KPI period read one row per month and group instead of
-- one per day. Same tables as the PostgreSQL migration of the same name.
--
-- report_month counts months since January 1970 in UTC+8, the calendar of report_day:
-- (year - 1970) * 12 + month - 1. Every case write updates the day row and the month row
-- in the same transaction (src/cases/kpi/rollup), so the two levels always agree.
CREATE TABLE case_kpi_rollup_month (
    report_month INTEGER NOT NULL,
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
    PRIMARY KEY (report_month, grid_id, community_id, outside_grids, department_code, category_code)
);

CREATE TABLE case_kpi_hours_month (
    report_month INTEGER NOT NULL,
    grid_id INTEGER NOT NULL,
    community_id INTEGER NOT NULL,
    outside_grids INTEGER NOT NULL,
    department_code TEXT NOT NULL,
    category_code TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    cases INTEGER NOT NULL,
    PRIMARY KEY (report_month, grid_id, community_id, outside_grids, department_code, category_code, bucket)
);

-- Back-fill from the day-level tables.
INSERT INTO case_kpi_rollup_month (report_month, grid_id, community_id, outside_grids, department_code, category_code,
    response_num, response_den, resolution_num, resolution_den, satisfaction_num, satisfaction_den, closure_num, closure_den, on_time_closure_num, on_time_closure_den, rework_num, rework_den, extension_num, extension_den)
SELECT (CAST(strftime('%Y', r.report_day * 86400, 'unixepoch') AS INTEGER) - 1970) * 12
    + CAST(strftime('%m', r.report_day * 86400, 'unixepoch') AS INTEGER) - 1,
    r.grid_id, r.community_id, r.outside_grids, r.department_code, r.category_code,
    SUM(r.response_num), SUM(r.response_den), SUM(r.resolution_num), SUM(r.resolution_den), SUM(r.satisfaction_num), SUM(r.satisfaction_den), SUM(r.closure_num), SUM(r.closure_den), SUM(r.on_time_closure_num), SUM(r.on_time_closure_den), SUM(r.rework_num), SUM(r.rework_den), SUM(r.extension_num), SUM(r.extension_den)
FROM case_kpi_rollup r
GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO case_kpi_hours_month (report_month, grid_id, community_id, outside_grids, department_code, category_code, bucket, cases)
SELECT (CAST(strftime('%Y', r.report_day * 86400, 'unixepoch') AS INTEGER) - 1970) * 12
    + CAST(strftime('%m', r.report_day * 86400, 'unixepoch') AS INTEGER) - 1,
    r.grid_id, r.community_id, r.outside_grids, r.department_code, r.category_code, r.bucket, SUM(r.cases)
FROM case_kpi_hours r
GROUP BY 1, 2, 3, 4, 5, 6, 7;
