//! One grammar for what commands are given: instants (`--now`, `--at`, `--end`, `--from`,
//! `--until`), civil dates (`--date`, `--start`, `--to`, …) and record ids. Every command reads
//! them alike, and every error names the flag and the forms it accepts.

use cairn_core::Error;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

/// The forms [`instant`] accepts, as its error states them.
const INSTANT_FORMS: &str = "expected RFC 3339 (2026-10-21T08:00:00+01:00), RFC 9557 \
     (2026-10-21T08:00[Europe/London]), a local date-time (2026-10-21T08:00 or 2026-10-21 08:00), \
     a date (2026-10-21, at midnight) or a time today (08:00)";

/// The form [`date`] accepts, as its error states it.
const DATE_FORM: &str = "expected a date, YYYY-MM-DD (e.g. 2026-03-08)";

/// The form [`id`] accepts, as its error states it.
const ID_FORM: &str =
    "expected an id as a listing prints it (e.g. 0196f1c2-5b7e-4c3a-9d1e-2f4a6b8c0d1e)";

/// An instant given to `flag`: RFC 3339 or RFC 9557 text names one on its own; a local
/// date-time, a date (at midnight) or a time of day (on today's date as of `now`) is read in
/// `zone`. A local time that a DST change skips reads as the same time after the gap, one it
/// repeats as the earlier of its two instants.
pub(crate) fn instant(
    flag: &'static str,
    text: &str,
    zone: &TimeZone,
    now: Timestamp,
) -> Result<Timestamp, Error> {
    let t = text.trim();
    // The zone first: its rules place the instant exactly where the printed offset, rounded
    // to the minute for old local mean times, would not.
    if let Ok(z) = t.parse::<ZonedDateTime>() {
        return Ok(z.timestamp());
    }
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    let local = local_date_time(t, zone, now).ok_or(Error::invalid(flag, INSTANT_FORMS))?;
    local
        .to_zoned_datetime(zone.clone())
        .map(|z| z.timestamp())
        .map_err(|_| Error::invalid(flag, "out of range in this time zone"))
}

/// A local date-time (`T` or a space between date and time), a date at midnight, or a time of
/// day on the date `now` has in `zone`.
fn local_date_time(t: &str, zone: &TimeZone, now: Timestamp) -> Option<DateTime> {
    if let Ok(dt) = t.replacen(' ', "T", 1).parse::<DateTime>() {
        return Some(dt);
    }
    if let Ok(d) = t.parse::<Date>() {
        return Some(d.at(0, 0, 0, 0));
    }
    let time = time_of_day(t)?;
    Some(now.to_zoned_datetime(zone.clone()).date().to_datetime(time))
}

/// `H:MM`, `HH:MM` or `HH:MM:SS` on a 24-hour clock.
fn time_of_day(t: &str) -> Option<Time> {
    let parts: Vec<&str> = t.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let field = |p: &str, max: i8| -> Option<i8> {
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok().filter(|v| *v <= max)
    };
    let hour = field(parts[0], 23)?;
    let minute = field(parts[1], 59)?;
    let second = parts.get(2).map_or(Some(0), |s| field(s, 59))?;
    Time::new(hour, minute, second, 0).ok()
}

/// A civil date given to `flag`, `YYYY-MM-DD`.
pub(crate) fn date(flag: &'static str, text: &str) -> Result<Date, Error> {
    text.trim()
        .parse()
        .map_err(|_| Error::invalid(flag, DATE_FORM))
}

/// A record's id given to `flag`, as a listing prints it: surrounding spaces are dropped; an
/// empty id, or one holding a control character, is refused.
pub(crate) fn id(flag: &'static str, text: &str) -> Result<String, Error> {
    let t = text.trim();
    if t.is_empty() || t.chars().any(char::is_control) {
        return Err(Error::invalid(flag, ID_FORM));
    }
    Ok(t.to_owned())
}

/// [`id`] for each of a repeated flag's values.
pub(crate) fn ids(flag: &'static str, texts: &[String]) -> Result<Vec<String>, Error> {
    texts.iter().map(|t| id(flag, t)).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn now() -> Timestamp {
        "2026-03-08T06:30:00-05:00".parse().unwrap()
    }

    fn at(text: &str, zone_name: &str) -> Result<Timestamp, Error> {
        instant("--at", text, &zone(zone_name), now())
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn an_instant_with_an_offset_or_a_zone_names_itself() {
        let expected = ts("2026-10-21T07:00:00Z");
        for text in [
            "2026-10-21T08:00:00+01:00",
            "2026-10-21T07:00:00Z",
            " 2026-10-21T08:00+01:00 ",
            "2026-10-21T08:00[Europe/London]",
            "2026-10-21T08:00:00+01:00[Europe/London]",
        ] {
            assert_eq!(at(text, "Asia/Tokyo").unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn local_forms_are_read_in_the_zone() {
        let ny = "America/New_York";
        assert_eq!(
            at("2026-10-21T08:00", ny).unwrap(),
            ts("2026-10-21T12:00:00Z")
        );
        assert_eq!(
            at("2026-10-21 08:00", ny).unwrap(),
            ts("2026-10-21T12:00:00Z")
        );
        assert_eq!(at("2026-10-21", ny).unwrap(), ts("2026-10-21T04:00:00Z"));
        assert_eq!(at("22:00", ny).unwrap(), ts("2026-03-09T02:00:00Z"));
        assert_eq!(at("8:05", ny).unwrap(), ts("2026-03-08T12:05:00Z"));
        assert_eq!(at("05:59:30", ny).unwrap(), ts("2026-03-08T09:59:30Z"));
    }

    #[test]
    fn a_time_of_day_is_on_the_zones_today() {
        // 11:30 UTC is the evening of 8 March in Tokyo and already 9 March at Kiritimati
        // (UTC+14): each reads "08:00" on its own date.
        assert_eq!(
            at("08:00", "Asia/Tokyo").unwrap(),
            ts("2026-03-07T23:00:00Z")
        );
        assert_eq!(
            at("08:00", "Pacific/Kiritimati").unwrap(),
            ts("2026-03-08T18:00:00Z")
        );
    }

    #[test]
    fn a_local_time_in_a_dst_gap_reads_as_the_later_offset() {
        // 02:30 does not exist in New York on 8 March 2026; it is read as 03:30 EDT.
        assert_eq!(
            at("2026-03-08T02:30", "America/New_York").unwrap(),
            ts("2026-03-08T07:30:00Z")
        );
    }

    #[test]
    fn errors_name_the_flag_and_the_forms() {
        for text in [
            "",
            "tomorrow",
            "2026-13-01",
            "24:00",
            "8:5:",
            "08:60",
            "2026",
            "1:2:3:4",
        ] {
            let err = instant("--from", text, &zone("UTC"), now()).unwrap_err();
            let message = err.to_string();
            assert!(message.contains("--from"), "{text}: {message}");
            assert!(message.contains("RFC 3339"), "{text}: {message}");
            assert!(message.contains("08:00"), "{text}: {message}");
        }
        let err = date("--start", "2026/03/01").unwrap_err().to_string();
        assert!(
            err.contains("--start") && err.contains("YYYY-MM-DD"),
            "{err}"
        );
        for text in ["", "  ", "ab\u{1b}[2J"] {
            let err = id("--for", text).unwrap_err().to_string();
            assert!(err.contains("--for") && err.contains("id"), "{err}");
        }
    }

    #[test]
    fn dates_and_ids_lose_only_their_surrounding_spaces() {
        assert_eq!(
            date("--date", " 2026-03-08 ").unwrap(),
            jiff::civil::date(2026, 3, 8)
        );
        assert_eq!(id("ID", "  0196f1c2-5b7e  ").unwrap(), "0196f1c2-5b7e");
        assert_eq!(
            ids("--med", &["a".into(), " b".into()]).unwrap(),
            ["a", "b"]
        );
    }

    const ZONES: [&str; 6] = [
        "UTC",
        "America/New_York",
        "Europe/London",
        "Asia/Kolkata",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
    ];

    fn any_instant() -> impl Strategy<Value = Timestamp> {
        // 1900 to 2200, to the second.
        (-2_208_988_800i64..7_258_118_400).prop_map(|s| Timestamp::from_second(s).unwrap())
    }

    proptest! {
        #[test]
        fn an_rfc_3339_instant_round_trips(t in any_instant(), z in 0..ZONES.len()) {
            prop_assert_eq!(at(&t.to_string(), ZONES[z]).unwrap(), t);
        }

        #[test]
        fn an_rfc_9557_instant_round_trips(t in any_instant(), z in 0..ZONES.len(), read in 0..ZONES.len()) {
            let zoned = t.to_zoned_datetime(zone(ZONES[z]));
            prop_assert_eq!(at(&zoned.to_string(), ZONES[read]).unwrap(), t);
        }

        #[test]
        fn a_local_date_time_round_trips_in_its_zone(t in any_instant(), z in 0..ZONES.len()) {
            let zoned = t.to_zoned_datetime(zone(ZONES[z]));
            let local = zoned.datetime();
            let read = at(&local.to_string(), ZONES[z]).unwrap();
            // A repeated local time reads as its earlier instant; every other one as itself.
            prop_assert_eq!(read.to_zoned_datetime(zone(ZONES[z])).datetime(), local);
            prop_assert!(read <= t);
        }

        #[test]
        fn a_date_round_trips(t in any_instant()) {
            let d = t.to_zoned_datetime(TimeZone::UTC).date();
            prop_assert_eq!(date("--date", &d.to_string()).unwrap(), d);
        }

        #[test]
        fn an_id_without_spaces_or_controls_round_trips(text in "[^\\s\\p{Cc}]{1,40}") {
            prop_assert_eq!(id("ID", &text).unwrap(), text);
        }
    }
}
