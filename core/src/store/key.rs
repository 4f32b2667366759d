//! Where the database key comes from: the platform key store, or a passphrase through Argon2id.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The name under which the database key is kept in the platform key store.
pub const DATABASE_KEY_NAME: &str = "cairn.db";
/// The name under which a key being rotated in is kept until the rotation has finished.
pub const NEXT_DATABASE_KEY_NAME: &str = "cairn.db.next";

/// A 256-bit SQLCipher key. Wiped from memory when dropped; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseKey(Zeroizing<[u8; 32]>);

impl DatabaseKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        Self(bytes)
    }

    /// A key from raw bytes, which must be exactly 32 long.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let array: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::KeyStore(format!("expected a 32-byte key, got {} bytes", bytes.len()))
        })?;
        Ok(Self(Zeroizing::new(array)))
    }

    /// The raw bytes, for handing to the platform key store.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Keys `conn`'s main database with this raw key (`rekey`: re-encrypts it under this key).
    ///
    /// The key goes to SQLCipher as `x'…'`, so it skips its own PBKDF2 (256,000 iterations on
    /// every launch), and through `sqlite3_key_v2` / `sqlite3_rekey_v2` rather than a `PRAGMA`:
    /// a statement's text would be copied by SQLite's parser into memory it frees without
    /// wiping. SQLCipher copies the key into its own heap, which it locks and wipes; the one
    /// buffer here is allocated at its final size and wiped when dropped.
    pub(crate) fn apply(&self, conn: &rusqlite::Connection, rekey: bool) -> Result<()> {
        codec_key(conn, &self.key_text(), rekey)
    }

    /// `x'<64 hex digits>'`: SQLCipher's notation for a raw key.
    fn key_text(&self) -> Zeroizing<Vec<u8>> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = Zeroizing::new(Vec::with_capacity(3 + 64));
        text.extend_from_slice(b"x'");
        for byte in self.0.iter() {
            text.push(HEX[usize::from(byte >> 4)]);
            text.push(HEX[usize::from(byte & 0x0f)]);
        }
        text.push(b'\'');
        text
    }
}

/// Hands `text` to SQLCipher as the key of `conn`'s main database. The workspace's only
/// `unsafe`: rusqlite has no safe call for SQLCipher's keying functions.
#[allow(unsafe_code)]
fn codec_key(conn: &rusqlite::Connection, text: &[u8], rekey: bool) -> Result<()> {
    use rusqlite::ffi;
    let len = std::ffi::c_int::try_from(text.len())
        .map_err(|_| Error::KeyStore("key text too long".into()))?;
    // SAFETY: `conn.handle()` is the open connection's handle, used only for this call while
    // `conn` is borrowed (so not closed or used elsewhere meanwhile); the schema name is a
    // NUL-terminated literal; `text` is valid for `len` bytes for the whole call, and SQLCipher
    // copies it before returning, keeping no pointer into it.
    let rc = unsafe {
        let db = conn.handle();
        if rekey {
            ffi::sqlite3_rekey_v2(db, c"main".as_ptr(), text.as_ptr().cast(), len)
        } else {
            ffi::sqlite3_key_v2(db, c"main".as_ptr(), text.as_ptr().cast(), len)
        }
    };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(Error::Storage(rusqlite::Error::SqliteFailure(
            ffi::Error::new(rc),
            Some(if rekey { "rekey failed" } else { "key failed" }.into()),
        )))
    }
}

impl std::fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseKey(..)")
    }
}

/// The platform's secure key storage (iOS Keychain, Android Keystore), implemented by the app.
pub trait KeyStore: Send + Sync {
    /// The secret stored under `name`, or `None` when nothing is stored yet.
    fn load(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>>;
    /// Stores `secret` under `name`, replacing what was there.
    fn save(&self, name: &str, secret: &[u8]) -> Result<()>;
}

/// An in-memory key store for tests and the demo.
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    secrets: std::sync::Mutex<std::collections::BTreeMap<String, Zeroizing<Vec<u8>>>>,
}

impl KeyStore for MemoryKeyStore {
    fn load(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let secrets = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        Ok(secrets.get(name).cloned())
    }
    fn save(&self, name: &str, secret: &[u8]) -> Result<()> {
        let mut secrets = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        secrets.insert(name.to_owned(), Zeroizing::new(secret.to_vec()));
        Ok(())
    }
}

/// How to unlock a store.
#[derive(Clone, Copy)]
pub enum Unlock<'a> {
    /// A raw key held by the platform key store.
    KeyStore(&'a dyn KeyStore),
    /// A passphrase the person types; stretched with Argon2id.
    Passphrase(&'a str),
}

impl std::fmt::Debug for Unlock<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unlock::KeyStore(_) => f.write_str("Unlock::KeyStore"),
            Unlock::Passphrase(_) => f.write_str("Unlock::Passphrase(..)"),
        }
    }
}

/// Argon2id parameters, stored beside the database so they can be raised later without breaking
/// old stores.
///
/// The default follows RFC 9106's second recommended option, sized for phones: 64 MiB of memory,
/// 3 passes, 1 lane (lanes do not run in parallel in the `argon2` crate, so more would only cost
/// time). That is roughly a quarter to half a second on a current phone, paid only when the person
/// types their passphrase. Unit tests use tiny parameters so they run fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism.
    pub lanes: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        if cfg!(test) {
            Self {
                memory_kib: 64,
                iterations: 1,
                lanes: 1,
            }
        } else {
            Self {
                memory_kib: 64 * 1024,
                iterations: 3,
                lanes: 1,
            }
        }
    }
}

/// The largest `cairn.kdf` read, in bytes.
const MAX_KDF_FILE: u64 = 4096;
/// The most Argon2 memory a key file may ask for: 1 GiB, 16 times the default, and still
/// within reach of a phone.
const MAX_MEMORY_KIB: u32 = 1024 * 1024;
/// The most Argon2 passes a key file may ask for.
const MAX_ITERATIONS: u32 = 16;
/// The most Argon2 lanes a key file may ask for.
const MAX_LANES: u32 = 8;
/// Salt length bounds, in bytes.
const MIN_SALT: usize = 16;
const MAX_SALT: usize = 64;

/// One passphrase derivation: parameters and the salt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KdfSlot {
    params: KdfParams,
    salt: String,
}

impl KdfSlot {
    pub(crate) fn new(params: KdfParams) -> Self {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        Self {
            params,
            salt: hex::encode(salt),
        }
    }

    /// Refuses parameters outside what any Cairn build writes, with room to raise them.
    fn check(&self) -> Result<()> {
        let p = &self.params;
        let within = |v: u32, range: std::ops::RangeInclusive<u32>| range.contains(&v);
        if !within(p.lanes, 1..=MAX_LANES)
            || !within(p.iterations, 1..=MAX_ITERATIONS)
            || !within(p.memory_kib, 8 * p.lanes..=MAX_MEMORY_KIB)
        {
            return Err(Error::Corrupt(
                "key file: Argon2 parameters out of range".into(),
            ));
        }
        if !(MIN_SALT..=MAX_SALT).contains(&(self.salt.len() / 2))
            || !self.salt.len().is_multiple_of(2)
            || !self.salt.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(Error::Corrupt("key file salt".into()));
        }
        Ok(())
    }

    /// The Argon2id parameters of this derivation.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn params(&self) -> KdfParams {
        self.params
    }

    pub(crate) fn derive(&self, passphrase: &str) -> Result<DatabaseKey> {
        self.check()?;
        let salt = hex::decode(&self.salt).map_err(|_| Error::Corrupt("key file salt".into()))?;
        let params = argon2::Params::new(
            self.params.memory_kib,
            self.params.iterations,
            self.params.lanes,
            Some(32),
        )
        .map_err(|_| Error::Corrupt("key file parameters".into()))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase.as_bytes(), &salt, out.as_mut())
            .map_err(|_| Error::Corrupt("key file parameters".into()))?;
        Ok(DatabaseKey(out))
    }
}

/// The passphrase key file (`cairn.kdf`): not secret, only salts and parameters.
///
/// While the passphrase is being changed, `next` holds the new derivation: it is written before
/// `PRAGMA rekey` and promoted after, so a crash at any point leaves one of the two passphrases
/// working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KdfFile {
    pub(crate) version: u32,
    pub(crate) current: KdfSlot,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<KdfSlot>,
}

impl KdfFile {
    pub(crate) fn read(path: &Path) -> Result<Self> {
        let file = fs::File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                Error::Locked("this store is not protected by a passphrase")
            }
            _ => Error::Io(e),
        })?;
        // The file is a few hundred bytes; a larger one is not ours, and is not read whole.
        let mut bytes = Vec::new();
        file.take(MAX_KDF_FILE + 1).read_to_end(&mut bytes)?;
        Self::parse(&bytes)
    }

    /// Parses the file's bytes. The parameters are checked before anything is derived from
    /// them: the file is not secret and not authenticated, so a damaged or planted one must not
    /// make the next unlock allocate gigabytes or run for hours.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() as u64 > MAX_KDF_FILE {
            return Err(Error::Corrupt("key file: too large".into()));
        }
        let file: Self =
            serde_json::from_slice(bytes).map_err(|_| Error::Corrupt("key file".into()))?;
        if file.version != 1 {
            return Err(Error::Corrupt("key file version".into()));
        }
        file.current.check()?;
        if let Some(next) = &file.next {
            next.check()?;
        }
        Ok(file)
    }

    /// Replaces the file atomically: write a temporary file, flush it to disk, rename over.
    pub(crate) fn write(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("kdf.tmp");
        {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&serde_json::to_vec_pretty(self).expect("kdf file serialises"))?;
            f.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            // The rename is durable only once the directory entry is.
            if let Ok(d) = fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}
