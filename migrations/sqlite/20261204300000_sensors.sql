-- Smart street core: devices, ingestion keys, readings, latest values and rollups.
-- Times are integers of milliseconds since the Unix epoch (UTC): a reading row is
-- written millions of times, and an integer compares and indexes faster than text.

CREATE TABLE sensor_device (
    device_id INTEGER PRIMARY KEY,
    -- The id the device sends with its readings.
    external_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    -- WGS-84; GCJ-02 input is converted before it is stored.
    longitude REAL NOT NULL,
    latitude REAL NOT NULL,
    grid_area_id INTEGER REFERENCES area (area_id),
    owner TEXT NOT NULL,
    -- Number of spaces a lot counter counts; the bound of its free count.
    capacity INTEGER,
    parking_space_ref TEXT,
    merchant_ref TEXT,
    resident_ref TEXT,
    -- SHA-256 of the device token, hex; the token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

-- Gateway keys: one token that may submit readings of any device.
CREATE TABLE sensor_ingest_key (
    ingest_key_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

-- Raw history, one row per measurement. WITHOUT ROWID keeps the rows in primary key
-- order, so the key is the table and inserting costs one B-tree, not two.
CREATE TABLE sensor_reading (
    device_id INTEGER NOT NULL,
    attribute INTEGER NOT NULL,
    observed_at_ms INTEGER NOT NULL,
    value REAL NOT NULL,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (device_id, attribute, observed_at_ms)
) WITHOUT ROWID;

-- Retention deletes by time across all devices.
CREATE INDEX sensor_reading_observed ON sensor_reading (observed_at_ms);

-- A second, different value for a time that already has one. The first value stays in
-- sensor_reading; each distinct later value is kept here once.
CREATE TABLE sensor_conflict (
    device_id INTEGER NOT NULL,
    attribute INTEGER NOT NULL,
    observed_at_ms INTEGER NOT NULL,
    value REAL NOT NULL,
    stored_value REAL NOT NULL,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (device_id, attribute, observed_at_ms, value)
) WITHOUT ROWID;

-- The newest measurement of each device attribute (by measurement time, not arrival).
CREATE TABLE sensor_latest (
    device_id INTEGER NOT NULL,
    attribute INTEGER NOT NULL,
    observed_at_ms INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (device_id, attribute)
) WITHOUT ROWID;

-- step: 1 minute, 2 hour, 3 day (local midnight in sensors.time_zone).
CREATE TABLE sensor_rollup (
    device_id INTEGER NOT NULL,
    attribute INTEGER NOT NULL,
    step INTEGER NOT NULL,
    bucket_start_ms INTEGER NOT NULL,
    count INTEGER NOT NULL,
    sum REAL NOT NULL,
    min REAL NOT NULL,
    max REAL NOT NULL,
    first_at_ms INTEGER NOT NULL,
    first_value REAL NOT NULL,
    last_at_ms INTEGER NOT NULL,
    last_value REAL NOT NULL,
    PRIMARY KEY (device_id, attribute, step, bucket_start_ms)
) WITHOUT ROWID;
