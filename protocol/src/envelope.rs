//! Envelopes: sealed batches of field changes, and each device's chain of them.
//!
//! A device seals a batch of changes of one scope with XChaCha20-Poly1305 under a key derived
//! from the scope's key at an epoch; the header ([`EnvelopeHeader::canon`]) is the associated
//! data, so the relay cannot move a ciphertext to another space, scope, epoch, device or place
//! in the chain. The device numbers its batches 1, 2, 3… in a space and each header names the
//! previous batch's link ([`Envelope::link`]), so a device's batches form a hash chain; the
//! device signs every header with the hash of its body, and the newest signed header is the
//! device's head ([`DeviceHead`]). Clients keep, per device, the last link they applied and
//! refuse anything that does not continue it: a dropped, reordered, replayed or forked batch
//! shows.

use serde::{Deserialize, Serialize};

use crate::account::check_version;
use crate::bytes::{ByteBuf, Hash32, Nonce24, Sig64};
use crate::canon::Canon;
use crate::ids::{DeviceId, SpaceId};
use crate::keys::VerifyKey;
use crate::{ProtocolError, Result, Scope};

/// What an envelope says about itself; its canonical bytes are the ciphertext's associated data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeHeader {
    /// Protocol version.
    pub v: u16,
    /// The space.
    pub space: SpaceId,
    /// The scope whose key sealed it.
    pub scope: Scope,
    /// The scope key's epoch.
    pub epoch: u32,
    /// The device that sealed it.
    pub device: DeviceId,
    /// Its place in the device's chain in this space: 1, 2, 3…
    pub seq: u64,
    /// The link of the device's batch before ([`Hash32::ZERO`] for the first).
    pub prev: Hash32,
}

impl EnvelopeHeader {
    /// The canonical bytes: the ciphertext's associated data and part of what is signed.
    pub fn canon(&self) -> Vec<u8> {
        Canon::new("cairn/v1/envelope-header")
            .u16(self.v)
            .str(self.space.as_str())
            .u8(self.scope.tag())
            .u32(self.epoch)
            .str(self.device.as_str())
            .u64(self.seq)
            .fixed(&self.prev.0)
            .finish()
    }

    /// The bytes the device signs: the header and the hash of the body.
    fn signed_bytes(&self, body_hash: &Hash32) -> Vec<u8> {
        let mut c = Canon::new("cairn/v1/envelope");
        c.bytes(&self.canon()).fixed(&body_hash.0);
        c.into_bytes()
    }

    /// The link the device's next batch names as `prev`.
    fn link(&self, body_hash: &Hash32) -> Hash32 {
        Hash32::of(&self.signed_bytes(body_hash))
    }
}

/// A sealed batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The header (in the clear, bound as associated data).
    pub header: EnvelopeHeader,
    /// The random nonce.
    pub nonce: Nonce24,
    /// The ciphertext of the padded batch, tag included.
    pub ct: ByteBuf,
    /// The device's signature over the header and [`Envelope::body_hash`].
    pub sig: Sig64,
}

impl Envelope {
    /// The hash of what is sealed: nonce and ciphertext.
    pub fn body_hash(&self) -> Hash32 {
        let mut h = blake3::Hasher::new();
        h.update(&self.nonce.0);
        h.update(&self.ct);
        Hash32(*h.finalize().as_bytes())
    }

    /// What the device signs for an envelope with this header and body.
    pub fn signed_bytes(header: &EnvelopeHeader, body_hash: &Hash32) -> Vec<u8> {
        header.signed_bytes(body_hash)
    }

    /// The envelope's link in its device's chain (and its id).
    pub fn link(&self) -> Hash32 {
        self.header.link(&self.body_hash())
    }

    /// Checks the version and the device's signature.
    pub fn verify(&self, device_key: &VerifyKey) -> Result<()> {
        check_version(self.header.v)?;
        device_key.verify(
            &self.header.signed_bytes(&self.body_hash()),
            &self.sig,
            "envelope",
        )
    }

    /// The device's head after this envelope.
    pub fn head(&self) -> DeviceHead {
        DeviceHead {
            header: self.header.clone(),
            body_hash: self.body_hash(),
            sig: self.sig,
        }
    }
}

/// A device's newest signed header: the relay hands it out so a client can tell whether it has
/// been given the whole chain. It verifies on its own, without the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceHead {
    /// The newest envelope's header.
    pub header: EnvelopeHeader,
    /// The hash of its body.
    pub body_hash: Hash32,
    /// The device's signature.
    pub sig: Sig64,
}

impl DeviceHead {
    /// Checks the version and the device's signature.
    pub fn verify(&self, device_key: &VerifyKey) -> Result<()> {
        check_version(self.header.v)?;
        device_key.verify(
            &self.header.signed_bytes(&self.body_hash),
            &self.sig,
            "device head",
        )
    }

    /// The head's link.
    pub fn link(&self) -> Hash32 {
        self.header.link(&self.body_hash)
    }

    /// The point in the chain it stands for.
    pub fn point(&self) -> ChainPoint {
        ChainPoint {
            seq: self.header.seq,
            link: self.link(),
        }
    }
}

/// A point in a device's chain: its last batch and that batch's link. The point before any
/// batch is `(0, ZERO)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChainPoint {
    /// The batch number.
    pub seq: u64,
    /// Its link.
    pub link: Hash32,
}

impl ChainPoint {
    /// Whether `header` is the batch right after this point; why not, if not.
    pub fn check_next(&self, header: &EnvelopeHeader) -> Result<()> {
        let broken = |reason| ProtocolError::Chain {
            device: header.device.clone(),
            seq: header.seq,
            reason,
        };
        if header.seq <= self.seq {
            return Err(broken("a batch already applied came again (a replay)"));
        }
        if header.seq > self.seq + 1 {
            return Err(broken(
                "batches before it are missing (dropped or withheld)",
            ));
        }
        if header.prev != self.link {
            return Err(broken("it does not follow the batch before it (a fork)"));
        }
        Ok(())
    }

    /// The point after `envelope`.
    pub fn after(envelope: &Envelope) -> ChainPoint {
        ChainPoint {
            seq: envelope.header.seq,
            link: envelope.link(),
        }
    }
}
