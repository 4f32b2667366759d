//! The open store and the platform key store.

use std::sync::{Arc, Mutex, MutexGuard};

use cairn_core::store::{CheckDepth, IntegrityReport, KeyStore as CoreKeyStore, Unlock};
use cairn_core::{Profile, Store, StoreStatus, SystemClock};

use crate::error::{CairnError, KeyStoreError};

/// The platform's secure key storage, implemented by the app (Keychain, Android Keystore).
#[uniffi::export(with_foreign)]
pub trait KeyStore: Send + Sync {
    /// The secret stored under `name`, or nothing when none is stored yet.
    fn load(&self, name: String) -> Result<Option<Vec<u8>>, KeyStoreError>;
    /// Stores `secret` under `name`, replacing what was there.
    fn save(&self, name: String, secret: Vec<u8>) -> Result<(), KeyStoreError>;
}

/// Adapts the app's key store to the core's trait.
struct ForeignKeyStore(Arc<dyn KeyStore>);

impl CoreKeyStore for ForeignKeyStore {
    fn load(&self, name: &str) -> cairn_core::Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
        self.0
            .load(name.to_owned())
            .map(|secret| secret.map(zeroize::Zeroizing::new))
            .map_err(|e| cairn_core::Error::KeyStore(e.to_string()))
    }
    fn save(&self, name: &str, secret: &[u8]) -> cairn_core::Result<()> {
        self.0
            .save(name.to_owned(), secret.to_vec())
            .map_err(|e| cairn_core::Error::KeyStore(e.to_string()))
    }
}

/// An open, encrypted Cairn store.
#[derive(uniffi::Object)]
pub struct CairnStore {
    inner: Mutex<Option<Store>>,
}

impl CairnStore {
    fn open(data_dir: &str, unlock: Unlock<'_>) -> Result<Arc<Self>, CairnError> {
        let dir = std::path::Path::new(data_dir);
        let clock = Arc::new(SystemClock);
        // Created only where no trace of a store is (no database, key file, documents, nor a
        // key in the key store): anything else is opened, or refused with a typed error.
        let store = match Store::open(dir, unlock, clock.clone()) {
            Err(cairn_core::Error::NotFound { .. }) => Store::create(dir, unlock, clock)?,
            other => other?,
        };
        Ok(Arc::new(Self {
            inner: Mutex::new(Some(store)),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Option<Store>> {
        // A panic while holding the lock cannot leave a half-applied transaction (SQLite rolls
        // back), so the store stays usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the open store, or fails with `Locked` after `close`.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&Store) -> cairn_core::Result<T>,
    ) -> Result<T, CairnError> {
        let guard = self.lock();
        let store = guard
            .as_ref()
            .ok_or_else(|| CairnError::Locked("the store is closed".into()))?;
        Ok(f(store)?)
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl CairnStore {
    /// Opens the store in `data_dir`, or creates it with a fresh key saved to `key_store` when
    /// there is no trace of a store at all. A database missing beside its documents or its key
    /// in the key store is `Incomplete`, and nothing is changed.
    #[uniffi::constructor]
    pub fn open_with_key_store(
        data_dir: String,
        key_store: Arc<dyn KeyStore>,
    ) -> Result<Arc<Self>, CairnError> {
        let ks = ForeignKeyStore(key_store);
        Self::open(&data_dir, Unlock::KeyStore(&ks))
    }

    /// Opens the store in `data_dir` with a passphrase, or creates it when there is no trace of
    /// a store at all.
    #[uniffi::constructor]
    pub fn open_with_passphrase(
        data_dir: String,
        passphrase: String,
    ) -> Result<Arc<Self>, CairnError> {
        let passphrase = zeroize::Zeroizing::new(passphrase);
        Self::open(&data_dir, Unlock::Passphrase(&passphrase))
    }

    /// Schema version, device id and counts.
    pub fn status(&self) -> Result<StoreStatus, CairnError> {
        self.with(|s| s.status())
    }

    /// Sets the patient's name and home time zone.
    pub fn set_profile(
        &self,
        display_name: String,
        home_time_zone: String,
    ) -> Result<(), CairnError> {
        self.with(|s| {
            s.set_profile(&Profile {
                display_name,
                home_time_zone,
            })
        })
    }

    /// The patient's profile, if set.
    pub fn profile(&self) -> Result<Option<Profile>, CairnError> {
        self.with(|s| s.profile())
    }

    /// Checks the store off the caller's thread: every database page's HMAC (`Pages`, cheap
    /// enough for every launch), or also the database structure and every document's content
    /// (`Full`). The report names each problem found.
    pub async fn check_integrity(
        self: Arc<Self>,
        depth: CheckDepth,
    ) -> Result<IntegrityReport, CairnError> {
        tokio::task::spawn_blocking(move || self.with(|s| s.check(depth)))
            .await
            .map_err(|e| CairnError::Internal(format!("integrity check stopped: {e}")))?
    }

    /// Closes the store; every later call fails with `Locked`. (Not `close`: Kotlin objects
    /// already have `close()`, which frees the handle.)
    pub fn close_store(&self) {
        if let Some(store) = self.lock().take() {
            // Closing can only fail if statements are still alive, which `Store` does not allow.
            let _ = store.close();
        }
    }
}
