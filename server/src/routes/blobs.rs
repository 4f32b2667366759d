//! Blobs: uploaded in chunks that resume where the relay stands, sealed once their BLAKE3
//! hash is the one they are named by, then read in ranges.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use cairn_protocol::api::{BlobStatus, CompleteBlob, MAX_SMALL_BODY};
use cairn_protocol::{Hash32, SpaceId};
use serde::Deserialize;
use tokio_util::io::ReaderStream;

use crate::blobs::BlobError;
use crate::http::{ApiError, Cbor, Raw, decode};
use crate::relay::AppState;
use crate::routes::auth::Caller;
use crate::routes::spaces::space_id;
use crate::spaces::check_member;

/// The space and blob a path names, once the caller may use the space. The hash must be 64
/// lowercase hex digits before it goes anywhere near a file name.
async fn open(
    relay: &AppState,
    caller: &Caller,
    space: &str,
    hash: &str,
) -> Result<(SpaceId, Hash32), ApiError> {
    let space = space_id(space)?;
    if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(ApiError::invalid(
            "a blob is named by 64 lowercase hex digits",
        ));
    }
    let hash = Hash32::from_hex(hash)?;
    let ledger = relay.spaces.get(&space)?;
    check_member(&*ledger.read().await, &caller.account, &caller.device)?;
    Ok((space, hash))
}

/// The query of the blob routes.
#[derive(Debug, Deserialize)]
pub(crate) struct BlobQuery {
    offset: Option<u64>,
    len: Option<u64>,
}

/// `GET …/blobs/{hash}`: the upload's status; with `?offset=N&len=M`, bytes of a complete blob.
pub(crate) async fn read(
    State(relay): State<AppState>,
    caller: Caller,
    Path((space, hash)): Path<(String, String)>,
    Query(query): Query<BlobQuery>,
) -> Result<Response, ApiError> {
    let (space, hash) = open(&relay, &caller, &space, &hash).await?;
    let record = relay.storage.blob(&space, &hash).await?;
    let (offset, len) = match (query.offset, query.len) {
        (None, None) => {
            let status = record.map_or(
                BlobStatus {
                    received: 0,
                    complete: false,
                },
                |r| BlobStatus {
                    received: r.received,
                    complete: r.complete,
                },
            );
            return Ok(Cbor(status).into_response());
        }
        (Some(offset), Some(len)) => (offset, len),
        _ => return Err(ApiError::invalid("offset and len are given together")),
    };
    let Some(record) = record.filter(|r| r.complete) else {
        return Err(ApiError::not_found("the blob is not complete"));
    };
    if offset > record.received {
        return Err(ApiError::invalid("the offset is past the blob's end"));
    }
    let len = len.min(record.received - offset);
    let reader = match relay.blobs.read(&space, &hash, offset, len).await {
        // Completed in storage but not yet moved into place (a crash in between): finish it.
        Err(BlobError::NotFound) => {
            relay.blobs.seal(&space, &hash, record.received).await?;
            relay.blobs.read(&space, &hash, offset, len).await?
        }
        other => other?,
    };
    let mut response = Body::from_stream(ReaderStream::new(reader)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(response)
}

/// The query of a chunk upload.
#[derive(Debug, Deserialize)]
pub(crate) struct ChunkQuery {
    offset: u64,
}

/// `PUT …/blobs/{hash}?offset=N`: the next chunk, if N is what the relay has received.
pub(crate) async fn append(
    State(relay): State<AppState>,
    caller: Caller,
    Path((space, hash)): Path<(String, String)>,
    Query(query): Query<ChunkQuery>,
    Raw(bytes): Raw,
) -> Result<Cbor<BlobStatus>, ApiError> {
    let (space, hash) = open(&relay, &caller, &space, &hash).await?;
    let offset = query.offset;
    let _one_at_a_time = relay.blob_locks.lock(&space, &hash).await;
    let record = relay.storage.blob(&space, &hash).await?;
    let received = record.map_or(0, |r| r.received);
    // The client re-reads the status; the answer says nothing of where the upload stands.
    if record.is_some_and(|r| r.complete) || received != offset {
        return Err(ApiError::conflict(
            "the chunk does not continue the upload; read its status",
        ));
    }
    let quota = relay.limits.blob_quota_per_space;
    let len = bytes.len() as u64;
    if relay.storage.blob_usage(&space).await?.saturating_add(len) > quota {
        return Err(crate::storage::StorageError::QuotaExceeded.into());
    }
    match relay.blobs.write_chunk(&space, &hash, offset, bytes).await {
        Ok(()) => {}
        // The bytes recorded are gone from the blob store: start the upload over.
        Err(BlobError::NotFound) => {
            relay.blobs.drop_partial(&space, &hash).await?;
            relay.storage.drop_blob(&space, &hash).await?;
            return Err(ApiError::conflict(
                "the upload was lost and starts over; read its status",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    relay
        .storage
        .advance_blob(&space, &hash, offset, offset + len, quota)
        .await?;
    Ok(Cbor(BlobStatus {
        received: offset + len,
        complete: false,
    }))
}

/// `POST …/blobs/{hash}`: seals the upload if its size and BLAKE3 hash are right; otherwise the
/// partial upload is dropped and the client starts over.
pub(crate) async fn complete(
    State(relay): State<AppState>,
    caller: Caller,
    Path((space, hash)): Path<(String, String)>,
    Raw(body): Raw,
) -> Result<Cbor<BlobStatus>, ApiError> {
    if body.len() > MAX_SMALL_BODY {
        return Err(ApiError::too_large(
            "the body is larger than this route takes",
        ));
    }
    let CompleteBlob { size } = decode(&body)?;
    let (space, hash) = open(&relay, &caller, &space, &hash).await?;
    let _one_at_a_time = relay.blob_locks.lock(&space, &hash).await;
    let Some(record) = relay.storage.blob(&space, &hash).await? else {
        return Err(ApiError::not_found("no upload of this blob"));
    };
    let sealed = BlobStatus {
        received: size,
        complete: true,
    };
    if record.complete {
        if record.received != size {
            return Err(ApiError::invalid("the blob is complete with another size"));
        }
        // Completed before; make sure its bytes were moved into place too.
        relay.blobs.seal(&space, &hash, size).await?;
        return Ok(Cbor(sealed));
    }
    let drop_upload = async || -> Result<(), ApiError> {
        relay.blobs.drop_partial(&space, &hash).await?;
        relay.storage.drop_blob(&space, &hash).await?;
        Ok(())
    };
    if record.received != size {
        drop_upload().await?;
        return Err(ApiError::invalid(
            "the blob's size is not what was uploaded; the upload was dropped",
        ));
    }
    let digest = match relay.blobs.digest_partial(&space, &hash, size).await {
        Ok(digest) => Some(digest),
        Err(BlobError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    if digest != Some(hash) {
        drop_upload().await?;
        return Err(ApiError::invalid(
            "the uploaded bytes do not hash to the blob's name; the upload was dropped",
        ));
    }
    relay.storage.complete_blob(&space, &hash, size).await?;
    relay.blobs.seal(&space, &hash, size).await?;
    Ok(Cbor(sealed))
}
