-- What a patient deletes is erased (docs/adr/0005). FTS5 by default records a delete as a marker
-- in a new index segment and leaves the deleted row's terms in the older segments until a merge
-- happens to reach them, so a removed event's or document's words stayed readable in the index.
-- With secure-delete, a delete removes the row's terms from the segments that hold them.
--
-- The timeline's contentless index could only drop a row by rowid (contentless_delete), which
-- hides it and leaves its terms in place. It is rebuilt as a contentless index whose entries
-- are dropped with the text they were indexed with (record/ reads it before the row changes),
-- which secure-delete needs to remove them; rebuilding also leaves none of the old segments.
-- The old index's pages are zeroed as they are freed: the store runs with secure_delete on.
DROP TABLE timeline_fts;
CREATE VIRTUAL TABLE timeline_fts USING fts5(
    title, body, tags,
    content = '',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO timeline_fts(timeline_fts, rank) VALUES ('secure-delete', 1);
INSERT INTO timeline_fts(timeline_fts, rank) VALUES ('automerge', 8);
INSERT INTO timeline_fts(rowid, title, body, tags)
SELECT rid, title, body, tags FROM timeline_event;

-- The vault's index keeps its own copy of the text, so it can drop a row's terms itself once
-- secure-delete is on; merging every segment into one drops those deleted before this version.
INSERT INTO vault_search(vault_search, rank) VALUES ('secure-delete', 1);
INSERT INTO vault_search(vault_search) VALUES ('optimize');

-- Local only, not synced: the temporary files of document exports under way. An export writes
-- plaintext beside its destination before renaming it into place; one killed before the rename
-- leaves that file behind, so its path is noted here first and the file removed on the next
-- open if it is still there.
CREATE TABLE vault_pending_exports (
    path TEXT PRIMARY KEY
) STRICT;

-- Local only, not synced: content files between their rename into the vault and the commit
-- that refers to them, and between the commit that drops them and their removal. Only files
-- noted here are ever taken for abandoned: a content file no document refers to may belong to
-- a commit this database lost (a -wal gone missing), and is kept.
CREATE TABLE vault_pending_files (
    file_id TEXT PRIMARY KEY
) STRICT;

-- A document's content file is no longer wanted once its record is deleted or points at another
-- file, whether the change was made here or arrived from another device.
CREATE TRIGGER vault_documents_content_dropped AFTER DELETE ON vault_documents
WHEN OLD.content_file IS NOT NULL BEGIN
    INSERT OR IGNORE INTO vault_pending_files(file_id) VALUES (OLD.content_file);
END;

CREATE TRIGGER vault_documents_content_replaced AFTER UPDATE OF content_file ON vault_documents
WHEN OLD.content_file IS NOT NULL AND OLD.content_file IS NOT NEW.content_file BEGIN
    INSERT OR IGNORE INTO vault_pending_files(file_id) VALUES (OLD.content_file);
END;
