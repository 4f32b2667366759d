//! The store directory on disk: what counts as a trace of a store, what a database file must
//! look like before a key is tried on it, and the permissions everything is kept at.
//!
//! An empty file accepts any SQLCipher key, so a zero-byte `cairn.db` would "open" with any
//! passphrase as a new, empty store — and the vault's clean-up would then see every document as
//! unreferenced. Opening therefore checks the file first and never creates one.

use std::fs;
use std::io::Read;
use std::path::Path;

use super::{DATABASE_FILE, KDF_FILE, VAULT_DIR};
use crate::error::{Error, Result};

/// SQLCipher's page size: a database file is a whole number of pages.
pub(crate) const PAGE_SIZE: u64 = 4096;

/// What besides the database shows a store lived in `dir`: its key file, a WAL, documents.
pub(crate) fn traces(dir: &Path) -> Result<Vec<&'static str>> {
    let mut found = Vec::new();
    if dir.join(KDF_FILE).exists() {
        found.push("a key file (cairn.kdf)");
    }
    let wal = dir.join(format!("{DATABASE_FILE}-wal"));
    if fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        found.push("a write-ahead log (cairn.db-wal)");
    }
    let vault = dir.join(VAULT_DIR);
    if vault.is_dir() {
        let documents = fs::read_dir(&vault)?
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().ends_with(".age"));
        if documents {
            found.push("document files (vault/)");
        }
    }
    Ok(found)
}

/// Checks that `dir` holds a database file a key can be tried on. `key_stored`: the platform
/// key store holds a key for this store, itself a trace of one.
pub(crate) fn check_database(dir: &Path, key_stored: bool) -> Result<()> {
    let db = dir.join(DATABASE_FILE);
    let incomplete = |what: &str| -> Result<()> {
        let mut found = traces(dir)?;
        if key_stored {
            found.push("a key in the key store");
        }
        if found.is_empty() && what == "is missing" {
            return Err(Error::NotFound { entity: "store" });
        }
        let found = if found.is_empty() {
            String::new()
        } else {
            format!(", but {} remain", found.join(", "))
        };
        Err(Error::Incomplete {
            missing: format!("its database (cairn.db) {what}{found}"),
        })
    };
    let meta = match fs::metadata(&db) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return incomplete("is missing"),
        Err(e) => return Err(Error::Io(e)),
    };
    if !meta.is_file() {
        return Err(Error::Corrupt("cairn.db is not a file".into()));
    }
    if meta.len() == 0 {
        return incomplete("is empty");
    }
    // SQLite writes whole pages: no database this build wrote has another length, and a key
    // that opens the first page would only meet the cut at some later read.
    if !meta.len().is_multiple_of(PAGE_SIZE) {
        return Err(Error::Corrupt(
            "the database file is cut short (not a whole number of pages)".into(),
        ));
    }
    Ok(())
}

/// Why a database file no key opened cannot be a Cairn database, when the file says so: it is
/// cut short, its first page is zeroed, or it is another kind of file. `None` when it looks like
/// any encrypted database (then the key is wrong, or the damage is of a kind only the key
/// could show). Only asked after the key failed: a real store's random salt could begin with
/// any bytes, so a guess from them alone must never refuse a key that works.
pub(crate) fn why_unopenable(db: &Path) -> Result<Option<String>> {
    let mut first = Vec::with_capacity(PAGE_SIZE as usize);
    fs::File::open(db)?
        .take(PAGE_SIZE)
        .read_to_end(&mut first)?;
    if let Some(kind) = foreign_kind(&first) {
        return Ok(Some(format!(
            "cairn.db is not a Cairn database: it is {kind}"
        )));
    }
    if first.iter().all(|b| *b == 0) {
        return Ok(Some("the database's first page is zeroed".into()));
    }
    Ok(None)
}

/// What a file that is not an encrypted database looks like, when its first bytes say so. An
/// SQLCipher file begins with a random salt, so none of these can be one.
fn foreign_kind(first: &[u8]) -> Option<&'static str> {
    const KINDS: &[(&[u8], &str)] = &[
        (b"SQLite format 3\0", "a plain, unencrypted SQLite database"),
        (b"%PDF-", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"age-encryption.org/", "an age-encrypted file"),
        (b"\x1f\x8b\x08", "a gzip archive"),
    ];
    KINDS
        .iter()
        .find(|(magic, _)| first.starts_with(magic))
        .map(|(_, kind)| *kind)
}

/// Creates `dir` (and its parents) and makes it readable by this user only.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir)?;
    set_mode(dir, 0o700)
}

/// Creates an empty file readable by this user only; fails if it exists.
pub(crate) fn create_private_file(path: &Path) -> Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    Ok(options.open(path)?)
}

/// Brings an existing store's permissions to what this build creates: the directory and the
/// vault's 0700, the database, its WAL and the key file 0600 (stores made by older builds took
/// the umask's 0755 and 0644).
pub(crate) fn make_private(dir: &Path) -> Result<()> {
    set_mode(dir, 0o700)?;
    for name in [DATABASE_FILE, "cairn.db-wal", "cairn.db-shm", KDF_FILE] {
        let path = dir.join(name);
        if path.is_file() {
            set_mode(&path, 0o600)?;
        }
    }
    let vault = dir.join(VAULT_DIR);
    if vault.is_dir() {
        set_mode(&vault, 0o700)?;
    }
    Ok(())
}

/// Sets a path's permission bits, where the platform has them, unless they are already so.
pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(path)?;
        if meta.permissions().mode() & 0o777 != mode {
            fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}
