//! `cairn init`, `status`, `passwd` and `demo`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use crate::fixture::{PASS, cairn};

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn init_then_status_with_the_right_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let out = cairn(dir.path(), PASS, &["init"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let out = cairn(dir.path(), PASS, &["status"]);
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    assert!(stdout.contains("schema version"), "{stdout}");
    assert!(
        stdout.contains("device") && stdout.contains("outbox"),
        "{stdout}"
    );
    let db = std::fs::read(dir.path().join("cairn.db")).unwrap();
    assert!(!db.starts_with(b"SQLite format 3"));
}

#[test]
fn a_wrong_passphrase_is_one_line_non_zero_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(cairn(dir.path(), PASS, &["init"]).status.success());
    let before = files(dir.path());
    let out = cairn(dir.path(), "not the passphrase", &["status"]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("passphrase"), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
    assert_eq!(files(dir.path()), before, "a refused open changes no byte");
}

#[test]
fn status_without_a_store_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = cairn(dir.path(), PASS, &["status"]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("cairn init"), "{stderr}");
}

#[test]
fn init_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(cairn(dir.path(), PASS, &["init"]).status.success());
    let out = cairn(dir.path(), PASS, &["init"]);
    assert!(!out.status.success());
    assert_eq!(text(&out).1.lines().count(), 1);
}

#[test]
fn passwd_changes_the_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    assert!(cairn(dir.path(), PASS, &["init"]).status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("passwd")
        .env("CAIRN_PASSPHRASE", PASS)
        .env("CAIRN_NEW_PASSPHRASE", "maple-quartz-17-harbor-violet")
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(!cairn(dir.path(), PASS, &["status"]).status.success());
    assert!(
        cairn(dir.path(), "maple-quartz-17-harbor-violet", &["status"])
            .status
            .success()
    );
}

/// Passphrases a guesser tries first.
const WEAK: [&str; 4] = ["password", "12345678", "correct horse", "aaaaaaaaaaaa"];

/// Asserts the command failed with one line that refuses the passphrase as too easy to guess.
fn refused_as_weak(out: &Output, weak: &str) {
    let (stdout, stderr) = text(out);
    assert!(!out.status.success(), "{weak}: {stdout}");
    assert!(stdout.is_empty(), "{weak}: {stdout}");
    assert_eq!(stderr.lines().count(), 1, "{weak}: {stderr}");
    assert!(
        stderr.starts_with("cairn: invalid passphrase: too easy to guess."),
        "{weak}: {stderr}"
    );
}

#[test]
fn init_refuses_a_weak_passphrase_and_creates_nothing() {
    for weak in WEAK {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        refused_as_weak(&cairn(&store, weak, &["init"]), weak);
        assert!(
            !store.exists(),
            "{weak}: nothing is created, not even the directory"
        );
    }
}

#[test]
fn passwd_refuses_a_weak_passphrase_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(cairn(dir.path(), PASS, &["init"]).status.success());
    let before = files(dir.path());
    for weak in WEAK {
        let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .arg("--data-dir")
            .arg(dir.path())
            .arg("passwd")
            .env("CAIRN_PASSPHRASE", PASS)
            .env("CAIRN_NEW_PASSPHRASE", weak)
            .output()
            .unwrap();
        refused_as_weak(&out, weak);
        assert_eq!(files(dir.path()), before, "{weak}: no byte changed");
        assert!(!cairn(dir.path(), weak, &["status"]).status.success());
    }
    assert!(cairn(dir.path(), PASS, &["status"]).status.success());
}

#[test]
fn bad_qa_time_flags_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = cairn(dir.path(), PASS, &["--tz", "Mars/Olympus", "status"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("--tz"));
    let out = cairn(dir.path(), PASS, &["--now", "yesterday-ish", "status"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("--now"));
}

#[test]
fn the_demo_runs() {
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("demo")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("plaintext SQLite header: no"), "{stdout}");
    assert!(stdout.contains("refused"), "{stdout}");
}

#[test]
fn the_demo_syncs_a_linked_tablet_through_a_relay_that_reads_nothing() {
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("demo")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let relay = stdout
        .split("-- Sync")
        .nth(1)
        .unwrap_or_else(|| panic!("no sync section: {stdout}"));
    assert!(relay.contains("relay: http://127.0.0.1:"), "{relay}");
    assert!(relay.contains("recovery kit: CAIRN1-"), "{relay}");
    assert!(relay.contains("tablet typed it: linked"), "{relay}");
    assert!(relay.contains("tablet synced: received"), "{relay}");
    assert!(
        relay.contains("Capecitabine"),
        "the tablet's doses: {relay}"
    );
    assert!(
        relay.contains("on the phone:") && relay.contains("Fatigue"),
        "{relay}"
    );
    let scan = relay
        .split("-- What the relay holds")
        .nth(1)
        .unwrap_or_else(|| panic!("no scan of the relay's files: {relay}"));
    let answers: Vec<&str> = scan.lines().skip(1).collect();
    assert_eq!(answers.len(), 5, "{scan}");
    for line in answers {
        assert!(line.ends_with(" no"), "{line}");
    }
}

#[test]
fn a_reader_that_goes_away_ends_output_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    // `cairn --help`-sized output is too small to fill a pipe; the demo prints plenty.
    let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("internal error"), "{stderr}");
    assert!(status.success() || status.code() == Some(141), "{status:?}");
}
