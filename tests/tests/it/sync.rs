//! Sync through a real relay on 127.0.0.1: a patient's devices converge, whatever they did
//! offline and in whatever order they sync.

use cairn_core::Clock;
use cairn_core::meds::{Medication, Phase, Timing};
use cairn_core::timeline::{EventDetails, EventEdit, NewEvent, TimelineQuery};
use cairn_tests::TestRelay;
use jiff::{SignedDuration, Timestamp};

use crate::devices::TestDevice;

/// A relay whose clock is `device`'s.
pub(crate) fn relay_for(device: &TestDevice) -> TestRelay {
    let clock = device.clock.clone();
    TestRelay::following(move || u64::try_from(clock.now().as_millisecond()).unwrap_or(0))
}

pub(crate) fn note(at: Timestamp, title: &str) -> NewEvent {
    NewEvent::new(at, title, EventDetails::Note)
}

pub(crate) fn daily(name: &str) -> Medication {
    Medication::new(
        name,
        vec![Phase {
            dose: 1.0,
            unit: "tablet".into(),
            timing: Timing::TimesOfDay {
                times: vec!["08:00".into()],
                days_of_week: Vec::new(),
            },
            start: "2026-10-01".into(),
            end: None,
            count: None,
        }],
    )
}

fn dump(d: &TestDevice) -> String {
    d.store.synced_state_dump().unwrap()
}

/// The patient's phone with an account on `relay` and a tablet linked to it, both synced.
pub(crate) fn phone_and_tablet() -> (TestRelay, TestDevice, TestDevice) {
    let mut phone = TestDevice::patient();
    let relay = relay_for(&phone);
    phone.create_account(&relay);
    let mut tablet = TestDevice::patient();
    phone.link(&mut tablet, &relay);
    (relay, phone, tablet)
}

#[test]
fn a_store_from_before_sync_reaches_a_new_tablet_through_the_relay() {
    let mut phone = TestDevice::patient();
    let now = phone.clock.now();
    phone
        .store
        .set_profile(&cairn_core::Profile {
            display_name: "Maya".into(),
            home_time_zone: "Europe/London".into(),
        })
        .unwrap();
    let event = phone
        .store
        .add_event(&note(now, "Port fitted for chemo"))
        .unwrap();
    let med = phone.store.add_medication(&daily("Letrozole")).unwrap();
    phone.store.take_dose(&med, None, None, None).unwrap();
    let relay = relay_for(&phone);
    let kit = phone.create_account(&relay);
    assert!(kit.starts_with("CAIRN1-"), "a recovery kit is printed");
    assert_eq!(phone.store.status().unwrap().outbox_count, 0, "all sent");

    let mut tablet = TestDevice::patient();
    phone.link(&mut tablet, &relay);
    assert_eq!(dump(&tablet), dump(&phone));
    assert_eq!(
        tablet.store.event(&event).unwrap().title,
        "Port fitted for chemo"
    );
    assert_eq!(tablet.store.medication(&med).unwrap().name, "Letrozole");
    assert_eq!(tablet.store.account_id(), phone.store.account_id());
    assert_eq!(tablet.store.space_id(), phone.store.space_id());
    // Syncing again moves nothing.
    let again = tablet.sync(&relay);
    assert_eq!((again.pulled_batches, again.pushed_batches), (0, 0));
}

/// What the phone and the tablet do offline, the same in every order of syncing.
struct Offline {
    shared: String,
    deleted: String,
    med: String,
}

fn before_offline(phone: &TestDevice, tablet: &TestDevice, relay: &TestRelay) -> Offline {
    let now = phone.clock.now();
    let shared = phone
        .store
        .add_event(&note(now, "Oncology review"))
        .unwrap();
    let deleted = phone.store.add_event(&note(now, "Blood test")).unwrap();
    let med = phone.store.add_medication(&daily("Tamoxifen")).unwrap();
    phone.sync(relay);
    tablet.sync(relay);
    assert_eq!(dump(phone), dump(tablet));
    Offline {
        shared,
        deleted,
        med,
    }
}

fn offline(phone: &TestDevice, tablet: &TestDevice, o: &Offline) {
    phone.clock.advance(SignedDuration::from_mins(1));
    tablet.clock.advance(SignedDuration::from_mins(2));
    // The same record, different fields.
    phone
        .store
        .edit_event(
            &o.shared,
            &EventEdit {
                title: Some("Oncology review, room 4".into()),
                ..EventEdit::default()
            },
        )
        .unwrap();
    tablet
        .store
        .edit_event(
            &o.shared,
            &EventEdit {
                body: Some("Ask about the scan".into()),
                ..EventEdit::default()
            },
        )
        .unwrap();
    // The same field: the later write wins everywhere.
    let mut m = phone.store.medication(&o.med).unwrap();
    m.instructions = "with food".into();
    phone.store.update_medication(&m).unwrap();
    let mut m = tablet.store.medication(&o.med).unwrap();
    m.instructions = "with food, in the evening".into();
    tablet.store.update_medication(&m).unwrap();
    // A delete racing an edit.
    phone.store.delete_event(&o.deleted).unwrap();
    tablet
        .store
        .edit_event(
            &o.deleted,
            &EventEdit {
                title: Some("Blood test (fasting)".into()),
                ..EventEdit::default()
            },
        )
        .unwrap();
    // The same dose logged on both.
    phone.store.take_dose(&o.med, None, None, None).unwrap();
    tablet.store.take_dose(&o.med, None, None, None).unwrap();
    // Something new on each.
    let now = phone.clock.now();
    phone.store.add_event(&note(now, "Felt tired")).unwrap();
    tablet.store.add_event(&note(now, "Short walk")).unwrap();
}

fn check_converged(phone: &TestDevice, tablet: &TestDevice, o: &Offline) {
    assert_eq!(dump(phone), dump(tablet));
    for d in [phone, tablet] {
        let shared = d.store.event(&o.shared).unwrap();
        assert_eq!(shared.title, "Oncology review, room 4");
        assert_eq!(shared.body, "Ask about the scan");
        assert_eq!(
            d.store.medication(&o.med).unwrap().instructions,
            "with food, in the evening",
            "the later write of the same field wins"
        );
        assert!(d.store.event(&o.deleted).is_err(), "nothing resurrected");
        let page = d
            .store
            .timeline_page(&TimelineQuery::default(), None, 50)
            .unwrap();
        assert_eq!(
            page.events.len(),
            3,
            "two new notes and the review, no duplicates"
        );
        let doses = dump(d)
            .lines()
            .filter(|l| l.starts_with("dose_log "))
            .count();
        assert_eq!(doses, 1, "one dose, logged on both");
        assert_eq!(d.store.status().unwrap().outbox_count, 0);
    }
}

#[test]
fn offline_edits_on_two_devices_converge_whichever_syncs_first() {
    for phone_first in [true, false] {
        let (relay, phone, tablet) = phone_and_tablet();
        let o = before_offline(&phone, &tablet, &relay);
        offline(&phone, &tablet, &o);
        let (a, b) = if phone_first {
            (&phone, &tablet)
        } else {
            (&tablet, &phone)
        };
        a.sync(&relay);
        b.sync(&relay);
        a.sync(&relay);
        check_converged(&phone, &tablet, &o);
    }
}

#[test]
fn the_relay_holds_no_readable_word_of_what_the_devices_wrote() {
    let (relay, phone, tablet) = phone_and_tablet();
    let now = phone.clock.now();
    phone
        .store
        .add_event(&note(now, "Zoledronic infusion, Ward Nightingale"))
        .unwrap();
    phone.store.add_medication(&daily("Capecitabine")).unwrap();
    phone.sync(&relay);
    tablet.sync(&relay);
    assert_eq!(dump(&phone), dump(&tablet));
    for file in relay.files() {
        let bytes = std::fs::read(&file).unwrap();
        for marker in [
            "Zoledronic",
            "Nightingale",
            "Capecitabine",
            "Maya",
            "Letrozole",
        ] {
            assert!(
                !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
                "{} holds {marker}",
                file.display()
            );
        }
    }
}
