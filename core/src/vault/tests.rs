use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::clock::FixedClock;
use crate::record::{FieldChange, Op};
use crate::store::{MemoryKeyStore, Unlock};

/// The patient's phone: a fresh store in London.
/// A phone's store, in `dir/store`; the rest of `dir` stands for the person's own files.
struct Phone {
    store: Store,
    keys: MemoryKeyStore,
    dir: tempfile::TempDir,
}

impl Phone {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let keys = MemoryKeyStore::default();
        let store =
            Store::create(&dir.path().join("store"), Unlock::KeyStore(&keys), clock()).unwrap();
        Self { store, keys, dir }
    }

    fn reopen(self) -> Self {
        let Phone { store, keys, dir } = self;
        store.close().unwrap();
        let store =
            Store::open(&dir.path().join("store"), Unlock::KeyStore(&keys), clock()).unwrap();
        Self { store, keys, dir }
    }

    fn add(&self, title: &str, kind: DocumentKind, bytes: &[u8]) -> Document {
        match self
            .store
            .import_document_bytes(bytes, &DocumentMeta::new(title, kind))
            .unwrap()
        {
            ImportOutcome::Added(d) => d,
            ImportOutcome::AlreadyInVault(_) => panic!("unexpected duplicate"),
        }
    }

    fn export(&self, id: &str) -> Result<Vec<u8>> {
        let out = self.dir.path().join("exported.bin");
        let _ = std::fs::remove_file(&out);
        self.store.export_document(id, &out, &mut |_, _| {})?;
        Ok(std::fs::read(out).unwrap())
    }

    fn content_file(&self, id: &str) -> PathBuf {
        self.store.document_content_path(id).unwrap()
    }
}

fn clock() -> Arc<dyn crate::Clock> {
    Arc::new(FixedClock::new(
        "2026-03-08T12:00:00Z".parse::<Timestamp>().unwrap(),
        TimeZone::get("Europe/London").unwrap(),
    ))
}

/// Deterministic, incompressible-looking bytes.
fn sample(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The files in `dir`, but for the vault's lock file.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_file() && e.file_name() != ".lock")
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

/// Every text value in every table of the database, for scanning for secrets.
fn all_text(store: &Store) -> Vec<String> {
    let tables: Vec<String> = {
        let mut stmt = store
            .conn()
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    let mut out = Vec::new();
    for table in tables {
        let mut stmt = store
            .conn()
            .prepare(&format!("SELECT * FROM \"{table}\""))
            .unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        out.push(String::from_utf8_lossy(t).into_owned());
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

#[test]
fn a_document_round_trips_through_import_and_export() {
    let phone = Phone::new();
    let bytes = sample(200_000, 1);
    let doc = phone.add("CT chest", DocumentKind::Imaging, &bytes);
    assert_eq!(doc.size, 200_000);
    assert_eq!(doc.title, "CT chest");
    assert_eq!(phone.export(&doc.id).unwrap(), bytes);
    let on_disk = std::fs::read(phone.content_file(&doc.id)).unwrap();
    assert!(on_disk.starts_with(b"age-encryption.org/v1\n"));
    assert!(
        !on_disk.windows(64).any(|w| w == &bytes[1000..1064]),
        "content is stored encrypted"
    );
}

#[test]
fn importing_a_file_streams_with_progress_up_to_its_size() {
    let phone = Phone::new();
    let path = phone.dir.path().join("scan.pdf");
    let bytes = sample(1_000_000, 2);
    std::fs::write(&path, &bytes).unwrap();
    let mut seen = Vec::new();
    let mut meta = DocumentMeta::new("Pathology report", DocumentKind::Pathology);
    meta.content_type = "application/pdf".into();
    let outcome = phone
        .store
        .import_document(&path, &meta, &mut |done, total| seen.push((done, total)))
        .unwrap();
    let doc = outcome.document().clone();
    assert!(matches!(outcome, ImportOutcome::Added(_)));
    assert_eq!(doc.content_type, "application/pdf");
    assert_eq!(seen.first(), Some(&(0, 1_000_000)));
    assert_eq!(seen.last(), Some(&(1_000_000, 1_000_000)));
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
    let mut export_seen = Vec::new();
    let out = phone.dir.path().join("copy.pdf");
    phone
        .store
        .export_document(&doc.id, &out, &mut |d, t| export_seen.push((d, t)))
        .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    assert_eq!(export_seen.last(), Some(&(1_000_000, 1_000_000)));
    assert!(files_in(&phone.store.vault_dir().join("tmp")).is_empty());
}

#[test]
fn the_same_content_twice_is_found_without_a_plain_hash() {
    let phone = Phone::new();
    let bytes = sample(70_000, 3);
    let first = phone.add("Discharge letter", DocumentKind::DischargeSummary, &bytes);
    let again = phone
        .store
        .import_document_bytes(
            &bytes,
            &DocumentMeta::new("Same letter", DocumentKind::Letter),
        )
        .unwrap();
    assert_eq!(again, ImportOutcome::AlreadyInVault(first.clone()));
    assert_eq!(
        phone
            .store
            .documents(&DocumentFilter::default())
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        files_in(&phone.store.vault_dir()).len(),
        1,
        "no second file"
    );
    // The stored fingerprint is keyed: it is not the plain BLAKE3 (nor SHA-256) of the content.
    let stored: String = phone
        .store
        .conn()
        .query_row("SELECT fingerprint FROM vault_fingerprints", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_ne!(stored, blake3::hash(&bytes).to_hex().as_str());
    let texts = all_text(&phone.store);
    assert!(
        !texts
            .iter()
            .any(|t| t.contains(blake3::hash(&bytes).to_hex().as_str()))
    );
    // Another store keys its fingerprints differently.
    let other = Phone::new();
    let doc = other.add("Discharge letter", DocumentKind::DischargeSummary, &bytes);
    let theirs: String = other
        .store
        .conn()
        .query_row(
            "SELECT fingerprint FROM vault_fingerprints WHERE document_id = ?1",
            [&doc.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_ne!(stored, theirs);
}

#[test]
fn lists_filter_by_kind_tag_and_date() {
    let phone = Phone::new();
    let mut blood = DocumentMeta::new("Full blood count", DocumentKind::LabReport);
    blood.document_date = Some(date(2026, 1, 15));
    blood.tags = vec!["Cycle 3".into(), " chemo ".into(), "chemo".into()];
    let mut scan = DocumentMeta::new("PET-CT restaging", DocumentKind::Imaging);
    scan.document_date = Some(date(2026, 2, 20));
    scan.tags = vec!["restaging".into()];
    let mut form = DocumentMeta::new("Claim form", DocumentKind::Insurance);
    form.tags = vec!["chemo".into()];
    let blood = phone.store.import_document_bytes(b"fbc", &blood).unwrap();
    let scan = phone.store.import_document_bytes(b"pet", &scan).unwrap();
    let form = phone.store.import_document_bytes(b"form", &form).unwrap();
    let (blood, scan, form) = (blood.document(), scan.document(), form.document());
    assert_eq!(blood.tags, vec!["chemo", "cycle 3"]);

    let ids = |f: DocumentFilter| -> Vec<String> {
        phone
            .store
            .documents(&f)
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect()
    };
    assert_eq!(
        ids(DocumentFilter::default()),
        vec![scan.id.clone(), blood.id.clone(), form.id.clone()],
        "newest document date first, undated last"
    );
    assert_eq!(
        ids(DocumentFilter {
            kind: Some(DocumentKind::Imaging),
            ..Default::default()
        }),
        vec![scan.id.clone()]
    );
    assert_eq!(
        ids(DocumentFilter {
            tag: Some("Chemo".into()),
            ..Default::default()
        }),
        vec![blood.id.clone(), form.id.clone()]
    );
    assert_eq!(
        ids(DocumentFilter {
            from: Some(date(2026, 1, 1)),
            to: Some(date(2026, 1, 31)),
            ..Default::default()
        }),
        vec![blood.id.clone()]
    );
}

#[test]
fn search_finds_title_notes_and_tags_by_prefix() {
    let phone = Phone::new();
    let mut letter = DocumentMeta::new("Letter from Dr Okafor", DocumentKind::Letter);
    letter.notes = "Discusses oxaliplatin neuropathy and a dose reduction".into();
    let mut report = DocumentMeta::new("Histology", DocumentKind::Pathology);
    report.tags = vec!["biopsy".into(), "HER2".into()];
    let letter = phone.store.import_document_bytes(b"l", &letter).unwrap();
    let report = phone.store.import_document_bytes(b"r", &report).unwrap();
    let found = |q: &str| -> Vec<String> {
        phone
            .store
            .search_documents(q)
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect()
    };
    assert_eq!(found("okafor"), vec![letter.document().id.clone()]);
    assert_eq!(found("neuropath"), vec![letter.document().id.clone()]);
    assert_eq!(found("her2"), vec![report.document().id.clone()]);
    assert_eq!(
        found("biopsy histology"),
        vec![report.document().id.clone()]
    );
    assert!(found("biopsy okafor").is_empty(), "every word must match");
    // FTS syntax in what a person types is searched for, never parsed.
    for odd in ["\"", "a OR", "NEAR(", "*", "-x", "title:", ""] {
        phone.store.search_documents(odd).unwrap();
    }
    // Found by fuzzing: an accent typed as a combining mark split the word in the query only.
    let combining = DocumentMeta::new(
        "Re\u{301}sume\u{301} de\u{301}taille\u{301}",
        DocumentKind::Letter,
    );
    let combining = phone.store.import_document_bytes(b"c", &combining).unwrap();
    assert_eq!(
        found("Re\u{301}sume\u{301} de\u{301}taille\u{301}"),
        vec![combining.document().id.clone()]
    );
    assert_eq!(found("resume"), vec![combining.document().id.clone()]);
    // Found by fuzzing: a lone combining mark is a word with no token; it must not empty the
    // result.
    assert_eq!(
        found("resume \u{670}"),
        vec![combining.document().id.clone()]
    );
    // Edits and deletes keep the index in step.
    let mut renamed = DocumentMeta::new("Oncology clinic letter", DocumentKind::Letter);
    renamed.notes = String::new();
    phone
        .store
        .edit_document(&letter.document().id, &renamed)
        .unwrap();
    assert!(found("okafor").is_empty());
    assert_eq!(found("oncology"), vec![letter.document().id.clone()]);
    phone.store.delete_document(&report.document().id).unwrap();
    assert!(found("biopsy").is_empty());
}

#[test]
fn bad_metadata_is_refused_without_echoing_it() {
    let phone = Phone::new();
    let secret = "Mrs Example's diagnosis";
    let mut meta = DocumentMeta::new("   ", DocumentKind::Other);
    let err = phone.store.import_document_bytes(b"x", &meta).unwrap_err();
    assert!(matches!(err, Error::Invalid { field: "title", .. }));
    meta.title = secret.into();
    meta.content_type = secret.into();
    let err = phone.store.import_document_bytes(b"x", &meta).unwrap_err();
    assert!(matches!(
        err,
        Error::Invalid {
            field: "content_type",
            ..
        }
    ));
    assert!(!err.to_string().contains("Example"));
    meta.content_type = "application/pdf".into();
    meta.linked_events = vec!["../../etc".into()];
    let err = phone.store.import_document_bytes(b"x", &meta).unwrap_err();
    assert!(matches!(
        err,
        Error::Invalid {
            field: "linked_events",
            ..
        }
    ));
    assert!(
        phone
            .store
            .documents(&DocumentFilter::default())
            .unwrap()
            .is_empty()
    );
    assert!(files_in(&phone.store.vault_dir()).is_empty());
    assert!(DocumentKind::parse("lab-report").is_ok());
    assert!(DocumentKind::parse("x-ray").is_err());
}

#[test]
fn a_flipped_byte_is_a_typed_error_naming_the_document_and_writes_nothing() {
    let phone = Phone::new();
    let bytes = sample(300_000, 4);
    let doc = phone.add("Operation note", DocumentKind::Letter, &bytes);
    let file = phone.content_file(&doc.id);
    let mut data = std::fs::read(&file).unwrap();
    let at = data.len() / 2;
    data[at] ^= 0x01;
    std::fs::write(&file, &data).unwrap();
    let out = phone.dir.path().join("never.bin");
    let err = phone
        .store
        .export_document(&doc.id, &out, &mut |_, _| {})
        .unwrap_err();
    match &err {
        Error::Corrupt(what) => assert!(what.contains(&doc.id), "{what}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(!err.to_string().contains("Operation"));
    assert!(!out.exists(), "nothing is written for a failed export");
    let leftovers: Vec<String> = files_in(phone.dir.path())
        .into_iter()
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn truncated_reordered_extended_or_swapped_files_fail_authentication() {
    let phone = Phone::new();
    let bytes = sample(3 * 65_536 + 100, 5);
    let doc = phone.add("MRI brain", DocumentKind::Imaging, &bytes);
    let other = phone.add("MRI spine", DocumentKind::Imaging, &sample(1000, 6));
    let file = phone.content_file(&doc.id);
    let original = std::fs::read(&file).unwrap();
    let chunk = 65_536 + 16;
    // Payload starts after the header and the 16-byte nonce.
    let header_end = original
        .windows(5)
        .position(|w| w == b"\n--- ")
        .map(|p| p + original[p + 1..].iter().position(|&b| b == b'\n').unwrap() + 2)
        .unwrap();
    let payload = header_end + 16;

    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "cut at a chunk boundary",
            original[..payload + chunk].to_vec(),
        ),
        ("cut mid-chunk", original[..original.len() - 50].to_vec()),
        (
            "last chunk dropped",
            original[..payload + 3 * chunk].to_vec(),
        ),
        ("chunks swapped", {
            let mut d = original.clone();
            let (a, b) = (payload, payload + chunk);
            let first = d[a..a + chunk].to_vec();
            let second = d[b..b + chunk].to_vec();
            d[a..a + chunk].copy_from_slice(&second);
            d[b..b + chunk].copy_from_slice(&first);
            d
        }),
        ("header flipped", {
            let mut d = original.clone();
            d[30] ^= 0x20;
            d
        }),
        (
            "another document's file",
            std::fs::read(phone.content_file(&other.id)).unwrap(),
        ),
        ("empty", Vec::new()),
        ("extended by a byte", [&original[..], b"\0"].concat()),
        (
            "extended by a copy of the first chunk",
            [&original[..], &original[payload..payload + chunk]].concat(),
        ),
        ("only the header", original[..payload].to_vec()),
    ];
    for (what, data) in cases {
        std::fs::write(&file, &data).unwrap();
        let err = phone.export(&doc.id).unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt(m) if m.contains(&doc.id)),
            "{what}: {err:?}"
        );
        assert!(
            !phone.dir.path().join("exported.bin").exists(),
            "{what}: plaintext reached the destination"
        );
    }
    std::fs::write(&file, &original).unwrap();
    assert_eq!(phone.export(&doc.id).unwrap(), bytes);
}

#[test]
fn verify_reports_each_document() {
    let phone = Phone::new();
    let good = phone.add(
        "Blood results",
        DocumentKind::LabReport,
        &sample(100_000, 7),
    );
    let flipped = phone.add("Biopsy", DocumentKind::Pathology, &sample(100_000, 8));
    let gone = phone.add("Prescription", DocumentKind::Prescription, b"rx");
    let file = phone.content_file(&flipped.id);
    let mut data = std::fs::read(&file).unwrap();
    let last = data.len() - 10;
    data[last] ^= 0x80;
    std::fs::write(&file, data).unwrap();
    std::fs::remove_file(phone.content_file(&gone.id)).unwrap();
    let report = phone.store.verify_vault().unwrap();
    let health = |id: &str| report.iter().find(|c| c.id == id).unwrap().health;
    assert_eq!(report.len(), 3);
    assert_eq!(health(&good.id), DocumentHealth::Ok);
    assert_eq!(health(&flipped.id), DocumentHealth::Corrupt);
    assert_eq!(health(&gone.id), DocumentHealth::Missing);
}

#[test]
fn verify_notices_a_fingerprint_that_no_longer_matches() {
    let phone = Phone::new();
    let doc = phone.add("Letter", DocumentKind::Letter, b"the letter");
    phone
        .store
        .conn()
        .execute(
            "UPDATE vault_fingerprints SET fingerprint = ?1",
            [blake3::hash(b"other").to_hex().as_str()],
        )
        .unwrap();
    let report = phone.store.verify_vault().unwrap();
    assert_eq!(report[0].id, doc.id);
    assert_eq!(report[0].health, DocumentHealth::ContentMismatch);
}

#[test]
fn replacing_content_makes_a_new_version_under_a_new_key() {
    let phone = Phone::new();
    let doc = phone.add("Care plan", DocumentKind::Letter, b"version one");
    let old_file = phone.content_file(&doc.id);
    let old_key = phone.store.document_key(&doc.id).unwrap();
    let new_path = phone.dir.path().join("v2.txt");
    std::fs::write(&new_path, b"version two, longer").unwrap();
    let updated = phone
        .store
        .replace_document_content(&doc.id, &new_path, &mut |_, _| {})
        .unwrap();
    assert_eq!(updated.size, 19);
    assert_eq!(updated.title, "Care plan");
    assert_eq!(phone.export(&doc.id).unwrap(), b"version two, longer");
    assert!(!old_file.exists(), "the old version's file is removed");
    assert_ne!(*phone.store.document_key(&doc.id).unwrap(), *old_key);
    assert_eq!(files_in(&phone.store.vault_dir()).len(), 1);
    let report = phone.store.verify_vault().unwrap();
    assert_eq!(report[0].health, DocumentHealth::Ok);
}

#[test]
fn delete_shreds_the_key_so_a_backup_of_the_file_is_useless() {
    let phone = Phone::new();
    let bytes = sample(150_000, 9);
    let doc = phone.add("Insurance claim", DocumentKind::Insurance, &bytes);
    let keep = phone.add("Keep me", DocumentKind::Other, b"kept");
    let backup = phone.dir.path().join("backup.age");
    std::fs::copy(phone.content_file(&doc.id), &backup).unwrap();
    let key = phone.store.document_key(&doc.id).unwrap();
    assert!(
        all_text(&phone.store)
            .iter()
            .any(|t| t.contains(key.as_str()))
    );

    phone.store.delete_document(&doc.id).unwrap();
    assert!(matches!(
        phone.store.document(&doc.id),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        files_in(&phone.store.vault_dir()),
        vec![format!(
            "{}",
            phone
                .content_file(&keep.id)
                .file_name()
                .unwrap()
                .to_string_lossy()
        )]
    );
    // The key is nowhere in the database: not in the document's row, the outbox or anywhere
    // else.
    let texts = all_text(&phone.store);
    assert!(!texts.iter().any(|t| t.contains(key.as_str())));
    // Every age key still in the database fails to open the backup.
    let remaining: Vec<&String> = texts
        .iter()
        .filter(|t| t.contains("AGE-SECRET-KEY-"))
        .collect();
    assert_eq!(
        remaining.len(),
        1,
        "only the kept document's key, in its row: the one copy of its values"
    );
    for text in remaining {
        let start = text.find("AGE-SECRET-KEY-").unwrap();
        let candidate: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let identity = content::parse_identity(&candidate, "backup").unwrap();
        let err = content::decrypt_stream(
            &backup,
            &identity,
            "backup",
            &mut std::io::sink(),
            None,
            0,
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(matches!(err, Error::Corrupt(_)));
    }
    // The deletion itself still syncs.
    let outbox = phone.store.outbox(1000).unwrap();
    assert!(
        outbox
            .changes
            .iter()
            .any(|c| c.id == doc.id && c.op == Op::Delete)
    );
}

#[test]
fn a_key_arriving_after_the_delete_is_shredded_too() {
    let phone = Phone::new();
    let doc = phone.add("Scan", DocumentKind::Imaging, b"scan");
    phone.store.delete_document(&doc.id).unwrap();
    let late_key = content::new_identity().1;
    let change = FieldChange {
        entity: DOCUMENT.name.into(),
        id: doc.id.clone(),
        op: Op::Set {
            field: "content_key".into(),
            value: Value::from(late_key.as_str()),
        },
        hlc: "019d00000000.00000000.ffffffffffffffffffffffffffffffff".into(),
        author: "someone".into(),
    };
    // A change from another device with a newer clock must not bring the key back.
    phone
        .store
        .apply_remote(std::slice::from_ref(&change))
        .unwrap();
    assert!(
        !all_text(&phone.store)
            .iter()
            .any(|t| t.contains(late_key.as_str()))
    );
}

#[test]
fn reopening_removes_leftovers_of_interrupted_work_and_nothing_else() {
    let phone = Phone::new();
    let doc = phone.add("Kept", DocumentKind::Other, b"kept bytes");
    let vault = phone.store.vault_dir();
    std::fs::write(vault.join("tmp").join("abc.partial"), b"half an import").unwrap();
    // An import killed between its content file's rename and its commit: the file was noted.
    let orphan_id = new_id();
    let orphan = vault.join(format!("{orphan_id}.age"));
    std::fs::write(&orphan, b"content whose metadata never committed").unwrap();
    phone
        .store
        .conn()
        .execute(
            "INSERT INTO vault_pending_files(file_id) VALUES (?1)",
            [&orphan_id],
        )
        .unwrap();
    // A content file nothing noted: its metadata may be in a lost -wal. It is kept.
    let unnoted = vault.join(format!("{}.age", new_id()));
    std::fs::write(&unnoted, b"content of a commit this database lost").unwrap();
    let stranger = vault.join("README.txt");
    std::fs::write(&stranger, b"not ours").unwrap();
    let phone = phone.reopen();
    assert!(files_in(&vault.join("tmp")).is_empty());
    assert!(!orphan.exists());
    assert!(
        unnoted.exists(),
        "only what an interrupted operation noted is removed"
    );
    assert!(
        stranger.exists(),
        "only files of the vault's own form are removed"
    );
    assert_eq!(phone.export(&doc.id).unwrap(), b"kept bytes");
}

#[test]
fn a_content_reference_from_sync_never_becomes_a_path_outside_the_vault() {
    let phone = Phone::new();
    let doc = phone.add("Letter", DocumentKind::Letter, b"letter");
    let outside = phone.dir.path().join("outside.age");
    std::fs::copy(phone.content_file(&doc.id), &outside).unwrap();
    let change = FieldChange {
        entity: DOCUMENT.name.into(),
        id: doc.id.clone(),
        op: Op::Set {
            field: "content_file".into(),
            value: Value::from("../outside"),
        },
        hlc: "019d00000000.00000000.ffffffffffffffffffffffffffffffff".into(),
        author: "someone".into(),
    };
    phone.store.apply_remote(&[change]).unwrap();
    let err = phone.export(&doc.id).unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
    assert_eq!(
        phone.store.verify_vault().unwrap()[0].health,
        DocumentHealth::Corrupt
    );
    // Recovery does not follow it either.
    let phone = phone.reopen();
    assert!(outside.exists());
    // The document can still be repaired with new content, or deleted; neither touches the
    // file outside the vault.
    let fresh = phone.dir.path().join("fresh.txt");
    std::fs::write(&fresh, b"fresh copy from the clinic").unwrap();
    phone
        .store
        .replace_document_content(&doc.id, &fresh, &mut |_, _| {})
        .unwrap();
    assert_eq!(
        phone.export(&doc.id).unwrap(),
        b"fresh copy from the clinic"
    );
    phone.store.delete_document(&doc.id).unwrap();
    assert!(outside.exists());
    assert!(files_in(&phone.store.vault_dir()).is_empty());
}

#[test]
fn deleting_a_document_never_removes_a_file_another_document_uses() {
    let phone = Phone::new();
    let kept = phone.add("Kept", DocumentKind::Letter, b"kept letter");
    let other = phone.add("Other", DocumentKind::Letter, b"other letter");
    let kept_file = phone.content_file(&kept.id);
    let kept_file_id = kept_file
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // Metadata from elsewhere points the second document at the first one's file.
    let change = FieldChange {
        entity: DOCUMENT.name.into(),
        id: other.id.clone(),
        op: Op::Set {
            field: "content_file".into(),
            value: Value::from(kept_file_id),
        },
        hlc: "019d00000000.00000000.ffffffffffffffffffffffffffffffff".into(),
        author: "someone".into(),
    };
    phone.store.apply_remote(&[change]).unwrap();
    phone.store.delete_document(&other.id).unwrap();
    assert!(kept_file.exists());
    assert_eq!(phone.export(&kept.id).unwrap(), b"kept letter");
}

#[test]
fn export_uses_the_path_as_given_and_refuses_a_directory() {
    let phone = Phone::new();
    let doc = phone.add("Letter", DocumentKind::Letter, b"letter text");
    let nested = phone
        .dir
        .path()
        .join("a b")
        .join("..")
        .join("letter (copy).pdf");
    std::fs::create_dir_all(phone.dir.path().join("a b")).unwrap();
    phone
        .store
        .export_document(&doc.id, &nested, &mut |_, _| {})
        .unwrap();
    assert_eq!(
        std::fs::read(phone.dir.path().join("letter (copy).pdf")).unwrap(),
        b"letter text"
    );
    let err = phone
        .store
        .export_document(&doc.id, phone.dir.path(), &mut |_, _| {})
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Invalid {
            field: "destination",
            ..
        }
    ));
    let opened = phone.dir.path().join("view.pdf");
    phone.store.open_document(&doc.id, &opened).unwrap();
    assert_eq!(std::fs::read(opened).unwrap(), b"letter text");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever a person types into search, it is a query, never an FTS syntax error.
    #[test]
    fn any_search_text_is_answered(query in any::<String>()) {
        let phone = Phone::new();
        phone.add("Letter about \"quotes\" AND NEAR(x)", DocumentKind::Letter, b"q");
        prop_assert!(phone.store.search_documents(&query).is_ok());
    }

    /// Whatever the content and wherever chunk boundaries fall, export gives back exactly what
    /// was imported.
    #[test]
    fn any_content_round_trips(len in prop_oneof![
        0usize..10,
        65_530usize..65_545,
        131_066usize..131_080,
        0usize..300_000,
    ], seed in any::<u64>()) {
        let phone = Phone::new();
        let bytes = sample(len, seed);
        let doc = phone.add("Any", DocumentKind::Other, &bytes);
        prop_assert_eq!(doc.size, len as u64);
        prop_assert_eq!(phone.export(&doc.id).unwrap(), bytes);
    }
}

#[test]
fn only_regular_files_are_imported() {
    let phone = Phone::new();
    let fifo = phone.dir.path().join("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let meta = DocumentMeta::new("Pipe", DocumentKind::Other);
    for path in [fifo.as_path(), Path::new("/dev/zero"), phone.dir.path()] {
        let err = phone
            .store
            .import_document(path, &meta, &mut |_, _| {})
            .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { field: "path", reason } if reason.contains("regular")),
            "{path:?}: {err:?}"
        );
    }
    assert!(
        phone
            .store
            .documents(&DocumentFilter::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_export_onto_the_store_itself_is_refused_and_destroys_nothing() {
    let phone = Phone::new();
    let doc = phone.add("Letter", DocumentKind::Letter, b"letter text");
    let db = phone.store.dir().join("cairn.db");
    let content = phone.content_file(&doc.id);
    let before = (
        std::fs::read(&db).unwrap(),
        std::fs::read(&content).unwrap(),
    );
    for dest in [
        db.clone(),
        content.clone(),
        phone.store.vault_dir().join("new.pdf"),
        phone.store.dir().join("..").join("store").join("x.pdf"),
    ] {
        let err = phone
            .store
            .export_document(&doc.id, &dest, &mut |_, _| {})
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Invalid {
                    field: "destination",
                    ..
                }
            ),
            "{dest:?}: {err:?}"
        );
    }
    assert_eq!(
        (
            std::fs::read(&db).unwrap(),
            std::fs::read(&content).unwrap()
        ),
        before
    );
    assert_eq!(phone.export(&doc.id).unwrap(), b"letter text");
}

#[test]
fn a_killed_export_leaves_no_plaintext_after_the_next_open() {
    use std::os::unix::fs::PermissionsExt;
    let phone = Phone::new();
    let doc = phone.add("Letter", DocumentKind::Letter, &sample(300_000, 3));
    let out = phone.dir.path().join("letter.pdf");
    // A panic in the middle of the stream stands for the process being killed there: nothing
    // after it runs, neither the cleanup nor the note's removal.
    let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut calls = 0;
        let _ = phone.store.export_document(&doc.id, &out, &mut |_, _| {
            calls += 1;
            if calls == 2 {
                let partial: Vec<_> = files_in(phone.dir.path())
                    .into_iter()
                    .filter(|n| n.ends_with(".partial"))
                    .collect();
                let mode = std::fs::metadata(phone.dir.path().join(&partial[0]))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(
                    mode & 0o777,
                    0o600,
                    "the plaintext is readable by its owner only"
                );
                panic!("killed mid-export");
            }
        });
    }));
    assert!(killed.is_err());
    let partials = |dir: &Path| -> Vec<String> {
        files_in(dir)
            .into_iter()
            .filter(|n| n.ends_with(".partial"))
            .collect()
    };
    assert_eq!(
        partials(phone.dir.path()).len(),
        1,
        "the killed export left its file"
    );
    let phone = phone.reopen();
    assert!(
        partials(phone.dir.path()).is_empty(),
        "removed on the next open"
    );
    assert!(!out.exists());
}

#[test]
fn recovery_by_another_opener_never_takes_an_import_under_way_for_an_orphan() {
    let Phone { store, keys, dir } = Phone::new();
    let store_dir = store.dir().to_path_buf();
    let source = dir.path().join("scan.bin");
    std::fs::write(&source, sample(2_000_000, 9)).unwrap();
    let (paused_tx, paused_rx) = std::sync::mpsc::channel::<()>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let importer = std::thread::spawn(move || {
        let mut paused = false;
        let outcome = store.import_document(
            &source,
            &DocumentMeta::new("Scan", DocumentKind::Imaging),
            &mut |done, _| {
                if done > 0 && !paused {
                    paused = true;
                    paused_tx.send(()).unwrap();
                    go_rx.recv().unwrap();
                }
            },
        );
        (store, outcome)
    });
    paused_rx.recv().unwrap();
    // Another process (here, another store on the same files) opens while the import is half
    // written in vault/tmp: its recovery must leave that file alone.
    let other = Store::open(&store_dir, Unlock::KeyStore(&keys), clock()).unwrap();
    assert_eq!(files_in(&store_dir.join("vault").join("tmp")).len(), 1);
    other.close().unwrap();
    go_tx.send(()).unwrap();
    let (store, outcome) = importer.join().unwrap();
    let doc = outcome.unwrap().document().clone();
    let phone = Phone { store, keys, dir };
    assert_eq!(
        phone.store.verify_vault().unwrap()[0].health,
        DocumentHealth::Ok
    );
    assert_eq!(phone.export(&doc.id).unwrap(), sample(2_000_000, 9));
}
