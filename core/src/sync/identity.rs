//! Who this device is in sync: its account's keys, its own key and certificate, the space, the
//! relay; and the three ways a store comes to have them — creating an account, recovering one
//! from its kit, or being linked by a device that has one (`link.rs`).

use std::sync::Arc;

use cairn_protocol::{
    AccountId, DeviceCert, DeviceId, Hash32, LedgerBody, Scope, SpaceId, VerifyKey,
};
use zeroize::Zeroizing;

use super::state::{self, ACCOUNT_SECRET, DEVICE_KEY, Place};
use crate::crypto::{AccountKeys, DeviceKey, ScopeKey, recovery};
use crate::error::{Error, Result};
use crate::store::{Store, meta_get, meta_set};

/// `meta`: the owner's identity key this device pins (hex).
const OWNER_KEY: &str = "sync_owner_key";
/// `meta`: set once the relay knows this device.
pub(crate) const REGISTERED: &str = "sync_registered";

/// This device's identity in sync. Holds secrets: never logged, never across the FFI.
#[derive(Debug)]
pub struct Identity {
    /// The relay's address.
    pub relay: String,
    /// The space this store holds.
    pub space: SpaceId,
    /// The account's keys.
    pub account: AccountKeys,
    /// This device's key.
    pub device: Arc<DeviceKey>,
    /// The owner identity key this device trusts the ledger to begin with.
    pub owner_key: VerifyKey,
}

impl Identity {
    /// This device's certificate under its account.
    pub fn cert(&self, issued_ms: u64) -> DeviceCert {
        self.account.certify(&self.device, issued_ms)
    }
}

impl Store {
    /// This store's sync identity; [`Error::NotFound`] before an account was created, recovered
    /// or linked.
    pub fn sync_identity(&self) -> Result<Identity> {
        let conn = self.conn();
        let none = || Error::NotFound {
            entity: "sync account (create one, link this device, or recover from a kit)",
        };
        let secret = state::secret(conn, ACCOUNT_SECRET)?.ok_or_else(none)?;
        let device_secret = state::secret(conn, DEVICE_KEY)?.ok_or_else(none)?;
        let relay = state::relay(conn)?.ok_or_else(none)?;
        let corrupt = |what: &str| Error::Corrupt(format!("the stored {what}"));
        let account = AccountId::parse(self.account_id()).map_err(|_| corrupt("account id"))?;
        let space = SpaceId::parse(self.space_id()).map_err(|_| corrupt("space id"))?;
        let device =
            DeviceId::parse(self.device_id().as_str()).map_err(|_| corrupt("device id"))?;
        let owner_key = meta_get(conn, OWNER_KEY)?
            .map(|hex| cairn_protocol::Key32::from_hex(&hex).map(VerifyKey))
            .transpose()
            .map_err(|_| corrupt("owner key"))?
            .ok_or_else(none)?;
        Ok(Identity {
            relay,
            space,
            account: AccountKeys::from_secret(account, &secret),
            device: Arc::new(DeviceKey::from_secret(device, &device_secret)),
            owner_key,
        })
    }

    /// Creates this patient's account on `relay` with this device as its first: account and
    /// device keys, the space's ledger (its genesis entry and a key for each scope, wrapped to
    /// the account). Everything is written here first; the next sync registers it with the
    /// relay and pushes what the store holds, so a relay that cannot be reached now loses
    /// nothing. Returns the recovery kit's text, for the person to print and keep.
    pub fn create_account(&self, relay: &str) -> Result<Zeroizing<String>> {
        if self.sync_enabled()? {
            return Err(Error::Conflict(
                "this store already belongs to a sync account".into(),
            ));
        }
        let account_id = AccountId::parse(self.account_id())
            .map_err(|_| Error::Corrupt("the stored account id".into()))?;
        let space = SpaceId::parse(self.space_id())
            .map_err(|_| Error::Corrupt("the stored space id".into()))?;
        let device_id = DeviceId::parse(self.device_id().as_str())
            .map_err(|_| Error::Corrupt("the stored device id".into()))?;
        let account = AccountKeys::generate(account_id);
        let device = DeviceKey::generate(device_id);
        let now = crate::clock::unix_ms(self.clock().as_ref());
        let record = account.record();
        let mut entries = vec![device.ledger_entry(
            &space,
            0,
            Hash32::ZERO,
            LedgerBody::Genesis {
                owner: record.clone(),
                device: account.certify(&device, now),
            },
        )];
        let mut keys = Vec::new();
        for scope in Scope::ALL {
            let key = ScopeKey::generate();
            let wrap = key.wrap_to(&space, scope, 1, &record)?;
            let prev = entries.last().expect("the genesis entry").hash();
            entries.push(device.ledger_entry(
                &space,
                entries.len() as u64,
                prev,
                LedgerBody::ScopeKey {
                    scope,
                    epoch: 1,
                    wraps: vec![wrap],
                },
            ));
            keys.push((scope, key));
        }
        // What this device writes, it must itself accept.
        cairn_protocol::LedgerState::replay(&entries, Some(&account.verify_key()))
            .map_err(|e| Error::Tampered(e.to_string()))?;
        let tx = self.conn().unchecked_transaction()?;
        state::set_secret(&tx, ACCOUNT_SECRET, account.secret())?;
        state::set_secret(&tx, DEVICE_KEY, &device.secret())?;
        state::set_relay(&tx, relay)?;
        meta_set(&tx, OWNER_KEY, &account.verify_key().0.to_hex())?;
        for entry in &entries {
            state::add_ledger_entry(&tx, entry, false)?;
        }
        for (scope, key) in &keys {
            state::add_scope_key(&tx, *scope, 1, key)?;
        }
        state::set_place(&tx, device.id(), &Place::default())?;
        tx.commit()?;
        Ok(recovery::encode(
            account.account(),
            &space,
            account.secret(),
        ))
    }

    /// This device's recovery kit: the account secret and the ids to find it again.
    pub fn recovery_kit(&self) -> Result<Zeroizing<String>> {
        let id = self.sync_identity()?;
        Ok(recovery::encode(
            id.account.account(),
            &id.space,
            id.account.secret(),
        ))
    }

    /// Restores an account from its recovery kit into this new, empty store, as a new device:
    /// the next sync registers the device, adds it to the space's ledger and brings everything
    /// down. For when every device of the account is lost.
    pub fn recover_account(&mut self, relay: &str, kit: &str) -> Result<()> {
        let (account, space, secret) = recovery::decode(kit)?;
        let device = DeviceKey::generate(
            DeviceId::parse(self.device_id().as_str())
                .map_err(|_| Error::Corrupt("the stored device id".into()))?,
        );
        self.join_as(relay, &account, &space, &secret, &device)
    }

    /// Makes this empty store a new device of `account`'s `space` (holding its `secret`), signing
    /// with `device`. The device introduces itself on the ledger at the next sync, unless the
    /// device that linked it did already.
    pub(crate) fn join_as(
        &mut self,
        relay: &str,
        account: &AccountId,
        space: &SpaceId,
        secret: &[u8; 32],
        device: &DeviceKey,
    ) -> Result<()> {
        if self.sync_enabled()? {
            return Err(Error::Conflict(
                "this store already belongs to a sync account".into(),
            ));
        }
        if self.status()?.record_count > 0 {
            return Err(Error::invalid(
                "store",
                "it already holds records: join an account from a new, empty store",
            ));
        }
        let keys = AccountKeys::from_secret(account.clone(), secret);
        self.adopt_identity(account.as_str(), space.as_str())?;
        let tx = self.conn().unchecked_transaction()?;
        // The empty store's own outbox (its profile defaults, say) belonged to its old identity.
        tx.execute("DELETE FROM outbox", [])?;
        state::set_secret(&tx, ACCOUNT_SECRET, keys.secret())?;
        state::set_secret(&tx, DEVICE_KEY, &device.secret())?;
        state::set_relay(&tx, relay)?;
        meta_set(&tx, OWNER_KEY, &keys.verify_key().0.to_hex())?;
        state::set_place(&tx, device.id(), &Place::default())?;
        tx.commit()?;
        Ok(())
    }

    /// Whether the relay already knows this device.
    pub(crate) fn registered(&self) -> Result<bool> {
        Ok(meta_get(self.conn(), REGISTERED)?.is_some())
    }
}
