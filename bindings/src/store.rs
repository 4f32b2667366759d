//! The open store and the platform key store.

use std::sync::{Arc, Mutex, MutexGuard};

use cairn_core::store::{CheckDepth, IntegrityReport, KeyStore as CoreKeyStore, Unlock};
use cairn_core::{Clock as CoreClock, Profile, Store, StoreStatus, SystemClock};
use jiff::{tz::TimeZone, Timestamp};

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

/// The device's clock and time zone, implemented by the app: `Instant.now()` and
/// `ZoneId.systemDefault().id` on Android, `Date()` and `TimeZone.current.identifier` on iOS.
///
/// Cairn asks on every call, so a zone change on the phone (a flight, a DST rule update) takes
/// effect on the next one. On the platform's zone-change broadcast (`ACTION_TIMEZONE_CHANGED`,
/// `NSSystemTimeZoneDidChange`) and time change the app calls `sync_notifications`, so pending
/// reminders move to the new local times. Tests implement it to move time and zone.
#[uniffi::export(with_foreign)]
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
    /// The device's current IANA time zone name (`Europe/London`).
    fn time_zone(&self) -> String;
}

/// Adapts the app's clock to the core's.
struct ForeignClock(Arc<dyn Clock>);

impl std::fmt::Debug for ForeignClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignClock").finish_non_exhaustive()
    }
}

impl ForeignClock {
    /// The app's zone, or `Invalid` when the name is not one Cairn knows.
    fn checked_zone(&self) -> cairn_core::Result<TimeZone> {
        cairn_core::time::check_time_zone("time_zone", &self.0.time_zone())
    }
}

impl CoreClock for ForeignClock {
    fn now(&self) -> Timestamp {
        self.0.now()
    }
    fn time_zone(&self) -> TimeZone {
        // Every call first checks the zone (`CairnStore::with`); a name that stops resolving
        // between that check and this read falls back to the system's zone.
        self.checked_zone().unwrap_or_else(|_| TimeZone::system())
    }
}

/// An open, encrypted Cairn store.
#[derive(uniffi::Object)]
pub struct CairnStore {
    inner: Mutex<Option<Store>>,
    /// Cancels the sync under way, if one is.
    pub(crate) sync_cancel: Mutex<cairn_core::sync::CancelToken>,
    /// The app's clock, when it gave one: its zone is checked before every call.
    app_clock: Option<Arc<ForeignClock>>,
}

impl CairnStore {
    fn open(
        data_dir: &str,
        unlock: Unlock<'_>,
        app_clock: Option<Arc<dyn Clock>>,
    ) -> Result<Arc<Self>, CairnError> {
        let dir = std::path::Path::new(data_dir);
        let app_clock = app_clock.map(|c| Arc::new(ForeignClock(c)));
        if let Some(c) = &app_clock {
            c.checked_zone()?;
        }
        let clock: Arc<dyn CoreClock> = match &app_clock {
            Some(c) => c.clone(),
            None => Arc::new(SystemClock),
        };
        // Created only where no trace of a store is (no database, key file, documents, nor a
        // key in the key store): anything else is opened, or refused with a typed error.
        let store = match Store::open(dir, unlock, clock.clone()) {
            Err(cairn_core::Error::NotFound { .. }) => Store::create(dir, unlock, clock)?,
            other => other?,
        };
        Ok(Arc::new(Self {
            inner: Mutex::new(Some(store)),
            sync_cancel: Mutex::new(cairn_core::sync::CancelToken::new()),
            app_clock,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Option<Store>> {
        // A panic while holding the lock cannot leave a half-applied transaction (SQLite rolls
        // back), so the store stays usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the open store with exclusive access (a device joining an account changes
    /// the store's identity), or fails with `Locked` after `close`.
    pub(crate) fn with_mut<T>(
        &self,
        f: impl FnOnce(&mut Store) -> cairn_core::Result<T>,
    ) -> Result<T, CairnError> {
        let mut guard = self.lock();
        let store = guard
            .as_mut()
            .ok_or_else(|| CairnError::Locked("the store is closed".into()))?;
        if let Some(clock) = &self.app_clock {
            clock.checked_zone()?;
        }
        Ok(f(store)?)
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
        if let Some(clock) = &self.app_clock {
            clock.checked_zone()?;
        }
        Ok(f(store)?)
    }
}

/// Runs blocking work (file streaming, the network) off the caller's thread.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, CairnError> + Send + 'static,
) -> Result<T, CairnError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CairnError::Internal(format!("background work stopped: {e}")))?
}

#[uniffi::export(async_runtime = "tokio")]
impl CairnStore {
    /// Opens the store in `data_dir`, or creates it with a fresh key saved to `key_store` when
    /// there is no trace of a store at all. A database missing beside its documents or its key
    /// in the key store is `Incomplete`, and nothing is changed.
    ///
    /// "Now" and the device's zone come from `clock`, the app's; without one, from the system.
    #[uniffi::constructor(default(clock = None))]
    pub fn open_with_key_store(
        data_dir: String,
        key_store: Arc<dyn KeyStore>,
        clock: Option<Arc<dyn Clock>>,
    ) -> Result<Arc<Self>, CairnError> {
        let ks = ForeignKeyStore(key_store);
        Self::open(&data_dir, Unlock::KeyStore(&ks), clock)
    }

    /// Opens the store in `data_dir` with a passphrase, or creates it when there is no trace of
    /// a store at all; "now" and the zone come from `clock`, or the system without one.
    #[uniffi::constructor(default(clock = None))]
    pub fn open_with_passphrase(
        data_dir: String,
        passphrase: String,
        clock: Option<Arc<dyn Clock>>,
    ) -> Result<Arc<Self>, CairnError> {
        let passphrase = zeroize::Zeroizing::new(passphrase);
        Self::open(&data_dir, Unlock::Passphrase(&passphrase), clock)
    }

    /// The IANA zone the store computes local times in now: the app's clock's, or the system's.
    /// A system zone without an IANA name (a POSIX `TZ` rule) is shown as its offset now
    /// (`-05:00`), never as a UTC it is not.
    pub fn time_zone(&self) -> Result<String, CairnError> {
        self.with(|s| {
            let zone = s.clock().time_zone();
            Ok(zone.iana_name().map_or_else(
                || zone.to_offset(s.clock().now()).to_string(),
                str::to_owned,
            ))
        })
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
