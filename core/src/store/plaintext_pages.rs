//! Tests only: every page of a store's files decrypted with the key in hand, independently of
//! SQLCipher, so a test can prove what the files do *not* hold — including free pages, freed
//! cells and old WAL frames no query would ever read.
//!
//! SQLCipher 4 with a raw key: each page is AES-256-CBC under the key, with a per-page IV in the
//! page's reserved tail (IV, then the HMAC); page 1 keeps its first 16 bytes (the salt) in
//! the clear. A WAL is a 32-byte header, then frames of a 24-byte header and one page each.

use std::path::Path;

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};

use super::DatabaseKey;

const PAGE: usize = 4096;
/// IV (16) and HMAC-SHA256 (32): the reserve of stores this build creates.
const RESERVE: usize = 48;
const SALT: usize = 16;

type Decryptor = cbc::Decryptor<aes::Aes256>;

fn decrypt_page(key: &DatabaseKey, page: &[u8], first: bool) -> Vec<u8> {
    let start = if first { SALT } else { 0 };
    let iv = &page[PAGE - RESERVE..PAGE - RESERVE + 16];
    let mut data = page[start..PAGE - RESERVE].to_vec();
    Decryptor::new(key.as_bytes().into(), iv.into())
        .decrypt_padded_mut::<NoPadding>(&mut data)
        .expect("whole blocks");
    data
}

/// The plaintext of every page of the database file at `db` and of its WAL, if any, joined.
pub(crate) fn decrypted_store_files(db: &Path, key: &DatabaseKey) -> Vec<u8> {
    let mut out = Vec::new();
    let bytes = std::fs::read(db).expect("read the database file");
    for (i, page) in bytes.chunks_exact(PAGE).enumerate() {
        out.extend(decrypt_page(key, page, i == 0));
    }
    let wal = db.with_file_name(format!("{}-wal", db.file_name().unwrap().to_string_lossy()));
    if let Ok(wal) = std::fs::read(wal) {
        for frame in wal.get(32..).unwrap_or_default().chunks_exact(24 + PAGE) {
            let page_number = u32::from_be_bytes(frame[..4].try_into().unwrap());
            out.extend(decrypt_page(key, &frame[24..], page_number == 1));
        }
    }
    out
}

/// Whether `haystack` holds `needle`.
pub(crate) fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}
