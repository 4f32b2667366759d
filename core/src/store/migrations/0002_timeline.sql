-- The journey timeline (core/src/timeline). Every column but `id` is a synced field written by
-- record/, so every one is nullable: a record's fields may arrive from another device one by one.
CREATE TABLE timeline_event (
    id              TEXT PRIMARY KEY,
    kind            TEXT,     -- diagnosis, treatment, appointment, symptom, measurement, mood, note, milestone
    occurred_at     INTEGER,  -- the instant, Unix epoch milliseconds (UTC)
    recorded_zone   TEXT,     -- the IANA zone it was recorded in, for showing local time
    ends_at         INTEGER,  -- optional end, Unix epoch milliseconds
    title           TEXT,
    body            TEXT,
    tags            TEXT,     -- JSON array of normalised tags
    payload         TEXT,     -- JSON object, shape per kind (symptom scores, measurement, ...)
    clinician_grade INTEGER,  -- CTCAE grade 1-5 given by a clinician; never derived from patient scores
    medication_ids  TEXT,     -- JSON array of linked medication ids
    document_ids    TEXT      -- JSON array of linked document ids
) STRICT;

-- Cursor paging walks (occurred_at, id) in either direction; the kind index serves kind filters,
-- upcoming appointments and symptom trends.
CREATE INDEX timeline_event_time ON timeline_event(occurred_at, id);
CREATE INDEX timeline_event_kind_time ON timeline_event(kind, occurred_at, id);

-- Full-text index over titles, text and tags. External content: the text lives once, in
-- timeline_event; the triggers below keep the index in step with every write of record/, so the
-- one write path stays one. unicode61 with remove_diacritics 2 folds case and accents, so
-- "fievre" finds "Fièvre". After a VACUUM (which may renumber rowids) run
-- INSERT INTO timeline_fts(timeline_fts) VALUES ('rebuild').
CREATE VIRTUAL TABLE timeline_fts USING fts5(
    title, body, tags,
    content = 'timeline_event',
    content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2',
    -- No per-row column sizes: they only serve bm25 ranking, and pages are ordered by time.
    columnsize = 0
);

CREATE TRIGGER timeline_event_fts_insert AFTER INSERT ON timeline_event BEGIN
    INSERT INTO timeline_fts(rowid, title, body, tags)
    VALUES (new.rowid, new.title, new.body, new.tags);
END;

CREATE TRIGGER timeline_event_fts_delete AFTER DELETE ON timeline_event BEGIN
    INSERT INTO timeline_fts(timeline_fts, rowid, title, body, tags)
    VALUES ('delete', old.rowid, old.title, old.body, old.tags);
END;

CREATE TRIGGER timeline_event_fts_update AFTER UPDATE OF title, body, tags ON timeline_event BEGIN
    INSERT INTO timeline_fts(timeline_fts, rowid, title, body, tags)
    VALUES ('delete', old.rowid, old.title, old.body, old.tags);
    INSERT INTO timeline_fts(rowid, title, body, tags)
    VALUES (new.rowid, new.title, new.body, new.tags);
END;
