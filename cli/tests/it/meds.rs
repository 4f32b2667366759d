//! `cairn meds` as a person and a QA script use it: one-line regimens, today's doses across a
//! DST change, a dose taken after midnight, the notification plan and adherence.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::fixture::{PASS, cairn, cairn_at, new_store, ok, store_in};

struct Cli {
    _dir: tempfile::TempDir,
    store: PathBuf,
}

impl Cli {
    fn new() -> Self {
        let dir = new_store();
        let store = store_in(&dir);
        Cli { _dir: dir, store }
    }

    /// `meds adherence --from <from> --to <to> --json` at `now`: the text printed, and its JSON.
    fn adherence(&self, now: &str, tz: &str, from: &str, to: &str) -> (String, serde_json::Value) {
        let text = ok(&self.meds(
            now,
            tz,
            &["adherence", "--from", from, "--to", to, "--json"],
        ));
        let json = serde_json::from_str(&text).unwrap();
        (text, json)
    }

    /// Runs `cairn --now <now> --tz <tz> meds <args>`.
    fn meds(&self, now: &str, tz: &str, args: &[&str]) -> Output {
        let mut all = vec!["meds"];
        all.extend_from_slice(args);
        cairn_at(self.path(), now, tz, &all)
    }

    fn path(&self) -> &Path {
        &self.store
    }
}

const NY: &str = "America/New_York";

#[test]
fn today_across_the_spring_forward_night_in_new_york() {
    let cli = Cli::new();
    // Added the day before, so Saturday's early doses are tracked.
    let added = "2026-03-06T12:00:00-05:00";
    let before = "2026-03-07T12:00:00-05:00";
    ok(&cli.meds(
        added,
        NY,
        &[
            "add",
            "Levothyroxine",
            "--times",
            "02:30",
            "--start",
            "2026-03-01",
        ],
    ));
    ok(&cli.meds(
        added,
        NY,
        &[
            "add",
            "Metformin",
            "--times",
            "08:00,20:00",
            "--start",
            "2026-03-01",
        ],
    ));
    let saturday = ok(&cli.meds(before, NY, &["today"]));
    assert!(saturday.contains("02:30 EST  Levothyroxine"), "{saturday}");
    assert!(saturday.contains("08:00 EST  Metformin"), "{saturday}");
    // Sunday: 02:30 does not exist; the dose is at 03:00 EDT, the first valid minute after it.
    let sunday = ok(&cli.meds("2026-03-08T01:00:00-05:00", NY, &["today"]));
    assert!(
        sunday.starts_with("Sunday 8 March 2026 (America/New_York)"),
        "{sunday}"
    );
    assert!(sunday.contains("03:00 EDT  Levothyroxine"), "{sunday}");
    assert!(sunday.contains("08:00 EDT  Metformin"), "{sunday}");
    assert!(sunday.contains("20:00 EDT  Metformin"), "{sunday}");
    let monday = ok(&cli.meds("2026-03-09T01:00:00-04:00", NY, &["today"]));
    assert!(monday.contains("02:30 EDT  Levothyroxine"), "{monday}");
    // The same medication pinned to London's clock, seen from New York.
    ok(&cli.meds(
        added,
        NY,
        &[
            "add",
            "Tacrolimus",
            "--times",
            "08:00",
            "--zone",
            "Europe/London",
            "--start",
            "2026-03-01",
        ],
    ));
    let sunday = ok(&cli.meds("2026-03-08T01:00:00-05:00", NY, &["today"]));
    assert!(sunday.contains("04:00 EDT  Tacrolimus"), "{sunday}");
}

#[test]
fn a_dose_taken_after_midnight_counts_for_last_night() {
    let cli = Cli::new();
    let tz = "Europe/London";
    ok(&cli.meds(
        "2026-03-10T12:00:00Z",
        tz,
        &[
            "add",
            "Temozolomide",
            "--times",
            "22:00",
            "--late",
            "180",
            "--start",
            "2026-03-01",
        ],
    ));
    let out = ok(&cli.meds("2026-03-11T00:40:00Z", tz, &["take", "temozolomide"]));
    assert!(out.contains("for the dose of Tue 10 Mar 22:00"), "{out}");
    let json = ok(&cli.meds(
        "2026-03-11T00:45:00Z",
        tz,
        &["today", "--date", "2026-03-10", "--json"],
    ));
    let doses: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doses[0]["status"], "taken_late");
    // Instants are RFC 3339 in UTC; the scheduled time also on the device's clock.
    assert_eq!(doses[0]["scheduled_at"], "2026-03-10T22:00:00Z");
    assert_eq!(
        doses[0]["scheduled_local"],
        "2026-03-10T22:00:00+00:00[Europe/London]"
    );
    assert_eq!(doses[0]["taken_at"], "2026-03-11T00:40:00Z");
    let tonight = ok(&cli.meds("2026-03-11T00:45:00Z", tz, &["today"]));
    assert!(tonight.contains("upcoming"), "{tonight}");
    // A mistaken tap is undone: last night's dose reads as not logged again.
    let dose_id = doses[0]["dose_id"].as_str().unwrap();
    ok(&cli.meds("2026-03-11T00:50:00Z", tz, &["undo", dose_id]));
    let json = ok(&cli.meds(
        "2026-03-11T00:50:00Z",
        tz,
        &["today", "--date", "2026-03-10", "--json"],
    ));
    let undone: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(undone[0]["status"], "due");
    // Taken again, it is the same dose and the same record.
    let taken: serde_json::Value = serde_json::from_str(&ok(&cli.meds(
        "2026-03-11T00:55:00Z",
        tz,
        &["take", "temozolomide", "--json"],
    )))
    .unwrap();
    assert_eq!(taken["status"], "taken_late");
    assert_eq!(taken["scheduled_at"], "2026-03-10T22:00:00Z");
    assert_eq!(taken["occurrence_id"], doses[0]["id"]);
    assert_eq!(taken["dose_id"], dose_id);
    assert_eq!(taken["warnings"], serde_json::json!([]));
}

#[test]
fn the_plan_groups_doses_per_minute_and_is_a_diff() {
    let cli = Cli::new();
    let now = "2026-03-10T07:00:00Z";
    let tz = "Europe/London";
    ok(&cli.meds(
        now,
        tz,
        &[
            "add",
            "Capecitabine",
            "--dose",
            "3",
            "--times",
            "08:00,20:00",
            "--cycle",
            "14/7",
            "--start",
            "2026-03-02",
            "--stock",
            "84",
            "--refill-days",
            "7",
        ],
    ));
    ok(&cli.meds(
        now,
        tz,
        &[
            "add",
            "Dexamethasone",
            "--times",
            "08:00",
            "--taper",
            "4:3,2:3,1:3",
        ],
    ));
    let plan = ok(&cli.meds(now, tz, &["plan", "--max", "4", "--commit"]));
    assert!(
        plan.starts_with("4 notifications planned: 4 to schedule, 0 to cancel"),
        "{plan}"
    );
    assert!(
        plan.contains(
            "Tue 10 Mar 08:00 GMT  Time for 2 doses: Capecitabine 3 tablet · Dexamethasone 4 tablet"
        ),
        "{plan}"
    );
    // Four slots hold two days of doses: the plan says where it runs dry.
    assert!(
        plan.contains(
            "runs dry after Wed 11 Mar 2026 20:00 GMT: the last reminder asks to open Cairn"
        ),
        "{plan}"
    );
    let again = ok(&cli.meds(now, tz, &["plan", "--max", "4"]));
    assert!(
        again.starts_with("4 notifications planned: 0 to schedule, 0 to cancel"),
        "{again}"
    );
    ok(&cli.meds("2026-03-10T07:30:00Z", tz, &["take", "capecitabine"]));
    let after = ok(&cli.meds(
        "2026-03-10T07:31:00Z",
        tz,
        &["plan", "--max", "4", "--json"],
    ));
    let v: serde_json::Value = serde_json::from_str(&after).unwrap();
    assert_eq!(v["cancel"].as_array().unwrap().len(), 1);
    assert_eq!(v["schedule"][0]["body"], "Dexamethasone 4 tablet");
    assert_eq!(v["runs_dry"], true);
    assert_eq!(v["planned"][3]["last_in_window"], true);
    assert!(
        v["reaches_until"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-11T20:00"),
        "{v}"
    );
}

#[test]
fn postponing_a_cycle_and_adherence() {
    let cli = Cli::new();
    let tz = "Europe/London";
    ok(&cli.meds(
        "2026-03-02T07:00:00Z",
        tz,
        &[
            "add",
            "Capecitabine",
            "--times",
            "08:00,20:00",
            "--cycle",
            "14/7",
            "--start",
            "2026-03-02",
        ],
    ));
    ok(&cli.meds("2026-03-02T08:10:00Z", tz, &["take", "cape"]));
    let skipped: serde_json::Value = serde_json::from_str(&ok(&cli.meds(
        "2026-03-02T20:00:00Z",
        tz,
        &["skip", "cape", "--reason", "vomiting", "--json"],
    )))
    .unwrap();
    assert_eq!(skipped["status"], "skipped");
    assert_eq!(skipped["scheduled_at"], "2026-03-02T20:00:00Z");
    let (_, v) = cli.adherence("2026-03-03T12:00:00Z", tz, "2026-03-02", "2026-03-03");
    assert_eq!(v["overall"]["taken_on_time"], 1);
    assert_eq!(v["overall"]["skipped"], 1);
    assert_eq!(v["overall"]["missed"], 1);
    assert_eq!(v["overall"]["pending"], 1);
    // Cycle 2 would start on 23 March; the oncologist postpones it a week.
    ok(&cli.meds(
        "2026-03-10T12:00:00Z",
        tz,
        &[
            "edit",
            "cape",
            "--postpone-cycle",
            "2",
            "--to",
            "2026-03-30",
        ],
    ));
    let day = ok(&cli.meds("2026-03-23T07:00:00Z", tz, &["today"]));
    assert!(day.contains("no scheduled doses"), "{day}");
    let day = ok(&cli.meds("2026-03-30T07:00:00+01:00", tz, &["today"]));
    assert!(day.contains("08:00 BST  Capecitabine"), "{day}");
    let show = ok(&cli.meds("2026-03-30T07:00:00Z", tz, &["show", "cape"]));
    assert!(show.contains("cycle 2 starts 2026-03-30"), "{show}");
    assert!(show.contains("not expressible as one RRULE"), "{show}");
}

#[test]
fn rrule_in_and_out() {
    let cli = Cli::new();
    let tz = "Europe/London";
    let now = "2026-03-02T07:00:00Z";
    ok(&cli.meds(
        now,
        tz,
        &[
            "add",
            "Metformin",
            "--rrule",
            "FREQ=DAILY;BYHOUR=8,20;BYMINUTE=0",
            "--start",
            "2026-03-01",
            "--zone",
            "Europe/London",
        ],
    ));
    let show = ok(&cli.meds(now, tz, &["show", "metformin"]));
    assert!(
        show.contains("DTSTART;TZID=Europe/London:20260301T080000"),
        "{show}"
    );
    assert!(
        show.contains("RRULE:FREQ=DAILY;BYHOUR=8,20;BYMINUTE=0;BYSECOND=0"),
        "{show}"
    );
}

#[test]
fn a_fixed_zone_regimen_exported_by_show_imports_back_to_the_same_doses() {
    let cli = Cli::new();
    let tz = "America/Los_Angeles";
    let now = "2026-03-02T07:00:00Z";
    ok(&cli.meds(
        now,
        tz,
        &[
            "add",
            "Tacrolimus",
            "--times",
            "08:00,20:00",
            "--start",
            "2026-03-01",
            "--end",
            "2026-03-31",
            "--zone",
            tz,
        ],
    ));
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&cli.meds(now, tz, &["show", "tacrolimus", "--json"]))).unwrap();
    let rule = shown["rrules"][0].as_str().unwrap().to_owned();
    assert!(rule.contains("UNTIL=20260401T065959Z"), "{rule}");
    ok(&cli.meds(now, "Europe/Paris", &["add", "Copy", "--rrule", &rule]));
    let copy: serde_json::Value =
        serde_json::from_str(&ok(&cli.meds(now, tz, &["show", "copy", "--json"]))).unwrap();
    assert_eq!(copy["time_zone_policy"], shown["time_zone_policy"]);
    assert_eq!(copy["phases"], shown["phases"]);
    // Both fire at the same instants, on a phone in another zone.
    let day = ok(&cli.meds("2026-03-31T12:00:00+02:00", "Europe/Paris", &["today"]));
    assert_eq!(day.matches("17:00 CEST").count(), 2, "{day}");
}

#[test]
fn bad_regimens_are_one_line_errors_that_change_nothing() {
    let cli = Cli::new();
    let now = "2026-03-02T07:00:00Z";
    for args in [
        &["add", "X", "--times", "08:00", "--cycle", "0/7"][..],
        &["add", "X", "--times", "25:00"],
        &["add", "X", "--every-hours", "0"],
        &["add", "X", "--prn", "--max", "0/24h"],
        &["add", "X", "--times", "08:00", "--zone", "Nowhere/Town"],
    ] {
        let out = cli.meds(now, "Europe/London", args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("cairn: invalid "), "{err}");
    }
    let list = ok(&cli.meds(now, "Europe/London", &["list"]));
    assert_eq!(list.trim(), "no medications");
}

#[test]
fn huge_numbers_and_long_text_are_one_line_errors_never_a_crash() {
    let cli = Cli::new();
    let now = "2026-03-02T07:00:00Z";
    let long_name = "M".repeat(201);
    for (args, field) in [
        (
            &[
                "add",
                "X",
                "--times",
                "08:00",
                "--taper",
                "4:4294967295,1:4294967295",
            ][..],
            "--taper",
        ),
        (
            &[
                "add",
                "X",
                "--times",
                "08:00",
                "--taper",
                "99999999999999999999:1",
            ],
            "dose",
        ),
        (
            &["add", "X", "--times", "08:00", "--taper", "1:0"],
            "--taper",
        ),
        (
            &[
                "add",
                "X",
                "--times",
                "08:00",
                "--taper",
                "1:9223372036854775807",
            ],
            "--taper",
        ),
        (
            &["add", "X", "--times", "08:00", "--taper", "1:-3"],
            "--taper",
        ),
        (&["add", "X", "--times", "08:00", "--dose", "1e300"], "dose"),
        (
            &["add", "X", "--times", "08:00", "--every-days", "4294967295"],
            "every_days",
        ),
        (&["add", "X", "--every-hours", "4294967295"], "every_hours"),
        (
            &[
                "add",
                "X",
                "--times",
                "08:00",
                "--cycle",
                "4294967295/4294967295",
            ],
            "days_on",
        ),
        (
            &["add", "X", "--times", "08:00", "--count", "4294967295"],
            "count",
        ),
        (
            &["add", "X", "--prn", "--min-gap", "4294967295h"],
            "--min-gap",
        ),
        (&["add", &long_name, "--times", "08:00"], "name"),
    ] {
        let out = cli.meds(now, "Europe/London", args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("cairn: invalid {field}: ")),
            "{err}"
        );
    }
    let list = ok(&cli.meds(now, "Europe/London", &["list"]));
    assert_eq!(list.trim(), "no medications");

    // Doses at the calendar's very end plan, list and log without overflowing.
    for args in [
        &["add", "Late", "--times", "08:00", "--start", "9999-12-20"][..],
        &["add", "Cycle", "--times", "09:00", "--cycle", "3660/3660"],
        &["add", "Hourly", "--every-hours", "8"],
    ] {
        ok(&cli.meds(now, "Europe/London", args));
    }
    for args in [
        &["plan"][..],
        &["today"],
        &["adherence"],
        &["take", "hourly"],
    ] {
        ok(&cli.meds("9999-12-30T12:00:00Z", "Pacific/Kiritimati", args));
    }
}

#[test]
fn the_demo_shows_a_chemo_cycle_and_an_as_needed_drug() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&cairn(
        dir.path(),
        PASS,
        &["--now", "2026-03-08T09:00:00-04:00", "--tz", NY, "demo"],
    ));
    assert!(
        out.contains("added Capecitabine 500 mg: 3 tablet 14 days on / 7 off"),
        "{out}"
    );
    assert!(
        out.contains("added Ondansetron 8 mg: 1 tablet as needed"),
        "{out}"
    );
    assert!(
        out.contains("logged the 7 doses of the cycle so far"),
        "{out}"
    );
    assert!(
        out.contains("08:00 EDT  Capecitabine                3 tablet   taken at 08:10"),
        "{out}"
    );
    assert!(out.contains("second: sooner than the minimum gap"), "{out}");
    assert!(out.contains("-- The notification plan"), "{out}");
    assert!(
        out.contains("Sun 08 Mar 20:00 EDT  Time for Capecitabine"),
        "{out}"
    );
}

#[test]
fn a_new_regimen_starts_on_its_date_and_keeps_the_past() {
    let cli = Cli::new();
    let tz = "Europe/London";
    ok(&cli.meds(
        "2026-03-01T07:00:00Z",
        tz,
        &[
            "add",
            "Metformin",
            "--times",
            "08:00",
            "--start",
            "2026-03-01",
        ],
    ));
    ok(&cli.meds("2026-03-02T08:05:00Z", tz, &["take", "metformin"]));
    ok(&cli.meds(
        "2026-03-02T12:00:00Z",
        tz,
        &[
            "edit",
            "metformin",
            "--times",
            "09:00",
            "--dose",
            "2",
            "--start",
            "2026-03-03",
        ],
    ));
    let list = ok(&cli.meds("2026-03-02T12:00:00Z", tz, &["list"]));
    assert!(
        list.contains(
            "1 tablet daily at 08:00 from 2026-03-01 to 2026-03-02; then 2 tablet daily at 09:00 from 2026-03-03"
        ),
        "{list}"
    );
    let (a, v) = cli.adherence("2026-03-03T12:00:00Z", tz, "2026-03-02", "2026-03-03");
    assert_eq!(v["overall"]["taken_on_time"], 1, "{a}");
    assert_eq!(v["overall"]["missed"], 1, "{a}");
}

#[test]
fn pills_added_in_the_evening_do_not_miss_that_mornings_dose() {
    let cli = Cli::new();
    let tz = "Europe/London";
    ok(&cli.meds(
        "2026-03-10T20:02:00Z",
        tz,
        &[
            "add",
            "Capecitabine",
            "--times",
            "08:00,20:00",
            "--start",
            "2026-03-10",
        ],
    ));
    let today = ok(&cli.meds("2026-03-10T20:03:00Z", tz, &["today", "--json"]));
    let doses: serde_json::Value = serde_json::from_str(&today).unwrap();
    assert_eq!(doses.as_array().unwrap().len(), 1, "{today}");
    assert_eq!(doses[0]["status"], "due");
    ok(&cli.meds("2026-03-10T20:05:00Z", tz, &["take", "cape"]));
    let adherence = |now: &str| cli.adherence(now, tz, "2026-03-10", "2026-03-10").1;
    let day_one = adherence("2026-03-10T23:00:00Z");
    assert_eq!(day_one["overall"]["scheduled"], 1);
    assert_eq!(day_one["overall"]["missed"], 0);
    assert_eq!(day_one["overall"]["percent"], 100.0);
    // The patient did take the morning dose before adding the medication, and logs it.
    ok(&cli.meds(
        "2026-03-10T23:00:00Z",
        tz,
        &["take", "cape", "--at", "08:05"],
    ));
    let day_one = adherence("2026-03-10T23:01:00Z");
    assert_eq!(day_one["overall"]["scheduled"], 2);
    assert_eq!(day_one["overall"]["taken_on_time"], 2);
}

/// Without `--tz`, the device's zone is the system's: a phone in New York is not planned in UTC.
/// (jiff without its `tz-system` feature fell back to UTC without a word.)
#[test]
fn without_tz_the_system_zone_is_used_not_utc() {
    let cli = Cli::new();
    ok(&cli.meds(
        "2026-03-07T12:00:00-05:00",
        NY,
        &[
            "add",
            "Tamoxifen",
            "--dose",
            "20",
            "--unit",
            "mg",
            "--times",
            "08:00",
        ],
    ));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("--data-dir")
        .arg(cli.path())
        .args(["--now", "2026-03-09T06:30:00-04:00", "meds", "today"])
        .env("CAIRN_PASSPHRASE", PASS)
        .env("TZ", NY)
        .output()
        .unwrap();
    let text = ok(&out);
    assert!(text.contains("(America/New_York)"), "{text}");
    assert!(
        text.contains("08:00"),
        "the 08:00 dose at 08:00 New York time: {text}"
    );
}
