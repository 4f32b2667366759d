//! `sync_now`: the engine's steps in order, each request tried again with backoff and jitter
//! when trying again can help, progress reported, cancellable between requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cairn_protocol::api::MAX_PUSH_ENVELOPES;
use cairn_protocol::{Envelope, LedgerEntry, SpaceId};
use rand::Rng;

use super::blobs;
use super::engine::{self, Registration, Session};
use super::transport::Transport;
use crate::error::{Error, Result};
use crate::store::{Store, StoreAccess};

/// Where a sync is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SyncPhase {
    /// Registering this device and the space's ledger with the relay.
    Connecting,
    /// Bringing down other devices' changes.
    Pulling,
    /// Sending this device's changes.
    Pushing,
    /// Waiting before trying a request again.
    Retrying,
    /// Finished.
    Done,
}

/// A progress report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncProgress {
    /// Where the sync is.
    pub phase: SyncPhase,
    /// Batches done in this phase.
    pub done: u64,
    /// Batches known in this phase, when known.
    pub total: Option<u64>,
}

/// What a sync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncReport {
    /// Batches of other devices applied.
    pub pulled_batches: u64,
    /// Changes they carried.
    pub pulled_changes: u64,
    /// Batches of this device the relay stored.
    pub pushed_batches: u64,
    /// Changes they carried.
    pub pushed_changes: u64,
    /// Document content files uploaded whole.
    pub uploaded_blobs: u64,
    /// Milliseconds spent waiting on the relay (requests and their answers).
    pub network_ms: u64,
    /// Milliseconds spent checking and opening what was pulled (signatures, chains, decryption).
    pub check_ms: u64,
    /// Milliseconds spent applying it to the store.
    pub apply_ms: u64,
    /// Milliseconds spent sealing this device's changes (outbox read, encryption, storing them).
    pub seal_ms: u64,
    /// Requests tried again after a failure.
    pub retries: u32,
    /// How long it took, in milliseconds.
    pub elapsed_ms: u64,
}

/// Told how a sync goes. The apps implement it to show progress; it must return quickly.
pub trait SyncObserver: Send + Sync {
    /// The sync moved on.
    fn progress(&self, progress: SyncProgress);
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl SyncObserver for Quiet {
    fn progress(&self, _: SyncProgress) {}
}

/// Cancels a sync from another thread: the sync stops before its next request, leaving the
/// store consistent (what was applied is kept, what was not sent is sent next time).
#[derive(Debug, Default, Clone)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether it was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How requests are tried again.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries of one request, the first included.
    pub attempts: u32,
    /// The first wait; each next one doubles, up to `max_delay`, and a random part of it is
    /// waited (full jitter), so devices that failed together do not come back together.
    pub base_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 6,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// Envelopes per pull request.
const PULL_PAGE: u32 = 500;

/// One sync of this device's space through `relay`: register and publish, pull everything new
/// (checked, then applied), push everything pending. `access` runs the local steps on the store
/// (the FFI holds it behind a lock, taken only around them).
pub fn sync_now<A: StoreAccess + ?Sized>(
    access: &A,
    relay: &dyn Transport,
    observer: &dyn SyncObserver,
    cancel: &CancelToken,
    policy: RetryPolicy,
) -> Result<SyncReport> {
    let started = Instant::now();
    let mut run = Run {
        relay,
        observer,
        cancel,
        policy,
        report: SyncReport::default(),
    };
    observer.progress(SyncProgress {
        phase: SyncPhase::Connecting,
        done: 0,
        total: None,
    });
    run.connect(access)?;
    let mut session = access.with_store(Session::load)?;
    let server_time = run.pull(access, &mut session)?;
    run.push(access, &mut session, server_time)?;
    // Content files go up after the metadata that refers to them; naming their blobs is a
    // change of its own, pushed after.
    if run.upload(access, &session.identity.space.clone())? > 0 {
        run.push(access, &mut session, server_time)?;
    }
    run.report.elapsed_ms = started.elapsed().as_millis() as u64;
    observer.progress(SyncProgress {
        phase: SyncPhase::Done,
        done: run.report.pulled_batches + run.report.pushed_batches,
        total: None,
    });
    Ok(run.report)
}

struct Run<'a> {
    relay: &'a dyn Transport,
    observer: &'a dyn SyncObserver,
    cancel: &'a CancelToken,
    policy: RetryPolicy,
    report: SyncReport,
}

/// Whether trying a failed request again may help.
fn transient(e: &Error) -> bool {
    matches!(e, Error::Network(_))
}

impl Run<'_> {
    /// `op`, tried again with backoff while it fails in a way that may pass.
    fn retry<T>(&mut self, mut op: impl FnMut() -> Result<T>) -> Result<T> {
        let mut attempt = 0;
        loop {
            if self.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let sent = Instant::now();
            let result = op();
            self.report.network_ms += sent.elapsed().as_millis() as u64;
            match result {
                Err(e) if transient(&e) && attempt + 1 < self.policy.attempts => {
                    let ceiling = self
                        .policy
                        .base_delay
                        .saturating_mul(1 << attempt.min(16))
                        .min(self.policy.max_delay);
                    let wait = rand::thread_rng().gen_range(Duration::ZERO..=ceiling);
                    attempt += 1;
                    self.report.retries += 1;
                    self.observer.progress(SyncProgress {
                        phase: SyncPhase::Retrying,
                        done: u64::from(attempt),
                        total: Some(u64::from(self.policy.attempts)),
                    });
                    self.sleep(wait)?;
                }
                other => return other,
            }
        }
    }

    /// Waits, waking to notice a cancel.
    fn sleep(&self, wait: Duration) -> Result<()> {
        let until = Instant::now() + wait;
        while Instant::now() < until {
            if self.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
        }
        Ok(())
    }

    /// Registers this device (and, the first time, its account and space), brings the ledger
    /// up to date and publishes the entries this device wrote.
    fn connect<A: StoreAccess + ?Sized>(&mut self, access: &A) -> Result<()> {
        match access.with_store(engine::registration)? {
            Registration::Done => {}
            Registration::NewAccount(new) => {
                let (account, space) = *new;
                let relay = self.relay;
                self.retry(|| relay.create_account(&account))?;
                self.retry(|| relay.create_space(&space))?;
                access.with_store(engine::registered)?;
            }
            Registration::Device(device) => {
                let relay = self.relay;
                self.retry(|| relay.register_device(&device))?;
                access.with_store(engine::registered)?;
            }
        }
        // Entries this device wrote first (its space's first keys). A device holding no ledger
        // yet (recovered from its kit) fetches it, and then publishes its own introduction;
        // others learn of new entries from each pull page's ledger length.
        self.publish(access)?;
        if access.with_store(engine::ledger_len)? == 0 {
            self.fetch_ledger(access)?;
            self.publish(access)?;
        }
        Ok(())
    }

    /// Publishes the ledger entries this device wrote that the relay does not hold yet. An
    /// entry refused as not the next may be one the relay took already, its answer lost: the
    /// relay's entries are read from there and settled against this device's (see
    /// [`engine::settle_unpublished`]); where another device wrote first, this device's entries
    /// are written again on top of the relay's where still needed (its own introduction).
    fn publish<A: StoreAccess + ?Sized>(&mut self, access: &A) -> Result<()> {
        'tries: for _ in 0..3 {
            for entry in access.with_store(engine::unpublished)? {
                let relay = self.relay;
                let space = entry.space.clone();
                match self.retry(|| relay.append_ledger(&space, &entry)) {
                    Ok(()) => access.with_store(|s| engine::published(s, entry.index))?,
                    Err(Error::Conflict(_)) => {
                        let from = entry.index;
                        let page = self.retry(|| relay.ledger(&space, from))?;
                        if page.entries.first().is_some_and(|e| e.index != from) {
                            return Err(Error::Tampered(
                                "the relay's ledger page does not start where asked".into(),
                            ));
                        }
                        access
                            .with_store(|s| engine::settle_unpublished(s, from, &page.entries))?;
                        continue 'tries;
                    }
                    Err(e) => return Err(e),
                }
            }
            return Ok(());
        }
        Err(Error::Conflict(
            "the space's ledger kept changing: sync again".into(),
        ))
    }

    /// Fetches ledger entries beyond those held, checks and keeps them.
    fn fetch_ledger<A: StoreAccess + ?Sized>(&mut self, access: &A) -> Result<()> {
        let (space, from) = access.with_store(|s| {
            let id = s.sync_identity()?;
            Ok((id.space, engine::ledger_len(s)?))
        })?;
        let relay = self.relay;
        let page = self.retry(|| relay.ledger(&space, from))?;
        if page.len < from {
            return Err(Error::Tampered(format!(
                "the relay's ledger has {} entries where this device holds {from}: it was rolled back",
                page.len
            )));
        }
        let entries: Vec<LedgerEntry> = page.entries;
        if entries.first().is_some_and(|e| e.index != from) {
            return Err(Error::Tampered(
                "the relay's ledger page does not start where asked".into(),
            ));
        }
        access.with_store(|s| engine::take_ledger(s, &entries))
    }

    /// Pulls every page after the cursor and checks the heads; returns the relay's clock.
    fn pull<A: StoreAccess + ?Sized>(&mut self, access: &A, session: &mut Session) -> Result<u64> {
        let mut pulled = engine::Pulled::new(session);
        let space = session.identity.space.clone();
        let mut done = 0;
        loop {
            self.observer.progress(SyncProgress {
                phase: SyncPhase::Pulling,
                done,
                total: None,
            });
            let relay = self.relay;
            let after = session.cursor();
            let page = self.retry(|| relay.pull(&space, after, PULL_PAGE))?;
            if page.ledger_len > session.ledger.len() {
                self.fetch_ledger(access)?;
                *session = access.with_store(Session::load)?;
            }
            let applied =
                access.with_store(|s| engine::apply_page(s, session, &page, &mut pulled))?;
            self.report.pulled_batches += applied.envelopes;
            self.report.pulled_changes += applied.changes;
            self.report.check_ms += applied.check_us / 1000;
            self.report.apply_ms += applied.apply_us / 1000;
            done += page.envelopes.len() as u64;
            if !page.more {
                access.with_store(|s| engine::check_heads(s, session, &page, &pulled))?;
                return Ok(page.server_time_ms);
            }
            if page.envelopes.is_empty() {
                return Err(Error::Tampered(
                    "the relay says more follows but sends nothing".into(),
                ));
            }
        }
    }

    /// Uploads the content files the relay does not have whole yet.
    fn upload<A: StoreAccess + ?Sized>(&mut self, access: &A, space: &SpaceId) -> Result<u64> {
        let relay = self.relay;
        let mut retry = |op: &mut dyn FnMut() -> Result<()>| self.retry(op);
        let sent = blobs::upload(access, relay, space, &mut retry)?;
        self.report.uploaded_blobs += sent;
        Ok(sent)
    }

    /// Seals and pushes until the outbox is empty.
    fn push<A: StoreAccess + ?Sized>(
        &mut self,
        access: &A,
        session: &mut Session,
        server_time: u64,
    ) -> Result<()> {
        let space = session.identity.space.clone();
        let mut server_time = server_time;
        loop {
            let sealing = Instant::now();
            let batches: Vec<Envelope> =
                access.with_store(|s| engine::batches_to_push(s, session, Some(server_time)))?;
            self.report.seal_ms += sealing.elapsed().as_millis() as u64;
            if batches.is_empty() {
                return Ok(());
            }
            let total = batches.len() as u64;
            for (i, chunk) in batches.chunks(MAX_PUSH_ENVELOPES).enumerate() {
                self.observer.progress(SyncProgress {
                    phase: SyncPhase::Pushing,
                    done: (i * MAX_PUSH_ENVELOPES) as u64,
                    total: Some(total),
                });
                let relay = self.relay;
                let response = self.retry(|| relay.push(&space, chunk))?;
                server_time = response.server_time_ms;
                let changes = access.with_store(|s| engine::acknowledged(s, chunk, &response))?;
                self.report.pushed_batches += chunk.len() as u64;
                self.report.pushed_changes += changes;
            }
        }
    }
}

/// Syncs `store` itself (the command line's way: nothing else holds it).
pub fn sync_store(store: &Store, relay: &dyn Transport) -> Result<SyncReport> {
    sync_now(
        store,
        relay,
        &Quiet,
        &CancelToken::new(),
        RetryPolicy::default(),
    )
}
