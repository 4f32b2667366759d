//! Cairn's sync relay. It stores what devices seal and sign — account and device certificates,
//! each space's ledger, envelopes, blobs — and hands it out to the devices entitled to it. It
//! is assumed malicious: it holds no key, can read no record and forge nothing a client would
//! accept. It checks signatures anyway, to refuse junk early and to keep one device from
//! writing as another, and it numbers each space's envelopes so devices can pull by cursor.
//!
//! # Layout
//!
//! - [`config`]: what a relay is started with — data directory, limits, the injected clock.
//! - [`storage`]: the [`storage::Storage`] trait (accounts, devices, challenges and tokens,
//!   ledgers, envelopes, blob records, link slots), its SQLite implementation, and the
//!   conformance suite every backend passes.
//! - [`blobs`]: the [`blobs::BlobStore`] trait for blob bytes and its filesystem implementation.
//! - `relay`: the state every handler shares, the router (body limits, timeouts, layers) and
//!   the upkeep task.
//! - `http`: CBOR bodies, the error answer, the protocol-version layer, request logs and
//!   counts.
//! - `spaces`: each space's replayed ledger, and who may act on the space.
//! - `routes`: the handlers — health and metrics, auth (and the extractors that check a
//!   caller), accounts and devices, spaces and ledgers, envelopes, blobs, link.
//! - `rate`: token buckets per device or peer address.
//! - `metrics`: the counters behind `GET /metrics`.
//! - [`thread`]: [`RelayThread`], a relay on a thread and runtime of its own, for a program
//!   that is not async (`cairn demo`, the tests).
//!
//! [`run`] starts a relay on a listener the caller bound (tests bind `127.0.0.1:0`);
//! `protocol/README.md` documents every endpoint.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use cairn_protocol::{ProtocolError, SpaceId};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub mod blobs;
pub mod config;
mod http;
mod metrics;
mod rate;
mod relay;
mod routes;
mod spaces;
pub mod storage;
pub mod thread;

pub use config::{Clock, Config, Limits, Rate, system_clock};
pub use thread::RelayThread;

use blobs::{BlobError, BlobStore, FsBlobStore};
use storage::{SqliteStorage, Storage, StorageError};

/// Why a relay could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The blob store failed.
    #[error(transparent)]
    Blobs(#[from] BlobError),
    /// A stored ledger no longer verifies: the database was changed behind the relay's back.
    #[error("space {space}'s stored ledger does not verify: {reason}")]
    Ledger {
        /// The space.
        space: SpaceId,
        /// What does not verify.
        reason: ProtocolError,
    },
    /// The listener or the data directory failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Runs a relay on `listener` with SQLite (`DATA_DIR/relay.db`) and blob files
/// (`DATA_DIR/blobs/`), creating them if needed, until `shutdown` completes; requests in flight
/// are then finished before it returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    std::fs::create_dir_all(&config.data_dir)?;
    let storage = SqliteStorage::open(&config.database_path())?;
    let blobs = FsBlobStore::open(&config.blob_dir())?;
    serve(
        listener,
        config,
        Arc::new(storage),
        Arc::new(blobs),
        shutdown,
    )
    .await
}

/// Runs a relay on `listener` over any storage and blob store (see [`run`]).
pub async fn serve(
    listener: TcpListener,
    config: Config,
    storage: Arc<dyn Storage>,
    blobs: Arc<dyn BlobStore>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let spaces = spaces::Spaces::load(storage.as_ref()).await?;
    let (stop, stopping) = watch::channel(false);
    tracing::info!(
        addr = %listener.local_addr()?,
        spaces = spaces.len(),
        "relay listening"
    );
    let state = Arc::new(relay::Relay::new(
        storage,
        blobs,
        spaces,
        config.limits,
        config.clock,
        stopping,
    ));
    let upkeep = tokio::spawn(relay::upkeep(state.clone()));
    let app = relay::router(state);
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("relay stopping; finishing requests in flight");
        let _ = stop.send(true);
    })
    .await;
    let _ = upkeep.await;
    served?;
    tracing::info!("relay stopped");
    Ok(())
}
