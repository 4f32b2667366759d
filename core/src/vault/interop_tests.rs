//! The vault's files are age files: the payload the vault seals is byte for byte the one the
//! `age` crate writes under the same key, files the crate writes open in the vault, and every
//! kind of damage is refused as the crate refuses it, without a byte that did not authenticate.
//! (The standard `age` tool's side is in the `tests` crate.)

use std::io::{Read, Write};

use proptest::prelude::*;

use super::content::{self, KeepFileKey};
use super::payload::{self, CHUNK, Failure, PayloadKey, SEALED_CHUNK, Spread};
use crate::error::Error;

/// Plaintext bytes per batch of the vault's workers.
const BATCH_BYTES: usize = 16 * CHUNK;

/// `workers` workers taking the vault's batches of 16 chunks.
fn spread(workers: usize) -> Spread {
    Spread { workers, batch: 16 }
}

/// Sizes around every boundary: empty, one byte, a chunk less one, exactly one chunk, one more,
/// a last chunk of exactly 64 KiB, batches, and several megabytes. (Debug builds seal slowly:
/// the cipher's generic code is compiled at the core's optimisation level.)
const SIZES: [usize; 11] = [
    0,
    1,
    CHUNK - 1,
    CHUNK,
    CHUNK + 1,
    2 * CHUNK,
    BATCH_BYTES - 1,
    BATCH_BYTES,
    BATCH_BYTES + 1,
    2 * BATCH_BYTES + CHUNK,
    3 * BATCH_BYTES + 5 * CHUNK + 17,
];

fn sample(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Where the payload starts in an age file: after the header's MAC line and the 16-byte nonce.
fn payload_start(file: &[u8]) -> usize {
    let mac_line = file
        .windows(5)
        .position(|w| w == b"\n--- ")
        .expect("a header")
        + 1;
    let header_end = mac_line
        + file[mac_line..]
            .iter()
            .position(|&b| b == b'\n')
            .expect("a MAC line")
        + 1;
    header_end + 16
}

/// An age file of `plaintext` written by the `age` crate alone, and its payload key.
fn age_crate_file(recipient: &age::x25519::Recipient, plaintext: &[u8]) -> (Vec<u8>, PayloadKey) {
    let keep = KeepFileKey::new(recipient);
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&keep as &dyn age::Recipient)).unwrap();
    let mut file = Vec::new();
    let mut writer = encryptor.wrap_output(&mut file).unwrap();
    // In odd pieces, so the crate's own chunking is what decides.
    for piece in plaintext.chunks(40_000) {
        writer.write_all(piece).unwrap();
    }
    writer.finish().unwrap();
    let file_key = keep.file_key().expect("the crate wrapped a file key");
    let start = payload_start(&file);
    let nonce: [u8; 16] = file[start - 16..start].try_into().unwrap();
    (file, PayloadKey::derive(&file_key, &nonce))
}

/// The vault's payload of `plaintext` under `key`, sealed as `spread` says.
fn seal(key: &PayloadKey, plaintext: &[u8], spread: Spread) -> Vec<u8> {
    let mut sealed = Vec::new();
    let mut hasher = blake3::Hasher::new();
    let size = payload::seal(
        spread,
        plaintext,
        key,
        &mut hasher,
        &mut sealed,
        &|_| {},
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(size, plaintext.len() as u64);
    assert_eq!(hasher.finalize(), blake3::hash(plaintext));
    sealed
}

/// Opens a payload as `spread` says: the plaintext, or the failure and what was written before
/// it.
fn open(key: &PayloadKey, sealed: &[u8], spread: Spread) -> Result<Vec<u8>, (Failure, Vec<u8>)> {
    let mut out = Vec::new();
    match payload::open(spread, sealed, key, None, &mut out, &mut |_| {}) {
        Ok(size) => {
            assert_eq!(size, out.len() as u64);
            Ok(out)
        }
        Err(e) => Err((e, out)),
    }
}

#[test]
fn the_sealed_payload_is_byte_for_byte_the_age_crates() {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public();
    for (i, &len) in SIZES.iter().enumerate() {
        let plaintext = sample(len, i as u64);
        let (file, key) = age_crate_file(&recipient, &plaintext);
        let theirs = &file[payload_start(&file)..];
        for workers in [1, 3] {
            assert!(
                seal(&key, &plaintext, spread(workers)) == theirs,
                "{len} bytes, {workers} workers: the payload differs from the age crate's"
            );
        }
        assert_eq!(
            open(&key, theirs, spread(2)).ok(),
            Some(plaintext),
            "{len} bytes"
        );
    }
}

#[test]
fn files_the_vault_writes_open_with_the_age_crate_and_the_crates_open_in_the_vault() {
    let dir = tempfile::tempdir().unwrap();
    let (identity, _) = content::new_identity();
    for (i, &len) in SIZES.iter().enumerate() {
        let plaintext = sample(len, 100 + i as u64);
        // The vault's file, read by the crate.
        let ours = dir.path().join(format!("ours-{len}.age"));
        let encrypted = content::encrypt_to_file(
            &plaintext[..],
            len as u64,
            &identity,
            &[9u8; 32],
            &ours,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(encrypted.size, len as u64);
        let decryptor = age::Decryptor::new(std::fs::File::open(&ours).unwrap()).unwrap();
        let mut read = Vec::new();
        decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .unwrap()
            .read_to_end(&mut read)
            .unwrap();
        assert!(read == plaintext, "{len} bytes through the age crate");
        // The crate's file, read by the vault, with the fingerprint taken on the way.
        let theirs = dir.path().join(format!("theirs-{len}.age"));
        std::fs::write(&theirs, age_crate_file(&identity.to_public(), &plaintext).0).unwrap();
        let mut out = Vec::new();
        let mut hasher = content::fingerprinter(&[9u8; 32]);
        let size = content::decrypt_stream(
            &theirs,
            &identity,
            "doc",
            &mut out,
            Some(&mut hasher),
            len as u64,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(size, len as u64);
        assert!(out == plaintext, "{len} bytes through the vault");
        assert_eq!(hasher.finalize().to_hex().as_str(), encrypted.fingerprint);
    }
}

/// A damaged variant of a sealed payload, by name.
fn damaged(sealed: &[u8], key: &PayloadKey, plaintext: &[u8]) -> Vec<(String, Vec<u8>)> {
    let chunks = sealed.len().div_ceil(SEALED_CHUNK);
    let chunk = |i: usize| &sealed[i * SEALED_CHUNK..((i + 1) * SEALED_CHUNK).min(sealed.len())];
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for cut in 0..chunks {
        cases.push((
            format!("cut after chunk {cut}"),
            sealed[..cut * SEALED_CHUNK].to_vec(),
        ));
        cases.push((
            format!("cut inside chunk {cut}"),
            sealed[..cut * SEALED_CHUNK + 16.min(chunk(cut).len() - 1)].to_vec(),
        ));
    }
    cases.push(("last byte cut".into(), sealed[..sealed.len() - 1].to_vec()));
    for (what, tail) in [
        ("a byte", vec![0u8]),
        ("a tag's worth", vec![0u8; 16]),
        ("a copy of the first chunk", chunk(0).to_vec()),
        ("a copy of the last chunk", chunk(chunks - 1).to_vec()),
    ] {
        cases.push((format!("extended by {what}"), [sealed, &tail].concat()));
    }
    for (a, b) in [(0, 1), (1, 2), (2, 5), (chunks - 2, chunks - 1)] {
        let mut swapped = Vec::new();
        for i in 0..chunks {
            let from = if i == a {
                b
            } else if i == b {
                a
            } else {
                i
            };
            swapped.extend_from_slice(chunk(from));
        }
        cases.push((format!("chunks {a} and {b} swapped"), swapped));
    }
    for at in (0..chunks)
        .flat_map(|i| [i * SEALED_CHUNK + 5, i * SEALED_CHUNK + chunk(i).len() - 3])
        .chain([sealed.len() / 2])
    {
        let mut flipped = sealed.to_vec();
        flipped[at] ^= 0x80;
        cases.push((format!("bit flipped at {at}"), flipped));
    }
    // Chunks sealed under the right key but framed wrongly.
    let mut first_as_last = plaintext[..CHUNK].to_vec();
    let tag = key.seal(0, true, &mut first_as_last).unwrap();
    cases.push((
        "the first chunk flagged last, more following".into(),
        [&first_as_last[..], &tag[..], &sealed[SEALED_CHUNK..]].concat(),
    ));
    let mut empty = Vec::new();
    let empty_tag = key.seal(chunks as u64, true, &mut empty).unwrap();
    let mut unflagged = plaintext[(chunks - 1) * CHUNK..].to_vec();
    let unflagged_tag = key.seal(chunks as u64 - 1, false, &mut unflagged).unwrap();
    cases.push((
        "an empty last chunk after a full one".into(),
        [
            &sealed[..(chunks - 1) * SEALED_CHUNK],
            &unflagged,
            &unflagged_tag[..],
            &empty_tag[..],
        ]
        .concat(),
    ));
    cases.push((
        "the last chunk unflagged".into(),
        [
            &sealed[..(chunks - 1) * SEALED_CHUNK],
            &unflagged,
            &unflagged_tag[..],
        ]
        .concat(),
    ));
    cases
}

#[test]
fn damage_of_every_kind_is_refused_as_the_age_crate_refuses_it_and_yields_nothing_unauthenticated()
{
    let dir = tempfile::tempdir().unwrap();
    let (identity, _) = content::new_identity();
    // Seven chunks, the last one full, in batches of two: damage falls within batches and at
    // their seams, with more workers than batches in flight.
    let plaintext = sample(7 * CHUNK, 7);
    let small = |workers| Spread { workers, batch: 2 };
    let (header, key) = content::new_header(&identity.to_public()).unwrap();
    let sealed = seal(&key, &plaintext, small(2));
    assert_eq!(
        open(&key, &sealed, small(3)).ok().as_ref(),
        Some(&plaintext)
    );
    let path = dir.path().join("damaged.age");
    for (what, payload) in damaged(&sealed, &key, &plaintext) {
        let file = [&header[..], &payload].concat();
        // The age crate refuses it.
        let by_crate = age::Decryptor::new(&file[..]).and_then(|d| {
            let mut out = Vec::new();
            d.decrypt(std::iter::once(&identity as &dyn age::Identity))?
                .read_to_end(&mut out)
                .map_err(age::DecryptError::from)
        });
        assert!(by_crate.is_err(), "{what}: the age crate accepts it");
        // So does the vault, whatever the number of workers, and what it wrote before
        // refusing is a prefix of the plaintext: only chunks that authenticated.
        for workers in [1, 3] {
            match open(&key, &payload, small(workers)) {
                Err((Failure::Unauthentic, written)) => assert!(
                    plaintext.starts_with(&written),
                    "{what}, {workers} workers: wrote bytes that were never sealed"
                ),
                other => panic!("{what}, {workers} workers: {:?}", other.map(|p| p.len())),
            }
        }
        std::fs::write(&path, &file).unwrap();
        let err = content::decrypt_stream(
            &path,
            &identity,
            "doc-1",
            &mut std::io::sink(),
            None,
            plaintext.len() as u64,
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt(m) if m.contains("doc-1")),
            "{what}: {err:?}"
        );
    }
}

#[test]
fn a_header_that_is_not_the_documents_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (identity, _) = content::new_identity();
    let (other, _) = content::new_identity();
    let plaintext = sample(70_000, 3);
    let path = dir.path().join("file.age");
    let (file, _) = age_crate_file(&other.to_public(), &plaintext);
    let start = payload_start(&file);
    let mut mac_flipped = file.clone();
    mac_flipped[start - 20] ^= 0x01;
    let mut nonce_flipped = age_crate_file(&identity.to_public(), &plaintext).0;
    nonce_flipped[start - 1] ^= 0x01;
    for (what, bytes) in [
        ("another document's key", file),
        ("a flipped MAC", mac_flipped),
        ("a flipped payload nonce", nonce_flipped),
        ("only a header", b"age-encryption.org/v1\n".to_vec()),
        ("not age", b"%PDF-1.7\n".to_vec()),
    ] {
        std::fs::write(&path, &bytes).unwrap();
        let mut out = Vec::new();
        let err = content::decrypt_stream(
            &path,
            &identity,
            "doc-2",
            &mut out,
            None,
            70_000,
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(matches!(err, Error::Corrupt(_)), "{what}: {err:?}");
        assert!(out.is_empty(), "{what}: wrote plaintext");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Whatever the length, however many workers and whatever their batches, the vault's
    /// payload is the age crate's and opens to the plaintext.
    #[test]
    fn any_length_seals_as_the_age_crate_does_and_opens(
        len in prop_oneof![
            0usize..3,
            (1usize..36).prop_map(|n| n * CHUNK),
            (1usize..36).prop_flat_map(|n| (n * CHUNK - 2)..(n * CHUNK + 3)),
            0usize..1_500_000,
        ],
        workers in 1usize..=4,
        batch in 1usize..=16,
        seed in any::<u64>(),
    ) {
        let identity = age::x25519::Identity::generate();
        let plaintext = sample(len, seed);
        let (file, key) = age_crate_file(&identity.to_public(), &plaintext);
        let spread = Spread { workers, batch };
        let sealed = seal(&key, &plaintext, spread);
        prop_assert!(sealed[..] == file[payload_start(&file)..]);
        prop_assert!(open(&key, &sealed, spread).ok() == Some(plaintext));
    }
}
