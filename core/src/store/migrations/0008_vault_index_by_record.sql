-- The vault's full-text index is kept by record/, like the timeline's (docs/adr/0003, 0005),
-- instead of by triggers: one place keeps every index, and an import's index entry is written
-- once per transaction rather than at each statement. The index becomes contentless (the text
-- lives once, in vault_documents) and joins back by rowid, so the table gets a stable
-- INTEGER PRIMARY KEY that VACUUM cannot renumber.
--
-- DROP TABLE fires no trigger, so moving the rows marks no content file as unwanted; the
-- local-only triggers are created again on the new table. The old index's pages are zeroed as
-- they are freed (secure_delete is on).
DROP TABLE vault_search;

CREATE TABLE vault_documents_v2 (
    rid           INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    title         TEXT,
    kind          TEXT,
    document_date TEXT,
    tags          TEXT,
    notes         TEXT,
    content_type  TEXT,
    size          INTEGER,
    linked_events TEXT,
    imported_at   TEXT,
    content_file  TEXT,
    content_key   TEXT,
    sync_state    TEXT
) STRICT;

INSERT INTO vault_documents_v2(id, title, kind, document_date, tags, notes, content_type, size,
                               linked_events, imported_at, content_file, content_key, sync_state)
SELECT id, title, kind, document_date, tags, notes, content_type, size,
       linked_events, imported_at, content_file, content_key, sync_state
FROM vault_documents ORDER BY rowid;

DROP TABLE vault_documents;
ALTER TABLE vault_documents_v2 RENAME TO vault_documents;

CREATE INDEX vault_documents_by_kind ON vault_documents(kind);
CREATE INDEX vault_documents_by_date ON vault_documents(document_date);

CREATE TRIGGER vault_documents_removed AFTER DELETE ON vault_documents BEGIN
    DELETE FROM vault_fingerprints WHERE document_id = OLD.id;
END;

CREATE TRIGGER vault_documents_content_dropped AFTER DELETE ON vault_documents
WHEN OLD.content_file IS NOT NULL BEGIN
    INSERT OR IGNORE INTO vault_pending_files(file_id) VALUES (OLD.content_file);
END;

CREATE TRIGGER vault_documents_content_replaced AFTER UPDATE OF content_file ON vault_documents
WHEN OLD.content_file IS NOT NULL AND OLD.content_file IS NOT NEW.content_file BEGIN
    INSERT OR IGNORE INTO vault_pending_files(file_id) VALUES (OLD.content_file);
END;

-- Titles, notes and tags, folded for case and accents as before.
CREATE VIRTUAL TABLE vault_fts USING fts5(
    title, notes, tags,
    content = '',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO vault_fts(vault_fts, rank) VALUES ('secure-delete', 1);
INSERT INTO vault_fts(rowid, title, notes, tags)
SELECT rid, title, notes, tags FROM vault_documents;
