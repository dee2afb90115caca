-- Cases of the closed loop (接诉即办) and their transition log.
-- Same tables as the PostgreSQL migration of the same name.

-- One row per reported problem. The table is not called "case" because CASE is a
-- reserved word in SQL. The tracking token is 128 random bits in hex, so a reporter
-- can follow the case without an account and nobody can guess another's.
CREATE TABLE service_case (
    case_id INTEGER PRIMARY KEY,
    tracking_token TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL CHECK (length(description) <= 4000),
    category_code TEXT NOT NULL REFERENCES category (category_code),
    channel TEXT NOT NULL
        CHECK (channel IN ('web', 'staff', 'hotline', 'patrol', 'api', 'open311', 'iot')),
    reporter_user_id INTEGER REFERENCES app_user (user_id),
    reporter_contact TEXT,
    -- WGS-84 degrees; GCJ-02 input is converted before it is stored.
    longitude REAL NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    latitude REAL NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    -- Both NULL and outside_grids true when the point lies in no grid: the case is
    -- kept for a dispatcher to place rather than rejected.
    grid_id INTEGER REFERENCES area (area_id),
    community_id INTEGER REFERENCES area (area_id),
    outside_grids INTEGER NOT NULL,
    department_code TEXT NOT NULL REFERENCES department (department_code),
    stage TEXT NOT NULL,
    -- Deadline of the current stage, NULL once the case no longer runs on a clock.
    due_at TEXT,
    dispatch_due_at TEXT,
    handling_due_at TEXT,
    verification_due_at TEXT,
    -- The extension a department requested and a dispatcher has not yet decided on.
    requested_extension_amount INTEGER,
    requested_extension_unit TEXT,
    merged_into_case_id INTEGER REFERENCES service_case (case_id),
    rating INTEGER CHECK (rating BETWEEN 1 AND 5),
    closed_at TEXT,
    rework_count INTEGER NOT NULL DEFAULT 0,
    extension_count INTEGER NOT NULL DEFAULT 0,
    -- Incremented by every transition; an update names the version it read, so of two
    -- concurrent transitions only the first one commits.
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX service_case_stage_idx ON service_case (stage, due_at);
CREATE INDEX service_case_grid_idx ON service_case (grid_id);
CREATE INDEX service_case_community_idx ON service_case (community_id);
CREATE INDEX service_case_reporter_idx ON service_case (reporter_user_id);

-- The transition log: one row per action, never updated. attachment_ids is a JSON
-- array of ids and details a JSON object with the action's own fields (department,
-- extension, merge target, rating).
CREATE TABLE case_event (
    case_event_id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES service_case (case_id),
    action TEXT NOT NULL,
    from_stage TEXT,
    to_stage TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES app_user (user_id),
    actor_role TEXT,
    comment TEXT NOT NULL,
    reason TEXT,
    attachment_ids TEXT NOT NULL,
    details TEXT NOT NULL,
    occurred_at TEXT NOT NULL
);
CREATE INDEX case_event_case_idx ON case_event (case_id, case_event_id);
