-- Residents' e-mail addresses and the e-mail channel of notices. Same schema as the
-- SQLite migration of the same name.
--
-- An e-mail address is personal information, so it is kept like the phone number:
-- `email_sealed` (AES-256-GCM under the data key), `email_hash` (HMAC-SHA256 of the
-- lower-cased address under the lookup key) and `email_masked` (shown on screen).
ALTER TABLE resident ADD COLUMN email_sealed TEXT;
ALTER TABLE resident ADD COLUMN email_hash TEXT;
ALTER TABLE resident ADD COLUMN email_masked TEXT;
CREATE INDEX resident_email_hash_idx ON resident (email_hash);

ALTER TABLE notice_delivery DROP CONSTRAINT notice_delivery_channel_check;
ALTER TABLE notice_delivery ADD CONSTRAINT notice_delivery_channel_check
    CHECK (channel IN ('webhook', 'email'));

-- Each channel's worker claims only its own due rows.
DROP INDEX notice_delivery_due_idx;
CREATE INDEX notice_delivery_due_idx ON notice_delivery (channel, status, next_attempt_at);
