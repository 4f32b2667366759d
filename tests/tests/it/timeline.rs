//! End-to-end tests of the timeline: several devices edit one journey and converge.

use cairn_core::Error;
use cairn_core::timeline::{
    EventDetails, EventEdit, EventKind, Measurement, NewEvent, Quantity, SymptomReport,
    TimelineQuery, group_by_local_day,
};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use crate::devices::TestDevice;

fn at(zoned: &str) -> Timestamp {
    zoned
        .parse::<jiff::ZonedDateTime>()
        .expect("test time")
        .timestamp()
}

fn titles(device: &TestDevice, q: &TimelineQuery) -> Vec<String> {
    device
        .store
        .timeline_page(q, None, 100)
        .expect("page")
        .events
        .into_iter()
        .map(|e| e.title)
        .collect()
}

fn search(device: &TestDevice, text: &str) -> Vec<String> {
    titles(
        device,
        &TimelineQuery {
            text: Some(text.into()),
            ..TimelineQuery::default()
        },
    )
}

#[test]
fn an_edit_of_different_fields_on_two_replicas_merges_both() {
    let phone = TestDevice::patient();
    let tablet = TestDevice::caregiver();
    let id = phone
        .store
        .add_event(
            &NewEvent::new(
                at("2026-10-23T10:00:00+01:00[Europe/London]"),
                "",
                EventDetails::Appointment {
                    provider: Some("Dr Okafor".into()),
                    place: None,
                    questions: vec!["Dose after the fever?".into()],
                    notes_after: None,
                },
            )
            .tags(["oncology"]),
        )
        .unwrap();
    phone.sync_with(&tablet);

    // Offline, each changes something else: the patient the title, the caregiver the text and
    // the time (the clinic rang to move it).
    phone.clock.advance(SignedDuration::from_mins(2));
    tablet.clock.advance(SignedDuration::from_mins(3));
    phone
        .store
        .edit_event(
            &id,
            &EventEdit {
                title: Some("Oncology review".into()),
                ..EventEdit::default()
            },
        )
        .unwrap();
    tablet
        .store
        .edit_event(
            &id,
            &EventEdit {
                body: Some("Bring the thermometer diary".into()),
                occurred_at: Some(at("2026-10-23T11:30:00+01:00[Europe/London]")),
                ..EventEdit::default()
            },
        )
        .unwrap();
    phone.sync_with(&tablet);

    for device in [&phone, &tablet] {
        let e = device.store.event(&id).unwrap();
        assert_eq!(e.title, "Oncology review");
        assert_eq!(e.body, "Bring the thermometer diary");
        assert_eq!(
            e.occurred_at,
            at("2026-10-23T11:30:00+01:00[Europe/London]")
        );
        assert_eq!(e.tags, vec!["oncology"]);
        assert_eq!(search(device, "thermometer"), vec!["Oncology review"]);
        assert!(
            search(device, "Okafor").is_empty(),
            "the default title was replaced"
        );
    }
    assert_eq!(
        phone.store.synced_state_dump().unwrap(),
        tablet.store.synced_state_dump().unwrap()
    );
}

#[test]
fn an_edit_racing_a_delete_does_not_bring_the_event_back() {
    let phone = TestDevice::patient();
    let tablet = TestDevice::caregiver();
    let id = phone
        .store
        .add_event(&NewEvent::new(
            at("2026-10-22T20:00:00+01:00[Europe/London]"),
            "Wrong day",
            EventDetails::Note,
        ))
        .unwrap();
    phone.sync_with(&tablet);
    phone.store.delete_event(&id).unwrap();
    tablet.clock.advance(SignedDuration::from_mins(10));
    tablet
        .store
        .edit_event(
            &id,
            &EventEdit {
                body: Some("edited later, offline".into()),
                ..EventEdit::default()
            },
        )
        .unwrap();
    phone.sync_with(&tablet);
    for device in [&phone, &tablet] {
        assert!(matches!(
            device.store.event(&id),
            Err(Error::NotFound { .. })
        ));
        assert!(search(device, "offline").is_empty());
        assert!(titles(device, &TimelineQuery::default()).is_empty());
    }
}

#[test]
fn a_caregiver_in_new_york_sees_the_patients_day_in_their_own_zone() {
    let patient = TestDevice::patient();
    let caregiver = TestDevice::at("2026-10-23T04:00:00-04:00[America/New_York]");
    let late = patient
        .store
        .add_event(&NewEvent::new(
            at("2026-10-23T00:30:00+01:00[Europe/London]"),
            "",
            EventDetails::Measurement {
                measurement: Measurement::new(Quantity::Temperature, 38.1, "Cel"),
            },
        ))
        .unwrap();
    patient.sync_with(&caregiver);
    let e = caregiver.store.event(&late).unwrap();
    assert_eq!(e.recorded_zone, "Europe/London");
    assert_eq!(e.local_start().hour(), 0, "shown at the patient's 00:30");
    let page = caregiver
        .store
        .timeline_page(&TimelineQuery::default(), None, 10)
        .unwrap();
    let ny = group_by_local_day(
        page.events.clone(),
        &TimeZone::get("America/New_York").unwrap(),
    );
    assert_eq!(ny[0].date.to_string(), "2026-10-22");
    let london = group_by_local_day(page.events, &TimeZone::get("Europe/London").unwrap());
    assert_eq!(london[0].date.to_string(), "2026-10-23");
    assert_eq!(
        e.flags,
        vec![cairn_core::timeline::EventFlag::Fever],
        "the fever flag travels with the data"
    );
}

#[test]
fn a_symptom_trend_merges_reports_from_both_devices() {
    let phone = TestDevice::patient();
    let tablet = TestDevice::caregiver();
    for (device, day, freq) in [(&phone, 20, 3), (&tablet, 21, 2), (&phone, 22, 1)] {
        device
            .store
            .add_event(&NewEvent::new(
                at(&format!("2026-10-{day}T20:00:00+01:00[Europe/London]")),
                "",
                EventDetails::Symptom {
                    report: SymptomReport {
                        frequency: Some(freq),
                        ..SymptomReport::new("nausea")
                    },
                },
            ))
            .unwrap();
    }
    phone.sync_with(&tablet);
    for device in [&phone, &tablet] {
        let trend = device.store.symptom_trend("nausea", None, None).unwrap();
        let freq: Vec<Option<u8>> = trend.iter().map(|p| p.report.frequency).collect();
        assert_eq!(freq, vec![Some(3), Some(2), Some(1)]);
    }
}

fn journey() -> Vec<NewEvent> {
    let t = |d: u32, h: i8| at(&format!("2026-10-{d:02}T{h:02}:00:00+01:00[Europe/London]"));
    vec![
        NewEvent::new(
            t(1, 11),
            "",
            EventDetails::Diagnosis {
                condition: "Lymphoma".into(),
                stage: Some("II".into()),
            },
        ),
        NewEvent::new(
            t(5, 9),
            "Cycle one",
            EventDetails::Treatment {
                treatment: cairn_core::timeline::TreatmentKind::Chemotherapy,
                name: Some("R-CHOP".into()),
                cycle: Some(1),
            },
        )
        .tags(["chemo"]),
        NewEvent::new(t(6, 20), "Sick after chemo", EventDetails::Note).body("Ondansetron helped"),
        NewEvent::new(t(8, 8), "", EventDetails::Mood { rating: 3 }),
        NewEvent::new(t(9, 18), "Fièvre", EventDetails::Milestone),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    #[test]
    fn replicas_converge_and_search_alike_whatever_the_delivery_order(
        seed in any::<u64>(),
        chunk in 1usize..7,
    ) {
        let author = TestDevice::patient();
        let ids = author.store.add_events(&journey()).unwrap();
        author.clock.advance(SignedDuration::from_mins(1));
        author.store.edit_event(&ids[2], &EventEdit {
            title: Some("Nausea after chemo".into()),
            ..EventEdit::default()
        }).unwrap();
        author.store.delete_event(&ids[3]).unwrap();
        let mut changes = author.push();
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..changes.len()).rev() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            changes.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let reader = TestDevice::caregiver();
        for part in changes.chunks(chunk) {
            reader.pull(part);
            // Partial records never break a page.
            reader.store.timeline_page(&TimelineQuery::default(), None, 50).unwrap();
        }
        reader.pull(&changes);
        prop_assert_eq!(
            author.store.synced_state_dump().unwrap(),
            reader.store.synced_state_dump().unwrap()
        );
        prop_assert_eq!(search(&reader, "nausea"), vec!["Nausea after chemo".to_owned()]);
        prop_assert_eq!(search(&reader, "FIEVRE"), vec!["Fièvre".to_owned()]);
        prop_assert!(search(&reader, "sick").is_empty());
        prop_assert_eq!(
            titles(&reader, &TimelineQuery::default()),
            titles(&author, &TimelineQuery::default())
        );
        let kinds: Vec<EventKind> = reader.store
            .timeline_page(&TimelineQuery::default(), None, 50).unwrap()
            .events.iter().map(|e| e.kind).collect();
        prop_assert!(!kinds.contains(&EventKind::Mood), "the deleted mood stays deleted");
    }
}
