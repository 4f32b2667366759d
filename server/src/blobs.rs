//! Blob bytes: the [`BlobStore`] seam and its filesystem implementation.
//!
//! Which bytes count is decided by [`crate::storage::Storage`] (how much of an upload was
//! received, whether it is complete); a blob store only keeps bytes where it is told. A chunk
//! is written before storage records it, so after a crash the bytes on disk may run past what
//! storage says was received — the next chunk is written at the recorded offset and cuts the
//! rest off. An S3-compatible store can follow the same seam.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use async_trait::async_trait;
use axum::body::Bytes;
use cairn_protocol::{Hash32, SpaceId};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// Why a blob store failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The blob (or the part of it asked for) is not there.
    #[error("no such blob bytes")]
    NotFound,
    /// The store failed.
    #[error("blob store failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A blob store's result.
pub type BlobResult<T> = Result<T, BlobError>;

/// A stream of a blob's bytes.
pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

/// Where blob bytes live. A blob is named by its space and the BLAKE3 hash of its content; it
/// is first a partial upload, then, once sealed, a complete blob that is only read.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Writes `bytes` at `offset` of the partial upload, dropping whatever it held from
    /// `offset` on, and makes them durable.
    async fn write_chunk(
        &self,
        space: &SpaceId,
        hash: &Hash32,
        offset: u64,
        bytes: Bytes,
    ) -> BlobResult<()>;

    /// The BLAKE3 hash of the partial upload's first `size` bytes; not found if it holds fewer.
    async fn digest_partial(&self, space: &SpaceId, hash: &Hash32, size: u64)
    -> BlobResult<Hash32>;

    /// Turns the partial upload's first `size` bytes into the complete blob; a blob sealed
    /// already stays as it is.
    async fn seal(&self, space: &SpaceId, hash: &Hash32, size: u64) -> BlobResult<()>;

    /// Forgets the partial upload (nothing if there is none).
    async fn drop_partial(&self, space: &SpaceId, hash: &Hash32) -> BlobResult<()>;

    /// Reads `len` bytes of the complete blob from `offset` (fewer at its end).
    async fn read(
        &self,
        space: &SpaceId,
        hash: &Hash32,
        offset: u64,
        len: u64,
    ) -> BlobResult<BlobReader>;
}

/// Blobs as files: `DIR/<space>/<hash>` once complete, `DIR/<space>/<hash>.part` before. The
/// names are built from a parsed space id and the hash's hex, never from request text.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    dir: PathBuf,
}

impl FsBlobStore {
    /// Blobs under `dir` (created if missing).
    pub fn open(dir: &Path) -> BlobResult<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(FsBlobStore {
            dir: dir.to_owned(),
        })
    }

    fn space_dir(&self, space: &SpaceId) -> PathBuf {
        self.dir.join(space.as_str())
    }

    fn complete_path(&self, space: &SpaceId, hash: &Hash32) -> PathBuf {
        self.space_dir(space).join(hash.to_hex())
    }

    fn partial_path(&self, space: &SpaceId, hash: &Hash32) -> PathBuf {
        self.space_dir(space)
            .join(format!("{}.part", hash.to_hex()))
    }
}

fn not_found_is(e: std::io::Error) -> BlobError {
    if e.kind() == std::io::ErrorKind::NotFound {
        BlobError::NotFound
    } else {
        BlobError::Io(e)
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn write_chunk(
        &self,
        space: &SpaceId,
        hash: &Hash32,
        offset: u64,
        bytes: Bytes,
    ) -> BlobResult<()> {
        let dir = self.space_dir(space);
        let fresh = tokio::fs::metadata(&dir).await.is_err();
        tokio::fs::create_dir_all(&dir).await?;
        if fresh {
            sync_dir(&self.dir).await?;
        }
        let path = self.partial_path(space, hash);
        let created = tokio::fs::metadata(&path).await.is_err();
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .await?;
        if file.metadata().await?.len() < offset {
            return Err(BlobError::NotFound);
        }
        file.set_len(offset).await?;
        file.seek(SeekFrom::Start(offset)).await?;
        file.write_all(&bytes).await?;
        file.sync_all().await?;
        if created {
            sync_dir(&dir).await?;
        }
        Ok(())
    }

    async fn digest_partial(
        &self,
        space: &SpaceId,
        hash: &Hash32,
        size: u64,
    ) -> BlobResult<Hash32> {
        let path = self.partial_path(space, hash);
        tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&path).map_err(not_found_is)?;
            if file.metadata()?.len() < size {
                return Err(BlobError::NotFound);
            }
            let mut hasher = blake3::Hasher::new();
            hasher.update_reader(std::io::Read::take(file, size))?;
            Ok(Hash32(*hasher.finalize().as_bytes()))
        })
        .await
        .map_err(|_| BlobError::Io(std::io::Error::other("a hashing task panicked")))?
    }

    async fn seal(&self, space: &SpaceId, hash: &Hash32, size: u64) -> BlobResult<()> {
        let partial = self.partial_path(space, hash);
        let complete = self.complete_path(space, hash);
        let file = match tokio::fs::OpenOptions::new()
            .write(true)
            .open(&partial)
            .await
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return match tokio::fs::try_exists(&complete).await? {
                    true => Ok(()),
                    false => Err(BlobError::NotFound),
                };
            }
            Err(e) => return Err(e.into()),
        };
        file.set_len(size).await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&partial, &complete).await?;
        sync_dir(&self.space_dir(space)).await
    }

    async fn drop_partial(&self, space: &SpaceId, hash: &Hash32) -> BlobResult<()> {
        match tokio::fs::remove_file(self.partial_path(space, hash)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn read(
        &self,
        space: &SpaceId,
        hash: &Hash32,
        offset: u64,
        len: u64,
    ) -> BlobResult<BlobReader> {
        let mut file = tokio::fs::File::open(self.complete_path(space, hash))
            .await
            .map_err(not_found_is)?;
        file.seek(SeekFrom::Start(offset)).await?;
        Ok(Box::pin(file.take(len)))
    }
}

/// Makes a directory's entries (a new file, a rename) durable.
async fn sync_dir(dir: &Path) -> BlobResult<()> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || std::fs::File::open(&dir)?.sync_all())
        .await
        .map_err(|_| BlobError::Io(std::io::Error::other("a sync task panicked")))??;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> SpaceId {
        SpaceId::parse("5a5a5a5a-0000-4000-8000-000000000001").unwrap()
    }

    async fn read_all(store: &FsBlobStore, hash: &Hash32, offset: u64, len: u64) -> Vec<u8> {
        let mut out = Vec::new();
        store
            .read(&space(), hash, offset, len)
            .await
            .unwrap()
            .read_to_end(&mut out)
            .await
            .unwrap();
        out
    }

    #[tokio::test]
    async fn a_chunk_written_again_at_an_offset_cuts_off_what_followed() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let content = b"the whole blob, written in pieces".to_vec();
        let hash = Hash32::of(&content);
        store
            .write_chunk(
                &space(),
                &hash,
                0,
                Bytes::from_static(b"the whole blob, XXXXXXXX"),
            )
            .await
            .unwrap();
        // Storage only recorded 16 bytes (a crash after the write): the rest is written there.
        store
            .write_chunk(&space(), &hash, 16, Bytes::from(content[16..].to_vec()))
            .await
            .unwrap();
        assert_eq!(
            store
                .digest_partial(&space(), &hash, content.len() as u64)
                .await
                .unwrap(),
            hash
        );
        assert!(matches!(
            store.digest_partial(&space(), &hash, 1000).await,
            Err(BlobError::NotFound)
        ));
        assert!(matches!(
            store.read(&space(), &hash, 0, 1).await,
            Err(BlobError::NotFound)
        ));
        store
            .seal(&space(), &hash, content.len() as u64)
            .await
            .unwrap();
        assert_eq!(read_all(&store, &hash, 0, 1 << 20).await, content);
        assert_eq!(read_all(&store, &hash, 4, 5).await, b"whole");
        // Files are named by space and hash hex only.
        let names: Vec<String> = std::fs::read_dir(dir.path().join(space().as_str()))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec![hash.to_hex()]);
    }

    #[tokio::test]
    async fn a_chunk_past_the_end_of_the_bytes_held_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let hash = Hash32([1; 32]);
        assert!(matches!(
            store
                .write_chunk(&space(), &hash, 10, Bytes::from_static(b"late"))
                .await,
            Err(BlobError::NotFound)
        ));
        store.drop_partial(&space(), &hash).await.unwrap();
        store.drop_partial(&space(), &hash).await.unwrap();
    }
}
