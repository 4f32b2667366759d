//! The space ledger: an append-only, hash-chained list of signed entries that says who is in a
//! space — its owner account, the account's devices, revocations — and which scope-key epochs
//! exist, each wrapped to the accounts entitled to it.
//!
//! The relay numbers and stores entries but cannot write one that verifies: each is signed by a
//! device the ledger itself certifies (through the owner account's identity key), and each names
//! the hash of the one before. Every client replays the whole chain with [`LedgerState`] before
//! it trusts a key on it, pins the owner's identity key it already knows, and never encrypts to a
//! key the chain does not hold.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::account::{AccountRecord, DeviceCert, check_version};
use crate::bytes::{ByteBuf, Hash32, Key32, Sig64};
use crate::canon::Canon;
use crate::ids::{AccountId, DeviceId, SpaceId};
use crate::keys::VerifyKey;
use crate::{PROTOCOL_VERSION, ProtocolError, Result, Scope};

/// One entry of a space's ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Protocol version.
    pub v: u16,
    /// The space.
    pub space: SpaceId,
    /// Its position: 0 for the genesis entry, then one more each time.
    pub index: u64,
    /// The hash of the entry before ([`Hash32::ZERO`] for the genesis entry).
    pub prev: Hash32,
    /// The device that wrote and signed it.
    pub author: DeviceId,
    /// What it says.
    pub body: LedgerBody,
    /// The author device's signature over [`LedgerEntry::signed_bytes`].
    pub sig: Sig64,
}

/// What a ledger entry says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LedgerBody {
    /// The space begins: its owner account and the device that created it.
    Genesis {
        /// The owner's public keys.
        owner: AccountRecord,
        /// The creating device's certificate under the owner's account.
        device: DeviceCert,
    },
    /// A device of a member joins (certified by its account).
    AddDevice {
        /// The device's certificate.
        cert: DeviceCert,
    },
    /// A device is revoked: nothing it writes after batch `last_seq` is accepted.
    RevokeDevice {
        /// The device.
        device: DeviceId,
        /// Its last batch that stays valid (0 for none).
        last_seq: u64,
    },
    /// A new epoch of a scope's key, wrapped to every account entitled to the scope.
    ScopeKey {
        /// The scope.
        scope: Scope,
        /// The epoch: higher than every earlier epoch of the scope.
        epoch: u32,
        /// One wrap per entitled account.
        wraps: Vec<KeyWrap>,
    },
}

/// A scope key wrapped to one account's key-agreement key with HPKE (RFC 9180, base mode,
/// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305), its `info` and associated data
/// binding space, scope, epoch and recipient ([`KeyWrap::info`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyWrap {
    /// The recipient account.
    pub account: AccountId,
    /// HPKE's encapsulated key.
    pub enc: Key32,
    /// The sealed 32-byte scope key.
    pub ct: ByteBuf,
}

impl KeyWrap {
    /// The HPKE `info` (and associated data) of a wrap: a wrap moved to another space, scope,
    /// epoch or recipient does not open.
    pub fn info(space: &SpaceId, scope: Scope, epoch: u32, recipient: &AccountId) -> Vec<u8> {
        Canon::new("cairn/v1/scope-key")
            .u16(PROTOCOL_VERSION)
            .str(space.as_str())
            .u8(scope.tag())
            .u32(epoch)
            .str(recipient.as_str())
            .finish()
    }
}

impl LedgerEntry {
    /// What the author device signs.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut c = Canon::new("cairn/v1/ledger-entry");
        c.u16(self.v)
            .str(self.space.as_str())
            .u64(self.index)
            .fixed(&self.prev.0)
            .str(self.author.as_str());
        match &self.body {
            LedgerBody::Genesis { owner, device } => {
                c.u8(1);
                owner.canon(&mut c);
                device.canon(&mut c);
            }
            LedgerBody::AddDevice { cert } => {
                c.u8(2);
                cert.canon(&mut c);
            }
            LedgerBody::RevokeDevice { device, last_seq } => {
                c.u8(3).str(device.as_str()).u64(*last_seq);
            }
            LedgerBody::ScopeKey {
                scope,
                epoch,
                wraps,
            } => {
                c.u8(4).u8(scope.tag()).u32(*epoch).u32(wraps.len() as u32);
                for w in wraps {
                    c.str(w.account.as_str()).fixed(&w.enc.0).bytes(&w.ct);
                }
            }
        }
        c.into_bytes()
    }

    /// The entry's hash, which the next entry names as `prev`.
    pub fn hash(&self) -> Hash32 {
        let mut bytes = self.signed_bytes();
        bytes.extend_from_slice(&self.sig.0);
        Hash32::of(&bytes)
    }
}

/// A device as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerDevice {
    /// Its certificate.
    pub cert: DeviceCert,
    /// Set once revoked: its last batch that stays valid.
    pub revoked_after: Option<u64>,
}

/// An account in the space and the scopes it may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its public keys.
    pub record: AccountRecord,
    /// The scopes it is entitled to.
    pub scopes: BTreeSet<Scope>,
    /// Whether it owns the space (may change membership and keys).
    pub owner: bool,
}

/// The state a verified ledger describes, built by replaying it from the genesis entry. Only
/// entries that follow every rule get in; the first that does not stops the replay with an
/// error naming its index and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerState {
    space: SpaceId,
    members: BTreeMap<AccountId, Member>,
    devices: BTreeMap<DeviceId, LedgerDevice>,
    /// Every epoch of every scope, with its wraps.
    epochs: BTreeMap<(Scope, u32), Vec<KeyWrap>>,
    len: u64,
    head: Hash32,
}

impl LedgerState {
    /// Starts from a genesis entry whose owner must have the identity key `owner_key` (the key
    /// the client already knows: its own account's, or the one an invitation showed). `None`
    /// accepts any owner — only for the relay, which pins nothing and whose checks are a
    /// courtesy.
    pub fn genesis(entry: &LedgerEntry, owner_key: Option<&VerifyKey>) -> Result<Self> {
        let refuse = |reason: &str| ProtocolError::Ledger {
            index: entry.index,
            reason: reason.to_owned(),
        };
        check_version(entry.v)?;
        let LedgerBody::Genesis { owner, device } = &entry.body else {
            return Err(refuse("the first entry must be the genesis entry"));
        };
        if entry.index != 0 || entry.prev != Hash32::ZERO {
            return Err(refuse(
                "the genesis entry must be entry 0 with no predecessor",
            ));
        }
        owner.verify()?;
        if owner_key.is_some_and(|k| *k != owner.sign) {
            return Err(refuse(
                "the owner's identity key is not the one this client knows",
            ));
        }
        device.verify(owner)?;
        if entry.author != device.device {
            return Err(refuse(
                "the genesis entry must be signed by the device it certifies",
            ));
        }
        device
            .key
            .verify(&entry.signed_bytes(), &entry.sig, "ledger entry")?;
        let mut members = BTreeMap::new();
        members.insert(
            owner.account.clone(),
            Member {
                record: owner.clone(),
                scopes: Scope::ALL.into_iter().collect(),
                owner: true,
            },
        );
        let mut devices = BTreeMap::new();
        devices.insert(
            device.device.clone(),
            LedgerDevice {
                cert: device.clone(),
                revoked_after: None,
            },
        );
        Ok(Self {
            space: entry.space.clone(),
            members,
            devices,
            epochs: BTreeMap::new(),
            len: 1,
            head: entry.hash(),
        })
    }

    /// Replays a whole ledger: see [`LedgerState::genesis`] and [`LedgerState::apply`].
    pub fn replay(entries: &[LedgerEntry], owner_key: Option<&VerifyKey>) -> Result<Self> {
        let (first, rest) = entries.split_first().ok_or(ProtocolError::Ledger {
            index: 0,
            reason: "the ledger is empty".into(),
        })?;
        let mut state = Self::genesis(first, owner_key)?;
        for entry in rest {
            state.apply(entry)?;
        }
        Ok(state)
    }

    /// Applies the next entry, or refuses it and changes nothing.
    pub fn apply(&mut self, entry: &LedgerEntry) -> Result<()> {
        let refuse = |reason: &str| ProtocolError::Ledger {
            index: entry.index,
            reason: reason.to_owned(),
        };
        check_version(entry.v)?;
        if entry.space != self.space {
            return Err(refuse("it belongs to another space"));
        }
        if entry.index != self.len {
            return Err(refuse("it is not the next entry"));
        }
        if entry.prev != self.head {
            return Err(refuse("it does not follow the entry before it"));
        }
        // The author signs with a device key the ledger certifies; a device may introduce
        // itself, with a certificate its owner account signed.
        let (author_key, author_account) = match (&entry.body, self.devices.get(&entry.author)) {
            (_, Some(d)) if d.revoked_after.is_none() => (d.cert.key, d.cert.account.clone()),
            (_, Some(_)) => return Err(refuse("its author device is revoked")),
            (LedgerBody::AddDevice { cert }, None) if cert.device == entry.author => {
                (cert.key, cert.account.clone())
            }
            (_, None) => return Err(refuse("its author device is not on the ledger")),
        };
        if !self.members.get(&author_account).is_some_and(|m| m.owner) {
            return Err(refuse("only the owner's devices may write the ledger"));
        }
        author_key.verify(&entry.signed_bytes(), &entry.sig, "ledger entry")?;
        match &entry.body {
            LedgerBody::Genesis { .. } => return Err(refuse("a space has one genesis entry")),
            LedgerBody::AddDevice { cert } => {
                let member = self
                    .members
                    .get(&cert.account)
                    .ok_or_else(|| refuse("the device's account is not a member"))?;
                cert.verify(&member.record)?;
                if self.devices.contains_key(&cert.device) {
                    return Err(refuse("the device is already on the ledger"));
                }
                self.devices.insert(
                    cert.device.clone(),
                    LedgerDevice {
                        cert: cert.clone(),
                        revoked_after: None,
                    },
                );
            }
            LedgerBody::RevokeDevice { device, last_seq } => {
                let d = self
                    .devices
                    .get_mut(device)
                    .ok_or_else(|| refuse("the revoked device is not on the ledger"))?;
                if d.revoked_after.is_some() {
                    return Err(refuse("the device is already revoked"));
                }
                d.revoked_after = Some(*last_seq);
            }
            LedgerBody::ScopeKey {
                scope,
                epoch,
                wraps,
            } => {
                if self.current_epoch(*scope).is_some_and(|e| *epoch <= e) || *epoch == 0 {
                    return Err(refuse("a scope's epochs only go up, from 1"));
                }
                let entitled: BTreeSet<&AccountId> = self
                    .members
                    .iter()
                    .filter(|(_, m)| m.scopes.contains(scope))
                    .map(|(a, _)| a)
                    .collect();
                let wrapped: BTreeSet<&AccountId> = wraps.iter().map(|w| &w.account).collect();
                if wrapped.len() != wraps.len() {
                    return Err(refuse("an account has two wraps"));
                }
                if wrapped != entitled {
                    return Err(refuse(
                        "the key must be wrapped to exactly the accounts entitled to the scope",
                    ));
                }
                self.epochs.insert((*scope, *epoch), wraps.clone());
            }
        }
        self.len += 1;
        self.head = entry.hash();
        Ok(())
    }

    /// The space.
    pub fn space(&self) -> &SpaceId {
        &self.space
    }

    /// How many entries were replayed.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no entry was replayed (never, once built).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The hash of the last entry, which the next must name.
    pub fn head(&self) -> Hash32 {
        self.head
    }

    /// The owner's public keys.
    pub fn owner(&self) -> &AccountRecord {
        &self
            .members
            .values()
            .find(|m| m.owner)
            .expect("a ledger has its genesis owner")
            .record
    }

    /// The members, by account.
    pub fn members(&self) -> &BTreeMap<AccountId, Member> {
        &self.members
    }

    /// Every device the ledger has certified, revoked ones included.
    pub fn devices(&self) -> &BTreeMap<DeviceId, LedgerDevice> {
        &self.devices
    }

    /// The key batch `seq` of `device` must be signed with, when the ledger accepts that batch:
    /// the device is certified and was not revoked before it.
    pub fn batch_key(&self, device: &DeviceId, seq: u64) -> Option<(&VerifyKey, &AccountId)> {
        let d = self.devices.get(device)?;
        match d.revoked_after {
            Some(last) if seq > last => None,
            _ => Some((&d.cert.key, &d.cert.account)),
        }
    }

    /// The newest epoch of `scope`, if it has one.
    pub fn current_epoch(&self, scope: Scope) -> Option<u32> {
        self.epochs
            .range((scope, 0)..=(scope, u32::MAX))
            .next_back()
            .map(|((_, e), _)| *e)
    }

    /// The wrap of `scope`'s key at `epoch` for `account`.
    pub fn wrap(&self, scope: Scope, epoch: u32, account: &AccountId) -> Option<&KeyWrap> {
        self.epochs
            .get(&(scope, epoch))?
            .iter()
            .find(|w| &w.account == account)
    }

    /// Every epoch of every scope.
    pub fn epochs(&self) -> impl Iterator<Item = (Scope, u32)> + '_ {
        self.epochs.keys().copied()
    }
}
