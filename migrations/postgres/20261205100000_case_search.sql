-- Full-text search index of cases.
-- Same purpose as the SQLite migration of the same name, which uses FTS5.

-- One row per case. The application tokenizes the text (CJK bigrams, lowercased Latin
-- words) and stores the terms as a tsvector with positions, so that phrase queries
-- work. No text search configuration parses them again, because the default parser
-- would split CJK text its own way.
CREATE TABLE case_search (
    case_id BIGINT PRIMARY KEY REFERENCES service_case (case_id),
    terms TSVECTOR NOT NULL
);
CREATE INDEX case_search_terms_idx ON case_search USING GIN (terms);

-- Cases stored before this migration are indexed by the application right after it
-- runs, in pages; the row holds the last case id done and is deleted at the end.
CREATE TABLE case_search_backfill (after_case_id BIGINT NOT NULL);
INSERT INTO case_search_backfill (after_case_id) VALUES (0);
