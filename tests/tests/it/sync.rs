//! Sync through a real relay on 127.0.0.1: a patient's devices converge, whatever they did
//! offline and in whatever order they sync.

use cairn_core::Clock;
use cairn_core::meds::{Medication, Phase, Timing};
use cairn_core::timeline::{EventDetails, EventEdit, NewEvent, TimelineQuery};
use cairn_tests::TestRelay;
use jiff::{SignedDuration, Timestamp};

use crate::devices::{TestDevice, backup};

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
    // Something new on each, a document among it.
    let now = phone.clock.now();
    phone.store.add_event(&note(now, "Felt tired")).unwrap();
    tablet.store.add_event(&note(now, "Short walk")).unwrap();
    use cairn_core::vault::{DocumentKind, DocumentMeta};
    phone
        .store
        .import_document_bytes(
            &cairn_tests::sample(90_000, 1),
            &DocumentMeta::new("Blood count", DocumentKind::LabReport),
        )
        .unwrap();
    tablet
        .store
        .import_document_bytes(
            &cairn_tests::sample(120_000, 2),
            &DocumentMeta::new("Discharge letter", DocumentKind::Letter),
        )
        .unwrap();
}

fn check_converged(relay: &TestRelay, phone: &TestDevice, tablet: &TestDevice, o: &Offline) {
    assert_eq!(dump(phone), dump(tablet));
    for d in [phone, tablet] {
        // Both documents on both, each one's content coming down where it was not added.
        let docs = d
            .store
            .documents(&cairn_core::vault::DocumentFilter::default())
            .unwrap();
        assert_eq!(docs.len(), 2, "a document from each, once");
        for doc in docs {
            cairn_core::sync::fetch_document(&d.store, &d.transport(relay), &doc.id).unwrap();
            let out = d.dir.path().join(format!("{}.out", doc.id));
            d.store
                .export_document(&doc.id, &out, &mut |_, _| {})
                .unwrap();
            assert_eq!(std::fs::metadata(&out).unwrap().len(), doc.size);
        }
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
        check_converged(&relay, &phone, &tablet, &o);
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

#[test]
fn a_device_whose_clock_ran_an_hour_or_a_year_ahead_does_not_win_every_later_merge() {
    for ahead in [
        SignedDuration::from_hours(1),
        SignedDuration::from_hours(24 * 365),
    ] {
        let (relay, phone, tablet) = phone_and_tablet();
        let id = phone
            .store
            .add_event(&note(phone.clock.now(), "Scan"))
            .unwrap();
        phone.sync(&relay);
        tablet.sync(&relay);
        // The tablet's clock runs ahead, and it edits the title.
        tablet.clock.advance(ahead);
        let title = |t: &str| EventEdit {
            title: Some(t.into()),
            ..EventEdit::default()
        };
        tablet
            .store
            .edit_event(&id, &title("Scan (edited on the tablet)"))
            .unwrap();
        // It sends nothing while its clock is off, and says so.
        let refused = tablet.try_sync(&tablet.transport(&relay)).unwrap_err();
        assert!(
            matches!(refused, cairn_core::Error::Clock(_)),
            "{refused:?}"
        );
        assert!(refused.to_string().contains("ahead"), "{refused}");
        assert_eq!(tablet.store.status().unwrap().outbox_count, 1, "kept");
        // Its clock is set right and it syncs; later, the phone edits the same title.
        tablet
            .clock
            .set(phone.clock.now() + SignedDuration::from_mins(1));
        tablet.sync(&relay);
        phone.clock.advance(SignedDuration::from_mins(2));
        phone
            .store
            .edit_event(&id, &title("Scan, results on Friday"))
            .unwrap();
        phone.sync(&relay);
        tablet.clock.advance(SignedDuration::from_mins(2));
        tablet.sync(&relay);
        for d in [&phone, &tablet] {
            assert_eq!(
                d.store.event(&id).unwrap().title,
                "Scan, results on Friday",
                "the later edit wins ({ahead:?} ahead)"
            );
        }
        assert_eq!(dump(&phone), dump(&tablet));
    }
}

#[test]
fn changes_stamped_in_the_future_are_refused_by_the_others_naming_the_device() {
    let (relay, phone, tablet) = phone_and_tablet();
    // The tablet's clock and the relay's agree on a time a day ahead: the tablet's guard passes.
    tablet.clock.advance(SignedDuration::from_hours(24));
    relay.set_time_ms(tablet.clock.now().as_millisecond() as u64);
    tablet
        .store
        .add_event(&note(tablet.clock.now(), "From tomorrow"))
        .unwrap();
    tablet.sync(&relay);
    relay.set_time_ms(0);
    let before = dump(&phone);
    let refused = phone.try_sync(&phone.transport(&relay)).unwrap_err();
    let cairn_core::Error::Clock(message) = refused else {
        panic!("expected a clock error, got {refused:?}");
    };
    let tablet_id = tablet.store.device_id().as_str().to_owned();
    assert!(message.contains(&tablet_id), "names the device: {message}");
    assert_eq!(dump(&phone), before, "nothing of it applied");
}

#[test]
fn a_phone_restored_from_an_old_backup_rebaselines_without_bringing_deletes_back() {
    let (relay, phone, tablet) = phone_and_tablet();
    let now = phone.clock.now();
    let biopsy = phone.store.add_event(&note(now, "Biopsy")).unwrap();
    let port = phone.store.add_event(&note(now, "Port fitted")).unwrap();
    phone.sync(&relay);
    tablet.sync(&relay);
    let old = backup(&phone);
    // After the backup the phone deletes one event, edits the other, adds a third, syncs.
    phone.clock.advance(SignedDuration::from_mins(5));
    tablet.clock.advance(SignedDuration::from_mins(5));
    phone.store.delete_event(&biopsy).unwrap();
    phone
        .store
        .edit_event(
            &port,
            &EventEdit {
                title: Some("Port fitted, left side".into()),
                ..EventEdit::default()
            },
        )
        .unwrap();
    let scan = phone.store.add_event(&note(now, "Scan")).unwrap();
    phone.sync(&relay);
    tablet.sync(&relay);
    // The phone is lost; the old backup comes back on a new phone, with the same keys.
    phone.clock.advance(SignedDuration::from_mins(5));
    tablet.clock.advance(SignedDuration::from_mins(5));
    let restored = cairn_core::Store::open(
        &old.path().join("store"),
        cairn_core::Unlock::KeyStore(phone.keys.as_ref()),
        std::sync::Arc::new(phone.clock.clone()),
    )
    .unwrap();
    drop(phone.store);
    let phone = TestDevice {
        store: restored,
        clock: phone.clock,
        keys: phone.keys,
        dir: old,
    };
    assert!(
        phone.store.event(&biopsy).is_ok(),
        "the backup still has it"
    );
    phone.sync(&relay);
    assert!(
        phone.store.event(&biopsy).is_err(),
        "the delete is not undone"
    );
    assert_eq!(
        phone.store.event(&port).unwrap().title,
        "Port fitted, left side"
    );
    assert!(phone.store.event(&scan).is_ok());
    tablet.sync(&relay);
    assert_eq!(dump(&phone), dump(&tablet));
    // And it goes on: its next change reaches the tablet.
    phone.clock.advance(SignedDuration::from_mins(1));
    tablet.clock.advance(SignedDuration::from_mins(1));
    let later = phone
        .store
        .add_event(&note(phone.clock.now(), "After the restore"))
        .unwrap();
    phone.sync(&relay);
    tablet.sync(&relay);
    assert!(tablet.store.event(&later).is_ok());
    assert_eq!(dump(&phone), dump(&tablet));
}

#[test]
fn a_document_goes_up_as_a_blob_and_comes_down_when_first_opened_on_the_tablet() {
    use cairn_core::vault::{DocumentHealth, DocumentKind, DocumentMeta};
    let (relay, phone, tablet) = phone_and_tablet();
    let mut scan = b"%PDF-1.7 CT thorax report: no new lesions. ".to_vec();
    scan.extend(cairn_tests::sample(3 << 20, 7));
    let mut meta = DocumentMeta::new("CT thorax report", DocumentKind::Imaging);
    meta.content_type = "application/pdf".into();
    let doc = phone
        .store
        .import_document_bytes(&scan, &meta)
        .unwrap()
        .document()
        .clone();
    let sent = phone.sync(&relay);
    assert_eq!(sent.uploaded_blobs, 1);
    tablet.sync(&relay);
    // The document is listed at once; its content waits on the relay until it is opened.
    assert_eq!(
        tablet.store.document(&doc.id).unwrap().title,
        "CT thorax report"
    );
    let health = |d: &TestDevice| d.store.verify_vault().unwrap()[0].health;
    assert_eq!(health(&tablet), DocumentHealth::NotDownloaded);
    assert!(!health(&tablet).is_problem());
    // A download cut short is resumed from where it stopped.
    let (file_id, hash) = tablet.store.content_to_download(&doc.id).unwrap().unwrap();
    let relay_copy = relay
        .files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains(&hash))
        .expect("the relay holds the blob");
    let blob = std::fs::read(&relay_copy).unwrap();
    std::fs::write(
        tablet.store.incoming_path(&file_id).unwrap(),
        &blob[..blob.len() / 3],
    )
    .unwrap();
    cairn_core::sync::fetch_document(&tablet.store, &tablet.transport(&relay), &doc.id).unwrap();
    assert_eq!(health(&tablet), DocumentHealth::Ok);
    let out = tablet.dir.path().join("scan.pdf");
    tablet
        .store
        .export_document(&doc.id, &out, &mut |_, _| {})
        .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), scan, "the same bytes");
    // The relay's copy is the age ciphertext, not a word of the report.
    assert!(
        !blob
            .windows(b"no new lesions".len())
            .any(|w| w == b"no new lesions")
    );
    // A second sync sends the blob again to nobody.
    assert_eq!(phone.sync(&relay).uploaded_blobs, 0);
}

#[test]
fn a_blob_the_relay_swapped_is_refused_and_nothing_is_put_in_the_vault() {
    use cairn_core::vault::{DocumentKind, DocumentMeta};
    let (relay, phone, tablet) = phone_and_tablet();
    let doc = phone
        .store
        .import_document_bytes(
            &cairn_tests::sample(200_000, 3),
            &DocumentMeta::new("Discharge letter", DocumentKind::Letter),
        )
        .unwrap()
        .document()
        .clone();
    phone.sync(&relay);
    tablet.sync(&relay);
    let (_, hash) = tablet.store.content_to_download(&doc.id).unwrap().unwrap();
    let relay_copy = relay
        .files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains(&hash))
        .unwrap();
    let mut blob = std::fs::read(&relay_copy).unwrap();
    let middle = blob.len() / 2;
    blob[middle] ^= 1;
    std::fs::write(&relay_copy, &blob).unwrap();
    let refused =
        cairn_core::sync::fetch_document(&tablet.store, &tablet.transport(&relay), &doc.id)
            .unwrap_err();
    assert!(
        matches!(refused, cairn_core::Error::Tampered(_)),
        "{refused:?}"
    );
    assert!(
        tablet.store.content_to_download(&doc.id).unwrap().is_some(),
        "still not downloaded"
    );
}

#[test]
fn a_cancelled_sync_stops_before_its_next_request_and_the_next_one_finishes_the_job() {
    let (relay, phone, tablet) = phone_and_tablet();
    phone
        .store
        .add_event(&note(phone.clock.now(), "Chemo day 1"))
        .unwrap();
    let cancel = cairn_core::sync::CancelToken::new();
    cancel.cancel();
    let stopped = cairn_core::sync::sync_now(
        &phone.store,
        &phone.transport(&relay),
        &cairn_core::sync::Quiet,
        &cancel,
        cairn_core::sync::RetryPolicy::default(),
    )
    .unwrap_err();
    assert!(
        matches!(stopped, cairn_core::Error::Cancelled),
        "{stopped:?}"
    );
    assert_eq!(
        phone.store.status().unwrap().outbox_count,
        1,
        "nothing lost"
    );
    phone.sync(&relay);
    tablet.sync(&relay);
    assert_eq!(dump(&phone), dump(&tablet));
}
