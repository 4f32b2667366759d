//! Cairn's sync relay. It stores what devices seal and sign — account and device certificates,
//! each space's ledger, envelopes, blobs — and hands it out to the devices entitled to it. It
//! is assumed malicious: it holds no key, can read no record and forge nothing a client would
//! accept.
//!
//! # Layout
//!
//! - [`config`]: what a relay is started with — data directory, limits, the injected clock.
//! - [`storage`]: the [`storage::Storage`] trait (accounts, devices, challenges and tokens,
//!   ledgers, envelopes, blob records, link slots), its SQLite implementation, and the
//!   conformance suite every backend passes.
//! - [`blobs`]: the [`blobs::BlobStore`] trait for blob bytes and its filesystem implementation.

pub mod blobs;
pub mod config;
pub mod storage;

pub use config::{Clock, Config, Limits, Rate, system_clock};

use blobs::BlobError;
use storage::StorageError;

/// Why a relay could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The blob store failed.
    #[error(transparent)]
    Blobs(#[from] BlobError),
    /// The listener or the data directory failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
