-- Photos attached to cases. Same table as the SQLite migration of the same name.
-- The file itself lives on disk under the attachments directory, named by
-- attachment_id, so the database holds no image bytes.
CREATE TABLE case_attachment (
    -- 128 random bits in hex: also the file name, so it must never be user input.
    attachment_id TEXT PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES service_case (case_id),
    -- The re-encoded file's type: image/jpeg, image/png or image/webp.
    content_type TEXT NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    byte_size BIGINT NOT NULL CHECK (byte_size > 0),
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    -- GPS position from the upload's EXIF data, WGS-84 degrees. It is kept here only as
    -- a location hint for staff; the stored file has no EXIF data at all.
    hint_longitude DOUBLE PRECISION,
    hint_latitude DOUBLE PRECISION,
    uploaded_by_user_id BIGINT REFERENCES app_user (user_id),
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX case_attachment_case_idx ON case_attachment (case_id);
