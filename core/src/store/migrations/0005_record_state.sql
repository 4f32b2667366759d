-- The field-change log keeps a record's merge state in the record's own row, and the outbox
-- names the changed fields of a record instead of copying every change: a new timeline event is
-- now one row and one outbox entry, where it was a dozen of each plus a second copy of every
-- value.

-- Each synced table gains `sync_state`: for every field, the hybrid logical time and author of
-- the write that set it, and how to read its column back as the JSON value written (see
-- record/mod.rs, RecordState). Values stay in their columns; a field with no column of its
-- name keeps its value inline. Written here in the general form
--   {"c": [[hlc time part, peer], ...], "f": {"field": [clock, type] or [clock, "v", value]}}
-- which record/ rewrites in its compact positional form on the next write of the record.
ALTER TABLE profile ADD COLUMN sync_state TEXT;
ALTER TABLE medications ADD COLUMN sync_state TEXT;
ALTER TABLE dose_log ADD COLUMN sync_state TEXT;
ALTER TABLE vault_documents ADD COLUMN sync_state TEXT;
ALTER TABLE timeline_event ADD COLUMN sync_state TEXT;

-- The (device, author) pairs of clocks, numbered on this device only: a stored clock is the
-- HLC's time part and a peer number.
CREATE TABLE sync_peers (
    n      INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    author TEXT NOT NULL,
    UNIQUE (device, author)
) STRICT;

-- Records of entities this build does not know (written by a newer version), values inline.
CREATE TABLE record_state (
    entity TEXT NOT NULL,
    id     TEXT NOT NULL,
    state  TEXT NOT NULL,
    PRIMARY KEY (entity, id)
) STRICT, WITHOUT ROWID;

-- A deleted record keeps nothing but its tombstone: its row and merge state go with the delete,
-- and a change arriving after the delete is not stored. That erases every field of a deleted
-- record, which subsumes the crypto-shredding triggers of 0004 (they blanked a deleted
-- document's content key in the old tables).
DELETE FROM field_state
WHERE EXISTS (SELECT 1 FROM tombstones t WHERE t.entity = field_state.entity
                                           AND t.id = field_state.id);

INSERT INTO sync_peers(device, author)
SELECT DISTINCT substr(hlc, 23), author FROM field_state ORDER BY 1, 2;

-- The merge state of every record, built from the per-field rows; `t` is the entity's table
-- (NULL for an unknown entity), and a field is held in a column when the table has one of its
-- name.
CREATE TEMP TABLE moved AS
WITH tables(entity, t) AS (VALUES ('profile', 'profile'), ('medication', 'medications'),
                                  ('dose', 'dose_log'), ('vault_document', 'vault_documents'),
                                  ('timeline_event', 'timeline_event')),
numbered AS (
    SELECT f.entity, f.id, f.field, f.value, tables.t,
           json_array(substr(f.hlc, 1, 21),
                      (SELECT p.n FROM sync_peers p
                       WHERE p.device = substr(f.hlc, 23) AND p.author = f.author)) AS clock,
           row_number() OVER (PARTITION BY f.entity, f.id ORDER BY f.field) - 1 AS n,
           EXISTS (SELECT 1 FROM pragma_table_info(tables.t) c WHERE c.name = f.field) AS in_column
    FROM field_state f LEFT JOIN tables USING (entity))
SELECT entity, id, t,
       json_object(
           'c', json_group_array(json(clock) ORDER BY n),
           'f', json_group_object(field, CASE
               WHEN NOT in_column THEN json_array(n, 'v', json(value))
               ELSE json_array(n, CASE json_type(value)
                   WHEN 'text' THEN 's' WHEN 'integer' THEN 'i' WHEN 'real' THEN 'r'
                   WHEN 'true' THEN 'b' WHEN 'false' THEN 'b' WHEN 'null' THEN 'n'
                   ELSE 'j' END)
               END)) AS state
FROM numbered
GROUP BY entity, id;

INSERT INTO record_state(entity, id, state) SELECT entity, id, state FROM moved WHERE t IS NULL;
INSERT OR IGNORE INTO profile(id) SELECT id FROM moved WHERE t = 'profile';
INSERT OR IGNORE INTO medications(id) SELECT id FROM moved WHERE t = 'medications';
INSERT OR IGNORE INTO dose_log(id) SELECT id FROM moved WHERE t = 'dose_log';
INSERT OR IGNORE INTO vault_documents(id) SELECT id FROM moved WHERE t = 'vault_documents';
INSERT OR IGNORE INTO timeline_event(id) SELECT id FROM moved WHERE t = 'timeline_event';
UPDATE profile SET sync_state = (SELECT state FROM moved WHERE t = 'profile' AND moved.id = profile.id);
UPDATE medications SET sync_state =
    (SELECT state FROM moved WHERE t = 'medications' AND moved.id = medications.id);
UPDATE dose_log SET sync_state = (SELECT state FROM moved WHERE t = 'dose_log' AND moved.id = dose_log.id);
UPDATE vault_documents SET sync_state =
    (SELECT state FROM moved WHERE t = 'vault_documents' AND moved.id = vault_documents.id);
UPDATE timeline_event SET sync_state =
    (SELECT state FROM moved WHERE t = 'timeline_event' AND moved.id = timeline_event.id);
DROP TABLE moved;

-- Local changes waiting to be pushed: per record and transaction, the fields it changed as a
-- bitmask over the entity's declared fields (bit i for the i-th, which is column i + 1 of its
-- table here), or NULL for a delete. A push reads the fields' current merged values.
CREATE TABLE outbox_by_record (
    seq    INTEGER PRIMARY KEY,
    entity TEXT NOT NULL,
    id     TEXT NOT NULL,
    fields INTEGER
) STRICT;

WITH tables(entity, t) AS (VALUES ('profile', 'profile'), ('medication', 'medications'),
                                  ('dose', 'dose_log'), ('vault_document', 'vault_documents'),
                                  ('timeline_event', 'timeline_event'))
INSERT INTO outbox_by_record(entity, id, fields)
SELECT o.entity, o.id,
       CASE WHEN o.field IS NULL THEN NULL
            ELSE coalesce((SELECT 1 << (c.cid - 1) FROM pragma_table_info(tables.t) c
                           WHERE c.name = o.field), 0) END
FROM outbox o LEFT JOIN tables USING (entity)
ORDER BY o.seq;

DROP TRIGGER vault_shred_on_delete;
DROP TABLE field_state;
DROP TABLE outbox;
ALTER TABLE outbox_by_record RENAME TO outbox;

-- The timeline gets a stable integer rowid (VACUUM may renumber implicit rowids) and a
-- contentless full-text index that record/ fills once per transaction, instead of per-row
-- triggers: FTS5 writes its pending entries to disk whenever a statement opens a savepoint, so
-- per-row triggers inside a batch wrote one tiny index segment per event and merged them over
-- and over.
DROP TRIGGER timeline_event_fts_insert;
DROP TRIGGER timeline_event_fts_delete;
DROP TRIGGER timeline_event_fts_update;
DROP TABLE timeline_fts;

CREATE TABLE timeline_event_v2 (
    rid             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    kind            TEXT,
    occurred_at     INTEGER,
    recorded_zone   TEXT,
    ends_at         INTEGER,
    title           TEXT,
    body            TEXT,
    tags            TEXT,
    payload         TEXT,
    clinician_grade INTEGER,
    medication_ids  TEXT,
    document_ids    TEXT,
    sync_state      TEXT
) STRICT;

INSERT INTO timeline_event_v2(id, kind, occurred_at, recorded_zone, ends_at, title, body, tags,
                              payload, clinician_grade, medication_ids, document_ids, sync_state)
SELECT id, kind, occurred_at, recorded_zone, ends_at, title, body, tags,
       payload, clinician_grade, medication_ids, document_ids, sync_state
FROM timeline_event ORDER BY rowid;

DROP TABLE timeline_event;
ALTER TABLE timeline_event_v2 RENAME TO timeline_event;

CREATE INDEX timeline_event_time ON timeline_event(occurred_at, id);
CREATE INDEX timeline_event_kind_time ON timeline_event(kind, occurred_at, id);

-- Titles, text and tags; unicode61 with remove_diacritics 2 folds case and accents, so "fievre"
-- finds "Fièvre". Contentless: the text lives once, in timeline_event, and queries join back by
-- rowid; contentless_delete lets an entry be dropped by rowid alone.
CREATE VIRTUAL TABLE timeline_fts USING fts5(
    title, body, tags,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO timeline_fts(rowid, title, body, tags)
SELECT rid, title, body, tags FROM timeline_event;

-- Each transaction writes one index segment; merge them 8 at a time instead of FTS5's default 4,
-- which halves the merge work of a batch import and leaves queries a few more segments to read.
INSERT INTO timeline_fts(timeline_fts, rank) VALUES ('automerge', 8);
