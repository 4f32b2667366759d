//! The encrypted SQLite (SQLCipher) store: opening, keying, migrations, key rotation.
//!
//! A store is a directory: `cairn.db` (+ `-wal`/`-shm` while open), `cairn.kdf` when protected by a
//! passphrase, and `vault/` for document content. Every byte of the database files is encrypted
//! with a 256-bit key; see [`key`] for where the key comes from.

mod entity;
pub mod key;
mod layout;
pub(crate) mod migrations;
#[cfg(test)]
pub(crate) mod plaintext_pages;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::hlc::{DeviceId, Hlc};
pub use entity::{Entities, EntityDef, SearchIndex};
use key::{DATABASE_KEY_NAME, KdfFile, KdfSlot, NEXT_DATABASE_KEY_NAME};
pub use key::{DatabaseKey, KdfParams, KeyStore, MemoryKeyStore, Unlock};
pub(crate) use layout::{create_private_dir, create_private_file, set_mode};
pub use migrations::SCHEMA_VERSION;

/// The database file's name inside the store directory.
pub const DATABASE_FILE: &str = "cairn.db";
/// The passphrase parameters file's name inside the store directory.
pub const KDF_FILE: &str = "cairn.kdf";
/// The directory inside the store directory that holds document content (`vault/`).
pub const VAULT_DIR: &str = "vault";

/// An open, unlocked store.
///
/// Its fields are private: `record/` and the features reach the database through the
/// crate-private accessors ([`Store::conn`], [`Store::entities`], the last issued HLC), so what
/// the floors above may touch is one short list.
pub struct Store {
    conn: Connection,
    dir: PathBuf,
    clock: Arc<dyn Clock>,
    device: DeviceId,
    account: String,
    /// The space this store holds (a store is one space: docs/adr/0008).
    space: String,
    /// The last timestamp this device issued; persisted in `meta` with every write.
    hlc: RefCell<Hlc>,
    /// The synced entities, as the composition root listed them.
    entities: Entities,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

/// How thoroughly [`Store::check`] looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CheckDepth {
    /// Every page's HMAC: one read of the database file, nothing decrypted. Cheap enough to run
    /// in the background at every launch.
    Pages,
    /// The pages, SQLite's structural check, and every vault document decrypted and compared
    /// with its size and fingerprint.
    Full,
}

/// What [`Store::check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IntegrityReport {
    /// How thoroughly the store was checked.
    pub depth: CheckDepth,
    /// Database pages checked.
    pub pages: u64,
    /// Vault documents checked (none at [`CheckDepth::Pages`]).
    pub documents: u64,
    /// One line per problem found, without patient data; empty when the store is healthy.
    pub problems: Vec<String>,
}

impl IntegrityReport {
    /// Whether nothing was found wrong.
    pub fn is_healthy(&self) -> bool {
        self.problems.is_empty()
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
    /// The database half of [`Store::create`]: keys and creates the database, for
    /// [`Store::finish_open`].
    pub(crate) fn create_database(dir: &Path, unlock: Unlock<'_>) -> Result<Connection> {
        let db = dir.join(DATABASE_FILE);
        let mut traces = layout::traces(dir)?;
        if db.exists() {
            traces.insert(0, "a database");
        }
        if let Unlock::KeyStore(ks) = unlock
            && ks.load(DATABASE_KEY_NAME)?.is_some()
        {
            traces.push("a key in the key store");
        }
        if !traces.is_empty() {
            return Err(Error::invalid(
                "data directory",
                format!(
                    "a store already exists there ({}); nothing was changed",
                    traces.join(", ")
                ),
            ));
        }
        // A refused passphrase leaves nothing behind, not even the directory.
        if let Unlock::Passphrase(pass) = unlock {
            check_passphrase(pass)?;
        }
        layout::create_private_dir(dir)?;
        let key = match unlock {
            Unlock::KeyStore(ks) => {
                let key = DatabaseKey::generate();
                // Saved before the database exists: if the key store refuses, nothing is created.
                ks.save(DATABASE_KEY_NAME, key.as_bytes())?;
                key
            }
            Unlock::Passphrase(pass) => {
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
        // Made here, readable by this user only, so SQLite opens it rather than creating it
        // with the umask's permissions (its -wal and -shm take the database file's).
        layout::create_private_file(&db)?;
        let conn = open_keyed(
            &db,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            &key,
        )?;
        Ok(conn)
    }

    /// The database half of [`Store::open`]: finds the key and opens the database, for
    /// [`Store::finish_open`].
    pub(crate) fn open_database(dir: &Path, unlock: Unlock<'_>) -> Result<Connection> {
        let db = dir.join(DATABASE_FILE);
        let stored_key = match unlock {
            Unlock::KeyStore(ks) => ks.load(DATABASE_KEY_NAME)?,
            Unlock::Passphrase(_) => None,
        };
        layout::check_database(dir, stored_key.is_some())?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = match unlock {
            Unlock::KeyStore(ks) => {
                let current =
                    stored_key.ok_or(Error::Locked("no key for this store in the key store"))?;
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
        Ok(conn)
    }

    /// Whether `dir` holds a store to open: `false` when there is no trace of one (a new store
    /// may be created there), `true` when its database file is there to try a key on, and
    /// [`Error::Incomplete`] when traces of a store remain without a usable database.
    pub fn exists_in(dir: &Path) -> Result<bool> {
        match layout::check_database(dir, false) {
            Ok(()) => Ok(true),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The database half of [`Store::create_unencrypted_for_bench`].
    pub(crate) fn create_unencrypted_database(dir: &Path) -> Result<Connection> {
        std::fs::create_dir_all(dir)?;
        Ok(Connection::open(dir.join(DATABASE_FILE))?)
    }

    /// A store on the opened database `conn` in `dir`, holding `entities`: its files made
    /// private, its connection configured, its schema migrated, its device and account known.
    pub(crate) fn finish_open(
        conn: Connection,
        dir: &Path,
        clock: Arc<dyn Clock>,
        entities: Entities,
    ) -> Result<Self> {
        layout::make_private(dir)?;
        configure(&conn)?;
        migrations::migrate(&conn)?;

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
                let a = crate::ids::new_id();
                meta_set(&conn, "account_id", &a)?;
                a
            }
        };
        let space = match meta_get(&conn, "space_id")? {
            Some(s) => s,
            None => {
                let s = crate::ids::new_id();
                meta_set(&conn, "space_id", &s)?;
                s
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
            space,
            hlc: RefCell::new(hlc),
            entities,
        })
    }

    /// The connection: `record/` writes through it, the features read through it.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Every synced entity this store holds.
    pub(crate) fn entities(&self) -> impl Iterator<Item = &'static EntityDef> + use<> {
        self.entities.iter().copied().flatten().copied()
    }

    /// The entity named `name`, if this build knows it.
    pub(crate) fn entity(&self, name: &str) -> Option<&'static EntityDef> {
        self.entities().find(|e| e.name == name)
    }

    /// The last timestamp this device issued.
    pub(crate) fn last_hlc(&self) -> Hlc {
        self.hlc.borrow().clone()
    }

    /// Notes the last timestamp issued, once the transaction that persisted it has committed.
    pub(crate) fn set_last_hlc(&self, hlc: Hlc) {
        *self.hlc.borrow_mut() = hlc;
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

    /// The id of the space this store holds: the patient's record it is a copy of.
    pub fn space_id(&self) -> &str {
        &self.space
    }

    /// Makes this store a copy of `space`, owned by `account`: a device joining an account's
    /// space adopts both. Only an empty store may (the caller checks).
    pub(crate) fn adopt_identity(&mut self, account: &str, space: &str) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        meta_set(&tx, "account_id", account)?;
        meta_set(&tx, "space_id", space)?;
        tx.commit()?;
        account.clone_into(&mut self.account);
        space.clone_into(&mut self.space);
        Ok(())
    }

    /// Schema version, device id and counts.
    pub fn status(&self) -> Result<StoreStatus> {
        let schema_version: u32 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        let record_count = self.live_records()?;
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

    /// How many records are live (not deleted), of every entity: deleted records have no row.
    fn live_records(&self) -> Result<u64> {
        let count = |table: &str| -> Result<i64> {
            Ok(self
                .conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
        };
        let mut total = count("record_state")?;
        for def in self.entities() {
            total += count(def.table)?;
        }
        Ok(u64::try_from(total).unwrap_or(0))
    }

    /// The database half of [`Store::check`]: every page's HMAC, and with [`CheckDepth::Full`]
    /// SQLite's structural check. The report counts no documents.
    pub(crate) fn check_database(&self, depth: CheckDepth) -> Result<IntegrityReport> {
        // Pages still in the WAL are checked by its own checksums; move what can be moved into
        // the main file, which is what the page check reads.
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        let pages: u64 = self
            .conn
            .pragma_query_value(None, "page_count", |r| r.get::<_, i64>(0))?
            .try_into()
            .unwrap_or(0);
        let mut problems = Vec::new();
        let mut stmt = self.conn.prepare("PRAGMA cipher_integrity_check")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            problems.push(row?);
        }
        drop(stmt);
        if depth == CheckDepth::Full {
            let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
            for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
                let row = row?;
                if row != "ok" {
                    problems.push(row);
                }
            }
        }
        Ok(IntegrityReport {
            depth,
            pages,
            documents: 0,
            problems,
        })
    }

    /// Changes the passphrase. Crash-safe: the new derivation is written first as `next`, the
    /// database is re-encrypted in one transaction, then `next` becomes `current`.
    pub fn change_passphrase(&mut self, old: &str, new: &str) -> Result<()> {
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
    pub fn rotate_key(&mut self, key_store: &dyn KeyStore) -> Result<()> {
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

    fn rekey(&mut self, key: &DatabaseKey) -> Result<()> {
        // Fold the WAL into the main file first so every page is re-encrypted by the rekey.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        key.apply(&self.conn, true)?;
        // SQLCipher keeps the text of a rekey's key on the connection until it closes: go on
        // on a fresh connection keyed the new way, and close this one (its memory is wiped).
        let fresh = open_keyed(
            &self.dir.join(DATABASE_FILE),
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            key,
        )?;
        configure(&fresh)?;
        let old = std::mem::replace(&mut self.conn, fresh);
        old.close().map_err(|(_, e)| Error::Storage(e))
    }

    /// Closes the database, checkpointing the WAL into the encrypted main file.
    pub fn close(self) -> Result<()> {
        self.conn.close().map_err(|(_, e)| Error::Storage(e))
    }
}

/// Runs code on an open store. The FFI keeps its store behind a mutex it must not hold while
/// the app's code runs (a notification scheduler that calls back into the store) or while a
/// sync waits on the network; it hands the core this instead of the store itself, and the core
/// locks it only around its own steps.
pub trait StoreAccess {
    /// Runs `f` on the store.
    fn with_store<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T>;
}

impl StoreAccess for Store {
    fn with_store<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        f(self)
    }
}

/// The settings of every connection the store works on.
fn configure(conn: &Connection) -> Result<()> {
    // WAL lets readers run beside the writer; FULL sync because a dose logged must survive a
    // power cut, not only an app crash.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // Freed pages and deleted cells are overwritten with zeros, so what a patient deletes
    // (and a shredded document's key) does not linger in free space.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // 8 MiB of decrypted pages (SQLite's default is 2 MiB): a page read past the cache is
    // decrypted and HMAC-checked again, which searches over a long timeline would repeat.
    conn.pragma_update(None, "cache_size", -8192)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // record/ caches one upsert per (table, set of fields written): room for all of them.
    conn.set_prepared_statement_cache_capacity(256);
    Ok(())
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
/// before that read succeeds, and until it has the connection is told not to checkpoint when it
/// closes (as the last connection would, folding the WAL into the main file and deleting it), so
/// a wrong key leaves the files byte-for-byte as they were, a `-wal` included.
///
/// Pages are authenticated with HMAC-SHA256 (ADR 0005): hardware-accelerated on every ARMv8
/// phone and on x86 with SHA extensions, where SQLCipher's default HMAC-SHA512 is not. Stores
/// created with the default still open: their pages fail the SHA-256 check and are tried with
/// SHA-512, on a connection of its own (SQLCipher keeps a failed read's state), before the key
/// is called wrong — or the first page damaged, when later pages do open with the key.
fn open_keyed(db: &Path, flags: OpenFlags, key: &DatabaseKey) -> Result<Connection> {
    for hmac in [PAGE_HMAC, LEGACY_PAGE_HMAC] {
        let conn = keyed_connection(db, flags, key, hmac)?;
        match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        }) {
            Ok(_) => {
                conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
                return Ok(conn);
            }
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::NotADatabase => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(why) = layout::why_unopenable(db)? {
        return Err(Error::Corrupt(why));
    }
    for hmac in [PAGE_HMAC, LEGACY_PAGE_HMAC] {
        if only_first_page_fails(db, key, hmac)? {
            return Err(Error::Corrupt(
                "the database's first page is damaged (later pages open with this key)".into(),
            ));
        }
    }
    Err(Error::WrongKey)
}

/// A connection keyed with `key` and page HMAC `hmac`, not yet proven to open anything, that
/// will not checkpoint when it closes.
fn keyed_connection(
    db: &Path,
    flags: OpenFlags,
    key: &DatabaseKey,
    hmac: &str,
) -> Result<Connection> {
    let conn = Connection::open_with_flags(db, flags)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    // SQLCipher would otherwise print its own errors to stderr; callers get one typed error.
    conn.query_row("PRAGMA cipher_log_level = NONE", [], |_| Ok(()))
        .optional()?;
    key.apply(&conn, false)?;
    conn.pragma_update(None, "cipher_hmac_algorithm", hmac)?;
    Ok(conn)
}

/// Whether, under `key` and `hmac`, page 1 fails its HMAC while some later page passes: the key
/// is right and the first page is damaged. A one-page file cannot tell the two apart.
fn only_first_page_fails(db: &Path, key: &DatabaseKey, hmac: &str) -> Result<bool> {
    let pages = std::fs::metadata(db)?.len() / layout::PAGE_SIZE;
    if pages < 2 {
        return Ok(false);
    }
    let conn = keyed_connection(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        key,
        hmac,
    )?;
    let mut stmt = conn.prepare("PRAGMA cipher_integrity_check")?;
    let mut failed = 0u64;
    let mut first = false;
    for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
        let row = row?;
        if row.starts_with("HMAC verification failed for page ") {
            failed += 1;
            first |= row.ends_with(" page 1");
        }
    }
    Ok(first && failed < pages)
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
