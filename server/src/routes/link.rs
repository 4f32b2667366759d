//! The link rendezvous: a device of an account opens a slot, the new device finds it by the
//! slot id in the code it was shown, and the two exchange PAKE messages through it. The relay
//! passes bytes it cannot read; it only keeps the slot to the account that opened it, bounds
//! what each side may post, and throttles the side that has no credential.
//!
//! The device already in the account posts to `existing` and reads `new` (authenticated); the
//! new device posts to `new` and reads `existing` (no credential, rate-limited by address).

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cairn_protocol::api::{LinkMessages, LinkSide, LinkSlot};
use rand::Rng;
use rand::rngs::OsRng;
use serde::Deserialize;

use crate::http::{ApiError, Cbor, Raw};
use crate::relay::{AppState, MAX_LINK_MESSAGE};
use crate::routes::auth::{Caller, LinkPeer};
use crate::storage::{LinkSlotRecord, StorageError};

/// How long a slot stays open (ten minutes).
pub(crate) const SLOT_TTL_MS: u64 = 10 * 60_000;
/// Messages one side may post.
pub(crate) const MAX_MESSAGES_PER_SIDE: u32 = 16;
/// The longest a read waits for a message.
pub(crate) const MAX_WAIT_MS: u64 = 25_000;
/// Characters of a slot id.
pub(crate) const SLOT_LEN: usize = 10;
/// What a slot id is written in: digits and capitals without 0, 1, I, L, O and U, so a code read
/// aloud or typed from a screen has nothing to confuse (30 symbols, about 49 bits a slot).
pub(crate) const SLOT_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

fn new_slot_id() -> String {
    (0..SLOT_LEN)
        .map(|_| char::from(SLOT_ALPHABET[OsRng.gen_range(0..SLOT_ALPHABET.len())]))
        .collect()
}

/// A slot id as typed (case does not matter), or not found: a malformed id is no slot.
fn slot_id(text: &str) -> Result<String, ApiError> {
    let id = text.to_ascii_uppercase();
    if id.len() == SLOT_LEN && id.bytes().all(|b| SLOT_ALPHABET.contains(&b)) {
        Ok(id)
    } else {
        Err(ApiError::not_found("no such link slot"))
    }
}

async fn open_slot(relay: &AppState, slot: &str) -> Result<LinkSlotRecord, ApiError> {
    relay
        .storage
        .link_slot(slot, relay.now())
        .await?
        .ok_or_else(|| ApiError::not_found("no such link slot, or it expired"))
}

/// `POST /v1/link`: a new slot, tied to the caller's account.
pub(crate) async fn open(
    State(relay): State<AppState>,
    caller: Caller,
) -> Result<Cbor<LinkSlot>, ApiError> {
    let expires_ms = relay.now() + SLOT_TTL_MS;
    // A taken id is a one-in-10^14 event; three draws make a failure out of reach.
    for _ in 0..3 {
        let slot = new_slot_id();
        match relay
            .storage
            .open_link(&slot, &caller.account, expires_ms)
            .await
        {
            Ok(()) => return Ok(Cbor(LinkSlot { slot, expires_ms })),
            Err(StorageError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::unavailable(
        &"three link slot ids in a row were taken",
    ))
}

/// `POST /v1/link/{slot}/existing`: a message from a device of the slot's account.
pub(crate) async fn post_existing(
    State(relay): State<AppState>,
    caller: Caller,
    Path(slot): Path<String>,
    Raw(body): Raw,
) -> Result<StatusCode, ApiError> {
    let slot = slot_id(&slot)?;
    if open_slot(&relay, &slot).await?.account != caller.account {
        return Err(ApiError::forbidden("the slot belongs to another account"));
    }
    post(&relay, &slot, LinkSide::Existing, &body).await
}

/// `POST /v1/link/{slot}/new`: a message from the new device.
pub(crate) async fn post_new(
    State(relay): State<AppState>,
    _: LinkPeer,
    Path(slot): Path<String>,
    Raw(body): Raw,
) -> Result<StatusCode, ApiError> {
    let slot = slot_id(&slot)?;
    open_slot(&relay, &slot).await?;
    post(&relay, &slot, LinkSide::New, &body).await
}

async fn post(
    relay: &AppState,
    slot: &str,
    side: LinkSide,
    body: &[u8],
) -> Result<StatusCode, ApiError> {
    if body.len() > MAX_LINK_MESSAGE {
        return Err(ApiError::too_large("a link message is at most 16 KiB"));
    }
    relay
        .storage
        .post_link(slot, side, body, MAX_MESSAGES_PER_SIDE, relay.now())
        .await?;
    relay.link_waiters.get(slot, side.as_str()).notify_waiters();
    Ok(StatusCode::OK)
}

/// The query of a link read.
#[derive(Debug, Deserialize)]
pub(crate) struct ReadQuery {
    /// How many of the side's messages the caller has already.
    #[serde(default)]
    after: u32,
    /// How long to wait for one, if there is none yet.
    #[serde(default)]
    wait_ms: u64,
}

/// `GET /v1/link/{slot}/existing?after=N&wait_ms=W`: the existing device's messages, for the
/// new device.
pub(crate) async fn read_existing(
    State(relay): State<AppState>,
    _: LinkPeer,
    Path(slot): Path<String>,
    Query(query): Query<ReadQuery>,
) -> Result<Cbor<LinkMessages>, ApiError> {
    let slot = slot_id(&slot)?;
    open_slot(&relay, &slot).await?;
    read(&relay, &slot, LinkSide::Existing, query).await
}

/// `GET /v1/link/{slot}/new?after=N&wait_ms=W`: the new device's messages, for a device of the
/// slot's account.
pub(crate) async fn read_new(
    State(relay): State<AppState>,
    caller: Caller,
    Path(slot): Path<String>,
    Query(query): Query<ReadQuery>,
) -> Result<Cbor<LinkMessages>, ApiError> {
    let slot = slot_id(&slot)?;
    if open_slot(&relay, &slot).await?.account != caller.account {
        return Err(ApiError::forbidden("the slot belongs to another account"));
    }
    read(&relay, &slot, LinkSide::New, query).await
}

/// One side's messages from `after`, waiting up to `wait_ms` (at most 25 s) for one to arrive;
/// a relay shutting down answers at once.
async fn read(
    relay: &AppState,
    slot: &str,
    side: LinkSide,
    query: ReadQuery,
) -> Result<Cbor<LinkMessages>, ApiError> {
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(query.wait_ms.min(MAX_WAIT_MS));
    let waiters = relay.link_waiters.get(slot, side.as_str());
    let mut stopping = relay.stopping.clone();
    let mut stop = *stopping.borrow();
    loop {
        // Registered before reading, so a message posted in between still wakes this read.
        let arrived = waiters.notified();
        tokio::pin!(arrived);
        arrived.as_mut().enable();
        let messages = relay.storage.link_messages(slot, side, query.after).await?;
        if !messages.is_empty() || stop || tokio::time::Instant::now() >= deadline {
            return Ok(Cbor(LinkMessages { messages }));
        }
        tokio::select! {
            _ = &mut arrived => {}
            _ = tokio::time::sleep_until(deadline) => {}
            // The only change is to stopping (or the relay is gone altogether).
            _ = stopping.changed() => stop = true,
        }
    }
}
