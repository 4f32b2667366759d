//! Record ids: random (UUID v4) for new records, derived (UUID v8) for records two devices
//! create for the same real thing, and their text form.

/// A new random record id (UUID v4 text form).
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid_text(&bytes)
}

/// An id derived from what a record *is*, so two people creating it for the same real thing
/// (a dose of a medication at its scheduled time) create the same record and merge.
///
/// `kind` separates id spaces; `parts` are length-prefixed so `["ab","c"]` and `["a","bc"]`
/// differ.
pub fn deterministic_id(kind: &str, parts: &[&str]) -> String {
    let mut hasher = blake3::Hasher::new_derive_key("cairn deterministic id v1");
    hasher.update(&(kind.len() as u64).to_le_bytes());
    hasher.update(kind.as_bytes());
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let hash = hasher.finalize();
    let mut bytes: [u8; 16] = hash.as_bytes()[..16].try_into().expect("16 of 32 bytes");
    // Marked as a version 8 (custom) UUID so it never collides with a random v4 id.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid_text(&bytes)
}

/// The text form of a UUID: lowercase hex, dashes after the 4th, 6th, 8th and 10th byte.
pub(crate) fn uuid_text(b: &[u8; 16]) -> String {
    let mut text = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        text.push(char::from(b"0123456789abcdef"[usize::from(byte & 0x0f)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_ids_are_stable_and_unambiguous() {
        let a = deterministic_id("dose", &["med-1", "2026-03-08T08:00"]);
        assert_eq!(a, deterministic_id("dose", &["med-1", "2026-03-08T08:00"]));
        assert_ne!(
            deterministic_id("x", &["ab", "c"]),
            deterministic_id("x", &["a", "bc"])
        );
        assert_ne!(a, deterministic_id("note", &["med-1", "2026-03-08T08:00"]));
        assert_eq!(a.len(), 36);
        assert_ne!(new_id(), new_id());
    }
}
