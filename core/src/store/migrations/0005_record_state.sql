-- The field-change log keeps one row per record instead of one per field, and the outbox names
-- the changed fields of a record instead of copying every change: a new timeline event is now
-- one merged-state row and one outbox row, where it was a dozen of each.

-- The merged state of each record: for every field, the winning value with the hybrid logical
-- time and author of the write that set it. `state` is JSON:
--   {"c": [[hlc, author], ...], "f": {"field": [value, index into c], ...}}
-- (see record/mod.rs, StoredState). Fields written together share one entry of "c".
CREATE TABLE record_state (
    entity TEXT NOT NULL,
    id     TEXT NOT NULL,
    state  TEXT NOT NULL,
    PRIMARY KEY (entity, id)
) STRICT, WITHOUT ROWID;

INSERT INTO record_state(entity, id, state)
SELECT entity, id,
       json_object(
           'c', json_group_array(json_array(hlc, author) ORDER BY n),
           'f', json_group_object(field, json_array(json(value), n)))
FROM (SELECT entity, id, field, value, hlc, author,
             row_number() OVER (PARTITION BY entity, id ORDER BY field) - 1 AS n
      FROM field_state)
GROUP BY entity, id;

-- Local changes waiting to be pushed: per record and transaction, the JSON array of the fields
-- it changed, or NULL for a delete. A push reads the fields' current merged values.
CREATE TABLE outbox_by_record (
    seq    INTEGER PRIMARY KEY,
    entity TEXT NOT NULL,
    id     TEXT NOT NULL,
    fields TEXT
) STRICT;

INSERT INTO outbox_by_record(entity, id, fields)
SELECT entity, id, CASE WHEN field IS NULL THEN NULL ELSE json_array(field) END
FROM outbox ORDER BY seq;

-- A deleted record now keeps nothing but its tombstone: its merged state goes with the delete,
-- and a change arriving after the delete is not stored (see record/mod.rs). That erases every
-- field of a deleted record, which subsumes the crypto-shredding triggers of 0004 (they blanked
-- a deleted document's content key in the old tables).
DROP TRIGGER vault_shred_on_delete;
DROP TABLE field_state;
DROP TABLE outbox;
ALTER TABLE outbox_by_record RENAME TO outbox;
DELETE FROM record_state
WHERE EXISTS (SELECT 1 FROM tombstones t WHERE t.entity = record_state.entity
                                           AND t.id = record_state.id);

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
    document_ids    TEXT
) STRICT;

INSERT INTO timeline_event_v2(id, kind, occurred_at, recorded_zone, ends_at, title, body, tags,
                              payload, clinician_grade, medication_ids, document_ids)
SELECT id, kind, occurred_at, recorded_zone, ends_at, title, body, tags,
       payload, clinician_grade, medication_ids, document_ids
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
