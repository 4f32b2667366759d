//! Everything the relay keeps except blob bytes: accounts and device certificates, challenges
//! and tokens, each space's ledger and envelopes, blob upload records, link rendezvous.
//!
//! [`Storage`] is the seam backends implement ([`SqliteStorage`] by default; PostgreSQL can
//! follow). Its methods hold the rules that must be atomic — a device's chain continuing, the
//! space sequence having no gaps, a ledger index being the next one, a blob quota — so every
//! backend enforces them inside its own transaction, and [`conformance`] checks that it does.
//! Signatures are checked before anything reaches storage; storage trusts the structures it
//! is handed and never reads a ciphertext.

use async_trait::async_trait;
use cairn_protocol::api::{Accepted, LinkSide, Stored};
use cairn_protocol::{
    AccountId, AccountRecord, ByteBuf, ChainPoint, DeviceCert, DeviceHead, DeviceId, Envelope,
    EnvelopeHeader, Hash32, LedgerEntry, SpaceId,
};

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod sqlite;

pub use sqlite::SqliteStorage;

/// Why storage refused or failed. The texts name the rule, never a stored value.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// What was asked contradicts what is stored.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// What it names is not stored.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// The space's blob quota would be exceeded.
    #[error("the space's blob quota is used up")]
    QuotaExceeded,
    /// The backend failed (a disk, a lock, a corrupt row).
    #[error("storage failed: {0}")]
    Backend(String),
}

/// Storage's result.
pub type StorageResult<T> = Result<T, StorageError>;

/// What an idempotent write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// It was new and is stored now.
    Created,
    /// The identical thing was stored already.
    Existing,
}

/// A device as the relay knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Its certificate.
    pub cert: DeviceCert,
    /// Whether a device of its account revoked it.
    pub revoked: bool,
    /// When it last got a token.
    pub last_seen_ms: Option<u64>,
}

/// Whose a live token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    /// The device it was issued to.
    pub device: DeviceId,
    /// The device's account.
    pub account: AccountId,
    /// Whether the device was revoked since: its tokens no longer authorise anything.
    pub revoked: bool,
}

/// How much of a blob is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobRecord {
    /// Bytes received.
    pub received: u64,
    /// Whether it was completed (its hash checked); then it is read-only.
    pub complete: bool,
}

/// A page of a space's envelopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledEnvelopes {
    /// The envelopes, in space sequence order.
    pub envelopes: Vec<Stored>,
    /// Whether envelopes follow the last one.
    pub more: bool,
}

/// An open link rendezvous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSlotRecord {
    /// The account whose device opened it.
    pub account: AccountId,
    /// Until when it is open.
    pub expires_ms: u64,
}

/// Totals for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Envelopes stored.
    pub envelopes: u64,
    /// Their encoded size in bytes.
    pub envelope_bytes: u64,
    /// Blob bytes held, partial uploads included.
    pub blob_bytes: u64,
    /// Link slots not yet expired.
    pub link_slots: u64,
}

/// Ledger entries one read returns at most; the page's `len` tells a client to read on.
pub const LEDGER_PAGE: u64 = 500;

/// The relay's storage. Times are passed in (`now_ms`): storage has no clock of its own.
#[async_trait]
pub trait Storage: Send + Sync {
    /// Stores an account with its first device. The identical pair again is
    /// [`Put::Existing`]; another record under a stored account id, or another certificate
    /// under a stored device id, is a conflict.
    async fn create_account(
        &self,
        account: &AccountRecord,
        device: &DeviceCert,
    ) -> StorageResult<Put>;

    /// An account's record.
    async fn account(&self, id: &AccountId) -> StorageResult<Option<AccountRecord>>;

    /// Stores another device of a stored account (not found otherwise). The identical
    /// certificate again is [`Put::Existing`]; another under the same device id is a conflict.
    async fn register_device(&self, cert: &DeviceCert) -> StorageResult<Put>;

    /// A device.
    async fn device(&self, id: &DeviceId) -> StorageResult<Option<DeviceRecord>>;

    /// An account's devices, revoked ones included, in device id order.
    async fn account_devices(&self, account: &AccountId) -> StorageResult<Vec<DeviceRecord>>;

    /// Marks a device revoked: its tokens stop authorising and it gets no new one.
    async fn revoke_device(&self, id: &DeviceId) -> StorageResult<()>;

    /// Keeps a challenge nonce for a device until `expires_ms`.
    async fn put_challenge(
        &self,
        device: &DeviceId,
        nonce: &Hash32,
        expires_ms: u64,
    ) -> StorageResult<()>;

    /// Uses up a challenge: true once, when it was issued to `device` and has not expired.
    async fn take_challenge(
        &self,
        device: &DeviceId,
        nonce: &Hash32,
        now_ms: u64,
    ) -> StorageResult<bool>;

    /// Keeps a token (by its hash) for a device until `expires_ms`, and notes the device seen.
    async fn put_token(
        &self,
        hash: &Hash32,
        device: &DeviceId,
        expires_ms: u64,
        now_ms: u64,
    ) -> StorageResult<()>;

    /// Whose the token with this hash is, while it has not expired.
    async fn token(&self, hash: &Hash32, now_ms: u64) -> StorageResult<Option<TokenOwner>>;

    /// Stores a space's genesis entry (entry 0). The identical entry again is
    /// [`Put::Existing`]; another for a stored space is a conflict.
    async fn create_space(&self, genesis: &LedgerEntry) -> StorageResult<Put>;

    /// Every space.
    async fn spaces(&self) -> StorageResult<Vec<SpaceId>>;

    /// A space's ledger entries from index `from`, at most [`LEDGER_PAGE`].
    async fn ledger(&self, space: &SpaceId, from: u64) -> StorageResult<Vec<LedgerEntry>>;

    /// Appends an entry; its index must be the ledger's length (a conflict otherwise).
    async fn append_ledger(&self, entry: &LedgerEntry) -> StorageResult<()>;

    /// Stores one device's envelopes in one transaction, in order, each placed by
    /// [`place_envelope`]: a stored one answers its place again, the next one in the chain gets
    /// the space's next sequence number, anything else refuses the whole push.
    async fn push(
        &self,
        space: &SpaceId,
        device: &DeviceId,
        envelopes: Vec<Envelope>,
    ) -> StorageResult<Vec<Accepted>>;

    /// Envelopes with a space sequence number above `after`, in order: at most `limit`, and no
    /// more than about `max_bytes` of encoded envelopes (always at least one, if any follows).
    async fn pull(
        &self,
        space: &SpaceId,
        after: u64,
        limit: u32,
        max_bytes: usize,
    ) -> StorageResult<PulledEnvelopes>;

    /// Each device's newest envelope in the space, as its signed head, in device id order.
    async fn heads(&self, space: &SpaceId) -> StorageResult<Vec<DeviceHead>>;

    /// A blob's upload record.
    async fn blob(&self, space: &SpaceId, hash: &Hash32) -> StorageResult<Option<BlobRecord>>;

    /// Blob bytes the space holds, partial uploads included.
    async fn blob_usage(&self, space: &SpaceId) -> StorageResult<u64>;

    /// Records bytes `from..to` of a blob received. `from` must be what was received (0 for a
    /// new blob) and the blob not complete (a conflict otherwise); the space's usage after it
    /// must stay within `quota`.
    async fn advance_blob(
        &self,
        space: &SpaceId,
        hash: &Hash32,
        from: u64,
        to: u64,
        quota: u64,
    ) -> StorageResult<()>;

    /// Marks a blob of `size` received bytes complete.
    async fn complete_blob(&self, space: &SpaceId, hash: &Hash32, size: u64) -> StorageResult<()>;

    /// Forgets a blob's record.
    async fn drop_blob(&self, space: &SpaceId, hash: &Hash32) -> StorageResult<()>;

    /// Opens a link slot for an account (a conflict if the id is taken).
    async fn open_link(
        &self,
        slot: &str,
        account: &AccountId,
        expires_ms: u64,
    ) -> StorageResult<()>;

    /// An open slot, while it has not expired.
    async fn link_slot(&self, slot: &str, now_ms: u64) -> StorageResult<Option<LinkSlotRecord>>;

    /// Appends a message to one side of an open slot and answers its index; a side holds at
    /// most `max` (a conflict after), an expired slot is not found.
    async fn post_link(
        &self,
        slot: &str,
        side: LinkSide,
        message: &[u8],
        max: u32,
        now_ms: u64,
    ) -> StorageResult<u32>;

    /// One side's messages from index `from`, oldest first.
    async fn link_messages(
        &self,
        slot: &str,
        side: LinkSide,
        from: u32,
    ) -> StorageResult<Vec<ByteBuf>>;

    /// Totals for the metrics.
    async fn stats(&self, now_ms: u64) -> StorageResult<Stats>;

    /// Forgets expired challenges, tokens and link slots.
    async fn sweep(&self, now_ms: u64) -> StorageResult<()>;
}

/// Where a pushed envelope goes, given its device's last point in the space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// It is stored already, at this space sequence number.
    Stored(u64),
    /// It continues the chain: store it with the space's next sequence number.
    Append,
}

/// The chain rule every backend applies to each pushed envelope, inside its transaction.
/// `stored_at(seq)` reads the link and space sequence number of the device's stored batch
/// `seq`.
///
/// A batch at or before the device's last one is the same batch again only if its link (its
/// header and body hash) is the stored one's; anything else there is a fork. After the last,
/// only the very next batch that names the last one's link is accepted; any other is a gap.
pub fn place_envelope(
    last: ChainPoint,
    header: &EnvelopeHeader,
    link: Hash32,
    stored_at: impl FnOnce(u64) -> StorageResult<Option<(Hash32, u64)>>,
) -> StorageResult<Placement> {
    if header.seq <= last.seq {
        return match stored_at(header.seq)? {
            Some((stored, seq)) if stored == link => Ok(Placement::Stored(seq)),
            _ => Err(StorageError::Conflict(
                "another batch is stored at this place in the device's chain",
            )),
        };
    }
    if header.seq == last.seq + 1 && header.prev == last.link {
        Ok(Placement::Append)
    } else {
        Err(StorageError::Conflict(
            "the batch does not continue the device's chain",
        ))
    }
}
