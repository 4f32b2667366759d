//! A relay that lies: every falsification a malicious relay can make of what it hands out is
//! caught by the device it lies to (`Error::Tampered`), nothing of it is applied, and once the
//! relay tells the truth again the devices converge. What an honest relay does that looks
//! alike — heads read a moment before the page, while another device pushes — is not taken for
//! a lie.

use cairn_core::crypto::{AccountKeys, DeviceKey, ScopeKey};
use cairn_core::sync;
use cairn_core::{Clock, Error};
use cairn_protocol::{AccountId, DeviceId, Hash32, LedgerBody, LedgerEntry, Scope, SpaceId};
use cairn_tests::{Lie, LyingRelay, TestRelay};
use jiff::SignedDuration;

use crate::devices::TestDevice;
use crate::sync::{daily, note, phone_and_tablet};

fn dump(d: &TestDevice) -> String {
    d.store.synced_state_dump().unwrap()
}

fn outbox(d: &TestDevice) -> u64 {
    d.store.status().unwrap().outbox_count
}

fn device_id(d: &TestDevice) -> DeviceId {
    DeviceId::parse(d.store.device_id().as_str()).unwrap()
}

fn space_id(d: &TestDevice) -> SpaceId {
    SpaceId::parse(d.store.space_id()).unwrap()
}

/// The devices `d`'s ledger holds.
fn ledger_devices(d: &TestDevice, relay: &TestRelay) -> Vec<String> {
    sync::devices(&d.store, &d.transport(relay))
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect()
}

/// A note written on `d` a minute on, and pushed through the real relay.
fn write_note(d: &TestDevice, relay: &TestRelay, title: &str) {
    d.clock.advance(SignedDuration::from_mins(1));
    d.store.add_event(&note(d.clock.now(), title)).unwrap();
    d.sync(relay);
}

/// Syncs `d` through `liar`, which must be caught: `Error::Tampered`, after the lie was told.
/// Returns the error's text.
fn caught_lying(d: &TestDevice, liar: &LyingRelay) -> String {
    let err = d
        .try_sync(&d.transport_at(&liar.url()))
        .expect_err("the lie is caught");
    assert!(liar.lies_told() > 0, "the relay told its lie");
    assert!(matches!(err, Error::Tampered(_)), "{err:?}");
    err.to_string()
}

/// [`caught_lying`], and nothing changed on `d`: its state and its outbox are as before.
fn caught(d: &TestDevice, liar: &LyingRelay) -> String {
    let before = (dump(d), outbox(d));
    let err = caught_lying(d, liar);
    assert_eq!(
        (dump(d), outbox(d)),
        before,
        "nothing of the lie was applied"
    );
    err
}

/// The relay tells the truth again: `d` syncs through it, bringing exactly `pulled` batches
/// when given (what it refused, it had not moved past), and converges with `other`.
fn honest_again(
    d: &TestDevice,
    other: &TestDevice,
    liar: &LyingRelay,
    relay: &TestRelay,
    pulled: Option<u64>,
) {
    liar.be_honest();
    let report = d
        .try_sync(&d.transport_at(&liar.url()))
        .expect("an honest sync");
    if let Some(pulled) = pulled {
        assert_eq!(report.pulled_batches, pulled);
    }
    other.sync(relay);
    assert_eq!(dump(d), dump(other));
    assert_eq!((outbox(d), outbox(other)), (0, 0));
}

#[test]
fn an_envelope_moved_to_another_scope_fails_its_signature() {
    let (relay, phone, tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    write_note(&tablet, &relay, "Bone scan booked");
    liar.tell(Lie::MoveScope);
    let err = caught(&phone, &liar);
    assert!(err.contains("bad signature on envelope"), "{err}");
    honest_again(&phone, &tablet, &liar, &relay, Some(1));
}

#[test]
fn an_envelope_of_another_space_is_refused() {
    let (relay, phone, tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    // Another patient on the same relay, whose phone syncs through the same relay: the relay
    // holds a real envelope of that space.
    let other = TestDevice::patient();
    other
        .store
        .add_event(&note(other.clock.now(), "Another patient's note"))
        .unwrap();
    other.store.create_account(&relay.url()).unwrap();
    other.try_sync(&other.transport_at(&liar.url())).unwrap();
    write_note(&tablet, &relay, "Bloods at 9");
    liar.tell(Lie::Splice {
        from: space_id(&other),
    });
    let err = caught(&phone, &liar);
    assert!(err.contains("another space"), "{err}");
    assert!(!dump(&phone).contains("Another patient"));
    honest_again(&phone, &tablet, &liar, &relay, Some(1));
}

#[test]
fn a_batch_served_again_after_the_cursor_is_a_replay() {
    let (relay, phone, tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    write_note(&tablet, &relay, "Started letrozole");
    phone.try_sync(&phone.transport_at(&liar.url())).unwrap();
    write_note(&tablet, &relay, "Hot flushes at night");
    liar.tell(Lie::Replay {
        device: device_id(&tablet),
    });
    let err = caught(&phone, &liar);
    assert!(err.contains("a replay"), "{err}");
    honest_again(&phone, &tablet, &liar, &relay, Some(1));
}

#[test]
fn a_batch_of_this_devices_own_served_again_is_a_replay() {
    let (relay, phone, tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    let via_liar = phone.transport_at(&liar.url());
    phone
        .store
        .add_event(&note(phone.clock.now(), "Oncology review"))
        .unwrap();
    // Pushed, then pulled back once, as every batch of its own is.
    phone.try_sync(&via_liar).unwrap();
    phone.try_sync(&via_liar).unwrap();
    liar.tell(Lie::Replay {
        device: device_id(&phone),
    });
    let err = caught(&phone, &liar);
    assert!(err.contains("a replay"), "{err}");
    honest_again(&phone, &tablet, &liar, &relay, Some(0));
}

#[test]
fn a_batch_dropped_from_a_devices_chain_breaks_it() {
    let (relay, phone, tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    write_note(&tablet, &relay, "Cycle 1 day 1");
    write_note(&tablet, &relay, "Cycle 1 day 8");
    liar.tell(Lie::DropBatch {
        device: device_id(&tablet),
    });
    let err = caught(&phone, &liar);
    assert!(err.contains("batches before it are missing"), "{err}");
    honest_again(&phone, &tablet, &liar, &relay, Some(2));
}

#[test]
fn a_withheld_tail_shows_against_the_devices_signed_head() {
    let (relay, phone, tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    write_note(&tablet, &relay, "Port flushed");
    write_note(&tablet, &relay, "Fever 38.2 during chemo");
    liar.tell(Lie::WithholdTail { n: 1 });
    let err = caught_lying(&phone, &liar);
    assert!(err.contains("withholds batches 2..2"), "{err}");
    // What came before the withheld batch verified on its own and is kept; the withheld one
    // is not there.
    let state = dump(&phone);
    assert!(state.contains("Port flushed") && !state.contains("Fever"));
    honest_again(&phone, &tablet, &liar, &relay, Some(1));
}

#[test]
fn a_head_older_than_one_seen_is_a_rollback() {
    let (relay, phone, tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    write_note(&tablet, &relay, "Scan clear");
    write_note(&tablet, &relay, "Told the family");
    phone.try_sync(&phone.transport_at(&liar.url())).unwrap();
    liar.tell(Lie::RollBack {
        device: device_id(&tablet),
    });
    let err = caught(&phone, &liar);
    assert!(err.contains("rolled device"), "{err}");
    honest_again(&phone, &tablet, &liar, &relay, Some(0));
}

#[test]
fn a_head_read_before_a_batch_landed_is_no_rollback() {
    // An honest relay reads the heads before the page: a batch pushed in between is in the page
    // and not yet in its device's head.
    let (relay, phone, tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    let via_liar = phone.transport_at(&liar.url());
    write_note(&tablet, &relay, "Bloods booked");
    phone.try_sync(&via_liar).unwrap();
    write_note(&tablet, &relay, "Bloods done");
    liar.tell(Lie::RollBack {
        device: device_id(&tablet),
    });
    let report = phone.try_sync(&via_liar).expect("a head behind the page");
    assert!(liar.lies_told() > 0);
    assert_eq!(report.pulled_batches, 1);
    // Behind what the phone held before it pulled, the same head is a rollback.
    let err = caught(&phone, &liar);
    assert!(err.contains("rolled device"), "{err}");
    honest_again(&phone, &tablet, &liar, &relay, Some(0));
}

#[test]
fn a_device_whose_first_batch_landed_while_the_heads_were_read_is_not_hidden() {
    let (relay, mut phone, tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    let via_liar = phone.transport_at(&liar.url());
    let mut laptop = TestDevice::patient();
    phone.link(&mut laptop, &relay);
    write_note(&laptop, &relay, "Written on the laptop");
    liar.tell(Lie::HideDevice {
        device: device_id(&laptop),
    });
    phone
        .try_sync(&via_liar)
        .expect("a device with no head yet");
    assert!(liar.lies_told() > 0);
    assert!(dump(&phone).contains("Written on the laptop"));
    // Once the phone has its batches, the laptop may not go missing.
    let err = caught(&phone, &liar);
    assert!(err.contains("hides device"), "{err}");
    honest_again(&phone, &tablet, &liar, &relay, Some(0));
}

#[test]
fn a_device_seen_before_cannot_be_hidden() {
    let (relay, phone, tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    write_note(&tablet, &relay, "Physio twice a week");
    phone.try_sync(&phone.transport_at(&liar.url())).unwrap();
    liar.tell(Lie::HideDevice {
        device: device_id(&tablet),
    });
    let err = caught(&phone, &liar);
    assert!(err.contains("hides device"), "{err}");
    honest_again(&phone, &tablet, &liar, &relay, Some(0));
}

#[test]
fn this_devices_own_batches_cannot_be_hidden() {
    let (relay, phone, tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    let via_liar = phone.transport_at(&liar.url());
    phone
        .store
        .add_event(&note(phone.clock.now(), "Asked about the trial"))
        .unwrap();
    phone.try_sync(&via_liar).unwrap();
    // The relay acknowledged the batch, then shows no head of this device: it lost or
    // dropped everything the device gave it.
    liar.tell(Lie::HideDevice {
        device: device_id(&phone),
    });
    let err = caught(&phone, &liar);
    assert!(err.contains("this device"), "{err}");
    honest_again(&phone, &tablet, &liar, &relay, Some(0));
}

/// An attacker's account and device: real keys, none the ledger knows.
fn attacker() -> (AccountKeys, DeviceKey) {
    let account =
        AccountKeys::generate(AccountId::parse("a77ac0de-0bad-4bad-8bad-0000000000a7").unwrap());
    let device = DeviceKey::generate(DeviceId::parse(&"ba".repeat(16)).unwrap());
    (account, device)
}

#[test]
fn a_forged_ledger_entry_is_refused() {
    let (relay, phone, tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    let space = space_id(&phone);
    let devices = ledger_devices(&phone, &relay);
    let forgeries: Vec<(&str, lying_forger::Forge)> = vec![
        // The attacker's device introduces itself, certified by the attacker's own account.
        ("only the owner's devices", lying_forger::add_device),
        // A new epoch of the timeline key, wrapped to the attacker's account.
        ("not on the ledger", lying_forger::scope_key_to_attacker),
        // The attacker's device, claimed for the owner's account without its signature.
        ("bad signature", lying_forger::device_claimed_for_owner),
    ];
    let owner = phone.store.sync_identity().unwrap().account.record();
    for (why, forge) in forgeries {
        let (space, owner) = (space.clone(), owner.clone());
        liar.tell(Lie::ForgeLedger(Box::new(move |index, prev| {
            forge(&space, &owner, index, prev)
        })));
        let err = caught(&phone, &liar);
        assert!(err.contains(why), "{why}: {err}");
        assert_eq!(
            ledger_devices(&phone, &relay),
            devices,
            "no device was added"
        );
    }
    write_note(&tablet, &relay, "Nurse line number saved");
    honest_again(&phone, &tablet, &liar, &relay, Some(1));
}

/// Forgeries of ledger entries by an attacker holding none of the space's keys.
mod lying_forger {
    use super::*;

    pub(super) type Forge =
        fn(&SpaceId, &cairn_protocol::AccountRecord, u64, Hash32) -> LedgerEntry;

    pub(super) fn add_device(
        space: &SpaceId,
        _: &cairn_protocol::AccountRecord,
        index: u64,
        prev: Hash32,
    ) -> LedgerEntry {
        let (account, device) = attacker();
        let cert = account.certify(&device, 0);
        device.ledger_entry(space, index, prev, LedgerBody::AddDevice { cert })
    }

    pub(super) fn scope_key_to_attacker(
        space: &SpaceId,
        _: &cairn_protocol::AccountRecord,
        index: u64,
        prev: Hash32,
    ) -> LedgerEntry {
        let (account, device) = attacker();
        let wrap = ScopeKey::generate()
            .wrap_to(space, Scope::Timeline, 2, &account.record())
            .unwrap();
        device.ledger_entry(
            space,
            index,
            prev,
            LedgerBody::ScopeKey {
                scope: Scope::Timeline,
                epoch: 2,
                wraps: vec![wrap],
            },
        )
    }

    pub(super) fn device_claimed_for_owner(
        space: &SpaceId,
        owner: &cairn_protocol::AccountRecord,
        index: u64,
        prev: Hash32,
    ) -> LedgerEntry {
        let (account, device) = attacker();
        let mut cert = account.certify(&device, 0);
        cert.account = owner.account.clone();
        device.ledger_entry(space, index, prev, LedgerBody::AddDevice { cert })
    }
}

#[test]
fn a_key_wrap_the_ledger_did_not_sign_is_never_used() {
    let (relay, mut phone, _tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    let mut laptop = TestDevice::patient();
    phone.link_unsynced(&mut laptop, &relay);
    // The relay seals a timeline key of its own choosing to the account's public key and puts
    // it in place of the ledger's wrap: a device that took it would seal its notes for the
    // relay to read.
    let owner = phone.store.sync_identity().unwrap().account.record();
    let wrap = ScopeKey::generate()
        .wrap_to(&space_id(&phone), Scope::Timeline, 1, &owner)
        .unwrap();
    liar.tell(Lie::SwapWrap {
        scope: Scope::Timeline,
        wrap,
    });
    let err = caught(&laptop, &liar);
    assert!(err.contains("bad signature on ledger entry"), "{err}");
    // Still lying: the laptop's note stays in its outbox, sealed under no key.
    laptop
        .store
        .add_event(&note(laptop.clock.now(), "Written on the laptop"))
        .unwrap();
    caught(&laptop, &liar);
    assert_eq!(outbox(&laptop), 1);
    // Nor does a device take the account's keys from the relay's word.
    liar.tell(Lie::SwapAccountKey(attacker().0.record().kem));
    let err = sync::devices(&phone.store, &phone.transport_at(&liar.url())).unwrap_err();
    assert!(matches!(err, Error::Tampered(_)), "{err:?}");
    assert!(liar.lies_told() > 0);
    honest_again(&laptop, &phone, &liar, &relay, None);
    assert!(dump(&phone).contains("Written on the laptop"));
}

#[test]
fn a_downgraded_envelope_is_refused() {
    let (relay, phone, tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    write_note(&tablet, &relay, "Mouth ulcers, grade 1");
    liar.tell(Lie::DowngradeEnvelopes);
    let err = caught(&phone, &liar);
    assert!(err.contains("protocol version 0"), "{err}");
    honest_again(&phone, &tablet, &liar, &relay, Some(1));
}

#[test]
fn a_downgraded_ledger_entry_is_refused() {
    let (relay, mut phone, tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    let mut laptop = TestDevice::patient();
    phone.link(&mut laptop, &relay);
    let devices = ledger_devices(&tablet, &relay);
    liar.tell(Lie::DowngradeLedger);
    let err = caught(&tablet, &liar);
    assert!(err.contains("protocol version 0"), "{err}");
    assert_eq!(ledger_devices(&tablet, &relay), devices);
    honest_again(&tablet, &phone, &liar, &relay, Some(0));
    assert_eq!(ledger_devices(&tablet, &relay).len(), devices.len() + 1);
}

#[test]
fn an_acknowledgement_that_does_not_match_the_push_is_refused() {
    let (relay, phone, tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    let med = phone.store.add_medication(&daily("Anastrozole")).unwrap();
    phone.store.take_dose(&med, None, None, None).unwrap();
    liar.tell(Lie::MisAck);
    let err = caught(&phone, &liar);
    assert!(err.contains("acknowledgement"), "{err}");
    // The relay did store the batches: the next honest sync finds them and sends nothing twice.
    liar.be_honest();
    let report = phone.try_sync(&phone.transport_at(&liar.url())).unwrap();
    assert_eq!((report.pulled_batches, report.pushed_batches), (0, 0));
    honest_again(&phone, &tablet, &liar, &relay, Some(0));
    let doses = dump(&tablet)
        .lines()
        .filter(|l| l.starts_with("dose_log "))
        .count();
    assert_eq!(doses, 1);
}

#[test]
fn a_second_history_of_a_device_is_a_fork() {
    // The tablet's store was copied to another phone, and both wrote. The copy's batch reached
    // the relay and no further, so the relay holds two signed histories of the tablet, and
    // shows the phone the tablet's batch with the copy's head.
    let (relay, phone, tablet) = phone_and_tablet();
    let liar = LyingRelay::start(&relay.url());
    let copy = tablet.copy();
    copy.store
        .add_event(&note(copy.clock.now(), "Written on the copy"))
        .unwrap();
    liar.tell(Lie::SwallowPushes);
    let err = copy
        .try_sync(&copy.transport_at(&liar.url()))
        .expect_err("the push got no answer");
    assert!(matches!(err, Error::Network(_)), "{err:?}");
    assert!(liar.lies_told() > 0);
    write_note(&tablet, &relay, "Written on the tablet");
    liar.tell(Lie::Fork {
        device: device_id(&tablet),
    });
    let err = caught_lying(&phone, &liar);
    assert!(err.contains("forked at batch"), "{err}");
    // The tablet's own batch verified on its own and is kept; nothing of the copy's is there.
    let state = dump(&phone);
    assert!(state.contains("Written on the tablet") && !state.contains("Written on the copy"));
    // The copy learns that it is a second history of the tablet, and says so.
    let err = copy
        .try_sync(&copy.transport(&relay))
        .expect_err("a copied store");
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert!(err.to_string().contains("history forked"), "{err}");
    honest_again(&phone, &tablet, &liar, &relay, Some(0));
}
