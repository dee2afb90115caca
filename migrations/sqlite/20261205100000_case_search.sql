-- Full-text search index of cases.
-- Same purpose as the PostgreSQL migration of the same name, which uses a tsvector.

-- One row per case, rowid = case_id. The application tokenizes the text (CJK bigrams,
-- lowercased Latin words) and stores the terms separated by spaces. The 'ascii'
-- tokenizer then splits on those spaces only, because it treats every non-ASCII
-- character as part of a term and the terms hold no ASCII punctuation. The table is
-- contentless: it keeps the index but not the terms, and contentless_delete lets a
-- case be re-indexed.
CREATE VIRTUAL TABLE case_search USING fts5(
    terms,
    content = '',
    contentless_delete = 1,
    tokenize = 'ascii'
);

-- Cases stored before this migration are indexed by the application right after it
-- runs, in pages; the row holds the last case id done and is deleted at the end.
CREATE TABLE case_search_backfill (after_case_id INTEGER NOT NULL);
INSERT INTO case_search_backfill (after_case_id) VALUES (0);
