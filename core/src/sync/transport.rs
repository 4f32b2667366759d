//! What the engine asks of the relay, as one trait: the HTTP client (`http.rs`) implements it,
//! and so can anything else that reaches a relay.

use cairn_protocol::api::{
    BlobStatus, CreateAccount, CreateSpace, DeviceList, LedgerPage, LinkSide, LinkSlot, PullPage,
    PushResponse, RegisterDevice,
};
use cairn_protocol::{ByteBuf, DeviceId, Envelope, Hash32, LedgerEntry, SpaceId};

use crate::error::Result;

/// The relay, as the engine sees it. Every method is one request; a failure is
/// [`Error::Network`](crate::Error::Network) when trying again may help (no answer, a timeout,
/// a cut-short answer, 5xx, 429), and a typed error when it will not.
pub trait Transport: Send + Sync {
    /// The relay's address, for messages.
    fn relay(&self) -> &str;
    /// Registers a new account with its first device (idempotent).
    fn create_account(&self, body: &CreateAccount) -> Result<()>;
    /// Registers another device of an account, certified by the account (idempotent).
    fn register_device(&self, body: &RegisterDevice) -> Result<()>;
    /// The calling device's account's devices.
    fn devices(&self) -> Result<DeviceList>;
    /// Revokes a device of the calling device's account.
    fn revoke_device(&self, device: &DeviceId) -> Result<()>;
    /// Creates a space from its genesis entry (idempotent).
    fn create_space(&self, body: &CreateSpace) -> Result<()>;
    /// The space's ledger entries from index `from` on.
    fn ledger(&self, space: &SpaceId, from: u64) -> Result<LedgerPage>;
    /// Appends the next ledger entry.
    fn append_ledger(&self, space: &SpaceId, entry: &LedgerEntry) -> Result<()>;
    /// Pushes the calling device's envelopes, in its chain order.
    fn push(&self, space: &SpaceId, envelopes: &[Envelope]) -> Result<PushResponse>;
    /// A page of the space's envelopes after sequence number `after`.
    fn pull(&self, space: &SpaceId, after: u64, limit: u32) -> Result<PullPage>;
    /// How much of a blob the relay holds.
    fn blob_status(&self, space: &SpaceId, hash: &Hash32) -> Result<BlobStatus>;
    /// Appends a chunk to a blob at `offset`.
    fn put_blob_chunk(
        &self,
        space: &SpaceId,
        hash: &Hash32,
        offset: u64,
        bytes: &[u8],
    ) -> Result<()>;
    /// Seals an uploaded blob of `size` bytes; the relay checks its hash.
    fn complete_blob(&self, space: &SpaceId, hash: &Hash32, size: u64) -> Result<()>;
    /// Up to `len` bytes of a complete blob from `offset`.
    fn get_blob(&self, space: &SpaceId, hash: &Hash32, offset: u64, len: u64) -> Result<Vec<u8>>;
    /// Opens a rendezvous for linking a device.
    fn open_link(&self) -> Result<LinkSlot>;
    /// Posts `side`'s next message to a rendezvous.
    fn post_link(&self, slot: &str, side: LinkSide, message: &[u8]) -> Result<()>;
    /// `side`'s messages from index `after` on, waiting up to `wait_ms` for one.
    fn read_link(
        &self,
        slot: &str,
        side: LinkSide,
        after: usize,
        wait_ms: u32,
    ) -> Result<Vec<ByteBuf>>;
}
