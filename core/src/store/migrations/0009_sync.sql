-- Sync: this device's part in its space. A store is one space (docs/adr/0008); what sync keeps
-- here is local to the device and never itself synced.

-- The account secret and this device's signing key, inside the encrypted database.
CREATE TABLE sync_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

-- The space's ledger, entry by entry (CBOR), each verified before it was stored. `published` is
-- 0 for an entry this device wrote that the relay has not acknowledged yet.
CREATE TABLE sync_ledger (
    idx       INTEGER PRIMARY KEY,
    entry     BLOB NOT NULL,
    published INTEGER NOT NULL
) STRICT;

-- Scope keys this device made or opened, by scope and epoch.
CREATE TABLE sync_scope_keys (
    scope TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    key   BLOB NOT NULL,
    PRIMARY KEY (scope, epoch)
) STRICT;

-- Per device of the space, the last batch of its chain applied here (for this device: the last
-- it sealed) and the newest batch number the relay has shown a signed head of.
CREATE TABLE sync_chains (
    device   TEXT PRIMARY KEY,
    seq      INTEGER NOT NULL,
    link     BLOB NOT NULL,
    seen_seq INTEGER NOT NULL
) STRICT;

-- This device's sealed batches the relay has not acknowledged: pushed again, byte for byte,
-- until it has. The last batch of a sealing carries the outbox position it empties up to;
-- `changes` counts what a batch carries, for the sync's report.
CREATE TABLE sync_pending (
    seq          INTEGER PRIMARY KEY,
    envelope     BLOB NOT NULL,
    outbox_up_to INTEGER,
    changes      INTEGER NOT NULL
) STRICT;

-- Content blobs this device has uploaded whole (by BLAKE3 of the content file), so a sync does
-- not send them again.
CREATE TABLE sync_blob_uploads (
    hash TEXT PRIMARY KEY
) STRICT;

-- A document names the blob of its content file (`<content file id>/<BLAKE3 hex>`), synced like
-- its other fields: another device downloads the content by it.
ALTER TABLE vault_documents ADD COLUMN content_blob TEXT;
