//! Each space's ledger, replayed: who is a member, which device keys sign which batches.
//!
//! The relay replays every stored ledger when it starts and keeps the result; an append
//! replaces it under the space's write lock, after storage took the entry. Reads and pushes
//! hold the read lock while they work, so a push is checked against the ledger it is stored
//! under: a revocation cannot land between the check and the commit.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use cairn_protocol::{AccountId, DeviceId, LedgerEntry, LedgerState, SpaceId};

use crate::http::ApiError;
use crate::storage::Storage;
use crate::{Error, Result};

/// A space's replayed ledger, behind its lock.
pub(crate) type SpaceLedger = Arc<tokio::sync::RwLock<LedgerState>>;

/// The replayed ledger of every space.
#[derive(Debug, Default)]
pub(crate) struct Spaces {
    map: RwLock<HashMap<SpaceId, SpaceLedger>>,
}

impl Spaces {
    /// Replays every stored ledger. A ledger that no longer verifies stops the relay: it was
    /// verified when stored, so the database was changed behind the relay's back.
    pub(crate) async fn load(storage: &dyn Storage) -> Result<Self> {
        let mut map = HashMap::new();
        for space in storage.spaces().await? {
            let mut entries: Vec<LedgerEntry> = Vec::new();
            loop {
                let page = storage.ledger(&space, entries.len() as u64).await?;
                if page.is_empty() {
                    break;
                }
                entries.extend(page);
            }
            let state = LedgerState::replay(&entries, None).map_err(|reason| Error::Ledger {
                space: space.clone(),
                reason,
            })?;
            map.insert(space, Arc::new(tokio::sync::RwLock::new(state)));
        }
        Ok(Spaces {
            map: RwLock::new(map),
        })
    }

    /// A space's ledger, if the space exists.
    pub(crate) fn get(&self, space: &SpaceId) -> Result<SpaceLedger, ApiError> {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(space)
            .cloned()
            .ok_or_else(|| ApiError::not_found("no such space"))
    }

    /// Keeps a new space's ledger (a space created twice keeps the first).
    pub(crate) fn insert(&self, state: LedgerState) {
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(state.space().clone())
            .or_insert_with(|| Arc::new(tokio::sync::RwLock::new(state)));
    }

    /// How many spaces there are.
    pub(crate) fn len(&self) -> usize {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// Refuses a device that may not act on the space: its account is not a member, or the
/// ledger revoked it.
pub(crate) fn check_member(
    state: &LedgerState,
    account: &AccountId,
    device: &DeviceId,
) -> Result<(), ApiError> {
    if !state.members().contains_key(account) {
        return Err(ApiError::forbidden("not a member of this space"));
    }
    if state
        .devices()
        .get(device)
        .is_some_and(|d| d.revoked_after.is_some())
    {
        return Err(ApiError::forbidden(
            "the space's ledger revoked this device",
        ));
    }
    Ok(())
}
