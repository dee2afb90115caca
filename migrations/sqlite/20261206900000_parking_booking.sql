-- Shared parking (共享车位): the windows in which owners share their spaces and the
-- bookings of drivers. Same tables as the PostgreSQL migration of the same name.

CREATE TABLE parking_window (
    window_id INTEGER PRIMARY KEY,
    lot_id INTEGER NOT NULL REFERENCES parking_lot (lot_id),
    -- NULL: the window applies to every shared space of the lot.
    space_id INTEGER REFERENCES parking_space (space_id),
    -- 'weekly' repeats on the weekdays of weekday_mask between the local times;
    -- 'once' is the single span [starts_at, ends_at).
    kind TEXT NOT NULL CHECK (kind IN ('weekly', 'once')),
    -- Bit 0 is Monday, bit 6 Sunday; the day the window opens.
    weekday_mask INTEGER NOT NULL DEFAULT 0 CHECK (weekday_mask BETWEEN 0 AND 127),
    -- Minutes after local midnight. An end at or before the start closes the window on
    -- the next day (a night window such as 19:00 to 08:00).
    start_minute INTEGER NOT NULL DEFAULT 0 CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute INTEGER NOT NULL DEFAULT 0 CHECK (end_minute BETWEEN 0 AND 1440),
    -- IANA zone of the local times, such as Asia/Shanghai.
    time_zone TEXT NOT NULL,
    -- Local dates (YYYY-MM-DD) on which a weekly window first and last opens; NULL is
    -- open-ended.
    valid_from TEXT,
    valid_until TEXT,
    starts_at TEXT,
    ends_at TEXT,
    -- Who may book in the window: 'any', 'resident' (night parking near home),
    -- 'commuter' (by day near work) or 'visitor'.
    audience TEXT NOT NULL DEFAULT 'any'
        CHECK (audience IN ('any', 'resident', 'commuter', 'visitor')),
    created_by INTEGER REFERENCES app_user (user_id),
    created_at TEXT NOT NULL,
    CHECK (kind = 'weekly'
        OR (starts_at IS NOT NULL AND julianday(ends_at) > julianday(starts_at)))
);
CREATE INDEX parking_window_lot_idx ON parking_window (lot_id);

CREATE TABLE parking_booking (
    booking_id INTEGER PRIMARY KEY,
    lot_id INTEGER NOT NULL REFERENCES parking_lot (lot_id),
    -- NULL while a request waits for the batch allocator.
    space_id INTEGER REFERENCES parking_space (space_id),
    driver_user_id INTEGER NOT NULL REFERENCES app_user (user_id),
    plate TEXT NOT NULL CHECK (length(plate) BETWEEN 1 AND 16),
    driver_kind TEXT NOT NULL CHECK (driver_kind IN ('resident', 'commuter', 'visitor')),
    status TEXT NOT NULL CHECK (status IN ('requested', 'confirmed', 'checked_in',
        'completed', 'cancelled', 'no_show', 'rejected')),
    -- The stay the driver asked for, [starts_at, ends_at).
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    -- ends_at plus the buffer to leave and clean: the space is taken [starts_at,
    -- occupied_until).
    occupied_until TEXT NOT NULL,
    -- End of the sharing window the booking lies in, when the owner returns.
    vacate_by TEXT,
    checked_in_at TEXT,
    checked_out_at TEXT,
    cancelled_at TEXT,
    -- Set by the worker once a checked-in driver stays past ends_at.
    overstay_flagged_at TEXT,
    -- Set by the worker when an overstay is about to reach vacate_by.
    overstay_warned_at TEXT,
    -- Charges in fen, set on check-out or cancellation.
    stay_fee_fen INTEGER NOT NULL DEFAULT 0,
    overstay_minutes INTEGER NOT NULL DEFAULT 0,
    overstay_fee_fen INTEGER NOT NULL DEFAULT 0,
    cancel_fee_fen INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (julianday(ends_at) > julianday(starts_at)
        AND julianday(occupied_until) >= julianday(ends_at)),
    CHECK (space_id IS NOT NULL OR status IN ('requested', 'cancelled', 'rejected'))
);
CREATE INDEX parking_booking_driver_idx ON parking_booking (driver_user_id, starts_at);
CREATE INDEX parking_booking_lot_idx ON parking_booking (lot_id, starts_at);
CREATE INDEX parking_booking_status_idx ON parking_booking (status, starts_at);
CREATE INDEX parking_booking_space_idx ON parking_booking (space_id, starts_at);

-- No two active bookings of one space overlap, whatever path writes them; the
-- PostgreSQL migration has an exclusion constraint of the same name. SQLite has one
-- writer at a time, so the check and the write cannot interleave with another
-- writer's. Times are compared through julianday() because the text may carry any
-- offset.
CREATE TRIGGER parking_booking_no_overlap_insert
BEFORE INSERT ON parking_booking
WHEN NEW.space_id IS NOT NULL AND NEW.status IN ('requested', 'confirmed', 'checked_in')
BEGIN
    SELECT RAISE(ABORT, 'parking_booking_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM parking_booking b
        WHERE b.space_id = NEW.space_id
          AND b.status IN ('requested', 'confirmed', 'checked_in')
          AND julianday(b.starts_at) < julianday(NEW.occupied_until)
          AND julianday(NEW.starts_at) < julianday(b.occupied_until)
    );
END;

CREATE TRIGGER parking_booking_no_overlap_update
BEFORE UPDATE OF space_id, status, starts_at, occupied_until ON parking_booking
WHEN NEW.space_id IS NOT NULL AND NEW.status IN ('requested', 'confirmed', 'checked_in')
BEGIN
    SELECT RAISE(ABORT, 'parking_booking_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM parking_booking b
        WHERE b.space_id = NEW.space_id
          AND b.booking_id <> NEW.booking_id
          AND b.status IN ('requested', 'confirmed', 'checked_in')
          AND julianday(b.starts_at) < julianday(NEW.occupied_until)
          AND julianday(NEW.starts_at) < julianday(b.occupied_until)
    );
END;
