-- The relay's tables. Ids are text as the protocol spells them; structures the relay hands back
-- as they came (records, certificates, entries, envelopes, heads) are kept as their CBOR.

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    record BLOB NOT NULL
) STRICT;

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES accounts (id),
    cert BLOB NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    last_seen_ms INTEGER
) STRICT;
CREATE INDEX devices_by_account ON devices (account);

-- A challenge is deleted when it is answered: single use.
CREATE TABLE challenges (
    nonce BLOB PRIMARY KEY,
    device TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
) STRICT;

-- Tokens by their BLAKE3 hash: a copy of this file grants nothing.
CREATE TABLE tokens (
    hash BLOB PRIMARY KEY,
    device TEXT NOT NULL REFERENCES devices (id),
    expires_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX tokens_by_device ON tokens (device);

-- last_seq is the space sequence's high-water mark, raised in the push's transaction.
CREATE TABLE spaces (
    id TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL DEFAULT 0,
    envelopes INTEGER NOT NULL DEFAULT 0,
    envelope_bytes INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE ledger (
    space TEXT NOT NULL REFERENCES spaces (id),
    idx INTEGER NOT NULL,
    entry BLOB NOT NULL,
    PRIMARY KEY (space, idx)
) STRICT, WITHOUT ROWID;

CREATE TABLE envelopes (
    space TEXT NOT NULL REFERENCES spaces (id),
    seq INTEGER NOT NULL,
    device TEXT NOT NULL,
    device_seq INTEGER NOT NULL,
    link BLOB NOT NULL,
    envelope BLOB NOT NULL,
    PRIMARY KEY (space, seq)
) STRICT;
CREATE UNIQUE INDEX envelopes_by_device ON envelopes (space, device, device_seq);

-- Each device's newest batch in a space: where its chain continues, and its signed head.
CREATE TABLE heads (
    space TEXT NOT NULL REFERENCES spaces (id),
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    link BLOB NOT NULL,
    head BLOB NOT NULL,
    PRIMARY KEY (space, device)
) STRICT, WITHOUT ROWID;

CREATE TABLE blobs (
    space TEXT NOT NULL REFERENCES spaces (id),
    hash BLOB NOT NULL,
    received INTEGER NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (space, hash)
) STRICT, WITHOUT ROWID;

CREATE TABLE link_slots (
    slot TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE link_messages (
    slot TEXT NOT NULL REFERENCES link_slots (slot) ON DELETE CASCADE,
    side INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (slot, side, idx)
) STRICT, WITHOUT ROWID;
