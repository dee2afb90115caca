-- Checked reading batches that were acknowledged before their rows, rollups and latest
-- values were written. On SQLite the same table lives in a file of its own beside the
-- database (src/sensors/queue/store.rs), so that queuing never waits for the write
-- lock of the main file.
--
-- A batch sent with `Prefer: respond-async`, and every MQTT message, is acknowledged
-- once its row here is committed. The queue worker then writes the readings through
-- the usual write path and deletes the row in the same transaction, so a crash
-- between the two leaves the row to be written again, never half of it.
CREATE TABLE sensor_reading_queue (
    batch_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- UTC milliseconds of the acknowledgement; becomes the readings' received_at_ms.
    received_at_ms BIGINT NOT NULL,
    item_count INTEGER NOT NULL,
    -- The checked readings in the binary form of src/sensors/queue/codec.rs.
    body BYTEA NOT NULL
);
