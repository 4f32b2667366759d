//! Spaces and their ledgers: creation from a genesis entry, reading, appending.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cairn_protocol::api::{AppendLedger, CreateSpace, LedgerPage};
use cairn_protocol::{LedgerBody, LedgerState, SpaceId};
use serde::Deserialize;

use crate::http::{ApiError, Cbor};
use crate::relay::AppState;
use crate::routes::auth::Caller;
use crate::spaces::check_member;

/// Parses a space id from a path.
pub(crate) fn space_id(text: &str) -> Result<SpaceId, ApiError> {
    Ok(SpaceId::parse(text)?)
}

/// `POST /v1/spaces`: a space from its genesis entry, written by the calling device for its
/// own account.
pub(crate) async fn create(
    State(relay): State<AppState>,
    caller: Caller,
    Cbor(req): Cbor<CreateSpace>,
) -> Result<StatusCode, ApiError> {
    let genesis = req.genesis;
    if genesis.author != caller.device {
        return Err(ApiError::forbidden(
            "the genesis entry must be written by the calling device",
        ));
    }
    let Some(account) = relay.storage.account(&caller.account).await? else {
        return Err(ApiError::unauthenticated("the caller's account is gone"));
    };
    let state = LedgerState::genesis(&genesis, Some(&account.sign))?;
    // The ledger must certify the key the caller authenticates with, not another.
    let registered = relay.storage.device(&caller.device).await?;
    let LedgerBody::Genesis { device, .. } = &genesis.body else {
        return Err(ApiError::invalid(
            "the first entry must be the genesis entry",
        ));
    };
    if registered.is_none_or(|r| r.cert.key != device.key) {
        return Err(ApiError::invalid(
            "the genesis entry certifies another key for the calling device",
        ));
    }
    relay.storage.create_space(&genesis).await?;
    relay.spaces.insert(state);
    Ok(StatusCode::OK)
}

/// The query of `GET …/ledger`.
#[derive(Debug, Deserialize)]
pub(crate) struct LedgerQuery {
    /// The first index wanted.
    #[serde(default)]
    from: u64,
}

/// `GET /v1/spaces/{space}/ledger?from=N`: entries from index N, for members' devices.
pub(crate) async fn ledger(
    State(relay): State<AppState>,
    caller: Caller,
    Path(space): Path<String>,
    Query(query): Query<LedgerQuery>,
) -> Result<Cbor<LedgerPage>, ApiError> {
    let space = space_id(&space)?;
    let ledger = relay.spaces.get(&space)?;
    let state = ledger.read().await;
    check_member(&state, &caller.account, &caller.device)?;
    let entries = if query.from < state.len() {
        relay.storage.ledger(&space, query.from).await?
    } else {
        Vec::new()
    };
    Ok(Cbor(LedgerPage {
        entries,
        len: state.len(),
    }))
}

/// `POST /v1/spaces/{space}/ledger`: the next entry, if the ledger's rules accept it.
pub(crate) async fn append(
    State(relay): State<AppState>,
    caller: Caller,
    Path(space): Path<String>,
    Cbor(req): Cbor<AppendLedger>,
) -> Result<StatusCode, ApiError> {
    let space = space_id(&space)?;
    let entry = req.entry;
    if entry.space != space {
        return Err(ApiError::invalid("the entry names another space"));
    }
    let ledger = relay.spaces.get(&space)?;
    let mut state = ledger.write().await;
    check_member(&state, &caller.account, &caller.device)?;
    if entry.index != state.len() {
        return Err(ApiError::conflict(
            "the entry's index is not the ledger's length",
        ));
    }
    let mut next = state.clone();
    next.apply(&entry)?;
    relay.storage.append_ledger(&entry).await?;
    *state = next;
    Ok(StatusCode::OK)
}
