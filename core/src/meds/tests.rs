use std::collections::BTreeSet;
use std::sync::{Arc, Barrier, Mutex};

use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ZonedDateTime};
use proptest::prelude::*;

use super::calendar::{add_days, resolve};
use super::compile::compile;
use super::occurrence::{Occ, expand_into, parse_packed_key};
use super::*;
use crate::clock::{Clock, SteppableClock};
use crate::store::{MemoryKeyStore, Store, StoreAccess, Unlock};

struct Phone {
    store: Store,
    clock: SteppableClock,
    _dir: tempfile::TempDir,
}

fn zdt(text: &str) -> ZonedDateTime {
    text.parse().expect("test time")
}

fn tz(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn phone(at: &str) -> Phone {
    let z = zdt(at);
    let clock = SteppableClock::new(z.timestamp(), z.time_zone().clone());
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::default();
    let store =
        Store::create(dir.path(), Unlock::KeyStore(&keys), Arc::new(clock.clone())).unwrap();
    Phone {
        store,
        clock,
        _dir: dir,
    }
}

fn times_of_day(times: &[&str], start: &str) -> Phase {
    Phase {
        dose: 1.0,
        unit: "tablet".into(),
        timing: Timing::TimesOfDay {
            times: times.iter().map(|t| t.to_string()).collect(),
            days_of_week: Vec::new(),
        },
        start: start.into(),
        end: None,
        count: None,
    }
}

fn cycle(on: u32, off: u32, times: &[&str], start: &str) -> Phase {
    Phase {
        dose: 3.0,
        unit: "tablet".into(),
        timing: Timing::Cycle {
            days_on: on,
            days_off: off,
            times: times.iter().map(|t| t.to_string()).collect(),
            cycles: None,
        },
        start: start.into(),
        end: None,
        count: None,
    }
}

fn as_needed(gap_minutes: u32, max: u32, hours: u32, start: &str) -> Phase {
    Phase {
        dose: 1.0,
        unit: "tablet".into(),
        timing: Timing::AsNeeded {
            min_gap_minutes: gap_minutes,
            max_doses: max,
            period_hours: hours,
        },
        start: start.into(),
        end: None,
        count: None,
    }
}

/// Occurrences of `med` in `[from, to)` read in `device`.
fn occurrences(med: &Medication, device: &str, from: &str, to: &str) -> Vec<Occ> {
    let c = compile(med).unwrap();
    let mut out = Vec::new();
    expand_into(
        &c,
        &tz(device),
        zdt(from).timestamp(),
        zdt(to).timestamp(),
        &mut out,
    );
    out
}

fn local_in(o: &Occ, zone: &str) -> String {
    o.at.to_zoned_datetime(tz(zone))
        .strftime("%Y-%m-%d %H:%M %:z")
        .to_string()
}

fn invalid_field(result: crate::Result<impl std::fmt::Debug>) -> &'static str {
    match result {
        Err(crate::Error::Invalid { field, .. }) => field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

// --- regimen validation ---------------------------------------------------------------------

#[test]
fn invalid_regimens_name_the_field() {
    let ok = Medication::new("Metformin", vec![times_of_day(&["08:00"], "2026-03-01")]);
    assert!(compile(&ok).is_ok());

    let mut m = ok.clone();
    m.phases[0].timing = Timing::EveryNDays {
        every_days: 0,
        times: vec!["08:00".into()],
    };
    assert_eq!(invalid_field(compile(&m)), "every_days");

    let mut m = ok.clone();
    m.phases[0].timing = Timing::EveryNHours {
        every_hours: 0,
        anchor: "08:00".into(),
    };
    assert_eq!(invalid_field(compile(&m)), "every_hours");

    let mut m = ok.clone();
    m.phases[0].timing = Timing::TimesOfDay {
        times: vec!["24:00".into()],
        days_of_week: vec![],
    };
    assert_eq!(invalid_field(compile(&m)), "times");

    let mut m = ok.clone();
    m.phases[0].timing = Timing::TimesOfDay {
        times: vec!["08:60".into()],
        days_of_week: vec![],
    };
    assert_eq!(invalid_field(compile(&m)), "times");

    let mut m = ok.clone();
    m.phases = vec![as_needed(240, 0, 24, "2026-03-01")];
    assert_eq!(invalid_field(compile(&m)), "max_doses");

    let mut m = ok.clone();
    m.phases = vec![
        Phase {
            end: Some("2026-03-10".into()),
            ..times_of_day(&["08:00"], "2026-03-01")
        },
        times_of_day(&["08:00"], "2026-03-10"),
    ];
    assert_eq!(invalid_field(compile(&m)), "phases");

    // A counted phase that would still be running when the next starts overlaps it too.
    let mut m = ok.clone();
    m.phases = vec![
        Phase {
            count: Some(10),
            ..times_of_day(&["08:00"], "2026-03-01")
        },
        times_of_day(&["08:00"], "2026-03-08"),
    ];
    assert_eq!(invalid_field(compile(&m)), "phases");

    let mut m = ok.clone();
    m.time_zone_policy = TimeZonePolicy::FixedZone {
        zone: "Mars/Olympus_Mons".into(),
    };
    assert_eq!(invalid_field(compile(&m)), "time_zone_policy");

    let mut m = ok.clone();
    m.phases[0].dose = 0.0;
    assert_eq!(invalid_field(compile(&m)), "dose");

    let mut m = ok;
    m.phases[0].end = Some("2026-02-01".into());
    assert_eq!(invalid_field(compile(&m)), "end");
}

#[test]
fn medication_text_has_length_limits() {
    let ok = Medication::new("Metformin", vec![times_of_day(&["08:00"], "2026-03-01")]);
    let long = |n: usize| "é".repeat(n);
    type Set = fn(&mut Medication, String);
    let cases: [(&str, Set); 8] = [
        ("name", |m, t| m.name = t),
        ("strength", |m, t| m.strength = t),
        ("form", |m, t| m.form = t),
        ("route", |m, t| m.route = t),
        ("instructions", |m, t| m.instructions = t),
        ("prescriber", |m, t| m.prescriber = t),
        ("code", |m, t| m.code = Some(t)),
        ("unit", |m, t| m.phases[0].unit = t),
    ];
    for (field, set) in cases {
        let limit = match field {
            "instructions" => 2000,
            "strength" | "form" | "route" => 100,
            "unit" => 50,
            _ => 200,
        };
        // Characters are counted, not bytes: the longest accepted text is accepted.
        let mut at_limit = ok.clone();
        set(&mut at_limit, long(limit));
        assert!(compile(&at_limit).is_ok(), "{field}");
        let mut over = ok.clone();
        set(&mut over, long(limit + 1));
        assert_eq!(invalid_field(compile(&over)), field);
    }
    let mut many_times = ok.clone();
    many_times.phases[0].timing = Timing::TimesOfDay {
        times: (0..49)
            .map(|i| format!("{:02}:{:02}", i / 3, (i % 3) * 15))
            .collect(),
        days_of_week: Vec::new(),
    };
    assert_eq!(invalid_field(compile(&many_times)), "times");

    let p = phone("2026-03-10T08:05:00+00:00[Europe/London]");
    let id = add(&p, ok);
    assert_eq!(
        invalid_field(p.store.skip_dose(&id, None, Some(&long(501)))),
        "reason"
    );
    p.store.skip_dose(&id, None, Some(&long(500))).unwrap();
}

#[test]
fn errors_never_echo_what_the_patient_typed() {
    let p = phone("2026-03-01T08:00:00+00:00[Europe/London]");
    let mut m = Medication::new(
        "Secret Drug Name",
        vec![times_of_day(&["8 o'clock secret"], "2026-03-01")],
    );
    let err = p.store.add_medication(&m).unwrap_err().to_string();
    assert!(!err.contains("secret") && !err.contains("Secret"), "{err}");
    m.phases[0] = times_of_day(&["08:00"], "2026-03-01");
    m.time_zone_policy = TimeZonePolicy::FixedZone {
        zone: "Secret/Zone".into(),
    };
    let err = p.store.add_medication(&m).unwrap_err().to_string();
    assert!(!err.contains("Secret"), "{err}");
}

// --- DST ------------------------------------------------------------------------------------

#[test]
fn a_wall_time_skipped_by_spring_forward_fires_at_the_first_valid_instant_after_it() {
    let ny = tz("America/New_York");
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT.
    let at = resolve(&ny, date(2026, 3, 8).at(2, 30, 0, 0)).unwrap();
    assert_eq!(at.to_string(), "2026-03-08T07:00:00Z");
    assert_eq!(
        at.to_zoned_datetime(ny.clone())
            .strftime("%H:%M %:z")
            .to_string(),
        "03:00 -04:00"
    );
    // jiff's "compatible" rule would say 03:30: not what patients expect from "02:30".
    assert_eq!(
        ny.to_ambiguous_timestamp(date(2026, 3, 8).at(2, 30, 0, 0))
            .compatible()
            .unwrap()
            .to_string(),
        "2026-03-08T07:30:00Z"
    );
    let med = Medication::new(
        "Levothyroxine",
        vec![times_of_day(&["02:30"], "2026-03-01")],
    );
    let occs = occurrences(
        &med,
        "America/New_York",
        "2026-03-07T00:00:00-05:00[America/New_York]",
        "2026-03-10T00:00:00-04:00[America/New_York]",
    );
    let shown: Vec<String> = occs
        .iter()
        .map(|o| local_in(o, "America/New_York"))
        .collect();
    assert_eq!(
        shown,
        [
            "2026-03-07 02:30 -05:00",
            "2026-03-08 03:00 -04:00",
            "2026-03-09 02:30 -04:00"
        ]
    );
}

#[test]
fn an_ambiguous_wall_time_fires_once_at_its_first_occurrence() {
    // 2026-11-01 in New York: 01:00-02:00 happens twice (EDT, then EST).
    let med = Medication::new("Tacrolimus", vec![times_of_day(&["01:30"], "2026-10-01")]);
    let occs = occurrences(
        &med,
        "America/New_York",
        "2026-11-01T00:00:00-04:00[America/New_York]",
        "2026-11-02T00:00:00-05:00[America/New_York]",
    );
    assert_eq!(occs.len(), 1);
    assert_eq!(
        local_in(&occs[0], "America/New_York"),
        "2026-11-01 01:30 -04:00"
    );

    // London falls back on 2026-10-25 at 02:00 BST.
    let occs = occurrences(
        &med,
        "Europe/London",
        "2026-10-25T00:00:00+01:00[Europe/London]",
        "2026-10-26T00:00:00+00:00[Europe/London]",
    );
    assert_eq!(occs.len(), 1);
    assert_eq!(
        local_in(&occs[0], "Europe/London"),
        "2026-10-25 01:30 +01:00"
    );
}

#[test]
fn london_spring_forward_and_kolkata_which_has_no_dst() {
    let med = Medication::new(
        "Tamoxifen",
        vec![times_of_day(&["01:15", "08:00"], "2026-03-01")],
    );
    let occs = occurrences(
        &med,
        "Europe/London",
        "2026-03-29T00:00:00+00:00[Europe/London]",
        "2026-03-30T00:00:00+01:00[Europe/London]",
    );
    let shown: Vec<String> = occs.iter().map(|o| local_in(o, "Europe/London")).collect();
    assert_eq!(
        shown,
        ["2026-03-29 02:00 +01:00", "2026-03-29 08:00 +01:00"]
    );

    let occs = occurrences(
        &med,
        "Asia/Kolkata",
        "2026-03-29T00:00:00+05:30[Asia/Kolkata]",
        "2026-03-30T00:00:00+05:30[Asia/Kolkata]",
    );
    let utc: Vec<String> = occs.iter().map(|o| o.at.to_string()).collect();
    assert_eq!(utc, ["2026-03-28T19:45:00Z", "2026-03-29T02:30:00Z"]);
}

#[test]
fn lord_howe_moves_its_clocks_by_half_an_hour() {
    let med = Medication::new("Letrozole", vec![times_of_day(&["02:15"], "2026-01-01")]);
    // 2026-10-04: 02:00 +10:30 becomes 02:30 +11:00; 02:15 does not exist.
    let occs = occurrences(
        &med,
        "Australia/Lord_Howe",
        "2026-10-04T00:00:00+10:30[Australia/Lord_Howe]",
        "2026-10-05T00:00:00+11:00[Australia/Lord_Howe]",
    );
    assert_eq!(occs.len(), 1);
    assert_eq!(
        local_in(&occs[0], "Australia/Lord_Howe"),
        "2026-10-04 02:30 +11:00"
    );
    // 2026-04-05: 02:00 +11:00 goes back to 01:30 +10:30; 01:45 happens twice, fires once.
    let med = Medication::new("Letrozole", vec![times_of_day(&["01:45"], "2026-01-01")]);
    let occs = occurrences(
        &med,
        "Australia/Lord_Howe",
        "2026-04-05T00:00:00+11:00[Australia/Lord_Howe]",
        "2026-04-06T00:00:00+10:30[Australia/Lord_Howe]",
    );
    assert_eq!(occs.len(), 1);
    assert_eq!(
        local_in(&occs[0], "Australia/Lord_Howe"),
        "2026-04-05 01:45 +11:00"
    );
}

#[test]
fn every_n_hours_is_elapsed_time_across_a_dst_change() {
    let mut med = Medication::new(
        "Ondansetron",
        vec![Phase {
            timing: Timing::EveryNHours {
                every_hours: 8,
                anchor: "06:00".into(),
            },
            ..times_of_day(&["06:00"], "2026-03-07")
        }],
    );
    med.time_zone_policy = TimeZonePolicy::FixedZone {
        zone: "America/New_York".into(),
    };
    let occs = occurrences(
        &med,
        "America/New_York",
        "2026-03-07T00:00:00-05:00[America/New_York]",
        "2026-03-09T00:00:00-04:00[America/New_York]",
    );
    for pair in occs.windows(2) {
        assert_eq!(
            pair[1].at.duration_since(pair[0].at),
            SignedDuration::from_hours(8)
        );
    }
    let shown: Vec<String> = occs
        .iter()
        .map(|o| local_in(o, "America/New_York"))
        .collect();
    // After the change the wall times move by an hour: the interval does not.
    assert_eq!(shown[3], "2026-03-08 07:00 -04:00");
}

// --- time-zone policy and travel -------------------------------------------------------------

#[test]
fn every_n_hours_keeps_its_dose_keys_when_the_phone_changes_zone() {
    let p = phone("2026-06-10T06:05:00+01:00[Europe/London]");
    let id = add(
        &p,
        Medication::new(
            "Ondansetron",
            vec![Phase {
                timing: Timing::EveryNHours {
                    every_hours: 8,
                    anchor: "06:00".into(),
                },
                ..times_of_day(&["06:00"], "2026-06-01")
            }],
        ),
    );
    let logged = p.store.take_dose(&id, None, None, None).unwrap();
    assert_eq!(logged.status, DoseStatus::Taken);
    let key = p.store.doses_today().unwrap()[0].key.clone();
    assert_eq!(key, "0|2026-06-10T06:00E");
    // Wall clock: in New York the series follows the local 06:00, 14:00, 22:00, and the dose
    // taken in London is still the 06:00 one, not a new one to take.
    p.clock.set_zone(tz("America/New_York"));
    let today = p.store.doses_today().unwrap();
    let shown: Vec<(String, DoseStatus)> = today
        .iter()
        .map(|d| (d.scheduled_local[11..16].to_owned(), d.status))
        .collect();
    assert_eq!(
        shown,
        [
            ("06:00".to_owned(), DoseStatus::Taken),
            ("14:00".to_owned(), DoseStatus::Upcoming),
            ("22:00".to_owned(), DoseStatus::Upcoming)
        ]
    );
}

#[test]
fn fixed_zone_keeps_home_instants_and_wall_clock_follows_the_device() {
    let mut fixed = Medication::new(
        "Tacrolimus",
        vec![times_of_day(&["08:00", "20:00"], "2026-06-01")],
    );
    fixed.time_zone_policy = TimeZonePolicy::FixedZone {
        zone: "Europe/London".into(),
    };
    let wall = Medication::new("Vitamin D", vec![times_of_day(&["08:00"], "2026-06-01")]);
    let from = "2026-06-10T00:00:00-04:00[America/New_York]";
    let to = "2026-06-11T00:00:00-04:00[America/New_York]";
    let f: Vec<String> = occurrences(&fixed, "America/New_York", from, to)
        .iter()
        .map(|o| local_in(o, "America/New_York"))
        .collect();
    assert_eq!(f, ["2026-06-10 03:00 -04:00", "2026-06-10 15:00 -04:00"]);
    let w: Vec<String> = occurrences(&wall, "America/New_York", from, to)
        .iter()
        .map(|o| local_in(o, "America/New_York"))
        .collect();
    assert_eq!(w, ["2026-06-10 08:00 -04:00"]);
}

#[test]
fn crossing_the_date_line_does_not_ask_for_the_same_dose_twice() {
    // 10 March, 08:05 in Auckland: both morning doses taken, then a flight to Los Angeles,
    // landing in the small hours of... 10 March again.
    let p = phone("2026-03-10T08:05:00+13:00[Pacific/Auckland]");
    let wall = add(
        &p,
        Medication::new("Vitamin D", vec![times_of_day(&["08:00"], "2026-03-01")]),
    );
    let mut pinned = Medication::new("Tacrolimus", vec![times_of_day(&["08:00"], "2026-03-01")]);
    pinned.time_zone_policy = TimeZonePolicy::FixedZone {
        zone: "Pacific/Auckland".into(),
    };
    let pinned = add(&p, pinned);
    assert_eq!(
        p.store.take_dose(&wall, None, None, None).unwrap().status,
        DoseStatus::Taken
    );
    assert_eq!(
        p.store.take_dose(&pinned, None, None, None).unwrap().status,
        DoseStatus::Taken
    );
    p.clock.advance(SignedDuration::from_hours(16));
    p.clock.set_zone(tz("America/Los_Angeles"));
    assert_eq!(
        p.clock.now_zoned().strftime("%Y-%m-%d %H:%M").to_string(),
        "2026-03-10 04:05"
    );
    let today = p.store.doses_today().unwrap();
    let by_name = |name: &str| today.iter().find(|d| d.medication_name == name).unwrap();
    // Wall clock: "10 March, 08:00" was taken already; it is not asked for again.
    let vit = by_name("Vitamin D");
    assert_eq!(vit.key, "0|2026-03-10T08:00");
    assert_eq!(vit.status, DoseStatus::Taken);
    // Fixed zone: the next dose is 24 hours after the last, at Auckland's 08:00 = 12:00 here.
    let tac = by_name("Tacrolimus");
    assert!(
        tac.scheduled_local.starts_with("2026-03-10T12:00:00-07:00"),
        "{}",
        tac.scheduled_local
    );
    assert_eq!(tac.status, DoseStatus::Upcoming);
    assert_eq!(today.len(), 2);
}

// --- cycles, counts, tapering ------------------------------------------------------------------

fn dates(occs: &[Occ]) -> Vec<Date> {
    let mut d: Vec<Date> = occs.iter().map(|o| o.local.date()).collect();
    d.dedup();
    d
}

#[test]
fn a_14_on_7_off_cycle_and_a_postponed_cycle_moves_every_later_dose() {
    let mut med = Medication::new(
        "Capecitabine",
        vec![cycle(14, 7, &["08:00", "20:00"], "2026-03-02")],
    );
    let window = |m: &Medication| {
        occurrences(
            m,
            "Europe/London",
            "2026-03-01T00:00:00+00:00[Europe/London]",
            "2026-05-31T00:00:00+01:00[Europe/London]",
        )
    };
    let d = dates(&window(&med));
    assert_eq!(d[0], date(2026, 3, 2));
    assert_eq!(d[13], date(2026, 3, 15));
    assert_eq!(d[14], date(2026, 3, 23), "seven days off, then cycle 2");
    assert_eq!(d[28], date(2026, 4, 13), "cycle 3");
    assert_eq!(window(&med).len(), d.len() * 2);
    // Cycle 2 (index 1) postponed by a week (low neutrophils): cycle 3 follows it.
    med.cycle_starts = vec![CycleStart {
        phase: 0,
        cycle: 1,
        start: "2026-03-30".into(),
    }];
    let d = dates(&window(&med));
    assert_eq!(d[13], date(2026, 3, 15));
    assert_eq!(d[14], date(2026, 3, 30));
    assert_eq!(d[28], date(2026, 4, 20));
    // A cycle cannot start while the previous one is still on.
    med.cycle_starts[0].start = "2026-03-10".into();
    assert_eq!(invalid_field(compile(&med)), "cycle_starts");
}

#[test]
fn a_limited_number_of_cycles_and_a_count_end_the_phase() {
    let mut med = Medication::new("Capecitabine", vec![cycle(14, 7, &["08:00"], "2026-03-02")]);
    if let Timing::Cycle { cycles, .. } = &mut med.phases[0].timing {
        *cycles = Some(2);
    }
    let occs = occurrences(
        &med,
        "Europe/London",
        "2026-03-01T00:00:00+00:00[Europe/London]",
        "2026-12-31T00:00:00+00:00[Europe/London]",
    );
    assert_eq!(occs.len(), 28);
    let mut med = Medication::new(
        "Amoxicillin",
        vec![times_of_day(&["08:00", "14:00", "20:00"], "2026-03-02")],
    );
    med.phases[0].count = Some(21);
    let all = occurrences(
        &med,
        "Europe/London",
        "2026-03-01T00:00:00+00:00[Europe/London]",
        "2026-04-01T00:00:00+01:00[Europe/London]",
    );
    assert_eq!(all.len(), 21);
    // Counted from the phase's start, whatever the window.
    let tail = occurrences(
        &med,
        "Europe/London",
        "2026-03-08T00:00:00+00:00[Europe/London]",
        "2026-04-01T00:00:00+01:00[Europe/London]",
    );
    assert_eq!(tail.len(), 3);
}

#[test]
fn tapering_is_phases_in_sequence() {
    let phase = |dose: f64, start: &str, end: &str| Phase {
        dose,
        end: Some(end.into()),
        ..times_of_day(&["08:00"], start)
    };
    let med = Medication::new(
        "Dexamethasone",
        vec![
            phase(4.0, "2026-03-01", "2026-03-03"),
            phase(2.0, "2026-03-04", "2026-03-06"),
            phase(1.0, "2026-03-07", "2026-03-09"),
        ],
    );
    let occs = occurrences(
        &med,
        "Europe/London",
        "2026-03-01T00:00:00+00:00[Europe/London]",
        "2026-03-20T00:00:00+00:00[Europe/London]",
    );
    let doses: Vec<f64> = occs.iter().map(|o| o.dose).collect();
    assert_eq!(doses, [4.0, 4.0, 4.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0]);
    // Open-ended phases end where the next begins.
    let open = Medication::new(
        "Prednisolone",
        vec![
            times_of_day(&["08:00"], "2026-03-01"),
            Phase {
                dose: 0.5,
                ..times_of_day(&["08:00"], "2026-03-05")
            },
        ],
    );
    let occs = occurrences(
        &open,
        "Europe/London",
        "2026-03-01T00:00:00+00:00[Europe/London]",
        "2026-03-08T00:00:00+00:00[Europe/London]",
    );
    assert_eq!(occs.len(), 7);
    assert_eq!(occs[4].dose, 0.5);
}

#[test]
fn weekdays_and_every_n_days() {
    let mut med = Medication::new(
        "Methotrexate",
        vec![Phase {
            timing: Timing::TimesOfDay {
                times: vec!["09:00".into()],
                days_of_week: vec![DayOfWeek::Mon],
            },
            ..times_of_day(&["09:00"], "2026-03-01")
        }],
    );
    let occs = occurrences(
        &med,
        "Europe/London",
        "2026-03-01T00:00:00+00:00[Europe/London]",
        "2026-04-01T00:00:00+01:00[Europe/London]",
    );
    assert_eq!(occs.len(), 5);
    assert!(
        occs.iter()
            .all(|o| o.local.date().weekday() == jiff::civil::Weekday::Monday)
    );
    med.phases[0].timing = Timing::EveryNDays {
        every_days: 84,
        times: vec!["10:00".into()],
    };
    // Injections every 12 weeks: intervals over 31 days work.
    let occs = occurrences(
        &med,
        "Europe/London",
        "2026-03-01T00:00:00+00:00[Europe/London]",
        "2027-03-01T00:00:00+00:00[Europe/London]",
    );
    let d = dates(&occs);
    assert_eq!(
        d,
        [
            date(2026, 3, 1),
            date(2026, 5, 24),
            date(2026, 8, 16),
            date(2026, 11, 8),
            date(2027, 1, 31)
        ]
    );
}

// --- the dose log ----------------------------------------------------------------------------

fn add(p: &Phone, med: Medication) -> String {
    p.store.add_medication(&med).unwrap()
}

#[test]
fn a_dose_taken_after_midnight_is_the_one_meant_for_last_night() {
    let p = phone("2026-03-10T21:00:00+00:00[Europe/London]");
    let mut med = Medication::new("Temozolomide", vec![times_of_day(&["22:00"], "2026-03-01")]);
    med.late_window_minutes = 180;
    let id = add(&p, med);
    p.clock
        .set(zdt("2026-03-11T00:40:00+00:00[Europe/London]").timestamp());
    let logged = p.store.take_dose(&id, None, None, None).unwrap();
    assert_eq!(
        logged.scheduled_at.unwrap(),
        zdt("2026-03-10T22:00:00+00:00[Europe/London]").timestamp()
    );
    assert_eq!(logged.status, DoseStatus::TakenLate);
    let yesterday = p
        .store
        .doses_on_at(p.clock.now(), &tz("Europe/London"), date(2026, 3, 10))
        .unwrap();
    assert_eq!(yesterday[0].status, DoseStatus::TakenLate);
    let today = p.store.doses_today().unwrap();
    assert_eq!(
        today[0].status,
        DoseStatus::Upcoming,
        "tonight's dose is still to take"
    );
}

#[test]
fn a_late_morning_dose_is_not_logged_as_the_evening_one() {
    let p = phone("2026-03-10T07:00:00+00:00[Europe/London]");
    let mut med = Medication::new(
        "Metformin",
        vec![times_of_day(&["08:00", "20:00"], "2026-03-01")],
    );
    med.late_window_minutes = 8 * 60;
    let id = add(&p, med);
    p.clock
        .set(zdt("2026-03-10T15:00:00+00:00[Europe/London]").timestamp());
    let logged = p.store.take_dose(&id, None, None, None).unwrap();
    assert!(p.store.doses_today().unwrap()[0].key.ends_with("08:00"));
    assert_eq!(
        logged.occurrence_id.as_deref(),
        Some(p.store.doses_today().unwrap()[0].id.as_str())
    );
    // Slightly early for the evening one: matched to it.
    p.clock
        .set(zdt("2026-03-10T19:30:00+00:00[Europe/London]").timestamp());
    p.store.take_dose(&id, None, None, None).unwrap();
    let today = p.store.doses_today().unwrap();
    assert_eq!(today[0].status, DoseStatus::TakenLate);
    assert_eq!(today[1].status, DoseStatus::Taken);
    // A third dose that day is an extra dose, not tomorrow's.
    let extra = p.store.take_dose(&id, None, None, None).unwrap();
    assert_eq!(extra.occurrence_id, None);
}

#[test]
fn statuses_through_the_day_and_missed_after_the_late_window() {
    let p = phone("2026-03-10T07:00:00+00:00[Europe/London]");
    let mut med = Medication::new("Tamoxifen", vec![times_of_day(&["08:00"], "2026-03-01")]);
    med.late_window_minutes = 60;
    let id = add(&p, med);
    let status = |p: &Phone| p.store.doses_today().unwrap()[0].status;
    assert_eq!(status(&p), DoseStatus::Upcoming);
    p.clock
        .set(zdt("2026-03-10T08:30:00+00:00[Europe/London]").timestamp());
    assert_eq!(status(&p), DoseStatus::Due);
    let snoozed = p.store.snooze_dose(&id, None, 15).unwrap();
    assert_eq!(snoozed.status, DoseStatus::Snoozed);
    assert_eq!(status(&p), DoseStatus::Snoozed);
    p.clock
        .set(zdt("2026-03-10T09:01:00+00:00[Europe/London]").timestamp());
    assert_eq!(status(&p), DoseStatus::Missed);
    // Skipping tomorrow's in advance, by naming the occurrence.
    let tomorrow = p
        .store
        .doses_on_at(p.clock.now(), &tz("Europe/London"), date(2026, 3, 11))
        .unwrap();
    p.store
        .skip_dose(&id, Some(&tomorrow[0].id), Some("nausea"))
        .unwrap();
    let tomorrow = p
        .store
        .doses_on_at(p.clock.now(), &tz("Europe/London"), date(2026, 3, 11))
        .unwrap();
    assert_eq!(tomorrow[0].status, DoseStatus::Skipped);
    assert!(matches!(
        p.store.skip_dose(&id, None, None),
        Err(crate::Error::Invalid {
            field: "occurrence",
            ..
        })
    ));
}

#[test]
fn as_needed_doses_warn_about_the_gap_and_the_cap() {
    let p = phone("2026-03-10T08:00:00+00:00[Europe/London]");
    let id = add(
        &p,
        Medication::new("Ondansetron", vec![as_needed(240, 3, 24, "2026-03-01")]),
    );
    let first = p.store.take_dose(&id, None, None, None).unwrap();
    assert!(first.warnings.is_empty());
    assert_eq!(first.occurrence_id, None);
    p.clock.advance(SignedDuration::from_hours(2));
    let warn = p
        .store
        .check_as_needed_at(&tz("Europe/London"), &id, p.clock.now())
        .unwrap();
    assert_eq!(
        warn,
        [AsNeededWarning::TooSoon {
            last_taken_at: zdt("2026-03-10T08:00:00+00:00[Europe/London]").timestamp(),
            next_allowed_at: zdt("2026-03-10T12:00:00+00:00[Europe/London]").timestamp(),
        }]
    );
    let second = p.store.take_dose(&id, None, None, None).unwrap();
    assert_eq!(second.warnings, warn, "logged anyway: the patient took it");
    p.clock.advance(SignedDuration::from_hours(5));
    assert!(
        p.store
            .take_dose(&id, None, None, None)
            .unwrap()
            .warnings
            .is_empty()
    );
    p.clock.advance(SignedDuration::from_hours(5));
    let fourth = p.store.take_dose(&id, None, None, None).unwrap();
    assert_eq!(
        fourth.warnings,
        [AsNeededWarning::OverCap {
            doses_in_period: 4,
            max_doses: 3,
            period_hours: 24
        }]
    );
}

#[test]
fn logging_the_same_dose_twice_writes_one_record() {
    let p = phone("2026-03-10T08:05:00+00:00[Europe/London]");
    let id = add(
        &p,
        Medication::new("Tamoxifen", vec![times_of_day(&["08:00"], "2026-03-01")]),
    );
    let a = p.store.take_dose(&id, None, None, None).unwrap();
    let today = p.store.doses_today().unwrap();
    let b = p
        .store
        .take_dose(&id, None, None, Some(&today[0].id))
        .unwrap();
    assert_eq!(a.dose_id, b.dose_id);
    assert_eq!(a.dose_id, today[0].dose_id);
    let n: i64 = p
        .store
        .conn()
        .query_row("SELECT count(*) FROM dose_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn an_undone_dose_can_be_logged_again() {
    let p = phone("2026-03-10T08:05:00+00:00[Europe/London]");
    let id = add(
        &p,
        Medication::new("Tamoxifen", vec![times_of_day(&["08:00"], "2026-03-01")]),
    );
    let logged = p.store.take_dose(&id, None, None, None).unwrap();
    p.store.undo_dose(&logged.dose_id).unwrap();
    let undone = &p.store.doses_today().unwrap()[0];
    assert_eq!(undone.status, DoseStatus::Due);
    assert_eq!(undone.taken_at, None, "an undone dose shows no time taken");
    assert_eq!(p.store.last_taken(&id).unwrap(), None);
    let snoozed = p.store.snooze_dose(&id, None, 10).unwrap();
    p.store.undo_dose(&snoozed.dose_id).unwrap();
    assert_eq!(p.store.doses_today().unwrap()[0].snoozed_until, None);
    let again = p.store.take_dose(&id, None, None, None).unwrap();
    assert_eq!(again.dose_id, logged.dose_id);
    assert_eq!(p.store.doses_today().unwrap()[0].status, DoseStatus::Taken);
    assert!(matches!(
        p.store.undo_dose("no such dose"),
        Err(crate::Error::NotFound { .. })
    ));
}

#[test]
fn a_regimen_change_keeps_the_history_it_replaces() {
    let p = phone("2026-03-01T07:00:00+00:00[Europe/London]");
    let id = add(
        &p,
        Medication::new("Metformin", vec![times_of_day(&["08:00"], "2026-03-01")]),
    );
    let london = tz("Europe/London");
    let at = |s: &str| zdt(&format!("{s}+00:00[Europe/London]")).timestamp();
    for day in ["2026-03-01", "2026-03-02", "2026-03-03"] {
        p.store
            .take_dose_at(
                at(&format!("{day}T08:05:00")),
                &london,
                &id,
                None,
                None,
                None,
            )
            .unwrap();
    }
    // From 4 March the dose moves to 09:00 and doubles.
    p.store
        .change_regimen(
            &id,
            vec![Phase {
                dose: 2.0,
                ..times_of_day(&["09:00"], "2026-03-04")
            }],
        )
        .unwrap();
    let m = p.store.medication(&id).unwrap();
    assert_eq!(m.phases.len(), 2);
    assert_eq!(m.phases[0].end.as_deref(), Some("2026-03-03"));
    let a = p
        .store
        .adherence_at(
            at("2026-03-04T12:00:00"),
            &london,
            date(2026, 3, 1),
            date(2026, 3, 4),
        )
        .unwrap();
    assert_eq!(
        a.overall.taken_on_time, 3,
        "the history still matches its doses"
    );
    assert_eq!(a.overall.missed, 1, "4 March at 09:00");
    let today = p
        .store
        .doses_on_at(at("2026-03-04T12:00:00"), &london, date(2026, 3, 4))
        .unwrap();
    assert_eq!((today.len(), today[0].dose), (1, 2.0));
}

// --- adherence and refills ---------------------------------------------------------------------

#[test]
fn adherence_counts_on_time_late_skipped_missed_and_pending() {
    let p = phone("2026-03-01T07:00:00+00:00[Europe/London]");
    let mut med = Medication::new(
        "Metformin",
        vec![times_of_day(&["08:00", "20:00"], "2026-03-01")],
    );
    med.late_window_minutes = 180;
    let id = add(&p, med);
    let at = |s: &str| zdt(&format!("{s}+00:00[Europe/London]")).timestamp();
    let london = tz("Europe/London");
    p.store
        .take_dose_at(at("2026-03-01T08:10:00"), &london, &id, None, None, None)
        .unwrap();
    p.store
        .take_dose_at(at("2026-03-01T22:00:00"), &london, &id, None, None, None)
        .unwrap();
    p.store
        .take_dose_at(at("2026-03-02T08:00:00"), &london, &id, None, None, None)
        .unwrap();
    p.store
        .skip_dose_at(at("2026-03-02T20:00:00"), &london, &id, None, None)
        .unwrap();
    // 3 March: nothing logged. Now is 3 March 21:00: the morning is missed, the evening due.
    let a = p
        .store
        .adherence_at(
            at("2026-03-03T21:00:00"),
            &london,
            date(2026, 3, 1),
            date(2026, 3, 3),
        )
        .unwrap();
    let c = &a.per_medication[0].counts;
    assert_eq!(
        (
            c.scheduled,
            c.taken_on_time,
            c.taken_late,
            c.skipped,
            c.missed,
            c.pending
        ),
        (6, 2, 1, 1, 1, 1)
    );
    assert_eq!(c.percent, Some(60.0));
    assert_eq!(a.overall, *c);
}

#[test]
fn stock_goes_down_with_doses_taken_and_a_refill_alert_is_planned() {
    let p = phone("2026-03-01T07:00:00+00:00[Europe/London]");
    let mut med = Medication::new("Letrozole", vec![times_of_day(&["08:00"], "2026-03-01")]);
    med.stock = Some(10.0);
    med.refill_threshold_days = Some(7);
    let id = add(&p, med);
    p.clock
        .set(zdt("2026-03-01T08:01:00+00:00[Europe/London]").timestamp());
    p.store.take_dose(&id, None, None, None).unwrap();
    let s = &p.store.refill_status().unwrap()[0];
    assert_eq!(s.remaining, 9.0);
    assert_eq!(s.daily_use, 1.0);
    assert!(!s.needs_refill);
    let plan = p.store.plan_notifications(64).unwrap();
    let refill: Vec<&PlannedNotification> = plan
        .planned
        .iter()
        .filter(|n| n.kind == NotificationKind::Refill)
        .collect();
    assert_eq!(refill.len(), 1);
    // 9 left; after the 3 March dose 7 remain... after 4 March's, 6: below a week of supply.
    assert!(
        refill[0].fire_at_local.starts_with("2026-03-04T08:00"),
        "{}",
        refill[0].fire_at_local
    );
    // Taking the next dose as planned does not move the alert (no churn of its id).
    p.store.commit_notification_plan(&plan).unwrap();
    p.clock
        .set(zdt("2026-03-02T08:02:00+00:00[Europe/London]").timestamp());
    p.store.take_dose(&id, None, None, None).unwrap();
    let next = p.store.plan_notifications(64).unwrap();
    assert!(next.planned.iter().any(|n| n.id == refill[0].id));
    // The only cancel is the old last slot: the window moved on, so it no longer carries the
    // runs-dry note.
    let old_last = plan.planned.last().unwrap();
    assert!(old_last.last_in_window);
    assert_eq!(next.cancel, std::slice::from_ref(&old_last.id));
    // A refill (a new count) resets the projection.
    p.store.set_stock(&id, 30.0).unwrap();
    assert!(!p.store.refill_status().unwrap()[0].needs_refill);
}

// --- notification plan -------------------------------------------------------------------------

/// A platform that holds what it is handed, as iOS's pending requests do, and records each plan.
#[derive(Default)]
struct RecordingScheduler {
    applied: std::cell::RefCell<Vec<NotificationPlan>>,
    held: std::cell::RefCell<BTreeSet<String>>,
    fail: bool,
}

impl NotificationScheduler for RecordingScheduler {
    fn pending(&self) -> crate::Result<Vec<String>> {
        Ok(self.held.borrow().iter().cloned().collect())
    }

    fn apply(&self, plan: &NotificationPlan) -> crate::Result<()> {
        if self.fail {
            return Err(crate::Error::Scheduler("permission denied".into()));
        }
        let mut held = self.held.borrow_mut();
        for id in &plan.cancel {
            held.remove(id);
        }
        held.extend(plan.schedule.iter().map(|n| n.id.clone()));
        self.applied.borrow_mut().push(plan.clone());
        Ok(())
    }
}

impl RecordingScheduler {
    /// The ids the platform holds now.
    fn holds(&self) -> BTreeSet<String> {
        self.held.borrow().clone()
    }
}

fn ids(notifications: &[PlannedNotification]) -> BTreeSet<String> {
    notifications.iter().map(|n| n.id.clone()).collect()
}

#[test]
fn doses_due_the_same_minute_share_one_notification_with_a_stable_id() {
    let p = phone("2026-03-10T07:00:00+00:00[Europe/London]");
    let a = add(
        &p,
        Medication::new(
            "Metformin",
            vec![times_of_day(&["08:00", "20:00"], "2026-03-01")],
        ),
    );
    add(
        &p,
        Medication::new("Tamoxifen", vec![times_of_day(&["08:00"], "2026-03-01")]),
    );
    let plan = p.store.plan_notifications(5).unwrap();
    assert_eq!(plan.planned.len(), 5);
    assert_eq!(plan.schedule.len(), 5);
    assert!(plan.cancel.is_empty());
    let first = &plan.planned[0];
    assert_eq!(first.occurrence_ids.len(), 2);
    assert_eq!(first.title, "Time for 2 doses");
    assert!(first.fire_at_local.starts_with("2026-03-10T08:00:00+00:00"));
    assert_eq!(plan.planned[1].occurrence_ids.len(), 1);

    let scheduler = RecordingScheduler::default();
    p.store.sync_notifications(&scheduler, 5).unwrap();
    // Unchanged: nothing to do, and the same ids.
    let again = p.store.plan_notifications(5).unwrap();
    assert!(again.is_unchanged());
    assert_eq!(again.planned, plan.planned);

    // Metformin taken early: the 08:00 notification now lists Tamoxifen only: one cancel, and
    // the window slides forward by one.
    p.clock
        .set(zdt("2026-03-10T07:30:00+00:00[Europe/London]").timestamp());
    p.store.take_dose(&a, None, None, None).unwrap();
    let next = p.store.sync_notifications(&scheduler, 5).unwrap();
    assert_eq!(next.cancel, std::slice::from_ref(&first.id));
    assert_eq!(next.schedule.len(), 1);
    assert_eq!(next.schedule[0].occurrence_ids.len(), 1);
    assert_eq!(scheduler.applied.borrow().len(), 2);
}

#[test]
fn a_scheduler_that_fails_gets_the_same_diff_next_time() {
    let p = phone("2026-03-10T07:00:00+00:00[Europe/London]");
    add(
        &p,
        Medication::new("Metformin", vec![times_of_day(&["08:00"], "2026-03-01")]),
    );
    let failing = RecordingScheduler {
        fail: true,
        ..Default::default()
    };
    assert!(matches!(
        p.store.sync_notifications(&failing, 3),
        Err(crate::Error::Scheduler(_))
    ));
    let plan = p.store.plan_notifications(3).unwrap();
    assert_eq!(plan.schedule.len(), 3);
}

#[test]
fn a_platform_that_lost_its_notifications_gets_every_one_again() {
    let p = phone("2026-03-10T07:00:00+00:00[Europe/London]");
    add(
        &p,
        Medication::new(
            "Metformin",
            vec![times_of_day(&["08:00", "20:00"], "2026-03-01")],
        ),
    );
    let platform = RecordingScheduler::default();
    let first = p.store.sync_notifications(&platform, 6).unwrap();
    assert_eq!(platform.holds(), ids(&first.planned));

    // A restore (or a force stop, a revoked exact-alarm permission, a reinstall) empties the
    // platform without a word. The committed plan alone would say nothing changed…
    platform.held.borrow_mut().clear();
    assert!(p.store.plan_notifications(6).unwrap().is_unchanged());
    // …but the sync asks the platform and sets every reminder again.
    let again = p.store.sync_notifications(&platform, 6).unwrap();
    assert_eq!(ids(&again.schedule), ids(&first.planned));
    assert!(again.cancel.is_empty());
    assert_eq!(platform.holds(), ids(&first.planned));

    // A platform that lost some and holds one Cairn never committed (an apply whose commit
    // failed) gets the lost ones back and the stray one cancelled.
    let lost = first.planned[2].id.clone();
    platform.held.borrow_mut().remove(&lost);
    platform.held.borrow_mut().insert("stray".into());
    let fixed = p.store.sync_notifications(&platform, 6).unwrap();
    assert_eq!(ids(&fixed.schedule), BTreeSet::from([lost]));
    assert_eq!(fixed.cancel, ["stray"]);
    assert_eq!(platform.holds(), ids(&first.planned));
    assert!(
        p.store
            .sync_notifications(&platform, 6)
            .unwrap()
            .is_unchanged()
    );
}

#[test]
fn a_rearm_cancels_every_cairn_notification_and_schedules_the_whole_plan() {
    let p = phone("2026-03-10T07:00:00+00:00[Europe/London]");
    let id = add(
        &p,
        Medication::new("Metformin", vec![times_of_day(&["08:00"], "2026-03-01")]),
    );
    let platform = RecordingScheduler::default();
    let first = p.store.sync_notifications(&platform, 4).unwrap();
    // The dose is taken early, and the platform holds one more Cairn never committed.
    p.store.take_dose(&id, None, None, None).unwrap();
    platform.held.borrow_mut().insert("stray".into());
    let rearm = p.store.rearm_notifications(&platform, 4).unwrap();
    let mut everything_held = ids(&first.planned);
    everything_held.insert("stray".into());
    assert_eq!(
        rearm.cancel.iter().cloned().collect::<BTreeSet<_>>(),
        everything_held
    );
    assert_eq!(rearm.schedule, rearm.planned);
    assert!(!rearm.planned.iter().any(|n| n.id == first.planned[0].id));
    assert_eq!(platform.holds(), ids(&rearm.planned));
    assert!(
        p.store
            .sync_notifications(&platform, 4)
            .unwrap()
            .is_unchanged()
    );
}

/// A platform shared by two syncs; the first `apply` waits at `entered` and `release`.
struct SlowPlatform {
    held: Mutex<BTreeSet<String>>,
    first: Mutex<bool>,
    entered: Barrier,
    release: Barrier,
}

impl NotificationScheduler for SlowPlatform {
    fn pending(&self) -> crate::Result<Vec<String>> {
        Ok(self.held.lock().unwrap().iter().cloned().collect())
    }

    fn apply(&self, plan: &NotificationPlan) -> crate::Result<()> {
        let first = std::mem::replace(&mut *self.first.lock().unwrap(), false);
        if first {
            self.entered.wait();
            self.release.wait();
        }
        let mut held = self.held.lock().unwrap();
        for id in &plan.cancel {
            held.remove(id);
        }
        held.extend(plan.schedule.iter().map(|n| n.id.clone()));
        Ok(())
    }
}

/// The store behind a mutex, as the FFI keeps it.
struct Locked(Mutex<Store>);

impl StoreAccess for Locked {
    fn with_store<T>(&self, f: impl FnOnce(&Store) -> crate::Result<T>) -> crate::Result<T> {
        f(&self.0.lock().unwrap())
    }
}

#[test]
fn two_syncs_at_once_never_commit_a_stale_plan() {
    let p = phone("2026-03-10T07:00:00+00:00[Europe/London]");
    add(
        &p,
        Medication::new("Metformin", vec![times_of_day(&["08:00"], "2026-03-01")]),
    );
    let now = p.clock.now();
    let zone = tz("Europe/London");
    let shared = Arc::new(Locked(Mutex::new(p.store)));
    let platform = Arc::new(SlowPlatform {
        held: Mutex::new(BTreeSet::new()),
        first: Mutex::new(true),
        entered: Barrier::new(2),
        release: Barrier::new(2),
    });
    let sync = |shared: Arc<Locked>, platform: Arc<SlowPlatform>| {
        std::thread::spawn(move || {
            sync_notifications_through(&*shared, &*platform, 4, SyncMode::Reconcile).unwrap()
        })
    };
    // The first sync plans Metformin alone and is held up inside the platform's apply…
    let a = sync(shared.clone(), platform.clone());
    platform.entered.wait();
    // …meanwhile a second medication is added (the store is not locked while the platform
    // runs) and a second sync starts. Ungated, it would plan, apply and commit now, and the
    // first would then commit its stale plan over it.
    shared
        .with_store(|s| {
            s.add_medication(&Medication::new(
                "Tamoxifen",
                vec![times_of_day(&["09:00"], "2026-03-01")],
            ))
        })
        .unwrap();
    let b = sync(shared.clone(), platform.clone());
    std::thread::sleep(std::time::Duration::from_millis(200));
    platform.release.wait();
    let first = a.join().unwrap();
    let second = b.join().unwrap();
    assert!(
        first
            .planned
            .iter()
            .all(|n| n.title == "Time for Metformin")
    );
    // The second planned after the first committed, so its diff is against it.
    assert_eq!(second.schedule.len(), 2);
    assert_eq!(second.cancel.len(), 2);
    let fresh = shared
        .with_store(|s| s.plan_notifications_at(now, &zone, 4))
        .unwrap();
    assert!(fresh.is_unchanged(), "a stale plan was committed");
    assert!(
        fresh
            .planned
            .iter()
            .any(|n| n.title == "Time for Tamoxifen")
    );
    assert_eq!(*platform.held.lock().unwrap(), ids(&fresh.planned));
}

#[test]
fn a_plan_that_runs_dry_says_so_in_its_last_slot() {
    let p = phone("2026-03-10T06:00:00+00:00[Europe/London]");
    // Three medications four times a day, at their own times: twelve reminders a day.
    for (name, times) in [
        ("Capecitabine", ["07:00", "11:00", "15:00", "19:00"]),
        ("Ondansetron", ["07:30", "11:30", "15:30", "19:30"]),
        ("Dexamethasone", ["08:00", "12:00", "16:00", "20:00"]),
    ] {
        add(
            &p,
            Medication::new(name, vec![times_of_day(&times, "2026-03-01")]),
        );
    }
    let plan = p.store.plan_notifications(64).unwrap();
    assert!(plan.runs_dry);
    let last = plan.planned.last().unwrap();
    assert!(last.last_in_window);
    assert!(
        last.body.ends_with("open Cairn to keep them coming."),
        "{}",
        last.body
    );
    assert!(
        last.fire_at_local.starts_with("2026-03-15T11:00"),
        "{}",
        last.fire_at_local
    );
    assert_eq!(plan.reaches_until, last.fire_at);
    assert_eq!(plan.planned.iter().filter(|n| n.last_in_window).count(), 1);

    // With one slot more the same reminder is not the last: another id, so the platform is
    // handed the text without the note.
    let wider = p.store.plan_notifications(65).unwrap();
    let same_time = &wider.planned[63];
    assert_eq!(same_time.fire_at, last.fire_at);
    assert!(!same_time.last_in_window);
    assert_ne!(same_time.id, last.id);
    assert!(!same_time.body.contains("open Cairn"));

    // A course that ends inside the window does not run dry.
    let q = phone("2026-03-10T06:00:00+00:00[Europe/London]");
    add(
        &q,
        Medication::new(
            "Amoxicillin",
            vec![Phase {
                count: Some(21),
                ..times_of_day(&["08:00", "14:00", "20:00"], "2026-03-10")
            }],
        ),
    );
    let course = q.store.plan_notifications(64).unwrap();
    assert_eq!(course.planned.len(), 21);
    assert!(!course.runs_dry);
    assert!(course.planned.iter().all(|n| !n.last_in_window));
    assert!(course.reaches_until > zdt("2027-01-01T00:00:00+00:00[UTC]").timestamp());
}

#[test]
fn the_plan_across_a_dst_change_keeps_wall_times() {
    let p = phone("2026-03-07T12:00:00-05:00[America/New_York]");
    add(
        &p,
        Medication::new("Metformin", vec![times_of_day(&["08:00"], "2026-03-01")]),
    );
    let plan = p.store.plan_notifications(3).unwrap();
    let local: Vec<&str> = plan
        .planned
        .iter()
        .map(|n| &n.fire_at_local[..25])
        .collect();
    assert_eq!(
        local,
        [
            "2026-03-08T08:00:00-04:00",
            "2026-03-09T08:00:00-04:00",
            "2026-03-10T08:00:00-04:00"
        ]
    );
}

#[test]
fn a_snoozed_dose_comes_back_at_its_new_time() {
    let p = phone("2026-03-10T08:05:00+00:00[Europe/London]");
    let id = add(
        &p,
        Medication::new("Metformin", vec![times_of_day(&["08:00"], "2026-03-01")]),
    );
    p.store.snooze_dose(&id, None, 30).unwrap();
    let plan = p.store.plan_notifications(2).unwrap();
    assert!(
        plan.planned[0]
            .fire_at_local
            .starts_with("2026-03-10T08:35:00")
    );
    assert!(
        plan.planned[1]
            .fire_at_local
            .starts_with("2026-03-11T08:00:00")
    );
}

#[test]
fn a_dose_skipped_ahead_leaves_the_plan_and_an_undo_brings_it_back() {
    let p = phone("2026-03-10T09:00:00+00:00[Europe/London]");
    let id = add(
        &p,
        Medication::new("Metformin", vec![times_of_day(&["08:00"], "2026-03-01")]),
    );
    let tomorrow = p
        .store
        .doses_on_at(p.clock.now(), &tz("Europe/London"), date(2026, 3, 11))
        .unwrap();
    let skipped = p
        .store
        .skip_dose(&id, Some(&tomorrow[0].id), Some("procedure"))
        .unwrap();
    let plan = p.store.plan_notifications(2).unwrap();
    assert!(
        plan.planned[0]
            .fire_at_local
            .starts_with("2026-03-12T08:00")
    );
    p.store.undo_dose(&skipped.dose_id).unwrap();
    let plan = p.store.plan_notifications(2).unwrap();
    assert!(
        plan.planned[0]
            .fire_at_local
            .starts_with("2026-03-11T08:00")
    );
}

#[test]
fn a_weekly_medication_still_fills_the_plan() {
    let p = phone("2026-03-10T08:05:00+00:00[Europe/London]");
    add(
        &p,
        Medication::new(
            "Methotrexate",
            vec![Phase {
                timing: Timing::TimesOfDay {
                    times: vec!["09:00".into()],
                    days_of_week: vec![DayOfWeek::Fri],
                },
                ..times_of_day(&["09:00"], "2026-03-01")
            }],
        ),
    );
    assert_eq!(p.store.plan_notifications(10).unwrap().planned.len(), 10);
}

// --- medications -------------------------------------------------------------------------------

#[test]
fn add_edit_postpone_and_delete() {
    let p = phone("2026-03-01T07:00:00+00:00[Europe/London]");
    let mut med = Medication::new(
        "Capecitabine",
        vec![cycle(14, 7, &["08:00", "20:00"], "2026-03-02")],
    );
    med.strength = "500 mg".into();
    med.time_zone_policy = TimeZonePolicy::FixedZone {
        zone: "Europe/London".into(),
    };
    let id = add(&p, med);
    let mut m = p.store.medication(&id).unwrap();
    assert_eq!(m.strength, "500 mg");
    m.instructions = "with food".into();
    let outbox_before = p.store.status().unwrap().outbox_count;
    p.store.update_medication(&m).unwrap();
    assert_eq!(
        p.store.status().unwrap().outbox_count,
        outbox_before + 1,
        "only the changed field is written"
    );
    p.store
        .postpone_cycle(&id, 0, 1, date(2026, 3, 30))
        .unwrap();
    assert_eq!(p.store.medication(&id).unwrap().cycle_starts.len(), 1);
    assert_eq!(p.store.medications().unwrap().len(), 1);
    p.store.delete_medication(&id).unwrap();
    assert!(matches!(
        p.store.medication(&id),
        Err(crate::Error::NotFound { .. })
    ));
}

// --- RRULE -------------------------------------------------------------------------------------

#[test]
fn rrule_export_and_import_round_trip() {
    let policy = TimeZonePolicy::FixedZone {
        zone: "Europe/London".into(),
    };
    let phase = Phase {
        end: Some("2026-03-31".into()),
        ..times_of_day(&["08:00", "20:00"], "2026-03-01")
    };
    let text = rrule::phase_to_rrule(&phase, &policy).unwrap().unwrap();
    assert_eq!(
        text,
        "DTSTART;TZID=Europe/London:20260301T080000\n\
         RRULE:FREQ=DAILY;BYHOUR=8,20;BYMINUTE=0;BYSECOND=0;UNTIL=20260331T225959Z"
    );
    let imported = rrule::phase_from_rrule(&text, 1.0, "tablet", "2026-01-01").unwrap();
    assert_eq!(imported.time_zone_policy, policy);
    let back = imported.phase;
    assert_eq!(back.timing, phase.timing);
    assert_eq!(back.start, "2026-03-01");
    assert_eq!(back.end.as_deref(), Some("2026-03-31"));

    // The rrule crate's own expansion agrees with ours.
    let set: ::rrule::RRuleSet = text.parse().unwrap();
    let theirs: Vec<String> = set
        .all(100)
        .dates
        .iter()
        .map(|d| d.format("%Y-%m-%dT%H:%M").to_string())
        .collect();
    let mut med = Medication::new("Metformin", vec![phase]);
    med.time_zone_policy = policy;
    let ours: Vec<String> = occurrences(
        &med,
        "Europe/London",
        "2026-02-01T00:00:00+00:00[Europe/London]",
        "2026-05-01T00:00:00+01:00[Europe/London]",
    )
    .iter()
    .map(|o| o.local.strftime("%Y-%m-%dT%H:%M").to_string())
    .collect();
    assert_eq!(ours.len(), 62);
    assert_eq!(ours, theirs);
}

/// Found by fuzzing: zone lookups ignore case, so a fixed zone typed `america/New_York` was
/// accepted, exported as written, and the export did not import.
#[test]
fn rrule_export_names_the_zone_as_calendars_spell_it() {
    let policy = TimeZonePolicy::FixedZone {
        zone: "america/New_York".into(),
    };
    let phase = Phase {
        timing: Timing::EveryNHours {
            every_hours: 8,
            anchor: "06:30".into(),
        },
        ..times_of_day(&["06:30"], "2026-03-07")
    };
    let text = rrule::phase_to_rrule(&phase, &policy).unwrap().unwrap();
    assert!(
        text.starts_with("DTSTART;TZID=America/New_York:20260307T063000"),
        "{text}"
    );
    let back = rrule::phase_from_rrule(&text, 1.0, "tablet", "2026-01-01").unwrap();
    assert_eq!(back.phase.timing, phase.timing);
}

/// Found by fuzzing: a zone typed in lower case imported as typed, so importing the rule's own
/// export gave another policy.
#[test]
fn rrule_import_names_the_zone_canonically() {
    let rule = "DTSTART;TZID=europe/London:20260301T060000\n\
                RRULE:FREQ=HOURLY;INTERVAL=8;BYMINUTE=0;BYSECOND=0;UNTIL=20260331T235959Z";
    let imported = rrule::phase_from_rrule(rule, 1.0, "tablet", "2026-01-01").unwrap();
    assert_eq!(
        imported.time_zone_policy,
        TimeZonePolicy::FixedZone {
            zone: "Europe/London".into()
        }
    );
    let again = rrule::phase_to_rrule(&imported.phase, &imported.time_zone_policy)
        .unwrap()
        .unwrap();
    assert_eq!(
        rrule::phase_from_rrule(&again, 1.0, "tablet", "2026-01-01").unwrap(),
        imported
    );
}

/// Found by fuzzing: an imported rule passed the timing checks but not the regimen's, so a
/// medication could not be made from it.
#[test]
fn rrule_import_refuses_what_a_regimen_would() {
    for rule in [
        "FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=9;BYMINUTE=30;COUNT=0",
        "FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=9;BYMINUTE=30;COUNT=20260308",
    ] {
        let imported = rrule::phase_from_rrule(rule, 1.0, "tablet", "2026-03-01");
        assert_eq!(invalid_field(imported), "count", "{rule}");
    }
    // Found by fuzzing: a non-ASCII BYDAY panicked inside the rrule crate.
    let odd_day = "FREQ=WEEKLY;BYDAY=MO,\u{a6}X;BYHOUR=9";
    assert_eq!(
        invalid_field(rrule::phase_from_rrule(
            odd_day,
            1.0,
            "tablet",
            "2026-03-01"
        )),
        "rrule"
    );
    let ends_first = "DTSTART:20260301T080000\nRRULE:FREQ=DAILY;UNTIL=20260201T235959";
    assert!(rrule::phase_from_rrule(ends_first, 1.0, "tablet", "2026-03-01").is_err());
}

#[test]
fn rrule_weekly_hourly_and_what_it_cannot_express() {
    let p = rrule::phase_from_rrule(
        "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=30",
        1.0,
        "tablet",
        "2026-03-02",
    )
    .unwrap()
    .phase;
    assert_eq!(
        p.timing,
        Timing::TimesOfDay {
            times: vec!["09:30".into()],
            days_of_week: vec![DayOfWeek::Mon, DayOfWeek::Thu],
        }
    );
    let p = rrule::phase_from_rrule(
        "DTSTART:20260302T060000Z\nRRULE:FREQ=HOURLY;INTERVAL=8;COUNT=9",
        1.0,
        "tablet",
        "2026-03-02",
    )
    .unwrap()
    .phase;
    assert_eq!(
        p.timing,
        Timing::EveryNHours {
            every_hours: 8,
            anchor: "06:00".into()
        }
    );
    assert_eq!(p.count, Some(9));
    assert_eq!(
        invalid_field(rrule::phase_from_rrule(
            "FREQ=MONTHLY;BYMONTHDAY=1",
            1.0,
            "x",
            "2026-03-01"
        )),
        "rrule"
    );
    assert_eq!(
        invalid_field(rrule::phase_from_rrule(
            "not a rule",
            1.0,
            "x",
            "2026-03-01"
        )),
        "rrule"
    );
    let c = cycle(14, 7, &["08:00"], "2026-03-02");
    assert_eq!(
        rrule::phase_to_rrule(&c, &TimeZonePolicy::WallClock).unwrap(),
        None
    );
    // 08:00 and 20:30 are not an hours-by-minutes product: one RRULE cannot say it.
    let odd = times_of_day(&["08:00", "20:30"], "2026-03-02");
    assert_eq!(
        rrule::phase_to_rrule(&odd, &TimeZonePolicy::WallClock).unwrap(),
        None
    );
    let wall = rrule::phase_to_rrule(
        &times_of_day(&["08:00"], "2026-03-02"),
        &TimeZonePolicy::WallClock,
    )
    .unwrap()
    .unwrap();
    assert!(wall.starts_with("DTSTART:20260302T080000\n"), "{wall}");
}

#[test]
fn an_rrule_import_keeps_its_zone_its_times_and_its_until() {
    // A fixed-zone export from Los Angeles: UNTIL is in UTC, already the next day there.
    let policy = TimeZonePolicy::FixedZone {
        zone: "America/Los_Angeles".into(),
    };
    let phase = Phase {
        end: Some("2026-03-31".into()),
        ..times_of_day(&["08:00", "20:00"], "2026-03-01")
    };
    let text = rrule::phase_to_rrule(&phase, &policy).unwrap().unwrap();
    assert!(text.contains("UNTIL=20260401T065959Z"), "{text}");
    let imported = rrule::phase_from_rrule(&text, 1.0, "tablet", "2000-01-01").unwrap();
    assert_eq!(imported.time_zone_policy, policy);
    assert_eq!(imported.phase.end.as_deref(), Some("2026-03-31"));

    // Floating: the wall clock. UTC: the UTC zone.
    let floating = rrule::phase_from_rrule(
        "DTSTART:20260301T080000\nRRULE:FREQ=DAILY;UNTIL=20260310T080000",
        1.0,
        "tablet",
        "2000-01-01",
    )
    .unwrap();
    assert_eq!(floating.time_zone_policy, TimeZonePolicy::WallClock);
    assert_eq!(floating.phase.start, "2026-03-01");
    // UNTIL at the last dose's own time keeps that dose.
    assert_eq!(floating.phase.end.as_deref(), Some("2026-03-10"));
    let utc = rrule::phase_from_rrule(
        "DTSTART:20260301T080000Z\nRRULE:FREQ=DAILY",
        1.0,
        "tablet",
        "2000-01-01",
    )
    .unwrap();
    assert_eq!(
        utc.time_zone_policy,
        TimeZonePolicy::FixedZone { zone: "UTC".into() }
    );

    // A DTSTART after the first dose of its day, or an UNTIL between two doses of a day: one
    // Cairn phase cannot say it, so the import refuses rather than add or drop a dose.
    for rule in [
        "DTSTART:20260301T120000\nRRULE:FREQ=DAILY;BYHOUR=8,20;BYMINUTE=0",
        "DTSTART:20260301T080000\nRRULE:FREQ=DAILY;BYHOUR=8,20;BYMINUTE=0;UNTIL=20260310T120000",
        "DTSTART;TZID=Nowhere/Town:20260301T080000\nRRULE:FREQ=DAILY",
        "DTSTART:20260301T080000\nRRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY",
        "DTSTART:20260301T080000\nRRULE:FREQ=DAILY\nEXDATE:20260302T080000",
    ] {
        assert_eq!(
            invalid_field(rrule::phase_from_rrule(rule, 1.0, "tablet", "2000-01-01")),
            "rrule",
            "{rule}"
        );
    }
}

// --- properties --------------------------------------------------------------------------------

const ZONES: &[&str] = &[
    "America/New_York",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "America/Los_Angeles",
];

fn any_timing() -> impl Strategy<Value = Timing> {
    let times = proptest::collection::btree_set((0i8..24, 0i8..60), 1..4).prop_map(|s| {
        s.into_iter()
            .map(|(h, m)| format!("{h:02}:{m:02}"))
            .collect::<Vec<_>>()
    });
    prop_oneof![
        (
            times.clone(),
            proptest::collection::btree_set(0usize..7, 0..7)
        )
            .prop_map(|(times, days)| {
                Timing::TimesOfDay {
                    times,
                    days_of_week: days.into_iter().map(|d| DayOfWeek::ALL[d]).collect(),
                }
            }),
        (1u32..40, times.clone())
            .prop_map(|(every_days, times)| Timing::EveryNDays { every_days, times }),
        (1u32..50, 0i8..24, 0i8..60).prop_map(|(every_hours, h, m)| Timing::EveryNHours {
            every_hours,
            anchor: format!("{h:02}:{m:02}")
        }),
        (1u32..30, 0u32..30, times, proptest::option::of(1u32..6)).prop_map(
            |(days_on, days_off, times, cycles)| Timing::Cycle {
                days_on,
                days_off,
                times,
                cycles
            }
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn occurrences_are_ordered_unique_bounded_and_stable(
        timing in any_timing(),
        zone in proptest::sample::select(ZONES),
        fixed in any::<bool>(),
        start_day in 0i64..365,
        from_day in 0i64..400,
        len_hours in 1i64..(24 * 60),
        count in proptest::option::of(1u32..200),
    ) {
        let start = add_days(date(2026, 1, 1), start_day);
        let mut med = Medication::new("Drug", vec![Phase {
            dose: 1.0,
            unit: "tablet".into(),
            timing,
            start: start.to_string(),
            end: None,
            count,
        }]);
        if fixed {
            med.time_zone_policy = TimeZonePolicy::FixedZone { zone: "Europe/London".into() };
        }
        let c = compile(&med).unwrap();
        let device = tz(zone);
        let from = start_of(&device, add_days(date(2026, 1, 1), from_day));
        let to = from + SignedDuration::from_hours(len_hours);
        let mut occs = Vec::new();
        expand_into(&c, &device, from, to, &mut occs);
        let mut ids = std::collections::HashSet::new();
        for o in &occs {
            prop_assert!(from <= o.at && o.at < to);
            prop_assert!(ids.insert(o.id("m")));
            prop_assert_eq!(parse_packed_key(&o.key()), Some(o.packed_key()));
        }
        for pair in occs.windows(2) {
            prop_assert!((pair[0].at, pair[0].local) < (pair[1].at, pair[1].local));
        }
        // Re-expanding, and expanding in two halves, give the same occurrences.
        let mut again = Vec::new();
        expand_into(&c, &device, from, to, &mut again);
        prop_assert_eq!(&again, &occs);
        let mid = from + SignedDuration::from_hours(len_hours / 2);
        let mut halves = Vec::new();
        expand_into(&c, &device, from, mid, &mut halves);
        expand_into(&c, &device, mid, to, &mut halves);
        prop_assert_eq!(&halves, &occs);
        if let Some(n) = count {
            let mut all = Vec::new();
            expand_into(&c, &device, start_of(&device, add_days(start, -2)), to, &mut all);
            prop_assert!(all.len() <= n as usize);
        }
    }
}

fn start_of(zone: &TimeZone, d: Date) -> Timestamp {
    super::start_of_day(zone, d)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A dose taken up to its late window after its time, even past midnight and across DST,
    /// is always matched to that dose, never to the next one.
    #[test]
    fn a_late_dose_is_matched_to_the_dose_it_was_meant_for(
        h in 0i8..24,
        m in 0i8..60,
        day in 0i64..365,
        late in 1u32..=720,
        fraction in 0.0f64..=1.0,
        zone in proptest::sample::select(ZONES),
    ) {
        let p = phone("2026-01-01T00:00:00+00:00[Europe/London]");
        let mut med = Medication::new(
            "Drug",
            vec![times_of_day(&[&format!("{h:02}:{m:02}")], "2026-01-01")],
        );
        med.late_window_minutes = late;
        let id = p.store.add_medication(&med).unwrap();
        let med = p.store.medication(&id).unwrap();
        let device = tz(zone);
        let from = start_of(&device, add_days(date(2026, 1, 2), day));
        let due = super::occurrences(&med, &device, from, from + SignedDuration::from_hours(24)).unwrap();
        prop_assume!(due.len() == 1);
        let delay = SignedDuration::from_secs((f64::from(late) * 60.0 * fraction) as i64);
        let taken = due[0].at + delay;
        let logged = p.store.take_dose_at(taken, &device, &id, None, None, None).unwrap();
        prop_assert_eq!(logged.scheduled_at, Some(due[0].at));
        prop_assert_eq!(logged.occurrence_id, Some(due[0].id.clone()));
    }
}

// --- doses before the medication was added -------------------------------------------------------

#[test]
fn a_medication_added_in_the_evening_does_not_miss_that_mornings_dose() {
    let p = phone("2026-03-10T20:02:00+00:00[Europe/London]");
    let london = tz("Europe/London");
    let at = |s: &str| zdt(&format!("{s}+00:00[Europe/London]")).timestamp();
    let mut med = Medication::new(
        "Capecitabine",
        vec![times_of_day(&["08:00", "20:00"], "2026-03-10")],
    );
    med.late_window_minutes = 120;
    let id = add(&p, med);
    let today = p.store.doses_today().unwrap();
    assert_eq!(today.len(), 1, "the 08:00 dose is not on the Today screen");
    assert!(today[0].key.ends_with("20:00"));
    assert_eq!(today[0].status, DoseStatus::Due);
    let plan = p.store.plan_notifications(50).unwrap();
    assert!(
        plan.planned
            .iter()
            .all(|n| n.fire_at >= at("2026-03-10T20:02:00")),
        "nothing before the medication was added is planned"
    );

    // At 23:00 the 20:00 dose is missed; the 08:00 one is not tracked, so day one is 1 of 1.
    let late = at("2026-03-10T23:00:00");
    let day = p
        .store
        .adherence_at(late, &london, date(2026, 3, 10), date(2026, 3, 10))
        .unwrap();
    let c = &day.per_medication[0].counts;
    assert_eq!((c.scheduled, c.missed, c.pending), (1, 1, 0));

    // Taken at 20:10 instead: 100%, not 50%.
    p.store
        .take_dose_at(
            late,
            &london,
            &id,
            Some(at("2026-03-10T20:10:00")),
            None,
            None,
        )
        .unwrap();
    let day = p
        .store
        .adherence_at(late, &london, date(2026, 3, 10), date(2026, 3, 10))
        .unwrap();
    let c = &day.per_medication[0].counts;
    assert_eq!((c.scheduled, c.taken_on_time, c.missed), (1, 1, 0));
    assert_eq!(c.percent, Some(100.0));

    // The patient remembers taking the morning dose at 08:05 and logs it: it counts.
    let backfilled = p
        .store
        .take_dose_at(
            late,
            &london,
            &id,
            Some(at("2026-03-10T08:05:00")),
            None,
            None,
        )
        .unwrap();
    assert!(
        backfilled.occurrence_id.is_some(),
        "matched to the 08:00 dose"
    );
    let day = p
        .store
        .adherence_at(late, &london, date(2026, 3, 10), date(2026, 3, 10))
        .unwrap();
    let c = &day.per_medication[0].counts;
    assert_eq!((c.scheduled, c.taken_on_time, c.missed), (2, 2, 0));
    let shown = p
        .store
        .doses_on_at(late, &london, date(2026, 3, 10))
        .unwrap();
    assert_eq!(shown.len(), 2, "a backfilled dose is shown as logged");
    assert_eq!(shown[0].status, DoseStatus::Taken);

    // The next day is tracked in full: its 08:00 dose is missed if not taken.
    let next = p
        .store
        .adherence_at(
            at("2026-03-11T12:00:00"),
            &london,
            date(2026, 3, 11),
            date(2026, 3, 11),
        )
        .unwrap();
    assert_eq!(next.per_medication[0].counts.missed, 1);
}

#[test]
fn an_edit_keeps_when_tracking_began() {
    let p = phone("2026-03-29T20:02:00+01:00[Europe/London]");
    let london = tz("Europe/London");
    let at = |s: &str| zdt(&format!("{s}[Europe/London]")).timestamp();
    // Added on the evening the clocks went forward.
    let id = add(
        &p,
        Medication::new(
            "Capecitabine",
            vec![times_of_day(&["08:00", "20:00"], "2026-03-29")],
        ),
    );
    p.clock.set(at("2026-03-30T09:00:00+01:00"));
    let mut edited = p.store.medication(&id).unwrap();
    edited.instructions = "with food".into();
    edited.late_window_minutes = 90;
    p.store.update_medication(&edited).unwrap();
    let a = p
        .store
        .adherence_at(
            at("2026-03-31T23:00:00+01:00"),
            &london,
            date(2026, 3, 28),
            date(2026, 3, 31),
        )
        .unwrap();
    let c = &a.per_medication[0].counts;
    assert_eq!(
        (c.scheduled, c.missed),
        (5, 5),
        "29 March at 20:00, then two a day: none before it was added"
    );
}

#[test]
fn a_medication_from_before_tracking_was_kept_is_tracked_from_its_start() {
    let p = phone("2026-03-10T20:02:00+00:00[Europe/London]");
    let london = tz("Europe/London");
    let id = add(
        &p,
        Medication::new("Metformin", vec![times_of_day(&["08:00"], "2026-03-10")]),
    );
    p.store
        .conn()
        .execute(
            "UPDATE medications SET tracked_from = NULL WHERE id = ?1",
            [&id],
        )
        .unwrap();
    let a = p
        .store
        .adherence_at(
            zdt("2026-03-10T23:00:00+00:00[Europe/London]").timestamp(),
            &london,
            date(2026, 3, 10),
            date(2026, 3, 10),
        )
        .unwrap();
    assert_eq!(a.overall.missed, 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whenever a medication is added (here across the spring-forward night) and whichever doses
    /// are backfilled, adherence counts exactly the doses still open when it was added plus the
    /// backfilled ones, and only the former can be missed.
    #[test]
    fn only_doses_closed_before_the_medication_was_added_go_untracked(
        added_after_minutes in 0i64..(3 * 24 * 60),
        backfilled in proptest::collection::vec(proptest::bool::ANY, 6),
    ) {
        let london = tz("Europe/London");
        let start = zdt("2026-03-28T00:00:00+00:00[Europe/London]").timestamp();
        let added = start + SignedDuration::from_mins(added_after_minutes);
        let p = phone("2026-03-28T00:00:00+00:00[Europe/London]");
        p.clock.set(added);
        let mut med = Medication::new(
            "Capecitabine",
            vec![times_of_day(&["08:00", "20:00"], "2026-03-28")],
        );
        med.late_window_minutes = 120;
        let id = add(&p, med);
        let end = zdt("2026-03-31T00:00:00+01:00[Europe/London]").timestamp();
        let occs = super::occurrences(&p.store.medication(&id).unwrap(), &london, start, end)
            .unwrap();
        prop_assert_eq!(occs.len(), 6);
        let now = zdt("2026-03-31T12:00:00+01:00[Europe/London]").timestamp();
        p.clock.set(now);
        let mut expected = (0u32, 0u32, 0u32);
        for (o, &taken) in occs.iter().zip(&backfilled) {
            let tracked = o.at + SignedDuration::from_mins(120) >= added;
            if taken {
                p.store
                    .take_dose_at(now, &london, &id, Some(o.at), None, Some(&o.id))
                    .unwrap();
                expected.0 += 1;
                expected.1 += 1;
            } else if tracked {
                expected.0 += 1;
                expected.2 += 1;
            }
        }
        let c = p
            .store
            .adherence_at(now, &london, date(2026, 3, 28), date(2026, 3, 30))
            .unwrap()
            .overall;
        prop_assert_eq!((c.scheduled, c.taken_on_time, c.missed), expected);
    }
}

/// Phases `phase_to_rrule` can express: times of day that are an hours-by-minutes product,
/// every N days, every N hours; bounded by an end date, a count, or neither.
fn any_rrule_phase() -> impl Strategy<Value = Phase> {
    let times = (
        proptest::collection::btree_set(0i8..24, 1..4),
        proptest::collection::btree_set(0i8..60, 1..3),
    )
        .prop_map(|(hours, minutes)| {
            hours
                .iter()
                .flat_map(|h| minutes.iter().map(move |m| format!("{h:02}:{m:02}")))
                .collect::<Vec<_>>()
        });
    let timing = prop_oneof![
        (
            times.clone(),
            proptest::collection::btree_set(0usize..7, 0..7)
        )
            .prop_map(|(times, days)| Timing::TimesOfDay {
                times,
                days_of_week: days.into_iter().map(|d| DayOfWeek::ALL[d]).collect(),
            }),
        (1u32..40, times).prop_map(|(every_days, times)| Timing::EveryNDays { every_days, times }),
        (1u32..50, 0i8..24, 0i8..60).prop_map(|(every_hours, h, m)| Timing::EveryNHours {
            every_hours,
            anchor: format!("{h:02}:{m:02}")
        }),
    ];
    let bound = prop_oneof![
        Just((None, None)),
        // At least a week, so each weekday a phase names falls inside it at least once.
        (6i64..500).prop_map(|days| (Some(days), None)),
        (1u32..300).prop_map(|count| (None, Some(count))),
    ];
    (timing, 0i64..730, bound).prop_map(|(timing, start, (end, count))| {
        let start = add_days(date(2026, 1, 1), start);
        Phase {
            dose: 1.0,
            unit: "tablet".into(),
            timing,
            start: start.to_string(),
            end: end.map(|d| add_days(start, d).to_string()),
            count,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// `meds show`'s RRULE imports back to the same doses: the same instants and the same
    /// occurrence keys, over two and a half years of DST changes, on a phone in any zone.
    #[test]
    fn an_exported_rrule_imports_back_to_the_same_doses(
        phase in any_rrule_phase(),
        home in proptest::option::of(proptest::sample::select(ZONES)),
        device in proptest::sample::select(ZONES),
    ) {
        let policy = home.map_or(TimeZonePolicy::WallClock, |zone| TimeZonePolicy::FixedZone {
            zone: zone.to_owned(),
        });
        let text = rrule::phase_to_rrule(&phase, &policy).unwrap().expect("expressible");
        let imported = rrule::phase_from_rrule(&text, 1.0, "tablet", "2000-01-01")
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        prop_assert_eq!(&imported.time_zone_policy, &policy);
        let expand = |phase: Phase, policy: TimeZonePolicy| {
            let mut med = Medication::new("Metformin", vec![phase]);
            med.time_zone_policy = policy;
            let c = compile(&med).unwrap();
            let mut out = Vec::new();
            expand_into(
                &c,
                &tz(device),
                zdt("2025-12-25T00:00:00+00:00[UTC]").timestamp(),
                zdt("2028-07-01T00:00:00+00:00[UTC]").timestamp(),
                &mut out,
            );
            out.iter().map(|o| (o.at, o.key())).collect::<Vec<_>>()
        };
        let before = expand(phase, policy);
        let after = expand(imported.phase, imported.time_zone_policy);
        prop_assert!(!before.is_empty());
        prop_assert_eq!(before, after, "{}", text);
    }
}
