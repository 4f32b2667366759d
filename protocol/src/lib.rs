//! Cairn's sync protocol, shared by the client engine (`cairn-core`) and the relay
//! (`cairn-server`): the wire types of every endpoint, and the formats the relay stores but
//! cannot read or forge — accounts, device certificates, the space ledger, envelopes.
//!
//! The relay is assumed malicious. Everything that matters is signed by a key the relay never
//! holds and verified by every client with the functions here; the relay verifies the same
//! signatures only to refuse junk early. This crate holds public keys and verification, never a
//! secret: signing and sealing live in `cairn-core`.
//!
//! # Layout
//!
//! - [`bytes`]: fixed-size byte strings (keys, hashes, signatures) and byte buffers, carried as
//!   CBOR byte strings.
//! - [`ids`]: account, space and device ids, checked when they are read.
//! - [`canon`]: the canonical byte layouts that are signed, hashed and bound as associated data
//!   (never a serde encoding: one structure has one byte string).
//! - [`keys`]: public signing and key-agreement keys; signature verification.
//! - [`account`]: an account's public keys and the certificate binding a device to it.
//! - [`ledger`]: the space ledger — a hash chain of signed entries (devices, revocations,
//!   scope-key epochs) — and [`ledger::LedgerState`], the verifier every client runs.
//! - [`envelope`]: a sealed batch of changes, its per-device hash chain and signed head.
//! - [`api`]: the HTTP endpoints, their request and response bodies, and the error body.
//! - [`codec`]: the wire encoding (CBOR) with its size bound.
//!
//! `README.md` beside this crate documents every endpoint and what the relay can and cannot see.

pub mod account;
pub mod api;
pub mod bytes;
pub mod canon;
pub mod codec;
pub mod envelope;
pub mod ids;
pub mod keys;
pub mod ledger;

pub use account::{AccountRecord, DeviceCert};
pub use bytes::{ByteBuf, Hash32, Key32, Nonce24, Sig64};
pub use envelope::{ChainPoint, DeviceHead, Envelope, EnvelopeHeader};
pub use ids::{AccountId, DeviceId, SpaceId};
pub use keys::{KemKey, VerifyKey};
pub use ledger::{KeyWrap, LedgerBody, LedgerEntry, LedgerState};

/// The one protocol version this build speaks. Every signed structure carries it; a structure of
/// another version is refused ([`ProtocolError::Version`]), so nothing can be downgraded.
pub const PROTOCOL_VERSION: u16 = 1;

/// What a space's records are grouped into for keys and sharing: each scope has its own
/// symmetric key, and a member is granted scopes, not records.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The patient's name and home zone.
    Profile,
    /// Diagnoses, treatments, appointments, symptoms, measurements, notes.
    Timeline,
    /// Medications, regimens and the dose log.
    Meds,
    /// Document metadata and content keys (content itself travels as blobs).
    Documents,
}

impl Scope {
    /// Every scope, in a fixed order.
    pub const ALL: [Scope; 4] = [
        Scope::Profile,
        Scope::Timeline,
        Scope::Meds,
        Scope::Documents,
    ];

    /// The scope's name on the wire and in labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Profile => "profile",
            Scope::Timeline => "timeline",
            Scope::Meds => "meds",
            Scope::Documents => "documents",
        }
    }

    /// The scope named `name`.
    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// A one-byte tag for canonical layouts.
    pub(crate) fn tag(self) -> u8 {
        match self {
            Scope::Profile => 1,
            Scope::Timeline => 2,
            Scope::Meds => 3,
            Scope::Documents => 4,
        }
    }
}

/// Why something received does not verify or parse. The texts name what failed, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A structure of a protocol version this build does not speak (older or newer).
    #[error("protocol version {found} is not spoken here (this build speaks {PROTOCOL_VERSION})")]
    Version {
        /// The version found.
        found: u16,
    },
    /// The bytes are not a well-formed message.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// Why it is not one.
        reason: String,
    },
    /// A signature does not verify under the key it must verify under.
    #[error("bad signature on {what}")]
    BadSignature {
        /// What was signed.
        what: &'static str,
    },
    /// A ledger entry breaks the ledger's rules.
    #[error("ledger entry {index} refused: {reason}")]
    Ledger {
        /// The entry's position.
        index: u64,
        /// Which rule it breaks.
        reason: String,
    },
    /// A device's chain of envelopes does not continue where it left off: a batch was dropped,
    /// reordered, replayed or forked.
    #[error("device {device}'s history is broken at batch {seq}: {reason}")]
    Chain {
        /// The device whose chain broke.
        device: DeviceId,
        /// The batch where it broke.
        seq: u64,
        /// What was wrong.
        reason: &'static str,
    },
}

/// This crate's result.
pub type Result<T> = std::result::Result<T, ProtocolError>;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;
