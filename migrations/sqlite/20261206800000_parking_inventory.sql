-- Parking inventory: lots (FIWARE OffStreetParking) and their spaces (ParkingSpot).
-- Same tables as the PostgreSQL migration of the same name.

CREATE TABLE parking_lot (
    lot_id INTEGER PRIMARY KEY,
    -- The lot's id in imports and in the API, unique across the street.
    lot_ref TEXT NOT NULL UNIQUE CHECK (length(lot_ref) BETWEEN 1 AND 64),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    owner_type TEXT NOT NULL
        CHECK (owner_type IN ('public', 'office', 'residential', 'merchant')),
    -- The owning organisation's name as shown to drivers.
    owner_name TEXT NOT NULL DEFAULT '',
    -- The account that publishes the lot's sharing windows, if any.
    owner_user_id INTEGER REFERENCES app_user (user_id),
    capacity INTEGER NOT NULL CHECK (capacity >= 0),
    -- WGS-84; GCJ-02 input is converted before it is stored.
    longitude REAL NOT NULL,
    latitude REAL NOT NULL,
    grid_area_id INTEGER REFERENCES area (area_id),
    -- A closed lot takes no bookings and counts neither as free nor as full.
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    -- Code of the tariff in the parking settings, empty for free parking.
    tariff_code TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX parking_lot_grid_idx ON parking_lot (grid_area_id);

CREATE TABLE parking_space (
    space_id INTEGER PRIMARY KEY,
    lot_id INTEGER NOT NULL REFERENCES parking_lot (lot_id),
    -- The space's id in imports, in the API and in a space sensor's parking_space_ref.
    space_ref TEXT NOT NULL UNIQUE CHECK (length(space_ref) BETWEEN 1 AND 64),
    -- The number or name painted on the ground.
    label TEXT NOT NULL DEFAULT '',
    longitude REAL,
    latitude REAL,
    -- Whether the owner offers this space for sharing (共享车位).
    shared INTEGER NOT NULL DEFAULT 0 CHECK (shared IN (0, 1)),
    -- A closed space takes no bookings (repairs, reserved for the owner).
    closed INTEGER NOT NULL DEFAULT 0 CHECK (closed IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX parking_space_lot_idx ON parking_space (lot_id);
