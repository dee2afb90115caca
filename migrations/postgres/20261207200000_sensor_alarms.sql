-- Rules on device readings, the alarms they raise and what each rule remembers per
-- device between batches. Same schema as the SQLite migration of the same name.
-- Times are integer milliseconds since the Unix epoch (UTC), like the readings they
-- are compared with.

CREATE TABLE sensor_rule (
    sensor_rule_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    -- Scope: every device of one kind, or one device; exactly one of the two is set.
    device_kind TEXT,
    device_id BIGINT REFERENCES sensor_device (device_id),
    -- Attribute code, as in sensor_reading.
    attribute SMALLINT NOT NULL,
    rule_type TEXT NOT NULL
        CHECK (rule_type IN ('threshold', 'rate_of_change', 'no_data', 'no_change', 'count')),
    -- 'above' or 'below' for threshold, rate_of_change and count; NULL for the others.
    direction TEXT CHECK (direction IN ('above', 'below')),
    -- threshold: the value that raises the alarm; rate_of_change: units per minute;
    -- count: the value a reading must pass to be counted.
    level DOUBLE PRECISION,
    -- threshold and rate_of_change: the value past which an open alarm clears, on the
    -- other side of level (hysteresis).
    clear_level DOUBLE PRECISION,
    -- threshold and rate_of_change: how long the condition must hold before it raises.
    min_duration_seconds BIGINT NOT NULL DEFAULT 0 CHECK (min_duration_seconds >= 0),
    -- no_data: silence; no_change: stillness; count: the sliding window.
    duration_seconds BIGINT CHECK (duration_seconds > 0),
    -- count: readings past level within the window that raise the alarm.
    count_limit BIGINT CHECK (count_limit > 0),
    -- The case category of the alarm's case.
    category_code TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    CHECK ((device_kind IS NULL) <> (device_id IS NULL))
);

-- One alarm per activation. An open alarm (active or acknowledged) takes every
-- re-trigger of its rule and device until it is cleared.
CREATE TABLE sensor_alarm (
    sensor_alarm_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- NULL once the rule is deleted; rule_name keeps what it was called.
    sensor_rule_id BIGINT REFERENCES sensor_rule (sensor_rule_id) ON DELETE SET NULL,
    rule_name TEXT NOT NULL,
    device_id BIGINT NOT NULL REFERENCES sensor_device (device_id),
    state TEXT NOT NULL CHECK (state IN ('active', 'acknowledged', 'cleared')),
    -- Measurement time of the reading that raised it, or the worker's clock for the
    -- no_data and no_change rules.
    first_triggered_at_ms BIGINT NOT NULL,
    last_triggered_at_ms BIGINT NOT NULL,
    trigger_count BIGINT NOT NULL DEFAULT 1,
    -- The value that raised it last; NULL for no_data.
    last_value DOUBLE PRECISION,
    case_id BIGINT REFERENCES service_case (case_id),
    -- When a node started creating the case; another node retries after a while.
    case_claimed_at_ms BIGINT,
    acknowledged_by BIGINT REFERENCES app_user (user_id),
    acknowledged_at_ms BIGINT,
    -- NULL when the readings cleared it.
    cleared_by BIGINT REFERENCES app_user (user_id),
    cleared_at_ms BIGINT,
    -- Measurement time of the reading that cleared it; NULL when cleared by hand or by
    -- the worker's clock. A raise within 10 minutes of it reopens the alarm.
    cleared_observed_at_ms BIGINT,
    created_at_ms BIGINT NOT NULL
);

-- At most one open alarm per rule and device, also when two nodes raise it at once:
-- the second insert conflicts and becomes a re-trigger.
CREATE UNIQUE INDEX sensor_alarm_open_idx ON sensor_alarm (sensor_rule_id, device_id)
    WHERE state <> 'cleared';
CREATE INDEX sensor_alarm_device_idx ON sensor_alarm (device_id, sensor_alarm_id);
CREATE INDEX sensor_alarm_missing_case_idx ON sensor_alarm (sensor_alarm_id)
    WHERE case_id IS NULL AND state <> 'cleared';

-- What a rule remembers of one device between readings.
CREATE TABLE sensor_rule_state (
    sensor_rule_id BIGINT NOT NULL REFERENCES sensor_rule (sensor_rule_id) ON DELETE CASCADE,
    device_id BIGINT NOT NULL REFERENCES sensor_device (device_id),
    last_observed_at_ms BIGINT NOT NULL,
    last_value DOUBLE PRECISION NOT NULL,
    -- Measurement time of the last reading whose value differed from the one before.
    changed_at_ms BIGINT NOT NULL,
    -- Measurement time since which the condition holds; NULL when it does not.
    breach_since_ms BIGINT,
    PRIMARY KEY (sensor_rule_id, device_id)
);
