//! Titles, names and notes holding terminal escape sequences, as another device could sync them:
//! every listing prints them neutralised, and `--json` still gives back the exact text.

use std::path::Path;

use serde_json::Value;

use crate::fixture::{PASS, cairn, in_london as run};

/// Retitles the window, clears the screen, returns to the start of the line, then reverses
/// what follows.
const HOSTILE: &str = "Fever\x1b]0;pwned\x07 \x1b[2J\rall fine\u{202e}fdp.exe";

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    let stdout = String::from_utf8(out.stdout).expect("output is UTF-8");
    assert!(
        out.status.success(),
        "{args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Asserts that `stdout` holds nothing that acts on a terminal, and that it shows the hostile
/// text neutralised (the placeholder where the escape was, the words around it kept).
fn assert_neutralised(args: &[&str], stdout: &str) {
    let raw: Vec<char> = stdout
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(raw.is_empty(), "{args:?} printed {raw:?} raw:\n{stdout}");
    assert!(
        stdout.contains("Fever\u{fffd}]0;pwned\u{fffd} \u{fffd}[2J\u{fffd}all fine\u{fffd}fdp.exe"),
        "{args:?} did not show the text neutralised:\n{stdout}"
    );
}

/// Asserts that `stdout` is JSON with nothing raw that acts on a terminal, and returns it.
fn json(dir: &Path, args: &[&str]) -> Value {
    let stdout = ok(dir, args);
    assert!(
        !stdout
            .chars()
            .any(|c| c == '\x1b' || c == '\r' || c == '\u{202e}'),
        "{args:?}: {stdout}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e})"))
}

#[test]
fn timeline_text_with_escape_sequences_prints_neutralised_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["init"]);
    let note = json(
        d,
        &[
            "timeline",
            "add",
            "--kind",
            "note",
            "--title",
            HOSTILE,
            "--body",
            &format!("first line\n{HOSTILE}\nlast line"),
            "--tag",
            HOSTILE,
            "--at",
            "2026-10-22T10:00",
            "--json",
        ],
    );
    assert_eq!(note["title"], HOSTILE);
    assert_eq!(note["body"], format!("first line\n{HOSTILE}\nlast line"));
    let note_id = note["id"].as_str().unwrap().to_owned();
    let appointment = json(
        d,
        &[
            "timeline",
            "add",
            "--kind",
            "appointment",
            "--provider",
            HOSTILE,
            "--place",
            HOSTILE,
            "--question",
            HOSTILE,
            "--notes-after",
            HOSTILE,
            "--at",
            "2026-10-30T09:30",
            "--json",
        ],
    );
    let appointment_id = appointment["id"].as_str().unwrap().to_owned();
    ok(
        d,
        &[
            "timeline",
            "add",
            "--kind",
            "diagnosis",
            "--condition",
            HOSTILE,
            "--stage",
            HOSTILE,
            "--at",
            "2026-10-01T10:00",
        ],
    );
    ok(
        d,
        &[
            "timeline",
            "add",
            "--kind",
            "symptom",
            "--term",
            HOSTILE,
            "--severity",
            "2",
            "--at",
            "2026-10-21T20:00",
        ],
    );

    for args in [
        &["timeline", "list"][..],
        &["timeline", "search", "fever"],
        &["timeline", "show", &note_id],
        &["timeline", "show", &appointment_id],
        &["timeline", "upcoming"],
        &["symptoms", "trend", HOSTILE],
    ] {
        assert_neutralised(args, &ok(d, args));
    }
    let shown = ok(d, &["timeline", "show", &note_id]);
    assert!(
        shown.contains("first line\n") && shown.contains("\nlast line"),
        "free text keeps its lines: {shown}"
    );

    let listed = json(d, &["timeline", "list", "--json"]);
    let events = listed["events"].as_array().unwrap();
    let listed_note = events.iter().find(|e| e["id"] == note_id.as_str()).unwrap();
    assert_eq!(listed_note["title"], HOSTILE);
    // Tags are normalised (lower case, whitespace such as the carriage return collapsed), but
    // keep the escapes.
    assert_eq!(
        listed_note["tags"][0],
        "fever\x1b]0;pwned\x07 \x1b[2j all fine\u{202e}fdp.exe"
    );
    let shown = json(d, &["timeline", "show", &appointment_id, "--json"]);
    assert_eq!(shown["details"]["provider"], HOSTILE);
    assert_eq!(shown["details"]["questions"][0], HOSTILE);
    assert_eq!(shown["details"]["notes_after"], HOSTILE);
    let trend = json(d, &["symptoms", "trend", HOSTILE, "--json"]);
    assert_eq!(trend[0]["term"], HOSTILE);
}

#[test]
fn medication_names_with_escape_sequences_print_neutralised_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["init"]);
    ok(
        d,
        &[
            "meds",
            "add",
            HOSTILE,
            "--dose",
            "1",
            "--unit",
            "tablet",
            "--times",
            "08:00,20:00",
            "--start",
            "2026-10-20",
            "--instructions",
            HOSTILE,
            "--prescriber",
            HOSTILE,
        ],
    );
    for args in [
        &["meds", "list"][..],
        &["meds", "show", "Fever"],
        &["meds", "today"],
        &["meds", "plan", "--max", "4"],
        &[
            "meds",
            "adherence",
            "--from",
            "2026-10-20",
            "--to",
            "2026-10-23",
        ],
    ] {
        assert_neutralised(args, &ok(d, args));
    }
    let listed = json(d, &["meds", "list", "--json"]);
    assert_eq!(listed[0]["name"], HOSTILE);
    assert_eq!(listed[0]["instructions"], HOSTILE);
    let shown = json(d, &["meds", "show", "Fever", "--json"]);
    assert_eq!(shown["prescriber"], HOSTILE);
    let today = json(d, &["meds", "today", "--json"]);
    assert_eq!(today[0]["medication_name"], HOSTILE);
    let adherence = json(
        d,
        &[
            "meds",
            "adherence",
            "--from",
            "2026-10-20",
            "--to",
            "2026-10-23",
            "--json",
        ],
    );
    assert_eq!(adherence["per_medication"][0]["medication_name"], HOSTILE);
}

#[test]
fn document_titles_with_escape_sequences_print_neutralised_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("store");
    ok(&d, &["init"]);
    let file = dir.path().join("letter.txt");
    std::fs::write(&file, b"Dear Maya, your results are back.").unwrap();
    let added = ok(
        &d,
        &[
            "vault",
            "add",
            file.to_str().unwrap(),
            "--title",
            HOSTILE,
            "--notes",
            HOSTILE,
            "--tag",
            "letters",
        ],
    );
    assert_neutralised(&["vault", "add"], &added);
    let id = added
        .lines()
        .find_map(|l| l.strip_prefix("added "))
        .unwrap()
        .trim()
        .to_owned();
    for args in [
        &["vault", "list"][..],
        &["vault", "search", "fever"],
        &["vault", "show", &id],
        &["vault", "verify"],
    ] {
        assert_neutralised(args, &ok(&d, args));
    }
}

#[test]
fn a_data_directory_named_with_an_escape_sequence_prints_neutralised() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join(HOSTILE);
    let out = cairn(&data_dir, PASS, &["init"]);
    assert!(out.status.success());
    assert_neutralised(&["init"], &String::from_utf8(out.stdout).unwrap());
}
