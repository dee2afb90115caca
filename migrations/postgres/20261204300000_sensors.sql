-- Smart street core: devices, ingestion keys, readings, latest values and rollups.
-- Times are BIGINT milliseconds since the Unix epoch (UTC), as on SQLite, so that both
-- backends share the bucket arithmetic done in Rust.

CREATE TABLE sensor_device (
    device_id BIGSERIAL PRIMARY KEY,
    -- The id the device sends with its readings.
    external_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    -- WGS-84; GCJ-02 input is converted before it is stored.
    longitude DOUBLE PRECISION NOT NULL,
    latitude DOUBLE PRECISION NOT NULL,
    grid_area_id BIGINT REFERENCES area (area_id),
    owner TEXT NOT NULL,
    -- Number of spaces a lot counter counts; the bound of its free count.
    capacity BIGINT,
    parking_space_ref TEXT,
    merchant_ref TEXT,
    resident_ref TEXT,
    -- SHA-256 of the device token, hex; the token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

-- Gateway keys: one token that may submit readings of any device.
CREATE TABLE sensor_ingest_key (
    ingest_key_id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

-- Raw history, one row per measurement.
CREATE TABLE sensor_reading (
    device_id BIGINT NOT NULL,
    attribute SMALLINT NOT NULL,
    observed_at_ms BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (device_id, attribute, observed_at_ms)
);

-- Retention deletes by time; BRIN stays small because rows arrive roughly in time order.
CREATE INDEX sensor_reading_observed ON sensor_reading USING brin (observed_at_ms);

-- A second, different value for a time that already has one. The first value stays in
-- sensor_reading; each distinct later value is kept here once.
CREATE TABLE sensor_conflict (
    device_id BIGINT NOT NULL,
    attribute SMALLINT NOT NULL,
    observed_at_ms BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    stored_value DOUBLE PRECISION NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (device_id, attribute, observed_at_ms, value)
);

-- The newest measurement of each device attribute (by measurement time, not arrival).
CREATE TABLE sensor_latest (
    device_id BIGINT NOT NULL,
    attribute SMALLINT NOT NULL,
    observed_at_ms BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (device_id, attribute)
);

-- step: 1 minute, 2 hour, 3 day (local midnight in sensors.time_zone).
CREATE TABLE sensor_rollup (
    device_id BIGINT NOT NULL,
    attribute SMALLINT NOT NULL,
    step SMALLINT NOT NULL,
    bucket_start_ms BIGINT NOT NULL,
    count BIGINT NOT NULL,
    sum DOUBLE PRECISION NOT NULL,
    min DOUBLE PRECISION NOT NULL,
    max DOUBLE PRECISION NOT NULL,
    first_at_ms BIGINT NOT NULL,
    first_value DOUBLE PRECISION NOT NULL,
    last_at_ms BIGINT NOT NULL,
    last_value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (device_id, attribute, step, bucket_start_ms)
);
