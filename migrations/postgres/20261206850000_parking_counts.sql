-- Manual occupancy counts of parking lots, entered by staff who counted on site.
-- Same table as the SQLite migration of the same name. Times are milliseconds since
-- the Unix epoch (UTC), like the sensor tables, so a lot's count and its counter's
-- reading compare without conversion.

CREATE TABLE parking_count (
    parking_count_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lot_id BIGINT NOT NULL REFERENCES parking_lot (lot_id),
    -- Occupied open spaces when counted; the API rejects a count above the open capacity.
    occupied INTEGER NOT NULL CHECK (occupied >= 0),
    observed_at_ms BIGINT NOT NULL,
    counted_by BIGINT REFERENCES app_user (user_id),
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX parking_count_lot_idx ON parking_count (lot_id, observed_at_ms);
