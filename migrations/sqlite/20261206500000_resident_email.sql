-- Residents' e-mail addresses and the e-mail channel of notices. Same schema as the
-- PostgreSQL migration of the same name.
--
-- An e-mail address is personal information, so it is kept like the phone number:
-- `email_sealed` (AES-256-GCM under the data key), `email_hash` (HMAC-SHA256 of the
-- lower-cased address under the lookup key) and `email_masked` (shown on screen).
ALTER TABLE resident ADD COLUMN email_sealed TEXT;
ALTER TABLE resident ADD COLUMN email_hash TEXT;
ALTER TABLE resident ADD COLUMN email_masked TEXT;
CREATE INDEX resident_email_hash_idx ON resident (email_hash);

-- SQLite cannot change a CHECK in place, so the delivery table is rebuilt to let
-- `channel` be 'email'. No table references it, and the copy keeps every row and id.
CREATE TABLE notice_delivery_rebuilt (
    delivery_id INTEGER PRIMARY KEY AUTOINCREMENT,
    notice_id INTEGER NOT NULL REFERENCES notice (notice_id),
    resident_id INTEGER NOT NULL REFERENCES resident (resident_id),
    channel TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    -- A worker holds a claimed row until this time; after it, another may retry it.
    claimed_until TEXT,
    last_error TEXT,
    sent_at TEXT,
    UNIQUE (notice_id, resident_id, channel)
);
INSERT INTO notice_delivery_rebuilt (delivery_id, notice_id, resident_id, channel, status,
    attempts, next_attempt_at, claimed_until, last_error, sent_at)
SELECT delivery_id, notice_id, resident_id, channel, status, attempts, next_attempt_at,
    claimed_until, last_error, sent_at
FROM notice_delivery;
DROP TABLE notice_delivery;
ALTER TABLE notice_delivery_rebuilt RENAME TO notice_delivery;
-- Each channel's worker claims only its own due rows.
CREATE INDEX notice_delivery_due_idx ON notice_delivery (channel, status, next_attempt_at);
