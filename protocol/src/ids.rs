//! Ids on the wire, each checked when it is read so a malformed one never reaches storage or a
//! path.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ProtocolError, Result};

/// Whether `text` is a UUID in lowercase hyphenated form (`8-4-4-4-12` hex digits).
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(is_lower_hex))
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

macro_rules! id {
    ($(#[$meta:meta])* $name:ident, $check:expr, $expected:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses an id, refusing anything else.
            pub fn parse(text: &str) -> Result<Self> {
                let check: fn(&str) -> bool = $check;
                if check(text) {
                    Ok(Self(text.to_owned()))
                } else {
                    Err(ProtocolError::Malformed {
                        what: stringify!($name),
                        reason: concat!("expected ", $expected).into(),
                    })
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ProtocolError;
            fn try_from(text: String) -> Result<Self> {
                Self::parse(&text)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

id!(
    /// An account: the person, across all their devices. A UUID.
    AccountId,
    is_uuid,
    "a lowercase UUID"
);
id!(
    /// A space: one patient's record, the unit of sync, sharing and keys. A UUID.
    SpaceId,
    is_uuid,
    "a lowercase UUID"
);
id!(
    /// A device: 16 random bytes in lowercase hex, the same id its hybrid logical clock carries.
    DeviceId,
    |t| t.len() == 32 && t.bytes().all(is_lower_hex),
    "32 lowercase hex digits"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_when_parsed_and_when_read() {
        assert!(AccountId::parse("0b9f3c2e-5d1a-4c8e-9f00-1234567890ab").is_ok());
        for bad in [
            "",
            "0B9F3C2E-5D1A-4C8E-9F00-1234567890AB",
            "0b9f3c2e5d1a4c8e9f001234567890ab",
            "0b9f3c2e-5d1a-4c8e-9f00-1234567890a/",
            "../../etc/passwd",
        ] {
            assert!(AccountId::parse(bad).is_err(), "{bad}");
        }
        assert!(DeviceId::parse(&"a".repeat(32)).is_ok());
        assert!(DeviceId::parse(&"g".repeat(32)).is_err());
        let read: std::result::Result<DeviceId, _> = serde_json::from_str("\"../x\"");
        assert!(read.is_err());
    }
}
