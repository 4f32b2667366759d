//! The running relay: what every request handler shares, the router that reaches them, and the
//! upkeep that runs beside them.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{MethodRouter, get, post};
use cairn_protocol::api::{MAX_CHUNK_BYTES, MAX_PUSH_BYTES, MAX_SMALL_BODY, paths};
use cairn_protocol::{Hash32, SpaceId};
use tokio::sync::{Notify, OwnedMutexGuard, watch};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::blobs::BlobStore;
use crate::config::{Clock, Limits};
use crate::http::{observe, protocol};
use crate::metrics::Metrics;
use crate::rate::RateLimiter;
use crate::routes::{accounts, auth, blobs, envelopes, health, link, spaces};
use crate::spaces::Spaces;
use crate::storage::Storage;

/// The shared state of a running relay.
pub(crate) type AppState = Arc<Relay>;

/// What every handler reaches.
pub(crate) struct Relay {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) spaces: Spaces,
    pub(crate) limits: Limits,
    clock: Clock,
    pub(crate) device_rate: RateLimiter,
    pub(crate) anonymous_rate: RateLimiter,
    pub(crate) link_rate: RateLimiter,
    pub(crate) metrics: Metrics,
    pub(crate) link_waiters: Waiters,
    pub(crate) blob_locks: BlobLocks,
    /// Turns true when the relay begins to shut down: long polls answer at once.
    pub(crate) stopping: watch::Receiver<bool>,
}

impl Relay {
    pub(crate) fn new(
        storage: Arc<dyn Storage>,
        blobs: Arc<dyn BlobStore>,
        spaces: Spaces,
        limits: Limits,
        clock: Clock,
        stopping: watch::Receiver<bool>,
    ) -> Self {
        Relay {
            storage,
            blobs,
            spaces,
            device_rate: RateLimiter::new(limits.device_rate),
            anonymous_rate: RateLimiter::new(limits.anonymous_rate),
            link_rate: RateLimiter::new(limits.link_new_rate),
            limits,
            clock,
            metrics: Metrics::default(),
            link_waiters: Waiters::default(),
            blob_locks: BlobLocks::default(),
            stopping,
        }
    }

    /// The relay's time, in milliseconds since the epoch.
    pub(crate) fn now(&self) -> u64 {
        (self.clock)()
    }
}

/// Wakes long polls on a link slot's side when a message arrives there.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    map: Mutex<HashMap<(String, &'static str), Arc<Notify>>>,
}

impl Waiters {
    /// The notifier of one side of a slot.
    pub(crate) fn get(&self, slot: &str, side: &'static str) -> Arc<Notify> {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((slot.to_owned(), side))
            .or_default()
            .clone()
    }

    /// Forgets notifiers nobody waits on.
    fn forget_idle(&self) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, n| Arc::strong_count(n) > 1);
    }
}

/// A blob, by its space and hash.
type BlobKey = (SpaceId, Hash32);

/// One lock per blob, so a blob's chunks and its completion run one at a time.
#[derive(Debug, Default)]
pub(crate) struct BlobLocks {
    map: Mutex<HashMap<BlobKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl BlobLocks {
    pub(crate) async fn lock(&self, space: &SpaceId, hash: &Hash32) -> OwnedMutexGuard<()> {
        let lock = self
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((space.clone(), *hash))
            .or_default()
            .clone();
        lock.lock_owned().await
    }

    fn forget_idle(&self) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, l| Arc::strong_count(l) > 1);
    }
}

/// The size of a link message's body.
pub(crate) const MAX_LINK_MESSAGE: usize = 16 << 10;

/// Every route, with its body limit and timeout, under the layers every request passes.
pub(crate) fn router(relay: AppState) -> Router {
    let limits = relay.limits.clone();
    let bounded = |route: MethodRouter<AppState>, body: usize, timeout: Duration| {
        route
            .layer::<_, Infallible>(RequestBodyLimitLayer::new(body))
            .layer::<_, Infallible>(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                timeout,
            ))
    };
    let small = |route| bounded(route, MAX_SMALL_BODY, limits.request_timeout);
    Router::new()
        .route(paths::HEALTH, small(get(health::health)))
        .route(paths::METRICS, small(get(health::metrics)))
        .route(paths::AUTH_CHALLENGE, small(post(auth::challenge)))
        .route(paths::AUTH_TOKEN, small(post(auth::token)))
        .route(paths::ACCOUNTS, small(post(accounts::create)))
        .route(paths::DEVICES, small(post(accounts::register)))
        .route(paths::MY_DEVICES, small(get(accounts::mine)))
        .route("/v1/devices/{device}/revoke", small(post(accounts::revoke)))
        .route(paths::SPACES, small(post(spaces::create)))
        .route(
            "/v1/spaces/{space}/ledger",
            small(get(spaces::ledger).post(spaces::append)),
        )
        .route(
            "/v1/spaces/{space}/envelopes",
            bounded(
                post(envelopes::push).get(envelopes::pull),
                MAX_PUSH_BYTES,
                limits.transfer_timeout,
            ),
        )
        .route(
            "/v1/spaces/{space}/blobs/{hash}",
            bounded(
                get(blobs::read).put(blobs::append).post(blobs::complete),
                MAX_CHUNK_BYTES,
                limits.transfer_timeout,
            ),
        )
        .route(paths::LINK, small(post(link::open)))
        .route(
            "/v1/link/{slot}/existing",
            bounded(
                post(link::post_existing).get(link::read_existing),
                MAX_LINK_MESSAGE,
                limits.request_timeout,
            ),
        )
        .route(
            "/v1/link/{slot}/new",
            bounded(
                post(link::post_new).get(link::read_new),
                MAX_LINK_MESSAGE,
                limits.request_timeout,
            ),
        )
        // Each route's own limit above is the one that applies.
        .layer(DefaultBodyLimit::disable())
        .layer(from_fn(protocol))
        // Outermost, so what is logged and counted is what the client got, 426s included.
        .layer(from_fn_with_state(relay.clone(), observe))
        .with_state(relay)
}

/// Every half minute: forget expired challenges, tokens and slots, and idle buckets and locks.
pub(crate) async fn upkeep(relay: AppState) {
    let mut stopping = relay.stopping.clone();
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopping.changed() => return,
        }
        let now = relay.now();
        if let Err(e) = relay.storage.sweep(now).await {
            tracing::warn!(error = %e, "sweeping expired credentials failed");
        }
        relay.device_rate.forget_idle(now);
        relay.anonymous_rate.forget_idle(now);
        relay.link_rate.forget_idle(now);
        relay.link_waiters.forget_idle();
        relay.blob_locks.forget_idle();
    }
}
