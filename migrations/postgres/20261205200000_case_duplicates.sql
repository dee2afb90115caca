-- Duplicate suggestions and merge notifications.
-- Same tables as the SQLite migration of the same name.

-- Only cases reported at most this many hours before a new report are offered as its
-- duplicates; older open cases are more likely a new occurrence of the problem.
ALTER TABLE category ADD COLUMN duplicate_window_hours INTEGER NOT NULL DEFAULT 72
    CHECK (duplicate_window_hours > 0);

-- The duplicate search filters by category and a latitude range first, then checks
-- the longitude range within the index before reading rows.
CREATE INDEX service_case_duplicate_idx ON service_case (category_code, latitude, longitude);

-- The reporters who follow a case: one row per reported case whose reporter hears of
-- this case's transitions. A case follows itself once it has moved, and a merge copies
-- every follower of the merged case onto the surviving one, so followers of cases
-- merged earlier stay informed. The reporter's account and tracking token are those
-- of source_case_id, so no contact data is copied. rating is the follower's own 1-5
-- rating of the surviving case, given from their tracking page once it closed.
CREATE TABLE case_follower (
    case_id BIGINT NOT NULL REFERENCES service_case (case_id),
    source_case_id BIGINT NOT NULL REFERENCES service_case (case_id),
    rating INTEGER CHECK (rating BETWEEN 1 AND 5),
    rating_comment TEXT,
    rated_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (case_id, source_case_id)
);
CREATE INDEX case_follower_source_idx ON case_follower (source_case_id);

-- The outbox of reporter notices: one row per follower and transition, written in the
-- transition's transaction. A delivery worker sends pending rows (delivered_at NULL)
-- to the account's inbox or, for reporters without one, through the tracking page.
-- message_key is a Fluent id; stage is the case's stage after the transition.
CREATE TABLE case_notice (
    case_notice_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES service_case (case_id),
    source_case_id BIGINT NOT NULL REFERENCES service_case (case_id),
    recipient_user_id BIGINT REFERENCES app_user (user_id),
    tracking_token TEXT NOT NULL,
    stage TEXT NOT NULL,
    message_key TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ
);
CREATE INDEX case_notice_case_idx ON case_notice (case_id);
CREATE INDEX case_notice_pending_idx ON case_notice (case_notice_id) WHERE delivered_at IS NULL;
