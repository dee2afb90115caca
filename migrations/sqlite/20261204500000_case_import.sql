-- Cases imported from another system's CSV export, such as a 311 service.
-- Same columns as the PostgreSQL migration of the same name.

-- The source system's name and case id, so that an import can be traced back and the
-- same file is not imported twice. Both are NULL for cases reported in citycore.
ALTER TABLE service_case ADD COLUMN external_source TEXT;
ALTER TABLE service_case ADD COLUMN external_id TEXT;
-- The source system's own case type. Imported cases are filed under the catch-all
-- category E9999, which the import creates, because the catalogue's codes have room
-- for 99 minor categories per major one; this column keeps the original type.
ALTER TABLE service_case ADD COLUMN external_category TEXT;
-- True when the point is the source's placeholder coordinate (Boston puts cases
-- without an address at City Hall). Such cases are kept and flagged, so that maps
-- and spatial figures can leave them out.
ALTER TABLE service_case ADD COLUMN default_location INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX service_case_external_idx ON service_case (external_source, external_id);


-- KPI queries select their cohort by report time.
CREATE INDEX service_case_created_idx ON service_case (created_at);
