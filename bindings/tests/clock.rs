//! "Now" and the device's zone through the FFI: the app's clock, and the system's by default.
//!
//! A store opened without a clock reads the system's zone, so the default path is run for real
//! here: the test binary runs itself again with `TZ` set, and the child checks the zone the store
//! reports. When the zone silently becomes UTC, every reminder of a patient outside UTC fires at
//! the wrong hour; this is the test that fails then.

use std::process::Command;
use std::sync::{Arc, Mutex};

use cairn_core::meds::{DoseStatus, Medication, Phase, Timing};
use cairn_ffi::{CairnError, CairnStore, Clock};
use jiff::Timestamp;

const PASSPHRASE: &str = "tulip-gravel-93-orbit-canyon";
/// Set in the child process to the zone `TZ` names.
const EXPECTED_ZONE: &str = "CAIRN_TEST_EXPECTED_ZONE";

/// The app's clock in a test: an instant and a zone it can move.
struct PhoneClock(Mutex<(Timestamp, String)>);

impl PhoneClock {
    fn at(instant: &str, zone: &str) -> Arc<Self> {
        Arc::new(Self(Mutex::new((instant.parse().unwrap(), zone.into()))))
    }
    fn set(&self, instant: &str, zone: &str) {
        *self.0.lock().unwrap() = (instant.parse().unwrap(), zone.into());
    }
}

impl Clock for PhoneClock {
    fn now(&self) -> Timestamp {
        self.0.lock().unwrap().0
    }
    fn time_zone(&self) -> String {
        self.0.lock().unwrap().1.clone()
    }
}

fn open(dir: &tempfile::TempDir, clock: Option<Arc<dyn Clock>>) -> Arc<CairnStore> {
    CairnStore::open_with_passphrase(
        dir.path().to_string_lossy().into_owned(),
        PASSPHRASE.into(),
        clock,
    )
    .unwrap()
}

fn morning_pill() -> Medication {
    Medication::new(
        "Letrozole",
        vec![Phase {
            dose: 1.0,
            unit: "tablet".into(),
            timing: Timing::TimesOfDay {
                times: vec!["08:00".into()],
                days_of_week: vec![],
            },
            start: "2026-03-01".into(),
            end: None,
            count: None,
        }],
    )
}

#[test]
fn without_a_clock_the_store_reads_the_systems_zone_not_utc() {
    if let Ok(expected) = std::env::var(EXPECTED_ZONE) {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(open(&dir, None).time_zone().unwrap(), expected);
        return;
    }
    let this_test = "without_a_clock_the_store_reads_the_systems_zone_not_utc";
    for zone in ["America/New_York", "Australia/Adelaide"] {
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", this_test, "--nocapture", "--test-threads", "1"])
            .env("TZ", zone)
            .env(EXPECTED_ZONE, zone)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&child.stdout);
        assert!(
            child.status.success() && stdout.contains("1 passed"),
            "with TZ={zone}:\n{stdout}{}",
            String::from_utf8_lossy(&child.stderr)
        );
    }
}

#[test]
fn the_apps_clock_sets_now_and_the_zone_and_a_past_dose_is_missed() {
    let dir = tempfile::tempdir().unwrap();
    let phone = PhoneClock::at("2026-03-05T07:00:00-05:00", "America/New_York");
    let store = open(&dir, Some(phone.clone()));
    assert_eq!(store.time_zone().unwrap(), "America/New_York");
    store.add_medication(morning_pill()).unwrap();

    let before = store.doses_on(jiff::civil::date(2026, 3, 5)).unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(
        before[0].status,
        DoseStatus::Upcoming,
        "08:00 is still to come"
    );
    assert_eq!(
        before[0].scheduled_at,
        "2026-03-05T13:00:00Z".parse::<Timestamp>().unwrap(),
        "08:00 in New York, not 08:00 UTC"
    );

    phone.set("2026-03-06T09:00:00-05:00", "America/New_York");
    let after = store.doses_on(jiff::civil::date(2026, 3, 5)).unwrap();
    assert_eq!(after[0].status, DoseStatus::Missed, "a day later, untaken");
}

#[test]
fn a_zone_change_on_the_phone_takes_effect_on_the_next_call() {
    let dir = tempfile::tempdir().unwrap();
    let phone = PhoneClock::at("2026-03-05T07:00:00-05:00", "America/New_York");
    let store = open(&dir, Some(phone.clone()));
    phone.set("2026-03-05T07:00:00-05:00", "Asia/Tokyo");
    assert_eq!(store.time_zone().unwrap(), "Asia/Tokyo");
}

#[test]
fn a_zone_the_core_does_not_know_is_refused_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let phone = PhoneClock::at("2026-03-05T07:00:00-05:00", "America/New_York");
    let store = open(&dir, Some(phone.clone()));
    phone.set("2026-03-05T07:00:00-05:00", "Atlantis/Capital");
    let err = store.add_medication(morning_pill()).unwrap_err();
    assert!(
        matches!(&err, CairnError::Invalid(m) if m.contains("time_zone")),
        "{err:?}"
    );
    phone.set("2026-03-05T07:00:00-05:00", "America/New_York");
    assert!(store.medications().unwrap().is_empty(), "nothing was added");

    let other = tempfile::tempdir().unwrap();
    let bad = PhoneClock::at("2026-03-05T07:00:00-05:00", "Atlantis/Capital");
    let opened = CairnStore::open_with_passphrase(
        other.path().to_string_lossy().into_owned(),
        PASSPHRASE.into(),
        Some(bad),
    );
    assert!(matches!(opened, Err(CairnError::Invalid(_))));
}
