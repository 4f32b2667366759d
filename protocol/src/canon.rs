//! Canonical byte layouts: what is signed, hashed and bound as associated data.
//!
//! Each layout starts with a label naming its purpose and version (`cairn/v1/envelope`), so a
//! signature made for one purpose never verifies for another, and writes every field in a fixed
//! order with fixed widths or a length prefix, so two different structures never share a byte
//! string. Serde encodings are not used for this: CBOR allows several encodings of one value.

/// A canonical byte string under construction.
#[derive(Debug, Clone)]
pub struct Canon(Vec<u8>);

impl Canon {
    /// A layout for `label` (a purpose such as `cairn/v1/ledger-entry`).
    pub fn new(label: &str) -> Self {
        let mut c = Canon(Vec::with_capacity(128));
        c.str(label);
        c
    }

    /// A byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    /// A big-endian `u16`.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A big-endian `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Bytes whose length is fixed by the layout (a key, a hash).
    pub fn fixed(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }

    /// Bytes of any length, after their length.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        let len = u32::try_from(bytes.len()).expect("canonical fields are under 4 GiB");
        self.u32(len).fixed(bytes)
    }

    /// Text, as its UTF-8 bytes after their length.
    pub fn str(&mut self, text: &str) -> &mut Self {
        self.bytes(text.as_bytes())
    }

    /// The bytes.
    pub fn finish(&self) -> Vec<u8> {
        self.0.clone()
    }

    /// The bytes, without a copy.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_prefix_keeps_neighbouring_fields_apart() {
        let a = Canon::new("t").str("ab").str("c").finish();
        let b = Canon::new("t").str("a").str("bc").finish();
        assert_ne!(a, b);
        let c = Canon::new("t1").finish();
        let d = Canon::new("t").u8(b'1').finish();
        assert_ne!(c, d);
    }
}
