-- The street's address gazetteer (地名地址库) and the address text of a case. Same
-- tables as the SQLite migration of the same name.
--
-- A place is one named point that residents use to say where something is: a
-- residential compound, a building, a road, a landmark or a door number. Reports that
-- give only an address are located through it, because nothing may be fetched from an
-- online geocoder at run time.
CREATE TABLE place (
    place_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The official name as imported; an import replaces the place of the same name.
    name TEXT NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 100),
    -- Other names people use, separated by '|', such as an old name or a short form.
    aliases TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL CHECK (kind IN ('residential', 'building', 'road', 'landmark', 'door')),
    -- WGS-84 degrees; GCJ-02 input is converted on import.
    longitude DOUBLE PRECISION NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    latitude DOUBLE PRECISION NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    -- Where the point located when the place was imported; NULL outside every grid.
    grid_id BIGINT REFERENCES area (area_id),
    community_id BIGINT REFERENCES area (area_id),
    updated_at TIMESTAMPTZ NOT NULL
);

-- The address as the reporter typed it, kept even when coordinates located the case.
-- NULL for cases reported with coordinates only and for every earlier case.
ALTER TABLE service_case ADD COLUMN address TEXT;
