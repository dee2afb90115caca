-- Parking operations: online requests that found no space, how each booking was
-- requested, and when the scheduled batch allocation last ran per lot. Same schema as
-- the PostgreSQL migration of the same name.

-- An online request answered with "no space free" leaves no booking behind, so it is
-- stored here; the operator report needs it for an honest served/rejected ratio.
CREATE TABLE parking_rejected_request (
    rejected_request_id INTEGER PRIMARY KEY,
    -- The lot requested, or NULL for a request at an area (then area_code is set).
    lot_id INTEGER REFERENCES parking_lot (lot_id),
    area_code TEXT,
    driver_user_id INTEGER NOT NULL REFERENCES app_user (user_id),
    driver_kind TEXT NOT NULL CHECK (driver_kind IN ('resident', 'commuter', 'visitor')),
    -- The requested stay, [starts_at, ends_at).
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    -- 'no_space_free': no shared space fits the stay; 'contention': every attempt lost
    -- its space to a concurrent booking.
    reason TEXT NOT NULL CHECK (reason IN ('no_space_free', 'contention')),
    rejected_at TEXT NOT NULL,
    CHECK (lot_id IS NOT NULL OR area_code IS NOT NULL)
);
CREATE INDEX parking_rejected_request_start_idx ON parking_rejected_request (starts_at);

-- 'online' bookings were answered at once; 'batch' ones waited for the batch
-- allocator. Rows written before this column existed cannot be told apart once placed,
-- so only the still-unplaced and rejected ones are backfilled as batch.
ALTER TABLE parking_booking ADD COLUMN request_mode TEXT NOT NULL DEFAULT 'online'
    CHECK (request_mode IN ('online', 'batch'));
UPDATE parking_booking SET request_mode = 'batch'
    WHERE space_id IS NULL AND status IN ('requested', 'rejected');

-- Last run of the scheduled batch allocation per lot; the worker runs a lot again
-- once booking.batch_every_minutes have passed since last_run_at.
CREATE TABLE parking_batch_run (
    lot_id INTEGER PRIMARY KEY REFERENCES parking_lot (lot_id),
    last_run_at TEXT NOT NULL
);
