//! The wire encoding: CBOR (RFC 8949) through serde, for every request and response body.
//!
//! CBOR carries ciphertext, keys and signatures as byte strings (JSON would need base64, a third
//! more on the wire) and is self-describing, so a field added by a newer version is skipped by
//! an older reader instead of breaking it. `protocol/benches/encoding.rs` measures it against
//! JSON and postcard.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{ProtocolError, Result};

/// The media type of every body.
pub const CONTENT_TYPE: &str = "application/cbor";

/// The header every request and response carries with [`crate::PROTOCOL_VERSION`]: a peer that
/// speaks another version is refused before its body is read.
pub const VERSION_HEADER: &str = "cairn-protocol";

/// `value` as CBOR.
pub fn to_cbor<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    ciborium::into_writer(value, &mut out).expect("writing CBOR into memory cannot fail");
    out
}

/// Reads `T` from CBOR; `what` names it in the error.
pub fn from_cbor<T: DeserializeOwned>(bytes: &[u8], what: &'static str) -> Result<T> {
    // Nesting is bounded so a hostile body cannot exhaust the stack.
    ciborium::de::from_reader_with_recursion_limit(bytes, 64).map_err(|e| {
        ProtocolError::Malformed {
            what,
            reason: match e {
                ciborium::de::Error::Io(_) => "cut short".into(),
                ciborium::de::Error::Syntax(at) => format!("not CBOR (at byte {at})"),
                ciborium::de::Error::Semantic(_, msg) => msg,
                ciborium::de::Error::RecursionLimitExceeded => "nested too deeply".into(),
            },
        }
    })
}
