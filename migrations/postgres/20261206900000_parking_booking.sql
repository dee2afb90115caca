-- Shared parking (共享车位): the windows in which owners share their spaces and the
-- bookings of drivers. Same tables as the SQLite migration of the same name.

-- The exclusion constraint below compares space ids with gist.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE parking_window (
    window_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lot_id BIGINT NOT NULL REFERENCES parking_lot (lot_id),
    -- NULL: the window applies to every shared space of the lot.
    space_id BIGINT REFERENCES parking_space (space_id),
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
    -- Local dates on which a weekly window first and last opens; NULL is open-ended.
    valid_from DATE,
    valid_until DATE,
    starts_at TIMESTAMPTZ,
    ends_at TIMESTAMPTZ,
    -- Who may book in the window: 'any', 'resident' (night parking near home),
    -- 'commuter' (by day near work) or 'visitor'.
    audience TEXT NOT NULL DEFAULT 'any'
        CHECK (audience IN ('any', 'resident', 'commuter', 'visitor')),
    created_by BIGINT REFERENCES app_user (user_id),
    created_at TIMESTAMPTZ NOT NULL,
    CHECK (kind = 'weekly' OR (starts_at IS NOT NULL AND ends_at > starts_at))
);
CREATE INDEX parking_window_lot_idx ON parking_window (lot_id);

CREATE TABLE parking_booking (
    booking_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lot_id BIGINT NOT NULL REFERENCES parking_lot (lot_id),
    -- NULL while a request waits for the batch allocator.
    space_id BIGINT REFERENCES parking_space (space_id),
    driver_user_id BIGINT NOT NULL REFERENCES app_user (user_id),
    plate TEXT NOT NULL CHECK (length(plate) BETWEEN 1 AND 16),
    driver_kind TEXT NOT NULL CHECK (driver_kind IN ('resident', 'commuter', 'visitor')),
    status TEXT NOT NULL CHECK (status IN ('requested', 'confirmed', 'checked_in',
        'completed', 'cancelled', 'no_show', 'rejected')),
    -- The stay the driver asked for, [starts_at, ends_at).
    starts_at TIMESTAMPTZ NOT NULL,
    ends_at TIMESTAMPTZ NOT NULL,
    -- ends_at plus the buffer to leave and clean: the space is taken [starts_at,
    -- occupied_until).
    occupied_until TIMESTAMPTZ NOT NULL,
    -- End of the sharing window the booking lies in, when the owner returns.
    vacate_by TIMESTAMPTZ,
    checked_in_at TIMESTAMPTZ,
    checked_out_at TIMESTAMPTZ,
    cancelled_at TIMESTAMPTZ,
    -- Set by the worker once a checked-in driver stays past ends_at.
    overstay_flagged_at TIMESTAMPTZ,
    -- Set by the worker when an overstay is about to reach vacate_by.
    overstay_warned_at TIMESTAMPTZ,
    -- Charges in fen, set on check-out or cancellation.
    stay_fee_fen BIGINT NOT NULL DEFAULT 0,
    overstay_minutes BIGINT NOT NULL DEFAULT 0,
    overstay_fee_fen BIGINT NOT NULL DEFAULT 0,
    cancel_fee_fen BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CHECK (ends_at > starts_at AND occupied_until >= ends_at),
    CHECK (space_id IS NOT NULL OR status IN ('requested', 'cancelled', 'rejected')),
    -- No two active bookings of one space overlap, whatever path writes them. A NULL
    -- space never equals another, so waiting requests do not conflict.
    CONSTRAINT parking_booking_no_overlap EXCLUDE USING gist (
        space_id WITH =,
        tstzrange(starts_at, occupied_until, '[)') WITH &&
    ) WHERE (status IN ('requested', 'confirmed', 'checked_in'))
);
CREATE INDEX parking_booking_driver_idx ON parking_booking (driver_user_id, starts_at);
CREATE INDEX parking_booking_lot_idx ON parking_booking (lot_id, starts_at);
CREATE INDEX parking_booking_status_idx ON parking_booking (status, starts_at);
