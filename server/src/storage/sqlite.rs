//! The default backend: one SQLite file, so a relay needs no set-up.
//!
//! WAL mode lets pulls read while a push writes; `synchronous = FULL` makes a commit durable
//! before the relay answers (a push is acknowledged only once it survives a power cut). All
//! writes go through one connection, so transactions are serialised and the space sequence
//! cannot skip or repeat; reads use a small pool of their own connections. Every call runs on
//! tokio's blocking pool. The file is plain SQLite: the workspace links SQLCipher, but the relay
//! sets no key, as it holds nothing it could read anyway.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use cairn_protocol::api::{Accepted, LinkSide, Stored};
use cairn_protocol::codec::{from_cbor, to_cbor};
use cairn_protocol::{
    AccountId, AccountRecord, ByteBuf, ChainPoint, DeviceCert, DeviceHead, DeviceId, Envelope,
    Hash32, LedgerEntry, SpaceId,
};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::de::DeserializeOwned;

use super::{
    BlobRecord, DeviceRecord, LEDGER_PAGE, LinkSlotRecord, Placement, PulledEnvelopes, Put, Stats,
    Storage, StorageError, StorageResult, TokenOwner, place_envelope,
};

/// The schema, one transaction per file, tracked by `PRAGMA user_version`.
const MIGRATIONS: &[&str] = &[include_str!("sqlite/0001_init.sql")];

/// Read connections kept open between calls.
const IDLE_READERS: usize = 4;

/// Storage in one SQLite file.
#[derive(Clone)]
pub struct SqliteStorage {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStorage {
    /// Opens (or creates) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> StorageResult<Self> {
        let mut writer = connect(path)?;
        migrate(&mut writer)?;
        Ok(SqliteStorage {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Runs `f` in an immediate transaction on the writer and commits it.
    async fn write<T, F>(&self, f: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StorageResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        blocking(move || {
            // A panic inside a transaction rolls it back as it unwinds, so the connection is
            // sound even when the lock was poisoned.
            let mut conn = inner.writer.lock().unwrap_or_else(PoisonError::into_inner);
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    /// Runs `f` in a read transaction (one snapshot) on a pooled connection.
    async fn read<T, F>(&self, f: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StorageResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        blocking(move || {
            let pooled = inner
                .readers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let mut conn = match pooled {
                Some(conn) => conn,
                None => connect(&inner.path)?,
            };
            let out = {
                let tx = conn.transaction()?;
                f(&tx)
            };
            let mut readers = inner.readers.lock().unwrap_or_else(PoisonError::into_inner);
            if readers.len() < IDLE_READERS {
                readers.push(conn);
            }
            out
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StorageResult<T> + Send + 'static,
) -> StorageResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| StorageError::Backend("a storage task panicked".into()))?
}

fn connect(path: &Path) -> StorageResult<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StorageError::Backend(format!(
            "the database will not use WAL (journal mode {mode})"
        )));
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> StorageResult<()> {
    let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > MIGRATIONS.len() {
        return Err(StorageError::Backend(format!(
            "the database's schema {version} is newer than this relay's {}",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        // rusqlite's text names the statement or the constraint, never a bound value.
        StorageError::Backend(e.to_string())
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &'static str) -> StorageResult<T> {
    from_cbor(bytes, what).map_err(|_| StorageError::Backend(format!("a stored {what} is corrupt")))
}

fn hash(bytes: &[u8]) -> StorageResult<Hash32> {
    Hash32::from_slice(bytes).map_err(|_| StorageError::Backend("a stored hash is corrupt".into()))
}

fn side_tag(side: LinkSide) -> u8 {
    match side {
        LinkSide::Existing => 0,
        LinkSide::New => 1,
    }
}

fn space_exists(tx: &Transaction<'_>, space: &SpaceId) -> StorageResult<()> {
    tx.query_row(
        "SELECT 1 FROM spaces WHERE id = ?1",
        [space.as_str()],
        |_| Ok(()),
    )
    .optional()?
    .ok_or(StorageError::NotFound("space"))
}

/// Stores `cert` unless its device id is taken; the identical certificate is no change.
fn put_device(tx: &Transaction<'_>, cert: &DeviceCert) -> StorageResult<Put> {
    let bytes = to_cbor(cert);
    let stored: Option<Vec<u8>> = tx
        .query_row(
            "SELECT cert FROM devices WHERE id = ?1",
            [cert.device.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    match stored {
        Some(s) if s == bytes => Ok(Put::Existing),
        Some(_) => Err(StorageError::Conflict(
            "another device certificate is stored under this device id",
        )),
        None => {
            tx.execute(
                "INSERT INTO devices (id, account, cert) VALUES (?1, ?2, ?3)",
                params![cert.device.as_str(), cert.account.as_str(), bytes],
            )?;
            Ok(Put::Created)
        }
    }
}

fn device_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Vec<u8>, bool, Option<u64>)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
}

fn to_device_record(
    (cert, revoked, last_seen_ms): (Vec<u8>, bool, Option<u64>),
) -> StorageResult<DeviceRecord> {
    Ok(DeviceRecord {
        cert: decode(&cert, "device certificate")?,
        revoked,
        last_seen_ms,
    })
}

#[async_trait]
impl Storage for SqliteStorage {
    async fn create_account(
        &self,
        account: &AccountRecord,
        device: &DeviceCert,
    ) -> StorageResult<Put> {
        let (account, device) = (account.clone(), device.clone());
        self.write(move |tx| {
            let bytes = to_cbor(&account);
            let stored: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT record FROM accounts WHERE id = ?1",
                    [account.account.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            let account_put = match stored {
                Some(s) if s == bytes => Put::Existing,
                Some(_) => {
                    return Err(StorageError::Conflict(
                        "another account record is stored under this account id",
                    ));
                }
                None => {
                    tx.execute(
                        "INSERT INTO accounts (id, record) VALUES (?1, ?2)",
                        params![account.account.as_str(), bytes],
                    )?;
                    Put::Created
                }
            };
            let device_put = put_device(tx, &device)?;
            Ok(
                if account_put == Put::Existing && device_put == Put::Existing {
                    Put::Existing
                } else {
                    Put::Created
                },
            )
        })
        .await
    }

    async fn account(&self, id: &AccountId) -> StorageResult<Option<AccountRecord>> {
        let id = id.clone();
        self.read(move |tx| {
            let stored: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT record FROM accounts WHERE id = ?1",
                    [id.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            stored.map(|b| decode(&b, "account record")).transpose()
        })
        .await
    }

    async fn register_device(&self, cert: &DeviceCert) -> StorageResult<Put> {
        let cert = cert.clone();
        self.write(move |tx| {
            tx.query_row(
                "SELECT 1 FROM accounts WHERE id = ?1",
                [cert.account.as_str()],
                |_| Ok(()),
            )
            .optional()?
            .ok_or(StorageError::NotFound("account"))?;
            put_device(tx, &cert)
        })
        .await
    }

    async fn device(&self, id: &DeviceId) -> StorageResult<Option<DeviceRecord>> {
        let id = id.clone();
        self.read(move |tx| {
            tx.query_row(
                "SELECT cert, revoked, last_seen_ms FROM devices WHERE id = ?1",
                [id.as_str()],
                device_record,
            )
            .optional()?
            .map(to_device_record)
            .transpose()
        })
        .await
    }

    async fn account_devices(&self, account: &AccountId) -> StorageResult<Vec<DeviceRecord>> {
        let account = account.clone();
        self.read(move |tx| {
            let mut stmt = tx.prepare(
                "SELECT cert, revoked, last_seen_ms FROM devices WHERE account = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([account.as_str()], device_record)?;
            rows.map(|r| to_device_record(r?)).collect()
        })
        .await
    }

    async fn revoke_device(&self, id: &DeviceId) -> StorageResult<()> {
        let id = id.clone();
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE devices SET revoked = 1 WHERE id = ?1",
                [id.as_str()],
            )?;
            if changed == 0 {
                return Err(StorageError::NotFound("device"));
            }
            tx.execute("DELETE FROM challenges WHERE device = ?1", [id.as_str()])?;
            Ok(())
        })
        .await
    }

    async fn put_challenge(
        &self,
        device: &DeviceId,
        nonce: &Hash32,
        expires_ms: u64,
    ) -> StorageResult<()> {
        let (device, nonce) = (device.clone(), *nonce);
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO challenges (nonce, device, expires_ms) VALUES (?1, ?2, ?3)",
                params![&nonce.0[..], device.as_str(), expires_ms],
            )?;
            Ok(())
        })
        .await
    }

    async fn take_challenge(
        &self,
        device: &DeviceId,
        nonce: &Hash32,
        now_ms: u64,
    ) -> StorageResult<bool> {
        let (device, nonce) = (device.clone(), *nonce);
        self.write(move |tx| {
            // Deleted whatever the answer: a nonce is tried once.
            let taken: Option<(String, u64)> = tx
                .query_row(
                    "DELETE FROM challenges WHERE nonce = ?1 RETURNING device, expires_ms",
                    [&nonce.0[..]],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(taken.is_some_and(|(d, expires)| d == device.as_str() && now_ms < expires))
        })
        .await
    }

    async fn put_token(
        &self,
        hash: &Hash32,
        device: &DeviceId,
        expires_ms: u64,
        now_ms: u64,
    ) -> StorageResult<()> {
        let (hash, device) = (*hash, device.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO tokens (hash, device, expires_ms) VALUES (?1, ?2, ?3)",
                params![&hash.0[..], device.as_str(), expires_ms],
            )?;
            tx.execute(
                "UPDATE devices SET last_seen_ms = ?2 WHERE id = ?1",
                params![device.as_str(), now_ms],
            )?;
            Ok(())
        })
        .await
    }

    async fn token(&self, hash: &Hash32, now_ms: u64) -> StorageResult<Option<TokenOwner>> {
        let hash = *hash;
        self.read(move |tx| {
            let found: Option<(String, String, bool)> = tx
                .query_row(
                    "SELECT t.device, d.account, d.revoked FROM tokens t \
                     JOIN devices d ON d.id = t.device \
                     WHERE t.hash = ?1 AND t.expires_ms > ?2",
                    params![&hash.0[..], now_ms],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            found
                .map(|(device, account, revoked)| {
                    Ok(TokenOwner {
                        device: DeviceId::parse(&device)
                            .map_err(|_| StorageError::Backend("a stored device id".into()))?,
                        account: AccountId::parse(&account)
                            .map_err(|_| StorageError::Backend("a stored account id".into()))?,
                        revoked,
                    })
                })
                .transpose()
        })
        .await
    }

    async fn create_space(&self, genesis: &LedgerEntry) -> StorageResult<Put> {
        let genesis = genesis.clone();
        self.write(move |tx| {
            let bytes = to_cbor(&genesis);
            let stored: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT entry FROM ledger WHERE space = ?1 AND idx = 0",
                    [genesis.space.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            match stored {
                Some(s) if s == bytes => Ok(Put::Existing),
                Some(_) => Err(StorageError::Conflict(
                    "another genesis entry is stored for this space",
                )),
                None => {
                    tx.execute(
                        "INSERT INTO spaces (id) VALUES (?1)",
                        [genesis.space.as_str()],
                    )?;
                    tx.execute(
                        "INSERT INTO ledger (space, idx, entry) VALUES (?1, 0, ?2)",
                        params![genesis.space.as_str(), bytes],
                    )?;
                    Ok(Put::Created)
                }
            }
        })
        .await
    }

    async fn spaces(&self) -> StorageResult<Vec<SpaceId>> {
        self.read(|tx| {
            let mut stmt = tx.prepare("SELECT id FROM spaces ORDER BY id")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.map(|r| {
                SpaceId::parse(&r?).map_err(|_| StorageError::Backend("a stored space id".into()))
            })
            .collect()
        })
        .await
    }

    async fn ledger(&self, space: &SpaceId, from: u64) -> StorageResult<Vec<LedgerEntry>> {
        let space = space.clone();
        self.read(move |tx| {
            space_exists(tx, &space)?;
            let mut stmt = tx.prepare(
                "SELECT entry FROM ledger WHERE space = ?1 AND idx >= ?2 ORDER BY idx LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![space.as_str(), from, LEDGER_PAGE], |r| {
                r.get::<_, Vec<u8>>(0)
            })?;
            rows.map(|r| decode(&r?, "ledger entry")).collect()
        })
        .await
    }

    async fn append_ledger(&self, entry: &LedgerEntry) -> StorageResult<()> {
        let entry = entry.clone();
        self.write(move |tx| {
            space_exists(tx, &entry.space)?;
            let len: u64 = tx.query_row(
                "SELECT COUNT(*) FROM ledger WHERE space = ?1",
                [entry.space.as_str()],
                |r| r.get(0),
            )?;
            if entry.index != len {
                return Err(StorageError::Conflict(
                    "the entry's index is not the ledger's length",
                ));
            }
            tx.execute(
                "INSERT INTO ledger (space, idx, entry) VALUES (?1, ?2, ?3)",
                params![entry.space.as_str(), entry.index, to_cbor(&entry)],
            )?;
            Ok(())
        })
        .await
    }

    async fn push(
        &self,
        space: &SpaceId,
        device: &DeviceId,
        envelopes: Vec<Envelope>,
    ) -> StorageResult<Vec<Accepted>> {
        let (space, device) = (space.clone(), device.clone());
        self.write(move |tx| {
            let mut last_seq: u64 = tx
                .query_row(
                    "SELECT last_seq FROM spaces WHERE id = ?1",
                    [space.as_str()],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or(StorageError::NotFound("space"))?;
            let mut point = match tx
                .query_row(
                    "SELECT seq, link FROM heads WHERE space = ?1 AND device = ?2",
                    params![space.as_str(), device.as_str()],
                    |r| Ok((r.get::<_, u64>(0)?, r.get::<_, Vec<u8>>(1)?)),
                )
                .optional()?
            {
                Some((seq, link)) => ChainPoint {
                    seq,
                    link: hash(&link)?,
                },
                None => ChainPoint::default(),
            };
            let mut accepted = Vec::with_capacity(envelopes.len());
            let (mut added, mut added_bytes) = (0u64, 0u64);
            let mut newest = None;
            for envelope in &envelopes {
                if envelope.header.space != space || envelope.header.device != device {
                    return Err(StorageError::Conflict(
                        "an envelope names another space or device than its push",
                    ));
                }
                let link = envelope.link();
                let placement = place_envelope(point, &envelope.header, link, |seq| {
                    tx.query_row(
                        "SELECT link, seq FROM envelopes \
                         WHERE space = ?1 AND device = ?2 AND device_seq = ?3",
                        params![space.as_str(), device.as_str(), seq],
                        |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, u64>(1)?)),
                    )
                    .optional()?
                    .map(|(link, seq)| Ok((hash(&link)?, seq)))
                    .transpose()
                })?;
                let seq = match placement {
                    Placement::Stored(seq) => seq,
                    Placement::Append => {
                        last_seq += 1;
                        let bytes = to_cbor(envelope);
                        added += 1;
                        added_bytes += bytes.len() as u64;
                        tx.execute(
                            "INSERT INTO envelopes (space, seq, device, device_seq, link, envelope) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            params![
                                space.as_str(),
                                last_seq,
                                device.as_str(),
                                envelope.header.seq,
                                &link.0[..],
                                bytes
                            ],
                        )?;
                        point = ChainPoint {
                            seq: envelope.header.seq,
                            link,
                        };
                        newest = Some(envelope);
                        last_seq
                    }
                };
                accepted.push(Accepted {
                    device_seq: envelope.header.seq,
                    seq,
                });
            }
            if let Some(envelope) = newest {
                tx.execute(
                    "INSERT INTO heads (space, device, seq, link, head) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (space, device) DO UPDATE \
                     SET seq = excluded.seq, link = excluded.link, head = excluded.head",
                    params![
                        space.as_str(),
                        device.as_str(),
                        point.seq,
                        &point.link.0[..],
                        to_cbor(&envelope.head())
                    ],
                )?;
                tx.execute(
                    "UPDATE spaces SET last_seq = ?2, envelopes = envelopes + ?3, \
                     envelope_bytes = envelope_bytes + ?4 WHERE id = ?1",
                    params![space.as_str(), last_seq, added, added_bytes],
                )?;
            }
            Ok(accepted)
        })
        .await
    }

    async fn pull(
        &self,
        space: &SpaceId,
        after: u64,
        limit: u32,
        max_bytes: usize,
    ) -> StorageResult<PulledEnvelopes> {
        let space = space.clone();
        self.read(move |tx| {
            space_exists(tx, &space)?;
            let mut stmt = tx.prepare(
                "SELECT seq, envelope FROM envelopes WHERE space = ?1 AND seq > ?2 \
                 ORDER BY seq LIMIT ?3",
            )?;
            let mut rows = stmt.query(params![space.as_str(), after, u64::from(limit) + 1])?;
            let mut envelopes = Vec::new();
            let mut bytes = 0usize;
            let mut more = false;
            while let Some(row) = rows.next()? {
                let seq: u64 = row.get(0)?;
                let body: Vec<u8> = row.get(1)?;
                if envelopes.len() == limit as usize
                    || (!envelopes.is_empty() && bytes + body.len() > max_bytes)
                {
                    more = true;
                    break;
                }
                bytes += body.len();
                envelopes.push(Stored {
                    seq,
                    envelope: decode(&body, "envelope")?,
                });
            }
            Ok(PulledEnvelopes { envelopes, more })
        })
        .await
    }

    async fn heads(&self, space: &SpaceId) -> StorageResult<Vec<DeviceHead>> {
        let space = space.clone();
        self.read(move |tx| {
            let mut stmt = tx.prepare("SELECT head FROM heads WHERE space = ?1 ORDER BY device")?;
            let rows = stmt.query_map([space.as_str()], |r| r.get::<_, Vec<u8>>(0))?;
            rows.map(|r| decode(&r?, "device head")).collect()
        })
        .await
    }

    async fn blob(&self, space: &SpaceId, hash: &Hash32) -> StorageResult<Option<BlobRecord>> {
        let (space, hash) = (space.clone(), *hash);
        self.read(move |tx| {
            Ok(tx
                .query_row(
                    "SELECT received, complete FROM blobs WHERE space = ?1 AND hash = ?2",
                    params![space.as_str(), &hash.0[..]],
                    |r| {
                        Ok(BlobRecord {
                            received: r.get(0)?,
                            complete: r.get(1)?,
                        })
                    },
                )
                .optional()?)
        })
        .await
    }

    async fn blob_usage(&self, space: &SpaceId) -> StorageResult<u64> {
        let space = space.clone();
        self.read(move |tx| usage(tx, &space)).await
    }

    async fn advance_blob(
        &self,
        space: &SpaceId,
        hash: &Hash32,
        from: u64,
        to: u64,
        quota: u64,
    ) -> StorageResult<()> {
        let (space, hash) = (space.clone(), *hash);
        self.write(move |tx| {
            space_exists(tx, &space)?;
            let stored: Option<(u64, bool)> = tx
                .query_row(
                    "SELECT received, complete FROM blobs WHERE space = ?1 AND hash = ?2",
                    params![space.as_str(), &hash.0[..]],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match stored {
                Some((_, true)) => return Err(StorageError::Conflict("the blob is complete")),
                Some((received, false)) if received != from => {
                    return Err(StorageError::Conflict(
                        "the chunk does not start where the upload stands",
                    ));
                }
                None if from != 0 => {
                    return Err(StorageError::Conflict(
                        "the chunk does not start where the upload stands",
                    ));
                }
                _ => {}
            }
            if to < from {
                return Err(StorageError::Conflict(
                    "a chunk cannot end before it starts",
                ));
            }
            if usage(tx, &space)?.saturating_add(to - from) > quota {
                return Err(StorageError::QuotaExceeded);
            }
            tx.execute(
                "INSERT INTO blobs (space, hash, received) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (space, hash) DO UPDATE SET received = excluded.received",
                params![space.as_str(), &hash.0[..], to],
            )?;
            Ok(())
        })
        .await
    }

    async fn complete_blob(&self, space: &SpaceId, hash: &Hash32, size: u64) -> StorageResult<()> {
        let (space, hash) = (space.clone(), *hash);
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE blobs SET complete = 1 WHERE space = ?1 AND hash = ?2 AND received = ?3",
                params![space.as_str(), &hash.0[..], size],
            )?;
            if changed == 0 {
                return Err(StorageError::NotFound("a blob of that size"));
            }
            Ok(())
        })
        .await
    }

    async fn drop_blob(&self, space: &SpaceId, hash: &Hash32) -> StorageResult<()> {
        let (space, hash) = (space.clone(), *hash);
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM blobs WHERE space = ?1 AND hash = ?2",
                params![space.as_str(), &hash.0[..]],
            )?;
            Ok(())
        })
        .await
    }

    async fn open_link(
        &self,
        slot: &str,
        account: &AccountId,
        expires_ms: u64,
    ) -> StorageResult<()> {
        let (slot, account) = (slot.to_owned(), account.clone());
        self.write(move |tx| {
            let added = tx.execute(
                "INSERT INTO link_slots (slot, account, expires_ms) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (slot) DO NOTHING",
                params![slot, account.as_str(), expires_ms],
            )?;
            if added == 0 {
                return Err(StorageError::Conflict("the link slot id is taken"));
            }
            Ok(())
        })
        .await
    }

    async fn link_slot(&self, slot: &str, now_ms: u64) -> StorageResult<Option<LinkSlotRecord>> {
        let slot = slot.to_owned();
        self.read(move |tx| {
            let found: Option<(String, u64)> = tx
                .query_row(
                    "SELECT account, expires_ms FROM link_slots WHERE slot = ?1 AND expires_ms > ?2",
                    params![slot, now_ms],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            found
                .map(|(account, expires_ms)| {
                    Ok(LinkSlotRecord {
                        account: AccountId::parse(&account)
                            .map_err(|_| StorageError::Backend("a stored account id".into()))?,
                        expires_ms,
                    })
                })
                .transpose()
        })
        .await
    }

    async fn post_link(
        &self,
        slot: &str,
        side: LinkSide,
        message: &[u8],
        max: u32,
        now_ms: u64,
    ) -> StorageResult<u32> {
        let (slot, message) = (slot.to_owned(), message.to_vec());
        self.write(move |tx| {
            tx.query_row(
                "SELECT 1 FROM link_slots WHERE slot = ?1 AND expires_ms > ?2",
                params![slot, now_ms],
                |_| Ok(()),
            )
            .optional()?
            .ok_or(StorageError::NotFound("link slot"))?;
            let count: u32 = tx.query_row(
                "SELECT COUNT(*) FROM link_messages WHERE slot = ?1 AND side = ?2",
                params![slot, side_tag(side)],
                |r| r.get(0),
            )?;
            if count >= max {
                return Err(StorageError::Conflict("this side of the link slot is full"));
            }
            tx.execute(
                "INSERT INTO link_messages (slot, side, idx, body) VALUES (?1, ?2, ?3, ?4)",
                params![slot, side_tag(side), count, message],
            )?;
            Ok(count)
        })
        .await
    }

    async fn link_messages(
        &self,
        slot: &str,
        side: LinkSide,
        from: u32,
    ) -> StorageResult<Vec<ByteBuf>> {
        let slot = slot.to_owned();
        self.read(move |tx| {
            let mut stmt = tx.prepare(
                "SELECT body FROM link_messages WHERE slot = ?1 AND side = ?2 AND idx >= ?3 \
                 ORDER BY idx",
            )?;
            let rows = stmt.query_map(params![slot, side_tag(side), from], |r| {
                r.get::<_, Vec<u8>>(0)
            })?;
            rows.map(|r| Ok(ByteBuf(r?))).collect()
        })
        .await
    }

    async fn stats(&self, now_ms: u64) -> StorageResult<Stats> {
        self.read(move |tx| {
            let (envelopes, envelope_bytes) = tx.query_row(
                "SELECT COALESCE(SUM(envelopes), 0), COALESCE(SUM(envelope_bytes), 0) FROM spaces",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let blob_bytes =
                tx.query_row("SELECT COALESCE(SUM(received), 0) FROM blobs", [], |r| {
                    r.get(0)
                })?;
            let link_slots = tx.query_row(
                "SELECT COUNT(*) FROM link_slots WHERE expires_ms > ?1",
                [now_ms],
                |r| r.get(0),
            )?;
            Ok(Stats {
                envelopes,
                envelope_bytes,
                blob_bytes,
                link_slots,
            })
        })
        .await
    }

    async fn sweep(&self, now_ms: u64) -> StorageResult<()> {
        self.write(move |tx| {
            tx.execute("DELETE FROM challenges WHERE expires_ms <= ?1", [now_ms])?;
            tx.execute("DELETE FROM tokens WHERE expires_ms <= ?1", [now_ms])?;
            tx.execute("DELETE FROM link_slots WHERE expires_ms <= ?1", [now_ms])?;
            Ok(())
        })
        .await
    }
}

fn usage(tx: &Transaction<'_>, space: &SpaceId) -> StorageResult<u64> {
    Ok(tx.query_row(
        "SELECT COALESCE(SUM(received), 0) FROM blobs WHERE space = ?1",
        [space.as_str()],
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (Arc<dyn Storage>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let storage =
            SqliteStorage::open(&dir.path().join("relay.db")).expect("the database opens");
        (Arc::new(storage), dir)
    }

    crate::storage_conformance_tests!(open());

    #[test]
    fn a_database_is_in_wal_mode_with_full_sync_and_reopens_at_its_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        drop(SqliteStorage::open(&path).unwrap());
        let conn = connect(&path).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "FULL");
        let version: usize = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
        drop(conn);
        drop(SqliteStorage::open(&path).expect("an up-to-date database opens again"));
    }

    #[test]
    fn a_database_from_a_newer_relay_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(
            SqliteStorage::open(&path),
            Err(StorageError::Backend(_))
        ));
    }
}
