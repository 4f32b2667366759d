//! What sync keeps in the store (migration 0009): secrets, the verified ledger, scope keys, each
//! device's place in its chain, this device's unacknowledged batches, and the cursor.

use std::collections::HashMap;

use cairn_protocol::codec::{from_cbor, to_cbor};
use cairn_protocol::{ChainPoint, DeviceId, Envelope, Hash32, LedgerEntry, Scope};
use rusqlite::{Connection, OptionalExtension, params};
use zeroize::Zeroizing;

use crate::crypto::ScopeKey;
use crate::error::{Error, Result};
use crate::store::{Store, meta_get, meta_set};

/// The name of the account secret in `sync_secrets`.
pub(crate) const ACCOUNT_SECRET: &str = "account_secret";
/// The name of this device's signing key in `sync_secrets`.
pub(crate) const DEVICE_KEY: &str = "device_key";
/// `meta`: the relay's address.
pub(crate) const RELAY: &str = "sync_relay";
/// `meta`: the space sequence number applied up to.
const CURSOR: &str = "sync_cursor";

/// A device's place, as stored: where its chain was applied up to, and the newest batch number
/// the relay has shown a signed head of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Place {
    pub(crate) applied: ChainPoint,
    pub(crate) seen: u64,
}

/// A sealed batch of this device's waiting for the relay's acknowledgement.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) envelope: Envelope,
    /// The outbox position the batch empties up to, on the last batch of a sealing.
    pub(crate) outbox_up_to: Option<i64>,
    /// How many changes it carries.
    pub(crate) changes: u64,
}

pub(crate) fn secret(conn: &Connection, name: &str) -> Result<Option<Zeroizing<[u8; 32]>>> {
    let value: Option<Zeroizing<Vec<u8>>> = conn
        .query_row(
            "SELECT value FROM sync_secrets WHERE name = ?1",
            [name],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .optional()?
        .map(Zeroizing::new);
    value
        .map(|v| {
            let mut out = Zeroizing::new([0u8; 32]);
            if v.len() != 32 {
                return Err(Error::Corrupt("a stored sync key".into()));
            }
            out.copy_from_slice(&v);
            Ok(out)
        })
        .transpose()
}

pub(crate) fn set_secret(conn: &Connection, name: &str, value: &[u8; 32]) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_secrets(name, value) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        params![name, value.as_slice()],
    )?;
    Ok(())
}

pub(crate) fn relay(conn: &Connection) -> Result<Option<String>> {
    meta_get(conn, RELAY)
}

pub(crate) fn set_relay(conn: &Connection, relay: &str) -> Result<()> {
    meta_set(conn, RELAY, relay)
}

pub(crate) fn cursor(conn: &Connection) -> Result<u64> {
    Ok(meta_get(conn, CURSOR)?
        .map(|c| {
            c.parse()
                .map_err(|_| Error::Corrupt("the sync cursor".into()))
        })
        .transpose()?
        .unwrap_or(0))
}

pub(crate) fn set_cursor(conn: &Connection, cursor: u64) -> Result<()> {
    meta_set(conn, CURSOR, &cursor.to_string())
}

/// The stored ledger, in order, with whether the relay has each entry.
pub(crate) fn ledger(conn: &Connection) -> Result<Vec<(LedgerEntry, bool)>> {
    let mut stmt = conn.prepare_cached("SELECT entry, published FROM sync_ledger ORDER BY idx")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, bool>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (bytes, published) = row?;
        let entry = from_cbor(&bytes, "stored ledger entry")
            .map_err(|_| Error::Corrupt("a stored ledger entry".into()))?;
        out.push((entry, published));
    }
    Ok(out)
}

pub(crate) fn add_ledger_entry(
    conn: &Connection,
    entry: &LedgerEntry,
    published: bool,
) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_ledger(idx, entry, published) VALUES (?1, ?2, ?3)",
        params![entry.index as i64, to_cbor(entry), published],
    )?;
    Ok(())
}

pub(crate) fn mark_published(conn: &Connection, index: u64) -> Result<()> {
    conn.execute(
        "UPDATE sync_ledger SET published = 1 WHERE idx = ?1",
        [index as i64],
    )?;
    Ok(())
}

/// Every scope key held, by scope and epoch.
pub(crate) fn scope_keys(conn: &Connection) -> Result<HashMap<(Scope, u32), ScopeKey>> {
    let mut stmt = conn.prepare_cached("SELECT scope, epoch, key FROM sync_scope_keys")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, u32>(1)?,
            Zeroizing::new(r.get::<_, Vec<u8>>(2)?),
        ))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (scope, epoch, key) = row?;
        let scope = Scope::parse(&scope).ok_or_else(|| Error::Corrupt("a stored scope".into()))?;
        out.insert((scope, epoch), ScopeKey::from_bytes(&key)?);
    }
    Ok(out)
}

pub(crate) fn add_scope_key(
    conn: &Connection,
    scope: Scope,
    epoch: u32,
    key: &ScopeKey,
) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO sync_scope_keys(scope, epoch, key) VALUES (?1, ?2, ?3)",
        params![scope.as_str(), epoch, key.as_bytes().as_slice()],
    )?;
    Ok(())
}

/// Every device's stored place.
pub(crate) fn places(conn: &Connection) -> Result<HashMap<DeviceId, Place>> {
    let mut stmt = conn.prepare_cached("SELECT device, seq, link, seen_seq FROM sync_chains")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (device, seq, link, seen) = row?;
        let corrupt = || Error::Corrupt("a stored chain position".into());
        out.insert(
            DeviceId::parse(&device).map_err(|_| corrupt())?,
            Place {
                applied: ChainPoint {
                    seq: u64::try_from(seq).map_err(|_| corrupt())?,
                    link: Hash32::from_slice(&link).map_err(|_| corrupt())?,
                },
                seen: u64::try_from(seen).map_err(|_| corrupt())?,
            },
        );
    }
    Ok(out)
}

pub(crate) fn set_place(conn: &Connection, device: &DeviceId, place: &Place) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_chains(device, seq, link, seen_seq) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(device) DO UPDATE SET seq = excluded.seq, link = excluded.link,
                                           seen_seq = excluded.seen_seq",
        params![
            device.as_str(),
            place.applied.seq as i64,
            place.applied.link.0.as_slice(),
            place.seen as i64
        ],
    )?;
    Ok(())
}

/// This device's unacknowledged batches, in chain order.
pub(crate) fn pending(conn: &Connection) -> Result<Vec<Pending>> {
    let mut stmt = conn
        .prepare_cached("SELECT envelope, outbox_up_to, changes FROM sync_pending ORDER BY seq")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Option<i64>>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (bytes, outbox_up_to, changes) = row?;
        let envelope = from_cbor(&bytes, "stored batch")
            .map_err(|_| Error::Corrupt("a stored unsent batch".into()))?;
        out.push(Pending {
            envelope,
            outbox_up_to,
            changes: u64::try_from(changes).unwrap_or(0),
        });
    }
    Ok(out)
}

pub(crate) fn add_pending(conn: &Connection, pending: &Pending) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_pending(seq, envelope, outbox_up_to, changes) VALUES (?1, ?2, ?3, ?4)",
        params![
            pending.envelope.header.seq as i64,
            to_cbor(&pending.envelope),
            pending.outbox_up_to,
            pending.changes as i64
        ],
    )?;
    Ok(())
}

pub(crate) fn drop_pending(conn: &Connection, seq: u64) -> Result<()> {
    conn.execute("DELETE FROM sync_pending WHERE seq = ?1", [seq as i64])?;
    Ok(())
}

impl Store {
    /// Whether this store has joined sync (an account, or a link to one).
    pub fn sync_enabled(&self) -> Result<bool> {
        Ok(secret(self.conn(), ACCOUNT_SECRET)?.is_some())
    }
}
