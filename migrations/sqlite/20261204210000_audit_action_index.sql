-- The audit page filters by action and lists the newest entries first, so an index on
-- (action, audit_id) serves both the filtered page and its count without a table scan.
CREATE INDEX audit_log_action_idx ON audit_log (action, audit_id);
