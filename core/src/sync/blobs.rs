//! Document content through the relay: each content file (already an age file, encrypted to the
//! document's own key, which travels in the documents scope) goes up as a blob named by the
//! BLAKE3 of its bytes, after the metadata that refers to it, and comes down the first time the
//! document is opened on another device. Both ways go in chunks and resume where they stopped.
//!
//! The relay holds only the age ciphertext; a blob that comes down is checked against its hash
//! before it is put in place, and it opens only with the document's key from the ledger-checked
//! documents scope, so the relay can neither read nor swap content.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use cairn_protocol::Hash32;
use cairn_protocol::api::MAX_CHUNK_BYTES;

use super::transport::Transport;
use crate::error::{Error, Result};
use crate::store::StoreAccess;
use crate::vault::LocalContent;

/// Bytes per upload or download request.
const CHUNK: usize = 1 << 20;
const _: () = assert!(CHUNK <= MAX_CHUNK_BYTES);

/// The BLAKE3 of the file at `path`.
fn hash_file(path: &Path) -> Result<Hash32> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(File::open(path)?)?;
    Ok(Hash32(*hasher.finalize().as_bytes()))
}

/// Runs one request the way the driver does: tried again with backoff while it may pass.
pub(crate) type Retry<'r> = &'r mut dyn FnMut(&mut dyn FnMut() -> Result<()>) -> Result<()>;

/// Whether this device has uploaded blob `hash` whole.
fn uploaded(access: &(impl StoreAccess + ?Sized), hash: &Hash32) -> Result<bool> {
    access.with_store(|s| {
        Ok(s.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM sync_blob_uploads WHERE hash = ?1)",
            [hash.to_hex()],
            |r| r.get(0),
        )?)
    })
}

/// Uploads every local content file the relay does not have whole yet, resuming each where the
/// relay's copy stops, and names each document's blob. Returns how many blobs were sent.
pub(crate) fn upload<A: StoreAccess + ?Sized>(
    access: &A,
    relay: &dyn Transport,
    space: &cairn_protocol::SpaceId,
    retry: Retry<'_>,
) -> Result<u64> {
    let contents: Vec<LocalContent> = access.with_store(|s| s.local_contents())?;
    let mut sent = 0;
    for content in contents {
        let hash = match &content.blob {
            Some(hex) => {
                Hash32::from_hex(hex).map_err(|_| Error::Corrupt("a content blob name".into()))?
            }
            None => hash_file(&content.path)?,
        };
        if uploaded(access, &hash)? {
            continue;
        }
        let size = std::fs::metadata(&content.path)?.len();
        retry(&mut || send_blob(relay, space, &hash, &content.path, size))?;
        access.with_store(|s| {
            s.conn().execute(
                "INSERT OR IGNORE INTO sync_blob_uploads(hash) VALUES (?1)",
                [hash.to_hex()],
            )?;
            if content.blob.is_none() {
                s.name_content_blob(&content.document, &content.file_id, &hash.to_hex())?;
            }
            Ok(())
        })?;
        sent += 1;
    }
    Ok(sent)
}

/// Sends the rest of one blob (from where the relay's copy stops) and seals it.
fn send_blob(
    relay: &dyn Transport,
    space: &cairn_protocol::SpaceId,
    hash: &Hash32,
    path: &Path,
    size: u64,
) -> Result<()> {
    let status = match relay.blob_status(space, hash) {
        Ok(s) => s,
        Err(Error::NotFound { .. }) => cairn_protocol::api::BlobStatus {
            received: 0,
            complete: false,
        },
        Err(e) => return Err(e),
    };
    if status.complete {
        return Ok(());
    }
    let mut file = File::open(path)?;
    let mut offset = status.received.min(size);
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0u8; CHUNK];
    while offset < size {
        let n = read_up_to(&mut file, &mut buf)?;
        if n == 0 {
            return Err(Error::Corrupt(
                "a content file shrank while it was uploaded".into(),
            ));
        }
        match relay.put_blob_chunk(space, hash, offset, &buf[..n]) {
            Ok(()) => offset += n as u64,
            // The relay holds another length than thought (an earlier chunk's answer was lost):
            // ask again where to go on from.
            Err(Error::Conflict(_)) => {
                return Err(Error::Network("a blob upload is resumed".into()));
            }
            Err(e) => return Err(e),
        }
    }
    relay.complete_blob(space, hash, size)
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Downloads `document`'s content if this device does not have it yet, resuming a download cut
/// short, checking the whole against its blob's hash, and putting it in the vault.
pub fn fetch_document<A: StoreAccess + ?Sized>(
    access: &A,
    relay: &dyn Transport,
    document: &str,
) -> Result<()> {
    let Some((file_id, hex)) = access.with_store(|s| s.content_to_download(document))? else {
        return Ok(());
    };
    let hash = Hash32::from_hex(&hex).map_err(|_| Error::Corrupt("a content blob name".into()))?;
    let (space, part) =
        access.with_store(|s| Ok((s.sync_identity()?.space, s.incoming_path(&file_id)?)))?;
    let mut out = OpenOptions::new().create(true).append(true).open(&part)?;
    let mut offset = out.metadata()?.len();
    loop {
        let bytes = relay.get_blob(&space, &hash, offset, CHUNK as u64)?;
        if bytes.is_empty() {
            break;
        }
        out.write_all(&bytes)?;
        offset += bytes.len() as u64;
        if bytes.len() < CHUNK {
            break;
        }
    }
    drop(out);
    if hash_file(&part)? != hash {
        // What came down is not the blob the document names: nothing of it is kept.
        std::fs::remove_file(&part)?;
        return Err(Error::Tampered(format!(
            "document {document}'s content from the relay is not the content its device uploaded"
        )));
    }
    access.with_store(|s| s.install_download(&file_id, &part))
}
