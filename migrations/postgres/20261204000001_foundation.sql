-- Foundation schema: areas and grids, accounts, sessions and the audit log.
-- Same tables as the SQLite migration of the same name, with native types.

-- One row per area of the hierarchy city > district > street > community > grid.
-- geometry holds a GeoJSON MultiPolygon in WGS-84 (lon, lat); areas above the street
-- may have none. The code is an NBS division code or a 15-digit Beijing unit-grid code.
CREATE TABLE area (
    area_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('city', 'district', 'street', 'community', 'grid')),
    parent_id BIGINT REFERENCES area (area_id) ON DELETE RESTRICT,
    geometry TEXT,
    -- Unit answerable for the area; a grid without one falls to its community.
    responsible_unit TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX area_parent_idx ON area (parent_id);

-- Bumped by every change to areas so that other nodes rebuild their spatial index.
CREATE TABLE area_revision (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    revision BIGINT NOT NULL
);
INSERT INTO area_revision (singleton, revision) VALUES (1, 0);

CREATE TABLE app_user (
    user_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('administrator', 'dispatcher', 'handler', 'grid_worker',
                                       'community_worker', 'resident', 'merchant')),
    -- argon2id PHC string; the password itself is never stored.
    password_hash TEXT NOT NULL,
    -- zh-CN or en; NULL follows the browser.
    locale TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    last_login_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- The areas an account may see and act in: a grid worker's grids, a community
-- worker's community. Administrators see everything without rows here.
CREATE TABLE user_area (
    user_id BIGINT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    area_id BIGINT NOT NULL REFERENCES area (area_id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, area_id)
);

-- session_id is the SHA-256 of the cookie token, so a leaked table cannot be replayed.
CREATE TABLE user_session (
    session_id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX user_session_user_idx ON user_session (user_id);

-- Logins, failures and administrative changes. actor keeps the username as it was,
-- so the trail survives a deleted account.
CREATE TABLE audit_log (
    audit_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at TIMESTAMPTZ NOT NULL,
    actor_user_id BIGINT REFERENCES app_user (user_id) ON DELETE SET NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT,
    client_ip TEXT
);
CREATE INDEX audit_log_occurred_idx ON audit_log (occurred_at);
