-- Tariffs as data, the occupancy history of each lot and the reviews of the
-- demand-responsive rule. Same tables as the PostgreSQL migration of the same name.
-- Instants are UTC milliseconds, so that both backends compare them as integers.

CREATE TABLE parking_tariff (
    -- Referenced by parking_lot.tariff_code; a lot with an empty code uses 'default'.
    code TEXT PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 32),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- The demand-responsive rule of every lot on this tariff (see PricingRule).
    rule_enabled INTEGER NOT NULL CHECK (rule_enabled IN (0, 1)),
    raise_at REAL NOT NULL,
    lower_below REAL NOT NULL,
    step_fen INTEGER NOT NULL CHECK (step_fen > 0),
    min_fen INTEGER NOT NULL CHECK (min_fen >= 0),
    max_fen INTEGER NOT NULL CHECK (max_fen >= min_fen),
    period_days INTEGER NOT NULL CHECK (period_days > 0),
    notice_days INTEGER NOT NULL CHECK (notice_days >= 0 AND notice_days < period_days),
    updated_at_ms INTEGER NOT NULL
);

-- The bands of a tariff tile each day type's day exactly once; Tariff::new checks it
-- before any write, because SQL cannot express it.
CREATE TABLE parking_tariff_band (
    tariff_code TEXT NOT NULL REFERENCES parking_tariff (code),
    day_type TEXT NOT NULL CHECK (day_type IN ('weekday', 'weekend', 'holiday')),
    -- Minutes after local midnight in the [booking] time zone, [start, end).
    start_minute INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute INTEGER NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
    rate_fen_per_hour INTEGER NOT NULL CHECK (rate_fen_per_hour >= 0),
    PRIMARY KEY (tariff_code, day_type, start_minute),
    CHECK (start_minute < end_minute)
);

-- Live occupancy recorded every [pricing] sample_minutes. The slot key lets several
-- nodes sample at once and keep one row.
CREATE TABLE parking_occupancy_sample (
    lot_id INTEGER NOT NULL REFERENCES parking_lot (lot_id),
    -- Start of the sampling slot, a multiple of the interval.
    slot_start_ms INTEGER NOT NULL,
    -- Length of the slot, so that space-hours stay right after the setting changes.
    interval_minutes INTEGER NOT NULL CHECK (interval_minutes > 0),
    occupied INTEGER NOT NULL CHECK (occupied >= 0),
    open_capacity INTEGER NOT NULL CHECK (open_capacity > 0 AND open_capacity >= occupied),
    -- Measurement time of the live figures the sample copied.
    observed_at_ms INTEGER NOT NULL,
    PRIMARY KEY (lot_id, slot_start_ms)
);

-- One evaluation of the rule per lot, band and period. The unique key keeps it to one
-- even when several nodes evaluate at once. A row whose new_fen differs from old_fen
-- is a price change.
CREATE TABLE parking_price_review (
    price_review_id INTEGER PRIMARY KEY,
    lot_id INTEGER NOT NULL REFERENCES parking_lot (lot_id),
    day_type TEXT NOT NULL CHECK (day_type IN ('weekday', 'weekend', 'holiday')),
    start_minute INTEGER NOT NULL,
    end_minute INTEGER NOT NULL,
    -- The evaluated period [period_start_ms, period_end_ms).
    period_start_ms INTEGER NOT NULL,
    period_end_ms INTEGER NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('raise', 'lower', 'hold', 'too_few_samples')),
    old_fen INTEGER NOT NULL,
    new_fen INTEGER NOT NULL,
    -- Mean occupied fraction of the band's samples; NULL without samples.
    mean_occupancy REAL,
    samples INTEGER NOT NULL,
    announced_at_ms INTEGER NOT NULL,
    -- The new price is charged from here on: announced_at plus the notice days.
    effective_at_ms INTEGER NOT NULL,
    UNIQUE (lot_id, day_type, start_minute, end_minute, period_start_ms)
);
CREATE INDEX parking_price_review_announced_idx ON parking_price_review (announced_at_ms);

-- The quote shown when the booking was made, in fen; NULL for older bookings.
ALTER TABLE parking_booking ADD COLUMN quote_fen INTEGER;
