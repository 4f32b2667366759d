-- What a patient deletes is erased (docs/adr/0005). FTS5 by default records a delete as a marker
-- in a new index segment and leaves the deleted row's terms in the older segments until a merge
-- happens to reach them, so a removed event's or document's words stayed readable in the index.
-- With secure-delete, a delete removes the row's terms from the segments that hold them.
INSERT INTO timeline_fts(timeline_fts, rank) VALUES ('secure-delete', 1);
INSERT INTO vault_search(vault_search, rank) VALUES ('secure-delete', 1);

-- Terms of rows deleted before this version are still in old segments: merging every segment
-- into one drops them (the freed pages are zeroed: the store runs with secure_delete on).
INSERT INTO timeline_fts(timeline_fts) VALUES ('optimize');
INSERT INTO vault_search(vault_search) VALUES ('optimize');

-- Local only, not synced: the temporary files of document exports under way. An export writes
-- plaintext beside its destination before renaming it into place; one killed before the rename
-- leaves that file behind, so its path is noted here first and the file removed on the next
-- open if it is still there.
CREATE TABLE vault_pending_exports (
    path TEXT PRIMARY KEY
) STRICT;
