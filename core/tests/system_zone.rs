//! The system clock carries the machine's zone, never a silent UTC.
//!
//! When jiff is built without its system-zone support, `TimeZone::system()` falls back to UTC
//! and every reminder of a patient outside UTC is planned at the wrong hour. Every other test
//! injects a zone, so this one runs the real default path: it starts this test binary again with
//! `TZ` set, and the child checks what [`SystemClock`] reports.

use std::process::Command;

use cairn_core::{Clock, SystemClock};
use jiff::civil::date;

/// Set in the child process to the zone `TZ` names.
const EXPECTED_ZONE: &str = "CAIRN_TEST_EXPECTED_ZONE";

#[test]
fn the_system_clock_reads_the_machines_zone_not_utc() {
    if let Ok(expected) = std::env::var(EXPECTED_ZONE) {
        let zone = SystemClock.time_zone();
        assert_eq!(zone.iana_name(), Some(expected.as_str()));
        // The zone's rules come with it: 08:00 in January is not 08:00 UTC.
        let morning = date(2026, 1, 15)
            .at(8, 0, 0, 0)
            .to_zoned_datetime(zone)
            .unwrap();
        assert_ne!(
            morning.offset().seconds(),
            0,
            "{expected} has no offset in January"
        );
        return;
    }
    let this_test = "the_system_clock_reads_the_machines_zone_not_utc";
    for zone in ["America/New_York", "Asia/Kolkata"] {
        let child = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", this_test, "--nocapture", "--test-threads", "1"])
            .env("TZ", zone)
            .env(EXPECTED_ZONE, zone)
            .output()
            .expect("the test binary runs again");
        let stdout = String::from_utf8_lossy(&child.stdout);
        assert!(
            child.status.success(),
            "with TZ={zone} the system clock did not report {zone}:\n{stdout}{}",
            String::from_utf8_lossy(&child.stderr)
        );
        assert!(
            stdout.contains("1 passed"),
            "the child ran no test:\n{stdout}"
        );
    }
}
