-- The KPI counters of case_kpi_rollup and case_kpi_hours summed per report month,
-- so that the whole months of a KPI period read one row per month and group instead of
-- one per day. Same tables as the SQLite migration of the same name.
--
-- report_month counts months since January 1970 in UTC+8, the calendar of report_day:
-- (year - 1970) * 12 + month - 1. Every case write updates the day row and the month row
-- in the same transaction (src/cases/kpi/rollup), so the two levels always agree.
CREATE TABLE case_kpi_rollup_month (
    report_month BIGINT NOT NULL,
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
    PRIMARY KEY (report_month, grid_id, community_id, outside_grids, department_code, category_code)
);

CREATE TABLE case_kpi_hours_month (
    report_month BIGINT NOT NULL,
    grid_id BIGINT NOT NULL,
    community_id BIGINT NOT NULL,
    outside_grids BOOLEAN NOT NULL,
    department_code TEXT NOT NULL,
    category_code TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    cases BIGINT NOT NULL,
    PRIMARY KEY (report_month, grid_id, community_id, outside_grids, department_code, category_code, bucket)
);

-- Back-fill from the day-level tables.
INSERT INTO case_kpi_rollup_month (report_month, grid_id, community_id, outside_grids, department_code, category_code,
    response_num, response_den, resolution_num, resolution_den, satisfaction_num, satisfaction_den, closure_num, closure_den, on_time_closure_num, on_time_closure_den, rework_num, rework_den, extension_num, extension_den)
SELECT CAST((EXTRACT(YEAR FROM DATE '1970-01-01' + CAST(r.report_day AS INTEGER)) - 1970) * 12
    + EXTRACT(MONTH FROM DATE '1970-01-01' + CAST(r.report_day AS INTEGER)) - 1 AS BIGINT),
    r.grid_id, r.community_id, r.outside_grids, r.department_code, r.category_code,
    SUM(r.response_num), SUM(r.response_den), SUM(r.resolution_num), SUM(r.resolution_den), SUM(r.satisfaction_num), SUM(r.satisfaction_den), SUM(r.closure_num), SUM(r.closure_den), SUM(r.on_time_closure_num), SUM(r.on_time_closure_den), SUM(r.rework_num), SUM(r.rework_den), SUM(r.extension_num), SUM(r.extension_den)
FROM case_kpi_rollup r
GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO case_kpi_hours_month (report_month, grid_id, community_id, outside_grids, department_code, category_code, bucket, cases)
SELECT CAST((EXTRACT(YEAR FROM DATE '1970-01-01' + CAST(r.report_day AS INTEGER)) - 1970) * 12
    + EXTRACT(MONTH FROM DATE '1970-01-01' + CAST(r.report_day AS INTEGER)) - 1 AS BIGINT),
    r.grid_id, r.community_id, r.outside_grids, r.department_code, r.category_code, r.bucket, SUM(r.cases)
FROM case_kpi_hours r
GROUP BY 1, 2, 3, 4, 5, 6, 7;
