-- Device attributes whose newly stored readings still need rule evaluation. Same
-- schema as the SQLite migration of the same name.
--
-- The transaction that stores a batch of readings writes one row per device attribute,
-- and the evaluation right after its commit deletes the row. A row that stays behind
-- (the evaluation failed, or the node stopped first) is evaluated again by the alarm
-- worker, so an alarm is not lost with its evaluation. Times are UTC milliseconds.
CREATE TABLE sensor_alarm_pending (
    device_id BIGINT NOT NULL,
    -- Attribute code, as in sensor_reading.
    attribute SMALLINT NOT NULL,
    -- Earliest measurement time of the readings not yet evaluated.
    from_observed_at_ms BIGINT NOT NULL,
    -- Random number of the batch or worker run that last took the row over. An
    -- evaluation deletes the row only while it still carries its own token, so it
    -- cannot drop readings that a later batch added meanwhile.
    batch_token BIGINT NOT NULL,
    -- Failed retries so far; each one doubles the wait before the next.
    attempts INTEGER NOT NULL DEFAULT 0,
    -- The worker evaluates the row from this time on. A new row waits a grace
    -- period, because the evaluation after the commit normally deletes it first.
    retry_at_ms BIGINT NOT NULL,
    PRIMARY KEY (device_id, attribute)
);

CREATE INDEX sensor_alarm_pending_retry ON sensor_alarm_pending (retry_at_ms);
