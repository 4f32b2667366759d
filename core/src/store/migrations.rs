//! Numbered SQL migrations, tracked by `PRAGMA user_version`.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// Every migration in order; the schema version is the number applied.
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("migrations/0001_init.sql")),
    (
        "0002_timeline",
        include_str!("migrations/0002_timeline.sql"),
    ),
    ("0003_meds", include_str!("migrations/0003_meds.sql")),
    ("0004_vault", include_str!("migrations/0004_vault.sql")),
    (
        "0005_record_state",
        include_str!("migrations/0005_record_state.sql"),
    ),
    (
        "0006_meds_tracked_from",
        include_str!("migrations/0006_meds_tracked_from.sql"),
    ),
    (
        "0007_erase_deleted_text",
        include_str!("migrations/0007_erase_deleted_text.sql"),
    ),
    (
        "0008_vault_index_by_record",
        include_str!("migrations/0008_vault_index_by_record.sql"),
    ),
    ("0009_sync", include_str!("migrations/0009_sync.sql")),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Applies every migration newer than the database, each in its own transaction.
pub(crate) fn migrate(conn: &Connection) -> Result<()> {
    migrate_to(conn, SCHEMA_VERSION)
}

pub(crate) fn migrate_to(conn: &Connection, target: u32) -> Result<()> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(Error::invalid(
            "store",
            format!(
                "written by a newer Cairn (schema {current}, this build knows {SCHEMA_VERSION})"
            ),
        ));
    }
    for (index, (_name, sql)) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(current as usize)
    {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
