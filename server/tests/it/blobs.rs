//! Blobs: chunked uploads that resume after a cut, sealed only when their hash is their name,
//! read in ranges, and held to the space's quota.

use std::io::{Read, Write};

use cairn_protocol::api::{BlobStatus, CompleteBlob, ErrorCode, MAX_CHUNK_BYTES, paths};
use cairn_protocol::{Hash32, SpaceId};

use crate::fixture::{Patient, Reply, TestRelay, seal_bytes};

fn status(relay: &TestRelay, token: &str, space: &SpaceId, hash: &Hash32) -> BlobStatus {
    relay.get(&paths::blob(space, hash), Some(token)).ok()
}

fn put(
    relay: &TestRelay,
    token: &str,
    space: &SpaceId,
    hash: &Hash32,
    offset: u64,
    bytes: &[u8],
) -> Reply {
    relay.put_raw(
        &format!("{}?offset={offset}", paths::blob(space, hash)),
        Some(token),
        bytes.to_vec(),
    )
}

fn complete(relay: &TestRelay, token: &str, space: &SpaceId, hash: &Hash32, size: u64) -> Reply {
    relay.post(
        &paths::blob(space, hash),
        Some(token),
        &CompleteBlob { size },
    )
}

fn read(
    relay: &TestRelay,
    token: &str,
    space: &SpaceId,
    hash: &Hash32,
    offset: u64,
    len: u64,
) -> Reply {
    relay.get(
        &format!("{}?offset={offset}&len={len}", paths::blob(space, hash)),
        Some(token),
    )
}

/// Sends a chunk's headers and only half its body, then hangs up: a connection cut mid-upload.
fn cut_upload(relay: &TestRelay, token: &str, path: &str, body: &[u8]) {
    let addr = relay.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "PUT {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body[..body.len() / 2]).unwrap();
    stream.flush().unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    // Whatever the relay says (if anything), the connection ends.
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
}

#[test]
fn a_document_upload_resumes_after_a_cut_and_a_restart_and_reads_back_in_ranges() {
    let mut relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let space = maya.space.clone();
    let content = seal_bytes(&vec![0x42; 300_000]);
    let hash = Hash32::of(&content);
    assert_eq!(
        status(&relay, &maya.token, &space, &hash),
        BlobStatus {
            received: 0,
            complete: false
        }
    );
    read(&relay, &maya.token, &space, &hash, 0, 10).refused(404, ErrorCode::NotFound);

    let first: BlobStatus = put(&relay, &maya.token, &space, &hash, 0, &content[..100_000]).ok();
    assert_eq!(first.received, 100_000);

    // The second chunk is cut off mid-body: nothing of it counts.
    cut_upload(
        &relay,
        &maya.token,
        &format!("{}?offset=100000", paths::blob(&space, &hash)),
        &content[100_000..200_000],
    );
    assert_eq!(status(&relay, &maya.token, &space, &hash).received, 100_000);

    // The relay restarts; the upload is where it was.
    relay = relay.restart();
    let token = &maya.token;
    assert_eq!(
        status(&relay, token, &space, &hash),
        BlobStatus {
            received: 100_000,
            complete: false
        }
    );
    // A chunk at the wrong place is refused with nothing but the code: the client re-reads.
    let wrong = put(&relay, token, &space, &hash, 0, &content[..100_000]);
    wrong.refused(409, ErrorCode::Conflict);
    assert!(!wrong.error_body().unwrap().message.contains("100000"));
    put(&relay, token, &space, &hash, 150_000, &content[150_000..])
        .refused(409, ErrorCode::Conflict);

    put(&relay, token, &space, &hash, 100_000, &content[100_000..]).done();
    read(&relay, token, &space, &hash, 0, 10).refused(404, ErrorCode::NotFound);
    let sealed: BlobStatus = complete(&relay, token, &space, &hash, content.len() as u64).ok();
    assert_eq!(
        sealed,
        BlobStatus {
            received: 300_000,
            complete: true
        }
    );
    // Completing again is no change; a chunk after it is refused.
    complete(&relay, token, &space, &hash, content.len() as u64).done();
    put(&relay, token, &space, &hash, 300_000, b"more").refused(409, ErrorCode::Conflict);

    let whole = read(&relay, token, &space, &hash, 0, 1 << 30);
    assert_eq!(whole.status, 200);
    assert_eq!(
        whole.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(whole.body, content);
    assert_eq!(
        read(&relay, token, &space, &hash, 299_990, 100).body,
        &content[299_990..]
    );
    assert_eq!(
        read(&relay, token, &space, &hash, 1_000, 5).body,
        &content[1_000..1_005]
    );
    relay
        .get(
            &format!("{}?offset=5", paths::blob(&space, &hash)),
            Some(token),
        )
        .refused(400, ErrorCode::Invalid);
}

#[test]
fn a_blob_whose_bytes_do_not_hash_to_its_name_is_dropped() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let space = &maya.space;
    let token = &maya.token;
    let content = seal_bytes(b"a scan of the pathology report");
    let hash = Hash32::of(&content);

    let mut swapped = content.clone();
    swapped[0] ^= 1;
    put(&relay, token, space, &hash, 0, &swapped).done();
    complete(&relay, token, space, &hash, content.len() as u64).refused(400, ErrorCode::Invalid);
    assert_eq!(
        status(&relay, token, space, &hash),
        BlobStatus {
            received: 0,
            complete: false
        }
    );

    put(&relay, token, space, &hash, 0, &content).done();
    complete(&relay, token, space, &hash, content.len() as u64 + 1)
        .refused(400, ErrorCode::Invalid);
    assert_eq!(
        status(&relay, token, space, &hash).received,
        0,
        "a wrong size drops it too"
    );

    put(&relay, token, space, &hash, 0, &content).done();
    complete(&relay, token, space, &hash, content.len() as u64).done();
    complete(&relay, token, space, &hash, 3).refused(400, ErrorCode::Invalid);
    assert_eq!(read(&relay, token, space, &hash, 0, 1 << 20).body, content);

    // Completing a blob never uploaded.
    complete(&relay, token, space, &Hash32([9; 32]), 1).refused(404, ErrorCode::NotFound);
}

#[test]
fn a_blob_name_is_64_lowercase_hex_digits_before_it_reaches_a_file() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let base = format!("/v1/spaces/{}/blobs", maya.space);
    for name in [
        "..%2F..%2Frelay.db",
        &"A".repeat(64),
        &"a".repeat(63),
        &"a".repeat(65),
        &format!("{}.part", "a".repeat(59)),
    ] {
        relay
            .get(&format!("{base}/{name}"), Some(&maya.token))
            .refused(400, ErrorCode::Invalid);
    }
    relay
        .get(
            &format!("/v1/spaces/not-a-space/blobs/{}", "a".repeat(64)),
            Some(&maya.token),
        )
        .refused(400, ErrorCode::Invalid);
}

#[test]
fn a_spaces_blobs_stay_within_its_quota_partial_uploads_included() {
    let relay = TestRelay::start_with(|limits| limits.blob_quota_per_space = 1_000);
    let maya = Patient::signs_up(&relay, 1);
    let mallory = Patient::signs_up(&relay, 3);
    let (a, b) = (Hash32([0xa; 32]), Hash32([0xb; 32]));
    put(&relay, &maya.token, &maya.space, &a, 0, &[1; 600]).done();
    put(&relay, &maya.token, &maya.space, &b, 0, &[2; 600]).refused(507, ErrorCode::QuotaExceeded);
    put(&relay, &maya.token, &maya.space, &a, 600, &[1; 401])
        .refused(507, ErrorCode::QuotaExceeded);
    put(&relay, &maya.token, &maya.space, &b, 0, &[2; 400]).done();
    // Another space has its own.
    put(&relay, &mallory.token, &mallory.space, &b, 0, &[2; 1_000]).done();
    // A dropped upload gives its room back.
    complete(&relay, &maya.token, &maya.space, &b, 400).refused(400, ErrorCode::Invalid);
    put(&relay, &maya.token, &maya.space, &a, 600, &[1; 400]).done();
}

#[test]
fn a_chunk_is_at_most_4_mib() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let hash = Hash32([0xc; 32]);
    // Refused on its announced length, before a byte of it is read.
    let path = format!("{}?offset=0", paths::blob(&maya.space, &hash));
    let head = format!(
        "PUT {path} HTTP/1.1\r\nhost: relay\r\nauthorization: Bearer {}\r\n\
         content-length: {}\r\n\r\n",
        maya.token,
        MAX_CHUNK_BYTES + 1
    );
    assert_eq!(relay.raw(head.as_bytes()), 413);
    put(
        &relay,
        &maya.token,
        &maya.space,
        &hash,
        0,
        &vec![0; MAX_CHUNK_BYTES],
    )
    .done();
    assert_eq!(
        status(&relay, &maya.token, &maya.space, &hash).received,
        MAX_CHUNK_BYTES as u64
    );
}

#[test]
fn an_upload_whose_bytes_were_lost_starts_over() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let (space, token) = (&maya.space, &maya.token);
    let content = seal_bytes(&[7; 2_000]);
    let hash = Hash32::of(&content);
    put(&relay, token, space, &hash, 0, &content[..1_000]).done();
    let partial = relay
        .data_dir()
        .join("blobs")
        .join(space.as_str())
        .join(format!("{}.part", hash.to_hex()));
    std::fs::remove_file(partial).expect("the partial upload is a file of its own");

    put(&relay, token, space, &hash, 1_000, &content[1_000..]).refused(409, ErrorCode::Conflict);
    assert_eq!(status(&relay, token, space, &hash).received, 0);
    put(&relay, token, space, &hash, 0, &content).done();
    complete(&relay, token, space, &hash, content.len() as u64).done();
    assert_eq!(read(&relay, token, space, &hash, 0, 1 << 20).body, content);
}
