-- The document vault (see core/src/vault/ and docs/adr/0002-vault-content-encryption.md).

-- Document metadata, projected from the field-change log (entity `vault_document`).
-- `content_file` names the encrypted content file `vault/<content_file>.age` (a random id, never
-- anything the person typed); `content_key` is the age X25519 identity that decrypts it.
-- `tags` and `linked_events` are JSON arrays of text; `document_date` is a civil date
-- (YYYY-MM-DD); `imported_at` an RFC 3339 instant.
CREATE TABLE vault_documents (
    id            TEXT PRIMARY KEY,
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
    content_key   TEXT
) STRICT;

CREATE INDEX vault_documents_by_kind ON vault_documents(kind);
CREATE INDEX vault_documents_by_date ON vault_documents(document_date);

-- Local only, not synced: a keyed BLAKE3 hash of each document's plaintext, for duplicate
-- detection and `verify`. The key is a per-store secret in `meta`, so the table reveals nothing
-- about the content to someone without the database key. `content_file` says which version
-- of the content the fingerprint was taken of.
CREATE TABLE vault_fingerprints (
    document_id  TEXT PRIMARY KEY,
    content_file TEXT NOT NULL,
    fingerprint  TEXT NOT NULL
) STRICT;

CREATE INDEX vault_fingerprints_by_fingerprint ON vault_fingerprints(fingerprint);

-- Full-text search over title, notes and tags, kept in step with vault_documents by triggers.
CREATE VIRTUAL TABLE vault_search USING fts5(
    document_id UNINDEXED,
    title,
    notes,
    tags,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER vault_documents_search_insert AFTER INSERT ON vault_documents BEGIN
    INSERT INTO vault_search(document_id, title, notes, tags)
    VALUES (NEW.id, coalesce(NEW.title, ''), coalesce(NEW.notes, ''), coalesce(NEW.tags, ''));
END;

CREATE TRIGGER vault_documents_search_update AFTER UPDATE OF title, notes, tags ON vault_documents
BEGIN
    DELETE FROM vault_search WHERE document_id = OLD.id;
    INSERT INTO vault_search(document_id, title, notes, tags)
    VALUES (NEW.id, coalesce(NEW.title, ''), coalesce(NEW.notes, ''), coalesce(NEW.tags, ''));
END;

CREATE TRIGGER vault_documents_removed AFTER DELETE ON vault_documents BEGIN
    DELETE FROM vault_search WHERE document_id = OLD.id;
    DELETE FROM vault_fingerprints WHERE document_id = OLD.id;
END;

-- Crypto-shredding: once a document is deleted its content key must exist nowhere in the
-- database. The projection row goes with the tombstone; these triggers also blank the key in
-- the merged field state and in unsent outbox entries, including a key that arrives from
-- another device after the delete. Every replica applies the same rule, so they stay equal.
CREATE TRIGGER vault_shred_on_delete AFTER INSERT ON tombstones
WHEN NEW.entity = 'vault_document' BEGIN
    UPDATE field_state SET value = 'null'
    WHERE entity = 'vault_document' AND id = NEW.id AND field = 'content_key';
    UPDATE outbox SET value = 'null'
    WHERE entity = 'vault_document' AND id = NEW.id AND field = 'content_key';
END;

CREATE TRIGGER vault_shred_late_key_insert AFTER INSERT ON field_state
WHEN NEW.entity = 'vault_document' AND NEW.field = 'content_key' AND NEW.value <> 'null'
    AND EXISTS (SELECT 1 FROM tombstones t WHERE t.entity = NEW.entity AND t.id = NEW.id)
BEGIN
    UPDATE field_state SET value = 'null'
    WHERE entity = NEW.entity AND id = NEW.id AND field = NEW.field;
END;

CREATE TRIGGER vault_shred_late_key_update AFTER UPDATE OF value ON field_state
WHEN NEW.entity = 'vault_document' AND NEW.field = 'content_key' AND NEW.value <> 'null'
    AND EXISTS (SELECT 1 FROM tombstones t WHERE t.entity = NEW.entity AND t.id = NEW.id)
BEGIN
    UPDATE field_state SET value = 'null'
    WHERE entity = NEW.entity AND id = NEW.id AND field = NEW.field;
END;

CREATE TRIGGER vault_shred_late_key_outbox AFTER INSERT ON outbox
WHEN NEW.entity = 'vault_document' AND NEW.field = 'content_key' AND NEW.value <> 'null'
    AND EXISTS (SELECT 1 FROM tombstones t WHERE t.entity = NEW.entity AND t.id = NEW.id)
BEGIN
    UPDATE outbox SET value = 'null' WHERE seq = NEW.seq;
END;
