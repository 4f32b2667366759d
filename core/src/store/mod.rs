//! The encrypted SQLite (SQLCipher) store: opening, keying, migrations, key rotation.
//!
//! A store is a directory: `cairn.db` (+ `-wal`/`-shm` while open), `cairn.kdf` when protected by a
//! passphrase, and `vault/` for document content. Every byte of the database files is encrypted
//! with a 256-bit key; see [`key`] for where the key comes from.

pub mod key;
pub(crate) mod migrations;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::record::hlc::{DeviceId, Hlc};
use key::{DATABASE_KEY_NAME, KdfFile, KdfSlot, NEXT_DATABASE_KEY_NAME};
pub use key::{DatabaseKey, KdfParams, KeyStore, MemoryKeyStore, Unlock};
pub use migrations::SCHEMA_VERSION;

/// The database file's name inside the store directory.
pub const DATABASE_FILE: &str = "cairn.db";
/// The passphrase parameters file's name inside the store directory.
pub const KDF_FILE: &str = "cairn.kdf";

/// An open, unlocked store.
pub struct Store {
    pub(crate) conn: Connection,
    dir: PathBuf,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) device: DeviceId,
    pub(crate) account: String,
    /// The last timestamp this device issued; persisted in `meta` with every write.
    pub(crate) hlc: RefCell<Hlc>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

/// What `cairn status` and the apps' settings screen show.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StoreStatus {
    /// The schema version (`PRAGMA user_version`).
    pub schema_version: u32,
    /// This device's id.
    pub device_id: String,
    /// Live (not deleted) records of every kind.
    pub record_count: u64,
    /// Local changes not yet pushed.
    pub outbox_count: u64,
}

impl Store {
    /// Creates a new store in `dir` (created if missing). Fails if a store is already there.
    pub fn create(dir: &Path, unlock: Unlock<'_>, clock: Arc<dyn Clock>) -> Result<Self> {
        let db = dir.join(DATABASE_FILE);
        if db.exists() {
            return Err(Error::invalid(
                "data directory",
                "a store already exists there",
            ));
        }
        std::fs::create_dir_all(dir)?;
        let key = match unlock {
            Unlock::KeyStore(ks) => {
                let key = DatabaseKey::generate();
                // Saved before the database exists: if the key store refuses, nothing is created.
                ks.save(DATABASE_KEY_NAME, key.as_bytes())?;
                key
            }
            Unlock::Passphrase(pass) => {
                check_passphrase(pass)?;
                let slot = KdfSlot::new(KdfParams::default());
                let key = slot.derive(pass)?;
                KdfFile {
                    version: 1,
                    current: slot,
                    next: None,
                }
                .write(&dir.join(KDF_FILE))?;
                key
            }
        };
        let conn = open_keyed(
            &db,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            &key,
        )?;
        Self::finish_open(conn, dir, clock)
    }

    /// Opens the existing store in `dir`.
    ///
    /// A wrong key or passphrase gives [`Error::WrongKey`] and leaves every file as it was.
    pub fn open(dir: &Path, unlock: Unlock<'_>, clock: Arc<dyn Clock>) -> Result<Self> {
        let db = dir.join(DATABASE_FILE);
        if !db.is_file() {
            return Err(Error::NotFound { entity: "store" });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = match unlock {
            Unlock::KeyStore(ks) => {
                let current = ks
                    .load(DATABASE_KEY_NAME)?
                    .ok_or(Error::Locked("no key for this store in the key store"))?;
                match open_keyed(&db, flags, &DatabaseKey::from_bytes(&current)?) {
                    Err(Error::WrongKey) => {
                        // A rotation may have been cut short after the rekey.
                        let next = ks.load(NEXT_DATABASE_KEY_NAME)?.ok_or(Error::WrongKey)?;
                        let next = DatabaseKey::from_bytes(&next)?;
                        let conn = open_keyed(&db, flags, &next)?;
                        ks.save(DATABASE_KEY_NAME, next.as_bytes())?;
                        conn
                    }
                    other => other?,
                }
            }
            Unlock::Passphrase(pass) => {
                let kdf_path = dir.join(KDF_FILE);
                let mut kdf = KdfFile::read(&kdf_path)?;
                match open_keyed(&db, flags, &kdf.current.derive(pass)?) {
                    Err(Error::WrongKey) => {
                        let next = kdf.next.clone().ok_or(Error::WrongKey)?;
                        let conn = open_keyed(&db, flags, &next.derive(pass)?)?;
                        kdf.current = next;
                        kdf.next = None;
                        kdf.write(&kdf_path)?;
                        conn
                    }
                    other => other?,
                }
            }
        };
        Self::finish_open(conn, dir, clock)
    }

    /// BENCHMARK ONLY: a store whose database is plain, unencrypted SQLite, so benchmarks can
    /// measure SQLCipher's overhead against the same workload. Never reachable from the CLI or
    /// the FFI; nothing but `core/benches/` may call it.
    #[doc(hidden)]
    pub fn create_unencrypted_for_bench(dir: &Path, clock: Arc<dyn Clock>) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let conn = Connection::open(dir.join(DATABASE_FILE))?;
        Self::finish_open(conn, dir, clock)
    }

    fn finish_open(conn: Connection, dir: &Path, clock: Arc<dyn Clock>) -> Result<Self> {
        // WAL lets readers run beside the writer; FULL sync because a dose logged must survive a
        // power cut, not only an app crash.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // 8 MiB of decrypted pages (SQLite's default is 2 MiB): a page read past the cache is
        // decrypted and HMAC-checked again, which searches over a long timeline would repeat.
        conn.pragma_update(None, "cache_size", -8192)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // record/ caches one upsert per (table, set of fields written): room for all of them.
        conn.set_prepared_statement_cache_capacity(256);
        migrations::migrate(&conn)?;
        crate::vault::recover(&conn, dir)?;

        let device = match meta_get(&conn, "device_id")? {
            Some(d) => DeviceId::parse(&d)?,
            None => {
                let d = DeviceId::generate();
                meta_set(&conn, "device_id", d.as_str())?;
                d
            }
        };
        let account = match meta_get(&conn, "account_id")? {
            Some(a) => a,
            None => {
                let a = crate::record::new_id();
                meta_set(&conn, "account_id", &a)?;
                a
            }
        };
        let hlc = match meta_get(&conn, "hlc")? {
            Some(h) => Hlc::parse(&h)?,
            None => Hlc::zero(device.clone()),
        };
        Ok(Self {
            conn,
            dir: dir.to_path_buf(),
            clock,
            device,
            account,
            hlc: RefCell::new(hlc),
        })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The injected clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// This device's id.
    pub fn device_id(&self) -> &DeviceId {
        &self.device
    }

    /// The id of the account that owns this store; the author of its local changes.
    pub fn account_id(&self) -> &str {
        &self.account
    }

    /// Schema version, device id and counts.
    pub fn status(&self) -> Result<StoreStatus> {
        let schema_version: u32 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        let record_count = crate::record::live_records(&self.conn)?;
        let outbox_count: i64 = self
            .conn
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?;
        Ok(StoreStatus {
            schema_version,
            device_id: self.device.as_str().to_owned(),
            record_count,
            outbox_count: outbox_count as u64,
        })
    }

    /// Runs SQLCipher's page-level HMAC check and SQLite's structural check.
    /// Returns the problems found; empty means healthy.
    pub fn check_integrity(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let mut stmt = self.conn.prepare("PRAGMA cipher_integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        for row in rows {
            problems.push(row?);
        }
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        for row in rows {
            let row = row?;
            if row != "ok" {
                problems.push(row);
            }
        }
        Ok(problems)
    }

    /// Changes the passphrase. Crash-safe: the new derivation is written first as `next`, the
    /// database is re-encrypted in one transaction, then `next` becomes `current`.
    pub fn change_passphrase(&self, old: &str, new: &str) -> Result<()> {
        check_passphrase(new)?;
        let kdf_path = self.dir.join(KDF_FILE);
        let mut kdf = KdfFile::read(&kdf_path)?;
        // Proves the caller knows the old passphrase, not only that they hold an open store.
        let old_key = kdf.current.derive(old)?;
        self.verify_key(&old_key)?;
        let slot = KdfSlot::new(KdfParams::default());
        let new_key = slot.derive(new)?;
        kdf.next = Some(slot.clone());
        kdf.write(&kdf_path)?;
        self.rekey(&new_key)?;
        kdf.current = slot;
        kdf.next = None;
        kdf.write(&kdf_path)
    }

    /// Replaces the raw key held by the platform key store with a fresh one.
    pub fn rotate_key(&self, key_store: &dyn KeyStore) -> Result<()> {
        let new_key = DatabaseKey::generate();
        key_store.save(NEXT_DATABASE_KEY_NAME, new_key.as_bytes())?;
        self.rekey(&new_key)?;
        key_store.save(DATABASE_KEY_NAME, new_key.as_bytes())
    }

    fn verify_key(&self, key: &DatabaseKey) -> Result<()> {
        open_keyed(
            &self.dir.join(DATABASE_FILE),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            key,
        )
        .map(drop)
    }

    fn rekey(&self, key: &DatabaseKey) -> Result<()> {
        // Fold the WAL into the main file first so every page is re-encrypted by the rekey.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        self.conn
            .pragma_update(None, "rekey", &*key.pragma_value())?;
        Ok(())
    }

    /// Closes the database, checkpointing the WAL into the encrypted main file.
    pub fn close(self) -> Result<()> {
        self.conn.close().map_err(|(_, e)| Error::Storage(e))
    }
}

/// Words a guesser would try first against a Cairn store.
const PASSPHRASE_CONTEXT: &[&str] = &["cairn", "passphrase", "health", "journey"];

/// A new passphrase must be at least 8 characters and get zxcvbn's top score, 4 of 4: an
/// estimated 10^10 guesses or more. A stolen database can be attacked offline for as long as the
/// thief likes, and a score-3 passphrase such as `correct horse` (about 10^8 guesses) would fall
/// in hours even at the 10^4 guesses a second a slow hash allows; `password`, `12345678` and
/// repeats score 0. The reason passes on zxcvbn's warning and suggestions, fixed sentences that
/// never quote the passphrase. Opening an existing store never checks strength: a store made
/// under older rules still opens.
fn check_passphrase(pass: &str) -> Result<()> {
    if pass.chars().count() < 8 {
        return Err(Error::invalid(
            "passphrase",
            "must be at least 8 characters",
        ));
    }
    let estimate = zxcvbn::zxcvbn(pass, PASSPHRASE_CONTEXT);
    if estimate.score() < zxcvbn::Score::Four {
        let mut reason = String::from("too easy to guess.");
        let feedback = estimate.feedback();
        if let Some(warning) = feedback.and_then(|f| f.warning()) {
            reason.push_str(&format!(" {warning}"));
        }
        match feedback.map(|f| f.suggestions()).unwrap_or_default() {
            [] => reason.push_str(" Add another word or two. Uncommon words are better."),
            suggestions => {
                for suggestion in suggestions {
                    reason.push_str(&format!(" {suggestion}"));
                }
            }
        }
        return Err(Error::invalid("passphrase", reason));
    }
    Ok(())
}

/// Opens the database, keys the connection and proves the key by reading the schema.
///
/// `PRAGMA key` never fails by itself: a wrong key shows on the first read. Nothing is written
/// before that read succeeds, so a wrong key leaves the files byte-for-byte as they were.
///
/// Pages are authenticated with HMAC-SHA256 (ADR 0005): hardware-accelerated on every ARMv8
/// phone and on x86 with SHA extensions, where SQLCipher's default HMAC-SHA512 is not. Stores
/// created with the default still open: their pages fail the SHA-256 check and are tried with
/// SHA-512, on a connection of its own (SQLCipher keeps a failed read's state), before the key
/// is called wrong.
fn open_keyed(db: &Path, flags: OpenFlags, key: &DatabaseKey) -> Result<Connection> {
    for hmac in [PAGE_HMAC, LEGACY_PAGE_HMAC] {
        let conn = Connection::open_with_flags(db, flags)?;
        // SQLCipher would otherwise print its own errors to stderr; callers get one typed error.
        conn.query_row("PRAGMA cipher_log_level = NONE", [], |_| Ok(()))
            .optional()?;
        conn.pragma_update(None, "key", &*key.pragma_value())?;
        conn.pragma_update(None, "cipher_hmac_algorithm", hmac)?;
        match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        }) {
            Ok(_) => return Ok(conn),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::NotADatabase => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::WrongKey)
}

/// The page HMAC of stores this build creates.
const PAGE_HMAC: &str = "HMAC_SHA256";
/// SQLCipher 4's default, which stores created before ADR 0005 use.
const LEGACY_PAGE_HMAC: &str = "HMAC_SHA512";

pub(crate) fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

pub(crate) fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
