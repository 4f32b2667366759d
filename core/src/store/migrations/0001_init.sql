-- Store identity and the hybrid logical clock's last issued value.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- The field-change log's merged state: the winning value of every field of every record.
-- `value` is canonical JSON; `hlc` orders writes (see record/hlc.rs).
CREATE TABLE field_state (
    entity TEXT NOT NULL,
    id     TEXT NOT NULL,
    field  TEXT NOT NULL,
    value  TEXT NOT NULL,
    hlc    TEXT NOT NULL,
    author TEXT NOT NULL,
    PRIMARY KEY (entity, id, field)
) STRICT, WITHOUT ROWID;

-- Deleted records. A tombstone is permanent: no later or concurrent edit brings the record back.
CREATE TABLE tombstones (
    entity TEXT NOT NULL,
    id     TEXT NOT NULL,
    hlc    TEXT NOT NULL,
    author TEXT NOT NULL,
    PRIMARY KEY (entity, id)
) STRICT, WITHOUT ROWID;

-- Local changes waiting to be pushed. `field` and `value` are NULL for a delete.
CREATE TABLE outbox (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id TEXT NOT NULL UNIQUE,
    entity    TEXT NOT NULL,
    id        TEXT NOT NULL,
    field     TEXT,
    value     TEXT,
    hlc       TEXT NOT NULL,
    author    TEXT NOT NULL
) STRICT;

-- The patient's profile (one row). Domain columns are nullable: fields of a record may arrive
-- from another device one at a time.
CREATE TABLE profile (
    id             TEXT PRIMARY KEY,
    display_name   TEXT,
    home_time_zone TEXT
) STRICT;
