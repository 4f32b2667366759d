//! `cairn vault` as a person and a QA script use it, and a crash test that kills imports.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cairn_tests::sample;

use crate::fixture::{PASS, cairn, new_store, ok, store_in as store};

/// The id printed on the line after `added <id>`.
fn added_id(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("added "))
        .unwrap_or_else(|| panic!("no `added` line in {stdout}"))
        .trim()
        .to_owned()
}

fn files(dir: &Path, suffix: &str) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(suffix))
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn add_list_search_show_export_and_remove() {
    let dir = new_store();
    let s = store(&dir);
    let pdf = dir.path().join("histology report.pdf");
    let bytes = sample(300_000, 1);
    std::fs::write(&pdf, &bytes).unwrap();
    let out = ok(&cairn(
        &s,
        PASS,
        &[
            "vault",
            "add",
            pdf.to_str().unwrap(),
            "--kind",
            "pathology",
            "--date",
            "2026-02-03",
            "--tag",
            "biopsy",
            "--notes",
            "HER2 negative",
        ],
    ));
    let id = added_id(&out);
    assert!(
        out.contains("histology report"),
        "title from the file name: {out}"
    );

    let again = ok(&cairn(&s, PASS, &["vault", "add", pdf.to_str().unwrap()]));
    assert!(
        again.contains(&format!("already in the vault as {id}")),
        "{again}"
    );

    let list = ok(&cairn(&s, PASS, &["vault", "list", "--kind", "pathology"]));
    assert!(
        list.contains(&id) && list.contains("1 document(s)"),
        "{list}"
    );
    let none = ok(&cairn(&s, PASS, &["vault", "list", "--from", "2026-03-01"]));
    assert!(none.contains("0 document(s)"), "{none}");
    let found = ok(&cairn(&s, PASS, &["vault", "search", "her2"]));
    assert!(found.contains(&id), "{found}");
    let shown = ok(&cairn(&s, PASS, &["vault", "show", &id]));
    assert!(
        shown.contains("application/pdf") && shown.contains("300000 bytes"),
        "{shown}"
    );

    let dest = dir.path().join("out").join("copy.pdf");
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    ok(&cairn(
        &s,
        PASS,
        &["vault", "export", &id, dest.to_str().unwrap()],
    ));
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);

    ok(&cairn(&s, PASS, &["vault", "rm", &id]));
    let list = ok(&cairn(&s, PASS, &["vault", "list"]));
    assert!(list.contains("0 document(s)"), "{list}");
    assert!(files(&s.join("vault"), ".age").is_empty());
    let out = cairn(&s, PASS, &["vault", "show", &id]);
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
fn verify_reports_a_flipped_byte_by_document() {
    let dir = new_store();
    let s = store(&dir);
    let mut ids = Vec::new();
    for (i, title) in ["Blood results", "MRI report"].iter().enumerate() {
        let path = dir.path().join(format!("doc{i}.bin"));
        std::fs::write(&path, sample(200_000, 10 + i as u64)).unwrap();
        ids.push(added_id(&ok(&cairn(
            &s,
            PASS,
            &["vault", "add", path.to_str().unwrap(), "--title", title],
        ))));
    }
    let clean = ok(&cairn(&s, PASS, &["vault", "verify"]));
    assert!(
        clean.contains("2 document(s) checked, 0 with problems"),
        "{clean}"
    );

    // Flip one byte in the middle of the second document's content file.
    let vault = s.join("vault");
    // Which document the file belongs to is for the report to say.
    let target = vault.join(&files(&vault, ".age")[0]);
    let mut data = std::fs::read(&target).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0x04;
    std::fs::write(&target, data).unwrap();

    let out = cairn(&s, PASS, &["vault", "verify"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !out.status.success(),
        "a damaged vault fails verify: {stdout}"
    );
    assert!(stdout.contains("1 with problems"), "{stdout}");
    let bad_line = stdout.lines().find(|l| l.starts_with("CORRUPT")).unwrap();
    let bad_id = ids
        .iter()
        .find(|id| bad_line.contains(id.as_str()))
        .unwrap();
    let good_id = ids.iter().find(|id| *id != bad_id).unwrap();
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("ok") && l.contains(good_id.as_str())),
        "{stdout}"
    );
    // The damaged document refuses to export; the other still does.
    let dest = dir.path().join("out.bin");
    let out = cairn(
        &s,
        PASS,
        &["vault", "export", bad_id, dest.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(bad_id.as_str()));
    assert!(!dest.exists());
    ok(&cairn(
        &s,
        PASS,
        &["vault", "export", good_id, dest.to_str().unwrap()],
    ));
}

/// A small deterministic generator for kill delays, so a failure can be replayed.
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

fn spawn_add(s: &Path, file: &Path, title: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("--data-dir")
        .arg(s)
        .args(["vault", "add"])
        .arg(file)
        .args(["--title", title])
        .env("CAIRN_PASSPHRASE", PASS)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start cairn")
}

fn document_count(s: &Path) -> usize {
    let list = ok(&cairn(s, PASS, &["vault", "list"]));
    list.lines()
        .last()
        .and_then(|l| l.strip_suffix(" document(s)"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {list}"))
}

#[test]
fn killing_imports_at_random_points_leaves_old_or_new_state_and_no_orphans() {
    const RUNS: u64 = 30;
    let dir = new_store();
    let s = store(&dir);
    let vault = s.join("vault");
    let big = dir.path().join("scan.bin");
    // Long enough to kill mid-way in a debug build, which seals a few MB a second: the cipher's
    // generic code is compiled at the core's optimisation level.
    let mut content = sample(3 * 1024 * 1024, 99);

    // How long an import takes uninterrupted on this machine, so kills land throughout it
    // (up to twice as long: imports right after a large write wait longer for fsync).
    std::fs::write(&big, &content).unwrap();
    let started = Instant::now();
    let status = spawn_add(&s, &big, "baseline").wait().unwrap();
    assert!(status.success());
    let full = started.elapsed();
    let mut expected = 1;
    assert_eq!(document_count(&s), expected);

    let mut rng = Lcg(0x5eed);
    let (mut interrupted, mut completed, mut leftovers_seen) = (0, 0, 0);
    for run in 0..RUNS {
        // Different content each run, so no import is a duplicate of an earlier one.
        content[..8].copy_from_slice(&(run + 1).to_le_bytes());
        std::fs::write(&big, &content).unwrap();
        let delay = Duration::from_micros(rng.below(full.as_micros() as u64 * 2));
        let mut child = spawn_add(&s, &big, &format!("run {run}"));
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.success() {
            completed += 1;
        } else {
            interrupted += 1;
        }
        let partials = files(&vault.join("tmp"), ".partial").len();
        let age_files = files(&vault, ".age").len();
        if partials > 0 || age_files > expected {
            leftovers_seen += 1;
        }
        // Opening the store (here: listing) removes orphans.
        let count = document_count(&s);
        assert!(
            count == expected || count == expected + 1,
            "run {run} (killed after {delay:?}): {count} documents, expected {expected} or one more"
        );
        expected = count;
        assert!(
            files(&vault.join("tmp"), ".partial").is_empty(),
            "run {run}: temporary files left after open"
        );
        assert_eq!(
            files(&vault, ".age").len(),
            count,
            "run {run}: content files without metadata, or metadata without content"
        );
    }
    eprintln!(
        "{RUNS} runs: {interrupted} interrupted ({leftovers_seen} left files behind), \
         {completed} completed; an import takes {full:?}"
    );
    let report = ok(&cairn(&s, PASS, &["vault", "verify"]));
    assert!(
        report.contains(&format!("{expected} document(s) checked, 0 with problems")),
        "{report}"
    );
    assert!(
        interrupted > 0,
        "no run was interrupted: the test did not test crashes"
    );
    assert!(
        leftovers_seen > 0,
        "no kill landed mid-import ({interrupted} interrupted, {completed} completed)"
    );
}

#[test]
fn killing_a_replace_leaves_the_old_version_or_the_new_one() {
    const RUNS: u64 = 15;
    let dir = new_store();
    let s = store(&dir);
    let vault = s.join("vault");
    let file = dir.path().join("report.bin");
    // Long enough to kill mid-way in a debug build (see the import test above).
    let mut content = sample(2 * 1024 * 1024, 7);
    std::fs::write(&file, &content).unwrap();
    let id = added_id(&ok(&cairn(
        &s,
        PASS,
        &["vault", "add", file.to_str().unwrap()],
    )));
    let mut current = content.clone();
    let exported = dir.path().join("exported.bin");

    let started = Instant::now();
    ok(&cairn(
        &s,
        PASS,
        &["vault", "replace", &id, file.to_str().unwrap()],
    ));
    let full = started.elapsed();

    let mut rng = Lcg(0xbeef);
    let mut interrupted = 0;
    for run in 0..RUNS {
        content[..8].copy_from_slice(&(run + 100).to_le_bytes());
        std::fs::write(&file, &content).unwrap();
        let delay = Duration::from_micros(rng.below(full.as_micros() as u64 * 2));
        let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .arg("--data-dir")
            .arg(&s)
            .args(["vault", "replace", &id])
            .arg(&file)
            .env("CAIRN_PASSPHRASE", PASS)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        if !child.wait().unwrap().success() {
            interrupted += 1;
        }
        // Opening the store for the export removes leftovers first.
        ok(&cairn(
            &s,
            PASS,
            &["vault", "export", &id, exported.to_str().unwrap()],
        ));
        let now = std::fs::read(&exported).unwrap();
        assert!(
            now == current || now == content,
            "run {run} (killed after {delay:?}): neither the old nor the new version"
        );
        current = now;
        assert_eq!(
            files(&vault, ".age").len(),
            1,
            "run {run}: one version on disk"
        );
        assert!(files(&vault.join("tmp"), ".partial").is_empty());
    }
    let report = ok(&cairn(&s, PASS, &["vault", "verify"]));
    assert!(
        report.contains("1 document(s) checked, 0 with problems"),
        "{report}"
    );
    assert!(interrupted > 0, "no replace was interrupted");
}

#[test]
fn a_handed_over_key_opens_the_file_with_the_standard_age_tool() {
    let has_age = Command::new("age")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_age,
        "this test needs the standard `age` command (Debian: `apt-get install -y age`; \
         scripts/test-all installs it)"
    );
    let dir = new_store();
    let s = store(&dir);
    let letter = dir.path().join("letter.pdf");
    let bytes = sample(150_000, 21);
    std::fs::write(&letter, &bytes).unwrap();
    let id = added_id(&ok(&cairn(
        &s,
        PASS,
        &["vault", "add", letter.to_str().unwrap()],
    )));
    let key = dir.path().join("for-the-clinic.key");
    let out = ok(&cairn(
        &s,
        PASS,
        &["vault", "key", &id, key.to_str().unwrap()],
    ));
    let encrypted = out
        .lines()
        .find_map(|l| l.strip_prefix("encrypted file "))
        .unwrap()
        .trim()
        .to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key file is private: {mode:o}");
    }
    let decrypted = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg(&encrypted)
        .output()
        .unwrap();
    assert!(decrypted.status.success());
    assert_eq!(decrypted.stdout, bytes);
    // An existing file is never overwritten with a key.
    let again = cairn(&s, PASS, &["vault", "key", &id, key.to_str().unwrap()]);
    assert!(!again.status.success());
}

#[test]
fn list_search_and_show_print_json() {
    let dir = new_store();
    let s = store(&dir);
    let empty: serde_json::Value =
        serde_json::from_str(&ok(&cairn(&s, PASS, &["vault", "list", "--json"]))).unwrap();
    assert_eq!(empty, serde_json::json!([]));
    let pdf = dir.path().join("scan.pdf");
    std::fs::write(&pdf, sample(1234, 7)).unwrap();
    let id = added_id(&ok(&cairn(
        &s,
        PASS,
        &["vault", "add", pdf.to_str().unwrap(), "--kind", "imaging"],
    )));
    let check = |doc: &serde_json::Value| {
        assert_eq!(doc["id"], id.as_str());
        assert_eq!(doc["title"], "scan");
        assert_eq!(doc["kind"], "imaging");
        assert_eq!(doc["content_type"], "application/pdf");
        assert_eq!(doc["size"], 1234);
    };
    for args in [
        &["vault", "list", "--json"][..],
        &["vault", "search", "scan", "--json"],
    ] {
        let list: serde_json::Value = serde_json::from_str(&ok(&cairn(&s, PASS, args))).unwrap();
        assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
        check(&list[0]);
    }
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&cairn(&s, PASS, &["vault", "show", &id, "--json"]))).unwrap();
    check(&shown);
}
