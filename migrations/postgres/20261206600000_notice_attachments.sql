-- Files attached to notices to residents. Same table as the SQLite migration of the
-- same name. The file itself lives on disk under <attachments dir>/notices, named by
-- attachment_id, so the database holds no file bytes.
--
-- A row starts as an upload of its uploader (notice_id NULL, expires_at set) and is
-- bound to a notice in the notice's own transaction (notice_id set, expires_at NULL).
-- An upload never bound by expires_at is removed with its file.
CREATE TABLE notice_attachment (
    -- 128 random bits in hex: also the file name, so it must never be user input.
    attachment_id TEXT PRIMARY KEY,
    notice_id BIGINT REFERENCES notice (notice_id),
    -- Order of the attachment in its notice, from 0; NULL while unbound.
    position INTEGER,
    uploaded_by BIGINT NOT NULL REFERENCES app_user (user_id),
    -- The uploader's file name without any folder or control character.
    file_name TEXT NOT NULL CHECK (char_length(file_name) BETWEEN 1 AND 120),
    content_type TEXT NOT NULL CHECK (content_type IN (
        'application/pdf', 'image/jpeg', 'image/png',
        'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')),
    byte_size BIGINT NOT NULL CHECK (byte_size > 0),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    CHECK ((notice_id IS NULL) = (expires_at IS NOT NULL))
);

CREATE INDEX notice_attachment_notice_idx ON notice_attachment (notice_id, position);
CREATE INDEX notice_attachment_pending_idx ON notice_attachment (uploaded_by, expires_at);
CREATE INDEX notice_attachment_expiry_idx ON notice_attachment (expires_at);
