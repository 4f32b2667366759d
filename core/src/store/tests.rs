use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use rusqlite::OptionalExtension;

use super::*;
use crate::clock::FixedClock;
use crate::profile::Profile;

/// A passphrase of five unrelated parts, as the apps advise.
const STRONG_PASSPHRASE: &str = "tulip-gravel-93-orbit-canyon";

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::new(
        "2026-03-08T12:00:00Z".parse::<Timestamp>().unwrap(),
        TimeZone::UTC,
    ))
}

/// Every file in the directory with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
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

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn nothing_readable_on_disk_while_open_or_after_close() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::default();
    let store = Store::create(dir.path(), Unlock::KeyStore(&keys), clock()).unwrap();
    let marker = "Oxaliplatin-MARKER-7f3a";
    store
        .set_profile(&Profile {
            display_name: marker.into(),
            home_time_zone: "Europe/London".into(),
        })
        .unwrap();
    let check = |files: &BTreeMap<String, Vec<u8>>| {
        assert!(files.contains_key(DATABASE_FILE));
        for (name, bytes) in files {
            assert!(
                !contains(bytes, b"SQLite format 3"),
                "{name} has a plaintext header"
            );
            // Any 6-byte window of the marker would betray it.
            for window in marker.as_bytes().windows(6) {
                assert!(!contains(bytes, window), "{name} leaks part of the marker");
            }
        }
    };
    let open_files = snapshot(dir.path());
    assert!(
        open_files.keys().any(|k| k.ends_with("-wal")),
        "WAL mode is on"
    );
    check(&open_files);
    store.close().unwrap();
    check(&snapshot(dir.path()));
}

#[test]
fn wrong_raw_key_is_typed_and_changes_no_byte() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::default();
    let store = Store::create(dir.path(), Unlock::KeyStore(&keys), clock()).unwrap();
    store
        .set_profile(&Profile {
            display_name: "A".into(),
            home_time_zone: "UTC".into(),
        })
        .unwrap();
    store.close().unwrap();
    let before = snapshot(dir.path());

    let other = MemoryKeyStore::default();
    other
        .save(key::DATABASE_KEY_NAME, DatabaseKey::generate().as_bytes())
        .unwrap();
    let err = Store::open(dir.path(), Unlock::KeyStore(&other), clock()).unwrap_err();
    assert!(matches!(err, Error::WrongKey), "{err:?}");
    assert_eq!(snapshot(dir.path()), before);

    let empty = MemoryKeyStore::default();
    assert!(matches!(
        Store::open(dir.path(), Unlock::KeyStore(&empty), clock()),
        Err(Error::Locked(_))
    ));
    assert_eq!(snapshot(dir.path()), before);

    let store = Store::open(dir.path(), Unlock::KeyStore(&keys), clock()).unwrap();
    assert_eq!(store.profile().unwrap().unwrap().display_name, "A");
}

#[test]
fn wrong_passphrase_is_typed_and_changes_no_byte() {
    let dir = tempfile::tempdir().unwrap();
    Store::create(dir.path(), Unlock::Passphrase(STRONG_PASSPHRASE), clock())
        .unwrap()
        .close()
        .unwrap();
    let before = snapshot(dir.path());
    let err = Store::open(dir.path(), Unlock::Passphrase("wrong horse!"), clock()).unwrap_err();
    assert!(matches!(err, Error::WrongKey), "{err:?}");
    assert_eq!(snapshot(dir.path()), before);
    Store::open(dir.path(), Unlock::Passphrase(STRONG_PASSPHRASE), clock()).unwrap();
}

#[test]
fn a_short_passphrase_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::create(dir.path(), Unlock::Passphrase("short"), clock()).unwrap_err();
    assert!(matches!(
        err,
        Error::Invalid {
            field: "passphrase",
            ..
        }
    ));
    assert!(snapshot(dir.path()).is_empty());
}

/// Passphrases a guesser tries first.
const WEAK_PASSPHRASES: [&str; 5] = [
    "password",
    "12345678",
    "correct horse",
    "aaaaaaaaaaaa",
    "cairn passphrase",
];

#[test]
fn a_weak_passphrase_is_refused_with_advice_and_never_quoted() {
    for weak in WEAK_PASSPHRASES {
        let dir = tempfile::tempdir().unwrap();
        let err = Store::create(dir.path(), Unlock::Passphrase(weak), clock()).unwrap_err();
        let Error::Invalid {
            field: "passphrase",
            reason,
        } = &err
        else {
            panic!("{weak}: {err:?}");
        };
        assert!(reason.starts_with("too easy to guess."), "{weak}: {reason}");
        assert!(
            reason.len() > "too easy to guess.".len(),
            "{weak}: {reason}"
        );
        // zxcvbn's own sentence "This is a top-10 common password." is the one exception.
        if weak != "password" {
            assert!(!format!("{err} {err:?}").contains(weak), "{weak}: {err}");
        }
        assert!(snapshot(dir.path()).is_empty(), "{weak}: nothing written");
    }
}

#[test]
fn changing_to_a_weak_passphrase_is_refused_and_the_old_one_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    let mut store =
        Store::create(dir.path(), Unlock::Passphrase(STRONG_PASSPHRASE), clock()).unwrap();
    let kdf = std::fs::read(dir.path().join(KDF_FILE)).unwrap();
    for weak in WEAK_PASSPHRASES {
        let err = store
            .change_passphrase(STRONG_PASSPHRASE, weak)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Invalid {
                    field: "passphrase",
                    ..
                }
            ),
            "{weak}: {err:?}"
        );
    }
    store.close().unwrap();
    assert_eq!(std::fs::read(dir.path().join(KDF_FILE)).unwrap(), kdf);
    Store::open(dir.path(), Unlock::Passphrase(STRONG_PASSPHRASE), clock()).unwrap();
}

#[test]
fn corrupt_file_is_not_mistaken_for_success() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::default();
    Store::create(dir.path(), Unlock::KeyStore(&keys), clock())
        .unwrap()
        .close()
        .unwrap();
    let path = dir.path().join(DATABASE_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    bytes[len - 100] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    match Store::open(dir.path(), Unlock::KeyStore(&keys), clock()) {
        Ok(store) => match store.check(CheckDepth::Pages) {
            Ok(report) => assert!(!report.is_healthy(), "the flipped byte is found"),
            Err(e) => assert!(matches!(e, Error::Corrupt(_)), "{e:?}"),
        },
        Err(e) => assert!(
            matches!(e, Error::Storage(_) | Error::Corrupt(_) | Error::WrongKey),
            "{e:?}"
        ),
    }
}

#[test]
fn changing_the_passphrase_reencrypts_and_survives_a_cut_short_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut store =
        Store::create(dir.path(), Unlock::Passphrase(STRONG_PASSPHRASE), clock()).unwrap();
    store
        .set_profile(&Profile {
            display_name: "B".into(),
            home_time_zone: "UTC".into(),
        })
        .unwrap();
    assert!(matches!(
        store.change_passphrase("not the old one", "maple-quartz-17-harbor-violet"),
        Err(Error::WrongKey)
    ));
    store
        .change_passphrase(STRONG_PASSPHRASE, "maple-quartz-17-harbor-violet")
        .unwrap();
    store.close().unwrap();
    assert!(matches!(
        Store::open(dir.path(), Unlock::Passphrase(STRONG_PASSPHRASE), clock()),
        Err(Error::WrongKey)
    ));
    let mut store = Store::open(
        dir.path(),
        Unlock::Passphrase("maple-quartz-17-harbor-violet"),
        clock(),
    )
    .unwrap();
    assert_eq!(store.profile().unwrap().unwrap().display_name, "B");

    // A crash after the rekey but before `next` was promoted: the new passphrase still opens.
    let kdf_path = dir.path().join(KDF_FILE);
    let kdf = KdfFile::read(&kdf_path).unwrap();
    let slot = KdfSlot::new(KdfParams::default());
    let new_key = slot.derive("ember-lagoon-58-cactus-ridge").unwrap();
    KdfFile {
        next: Some(slot),
        ..kdf
    }
    .write(&kdf_path)
    .unwrap();
    store.rekey(&new_key).unwrap();
    store.close().unwrap();
    let store = Store::open(
        dir.path(),
        Unlock::Passphrase("ember-lagoon-58-cactus-ridge"),
        clock(),
    )
    .unwrap();
    assert_eq!(store.profile().unwrap().unwrap().display_name, "B");
    assert!(
        KdfFile::read(&kdf_path).unwrap().next.is_none(),
        "next was promoted"
    );
}

#[test]
fn rotating_the_raw_key() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::default();
    let mut store = Store::create(dir.path(), Unlock::KeyStore(&keys), clock()).unwrap();
    let old = keys.load(key::DATABASE_KEY_NAME).unwrap().unwrap();
    store.rotate_key(&keys).unwrap();
    store.close().unwrap();
    assert_ne!(keys.load(key::DATABASE_KEY_NAME).unwrap().unwrap(), old);
    Store::open(dir.path(), Unlock::KeyStore(&keys), clock()).unwrap();
    let stale = MemoryKeyStore::default();
    stale.save(key::DATABASE_KEY_NAME, &old).unwrap();
    assert!(matches!(
        Store::open(dir.path(), Unlock::KeyStore(&stale), clock()),
        Err(Error::WrongKey)
    ));
}

fn schema(conn: &Connection) -> Vec<(String, String, String)> {
    let mut stmt = conn
        .prepare("SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn upgrade_from_every_version_matches_fresh() {
    let fresh = Connection::open_in_memory().unwrap();
    migrations::migrate(&fresh).unwrap();
    for start in 0..=SCHEMA_VERSION {
        let conn = Connection::open_in_memory().unwrap();
        migrations::migrate_to(&conn, start).unwrap();
        let at: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(at, start);
        migrations::migrate(&conn).unwrap();
        assert_eq!(
            schema(&conn),
            schema(&fresh),
            "upgrading from version {start}"
        );
    }
}

#[test]
fn a_store_from_a_newer_version_is_refused() {
    let conn = Connection::open_in_memory().unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    assert!(matches!(
        migrations::migrate(&conn),
        Err(Error::Invalid { field: "store", .. })
    ));
}

#[test]
fn error_text_carries_no_patient_data() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::default();
    let store = Store::create(dir.path(), Unlock::KeyStore(&keys), clock()).unwrap();
    let secret = "Glioblastoma-Secret-Name";
    let err = store
        .set_profile(&Profile {
            display_name: secret.into(),
            home_time_zone: "Mars/Olympus".into(),
        })
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains(secret) && !text.contains("Olympus"),
        "{text}"
    );
}

#[test]
fn version_7_documents_are_found_by_search_after_the_index_moves_to_record_and_mark_no_file_unwanted()
 {
    let conn = Connection::open_in_memory().unwrap();
    migrations::migrate_to(&conn, 7).unwrap();
    conn.execute_batch(
        r#"
        INSERT INTO vault_documents(id, title, kind, tags, notes, size, imported_at, content_file,
                                    content_key)
        VALUES ('d1', 'Résultats sanguins', 'lab_result', '["hématologie"]', 'Avant le cycle 3',
                10, '2026-01-01T00:00:00Z', 'f1', 'AGE-SECRET-KEY-1'),
               ('d2', 'MRI report', 'imaging', '[]', '', 20, '2026-01-02T00:00:00Z', 'f2',
                'AGE-SECRET-KEY-2');
        "#,
    )
    .unwrap();
    migrations::migrate(&conn).unwrap();

    let found = |query: &str| -> Vec<String> {
        conn.prepare(
            "SELECT d.id FROM vault_fts s JOIN vault_documents d ON d.rid = s.rowid
             WHERE vault_fts MATCH ?1 ORDER BY d.id",
        )
        .unwrap()
        .query_map([query], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    };
    assert_eq!(found("resultats"), ["d1"], "title, accents folded");
    assert_eq!(found("hematologie"), ["d1"], "tags");
    assert_eq!(found("cycle"), ["d1"], "notes");
    assert_eq!(found("mri"), ["d2"]);
    let pending: i64 = conn
        .query_row("SELECT count(*) FROM vault_pending_files", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        pending, 0,
        "moving the rows must not mark their content files unwanted"
    );
    let old_index: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'vault_search'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old_index, 0);
}

#[test]
fn version_4_data_moves_into_each_records_row() {
    let conn = Connection::open_in_memory().unwrap();
    migrations::migrate_to(&conn, 4).unwrap();
    let (h1, h2, h3) = (
        "000000000001.00000000.0000000000000000000000000000000a",
        "000000000002.00000000.0000000000000000000000000000000a",
        "000000000003.00000000.0000000000000000000000000000000b",
    );
    conn.execute_batch(&format!(
        r#"
        INSERT INTO field_state(entity, id, field, value, hlc, author) VALUES
            ('timeline_event', 'e1', 'kind', '"note"', '{h1}', 'ana'),
            ('timeline_event', 'e1', 'title', '"Fièvre la nuit"', '{h2}', 'ana'),
            ('timeline_event', 'e1', 'mood_colour', '"blue"', '{h2}', 'ana'),
            ('timeline_event', 'e1', 'tags', '["night"]', '{h2}', 'ana'),
            ('timeline_event', 'gone', 'title', '"Secret"', '{h1}', 'ana'),
            ('future_thing', 'x', 'colour', '{{"r":1}}', '{h3}', 'ben');
        INSERT INTO tombstones(entity, id, hlc, author) VALUES ('timeline_event', 'gone', '{h3}', 'ben');
        INSERT INTO timeline_event(id, kind, title, tags) VALUES ('e1', 'note', 'Fièvre la nuit', '["night"]');
        INSERT INTO outbox(change_id, entity, id, field, value, hlc, author) VALUES
            ('c1', 'timeline_event', 'e1', 'title', '"Fièvre la nuit"', '{h2}', 'ana'),
            ('c2', 'timeline_event', 'gone', NULL, NULL, '{h3}', 'ana');
        "#
    ))
    .unwrap();
    migrations::migrate(&conn).unwrap();

    let e1: serde_json::Value = conn
        .query_row(
            "SELECT sync_state FROM timeline_event WHERE id = 'e1'",
            [],
            |r| r.get::<_, String>(0),
        )
        .map(|s| serde_json::from_str(&s).unwrap())
        .unwrap();
    let clock_of = |field: &str| {
        let i = e1["f"][field][0].as_u64().unwrap() as usize;
        e1["c"][i].clone()
    };
    assert_eq!(e1["f"]["title"][1], "s", "a text column");
    assert_eq!(e1["f"]["tags"][1], "j", "JSON text in a column");
    assert_eq!(e1["f"]["kind"][1], "s");
    assert_eq!(
        e1["f"]["mood_colour"],
        serde_json::json!([e1["f"]["mood_colour"][0], "v", "blue"]),
        "a field with no column keeps its value"
    );
    let peer: i64 = conn
        .query_row(
            "SELECT n FROM sync_peers WHERE device = ?1 AND author = 'ana'",
            [&h1[22..]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(clock_of("title"), serde_json::json!([&h2[..21], peer]));
    assert_eq!(clock_of("kind"), serde_json::json!([&h1[..21], peer]));
    let future: String = conn
        .query_row(
            "SELECT state FROM record_state WHERE entity = 'future_thing' AND id = 'x'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let future: serde_json::Value = serde_json::from_str(&future).unwrap();
    assert_eq!(
        future["f"]["colour"][2]["r"], 1,
        "an entity this build does not know keeps its fields"
    );
    let gone: Option<String> = conn
        .query_row(
            "SELECT id FROM timeline_event WHERE id = 'gone'
             UNION SELECT id FROM record_state WHERE id = 'gone'",
            [],
            |r| r.get(0),
        )
        .optional()
        .unwrap();
    assert_eq!(gone, None, "a deleted record keeps only its tombstone");

    let outbox: Vec<(String, Option<i64>)> = conn
        .prepare("SELECT id, fields FROM outbox ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        outbox,
        vec![("e1".to_owned(), Some(1 << 4)), ("gone".to_owned(), None)],
        "title is the timeline's fifth declared field"
    );

    let found: String = conn
        .query_row(
            "SELECT id FROM timeline_event
             WHERE rowid IN (SELECT rowid FROM timeline_fts WHERE timeline_fts MATCH '\"fievre\"*')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        found, "e1",
        "the search index is rebuilt over the moved rows"
    );
}

/// Opens `dir`'s database with a raw key and an explicit page HMAC, as SQLCipher would.
fn raw_connection(dir: &Path, key: &DatabaseKey, hmac: &str) -> Connection {
    let conn = Connection::open(dir.join(DATABASE_FILE)).unwrap();
    conn.query_row("PRAGMA cipher_log_level = NONE", [], |_| Ok(()))
        .optional()
        .unwrap();
    key.apply(&conn, false).unwrap();
    conn.pragma_update(None, "cipher_hmac_algorithm", hmac)
        .unwrap();
    conn
}

#[test]
fn new_stores_authenticate_pages_with_sha256_and_older_sha512_stores_still_open() {
    let keys = MemoryKeyStore::default();
    let fresh = tempfile::tempdir().unwrap();
    Store::create(fresh.path(), Unlock::KeyStore(&keys), clock())
        .unwrap()
        .close()
        .unwrap();
    let key = DatabaseKey::from_bytes(&keys.load(DATABASE_KEY_NAME).unwrap().unwrap()).unwrap();
    let count = |conn: &Connection| {
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
    };
    assert!(count(&raw_connection(fresh.path(), &key, "HMAC_SHA256")).is_ok());
    assert!(count(&raw_connection(fresh.path(), &key, "HMAC_SHA512")).is_err());

    let older = tempfile::tempdir().unwrap();
    let legacy = raw_connection(older.path(), &key, "HMAC_SHA512");
    legacy
        .execute_batch("CREATE TABLE kept(x); INSERT INTO kept VALUES ('still here');")
        .unwrap();
    drop(legacy);
    let store = Store::open(older.path(), Unlock::KeyStore(&keys), clock()).unwrap();
    let kept: String = store
        .conn()
        .query_row("SELECT x FROM kept", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, "still here");
    store.close().unwrap();
    assert!(count(&raw_connection(older.path(), &key, "HMAC_SHA512")).is_ok());

    let wrong = MemoryKeyStore::default();
    wrong
        .save(DATABASE_KEY_NAME, DatabaseKey::generate().as_bytes())
        .unwrap();
    assert!(matches!(
        Store::open(older.path(), Unlock::KeyStore(&wrong), clock()),
        Err(Error::WrongKey)
    ));
}

// --- What a damaged, emptied or foreign store directory gives, and what it keeps ---

const PASS: &str = "tulip-gravel-93-orbit-canyon";

/// A passphrase store holding a profile and two documents, closed.
fn store_with_documents(dir: &Path) {
    let store = Store::create(dir, Unlock::Passphrase(PASS), clock()).unwrap();
    store
        .set_profile(&Profile {
            display_name: "A".into(),
            home_time_zone: "UTC".into(),
        })
        .unwrap();
    for (title, bytes) in [("Scan", &b"scan bytes"[..]), ("Letter", &b"letter"[..])] {
        store
            .import_document_bytes(
                bytes,
                &crate::vault::DocumentMeta::new(title, crate::vault::DocumentKind::Other),
            )
            .unwrap();
    }
    store.close().unwrap();
}

/// Every file under `dir`, recursively, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let name = path
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if entry.file_type().unwrap().is_dir() {
            for (inner, bytes) in tree(&path) {
                out.insert(format!("{name}/{inner}"), bytes);
            }
        } else {
            out.insert(name, std::fs::read(&path).unwrap());
        }
    }
    out
}

#[test]
fn an_emptied_or_missing_database_beside_documents_is_incomplete_and_nothing_is_removed() {
    for damage in ["empty", "missing"] {
        let dir = tempfile::tempdir().unwrap();
        store_with_documents(dir.path());
        let db = dir.path().join(DATABASE_FILE);
        match damage {
            "empty" => std::fs::write(&db, b"").unwrap(),
            _ => std::fs::remove_file(&db).unwrap(),
        }
        let before = tree(dir.path());
        assert_eq!(
            before.keys().filter(|k| k.ends_with(".age")).count(),
            2,
            "{before:?}"
        );
        // Any passphrase would "open" an empty file as a new store; none may.
        for pass in [PASS, "amber-lantern-71-quiet-meadow"] {
            let err = Store::open(dir.path(), Unlock::Passphrase(pass), clock()).unwrap_err();
            let Error::Incomplete { missing } = &err else {
                panic!("{damage}: expected Incomplete, got {err:?}");
            };
            assert!(missing.contains("cairn.db"), "{missing}");
            assert!(
                missing.contains("key file") && missing.contains("document"),
                "{missing}"
            );
        }
        // Creating over it would overwrite the salt and lock the real passphrase out.
        let err = Store::create(dir.path(), Unlock::Passphrase(PASS), clock()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Invalid {
                    field: "data directory",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            tree(dir.path()),
            before,
            "{damage}: nothing changed or removed"
        );
        assert!(matches!(
            Store::exists_in(dir.path()),
            Err(Error::Incomplete { .. })
        ));
    }
}

#[test]
fn a_key_in_the_key_store_without_its_database_is_incomplete_and_the_key_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::default();
    Store::create(dir.path(), Unlock::KeyStore(&keys), clock())
        .unwrap()
        .close()
        .unwrap();
    let key = keys.load(key::DATABASE_KEY_NAME).unwrap().unwrap();
    std::fs::remove_file(dir.path().join(DATABASE_FILE)).unwrap();
    let err = Store::open(dir.path(), Unlock::KeyStore(&keys), clock()).unwrap_err();
    assert!(
        matches!(&err, Error::Incomplete { missing } if missing.contains("key store")),
        "{err:?}"
    );
    let err = Store::create(dir.path(), Unlock::KeyStore(&keys), clock()).unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    assert_eq!(keys.load(key::DATABASE_KEY_NAME).unwrap().unwrap(), key);
    // With no trace at all, there is simply no store yet.
    let empty = tempfile::tempdir().unwrap();
    let none = MemoryKeyStore::default();
    assert!(matches!(
        Store::open(empty.path(), Unlock::KeyStore(&none), clock()),
        Err(Error::NotFound { .. })
    ));
    assert!(!Store::exists_in(empty.path()).unwrap());
}

#[test]
fn a_wrong_passphrase_leaves_a_write_ahead_log_and_every_other_file_as_it_was() {
    let live = tempfile::tempdir().unwrap();
    let store = Store::create(live.path(), Unlock::Passphrase(PASS), clock()).unwrap();
    store
        .set_profile(&Profile {
            display_name: "only in the WAL".into(),
            home_time_zone: "UTC".into(),
        })
        .unwrap();
    // The files as a crash would leave them: the latest writes only in the -wal.
    let crashed = tempfile::tempdir().unwrap();
    for (name, bytes) in snapshot(live.path()) {
        std::fs::write(crashed.path().join(name), bytes).unwrap();
    }
    drop(store);
    let before = snapshot(crashed.path());
    assert!(
        before.get("cairn.db-wal").is_some_and(|w| !w.is_empty()),
        "{:?}",
        before.keys()
    );
    let err = Store::open(
        crashed.path(),
        Unlock::Passphrase("amber-lantern-71-quiet-meadow"),
        clock(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::WrongKey), "{err:?}");
    // The -shm is the WAL's index in shared memory, rebuilt from the WAL by any reader (and
    // holding no data); the database, its WAL and the key file are exactly as they were.
    let data = |mut files: BTreeMap<String, Vec<u8>>| {
        files.remove("cairn.db-shm");
        files
    };
    assert!(
        data(snapshot(crashed.path())) == data(before),
        "the refused key changed a file"
    );
    let store = Store::open(crashed.path(), Unlock::Passphrase(PASS), clock()).unwrap();
    assert_eq!(
        store.profile().unwrap().unwrap().display_name,
        "only in the WAL"
    );
}

#[test]
fn a_database_no_key_opens_is_told_apart_where_the_file_allows() {
    fn damaged(damage: impl Fn(&mut Vec<u8>)) -> Error {
        let dir = tempfile::tempdir().unwrap();
        store_with_documents(dir.path());
        let db = dir.path().join(DATABASE_FILE);
        let mut bytes = std::fs::read(&db).unwrap();
        damage(&mut bytes);
        std::fs::write(&db, &bytes).unwrap();
        let before = tree(dir.path());
        let err = Store::open(dir.path(), Unlock::Passphrase(PASS), clock()).unwrap_err();
        assert_eq!(tree(dir.path()), before, "nothing changed for {err}");
        err
    }
    let corrupt = |err: Error, words: &str| match err {
        Error::Corrupt(what) => assert!(what.contains(words), "{what}"),
        other => panic!("expected Corrupt ({words}), got {other:?}"),
    };
    corrupt(damaged(|b| b.truncate(b.len() - 100)), "cut short");
    corrupt(damaged(|b| b[..4096].fill(0)), "zeroed");
    corrupt(damaged(|b| b[100] ^= 0x01), "first page");
    corrupt(
        damaged(|b| {
            b.clear();
            b.extend_from_slice(b"%PDF-1.4\n");
            b.resize(8192, b' ');
        }),
        "PDF",
    );
    let plain = tempfile::tempdir().unwrap();
    let conn = Connection::open(plain.path().join("plain.db")).unwrap();
    conn.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        .unwrap();
    drop(conn);
    let plain = std::fs::read(plain.path().join("plain.db")).unwrap();
    corrupt(
        damaged(|b| {
            b.clone_from(&plain);
        }),
        "unencrypted SQLite",
    );
    // Random bytes look like any encrypted database: only the key could tell.
    let err = damaged(|b| rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, b));
    assert!(matches!(err, Error::WrongKey), "{err:?}");
}

#[test]
fn absurd_key_file_parameters_are_refused_before_any_derivation() {
    for (field, value) in [
        ("memory_kib", u64::from(u32::MAX)),
        ("iterations", u64::from(u32::MAX)),
        ("lanes", 0),
        ("memory_kib", 0),
    ] {
        let dir = tempfile::tempdir().unwrap();
        store_with_documents(dir.path());
        let path = dir.path().join(KDF_FILE);
        let mut kdf: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        kdf["current"]["params"][field] = value.into();
        std::fs::write(&path, serde_json::to_vec(&kdf).unwrap()).unwrap();
        let started = std::time::Instant::now();
        let err = Store::open(dir.path(), Unlock::Passphrase(PASS), clock()).unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt(what) if what.contains("key file")),
            "{field}={value}: {err:?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
    let dir = tempfile::tempdir().unwrap();
    store_with_documents(dir.path());
    std::fs::write(dir.path().join(KDF_FILE), vec![b' '; 1 << 20]).unwrap();
    assert!(matches!(
        Store::open(dir.path(), Unlock::Passphrase(PASS), clock()),
        Err(Error::Corrupt(_))
    ));
}

#[test]
fn a_flipped_byte_in_a_page_no_read_touches_is_found_by_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::default();
    let store = Store::create(dir.path(), Unlock::KeyStore(&keys), clock()).unwrap();
    let events: Vec<crate::timeline::NewEvent> = (0..400)
        .map(|i| {
            crate::timeline::NewEvent::new(
                "2026-03-01T09:00:00Z".parse::<Timestamp>().unwrap(),
                format!("note {i} {}", "x".repeat(200)),
                crate::timeline::EventDetails::Note,
            )
        })
        .collect();
    store.add_events(&events).unwrap();
    let healthy = store.check(CheckDepth::Full).unwrap();
    assert!(healthy.is_healthy(), "{healthy:?}");
    assert!(healthy.pages > 10, "{healthy:?}");
    store.close().unwrap();

    let db = dir.path().join(DATABASE_FILE);
    let mut bytes = std::fs::read(&db).unwrap();
    let middle = (bytes.len() / 4096 / 2) * 4096 + 1000;
    bytes[middle] ^= 0x40;
    std::fs::write(&db, &bytes).unwrap();
    // Opening and reading the profile touch other pages: nothing notices.
    let store = Store::open(dir.path(), Unlock::KeyStore(&keys), clock()).unwrap();
    store.profile().unwrap();
    let report = store.check(CheckDepth::Pages).unwrap();
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert!(report.problems[0].contains("page"), "{report:?}");
}

#[test]
fn the_store_and_its_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("store");
    store_with_documents(&dir);
    // A store made by an older build took the umask's permissions: they are fixed on open.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        dir.join(DATABASE_FILE),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let store = Store::open(&dir, Unlock::Passphrase(PASS), clock()).unwrap();
    assert_eq!(mode(&dir), 0o700);
    for (name, _) in tree(&dir) {
        let path = dir.join(&name);
        let expected = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&path), expected, "{name}");
    }
    assert_eq!(mode(&dir.join("vault")), 0o700);
    store.close().unwrap();
}

/// Whether the process's writable memory holds the 64-character hex text of `key`, found by
/// decoding runs of hex digits, so the search itself holds no copy of the text.
fn memory_holds_hex_of(key: &[u8; 32]) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut mem = std::fs::File::open("/proc/self/mem").unwrap();
    let hexval = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    for line in maps.lines() {
        let mut parts = line.split_whitespace();
        let (Some(range), Some(perms)) = (parts.next(), parts.next()) else {
            continue;
        };
        if !perms.starts_with("rw") || line.contains("[vvar") {
            continue;
        }
        let (start, end) = range.split_once('-').unwrap();
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        let mut region = vec![0u8; (end - start) as usize];
        if mem.seek(SeekFrom::Start(start)).is_err() || mem.read_exact(&mut region).is_err() {
            continue;
        }
        let mut run = 0usize;
        for i in 0..region.len() {
            run = if hexval(region[i]).is_some() {
                run + 1
            } else {
                0
            };
            if run >= 64 {
                let text = &region[i + 1 - 64..=i];
                let decoded: Vec<u8> = text
                    .chunks(2)
                    .map(|p| hexval(p[0]).unwrap() << 4 | hexval(p[1]).unwrap())
                    .collect();
                if decoded == key {
                    return true;
                }
            }
        }
    }
    false
}

#[test]
fn no_hex_copy_of_the_key_outlives_keying() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::default();
    Store::create(dir.path(), Unlock::KeyStore(&keys), clock())
        .unwrap()
        .close()
        .unwrap();
    let raw: [u8; 32] = keys
        .load(key::DATABASE_KEY_NAME)
        .unwrap()
        .unwrap()
        .as_slice()
        .try_into()
        .unwrap();
    let mut store = Store::open(dir.path(), Unlock::KeyStore(&keys), clock()).unwrap();
    store
        .set_profile(&Profile {
            display_name: "A".into(),
            home_time_zone: "UTC".into(),
        })
        .unwrap();
    assert!(
        !memory_holds_hex_of(&raw),
        "a hex copy of the key is in memory"
    );
    store.rotate_key(&keys).unwrap();
    let rotated: [u8; 32] = keys
        .load(key::DATABASE_KEY_NAME)
        .unwrap()
        .unwrap()
        .as_slice()
        .try_into()
        .unwrap();
    assert!(
        !memory_holds_hex_of(&rotated),
        "a hex copy of the new key is in memory"
    );
    store.close().unwrap();
}

#[test]
fn what_a_patient_deletes_is_in_no_page_of_the_database_after_more_writes_and_a_rekey() {
    use super::plaintext_pages::{decrypted_store_files, holds};
    use crate::timeline::{EventDetails, NewEvent};
    use crate::vault::{DocumentKind, DocumentMeta};
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::default();
    let mut store = Store::create(dir.path(), Unlock::KeyStore(&keys), clock()).unwrap();
    let at = |i: i64| {
        "2026-03-01T09:00:00Z".parse::<Timestamp>().unwrap() + jiff::SignedDuration::from_mins(i)
    };
    let filler = |from: i64| -> Vec<NewEvent> {
        (from..from + 200)
            .map(|i| NewEvent::new(at(i), format!("daily note {i}"), EventDetails::Note))
            .collect()
    };
    store.add_events(&filler(0)).unwrap();
    let gone = store
        .add_event(&NewEvent::new(
            at(300),
            "Quixotrelmab infusion",
            EventDetails::Note,
        ))
        .unwrap();
    store
        .add_event(&NewEvent::new(
            at(301),
            "Brumwhistle scan",
            EventDetails::Note,
        ))
        .unwrap();
    let mut meta = DocumentMeta::new("Zandiferous biopsy letter", DocumentKind::Letter);
    meta.notes = "Vexquillian margins".into();
    let doc = store
        .import_document_bytes(b"letter", &meta)
        .unwrap()
        .document()
        .clone();
    assert_eq!(
        store
            .search_timeline("quixotrelmab", 10)
            .unwrap()
            .events
            .len(),
        1
    );
    store.delete_event(&gone).unwrap();
    store.delete_document(&doc.id).unwrap();
    store.add_events(&filler(400)).unwrap();
    store.rotate_key(&keys).unwrap();
    store.add_events(&filler(800)).unwrap();
    store.close().unwrap();

    let key =
        DatabaseKey::from_bytes(&keys.load(key::DATABASE_KEY_NAME).unwrap().unwrap()).unwrap();
    let plain = decrypted_store_files(&dir.path().join(DATABASE_FILE), &key);
    assert!(
        holds(&plain, "Brumwhistle"),
        "the pages were read with the right key"
    );
    for word in ["Quixotrelmab", "Zandiferous", "Vexquillian"] {
        let lower = word.to_lowercase();
        // The index keeps terms lower-cased, each written as a suffix after the prefix it shares
        // with the term before it: no six letters of the word may remain.
        for window in lower
            .as_bytes()
            .windows(6)
            .chain(word.as_bytes().windows(6))
        {
            let window = std::str::from_utf8(window).unwrap();
            if let Some(at) = plain.windows(6).position(|w| w == window.as_bytes()) {
                let around = &plain[at.saturating_sub(80)..(at + 80).min(plain.len())];
                panic!(
                    "{window:?} of a deleted {word:?} remains at {at} (page {}): {:?}",
                    at / 4032,
                    String::from_utf8_lossy(around)
                );
            }
        }
    }
}
