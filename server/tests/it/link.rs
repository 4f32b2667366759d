//! The link rendezvous: a phone opens a slot, a new device finds it by its id, and they trade
//! messages both ways, one side long-polling for the other.

use std::time::{Duration, Instant};

use cairn_protocol::ByteBuf;
use cairn_protocol::api::{ErrorCode, LinkMessages, LinkSide, LinkSlot, paths};

use crate::fixture::{Patient, TestRelay};

#[test]
fn a_phone_and_a_new_device_exchange_messages_through_a_slot() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let slot: LinkSlot = relay.post_raw(paths::LINK, Some(&maya.token), vec![]).ok();
    assert_eq!(slot.slot.len(), 10);
    assert!(
        slot.slot
            .bytes()
            .all(|b| b"23456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))
    );
    assert_eq!(slot.expires_ms, relay.now() + 10 * 60_000);
    let existing = paths::link_messages(&slot.slot, LinkSide::Existing);
    let new = paths::link_messages(&slot.slot, LinkSide::New);

    std::thread::scope(|s| {
        // The new device waits for the phone's first message before it is sent.
        let waiting = s.spawn(|| {
            let started = Instant::now();
            let got: LinkMessages = relay
                .get(&format!("{existing}?after=0&wait_ms=20000"), None)
                .ok();
            (got, started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(300));
        relay
            .post_raw(
                &existing,
                Some(&maya.token),
                b"spake2 from the phone".to_vec(),
            )
            .done();
        let (got, waited) = waiting.join().unwrap();
        assert_eq!(
            got.messages,
            vec![ByteBuf(b"spake2 from the phone".to_vec())]
        );
        assert!(
            waited < Duration::from_secs(10),
            "woken by the message, not the timeout"
        );
    });

    // The new device answers without a credential; the phone reads it with its own.
    relay
        .post_raw(&new, None, b"spake2 from the new device".to_vec())
        .done();
    relay.post_raw(&new, None, b"confirmation".to_vec()).done();
    let got: LinkMessages = relay.get(&format!("{new}?after=1"), Some(&maya.token)).ok();
    assert_eq!(got.messages, vec![ByteBuf(b"confirmation".to_vec())]);
    // Slot ids are read whatever their case.
    let lower = paths::link_messages(&slot.slot.to_ascii_lowercase(), LinkSide::New);
    let got: LinkMessages = relay.get(&lower, Some(&maya.token)).ok();
    assert_eq!(got.messages.len(), 2);

    // A read with nothing new and a short wait answers empty once the wait is over.
    let started = Instant::now();
    let got: LinkMessages = relay
        .get(&format!("{existing}?after=1&wait_ms=200"), None)
        .ok();
    assert!(got.messages.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[test]
fn a_slot_belongs_to_its_account_takes_sixteen_messages_a_side_and_expires() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let mallory = Patient::signs_up(&relay, 3);
    let slot: LinkSlot = relay.post_raw(paths::LINK, Some(&maya.token), vec![]).ok();
    let existing = paths::link_messages(&slot.slot, LinkSide::Existing);
    let new = paths::link_messages(&slot.slot, LinkSide::New);

    relay
        .post_raw(&existing, Some(&mallory.token), b"hello".to_vec())
        .refused(403, ErrorCode::Forbidden);
    relay
        .get(&new, Some(&mallory.token))
        .refused(403, ErrorCode::Forbidden);

    for i in 0..16u8 {
        relay.post_raw(&new, None, vec![i; 32]).done();
    }
    relay
        .post_raw(&new, None, vec![16; 32])
        .refused(409, ErrorCode::Conflict);
    relay
        .post_raw(&new, None, vec![0; 16 * 1024 + 1])
        .refused(413, ErrorCode::TooLarge);

    // Unknown, malformed and expired slots are all simply not there.
    for missing in ["ZZZZZZZZZZ", "0000000000", "ABC", "../../etc"] {
        relay
            .get(&paths::link_messages(missing, LinkSide::Existing), None)
            .refused(404, ErrorCode::NotFound);
    }
    relay.advance(10 * 60_000);
    relay.get(&existing, None).refused(404, ErrorCode::NotFound);
    relay
        .post_raw(&existing, Some(&maya.token), b"late".to_vec())
        .refused(404, ErrorCode::NotFound);
}
