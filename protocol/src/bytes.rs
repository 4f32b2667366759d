//! Byte strings on the wire: fixed-size ones (keys, hashes, signatures, nonces) and buffers.
//!
//! They serialize as byte strings (CBOR major type 2), not as arrays of numbers, and a
//! fixed-size one of the wrong length is refused when it is read.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{ProtocolError, Result};

macro_rules! fixed_bytes {
    ($(#[$meta:meta])* $name:ident, $len:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// The length in bytes.
            pub const LEN: usize = $len;

            /// Lowercase hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parses lowercase or uppercase hex of exactly the right length.
            pub fn from_hex(text: &str) -> Result<Self> {
                let bytes = hex::decode(text.trim()).map_err(|_| ProtocolError::Malformed {
                    what: stringify!($name),
                    reason: "not hex".into(),
                })?;
                Self::from_slice(&bytes)
            }

            /// The bytes, when there are exactly the right number of them.
            pub fn from_slice(bytes: &[u8]) -> Result<Self> {
                <[u8; $len]>::try_from(bytes)
                    .map(Self)
                    .map_err(|_| ProtocolError::Malformed {
                        what: stringify!($name),
                        reason: format!("{} bytes, expected {}", bytes.len(), $len),
                    })
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Enough to tell two apart in a log; never a whole key.
                write!(f, "{}({}…)", stringify!($name), &self.to_hex()[..12])
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let bytes = d.deserialize_byte_buf(BytesVisitor)?;
                Self::from_slice(&bytes).map_err(de::Error::custom)
            }
        }
    };
}

fixed_bytes!(
    /// A BLAKE3 hash.
    Hash32,
    32
);
fixed_bytes!(
    /// A 32-byte public key (Ed25519 or X25519).
    Key32,
    32
);
fixed_bytes!(
    /// An Ed25519 signature.
    Sig64,
    64
);
fixed_bytes!(
    /// An XChaCha20-Poly1305 nonce.
    Nonce24,
    24
);

impl Default for Hash32 {
    fn default() -> Self {
        Hash32::ZERO
    }
}

impl Hash32 {
    /// The hash before the first: what a chain's first link points back to.
    pub const ZERO: Hash32 = Hash32([0; 32]);

    /// BLAKE3 of `bytes`.
    pub fn of(bytes: &[u8]) -> Hash32 {
        Hash32(*blake3::hash(bytes).as_bytes())
    }
}

/// A byte buffer: ciphertext, an encapsulated key, a PAKE message.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ByteBuf(pub Vec<u8>);

impl fmt::Debug for ByteBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ByteBuf({} bytes)", self.0.len())
    }
}

impl From<Vec<u8>> for ByteBuf {
    fn from(bytes: Vec<u8>) -> Self {
        ByteBuf(bytes)
    }
}

impl std::ops::Deref for ByteBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for ByteBuf {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_byte_buf(BytesVisitor).map(ByteBuf)
    }
}

/// Reads a byte string; an array of small numbers is accepted too, as self-describing formats
/// without byte strings (JSON in tests) write one.
struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> std::result::Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> std::result::Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Vec<u8>, A::Error> {
        let mut out = Vec::new();
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(out)
    }
}
