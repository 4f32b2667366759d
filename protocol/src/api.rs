//! The relay's HTTP API: paths, and the body of every request and response (CBOR, see
//! [`crate::codec`]). `protocol/README.md` documents each endpoint, who may call it, and what
//! the relay learns from it.

use serde::{Deserialize, Serialize};

use crate::PROTOCOL_VERSION;
use crate::account::{AccountRecord, DeviceCert};
use crate::bytes::{ByteBuf, Hash32, Sig64};
use crate::canon::Canon;
use crate::envelope::{DeviceHead, Envelope};
use crate::ids::DeviceId;
use crate::ledger::LedgerEntry;

/// Largest envelope ciphertext the relay stores (1 MiB): a batch is cut before it.
pub const MAX_ENVELOPE_BYTES: usize = 1 << 20;
/// Most envelopes in one push.
pub const MAX_PUSH_ENVELOPES: usize = 256;
/// Largest push body (8 MiB).
pub const MAX_PUSH_BYTES: usize = 8 << 20;
/// Most envelopes in one pull page.
pub const MAX_PULL_ENVELOPES: u32 = 1000;
/// Largest blob chunk in one request (4 MiB).
pub const MAX_CHUNK_BYTES: usize = 4 << 20;
/// Largest body of any other request (64 KiB).
pub const MAX_SMALL_BODY: usize = 64 << 10;

/// Paths, under the relay's base URL.
pub mod paths {
    /// `GET`: is the relay up (no authentication).
    pub const HEALTH: &str = "/v1/health";
    /// `GET`: Prometheus metrics (no authentication; operators keep it off the public side).
    pub const METRICS: &str = "/metrics";
    /// `POST` [`super::ChallengeRequest`] → [`super::Challenge`].
    pub const AUTH_CHALLENGE: &str = "/v1/auth/challenge";
    /// `POST` [`super::TokenRequest`] → [`super::Token`].
    pub const AUTH_TOKEN: &str = "/v1/auth/token";
    /// `POST` [`super::CreateAccount`]: a new account with its first device.
    pub const ACCOUNTS: &str = "/v1/accounts";
    /// `POST` [`super::RegisterDevice`]: another device of an account.
    pub const DEVICES: &str = "/v1/devices";
    /// `GET` → [`super::DeviceList`]: the caller's account's devices.
    pub const MY_DEVICES: &str = "/v1/devices/mine";
    /// `POST` [`super::CreateSpace`].
    pub const SPACES: &str = "/v1/spaces";
    /// `POST` → [`super::LinkSlot`]: open a rendezvous for linking a device.
    pub const LINK: &str = "/v1/link";

    /// `POST`: revoke a device of the caller's account.
    pub fn revoke(device: &crate::DeviceId) -> String {
        format!("/v1/devices/{device}/revoke")
    }
    /// `GET ?from=N` → [`super::LedgerPage`] (entries from index N); `POST`
    /// [`super::AppendLedger`].
    pub fn ledger(space: &crate::SpaceId) -> String {
        format!("/v1/spaces/{space}/ledger")
    }
    /// `POST` [`super::PushRequest`] → [`super::PushResponse`]; `GET ?after=N&limit=M` →
    /// [`super::PullPage`].
    pub fn envelopes(space: &crate::SpaceId) -> String {
        format!("/v1/spaces/{space}/envelopes")
    }
    /// `GET` → [`super::BlobStatus`]; `PUT ?offset=N` (raw bytes): append a chunk; `POST`
    /// [`super::CompleteBlob`]: seal it; `GET` with `?offset=N&len=M` reads raw bytes.
    pub fn blob(space: &crate::SpaceId, hash: &crate::Hash32) -> String {
        format!("/v1/spaces/{space}/blobs/{}", hash.to_hex())
    }
    /// `POST` (raw bytes): `side`'s next message; `GET ?after=N&wait_ms=W` → `side`'s
    /// messages from index N, for the other side, waiting up to W ms for one. A device posts to
    /// its own side and reads `side.other()`.
    pub fn link_messages(slot: &str, side: super::LinkSide) -> String {
        format!("/v1/link/{slot}/{}", side.as_str())
    }
}

/// Asks for a nonce to sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeRequest {
    /// The device that will sign it.
    pub device: DeviceId,
}

/// A nonce to sign, valid for a minute, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Random bytes.
    pub nonce: Hash32,
    /// Until when it may be answered.
    pub expires_ms: u64,
}

/// The signed nonce, for a session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// The device.
    pub device: DeviceId,
    /// The nonce it was given.
    pub nonce: Hash32,
    /// Its signature over [`TokenRequest::signed_bytes`].
    pub sig: Sig64,
}

impl TokenRequest {
    /// What the device signs to prove it holds its key.
    pub fn signed_bytes(device: &DeviceId, nonce: &Hash32) -> Vec<u8> {
        Canon::new("cairn/v1/auth")
            .u16(PROTOCOL_VERSION)
            .str(device.as_str())
            .fixed(&nonce.0)
            .finish()
    }
}

/// A bearer token for `Authorization: Bearer …`, bound to the device that proved its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// The token.
    pub token: String,
    /// Until when it is valid.
    pub expires_ms: u64,
}

/// A new account and its first device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateAccount {
    /// The account's public keys, self-signed.
    pub account: AccountRecord,
    /// The first device's certificate.
    pub device: DeviceCert,
}

/// Another device of an existing account, certified by the account's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterDevice {
    /// The certificate.
    pub cert: DeviceCert,
}

/// A device of the caller's account, as the relay knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Its certificate.
    pub cert: DeviceCert,
    /// Whether it was revoked.
    pub revoked: bool,
    /// When it last authenticated, if ever.
    pub last_seen_ms: Option<u64>,
}

/// The caller's account's devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceList {
    /// The account.
    pub account: AccountRecord,
    /// Its devices.
    pub devices: Vec<DeviceInfo>,
}

/// A new space, from its genesis entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSpace {
    /// Entry 0 of its ledger.
    pub genesis: LedgerEntry,
}

/// Ledger entries after a position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerPage {
    /// The entries, in order.
    pub entries: Vec<LedgerEntry>,
    /// How many entries the ledger holds in all.
    pub len: u64,
}

/// The next ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendLedger {
    /// The entry; its index must be the ledger's length.
    pub entry: LedgerEntry,
}

/// Envelopes of the calling device, in its chain order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRequest {
    /// The envelopes.
    pub envelopes: Vec<Envelope>,
}

/// Where the relay put a pushed envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// The envelope's place in its device's chain.
    pub device_seq: u64,
    /// Its place in the space's sequence.
    pub seq: u64,
}

/// What a push stored. Sent only once the envelopes are durable; pushing the same envelope
/// again answers the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// One per envelope pushed, in order.
    pub accepted: Vec<Accepted>,
    /// The relay's clock, so a device can tell its own is wrong.
    pub server_time_ms: u64,
}

/// An envelope in the space's sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// Its place in the space's sequence.
    pub seq: u64,
    /// The envelope.
    pub envelope: Envelope,
}

/// A page of a space's envelopes after a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullPage {
    /// The envelopes, in sequence order.
    pub envelopes: Vec<Stored>,
    /// Pass back as `after` for the next page.
    pub next_after: u64,
    /// Whether more envelopes follow.
    pub more: bool,
    /// Every device's newest head in the space, so a client can tell what it has not been given.
    pub heads: Vec<DeviceHead>,
    /// How many ledger entries the space has.
    pub ledger_len: u64,
    /// The relay's clock.
    pub server_time_ms: u64,
}

/// How much of a blob the relay holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobStatus {
    /// Bytes received so far (an upload resumes here).
    pub received: u64,
    /// Whether it was completed and its hash checked.
    pub complete: bool,
}

/// Seals an uploaded blob: the relay checks its size and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteBlob {
    /// Its size in bytes.
    pub size: u64,
}

/// A rendezvous for linking a device, valid for ten minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkSlot {
    /// Its id (part of the code the new device types).
    pub slot: String,
    /// Until when it is open.
    pub expires_ms: u64,
}

/// The two sides of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkSide {
    /// The device already in the account, showing the code.
    Existing,
    /// The new device, typing the code.
    New,
}

impl LinkSide {
    /// The side's name in paths.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkSide::Existing => "existing",
            LinkSide::New => "new",
        }
    }

    /// The other side.
    pub fn other(self) -> LinkSide {
        match self {
            LinkSide::Existing => LinkSide::New,
            LinkSide::New => LinkSide::Existing,
        }
    }
}

/// One side's messages in a rendezvous.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkMessages {
    /// The messages, oldest first.
    pub messages: Vec<ByteBuf>,
}

/// The relay's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The protocol version it speaks.
    pub protocol: u16,
}

/// What went wrong, as the relay tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The kind, for the client to act on.
    pub code: ErrorCode,
    /// A readable message (no payload is ever quoted).
    pub message: String,
}

/// The kinds of error the relay answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No credential, or one the relay does not know (401).
    Unauthenticated,
    /// The credential is good but may not do this (403): another space, a revoked device.
    Forbidden,
    /// No such thing (404).
    NotFound,
    /// The request does not verify or parse (400).
    Invalid,
    /// It conflicts with what is stored (409): a different envelope at the same place.
    Conflict,
    /// The body is too large (413).
    TooLarge,
    /// Too many requests (429): retry later.
    RateLimited,
    /// The space's blob quota is used up (507).
    QuotaExceeded,
    /// Another protocol version (426).
    Version,
    /// The relay failed (500, 503): retry later.
    Unavailable,
}
