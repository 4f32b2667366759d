//! What the vault directory holds and how its files are named: below the modules that write,
//! read and clean it.

/// Where content is written before it is renamed into place.
pub(super) const TMP_DIR: &str = "tmp";

/// Where the downloads of content from other devices wait until they are whole (ciphertext
/// only; kept across restarts so a download resumes).
pub(super) const INCOMING_DIR: &str = "incoming";

/// Content file ids come from synced metadata, which another device (or a malicious server)
/// wrote: only the exact form of an id this code generates may become part of a path.
pub(super) fn is_content_file_id(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
        })
}
