//! Envelopes: a device pushes its batches, every member's device pulls the space's sequence.

use axum::extract::{Path, Query, State};
use cairn_protocol::api::{
    MAX_ENVELOPE_BYTES, MAX_PULL_ENVELOPES, MAX_PUSH_ENVELOPES, PullPage, PushRequest, PushResponse,
};
use cairn_protocol::{Envelope, VerifyKey};
use serde::Deserialize;

use crate::http::{ApiError, Cbor};
use crate::relay::AppState;
use crate::routes::auth::Caller;
use crate::routes::spaces::space_id;
use crate::spaces::check_member;

/// Envelopes a pull page holds when the caller names no limit.
pub(crate) const DEFAULT_PULL_ENVELOPES: u32 = 500;
/// About how many bytes of envelopes a pull page holds (at least one envelope).
pub(crate) const PULL_PAGE_BYTES: usize = 4 << 20;

/// `POST /v1/spaces/{space}/envelopes`: the caller's batches, each signed by the key the
/// ledger certifies for it, continuing its chain. Answered once they are committed.
pub(crate) async fn push(
    State(relay): State<AppState>,
    caller: Caller,
    Path(space): Path<String>,
    Cbor(req): Cbor<PushRequest>,
) -> Result<Cbor<PushResponse>, ApiError> {
    let space = space_id(&space)?;
    let envelopes = req.envelopes;
    if envelopes.len() > MAX_PUSH_ENVELOPES {
        return Err(ApiError::too_large("too many envelopes in one push"));
    }
    if envelopes.iter().any(|e| e.ct.len() > MAX_ENVELOPE_BYTES) {
        return Err(ApiError::too_large(
            "an envelope is larger than the relay stores",
        ));
    }
    let ledger = relay.spaces.get(&space)?;
    // Held until the push is committed: the ledger cannot revoke the device in between.
    let state = ledger.read().await;
    check_member(&state, &caller.account, &caller.device)?;
    let mut keys = Vec::with_capacity(envelopes.len());
    for e in &envelopes {
        if e.header.space != space {
            return Err(ApiError::invalid("an envelope names another space"));
        }
        if e.header.device != caller.device {
            return Err(ApiError::forbidden(
                "an envelope names another device than the caller",
            ));
        }
        let Some((key, _)) = state.batch_key(&caller.device, e.header.seq) else {
            return Err(ApiError::forbidden(
                "the space's ledger does not accept this batch from this device",
            ));
        };
        keys.push(*key);
    }
    let envelopes = verify_all(envelopes, keys).await?;
    let accepted = relay
        .storage
        .push(&space, &caller.device, envelopes)
        .await?;
    drop(state);
    Ok(Cbor(PushResponse {
        accepted,
        server_time_ms: relay.now(),
    }))
}

/// Checks every envelope's signature off the async workers (a full push is a few hundred
/// signatures).
async fn verify_all(
    envelopes: Vec<Envelope>,
    keys: Vec<VerifyKey>,
) -> Result<Vec<Envelope>, ApiError> {
    tokio::task::spawn_blocking(move || {
        for (e, key) in envelopes.iter().zip(&keys) {
            e.verify(key)?;
        }
        Ok(envelopes)
    })
    .await
    .map_err(|e| ApiError::unavailable(&e))?
}

/// The query of `GET …/envelopes`.
#[derive(Debug, Deserialize)]
pub(crate) struct PullQuery {
    /// The last space sequence number the caller has.
    #[serde(default)]
    after: u64,
    /// Envelopes wanted at most.
    limit: Option<u32>,
}

/// `GET /v1/spaces/{space}/envelopes?after=N&limit=M`: the space's envelopes after N, with
/// every device's head so the caller can tell whether anything is held back.
pub(crate) async fn pull(
    State(relay): State<AppState>,
    caller: Caller,
    Path(space): Path<String>,
    Query(query): Query<PullQuery>,
) -> Result<Cbor<PullPage>, ApiError> {
    let space = space_id(&space)?;
    let limit = query
        .limit
        .unwrap_or(DEFAULT_PULL_ENVELOPES)
        .clamp(1, MAX_PULL_ENVELOPES);
    let ledger = relay.spaces.get(&space)?;
    let state = ledger.read().await;
    check_member(&state, &caller.account, &caller.device)?;
    // Heads first: a push landing in between then shows in the page, never only in the heads,
    // so a head is never ahead of everything the relay was willing to hand out.
    let heads = relay.storage.heads(&space).await?;
    let page = relay
        .storage
        .pull(&space, query.after, limit, PULL_PAGE_BYTES)
        .await?;
    let next_after = page.envelopes.last().map_or(query.after, |e| e.seq);
    Ok(Cbor(PullPage {
        envelopes: page.envelopes,
        next_after,
        more: page.more,
        heads,
        ledger_len: state.len(),
        server_time_ms: relay.now(),
    }))
}
