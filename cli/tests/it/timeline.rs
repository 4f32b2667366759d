//! `cairn timeline` and `cairn symptoms` as a patient or a QA script runs them.

use std::path::Path;

use serde_json::Value;

use crate::fixture::in_london as run;

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
    stdout
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let text = ok(dir, args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {text}"))
}

fn fails(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(out.stdout.is_empty(), "{args:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["init"]);
    dir
}

#[test]
fn search_finds_an_event_by_a_word_in_another_case_and_without_accents() {
    let dir = store();
    let d = dir.path();
    let added = json(
        d,
        &[
            "timeline",
            "add",
            "--kind",
            "note",
            "--title",
            "Fièvre après la chimio",
            "--body",
            "Appelé l'hôpital à 23h",
            "--at",
            "2026-10-22T22:40",
            "--tag",
            "Chemo",
            "--json",
        ],
    );
    let id = added["id"].as_str().unwrap().to_owned();
    assert_eq!(added["tags"], serde_json::json!(["chemo"]));
    assert_eq!(
        added["local_start"],
        "2026-10-22T22:40:00+01:00[Europe/London]"
    );
    ok(
        d,
        &[
            "timeline",
            "add",
            "--kind",
            "note",
            "--title",
            "Walk in the park",
        ],
    );

    let text = ok(d, &["timeline", "search", "FIEVRE"]);
    assert!(text.contains("Fièvre après la chimio"), "{text}");
    assert!(!text.contains("Walk"), "{text}");
    let found = json(d, &["timeline", "search", "hopital", "--json"]);
    assert_eq!(found["events"][0]["id"], id.as_str());
    let found = json(d, &["timeline", "search", "chim", "--json"]);
    assert_eq!(
        found["events"].as_array().unwrap().len(),
        1,
        "prefix search"
    );
    // Quotes and FTS syntax are only words to look for, never an error.
    let found = json(d, &["timeline", "search", "\"fièvre\" * (", "--json"]);
    assert_eq!(found["events"].as_array().unwrap().len(), 1);
}

#[test]
fn add_show_edit_and_remove_an_appointment() {
    let dir = store();
    let d = dir.path();
    let added = json(
        d,
        &[
            "timeline",
            "add",
            "--kind",
            "appointment",
            "--provider",
            "Dr Okafor",
            "--place",
            "Outpatients B",
            "--question",
            "Can I fly in December?",
            "--at",
            "2026-10-30T14:00",
            "--end",
            "2026-10-30T14:30",
            "--json",
        ],
    );
    let id = added["id"].as_str().unwrap().to_owned();
    assert_eq!(added["title"], "Appointment: Dr Okafor");
    assert_eq!(added["details"]["questions"][0], "Can I fly in December?");

    let shown = ok(d, &["timeline", "show", &id]);
    assert!(
        shown.contains("ask       Can I fly in December?"),
        "{shown}"
    );
    assert!(
        shown.contains("Fri 30 Oct 2026 14:00 GMT"),
        "after the clocks went back: {shown}"
    );

    let upcoming = ok(d, &["timeline", "upcoming"]);
    assert!(upcoming.contains(&id), "{upcoming}");

    let edited = json(
        d,
        &[
            "timeline",
            "edit",
            &id,
            "--notes-after",
            "Scan in three weeks",
            "--tag",
            "Oncology",
            "--json",
        ],
    );
    assert_eq!(edited["details"]["notes_after"], "Scan in three weeks");
    assert_eq!(
        edited["details"]["provider"], "Dr Okafor",
        "untouched details stay"
    );
    assert_eq!(edited["tags"], serde_json::json!(["oncology"]));

    assert!(ok(d, &["timeline", "rm", &id]).contains("Deleted"));
    let err = fails(d, &["timeline", "show", &id]);
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn symptoms_and_measurements_show_scores_grades_and_flags() {
    let dir = store();
    let d = dir.path();
    for (at, freq) in [
        ("2026-10-20T20:00", "3"),
        ("2026-10-21T20:00", "2"),
        ("2026-10-22T20:00", "1"),
    ] {
        ok(
            d,
            &[
                "timeline",
                "add",
                "--kind",
                "symptom",
                "--term",
                "Feeling sick",
                "--frequency",
                freq,
                "--severity",
                "2",
                "--at",
                at,
            ],
        );
    }
    ok(
        d,
        &[
            "timeline",
            "add",
            "--kind",
            "symptom",
            "--term",
            "nausea",
            "--severity",
            "3",
            "--grade",
            "2",
            "--at",
            "2026-10-22T11:00",
        ],
    );
    let trend = json(d, &["symptoms", "trend", "NAUSEA", "--json"]);
    let freqs: Vec<Value> = trend
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["frequency"].clone())
        .collect();
    assert_eq!(
        freqs,
        vec![Value::from(3), Value::from(2), Value::Null, Value::from(1)]
    );
    let grades: Vec<Value> = trend
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["clinician_grade"].clone())
        .collect();
    assert_eq!(
        grades,
        vec![Value::Null, Value::Null, Value::from(2), Value::Null]
    );
    let text = ok(d, &["symptoms", "trend", "nausea", "--from", "2026-10-22"]);
    assert!(text.contains("Nausea — 2 reports"), "{text}");
    assert!(text.contains("clinician CTCAE grade 2"), "{text}");

    let fever = json(
        d,
        &[
            "timeline",
            "add",
            "--kind",
            "measurement",
            "--quantity",
            "temperature",
            "--value",
            "100.4",
            "--unit",
            "[degF]",
            "--json",
        ],
    );
    assert_eq!(fever["flags"], serde_json::json!(["fever"]));
    let list = ok(d, &["timeline", "list", "--kind", "measurement"]);
    assert!(list.contains("FEVER"), "{list}");
    assert!(list.contains("Fri 23 Oct 2026"), "{list}");
}

#[test]
fn bad_input_is_one_line_naming_the_field() {
    let dir = store();
    let d = dir.path();
    assert!(fails(d, &["timeline", "add", "--kind", "holiday", "--title", "x"]).contains("kind"));
    assert!(fails(d, &["timeline", "add", "--kind", "note"]).contains("title"));
    let err = fails(
        d,
        &[
            "timeline",
            "add",
            "--kind",
            "note",
            "--title",
            "Scan",
            "--at",
            "2026-10-22T10:00",
            "--end",
            "2026-10-22T09:00",
        ],
    );
    assert!(err.contains("ends_at"), "{err}");
    let nan = [
        "timeline",
        "add",
        "--kind",
        "measurement",
        "--quantity",
        "weight",
        "--value",
        "NaN",
        "--unit",
        "kg",
    ];
    assert!(fails(d, &nan).contains("value"));
    let stone = [
        "timeline",
        "add",
        "--kind",
        "measurement",
        "--quantity",
        "weight",
        "--value",
        "10",
        "--unit",
        "[stone]",
    ];
    assert!(fails(d, &stone).contains("unit"));
    let err = fails(d, &["timeline", "list", "--cursor", "not-a-cursor"]);
    assert!(err.contains("cursor"), "{err}");
    let err = fails(
        d,
        &[
            "timeline", "add", "--kind", "note", "--title", "x", "--rating", "3",
        ],
    );
    assert!(err.contains("--rating"), "{err}");
}

#[test]
fn list_pages_by_cursor_in_a_stable_order() {
    let dir = store();
    let d = dir.path();
    for i in 0..5 {
        let at = format!("2026-10-2{i}T08:00");
        ok(
            d,
            &[
                "timeline",
                "add",
                "--kind",
                "note",
                "--title",
                &format!("day {i}"),
                "--at",
                &at,
            ],
        );
    }
    let first = json(d, &["timeline", "list", "--limit", "2", "--json"]);
    let titles = |page: &Value| -> Vec<String> {
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(titles(&first), vec!["day 4", "day 3"]);
    assert!(first["newer"].is_null());
    let older = first["older"].as_str().unwrap();
    let second = json(
        d,
        &[
            "timeline", "list", "--limit", "2", "--cursor", older, "--json",
        ],
    );
    assert_eq!(titles(&second), vec!["day 2", "day 1"]);
    let newer = second["newer"].as_str().unwrap();
    let back = json(
        d,
        &[
            "timeline", "list", "--limit", "2", "--cursor", newer, "--json",
        ],
    );
    assert_eq!(titles(&back), vec!["day 4", "day 3"]);
    let text = ok(d, &["timeline", "list", "--limit", "2"]);
    assert!(text.contains("older: --cursor "), "{text}");
}

#[test]
fn the_demo_shows_a_first_month_after_a_diagnosis() {
    let dir = tempfile::tempdir().unwrap();
    let text = ok(dir.path(), &["demo"]);
    assert!(
        text.contains("The first month after the diagnosis"),
        "{text}"
    );
    assert!(text.contains("stage IIA"), "{text}");
    assert!(text.contains("FEVER"), "{text}");
    assert!(text.contains("Nausea — 3 reports"), "{text}");
    assert!(text.contains("Bought a wig"), "search by ZOE CAFE: {text}");
}
