//! End-to-end tests of the meds: the patient's and the caregiver's phones logging the same dose,
//! editing the same medication, and a patient who flies across the date line.

use cairn_core::meds::{DoseStatus, Medication, Phase, TimeZonePolicy, Timing};
use jiff::SignedDuration;

use crate::devices::TestDevice;

fn twice_daily(name: &str, start: &str) -> Medication {
    let mut m = Medication::new(
        name,
        vec![Phase {
            dose: 1.0,
            unit: "tablet".into(),
            timing: Timing::TimesOfDay {
                times: vec!["08:00".into(), "20:00".into()],
                days_of_week: Vec::new(),
            },
            start: start.into(),
            end: None,
            count: None,
        }],
    );
    m.late_window_minutes = 180;
    m
}

fn dose_log_rows(device: &TestDevice) -> usize {
    device
        .store
        .synced_state_dump()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("dose_log "))
        .count()
}

#[test]
fn patient_and_caregiver_logging_the_same_dose_make_one_record() {
    let patient = TestDevice::patient();
    let caregiver = TestDevice::caregiver();
    let id = patient
        .store
        .add_medication(&twice_daily("Tamoxifen", "2026-10-01"))
        .unwrap();
    patient.sync_with(&caregiver);
    assert_eq!(caregiver.store.medication(&id).unwrap().name, "Tamoxifen");

    // Both tap "taken" for the 08:00 dose while offline, a few minutes apart.
    patient.set_now(
        "2026-10-24T08:05:00+01:00"
            .parse::<jiff::Timestamp>()
            .unwrap(),
    );
    caregiver.set_now(
        "2026-10-24T08:09:00+01:00"
            .parse::<jiff::Timestamp>()
            .unwrap(),
    );
    let a = patient.store.take_dose(&id, None, None, None).unwrap();
    let b = caregiver.store.take_dose(&id, None, None, None).unwrap();
    assert_eq!(a.dose_id, b.dose_id, "the same occurrence has the same id");
    assert_eq!(a.occurrence_id, b.occurrence_id);

    patient.sync_with(&caregiver);
    assert_eq!(dose_log_rows(&patient), 1);
    assert_eq!(
        patient.store.synced_state_dump().unwrap(),
        caregiver.store.synced_state_dump().unwrap()
    );
    let seen = |d: &TestDevice| {
        let today = d.store.doses_today().unwrap();
        (today[0].status, today[0].taken_at, today[1].status)
    };
    assert_eq!(seen(&patient), seen(&caregiver));
    assert_eq!(seen(&patient).0, DoseStatus::Taken);
    assert_eq!(seen(&patient).2, DoseStatus::Upcoming);

    // Adherence agrees on both phones.
    let a = patient
        .store
        .adherence(
            jiff::civil::date(2026, 10, 24),
            jiff::civil::date(2026, 10, 24),
        )
        .unwrap();
    let b = caregiver
        .store
        .adherence(
            jiff::civil::date(2026, 10, 24),
            jiff::civil::date(2026, 10, 24),
        )
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.overall.taken_on_time, 1);
}

#[test]
fn a_dose_taken_on_one_phone_leaves_the_others_reminder_plan() {
    let patient = TestDevice::patient();
    let tablet = TestDevice::patient();
    let id = patient
        .store
        .add_medication(&twice_daily("Metformin", "2026-10-01"))
        .unwrap();
    patient.sync_with(&tablet);
    tablet.set_now("2026-10-24T09:00:00+01:00".parse().unwrap());
    let before = tablet.store.plan_notifications(4).unwrap();
    tablet.store.commit_notification_plan(&before).unwrap();
    assert!(
        before.planned[0]
            .fire_at_local
            .starts_with("2026-10-24T20:00")
    );
    // Taken early on the phone, the evening reminder disappears from the tablet's plan.
    patient.set_now("2026-10-24T19:30:00+01:00".parse().unwrap());
    tablet.set_now("2026-10-24T19:31:00+01:00".parse().unwrap());
    patient.store.take_dose(&id, None, None, None).unwrap();
    patient.sync_with(&tablet);
    let after = tablet.store.plan_notifications(4).unwrap();
    // Cancelled: the evening reminder, and the old last slot, which loses its runs-dry note
    // now that the window reaches one reminder further.
    let mut cancelled = vec![before.planned[0].id.clone(), before.planned[3].id.clone()];
    cancelled.sort();
    assert_eq!(after.cancel, cancelled);
    assert_eq!(after.schedule.len(), 2);
    assert!(
        after.planned[0]
            .fire_at_local
            .starts_with("2026-10-25T08:00:00+00:00"),
        "the clocks went back overnight: {}",
        after.planned[0].fire_at_local
    );
}

#[test]
fn concurrent_edits_of_different_fields_both_survive() {
    let patient = TestDevice::patient();
    let caregiver = TestDevice::caregiver();
    let id = patient
        .store
        .add_medication(&twice_daily("Letrozole", "2026-10-01"))
        .unwrap();
    patient.sync_with(&caregiver);
    let mut mine = patient.store.medication(&id).unwrap();
    mine.instructions = "with breakfast".into();
    patient.store.update_medication(&mine).unwrap();
    let mut theirs = caregiver.store.medication(&id).unwrap();
    theirs.late_window_minutes = 60;
    caregiver.store.update_medication(&theirs).unwrap();
    patient.sync_with(&caregiver);
    for d in [&patient, &caregiver] {
        let m = d.store.medication(&id).unwrap();
        assert_eq!(m.instructions, "with breakfast");
        assert_eq!(m.late_window_minutes, 60);
    }
}

#[test]
fn a_flight_from_auckland_to_los_angeles() {
    let patient = TestDevice::at("2026-03-10T07:30:00+13:00[Pacific/Auckland]");
    let daily = patient
        .store
        .add_medication(&Medication::new(
            "Vitamin D",
            vec![Phase {
                dose: 1.0,
                unit: "capsule".into(),
                timing: Timing::TimesOfDay {
                    times: vec!["08:00".into()],
                    days_of_week: Vec::new(),
                },
                start: "2026-03-01".into(),
                end: None,
                count: None,
            }],
        ))
        .unwrap();
    let mut pinned = twice_daily("Tacrolimus", "2026-03-01");
    pinned.time_zone_policy = TimeZonePolicy::FixedZone {
        zone: "Pacific/Auckland".into(),
    };
    let pinned = patient.store.add_medication(&pinned).unwrap();
    patient.clock.advance(SignedDuration::from_mins(35));
    patient.store.take_dose(&daily, None, None, None).unwrap();
    patient.store.take_dose(&pinned, None, None, None).unwrap();

    // Boarding at 19:00 in Auckland: the phone holds the next four reminders.
    patient.set_now("2026-03-10T19:00:00+13:00".parse().unwrap());
    let at_home = patient.store.plan_notifications(4).unwrap();
    patient.store.commit_notification_plan(&at_home).unwrap();
    let home: Vec<&str> = at_home
        .planned
        .iter()
        .map(|n| &n.fire_at_local[..25])
        .collect();
    assert_eq!(
        home,
        [
            "2026-03-10T20:00:00+13:00",
            "2026-03-11T08:00:00+13:00",
            "2026-03-11T20:00:00+13:00",
            "2026-03-12T08:00:00+13:00",
        ]
    );
    assert_eq!(at_home.planned[1].occurrence_ids.len(), 2);
    // The 20:00 dose on the plane.
    patient.set_now("2026-03-10T20:10:00+13:00".parse().unwrap());
    patient.store.take_dose(&pinned, None, None, None).unwrap();

    // Twelve hours later: Los Angeles, 11:00 on... 10 March again.
    patient.set_now("2026-03-10T18:00:00Z".parse().unwrap());
    patient.fly_to("America/Los_Angeles");
    assert_eq!(patient.clock_now_local(), "2026-03-10 11:00 PDT");
    let landed = patient.store.plan_notifications(4).unwrap();
    let times: Vec<&str> = landed
        .planned
        .iter()
        .map(|n| &n.fire_at_local[..25])
        .collect();
    // Tacrolimus keeps Auckland's instants (08:00 and 20:00 there are 12:00 and 00:00 here); the
    // vitamin follows the wall clock, and 10 March's was taken in Auckland: next is 11 March.
    assert_eq!(
        times,
        [
            "2026-03-10T12:00:00-07:00",
            "2026-03-11T00:00:00-07:00",
            "2026-03-11T08:00:00-07:00",
            "2026-03-11T12:00:00-07:00",
        ]
    );
    let today = patient.store.doses_today().unwrap();
    let vitamin = today
        .iter()
        .find(|d| d.medication_name == "Vitamin D")
        .unwrap();
    assert_eq!(vitamin.status, DoseStatus::Taken);
    // The two Auckland-morning notifications that also listed the vitamin are withdrawn.
    assert_eq!(landed.cancel.len(), 2);
    assert!(landed.cancel.contains(&at_home.planned[1].id));
    assert!(landed.cancel.contains(&at_home.planned[3].id));
}

impl TestDevice {
    fn clock_now_local(&self) -> String {
        use cairn_core::Clock;
        self.clock
            .now_zoned()
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string()
    }
}

#[derive(Debug, Clone, Copy)]
enum Tap {
    Take,
    Skip,
    Snooze,
    Undo,
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]

    /// The patient and a caregiver tapping the same doses in any order, offline, with syncs at
    /// random points, end with the same dose log and the same day views.
    #[test]
    fn two_phones_tapping_the_same_doses_converge(
        taps in proptest::collection::vec(
            (
                proptest::bool::ANY,
                0usize..6,
                proptest::sample::select(vec![Tap::Take, Tap::Skip, Tap::Snooze, Tap::Undo]),
                proptest::bool::weighted(0.3),
            ),
            1..24,
        ),
    ) {
        let patient = TestDevice::patient();
        let caregiver = TestDevice::caregiver();
        // Added on its start day, so the doses tapped below are all tracked.
        patient.set_now("2026-10-20T00:00:00+01:00".parse().unwrap());
        let id = patient
            .store
            .add_medication(&twice_daily("Tamoxifen", "2026-10-20"))
            .unwrap();
        patient.sync_with(&caregiver);
        let now: jiff::Timestamp = "2026-10-23T21:00:00+01:00".parse().unwrap();
        let from: jiff::Timestamp = "2026-10-21T00:00:00+01:00".parse().unwrap();
        patient.set_now(now);
        caregiver.set_now(now);
        let doses = patient.store.doses_between(from, now).unwrap();
        proptest::prop_assert_eq!(doses.len(), 6);
        for (on_patient, which, tap, sync_after) in taps {
            let device = if on_patient { &patient } else { &caregiver };
            let d = &doses[which];
            // Each tap a minute later than the last, as real taps are.
            device.clock.advance(SignedDuration::from_mins(1));
            let _ = match tap {
                Tap::Take => device
                    .store
                    .take_dose(&id, Some(d.scheduled_at), None, Some(&d.id))
                    .map(|_| ()),
                Tap::Skip => device.store.skip_dose(&id, Some(&d.id), None).map(|_| ()),
                Tap::Snooze => device.store.snooze_dose(&id, Some(&d.id), 10).map(|_| ()),
                Tap::Undo => device.store.undo_dose(&d.dose_id),
            };
            if sync_after {
                patient.sync_with(&caregiver);
            }
        }
        patient.sync_with(&caregiver);
        proptest::prop_assert_eq!(
            patient.store.synced_state_dump().unwrap(),
            caregiver.store.synced_state_dump().unwrap()
        );
        // Both read the doses as of the same instant.
        patient.set_now(now);
        caregiver.set_now(now);
        let view = |d: &TestDevice| {
            d.store
                .doses_between(from, now)
                .unwrap()
                .into_iter()
                .map(|o| (o.id, o.status, o.taken_at))
                .collect::<Vec<_>>()
        };
        proptest::prop_assert_eq!(view(&patient), view(&caregiver));
    }
}

#[test]
fn the_caregiver_does_not_see_doses_from_before_the_medication_was_added_as_missed() {
    let patient = TestDevice::patient();
    let caregiver = TestDevice::caregiver();
    patient.set_now("2026-10-20T20:02:00+01:00".parse().unwrap());
    let id = patient
        .store
        .add_medication(&twice_daily("Capecitabine", "2026-10-20"))
        .unwrap();
    patient.sync_with(&caregiver);
    let day = jiff::civil::date(2026, 10, 20);
    let late: jiff::Timestamp = "2026-10-20T23:30:00+01:00".parse().unwrap();
    patient.set_now(late);
    caregiver.set_now(late);
    let on = |device: &TestDevice| device.store.adherence(day, day).unwrap().overall;
    assert_eq!((on(&caregiver).scheduled, on(&caregiver).missed), (1, 1));
    // The caregiver backfills the morning dose the patient took before adding the pills.
    caregiver
        .store
        .take_dose(
            &id,
            Some("2026-10-20T08:05:00+01:00".parse().unwrap()),
            None,
            None,
        )
        .unwrap();
    caregiver.sync_with(&patient);
    for device in [&patient, &caregiver] {
        let c = on(device);
        assert_eq!((c.scheduled, c.taken_on_time, c.missed), (2, 1, 1));
    }
}
