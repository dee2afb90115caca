-- The account inbox reads a recipient's notices newest first and delivers them.
CREATE INDEX case_notice_recipient_idx ON case_notice (recipient_user_id, case_notice_id);
