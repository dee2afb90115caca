-- API keys of Open311 GeoReport v2 clients.
-- Same table as the PostgreSQL migration of the same name.

-- One row per client application. Only the SHA-256 of the key is stored: keys are 256
-- random bits, so a fast hash cannot be reversed by guessing, and a leaked table does
-- not let anyone post. The name is recorded with every request the key makes.
CREATE TABLE api_key (
    api_key_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    -- NULL while the key is valid.
    revoked_at TEXT
);
