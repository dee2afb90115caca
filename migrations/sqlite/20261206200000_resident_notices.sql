-- Notices to residents (政策触达): a notice targets residents by area and tags, is
-- fanned out to one inbox row per recipient when it is sent, and is delivered through
-- the configured channels with a status per recipient. Same tables as the PostgreSQL
-- migration of the same name.

CREATE TABLE notice (
    notice_id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    body TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    priority TEXT NOT NULL CHECK (priority IN ('normal', 'urgent')),
    -- The audience as the sender chose it: {"area_ids": [...], "tags": [...]}.
    audience TEXT NOT NULL,
    -- scheduled: waits for send_at; sending: being fanned out; sent: every recipient has
    -- an inbox row and, per channel, a delivery row.
    status TEXT NOT NULL CHECK (status IN ('scheduled', 'sending', 'sent')),
    send_at TEXT NOT NULL,
    sent_at TEXT,
    -- Unread recipients appear on the grid workers' follow-up list after this many hours.
    follow_up_hours INTEGER NOT NULL CHECK (follow_up_hours BETWEEN 1 AND 720),
    -- sent_at plus follow_up_hours, set when the notice is sent.
    follow_up_at TEXT,
    recipient_count INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER NOT NULL REFERENCES app_user (user_id),
    created_at TEXT NOT NULL
);
CREATE INDEX notice_due_idx ON notice (status, send_at);

-- One row per recipient: the resident's inbox entry and read receipt.
CREATE TABLE notice_recipient (
    notice_id INTEGER NOT NULL REFERENCES notice (notice_id),
    resident_id INTEGER NOT NULL REFERENCES resident (resident_id),
    -- Copied at fan-out, so that area-scoped receipts and follow-up need no join.
    grid_id INTEGER NOT NULL,
    read_at TEXT,
    PRIMARY KEY (notice_id, resident_id)
);
CREATE INDEX notice_recipient_resident_idx ON notice_recipient (resident_id, notice_id);
CREATE INDEX notice_recipient_grid_idx ON notice_recipient (grid_id, notice_id);

-- One row per recipient and outside channel (the webhook to an SMS or WeCom gateway).
-- A row leaves 'pending' once: 'sent' after the gateway accepted it, 'failed' after the
-- last attempt, so a delivered recipient never gets a second copy.
CREATE TABLE notice_delivery (
    delivery_id INTEGER PRIMARY KEY AUTOINCREMENT,
    notice_id INTEGER NOT NULL REFERENCES notice (notice_id),
    resident_id INTEGER NOT NULL REFERENCES resident (resident_id),
    channel TEXT NOT NULL CHECK (channel IN ('webhook')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    -- A worker holds a claimed row until this time; after it, another may retry it.
    claimed_until TEXT,
    last_error TEXT,
    sent_at TEXT,
    UNIQUE (notice_id, resident_id, channel)
);
CREATE INDEX notice_delivery_due_idx ON notice_delivery (status, next_attempt_at);

-- What a grid worker or community worker did about an unread recipient.
CREATE TABLE notice_follow_up (
    follow_up_id INTEGER PRIMARY KEY AUTOINCREMENT,
    notice_id INTEGER NOT NULL,
    resident_id INTEGER NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('call', 'visit')),
    outcome TEXT NOT NULL CHECK (outcome IN ('reached', 'not_reached', 'moved_away')),
    note TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    recorded_by INTEGER NOT NULL REFERENCES app_user (user_id),
    recorded_at TEXT NOT NULL,
    FOREIGN KEY (notice_id, resident_id) REFERENCES notice_recipient (notice_id, resident_id)
);
CREATE INDEX notice_follow_up_recipient_idx ON notice_follow_up (notice_id, resident_id);

-- A resident's own account, linked to their registry record by a community worker who
-- checked who they are; it opens their inbox.
CREATE TABLE resident_account (
    user_id INTEGER PRIMARY KEY REFERENCES app_user (user_id),
    resident_id INTEGER NOT NULL UNIQUE REFERENCES resident (resident_id),
    verified_by INTEGER NOT NULL REFERENCES app_user (user_id),
    verified_at TEXT NOT NULL
);
