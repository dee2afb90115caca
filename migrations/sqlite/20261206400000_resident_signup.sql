-- Residents' own sign-ups (居民注册), waiting for a community worker to check them
-- against the registry. Same table as the PostgreSQL migration of the same name.
--
-- The account row exists from the start, so the resident can log in and see the
-- state of the request, but the portal opens only once `resident_account` links the
-- account to a registry record. Identity and phone numbers are kept like the
-- registry's: sealed, hashed under the lookup key and masked, never in clear text.
CREATE TABLE resident_signup (
    signup_id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL UNIQUE REFERENCES app_user (user_id),
    identity_sealed TEXT NOT NULL,
    -- Matched against resident.identity_hash to find the record and its grid.
    identity_hash TEXT NOT NULL,
    identity_masked TEXT NOT NULL,
    phone_sealed TEXT NOT NULL,
    phone_hash TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    -- Shown to the resident when a worker rejects the request.
    reason TEXT CHECK (length(reason) BETWEEN 1 AND 200),
    -- The record the account was linked to on approval.
    resident_id INTEGER REFERENCES resident (resident_id),
    decided_by INTEGER REFERENCES app_user (user_id),
    decided_at TEXT,
    created_at TEXT NOT NULL
);
-- One open sign-up per identity number; a rejected one may be followed by a new one.
CREATE UNIQUE INDEX resident_signup_identity_idx ON resident_signup (identity_hash)
    WHERE status IN ('pending', 'approved');
CREATE INDEX resident_signup_status_idx ON resident_signup (status, signup_id);
