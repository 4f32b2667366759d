//! What the relay's files hold: only what it was given. A marker that appears in the test's
//! plaintexts, and only there, never reaches the database, its WAL or the blob files; the
//! ciphertexts made from them do (so the search is looking in the right place), and tokens are
//! kept as hashes only.

use cairn_protocol::Hash32;
use cairn_protocol::api::{CompleteBlob, LinkSide, LinkSlot, PushRequest, paths};

use crate::fixture::{Patient, TestRelay, contains, seal_bytes};

const MARKER: &[u8] = b"MARKER:methotrexate 2.5 mg weekly, Maya's oncology note";

#[test]
fn the_relays_files_hold_ciphertext_and_never_a_byte_of_the_plaintext() {
    let mut relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let space = &maya.space;

    let plaintexts: Vec<Vec<u8>> = (0..3)
        .map(|i| [MARKER, format!(" (batch {i})").as_bytes()].concat())
        .collect();
    let cts: Vec<Vec<u8>> = plaintexts.iter().map(|p| seal_bytes(p)).collect();
    let refs: Vec<&[u8]> = cts.iter().map(Vec::as_slice).collect();
    relay
        .post(
            &paths::envelopes(space),
            Some(&maya.token),
            &PushRequest {
                envelopes: maya.phone.chain(space, &refs),
            },
        )
        .done();

    let document = seal_bytes(&[MARKER, &[b'x'; 10_000][..]].concat());
    let hash = Hash32::of(&document);
    relay
        .put_raw(
            &format!("{}?offset=0", paths::blob(space, &hash)),
            Some(&maya.token),
            document.clone(),
        )
        .done();
    relay
        .post(
            &paths::blob(space, &hash),
            Some(&maya.token),
            &CompleteBlob {
                size: document.len() as u64,
            },
        )
        .done();

    let slot: LinkSlot = relay.post_raw(paths::LINK, Some(&maya.token), vec![]).ok();
    let pake = seal_bytes(MARKER);
    relay
        .post_raw(
            &paths::link_messages(&slot.slot, LinkSide::New),
            None,
            pake.clone(),
        )
        .done();

    let check = |relay: &TestRelay| {
        let files = relay.files();
        assert!(files.iter().any(|(p, _)| p.ends_with("relay.db")));
        for (path, bytes) in &files {
            assert!(
                !contains(bytes, MARKER),
                "{} holds the plaintext",
                path.display()
            );
            assert!(
                !contains(bytes, maya.token.as_bytes()),
                "{} holds a bearer token",
                path.display()
            );
        }
        let held = |needle: &[u8]| files.iter().any(|(_, bytes)| contains(bytes, needle));
        for ct in cts.iter().chain([&document, &pake]) {
            assert!(held(ct), "the ciphertext the relay was given is stored");
        }
    };
    // While running (the WAL holds the newest pages), and after a clean stop.
    check(&relay);
    relay.stop();
    check(&relay);
}
