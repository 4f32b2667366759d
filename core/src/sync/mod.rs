//! Sync: the patient's devices converge through a relay that never sees plaintext and cannot
//! forge, drop, reorder or replay anything unnoticed.
//!
//! A store is one space (docs/adr/0008). This device's changes leave the outbox sealed in
//! envelopes (`crypto`, `batch.rs`), one chain per device; other devices' envelopes are checked
//! against the space's ledger and their chains before they are applied through the one write
//! path ([`Store::apply_remote`](crate::Store::apply_remote)). docs/adr/0007 holds the key and
//! envelope design and the threats it answers.
//!
//! # Layout
//!
//! - `state.rs`: what sync keeps in the store (migration 0009).
//! - `identity.rs`: the device's account, key and space; creating an account, recovering one
//!   from its kit.
//! - `batch.rs`: the plaintext of an envelope.
//! - `engine.rs`: the steps without I/O — register, take the ledger, check and apply a page,
//!   check heads, seal the outbox, take an acknowledgement.
//! - `driver.rs`: [`sync_now`], the steps in order with retries, progress and cancel.
//! - `blobs.rs`: document content up and down as blobs, resumable.
//! - `devices.rs`: the account's devices, and revoking one.
//! - `link.rs`: linking a new device with a one-time code (SPAKE2 over the relay).
//! - `transport.rs`: [`Transport`], what the engine asks of the relay; `http.rs`: over HTTP.

mod batch;
mod blobs;
mod devices;
mod driver;
mod engine;
mod http;
mod identity;
mod link;
mod state;
mod transport;

pub use blobs::fetch_document;
pub use devices::{DeviceSummary, devices, revoke_device};
pub use driver::{
    CancelToken, Quiet, RetryPolicy, SyncObserver, SyncPhase, SyncProgress, SyncReport, sync_now,
    sync_store,
};
pub use engine::{MAX_CLOCK_AHEAD_MS, MAX_CLOCK_SKEW_MS};
pub use http::HttpTransport;
pub use identity::Identity;
pub use link::{LINK_TIMEOUT, LinkInvite, finish_link, join, start_link};
pub use transport::Transport;
