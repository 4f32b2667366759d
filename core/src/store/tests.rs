use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use rusqlite::OptionalExtension;

use super::*;
use crate::clock::FixedClock;
use crate::profile::Profile;

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
    Store::create(dir.path(), Unlock::Passphrase("correct horse"), clock())
        .unwrap()
        .close()
        .unwrap();
    let before = snapshot(dir.path());
    let err = Store::open(dir.path(), Unlock::Passphrase("wrong horse!"), clock()).unwrap_err();
    assert!(matches!(err, Error::WrongKey), "{err:?}");
    assert_eq!(snapshot(dir.path()), before);
    Store::open(dir.path(), Unlock::Passphrase("correct horse"), clock()).unwrap();
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
    let store = Store::create(dir.path(), Unlock::Passphrase("first passphrase"), clock()).unwrap();
    store
        .set_profile(&Profile {
            display_name: "B".into(),
            home_time_zone: "UTC".into(),
        })
        .unwrap();
    assert!(matches!(
        store.change_passphrase("not the old one", "second passphrase"),
        Err(Error::WrongKey)
    ));
    store
        .change_passphrase("first passphrase", "second passphrase")
        .unwrap();
    store.close().unwrap();
    assert!(matches!(
        Store::open(dir.path(), Unlock::Passphrase("first passphrase"), clock()),
        Err(Error::WrongKey)
    ));
    let store = Store::open(dir.path(), Unlock::Passphrase("second passphrase"), clock()).unwrap();
    assert_eq!(store.profile().unwrap().unwrap().display_name, "B");

    // A crash after the rekey but before `next` was promoted: the new passphrase still opens.
    let kdf_path = dir.path().join(KDF_FILE);
    let kdf = KdfFile::read(&kdf_path).unwrap();
    let slot = KdfSlot::new(KdfParams::default());
    let new_key = slot.derive("third passphrase").unwrap();
    KdfFile {
        next: Some(slot),
        ..kdf
    }
    .write(&kdf_path)
    .unwrap();
    store.rekey(&new_key).unwrap();
    store.close().unwrap();
    let store = Store::open(dir.path(), Unlock::Passphrase("third passphrase"), clock()).unwrap();
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
    let store = Store::create(dir.path(), Unlock::KeyStore(&keys), clock()).unwrap();
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
    conn.execute_batch(&key.pragma_statement("key")).unwrap();
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
        .conn
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
