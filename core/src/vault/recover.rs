//! Cleaning up after an interrupted import, replace or delete.
//!
//! Content is always made durable before the metadata that refers to it is committed, and a
//! delete commits its tombstone before the file goes, so after any crash the only possible
//! leftovers are files: temporary ones in `vault/tmp/`, and content files no document refers to.
//! Metadata without content cannot arise from a crash.

use std::path::Path;

use rusqlite::Connection;

use super::content;
use super::layout::{TMP_DIR, is_content_file_id};
use super::lock::VaultLock;
use crate::error::Result;
use crate::store::VAULT_DIR;

/// Removes temporary files, content files an interrupted operation noted as pending that no
/// document refers to, and the temporary files of exports that were cut short — only while holding the vault lock exclusively, so nothing another
/// process is still writing is taken for an orphan. When another process holds the lock, this
/// does nothing: the leftovers are still there to remove next time.
pub(crate) fn recover(conn: &Connection, store_dir: &Path) -> Result<()> {
    let vault = store_dir.join(VAULT_DIR);
    if !vault.is_dir() {
        return Ok(());
    }
    let Some(_lock) = VaultLock::try_exclusive(&vault)? else {
        return Ok(());
    };
    remove_export_partials(conn)?;
    let tmp = vault.join(TMP_DIR);
    if tmp.is_dir() {
        for entry in std::fs::read_dir(&tmp)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                std::fs::remove_file(entry.path())?;
            }
        }
        content::sync_dir(&tmp)?;
    }
    // Only content files noted as pending are ever removed: an interrupted import, replace or
    // delete noted its file before the rename or in the commit that dropped it. A file no
    // document refers to that is not noted is kept: its metadata may be in a commit this
    // database lost (a -wal gone missing beside it), and removing it would lose the document.
    let pending: Vec<String> = {
        let mut stmt = conn.prepare("SELECT file_id FROM vault_pending_files")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut removed = false;
    for file_id in pending {
        let referenced: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM vault_documents WHERE content_file = ?1)",
            [&file_id],
            |r| r.get(0),
        )?;
        if is_content_file_id(&file_id) && !referenced {
            match std::fs::remove_file(vault.join(format!("{file_id}.age"))) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        conn.execute(
            "DELETE FROM vault_pending_files WHERE file_id = ?1",
            [&file_id],
        )?;
    }
    if removed {
        content::sync_dir(&vault)?;
    }
    Ok(())
}

/// Removes what exports killed before their rename left beside their destinations: plaintext.
fn remove_export_partials(conn: &Connection) -> Result<()> {
    let paths: Vec<String> = {
        let mut stmt = conn.prepare("SELECT path FROM vault_pending_exports")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for noted in paths {
        let path = Path::new(&noted);
        // Only a name of the form exports give is ever removed.
        if content::is_export_partial(path) {
            match std::fs::remove_file(path) {
                Ok(()) => {
                    if let Some(dir) = path.parent() {
                        content::sync_dir(dir)?;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                // The destination's folder may be gone or unreadable now; the note stays.
                Err(_) => continue,
            }
        }
        conn.execute(
            "DELETE FROM vault_pending_exports WHERE path = ?1",
            [&noted],
        )?;
    }
    Ok(())
}
