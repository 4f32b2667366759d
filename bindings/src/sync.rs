//! Sync for the apps: the account, linking devices, and `sync_now` with a foreign observer.
//!
//! Network work runs off the caller's thread; the store's lock is taken only around the
//! engine's local steps, so screens keep reading while a sync waits on the relay.

use std::sync::Arc;

use cairn_core::sync::{
    self, CancelToken, DeviceSummary, HttpTransport, LinkInvite, RetryPolicy, SyncProgress,
    SyncReport,
};

use crate::error::CairnError;
use crate::store::{blocking, CairnStore};

/// Told how a sync goes (the app's progress indicator). It must return quickly.
#[uniffi::export(with_foreign)]
pub trait SyncObserver: Send + Sync {
    /// The sync moved on.
    fn progress(&self, progress: SyncProgress);
}

/// Adapts the app's observer to the core's.
struct ForeignObserver(Option<Arc<dyn SyncObserver>>);

impl sync::SyncObserver for ForeignObserver {
    fn progress(&self, progress: SyncProgress) {
        if let Some(o) = &self.0 {
            o.progress(progress);
        }
    }
}

impl CairnStore {
    /// The relay this store syncs with, as this device.
    fn relay(&self) -> Result<HttpTransport, CairnError> {
        self.with(|s| {
            let id = s.sync_identity()?;
            Ok(HttpTransport::new(&id.relay)?.as_device(id.device.clone()))
        })
    }

    /// Downloads `document`'s content if it is on another device only.
    pub(crate) fn fetch_content(&self, document: &str) -> Result<(), CairnError> {
        let wanted =
            self.with(|s| Ok(s.sync_enabled()? && s.content_to_download(document)?.is_some()))?;
        if wanted {
            let relay = self.relay()?;
            sync::fetch_document(self, &relay, document)?;
        }
        Ok(())
    }

    /// A fresh cancel token for a sync about to start.
    fn new_cancel(&self) -> CancelToken {
        let token = CancelToken::new();
        *self.sync_cancel.lock().unwrap_or_else(|p| p.into_inner()) = token.clone();
        token
    }

    fn sync_blocking(
        &self,
        observer: Option<Arc<dyn SyncObserver>>,
    ) -> Result<SyncReport, CairnError> {
        let relay = self.relay()?;
        let cancel = self.new_cancel();
        Ok(sync::sync_now(
            self,
            &relay,
            &ForeignObserver(observer),
            &cancel,
            RetryPolicy::default(),
        )?)
    }
}

/// A link the app shows while the new device joins.
#[derive(uniffi::Object)]
pub struct LinkSession {
    store: Arc<CairnStore>,
    invite: LinkInvite,
}

#[uniffi::export(async_runtime = "tokio")]
impl LinkSession {
    /// The code to type on the new device.
    pub fn code(&self) -> String {
        self.invite.code.clone()
    }

    /// The text to show as a QR code for the new device to scan.
    pub fn qr(&self) -> String {
        self.invite.qr.clone()
    }

    /// Waits for the new device, certifies it and adds it to the account; returns its id. The
    /// code works once; a wrong try ends the session with `Invalid`. (Not `wait`: every JVM
    /// object already has one.)
    pub async fn wait_for_device(self: Arc<Self>) -> Result<String, CairnError> {
        blocking(move || {
            let relay = self.store.relay()?;
            let cancel = self.store.new_cancel();
            let device = sync::finish_link(&*self.store, &relay, &self.invite, &cancel)?;
            Ok(device.to_string())
        })
        .await
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl CairnStore {
    /// Creates the patient's account on the relay at `relay` with this device as its first, and
    /// syncs. Returns the recovery kit's text: the app asks the person to print or write it down.
    pub async fn create_account(self: Arc<Self>, relay: String) -> Result<String, CairnError> {
        blocking(move || {
            HttpTransport::new(&relay)?;
            let kit = self.with(|s| s.create_account(&relay))?;
            self.sync_blocking(None)?;
            Ok(kit.to_string())
        })
        .await
    }

    /// The account's recovery kit again.
    pub fn recovery_kit(&self) -> Result<String, CairnError> {
        self.with(|s| Ok(s.recovery_kit()?.to_string()))
    }

    /// Whether this store syncs (has an account).
    pub fn sync_enabled(&self) -> Result<bool, CairnError> {
        self.with(|s| s.sync_enabled())
    }

    /// Restores the account from its recovery kit into this new, empty store, and syncs.
    pub async fn recover_account(
        self: Arc<Self>,
        relay: String,
        kit: String,
        observer: Option<Arc<dyn SyncObserver>>,
    ) -> Result<SyncReport, CairnError> {
        blocking(move || {
            let kit = zeroize::Zeroizing::new(kit);
            self.with_mut(|s| s.recover_account(&relay, &kit))?;
            self.sync_blocking(observer)
        })
        .await
    }

    /// Syncs now: brings down other devices' changes, sends this one's. Retries what may pass
    /// with backoff; `Tampered` means the relay sent something that does not verify and sync
    /// stopped for safety.
    pub async fn sync_now(
        self: Arc<Self>,
        observer: Option<Arc<dyn SyncObserver>>,
    ) -> Result<SyncReport, CairnError> {
        blocking(move || self.sync_blocking(observer)).await
    }

    /// Cancels the sync or link under way, if any: it stops before its next request.
    pub fn cancel_sync(&self) {
        self.sync_cancel
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .cancel();
    }

    /// Opens a link for a new device: show its code or QR, then `wait`.
    pub async fn start_link(self: Arc<Self>) -> Result<Arc<LinkSession>, CairnError> {
        blocking(move || {
            self.sync_blocking(None)?;
            let relay = self.relay()?;
            let invite = sync::start_link(&*self, &relay)?;
            Ok(Arc::new(LinkSession {
                store: self.clone(),
                invite,
            }))
        })
        .await
    }

    /// Joins the account whose device shows `code` (typed, or a scanned QR code's text) through
    /// the relay at `relay`, making this new, empty store a copy of its space, and syncs.
    pub async fn join_account(
        self: Arc<Self>,
        relay: String,
        code: String,
        observer: Option<Arc<dyn SyncObserver>>,
    ) -> Result<SyncReport, CairnError> {
        blocking(move || {
            let transport = HttpTransport::new(&relay)?;
            let cancel = self.new_cancel();
            self.with_mut(|s| sync::join(s, &transport, &code, &cancel))?;
            self.sync_blocking(observer)
        })
        .await
    }

    /// The account's devices.
    pub async fn devices(self: Arc<Self>) -> Result<Vec<DeviceSummary>, CairnError> {
        blocking(move || {
            let relay = self.relay()?;
            Ok(sync::devices(&*self, &relay)?)
        })
        .await
    }

    /// Revokes a lost device (its id, or at least 8 characters of it), after a sync so what it
    /// sent before is kept.
    pub async fn revoke_device(self: Arc<Self>, device: String) -> Result<String, CairnError> {
        blocking(move || {
            self.sync_blocking(None)?;
            let relay = self.relay()?;
            Ok(sync::revoke_device(&*self, &relay, &device)?.to_string())
        })
        .await
    }
}
