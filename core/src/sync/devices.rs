//! The account's devices: the list a settings screen shows, and revoking a lost one.

use cairn_protocol::{DeviceId, LedgerBody};
use jiff::Timestamp;
use serde::Serialize;

use super::engine::{self, Session};
use super::transport::Transport;
use crate::error::{Error, Result};
use crate::store::StoreAccess;

/// A device of the account, as the ledger and the relay know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DeviceSummary {
    /// The device's id.
    pub id: String,
    /// When the account certified it.
    pub added_at: Timestamp,
    /// Whether it is the device asking.
    pub this_device: bool,
    /// Whether it was revoked (on the ledger, or at the relay).
    pub revoked: bool,
    /// When it last reached the relay, if the relay says.
    pub last_seen_at: Option<Timestamp>,
}

fn instant(ms: u64) -> Timestamp {
    Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(i64::MAX)).unwrap_or(Timestamp::MAX)
}

/// The account's devices: those on the space's ledger, with what the relay adds. The relay's
/// list is checked against the account's key; a device it names that the ledger does not know
/// is left out.
pub fn devices<A: StoreAccess + ?Sized>(
    access: &A,
    relay: &dyn Transport,
) -> Result<Vec<DeviceSummary>> {
    let listed = relay.devices()?;
    access.with_store(|s| {
        let session = Session::load(s)?;
        let own = session.identity.device.id().clone();
        let owner = session.ledger.owner().clone();
        if listed.account != owner {
            return Err(Error::Tampered(
                "the relay lists the devices of another account".into(),
            ));
        }
        let mut out = Vec::new();
        for (id, d) in session.ledger.devices() {
            if d.cert.account != owner.account {
                continue;
            }
            let at_relay = listed
                .devices
                .iter()
                .find(|i| i.cert.device == *id && i.cert.verify(&owner).is_ok());
            out.push(DeviceSummary {
                id: id.to_string(),
                added_at: instant(d.cert.issued_ms),
                this_device: *id == own,
                revoked: d.revoked_after.is_some() || at_relay.is_some_and(|i| i.revoked),
                last_seen_at: at_relay.and_then(|i| i.last_seen_ms).map(instant),
            });
        }
        out.sort_by(|a, b| (a.added_at, &a.id).cmp(&(b.added_at, &b.id)));
        Ok(out)
    })
}

/// Appends the entry `body` makes to the space's ledger through the relay, on top of the
/// relay's newest entry (taken first); tried again if another device appended first.
pub(crate) fn append_entry<A: StoreAccess + ?Sized>(
    access: &A,
    relay: &dyn Transport,
    body: impl Fn(&Session) -> Result<LedgerBody>,
) -> Result<()> {
    for _ in 0..3 {
        let (space, from) =
            access.with_store(|s| Ok((s.sync_identity()?.space, engine::ledger_len(s)?)))?;
        let page = relay.ledger(&space, from)?;
        access.with_store(|s| engine::take_ledger(s, &page.entries))?;
        let entry = access.with_store(|s| {
            let session = Session::load(s)?;
            Ok(session.identity.device.ledger_entry(
                &space,
                session.ledger.len(),
                session.ledger.head(),
                body(&session)?,
            ))
        })?;
        match relay.append_ledger(&space, &entry) {
            Ok(()) => {
                return access.with_store(|s| engine::take_ledger(s, std::slice::from_ref(&entry)));
            }
            Err(Error::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::Conflict(
        "the space's ledger kept changing: try again".into(),
    ))
}

/// Revokes the device whose id starts with `prefix` (at least 8 characters): the ledger says
/// nothing it sends after what this device has seen of it is accepted, and the relay stops
/// answering it. Sync first, so what it sent before it was lost is kept.
pub fn revoke_device<A: StoreAccess + ?Sized>(
    access: &A,
    relay: &dyn Transport,
    prefix: &str,
) -> Result<DeviceId> {
    let prefix = prefix.trim().to_ascii_lowercase();
    if prefix.len() < 8 {
        return Err(Error::invalid(
            "device",
            "give at least 8 characters of its id",
        ));
    }
    let device = access.with_store(|s| {
        let session = Session::load(s)?;
        let matches: Vec<&DeviceId> = session
            .ledger
            .devices()
            .keys()
            .filter(|d| d.as_str().starts_with(&prefix))
            .collect();
        match matches.as_slice() {
            [d] if *d == session.identity.device.id() => Err(Error::invalid(
                "device",
                "this is the device asking: revoke it from another of your devices",
            )),
            [d] => Ok((*d).clone()),
            [] => Err(Error::NotFound { entity: "device" }),
            _ => Err(Error::invalid(
                "device",
                "several devices start so: give more of the id",
            )),
        }
    })?;
    append_entry(access, relay, |session| {
        if session
            .ledger
            .devices()
            .get(&device)
            .is_some_and(|d| d.revoked_after.is_some())
        {
            return Err(Error::Conflict("that device is already revoked".into()));
        }
        Ok(LedgerBody::RevokeDevice {
            device: device.clone(),
            last_seq: session.seen(&device),
        })
    })?;
    relay.revoke_device(&device)?;
    Ok(device)
}
