-- KPI counters kept up to date with every case write, so that the KPI dashboard
-- reads a few thousand rollup rows instead of every case of the period.
-- Same tables as the PostgreSQL migration of the same name.

-- Time of the case's first dispatch, which the response rate compares with the
-- dispatch deadline. It used to come from the earliest 'dispatch' log entry; as a column
-- it can be kept in the rollup without reading the log.
ALTER TABLE service_case ADD COLUMN first_dispatched_at TEXT;
UPDATE service_case SET first_dispatched_at = (
    SELECT MIN(e.occurred_at) FROM case_event e
    WHERE e.case_id = service_case.case_id AND e.action = 'dispatch'
);
-- A case with a dispatch deadline and no dispatch yet enters the response rate only
-- once its deadline has passed, which depends on the clock. The KPI query counts those
-- cases live; this index keeps that query to the few undispatched ones.
CREATE INDEX service_case_undispatched_idx ON service_case (created_at, dispatch_due_at)
    WHERE first_dispatched_at IS NULL AND dispatch_due_at IS NOT NULL;

-- One row per report day and group: the numerator and denominator of every KPI over
-- the counted cases (voided and merged ones count nowhere). report_day is the day
-- number since 1970-01-01 in UTC+8 (Asia/Shanghai has had no daylight saving since
-- 1991). grid_id and community_id are 0 for a case in no area, because a primary key
-- column cannot be NULL. Every case write applies "minus the case's old contribution,
-- plus its new one" in the same transaction (src/cases/kpi/rollup), so a row may
-- drop to all zeros; such rows count in no figure. response_den holds only the
-- dispatched cases; the undispatched ones past their deadline are counted live.
CREATE TABLE case_kpi_rollup (
    report_day INTEGER NOT NULL,
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
    PRIMARY KEY (report_day, grid_id, community_id, outside_grids, department_code, category_code)
);

-- Closed cases per group and handling-time bucket, for the median handling time.
-- A bucket is a whole minute below 128 minutes, then one 64th of each doubling
-- (src/cases/kpi/hours.rs), so the median is exact to the minute or within 1.6 %.
CREATE TABLE case_kpi_hours (
    report_day INTEGER NOT NULL,
    grid_id INTEGER NOT NULL,
    community_id INTEGER NOT NULL,
    outside_grids INTEGER NOT NULL,
    department_code TEXT NOT NULL,
    category_code TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    cases INTEGER NOT NULL,
    PRIMARY KEY (report_day, grid_id, community_id, outside_grids, department_code, category_code, bucket)
);

INSERT INTO case_kpi_rollup (report_day, grid_id, community_id, outside_grids, department_code, category_code,
    response_num, response_den, resolution_num, resolution_den, satisfaction_num, satisfaction_den, closure_num, closure_den, on_time_closure_num, on_time_closure_den, rework_num, rework_den, extension_num, extension_den)
SELECT (CAST(strftime('%s', c.created_at) AS INTEGER) + 28800) / 86400,
    COALESCE(c.grid_id, 0), COALESCE(c.community_id, 0), c.outside_grids,
    c.department_code, c.category_code,
    SUM(CASE WHEN c.dispatch_due_at IS NOT NULL AND c.first_dispatched_at IS NOT NULL AND c.first_dispatched_at <= c.dispatch_due_at THEN 1 ELSE 0 END),
    SUM(CASE WHEN c.dispatch_due_at IS NOT NULL AND c.first_dispatched_at IS NOT NULL THEN 1 ELSE 0 END),
    SUM(CASE WHEN c.stage IN ('feedback', 'closed', 'rated') THEN 1 ELSE 0 END),
    SUM(CASE WHEN c.stage IN ('dispatched', 'handling', 'extension_requested', 'feedback', 'closed', 'rated') THEN 1 ELSE 0 END),
    SUM(CASE WHEN c.rating >= 4 THEN 1 ELSE 0 END),
    SUM(CASE WHEN c.rating IS NOT NULL THEN 1 ELSE 0 END),
    SUM(CASE WHEN c.stage IN ('closed', 'rated') THEN 1 ELSE 0 END),
    COUNT(*),
    SUM(CASE WHEN c.stage IN ('closed', 'rated') AND c.handling_due_at IS NOT NULL AND c.closed_at <= c.handling_due_at THEN 1 ELSE 0 END),
    SUM(CASE WHEN c.stage IN ('closed', 'rated') AND c.handling_due_at IS NOT NULL THEN 1 ELSE 0 END),
    SUM(CASE WHEN c.rework_count > 0 THEN 1 ELSE 0 END),
    SUM(CASE WHEN (c.stage IN ('feedback', 'closed', 'rated') OR c.rework_count > 0) THEN 1 ELSE 0 END),
    SUM(CASE WHEN c.stage IN ('dispatched', 'handling', 'extension_requested', 'feedback', 'closed', 'rated') AND c.extension_count > 0 THEN 1 ELSE 0 END),
    SUM(CASE WHEN c.stage IN ('dispatched', 'handling', 'extension_requested', 'feedback', 'closed', 'rated') THEN 1 ELSE 0 END)
FROM service_case c
WHERE c.stage NOT IN ('voided', 'merged')
GROUP BY 1, 2, 3, 4, 5, 6;

WITH RECURSIVE octave (exponent, power) AS (
    SELECT 7, CAST(128 AS INTEGER)
    UNION ALL SELECT exponent + 1, power * 2 FROM octave WHERE exponent < 40
),
closed AS (
    SELECT (CAST(strftime('%s', c.created_at) AS INTEGER) + 28800) / 86400 AS report_day,
        COALESCE(c.grid_id, 0) AS grid_id, COALESCE(c.community_id, 0) AS community_id,
        c.outside_grids, c.department_code, c.category_code,
        MAX(0, (CAST(strftime('%s', c.closed_at) AS INTEGER) - CAST(strftime('%s', c.created_at) AS INTEGER)) / 60) AS minutes
    FROM service_case c
    WHERE c.stage IN ('closed', 'rated') AND c.closed_at IS NOT NULL
)
INSERT INTO case_kpi_hours (report_day, grid_id, community_id, outside_grids, department_code, category_code, bucket, cases)
SELECT report_day, grid_id, community_id, outside_grids, department_code, category_code, bucket, COUNT(*) FROM (
    SELECT closed.report_day, closed.grid_id, closed.community_id, closed.outside_grids,
        closed.department_code, closed.category_code,
        CASE WHEN closed.minutes < 128 THEN closed.minutes
            ELSE 128 + (o.exponent - 7) * 64 + closed.minutes / (o.power / 64) - 64 END AS bucket
    FROM closed LEFT JOIN octave o ON closed.minutes >= o.power AND closed.minutes < o.power * 2
) bucketed
GROUP BY report_day, grid_id, community_id, outside_grids, department_code, category_code, bucket;
