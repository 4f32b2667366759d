//! Public keys and signature verification.

use std::fmt;

use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::bytes::{Key32, Sig64};
use crate::{ProtocolError, Result};

/// An Ed25519 public key: an account's identity key or a device's key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VerifyKey(pub Key32);

impl VerifyKey {
    /// Checks `sig` over `message` (strict verification: no malleable or small-order keys), as
    /// a signature on `what`.
    pub fn verify(&self, message: &[u8], sig: &Sig64, what: &'static str) -> Result<()> {
        let bad = || ProtocolError::BadSignature { what };
        let key = VerifyingKey::from_bytes(&self.0.0).map_err(|_| bad())?;
        key.verify_strict(message, &Signature::from_bytes(&sig.0))
            .map_err(|_| bad())
    }

    /// A short fingerprint people can compare (first 8 bytes of its hash, in hex groups).
    pub fn fingerprint(&self) -> String {
        let hash = crate::bytes::Hash32::of(&self.0.0).to_hex();
        hash.as_bytes()[..16]
            .chunks(4)
            .map(|c| std::str::from_utf8(c).expect("hex is ascii"))
            .collect::<Vec<_>>()
            .join("-")
    }
}

impl fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyKey({})", self.fingerprint())
    }
}

/// An X25519 public key that receives HPKE key wraps (RFC 9180, DHKEM(X25519, HKDF-SHA256)).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KemKey(pub Key32);

impl fmt::Debug for KemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KemKey({:?})", self.0)
    }
}
