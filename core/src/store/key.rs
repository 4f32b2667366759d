//! Where the database key comes from: the platform key store, or a passphrase through Argon2id.

use std::fs;
use std::io::Write;
use std::path::Path;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

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

    /// The value of `PRAGMA key`/`PRAGMA rekey` for a raw key: SQLCipher then skips its own
    /// PBKDF2, which would cost 256,000 iterations on every launch.
    pub(crate) fn pragma_value(&self) -> Zeroizing<String> {
        let mut hex = hex::encode(self.0.as_ref());
        let value = Zeroizing::new(format!("x'{hex}'"));
        hex.zeroize();
        value
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

    /// The Argon2id parameters of this derivation.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn params(&self) -> KdfParams {
        self.params
    }

    pub(crate) fn derive(&self, passphrase: &str) -> Result<DatabaseKey> {
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
        let bytes = fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                Error::Locked("this store is not protected by a passphrase")
            }
            _ => Error::Io(e),
        })?;
        let file: Self =
            serde_json::from_slice(&bytes).map_err(|_| Error::Corrupt("key file".into()))?;
        if file.version != 1 {
            return Err(Error::Corrupt("key file version".into()));
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
